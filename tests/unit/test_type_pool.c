/* test_type_pool.c - manager/type_pool.c through object_invoke, without a server.
 *
 * Without a session nothing parks, and every call comes from one caller (the one worker
 * once it takes), so this covers the bookkeeping: ids, take in order, results in
 * finishing order, what finish ignores, stats, close draining to None, terminate,
 * cancel, and the argument errors.
 * Leases that end with a worker's session (tries used up) are tested with real processes
 * (tests/integration/test_pool.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sync.h"
#include "type_harness.h"

static void test_submit_take_finish_collect(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_task_pool, "()");
    th_check(&f, "results", "()", "[]"); /* nothing to wait for */
    th_check(&f, "submit", "([('sq', (1,)), ('sq', (2,)), ('sq', (3,))],)", "1");
    th_check(&f, "submit", "([('sq', (4,))],)", "4");
    th_check(&f, "take", "()", "[(1, ('sq', (1,)))]");
    th_check(&f, "take", "(2,)", "[(2, ('sq', (2,))), (3, ('sq', (3,)))]");
    th_check(&f, "stats", "()",
             "{'pending': 1, 'running': 3, 'done': 0, 'ready': 0, 'workers': 1, 'closed': False}");
    th_check(&f, "results", "(5, 0)", "TimeoutError: no result in time");
    th_check(&f, "results", "()", CANNOT_PARK);
    /* 3 then 1; 99 is nobody's task, 2 is finished twice: the first result wins */
    th_check(&f, "finish", "([(3, 0, 9), (99, 0, 'x'), (1, 0, 1)],)", "2");
    th_check(&f, "finish", "([(2, -3, \"KeyError: 'k'\")],)", "1");
    th_check(&f, "finish", "([(2, 0, 4)],)", "0");
    th_check(&f, "results", "(10,)", "[(3, 0, 9), (1, 0, 1), (2, -3, \"KeyError: 'k'\")]");
    th_check(&f, "close", "()", "None");
    th_check(&f, "submit", "([1],)", "ValueError: Pool not running");
    th_check(&f, "take", "(5,)", "[(4, ('sq', (4,)))]");
    th_check(&f, "take", "()", CANNOT_PARK); /* closed, but task 4 may come back */
    th_check(&f, "finish", "([(4, 0, 16)],)", "1");
    th_check(&f, "take", "()", "None"); /* drained: leave */
    th_check(&f, "results", "()", "[(4, 0, 16)]");
    th_check(&f, "results", "()", "[]");
    object_clear(&f.obj);
}

static void test_terminate_and_errors(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_task_pool, "()");
    th_make_fails(&type_task_pool, "(1,)",
                  "TypeError: TaskPool expected 0 arguments, got 1");
    th_check(&f, "submit", "('abc',)", "TypeError: tasks must be a list or tuple, not str");
    th_check(&f, "take", "(0,)", "ValueError: max must be at least 1");
    th_check(&f, "take", "('2',)", "TypeError: max must be int, not str");
    th_check(&f, "take", "(1, 0)", "TimeoutError: no task in time");
    th_check(&f, "finish", "([(1, 0)],)",
             "TypeError: each result must be (task id, status, value)");
    th_check(&f, "finish", "([7],)", "TypeError: each result must be (task id, status, value)");
    th_check(&f, "finish", "(5,)", "TypeError: results must be a list or tuple, not int");
    /* an item that is no sequence is refused before it is read as one (fuzz_invoke found
     * finish([99]) reading the int as a pointer) */
    th_check(&f, "finish", "([99],)", "TypeError: each result must be (task id, status, value)");
    th_check(&f, "finish", "(['abc', None],)",
             "TypeError: each result must be (task id, status, value)");
    th_check(&f, "submit", "([[1, 2, {'deep': (None,)}], 2, 3],)", "1");
    th_check(&f, "take", "()", "[(1, [1, 2, {'deep': (None,)}])]");
    th_check(&f, "terminate", "()", "None");
    th_check(&f, "take", "()", "None");
    th_check(&f, "stats", "()",
             "{'pending': 0, 'running': 1, 'done': 0, 'ready': 0, 'workers': 1, 'closed': True}");
    object_clear(&f.obj); /* frees the running task too */
}

static void test_tries_and_cancel(void **state)
{
    (void)state;
    type_fixture f;
    th_make_ok(&f, &type_task_pool, "()");
    th_check(&f, "submit", "([1, 2], 0)", "ValueError: tries must be at least 1");
    th_check(&f, "submit", "([1, 2], 'x')", "TypeError: tries must be int, not str");
    th_check(&f, "submit", "([1], 1, 0)", "ValueError: split_tries must be at least 1");
    th_check(&f, "submit", "([1], 1, 1.5)", "TypeError: split_tries must be int, not float");
    th_check(&f, "submit", "([], 1, None)", "1"); /* None: not split; no task, no id used */
    th_check(&f, "submit", "([1, 2, 3, 4, 5], 1)", "1");
    th_check(&f, "take", "()", "[(1, 1)]");
    /* 1 is running and stays; 2, 3 and 5 are pending in the spans */
    th_check(&f, "cancel", "([(5, 10), (1, 3)],)", "[2, 3, 5]");
    th_check(&f, "cancel", "([(1, 5)],)", "[4]");
    th_check(&f, "cancel", "([],)", "[]");
    th_check(&f, "cancel", "([(1, -1)],)", "TypeError: each span must be (first id, count)");
    th_check(&f, "cancel", "([1],)", "TypeError: each span must be (first id, count)");
    th_check(&f, "cancel", "(3,)", "TypeError: spans must be a list or tuple, not int");
    th_check(&f, "stats", "()",
             "{'pending': 0, 'running': 1, 'done': 0, 'ready': 0, 'workers': 1, 'closed': False}");
    th_check(&f, "finish", "([(1, 0, 'one')],)", "1");
    th_check(&f, "results", "(10,)", "[(1, 0, 'one')]");
    th_check(&f, "results", "()", "[]"); /* the cancelled ones never come */
    object_clear(&f.obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_take_finish_collect),
        cmocka_unit_test(test_terminate_and_errors),
        cmocka_unit_test(test_tries_and_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
