/* test_type_sync.c - manager/type_semaphore.c, type_event.c and type_barrier.c through
 * object_invoke, without a server.
 *
 * With no session and no server a call that must wait cannot park (call_park fails with
 * RuntimeError), so these tests cover what answers at once: counting, non-blocking
 * failures, argument errors and state changes. Waiting across processes is tested by the
 * integration tests against a real mpx-manager.
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
#include "sync.h"

#define CANNOT_PARK "RuntimeError: this call must wait, and cannot here"

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
    case MPX_ETIMEOUT:
        return "Timeout";
    case MPX_EBROKEN:
        return "BrokenBarrierError";
    case MPX_ERUNTIME:
        return "RuntimeError";
    case MPX_EOVERFLOW:
        return "OverflowError";
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

/* Builds an object of type from constructor arguments given as a tuple literal; returns
 * "ok" or "ExceptionName: message", malloc'd. */
static char *make(fixture *f, const object_type *type, const char *ctor_args)
{
    assert_int_equal(method_index_build(&f->ix, type), MPX_OK);
    memset(&f->obj, 0, sizeof f->obj);
    f->obj.type = type;
    f->obj.methods = &f->ix;
    mpx_value args = parse(ctor_args);
    call c = {.args = mpx_value_items(&args), .nargs = mpx_value_len(&args)};
    int rc = object_init(&f->obj, &c);
    char *out;
    if (rc == MPX_OK)
        out = strdup("ok");
    else
        assert_true(asprintf(&out, "%s: %s", err_name(rc), c.errmsg) >= 0);
    assert_non_null(out);
    mpx_value_free(&args);
    return out;
}

/* Builds an object that must construct. */
static void make_ok(fixture *f, const object_type *type, const char *ctor_args)
{
    char *got = make(f, type, ctor_args);
    assert_string_equal(got, "ok");
    free(got);
}

/* The constructor must fail with want; the half-made object is cleared. */
static void make_fails(const object_type *type, const char *ctor_args, const char *want)
{
    fixture f;
    char *got = make(&f, type, ctor_args);
    assert_string_equal(got, want);
    free(got);
    object_clear(&f.obj);
}

/* Calls method with args given as a tuple literal; checks repr(result) or the error. */
static void check(fixture *f, const char *method, const char *args, const char *want)
{
    mpx_value a = parse(args);
    call c = {.args = mpx_value_items(&a), .nargs = mpx_value_len(&a)};
    int rc = object_invoke(&f->obj, method, &c);
    char *got;
    if (rc == MPX_OK) {
        got = mpx_value_repr(&c.result);
        assert_non_null(got);
    } else {
        assert_int_equal(mpx_value_kind(&c.result), MPX_NONE);
        assert_true(asprintf(&got, "%s: %s", err_name(rc), c.errmsg) >= 0);
    }
    if (strcmp(got, want) != 0)
        fail_msg("%s.%s%s: got %s, want %s", f->obj.type->name, method, args, got, want);
    free(got);
    mpx_value_free(&c.result);
    mpx_value_free(&a);
}

/* ---- Semaphore -------------------------------------------------------------------------- */

static void test_semaphore_counts(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_semaphore, "()");
    check(&f, "get_value", "()", "1");
    check(&f, "acquire", "()", "True");
    check(&f, "get_value", "()", "0");
    check(&f, "release", "()", "None");
    check(&f, "release", "(3,)", "None");
    check(&f, "get_value", "()", "4");
    check(&f, "acquire", "(True, 5)", "True");
    check(&f, "acquire", "(False,)", "True");
    check(&f, "acquire", "(1, 0)", "True");
    check(&f, "get_value", "()", "1");
    /* an unbounded semaphore may grow past its initial value */
    check(&f, "release", "(True,)", "None");
    check(&f, "get_value", "()", "2");
    object_clear(&f.obj);

    make_ok(&f, &type_semaphore, "(3,)");
    check(&f, "get_value", "()", "3");
    object_clear(&f.obj);
}

static void test_semaphore_non_blocking(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_semaphore, "(0,)");
    check(&f, "acquire", "(False,)", "Timeout: timed out");
    check(&f, "acquire", "(True, 0)", "Timeout: timed out");
    check(&f, "acquire", "(True, 0.0)", "Timeout: timed out");
    /* a blocking acquire would park, which needs a session */
    check(&f, "acquire", "()", CANNOT_PARK);
    check(&f, "acquire", "(True, 2.5)", CANNOT_PARK);
    check(&f, "get_value", "()", "0");
    check(&f, "release", "()", "None");
    check(&f, "acquire", "(False,)", "True");
    object_clear(&f.obj);
}

