/* typecode.c - the array module's typecodes: which values each accepts, and how they sit
 * in a raw slot.
 *
 * Slots are read and written with memcpy through the exact C type (int8_t ... double), so
 * they need no alignment and an Array can pack them back to back. Every store checks the
 * value completely before the first byte of the slot changes.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "typecode.h"

static const typecode typecodes[] = {
    {'b', 1, TC_INT, INT8_MIN, INT8_MAX},
    {'B', 1, TC_INT, 0, UINT8_MAX},
    {'u', 4, TC_CHAR, 0, 0x10FFFF},
    {'h', 2, TC_INT, INT16_MIN, INT16_MAX},
    {'H', 2, TC_INT, 0, UINT16_MAX},
    {'i', 4, TC_INT, INT32_MIN, INT32_MAX},
    {'I', 4, TC_INT, 0, UINT32_MAX},
    {'l', 8, TC_INT, INT64_MIN, INT64_MAX},
    {'L', 8, TC_INT, 0, INT64_MAX}, /* mpx ints stop at INT64_MAX */
    {'q', 8, TC_INT, INT64_MIN, INT64_MAX},
    {'Q', 8, TC_INT, 0, INT64_MAX},
    {'f', 4, TC_FLOAT, 0, 0},
    {'d', 8, TC_FLOAT, 0, 0},
    {'c', 1, TC_BYTE, 0, UINT8_MAX},
};

const typecode *typecode_find(char code)
{
    for (size_t i = 0; i < sizeof typecodes / sizeof typecodes[0]; i++)
        if (typecodes[i].code == code)
            return &typecodes[i];
    return NULL;
}

/* Number of code points in a str (which is valid UTF-8). */
static size_t utf8_count(const mpx_value *s)
{
    const unsigned char *p = (const unsigned char *)mpx_value_str_data(s);
    size_t n = 0;
    for (size_t i = 0; i < mpx_value_str_len(s); i++)
        n += (p[i] & 0xC0) != 0x80;
    return n;
}

int typecode_arg(mpx_call *c, size_t i, const typecode **out)
{
    const mpx_value *v = &c->args[i];
    if (mpx_value_kind(v) != MPX_STR)
        return mpx_call_fail(c, MPX_ETYPE, "typecode must be a unicode character, not %s",
                             mpx_kind_name(mpx_value_kind(v)));
    if (utf8_count(v) != 1)
        return mpx_call_fail(c, MPX_ETYPE,
                             "typecode must be a unicode character, not a str of length %zu",
                             utf8_count(v));
    *out = mpx_value_str_len(v) == 1 ? typecode_find(mpx_value_str_data(v)[0]) : NULL;
    if (*out == NULL)
        return mpx_call_fail(c, MPX_EVALUE,
                             "bad typecode (must be b, B, u, h, H, i, I, l, L, q, Q, f, d or c)");
    return MPX_OK;
}

/* ---- raw slots ----------------------------------------------------------------------------- */

static int64_t load_int(const typecode *tc, const void *slot)
{
    bool sign = tc->min < 0;
    switch (tc->size) {
    case 1: {
        uint8_t u;
        memcpy(&u, slot, 1);
        return sign ? (int64_t)(int8_t)u : (int64_t)u;
    }
    case 2: {
        uint16_t u;
        memcpy(&u, slot, 2);
        return sign ? (int64_t)(int16_t)u : (int64_t)u;
    }
    case 4: {
        uint32_t u;
        memcpy(&u, slot, 4);
        return sign ? (int64_t)(int32_t)u : (int64_t)u;
    }
    default: {
        int64_t x;
        memcpy(&x, slot, 8);
        return x;
    }
    }
}

/* x is within tc's range: its low tc->size bytes are the slot's content (two's
 * complement for the signed codes, the same bits for the unsigned ones). */
static void store_int(const typecode *tc, void *slot, int64_t x)
{
    switch (tc->size) {
    case 1: {
        uint8_t u = (uint8_t)x;
        memcpy(slot, &u, 1);
        break;
    }
    case 2: {
        uint16_t u = (uint16_t)x;
        memcpy(slot, &u, 2);
        break;
    }
    case 4: {
        uint32_t u = (uint32_t)x;
        memcpy(slot, &u, 4);
        break;
    }
    default:
        memcpy(slot, &x, 8);
        break;
    }
}

static double load_float(const typecode *tc, const void *slot)
{
    if (tc->size == 4) {
        float f;
        memcpy(&f, slot, 4);
        return f;
    }
    double d;
    memcpy(&d, slot, 8);
    return d;
}

/* A finite double beyond FLT_MAX has no float (C leaves the conversion undefined);
 * inf and nan convert as they are, as Python's struct does. */
static int store_float(mpx_call *c, const typecode *tc, void *slot, double x)
{
    if (tc->size == 8) {
        memcpy(slot, &x, 8);
        return MPX_OK;
    }
    if (isfinite(x) && fabs(x) > FLT_MAX)
        return mpx_call_fail(c, MPX_EOVERFLOW, "%g is out of range for typecode 'f'", x);
    float f = (float)x;
    memcpy(slot, &f, 4);
    return MPX_OK;
}

/* ---- accepting values --------------------------------------------------------------------- */

static bool int_of(const mpx_value *v, int64_t *out)
{
    if (mpx_value_kind(v) == MPX_INT)
        *out = mpx_value_get_int(v);
    else if (mpx_value_kind(v) == MPX_BOOL)
        *out = mpx_value_get_bool(v);
    else
        return false;
    return true;
}

