/* dict.c - the dict proxy: one C function per method of Python's DictProxy.
 *
 * Each function marshals its borrowed arguments into one call and checks that the reply
 * has the kind the method promises (a bool for __contains__, an int for __len__, ...), so
 * a caller never reads a getter of the wrong kind: a reply of another kind is MPX_EPROTO.
 * Out-values are None (or NULL) whenever a function fails.
 */
#include <stdlib.h>
#include <string.h>

#include "mpx/dict.h"
#include "proxy_internal.h"

struct mpx_dict {
    struct mpx_proxy base; /* first: the proxy layer allocates and frees the whole struct */
};

#define DICT_TYPE "dict"

/* ---- constructors ----------------------------------------------------------------------- */

/* The proxy layer allocates sizeof(mpx_dict) and hands back its base. */
static int as_dict(int rc, mpx_proxy *p, mpx_dict **out)
{
    *out = (mpx_dict *)p;
    return rc;
}

int mpx_dict_open(mpx_client *c, const char *name, mpx_dict **out)
{
    mpx_proxy *p;
    int rc = proxy_open_as(c, DICT_TYPE, name, NULL, 0, sizeof(mpx_dict), &p);
    return as_dict(rc, p, out);
}

int mpx_dict_create(mpx_client *c, const mpx_value *initial, mpx_dict **out)
{
    mpx_proxy *p;
    int rc = proxy_create_as(c, DICT_TYPE, initial, initial != NULL ? 1 : 0, sizeof(mpx_dict),
                             &p);
    return as_dict(rc, p, out);
}

PROXY_HANDLE_FUNCS(mpx_dict, mpx_dict, DICT_TYPE);

/* ---- item access ------------------------------------------------------------------------ */

int mpx_dict_getitem(mpx_dict *d, const mpx_value *key, mpx_value *out)
{
    return mpx_proxy_call(&d->base, "__getitem__", key, 1, out);
}

int mpx_dict_setitem(mpx_dict *d, const mpx_value *key, const mpx_value *val)
{
    /* shallow copies: the call only reads its arguments, ownership stays with the caller */
    mpx_value args[2] = {*key, *val};
    return proxy_call_void(&d->base, "__setitem__", args, 2);
}

int mpx_dict_delitem(mpx_dict *d, const mpx_value *key)
{
    return proxy_call_void(&d->base, "__delitem__", key, 1);
}

int mpx_dict_contains(mpx_dict *d, const mpx_value *key, bool *out)
{
    return proxy_call_bool(&d->base, "__contains__", key, 1, out);
}

int mpx_dict_len(mpx_dict *d, size_t *out)
{
    return proxy_call_len(&d->base, "__len__", out);
}

/* get, setdefault and pop share the shape method(key[, dflt]). */
static int call_key_default(mpx_dict *d, const char *method, const mpx_value *key,
                            const mpx_value *dflt, mpx_value *out)
{
    mpx_value args[2] = {*key, dflt != NULL ? *dflt : mpx_value_none()};
    return mpx_proxy_call(&d->base, method, args, dflt != NULL ? 2 : 1, out);
}

int mpx_dict_get(mpx_dict *d, const mpx_value *key, const mpx_value *dflt, mpx_value *out)
{
    return call_key_default(d, "get", key, dflt, out);
}

int mpx_dict_setdefault(mpx_dict *d, const mpx_value *key, const mpx_value *dflt,
                        mpx_value *out)
{
    return call_key_default(d, "setdefault", key, dflt, out);
}

int mpx_dict_pop(mpx_dict *d, const mpx_value *key, const mpx_value *dflt, mpx_value *out)
{
    /* without a default the manager raises KeyError for a missing key, as Python does */
    return call_key_default(d, "pop", key, dflt, out);
}

int mpx_dict_popitem(mpx_dict *d, mpx_value *key_out, mpx_value *val_out)
{
    mpx_value pair;
    *key_out = mpx_value_none();
    *val_out = mpx_value_none();
    int rc = proxy_call_expect(&d->base, "popitem", NULL, 0, MPX_TUPLE, &pair);
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_len(&pair) != 2) {
        mpx_value_free(&pair);
        return client_fail(d->base.client, MPX_EPROTO, "dict.popitem returned no pair");
    }
    /* moving leaves None in the tuple, so freeing it frees neither item */
    mpx_value_move(key_out, mpx_value_at(&pair, 0));
    mpx_value_move(val_out, mpx_value_at(&pair, 1));
    mpx_value_free(&pair);
    return MPX_OK;
}

/* ---- whole-dict operations --------------------------------------------------------------- */

int mpx_dict_keys(mpx_dict *d, mpx_value *out)
{
    return proxy_call_expect(&d->base, "keys", NULL, 0, MPX_LIST, out);
}

int mpx_dict_values(mpx_dict *d, mpx_value *out)
{
    return proxy_call_expect(&d->base, "values", NULL, 0, MPX_LIST, out);
}

int mpx_dict_items(mpx_dict *d, mpx_value *out)
{
    return proxy_call_expect(&d->base, "items", NULL, 0, MPX_LIST, out);
}

int mpx_dict_update(mpx_dict *d, const mpx_value *dict_or_pairs)
{
    return proxy_call_void(&d->base, "update", dict_or_pairs, 1);
}

int mpx_dict_clear(mpx_dict *d)
{
    return proxy_call_void(&d->base, "clear", NULL, 0);
}

int mpx_dict_copy(mpx_dict *d, mpx_value *out)
{
    return proxy_call_expect(&d->base, "copy", NULL, 0, MPX_DICT, out);
}

int mpx_dict_repr(mpx_dict *d, char **out)
{
    return proxy_call_repr(&d->base, out);
}
