/* test_session.c - the limits a session lives under (session.c, wait.c), on a real server
 * in this process (server_fixture.h).
 *
 * Sessions are counted by state: a keyless connection counts against the small cap of
 * unauthenticated ones (the oldest makes room for a newcomer) and never against the room
 * authenticated clients have up to max_connections. Parked calls are capped per session
 * as well as in all, so that one client cannot take every slot. A session's work per turn
 * of the loop is bounded (a count of requests and a time), so that one client's flood of
 * pipelined calls gives way to the others' and still runs whole, in order.
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
    static uint8_t frame[65536]; /* fx_read_frame takes frames of up to that */
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

/* ---- work per turn ------------------------------------------------------------------------ */

/* Appends the frame of a call (args: a Python tuple literal) to *buf; returns its id. */
static uint64_t add_call(fx_client *c, uint64_t object_id, const char *method,
                         const char *args, uint8_t **buf, size_t *len, size_t *cap)
{
    mpx_value tuple;
    char err[128] = "";
    if (mpx_value_parse(args, &tuple, err, sizeof err) != MPX_OK)
        fail_msg("cannot parse %s: %s", args, err);
    uint8_t *frame;
    size_t n = 0;
    uint64_t id = c->next_id++;
    assert_int_equal(codec_request_encode(id, object_id, method, mpx_value_items(&tuple),
                                          mpx_value_len(&tuple), false, 0, &frame, &n),
                     MPX_OK);
    mpx_value_free(&tuple);
    if (*len + 4 + n > *cap) {
        *cap = (*len + 4 + n) * 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    uint8_t *dst = *buf + *len;
    dst[0] = (uint8_t)(n >> 24);
    dst[1] = (uint8_t)(n >> 16);
    dst[2] = (uint8_t)(n >> 8);
    dst[3] = (uint8_t)n;
    memcpy(dst + 4, frame, n);
    *len += 4 + n;
    free(frame);
    return id;
}

/* Writes len bytes in as few writes as the socket allows (one, when they fit), running the
 * loop only when it is full. */
static void write_all(mpx_server *s, fx_client *c, const uint8_t *buf, size_t len)
{
    int64_t deadline = fx_now_ms() + 5000;
    while (len > 0) {
        ssize_t n = write(c->fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        assert_true(fx_now_ms() < deadline);
        fx_run(s);
    }
}

/* Takes the replies that have arrived on c's socket, without running the server's loop:
 * each must answer the next call id (*next, which grows) with want. Returns how many. */
static size_t take_arrived(fx_client *c, uint64_t *next, const char *want)
{
    size_t taken = 0;
    for (;;) {
        while (c->len >= 4) {
            size_t n = (size_t)c->buf[0] << 24 | (size_t)c->buf[1] << 16 |
                       (size_t)c->buf[2] << 8 | c->buf[3];
            assert_true(n <= sizeof c->buf - 4);
            if (c->len < 4 + n)
                break;
            mpx_reply rep;
            char err[128];
            assert_int_equal(codec_reply_decode(c->buf + 4, n, &rep, err, sizeof err), MPX_OK);
            if (rep.call_id != *next)
                fail_msg("reply to call %llu where %llu was next",
                         (unsigned long long)rep.call_id, (unsigned long long)*next);
            char *repr = mpx_value_repr(&rep.value);
            char got[CODEC_MESSAGE_MAX + 64];
            snprintf(got, sizeof got, "%s %.60s", rep.err == MPX_OK ? "ok" : rep.message, repr);
            assert_string_equal(got, want);
            free(repr);
            codec_reply_clear(&rep);
            memmove(c->buf, c->buf + 4 + n, c->len - 4 - n);
            c->len -= 4 + n;
            (*next)++;
            taken++;
        }
        ssize_t got = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (got <= 0)
            return taken;
        c->len += (size_t)got;
    }
}

/* Runs the loop until the replies up to call `last` have all come, in order. */
static void take_until(mpx_server *s, fx_client *c, uint64_t *next, uint64_t last,
                       const char *want)
{
    int64_t deadline = fx_now_ms() + 20000;
    while (*next <= last) {
        fx_run(s);
        if (take_arrived(c, next, want) == 0) {
            if (fx_now_ms() > deadline)
                fail_msg("replies stopped at call %llu of %llu", (unsigned long long)*next,
                         (unsigned long long)last);
            usleep(200);
        }
    }
}

/* One client's thousands of pipelined calls, in one write, run a turn's budget at a time
 * (turn_frames): another client's call sent after them is answered before they all are,
 * and every one of them is answered, in order. */
static void a_flood_of_calls_gives_way_to_another_client(void **state)
{
    (void)state;
    enum { FLOOD = 5000 };
    mpx_server *s = fx_server(); /* turn_frames 1000 */
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t l = fx_create(s, a, "list", "()");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    uint64_t first = 0, last = 0;
    for (int i = 0; i < FLOOD; i++) {
        char args[32];
        snprintf(args, sizeof args, "(%d,)", i);
        last = add_call(a, l, "append", args, &buf, &len, &cap);
        first = first ? first : last;
    }
    write_all(s, a, buf, len);
    free(buf);
    uint64_t ping = fx_send(b, 0, "ping", "()");
    fx_expect(s, b, ping, 2000, "ok 'pong'");
    uint64_t next = first;
    size_t before = take_arrived(a, &next, "ok None");
    printf("# %zu of %d pipelined calls answered when the other client's came\n", before,
           FLOOD);
    assert_true(before < FLOOD);
    take_until(s, a, &next, last, "ok None");
    fx_call(s, b, l, "__len__", "()", "ok 5000");
    fx_call(s, b, l, "__getitem__", "(0,)", "ok 0");
    fx_call(s, b, l, "index", "(2500,)", "ok 2500");
    fx_call(s, b, l, "__getitem__", "(-1,)", "ok 4999");
    assert_true(list_empty(&s->backlog));
    assert_false(uv_is_active((uv_handle_t *)&s->backlog_idle));
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* The time budget bounds a turn when the calls are few but slow: inserts at the head of a
 * list of 200,000 items (each moves them all) give way long before their count would. */
static void slow_calls_give_way_within_the_time_budget(void **state)
{
    (void)state;
    enum { ITEMS = 200000, INSERTS = 200 };
    mpx_server *s = fx_server(); /* turn_frames 1000, turn_budget_us 1000 */
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t l = fx_create(s, a, "list", "()");
    char *items = malloc(ITEMS * 3 + 16);
    assert_non_null(items);
    size_t n = (size_t)sprintf(items, "([");
    for (int i = 0; i < ITEMS; i++)
        n += (size_t)sprintf(items + n, "%s7", i ? ", " : "");
    sprintf(items + n, "],)");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    uint64_t first = 0, last = add_call(a, l, "extend", items, &buf, &len, &cap);
    free(items);
    write_all(s, a, buf, len);
    fx_expect(s, a, last, 5000, "ok None");
    len = 0;
    for (int i = 0; i < INSERTS; i++) {
        last = add_call(a, l, "insert", "(0, 1)", &buf, &len, &cap);
        first = first ? first : last;
    }
    write_all(s, a, buf, len);
    free(buf);
    uint64_t ping = fx_send(b, 0, "ping", "()");
    fx_expect(s, b, ping, 5000, "ok 'pong'");
    uint64_t next = first;
    size_t before = take_arrived(a, &next, "ok None");
    printf("# %zu of %d slow calls answered when the other client's came\n", before, INSERTS);
    assert_true(before < INSERTS);
    take_until(s, a, &next, last, "ok None");
    fx_call(s, b, l, "__len__", "()", "ok 200200");
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* A session closed while requests wait for its next turn ends as any other: what it had
 * not run is dropped, it leaves the backlog, and the loop polls blocking again. */
static void a_session_closed_with_requests_left_drops_them(void **state)
{
    (void)state;
    enum { FLOOD = 5000 };
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s);
    fx_call(s, a, 0, "open", "('flood', 'list')", "ok <ref list 1>");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < FLOOD; i++)
        add_call(a, 1, "append", "(1,)", &buf, &len, &cap);
    write_all(s, a, buf, len);
    free(buf);
    fx_run(s);
    assert_int_equal(s->backlog.len, 1);
    sessions_close_all(s, "closed by the test");
    for (int i = 0; i < 5; i++)
        fx_run(s);
    assert_true(list_empty(&s->backlog));
    assert_false(uv_is_active((uv_handle_t *)&s->backlog_idle));
    fx_client *c = fx_connect(s);
    fx_call(s, c, 0, "open", "('flood', 'list')", "ok <ref list 1>");
    char *got = fx_reply(s, c, fx_send(c, 1, "__len__", "()"), 2000);
    assert_non_null(got);
    long done = strtol(got + 3, NULL, 10);
    printf("# %ld of %d calls ran before the close\n", done, FLOOD);
    assert_true(done > 0 && done < FLOOD);
    free(got);
    fx_client *all[] = {a, c};
    fx_free(s, all, 2);
}

/* ---- results in unsent replies --------------------------------------------------------- */

#define ITEM_BYTES 16384

/* "('item-007xxx...',)": the args of a put of item i, ITEM_BYTES long. */
static char *item_args(int i)
{
    char *args = malloc(ITEM_BYTES + 16);
    assert_non_null(args);
    int n = sprintf(args, "('item-%03d", i);
    memset(args + n, 'x', ITEM_BYTES - (size_t)n);
    strcpy(args + ITEM_BYTES, "',)");
    return args;
}

/* The index of the item in a reply ("ok 'item-007xxx...'"), -1 when it is none. */
static int item_of(const char *reply)
{
    int i = -1;
    return sscanf(reply, "ok 'item-%3d", &i) == 1 ? i : -1;
}

/* Every reply frame that came before c's connection closed; -1 for one with no item. */
static int read_items_until_closed(mpx_server *s, fx_client *c, int *items, int max)
{
    static uint8_t frame[65536];
    size_t len = 0;
    int n = 0, rc;
    while ((rc = fx_read_frame(s, c, 2000, frame, &len)) == MPX_OK) {
        mpx_reply rep;
        char err[128];
        assert_int_equal(codec_reply_decode(frame, len, &rep, err, sizeof err), MPX_OK);
        char text[32] = "";
        if (rep.err == MPX_OK && mpx_value_kind(&rep.value) == MPX_STR)
            snprintf(text, sizeof text, "ok '%.20s", mpx_value_str_data(&rep.value));
        assert_true(n < max);
        items[n++] = item_of(text);
        codec_reply_clear(&rep);
    }
    assert_int_equal(rc, MPX_ECLOSED);
    return n;
}

/* A client that pipelines gets of a queue and reads none: its replies fill the socket, and
 * libuv holds the rest. When the manager closes it, the items whose reply frames the
 * socket took are the client's (it can still read them), and only the others go back to
 * the queue, in order: none is lost, none is had twice. */
static void items_of_unsent_replies_go_back_once(void **state)
{
    (void)state;
    enum { ITEMS = 40 };
    mpx_server *s = fx_server();
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t q = fx_create(s, b, "Queue", "()");
    for (int i = 0; i < ITEMS; i++) {
        char *args = item_args(i);
        fx_call(s, b, q, "put", args, "ok None");
        free(args);
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < ITEMS; i++)
        add_call(a, q, "get", "()", &buf, &len, &cap);
    write_all(s, a, buf, len);
    free(buf);
    for (int i = 0; i < 20; i++) {
        fx_run(s);
        usleep(500);
    }
    fx_call(s, b, q, "qsize", "()", "ok 0"); /* all taken, in replies not read */
    fx_write_frame(a, "\x07\x00", 2);      /* no protobuf: the manager closes a */
    for (int i = 0; i < 5; i++)
        fx_run(s);
    int got[ITEMS];
    int k = read_items_until_closed(s, a, got, ITEMS);
    printf("# %d of %d items were in the socket when it closed\n", k, ITEMS);
    assert_true(k > 0 && k < ITEMS); /* some in the socket, some in libuv's hands */
    for (int i = 0; i < k; i++)
        assert_int_equal(got[i], i);
    char want[32];
    snprintf(want, sizeof want, "ok %d", ITEMS - k);
    fx_call(s, b, q, "qsize", "()", want);
    for (int i = k; i < ITEMS; i++) {
        char *reply = fx_reply(s, b, fx_send(b, q, "get", "()"), 2000);
        assert_non_null(reply);
        assert_int_equal(item_of(reply), i);
        free(reply);
    }
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* ---- output limits ------------------------------------------------------------------------ */

/* Sends n pipelined calls in one write; reads none of their replies. */
static void pipeline(mpx_server *s, fx_client *c, int n, uint64_t object_id, const char *method,
                     const char *args)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < n; i++)
        add_call(c, object_id, method, args, &buf, &len, &cap);
    write_all(s, c, buf, len);
    free(buf);
}

/* Runs the loop for ms milliseconds. */
static void run_for(mpx_server *s, int ms)
{
    int64_t end = fx_now_ms() + ms;
    while (fx_now_ms() < end) {
        fx_run(s);
        usleep(1000);
    }
}

/* A dict holding 'v', a str of `bytes` bytes; returns its id. */
static uint64_t dict_with_value(mpx_server *s, fx_client *c, size_t bytes)
{
    uint64_t d = fx_create(s, c, "dict", "()");
    char *args = malloc(bytes + 16);
    assert_non_null(args);
    memcpy(args, "('v', '", 7);
    memset(args + 7, 'x', bytes);
    strcpy(args + 7 + bytes, "')");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    uint64_t id = add_call(c, d, "__setitem__", args, &buf, &len, &cap);
    free(args);
    write_all(s, c, buf, len);
    free(buf);
    fx_expect(s, c, id, 2000, "ok None");
    return d;
}

/* A client that pipelines gets of a large value and reads nothing is closed once the
 * replies the manager holds for it pass the hard limit; the others are served on. */
static void a_client_past_the_hard_output_limit_is_closed(void **state)
{
    (void)state;
    mpx_server_opts opts = fx_opts();
    opts.output_limit_hard = (size_t)1 << 20;
    mpx_server *s = fx_server_with(&opts);
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t d = dict_with_value(s, b, 32768);
    pipeline(s, a, 200, d, "__getitem__", "('v',)"); /* 6.4 MiB of replies */
    assert_true(closed_within(s, a, 2000));
    assert_int_equal(s->sessions.len, 1);
    fx_call(s, b, 0, "ping", "()", "ok 'pong'");
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* The items that a non-reading client's gets took go back to the queue when the hard limit
 * closes it, in order; only those whose replies were wholly in its socket are its own. */
static void items_taken_by_a_client_closed_at_the_limit_go_back(void **state)
{
    (void)state;
    enum { ITEMS = 40 };
    mpx_server_opts opts = fx_opts();
    opts.output_limit_hard = (size_t)256 << 10;
    mpx_server *s = fx_server_with(&opts);
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t q = fx_create(s, b, "Queue", "()");
    for (int i = 0; i < ITEMS; i++) {
        char *args = item_args(i);
        fx_call(s, b, q, "put", args, "ok None");
        free(args);
    }
    pipeline(s, a, 8, q, "get", "()"); /* 128 KiB: into the socket */
    run_for(s, 20);
    pipeline(s, a, ITEMS - 8, q, "get", "()"); /* the rest: past the limit */
    run_for(s, 20);
    assert_int_equal(s->sessions.len, 1);
    int got[ITEMS];
    int k = read_items_until_closed(s, a, got, ITEMS);
    printf("# closed at the limit: %d of %d items had reached the client\n", k, ITEMS);
    assert_true(k < ITEMS);
    for (int i = 0; i < k; i++)
        assert_int_equal(got[i], i);
    char want[32];
    snprintf(want, sizeof want, "ok %d", ITEMS - k);
    fx_call(s, b, q, "qsize", "()", want);
    for (int i = k; i < ITEMS; i++) {
        char *reply = fx_reply(s, b, fx_send(b, q, "get", "()"), 2000);
        assert_non_null(reply);
        assert_int_equal(item_of(reply), i);
        free(reply);
    }
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* Past the soft limit a client is closed only once it has stayed past it for
 * output_limit_soft_seconds: not before, and with nothing else happening meanwhile. */
static void a_client_over_the_soft_limit_for_its_seconds_is_closed(void **state)
{
    (void)state;
    mpx_server_opts opts = fx_opts();
    opts.output_limit_soft = (size_t)128 << 10;
    opts.output_limit_soft_seconds = 1;
    mpx_server *s = fx_server_with(&opts);
    fx_client *a = fx_connect(s), *b = fx_connect(s);
    uint64_t d = dict_with_value(s, b, 32768);
    int64_t t0 = fx_now_ms();
    pipeline(s, a, 40, d, "__getitem__", "('v',)"); /* 1.3 MB: the socket takes a part */
    run_for(s, 500);
    if (fx_now_ms() - t0 < 900)
        assert_int_equal(s->sessions.len, 2); /* over it, not for long enough yet */
    int64_t deadline = t0 + 5000;
    while (s->sessions.len == 2 && fx_now_ms() < deadline) {
        fx_run(s);
        usleep(1000);
    }
    int64_t took = fx_now_ms() - t0;
    printf("# closed %lld ms after its replies passed the soft limit (1 s)\n",
           (long long)took);
    assert_int_equal(s->sessions.len, 1);
    assert_true(took >= 990);
    fx_call(s, b, 0, "ping", "()", "ok 'pong'");
    fx_client *all[] = {a, b};
    fx_free(s, all, 2);
}

/* A client past the soft limit that reads its replies in time is not closed. */
static void a_client_that_reads_in_time_stays(void **state)
{
    (void)state;
    mpx_server_opts opts = fx_opts();
    opts.output_limit_soft = (size_t)128 << 10;
    opts.output_limit_soft_seconds = 2;
    mpx_server *s = fx_server_with(&opts);
    fx_client *a = fx_connect(s);
    uint64_t d = dict_with_value(s, a, 32768);
    pipeline(s, a, 40, d, "__getitem__", "('v',)");
    run_for(s, 300); /* over the soft limit */
    static uint8_t frame[65536];
    for (int i = 0; i < 40; i++) {
        size_t len = 0;
        assert_int_equal(fx_read_frame(s, a, 2000, frame, &len), MPX_OK);
    }
    run_for(s, 2200); /* past the 2 s it would have had */
    assert_int_equal(s->sessions.len, 1);
    fx_call(s, a, 0, "ping", "()", "ok 'pong'");
    fx_client *all[] = {a};
    fx_free(s, all, 1);
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
        cmocka_unit_test(a_flood_of_calls_gives_way_to_another_client),
        cmocka_unit_test(slow_calls_give_way_within_the_time_budget),
        cmocka_unit_test(a_session_closed_with_requests_left_drops_them),
        cmocka_unit_test(items_of_unsent_replies_go_back_once),
        cmocka_unit_test(a_client_past_the_hard_output_limit_is_closed),
        cmocka_unit_test(items_taken_by_a_client_closed_at_the_limit_go_back),
        cmocka_unit_test(a_client_over_the_soft_limit_for_its_seconds_is_closed),
        cmocka_unit_test(a_client_that_reads_in_time_stays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
