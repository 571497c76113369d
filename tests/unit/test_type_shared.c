/* test_type_shared.c - manager/typecode.c, type_value.c and type_array.c through
 * object_invoke, without a server.
 *
 * Each integer typecode is tried at its edges (min, max, one past each); every kind of
 * wrong value is refused with Python's wording; 'f' reads back rounded to a C float; a
 * failed set, add or slice store leaves the object exactly as it was (checked by reading
 * it back after each failure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "type_harness.h"
#include "typecode.h"

/* arr[spec] must be want. */
static void check_getslice(type_fixture *f, const char *spec, const char *want)
{
    mpx_value a, s = th_parse_slice(spec);
    assert_int_equal(mpx_value_tuple(&a, 1), MPX_OK);
    assert_int_equal(mpx_value_append(&a, &s), MPX_OK);
    th_check_args(f, "__getitem__", a, want);
}

/* arr[spec] = items (a literal) must give want. */
static void check_setslice(type_fixture *f, const char *spec, const char *items, const char *want)
{
    mpx_value a, s = th_parse_slice(spec), v = th_parse(items);
    assert_int_equal(mpx_value_tuple(&a, 2), MPX_OK);
    assert_int_equal(mpx_value_append(&a, &s), MPX_OK);
    assert_int_equal(mpx_value_append(&a, &v), MPX_OK);
    th_check_args(f, "__setitem__", a, want);
}

/* ---- typecodes ---------------------------------------------------------------------------- */

static const struct {
    char code;
    long long min, max;
} int_codes[] = {
    {'b', -128, 127},
    {'B', 0, 255},
    {'h', -32768, 32767},
    {'H', 0, 65535},
    {'i', INT32_MIN, INT32_MAX},
    {'I', 0, UINT32_MAX},
    {'l', INT64_MIN, INT64_MAX},
    {'L', 0, INT64_MAX},
    {'q', INT64_MIN, INT64_MAX},
    {'Q', 0, INT64_MAX},
};

static void test_int_edges(void **state)
{
    (void)state;
    char args[128], want[160];
    for (size_t k = 0; k < sizeof int_codes / sizeof int_codes[0]; k++) {
        char code = int_codes[k].code;
        long long min = int_codes[k].min, max = int_codes[k].max;
        type_fixture f;
        snprintf(args, sizeof args, "('%c', %lld)", code, max);
        th_make_ok(&f, &type_value, args);
        snprintf(want, sizeof want, "%lld", max);
        th_check(&f, "get", "()", want);
        snprintf(args, sizeof args, "(%lld,)", min);
        th_check(&f, "set", args, "None");
        snprintf(want, sizeof want, "%lld", min);
        th_check(&f, "get", "()", want);
        /* one past either end (or -1 for the 64-bit unsigned codes) */
        long long below = min > INT64_MIN ? min - 1 : 0, above = max < INT64_MAX ? max + 1 : 0;
        if (min == 0)
            below = -1;
        for (int side = 0; side < 2; side++) {
            long long x = side == 0 ? below : above;
            if (x == 0)
                continue;
            snprintf(args, sizeof args, "(%lld,)", x);
            snprintf(want, sizeof want,
                     "OverflowError: %lld is out of range for typecode '%c' (%lld..%lld)", x,
                     code, min, max);
            th_check(&f, "set", args, want);
            snprintf(want, sizeof want, "%lld", min);
            th_check(&f, "get", "()", want); /* unchanged */

            snprintf(args, sizeof args, "('%c', [0, %lld])", code, x);
            snprintf(want, sizeof want,
                     "OverflowError: %lld is out of range for typecode '%c' (%lld..%lld)", x,
                     code, min, max);
            th_make_fails(&type_array, args, want);
        }
        th_check(&f, "set", "(True,)", "None");
        th_check(&f, "get", "()", "1");
        th_check(&f, "set", "(1.0,)", "TypeError: integer argument expected, got float");
        th_check(&f, "set", "('1',)", "TypeError: integer argument expected, got str");
        th_check(&f, "set", "(None,)", "TypeError: integer argument expected, got NoneType");
        th_check(&f, "get", "()", "1");
        snprintf(want, sizeof want, "'%c'", code);
        th_check(&f, "typecode", "()", want);
        object_clear(&f.obj);

        /* packed storage: both edges side by side read back intact */
        snprintf(args, sizeof args, "('%c', (%lld, %lld, 0))", code, min, max);
        th_make_ok(&f, &type_array, args);
        snprintf(want, sizeof want, "[%lld, %lld, 0]", min, max);
        th_check(&f, "tolist", "()", want);
        object_clear(&f.obj);
    }
}

