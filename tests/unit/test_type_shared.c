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

#include "mpx/error.h"
#include "mpx/value.h"
#include "object.h"
#include "typecode.h"

/* ---- harness ---------------------------------------------------------------------------- */

static mpx_value parse(const char *text)
{
    mpx_value v;
    char err[128] = "";
    if (mpx_value_parse(text, &v, err, sizeof err) != MPX_OK)
        fail_msg("cannot parse %s: %s", text, err);
    return v;
}

static const char *err_name(int rc)
{
    switch (rc) {
    case MPX_EVALUE:
        return "ValueError";
    case MPX_ETYPE:
        return "TypeError";
    case MPX_EINDEX:
        return "IndexError";
    case MPX_EOVERFLOW:
        return "OverflowError";
    case MPX_ENOMEM:
        return "MemoryError";
    case MPX_ENOMETHOD:
        return "NoMethod";
    default:
        return "Other";
    }
}

typedef struct fixture {
    method_index ix;
    object obj;
} fixture;

/* "ok" or "ExceptionName: message", malloc'd. */
static char *outcome(int rc, const call *c)
{
    char *out;
    if (rc == MPX_OK)
        out = strdup("ok");
    else
        assert_true(asprintf(&out, "%s: %s", err_name(rc), c->errmsg) >= 0);
    assert_non_null(out);
    return out;
}

/* Builds an object of type from constructor arguments given as a tuple literal. */
static char *make(fixture *f, const object_type *type, const char *ctor_args)
{
    assert_int_equal(method_index_build(&f->ix, type), MPX_OK);
    memset(&f->obj, 0, sizeof f->obj);
    f->obj.type = type;
    f->obj.methods = &f->ix;
    mpx_value args = parse(ctor_args);
    call c = {.args = mpx_value_items(&args), .nargs = mpx_value_len(&args)};
    char *out = outcome(object_init(&f->obj, &c), &c);
    mpx_value_free(&args);
    return out;
}

static void make_ok(fixture *f, const object_type *type, const char *ctor_args)
{
    char *got = make(f, type, ctor_args);
    if (strcmp(got, "ok") != 0)
        fail_msg("%s%s: %s", type->name, ctor_args, got);
    free(got);
}

/* The constructor must fail with want; the half-made object is cleared. */
static void make_fails(const object_type *type, const char *ctor_args, const char *want)
{
    fixture f;
    char *got = make(&f, type, ctor_args);
    if (strcmp(got, want) != 0)
        fail_msg("%s%s: got %s, want %s", type->name, ctor_args, got, want);
    free(got);
    object_clear(&f.obj);
}

/* Calls method with the arguments in a (a tuple value, consumed); checks repr(result) or
 * the error. */
static void check_args(fixture *f, const char *method, mpx_value a, const char *want)
{
    call c = {.args = mpx_value_items(&a), .nargs = mpx_value_len(&a)};
    int rc = object_invoke(&f->obj, method, &c);
    char *got;
    if (rc == MPX_OK) {
        got = mpx_value_repr(&c.result);
        assert_non_null(got);
    } else {
        assert_int_equal(mpx_value_kind(&c.result), MPX_NONE);
        got = outcome(rc, &c);
    }
    if (strcmp(got, want) != 0) {
        char *args = mpx_value_repr(&a);
        fail_msg("%s.%s%s: got %s, want %s", f->obj.type->name, method, args, got, want);
    }
    free(got);
    mpx_value_free(&c.result);
    mpx_value_free(&a);
}

/* args is a tuple literal. */
static void check(fixture *f, const char *method, const char *args, const char *want)
{
    check_args(f, method, parse(args), want);
}

/* "start:stop:step" (parts may be empty) as a slice value. */
static mpx_value parse_slice(const char *spec)
{
    int64_t part[3];
    bool has[3] = {false, false, false};
    const char *p = spec;
    for (int i = 0; i < 3 && p != NULL; i++) {
        if (*p != ':' && *p != '\0') {
            part[i] = strtoll(p, NULL, 10);
            has[i] = true;
        }
        p = strchr(p, ':');
        if (p != NULL)
            p++;
    }
    mpx_value s;
    assert_int_equal(mpx_value_slice(&s, has[0] ? &part[0] : NULL, has[1] ? &part[1] : NULL,
                                     has[2] ? &part[2] : NULL),
                     MPX_OK);
    return s;
}

