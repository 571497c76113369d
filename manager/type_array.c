/* type_array.c - Array: a fixed-length array of one typecode's items, like
 * multiprocessing's Array(typecode, size_or_initializer), with atomic add and
 * compare-and-swap on an item.
 *
 * The items are packed, tc->size bytes each, right after the state header: an Array('d',
 * 1000000) costs 8 MB, not a million mpx_values. Its length never changes. Index and
 * slice arithmetic is CPython's (types.h). A store of several items checks and packs them
 * all into a scratch buffer first, so a failed slice assignment changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "typecode.h"
#include "types.h"

/* The largest array the constructor makes, in bytes of items. */
#define ARRAY_MAX_BYTES ((size_t)1 << 30)

typedef struct array_state {
    const typecode *tc;
    size_t len;
    unsigned char data[]; /* len * tc->size bytes */
} array_state;

static array_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

static unsigned char *slot_at(array_state *st, size_t pos)
{
    return st->data + pos * st->tc->size;
}

/* The items of a sequence value (owned by the call) that fills n slots: a list or tuple,
 * or for 'u' a str (its characters) and for 'c' a bytes (its bytes). *tmp is built for
 * the last two and freed by the caller. what names the value in the TypeError. */
static int seq_items(mpx_call *c, const typecode *tc, mpx_value *v, mpx_value *tmp,
                     mpx_value **items, size_t *n, const char *what)
{
    mpx_kind kind = mpx_value_kind(v);
    *tmp = mpx_value_none();
    if (kind == MPX_LIST || kind == MPX_TUPLE || (kind == MPX_STR && tc->kind == TC_CHAR))
        return iterable_items(c, v, tmp, items, n);
    if (kind != MPX_BYTES || tc->kind != TC_BYTE)
        return mpx_call_fail(c, MPX_ETYPE, "%s must be a list or tuple, not %s", what,
                             mpx_kind_name(kind));
    const char *s = mpx_value_str_data(v);
    *n = mpx_value_str_len(v);
    *items = NULL;
    int rc = mpx_call_reserve(c, *n * (sizeof(mpx_value) + VALUE_SMALL_BLOCK));
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_list(tmp, *n) != MPX_OK || mpx_value_resize(tmp, *n) != MPX_OK) {
        mpx_value_free(tmp);
        return mpx_call_fail_nomem(c);
    }
    for (size_t k = 0; k < *n; k++) {
        if (mpx_value_bytes(mpx_value_at(tmp, k), s + k, 1) != MPX_OK) {
            mpx_value_free(tmp);
            return mpx_call_fail_nomem(c);
        }
    }
    *items = *n ? mpx_value_items(tmp) : NULL;
    return MPX_OK;
}

/* Stores n items into consecutive slots from buf; stops at the first refused one. */
static int pack(mpx_call *c, const typecode *tc, const mpx_value *items, size_t n,
                unsigned char *buf)
{
    for (size_t k = 0; k < n; k++) {
        int rc = typecode_store(c, tc, buf + k * tc->size, &items[k]);
        if (rc != MPX_OK)
            return rc;
    }
    return MPX_OK;
}

static array_state *state_new(const typecode *tc, size_t len)
{
    array_state *st = mem_calloc(1, sizeof *st + len * tc->size);
    if (st != NULL) {
        st->tc = tc;
        st->len = len;
    }
    return st;
}

/* Array(typecode, size_or_initializer): n zeros for an int n >= 0, else the items of a
 * list or tuple (or a str for 'u', a bytes for 'c'). */
static int array_init(mpx_object *obj, mpx_call *c)
{
    const typecode *tc;
    int rc = typecode_arg(c, 0, &tc);
    if (rc != MPX_OK)
        return rc;
    int64_t n;
    if (as_index(&c->args[1], &n)) {
        if (n < 0)
            return mpx_call_fail(c, MPX_EVALUE, "Array length must be >= 0, not %lld",
                                 (long long)n);
        if ((uint64_t)n > ARRAY_MAX_BYTES / tc->size)
            return mpx_call_fail(c, MPX_ENOMEM,
                                 "Array of %lld items is too large (at most %zu)",
                                 (long long)n, ARRAY_MAX_BYTES / tc->size);
        if ((rc = mpx_call_reserve(c, sizeof(array_state) + (size_t)n * tc->size)) != MPX_OK)
            return rc;
        if ((obj->state = state_new(tc, (size_t)n)) == NULL)
            return mpx_call_fail_nomem(c);
        return MPX_OK;
    }
    mpx_value tmp, *items;
    size_t len;
    rc = seq_items(c, tc, &c->args[1], &tmp, &items, &len, "size_or_initializer");
    if (rc == MPX_OK)
        rc = mpx_call_reserve(c, sizeof(array_state) + len * tc->size);
    if (rc != MPX_OK) {
        mpx_value_free(&tmp);
        return rc;
    }
    array_state *st = state_new(tc, len);
    if (st == NULL)
        rc = mpx_call_fail_nomem(c);
    else if ((rc = pack(c, tc, items, len, st->data)) != MPX_OK)
        mem_free(st);
    else
        obj->state = st;
    mpx_value_free(&tmp);
    return rc;
}

