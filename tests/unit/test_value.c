/* test_value.c - unit tests of the value model (protocol/value*.c, not the parser).
 *
 * Expected reprs are what Python 3 prints for the same value; equality, hashing and
 * ordering are checked against Python's rules, including the int/float edge cases.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "codec.h"
#include "mpx/error.h"
#include "mpx/value.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static mpx_value str(const char *s)
{
    mpx_value v;
    assert_int_equal(mpx_value_str(&v, s), MPX_OK);
    return v;
}

static mpx_value strn(const char *s, size_t n)
{
    mpx_value v;
    assert_int_equal(mpx_value_strn(&v, s, n), MPX_OK);
    return v;
}

static mpx_value bytes(const char *s, size_t n)
{
    mpx_value v;
    assert_int_equal(mpx_value_bytes(&v, s, n), MPX_OK);
    return v;
}

/* A list or tuple of the n values that follow (taken). */
static mpx_value seq(mpx_kind kind, int n, ...)
{
    mpx_value v;
    assert_int_equal(kind == MPX_LIST ? mpx_value_list(&v, 0) : mpx_value_tuple(&v, 0),
                     MPX_OK);
    va_list ap;
    va_start(ap, n);
    for (int k = 0; k < n; k++) {
        mpx_value item = va_arg(ap, mpx_value);
        assert_int_equal(mpx_value_append(&v, &item), MPX_OK);
        assert_int_equal(mpx_value_kind(&item), MPX_NONE);
    }
    va_end(ap);
    return v;
}

/* A dict of the n key, value pairs that follow (taken). */
static mpx_value dict(int n, ...)
{
    mpx_value v;
    assert_int_equal(mpx_value_dict(&v), MPX_OK);
    va_list ap;
    va_start(ap, n);
    for (int k = 0; k < n; k++) {
        mpx_value key = va_arg(ap, mpx_value), val = va_arg(ap, mpx_value);
        assert_int_equal(mpx_value_dict_set(&v, &key, &val), MPX_OK);
    }
    va_end(ap);
    return v;
}