/* arr[spec] must be want. */
static void check_getslice(fixture *f, const char *spec, const char *want)
{
    mpx_value a, s = parse_slice(spec);
    assert_int_equal(mpx_value_tuple(&a, 1), MPX_OK);
    assert_int_equal(mpx_value_append(&a, &s), MPX_OK);
    check_args(f, "__getitem__", a, want);
}

/* arr[spec] = items (a literal) must give want. */
static void check_setslice(fixture *f, const char *spec, const char *items, const char *want)
{
    mpx_value a, s = parse_slice(spec), v = parse(items);
    assert_int_equal(mpx_value_tuple(&a, 2), MPX_OK);
    assert_int_equal(mpx_value_append(&a, &s), MPX_OK);
    assert_int_equal(mpx_value_append(&a, &v), MPX_OK);
    check_args(f, "__setitem__", a, want);
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
        fixture f;
        snprintf(args, sizeof args, "('%c', %lld)", code, max);
        make_ok(&f, &type_value, args);
        snprintf(want, sizeof want, "%lld", max);
        check(&f, "get", "()", want);
        snprintf(args, sizeof args, "(%lld,)", min);
        check(&f, "set", args, "None");
        snprintf(want, sizeof want, "%lld", min);
        check(&f, "get", "()", want);
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
            check(&f, "set", args, want);
            snprintf(want, sizeof want, "%lld", min);
            check(&f, "get", "()", want); /* unchanged */

            snprintf(args, sizeof args, "('%c', [0, %lld])", code, x);
            snprintf(want, sizeof want,
                     "OverflowError: %lld is out of range for typecode '%c' (%lld..%lld)", x,
                     code, min, max);
            make_fails(&type_array, args, want);
        }
        check(&f, "set", "(True,)", "None");
        check(&f, "get", "()", "1");
        check(&f, "set", "(1.0,)", "TypeError: integer argument expected, got float");
        check(&f, "set", "('1',)", "TypeError: integer argument expected, got str");
        check(&f, "set", "(None,)", "TypeError: integer argument expected, got NoneType");
        check(&f, "get", "()", "1");
        snprintf(want, sizeof want, "'%c'", code);
        check(&f, "typecode", "()", want);
        object_clear(&f.obj);

        /* packed storage: both edges side by side read back intact */
        snprintf(args, sizeof args, "('%c', (%lld, %lld, 0))", code, min, max);
        make_ok(&f, &type_array, args);
        snprintf(want, sizeof want, "[%lld, %lld, 0]", min, max);
        check(&f, "tolist", "()", want);
        object_clear(&f.obj);
    }
}

static void test_float_codes(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_value, "('d',)");
    check(&f, "get", "()", "0.0");
    check(&f, "__repr__", "()", "\"Value('d', 0.0)\"");
    check(&f, "set", "(3.1415927,)", "None");
    check(&f, "get", "()", "3.1415927");
    check(&f, "set", "(2,)", "None");
    check(&f, "get", "()", "2.0");
    check(&f, "set", "(True,)", "None");
    check(&f, "get", "()", "1.0");
    check(&f, "set", "('x',)", "TypeError: must be real number, not str");
    check(&f, "set", "(None,)", "TypeError: must be real number, not NoneType");
    check(&f, "set", "(1e300,)", "None");
    check(&f, "get", "()", "1e+300");
    object_clear(&f.obj);

    /* 'f' is a C float: it reads back rounded */
    make_ok(&f, &type_value, "('f', 0.1)");
    check(&f, "get", "()", "0.10000000149011612");
    check(&f, "set", "(3.1415927,)", "None");
    check(&f, "get", "()", "3.1415927410125732");
    check(&f, "set", "(16777217,)", "None");
    check(&f, "get", "()", "16777216.0");
    check(&f, "set", "(1.5,)", "None");
    check(&f, "set", "(1e300,)", "OverflowError: 1e+300 is out of range for typecode 'f'");
    check(&f, "get", "()", "1.5");
    check(&f, "add", "(0.25,)", "1.75");
    check(&f, "set", "(0.1,)", "None");
    check(&f, "add", "(0.2,)", "0.30000001192092896");
    check(&f, "add", "('x',)", "TypeError: must be real number, not str");
    check(&f, "__repr__", "()", "\"Value('f', 0.30000001192092896)\"");
    object_clear(&f.obj);

    make_ok(&f, &type_array, "('d', [1, 2.5])");
    check(&f, "__repr__", "()", "\"array('d', [1.0, 2.5])\"");
    check(&f, "add", "(0, 0.5)", "1.5");
    check(&f, "add", "(-1, 1)", "3.5");
    object_clear(&f.obj);
}