static bool number_of(const mpx_value *v, double *out)
{
    int64_t i;
    if (mpx_value_kind(v) == MPX_FLOAT) {
        *out = mpx_value_get_float(v);
        return true;
    }
    if (!int_of(v, &i))
        return false;
    *out = (double)i;
    return true;
}

static int range_fail(mpx_call *c, const typecode *tc, int64_t x)
{
    return mpx_call_fail(c, MPX_EOVERFLOW, "%lld is out of range for typecode '%c' (%lld..%lld)",
                         (long long)x, tc->code, (long long)tc->min, (long long)tc->max);
}

static int int_kind_fail(mpx_call *c, const mpx_value *v)
{
    return mpx_call_fail(c, MPX_ETYPE, "integer argument expected, got %s",
                         mpx_kind_name(mpx_value_kind(v)));
}

static int float_kind_fail(mpx_call *c, const mpx_value *v)
{
    return mpx_call_fail(c, MPX_ETYPE, "must be real number, not %s",
                         mpx_kind_name(mpx_value_kind(v)));
}

/* The code point of a str that holds exactly one; false otherwise. */
static bool one_code_point(const mpx_value *v, uint32_t *cp)
{
    if (mpx_value_kind(v) != MPX_STR || utf8_count(v) != 1)
        return false;
    const unsigned char *s = (const unsigned char *)mpx_value_str_data(v);
    size_t len = mpx_value_str_len(v);
    if (len == 1) {
        *cp = s[0];
        return true;
    }
    uint32_t x = s[0] & (0x7F >> len); /* the lead byte's payload bits */
    for (size_t i = 1; i < len; i++)
        x = x << 6 | (s[i] & 0x3F);
    *cp = x;
    return true;
}

int typecode_store(mpx_call *c, const typecode *tc, void *slot, const mpx_value *v)
{
    int64_t i;
    double d;
    uint32_t cp;
    switch (tc->kind) {
    case TC_INT:
        if (!int_of(v, &i))
            return int_kind_fail(c, v);
        if (i < tc->min || i > tc->max)
            return range_fail(c, tc, i);
        store_int(tc, slot, i);
        return MPX_OK;
    case TC_FLOAT:
        if (!number_of(v, &d))
            return float_kind_fail(c, v);
        return store_float(c, tc, slot, d);
    case TC_CHAR:
        if (!one_code_point(v, &cp)) {
            if (mpx_value_kind(v) == MPX_STR)
                return mpx_call_fail(c, MPX_ETYPE,
                                     "array item must be a unicode character, not a str of "
                                     "length %zu", utf8_count(v));
            return mpx_call_fail(c, MPX_ETYPE, "array item must be a unicode character, not %s",
                                 mpx_kind_name(mpx_value_kind(v)));
        }
        memcpy(slot, &cp, 4);
        return MPX_OK;
    case TC_BYTE:
        if (mpx_value_kind(v) != MPX_BYTES)
            return mpx_call_fail(c, MPX_ETYPE, "array item must be a bytes of length 1, not %s",
                                 mpx_kind_name(mpx_value_kind(v)));
        if (mpx_value_str_len(v) != 1)
            return mpx_call_fail(c, MPX_ETYPE,
                                 "array item must be a bytes of length 1, not a bytes of "
                                 "length %zu",
                                 mpx_value_str_len(v));
        memcpy(slot, mpx_value_str_data(v), 1);
        return MPX_OK;
    }
    return mpx_call_fail(c, MPX_ETYPE, "bad typecode");
}

/* UTF-8 for one code point below 0x110000 (stored slots only ever hold those). */
static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int typecode_load(const typecode *tc, const void *slot, mpx_value *out)
{
    switch (tc->kind) {
    case TC_INT:
        *out = mpx_value_int(load_int(tc, slot));
        return MPX_OK;
    case TC_FLOAT:
        *out = mpx_value_float(load_float(tc, slot));
        return MPX_OK;
    case TC_CHAR: {
        uint32_t cp;
        char text[4];
        memcpy(&cp, slot, 4);
        return mpx_value_strn(out, text, utf8_encode(cp, text));
    }
    case TC_BYTE:
        return mpx_value_bytes(out, slot, 1);
    }
    *out = mpx_value_none();
    return MPX_OK;
}

int typecode_zero(const typecode *tc, mpx_value *out)
{
    unsigned char zero[8] = {0};
    return typecode_load(tc, zero, out);
}

int typecode_add(mpx_call *c, const typecode *tc, const void *slot, size_t i, void *new_slot)
{
    const mpx_value *delta = &c->args[i];
    if (tc->kind == TC_INT) {
        int64_t cur = load_int(tc, slot), d, sum;
        if (!int_of(delta, &d))
            return int_kind_fail(c, delta);
        if (__builtin_add_overflow(cur, d, &sum) || sum < tc->min || sum > tc->max)
            return mpx_call_fail(c, MPX_EOVERFLOW,
                                 "%lld + %lld is out of range for typecode '%c' (%lld..%lld)",
                                 (long long)cur, (long long)d, tc->code, (long long)tc->min,
                                 (long long)tc->max);
        store_int(tc, new_slot, sum);
        return MPX_OK;
    }
    if (tc->kind == TC_FLOAT) {
        double d;
        if (!number_of(delta, &d))
            return float_kind_fail(c, delta);
        return store_float(c, tc, new_slot, load_float(tc, slot) + d);
    }
    return mpx_call_fail(c, MPX_ETYPE, "cannot add to items of typecode '%c'", tc->code);
}