static void check_repr(const mpx_value *v, const char *want)
{
    char *got = mpx_value_repr(v);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Checks the repr and frees the value. */
static void check_repr_free(mpx_value v, const char *want)
{
    check_repr(&v, want);
    mpx_value_free(&v);
}

static void check_float(double f, const char *want)
{
    mpx_value v = mpx_value_float(f);
    check_repr(&v, want);
}

static int compare(const mpx_value *a, const mpx_value *b, int *cmp)
{
    return mpx_value_compare(a, b, cmp);
}

/* ---- repr ------------------------------------------------------------------------------- */

static void test_repr_scalars(void **state)
{
    (void)state;
    mpx_value v = mpx_value_none();
    check_repr(&v, "None");
    v = mpx_value_bool(true);
    check_repr(&v, "True");
    v = mpx_value_bool(false);
    check_repr(&v, "False");
    v = mpx_value_int(0);
    check_repr(&v, "0");
    v = mpx_value_int(-42);
    check_repr(&v, "-42");
    v = mpx_value_int(INT64_MAX);
    check_repr(&v, "9223372036854775807");
    v = mpx_value_int(INT64_MIN);
    check_repr(&v, "-9223372036854775808");
}

static void test_repr_float(void **state)
{
    (void)state;
    check_float(1e16, "1e+16");
    check_float(1e15, "1000000000000000.0");
    check_float(0.0001, "0.0001");
    check_float(1e-05, "1e-05");
    check_float(1.5e-07, "1.5e-07");
    check_float(1e100, "1e+100");
    check_float(0.1, "0.1");
    check_float(-0.0, "-0.0");
    check_float(0.0, "0.0");
    check_float(2.0, "2.0");
    check_float(-2.5, "-2.5");
    check_float(3.1415927, "3.1415927");
    check_float(123456789012345678.0, "1.2345678901234568e+17");
    check_float(0.1 + 0.2, "0.30000000000000004");
    check_float(1.0 / 3.0, "0.3333333333333333");
    check_float(9999999999999998.0, "9999999999999998.0");
    check_float(0.25, "0.25");
    check_float(123.456e-10, "1.23456e-08");
    check_float(1.7976931348623157e308, "1.7976931348623157e+308");
    check_float(5e-324, "5e-324");
    check_float(2.2250738585072014e-308, "2.2250738585072014e-308");
    /* Powers of two, where the shortest string is above the nearest candidate. */
    check_float(ldexp(1, 543), "2.879304828507646e+163");
    check_float(ldexp(1, -1000), "9.332636185032189e-302");
    check_float(INFINITY, "inf");
    check_float(-INFINITY, "-inf");
    check_float(NAN, "nan");
}

static void test_repr_str(void **state)
{
    (void)state;
    check_repr_free(str(""), "''");
    check_repr_free(str("hello"), "'hello'");
    check_repr_free(str("it's \"x\""), "'it\\'s \"x\"'");
    check_repr_free(str("it's"), "\"it's\"");
    check_repr_free(str("say \"hi\""), "'say \"hi\"'");
    check_repr_free(str("a\\b\n\r\t"), "'a\\\\b\\n\\r\\t'");
    check_repr_free(strn("\0\x1f\x7f", 3), "'\\x00\\x1f\\x7f'");
    /* U+0080, U+009F, U+00A0 (no-break space) and U+00AD (soft hyphen) are escaped. */
    check_repr_free(str("\xc2\x80\xc2\x9f\xc2\xa0\xc2\xad"), "'\\x80\\x9f\\xa0\\xad'");
    /* Printable non-ASCII passes through as UTF-8: U+00E9, U+20AC, U+1F600. */
    check_repr_free(str("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
                    "'\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80'");
    check_repr_free(str("\xe2\x80\xa8\xe2\x80\x8b\xef\xbb\xbf"), "'\\u2028\\u200b\\ufeff'");
    check_repr_free(str("\xf3\xa0\x80\x81"), "'\\U000e0001'");
    check_repr_free(str("\xee\x80\x80"), "'\\ue000'");
}

static void test_repr_bytes(void **state)
{
    (void)state;
    check_repr_free(bytes("", 0), "b''");
    check_repr_free(bytes("\0", 1), "b'\\x00'");
    check_repr_free(bytes("abc", 3), "b'abc'");
    check_repr_free(bytes("it's", 4), "b\"it's\"");
    check_repr_free(bytes("'\"", 2), "b'\\'\"'");
    check_repr_free(bytes("\x7f\x80\xff\\\n", 5), "b'\\x7f\\x80\\xff\\\\\\n'");
}

static void test_repr_containers(void **state)
{
    (void)state;
    check_repr_free(seq(MPX_LIST, 3, mpx_value_int(9), mpx_value_int(8), mpx_value_int(7)),
                    "[9, 8, 7]");
    check_repr_free(seq(MPX_LIST, 0), "[]");
    check_repr_free(seq(MPX_TUPLE, 0), "()");
    check_repr_free(seq(MPX_TUPLE, 1, mpx_value_int(1)), "(1,)");
    check_repr_free(seq(MPX_TUPLE, 2, mpx_value_int(1), mpx_value_int(2)), "(1, 2)");
    check_repr_free(dict(0), "{}");
    check_repr_free(dict(3, mpx_value_float(0.25), mpx_value_none(), mpx_value_int(1),
                         str("1"), str("2"), mpx_value_int(2)),
                    "{0.25: None, 1: '1', '2': 2}");
    check_repr_free(seq(MPX_LIST, 3, seq(MPX_TUPLE, 1, seq(MPX_LIST, 0)),
                        dict(1, bytes("k", 1), seq(MPX_TUPLE, 0)), mpx_value_float(-1.5)),
                    "[([],), {b'k': ()}, -1.5]");

    mpx_value v;
    int64_t one = 1, minus = -3;
    assert_int_equal(mpx_value_slice(&v, &one, NULL, NULL), MPX_OK);
    check_repr_free(v, "slice(1, None, None)");
    assert_int_equal(mpx_value_slice(&v, NULL, &minus, &one), MPX_OK);
    check_repr_free(v, "slice(None, -3, 1)");
    assert_int_equal(mpx_value_ref(&v, 17, "dict"), MPX_OK);
    check_repr_free(v, "<ref dict 17>");
}

/* ---- construction, access, ownership ---------------------------------------------------- */

static void test_utf8_validation(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        {"\xc0\x80", 2},         /* overlong NUL */
        {"\xc1\xbf", 2},         /* overlong */
        {"\xe0\x80\x80", 3},     /* overlong 3-byte */
        {"\xf0\x80\x80\x80", 4}, /* overlong 4-byte */
        {"\xed\xa0\x80", 3},     /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3},     /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4}, /* U+110000 */
        {"\xf5\x80\x80\x80", 4}, /* lead byte past the range */
        {"\x80", 1},             /* lone continuation */
        {"a\xc3", 2},            /* truncated */
        {"\xe2\x82", 2},         /* truncated */
        {"\xe2\x28\xa1", 3},     /* bad continuation */
        {"\xff", 1},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        mpx_value v = mpx_value_int(5);
        assert_int_equal(mpx_value_strn(&v, bad[k].s, bad[k].n), MPX_EVALUE);
        assert_int_equal(mpx_value_kind(&v), MPX_NONE);
        /* The same bytes are fine as bytes. */
        assert_int_equal(mpx_value_bytes(&v, bad[k].s, bad[k].n), MPX_OK);
        mpx_value_free(&v);
    }
    mpx_value v = strn("a\0b\xf4\x8f\xbf\xbf\xed\x9f\xbf\xef\xbf\xbf", 13);
    assert_int_equal(mpx_value_str_len(&v), 13);
    assert_memory_equal(mpx_value_str_data(&v), "a\0b", 3);
    assert_int_equal(mpx_value_str_data(&v)[13], '\0');
    mpx_value_free(&v);
}

static void test_access(void **state)
{
    (void)state;
    mpx_value v = str("h\xc3\xa9");
    assert_int_equal(mpx_value_kind(&v), MPX_STR);
    assert_int_equal(mpx_value_len(&v), 3);
    assert_string_equal(mpx_value_str_data(&v), "h\xc3\xa9");
    mpx_value_free(&v);

    int64_t start = 2, step = -1, part = 0;
    assert_int_equal(mpx_value_slice(&v, &start, NULL, &step), MPX_OK);
    assert_true(mpx_value_slice_part(&v, 0, &part));
    assert_int_equal(part, 2);
    assert_false(mpx_value_slice_part(&v, 1, &part));
    assert_true(mpx_value_slice_part(&v, 2, &part));
    assert_int_equal(part, -1);
    mpx_value_free(&v);

    assert_int_equal(mpx_value_ref(&v, 99, "Queue"), MPX_OK);
    assert_int_equal(mpx_value_ref_id(&v), 99);
    assert_string_equal(mpx_value_ref_type(&v), "Queue");
    mpx_value_free(&v);

    assert_string_equal(mpx_kind_name(MPX_NONE), "NoneType");
    assert_string_equal(mpx_kind_name(MPX_INT), "int");
    assert_string_equal(mpx_kind_name(MPX_DICT), "dict");
    assert_string_equal(mpx_kind_name(MPX_SLICE), "slice");
    assert_string_equal(mpx_kind_name(MPX_KIND_COUNT_), "unknown");
}

