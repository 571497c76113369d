/* test_type_namespace.c - manager/type_namespace.c through object_invoke, against CPython.
 *
 * Each row of the table below is one call made on a fresh CPython 3.11
 * multiprocessing.managers.Namespace: the result's repr or "AttributeError: message", then
 * vars(ns) afterwards (__dir__ is compared with sorted(vars(ns)), copy with vars(ns)).
 * Hand-written tests cover the constructor, dispatch errors and moves.
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
#include "type_harness.h"

typedef struct row {
    const char *init;   /* the attributes the object is built from, as a dict literal */
    const char *method;
    const char *args;   /* a tuple literal */
    const char *want;   /* repr(result), or "ExceptionName: message" */
    const char *after;  /* repr of the attribute dict after the call */
} row;

/* Generated with CPython 3.11.7. */
static const row rows[] = {
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "('b',)",
     "1", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "('a',)",
     "[2, 'x']", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "('_h',)",
     "None", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "('a0',)",
     "1.5", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "('zz',)",
     "AttributeError: 'Namespace' object has no attribute 'zz'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "('',)",
     "AttributeError: 'Namespace' object has no attribute ''",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "('é',)",
     "AttributeError: 'Namespace' object has no attribute 'é'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "(1,)",
     "TypeError: attribute name must be string, not 'int'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "(None,)",
     "TypeError: attribute name must be string, not 'NoneType'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__getattribute__", "(b'b',)",
     "TypeError: attribute name must be string, not 'bytes'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__setattr__", "('b', 'v')",
     "None", "{'b': 'v', 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__setattr__", "('new', [1, (2,)])",
     "None", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5, 'new': [1, (2,)]}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__setattr__", "('_p', 1)",
     "None", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5, '_p': 1}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__setattr__", "('a', None)",
     "None", "{'b': 1, 'a': None, '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__setattr__", "('é', 'ü')",
     "None", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5, 'é': 'ü'}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__setattr__", "(1, 'v')",
     "TypeError: attribute name must be string, not 'int'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__setattr__", "(None, 1)",
     "TypeError: attribute name must be string, not 'NoneType'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__setattr__", "(b'x', 1)",
     "TypeError: attribute name must be string, not 'bytes'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__delattr__", "('b',)",
     "None", "{'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__delattr__", "('_h',)",
     "None", "{'b': 1, 'a': [2, 'x'], 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__delattr__", "('zz',)",
     "AttributeError: 'Namespace' object has no attribute 'zz'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__delattr__", "(1,)",
     "TypeError: attribute name must be string, not 'int'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__delattr__", "(('t',),)",
     "TypeError: attribute name must be string, not 'tuple'",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__dir__", "()",
     "['_h', 'a', 'a0', 'b']", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{}", "__dir__", "()", "[]", "{}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "copy", "()",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}",
     "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{}", "copy", "()", "{}", "{}"},
    {"{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}", "__repr__", "()",
     "\"Namespace(a0=1.5, a=[2, 'x'], b=1)\"", "{'b': 1, 'a': [2, 'x'], '_h': None, 'a0': 1.5}"},
    {"{}", "__repr__", "()", "'Namespace()'", "{}"},
    {"{'a': 2, 'ab': 1, 'a_': 3, 'A': 4, 'é': 5, 'z': 'q\\'s', '_x': 0}", "__repr__", "()",
     "'Namespace(A=4, a=2, a_=3, ab=1, z=\"q\\'s\", é=5)'",
     "{'a': 2, 'ab': 1, 'a_': 3, 'A': 4, 'é': 5, 'z': \"q's\", '_x': 0}"},
    {"{'a': 2, 'ab': 1, 'a_': 3, 'A': 4, 'é': 5, 'z': 'q\\'s', '_x': 0}", "__dir__", "()",
     "['A', '_x', 'a', 'a_', 'ab', 'z', 'é']",
     "{'a': 2, 'ab': 1, 'a_': 3, 'A': 4, 'é': 5, 'z': \"q's\", '_x': 0}"},
    {"{'x': {'k': [1, {'j': (None,)}]}, 'y': b'\\x00'}", "__repr__", "()",
     "\"Namespace(x={'k': [1, {'j': (None,)}]}, y=b'\\\\x00')\"",
     "{'x': {'k': [1, {'j': (None,)}]}, 'y': b'\\x00'}"},
};

