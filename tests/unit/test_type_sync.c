/* test_type_sync.c - manager/type_semaphore.c, type_event.c and type_barrier.c through
 * object_invoke, without a server.
 *
 * With no session and no server a call that must wait cannot park (mpx_call_park fails with
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

#include "sync.h"
#include "type_harness.h"

/* ---- Semaphore -------------------------------------------------------------------------- */

static void test_semaphore_counts(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_semaphore, "()");
    th_check(&f, "get_value", "()", "1");
    th_check(&f, "acquire", "()", "True");
    th_check(&f, "get_value", "()", "0");
    th_check(&f, "release", "()", "None");
    th_check(&f, "release", "(3,)", "None");
    th_check(&f, "get_value", "()", "4");
    th_check(&f, "acquire", "(True, 5)", "True");
    th_check(&f, "acquire", "(False,)", "True");
    th_check(&f, "acquire", "(1, 0)", "True");
    th_check(&f, "get_value", "()", "1");
    /* an unbounded semaphore may grow past its initial value */
    th_check(&f, "release", "(True,)", "None");
    th_check(&f, "get_value", "()", "2");
    object_clear(&f.obj);

    th_make_ok(&f, &type_semaphore, "(3,)");
    th_check(&f, "get_value", "()", "3");
    object_clear(&f.obj);
}

static void test_semaphore_non_blocking(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_semaphore, "(0,)");
    th_check(&f, "acquire", "(False,)", "TimeoutError: timed out");
    th_check(&f, "acquire", "(True, 0)", "TimeoutError: timed out");
    th_check(&f, "acquire", "(True, 0.0)", "TimeoutError: timed out");
    /* a blocking acquire would park, which needs a session */
    th_check(&f, "acquire", "()", CANNOT_PARK);
    th_check(&f, "acquire", "(True, 2.5)", CANNOT_PARK);
    th_check(&f, "get_value", "()", "0");
    th_check(&f, "release", "()", "None");
    th_check(&f, "acquire", "(False,)", "True");
    object_clear(&f.obj);
}

static void test_semaphore_bad_args(void **state)
{
    (void)state;
    th_make_fails(&type_semaphore, "(-1,)", "ValueError: semaphore initial value must be >= 0");
    th_make_fails(&type_semaphore, "('x',)", "TypeError: value must be an integer, not 'str'");
    th_make_fails(&type_semaphore, "(1.5,)", "TypeError: value must be an integer, not 'float'");
    th_make_fails(&type_semaphore, "(1, 2)",
                  "TypeError: Semaphore expected at most 1 argument, got 2");
    th_make_fails(&type_bounded_semaphore, "(-5,)",
                  "ValueError: semaphore initial value must be >= 0");

    type_fixture f;
    th_make_ok(&f, &type_semaphore, "(2,)");
    th_check(&f, "acquire", "(False, 1)",
             "ValueError: can't specify a timeout for a non-blocking call");
    th_check(&f, "acquire", "(True, -2)",
             "ValueError: timeout value must be a non-negative number");
    th_check(&f, "acquire", "(True, 'soon')", "TypeError: timeout must be a number, not 'str'");
    th_check(&f, "acquire", "(True, 1, 2)",
             "TypeError: acquire expected at most 2 arguments, got 3");
    th_check(&f, "release", "(0,)", "ValueError: n must be one or more");
    th_check(&f, "release", "(-3,)", "ValueError: n must be one or more");
    th_check(&f, "release", "('1',)", "TypeError: n must be an integer, not 'str'");
    th_check(&f, "get_value", "(1,)", "TypeError: get_value expected 0 arguments, got 1");
    th_check(&f, "locked", "()", "AttributeError: 'Semaphore' object has no method 'locked'");
    th_check(&f, "get_value", "()", "2"); /* no failed call changed it */
    th_check(&f, "release", "(9223372036854775805,)", "None");
    th_check(&f, "get_value", "()", "9223372036854775807");
    th_check(&f, "release", "()", "OverflowError: semaphore value too large");
    object_clear(&f.obj);
}

