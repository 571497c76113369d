/* list.c - the list proxy: one C function per method of Python's ListProxy.
 *
 * Indexes travel as int values and slices as slice values built from the caller's three
 * nullable pointers, so the manager applies Python's own index and slice rules. Each reply
 * is checked to have the kind its method promises (an int for __len__ and count, ...): a
 * reply of another kind is MPX_EPROTO. Out-values are None (or NULL) whenever a call fails.
 */
#include <stdlib.h>
#include <string.h>

#include "mpx/list.h"
#include "proxy_internal.h"

struct mpx_list {
    struct mpx_proxy base; /* first: the proxy layer allocates and frees the whole struct */
};

#define LIST_TYPE "list"

/* Builds the slice value for the three nullable parts; a local error is kept on the client. */
static int make_slice(mpx_list *l, const int64_t *start, const int64_t *stop,
                      const int64_t *step, mpx_value *out)
{
    int rc = mpx_value_slice(out, start, stop, step);
    if (rc != MPX_OK)
        return client_fail(l->base.client, rc, "cannot build a slice: %s", mpx_strerror(rc));
    return MPX_OK;
}

/* ---- constructors ----------------------------------------------------------------------- */

/* The proxy layer allocates sizeof(mpx_list) and hands back its base. */
static int as_list(int rc, mpx_proxy *p, mpx_list **out)
{
    *out = (mpx_list *)p;
    return rc;
}

int mpx_list_open(mpx_client *c, const char *name, mpx_list **out)
{
    mpx_proxy *p;
    int rc = proxy_open_as(c, LIST_TYPE, name, NULL, 0, sizeof(mpx_list), &p);
    return as_list(rc, p, out);
}

int mpx_list_create(mpx_client *c, const mpx_value *initial, mpx_list **out)
{
    mpx_proxy *p;
    int rc = proxy_create_as(c, LIST_TYPE, initial, initial != NULL ? 1 : 0, sizeof(mpx_list),
                             &p);
    return as_list(rc, p, out);
}

PROXY_HANDLE_FUNCS(mpx_list, mpx_list, LIST_TYPE);

/* ---- items and slices ------------------------------------------------------------------- */

int mpx_list_getitem(mpx_list *l, int64_t index, mpx_value *out)
{
    mpx_value arg = mpx_value_int(index);
    return mpx_proxy_call(&l->base, "__getitem__", &arg, 1, out);
}

int mpx_list_getslice(mpx_list *l, const int64_t *start, const int64_t *stop,
                      const int64_t *step, mpx_value *out)
{
    mpx_value slice;
    *out = mpx_value_none();
    int rc = make_slice(l, start, stop, step, &slice);
    if (rc != MPX_OK)
        return rc;
    rc = proxy_call_expect(&l->base, "__getitem__", &slice, 1, MPX_LIST, out);
    mpx_value_free(&slice);
    return rc;
}

int mpx_list_setitem(mpx_list *l, int64_t index, const mpx_value *val)
{
    /* a shallow copy of val: the call only reads its arguments, the caller still owns it */
    mpx_value args[2] = {mpx_value_int(index), *val};
    return proxy_call_void(&l->base, "__setitem__", args, 2);
}

int mpx_list_setslice(mpx_list *l, const int64_t *start, const int64_t *stop,
                      const int64_t *step, const mpx_value *seq)
{
    mpx_value args[2];
    int rc = make_slice(l, start, stop, step, &args[0]);
    if (rc != MPX_OK)
        return rc;
    args[1] = *seq; /* shallow, borrowed: only args[0] is ours to free */
    rc = proxy_call_void(&l->base, "__setitem__", args, 2);
    mpx_value_free(&args[0]);
    return rc;
}

int mpx_list_delitem(mpx_list *l, int64_t index)
{
    mpx_value arg = mpx_value_int(index);
    return proxy_call_void(&l->base, "__delitem__", &arg, 1);
}

