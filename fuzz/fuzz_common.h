/* fuzz_common.h - what the fuzz targets check with: a failed property aborts, naming it.
 *
 * mpx_value_equal is Python's == (1 == 1.0 == True, nan != nan), the right test for what
 * a peer sees but too lax for a round trip, which must give back the same kinds and the
 * same bits: fuzz_same_value is that stricter identity. Invariant: every helper only
 * reads the values it is given, so a target can check before it frees.
 */
#ifndef MPX_FUZZ_COMMON_H
#define MPX_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpx/value.h"

/* abort() is what libFuzzer and the standalone driver both report as a crash. */
#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* The same value, bit for bit: kinds, float bits, bytes, order of items and pairs. */
static inline bool fuzz_same_value(const mpx_value *a, const mpx_value *b)
{
    mpx_kind k = mpx_value_kind(a);
    if (k != mpx_value_kind(b))
        return false;
    switch (k) {
    case MPX_NONE:
        return true;
    case MPX_BOOL:
        return mpx_value_get_bool(a) == mpx_value_get_bool(b);
    case MPX_INT:
        return mpx_value_get_int(a) == mpx_value_get_int(b);
    case MPX_FLOAT: {
        double x = mpx_value_get_float(a), y = mpx_value_get_float(b);
        return memcmp(&x, &y, sizeof x) == 0;
    }
    case MPX_STR:
    case MPX_BYTES:
        return mpx_value_str_len(a) == mpx_value_str_len(b) &&
               memcmp(mpx_value_str_data(a), mpx_value_str_data(b), mpx_value_str_len(a)) == 0;
    case MPX_LIST:
    case MPX_TUPLE:
        if (mpx_value_len(a) != mpx_value_len(b))
            return false;
        for (size_t i = 0; i < mpx_value_len(a); i++)
            if (!fuzz_same_value(mpx_value_at(a, i), mpx_value_at(b, i)))
                return false;
        return true;
    case MPX_DICT: {
        if (mpx_value_len(a) != mpx_value_len(b))
            return false;
        size_t pa = 0, pb = 0;
        mpx_value *ka, *va, *kb, *vb;
        while (mpx_value_dict_next(a, &pa, &ka, &va)) {
            if (!mpx_value_dict_next(b, &pb, &kb, &vb) || !fuzz_same_value(ka, kb) ||
                !fuzz_same_value(va, vb))
                return false;
        }
        return true;
    }
    case MPX_SET:
    case MPX_FROZENSET: {
        if (mpx_value_len(a) != mpx_value_len(b))
            return false;
        size_t pa = 0, pb = 0;
        mpx_value *ia, *ib;
        while (mpx_value_set_next(a, &pa, &ia))
            if (!mpx_value_set_next(b, &pb, &ib) || !fuzz_same_value(ia, ib))
                return false;
        return true;
    }
    case MPX_REF:
        return mpx_value_ref_id(a) == mpx_value_ref_id(b) &&
               strcmp(mpx_value_ref_type(a), mpx_value_ref_type(b)) == 0;
    case MPX_SLICE:
        for (int i = 0; i < 3; i++) {
            int64_t x = 0, y = 0;
            bool hx = mpx_value_slice_part(a, i, &x), hy = mpx_value_slice_part(b, i, &y);
            if (hx != hy || x != y)
                return false;
        }
        return true;
    default:
        return false;
    }
}

/* Whether v holds, at any depth, a value of kind k, or (nan) a float NaN. */
static inline bool fuzz_value_has_(const mpx_value *v, mpx_kind k, bool nan)
{
    mpx_kind kind = mpx_value_kind(v);
    if (kind == k && !nan)
        return true;
    if (kind == MPX_FLOAT && nan)
        return mpx_value_get_float(v) != mpx_value_get_float(v);
    if (kind == MPX_LIST || kind == MPX_TUPLE) {
        for (size_t i = 0; i < mpx_value_len(v); i++)
            if (fuzz_value_has_(mpx_value_at(v, i), k, nan))
                return true;
    } else if (kind == MPX_DICT) {
        size_t pos = 0;
        mpx_value *key, *val;
        while (mpx_value_dict_next(v, &pos, &key, &val))
            if (fuzz_value_has_(key, k, nan) || fuzz_value_has_(val, k, nan))
                return true;
    } else if (kind == MPX_SET || kind == MPX_FROZENSET) {
        size_t pos = 0;
        mpx_value *item;
        while (mpx_value_set_next(v, &pos, &item))
            if (fuzz_value_has_(item, k, nan))
                return true;
    }
    return false;
}

static inline bool fuzz_value_has_kind(const mpx_value *v, mpx_kind k)
{
    return fuzz_value_has_(v, k, false);
}

/* A NaN is unequal to itself under Python's ==. */
static inline bool fuzz_value_has_nan(const mpx_value *v)
{
    return fuzz_value_has_(v, MPX_FLOAT, true);
}

/* Python's == where it holds: a NaN anywhere may make a value unequal to itself. */
static inline bool fuzz_equal_unless_nan(const mpx_value *a, const mpx_value *b)
{
    return mpx_value_equal(a, b) || fuzz_value_has_nan(a);
}

/* A failed call must have said why: a NUL-terminated, non-empty reason in err, which the
 * caller filled with 0xff before the call. */
static inline bool fuzz_reason_given(const char *err, size_t errlen)
{
    return memchr(err, '\0', errlen) != NULL && err[0] != '\0' && (uint8_t)err[0] != 0xff;
}

#endif
