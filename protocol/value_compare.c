/* value_compare.c - Python's ordering (the `<` that sort() and min() use) over mpx_values.
 *
 * Only pairs Python can order are ordered: numbers among themselves (exactly, never
 * rounding an int64 to a double), str with str, bytes with bytes, list with list and
 * tuple with tuple. Every other pair is MPX_ETYPE, Python's TypeError. NaN is unordered
 * against everything and compares as 0, "neither less nor greater".
 */
#include <math.h>
#include <string.h>

#include "mpx/error.h"
#include "value_internal.h"

static int sign_of(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* Compares an int64 with a double without converting the int: a double outside
 * [-2^63, 2^63) lies beyond every int64; inside, its integer part is exact as int64 and
 * only a fractional part is left to break a tie. */
static int int_vs_float(int64_t i, double f)
{
    if (isnan(f))
        return 0;
    if (f >= 9223372036854775808.0)
        return -1;
    if (f < -9223372036854775808.0)
        return 1;
    double t = trunc(f);
    int c = sign_of(i, (int64_t)t);
    if (c != 0)
        return c;
    return (t > f) - (t < f); /* i == t: f's fraction decides */
}

static int64_t as_int(const mpx_value *v)
{
    return v->kind == MPX_BOOL ? (int64_t)v->u.b : v->u.i;
}

static int number_compare(const mpx_value *a, const mpx_value *b)
{
    if (a->kind == MPX_FLOAT && b->kind == MPX_FLOAT)
        return (a->u.f > b->u.f) - (a->u.f < b->u.f); /* 0 for NaN */
    if (a->kind == MPX_FLOAT)
        return -int_vs_float(as_int(b), a->u.f);
    if (b->kind == MPX_FLOAT)
        return int_vs_float(as_int(a), b->u.f);
    return sign_of(as_int(a), as_int(b));
}

/* Bytewise, then by length. On UTF-8 this is code point order, as Python orders str. */
static int buf_compare(const struct mpx_buf *a, const struct mpx_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n > 0 ? memcmp(a->data, b->data, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return (a->len > b->len) - (a->len < b->len);
}

/* Python's rule: skip the equal prefix (by ==), then the first unequal pair decides, so
 * [1, 'a'] < [2, 3] is fine while ['a'] < [1] raises; an exhausted side is the smaller. */
static int seq_compare(const struct mpx_seq *a, const struct mpx_seq *b, int *cmp)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++)
        if (!mpx_value_equal(&a->items[i], &b->items[i]))
            return mpx_value_compare(&a->items[i], &b->items[i], cmp);
    *cmp = (a->len > b->len) - (a->len < b->len);
    return MPX_OK;
}

static bool is_number(mpx_kind k)
{
    return k == MPX_BOOL || k == MPX_INT || k == MPX_FLOAT;
}

int mpx_value_compare(const mpx_value *a, const mpx_value *b, int *cmp)
{
    *cmp = 0;
    if (is_number(a->kind) && is_number(b->kind)) {
        *cmp = number_compare(a, b);
        return MPX_OK;
    }
    if (a->kind != b->kind)
        return MPX_ETYPE;
    switch (a->kind) {
    case MPX_STR:
    case MPX_BYTES:
        *cmp = buf_compare(a->u.buf, b->u.buf);
        return MPX_OK;
    case MPX_LIST:
    case MPX_TUPLE:
        return seq_compare(a->u.seq, b->u.seq, cmp);
    default:
        return MPX_ETYPE;
    }
}