static void test_semaphore_bad_args(void **state)
{
    (void)state;
    make_fails(&type_semaphore, "(-1,)", "ValueError: semaphore initial value must be >= 0");
    make_fails(&type_semaphore, "('x',)", "TypeError: value must be an integer, not 'str'");
    make_fails(&type_semaphore, "(1.5,)", "TypeError: value must be an integer, not 'float'");
    make_fails(&type_semaphore, "(1, 2)",
               "TypeError: Semaphore expected at most 1 argument, got 2");
    make_fails(&type_bounded_semaphore, "(-5,)",
               "ValueError: semaphore initial value must be >= 0");

    fixture f;
    make_ok(&f, &type_semaphore, "(2,)");
    check(&f, "acquire", "(False, 1)",
          "ValueError: can't specify a timeout for a non-blocking call");
    check(&f, "acquire", "(True, -2)", "ValueError: timeout value must be a non-negative number");
    check(&f, "acquire", "(True, 'soon')", "TypeError: timeout must be a number, not 'str'");
    check(&f, "acquire", "(True, 1, 2)", "TypeError: acquire expected at most 2 arguments, got 3");
    check(&f, "release", "(0,)", "ValueError: n must be one or more");
    check(&f, "release", "(-3,)", "ValueError: n must be one or more");
    check(&f, "release", "('1',)", "TypeError: n must be an integer, not 'str'");
    check(&f, "get_value", "(1,)", "TypeError: get_value expected 0 arguments, got 1");
    check(&f, "locked", "()", "NoMethod: 'Semaphore' object has no method 'locked'");
    check(&f, "get_value", "()", "2"); /* no failed call changed it */
    check(&f, "release", "(9223372036854775805,)", "None");
    check(&f, "get_value", "()", "9223372036854775807");
    check(&f, "release", "()", "OverflowError: semaphore value too large");
    object_clear(&f.obj);
}

static void test_bounded_semaphore(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_bounded_semaphore, "()");
    check(&f, "release", "()", "ValueError: Semaphore released too many times");
    check(&f, "acquire", "()", "True");
    check(&f, "acquire", "(False,)", "Timeout: timed out");
    check(&f, "release", "()", "None");
    check(&f, "get_value", "()", "1");
    object_clear(&f.obj);

    make_ok(&f, &type_bounded_semaphore, "(3,)");
    check(&f, "acquire", "()", "True");
    check(&f, "acquire", "()", "True");
    /* all or nothing: n = 3 would go one past the bound, so nothing is released */
    check(&f, "release", "(3,)", "ValueError: Semaphore released too many times");
    check(&f, "get_value", "()", "1");
    check(&f, "release", "(2,)", "None");
    check(&f, "get_value", "()", "3");
    check(&f, "release", "()", "ValueError: Semaphore released too many times");
    object_clear(&f.obj);

    make_ok(&f, &type_bounded_semaphore, "(0,)");
    check(&f, "acquire", "(False,)", "Timeout: timed out");
    check(&f, "release", "()", "ValueError: Semaphore released too many times");
    object_clear(&f.obj);
}

/* ---- Event ------------------------------------------------------------------------------ */

static void test_event(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_event, "()");
    check(&f, "is_set", "()", "False");
    check(&f, "wait", "(0,)", "False");
    check(&f, "wait", "(-1,)", "False"); /* Python: a negative timeout does not wait */
    check(&f, "wait", "()", CANNOT_PARK);
    check(&f, "wait", "(None,)", CANNOT_PARK);
    check(&f, "wait", "(0.5,)", CANNOT_PARK);
    check(&f, "set", "()", "None");
    check(&f, "is_set", "()", "True");
    check(&f, "wait", "()", "True");
    check(&f, "wait", "(None,)", "True");
    check(&f, "wait", "(0,)", "True");
    check(&f, "wait", "(10,)", "True");
    check(&f, "set", "()", "None");
    check(&f, "is_set", "()", "True");
    check(&f, "clear", "()", "None");
    check(&f, "is_set", "()", "False");
    check(&f, "clear", "()", "None");
    check(&f, "wait", "(0.0,)", "False");
    object_clear(&f.obj);
}

static void test_event_bad_args(void **state)
{
    (void)state;
    make_fails(&type_event, "(True,)", "TypeError: Event expected 0 arguments, got 1");
    fixture f;
    make_ok(&f, &type_event, "()");
    check(&f, "wait", "('x',)", "TypeError: timeout must be a number, not 'str'");
    check(&f, "wait", "(1, 2)", "TypeError: wait expected at most 1 argument, got 2");
    check(&f, "set", "(1,)", "TypeError: set expected 0 arguments, got 1");
    check(&f, "isSet", "()", "NoMethod: 'Event' object has no method 'isSet'");
    check(&f, "is_set", "()", "False");
    object_clear(&f.obj);
}