static void test_bounded_semaphore(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_bounded_semaphore, "()");
    th_check(&f, "release", "()", "ValueError: Semaphore released too many times");
    th_check(&f, "acquire", "()", "True");
    th_check(&f, "acquire", "(False,)", "TimeoutError: timed out");
    th_check(&f, "release", "()", "None");
    th_check(&f, "get_value", "()", "1");
    object_clear(&f.obj);

    th_make_ok(&f, &type_bounded_semaphore, "(3,)");
    th_check(&f, "acquire", "()", "True");
    th_check(&f, "acquire", "()", "True");
    /* all or nothing: n = 3 would go one past the bound, so nothing is released */
    th_check(&f, "release", "(3,)", "ValueError: Semaphore released too many times");
    th_check(&f, "get_value", "()", "1");
    th_check(&f, "release", "(2,)", "None");
    th_check(&f, "get_value", "()", "3");
    th_check(&f, "release", "()", "ValueError: Semaphore released too many times");
    object_clear(&f.obj);

    th_make_ok(&f, &type_bounded_semaphore, "(0,)");
    th_check(&f, "acquire", "(False,)", "TimeoutError: timed out");
    th_check(&f, "release", "()", "ValueError: Semaphore released too many times");
    object_clear(&f.obj);
}

/* ---- Event ------------------------------------------------------------------------------ */

static void test_event(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_event, "()");
    th_check(&f, "is_set", "()", "False");
    th_check(&f, "wait", "(0,)", "False");
    th_check(&f, "wait", "(-1,)", "False"); /* Python: a negative timeout does not wait */
    th_check(&f, "wait", "()", CANNOT_PARK);
    th_check(&f, "wait", "(None,)", CANNOT_PARK);
    th_check(&f, "wait", "(0.5,)", CANNOT_PARK);
    th_check(&f, "set", "()", "None");
    th_check(&f, "is_set", "()", "True");
    th_check(&f, "wait", "()", "True");
    th_check(&f, "wait", "(None,)", "True");
    th_check(&f, "wait", "(0,)", "True");
    th_check(&f, "wait", "(10,)", "True");
    th_check(&f, "set", "()", "None");
    th_check(&f, "is_set", "()", "True");
    th_check(&f, "clear", "()", "None");
    th_check(&f, "is_set", "()", "False");
    th_check(&f, "clear", "()", "None");
    th_check(&f, "wait", "(0.0,)", "False");
    object_clear(&f.obj);
}

static void test_event_bad_args(void **state)
{
    (void)state;
    th_make_fails(&type_event, "(True,)", "TypeError: Event expected 0 arguments, got 1");
    type_fixture f;
    th_make_ok(&f, &type_event, "()");
    th_check(&f, "wait", "('x',)", "TypeError: timeout must be a number, not 'str'");
    th_check(&f, "wait", "(1, 2)", "TypeError: wait expected at most 1 argument, got 2");
    th_check(&f, "set", "(1,)", "TypeError: set expected 0 arguments, got 1");
    th_check(&f, "isSet", "()", "AttributeError: 'Event' object has no method 'isSet'");
    th_check(&f, "is_set", "()", "False");
    object_clear(&f.obj);
}

/* ---- Barrier ---------------------------------------------------------------------------- */

