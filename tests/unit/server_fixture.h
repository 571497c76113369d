/* server_fixture.h - a real mpx_server and its clients in one process, on one loop.
 *
 * The server is the embedded manager (mpx_server_new); each client is one end of a
 * socketpair whose other end the server serves as a session, exactly as it serves an
 * accepted connection. The test plays the client: it goes through the real handshake,
 * writes request frames and reads reply frames, and runs the server's loop in between
 * (fx_run), so parking, waking, timeouts and a session ending mid-wait happen in the order
 * the test says, with no thread and no other process. Include after <cmocka.h>.
 */
#ifndef MPX_TEST_SERVER_FIXTURE_H
#define MPX_TEST_SERVER_FIXTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#include "auth.h"
#include "codec.h"
#include "mpx/value.h"
#include "server_internal.h"

#define FX_KEY "fixture-key"

typedef struct fx_client {
    int fd;             /* our end, non-blocking */
    uint8_t buf[65536]; /* reply bytes read and not yet taken */
    size_t len;
    uint64_t next_id;
} fx_client;

static inline int64_t fx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The fixture's options: the defaults, its key, errors only in the log. */
static inline mpx_server_opts fx_opts(void)
{
    mpx_server_opts opts;
    mpx_server_opts_init(&opts);
    opts.authkey = FX_KEY;
    opts.keylen = strlen(FX_KEY);
    opts.log_level = MPX_LOG_ERROR;
    return opts;
}

static inline mpx_server *fx_server_with(const mpx_server_opts *opts)
{
    mpx_server *s;
    assert_int_equal(mpx_server_new(opts, &s), MPX_OK);
    return s;
}

static inline mpx_server *fx_server(void)
{
    mpx_server_opts opts = fx_opts();
    return fx_server_with(&opts);
}

/* One turn of the server's loop without waiting: what is readable is read, due timers
 * fire, the safe point runs and writes the replies. */
static inline void fx_run(mpx_server *s)
{
    mem_counter *outer = mem_scope_enter(&s->mem); /* as mpx_server_run does */
    uv_run(&s->loop, UV_RUN_NOWAIT);
    mem_scope_leave(outer);
}

/* One write per frame: a unix socket's buffer counts writes, not only bytes. */
static inline void fx_write_frame(fx_client *c, const void *payload, size_t len)
{
    uint8_t head[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                       (uint8_t)len};
    struct iovec iov[2] = {{head, 4}, {(void *)payload, len}};
    assert_int_equal(writev(c->fd, iov, 2), (ssize_t)(len + 4));
}

/* Runs the loop until a whole frame has arrived (MPX_OK, copied to out), the server
 * closed our connection (MPX_ECLOSED) or wait_ms passed (MPX_ETIMEOUT). */
static inline int fx_read_frame(mpx_server *s, fx_client *c, int wait_ms, uint8_t *out,
                                size_t *outlen)
{
    int64_t deadline = fx_now_ms() + wait_ms;
    for (;;) {
        if (c->len >= 4) {
            size_t n = (size_t)c->buf[0] << 24 | (size_t)c->buf[1] << 16 |
                       (size_t)c->buf[2] << 8 | c->buf[3];
            assert_true(n <= sizeof c->buf - 4);
            if (c->len >= 4 + n) {
                memcpy(out, c->buf + 4, n);
                *outlen = n;
                memmove(c->buf, c->buf + 4 + n, c->len - 4 - n);
                c->len -= 4 + n;
                return MPX_OK;
            }
        }
        fx_run(s);
        ssize_t got = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (got == 0)
            return MPX_ECLOSED;
        if (got > 0) {
            c->len += (size_t)got;
            continue;
        }
        if (fx_now_ms() >= deadline)
            return MPX_ETIMEOUT;
        usleep(500);
    }
}

/* A new session of s on a socketpair, before any handshake: the server has accepted it
 * and sent (or is about to send) its challenge. */
static inline fx_client *fx_attach(mpx_server *s)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fx_client *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->fd = sv[0];
    c->next_id = 1;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    uv_pipe_t *pipe = malloc(sizeof *pipe); /* the session (or the refusal) frees it */
    assert_non_null(pipe);
    assert_int_equal(uv_pipe_init(&s->loop, pipe, 0), 0);
    assert_int_equal(uv_pipe_open(pipe, sv[1]), 0);
    mem_counter *outer = mem_scope_enter(&s->mem);
    session_accept(s, (uv_stream_t *)pipe, "fixture", false);
    mem_scope_leave(outer);
    fx_run(s);
    return c;
}

/* The first half of the handshake: answers the server's challenge with the key and reads
 * its #WELCOME#. The client has then proven the key; the server has not proven itself. */
static inline void fx_prove_key(mpx_server *s, fx_client *c)
{
    uint8_t frame[512], answer[AUTH_RESPONSE_MAX];
    size_t len = 0, answer_len = 0;
    char err[128];
    assert_int_equal(fx_read_frame(s, c, 2000, frame, &len), MPX_OK); /* its challenge */
    assert_int_equal(auth_response_make(FX_KEY, strlen(FX_KEY), frame, len, answer,
                                        &answer_len, err, sizeof err),
                     MPX_OK);
    fx_write_frame(c, answer, answer_len);
    assert_int_equal(fx_read_frame(s, c, 2000, frame, &len), MPX_OK);
    assert_memory_equal(frame, AUTH_WELCOME, strlen(AUTH_WELCOME));
}

