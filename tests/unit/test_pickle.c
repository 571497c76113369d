/* test_pickle.c - protocol/pickle.c: the data-only unpickler and the pickler of replies.
 *
 * The decoder is fed pickles CPython made (pickle_cases.h, written by pickle_cases.py):
 * every kind of data at protocols 2 to 5, a manager request, a proxy passed as an
 * argument, and hostile pickles, each refused with its reason and nothing run. The writer
 * is checked by reading its output back and against the bytes CPython writes for the
 * same reply. `test_pickle --dump LITERAL` prints the pickle of a Python literal in hex,
 * for test_pickle_interop.py to hand to a real Python.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mpx/error.h"
#include "pickle.h"
#include "pickle_cases.h"

static char *decode_outcome(const uint8_t *data, size_t len)
{
    mpx_value v;
    char err[256], *out;
    int rc = pickle_decode(data, len, &v, err, sizeof err);
    if (rc == MPX_OK) {
        out = mpx_value_repr(&v);
        mpx_value_free(&v);
    } else {
        assert_int_equal(mpx_value_kind(&v), MPX_NONE);
        assert_true(asprintf(&out, "%s: %s", mpx_err_name(rc), err) > 0);
    }
    assert_non_null(out);
    return out;
}

static void cpython_pickles(void **state)
{
    (void)state;
    size_t n = sizeof PICKLE_CASES / sizeof PICKLE_CASES[0];
    for (size_t i = 0; i < n; i++) {
        const pickle_case *pc = &PICKLE_CASES[i];
        char *got = decode_outcome((const uint8_t *)pc->data, pc->len);
        bool ok = pc->refused ? strncmp(got, pc->expect, strlen(pc->expect)) == 0
                              : strcmp(got, pc->expect) == 0;
        if (!ok)
            fail_msg("%s (protocol %d): got %.300s, want %.300s", pc->name, pc->protocol, got,
                     pc->expect);
        free(got);
    }
}

/* Cut anywhere, a pickle fails cleanly: an error, no value, nothing leaked. */
static void every_truncation_fails_cleanly(void **state)
{
    (void)state;
    size_t n = sizeof PICKLE_CASES / sizeof PICKLE_CASES[0];
    for (size_t i = 0; i < n; i++) {
        const pickle_case *pc = &PICKLE_CASES[i];
        if (pc->len > 400 || pc->refused)
            continue;
        for (size_t cut = 0; cut < pc->len; cut++) {
            mpx_value v;
            char err[256];
            int rc = pickle_decode((const uint8_t *)pc->data, cut, &v, err, sizeof err);
            assert_int_not_equal(rc, MPX_OK);
            assert_int_equal(mpx_value_kind(&v), MPX_NONE);
        }
    }
}

/* A memo that doubles at every step is refused quickly, not expanded. */
static void memo_bomb_costs_little(void **state)
{
    (void)state;
    const pickle_case *bomb = NULL;
    for (size_t i = 0; i < sizeof PICKLE_CASES / sizeof PICKLE_CASES[0]; i++)
        if (strcmp(PICKLE_CASES[i].name, "memo_bomb") == 0)
            bomb = &PICKLE_CASES[i];
    assert_non_null(bomb);
    clock_t t0 = clock();
    mpx_value v;
    char err[256];
    assert_int_equal(pickle_decode((const uint8_t *)bomb->data, bomb->len, &v, err, sizeof err),
                     MPX_EVALUE);
    printf("memo bomb of %zu bytes (2^40 cells if expanded) refused in %.3f ms\n", bomb->len,
           (double)(clock() - t0) * 1000.0 / CLOCKS_PER_SEC);
}

static char *roundtrip(const char *literal)
{
    mpx_value v;
    char err[128];
    if (mpx_value_parse(literal, &v, err, sizeof err) != MPX_OK)
        fail_msg("cannot parse %s: %s", literal, err);
    pickle_out o = {0};
    assert_int_equal(pickle_begin(&o), MPX_OK);
    assert_int_equal(pickle_value(&o, &v, NULL, NULL), MPX_OK);
    assert_int_equal(pickle_end(&o), MPX_OK);
    char *got = decode_outcome(o.data, o.len);
    pickle_out_free(&o);
    mpx_value_free(&v);
    return got;
}

