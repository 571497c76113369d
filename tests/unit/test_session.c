/* test_session.c - the limits a session lives under (session.c, wait.c), on a real server
 * in this process (server_fixture.h).
 *
 * Sessions are counted by state: a keyless connection counts against the small cap of
 * unauthenticated ones (the oldest makes room for a newcomer) and never against the room
 * authenticated clients have up to max_connections. Parked calls are capped per session
 * as well as in all, so that one client cannot take every slot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "server_fixture.h"

static mpx_server *server_with(int max_connections, int max_unauthenticated,
                               int max_waiters_per_session)
{
    mpx_server_opts opts = fx_opts();
    if (max_connections > 0)
        opts.max_connections = max_connections;
    if (max_unauthenticated > 0)
        opts.max_unauthenticated = max_unauthenticated;
    if (max_waiters_per_session > 0)
        opts.max_waiters_per_session = max_waiters_per_session;
    mpx_server *s = fx_server_with(&opts);
    return s;
}

/* Whether the server has closed c's connection within wait_ms (frames before are
 * skipped: an evicted session may have been sent its challenge first). */
static bool closed_within(mpx_server *s, fx_client *c, int wait_ms)
{
    uint8_t frame[512];
    size_t len = 0;
    int64_t deadline = fx_now_ms() + wait_ms;
    int rc;
    do
        rc = fx_read_frame(s, c, (int)(deadline - fx_now_ms()), frame, &len);
    while (rc == MPX_OK && fx_now_ms() < deadline);
    return rc == MPX_ECLOSED;
}

static void expect_counts(const mpx_server *s, size_t authenticated, size_t unauthenticated)
{
    assert_int_equal(s->nauthenticated, authenticated);
    assert_int_equal(s->unauthenticated.len, unauthenticated);
    assert_int_equal(s->sessions.len, authenticated + unauthenticated);
}

/* ---- counted by state ----------------------------------------------------------------- */

static void the_handshake_moves_a_session_between_the_counts(void **state)
{
    (void)state;
    mpx_server *s = server_with(0, 0, 0);
    expect_counts(s, 0, 0);
    fx_client *x = fx_attach(s);
    expect_counts(s, 0, 1);
    fx_client *a = fx_connect(s);
    expect_counts(s, 1, 1);
    fx_call(s, a, 0, "ping", "()", "ok 'pong'");
    fx_close(s, x);
    expect_counts(s, 1, 0);
    fx_close(s, a);
    expect_counts(s, 0, 0);
    mpx_server_free(s);
}

static void a_failed_handshake_leaves_the_unauthenticated_count(void **state)
{
    (void)state;
    mpx_server *s = server_with(0, 0, 0);
    fx_client *x = fx_attach(s);
    uint8_t frame[512];
    size_t len = 0;
    assert_int_equal(fx_read_frame(s, x, 1000, frame, &len), MPX_OK); /* the challenge */
    uint8_t wrong[32] = {0};
    fx_write_frame(x, wrong, sizeof wrong);
    assert_true(closed_within(s, x, 1000));
    expect_counts(s, 0, 0);
    fx_client *all[] = {x};
    fx_free(s, all, 1);
}

/* ---- the cap on unauthenticated sessions ---------------------------------------------- */

static void the_oldest_unauthenticated_makes_room(void **state)
{
    (void)state;
    mpx_server *s = server_with(10, 2, 0);
    fx_client *x1 = fx_attach(s), *x2 = fx_attach(s);
    expect_counts(s, 0, 2);
    fx_client *x3 = fx_attach(s); /* over the cap: x1, the oldest, goes */
    expect_counts(s, 0, 2);
    assert_true(closed_within(s, x1, 1000));
    assert_false(closed_within(s, x2, 50));
    assert_false(closed_within(s, x3, 50));
    fx_client *a = fx_connect(s); /* x2 makes room for it */
    expect_counts(s, 1, 1);
    assert_true(closed_within(s, x2, 1000));
    assert_false(closed_within(s, x3, 50));
    fx_call(s, a, 0, "ping", "()", "ok 'pong'");
    fx_client *all[] = {x1, x2, x3, a};
    fx_free(s, all, 4);
}

/* A client that has answered our challenge has proven the key: it counts as
 * authenticated while it checks us, and keyless newcomers do not push it out. */
static void a_client_that_proved_the_key_is_not_pushed_out(void **state)
{
    (void)state;
    mpx_server *s = server_with(10, 2, 0);
    fx_client *a = fx_attach(s);
    fx_prove_key(s, a);
    expect_counts(s, 1, 0);
    fx_client *x[4];
    for (int i = 0; i < 4; i++)
        x[i] = fx_attach(s);
    expect_counts(s, 1, 2);
    /* the rest of the handshake, then a call */
    fx_check_server(s, a);
    fx_call(s, a, 0, "ping", "()", "ok 'pong'");
    expect_counts(s, 1, 2);
    fx_client *all[] = {a, x[0], x[1], x[2], x[3]};
    fx_free(s, all, 5);
}

/* The keyless sessions fill every connection; authenticated clients still get in, up to
 * max_connections, and only then is a connection refused. */
