/* test_type_dict.c - manager/type_dict.c through object_invoke, checked against CPython.
 *
 * Each row of the table below is one call made on a fresh CPython 3.11 dict: the result's
 * repr or "KeyError: message", then the dict afterwards. Hand-written tests cover the
 * constructor, dispatch errors and moves out of the arguments.
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
    const char *init;   /* the dict literal the object is built from */
    const char *method;
    const char *args;   /* a tuple literal */
    const char *want;   /* repr(result), or "ExceptionName: message" */
    const char *after;  /* repr of the dict after the call */
} row;

/* Generated with CPython 3.11.7. */
static const row rows[] = {
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "(1,)",
     "'a'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "(1,)",
     "True", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "(1.0,)",
     "'a'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "(1.0,)",
     "True", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "(True,)",
     "'a'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "(True,)",
     "True", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "('b',)",
     "[2]", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "('b',)",
     "True", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "((3, 'c'),)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "((3, 'c'),)",
     "True", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "(2,)",
     "KeyError: 2", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "(2,)",
     "False", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "('x',)",
     "KeyError: 'x'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "('x',)",
     "False", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "((3, 'd'),)",
     "KeyError: (3, 'd')", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "((3, 'd'),)",
     "False", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "(None,)",
     "KeyError: None", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "(None,)",
     "False", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "([1],)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "([1],)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "((1, [2]),)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "((1, [2]),)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "((1, {}),)",
     "TypeError: unhashable type: 'dict'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "((1, {}),)",
     "TypeError: unhashable type: 'dict'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__getitem__", "({},)",
     "TypeError: unhashable type: 'dict'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__contains__", "({},)",
     "TypeError: unhashable type: 'dict'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__setitem__", "(1.0, 'v')",
     "None", "{1: 'v', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__setitem__", "(True, 'v')",
     "None", "{1: 'v', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__setitem__", "('new', 'v')",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None, 'new': 'v'}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__setitem__", "((3, 'c'), 'v')",
     "None", "{1: 'a', 'b': [2], (3, 'c'): 'v'}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__setitem__", "([1], 'v')",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__setitem__", "((1, (2, [3])), 'v')",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__delitem__", "(1.0,)",
     "None", "{'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__delitem__", "('b',)",
     "None", "{1: 'a', (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__delitem__", "('x',)",
     "KeyError: 'x'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__delitem__", "([1],)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__len__", "()",
     "3", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "__len__", "()", "0", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "get", "(1,)",
     "'a'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "get", "(True, 'd')",
     "'a'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "get", "('x',)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "get", "('x', 'd')",
     "'d'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "get", "([1],)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "get", "([1], 'd')",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "get", "(None, 0)",
     "0", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "setdefault", "(1,)",
     "'a'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "setdefault", "(1, 'd')",
     "'a'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "setdefault", "('x',)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None, 'x': None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "setdefault", "('x', [9])",
     "[9]", "{1: 'a', 'b': [2], (3, 'c'): None, 'x': [9]}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "setdefault", "([1],)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "setdefault", "((1, [2]), 5)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "pop", "(1,)", "'a'", "{'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "pop", "(1.0, 'd')",
     "'a'", "{'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "pop", "('x',)",
     "KeyError: 'x'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "pop", "('x', 'd')",
     "'d'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "pop", "([1],)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "pop", "([1], 'd')",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "popitem", "()",
     "((3, 'c'), None)", "{1: 'a', 'b': [2]}"},
    {"{}", "popitem", "()", "KeyError: 'popitem(): dictionary is empty'", "{}"},
    {"{'a': 1, 'b': 2, 'c': 3}", "popitem", "()", "('c', 3)", "{'a': 1, 'b': 2}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "keys", "()",
     "[1, 'b', (3, 'c')]", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "keys", "()", "[]", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "values", "()",
     "['a', [2], None]", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "values", "()", "[]", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "items", "()",
     "[(1, 'a'), ('b', [2]), ((3, 'c'), None)]", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "items", "()", "[]", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "copy", "()",
     "{1: 'a', 'b': [2], (3, 'c'): None}", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "copy", "()", "{}", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "clear", "()", "None", "{}"},
    {"{}", "clear", "()", "None", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "__repr__", "()",
     "\"{1: 'a', 'b': [2], (3, 'c'): None}\"", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "__repr__", "()", "'{}'", "{}"},
    {"{'q': 1, 'r': {'s': (2, b'x')}, 't': 1.5}", "__repr__", "()",
     "\"{'q': 1, 'r': {'s': (2, b'x')}, 't': 1.5}\"", "{'q': 1, 'r': {'s': (2, b'x')}, 't': 1.5}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "({2: 'z', 1: 'A'},)",
     "None", "{1: 'A', 'b': [2], (3, 'c'): None, 2: 'z'}"},
    {"{}", "update", "({2: 'z', 1: 'A'},)", "None", "{2: 'z', 1: 'A'}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([(5, 6), [7, 8]],)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None, 5: 6, 7: 8}"},
    {"{}", "update", "([(5, 6), [7, 8]],)", "None", "{5: 6, 7: 8}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "(((5, 6),),)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None, 5: 6}"},
    {"{}", "update", "(((5, 6),),)", "None", "{5: 6}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "(['ab', b'cd', {9: 1, 10: 2}, 'é€'],)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None, 'a': 'b', 99: 100, 9: 10, 'é': '€'}"},
    {"{}", "update", "(['ab', b'cd', {9: 1, 10: 2}, 'é€'],)",
     "None", "{'a': 'b', 99: 100, 9: 10, 'é': '€'}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "('ab',)",
     "ValueError: dictionary update sequence element #0 has length 1; 2 is required",
     "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "('ab',)",
     "ValueError: dictionary update sequence element #0 has length 1; 2 is required", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "('a',)",
     "ValueError: dictionary update sequence element #0 has length 1; 2 is required",
     "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "('a',)",
     "ValueError: dictionary update sequence element #0 has length 1; 2 is required", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "(b'ab',)",
     "TypeError: cannot convert dictionary update sequence element #0 to a sequence",
     "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "(b'ab',)",
     "TypeError: cannot convert dictionary update sequence element #0 to a sequence", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "('',)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "('',)", "None", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([],)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "([],)", "None", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "({},)",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "({},)", "None", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([1],)",
     "TypeError: cannot convert dictionary update sequence element #0 to a sequence",
     "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "([1],)",
     "TypeError: cannot convert dictionary update sequence element #0 to a sequence", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([(1, 2, 3)],)",
     "ValueError: dictionary update sequence element #0 has length 3; 2 is required",
     "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "([(1, 2, 3)],)",
     "ValueError: dictionary update sequence element #0 has length 3; 2 is required", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([[1]],)",
     "ValueError: dictionary update sequence element #0 has length 1; 2 is required",
     "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "([[1]],)",
     "ValueError: dictionary update sequence element #0 has length 1; 2 is required", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([(1, 2), [3]],)",
     "ValueError: dictionary update sequence element #1 has length 1; 2 is required",
     "{1: 2, 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "([(1, 2), [3]],)",
     "ValueError: dictionary update sequence element #1 has length 1; 2 is required", "{1: 2}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([([1], 2)],)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "([([1], 2)],)", "TypeError: unhashable type: 'list'", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([(4, 5), ([1], 2), (6, 7)],)",
     "TypeError: unhashable type: 'list'", "{1: 'a', 'b': [2], (3, 'c'): None, 4: 5}"},
    {"{}", "update", "([(4, 5), ([1], 2), (6, 7)],)",
     "TypeError: unhashable type: 'list'", "{4: 5}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "(5,)",
     "TypeError: 'int' object is not iterable", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "(5,)", "TypeError: 'int' object is not iterable", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "(None,)",
     "TypeError: 'NoneType' object is not iterable", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "(None,)", "TypeError: 'NoneType' object is not iterable", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "(1.5,)",
     "TypeError: 'float' object is not iterable", "{1: 'a', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "(1.5,)", "TypeError: 'float' object is not iterable", "{}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "([(1.0, 'one'), (True, 'true')],)",
     "None", "{1: 'true', 'b': [2], (3, 'c'): None}"},
    {"{}", "update", "([(1.0, 'one'), (True, 'true')],)", "None", "{1.0: 'true'}"},
    {"{1: 'a', 'b': [2], (3, 'c'): None}", "update", "()",
     "None", "{1: 'a', 'b': [2], (3, 'c'): None}"},
};

