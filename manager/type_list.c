/* type_list.c - the shared list: Python's list methods and slice assignment.
 *
 * obj->value is always an MPX_LIST. Items arriving in a call are moved in; items handed
 * back while the list keeps them are deep copies. Index and slice arithmetic is CPython's
 * (sequence.c; list_ass_subscript here); sort() is sort.c's stable sort, and one that
 * fails on a TypeError leaves the list as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "types.h"

/* ---- indices and slices --------------------------------------------------------------- */

static int index_kind_fail(mpx_call *c, const mpx_value *v)
{
    return mpx_call_fail(c, MPX_ETYPE, "list indices must be integers or slices, not %s",
                         mpx_kind_name(mpx_value_kind(v)));
}

static int not_integer_fail(mpx_call *c, const mpx_value *v)
{
    return mpx_call_fail(c, MPX_ETYPE, "'%s' object cannot be interpreted as an integer",
                         mpx_kind_name(mpx_value_kind(v)));
}

/* ---- slices ---------------------------------------------------------------------------- */

/* Replaces items [lo, hi) of list by the n cells of src, taking them (src is left None).
 * Cells are moved bitwise; a slot is overwritten only once its old item is freed or has
 * been moved elsewhere. MPX_ENOMEM leaves everything unchanged. */
static int replace_range(mpx_value *list, size_t lo, size_t hi, mpx_value *src, size_t n)
{
    size_t len = mpx_value_len(list), k = hi - lo, tail = len - hi;
    if (n > k && mpx_value_resize(list, len + n - k) != MPX_OK)
        return MPX_ENOMEM;
    mpx_value *a = mpx_value_items(list);
    if (a == NULL)
        return MPX_OK;
    for (size_t i = lo; i < hi; i++)
        mpx_value_free(&a[i]);
    if (n != k)
        memmove(&a[lo + n], &a[hi], tail * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        a[lo + i] = src[i];
        src[i] = mpx_value_none();
    }
    if (n < k) {
        for (size_t i = len - (k - n); i < len; i++)
            a[i] = mpx_value_none(); /* stale copies of cells moved down */
        mpx_value_resize(list, len - (k - n));
    }
    return MPX_OK;
}

/* del list[slice]: extended slices are compacted in one pass. */
static void delete_span(mpx_value *list, span sp)
{
    if (sp.len == 0)
        return;
    if (sp.step < 0) { /* the same positions, walked upwards */
        sp.start += sp.step * (int64_t)(sp.len - 1);
        sp.step = -sp.step;
    }
    if (sp.step == 1) {
        replace_range(list, (size_t)sp.start, (size_t)sp.start + sp.len, NULL, 0);
        return;
    }
    mpx_value *a = mpx_value_items(list);
    size_t len = mpx_value_len(list), w = (size_t)sp.start, next = w, left = sp.len;
    for (size_t r = w; r < len; r++) {
        if (left > 0 && r == next) {
            mpx_value_free(&a[r]);
            next += (size_t)sp.step;
            left--;
        } else {
            a[w++] = a[r];
        }
    }
    for (size_t i = w; i < len; i++)
        a[i] = mpx_value_none();
    mpx_value_resize(list, w);
}

/* list[slice] = value: any length for step 1, exactly the slice's length otherwise. */
static int assign_span(mpx_call *c, mpx_value *list, const span *sp, mpx_value *value)
{
    mpx_value tmp, *items;
    size_t n;
    int rc = iterable_items(c, value, &tmp, &items, &n);
    if (rc == MPX_ETYPE)
        return mpx_call_fail(c, MPX_ETYPE, sp->step == 1 ? "can only assign an iterable"
                                                     : "must assign iterable to extended slice");
    if (rc != MPX_OK)
        return rc;
    if (sp->step == 1) {
        size_t lo = (size_t)sp->start;
        if (replace_range(list, lo, lo + sp->len, items, n) != MPX_OK)
            rc = mpx_call_fail_nomem(c);
    } else if (n != sp->len) {
        rc = mpx_call_fail(c, MPX_EVALUE,
                           "attempt to assign sequence of size %zu to extended slice of size %zu",
                           n, sp->len);
    } else {
        mpx_value *a = mpx_value_items(list);
        for (size_t k = 0; k < n; k++) {
            size_t pos = span_pos(sp, k);
            mpx_value_free(&a[pos]);
            a[pos] = items[k];
            items[k] = mpx_value_none();
        }
    }
    mpx_value_free(&tmp);
    return rc;
}