static void array_destroy(mpx_object *obj)
{
    mem_free(obj->state);
    obj->state = NULL;
}

static int index_kind_fail(mpx_call *c, const mpx_value *v)
{
    return mpx_call_fail(c, MPX_ETYPE, "array indices must be integers or slices, not %s",
                         mpx_kind_name(mpx_value_kind(v)));
}

/* The position an int argument names: TypeError for another kind, IndexError with msg. */
static int item_arg(mpx_call *c, size_t i, const char *msg, size_t *pos)
{
    int64_t index;
    if (!as_index(&c->args[i], &index))
        return mpx_call_fail(c, MPX_ETYPE, "array indices must be integers, not %s",
                             mpx_kind_name(mpx_value_kind(&c->args[i])));
    if (!item_pos(index, state_of(c->obj)->len, pos))
        return mpx_call_fail(c, MPX_EINDEX, "%s", msg);
    return MPX_OK;
}

/* *out = the items a span selects (all of them when sp is NULL), as a new list. */
static int items_list(mpx_call *c, array_state *st, const span *sp, mpx_value *out)
{
    size_t n = sp != NULL ? sp->len : st->len;
    int rc = mpx_call_reserve(c, n * sizeof(mpx_value)); /* 16 bytes an item: 16x an Array('b') */
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_list(out, n) != MPX_OK || mpx_value_resize(out, n) != MPX_OK) {
        mpx_value_free(out);
        return mpx_call_fail_nomem(c);
    }
    for (size_t k = 0; k < n; k++) {
        size_t pos = sp != NULL ? span_pos(sp, k) : k;
        if (typecode_load(st->tc, slot_at(st, pos), mpx_value_at(out, k)) != MPX_OK) {
            mpx_value_free(out);
            return mpx_call_fail_nomem(c);
        }
    }
    return MPX_OK;
}

/* __getitem__(i) -> item; __getitem__(slice) -> a list of the items */
static int array_getitem(mpx_call *c)
{
    array_state *st = state_of(c->obj);
    const mpx_value *key = &c->args[0];
    if (mpx_value_kind(key) == MPX_SLICE) {
        span sp;
        int rc = slice_span(c, key, st->len, &sp);
        return rc != MPX_OK ? rc : items_list(c, st, &sp, &c->result);
    }
    int64_t i;
    size_t pos;
    if (!as_index(key, &i))
        return index_kind_fail(c, key);
    if (!item_pos(i, st->len, &pos))
        return mpx_call_fail(c, MPX_EINDEX, "array index out of range");
    if (typecode_load(st->tc, slot_at(st, pos), &c->result) != MPX_OK)
        return mpx_call_fail_nomem(c);
    return MPX_OK;
}

/* arr[slice] = seq: exactly as many items as the slice selects, all checked first. */
static int assign_span(mpx_call *c, array_state *st, const span *sp, mpx_value *value)
{
    mpx_value tmp, *items;
    size_t n;
    int rc = seq_items(c, st->tc, value, &tmp, &items, &n, "slice assignment");
    if (rc != MPX_OK)
        return rc;
    size_t size = st->tc->size;
    unsigned char *buf = NULL;
    if (n != sp->len)
        rc = mpx_call_fail(c, MPX_EVALUE, "Can only assign sequence of same size");
    else if (n > 0 && (buf = malloc(n * size)) == NULL)
        rc = mpx_call_fail_nomem(c);
    else
        rc = pack(c, st->tc, items, n, buf);
    if (rc == MPX_OK)
        for (size_t k = 0; k < n; k++)
            memcpy(slot_at(st, span_pos(sp, k)), buf + k * size, size);
    free(buf);
    mpx_value_free(&tmp);
    return rc;
}

/* __setitem__(i, v) or __setitem__(slice, seq) -> None */
static int array_setitem(mpx_call *c)
{
    array_state *st = state_of(c->obj);
    const mpx_value *key = &c->args[0];
    if (mpx_value_kind(key) == MPX_SLICE) {
        span sp;
        int rc = slice_span(c, key, st->len, &sp);
        return rc != MPX_OK ? rc : assign_span(c, st, &sp, &c->args[1]);
    }
    int64_t i;
    size_t pos;
    if (!as_index(key, &i))
        return index_kind_fail(c, key);
    if (!item_pos(i, st->len, &pos))
        return mpx_call_fail(c, MPX_EINDEX, "array assignment index out of range");
    return typecode_store(c, st->tc, slot_at(st, pos), &c->args[1]);
}