static void test_truthy(void **state)
{
    (void)state;
    mpx_value f[] = {mpx_value_none(), mpx_value_bool(false), mpx_value_int(0),
                     mpx_value_float(0.0), mpx_value_float(-0.0), str(""), bytes("", 0),
                     seq(MPX_LIST, 0), seq(MPX_TUPLE, 0), dict(0)};
    mpx_value t[] = {mpx_value_bool(true), mpx_value_int(-1), mpx_value_float(NAN),
                     str("0"), bytes("\0", 1), seq(MPX_LIST, 1, mpx_value_none()),
                     dict(1, mpx_value_none(), mpx_value_none())};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        assert_false(mpx_value_truthy(&f[k]));
        mpx_value_free(&f[k]);
    }
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        assert_true(mpx_value_truthy(&t[k]));
        mpx_value_free(&t[k]);
    }
}

static void test_copy_move_free(void **state)
{
    (void)state;
    int64_t one = 1;
    mpx_value sl, ref;
    assert_int_equal(mpx_value_slice(&sl, &one, NULL, &one), MPX_OK);
    assert_int_equal(mpx_value_ref(&ref, 7, "list"), MPX_OK);
    mpx_value src = seq(MPX_LIST, 5, str("a"), bytes("b", 1),
                        dict(2, seq(MPX_TUPLE, 1, mpx_value_int(1)), seq(MPX_LIST, 0),
                             str("k"), mpx_value_float(2.5)),
                        sl, ref);
    mpx_value dst = mpx_value_int(3); /* overwritten, not freed */
    assert_int_equal(mpx_value_copy(&dst, &src), MPX_OK);
    assert_true(mpx_value_equal(&dst, &src));
    check_repr(&dst, "['a', b'b', {(1,): [], 'k': 2.5}, slice(1, None, 1), <ref list 7>]");

    /* The copy is deep: changing it leaves the source alone. */
    mpx_value *inner = mpx_value_at(&dst, 2);
    mpx_value key = str("k"), val = mpx_value_none();
    assert_int_equal(mpx_value_dict_set(inner, &key, &val), MPX_OK);
    assert_int_equal(mpx_value_resize(&dst, 1), MPX_OK);
    assert_false(mpx_value_equal(&dst, &src));
    check_repr(&src, "['a', b'b', {(1,): [], 'k': 2.5}, slice(1, None, 1), <ref list 7>]");

    mpx_value moved;
    mpx_value_move(&moved, &src);
    assert_int_equal(mpx_value_kind(&src), MPX_NONE);
    assert_int_equal(mpx_value_len(&moved), 5);
    mpx_value_free(&src); /* freeing None is a no-op */
    mpx_value_free(&moved);
    assert_int_equal(mpx_value_kind(&moved), MPX_NONE);
    mpx_value_free(&dst);

    mpx_value n = mpx_value_float(1.5), c;
    assert_int_equal(mpx_value_copy(&c, &n), MPX_OK);
    assert_true(mpx_value_get_float(&c) == 1.5);
    mpx_value empty = dict(0), ec;
    assert_int_equal(mpx_value_copy(&ec, &empty), MPX_OK);
    assert_int_equal(mpx_value_len(&ec), 0);
    mpx_value_free(&empty);
    mpx_value_free(&ec);
}

/* ---- list and tuple --------------------------------------------------------------------- */

static void test_list_ops(void **state)
{
    (void)state;
    mpx_value l;
    assert_int_equal(mpx_value_list(&l, 0), MPX_OK);
    assert_null(mpx_value_items(&l));
    assert_null(mpx_value_at(&l, 0));
    for (int k = 0; k < 1000; k++) {
        mpx_value item = mpx_value_int(k);
        assert_int_equal(mpx_value_append(&l, &item), MPX_OK);
    }
    assert_int_equal(mpx_value_len(&l), 1000);
    assert_int_equal(mpx_value_get_int(mpx_value_at(&l, 999)), 999);
    assert_null(mpx_value_at(&l, 1000));

    mpx_value item = str("front");
    assert_int_equal(mpx_value_insert(&l, 0, &item), MPX_OK);
    assert_int_equal(mpx_value_kind(&item), MPX_NONE);
    item = str("mid");
    assert_int_equal(mpx_value_insert(&l, 500, &item), MPX_OK);
    item = str("end");
    assert_int_equal(mpx_value_insert(&l, 1002, &item), MPX_OK);
    assert_int_equal(mpx_value_len(&l), 1003);
    assert_string_equal(mpx_value_str_data(mpx_value_at(&l, 0)), "front");
    assert_string_equal(mpx_value_str_data(mpx_value_at(&l, 500)), "mid");
    assert_string_equal(mpx_value_str_data(mpx_value_at(&l, 1002)), "end");
    assert_int_equal(mpx_value_get_int(mpx_value_at(&l, 1)), 0);
    assert_int_equal(mpx_value_get_int(mpx_value_at(&l, 501)), 499);

    mpx_value out;
    mpx_value_remove(&l, 500, &out);
    assert_string_equal(mpx_value_str_data(&out), "mid");
    mpx_value_free(&out);
    mpx_value_remove(&l, 0, NULL);
    mpx_value_remove(&l, 1000, NULL);
    assert_int_equal(mpx_value_len(&l), 1000);
    mpx_value *items = mpx_value_items(&l);
    for (int k = 0; k < 1000; k++)
        assert_int_equal(mpx_value_get_int(&items[k]), k);

    assert_int_equal(mpx_value_resize(&l, 2), MPX_OK);
    check_repr(&l, "[0, 1]");
    assert_int_equal(mpx_value_resize(&l, 4), MPX_OK);
    check_repr(&l, "[0, 1, None, None]");
    assert_int_equal(mpx_value_resize(&l, 0), MPX_OK);
    check_repr(&l, "[]");
    item = str("again");
    assert_int_equal(mpx_value_append(&l, &item), MPX_OK);
    check_repr(&l, "['again']");
    mpx_value_free(&l);

    mpx_value t;
    assert_int_equal(mpx_value_tuple(&t, 3), MPX_OK);
    for (int k = 0; k < 3; k++) {
        item = mpx_value_int(k);
        assert_int_equal(mpx_value_append(&t, &item), MPX_OK);
    }
    check_repr(&t, "(0, 1, 2)");
    mpx_value_free(&t);
}