/* sort([reverse]); reverse keeps stability as Python does: reverse, sort, reverse back. */
static int list_sort(mpx_call *c)
{
    bool reverse = false;
    if (c->nargs > 0) {
        int64_t r;
        if (!as_index(&c->args[0], &r))
            return not_integer_fail(c, &c->args[0]);
        reverse = r != 0;
    }
    mpx_value *list = &c->obj->value;
    return values_sort(c, mpx_value_items(list), mpx_value_len(list), reverse);
}

/* ---- methods ---------------------------------------------------------------------------- */

/* list(), or list(iterable): a list argument is taken whole, other iterables item by item. */
static int list_init(mpx_object *obj, mpx_call *c)
{
    if (c->nargs == 1 && mpx_value_kind(&c->args[0]) == MPX_LIST) {
        mpx_value_move(&obj->value, &c->args[0]);
        return MPX_OK;
    }
    if (mpx_value_list(&obj->value, 0) != MPX_OK)
        return mpx_call_fail_nomem(c);
    if (c->nargs == 0)
        return MPX_OK;
    mpx_value tmp, *items;
    size_t n;
    int rc = iterable_items(c, &c->args[0], &tmp, &items, &n);
    if (rc == MPX_OK && replace_range(&obj->value, 0, 0, items, n) != MPX_OK)
        rc = mpx_call_fail_nomem(c);
    mpx_value_free(&tmp);
    return rc;
}

static int list_getitem(mpx_call *c)
{
    const mpx_value *list = &c->obj->value, *key = &c->args[0];
    size_t len = mpx_value_len(list), pos;
    int64_t i;
    if (as_index(key, &i)) {
        if (!item_pos(i, len, &pos))
            return mpx_call_fail(c, MPX_EINDEX, "list index out of range");
        return mpx_value_copy(&c->result, mpx_value_at(list, pos)) == MPX_OK
                   ? MPX_OK
                   : mpx_call_fail_nomem(c);
    }
    if (mpx_value_kind(key) != MPX_SLICE)
        return index_kind_fail(c, key);
    span sp;
    int rc = slice_span(c, key, len, &sp);
    if (rc != MPX_OK)
        return rc;
    mpx_value out;
    if (mpx_value_list(&out, sp.len) != MPX_OK || mpx_value_resize(&out, sp.len) != MPX_OK) {
        mpx_value_free(&out);
        return mpx_call_fail_nomem(c);
    }
    mpx_value *dst = mpx_value_items(&out);
    const mpx_value *src = mpx_value_items(list);
    for (size_t k = 0; k < sp.len; k++) {
        if (mpx_value_copy(&dst[k], &src[span_pos(&sp, k)]) != MPX_OK) {
            mpx_value_free(&out);
            return mpx_call_fail_nomem(c);
        }
    }
    mpx_value_move(&c->result, &out);
    return MPX_OK;
}

static int list_setitem(mpx_call *c)
{
    mpx_value *list = &c->obj->value, *key = &c->args[0];
    size_t len = mpx_value_len(list), pos;
    int64_t i;
    if (as_index(key, &i)) {
        if (!item_pos(i, len, &pos))
            return mpx_call_fail(c, MPX_EINDEX, "list assignment index out of range");
        mpx_value *slot = mpx_value_at(list, pos);
        mpx_value_free(slot);
        mpx_value_move(slot, &c->args[1]);
        return MPX_OK;
    }
    if (mpx_value_kind(key) != MPX_SLICE)
        return index_kind_fail(c, key);
    span sp;
    int rc = slice_span(c, key, len, &sp);
    return rc != MPX_OK ? rc : assign_span(c, list, &sp, &c->args[1]);
}

static int list_delitem(mpx_call *c)
{
    mpx_value *list = &c->obj->value, *key = &c->args[0];
    size_t len = mpx_value_len(list), pos;
    int64_t i;
    if (as_index(key, &i)) {
        if (!item_pos(i, len, &pos))
            return mpx_call_fail(c, MPX_EINDEX, "list assignment index out of range");
        mpx_value_remove(list, pos, NULL);
        return MPX_OK;
    }
    if (mpx_value_kind(key) != MPX_SLICE)
        return index_kind_fail(c, key);
    span sp;
    int rc = slice_span(c, key, len, &sp);
    if (rc == MPX_OK)
        delete_span(list, sp);
    return rc;
}