static void test_char_codes(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_value, "('u',)");
    check(&f, "get", "()", "'\\x00'");
    check(&f, "set", "('é',)", "None");
    check(&f, "get", "()", "'é'");
    check(&f, "set", "('😀',)", "None");
    check(&f, "get", "()", "'😀'");
    check(&f, "set", "('ab',)",
          "TypeError: array item must be a unicode character, not a str of length 2");
    check(&f, "set", "('',)",
          "TypeError: array item must be a unicode character, not a str of length 0");
    check(&f, "set", "(1,)", "TypeError: array item must be a unicode character, not int");
    check(&f, "set", "(b'a',)", "TypeError: array item must be a unicode character, not bytes");
    check(&f, "add", "(1,)", "TypeError: cannot add to items of typecode 'u'");
    check(&f, "get", "()", "'😀'");
    check(&f, "compare_and_swap", "('😀', 'x')", "True");
    check(&f, "compare_and_swap", "('😀', 'y')", "False");
    check(&f, "__repr__", "()", "\"Value('u', 'x')\"");
    object_clear(&f.obj);

    make_ok(&f, &type_value, "('c',)");
    check(&f, "get", "()", "b'\\x00'");
    check(&f, "set", "(b'z',)", "None");
    check(&f, "get", "()", "b'z'");
    check(&f, "set", "(b'ab',)",
          "TypeError: array item must be a bytes of length 1, not a bytes of length 2");
    check(&f, "set", "('a',)", "TypeError: array item must be a bytes of length 1, not str");
    check(&f, "set", "(97,)", "TypeError: array item must be a bytes of length 1, not int");
    check(&f, "add", "(1,)", "TypeError: cannot add to items of typecode 'c'");
    check(&f, "__repr__", "()", "\"Value('c', b'z')\"");
    object_clear(&f.obj);

    make_ok(&f, &type_array, "('u', 'aé€😀')");
    check(&f, "__len__", "()", "4");
    check(&f, "__repr__", "()", "\"array('u', 'aé€😀')\"");
    check(&f, "__getitem__", "(-1,)", "'😀'");
    check_getslice(&f, "::-1", "['😀', '€', 'é', 'a']");
    check_setslice(&f, "1:3", "'xy'", "None");
    check(&f, "tolist", "()", "['a', 'x', 'y', '😀']");
    object_clear(&f.obj);

    make_ok(&f, &type_array, "('c', b'ab')");
    check(&f, "__repr__", "()", "\"array('c', b'ab')\"");
    check_setslice(&f, ":", "b'xy'", "None");
    check(&f, "tolist", "()", "[b'x', b'y']");
    check_setslice(&f, ":", "[b'p', b'q']", "None");
    check(&f, "__repr__", "()", "\"array('c', b'pq')\"");
    object_clear(&f.obj);
}