static void test_float_codes(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_value, "('d',)");
    th_check(&f, "get", "()", "0.0");
    th_check(&f, "__repr__", "()", "\"Value('d', 0.0)\"");
    th_check(&f, "set", "(3.1415927,)", "None");
    th_check(&f, "get", "()", "3.1415927");
    th_check(&f, "set", "(2,)", "None");
    th_check(&f, "get", "()", "2.0");
    th_check(&f, "set", "(True,)", "None");
    th_check(&f, "get", "()", "1.0");
    th_check(&f, "set", "('x',)", "TypeError: must be real number, not str");
    th_check(&f, "set", "(None,)", "TypeError: must be real number, not NoneType");
    th_check(&f, "set", "(1e300,)", "None");
    th_check(&f, "get", "()", "1e+300");
    object_clear(&f.obj);

    /* 'f' is a C float: it reads back rounded */
    th_make_ok(&f, &type_value, "('f', 0.1)");
    th_check(&f, "get", "()", "0.10000000149011612");
    th_check(&f, "set", "(3.1415927,)", "None");
    th_check(&f, "get", "()", "3.1415927410125732");
    th_check(&f, "set", "(16777217,)", "None");
    th_check(&f, "get", "()", "16777216.0");
    th_check(&f, "set", "(1.5,)", "None");
    th_check(&f, "set", "(1e300,)", "OverflowError: 1e+300 is out of range for typecode 'f'");
    th_check(&f, "get", "()", "1.5");
    th_check(&f, "add", "(0.25,)", "1.75");
    th_check(&f, "set", "(0.1,)", "None");
    th_check(&f, "add", "(0.2,)", "0.30000001192092896");
    th_check(&f, "add", "('x',)", "TypeError: must be real number, not str");
    th_check(&f, "__repr__", "()", "\"Value('f', 0.30000001192092896)\"");
    object_clear(&f.obj);

    th_make_ok(&f, &type_array, "('d', [1, 2.5])");
    th_check(&f, "__repr__", "()", "\"array('d', [1.0, 2.5])\"");
    th_check(&f, "add", "(0, 0.5)", "1.5");
    th_check(&f, "add", "(-1, 1)", "3.5");
    object_clear(&f.obj);
}

static void test_char_codes(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_value, "('u',)");
    th_check(&f, "get", "()", "'\\x00'");
    th_check(&f, "set", "('é',)", "None");
    th_check(&f, "get", "()", "'é'");
    th_check(&f, "set", "('😀',)", "None");
    th_check(&f, "get", "()", "'😀'");
    th_check(&f, "set", "('ab',)",
          "TypeError: array item must be a unicode character, not a str of length 2");
    th_check(&f, "set", "('',)",
          "TypeError: array item must be a unicode character, not a str of length 0");
    th_check(&f, "set", "(1,)", "TypeError: array item must be a unicode character, not int");
    th_check(&f, "set", "(b'a',)", "TypeError: array item must be a unicode character, not bytes");
    th_check(&f, "add", "(1,)", "TypeError: cannot add to items of typecode 'u'");
    th_check(&f, "get", "()", "'😀'");
    th_check(&f, "compare_and_swap", "('😀', 'x')", "True");
    th_check(&f, "compare_and_swap", "('😀', 'y')", "False");
    th_check(&f, "__repr__", "()", "\"Value('u', 'x')\"");
    object_clear(&f.obj);

    th_make_ok(&f, &type_value, "('c',)");
    th_check(&f, "get", "()", "b'\\x00'");
    th_check(&f, "set", "(b'z',)", "None");
    th_check(&f, "get", "()", "b'z'");
    th_check(&f, "set", "(b'ab',)",
          "TypeError: array item must be a bytes of length 1, not a bytes of length 2");
    th_check(&f, "set", "('a',)", "TypeError: array item must be a bytes of length 1, not str");
    th_check(&f, "set", "(97,)", "TypeError: array item must be a bytes of length 1, not int");
    th_check(&f, "add", "(1,)", "TypeError: cannot add to items of typecode 'c'");
    th_check(&f, "__repr__", "()", "\"Value('c', b'z')\"");
    object_clear(&f.obj);

    th_make_ok(&f, &type_array, "('u', 'aé€😀')");
    th_check(&f, "__len__", "()", "4");
    th_check(&f, "__repr__", "()", "\"array('u', 'aé€😀')\"");
    th_check(&f, "__getitem__", "(-1,)", "'😀'");
    check_getslice(&f, "::-1", "['😀', '€', 'é', 'a']");
    check_setslice(&f, "1:3", "'xy'", "None");
    th_check(&f, "tolist", "()", "['a', 'x', 'y', '😀']");
    object_clear(&f.obj);

    th_make_ok(&f, &type_array, "('c', b'ab')");
    th_check(&f, "__repr__", "()", "\"array('c', b'ab')\"");
    check_setslice(&f, ":", "b'xy'", "None");
    th_check(&f, "tolist", "()", "[b'x', b'y']");
    check_setslice(&f, ":", "[b'p', b'q']", "None");
    th_check(&f, "__repr__", "()", "\"array('c', b'pq')\"");
    object_clear(&f.obj);
}