/* ---- equality and hashing --------------------------------------------------------------- */

static void test_equality(void **state)
{
    (void)state;
    mpx_value i1 = mpx_value_int(1), f1 = mpx_value_float(1.0), t = mpx_value_bool(true);
    assert_true(mpx_value_equal(&i1, &f1));
    assert_true(mpx_value_equal(&f1, &t));
    assert_true(mpx_value_equal(&t, &i1));
    mpx_value i0 = mpx_value_int(0), fz = mpx_value_float(-0.0), fl = mpx_value_bool(false);
    assert_true(mpx_value_equal(&i0, &fz));
    assert_true(mpx_value_equal(&fz, &fl));

    /* 2**53 + 1 is not representable: Python compares exactly, so it is not 2.0**53. */
    mpx_value big = mpx_value_int(9007199254740993LL), bigf = mpx_value_float(9007199254740992.0);
    assert_false(mpx_value_equal(&big, &bigf));
    mpx_value big2 = mpx_value_int(9007199254740992LL);
    assert_true(mpx_value_equal(&big2, &bigf));
    mpx_value maxi = mpx_value_int(INT64_MAX), two63 = mpx_value_float(9223372036854775808.0);
    assert_false(mpx_value_equal(&maxi, &two63));
    mpx_value mini = mpx_value_int(INT64_MIN), m63 = mpx_value_float(-9223372036854775808.0);
    assert_true(mpx_value_equal(&mini, &m63));
    mpx_value half = mpx_value_float(0.5);
    assert_false(mpx_value_equal(&half, &i0));

    mpx_value nan = mpx_value_float(NAN);
    assert_false(mpx_value_equal(&nan, &nan));

    mpx_value s = str("ab"), b = bytes("ab", 2), s2 = str("ab"), n = mpx_value_none();
    assert_false(mpx_value_equal(&s, &b));
    assert_true(mpx_value_equal(&s, &s2));
    assert_false(mpx_value_equal(&s, &n));
    assert_true(mpx_value_equal(&n, &n));

    mpx_value l = seq(MPX_LIST, 2, mpx_value_int(1), str("x"));
    mpx_value tu = seq(MPX_TUPLE, 2, mpx_value_int(1), str("x"));
    mpx_value l2 = seq(MPX_LIST, 2, mpx_value_float(1.0), str("x"));
    assert_false(mpx_value_equal(&l, &tu));
    assert_true(mpx_value_equal(&l, &l2));

    mpx_value d1 = dict(2, str("a"), mpx_value_int(1), mpx_value_int(2), l2);
    mpx_value d2 = dict(2, mpx_value_float(2.0), l, str("a"), mpx_value_bool(true));
    mpx_value d3 = dict(2, str("a"), mpx_value_int(1), mpx_value_int(2), mpx_value_none());
    assert_true(mpx_value_equal(&d1, &d2)); /* order does not matter */
    assert_false(mpx_value_equal(&d1, &d3));

    mpx_value r1, r2, r3;
    assert_int_equal(mpx_value_ref(&r1, 5, "dict"), MPX_OK);
    assert_int_equal(mpx_value_ref(&r2, 5, "dict"), MPX_OK);
    assert_int_equal(mpx_value_ref(&r3, 6, "dict"), MPX_OK);
    assert_true(mpx_value_equal(&r1, &r2));
    assert_false(mpx_value_equal(&r1, &r3));

    int64_t a = 1, z = 0;
    mpx_value sl1, sl2, sl3;
    assert_int_equal(mpx_value_slice(&sl1, &a, NULL, NULL), MPX_OK);
    assert_int_equal(mpx_value_slice(&sl2, &a, NULL, NULL), MPX_OK);
    assert_int_equal(mpx_value_slice(&sl3, &a, &z, NULL), MPX_OK);
    assert_true(mpx_value_equal(&sl1, &sl2));
    assert_false(mpx_value_equal(&sl1, &sl3));

    mpx_value *all[] = {&s, &b, &s2, &tu, &d1, &d2, &d3, &r1, &r2, &r3, &sl1, &sl2, &sl3};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        mpx_value_free(all[k]);
}