/* ---- harness ---------------------------------------------------------------------------- */

typedef type_fixture fixture;

/* Builds a Namespace from constructor arguments given as a tuple literal; the outcome is
 * described in out (repr of the attributes, or the error), malloc'd. */
static int make(fixture *f, const char *ctor_args, char **out)
{
    assert_int_equal(method_index_build(&f->ix, &type_namespace), MPX_OK);
    memset(&f->obj, 0, sizeof f->obj);
    f->obj.type = &type_namespace;
    f->obj.methods = &f->ix;
    mpx_value args = th_parse(ctor_args);
    mpx_call c = {.args = mpx_value_items(&args), .nargs = mpx_value_len(&args)};
    int rc = object_init(&f->obj, &c);
    if (out != NULL) {
        if (rc == MPX_OK)
            *out = mpx_value_repr(&f->obj.value);
        else
            assert_true(asprintf(out, "%s: %s", mpx_err_name(rc), c.errmsg) >= 0);
    }
    mpx_value_free(&args);
    return rc;
}

static void make_ns(fixture *f, const char *literal)
{
    char ctor[4096];
    snprintf(ctor, sizeof ctor, "(%s,)", literal);
    assert_int_equal(make(f, ctor, NULL), MPX_OK);
}

static char *value_repr(const mpx_value *v)
{
    char *text = mpx_value_repr(v);
    assert_non_null(text);
    return text;
}

/* Calls method with the items of the tuple *args (which keeps what was not moved out);
 * returns the outcome as the rows spell it, malloc'd. */
static char *invoke(fixture *f, const char *method, mpx_value *args, int *rc_out)
{
    mpx_call c = {.args = mpx_value_items(args), .nargs = mpx_value_len(args)};
    int rc = object_invoke(&f->obj, method, &c);
    char *out;
    if (rc == MPX_OK) {
        out = value_repr(&c.result);
    } else {
        assert_int_equal(mpx_value_kind(&c.result), MPX_NONE);
        assert_true(asprintf(&out, "%s: %s", mpx_err_name(rc), c.errmsg) >= 0);
    }
    mpx_value_free(&c.result);
    if (rc_out != NULL)
        *rc_out = rc;
    return out;
}

/* Runs one row; prints and counts a mismatch, so one run shows them all. */
static int run_row(const row *r)
{
    fixture f;
    make_ns(&f, r->init);
    mpx_value args = th_parse(r->args);
    char *got = invoke(&f, r->method, &args, NULL);
    char *after = value_repr(&f.obj.value);
    int bad = strcmp(got, r->want) != 0 || strcmp(after, r->after) != 0;
    if (bad)
        print_error("%s.%s%s: got %s -> %s, want %s -> %s\n", r->init, r->method, r->args, got,
                    after, r->want, r->after);
    free(got);
    free(after);
    mpx_value_free(&args);
    object_clear(&f.obj);
    return bad;
}

/* Calls method with args given as a tuple literal; checks the outcome and the attributes. */
static void check(fixture *f, const char *method, const char *args, const char *want,
                  const char *after)
{
    mpx_value a = th_parse(args);
    char *got = invoke(f, method, &a, NULL);
    assert_string_equal(got, want);
    free(got);
    mpx_value_free(&a);
    if (after != NULL) {
        char *now = value_repr(&f->obj.value);
        assert_string_equal(now, after);
        free(now);
    }
}

