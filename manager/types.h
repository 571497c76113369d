/* types.h - helpers shared by the container types (type_dict.c, type_list.c,
 * type_namespace.c, type_array.c), kept to what more than one of them needs: iteration,
 * indices and slices (sequence.c) and the stable sort (sort.c).
 *
 * iterable_items() is Python's iter(v) over the value model: it is how dict.update, dict(x),
 * list.extend and slice assignment accept "any iterable", and it never copies a list or
 * tuple the caller owns.
 */
#ifndef MPX_MANAGER_TYPES_H
#define MPX_MANAGER_TYPES_H

#include "object.h"

/* The items iterating v yields, as Python's iter(v) would. v must be owned by the caller
 * (a call argument) and is good only for freeing afterwards: a list or tuple gives its own
 * item array, for the caller to move items out of; a dict's keys are moved out into *tmp;
 * a str gives 1-character strs and bytes gives ints, also built into *tmp. The caller
 * frees *tmp (left None for a list or tuple). *items is NULL when *n is 0. Other kinds
 * fail with TypeError "'int' object is not iterable". */
int iterable_items(mpx_call *c, mpx_value *v, mpx_value *tmp, mpx_value **items, size_t *n);

/* ---- what values cost, for the memory budget (mpx_call_reserve) --------------------------- */

/* The usable bytes of glibc's smallest block: what a str of up to 19 bytes costs. */
#define VALUE_SMALL_BLOCK 24

/* About what n cells and the blocks they own cost the manager (glibc's chunk sizes): the
 * growth a call that copies them makes. O(the values' size), as the copy is. */
size_t values_cost(const mpx_value *items, size_t n);

/* ---- indices and slices (CPython's rules) ---------------------------------------------- */

/* Python accepts int, and bool as an int, wherever it wants an index. */
bool as_index(const mpx_value *v, int64_t *out);
/* i, negative counting from the end, as a position below len; false when out of range. */
bool item_pos(int64_t i, size_t len, size_t *pos);

/* The positions a slice selects: start, start + step, ... (len of them). */
typedef struct span {
    int64_t start, step;
    size_t len;
} span;

/* PySlice_Unpack + PySlice_AdjustIndices for a sequence of length len: ValueError for a
 * zero step. */
int slice_span(mpx_call *c, const mpx_value *slice, size_t length, span *sp);

static inline size_t span_pos(const span *sp, size_t k)
{
    return (size_t)(sp->start + (int64_t)k * sp->step);
}

/* Reverses the n cells of a in place. */
void values_reverse(mpx_value *a, size_t n);

/* ---- sort.c ---- */

/* Sorts the n cells of items stably with Python's "<" (reverse: descending, still
 * stable); on TypeError (Python's message) or MemoryError they stay as they were. */
int values_sort(mpx_call *c, mpx_value *items, size_t n, bool reverse);

#endif
