/* mpx/array.h - a proxy to an Array held by a manager: multiprocessing's
 * Array(typecode, size_or_initializer) in C, with atomic add and compare-and-swap per item.
 *
 * The typecodes and their checks are Value's (mpx/value_obj.h). The length is fixed at
 * creation. Indexes follow Python: negative ones count from the end, one out of range is
 * MPX_EINDEX. A slice is three pointers, start, stop and step, each NULL for Python's
 * None: mpx_array_getslice(a, NULL, NULL, NULL, &out) is a[:]. A slice assignment
 * must give exactly as many items as the slice selects (MPX_EVALUE otherwise), and if any
 * item is refused nothing is stored. The manager keeps the items packed (the typecode's
 * size each), so large arrays are cheap.
 *
 * Arguments are borrowed: the caller keeps and frees what it passes. An mpx_value written
 * to an out-parameter is owned by the caller (mpx_value_free); on failure it is None, and
 * scalar out-parameters are left unchanged. Errors keep the manager's message on the
 * client (mpx_client_errmsg).
 */
#ifndef MPX_ARRAY_H
#define MPX_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/proxy.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_array mpx_array;

/* ---- getting a proxy -------------------------------------------------------------------
 * Each constructor leaves *out a proxy holding one reference to the Array (NULL on
 * failure); release it with mpx_array_close(), before closing the client. */

/* The Array registered under name, created on first use as Array(typecode,
 * *size_or_init): an int n >= 0 gives n zeros; a list or tuple gives its items (a str
 * also works for 'u', a bytes for 'c'). An existing name keeps its items. */
int mpx_array_open(mpx_client *c, const char *name, char typecode,
                          const mpx_value *size_or_init, mpx_array **out);
/* A new anonymous Array; it lives while some proxy holds it. */
int mpx_array_create(mpx_client *c, char typecode, const mpx_value *size_or_init,
                            mpx_array **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_array, mpx_array);

/* ---- items ----------------------------------------------------------------------------- */

/* *out = len(a). */
int mpx_array_len(mpx_array *a, size_t *out);
/* *out = a[i]. */
int mpx_array_get(mpx_array *a, int64_t i, mpx_value *out);
/* a[i] = *val. */
int mpx_array_set(mpx_array *a, int64_t i, const mpx_value *val);
/* a[i] as an int; MPX_ETYPE (nothing read) when the Array does not hold ints. */
int mpx_array_get_int(mpx_array *a, int64_t i, int64_t *out);
/* a[i] as a double; an int converts. MPX_ETYPE for u and c. */
int mpx_array_get_float(mpx_array *a, int64_t i, double *out);
int mpx_array_set_int(mpx_array *a, int64_t i, int64_t x);
int mpx_array_set_float(mpx_array *a, int64_t i, double x);

/* *out_list = a[start:stop:step], a new local list. */
int mpx_array_getslice(mpx_array *a, const int64_t *start, const int64_t *stop,
                              const int64_t *step, mpx_value *out_list);
/* a[start:stop:step] = *items (a list or tuple of exactly the slice's length). */
int mpx_array_setslice(mpx_array *a, const int64_t *start, const int64_t *stop,
                              const int64_t *step, const mpx_value *items);
/* *out = all the items as a new local list. */
int mpx_array_tolist(mpx_array *a, mpx_value *out);

/* ---- atomic updates ------------------------------------------------------------------------
 * As mpx_value_obj_add_int, _add_float and _compare_and_swap, on item i. */
int mpx_array_add_int(mpx_array *a, int64_t i, int64_t delta, int64_t *result);
int mpx_array_add_float(mpx_array *a, int64_t i, double delta, double *result);
int mpx_array_compare_and_swap(mpx_array *a, int64_t i,
                                      const mpx_value *expected, const mpx_value *desired,
                                      bool *swapped);

/* ---- describing -------------------------------------------------------------------------- */

/* *out = the typecode character. */
int mpx_array_typecode(mpx_array *a, char *out);
/* *out = repr, "array('i', [0, 1, 2])", malloc'd: free it with free(); NULL on failure. */
int mpx_array_repr(mpx_array *a, char **out);

#ifdef __cplusplus
}
#endif
#endif