static int list_len(mpx_call *c)
{
    c->result = mpx_value_int((int64_t)mpx_value_len(&c->obj->value));
    return MPX_OK;
}

/* Position of the first item == x in [start, stop), or -1. */
static int64_t find_item(const mpx_value *list, const mpx_value *x, size_t start, size_t stop)
{
    const mpx_value *a = mpx_value_items(list);
    for (size_t i = start; i < stop; i++)
        if (mpx_value_equal(&a[i], x))
            return (int64_t)i;
    return -1;
}

static int list_contains(mpx_call *c)
{
    const mpx_value *list = &c->obj->value;
    c->result = mpx_value_bool(find_item(list, &c->args[0], 0, mpx_value_len(list)) >= 0);
    return MPX_OK;
}

static int list_append(mpx_call *c)
{
    if (mpx_value_append(&c->obj->value, &c->args[0]) != MPX_OK)
        return mpx_call_fail_nomem(c);
    return MPX_OK;
}

/* extend(str): the characters made as 1-character strs straight in the list's new cells,
 * one pass and no list between (that one held 16 bytes a character more, and was copied);
 * the budget is asked first, as the growth is known: a cell and a small block each. */
static int extend_chars(mpx_call *c, const mpx_value *str)
{
    mpx_value *list = &c->obj->value;
    const unsigned char *s = (const unsigned char *)mpx_value_str_data(str);
    size_t bytes = mpx_value_str_len(str), len = mpx_value_len(list), n = 0;
    for (size_t i = 0; i < bytes; i++)
        n += (s[i] & 0xC0) != 0x80;
    int rc = mpx_call_reserve(c, n * (sizeof(mpx_value) + VALUE_SMALL_BLOCK));
    if (rc != MPX_OK)
        return rc;
    if (n == 0)
        return MPX_OK;
    if (mpx_value_resize(list, len + n) != MPX_OK)
        return mpx_call_fail_nomem(c);
    mpx_value *cell = mpx_value_items(list) + len;
    for (size_t i = 0, k = 0; k < n; k++) { /* a valid str: each lead byte says its length */
        size_t w = s[i] < 0x80 ? 1 : s[i] < 0xE0 ? 2 : s[i] < 0xF0 ? 3 : 4;
        if (mpx_value_strn(&cell[k], (const char *)s + i, w) != MPX_OK) {
            mpx_value_resize(list, len); /* frees the ones made */
            return mpx_call_fail_nomem(c);
        }
        i += w;
    }
    return MPX_OK;
}

static int list_extend(mpx_call *c)
{
    mpx_value *list = &c->obj->value, tmp, *items;
    size_t n, len = mpx_value_len(list);
    if (mpx_value_kind(&c->args[0]) == MPX_STR)
        return extend_chars(c, &c->args[0]);
    int rc = iterable_items(c, &c->args[0], &tmp, &items, &n);
    if (rc == MPX_OK && (rc = mpx_call_reserve(c, n * sizeof *items)) == MPX_OK && /* cells */
        replace_range(list, len, len, items, n) != MPX_OK)
        rc = mpx_call_fail_nomem(c);
    mpx_value_free(&tmp);
    return rc;
}

/* insert(i, x): i is clamped into [0, len] after counting negatives from the end. */
static int list_insert(mpx_call *c)
{
    mpx_value *list = &c->obj->value;
    int64_t i, len = (int64_t)mpx_value_len(list);
    if (!as_index(&c->args[0], &i))
        return not_integer_fail(c, &c->args[0]);
    if (i < 0) {
        i += len;
        if (i < 0)
            i = 0;
    } else if (i > len) {
        i = len;
    }
    if (mpx_value_insert(list, (size_t)i, &c->args[1]) != MPX_OK)
        return mpx_call_fail_nomem(c);
    return MPX_OK;
}

static int list_pop(mpx_call *c)
{
    mpx_value *list = &c->obj->value;
    size_t len = mpx_value_len(list), pos;
    int64_t i = -1;
    if (c->nargs > 0 && !as_index(&c->args[0], &i))
        return not_integer_fail(c, &c->args[0]);
    if (len == 0)
        return mpx_call_fail(c, MPX_EINDEX, "pop from empty list");
    if (!item_pos(i, len, &pos))
        return mpx_call_fail(c, MPX_EINDEX, "pop index out of range");
    mpx_value_remove(list, pos, &c->result);
    return MPX_OK;
}