static void test_barrier_init(void **state)
{
    (void)state;
    th_make_fails(&type_barrier, "()", "TypeError: Barrier expected at least 1 argument, got 0");
    th_make_fails(&type_barrier, "(2, None, None, 1)",
                  "TypeError: Barrier expected at most 3 arguments, got 4");
    th_make_fails(&type_barrier, "(0,)", "ValueError: parties must be > 0");
    th_make_fails(&type_barrier, "(-3,)", "ValueError: parties must be > 0");
    th_make_fails(&type_barrier, "(False,)", "ValueError: parties must be > 0");
    th_make_fails(&type_barrier, "('2',)", "TypeError: parties must be an integer, not 'str'");
    th_make_fails(&type_barrier, "(2.0,)", "TypeError: parties must be an integer, not 'float'");
    th_make_fails(&type_barrier, "(2, 'print')",
                  "TypeError: Barrier action is not supported over mpx");
    th_make_fails(&type_barrier, "(2, None, -1)",
                  "ValueError: timeout value must be a non-negative number");
    th_make_fails(&type_barrier, "(2, None, 'x')",
                  "TypeError: timeout must be a number, not 'str'");

    type_fixture f;
    th_make_ok(&f, &type_barrier, "(3, None, 1.5)");
    th_check(&f, "parties", "()", "3");
    object_clear(&f.obj);
    th_make_ok(&f, &type_barrier, "(True, None, None)");
    th_check(&f, "parties", "()", "1");
    object_clear(&f.obj);
}

static void test_barrier_state(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_barrier, "(3,)");
    th_check(&f, "parties", "()", "3");
    th_check(&f, "n_waiting", "()", "0");
    th_check(&f, "broken", "()", "False");
    th_check(&f, "abort", "()", "None");
    th_check(&f, "broken", "()", "True");
    th_check(&f, "wait", "()", "BrokenBarrierError: barrier is broken");
    th_check(&f, "wait", "(5,)", "BrokenBarrierError: barrier is broken");
    th_check(&f, "abort", "()", "None");
    th_check(&f, "reset", "()", "None");
    th_check(&f, "broken", "()", "False");
    th_check(&f, "n_waiting", "()", "0");
    th_check(&f, "reset", "()", "None");
    th_check(&f, "broken", "()", "False");
    th_check(&f, "wait", "('x',)", "TypeError: timeout must be a number, not 'str'");
    th_check(&f, "broken", "()", "False"); /* a bad argument is not a failed wait */
    th_check(&f, "parties", "(1,)", "TypeError: parties expected 0 arguments, got 1");
    object_clear(&f.obj);
}

static void test_barrier_wait(void **state)
{
    (void)state;
    type_fixture f;
    /* one party: every wait is a whole round, and the only arrival has index 0 */
    th_make_ok(&f, &type_barrier, "(1,)");
    th_check(&f, "wait", "()", "0");
    th_check(&f, "wait", "(0,)", "0");
    th_check(&f, "wait", "(None,)", "0");
    th_check(&f, "n_waiting", "()", "0");
    th_check(&f, "broken", "()", "False");
    object_clear(&f.obj);

    /* a wait with no time left breaks the barrier, as Python's does */
    th_make_ok(&f, &type_barrier, "(2,)");
    th_check(&f, "wait", "(0,)", "BrokenBarrierError: barrier is broken");
    th_check(&f, "broken", "()", "True");
    th_check(&f, "reset", "()", "None");
    th_check(&f, "wait", "(-1,)", "BrokenBarrierError: barrier is broken");
    th_check(&f, "reset", "()", "None");
    /* a wait that cannot park fails, and breaks the barrier like any failed wait */
    th_check(&f, "wait", "()", CANNOT_PARK);
    th_check(&f, "broken", "()", "True");
    th_check(&f, "n_waiting", "()", "0");
    object_clear(&f.obj);

    /* the constructor's timeout applies when wait() is given none */
    th_make_ok(&f, &type_barrier, "(2, None, 0)");
    th_check(&f, "wait", "()", "BrokenBarrierError: barrier is broken");
    th_check(&f, "broken", "()", "True");
    th_check(&f, "reset", "()", "None");
    th_check(&f, "wait", "(None,)", "BrokenBarrierError: barrier is broken");
    th_check(&f, "reset", "()", "None");
    th_check(&f, "wait", "(3,)", CANNOT_PARK); /* its own timeout wins over the default */
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
