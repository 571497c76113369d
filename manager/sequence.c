/* sequence.c - what the sequence types share: Python's iter() over a value, and CPython's
 * index and slice arithmetic (PySlice_Unpack, PySlice_AdjustIndices), for list and Array.
 * Declared in types.h.
 */
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "types.h"

/* ---- iteration -------------------------------------------------------------------------- */

/* Length in bytes of the UTF-8 sequence a lead byte starts. */
static size_t utf8_seq_len(unsigned char lead)
{
    return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

int iterable_items(mpx_call *c, mpx_value *v, mpx_value *tmp, mpx_value **items, size_t *n)
{
    *tmp = mpx_value_none();
    *items = NULL;
    *n = 0;
    mpx_kind kind = mpx_value_kind(v);
    if (kind == MPX_LIST || kind == MPX_TUPLE) {
        *n = mpx_value_len(v);
        *items = *n ? mpx_value_items(v) : NULL;
        return MPX_OK;
    }
    if (kind != MPX_STR && kind != MPX_BYTES && kind != MPX_DICT)
        return mpx_call_fail(c, MPX_ETYPE, "'%s' object is not iterable", mpx_kind_name(kind));

    size_t count = mpx_value_len(v);
    const unsigned char *s = NULL;
    if (kind != MPX_DICT)
        s = (const unsigned char *)mpx_value_str_data(v);
    if (kind == MPX_STR) { /* code points, not bytes */
        count = 0;
        for (size_t i = 0; i < mpx_value_len(v); i++)
            count += (s[i] & 0xC0) != 0x80;
    }
    /* a cell each, and for a str a block each: 48 bytes a character, asked for up front */
    int rc = mpx_call_reserve(c, count * (sizeof(mpx_value) + (kind == MPX_STR ? VALUE_SMALL_BLOCK
                                                                             : 0)));
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_list(tmp, count) != MPX_OK || mpx_value_resize(tmp, count) != MPX_OK) {
        mpx_value_free(tmp);
        return mpx_call_fail_nomem(c);
    }
    mpx_value *out = mpx_value_items(tmp);
    if (kind == MPX_STR) {
        for (size_t i = 0, k = 0; rc == MPX_OK && k < count; k++) {
            size_t len = utf8_seq_len(s[i]);
            rc = mpx_value_strn(&out[k], (const char *)s + i, len);
            i += len;
        }
    } else if (kind == MPX_BYTES) {
        for (size_t k = 0; k < count; k++)
            out[k] = mpx_value_int(s[k]);
    } else {
        size_t pos = 0, k = 0;
        mpx_value *key, *val;
        while (mpx_value_dict_next(v, &pos, &key, &val)) /* v is only freed after this */
            mpx_value_move(&out[k++], key);
    }
    if (rc != MPX_OK) {
        mpx_value_free(tmp);
        return mpx_call_fail_nomem(c);
    }
    *items = count ? out : NULL;
    *n = count;
    return MPX_OK;
}

/* ---- what values cost ----------------------------------------------------------------- */

/* glibc's usable size for a request of n bytes: 16-byte chunks with an 8-byte header. */
static size_t chunk(size_t n)
{
    return n <= VALUE_SMALL_BLOCK ? VALUE_SMALL_BLOCK : ((n + 8 + 15) & ~(size_t)15) - 8;
}

/* The heap block a cell owns, and what that block's cells own in turn. */
static size_t block_cost(const mpx_value *v)
{
    switch (mpx_value_kind(v)) {
    case MPX_STR:
    case MPX_BYTES:
        return chunk(sizeof(uint32_t) + mpx_value_str_len(v) + 1);
    case MPX_LIST:
    case MPX_TUPLE: {
        size_t n = mpx_value_len(v), sum = chunk(2 * sizeof(size_t) + n * sizeof *v);
        const mpx_value *a = mpx_value_items(v);
        for (size_t i = 0; i < n; i++)
            sum += block_cost(&a[i]);
        return sum;
    }
    case MPX_DICT:
    case MPX_SET:
    case MPX_FROZENSET: {
        /* the map, and an entry (hash, key, value) plus index room per item, CPython's
         * usable fraction of 2/3 */
        size_t pos = 0, sum = chunk(64) + mpx_value_len(v) * 64;
        mpx_value *key, *val;
        while (mpx_value_dict_next(v, &pos, &key, &val))
            sum += block_cost(key) + block_cost(val);
        return sum;
    }
    case MPX_REF:
        return chunk(2 * sizeof(uint64_t) + strlen(mpx_value_ref_type(v)) + 1);
    case MPX_SLICE:
        return chunk(4 * sizeof(int64_t));
    default:
        return 0;
    }
}

size_t values_cost(const mpx_value *items, size_t n)
{
    size_t sum = n * sizeof *items;
    for (size_t i = 0; i < n; i++)
        sum += block_cost(&items[i]);
    return sum;
}

/* ---- indices and slices --------------------------------------------------------------- */

bool as_index(const mpx_value *v, int64_t *out)
{
    switch (mpx_value_kind(v)) {
    case MPX_INT:
        *out = mpx_value_get_int(v);
        return true;
    case MPX_BOOL:
        *out = mpx_value_get_bool(v);
        return true;
    default:
        return false;
    }
}

bool item_pos(int64_t i, size_t len, size_t *pos)
{
    if (i < 0)
        i += (int64_t)len;
    if (i < 0 || (uint64_t)i >= len)
        return false;
    *pos = (size_t)i;
    return true;
}

static int64_t clamp_bound(int64_t x, int64_t len, int64_t step)
{
    if (x < 0) {
        x += len;
        if (x < 0)
            x = step < 0 ? -1 : 0;
    } else if (x >= len) {
        x = step < 0 ? len - 1 : len;
    }
    return x;
}

int slice_span(mpx_call *c, const mpx_value *slice, size_t length, span *sp)
{
    int64_t start, stop, step = 1, len = (int64_t)length;
    if (mpx_value_slice_part(slice, 2, &step)) {
        if (step == 0)
            return mpx_call_fail(c, MPX_EVALUE, "slice step cannot be zero");
        if (step < -INT64_MAX) /* so that -step cannot overflow */
            step = -INT64_MAX;
    }
    if (!mpx_value_slice_part(slice, 0, &start))
        start = step < 0 ? INT64_MAX : 0;
    if (!mpx_value_slice_part(slice, 1, &stop))
        stop = step < 0 ? INT64_MIN : INT64_MAX;
    start = clamp_bound(start, len, step);
    stop = clamp_bound(stop, len, step);
    sp->start = start;
    sp->step = step;
    if (step < 0)
        sp->len = stop < start ? (size_t)((start - stop - 1) / -step + 1) : 0;
    else
        sp->len = start < stop ? (size_t)((stop - start - 1) / step + 1) : 0;
    return MPX_OK;
}

void values_reverse(mpx_value *a, size_t n)
{
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        mpx_value t = a[i];
        a[i] = a[j - 1];
        a[j - 1] = t;
    }
}
