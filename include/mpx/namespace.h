/* mpx/namespace.h - a proxy to a Namespace held by a manager: Python's NamespaceProxy in C.
 *
 * A Namespace is a bag of named attributes. Attribute names are UTF-8 strings; a missing
 * attribute is MPX_EATTR, and the manager's message is kept on the client
 * (mpx_client_errmsg). Arguments are borrowed: the caller keeps and frees what it passes.
 * Results written to an mpx_value out-parameter are owned by the caller, who releases them
 * with mpx_value_free(); on failure such an out-parameter is None.
 */
#ifndef MPX_NAMESPACE_H
#define MPX_NAMESPACE_H

#include <stddef.h>

#include "mpx/client.h"
#include "mpx/proxy.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_namespace mpx_namespace;

/* ---- getting a proxy -------------------------------------------------------------------
 * Each constructor leaves *out a proxy that holds one reference to the Namespace for this
 * client's session (NULL on failure); release it with mpx_namespace_close(). The proxy
 * uses c for its calls, so close the proxies before the client. */

/* The Namespace registered under name, created empty on first use. MPX_EEXIST when the
 * name holds an object of another type. */
int mpx_namespace_open(mpx_client *c, const char *name, mpx_namespace **out);
/* A new anonymous Namespace, like Namespace(**attrs): attrs (borrowed, may be NULL for
 * none) is a dict whose keys are str. It lives while some proxy holds it. */
int mpx_namespace_create(mpx_client *c, const mpx_value *attrs, mpx_namespace **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_namespace, mpx_namespace);

/* ---- attributes ------------------------------------------------------------------------- */

/* *out = ns.attr (a copy); MPX_EATTR when ns has no such attribute. */
int mpx_namespace_get(mpx_namespace *ns, const char *attr, mpx_value *out);
/* ns.attr = val. */
int mpx_namespace_set(mpx_namespace *ns, const char *attr, const mpx_value *val);
/* del ns.attr; MPX_EATTR when ns has no such attribute. */
int mpx_namespace_del(mpx_namespace *ns, const char *attr);
/* *out = dir(ns): the attribute names as a sorted list of str. */
int mpx_namespace_dir(mpx_namespace *ns, mpx_value *out);
/* *out = the attributes as a local dict {name: value}. */
int mpx_namespace_copy(mpx_namespace *ns, mpx_value *out);
/* *out = repr(ns), e.g. "Namespace(x=1, y='a')", malloc'd: the caller frees it with
 * free(). *out is NULL on failure. */
int mpx_namespace_repr(mpx_namespace *ns, char **out);

#ifdef __cplusplus
}
#endif
#endif
