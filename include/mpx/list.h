/* mpx/list.h - a proxy to a list held by a manager: Python's ListProxy in C.
 *
 * Every function is one call to the manager with Python's semantics: negative indexes
 * count from the end, an index out of range is MPX_EINDEX, a missing item for remove and
 * index is MPX_EVALUE, and the manager's message is kept on the client (mpx_client_errmsg).
 * Arguments are borrowed: the caller keeps and frees what it passes. Results written to an
 * mpx_value out-parameter are owned by the caller, who releases them with mpx_value_free();
 * on failure such an out-parameter is None, and scalar out-parameters are left unchanged.
 */
#ifndef MPX_LIST_H
#define MPX_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/proxy.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_list mpx_list;

/* ---- getting a proxy -------------------------------------------------------------------
 * Each constructor leaves *out a proxy that holds one reference to the list for this
 * client's session (NULL on failure); release it with mpx_list_close(). The proxy uses c
 * for its calls, so close the proxies before the client. */

/* The list registered under name, created empty on first use. MPX_EEXIST when the name
 * holds an object of another type. */
int mpx_list_open(mpx_client *c, const char *name, mpx_list **out);
/* A new anonymous list, like list(initial): initial (borrowed, may be NULL for an empty
 * list) is a list or a tuple. It lives while some proxy holds it. */
int mpx_list_create(mpx_client *c, const mpx_value *initial, mpx_list **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_list, mpx_list);

/* ---- items and slices ---------------------------------------------------------------------
 * A slice is given as three pointers, start, stop and step, each NULL for Python's None:
 * mpx_list_getslice(l, NULL, &two, NULL, &out) is l[:2]. */

/* *out = l[index] (a copy). */
int mpx_list_getitem(mpx_list *l, int64_t index, mpx_value *out);
/* *out = l[start:stop:step], a new local list. */
int mpx_list_getslice(mpx_list *l, const int64_t *start, const int64_t *stop,
                      const int64_t *step, mpx_value *out);
/* l[index] = val. */
int mpx_list_setitem(mpx_list *l, int64_t index, const mpx_value *val);
/* l[start:stop:step] = seq (a list or tuple); an extended slice (step not 1) must get as
 * many items as it selects, MPX_EVALUE otherwise. */
int mpx_list_setslice(mpx_list *l, const int64_t *start, const int64_t *stop,
                      const int64_t *step, const mpx_value *seq);
/* del l[index]. */
int mpx_list_delitem(mpx_list *l, int64_t index);
/* del l[start:stop:step]. */
int mpx_list_delslice(mpx_list *l, const int64_t *start, const int64_t *stop,
                      const int64_t *step);
/* *out = len(l). */
int mpx_list_len(mpx_list *l, size_t *out);
/* *out = x in l. */
int mpx_list_contains(mpx_list *l, const mpx_value *x, bool *out);

/* ---- changing the list --------------------------------------------------------------------- */

/* l.append(x). */
int mpx_list_append(mpx_list *l, const mpx_value *x);
/* l.extend(seq), seq a list or tuple. */
int mpx_list_extend(mpx_list *l, const mpx_value *seq);
/* l.insert(index, x): before index, clamped to the list as Python does. */
int mpx_list_insert(mpx_list *l, int64_t index, const mpx_value *x);
/* *out = l.pop(index): removes and gives the item at *index, or the last one when index is
 * NULL. MPX_EINDEX on an empty list or an index out of range. */
int mpx_list_pop(mpx_list *l, const int64_t *index, mpx_value *out);
/* l.remove(x): removes the first item equal to x; MPX_EVALUE when there is none. */
int mpx_list_remove(mpx_list *l, const mpx_value *x);
/* l.reverse(), in place. */
int mpx_list_reverse(mpx_list *l);
/* l.sort(reverse=reverse), stable; MPX_ETYPE when items cannot be ordered (1 < 'a'). */
int mpx_list_sort(mpx_list *l, bool reverse);
/* l.clear(). */
int mpx_list_clear(mpx_list *l);

/* ---- searching and copying ----------------------------------------------------------------- */

/* *out = l.index(x, start, stop): the first position of x within l[start:stop]; start and
 * stop may be NULL (0 and the end). MPX_EVALUE when x is not there. */
int mpx_list_index(mpx_list *l, const mpx_value *x, const int64_t *start, const int64_t *stop,
                   int64_t *out);
/* *out = l.count(x). */
int mpx_list_count(mpx_list *l, const mpx_value *x, int64_t *out);
/* *out = l.copy(): a plain local list (MPX_LIST), not a new shared object. */
int mpx_list_copy(mpx_list *l, mpx_value *out);
/* Python's operators, each answered by the manager: *out = l + other (other a list),
 * l * n (n < 0 is 0; past 2^26 items MPX_ENOMEM), the items reversed; all new lists the
 * caller frees. mpx_list_imul makes l itself n times over. */
int mpx_list_add(mpx_list *l, const mpx_value *other, mpx_value *out);
int mpx_list_mul(mpx_list *l, int64_t n, mpx_value *out);
int mpx_list_reversed(mpx_list *l, mpx_value *out);
int mpx_list_imul(mpx_list *l, int64_t n);
/* *out = repr(l) as Python prints it, malloc'd: the caller frees it with free().
 * *out is NULL on failure. */
int mpx_list_repr(mpx_list *l, char **out);

#ifdef __cplusplus
}
#endif
#endif
