/* value_obj.c - the Value proxy: one C function per method of the manager's Value, and
 * the helpers it shares with the Array proxy (shared_internal.h).
 *
 * The typecode travels as a 1-character str, and every range and kind check is the
 * manager's, so a client can never store what the typecode does not hold. The typed
 * getters check the reply's kind: asking for an int from a float Value is MPX_ETYPE, never
 * a silent truncation.
 */
#include "mpx/value_obj.h"
#include "shared_internal.h"

struct mpx_value_obj {
    struct mpx_proxy base; /* first: the proxy layer allocates and frees the whole struct */
};

#define VALUE_TYPE "Value"

/* ---- shared with array.c ----------------------------------------------------------------- */

int shared_typecode_value(mpx_client *c, char typecode, mpx_value *out)
{
    if (mpx_value_strn(out, &typecode, 1) != MPX_OK)
        return client_fail(c, MPX_EVALUE, "typecode %d is not a character", typecode);
    return MPX_OK;
}

int shared_reply_int(mpx_proxy *p, const char *method, mpx_value *reply, int64_t *out)
{
    mpx_kind kind = mpx_value_kind(reply);
    int rc = MPX_OK;
    if (kind == MPX_INT)
        *out = mpx_value_get_int(reply);
    else
        rc = client_fail(p->client, MPX_ETYPE, "%s.%s returned %s, not int (%s)", p->type,
                         method, mpx_kind_name(kind),
                         kind == MPX_FLOAT ? "use the _float functions" : "use _get");
    mpx_value_free(reply);
    return rc;
}

int shared_reply_float(mpx_proxy *p, const char *method, mpx_value *reply, double *out)
{
    mpx_kind kind = mpx_value_kind(reply);
    int rc = MPX_OK;
    if (kind == MPX_FLOAT)
        *out = mpx_value_get_float(reply);
    else if (kind == MPX_INT)
        *out = (double)mpx_value_get_int(reply);
    else
        rc = client_fail(p->client, MPX_ETYPE, "%s.%s returned %s, not a number (use _get)",
                         p->type, method, mpx_kind_name(kind));
    mpx_value_free(reply);
    return rc;
}

int shared_call_typecode(mpx_proxy *p, char *out)
{
    mpx_value code;
    int rc = proxy_call_expect(p, "typecode", NULL, 0, MPX_STR, &code);
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_str_len(&code) != 1)
        rc = client_fail(p->client, MPX_EPROTO, "%s.typecode returned a str of length %zu",
                         p->type, mpx_value_str_len(&code));
    else
        *out = mpx_value_str_data(&code)[0];
    mpx_value_free(&code);
    return rc;
}

/* ---- constructors ----------------------------------------------------------------------- */

/* The proxy layer allocates sizeof(mpx_value_obj) and hands back its base. */
static int as_value(int rc, mpx_proxy *p, mpx_value_obj **out)
{
    *out = (mpx_value_obj *)p;
    return rc;
}

/* Opens (name not NULL) or creates Value(typecode[, *initial]). */
static int open_or_create(mpx_client *c, const char *name, char typecode,
                          const mpx_value *initial, mpx_value_obj **out)
{
    mpx_value args[2];
    mpx_proxy *p = NULL;
    *out = NULL;
    int rc = shared_typecode_value(c, typecode, &args[0]);
    if (rc != MPX_OK)
        return rc;
    size_t nargs = 1;
    if (initial != NULL)
        args[nargs++] = *initial; /* shallow, borrowed: only args[0] is ours to free */
    if (name != NULL)
        rc = proxy_open_as(c, VALUE_TYPE, name, args, nargs, sizeof(mpx_value_obj), &p);
    else
        rc = proxy_create_as(c, VALUE_TYPE, args, nargs, sizeof(mpx_value_obj), &p);
    mpx_value_free(&args[0]);
    return as_value(rc, p, out);
}

int mpx_value_obj_open(mpx_client *c, const char *name, char typecode,
                          const mpx_value *initial, mpx_value_obj **out)
{
    if (name == NULL) {
        *out = NULL;
        return client_fail(c, MPX_EINVAL, "a Value to open needs a name");
    }
    return open_or_create(c, name, typecode, initial, out);
}

int mpx_value_obj_create(mpx_client *c, char typecode, const mpx_value *initial,
                            mpx_value_obj **out)
{
    return open_or_create(c, NULL, typecode, initial, out);
}

PROXY_HANDLE_FUNCS(mpx_value_obj, mpx_value_obj, VALUE_TYPE);

/* ---- reading and writing ------------------------------------------------------------------ */

int mpx_value_obj_get(mpx_value_obj *v, mpx_value *out)
{
    return mpx_proxy_call(&v->base, "get", NULL, 0, out);
}

int mpx_value_obj_set(mpx_value_obj *v, const mpx_value *val)
{
    return proxy_call_void(&v->base, "set", val, 1);
}

int mpx_value_obj_get_int(mpx_value_obj *v, int64_t *out)
{
    mpx_value reply;
    int rc = mpx_proxy_call(&v->base, "get", NULL, 0, &reply);
    return rc != MPX_OK ? rc : shared_reply_int(&v->base, "get", &reply, out);
}

int mpx_value_obj_get_float(mpx_value_obj *v, double *out)
{
    mpx_value reply;
    int rc = mpx_proxy_call(&v->base, "get", NULL, 0, &reply);
    return rc != MPX_OK ? rc : shared_reply_float(&v->base, "get", &reply, out);
}

int mpx_value_obj_set_int(mpx_value_obj *v, int64_t x)
{
    mpx_value arg = mpx_value_int(x);
    return mpx_value_obj_set(v, &arg);
}

int mpx_value_obj_set_float(mpx_value_obj *v, double x)
{
    mpx_value arg = mpx_value_float(x);
    return mpx_value_obj_set(v, &arg);
}

/* ---- atomic updates ------------------------------------------------------------------------ */

int mpx_value_obj_add_int(mpx_value_obj *v, int64_t delta, int64_t *result)
{
    mpx_value arg = mpx_value_int(delta), reply;
    int rc = mpx_proxy_call(&v->base, "add", &arg, 1, &reply);
    if (rc != MPX_OK || result == NULL) {
        mpx_value_free(&reply);
        return rc;
    }
    return shared_reply_int(&v->base, "add", &reply, result);
}

int mpx_value_obj_add_float(mpx_value_obj *v, double delta, double *result)
{
    mpx_value arg = mpx_value_float(delta), reply;
    int rc = mpx_proxy_call(&v->base, "add", &arg, 1, &reply);
    if (rc != MPX_OK || result == NULL) {
        mpx_value_free(&reply);
        return rc;
    }
    return shared_reply_float(&v->base, "add", &reply, result);
}

int mpx_value_obj_compare_and_swap(mpx_value_obj *v, const mpx_value *expected,
                                      const mpx_value *desired, bool *swapped)
{
    mpx_value args[2] = {*expected, *desired}; /* shallow, borrowed */
    return proxy_call_bool(&v->base, "compare_and_swap", args, 2, swapped);
}

/* ---- describing ---------------------------------------------------------------------------- */

int mpx_value_obj_typecode(mpx_value_obj *v, char *out)
{
    return shared_call_typecode(&v->base, out);
}

int mpx_value_obj_repr(mpx_value_obj *v, char **out)
{
    return proxy_call_repr(&v->base, out);
}