static void authenticated_clients_get_in_up_to_max_connections(void **state)
{
    (void)state;
    mpx_server *s = server_with(3, 2, 0);
    fx_client *x[6];
    for (int i = 0; i < 6; i++)
        x[i] = fx_attach(s);
    expect_counts(s, 0, 2);
    fx_client *a = fx_connect(s), *b = fx_connect(s), *c = fx_connect(s);
    expect_counts(s, 3, 0);
    for (int i = 0; i < 6; i++)
        assert_true(closed_within(s, x[i], 1000));
    fx_call(s, a, 0, "ping", "()", "ok 'pong'");
    fx_call(s, b, 0, "ping", "()", "ok 'pong'");
    fx_call(s, c, 0, "ping", "()", "ok 'pong'");
    fx_client *late = fx_attach(s); /* full of authenticated clients: refused at once */
    expect_counts(s, 3, 0);
    assert_true(closed_within(s, late, 1000));
    fx_close(s, a);
    fx_client *d = fx_connect(s); /* a's place */
    expect_counts(s, 3, 0);
    fx_call(s, d, 0, "ping", "()", "ok 'pong'");
    fx_client *all[] = {x[0], x[1], x[2], x[3], x[4], x[5], b, c, late, d};
    fx_free(s, all, 10);
}

/* ---- parked calls per session ----------------------------------------------------------- */

static void parked_calls_are_capped_per_session(void **state)
{
    (void)state;
    mpx_server *s = server_with(0, 0, 3);
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t q = fx_create(s, a, "Queue", "()");
    fx_send(a, q, "get", "()");
    fx_send(a, q, "get", "()");
    fx_send(a, q, "get", "()");
    uint64_t fourth = fx_send(a, q, "get", "()");
    fx_expect(s, a, fourth, 1000,
              "LimitError: too many calls waiting for this connection (3)");
    assert_int_equal(fx_parked(s), 3);
    uint64_t b_get = fx_send(b, q, "get", "()"); /* another session still parks */
    fx_expect_none(s, b, 20);
    assert_int_equal(fx_parked(s), 4);
    fx_call(s, b, q, "put", "('x',)", "ok None"); /* a's first get is answered... */
    uint8_t frame[256];
    size_t len = 0;
    assert_int_equal(fx_read_frame(s, a, 1000, frame, &len), MPX_OK);
    uint64_t again = fx_send(a, q, "get", "(True, 0.05)"); /* ...so a may park one more */
    fx_expect(s, a, again, 2000, "Empty: the queue is empty");
    fx_call(s, b, q, "put", "('y',)", "ok None");
    fx_call(s, b, q, "put", "('z',)", "ok None");
    assert_int_equal(fx_read_frame(s, a, 1000, frame, &len), MPX_OK);
    assert_int_equal(fx_read_frame(s, a, 1000, frame, &len), MPX_OK);
    fx_call(s, a, q, "put", "('w',)", "ok None");
    fx_expect(s, b, b_get, 1000, "ok 'w'");
    assert_int_equal(fx_parked(s), 0);
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* A parked call that is re-run and must still wait keeps its slot, even at the limit. */
static void a_rerun_that_parks_again_is_never_refused(void **state)
{
    (void)state;
    mpx_server *s = server_with(0, 0, 3);
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t q = fx_create(s, b, "Queue", "(3,)");
    fx_call(s, b, q, "put_many", "([1, 2, 3],)", "ok None");
    uint64_t p1 = fx_send(a, q, "put_many", "([4, 5],)"); /* two places each: they wait */
    uint64_t p2 = fx_send(a, q, "put_many", "([6, 7],)");
    uint64_t p3 = fx_send(a, q, "put_many", "([8, 9],)");
    fx_expect_none(s, a, 20);
    assert_int_equal(fx_parked(s), 3);
    fx_call(s, b, q, "get", "()", "ok 1"); /* one place: p1 re-runs and parks again */
    fx_expect_none(s, a, 20);
    assert_int_equal(fx_parked(s), 3);
    fx_call(s, b, q, "get", "()", "ok 2"); /* two: p1 goes in, p2 re-runs and waits */
    fx_expect(s, a, p1, 1000, "ok None");
    fx_expect_none(s, a, 20);
    assert_int_equal(fx_parked(s), 2);
    fx_call(s, b, q, "get_many", "(3,)", "ok [3, 4, 5]");
    fx_expect(s, a, p2, 1000, "ok None");
    fx_call(s, b, q, "get_many", "(2,)", "ok [6, 7]");
    fx_expect(s, a, p3, 1000, "ok None");
    assert_int_equal(fx_parked(s), 0);
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* The global cap still holds when no session reaches its own. */
static void the_global_cap_holds_across_sessions(void **state)
{
    (void)state;
    mpx_server_opts opts = fx_opts();
    opts.max_waiters = 3;
    opts.max_waiters_per_session = 2;
    mpx_server *s = fx_server_with(&opts);
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t q = fx_create(s, a, "Queue", "()");
    fx_send(a, q, "get", "()");
    fx_send(a, q, "get", "()");
    fx_send(b, q, "get", "()");
    uint64_t over = fx_send(b, q, "get", "()");
    fx_expect(s, b, over, 1000, "LimitError: too many calls waiting on the manager (3)");
    assert_int_equal(fx_parked(s), 3);
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_handshake_moves_a_session_between_the_counts),
        cmocka_unit_test(a_failed_handshake_leaves_the_unauthenticated_count),
        cmocka_unit_test(the_oldest_unauthenticated_makes_room),
        cmocka_unit_test(a_client_that_proved_the_key_is_not_pushed_out),
        cmocka_unit_test(authenticated_clients_get_in_up_to_max_connections),
        cmocka_unit_test(parked_calls_are_capped_per_session),
        cmocka_unit_test(a_rerun_that_parks_again_is_never_refused),
        cmocka_unit_test(the_global_cap_holds_across_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
