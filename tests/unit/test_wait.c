/* test_wait.c - parking and waking (wait.c), the session's life cycle (session.c), and
 * the blocking types on a real server in this process (server_fixture.h).
 *
 * Each test starts a fresh embedded server, so fencing tokens count from 1. Every step is
 * driven by the test: a call parks (no reply, parked count up), a state change signals,
 * the safe point re-runs the parked calls in FIFO order, a timer answers, a client that
 * goes away takes its parked calls and its holds with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "server_fixture.h"

/* ---- Lock ----------------------------------------------------------------------------- */

static void lock_waiters_are_served_in_order(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t lock = fx_create(s, a, "Lock", "()");
    fx_call(s, a, lock, "acquire", "()", "ok 1");
    uint64_t b_acq = fx_send(b, lock, "acquire", "()");
    uint64_t c_acq = fx_send(c, lock, "acquire", "()");
    fx_expect_none(s, b, 20);
    assert_int_equal(fx_parked(s), 2);
    fx_call(s, a, lock, "release", "()", "ok None");
    fx_expect(s, b, b_acq, 1000, "ok 2"); /* the oldest, with a larger token */
    fx_expect_none(s, c, 20);             /* c keeps its place */
    assert_int_equal(fx_parked(s), 1);
    fx_call(s, a, lock, "locked", "()", "ok True");
    fx_call(s, b, lock, "release", "()", "ok None");
    fx_expect(s, c, c_acq, 1000, "ok 3");
    assert_int_equal(fx_parked(s), 0);
    fx_client *all[] = {a, b, c};
    fx_free(s, all, 3);
}

/* A lease ends a grant its holder never releases: the next waiter gets the lock with a
 * larger token, and the old holder's release is refused instead of freeing that grant. */