/* ---- harness ---------------------------------------------------------------------------- */

typedef type_fixture fixture;

/* Builds a dict from constructor arguments given as a tuple literal; the outcome is
 * described in out (repr of the dict, or the error), malloc'd. */
static int make(fixture *f, const char *ctor_args, char **out)
{
    assert_int_equal(method_index_build(&f->ix, &type_dict), MPX_OK);
    memset(&f->obj, 0, sizeof f->obj);
    f->obj.type = &type_dict;
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

static void make_dict(fixture *f, const char *literal)
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
    make_dict(&f, r->init);
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

/* Calls method with args given as a tuple literal; checks the outcome and the dict. */
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

/* ---- tests ------------------------------------------------------------------------------- */

static void test_cpython_rows(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        bad += run_row(&rows[i]);
    assert_int_equal(bad, 0);
}

/* dict(), dict(mapping), dict(pairs), as CPython answers them. */
static void test_init(void **state)
{
    (void)state;
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"()", "{}"},
        {"({'a': 1, 2: [3]},)", "{'a': 1, 2: [3]}"},
        {"([('a', 1), ['b', 2], 'cd', ('a', 3)],)", "{'a': 3, 'b': 2, 'c': 'd'}"},
        {"(((1, 2),),)", "{1: 2}"},
        {"([],)", "{}"},
        {"('',)", "{}"},
        {"(5,)", "TypeError: 'int' object is not iterable"},
        {"([1, 2],)", "TypeError: cannot convert dictionary update sequence element #0 to a "
                      "sequence"},
        {"([[1, 2], [3]],)", "ValueError: dictionary update sequence element #1 has length 1; "
                             "2 is required"},
        {"([([], 1)],)", "TypeError: unhashable type: 'list'"},
        {"({1: 2}, {})", "TypeError: dict expected at most 1 argument, got 2"},
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
    make_dict(&f, "{1: 2}");
    int rc;
    mpx_value a = th_parse("()");
    char *got = invoke(&f, "nope", &a, &rc);
    assert_int_equal(rc, MPX_ENOMETHOD);
    assert_string_equal(got, "AttributeError: 'dict' object has no method 'nope'");
    free(got);
    mpx_value_free(&a);
    check(&f, "append", "(1,)", "AttributeError: 'dict' object has no method 'append'", NULL);
    check(&f, "get", "()", "TypeError: get expected at least 1 argument, got 0", NULL);
    check(&f, "get", "(1, 2, 3)", "TypeError: get expected at most 2 arguments, got 3", NULL);
    check(&f, "pop", "(1, 2, 3)", "TypeError: pop expected at most 2 arguments, got 3",
          "{1: 2}");
    check(&f, "setdefault", "()", "TypeError: setdefault expected at least 1 argument, got 0",
          NULL);
    check(&f, "__getitem__", "()", "TypeError: __getitem__ expected 1 argument, got 0", NULL);
    check(&f, "__setitem__", "(1,)", "TypeError: __setitem__ expected 2 arguments, got 1",
          "{1: 2}");
    check(&f, "__delitem__", "(1, 2)", "TypeError: __delitem__ expected 1 argument, got 2",
          "{1: 2}");
    check(&f, "__len__", "(1,)", "TypeError: __len__ expected 0 arguments, got 1", NULL);
    check(&f, "popitem", "(1,)", "TypeError: popitem expected 0 arguments, got 1", "{1: 2}");
    check(&f, "keys", "(1,)", "TypeError: keys expected 0 arguments, got 1", NULL);
    check(&f, "update", "({}, {})", "TypeError: update expected at most 1 argument, got 2",
          NULL);
    check(&f, "clear", "(1,)", "TypeError: clear expected 0 arguments, got 1", "{1: 2}");
    object_clear(&f.obj);
}