static int array_len(mpx_call *c)
{
    c->result = mpx_value_int((int64_t)state_of(c->obj)->len);
    return MPX_OK;
}

/* add(i, delta) -> the new item */
static int array_add(mpx_call *c)
{
    array_state *st = state_of(c->obj);
    unsigned char next[8];
    size_t pos;
    int rc = item_arg(c, 0, "array index out of range", &pos);
    if (rc == MPX_OK)
        rc = typecode_add(c, st->tc, slot_at(st, pos), 1, next);
    if (rc != MPX_OK)
        return rc;
    memcpy(slot_at(st, pos), next, st->tc->size);
    return typecode_load(st->tc, slot_at(st, pos), &c->result) == MPX_OK ? MPX_OK
                                                                         : mpx_call_fail_nomem(c);
}

/* compare_and_swap(i, expected, new) -> bool, as Value's for one item */
static int array_compare_and_swap(mpx_call *c)
{
    array_state *st = state_of(c->obj);
    unsigned char next[8];
    size_t pos;
    mpx_value cur;
    int rc = item_arg(c, 0, "array index out of range", &pos);
    if (rc == MPX_OK)
        rc = typecode_store(c, st->tc, next, &c->args[2]);
    if (rc != MPX_OK)
        return rc;
    if (typecode_load(st->tc, slot_at(st, pos), &cur) != MPX_OK)
        return mpx_call_fail_nomem(c);
    bool equal = mpx_value_equal(&cur, &c->args[1]);
    mpx_value_free(&cur);
    if (equal)
        memcpy(slot_at(st, pos), next, st->tc->size);
    c->result = mpx_value_bool(equal);
    return MPX_OK;
}

/* tolist() -> a list of all the items */
static int array_tolist(mpx_call *c)
{
    return items_list(c, state_of(c->obj), NULL, &c->result);
}

static int array_typecode(mpx_call *c)
{
    char code = state_of(c->obj)->tc->code;
    return mpx_value_strn(&c->result, &code, 1) == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

/* The items as one value for the repr: a str for 'u', a bytes for 'c', else a list. */
static int repr_items(mpx_call *c, array_state *st, mpx_value *out)
{
    if (st->tc->kind == TC_INT || st->tc->kind == TC_FLOAT)
        return items_list(c, st, NULL, out);
    if (st->tc->kind == TC_BYTE)
        return mpx_value_bytes(out, st->data, st->len) == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
    char *text = malloc(st->len * 4 + 1); /* 4 bytes of UTF-8 at most per code point */
    size_t used = 0;
    int rc = text != NULL ? MPX_OK : MPX_ENOMEM;
    for (size_t k = 0; rc == MPX_OK && k < st->len; k++) {
        mpx_value ch;
        if ((rc = typecode_load(st->tc, slot_at(st, k), &ch)) == MPX_OK) {
            memcpy(text + used, mpx_value_str_data(&ch), mpx_value_str_len(&ch));
            used += mpx_value_str_len(&ch);
            mpx_value_free(&ch);
        }
    }
    if (rc == MPX_OK)
        rc = mpx_value_strn(out, text, used);
    free(text);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

/* __repr__() -> "array('i', [0, 1, 2])" as Python's array prints, "array('i')" when empty */
static int array_repr(mpx_call *c)
{
    array_state *st = state_of(c->obj);
    char *out = NULL;
    if (st->len == 0) {
        if (asprintf(&out, "array('%c')", st->tc->code) < 0)
            out = NULL;
    } else {
        mpx_value items;
        int rc = repr_items(c, st, &items);
        if (rc != MPX_OK)
            return rc;
        char *text = mpx_value_repr(&items);
        mpx_value_free(&items);
        if (text != NULL && asprintf(&out, "array('%c', %s)", st->tc->code, text) < 0)
            out = NULL;
        free(text);
    }
    int rc = out != NULL ? mpx_value_str(&c->result, out) : MPX_ENOMEM;
    free(out);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

static const mpx_method array_methods[] = {
    {"__len__", array_len, 0, 0, 0},
    {"__getitem__", array_getitem, 1, 1, 0},
    {"__setitem__", array_setitem, 2, 2, 0},
    {"add", array_add, 2, 2, 0},
    {"compare_and_swap", array_compare_and_swap, 3, 3, 0},
    {"tolist", array_tolist, 0, 0, 0},
    {"typecode", array_typecode, 0, 0, 0},
    {"__repr__", array_repr, 0, 0, 0},
};

const mpx_type type_array = {
    .name = "Array",
    .init = array_init,
    .destroy = array_destroy,
    .methods = array_methods,
    .nmethods = sizeof array_methods / sizeof array_methods[0],
    .min_init_args = 2,
    .max_init_args = 2,
};
