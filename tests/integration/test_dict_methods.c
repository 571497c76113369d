/* test_dict_methods.c - every method of the dict proxy against a real mpx-manager.
 *
 * Each case runs in its own forked child with its own client (harness.c), over TCP unless
 * it says unix. Happy paths and Python's errors: KeyError (message = repr of the key),
 * TypeError (unhashable keys, bad update arguments), ValueError, plus the generic failures
 * every proxy shares: unknown method, unknown object id, a name of another type.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "mpx/dict.h"
#include "mpx/proxy.h"

static t_manager M;

/* ---- helpers ------------------------------------------------------------------------- */

static mpx_dict *fresh_dict(mpx_client *c)
{
    mpx_dict *d = NULL;
    T_OK(c, mpx_dict_create(c, NULL, &d));
    T_CHECK(d != NULL);
    return d;
}

static void set_lit(mpx_client *c, mpx_dict *d, const char *key, const char *val)
{
    mpx_value k = t_val(key), v = t_val(val);
    T_OK(c, mpx_dict_setitem(d, &k, &v));
    mpx_value_free(&k);
    mpx_value_free(&v);
}

/* d[key] must print as want. */
static void expect_item(mpx_client *c, mpx_dict *d, const char *key, const char *want)
{
    mpx_value k = t_val(key), out;
    T_OK(c, mpx_dict_getitem(d, &k, &out));
    T_REPR(&out, want);
    mpx_value_free(&out);
    mpx_value_free(&k);
}

static void expect_repr(mpx_client *c, mpx_dict *d, const char *want)
{
    char *text = NULL;
    T_OK(c, mpx_dict_repr(d, &text));
    T_EQ_STR(text, want);
    free(text);
}

static void expect_len(mpx_client *c, mpx_dict *d, size_t want)
{
    size_t n = 12345;
    T_OK(c, mpx_dict_len(d, &n));
    T_EQ_INT(n, want);
}

/* ---- cases ------------------------------------------------------------------------------ */

static void case_setitem_getitem(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    expect_len(c, d, 0);
    set_lit(c, d, "'a'", "1");
    set_lit(c, d, "2", "'two'");
    set_lit(c, d, "(1, 'x')", "[1, 2.5, None]");
    set_lit(c, d, "b'k'", "{'nested': (True, b'\\x00')}");
    set_lit(c, d, "None", "False");
    set_lit(c, d, "-1.5", "''");
    expect_item(c, d, "'a'", "1");
    expect_item(c, d, "2", "'two'");
    expect_item(c, d, "(1, 'x')", "[1, 2.5, None]");
    expect_item(c, d, "b'k'", "{'nested': (True, b'\\x00')}");
    expect_item(c, d, "None", "False");
    expect_item(c, d, "-1.5", "''");
    expect_len(c, d, 6);
    /* overwrite keeps the position */
    set_lit(c, d, "'a'", "'again'");
    expect_item(c, d, "'a'", "'again'");
    expect_len(c, d, 6);
    expect_repr(c, d,
                "{'a': 'again', 2: 'two', (1, 'x'): [1, 2.5, None], "
                "b'k': {'nested': (True, b'\\x00')}, None: False, -1.5: ''}");
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_unix_socket(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[1]);
    T_CHECK(strncmp(M.addresses[1], "unix://", 7) == 0);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'k'", "'v'");
    expect_item(c, d, "'k'", "'v'");
    expect_len(c, d, 1);
    mpx_dict_close(d);
    mpx_client_close(c);
}