int mpx_list_delslice(mpx_list *l, const int64_t *start, const int64_t *stop,
                      const int64_t *step)
{
    mpx_value slice;
    int rc = make_slice(l, start, stop, step, &slice);
    if (rc != MPX_OK)
        return rc;
    rc = proxy_call_void(&l->base, "__delitem__", &slice, 1);
    mpx_value_free(&slice);
    return rc;
}

int mpx_list_len(mpx_list *l, size_t *out)
{
    return proxy_call_len(&l->base, "__len__", out);
}

int mpx_list_contains(mpx_list *l, const mpx_value *x, bool *out)
{
    return proxy_call_bool(&l->base, "__contains__", x, 1, out);
}

/* ---- changing the list ------------------------------------------------------------------- */

int mpx_list_append(mpx_list *l, const mpx_value *x)
{
    return proxy_call_void(&l->base, "append", x, 1);
}

int mpx_list_extend(mpx_list *l, const mpx_value *seq)
{
    return proxy_call_void(&l->base, "extend", seq, 1);
}

int mpx_list_insert(mpx_list *l, int64_t index, const mpx_value *x)
{
    mpx_value args[2] = {mpx_value_int(index), *x};
    return proxy_call_void(&l->base, "insert", args, 2);
}

int mpx_list_pop(mpx_list *l, const int64_t *index, mpx_value *out)
{
    mpx_value arg = mpx_value_int(index != NULL ? *index : -1);
    return mpx_proxy_call(&l->base, "pop", &arg, index != NULL ? 1 : 0, out);
}

int mpx_list_remove(mpx_list *l, const mpx_value *x)
{
    return proxy_call_void(&l->base, "remove", x, 1);
}

int mpx_list_reverse(mpx_list *l)
{
    return proxy_call_void(&l->base, "reverse", NULL, 0);
}

int mpx_list_sort(mpx_list *l, bool reverse)
{
    mpx_value arg = mpx_value_bool(reverse);
    return proxy_call_void(&l->base, "sort", &arg, 1);
}

int mpx_list_clear(mpx_list *l)
{
    return proxy_call_void(&l->base, "clear", NULL, 0);
}

/* ---- searching and copying --------------------------------------------------------------- */

int mpx_list_index(mpx_list *l, const mpx_value *x, const int64_t *start, const int64_t *stop,
                   int64_t *out)
{
    /* Python's index takes start and stop positionally and refuses None for them, so a
     * stop without a start sends start = 0, the default Python would use. */
    mpx_value args[3] = {*x, mpx_value_int(start != NULL ? *start : 0),
                         mpx_value_int(stop != NULL ? *stop : 0)};
    size_t nargs = stop != NULL ? 3 : start != NULL ? 2 : 1;
    return proxy_call_int(&l->base, "index", args, nargs, out);
}

int mpx_list_count(mpx_list *l, const mpx_value *x, int64_t *out)
{
    return proxy_call_int(&l->base, "count", x, 1, out);
}

int mpx_list_copy(mpx_list *l, mpx_value *out)
{
    return proxy_call_expect(&l->base, "copy", NULL, 0, MPX_LIST, out);
}

int mpx_list_add(mpx_list *l, const mpx_value *other, mpx_value *out)
{
    return proxy_call_expect(&l->base, "__add__", other, 1, MPX_LIST, out);
}

int mpx_list_mul(mpx_list *l, int64_t n, mpx_value *out)
{
    mpx_value arg = mpx_value_int(n);
    return proxy_call_expect(&l->base, "__mul__", &arg, 1, MPX_LIST, out);
}

int mpx_list_reversed(mpx_list *l, mpx_value *out)
{
    return proxy_call_expect(&l->base, "__reversed__", NULL, 0, MPX_LIST, out);
}

int mpx_list_imul(mpx_list *l, int64_t n)
{
    mpx_value arg = mpx_value_int(n);
    return proxy_call_void(&l->base, "__imul__", &arg, 1);
}

int mpx_list_repr(mpx_list *l, char **out)
{
    return proxy_call_repr(&l->base, out);
}