static void test_bad_typecodes(void **state)
{
    (void)state;
    const char *bad = "ValueError: bad typecode (must be b, B, u, h, H, i, I, l, L, q, Q, f, d "
                      "or c)";
    th_make_fails(&type_value, "('x',)", bad);
    th_make_fails(&type_value, "('é',)", bad);
    th_make_fails(&type_array, "('z', 3)", bad);
    th_make_fails(&type_value, "(1,)", "TypeError: typecode must be a unicode character, not int");
    th_make_fails(&type_value, "('ii',)",
               "TypeError: typecode must be a unicode character, not a str of length 2");
    th_make_fails(&type_array, "('', 3)",
               "TypeError: typecode must be a unicode character, not a str of length 0");
    th_make_fails(&type_value, "()", "TypeError: Value expected at least 1 argument, got 0");
    th_make_fails(&type_value, "('i', 1, 2)",
               "TypeError: Value expected at most 2 arguments, got 3");
    th_make_fails(&type_value, "('i', 1.5)", "TypeError: integer argument expected, got float");
    th_make_fails(&type_array, "('i',)", "TypeError: Array expected 2 arguments, got 1");
    th_make_fails(&type_array, "('i', -1)", "ValueError: Array length must be >= 0, not -1");
    th_make_fails(&type_array, "('i', 1.5)",
               "TypeError: size_or_initializer must be a list or tuple, not float");
    th_make_fails(&type_array, "('i', 'abc')",
               "TypeError: size_or_initializer must be a list or tuple, not str");
    th_make_fails(&type_array, "('u', b'abc')",
               "TypeError: size_or_initializer must be a list or tuple, not bytes");
    th_make_fails(&type_array, "('i', {1: 2})",
               "TypeError: size_or_initializer must be a list or tuple, not dict");
    th_make_fails(&type_array, "('i', [1, 'x'])", "TypeError: integer argument expected, got str");
    th_make_fails(&type_array, "('d', 4611686018427387904)",
               "MemoryError: Array of 4611686018427387904 items is too large (at most "
               "134217728)");
}

/* ---- Value ---------------------------------------------------------------------------------- */