/* 1 == 1.0 == True as keys; the first key object stays. */
static void case_numeric_key_equality(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "1", "'int'");
    expect_item(c, d, "1.0", "'int'");
    expect_item(c, d, "True", "'int'");
    set_lit(c, d, "True", "'bool'");
    set_lit(c, d, "0", "'zero'");
    expect_item(c, d, "False", "'zero'");
    expect_item(c, d, "-0.0", "'zero'");
    expect_len(c, d, 2);
    expect_repr(c, d, "{1: 'bool', 0: 'zero'}");
    /* tuples are keys by value; tuple != list */
    set_lit(c, d, "(1, 2)", "'t'");
    expect_item(c, d, "(1.0, 2)", "'t'");
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_getitem_missing_is_keyerror(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'present'", "1");
    struct {
        const char *key, *msg;
    } rows[] = {
        {"'missing'", "'missing'"},
        {"42", "42"},
        {"(1, 'a')", "(1, 'a')"},
        {"b'raw'", "b'raw'"},
        {"None", "None"},
        {"2.5", "2.5"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mpx_value k = t_val(rows[i].key), out = mpx_value_int(7);
        T_RC(c, mpx_dict_getitem(d, &k, &out), MPX_EKEY);
        T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
        T_ERRMSG_IS(c, rows[i].msg);
        T_EQ_INT(mpx_client_errcode(c), MPX_EKEY);
        mpx_value_free(&k);
    }
    /* the client is still usable after errors */
    expect_item(c, d, "'present'", "1");
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_delitem(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'a'", "1");
    set_lit(c, d, "'b'", "2");
    mpx_value a = t_val("'a'"), out;
    T_OK(c, mpx_dict_delitem(d, &a));
    expect_len(c, d, 1);
    T_RC(c, mpx_dict_getitem(d, &a, &out), MPX_EKEY);
    T_RC(c, mpx_dict_delitem(d, &a), MPX_EKEY);
    T_ERRMSG_IS(c, "'a'");
    expect_repr(c, d, "{'b': 2}");
    mpx_value_free(&a);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_contains(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'a'", "1");
    mpx_value a = t_val("'a'"), z = t_val("'z'"), one = t_val("1");
    bool in = false;
    T_OK(c, mpx_dict_contains(d, &a, &in));
    T_CHECK(in);
    T_OK(c, mpx_dict_contains(d, &z, &in));
    T_CHECK(!in);
    in = true;
    T_OK(c, mpx_dict_contains(d, &one, &in));
    T_CHECK(!in);
    t_free_all((mpx_value[]){a, z, one}, 3);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_get(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'a'", "[1]");
    mpx_value a = t_val("'a'"), z = t_val("'z'"), dflt = t_val("'dflt'"), out;
    T_OK(c, mpx_dict_get(d, &a, NULL, &out));
    T_REPR(&out, "[1]");
    mpx_value_free(&out);
    T_OK(c, mpx_dict_get(d, &a, &dflt, &out));
    T_REPR(&out, "[1]");
    mpx_value_free(&out);
    T_OK(c, mpx_dict_get(d, &z, NULL, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    T_OK(c, mpx_dict_get(d, &z, &dflt, &out));
    T_REPR(&out, "'dflt'");
    mpx_value_free(&out);
    /* get never inserts */
    expect_len(c, d, 1);
    /* the caller still owns dflt */
    T_REPR(&dflt, "'dflt'");
    t_free_all((mpx_value[]){a, z, dflt}, 3);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_setdefault(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    mpx_value k = t_val("'k'"), n = t_val("'n'"), v1 = t_val("[1]"), v2 = t_val("[2]"), out;
    T_OK(c, mpx_dict_setdefault(d, &k, &v1, &out));
    T_REPR(&out, "[1]");
    mpx_value_free(&out);
    T_OK(c, mpx_dict_setdefault(d, &k, &v2, &out));
    T_REPR(&out, "[1]"); /* the stored value wins */
    mpx_value_free(&out);
    T_OK(c, mpx_dict_setdefault(d, &n, NULL, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    expect_repr(c, d, "{'k': [1], 'n': None}");
    t_free_all((mpx_value[]){k, n, v1, v2}, 4);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_pop(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'a'", "(1, 2)");
    set_lit(c, d, "'b'", "2");
    mpx_value a = t_val("'a'"), dflt = t_val("-1"), out;
    T_OK(c, mpx_dict_pop(d, &a, NULL, &out));
    T_REPR(&out, "(1, 2)");
    mpx_value_free(&out);
    expect_len(c, d, 1);
    T_OK(c, mpx_dict_pop(d, &a, &dflt, &out));
    T_REPR(&out, "-1");
    mpx_value_free(&out);
    T_RC(c, mpx_dict_pop(d, &a, NULL, &out), MPX_EKEY);
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    T_ERRMSG_IS(c, "'a'");
    expect_repr(c, d, "{'b': 2}");
    t_free_all((mpx_value[]){a, dflt}, 2);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_popitem(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'first'", "1");
    set_lit(c, d, "'second'", "2");
    set_lit(c, d, "'third'", "3");
    mpx_value k, v;
    T_OK(c, mpx_dict_popitem(d, &k, &v)); /* LIFO, as Python */
    T_REPR(&k, "'third'");
    T_REPR(&v, "3");
    mpx_value_free(&k);
    mpx_value_free(&v);
    T_OK(c, mpx_dict_popitem(d, &k, &v));
    T_REPR(&k, "'second'");
    mpx_value_free(&k);
    mpx_value_free(&v);
    T_OK(c, mpx_dict_popitem(d, &k, &v));
    T_REPR(&k, "'first'");
    mpx_value_free(&k);
    mpx_value_free(&v);
    T_RC(c, mpx_dict_popitem(d, &k, &v), MPX_EKEY);
    T_EQ_INT(mpx_value_kind(&k), MPX_NONE);
    T_EQ_INT(mpx_value_kind(&v), MPX_NONE);
    T_ERRMSG_IS(c, "'popitem(): dictionary is empty'");
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_keys_values_items_order(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    mpx_value out;
    T_OK(c, mpx_dict_keys(d, &out));
    T_REPR(&out, "[]");
    mpx_value_free(&out);
    set_lit(c, d, "'x'", "1");
    set_lit(c, d, "'y'", "2");
    set_lit(c, d, "'z'", "3");
    mpx_value y = t_val("'y'");
    T_OK(c, mpx_dict_delitem(d, &y));
    set_lit(c, d, "'y'", "4"); /* re-inserted: now last */
    set_lit(c, d, "'x'", "5"); /* replaced: keeps its place */
    T_OK(c, mpx_dict_keys(d, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_LIST);
    T_REPR(&out, "['x', 'z', 'y']");
    mpx_value_free(&out);
    T_OK(c, mpx_dict_values(d, &out));
    T_REPR(&out, "[5, 3, 4]");
    mpx_value_free(&out);
    T_OK(c, mpx_dict_items(d, &out));
    T_REPR(&out, "[('x', 5), ('z', 3), ('y', 4)]");
    T_EQ_INT(mpx_value_kind(mpx_value_at(&out, 0)), MPX_TUPLE);
    mpx_value_free(&out);
    mpx_value_free(&y);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_update(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'a'", "1");
    mpx_value src = t_val("{'b': 2, 'a': 10}");
    T_OK(c, mpx_dict_update(d, &src));
    T_REPR(&src, "{'b': 2, 'a': 10}"); /* borrowed: untouched */
    expect_repr(c, d, "{'a': 10, 'b': 2}");
    mpx_value pairs = t_val("[('c', 3), ['d', 4], ('a', 0)]");
    T_OK(c, mpx_dict_update(d, &pairs));
    expect_repr(c, d, "{'a': 0, 'b': 2, 'c': 3, 'd': 4}");
    mpx_value empty = t_val("{}");
    T_OK(c, mpx_dict_update(d, &empty));
    expect_len(c, d, 4);
    /* the generic call with no argument: update() does nothing */
    mpx_value res;
    T_OK(c, mpx_proxy_call(mpx_dict_proxy(d), "update", NULL, 0, &res));
    mpx_value_free(&res);
    expect_len(c, d, 4);
    t_free_all((mpx_value[]){src, pairs, empty}, 3);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_update_errors(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    mpx_value v = t_val("5");
    T_RC(c, mpx_dict_update(d, &v), MPX_ETYPE);
    T_ERRMSG_IS(c, "'int' object is not iterable");
    mpx_value_free(&v);

    v = t_val("[(1, 2, 3)]");
    T_RC(c, mpx_dict_update(d, &v), MPX_EVALUE);
    T_ERRMSG_IS(c, "dictionary update sequence element #0 has length 3; 2 is required");
    mpx_value_free(&v);

    v = t_val("[('ok', 1), 7]");
    T_RC(c, mpx_dict_update(d, &v), MPX_ETYPE);
    T_ERRMSG_IS(c, "cannot convert dictionary update sequence element #1 to a sequence");
    mpx_value_free(&v);
    /* as in Python, the pairs before the bad one stay */
    expect_repr(c, d, "{'ok': 1}");

    v = t_val("[([1], 2)]");
    T_RC(c, mpx_dict_update(d, &v), MPX_ETYPE);
    T_ERRMSG_IS(c, "unhashable type: 'list'");
    mpx_value_free(&v);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_unhashable_keys(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'a'", "1");
    struct {
        const char *key, *msg;
    } rows[] = {
        {"[1, 2]", "unhashable type: 'list'"},
        {"{'a': 1}", "unhashable type: 'dict'"},
        {"(1, [2])", "unhashable type: 'list'"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        mpx_value k = t_val(rows[i].key), v = t_val("0"), out, out2;
        bool in;
        T_RC(c, mpx_dict_setitem(d, &k, &v), MPX_ETYPE);
        T_ERRMSG_IS(c, rows[i].msg);
        T_RC(c, mpx_dict_getitem(d, &k, &out), MPX_ETYPE);
        T_ERRMSG_IS(c, rows[i].msg);
        T_RC(c, mpx_dict_delitem(d, &k), MPX_ETYPE);
        T_RC(c, mpx_dict_contains(d, &k, &in), MPX_ETYPE);
        T_ERRMSG_IS(c, rows[i].msg);
        T_RC(c, mpx_dict_get(d, &k, NULL, &out), MPX_ETYPE);
        T_RC(c, mpx_dict_setdefault(d, &k, &v, &out), MPX_ETYPE);
        T_RC(c, mpx_dict_pop(d, &k, &v, &out), MPX_ETYPE);
        T_RC(c, mpx_dict_popitem(d, &out, &out2), MPX_OK);
        mpx_value_free(&out);
        mpx_value_free(&out2);
        set_lit(c, d, "'a'", "1");
        mpx_value_free(&k);
        mpx_value_free(&v);
    }
    expect_repr(c, d, "{'a': 1}");
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_clear_and_copy(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    set_lit(c, d, "'a'", "[1, 2]");
    set_lit(c, d, "3", "{'x': None}");
    mpx_value copy;
    T_OK(c, mpx_dict_copy(d, &copy));
    T_EQ_INT(mpx_value_kind(&copy), MPX_DICT);
    T_REPR(&copy, "{'a': [1, 2], 3: {'x': None}}");
    T_OK(c, mpx_dict_clear(d));
    expect_len(c, d, 0);
    expect_repr(c, d, "{}");
    /* the copy is local: clearing the shared dict did not touch it */
    T_EQ_INT(mpx_value_len(&copy), 2);
    mpx_value_free(&copy);
    T_OK(c, mpx_dict_clear(d)); /* clearing an empty dict is fine */
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_create_with_initial(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_value init = t_val("{'a': 1, 'b': [2]}");
    mpx_dict *d;
    T_OK(c, mpx_dict_create(c, &init, &d));
    T_REPR(&init, "{'a': 1, 'b': [2]}"); /* borrowed */
    expect_repr(c, d, "{'a': 1, 'b': [2]}");
    mpx_dict_close(d);
    mpx_value_free(&init);

    init = t_val("[('x', 1), ('y', 2)]");
    T_OK(c, mpx_dict_create(c, &init, &d));
    expect_repr(c, d, "{'x': 1, 'y': 2}");
    mpx_dict_close(d);
    mpx_value_free(&init);

    init = t_val("17");
    d = (mpx_dict *)&init; /* must be reset to NULL on failure */
    T_RC(c, mpx_dict_create(c, &init, &d), MPX_ETYPE);
    T_CHECK(d == NULL);
    mpx_value_free(&init);
    mpx_client_close(c);
}

/* Every value kind travels intact, both ways. */
static void case_value_kinds_roundtrip(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    const char *lits[] = {
        "None", "True", "False", "0", "-9223372036854775808", "9223372036854775807",
        "1.5", "-0.0", "1e+300", "''", "'h\\xe9llo \\u2603'", "'a\\x00b'", "b''",
        "b'\\x00\\xff\\n'", "[]", "()", "(1,)", "{}", "[[[]], ((),), {'k': {'k': [None]}}]",
        "{1: 'a', 'b': (2, 3.0), (4,): b'x'}",
    };
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        mpx_value k = mpx_value_int((int64_t)i), v = t_val(lits[i]), out;
        T_OK(c, mpx_dict_setitem(d, &k, &v));
        T_OK(c, mpx_dict_getitem(d, &k, &out));
        if (!mpx_value_equal(&out, &v) || mpx_value_kind(&out) != mpx_value_kind(&v)) {
            char *got = mpx_value_repr(&out);
            t_fail(__FILE__, __LINE__, "roundtrip of %s gave %s", lits[i], got);
        }
        char *want = mpx_value_repr(&v);
        T_REPR(&out, want);
        free(want);
        mpx_value_free(&out);
        mpx_value_free(&v);
    }
    /* floats the parser cannot write */
    mpx_value k = t_val("'inf'"), v = mpx_value_float(INFINITY), out;
    T_OK(c, mpx_dict_setitem(d, &k, &v));
    T_OK(c, mpx_dict_getitem(d, &k, &out));
    T_CHECK(mpx_value_kind(&out) == MPX_FLOAT && isinf(mpx_value_get_float(&out)));
    v = mpx_value_float(NAN);
    T_OK(c, mpx_dict_setitem(d, &k, &v));
    T_OK(c, mpx_dict_getitem(d, &k, &out));
    T_CHECK(mpx_value_kind(&out) == MPX_FLOAT && isnan(mpx_value_get_float(&out)));
    mpx_value_free(&k);
    /* a str with an embedded NUL keeps its length */
    mpx_value s, got;
    T_OK(c, mpx_value_strn(&s, "x\0y", 3));
    k = mpx_value_int(1000);
    T_OK(c, mpx_dict_setitem(d, &k, &s));
    T_OK(c, mpx_dict_getitem(d, &k, &got));
    T_EQ_INT(mpx_value_str_len(&got), 3);
    T_CHECK(memcmp(mpx_value_str_data(&got), "x\0y", 3) == 0);
    mpx_value_free(&s);
    mpx_value_free(&got);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_large_values(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    size_t n = 4u << 20;
    unsigned char *blob = malloc(n);
    T_CHECK(blob != NULL);
    for (size_t i = 0; i < n; i++)
        blob[i] = (unsigned char)(i * 131 + 7);
    mpx_value k = t_val("'blob'"), v, out;
    T_OK(c, mpx_value_bytes(&v, blob, n));
    T_OK(c, mpx_dict_setitem(d, &k, &v));
    T_OK(c, mpx_dict_getitem(d, &k, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_BYTES);
    T_EQ_INT(mpx_value_str_len(&out), n);
    T_CHECK(memcmp(mpx_value_str_data(&out), blob, n) == 0);
    mpx_value_free(&out);
    mpx_value_free(&v);
    mpx_value_free(&k);
    free(blob);

    /* 20,000 keys in one update, read back whole */
    mpx_value big;
    T_OK(c, mpx_value_dict(&big));
    for (int i = 0; i < 20000; i++) {
        mpx_value bk = mpx_value_int(i), bv = mpx_value_int((int64_t)i * i);
        T_OK(c, mpx_value_dict_set(&big, &bk, &bv));
    }
    T_OK(c, mpx_dict_update(d, &big));
    expect_len(c, d, 20001);
    T_OK(c, mpx_dict_keys(d, &out));
    T_EQ_INT(mpx_value_len(&out), 20001);
    T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, 20000)), 19999);
    mpx_value_free(&out);
    mpx_value q = mpx_value_int(1234);
    T_OK(c, mpx_dict_getitem(d, &q, &out));
    T_EQ_INT(mpx_value_get_int(&out), 1234 * 1234);
    mpx_value_free(&big);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_named_dict_shared(void *arg)
{
    (void)arg;
    mpx_client *a = t_connect(&M, NULL);
    mpx_client *b = t_connect(&M, M.addresses[1]); /* the other listener */
    mpx_dict *da, *db;
    T_OK(a, mpx_dict_open(a, "shared-dict", &da));
    T_OK(b, mpx_dict_open(b, "shared-dict", &db));
    T_EQ_INT(mpx_proxy_id(mpx_dict_proxy(da)), mpx_proxy_id(mpx_dict_proxy(db)));
    T_EQ_STR(mpx_proxy_type(mpx_dict_proxy(da)), "dict");
    set_lit(a, da, "'from-a'", "1");
    set_lit(b, db, "'from-b'", "2");
    expect_item(b, db, "'from-a'", "1");
    expect_item(a, da, "'from-b'", "2");
    mpx_dict_close(da);
    mpx_dict_close(db);
    mpx_client_close(a);
    mpx_client_close(b);

    /* the registry keeps a named dict alive with no proxy left */
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *dc;
    T_OK(c, mpx_dict_open(c, "shared-dict", &dc));
    expect_len(c, dc, 2);
    mpx_dict_close(dc);
    mpx_client_close(c);
}

static void case_name_of_another_type(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d;
    T_OK(c, mpx_dict_open(c, "a-dict-name", &d));
    mpx_proxy *p = (mpx_proxy *)d;
    T_RC(c, mpx_proxy_open(c, "list", "a-dict-name", NULL, 0, &p), MPX_EEXIST);
    T_CHECK(p == NULL);
    T_ERRMSG_HAS(c, "a-dict-name");
    T_RC(c, mpx_proxy_open(c, "Namespace", "a-dict-name", NULL, 0, &p), MPX_EEXIST);
    mpx_value ref;
    T_RC(c, mpx_client_open(c, "a-dict-name", "list", NULL, 0, &ref), MPX_EEXIST);
    T_EQ_INT(mpx_value_kind(&ref), MPX_NONE);
    /* and the other way round */
    T_OK(c, mpx_proxy_open(c, "list", "a-list-name", NULL, 0, &p));
    mpx_dict *d2 = (mpx_dict *)p;
    T_RC(c, mpx_dict_open(c, "a-list-name", &d2), MPX_EEXIST);
    T_CHECK(d2 == NULL);
    mpx_proxy_close(p);
    /* an unknown type name */
    T_RC(c, mpx_proxy_open(c, "no-such-type", "x", NULL, 0, &p), MPX_EVALUE);
    T_RC(c, mpx_proxy_create(c, "no-such-type", NULL, 0, &p), MPX_EVALUE);
    /* the dict is still fine */
    set_lit(c, d, "1", "1");
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_unknown_method(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    mpx_value out = mpx_value_int(3);
    T_RC(c, mpx_proxy_call(mpx_dict_proxy(d), "nosuch", NULL, 0, &out), MPX_ENOMETHOD);
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    T_ERRMSG_HAS(c, "nosuch");
    /* list methods are not dict methods */
    mpx_value x = t_val("1");
    T_RC(c, mpx_proxy_call(mpx_dict_proxy(d), "append", &x, 1, &out), MPX_ENOMETHOD);
    /* wrong argument counts are TypeError */
    T_RC(c, mpx_proxy_call(mpx_dict_proxy(d), "__getitem__", NULL, 0, &out), MPX_ETYPE);
    T_ERRMSG_HAS(c, "__getitem__");
    mpx_value three[3] = {mpx_value_int(1), mpx_value_int(2), mpx_value_int(3)};
    T_RC(c, mpx_proxy_call(mpx_dict_proxy(d), "pop", three, 3, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "pop expected at most 2 arguments, got 3");
    T_RC(c, mpx_proxy_call(mpx_dict_proxy(d), "__len__", three, 1, &out), MPX_ETYPE);
    /* the generic call reaches the same methods */
    T_OK(c, mpx_proxy_call(mpx_dict_proxy(d), "__len__", NULL, 0, &out));
    T_REPR(&out, "0");
    mpx_value_free(&x);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_unknown_object(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_value out = mpx_value_int(3);
    T_RC(c, mpx_client_call(c, 999999, "__len__", NULL, 0, -1, &out), MPX_ENOOBJECT);
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    T_ERRMSG_HAS(c, "999999");
    T_RC(c, mpx_client_incref(c, 999999, NULL), MPX_ENOOBJECT);
    /* decref of an object this session holds no reference to */
    mpx_dict *d = fresh_dict(c);
    uint64_t id = mpx_proxy_id(mpx_dict_proxy(d));
    mpx_client *other = t_connect(&M, NULL);
    T_CHECK(mpx_client_decref(other, id) != MPX_OK);
    mpx_client_close(other);
    /* and the connection still works */
    T_OK(c, mpx_client_ping(c));
    mpx_dict_close(d);
    mpx_client_close(c);
}

/* An anonymous dict is freed when its last proxy closes, or its session ends. */
static void case_anonymous_lifetime(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(c);
    uint64_t id = mpx_proxy_id(mpx_dict_proxy(d));
    mpx_value out;
    T_OK(c, mpx_client_call(c, id, "__len__", NULL, 0, -1, &out));
    mpx_value_free(&out);
    mpx_dict_close(d);
    T_RC(c, mpx_client_call(c, id, "__len__", NULL, 0, -1, &out), MPX_ENOOBJECT);

    /* session end: another client watches the id disappear. The owner holds a bare
     * reference (no proxy), and its connection ends with the reference still held. */
    mpx_client *owner = t_connect(&M, NULL);
    mpx_value ref;
    T_OK(owner, mpx_client_create(owner, "dict", NULL, 0, &ref));
    T_EQ_INT(mpx_value_kind(&ref), MPX_REF);
    T_EQ_STR(mpx_value_ref_type(&ref), "dict");
    id = mpx_value_ref_id(&ref);
    mpx_value_free(&ref);
    T_OK(c, mpx_client_call(c, id, "__len__", NULL, 0, -1, &out));
    mpx_value_free(&out);
    mpx_client_close(owner);
    int rc = MPX_OK;
    for (int64_t end = t_now_ms() + 3000; t_now_ms() < end;) {
        rc = mpx_client_call(c, id, "__len__", NULL, 0, -1, &out);
        mpx_value_free(&out);
        if (rc == MPX_ENOOBJECT)
            break;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    T_RC(c, rc, MPX_ENOOBJECT);
    /* ids are never reused */
    mpx_dict *nd = fresh_dict(c);
    T_CHECK(mpx_proxy_id(mpx_dict_proxy(nd)) > id);
    mpx_dict_close(nd);
    mpx_client_close(c);
}

static void case_token_attach(void *arg)
{
    (void)arg;
    mpx_client *a = t_connect(&M, NULL);
    mpx_dict *d = fresh_dict(a);
    set_lit(a, d, "'k'", "'v'");
    char token[MPX_TOKEN_MAX], addr[MPX_TOKEN_MAX];
    T_OK(a, mpx_dict_token(d, token, sizeof token));
    T_CHECK(strstr(token, "dict") != NULL);
    T_OK(a, mpx_token_address(token, addr, sizeof addr));
    T_EQ_STR(addr, M.address);
    char tiny[4];
    T_RC(a, mpx_dict_token(d, tiny, sizeof tiny), MPX_EINVAL);

    mpx_client *b = t_connect(&M, addr);
    mpx_dict *db;
    T_OK(b, mpx_dict_attach(b, token, &db));
    T_EQ_INT(mpx_proxy_id(mpx_dict_proxy(db)), mpx_proxy_id(mpx_dict_proxy(d)));
    expect_item(b, db, "'k'", "'v'");
    /* the attached proxy holds its own reference: it outlives the creator's */
    mpx_dict_close(d);
    mpx_client_close(a);
    set_lit(b, db, "'k2'", "2");
    expect_len(b, db, 2);

    /* the generic attach with the right and the wrong type */
    mpx_proxy *p;
    T_OK(b, mpx_proxy_attach(b, token, "dict", &p));
    mpx_proxy_close(p);
    T_RC(b, mpx_proxy_attach(b, token, "list", &p), MPX_ETYPE);
    T_RC(b, mpx_proxy_attach(b, "garbage", NULL, &p), MPX_EINVAL);

    /* a list's token is not a dict's */
    mpx_proxy *lp;
    T_OK(b, mpx_proxy_create(b, "list", NULL, 0, &lp));
    char ltoken[MPX_TOKEN_MAX];
    T_OK(b, mpx_proxy_token(lp, ltoken, sizeof ltoken));
    mpx_dict *wrong = (mpx_dict *)lp;
    T_RC(b, mpx_dict_attach(b, ltoken, &wrong), MPX_ETYPE);
    T_CHECK(wrong == NULL);
    mpx_proxy_close(lp);
    mpx_dict_close(db);
    mpx_client_close(b);
}

/* A ref read back from a container names the dict: from_ref makes a proxy of it. */
static void case_from_ref(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *outer = fresh_dict(c), *inner = fresh_dict(c);
    set_lit(c, inner, "'deep'", "42");
    mpx_value k = t_val("'child'"), ref, out;
    T_OK(c, mpx_value_ref(&ref, mpx_proxy_id(mpx_dict_proxy(inner)), "dict"));
    T_OK(c, mpx_dict_setitem(outer, &k, &ref));
    mpx_value_free(&ref);
    T_OK(c, mpx_dict_getitem(outer, &k, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_REF);
    T_EQ_INT(mpx_value_ref_id(&out), mpx_proxy_id(mpx_dict_proxy(inner)));
    mpx_dict *again;
    T_OK(c, mpx_dict_from_ref(c, &out, &again));
    expect_item(c, again, "'deep'", "42");
    mpx_dict_close(again);
    mpx_value_free(&out);
    mpx_value_free(&k);
    mpx_value notref = t_val("1");
    T_RC(c, mpx_dict_from_ref(c, &notref, &again), MPX_ETYPE);
    mpx_dict_close(outer);
    mpx_dict_close(inner);
    mpx_client_close(c);
}

int main(void)
{
    const char *listen[] = {"tcp", "unix", NULL};
    t_manager_start(&M, listen, NULL);
    T_RUN(case_setitem_getitem, NULL);
    T_RUN(case_unix_socket, NULL);
    T_RUN(case_numeric_key_equality, NULL);
    T_RUN(case_getitem_missing_is_keyerror, NULL);
    T_RUN(case_delitem, NULL);
    T_RUN(case_contains, NULL);
    T_RUN(case_get, NULL);
    T_RUN(case_setdefault, NULL);
    T_RUN(case_pop, NULL);
    T_RUN(case_popitem, NULL);
    T_RUN(case_keys_values_items_order, NULL);
    T_RUN(case_update, NULL);
    T_RUN(case_update_errors, NULL);
    T_RUN(case_unhashable_keys, NULL);
    T_RUN(case_clear_and_copy, NULL);
    T_RUN(case_create_with_initial, NULL);
    T_RUN(case_value_kinds_roundtrip, NULL);
    T_RUN(case_large_values, NULL);
    T_RUN(case_named_dict_shared, NULL);
    T_RUN(case_name_of_another_type, NULL);
    T_RUN(case_unknown_method, NULL);
    T_RUN(case_unknown_object, NULL);
    T_RUN(case_anonymous_lifetime, NULL);
    T_RUN(case_token_attach, NULL);
    T_RUN(case_from_ref, NULL);
    return t_finish_with_manager(&M);
}