static void test_hash(void **state)
{
    (void)state;
    mpx_value i1 = mpx_value_int(1), f1 = mpx_value_float(1.0), t = mpx_value_bool(true);
    assert_true(mpx_value_hash(&i1) == mpx_value_hash(&f1));
    assert_true(mpx_value_hash(&i1) == mpx_value_hash(&t));
    mpx_value i0 = mpx_value_int(0), f0 = mpx_value_float(0.0), fz = mpx_value_float(-0.0),
              fl = mpx_value_bool(false);
    assert_true(mpx_value_hash(&i0) == mpx_value_hash(&f0));
    assert_true(mpx_value_hash(&i0) == mpx_value_hash(&fz));
    assert_true(mpx_value_hash(&i0) == mpx_value_hash(&fl));
    mpx_value bi = mpx_value_int(-123456789012LL), bf = mpx_value_float(-123456789012.0);
    assert_true(mpx_value_hash(&bi) == mpx_value_hash(&bf));
    assert_true(mpx_value_hash(&i0) != mpx_value_hash(&i1));

    mpx_value s1 = str("hello world, long enough"), s2 = str("hello world, long enough");
    assert_true(mpx_value_hash(&s1) == mpx_value_hash(&s2));
    mpx_value t1 = seq(MPX_TUPLE, 2, mpx_value_int(1), str("a"));
    mpx_value t2 = seq(MPX_TUPLE, 2, mpx_value_float(1.0), str("a"));
    mpx_value t3 = seq(MPX_TUPLE, 2, str("a"), mpx_value_int(1));
    assert_true(mpx_value_hash(&t1) == mpx_value_hash(&t2));
    assert_true(mpx_value_hash(&t1) != mpx_value_hash(&t3));
    /* NaNs equal nothing and hash by identity, as in CPython 3.10+, so they do not all
     * share one hash; a tuple holding one keeps its hash while it lives */
    mpx_value nan1 = mpx_value_float(NAN), nan2 = mpx_value_float(NAN);
    assert_true(mpx_value_hash(&nan1) != mpx_value_hash(&nan2));
    mpx_value tn1 = seq(MPX_TUPLE, 1, mpx_value_float(NAN));
    mpx_value tn2 = seq(MPX_TUPLE, 1, mpx_value_float(NAN));
    assert_true(mpx_value_hash(&tn1) != mpx_value_hash(&tn2));
    assert_true(mpx_value_hash(&tn1) == mpx_value_hash(&tn1));
    assert_true(mpx_value_hashable(&tn1));
    mpx_value_free(&tn1);
    mpx_value_free(&tn2);

    mpx_value n = mpx_value_none(), b = bytes("x", 1), l = seq(MPX_LIST, 0), d = dict(0);
    mpx_value tl = seq(MPX_TUPLE, 1, seq(MPX_LIST, 0)), r, sl;
    assert_int_equal(mpx_value_ref(&r, 1, "dict"), MPX_OK);
    assert_int_equal(mpx_value_slice(&sl, NULL, NULL, NULL), MPX_OK);
    assert_true(mpx_value_hashable(&n));
    assert_true(mpx_value_hashable(&b));
    assert_true(mpx_value_hashable(&t1));
    assert_true(mpx_value_hashable(&f1));
    assert_false(mpx_value_hashable(&l));
    assert_false(mpx_value_hashable(&d));
    assert_false(mpx_value_hashable(&tl));
    assert_false(mpx_value_hashable(&r));
    assert_false(mpx_value_hashable(&sl));
    mpx_value *all[] = {&s1, &s2, &t1, &t2, &t3, &b, &l, &d, &tl, &r, &sl};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        mpx_value_free(all[k]);
}

/* ---- dict ------------------------------------------------------------------------------- */

static void test_dict_numeric_keys(void **state)
{
    (void)state;
    mpx_value d = dict(0), key = mpx_value_int(1), val = str("a");
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    key = mpx_value_float(1.0);
    val = str("b");
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    assert_int_equal(mpx_value_kind(&key), MPX_NONE);
    assert_int_equal(mpx_value_len(&d), 1);
    check_repr(&d, "{1: 'b'}"); /* the first key stays */

    key = mpx_value_bool(true);
    mpx_value *found = NULL;
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_OK);
    assert_string_equal(mpx_value_str_data(found), "b");

    /* 0, 0.0, -0.0 and False are one key too. */
    key = mpx_value_float(-0.0);
    val = mpx_value_int(0);
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    key = mpx_value_bool(false);
    val = mpx_value_int(1);
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    check_repr(&d, "{1: 'b', -0.0: 1}");

    /* 2**53 + 1 and 2.0**53 are different keys. */
    key = mpx_value_int(9007199254740993LL);
    val = mpx_value_none();
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    key = mpx_value_float(9007199254740992.0);
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_EKEY);

    /* A NaN key goes in but is never found again: NaN != NaN. */
    key = mpx_value_float(NAN);
    val = mpx_value_none();
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    key = mpx_value_float(NAN);
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_EKEY);
    assert_int_equal(mpx_value_len(&d), 4);

    /* str and bytes are distinct keys. */
    key = str("k");
    val = mpx_value_int(1);
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    key = bytes("k", 1);
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_EKEY);
    mpx_value_free(&key);
    mpx_value_free(&d);
}

static void test_dict_unhashable(void **state)
{
    (void)state;
    mpx_value d = dict(0), key = seq(MPX_LIST, 1, mpx_value_int(1)), val = str("v");
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_ETYPE);
    /* Nothing was taken. */
    assert_int_equal(mpx_value_kind(&key), MPX_LIST);
    assert_int_equal(mpx_value_kind(&val), MPX_STR);
    mpx_value *found;
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_ETYPE);
    assert_int_equal(mpx_value_dict_pop(&d, &key, NULL, NULL), MPX_ETYPE);
    mpx_value_free(&key);
    key = seq(MPX_TUPLE, 1, dict(0));
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_ETYPE);
    mpx_value_free(&key);
    mpx_value_free(&val);
    assert_int_equal(mpx_value_len(&d), 0);
    assert_int_equal(mpx_value_dict_popitem(&d, NULL, NULL), MPX_EKEY);
    mpx_value_free(&d);
}

static void set_int(mpx_value *d, int64_t k, int64_t v)
{
    mpx_value key = mpx_value_int(k), val = mpx_value_int(v);
    assert_int_equal(mpx_value_dict_set(d, &key, &val), MPX_OK);
}

static void set_str(mpx_value *d, int64_t k, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "key-%lld", (long long)k);
    mpx_value key = str(buf), val = mpx_value_int(v);
    assert_int_equal(mpx_value_dict_set(d, &key, &val), MPX_OK);
}

