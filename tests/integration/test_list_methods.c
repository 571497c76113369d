/* test_list_methods.c - every method of the list proxy against a real mpx-manager.
 *
 * Each case runs in its own forked child with its own client (harness.c). Happy paths with
 * Python's index rules (negatives, slices, clamping) and Python's errors: IndexError,
 * ValueError (remove/index of a missing item, extended slice sizes), TypeError (bad index
 * kinds through the generic call, unorderable sort, non-iterables), and the generic
 * failures every proxy shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mpx/list.h"
#include "mpx/proxy.h"

static t_manager M;

/* ---- helpers ----------------------------------------------------------------------------- */

/* A new anonymous list holding the items of a Python literal ("[1, 2]"). */
static mpx_list *list_of(mpx_client *c, const char *literal)
{
    mpx_value init = t_val(literal);
    mpx_list *l = NULL;
    T_OK(c, mpx_list_create(c, &init, &l));
    T_CHECK(l != NULL);
    mpx_value_free(&init);
    return l;
}

static void expect_list(mpx_client *c, mpx_list *l, const char *want)
{
    char *text = NULL;
    T_OK(c, mpx_list_repr(l, &text));
    T_EQ_STR(text, want);
    free(text);
    /* copy() agrees with repr */
    mpx_value copy;
    T_OK(c, mpx_list_copy(l, &copy));
    T_EQ_INT(mpx_value_kind(&copy), MPX_LIST);
    T_REPR(&copy, want);
    mpx_value_free(&copy);
}

static void expect_len(mpx_client *c, mpx_list *l, size_t want)
{
    size_t n = 12345;
    T_OK(c, mpx_list_len(l, &n));
    T_EQ_INT(n, want);
}

static void expect_item(mpx_client *c, mpx_list *l, int64_t i, const char *want)
{
    mpx_value out;
    T_OK(c, mpx_list_getitem(l, i, &out));
    T_REPR(&out, want);
    mpx_value_free(&out);
}

static void append_lit(mpx_client *c, mpx_list *l, const char *lit)
{
    mpx_value v = t_val(lit);
    T_OK(c, mpx_list_append(l, &v));
    mpx_value_free(&v);
}

/* A generic call on the list with literal arguments; returns the status, *out owned. */
static int call_lit(mpx_list *l, const char *method, const char *a0, const char *a1,
                    mpx_value *out)
{
    mpx_value args[2];
    size_t n = 0;
    if (a0 != NULL)
        args[n++] = t_val(a0);
    if (a1 != NULL)
        args[n++] = t_val(a1);
    int rc = mpx_proxy_call(mpx_list_proxy(l), method, args, n, out);
    t_free_all(args, n);
    return rc;
}

/* ---- cases ------------------------------------------------------------------------------- */