static int list_remove(mpx_call *c)
{
    mpx_value *list = &c->obj->value;
    int64_t pos = find_item(list, &c->args[0], 0, mpx_value_len(list));
    if (pos < 0)
        return mpx_call_fail(c, MPX_EVALUE, "list.remove(x): x not in list");
    mpx_value_remove(list, (size_t)pos, NULL);
    return MPX_OK;
}

/* A start or stop bound of index(): negatives count from the end, then clamp at 0. */
static size_t index_bound(int64_t i, size_t len)
{
    if (i < 0) {
        i += (int64_t)len;
        return i < 0 ? 0 : (size_t)i;
    }
    return (uint64_t)i > len ? len : (size_t)i;
}

/* index(x[, start[, stop]]) */
static int list_index(mpx_call *c)
{
    const mpx_value *list = &c->obj->value;
    size_t len = mpx_value_len(list), bounds[2] = {0, len};
    for (size_t b = 0; b < 2 && b + 1 < c->nargs; b++) {
        int64_t i;
        if (!as_index(&c->args[b + 1], &i))
            return mpx_call_fail(c, MPX_ETYPE,
                                 "slice indices must be integers or have an __index__ method");
        bounds[b] = index_bound(i, len);
    }
    int64_t pos = find_item(list, &c->args[0], bounds[0], bounds[1]);
    if (pos >= 0) {
        c->result = mpx_value_int(pos);
        return MPX_OK;
    }
    char *text = mpx_value_repr(&c->args[0]);
    if (text == NULL)
        return mpx_call_fail_nomem(c);
    mpx_call_fail(c, MPX_EVALUE, "%s is not in list", text);
    free(text);
    return MPX_EVALUE;
}

static int list_count(mpx_call *c)
{
    const mpx_value *list = &c->obj->value, *a = mpx_value_items(list);
    size_t len = mpx_value_len(list);
    int64_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += mpx_value_equal(&a[i], &c->args[0]);
    c->result = mpx_value_int(n);
    return MPX_OK;
}

static int list_reverse(mpx_call *c)
{
    mpx_value *list = &c->obj->value;
    size_t len = mpx_value_len(list);
    if (len > 1)
        values_reverse(mpx_value_items(list), len);
    return MPX_OK;
}

static int list_clear(mpx_call *c)
{
    mpx_value_resize(&c->obj->value, 0);
    return MPX_OK;
}

static int list_copy(mpx_call *c)
{
    if (mpx_value_copy(&c->result, &c->obj->value) != MPX_OK)
        return mpx_call_fail_nomem(c);
    return MPX_OK;
}

/* The most items l * n may make: past it, MemoryError rather than a manager that
 * allocates gigabytes for one call. */
#define LIST_REPEAT_MAX ((size_t)1 << 26)

/* __add__(other) -> self + other, a new list; other must be a list, as in Python. */
static int list_add(mpx_call *c)
{
    const mpx_value *other = &c->args[0];
    if (mpx_value_kind(other) != MPX_LIST)
        return mpx_call_fail(c, MPX_ETYPE, "can only concatenate list (not \"%s\") to list",
                             mpx_kind_name(mpx_value_kind(other)));
    mpx_value *list = &c->obj->value;
    size_t a = mpx_value_len(list), b = mpx_value_len(other);
    if (mpx_value_list(&c->result, a + b) != MPX_OK)
        return mpx_call_fail_nomem(c);
    for (size_t i = 0; i < a + b; i++) {
        mpx_value item;
        if (mpx_value_copy(&item, i < a ? mpx_value_at(list, i) : mpx_value_at(other, i - a)) !=
                MPX_OK ||
            mpx_value_append(&c->result, &item) != MPX_OK) {
            mpx_value_free(&item);
            mpx_value_free(&c->result);
            return mpx_call_fail_nomem(c);
        }
    }
    return MPX_OK;
}