static void test_bad_typecodes(void **state)
{
    (void)state;
    const char *bad = "ValueError: bad typecode (must be b, B, u, h, H, i, I, l, L, q, Q, f, d "
                      "or c)";
    make_fails(&type_value, "('x',)", bad);
    make_fails(&type_value, "('é',)", bad);
    make_fails(&type_array, "('z', 3)", bad);
    make_fails(&type_value, "(1,)", "TypeError: typecode must be a unicode character, not int");
    make_fails(&type_value, "('ii',)",
               "TypeError: typecode must be a unicode character, not a str of length 2");
    make_fails(&type_array, "('', 3)",
               "TypeError: typecode must be a unicode character, not a str of length 0");
    make_fails(&type_value, "()", "TypeError: Value expected at least 1 argument, got 0");
    make_fails(&type_value, "('i', 1, 2)",
               "TypeError: Value expected at most 2 arguments, got 3");
    make_fails(&type_value, "('i', 1.5)", "TypeError: integer argument expected, got float");
    make_fails(&type_array, "('i',)", "TypeError: Array expected 2 arguments, got 1");
    make_fails(&type_array, "('i', -1)", "ValueError: Array length must be >= 0, not -1");
    make_fails(&type_array, "('i', 1.5)",
               "TypeError: size_or_initializer must be a list or tuple, not float");
    make_fails(&type_array, "('i', 'abc')",
               "TypeError: size_or_initializer must be a list or tuple, not str");
    make_fails(&type_array, "('u', b'abc')",
               "TypeError: size_or_initializer must be a list or tuple, not bytes");
    make_fails(&type_array, "('i', {1: 2})",
               "TypeError: size_or_initializer must be a list or tuple, not dict");
    make_fails(&type_array, "('i', [1, 'x'])", "TypeError: integer argument expected, got str");
    make_fails(&type_array, "('d', 4611686018427387904)",
               "MemoryError: Array of 4611686018427387904 items is too large (at most "
               "134217728)");
}

/* ---- Value ---------------------------------------------------------------------------------- */

static void test_value_add(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_value, "('b', 120)");
    check(&f, "add", "(7,)", "127");
    check(&f, "add", "(1,)",
          "OverflowError: 127 + 1 is out of range for typecode 'b' (-128..127)");
    check(&f, "get", "()", "127");
    check(&f, "add", "(-256,)",
          "OverflowError: 127 + -256 is out of range for typecode 'b' (-128..127)");
    check(&f, "add", "(1.0,)", "TypeError: integer argument expected, got float");
    check(&f, "add", "(True,)", "OverflowError: 127 + 1 is out of range for typecode 'b' "
                                "(-128..127)");
    check(&f, "add", "(-127,)", "0");
    check(&f, "__repr__", "()", "\"Value('b', 0)\"");
    object_clear(&f.obj);

    /* 64-bit overflow is caught before it wraps */
    make_ok(&f, &type_value, "('q', 9223372036854775806)");
    check(&f, "add", "(1,)", "9223372036854775807");
    check(&f, "add", "(1,)",
          "OverflowError: 9223372036854775807 + 1 is out of range for typecode 'q' "
          "(-9223372036854775808..9223372036854775807)");
    check(&f, "get", "()", "9223372036854775807");
    check(&f, "add", "(-9223372036854775807,)", "0");
    object_clear(&f.obj);

    make_ok(&f, &type_value, "('Q',)");
    check(&f, "add", "(-1,)",
          "OverflowError: 0 + -1 is out of range for typecode 'Q' (0..9223372036854775807)");
    check(&f, "get", "()", "0");
    object_clear(&f.obj);

    make_ok(&f, &type_value, "('d', 1)");
    check(&f, "add", "(2,)", "3.0");
    check(&f, "add", "(0.5,)", "3.5");
    check(&f, "add", "(None,)", "TypeError: must be real number, not NoneType");
    check(&f, "get", "()", "3.5");
    check(&f, "__repr__", "()", "\"Value('d', 3.5)\"");
    object_clear(&f.obj);
}

static void test_value_compare_and_swap(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_value, "('i', 5)");
    check(&f, "compare_and_swap", "(5, 6)", "True");
    check(&f, "get", "()", "6");
    check(&f, "compare_and_swap", "(5, 7)", "False");
    check(&f, "get", "()", "6");
    check(&f, "compare_and_swap", "(6.0, 7)", "True"); /* Python's 6 == 6.0 */
    check(&f, "compare_and_swap", "('7', 8)", "False");
    check(&f, "compare_and_swap", "(7, 2147483648)",
          "OverflowError: 2147483648 is out of range for typecode 'i' "
          "(-2147483648..2147483647)");
    check(&f, "compare_and_swap", "(7, 1.5)", "TypeError: integer argument expected, got float");
    check(&f, "get", "()", "7");
    check(&f, "compare_and_swap", "(7,)",
          "TypeError: compare_and_swap expected 2 arguments, got 1");
    check(&f, "nope", "()", "NoMethod: 'Value' object has no method 'nope'");
    object_clear(&f.obj);

    make_ok(&f, &type_value, "('d', 1)");
    check(&f, "compare_and_swap", "(1, 2)", "True");
    check(&f, "compare_and_swap", "(True, 3)", "False");
    check(&f, "get", "()", "2.0");
    object_clear(&f.obj);
}