static void test_value_add(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_value, "('b', 120)");
    th_check(&f, "add", "(7,)", "127");
    th_check(&f, "add", "(1,)",
          "OverflowError: 127 + 1 is out of range for typecode 'b' (-128..127)");
    th_check(&f, "get", "()", "127");
    th_check(&f, "add", "(-256,)",
          "OverflowError: 127 + -256 is out of range for typecode 'b' (-128..127)");
    th_check(&f, "add", "(1.0,)", "TypeError: integer argument expected, got float");
    th_check(&f, "add", "(True,)", "OverflowError: 127 + 1 is out of range for typecode 'b' "
                                "(-128..127)");
    th_check(&f, "add", "(-127,)", "0");
    th_check(&f, "__repr__", "()", "\"Value('b', 0)\"");
    object_clear(&f.obj);

    /* 64-bit overflow is caught before it wraps */
    th_make_ok(&f, &type_value, "('q', 9223372036854775806)");
    th_check(&f, "add", "(1,)", "9223372036854775807");
    th_check(&f, "add", "(1,)",
          "OverflowError: 9223372036854775807 + 1 is out of range for typecode 'q' "
          "(-9223372036854775808..9223372036854775807)");
    th_check(&f, "get", "()", "9223372036854775807");
    th_check(&f, "add", "(-9223372036854775807,)", "0");
    object_clear(&f.obj);

    th_make_ok(&f, &type_value, "('Q',)");
    th_check(&f, "add", "(-1,)",
          "OverflowError: 0 + -1 is out of range for typecode 'Q' (0..9223372036854775807)");
    th_check(&f, "get", "()", "0");
    object_clear(&f.obj);

    th_make_ok(&f, &type_value, "('d', 1)");
    th_check(&f, "add", "(2,)", "3.0");
    th_check(&f, "add", "(0.5,)", "3.5");
    th_check(&f, "add", "(None,)", "TypeError: must be real number, not NoneType");
    th_check(&f, "get", "()", "3.5");
    th_check(&f, "__repr__", "()", "\"Value('d', 3.5)\"");
    object_clear(&f.obj);
}

static void test_value_compare_and_swap(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_value, "('i', 5)");
    th_check(&f, "compare_and_swap", "(5, 6)", "True");
    th_check(&f, "get", "()", "6");
    th_check(&f, "compare_and_swap", "(5, 7)", "False");
    th_check(&f, "get", "()", "6");
    th_check(&f, "compare_and_swap", "(6.0, 7)", "True"); /* Python's 6 == 6.0 */
    th_check(&f, "compare_and_swap", "('7', 8)", "False");
    th_check(&f, "compare_and_swap", "(7, 2147483648)",
          "OverflowError: 2147483648 is out of range for typecode 'i' "
          "(-2147483648..2147483647)");
    th_check(&f, "compare_and_swap", "(7, 1.5)",
             "TypeError: integer argument expected, got float");
    th_check(&f, "get", "()", "7");
    th_check(&f, "compare_and_swap", "(7,)",
          "TypeError: compare_and_swap expected 2 arguments, got 1");
    th_check(&f, "nope", "()", "AttributeError: 'Value' object has no method 'nope'");
    object_clear(&f.obj);

    th_make_ok(&f, &type_value, "('d', 1)");
    th_check(&f, "compare_and_swap", "(1, 2)", "True");
    th_check(&f, "compare_and_swap", "(True, 3)", "False");
    th_check(&f, "get", "()", "2.0");
    object_clear(&f.obj);
}

/* ---- Array -------------------------------------------------------------------------------- */