static void a_lapsed_lease_passes_the_lock_on(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t lock = fx_create(s, a, "Lock", "()");
    fx_call(s, a, lock, "acquire", "(True, -1, 0.1)", "ok 1");
    uint64_t b_acq = fx_send(b, lock, "acquire", "()");
    fx_expect(s, b, b_acq, 2000, "ok 2"); /* a never released: its lease did */
    fx_call(s, a, lock, "release", "()",
            "RuntimeError: the lease of token 1 expired: the lock was not released");
    fx_call(s, b, lock, "locked", "()", "ok True"); /* b's grant stands */
    fx_call(s, a, lock, "release", "(1,)", "RuntimeError: token 1 is not the lock's current "
                                           "grant");
    fx_call(s, b, lock, "release", "(2,)", "ok None");
    fx_call(s, a, lock, "acquire", "(True, -1, 0)",
            "ValueError: lease must be a positive number of seconds");
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* A grant released before its lease ends is not ended again by it later. */
static void a_released_lease_is_forgotten(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t lock = fx_create(s, a, "Lock", "()");
    fx_call(s, a, lock, "acquire", "(True, -1, 0.05)", "ok 1");
    fx_call(s, a, lock, "release", "()", "ok None");
    fx_call(s, b, lock, "acquire", "()", "ok 2");
    fx_expect_none(s, b, 150); /* past a's lease */
    fx_call(s, b, lock, "locked", "()", "ok True");
    fx_call(s, b, lock, "release", "()", "ok None");
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

static void lock_never_taken_past_a_parked_call(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t lock = fx_create(s, a, "Lock", "()");
    fx_call(s, a, lock, "acquire", "()", "ok 1");
    uint64_t b_acq = fx_send(b, lock, "acquire", "()");
    fx_expect_none(s, b, 20);
    /* release and a fresh acquire in one read: the parked call is first in line */
    uint64_t rel = fx_send(a, lock, "release", "()");
    uint64_t c_acq = fx_send(c, lock, "acquire", "(False,)");
    fx_expect(s, a, rel, 1000, "ok None");
    fx_expect(s, b, b_acq, 1000, "ok 2");
    fx_expect(s, c, c_acq, 1000, "TimeoutError: the lock is held");
    fx_client *all[] = {a, b, c};
    fx_free(s, all, 3);
}

static void lock_wait_times_out_and_leaves_the_line(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t lock = fx_create(s, a, "Lock", "()");
    fx_call(s, a, lock, "acquire", "()", "ok 1");
    uint64_t b_acq = fx_send(b, lock, "acquire", "(True, 0.05)");
    uint64_t c_acq = fx_send(c, lock, "acquire", "()");
    fx_expect(s, b, b_acq, 2000, "TimeoutError: timed out");
    assert_int_equal(fx_parked(s), 1);
    fx_call(s, a, lock, "release", "()", "ok None");
    fx_expect(s, c, c_acq, 1000, "ok 2"); /* the one behind moved up */
    fx_client *all[] = {a, b, c};
    fx_free(s, all, 3);
}

static void lock_holder_gone_passes_it_on(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t lock = fx_create(s, c, "Lock", "()");
    fx_call(s, a, lock, "acquire", "()", "ok 1");
    uint64_t b_acq = fx_send(b, lock, "acquire", "()");
    fx_expect_none(s, b, 20);
    fx_close(s, a); /* the holder dies */
    fx_expect(s, b, b_acq, 1000, "ok 2");
    fx_client *all[] = {b, c};
    fx_free(s, all, 2);
}

static void lock_waiter_gone_takes_nothing(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t lock = fx_create(s, a, "Lock", "()");
    fx_call(s, a, lock, "acquire", "()", "ok 1");
    fx_send(b, lock, "acquire", "()");
    uint64_t c_acq = fx_send(c, lock, "acquire", "()");
    fx_expect_none(s, b, 20);
    assert_int_equal(fx_parked(s), 2);
    fx_close(s, b); /* a parked waiter dies: its call goes, c keeps its place */
    assert_int_equal(fx_parked(s), 1);
    fx_call(s, a, lock, "release", "()", "ok None");
    fx_expect(s, c, c_acq, 1000, "ok 2");
    fx_call(s, c, lock, "release", "()", "ok None");
    fx_call(s, a, lock, "locked", "()", "ok False");
    fx_client *all[] = {a, c};
    fx_free(s, all, 2);
}

/* ---- Semaphore -------------------------------------------------------------------------- */

static void semaphore_release_many_serves_many(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t sem = fx_create(s, a, "Semaphore", "(1,)");
    fx_call(s, a, sem, "acquire", "()", "ok True");
    uint64_t b_acq = fx_send(b, sem, "acquire", "()");
    uint64_t c_acq = fx_send(c, sem, "acquire", "()");
    fx_expect_none(s, b, 20);
    fx_call(s, a, sem, "release", "(2,)", "ok None");
    fx_expect(s, b, b_acq, 1000, "ok True");
    fx_expect(s, c, c_acq, 1000, "ok True");
    fx_call(s, a, sem, "get_value", "()", "ok 0");
    fx_close(s, b); /* b's unit comes back */
    fx_call(s, a, sem, "get_value", "()", "ok 1");
    fx_client *all[] = {a, c};
    fx_free(s, all, 2);
}

/* ---- Condition -------------------------------------------------------------------------- */

static void condition_notified_waiter_answers_once_it_holds_the_lock(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t cv = fx_create(s, a, "Condition", "()");
    fx_call(s, a, cv, "acquire", "()", "ok 1");
    uint64_t wait = fx_send(a, cv, "wait", "(5,)");
    fx_expect_none(s, a, 20); /* parked, and the lock is free for b */
    fx_call(s, b, cv, "acquire", "()", "ok 2");
    fx_call(s, b, cv, "notify", "()", "ok None");
    fx_expect_none(s, a, 20); /* notified, but b still holds the lock */
    assert_int_equal(fx_parked(s), 1);
    fx_call(s, b, cv, "release", "()", "ok None");
    fx_expect(s, a, wait, 1000, "ok True");
    fx_call(s, a, cv, "release", "()", "ok None");
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

static void condition_wait_timeout_regains_the_lock_and_answers_false(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t cv = fx_create(s, a, "Condition", "()");
    fx_call(s, a, cv, "acquire", "()", "ok 1");
    uint64_t wait = fx_send(a, cv, "wait", "(0.05,)");
    fx_expect_none(s, a, 10);
    fx_call(s, b, cv, "acquire", "()", "ok 2");
    fx_expect_none(s, a, 150); /* timed out, now waiting for the lock b holds */
    fx_call(s, b, cv, "release", "()", "ok None");
    fx_expect(s, a, wait, 1000, "ok False");
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

static void condition_waiter_gone_in_the_lock_queue(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t cv = fx_create(s, c, "Condition", "()");
    fx_call(s, a, cv, "acquire", "()", "ok 1");
    fx_send(a, cv, "wait", "()");
    fx_expect_none(s, a, 20);
    fx_call(s, b, cv, "acquire", "()", "ok 2");
    fx_call(s, b, cv, "notify", "()", "ok None");
    fx_close(s, a); /* it dies waiting for the lock: nothing is granted to it */
    assert_int_equal(fx_parked(s), 0);
    fx_call(s, b, cv, "release", "()", "ok None");
    fx_call(s, c, cv, "acquire", "(False,)", "ok 3");
    fx_client *all[] = {b, c};
    fx_free(s, all, 2);
}

/* ---- Queue ------------------------------------------------------------------------------ */

static void queue_put_serves_the_oldest_get(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t q = fx_create(s, a, "Queue", "()");
    uint64_t b_get = fx_send(b, q, "get", "()");
    uint64_t c_get = fx_send(c, q, "get", "(True, 5)");
    fx_expect_none(s, b, 20);
    assert_int_equal(fx_parked(s), 2);
    fx_call(s, a, q, "put", "('x',)", "ok None");
    fx_expect(s, b, b_get, 1000, "ok 'x'");
    fx_expect_none(s, c, 20);
    fx_call(s, a, q, "put", "('y',)", "ok None");
    fx_expect(s, c, c_get, 1000, "ok 'y'");
    fx_call(s, a, q, "qsize", "()", "ok 0");
    fx_client *all[] = {a, b, c};
    fx_free(s, all, 3);
}

static void queue_bounded_put_waits_for_room(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t q = fx_create(s, a, "Queue", "(1,)");
    fx_call(s, a, q, "put", "(1,)", "ok None");
    uint64_t put2 = fx_send(b, q, "put", "(2,)");
    uint64_t put3 = fx_send(b, q, "put", "(3, True, 0.05)");
    fx_expect(s, b, put3, 2000, "Full: the queue is full");
    fx_call(s, a, q, "get", "()", "ok 1");
    fx_expect(s, b, put2, 1000, "ok None");
    fx_call(s, a, q, "get", "()", "ok 2");
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* An acked get's ticket is its connection's only; when the connection ends unacked, the
 * item is the next getter's. */
static void queue_acked_item_of_a_gone_consumer_goes_back(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t q = fx_create(s, a, "Queue", "()");
    fx_call(s, a, q, "put", "('x',)", "ok None");
    fx_call(s, a, q, "get_acked", "()", "ok (1, 'x')");
    fx_call(s, b, q, "ack", "(1,)", "ValueError: ticket 1 is not an item this connection holds");
    fx_call(s, b, q, "qsize", "()", "ok 0");
    char incref[32];
    snprintf(incref, sizeof incref, "(%llu,)", (unsigned long long)q);
    fx_call(s, b, 0, "incref", incref, "ok 'Queue'"); /* the queue outlives a */
    fx_close(s, a);
    fx_call(s, b, q, "get", "(True, 1)", "ok 'x'");
    fx_free(s, &b, 1);
}

static void queue_item_for_a_gone_getter_goes_to_the_next(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t q = fx_create(s, a, "Queue", "()");
    fx_send(b, q, "get", "()");
    uint64_t c_get = fx_send(c, q, "get", "()");
    fx_expect_none(s, b, 20);
    /* b dies; the put arrives before the server has read b's end of stream */
    shutdown(b->fd, SHUT_RDWR);
    fx_call(s, a, q, "put", "('only',)", "ok None");
    fx_expect(s, c, c_get, 1000, "ok 'only'");
    fx_close(s, b);
    fx_call(s, a, q, "qsize", "()", "ok 0");
    fx_client *all[] = {a, c};
    fx_free(s, all, 2);
}

static void joinable_queue_join_wakes_every_joiner(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t q = fx_create(s, a, "JoinableQueue", "()");
    fx_call(s, a, q, "put", "(1,)", "ok None");
    uint64_t b_join = fx_send(b, q, "join", "()");
    uint64_t c_join = fx_send(c, q, "join", "()");
    fx_expect_none(s, b, 20);
    fx_call(s, a, q, "get", "()", "ok 1");
    fx_call(s, a, q, "task_done", "()", "ok None");
    fx_expect(s, b, b_join, 1000, "ok None");
    fx_expect(s, c, c_join, 1000, "ok None");
    fx_client *all[] = {a, b, c};
    fx_free(s, all, 3);
}

/* ---- Barrier and Event: broadcasts ------------------------------------------------------ */

static void barrier_party_gone_breaks_the_round(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t bar = fx_create(s, c, "Barrier", "(3,)");
    uint64_t a_wait = fx_send(a, bar, "wait", "()");
    fx_send(b, bar, "wait", "()");
    fx_expect_none(s, a, 20);
    fx_close(s, b);
    fx_expect(s, a, a_wait, 1000, "BrokenBarrierError: barrier is broken");
    fx_call(s, c, bar, "broken", "()", "ok True");
    fx_client *all[] = {a, c};
    fx_free(s, all, 2);
}

static void event_set_answers_every_waiter_even_if_cleared_at_once(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t ev = fx_create(s, a, "Event", "()");
    uint64_t b_wait = fx_send(b, ev, "wait", "()");
    uint64_t c_wait = fx_send(c, ev, "wait", "(5,)");
    fx_expect_none(s, b, 20);
    uint64_t set = fx_send(a, ev, "set", "()");
    uint64_t clear = fx_send(a, ev, "clear", "()");
    fx_expect(s, a, set, 1000, "ok None");
    fx_expect(s, a, clear, 1000, "ok None");
    fx_expect(s, b, b_wait, 1000, "ok True");
    fx_expect(s, c, c_wait, 1000, "ok True");
    fx_client *all[] = {a, b, c};
    fx_free(s, all, 3);
}

/* ---- sessions --------------------------------------------------------------------------- */

static void malformed_frame_closes_only_that_session(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    uint64_t lock = fx_create(s, c, "Lock", "()");
    fx_call(s, a, lock, "acquire", "()", "ok 1");
    uint64_t b_acq = fx_send(b, lock, "acquire", "()");
    fx_expect_none(s, b, 20);
    fx_write_frame(a, "\xff\xff\xff", 3); /* not a request: a is closed, its lock freed */
    uint8_t frame[64];
    size_t len;
    assert_int_equal(fx_read_frame(s, a, 1000, frame, &len), MPX_ECLOSED);
    fx_expect(s, b, b_acq, 1000, "ok 2");
    fx_call(s, c, 0, "ping", "()", "ok 'pong'");
    fx_client *all[] = {a, b, c};
    fx_free(s, all, 3);
}

/* A parked call holds no reference: when the object goes (its last holder left), the
 * call is answered, not left hanging. */
static void object_freed_under_a_parked_call_answers_it(void **state)
{
    (void)state;
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t q = fx_create(s, a, "Queue", "()");
    uint64_t get = fx_send(b, q, "get", "()");
    fx_expect_none(s, b, 20);
    fx_close(s, a);
    fx_expect(s, b, get, 1000, "LookupError: the queue was destroyed");
    assert_int_equal(fx_parked(s), 0);
    fx_client *all[] = {b};
    fx_free(s, all, 1);
}

static void parked_calls_are_capped(void **state)
{
    (void)state;
    mpx_server_opts opts = fx_opts();
    opts.max_waiters = 2;
    mpx_server *s = fx_server_with(&opts);
    fx_client *a = fx_connect(s);
    uint64_t q = fx_create(s, a, "Queue", "()");
    fx_send(a, q, "get", "()");
    fx_send(a, q, "get", "()");
    uint64_t third = fx_send(a, q, "get", "()");
    fx_expect(s, a, third, 1000, "LimitError: too many calls waiting on the manager (2)");
    assert_int_equal(fx_parked(s), 2);
    fx_client *all[] = {a};
    fx_free(s, all, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lock_waiters_are_served_in_order),
        cmocka_unit_test(lock_never_taken_past_a_parked_call),
        cmocka_unit_test(a_lapsed_lease_passes_the_lock_on),
        cmocka_unit_test(a_released_lease_is_forgotten),
        cmocka_unit_test(lock_wait_times_out_and_leaves_the_line),
        cmocka_unit_test(lock_holder_gone_passes_it_on),
        cmocka_unit_test(lock_waiter_gone_takes_nothing),
        cmocka_unit_test(semaphore_release_many_serves_many),
        cmocka_unit_test(condition_notified_waiter_answers_once_it_holds_the_lock),
        cmocka_unit_test(condition_wait_timeout_regains_the_lock_and_answers_false),
        cmocka_unit_test(condition_waiter_gone_in_the_lock_queue),
        cmocka_unit_test(queue_put_serves_the_oldest_get),
        cmocka_unit_test(queue_acked_item_of_a_gone_consumer_goes_back),
        cmocka_unit_test(queue_bounded_put_waits_for_room),
        cmocka_unit_test(queue_item_for_a_gone_getter_goes_to_the_next),
        cmocka_unit_test(joinable_queue_join_wakes_every_joiner),
        cmocka_unit_test(barrier_party_gone_breaks_the_round),
        cmocka_unit_test(event_set_answers_every_waiter_even_if_cleared_at_once),
        cmocka_unit_test(malformed_frame_closes_only_that_session),
        cmocka_unit_test(object_freed_under_a_parked_call_answers_it),
        cmocka_unit_test(parked_calls_are_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
