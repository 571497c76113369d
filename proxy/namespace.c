/* namespace.c - the Namespace proxy: attribute get, set and delete on a shared Namespace.
 *
 * An attribute name travels as a str value built here from the caller's C string, so a
 * name that is not UTF-8 fails locally with MPX_EVALUE before anything is sent. Replies
 * are checked to have the kind their method promises; another kind is MPX_EPROTO.
 * Out-values are None (or NULL) whenever a call fails.
 */
#include <stdlib.h>
#include <string.h>

#include "mpx/namespace.h"
#include "proxy_internal.h"

struct mpx_namespace {
    struct mpx_proxy base; /* first: the proxy layer allocates and frees the whole struct */
};

#define NAMESPACE_TYPE "Namespace"

/* Builds the str value for an attribute name; a local error is kept on the client. */
static int make_name(mpx_namespace *ns, const char *attr, mpx_value *out)
{
    int rc = attr != NULL ? mpx_value_str(out, attr) : MPX_EINVAL;
    if (rc != MPX_OK) {
        *out = mpx_value_none();
        return client_fail(ns->base.client, rc, "bad attribute name: %s", mpx_strerror(rc));
    }
    return MPX_OK;
}

/* Calls method(attr[, val]) and gives the reply to *out, or frees it when out is NULL. */
static int call_attr(mpx_namespace *ns, const char *method, const char *attr,
                     const mpx_value *val, mpx_value *out)
{
    mpx_value args[2], result;
    int rc = make_name(ns, attr, &args[0]);
    if (rc == MPX_OK) {
        /* val is a shallow copy: the call only reads it and the caller still owns it */
        args[1] = val != NULL ? *val : mpx_value_none();
        rc = mpx_proxy_call(&ns->base, method, args, val != NULL ? 2 : 1, &result);
        mpx_value_free(&args[0]);
    } else {
        result = mpx_value_none();
    }
    if (out != NULL)
        mpx_value_move(out, &result);
    else
        mpx_value_free(&result);
    return rc;
}

/* ---- constructors ----------------------------------------------------------------------- */

/* The proxy layer allocates sizeof(mpx_namespace) and hands back its base. */
static int as_namespace(int rc, mpx_proxy *p, mpx_namespace **out)
{
    *out = (mpx_namespace *)p;
    return rc;
}

int mpx_namespace_open(mpx_client *c, const char *name, mpx_namespace **out)
{
    mpx_proxy *p;
    int rc = proxy_open_as(c, NAMESPACE_TYPE, name, NULL, 0, sizeof(mpx_namespace), &p);
    return as_namespace(rc, p, out);
}

int mpx_namespace_create(mpx_client *c, const mpx_value *attrs, mpx_namespace **out)
{
    mpx_proxy *p;
    int rc = proxy_create_as(c, NAMESPACE_TYPE, attrs, attrs != NULL ? 1 : 0,
                             sizeof(mpx_namespace), &p);
    return as_namespace(rc, p, out);
}

PROXY_HANDLE_FUNCS(mpx_namespace, mpx_namespace, NAMESPACE_TYPE);

/* ---- attributes ------------------------------------------------------------------------- */

int mpx_namespace_get(mpx_namespace *ns, const char *attr, mpx_value *out)
{
    return call_attr(ns, "__getattribute__", attr, NULL, out);
}

int mpx_namespace_set(mpx_namespace *ns, const char *attr, const mpx_value *val)
{
    return call_attr(ns, "__setattr__", attr, val, NULL);
}

int mpx_namespace_del(mpx_namespace *ns, const char *attr)
{
    return call_attr(ns, "__delattr__", attr, NULL, NULL);
}

int mpx_namespace_dir(mpx_namespace *ns, mpx_value *out)
{
    return proxy_call_expect(&ns->base, "__dir__", NULL, 0, MPX_LIST, out);
}

int mpx_namespace_copy(mpx_namespace *ns, mpx_value *out)
{
    return proxy_call_expect(&ns->base, "copy", NULL, 0, MPX_DICT, out);
}

int mpx_namespace_repr(mpx_namespace *ns, char **out)
{
    return proxy_call_repr(&ns->base, out);
}