static void writer_round_trips(void **state)
{
    (void)state;
    const char *cases[] = {
        "None", "True", "[0, 255, 256, 65535, 65536, -1, -129, 2147483648, -2147483649]",
        "[9223372036854775807, -9223372036854775808, 1.5, -0.0]",
        "('', 'x', 'é€😀', b'', b'\\x00\\xff')",
        "((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4))",
        "{'a': 1, 2: [3], (1, 'b'): None}", "[[[[]]]]",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = roundtrip(cases[i]);
        assert_string_equal(got, cases[i]);
        free(got);
    }
    mpx_value big, item;
    assert_int_equal(mpx_value_list(&big, 2500), MPX_OK);
    for (int i = 0; i < 2500; i++) {
        item = mpx_value_int(i);
        mpx_value_append(&big, &item);
    }
    pickle_out o = {0};
    pickle_begin(&o);
    pickle_value(&o, &big, NULL, NULL);
    assert_int_equal(pickle_end(&o), MPX_OK);
    mpx_value back;
    char err[128];
    assert_int_equal(pickle_decode(o.data, o.len, &back, err, sizeof err), MPX_OK);
    assert_true(mpx_value_equal(&back, &big));
    mpx_value_free(&back);
    mpx_value_free(&big);
    pickle_out_free(&o);
}

/* ('#ERROR', KeyError('x')) written with the pieces is what CPython writes (protocol 4,
 * without the FRAME and MEMOIZE opcodes, which Python's reader does not need). */
static void error_reply_matches_cpython(void **state)
{
    (void)state;
    pickle_out o = {0};
    mpx_value x;
    assert_int_equal(mpx_value_str(&x, "x"), MPX_OK);
    pickle_begin(&o);
    pickle_str(&o, "#ERROR", 6);
    pickle_global(&o, "builtins", "KeyError");
    pickle_value(&o, &x, NULL, NULL);
    pickle_tuple(&o, 1);
    pickle_reduce(&o);
    pickle_tuple(&o, 2);
    assert_int_equal(pickle_end(&o), MPX_OK);
    static const uint8_t want[] = "\x80\x04\x8c\x06#ERROR\x8c\x08" "builtins\x8c\x08KeyError"
                                  "\x93\x8c\x01x\x85R\x86.";
    assert_int_equal(o.len, sizeof want - 1);
    assert_memory_equal(o.data, want, o.len);
    mpx_value_free(&x);
    pickle_out_free(&o);
}

static void refs_need_a_writer(void **state)
{
    (void)state;
    mpx_value ref;
    assert_int_equal(mpx_value_ref(&ref, 31, "dict"), MPX_OK);
    pickle_out o = {0};
    pickle_begin(&o);
    assert_int_equal(pickle_value(&o, &ref, NULL, NULL), MPX_EVALUE);
    assert_int_equal(pickle_end(&o), MPX_EVALUE); /* the first failure sticks */
    mpx_value_free(&ref);
    pickle_out_free(&o);
}

/* A Token made by NEWOBJ but never given its state (no BUILD) is refused as a proxy, not
 * read as a tuple it is not. Found by fuzz/fuzz_pickle.c. */
static void token_without_state_is_refused(void **state)
{
    (void)state;
    static const char mm[] = "\x8c\x18multiprocessing.managers";
    char pk[256];
    int n = snprintf(pk, sizeof pk,
                     "\x80\x04%s\x8c\x0cRebuildProxy\x93(%s\x8c\x09" "DictProxy\x93"
                     "%s\x8c\x05Token\x93)\x81\x8c\x06pickle}tR.", mm, mm, mm);
    assert_true(n > 0 && (size_t)n < sizeof pk);
    char *got = decode_outcome((const uint8_t *)pk, (size_t)n);
    assert_string_equal(got, "ValueError: a proxy whose Token is not (typeid, address, id)");
    free(got);
}

/* --dump LITERAL: the pickle of a Python literal, in hex, on stdout. */
static int dump(const char *literal)
{
    mpx_value v;
    char err[128];
    if (mpx_value_parse(literal, &v, err, sizeof err) != MPX_OK) {
        fprintf(stderr, "test_pickle: %s\n", err);
        return 2;
    }
    pickle_out o = {0};
    pickle_begin(&o);
    pickle_value(&o, &v, NULL, NULL);
    int rc = pickle_end(&o);
    for (size_t i = 0; rc == MPX_OK && i < o.len; i++)
        printf("%02x", o.data[i]);
    printf("\n");
    pickle_out_free(&o);
    mpx_value_free(&v);
    return rc == MPX_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpython_pickles),
        cmocka_unit_test(every_truncation_fails_cleanly),
        cmocka_unit_test(memo_bomb_costs_little),
        cmocka_unit_test(writer_round_trips),
        cmocka_unit_test(error_reply_matches_cpython),
        cmocka_unit_test(refs_need_a_writer),
        cmocka_unit_test(token_without_state_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