/* The second half: challenges the server, checks its answer, sends #WELCOME#. */
static inline void fx_check_server(mpx_server *s, fx_client *c)
{
    uint8_t frame[512], challenge[AUTH_CHALLENGE_MAX];
    size_t len = 0, challenge_len = 0;
    char err[128];
    assert_int_equal(auth_challenge_make(challenge, &challenge_len), MPX_OK);
    fx_write_frame(c, challenge, challenge_len); /* ours */
    assert_int_equal(fx_read_frame(s, c, 2000, frame, &len), MPX_OK);
    assert_int_equal(auth_response_verify(FX_KEY, strlen(FX_KEY), challenge, challenge_len,
                                          frame, len, err, sizeof err),
                     MPX_OK);
    fx_write_frame(c, AUTH_WELCOME, strlen(AUTH_WELCOME));
    fx_run(s);
}

/* A session of s on a socketpair, authenticated through the real handshake. */
static inline fx_client *fx_connect(mpx_server *s)
{
    fx_client *c = fx_attach(s);
    fx_prove_key(s, c);
    fx_check_server(s, c);
    return c;
}

/* Sends a call with the n values of args; returns its call id. */
static inline uint64_t fx_send_values(fx_client *c, uint64_t object_id, const char *method,
                                      const mpx_value *args, size_t n)
{
    uint8_t *buf;
    size_t len = 0;
    uint64_t id = c->next_id++;
    assert_int_equal(codec_request_encode(id, object_id, method, args, n, false, 0, &buf, &len),
                     MPX_OK);
    fx_write_frame(c, buf, len);
    free(buf);
    return id;
}

/* Sends a call: args is a Python tuple literal ("(True, 0.5)"); returns its call id. */
static inline uint64_t fx_send(fx_client *c, uint64_t object_id, const char *method,
                               const char *args)
{
    mpx_value tuple;
    char err[128] = "";
    if (mpx_value_parse(args, &tuple, err, sizeof err) != MPX_OK)
        fail_msg("cannot parse %s: %s", args, err);
    uint64_t id = fx_send_values(c, object_id, method, mpx_value_items(&tuple),
                                 mpx_value_len(&tuple));
    mpx_value_free(&tuple);
    return id;
}

/* The next reply within wait_ms, as "ok <repr>" or "ExceptionName: message" (malloc'd),
 * checked to answer call_id; NULL when none came. */
static inline char *fx_reply(mpx_server *s, fx_client *c, uint64_t call_id, int wait_ms)
{
    static uint8_t frame[65536];
    size_t len = 0;
    if (fx_read_frame(s, c, wait_ms, frame, &len) != MPX_OK)
        return NULL;
    mpx_reply rep;
    char err[128];
    assert_int_equal(codec_reply_decode(frame, len, &rep, err, sizeof err), MPX_OK);
    assert_int_equal(rep.call_id, call_id);
    char *out;
    if (rep.err == MPX_OK) {
        char *repr = mpx_value_repr(&rep.value);
        assert_non_null(repr);
        assert_true(asprintf(&out, "ok %s", repr) > 0);
        free(repr);
    } else {
        assert_true(asprintf(&out, "%s: %s", mpx_err_name(rep.err), rep.message) > 0);
    }
    codec_reply_clear(&rep);
    return out;
}

/* Asserts the reply to call_id within wait_ms reads want. */
static inline void fx_expect(mpx_server *s, fx_client *c, uint64_t call_id, int wait_ms,
                             const char *want)
{
    char *got = fx_reply(s, c, call_id, wait_ms);
    if (got == NULL)
        fail_msg("no reply to call %llu within %d ms (wanted %s)", (unsigned long long)call_id,
                 wait_ms, want);
    assert_string_equal(got, want);
    free(got);
}

/* Asserts that no reply comes while the loop runs for wait_ms. */
static inline void fx_expect_none(mpx_server *s, fx_client *c, int wait_ms)
{
    uint8_t frame[256];
    size_t len = 0;
    assert_int_equal(fx_read_frame(s, c, wait_ms, frame, &len), MPX_ETIMEOUT);
}

/* Calls and expects an immediate answer; for setup steps. */
static inline void fx_call(mpx_server *s, fx_client *c, uint64_t object_id, const char *method,
                           const char *args, const char *want)
{
    fx_expect(s, c, fx_send(c, object_id, method, args), 2000, want);
}

/* create(type, *args) on object 0; returns the new object's id. */
static inline uint64_t fx_create(mpx_server *s, fx_client *c, const char *type,
                                 const char *ctor_args)
{
    char args[256];
    snprintf(args, sizeof args, "('%s',%s%s", type, ctor_args[1] == ')' ? "" : " ",
             ctor_args + 1);
    uint64_t id = fx_send(c, 0, "create", args);
    uint8_t frame[4096];
    size_t len = 0;
    assert_int_equal(fx_read_frame(s, c, 2000, frame, &len), MPX_OK);
    mpx_reply rep;
    char err[128];
    assert_int_equal(codec_reply_decode(frame, len, &rep, err, sizeof err), MPX_OK);
    assert_int_equal(rep.call_id, id);
    if (rep.err != MPX_OK)
        fail_msg("create %s%s: %s", type, ctor_args, rep.message);
    uint64_t object_id = mpx_value_ref_id(&rep.value);
    codec_reply_clear(&rep);
    return object_id;
}

/* Ends the client's connection, as a process that dies does; the server sees it on its
 * next turns. */
static inline void fx_close(mpx_server *s, fx_client *c)
{
    close(c->fd);
    free(c);
    for (int i = 0; i < 5; i++) {
        fx_run(s);
        usleep(200);
    }
}

/* The calls parked on the server now. */
static inline size_t fx_parked(const mpx_server *s)
{
    return s->nwaiters;
}

/* Stops the server: every session closes, the loop drains, the server is freed. */
static inline void fx_free(mpx_server *s, fx_client **clients, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (clients[i] != NULL) {
            close(clients[i]->fd);
            free(clients[i]);
        }
    mpx_server_free(s);
}

#endif