/* Keys and values arriving in a call are moved into the dict, not copied; a dict passed
 * to the constructor or to update on an empty dict is taken whole. */
static void test_moves_arguments(void **state)
{
    (void)state;
    fixture f;
    make_dict(&f, "{}");
    mpx_value a = th_parse("(('k',), ['v'])");
    const struct mpx_seq *key = mpx_value_at(&a, 0)->u.seq, *val = mpx_value_at(&a, 1)->u.seq;
    char *got = invoke(&f, "__setitem__", &a, NULL);
    assert_string_equal(got, "None");
    free(got);
    assert_int_equal(mpx_value_kind(mpx_value_at(&a, 0)), MPX_NONE);
    assert_int_equal(mpx_value_kind(mpx_value_at(&a, 1)), MPX_NONE);
    mpx_value_free(&a);
    size_t pos = 0;
    mpx_value *k, *v;
    assert_true(mpx_value_dict_next(&f.obj.value, &pos, &k, &v));
    assert_ptr_equal(k->u.seq, key);
    assert_ptr_equal(v->u.seq, val);

    /* update from a dict into a non-empty dict moves each pair. */
    a = th_parse("({'x': [1], ('k',): 'w'},)");
    pos = 0;
    assert_true(mpx_value_dict_next(mpx_value_at(&a, 0), &pos, &k, &v));
    const struct mpx_seq *xval = v->u.seq;
    got = invoke(&f, "update", &a, NULL);
    free(got);
    mpx_value_free(&a);
    check(&f, "__repr__", "()", "\"{('k',): 'w', 'x': [1]}\"", NULL);
    mpx_value x;
    assert_int_equal(mpx_value_str(&x, "x"), MPX_OK);
    mpx_value *found;
    assert_int_equal(mpx_value_dict_find(&f.obj.value, &x, &found), MPX_OK);
    assert_ptr_equal(found->u.seq, xval);
    mpx_value_free(&x);
    object_clear(&f.obj);

    /* The constructor's dict becomes the object's. */
    a = th_parse("({'a': 1},)");
    const struct mpx_map *map = mpx_value_at(&a, 0)->u.map;
    assert_int_equal(method_index_build(&f.ix, &type_dict), MPX_OK);
    memset(&f.obj, 0, sizeof f.obj);
    f.obj.type = &type_dict;
    f.obj.methods = &f.ix;
    mpx_call c = {.args = mpx_value_items(&a), .nargs = 1};
    assert_int_equal(object_init(&f.obj, &c), MPX_OK);
    assert_ptr_equal(f.obj.value.u.map, map);
    mpx_value_free(&a);

    /* pop hands the stored value out without copying it. */
    a = th_parse("('a',)");
    mpx_call p = {.args = mpx_value_items(&a), .nargs = 1};
    assert_int_equal(object_invoke(&f.obj, "pop", &p), MPX_OK);
    assert_int_equal(mpx_value_get_int(&p.result), 1);
    mpx_value_free(&a);
    object_clear(&f.obj);
}