static void case_append_getitem_len(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l;
    T_OK(c, mpx_list_create(c, NULL, &l));
    expect_len(c, l, 0);
    expect_list(c, l, "[]");
    append_lit(c, l, "1");
    append_lit(c, l, "'two'");
    append_lit(c, l, "[3, (4,)]");
    append_lit(c, l, "{'five': 5}");
    append_lit(c, l, "None");
    expect_len(c, l, 5);
    expect_item(c, l, 0, "1");
    expect_item(c, l, 1, "'two'");
    expect_item(c, l, 2, "[3, (4,)]");
    expect_item(c, l, 3, "{'five': 5}");
    expect_item(c, l, -1, "None");
    expect_item(c, l, -5, "1");
    expect_list(c, l, "[1, 'two', [3, (4,)], {'five': 5}, None]");
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_unix_socket(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[1]);
    mpx_list *l = list_of(c, "[1, 2]");
    append_lit(c, l, "3");
    expect_list(c, l, "[1, 2, 3]");
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_index_errors(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "['a', 'b', 'c']");
    mpx_value out = mpx_value_int(9), v = t_val("'x'");
    T_RC(c, mpx_list_getitem(l, 3, &out), MPX_EINDEX);
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    T_ERRMSG_IS(c, "list index out of range");
    T_RC(c, mpx_list_getitem(l, -4, &out), MPX_EINDEX);
    T_RC(c, mpx_list_getitem(l, INT64_MAX, &out), MPX_EINDEX);
    T_RC(c, mpx_list_getitem(l, INT64_MIN, &out), MPX_EINDEX);
    T_RC(c, mpx_list_setitem(l, 3, &v), MPX_EINDEX);
    T_ERRMSG_IS(c, "list assignment index out of range");
    T_RC(c, mpx_list_setitem(l, -4, &v), MPX_EINDEX);
    T_RC(c, mpx_list_delitem(l, 3), MPX_EINDEX);
    T_ERRMSG_IS(c, "list assignment index out of range");
    T_RC(c, mpx_list_delitem(l, -4), MPX_EINDEX);
    int64_t i = 5;
    T_RC(c, mpx_list_pop(l, &i, &out), MPX_EINDEX);
    T_ERRMSG_IS(c, "pop index out of range");
    expect_list(c, l, "['a', 'b', 'c']");
    mpx_list *e = list_of(c, "[]");
    T_RC(c, mpx_list_pop(e, NULL, &out), MPX_EINDEX);
    T_ERRMSG_IS(c, "pop from empty list");
    T_RC(c, mpx_list_getitem(e, 0, &out), MPX_EINDEX);
    mpx_value_free(&v);
    mpx_list_close(e);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_bad_index_types(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[10, 20, 30]");
    mpx_value out;
    T_RC(c, call_lit(l, "__getitem__", "'1'", NULL, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "list indices must be integers or slices, not str");
    T_RC(c, call_lit(l, "__getitem__", "1.0", NULL, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "list indices must be integers or slices, not float");
    T_RC(c, call_lit(l, "__setitem__", "None", "0", &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "list indices must be integers or slices, not NoneType");
    T_RC(c, call_lit(l, "__delitem__", "(1,)", NULL, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "list indices must be integers or slices, not tuple");
    T_RC(c, call_lit(l, "insert", "'0'", "1", &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "'str' object cannot be interpreted as an integer");
    T_RC(c, call_lit(l, "pop", "1.5", NULL, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "'float' object cannot be interpreted as an integer");
    T_RC(c, call_lit(l, "index", "10", "'a'", &out), MPX_ETYPE);
    /* a bool is an int, as in Python: l[True] is l[1] */
    T_OK(c, call_lit(l, "__getitem__", "True", NULL, &out));
    T_REPR(&out, "20");
    mpx_value_free(&out);
    expect_list(c, l, "[10, 20, 30]");
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_setitem_delitem(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[0, 1, 2, 3]");
    mpx_value v = t_val("'mid'");
    T_OK(c, mpx_list_setitem(l, 1, &v));
    T_OK(c, mpx_list_setitem(l, -1, &v));
    T_REPR(&v, "'mid'"); /* borrowed */
    expect_list(c, l, "[0, 'mid', 2, 'mid']");
    T_OK(c, mpx_list_delitem(l, 0));
    T_OK(c, mpx_list_delitem(l, -1));
    expect_list(c, l, "['mid', 2]");
    mpx_value_free(&v);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_slices(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
    int64_t two = 2, five = 5, m3 = -3, m1 = -1, m2 = -2, three = 3, big = 100, zero = 0;
    struct {
        const int64_t *start, *stop, *step;
        const char *want;
    } rows[] = {
        {NULL, NULL, NULL, "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"},
        {&two, &five, NULL, "[2, 3, 4]"},
        {NULL, &two, NULL, "[0, 1]"},
        {&m3, NULL, NULL, "[7, 8, 9]"},
        {NULL, NULL, &m1, "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]"},
        {NULL, NULL, &three, "[0, 3, 6, 9]"},
        {&five, &two, &m1, "[5, 4, 3]"},
        {&big, NULL, NULL, "[]"},
        {NULL, &big, &m2, "[]"},
        {&m1, NULL, &m2, "[9, 7, 5, 3, 1]"},
        {&five, &two, NULL, "[]"},
        {&zero, &zero, NULL, "[]"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mpx_value out;
        T_OK(c, mpx_list_getslice(l, rows[i].start, rows[i].stop, rows[i].step, &out));
        T_EQ_INT(mpx_value_kind(&out), MPX_LIST);
        T_REPR(&out, rows[i].want);
        mpx_value_free(&out);
    }
    mpx_value out = mpx_value_int(1);
    T_RC(c, mpx_list_getslice(l, NULL, NULL, &zero, &out), MPX_EVALUE);
    T_ERRMSG_IS(c, "slice step cannot be zero");
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);

    /* the generic call with a slice value is the same thing */
    mpx_value sl;
    T_OK(c, mpx_value_slice(&sl, &two, &five, NULL));
    T_OK(c, mpx_proxy_call(mpx_list_proxy(l), "__getitem__", &sl, 1, &out));
    T_REPR(&out, "[2, 3, 4]");
    mpx_value_free(&out);
    mpx_value_free(&sl);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_setslice_delslice(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[0, 1, 2, 3, 4, 5]");
    int64_t one = 1, three = 3, two = 2, zero = 0, m1 = -1, big = 99;
    mpx_value seq = t_val("['a', 'b', 'c', 'd']");
    /* step 1: any length; the list grows */
    T_OK(c, mpx_list_setslice(l, &one, &three, NULL, &seq));
    expect_list(c, l, "[0, 'a', 'b', 'c', 'd', 3, 4, 5]");
    mpx_value empty = t_val("()");
    T_OK(c, mpx_list_setslice(l, &one, &three, NULL, &empty)); /* shrinks */
    expect_list(c, l, "[0, 'c', 'd', 3, 4, 5]");
    mpx_value tup = t_val("(7, 8)");
    T_OK(c, mpx_list_setslice(l, &zero, &zero, NULL, &tup)); /* inserts at front */
    T_OK(c, mpx_list_setslice(l, &big, NULL, NULL, &tup));   /* appends */
    expect_list(c, l, "[7, 8, 0, 'c', 'd', 3, 4, 5, 7, 8]");
    /* extended slice: exactly as many items */
    mpx_value four = t_val("['w', 'x', 'y', 'z']");
    mpx_value five = t_val("[1, 2, 3, 4, 5]");
    T_OK(c, mpx_list_setslice(l, NULL, NULL, &two, &five));
    expect_list(c, l, "[1, 8, 2, 'c', 3, 3, 4, 5, 5, 8]");
    T_RC(c, mpx_list_setslice(l, NULL, NULL, &two, &four), MPX_EVALUE);
    T_ERRMSG_IS(c, "attempt to assign sequence of size 4 to extended slice of size 5");
    T_RC(c, mpx_list_setslice(l, NULL, NULL, &m1, &four), MPX_EVALUE);
    expect_list(c, l, "[1, 8, 2, 'c', 3, 3, 4, 5, 5, 8]");
    /* delete slices */
    T_OK(c, mpx_list_delslice(l, NULL, NULL, &two));
    expect_list(c, l, "[8, 'c', 3, 5, 8]");
    T_OK(c, mpx_list_delslice(l, &m1, NULL, NULL));
    expect_list(c, l, "[8, 'c', 3, 5]");
    T_OK(c, mpx_list_delslice(l, &big, NULL, NULL)); /* nothing */
    T_OK(c, mpx_list_delslice(l, NULL, NULL, NULL));
    expect_list(c, l, "[]");
    T_RC(c, mpx_list_delslice(l, NULL, NULL, &zero), MPX_EVALUE);
    t_free_all((mpx_value[]){seq, empty, tup, four, five}, 5);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_setslice_not_iterable(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[1, 2, 3]");
    int64_t one = 1, two = 2;
    mpx_value n = t_val("5");
    T_RC(c, mpx_list_setslice(l, &one, &two, NULL, &n), MPX_ETYPE);
    T_ERRMSG_IS(c, "can only assign an iterable");
    T_RC(c, mpx_list_setslice(l, NULL, NULL, &two, &n), MPX_ETYPE);
    T_ERRMSG_IS(c, "must assign iterable to extended slice");
    expect_list(c, l, "[1, 2, 3]");
    mpx_value_free(&n);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_contains_count_index(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[1, 'a', 2.0, 'a', (1,), [1], True]");
    mpx_value a = t_val("'a'"), two = t_val("2"), one = t_val("1"), tl = t_val("[1]"),
              tt = t_val("(1,)"), zz = t_val("'zz'");
    bool in = false;
    T_OK(c, mpx_list_contains(l, &a, &in));
    T_CHECK(in);
    T_OK(c, mpx_list_contains(l, &two, &in)); /* 2 == 2.0 */
    T_CHECK(in);
    T_OK(c, mpx_list_contains(l, &zz, &in));
    T_CHECK(!in);
    int64_t n = -1;
    T_OK(c, mpx_list_count(l, &a, &n));
    T_EQ_INT(n, 2);
    T_OK(c, mpx_list_count(l, &one, &n)); /* 1 and True */
    T_EQ_INT(n, 2);
    T_OK(c, mpx_list_count(l, &tl, &n)); /* [1] != (1,) */
    T_EQ_INT(n, 1);
    T_OK(c, mpx_list_count(l, &zz, &n));
    T_EQ_INT(n, 0);
    int64_t pos = -1, start = 2, stop = 3, neg = -4;
    T_OK(c, mpx_list_index(l, &a, NULL, NULL, &pos));
    T_EQ_INT(pos, 1);
    T_OK(c, mpx_list_index(l, &a, &start, NULL, &pos));
    T_EQ_INT(pos, 3);
    T_OK(c, mpx_list_index(l, &tt, &neg, NULL, &pos));
    T_EQ_INT(pos, 4);
    T_OK(c, mpx_list_index(l, &two, NULL, NULL, &pos));
    T_EQ_INT(pos, 2);
    pos = 77;
    T_RC(c, mpx_list_index(l, &a, &start, &stop, &pos), MPX_EVALUE);
    T_EQ_INT(pos, 77); /* scalar out left unchanged */
    T_ERRMSG_IS(c, "'a' is not in list");
    T_RC(c, mpx_list_index(l, &zz, NULL, NULL, &pos), MPX_EVALUE);
    T_ERRMSG_IS(c, "'zz' is not in list");
    t_free_all((mpx_value[]){a, two, one, tl, tt, zz}, 6);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_extend_insert(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[1]");
    mpx_value lst = t_val("[2, 3]"), tup = t_val("(4,)"), x = t_val("'x'");
    T_OK(c, mpx_list_extend(l, &lst));
    T_OK(c, mpx_list_extend(l, &tup));
    expect_list(c, l, "[1, 2, 3, 4]");
    T_OK(c, mpx_list_insert(l, 0, &x));
    T_OK(c, mpx_list_insert(l, 2, &x));
    T_OK(c, mpx_list_insert(l, -1, &x));
    expect_list(c, l, "['x', 1, 'x', 2, 3, 'x', 4]");
    T_OK(c, mpx_list_insert(l, 1000, &lst)); /* clamped to the end */
    T_OK(c, mpx_list_insert(l, -1000, &tup)); /* clamped to the front */
    expect_list(c, l, "[(4,), 'x', 1, 'x', 2, 3, 'x', 4, [2, 3]]");
    mpx_value n = t_val("7");
    T_RC(c, mpx_list_extend(l, &n), MPX_ETYPE);
    T_ERRMSG_IS(c, "'int' object is not iterable");
    /* through the generic call, other iterables extend item by item */
    mpx_value out;
    T_OK(c, call_lit(l, "extend", "'ab'", NULL, &out));
    mpx_value_free(&out);
    T_OK(c, call_lit(l, "extend", "{'k1': 1, 'k2': 2}", NULL, &out));
    mpx_value_free(&out);
    expect_len(c, l, 13);
    expect_item(c, l, -4, "'a'");
    expect_item(c, l, -1, "'k2'");
    t_free_all((mpx_value[]){lst, tup, x, n}, 4);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_pop_remove(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "['a', 'b', 'c', 'b', 'd']");
    mpx_value out;
    T_OK(c, mpx_list_pop(l, NULL, &out));
    T_REPR(&out, "'d'");
    mpx_value_free(&out);
    int64_t zero = 0, m2 = -2;
    T_OK(c, mpx_list_pop(l, &zero, &out));
    T_REPR(&out, "'a'");
    mpx_value_free(&out);
    T_OK(c, mpx_list_pop(l, &m2, &out));
    T_REPR(&out, "'c'");
    mpx_value_free(&out);
    expect_list(c, l, "['b', 'b']");
    mpx_value b = t_val("'b'"), z = t_val("'z'");
    T_OK(c, mpx_list_remove(l, &b));
    expect_list(c, l, "['b']");
    T_RC(c, mpx_list_remove(l, &z), MPX_EVALUE);
    T_ERRMSG_IS(c, "list.remove(x): x not in list");
    T_OK(c, mpx_list_remove(l, &b));
    T_RC(c, mpx_list_remove(l, &b), MPX_EVALUE);
    expect_list(c, l, "[]");
    t_free_all((mpx_value[]){b, z}, 2);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_reverse_sort(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[3, 1.5, 2, -7, 10, 0]");
    T_OK(c, mpx_list_reverse(l));
    expect_list(c, l, "[0, 10, -7, 2, 1.5, 3]");
    T_OK(c, mpx_list_sort(l, false));
    expect_list(c, l, "[-7, 0, 1.5, 2, 3, 10]");
    T_OK(c, mpx_list_sort(l, true));
    expect_list(c, l, "[10, 3, 2, 1.5, 0, -7]");
    mpx_list_close(l);

    l = list_of(c, "['pear', 'apple', 'fig', 'Banana']");
    T_OK(c, mpx_list_sort(l, false));
    expect_list(c, l, "['Banana', 'apple', 'fig', 'pear']");
    mpx_list_close(l);

    /* stable, also in reverse: equal keys keep their order (1 == 1.0 == True) */
    l = list_of(c, "[1.0, 0, True, 1, False, 0.0]");
    T_OK(c, mpx_list_sort(l, false));
    expect_list(c, l, "[0, False, 0.0, 1.0, True, 1]");
    T_OK(c, mpx_list_sort(l, true));
    expect_list(c, l, "[1.0, True, 1, 0, False, 0.0]");
    mpx_list_close(l);

    l = list_of(c, "[(2, 'b'), (1, 'z'), (2, 'a'), (1,)]");
    T_OK(c, mpx_list_sort(l, false));
    expect_list(c, l, "[(1,), (1, 'z'), (2, 'a'), (2, 'b')]");
    mpx_list_close(l);

    /* a bigger one: 5,000 ints in a scrambled order */
    mpx_value big;
    T_OK(c, mpx_value_list(&big, 5000));
    for (int64_t i = 0; i < 5000; i++) {
        mpx_value v = mpx_value_int((i * 7919) % 5000);
        T_OK(c, mpx_value_append(&big, &v));
    }
    T_OK(c, mpx_list_create(c, &big, &l));
    mpx_value_free(&big);
    T_OK(c, mpx_list_sort(l, false));
    mpx_value out;
    T_OK(c, mpx_list_copy(l, &out));
    T_EQ_INT(mpx_value_len(&out), 5000);
    for (size_t i = 0; i < 5000; i++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, i)), i);
    mpx_value_free(&out);
    /* sorting and reversing empty and 1-item lists */
    T_OK(c, mpx_list_clear(l));
    T_OK(c, mpx_list_sort(l, false));
    T_OK(c, mpx_list_reverse(l));
    append_lit(c, l, "'only'");
    T_OK(c, mpx_list_sort(l, true));
    expect_list(c, l, "['only']");
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_unorderable_sort(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    struct {
        const char *items, *msg;
    } rows[] = {
        {"[1, 'a']", "'<' not supported between instances of 'str' and 'int'"},
        {"[None, None]", "'<' not supported between instances of 'NoneType' and 'NoneType'"},
        {"[(1, 'a'), (1, 2)]", "'<' not supported between instances of 'int' and 'str'"},
        {"[[1], (1,)]", "'<' not supported between instances of 'tuple' and 'list'"},
        {"[{}, {}]", "'<' not supported between instances of 'dict' and 'dict'"},
        {"[b'a', 'a']", "'<' not supported between instances of 'str' and 'bytes'"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mpx_list *l = list_of(c, rows[i].items);
        T_RC(c, mpx_list_sort(l, false), MPX_ETYPE);
        T_ERRMSG_IS(c, rows[i].msg);
        expect_len(c, l, 2); /* nothing lost */
        mpx_list_close(l);
    }
    mpx_client_close(c);
}

static void case_clear_copy_repr(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[\"it's\", 'q\"uote', b'\\x01', 1e100, -0.5, (None,)]");
    expect_list(c, l, "[\"it's\", 'q\"uote', b'\\x01', 1e+100, -0.5, (None,)]");
    mpx_value copy;
    T_OK(c, mpx_list_copy(l, &copy));
    T_OK(c, mpx_list_clear(l));
    expect_len(c, l, 0);
    expect_list(c, l, "[]");
    T_EQ_INT(mpx_value_len(&copy), 6); /* a local copy */
    mpx_value_free(&copy);
    mpx_list_close(l);
    mpx_client_close(c);
}

/* Python's operators: + and * make new lists, *= changes the shared one. */
static void case_operators(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[1, 'a']");
    mpx_value other = t_val("[2]"), out;
    T_OK(c, mpx_list_add(l, &other, &out));
    T_REPR(&out, "[1, 'a', 2]");
    mpx_value_free(&out);
    mpx_value_free(&other);
    other = t_val("(2,)");
    T_RC(c, mpx_list_add(l, &other, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "can only concatenate list (not \"tuple\") to list");
    mpx_value_free(&other);
    T_OK(c, mpx_list_mul(l, 2, &out));
    T_REPR(&out, "[1, 'a', 1, 'a']");
    mpx_value_free(&out);
    T_RC(c, mpx_list_mul(l, INT64_MAX, &out), MPX_ENOMEM);
    T_OK(c, mpx_list_reversed(l, &out));
    T_REPR(&out, "['a', 1]");
    mpx_value_free(&out);
    expect_list(c, l, "[1, 'a']");
    T_OK(c, mpx_list_imul(l, 3));
    expect_len(c, l, 6);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_create_initial(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "(1, 2, 3)");
    expect_list(c, l, "[1, 2, 3]");
    mpx_list_close(l);
    mpx_value bad = t_val("3");
    l = (mpx_list *)&bad;
    T_RC(c, mpx_list_create(c, &bad, &l), MPX_ETYPE);
    T_CHECK(l == NULL);
    mpx_value_free(&bad);
    mpx_client_close(c);
}

static void case_named_list(void *arg)
{
    (void)arg;
    mpx_client *a = t_connect(&M, NULL), *b = t_connect(&M, M.addresses[1]);
    mpx_list *la, *lb;
    T_OK(a, mpx_list_open(a, "named-list", &la));
    T_OK(b, mpx_list_open(b, "named-list", &lb));
    append_lit(a, la, "'from a'");
    append_lit(b, lb, "'from b'");
    expect_list(a, la, "['from a', 'from b']");
    /* a dict under a list's name, and the reverse */
    mpx_proxy *p = (mpx_proxy *)la;
    T_RC(a, mpx_proxy_open(a, "dict", "named-list", NULL, 0, &p), MPX_EEXIST);
    T_CHECK(p == NULL);
    T_OK(a, mpx_proxy_open(a, "dict", "named-dict-for-list", NULL, 0, &p));
    mpx_list *wrong = la;
    T_RC(a, mpx_list_open(a, "named-dict-for-list", &wrong), MPX_EEXIST);
    T_CHECK(wrong == NULL);
    T_ERRMSG_HAS(a, "named-dict-for-list");
    mpx_proxy_close(p);
    mpx_list_close(la);
    mpx_list_close(lb);
    mpx_client_close(a);
    mpx_client_close(b);
}

static void case_generic_failures(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l = list_of(c, "[]");
    mpx_value out = mpx_value_int(1);
    T_RC(c, mpx_proxy_call(mpx_list_proxy(l), "nosuch", NULL, 0, &out), MPX_ENOMETHOD);
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    T_ERRMSG_HAS(c, "nosuch");
    T_RC(c, call_lit(l, "keys", NULL, NULL, &out), MPX_ENOMETHOD); /* a dict method */
    T_RC(c, call_lit(l, "append", NULL, NULL, &out), MPX_ETYPE);   /* arity */
    T_ERRMSG_IS(c, "append expected 1 argument, got 0");
    T_RC(c, call_lit(l, "insert", "0", NULL, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "insert expected 2 arguments, got 1");
    T_RC(c, mpx_client_call(c, 999999, "append", NULL, 0, -1, &out), MPX_ENOOBJECT);
    T_RC(c, mpx_client_call(c, 999999, "__len__", NULL, 0, -1, &out), MPX_ENOOBJECT);
    T_ERRMSG_HAS(c, "999999");
    expect_len(c, l, 0);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_token_attach(void *arg)
{
    (void)arg;
    mpx_client *a = t_connect(&M, NULL);
    mpx_list *l = list_of(a, "[1, 2]");
    char token[MPX_TOKEN_MAX], addr[MPX_TOKEN_MAX];
    T_OK(a, mpx_list_token(l, token, sizeof token));
    T_OK(a, mpx_token_address(token, addr, sizeof addr));
    mpx_client *b = t_connect(&M, addr);
    mpx_list *lb;
    T_OK(b, mpx_list_attach(b, token, &lb));
    append_lit(b, lb, "3");
    expect_list(a, l, "[1, 2, 3]");
    /* a list token is not a Namespace token */
    mpx_proxy *p;
    T_RC(b, mpx_proxy_attach(b, token, "Namespace", &p), MPX_ETYPE);
    /* a reference read back from the list names a list */
    mpx_value ref;
    T_OK(b, mpx_value_ref(&ref, mpx_proxy_id(mpx_list_proxy(lb)), "list"));
    T_OK(b, mpx_list_append(lb, &ref)); /* the list now holds itself */
    mpx_value_free(&ref);
    mpx_value out;
    T_OK(b, mpx_list_getitem(lb, -1, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_REF);
    mpx_list *again;
    T_OK(b, mpx_list_from_ref(b, &out, &again));
    expect_len(b, again, 4);
    mpx_value_free(&out);
    /* break the cycle so the object can go */
    T_OK(b, mpx_list_pop(again, NULL, &out));
    mpx_value_free(&out);
    mpx_list_close(again);
    mpx_list_close(lb);
    mpx_list_close(l);
    mpx_client_close(b);
    mpx_client_close(a);
}

int main(void)
{
    const char *listen[] = {"tcp", "unix", NULL};
    t_manager_start(&M, listen, NULL);
    T_RUN(case_append_getitem_len, NULL);
    T_RUN(case_unix_socket, NULL);
    T_RUN(case_index_errors, NULL);
    T_RUN(case_bad_index_types, NULL);
    T_RUN(case_setitem_delitem, NULL);
    T_RUN(case_slices, NULL);
    T_RUN(case_setslice_delslice, NULL);
    T_RUN(case_setslice_not_iterable, NULL);
    T_RUN(case_contains_count_index, NULL);
    T_RUN(case_extend_insert, NULL);
    T_RUN(case_pop_remove, NULL);
    T_RUN(case_reverse_sort, NULL);
    T_RUN(case_unorderable_sort, NULL);
    T_RUN(case_clear_copy_repr, NULL);
    T_RUN(case_operators, NULL);
    T_RUN(case_create_initial, NULL);
    T_RUN(case_named_list, NULL);
    T_RUN(case_generic_failures, NULL);
    T_RUN(case_token_attach, NULL);
    return t_finish_with_manager(&M);
}