/* The repeat count of __mul__ / __rmul__ / __imul__: an int (a negative one is 0). */
static int repeat_arg(mpx_call *c, size_t *n)
{
    const mpx_value *v = &c->args[0];
    if (mpx_value_kind(v) != MPX_INT && mpx_value_kind(v) != MPX_BOOL)
        return mpx_call_fail(c, MPX_ETYPE, "can't multiply sequence by non-int of type '%s'",
                             mpx_kind_name(mpx_value_kind(v)));
    int64_t k = mpx_value_kind(v) == MPX_BOOL ? mpx_value_get_bool(v) : mpx_value_get_int(v);
    size_t len = mpx_value_len(&c->obj->value);
    *n = k > 0 ? (size_t)k : 0;
    if (len > 0 && *n > LIST_REPEAT_MAX / len)
        return mpx_call_fail(c, MPX_ENOMEM, "the list repeated %lld times would hold more than "
                             "%zu items", (long long)k, LIST_REPEAT_MAX);
    return MPX_OK;
}

/* The list's items n times over, into out (a new list). */
static int repeated(mpx_call *c, size_t n, mpx_value *out)
{
    mpx_value *list = &c->obj->value;
    size_t len = mpx_value_len(list);
    size_t once = values_cost(mpx_value_items(list), len);
    int rc = n > 0 ? mpx_call_reserve(c, once > SIZE_MAX / n ? SIZE_MAX : n * once) : MPX_OK;
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_list(out, len * n) != MPX_OK)
        return mpx_call_fail_nomem(c);
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < len; i++) {
            mpx_value item;
            if (mpx_value_copy(&item, mpx_value_at(list, i)) != MPX_OK ||
                mpx_value_append(out, &item) != MPX_OK) {
                mpx_value_free(&item);
                mpx_value_free(out);
                return mpx_call_fail_nomem(c);
            }
        }
    return MPX_OK;
}

/* __mul__(n), __rmul__(n) -> the list n times over, a new list */
static int list_mul(mpx_call *c)
{
    size_t n;
    int rc = repeat_arg(c, &n);
    return rc == MPX_OK ? repeated(c, n, &c->result) : rc;
}

/* __imul__(n): the list becomes n times itself. */
static int list_imul(mpx_call *c)
{
    size_t n;
    mpx_value grown;
    int rc = repeat_arg(c, &n);
    if (rc == MPX_OK && (rc = repeated(c, n, &grown)) == MPX_OK) {
        mpx_value_free(&c->obj->value);
        mpx_value_move(&c->obj->value, &grown);
    }
    return rc;
}

/* __reversed__() -> the items last to first, a new list (Python's reversed() iterates it) */
static int list_reversed(mpx_call *c)
{
    int rc = list_copy(c);
    size_t len = mpx_value_len(&c->result);
    if (rc == MPX_OK && len > 1)
        values_reverse(mpx_value_items(&c->result), len);
    return rc;
}

static int list_repr(mpx_call *c)
{
    char *text = mpx_value_repr(&c->obj->value);
    int rc = text != NULL ? mpx_value_str(&c->result, text) : MPX_ENOMEM;
    free(text);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

static const mpx_method list_methods[] = {
    {"__getitem__", list_getitem, 1, 1, 0},
    {"__setitem__", list_setitem, 2, 2, MPX_METHOD_GROWS},
    {"__delitem__", list_delitem, 1, 1, 0},
    {"__len__", list_len, 0, 0, 0},
    {"__contains__", list_contains, 1, 1, 0},
    {"append", list_append, 1, 1, MPX_METHOD_GROWS},
    {"extend", list_extend, 1, 1, MPX_METHOD_GROWS},
    {"insert", list_insert, 2, 2, MPX_METHOD_GROWS},
    {"pop", list_pop, 0, 1, 0},
    {"remove", list_remove, 1, 1, 0},
    {"index", list_index, 1, 3, 0},
    {"count", list_count, 1, 1, 0},
    {"reverse", list_reverse, 0, 0, 0},
    {"sort", list_sort, 0, 1, 0},
    {"clear", list_clear, 0, 0, 0},
    {"copy", list_copy, 0, 0, 0},
    {"__repr__", list_repr, 0, 0, 0},
    {"__add__", list_add, 1, 1, 0},
    {"__mul__", list_mul, 1, 1, 0},
    {"__rmul__", list_mul, 1, 1, 0},
    {"__imul__", list_imul, 1, 1, MPX_METHOD_GROWS},
    {"__reversed__", list_reversed, 0, 0, 0},
};

const mpx_type type_list = {
    .name = "list",
    .init = list_init,
    .destroy = NULL,
    .methods = list_methods,
    .nmethods = sizeof list_methods / sizeof list_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};
