/* mpx/value_obj.h - a proxy to a Value held by a manager: multiprocessing's Value(typecode,
 * value) in C, with atomic add and compare-and-swap.
 *
 * The typecode is one of the array module's: b B h H i I l L q Q (integers), f d (floats;
 * 'f' stores a C float and reads back rounded), u (one Unicode character, a 1-character
 * str) and c (one byte, a 1-byte bytes). L and Q hold 0..INT64_MAX (mpx ints are signed
 * 64-bit). The manager checks every store: a wrong kind is MPX_ETYPE, an int outside the
 * typecode's range MPX_EOVERFLOW, and a failed call changes nothing. add and
 * compare_and_swap run as one step on the manager, so they are atomic across processes.
 *
 * Arguments are borrowed: the caller keeps and frees what it passes. An mpx_value written
 * to an out-parameter is owned by the caller (mpx_value_free); on failure it is None, and
 * scalar out-parameters are left unchanged. Errors keep the manager's message on the
 * client (mpx_client_errmsg).
 */
#ifndef MPX_VALUE_OBJ_H
#define MPX_VALUE_OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/proxy.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_value_obj mpx_value_obj;

/* ---- getting a proxy -------------------------------------------------------------------
 * Each constructor leaves *out a proxy holding one reference to the Value (NULL on
 * failure); release it with mpx_value_obj_close(), before closing the client. */

/* The Value registered under name, created on first use as Value(typecode, *initial);
 * initial NULL starts at the typecode's zero (0, 0.0, '\0', b'\x00'). An existing name
 * keeps its value; another type under that name is MPX_EEXIST. An unknown typecode is
 * MPX_EVALUE. */
int mpx_value_obj_open(mpx_client *c, const char *name, char typecode,
                          const mpx_value *initial, mpx_value_obj **out);
/* A new anonymous Value; it lives while some proxy holds it. */
int mpx_value_obj_create(mpx_client *c, char typecode, const mpx_value *initial,
                            mpx_value_obj **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_value_obj, mpx_value_obj);

/* ---- reading and writing ----------------------------------------------------------------- */

/* *out = the value: an int, a float, a 1-character str or a 1-byte bytes. */
int mpx_value_obj_get(mpx_value_obj *v, mpx_value *out);
/* Stores *val (range-checked by the manager). */
int mpx_value_obj_set(mpx_value_obj *v, const mpx_value *val);
/* The value as an int; MPX_ETYPE (nothing read) when the Value does not hold ints. */
int mpx_value_obj_get_int(mpx_value_obj *v, int64_t *out);
/* The value as a double; an int converts. MPX_ETYPE for u and c. */
int mpx_value_obj_get_float(mpx_value_obj *v, double *out);
int mpx_value_obj_set_int(mpx_value_obj *v, int64_t x);
int mpx_value_obj_set_float(mpx_value_obj *v, double x);

/* ---- atomic updates ------------------------------------------------------------------------ */

/* Adds delta and gives the new value in *result (may be NULL). On an integer typecode a
 * sum outside the range is MPX_EOVERFLOW and nothing changes. On a float typecode the add
 * happens, but an int *result cannot hold the float sum: MPX_ETYPE when result is not
 * NULL (use add_float there). u and c: MPX_ETYPE. */
int mpx_value_obj_add_int(mpx_value_obj *v, int64_t delta, int64_t *result);
/* Adds a float delta: f and d only (an integer typecode refuses it with MPX_ETYPE). */
int mpx_value_obj_add_float(mpx_value_obj *v, double delta, double *result);
/* If the value == *expected (Python's ==, so 1 == 1.0), stores *desired and sets *swapped
 * true; else changes nothing and sets *swapped false. desired is checked either way. */
int mpx_value_obj_compare_and_swap(mpx_value_obj *v, const mpx_value *expected,
                                      const mpx_value *desired, bool *swapped);

/* ---- describing -------------------------------------------------------------------------- */

/* *out = the typecode character. */
int mpx_value_obj_typecode(mpx_value_obj *v, char *out);
/* *out = repr, "Value('d', 0.0)", malloc'd: free it with free(); NULL on failure. */
int mpx_value_obj_repr(mpx_value_obj *v, char **out);

#ifdef __cplusplus
}
#endif
#endif