static void test_dict_many(void **state)
{
    (void)state;
    enum { N = 10000 };
    mpx_value d = dict(0);
    for (int k = 0; k < N; k++)
        set_str(&d, k, k);
    assert_int_equal(mpx_value_len(&d), N);
    for (int k = 0; k < N; k++) {
        char buf[32];
        snprintf(buf, sizeof buf, "key-%d", k);
        mpx_value key = str(buf), *found;
        assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_OK);
        assert_int_equal(mpx_value_get_int(found), k);
        if (k % 2 == 0) {
            mpx_value kout, vout;
            assert_int_equal(mpx_value_dict_pop(&d, &key, &kout, &vout), MPX_OK);
            assert_string_equal(mpx_value_str_data(&kout), buf);
            assert_int_equal(mpx_value_get_int(&vout), k);
            mpx_value_free(&kout);
            assert_int_equal(mpx_value_dict_pop(&d, &key, NULL, NULL), MPX_EKEY);
        }
        mpx_value_free(&key);
    }
    assert_int_equal(mpx_value_len(&d), N / 2);

    /* Insertion order survives deletions and the resizes that compact them away. */
    for (int k = N; k < 2 * N; k++)
        set_str(&d, k, k);
    size_t pos = 0, count = 0;
    mpx_value *key, *val;
    int64_t prev = -1;
    while (mpx_value_dict_next(&d, &pos, &key, &val)) {
        int64_t v = mpx_value_get_int(val);
        assert_true(v > prev);
        assert_true(v >= N || v % 2 == 1);
        prev = v;
        count++;
    }
    assert_int_equal(count, N / 2 + N);

    /* popitem is LIFO, across the whole dict. */
    for (int64_t k = 2 * N - 1; k >= N; k--) {
        mpx_value kout, vout;
        assert_int_equal(mpx_value_dict_popitem(&d, &kout, &vout), MPX_OK);
        assert_int_equal(mpx_value_get_int(&vout), k);
        mpx_value_free(&kout);
    }
    for (int64_t k = N - 1; k >= 0; k -= 2) {
        mpx_value vout;
        assert_int_equal(mpx_value_dict_popitem(&d, NULL, &vout), MPX_OK);
        assert_int_equal(mpx_value_get_int(&vout), k);
    }
    assert_int_equal(mpx_value_len(&d), 0);
    assert_int_equal(mpx_value_dict_popitem(&d, NULL, NULL), MPX_EKEY);

    /* The emptied dict works again, and clear empties it in one go. */
    for (int k = 0; k < N; k++)
        set_int(&d, k, -k);
    assert_int_equal(mpx_value_len(&d), N);
    mpx_value copy;
    assert_int_equal(mpx_value_copy(&copy, &d), MPX_OK);
    assert_true(mpx_value_equal(&copy, &d));
    mpx_value_dict_clear(&d);
    assert_int_equal(mpx_value_len(&d), 0);
    pos = 0;
    assert_false(mpx_value_dict_next(&d, &pos, &key, &val));
    set_int(&d, 1, 1);
    check_repr(&d, "{1: 1}");
    mpx_value_free(&d);

    pos = 0;
    count = 0;
    while (mpx_value_dict_next(&copy, &pos, &key, &val)) {
        assert_int_equal(mpx_value_get_int(key), (int64_t)count);
        assert_int_equal(mpx_value_get_int(val), -(int64_t)count);
        count++;
    }
    assert_int_equal(count, N);
    mpx_value_free(&copy);
}

/* Push/popitem and set/pop cycles over ever new keys: each leaves a DUMMY index slot, and
 * the table must still rebuild in time (a full index would make lookups loop forever). */
static void test_dict_churn(void **state)
{
    (void)state;
    mpx_value d = dict(0);
    set_int(&d, -1, 0);
    for (int64_t k = 0; k < 100000; k++) {
        set_int(&d, k, k);
        if (k % 3 == 0) {
            assert_int_equal(mpx_value_dict_popitem(&d, NULL, NULL), MPX_OK);
        } else {
            mpx_value key = mpx_value_int(k);
            assert_int_equal(mpx_value_dict_pop(&d, &key, NULL, NULL), MPX_OK);
        }
        assert_int_equal(mpx_value_len(&d), 1);
    }
    check_repr(&d, "{-1: 0}");
    mpx_value_free(&d);
}

static void test_dict_iteration_and_values(void **state)
{
    (void)state;
    mpx_value d = dict(3, str("a"), mpx_value_int(1), str("b"), mpx_value_int(2), str("c"),
                       mpx_value_int(3));
    mpx_value key = str("b");
    assert_int_equal(mpx_value_dict_pop(&d, &key, NULL, NULL), MPX_OK);
    mpx_value val = mpx_value_int(4);
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    check_repr(&d, "{'a': 1, 'c': 3, 'b': 4}"); /* re-inserted keys go last */

    mpx_value *found;
    key = str("a");
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_OK);
    *found = mpx_value_float(0.5); /* the borrowed value can be changed in place */
    val = str("x");
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    check_repr(&d, "{'a': 'x', 'c': 3, 'b': 4}");

    key = seq(MPX_TUPLE, 2, mpx_value_int(1), seq(MPX_TUPLE, 0));
    val = mpx_value_none();
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    key = seq(MPX_TUPLE, 2, mpx_value_bool(true), seq(MPX_TUPLE, 0));
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_OK);
    mpx_value_free(&key);
    check_repr(&d, "{'a': 'x', 'c': 3, 'b': 4, (1, ()): None}");
    mpx_value_free(&d);
}

/* ---- NaN keys --------------------------------------------------------------------------- */

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

enum { NAN_KEYS = 80000 };

/* NaN equals nothing, not even itself, so every NaN key is an entry of its own, and a
 * dict of many must still cost O(1) per key (CPython hashes a NaN by identity for this):
 * 80,000 of them inserted, found (never), popped in LIFO order, copied, and decoded from
 * a 1.2 MB frame. Times are printed, not asserted: they only show the shape. */