/* ---- Barrier ---------------------------------------------------------------------------- */

static void test_barrier_init(void **state)
{
    (void)state;
    make_fails(&type_barrier, "()", "TypeError: Barrier expected at least 1 argument, got 0");
    make_fails(&type_barrier, "(2, None, None, 1)",
               "TypeError: Barrier expected at most 3 arguments, got 4");
    make_fails(&type_barrier, "(0,)", "ValueError: parties must be > 0");
    make_fails(&type_barrier, "(-3,)", "ValueError: parties must be > 0");
    make_fails(&type_barrier, "(False,)", "ValueError: parties must be > 0");
    make_fails(&type_barrier, "('2',)", "TypeError: parties must be an integer, not 'str'");
    make_fails(&type_barrier, "(2.0,)", "TypeError: parties must be an integer, not 'float'");
    make_fails(&type_barrier, "(2, 'print')",
               "TypeError: Barrier action is not supported over mpx");
    make_fails(&type_barrier, "(2, None, -1)",
               "ValueError: timeout value must be a non-negative number");
    make_fails(&type_barrier, "(2, None, 'x')",
               "TypeError: timeout must be a number, not 'str'");

    fixture f;
    make_ok(&f, &type_barrier, "(3, None, 1.5)");
    check(&f, "parties", "()", "3");
    object_clear(&f.obj);
    make_ok(&f, &type_barrier, "(True, None, None)");
    check(&f, "parties", "()", "1");
    object_clear(&f.obj);
}

static void test_barrier_state(void **state)
{
    (void)state;
    fixture f;
    make_ok(&f, &type_barrier, "(3,)");
    check(&f, "parties", "()", "3");
    check(&f, "n_waiting", "()", "0");
    check(&f, "broken", "()", "False");
    check(&f, "abort", "()", "None");
    check(&f, "broken", "()", "True");
    check(&f, "wait", "()", "BrokenBarrierError: barrier is broken");
    check(&f, "wait", "(5,)", "BrokenBarrierError: barrier is broken");
    check(&f, "abort", "()", "None");
    check(&f, "reset", "()", "None");
    check(&f, "broken", "()", "False");
    check(&f, "n_waiting", "()", "0");
    check(&f, "reset", "()", "None");
    check(&f, "broken", "()", "False");
    check(&f, "wait", "('x',)", "TypeError: timeout must be a number, not 'str'");
    check(&f, "broken", "()", "False"); /* a bad argument is not a failed wait */
    check(&f, "parties", "(1,)", "TypeError: parties expected 0 arguments, got 1");
    object_clear(&f.obj);
}

static void test_barrier_wait(void **state)
{
    (void)state;
    fixture f;
    /* one party: every wait is a whole round, and the only arrival has index 0 */
    make_ok(&f, &type_barrier, "(1,)");
    check(&f, "wait", "()", "0");
    check(&f, "wait", "(0,)", "0");
    check(&f, "wait", "(None,)", "0");
    check(&f, "n_waiting", "()", "0");
    check(&f, "broken", "()", "False");
    object_clear(&f.obj);

    /* a wait with no time left breaks the barrier, as Python's does */
    make_ok(&f, &type_barrier, "(2,)");
    check(&f, "wait", "(0,)", "BrokenBarrierError: barrier is broken");
    check(&f, "broken", "()", "True");
    check(&f, "reset", "()", "None");
    check(&f, "wait", "(-1,)", "BrokenBarrierError: barrier is broken");
    check(&f, "reset", "()", "None");
    /* a wait that cannot park fails, and breaks the barrier like any failed wait */
    check(&f, "wait", "()", CANNOT_PARK);
    check(&f, "broken", "()", "True");
    check(&f, "n_waiting", "()", "0");
    object_clear(&f.obj);

    /* the constructor's timeout applies when wait() is given none */
    make_ok(&f, &type_barrier, "(2, None, 0)");
    check(&f, "wait", "()", "BrokenBarrierError: barrier is broken");
    check(&f, "broken", "()", "True");
    check(&f, "reset", "()", "None");
    check(&f, "wait", "(None,)", "BrokenBarrierError: barrier is broken");
    check(&f, "reset", "()", "None");
    check(&f, "wait", "(3,)", CANNOT_PARK); /* its own timeout wins over the default */
    object_clear(&f.obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semaphore_counts),
        cmocka_unit_test(test_semaphore_non_blocking),
        cmocka_unit_test(test_semaphore_bad_args),
        cmocka_unit_test(test_bounded_semaphore),
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_event_bad_args),
        cmocka_unit_test(test_barrier_init),
        cmocka_unit_test(test_barrier_state),
        cmocka_unit_test(test_barrier_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