static void test_array_items(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_array, "('i', 3)");
    th_check(&f, "__len__", "()", "3");
    th_check(&f, "__repr__", "()", "\"array('i', [0, 0, 0])\"");
    th_check(&f, "__setitem__", "(1, -1)", "None");
    th_check(&f, "__setitem__", "(-1, -2)", "None");
    check_getslice(&f, ":", "[0, -1, -2]");
    th_check(&f, "__getitem__", "(-3,)", "0");
    th_check(&f, "__getitem__", "(True,)", "-1");
    th_check(&f, "__getitem__", "(3,)", "IndexError: array index out of range");
    th_check(&f, "__getitem__", "(-4,)", "IndexError: array index out of range");
    th_check(&f, "__getitem__", "('0',)", "TypeError: array indices must be integers or slices, "
                                       "not str");
    th_check(&f, "__setitem__", "(3, 0)", "IndexError: array assignment index out of range");
    th_check(&f, "__setitem__", "(0, 2147483648)",
          "OverflowError: 2147483648 is out of range for typecode 'i' "
          "(-2147483648..2147483647)");
    th_check(&f, "__setitem__", "(None, 0)", "TypeError: array indices must be integers or "
                                          "slices, not NoneType");
    th_check(&f, "tolist", "()", "[0, -1, -2]");
    th_check(&f, "typecode", "()", "'i'");
    th_check(&f, "append", "(1,)", "AttributeError: 'Array' object has no method 'append'");

    th_check(&f, "add", "(2, 10)", "8");
    th_check(&f, "add", "(-3, 5)", "5");
    th_check(&f, "add", "(3, 1)", "IndexError: array index out of range");
    th_check(&f, "add", "('1', 1)", "TypeError: array indices must be integers, not str");
    th_check(&f, "add", "(0, 2147483643)",
          "OverflowError: 5 + 2147483643 is out of range for typecode 'i' "
          "(-2147483648..2147483647)");
    th_check(&f, "compare_and_swap", "(0, 5, 6)", "True");
    th_check(&f, "compare_and_swap", "(0, 5, 7)", "False");
    th_check(&f, "compare_and_swap", "(5, 6, 7)", "IndexError: array index out of range");
    th_check(&f, "compare_and_swap", "(0, 6, 'x')",
             "TypeError: integer argument expected, got str");
    th_check(&f, "tolist", "()", "[6, -1, 8]");
    object_clear(&f.obj);

    th_make_ok(&f, &type_array, "('i', 0)");
    th_check(&f, "__repr__", "()", "\"array('i')\"");
    th_check(&f, "tolist", "()", "[]");
    check_getslice(&f, "::-1", "[]");
    check_setslice(&f, ":", "[]", "None");
    object_clear(&f.obj);

    th_make_ok(&f, &type_array, "('B', (1, 2, True))");
    th_check(&f, "__repr__", "()", "\"array('B', [1, 2, 1])\"");
    object_clear(&f.obj);
}

static void test_array_slices(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_array, "('h', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
    check_getslice(&f, "2:5", "[2, 3, 4]");
    check_getslice(&f, "::-1", "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");
    check_getslice(&f, "8:2:-2", "[8, 6, 4]");
    check_getslice(&f, "-3:", "[7, 8, 9]");
    check_getslice(&f, ":-7:-3", "[9, 6]");
    check_getslice(&f, "5:2", "[]");
    check_getslice(&f, "-100:100:4", "[0, 4, 8]");
    check_getslice(&f, "::0", "ValueError: slice step cannot be zero");

    check_setslice(&f, "0:3", "[10, 11, 12]", "None");
    check_setslice(&f, "::-3", "(-9, -6, -3, 0)", "None");
    th_check(&f, "tolist", "()", "[0, 11, 12, -3, 4, 5, -6, 7, 8, -9]");
    check_setslice(&f, "8:2:-2", "[80, 60, 40]", "None");
    th_check(&f, "tolist", "()", "[0, 11, 12, -3, 40, 5, 60, 7, 80, -9]");

    /* wrong length, any step: the length is fixed */
    check_setslice(&f, "0:3", "[1, 2]", "ValueError: Can only assign sequence of same size");
    check_setslice(&f, "0:3", "[1, 2, 3, 4]",
                   "ValueError: Can only assign sequence of same size");
    check_setslice(&f, "::2", "[]", "ValueError: Can only assign sequence of same size");
    check_setslice(&f, ":", "5", "TypeError: slice assignment must be a list or tuple, not int");
    check_setslice(&f, "::0", "[]", "ValueError: slice step cannot be zero");
    /* a bad item anywhere: nothing is stored, not even the items before it */
    check_setslice(&f, "0:3", "[1, 2, 40000]",
                   "OverflowError: 40000 is out of range for typecode 'h' (-32768..32767)");
    check_setslice(&f, "::-1", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 'x']",
                   "TypeError: integer argument expected, got str");
    th_check(&f, "tolist", "()", "[0, 11, 12, -3, 40, 5, 60, 7, 80, -9]");
    th_check(&f, "__repr__", "()", "\"array('h', [0, 11, 12, -3, 40, 5, 60, 7, 80, -9])\"");
    th_check(&f, "__len__", "()", "10");
    object_clear(&f.obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_edges),
        cmocka_unit_test(test_float_codes),
        cmocka_unit_test(test_char_codes),
        cmocka_unit_test(test_bad_typecodes),
        cmocka_unit_test(test_value_add),
        cmocka_unit_test(test_value_compare_and_swap),
        cmocka_unit_test(test_array_items),
        cmocka_unit_test(test_array_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