static void test_dict_nan_keys(void **state)
{
    (void)state;
    struct timespec t0;
    mpx_value d = dict(0), key, val, *found;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < NAN_KEYS; k++) {
        key = mpx_value_float(NAN);
        val = mpx_value_int(k);
        assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    }
    printf("# %d NaN keys inserted in %.3f s\n", NAN_KEYS, seconds_since(&t0));
    assert_int_equal(mpx_value_len(&d), NAN_KEYS);
    /* a fresh NaN is found nowhere: d[nan] is a KeyError, d.pop(nan) too */
    key = mpx_value_float(NAN);
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_EKEY);
    assert_int_equal(mpx_value_dict_pop(&d, &key, NULL, NULL), MPX_EKEY);
    key = mpx_value_float(-NAN);
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_EKEY);
    /* the other keys keep Python's rules beside them: 1 == 1.0 == True is one key */
    key = mpx_value_int(1);
    val = str("one");
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    key = mpx_value_bool(true);
    val = str("true");
    assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    key = mpx_value_float(1.0);
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_OK);
    assert_string_equal(mpx_value_str_data(found), "true");
    assert_int_equal(mpx_value_len(&d), NAN_KEYS + 1);

    /* a copy holds as many, equal to nothing: its NaN keys are not the original's */
    mpx_value copy;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(mpx_value_copy(&copy, &d), MPX_OK);
    assert_int_equal(mpx_value_len(&copy), NAN_KEYS + 1);
    assert_false(mpx_value_equal(&copy, &d));
    printf("# copied and compared in %.3f s\n", seconds_since(&t0));
    mpx_value_free(&copy);

    /* popitem walks each NaN entry's own probe path back, newest first */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(mpx_value_dict_popitem(&d, NULL, NULL), MPX_OK); /* 1: 'true' */
    for (int k = NAN_KEYS - 1; k >= 0; k--) {
        mpx_value kout, vout;
        assert_int_equal(mpx_value_dict_popitem(&d, &kout, &vout), MPX_OK);
        assert_true(isnan(mpx_value_get_float(&kout)));
        assert_int_equal(mpx_value_get_int(&vout), k);
    }
    printf("# %d NaN keys popped in %.3f s\n", NAN_KEYS, seconds_since(&t0));
    assert_int_equal(mpx_value_len(&d), 0);

    /* a tuple holding a NaN equals no tuple either: (nan,) 80,000 times is 80,000 keys */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < NAN_KEYS; k++) {
        key = seq(MPX_TUPLE, 2, mpx_value_int(1), seq(MPX_TUPLE, 1, mpx_value_float(NAN)));
        val = mpx_value_none();
        assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    }
    printf("# %d (1, (nan,)) keys inserted in %.3f s\n", NAN_KEYS, seconds_since(&t0));
    assert_int_equal(mpx_value_len(&d), NAN_KEYS);
    key = seq(MPX_TUPLE, 2, mpx_value_int(1), seq(MPX_TUPLE, 1, mpx_value_float(NAN)));
    assert_int_equal(mpx_value_dict_find(&d, &key, &found), MPX_EKEY);
    mpx_value_free(&key);
    mpx_value_free(&d);

    /* the same through the codec: a dict of 80,000 NaN keys in one frame */
    d = dict(0);
    for (int k = 0; k < NAN_KEYS; k++) {
        key = mpx_value_float(NAN);
        val = mpx_value_none();
        assert_int_equal(mpx_value_dict_set(&d, &key, &val), MPX_OK);
    }
    uint8_t *buf;
    size_t len;
    assert_int_equal(codec_request_encode(1, 2, "update", &d, 1, false, 0, &buf, &len),
                     MPX_OK);
    mpx_value_free(&d);
    mpx_request req;
    char err[128];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(codec_request_decode(buf, len, &req, err, sizeof err), MPX_OK);
    printf("# a %zu-byte frame of %d NaN keys decoded in %.3f s\n", len, NAN_KEYS,
           seconds_since(&t0));
    assert_int_equal(req.nargs, 1);
    assert_int_equal(mpx_value_kind(&req.args[0]), MPX_DICT);
    assert_int_equal(mpx_value_len(&req.args[0]), NAN_KEYS);
    key = mpx_value_float(NAN);
    assert_int_equal(mpx_value_dict_find(&req.args[0], &key, &found), MPX_EKEY);
    codec_request_clear(&req);
    free(buf);
}

/* ---- compare ---------------------------------------------------------------------------- */

static void check_cmp(mpx_value a, mpx_value b, int want)
{
    int cmp = 99;
    assert_int_equal(compare(&a, &b, &cmp), MPX_OK);
    assert_int_equal(cmp, want);
    assert_int_equal(compare(&b, &a, &cmp), MPX_OK);
    assert_int_equal(cmp, -want);
    mpx_value_free(&a);
    mpx_value_free(&b);
}

static void check_cmp_type_error(mpx_value a, mpx_value b)
{
    int cmp;
    assert_int_equal(compare(&a, &b, &cmp), MPX_ETYPE);
    assert_int_equal(compare(&b, &a, &cmp), MPX_ETYPE);
    mpx_value_free(&a);
    mpx_value_free(&b);
}

