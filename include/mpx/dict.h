/* mpx/dict.h - a proxy to a dict held by a manager: Python's DictProxy in C.
 *
 * Every function is one call to the manager with Python's semantics: a missing key is
 * MPX_EKEY, an unhashable one MPX_ETYPE, and the manager's message is kept on the client
 * (mpx_client_errmsg). Arguments are borrowed: the caller keeps and frees what it passes.
 * Results written to an mpx_value out-parameter are owned by the caller, who releases them
 * with mpx_value_free(); on failure such an out-parameter is None, and scalar out-parameters
 * (bool, size_t) are left unchanged.
 */
#ifndef MPX_DICT_H
#define MPX_DICT_H

#include <stdbool.h>
#include <stddef.h>

#include "mpx/client.h"
#include "mpx/proxy.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_dict mpx_dict;

/* ---- getting a proxy -------------------------------------------------------------------
 * Each constructor leaves *out a proxy that holds one reference to the dict for this
 * client's session (NULL on failure); release it with mpx_dict_close(). The proxy uses c
 * for its calls, so close the proxies before the client. */

/* The dict registered under name, created empty on first use. MPX_EEXIST when the name
 * holds an object of another type. */
int mpx_dict_open(mpx_client *c, const char *name, mpx_dict **out);
/* A new anonymous dict, like dict(initial): initial (borrowed, may be NULL for an empty
 * dict) is a dict or a list of (key, value) pairs. It lives while some proxy holds it. */
int mpx_dict_create(mpx_client *c, const mpx_value *initial, mpx_dict **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_dict, mpx_dict);

/* ---- item access ------------------------------------------------------------------------ */

/* *out = d[key] (a copy); MPX_EKEY when the key is missing. */
int mpx_dict_getitem(mpx_dict *d, const mpx_value *key, mpx_value *out);
/* d[key] = val. */
int mpx_dict_setitem(mpx_dict *d, const mpx_value *key, const mpx_value *val);
/* del d[key]; MPX_EKEY when the key is missing. */
int mpx_dict_delitem(mpx_dict *d, const mpx_value *key);
/* *out = key in d. */
int mpx_dict_contains(mpx_dict *d, const mpx_value *key, bool *out);
/* *out = len(d). */
int mpx_dict_len(mpx_dict *d, size_t *out);
/* *out = d.get(key, dflt); dflt may be NULL, meaning None. */
int mpx_dict_get(mpx_dict *d, const mpx_value *key, const mpx_value *dflt, mpx_value *out);
/* *out = d.setdefault(key, dflt): the stored value, after storing dflt (NULL: None) when
 * the key was missing. */
int mpx_dict_setdefault(mpx_dict *d, const mpx_value *key, const mpx_value *dflt,
                        mpx_value *out);
/* *out = d.pop(key[, dflt]): removes key and gives its value. When the key is missing,
 * *out is a copy of dflt, or, when dflt is NULL, the call fails with MPX_EKEY. */
int mpx_dict_pop(mpx_dict *d, const mpx_value *key, const mpx_value *dflt, mpx_value *out);
/* Removes the last inserted pair and gives it as *key_out, *val_out; MPX_EKEY when d is
 * empty. */
int mpx_dict_popitem(mpx_dict *d, mpx_value *key_out, mpx_value *val_out);

/* ---- whole-dict operations --------------------------------------------------------------- */

/* *out = list(d.keys()), list(d.values()), list(d.items()) (items as (key, value) tuples),
 * in insertion order. */
int mpx_dict_keys(mpx_dict *d, mpx_value *out);
int mpx_dict_values(mpx_dict *d, mpx_value *out);
int mpx_dict_items(mpx_dict *d, mpx_value *out);
/* d.update(other): other is a dict or a list of (key, value) pairs. */
int mpx_dict_update(mpx_dict *d, const mpx_value *dict_or_pairs);
/* d.clear(). */
int mpx_dict_clear(mpx_dict *d);
/* *out = d.copy(): a plain local dict (MPX_DICT), not a new shared object. */
int mpx_dict_copy(mpx_dict *d, mpx_value *out);
/* *out = repr(d) as Python prints it, malloc'd: the caller frees it with free().
 * *out is NULL on failure. */
int mpx_dict_repr(mpx_dict *d, char **out);

#ifdef __cplusplus
}
#endif
#endif