/* Many operations on one object, against the same operations on a model dict built with
 * the value API: order, overwrite-keeps-first-key and deletions survive growth. */
static void test_long_sequence(void **state)
{
    (void)state;
    fixture f;
    make_dict(&f, "{}");
    mpx_value model;
    assert_int_equal(mpx_value_dict(&model), MPX_OK);
    srand(3);
    for (int i = 0; i < 20000; i++) {
        int64_t k = rand() % 500;
        mpx_value args[2];
        args[0] = rand() % 2 ? mpx_value_int(k) : mpx_value_float((double)k);
        int op = rand() % 4;
        mpx_call c = {.args = args, .nargs = 1};
        if (op < 2) {
            args[1] = mpx_value_int(i);
            c.nargs = 2;
            mpx_value mk = args[0], mv = args[1];
            assert_int_equal(mpx_value_dict_set(&model, &mk, &mv), MPX_OK);
            assert_int_equal(object_invoke(&f.obj, "__setitem__", &c), MPX_OK);
        } else if (op == 2) {
            int want = mpx_value_dict_pop(&model, &args[0], NULL, NULL);
            int rc = object_invoke(&f.obj, "__delitem__", &c);
            assert_int_equal(rc, want);
        } else {
            mpx_value *found;
            int want = mpx_value_dict_find(&model, &args[0], &found);
            int rc = object_invoke(&f.obj, "get", &c);
            assert_int_equal(rc, MPX_OK);
            if (want == MPX_OK)
                assert_true(mpx_value_equal(&c.result, found));
            else
                assert_int_equal(mpx_value_kind(&c.result), MPX_NONE);
            mpx_value_free(&c.result);
        }
    }
    char *got = value_repr(&f.obj.value), *want = value_repr(&model);
    assert_string_equal(got, want);
    free(got);
    free(want);
    mpx_value_free(&model);
    object_clear(&f.obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpython_rows),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_dispatch_errors),
        cmocka_unit_test(test_moves_arguments),
        cmocka_unit_test(test_long_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
