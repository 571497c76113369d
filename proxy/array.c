/* array.c - the Array proxy: one C function per method of the manager's Array.
 *
 * Indexes travel as int values and slices as slice values built from the caller's three
 * nullable pointers, so the manager applies Python's index and slice rules and all range
 * checks. The typed getters check the reply's kind as the Value proxy's do.
 */
#include "mpx/array.h"
#include "shared_internal.h"

struct mpx_array {
    struct mpx_proxy base; /* first: the proxy layer allocates and frees the whole struct */
};

#define ARRAY_TYPE "Array"

/* ---- constructors ----------------------------------------------------------------------- */

/* The proxy layer allocates sizeof(mpx_array) and hands back its base. */
static int as_array(int rc, mpx_proxy *p, mpx_array **out)
{
    *out = (mpx_array *)p;
    return rc;
}

/* Opens (name not NULL) or creates Array(typecode, *size_or_init). */
static int open_or_create(mpx_client *c, const char *name, char typecode,
                          const mpx_value *size_or_init, mpx_array **out)
{
    mpx_value args[2];
    mpx_proxy *p = NULL;
    *out = NULL;
    if (size_or_init == NULL)
        return client_fail(c, MPX_EINVAL, "an Array needs a size or an initializer");
    int rc = shared_typecode_value(c, typecode, &args[0]);
    if (rc != MPX_OK)
        return rc;
    args[1] = *size_or_init; /* shallow, borrowed: only args[0] is ours to free */
    if (name != NULL)
        rc = proxy_open_as(c, ARRAY_TYPE, name, args, 2, sizeof(mpx_array), &p);
    else
        rc = proxy_create_as(c, ARRAY_TYPE, args, 2, sizeof(mpx_array), &p);
    mpx_value_free(&args[0]);
    return as_array(rc, p, out);
}

int mpx_array_open(mpx_client *c, const char *name, char typecode,
                          const mpx_value *size_or_init, mpx_array **out)
{
    if (name == NULL) {
        *out = NULL;
        return client_fail(c, MPX_EINVAL, "an Array to open needs a name");
    }
    return open_or_create(c, name, typecode, size_or_init, out);
}

int mpx_array_create(mpx_client *c, char typecode, const mpx_value *size_or_init,
                            mpx_array **out)
{
    return open_or_create(c, NULL, typecode, size_or_init, out);
}

PROXY_HANDLE_FUNCS(mpx_array, mpx_array, ARRAY_TYPE);

/* ---- items ---------------------------------------------------------------------------------- */

int mpx_array_len(mpx_array *a, size_t *out)
{
    return proxy_call_len(&a->base, "__len__", out);
}

int mpx_array_get(mpx_array *a, int64_t i, mpx_value *out)
{
    mpx_value arg = mpx_value_int(i);
    return mpx_proxy_call(&a->base, "__getitem__", &arg, 1, out);
}

int mpx_array_set(mpx_array *a, int64_t i, const mpx_value *val)
{
    mpx_value args[2] = {mpx_value_int(i), *val}; /* val: shallow, borrowed */
    return proxy_call_void(&a->base, "__setitem__", args, 2);
}

int mpx_array_get_int(mpx_array *a, int64_t i, int64_t *out)
{
    mpx_value reply;
    int rc = mpx_array_get(a, i, &reply);
    return rc != MPX_OK ? rc : shared_reply_int(&a->base, "__getitem__", &reply, out);
}

int mpx_array_get_float(mpx_array *a, int64_t i, double *out)
{
    mpx_value reply;
    int rc = mpx_array_get(a, i, &reply);
    return rc != MPX_OK ? rc : shared_reply_float(&a->base, "__getitem__", &reply, out);
}

int mpx_array_set_int(mpx_array *a, int64_t i, int64_t x)
{
    mpx_value v = mpx_value_int(x);
    return mpx_array_set(a, i, &v);
}

int mpx_array_set_float(mpx_array *a, int64_t i, double x)
{
    mpx_value v = mpx_value_float(x);
    return mpx_array_set(a, i, &v);
}

/* Builds the slice value for the three nullable parts; a local error is kept on the client. */
static int make_slice(mpx_array *a, const int64_t *start, const int64_t *stop,
                      const int64_t *step, mpx_value *out)
{
    int rc = mpx_value_slice(out, start, stop, step);
    if (rc != MPX_OK)
        return client_fail(a->base.client, rc, "cannot build a slice: %s", mpx_strerror(rc));
    return MPX_OK;
}

int mpx_array_getslice(mpx_array *a, const int64_t *start, const int64_t *stop,
                              const int64_t *step, mpx_value *out_list)
{
    mpx_value slice;
    *out_list = mpx_value_none();
    int rc = make_slice(a, start, stop, step, &slice);
    if (rc != MPX_OK)
        return rc;
    rc = proxy_call_expect(&a->base, "__getitem__", &slice, 1, MPX_LIST, out_list);
    mpx_value_free(&slice);
    return rc;
}

int mpx_array_setslice(mpx_array *a, const int64_t *start, const int64_t *stop,
                              const int64_t *step, const mpx_value *items)
{
    mpx_value args[2];
    int rc = make_slice(a, start, stop, step, &args[0]);
    if (rc != MPX_OK)
        return rc;
    args[1] = *items; /* shallow, borrowed: only args[0] is ours to free */
    rc = proxy_call_void(&a->base, "__setitem__", args, 2);
    mpx_value_free(&args[0]);
    return rc;
}

int mpx_array_tolist(mpx_array *a, mpx_value *out)
{
    return proxy_call_expect(&a->base, "tolist", NULL, 0, MPX_LIST, out);
}

/* ---- atomic updates ------------------------------------------------------------------------ */

int mpx_array_add_int(mpx_array *a, int64_t i, int64_t delta, int64_t *result)
{
    mpx_value args[2] = {mpx_value_int(i), mpx_value_int(delta)}, reply;
    int rc = mpx_proxy_call(&a->base, "add", args, 2, &reply);
    if (rc != MPX_OK || result == NULL) {
        mpx_value_free(&reply);
        return rc;
    }
    return shared_reply_int(&a->base, "add", &reply, result);
}

int mpx_array_add_float(mpx_array *a, int64_t i, double delta, double *result)
{
    mpx_value args[2] = {mpx_value_int(i), mpx_value_float(delta)}, reply;
    int rc = mpx_proxy_call(&a->base, "add", args, 2, &reply);
    if (rc != MPX_OK || result == NULL) {
        mpx_value_free(&reply);
        return rc;
    }
    return shared_reply_float(&a->base, "add", &reply, result);
}

int mpx_array_compare_and_swap(mpx_array *a, int64_t i,
                                      const mpx_value *expected, const mpx_value *desired,
                                      bool *swapped)
{
    mpx_value args[3] = {mpx_value_int(i), *expected, *desired}; /* shallow, borrowed */
    return proxy_call_bool(&a->base, "compare_and_swap", args, 3, swapped);
}

/* ---- describing ---------------------------------------------------------------------------- */

int mpx_array_typecode(mpx_array *a, char *out)
{
    return shared_call_typecode(&a->base, out);
}

int mpx_array_repr(mpx_array *a, char **out)
{
    return proxy_call_repr(&a->base, out);
}
