/* test_type_queue.c - manager/type_queue.c through object_invoke, without a server.
 *
 * Without a session nothing can park, so these tests cover what answers at once: FIFO
 * order across the ring's growth and wrap-around, the batches, Full and Empty, Python's
 * argument rules, and the JoinableQueue counts. Parking, delivery and dead takers are
 * tested against a real manager (tests/integration/test_queue.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sync.h"
#include "type_harness.h"

static void test_fifo_across_growth_and_wrap(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_queue, "()");
    /* interleave so the head moves while the ring grows past its first capacity */
    char args[32], want[32];
    int next_put = 0, next_get = 0;
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < 7; k++) {
            snprintf(args, sizeof args, "(%d,)", next_put++);
            th_check(&f, "put", args, "None");
        }
        for (int k = 0; k < 5; k++) {
            snprintf(want, sizeof want, "%d", next_get++);
            th_check(&f, "get", "()", want);
        }
    }
    snprintf(want, sizeof want, "%d", next_put - next_get);
    th_check(&f, "qsize", "()", want);
    while (next_get < next_put) {
        snprintf(want, sizeof want, "%d", next_get++);
        th_check(&f, "get_nowait", "()", want);
    }
    th_check(&f, "empty", "()", "True");
    th_check(&f, "get", "(False,)", "Empty: the queue is empty");
    th_check(&f, "get", "(True, 0)", "Empty: the queue is empty");
    th_check(&f, "get", "()", CANNOT_PARK);
    object_clear(&f.obj);
}

static void test_bounded(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_queue, "(2,)");
    th_check(&f, "full", "()", "False");
    th_check(&f, "put", "('a',)", "None");
    th_check(&f, "put_nowait", "(['b'],)", "None");
    th_check(&f, "full", "()", "True");
    th_check(&f, "put_nowait", "('c',)", "Full: the queue is full");
    th_check(&f, "put", "('c', False)", "Full: the queue is full");
    th_check(&f, "put", "('c', True, 0)", "Full: the queue is full");
    th_check(&f, "put", "('c', True, 0.5)", CANNOT_PARK);
    th_check(&f, "put_many", "(['x', 'y', 'z'],)",
             "ValueError: 3 items can never fit in a queue of maxsize 2");
    th_check(&f, "get", "()", "'a'");
    th_check(&f, "put_many", "(['c', 'd'], False)", "Full: the queue is full");
    th_check(&f, "put_many", "(('c',), False)", "None");
    th_check(&f, "get_many", "(10,)", "[['b'], 'c']");
    object_clear(&f.obj);

    /* maxsize <= 0 is unbounded */
    th_make_ok(&f, &type_queue, "(-1,)");
    th_check(&f, "put_many", "([1, 2, 3, 4, 5],)", "None");
    th_check(&f, "full", "()", "False");
    object_clear(&f.obj); /* frees what is left in it */
}

static void test_batches(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_queue, "()");
    th_check(&f, "put_many", "([],)", "None");
    th_check(&f, "put_many", "([1, 2, 3],)", "None");
    th_check(&f, "put_many", "((4, 5),)", "None");
    th_check(&f, "get_many", "(2,)", "[1, 2]");
    th_check(&f, "get_many", "(1,)", "[3]");
    th_check(&f, "get_many", "(100, False)", "[4, 5]");
    th_check(&f, "get_many", "(100, False)", "Empty: the queue is empty");
    th_check(&f, "get_many", "(0,)", "ValueError: max must be at least 1");
    th_check(&f, "get_many", "('1',)", "TypeError: max must be int, not str");
    th_check(&f, "put_many", "('abc',)", "TypeError: items must be a list or tuple, not str");
    object_clear(&f.obj);
}

static void test_arguments(void **state)
{
    (void)state;
    th_make_fails(&type_queue, "('3',)", "TypeError: maxsize must be int, not str");
    th_make_fails(&type_queue, "(1, 2)", "TypeError: Queue expected at most 1 argument, got 2");
    type_fixture f;
    th_make_ok(&f, &type_queue, "(0,)");
    th_check(&f, "put", "(1, True, -1)", "ValueError: 'timeout' must be a non-negative number");
    th_check(&f, "get", "(True, 'x')", "TypeError: timeout must be a number, not 'str'");
    th_check(&f, "get", "(False, -5)", "Empty: the queue is empty"); /* ignored, as Python */
    th_check(&f, "put", "()", "TypeError: put expected at least 1 argument, got 0");
    th_check(&f, "task_done", "()", "ValueError: task_done() called too many times");
    th_check(&f, "put", "({'a': [1, (2, None)]},)", "None");
    th_check(&f, "get", "()", "{'a': [1, (2, None)]}");
    th_check(&f, "task_done", "()", "None"); /* a plain Queue has it too, as Python's */
    object_clear(&f.obj);
}

/* get_acked hands out (ticket, item); the item is the caller's once acked, and a ticket
 * is good once. */
static void test_acked_get(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_queue, "()");
    th_check(&f, "put", "('a',)", "None");
    th_check(&f, "put", "('b',)", "None");
    th_check(&f, "get_acked", "()", "(1, 'a')");
    th_check(&f, "get_acked", "(False,)", "(2, 'b')");
    th_check(&f, "get_acked", "(False,)", "Empty: the queue is empty");
    th_check(&f, "ack", "(2,)", "None");
    th_check(&f, "ack", "(2,)", "ValueError: ticket 2 is not an item this connection holds");
    th_check(&f, "ack", "('x',)", "TypeError: ticket must be int, not str");
    th_check(&f, "qsize", "()", "0");
    object_clear(&f.obj); /* ticket 1 is still held: destroy frees it */
}

static void test_joinable_counts(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_joinable_queue, "()");
    th_check(&f, "join", "()", "None");
    th_check(&f, "task_done", "()", "ValueError: task_done() called too many times");
    th_check(&f, "put_many", "([1, 2, 3],)", "None");
    /* items put but not taken cannot be marked done */
    th_check(&f, "task_done", "()", "ValueError: task_done() called too many times");
    th_check(&f, "join", "(0,)", "TimeoutError: timed out");
    th_check(&f, "join", "()", CANNOT_PARK);
    th_check(&f, "get_many", "(2,)", "[1, 2]");
    th_check(&f, "task_done", "()", "None");
    th_check(&f, "task_done", "()", "None");
    th_check(&f, "task_done", "()", "ValueError: task_done() called too many times");
    th_check(&f, "get", "()", "3");
    th_check(&f, "task_done", "()", "None");
    th_check(&f, "join", "()", "None");
    object_clear(&f.obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_across_growth_and_wrap),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_acked_get),
        cmocka_unit_test(test_joinable_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