static void test_compare(void **state)
{
    (void)state;
    check_cmp(mpx_value_int(1), mpx_value_int(2), -1);
    check_cmp(mpx_value_int(1), mpx_value_float(1.0), 0);
    check_cmp(mpx_value_bool(true), mpx_value_float(0.5), 1);
    check_cmp(mpx_value_bool(false), mpx_value_bool(true), -1);
    check_cmp(mpx_value_int(-1), mpx_value_float(-0.5), -1);
    check_cmp(mpx_value_int(-1), mpx_value_float(-1.5), 1);
    /* Exact int vs double: 2**53 + 1 > 2.0**53, INT64_MAX < 2.0**63. */
    check_cmp(mpx_value_int(9007199254740993LL), mpx_value_float(9007199254740992.0), 1);
    check_cmp(mpx_value_int(INT64_MAX), mpx_value_float(9223372036854775808.0), -1);
    check_cmp(mpx_value_int(INT64_MIN), mpx_value_float(-9223372036854775808.0), 0);
    check_cmp(mpx_value_int(INT64_MIN), mpx_value_float(-1e300), 1);
    check_cmp(mpx_value_int(0), mpx_value_float(INFINITY), -1);
    check_cmp(mpx_value_float(-INFINITY), mpx_value_float(1.0), -1);
    check_cmp(mpx_value_float(NAN), mpx_value_int(1), 0);
    check_cmp(mpx_value_float(NAN), mpx_value_float(NAN), 0);

    check_cmp(str("abc"), str("abd"), -1);
    check_cmp(str("ab"), str("abc"), -1);
    check_cmp(str(""), str(""), 0);
    check_cmp(str("\xc3\xa9"), str("z"), 1);                     /* U+00E9 > 'z' */
    check_cmp(str("\xef\xbf\xbf"), str("\xf0\x90\x80\x80"), -1); /* U+FFFF < U+10000 */
    check_cmp(bytes("\x00", 1), bytes("", 0), 1);
    check_cmp(bytes("\xff", 1), bytes("a", 1), 1);

    check_cmp(seq(MPX_LIST, 2, mpx_value_int(1), mpx_value_int(2)),
              seq(MPX_LIST, 2, mpx_value_int(1), mpx_value_int(3)), -1);
    check_cmp(seq(MPX_LIST, 1, mpx_value_int(1)),
              seq(MPX_LIST, 2, mpx_value_int(1), mpx_value_int(0)), -1);
    check_cmp(seq(MPX_TUPLE, 2, mpx_value_int(1), str("b")),
              seq(MPX_TUPLE, 2, mpx_value_float(1.0), str("a")), 1);
    /* Only the first unequal pair is ordered: [1, 'a'] < [2, 3] is fine in Python. */
    check_cmp(seq(MPX_LIST, 2, mpx_value_int(1), str("a")),
              seq(MPX_LIST, 2, mpx_value_int(2), mpx_value_int(3)), -1);
    /* Equal items of unorderable kinds are never ordered: [None] < [None] is False. */
    check_cmp(seq(MPX_LIST, 1, mpx_value_none()), seq(MPX_LIST, 1, mpx_value_none()), 0);
    check_cmp(seq(MPX_LIST, 0), seq(MPX_LIST, 0), 0);

    check_cmp_type_error(str("1"), mpx_value_int(1));
    check_cmp_type_error(mpx_value_none(), mpx_value_none());
    check_cmp_type_error(mpx_value_none(), mpx_value_int(0));
    check_cmp_type_error(str("a"), bytes("a", 1));
    check_cmp_type_error(seq(MPX_LIST, 0), seq(MPX_TUPLE, 0));
    check_cmp_type_error(dict(0), dict(0));
    check_cmp_type_error(seq(MPX_LIST, 1, str("a")), seq(MPX_LIST, 1, mpx_value_int(1)));
    check_cmp_type_error(seq(MPX_LIST, 1, dict(0)),
                         seq(MPX_LIST, 1, dict(1, mpx_value_int(1), mpx_value_int(1))));
}

static mpx_value literal(const char *text)
{
    mpx_value v;
    char err[128];
    if (mpx_value_parse(text, &v, err, sizeof err) != MPX_OK)
        fail_msg("%s: %s", text, err);
    return v;
}

/* Sets behave as Python's: equal items are one, set == frozenset, only frozenset hashes
 * (order-free), and a frozenset is a dict key. */
static void test_sets(void **state)
{
    (void)state;
    mpx_value s, item = mpx_value_int(1), one = mpx_value_float(1.0), list;
    assert_int_equal(mpx_value_set(&s, false), MPX_OK);
    assert_false(mpx_value_truthy(&s));
    assert_int_equal(mpx_value_set_add(&s, &item), MPX_OK);
    assert_int_equal(mpx_value_set_add(&s, &one), MPX_OK); /* 1.0 is 1: still one item */
    assert_int_equal(mpx_value_len(&s), 1);
    item = mpx_value_int(1); /* the set took the first one */
    assert_true(mpx_value_set_contains(&s, &item) && mpx_value_truthy(&s));
    assert_int_equal(mpx_value_list(&list, 0), MPX_OK);
    assert_int_equal(mpx_value_set_add(&s, &list), MPX_ETYPE); /* nothing taken */
    mpx_value_free(&list);
    assert_string_equal(mpx_kind_name(mpx_value_kind(&s)), "set");
    assert_false(mpx_value_hashable(&s));
    assert_int_equal(mpx_value_set_discard(&s, &item), MPX_OK);
    assert_int_equal(mpx_value_set_discard(&s, &item), MPX_EKEY);
    mpx_value_free(&s);

    mpx_value a = literal("frozenset({1, 'x', (2, 3)})"), b = literal("{(2, 3), 'x', 1}");
    mpx_value c = literal("frozenset({(2, 3), 'x', 1.0})"), copy;
    assert_true(mpx_value_equal(&a, &b) && mpx_value_equal(&b, &a));
    assert_true(mpx_value_hashable(&a) && mpx_value_hash(&a) == mpx_value_hash(&c));
    assert_int_equal(mpx_value_copy(&copy, &a), MPX_OK);
    assert_int_equal(mpx_value_kind(&copy), MPX_FROZENSET);
    assert_true(mpx_value_equal(&copy, &c));
    mpx_value d = literal("{}"), val = mpx_value_int(7), *found;
    assert_int_equal(mpx_value_dict_set(&d, &copy, &val), MPX_OK);
    assert_int_equal(mpx_value_dict_find(&d, &c, &found), MPX_OK); /* equal, other order */
    assert_int_equal(mpx_value_get_int(found), 7);
    char *r = mpx_value_repr(&d);
    assert_string_equal(r, "{frozenset({1, 'x', (2, 3)}): 7}");
    free(r);
    mpx_value_free(&a);
    mpx_value_free(&b);
    mpx_value_free(&c);
    mpx_value_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repr_scalars),
        cmocka_unit_test(test_repr_float),
        cmocka_unit_test(test_repr_str),
        cmocka_unit_test(test_repr_bytes),
        cmocka_unit_test(test_repr_containers),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_truthy),
        cmocka_unit_test(test_copy_move_free),
        cmocka_unit_test(test_list_ops),
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_dict_numeric_keys),
        cmocka_unit_test(test_dict_unhashable),
        cmocka_unit_test(test_dict_many),
        cmocka_unit_test(test_dict_churn),
        cmocka_unit_test(test_dict_iteration_and_values),
        cmocka_unit_test(test_dict_nan_keys),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