/* Calls method with the items of *args and expects None back. */
static void got_none(fixture *f, const char *method, mpx_value *args)
{
    char *got = invoke(f, method, args, NULL);
    assert_string_equal(got, "None");
    free(got);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_cpython_rows(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        bad += run_row(&rows[i]);
    assert_int_equal(bad, 0);
}

/* Namespace() or Namespace({name: value}), the dict standing for Python's **kwds. */
static void test_init(void **state)
{
    (void)state;
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"()", "{}"},
        {"({'b': 1, 'a': [2]},)", "{'b': 1, 'a': [2]}"},
        {"({'a': 1, 2: 3},)", "TypeError: keywords must be strings"},
        {"([('a', 1)],)", "TypeError: Namespace() argument must be a dict, not 'list'"},
        {"(None,)", "TypeError: Namespace() argument must be a dict, not 'NoneType'"},
        {"({}, {})", "TypeError: Namespace expected at most 1 argument, got 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture f;
        char *got;
        make(&f, cases[i].args, &got);
        assert_string_equal(got, cases[i].want);
        free(got);
        object_clear(&f.obj);
    }
}

static void test_dispatch_errors(void **state)
{
    (void)state;
    fixture f;
    make_ns(&f, "{'a': 1}");
    int rc;
    mpx_value a = th_parse("()");
    char *got = invoke(&f, "nope", &a, &rc);
    assert_int_equal(rc, MPX_ENOMETHOD);
    assert_string_equal(got, "AttributeError: 'Namespace' object has no method 'nope'");
    free(got);
    mpx_value_free(&a);
    check(&f, "__getitem__", "('a',)",
          "AttributeError: 'Namespace' object has no method '__getitem__'", NULL);
    check(&f, "__getattribute__", "()",
          "TypeError: __getattribute__ expected 1 argument, got 0", NULL);
    check(&f, "__setattr__", "('a',)", "TypeError: __setattr__ expected 2 arguments, got 1",
          "{'a': 1}");
    check(&f, "__delattr__", "('a', 'b')", "TypeError: __delattr__ expected 1 argument, got 2",
          "{'a': 1}");
    check(&f, "__dir__", "(1,)", "TypeError: __dir__ expected 0 arguments, got 1", NULL);
    check(&f, "copy", "(1,)", "TypeError: copy expected 0 arguments, got 1", NULL);
    check(&f, "__repr__", "(1,)", "TypeError: __repr__ expected 0 arguments, got 1", NULL);
    object_clear(&f.obj);
}

/* Values arriving in __setattr__ are moved in; the constructor's dict is taken whole;
 * attribute names starting with '_' are ordinary attributes that repr() hides. */
static void test_moves_and_private_names(void **state)
{
    (void)state;
    fixture f;
    mpx_value a = th_parse("({'x': 1},)");
    const struct mpx_map *map = mpx_value_at(&a, 0)->u.map;
    assert_int_equal(method_index_build(&f.ix, &type_namespace), MPX_OK);
    memset(&f.obj, 0, sizeof f.obj);
    f.obj.type = &type_namespace;
    f.obj.methods = &f.ix;
    mpx_call c = {.args = mpx_value_items(&a), .nargs = 1};
    assert_int_equal(object_init(&f.obj, &c), MPX_OK);
    assert_ptr_equal(f.obj.value.u.map, map);
    mpx_value_free(&a);

    a = th_parse("('_y', [1, 2])");
    const struct mpx_seq *val = mpx_value_at(&a, 1)->u.seq;
    got_none(&f, "__setattr__", &a);
    assert_int_equal(mpx_value_kind(mpx_value_at(&a, 1)), MPX_NONE);
    mpx_value_free(&a);
    mpx_value key, *found;
    assert_int_equal(mpx_value_str(&key, "_y"), MPX_OK);
    assert_int_equal(mpx_value_dict_find(&f.obj.value, &key, &found), MPX_OK);
    assert_ptr_equal(found->u.seq, val);
    mpx_value_free(&key);
    check(&f, "__getattribute__", "('_y',)", "[1, 2]", NULL);
    check(&f, "__repr__", "()", "'Namespace(x=1)'", NULL);
    check(&f, "__dir__", "()", "['_y', 'x']", NULL);
    check(&f, "__delattr__", "('_y',)", "None", "{'x': 1}");
    object_clear(&f.obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpython_rows),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_dispatch_errors),
        cmocka_unit_test(test_moves_and_private_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