/* ---- Array -------------------------------------------------------------------------------- */

static void test_array_items(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_array, "('i', 3)");
    check(&f, "__len__", "()", "3");
    check(&f, "__repr__", "()", "\"array('i', [0, 0, 0])\"");
    check(&f, "__setitem__", "(1, -1)", "None");
    check(&f, "__setitem__", "(-1, -2)", "None");
    check_getslice(&f, ":", "[0, -1, -2]");
    check(&f, "__getitem__", "(-3,)", "0");
    check(&f, "__getitem__", "(True,)", "-1");
    check(&f, "__getitem__", "(3,)", "IndexError: array index out of range");
    check(&f, "__getitem__", "(-4,)", "IndexError: array index out of range");
    check(&f, "__getitem__", "('0',)", "TypeError: array indices must be integers or slices, "
                                       "not str");
    check(&f, "__setitem__", "(3, 0)", "IndexError: array assignment index out of range");
    check(&f, "__setitem__", "(0, 2147483648)",
          "OverflowError: 2147483648 is out of range for typecode 'i' "
          "(-2147483648..2147483647)");
    check(&f, "__setitem__", "(None, 0)", "TypeError: array indices must be integers or "
                                          "slices, not NoneType");
    check(&f, "tolist", "()", "[0, -1, -2]");
    check(&f, "typecode", "()", "'i'");
    check(&f, "append", "(1,)", "NoMethod: 'Array' object has no method 'append'");

    check(&f, "add", "(2, 10)", "8");
    check(&f, "add", "(-3, 5)", "5");
    check(&f, "add", "(3, 1)", "IndexError: array index out of range");
    check(&f, "add", "('1', 1)", "TypeError: array indices must be integers, not str");
    check(&f, "add", "(0, 2147483643)",
          "OverflowError: 5 + 2147483643 is out of range for typecode 'i' "
          "(-2147483648..2147483647)");
    check(&f, "compare_and_swap", "(0, 5, 6)", "True");
    check(&f, "compare_and_swap", "(0, 5, 7)", "False");
    check(&f, "compare_and_swap", "(5, 6, 7)", "IndexError: array index out of range");
    check(&f, "compare_and_swap", "(0, 6, 'x')", "TypeError: integer argument expected, got str");
    check(&f, "tolist", "()", "[6, -1, 8]");
    object_clear(&f.obj);

    make_ok(&f, &type_array, "('i', 0)");
    check(&f, "__repr__", "()", "\"array('i')\"");
    check(&f, "tolist", "()", "[]");
    check_getslice(&f, "::-1", "[]");
    check_setslice(&f, ":", "[]", "None");
    object_clear(&f.obj);

    make_ok(&f, &type_array, "('B', (1, 2, True))");
    check(&f, "__repr__", "()", "\"array('B', [1, 2, 1])\"");
    object_clear(&f.obj);
}

static void test_array_slices(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_array, "('h', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])");
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
    check(&f, "tolist", "()", "[0, 11, 12, -3, 4, 5, -6, 7, 8, -9]");
    check_setslice(&f, "8:2:-2", "[80, 60, 40]", "None");
    check(&f, "tolist", "()", "[0, 11, 12, -3, 40, 5, 60, 7, 80, -9]");

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
    check(&f, "tolist", "()", "[0, 11, 12, -3, 40, 5, 60, 7, 80, -9]");
    check(&f, "__repr__", "()", "\"array('h', [0, 11, 12, -3, 40, 5, 60, 7, 80, -9])\"");
    check(&f, "__len__", "()", "10");
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
