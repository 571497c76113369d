/* server.c - the embeddable manager: options, listeners, the loop, a clean stop.
 *
 * mpx_server_run serves until mpx_server_stop, which may come from a signal handler or
 * another thread (uv_async_send is safe for both); then every listener and session is
 * closed and the loop drains, so nothing is left half-written when run returns.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "scheme.h"
#include "server_internal.h"
#include "tls.h"
#include "wait.h"

void mpx_server_opts_init(mpx_server_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->max_message = FRAME_DEFAULT_MAX;
    opts->max_connections = 1024;
    opts->max_unauthenticated = 128;
    opts->auth_timeout_ms = 2000;
    opts->log_level = MPX_LOG_INFO;
    opts->max_waiters = 1000000;
    opts->max_waiters_per_session = 10000;
    opts->output_limit_soft_seconds = 60;
    opts->turn_frames = 1000;
    opts->turn_budget_us = 1000;
}

#define OUTPUT_HARD_MIN ((size_t)256 << 20)
#define OUTPUT_SOFT_MIN ((size_t)64 << 20)

/* The output limits left at 0: a floor, or room for replies of max_message bytes. */
static void default_output_limits(mpx_server_opts *o)
{
    if (o->output_limit_hard == 0)
        o->output_limit_hard = o->max_message <= OUTPUT_HARD_MIN / 2 ? OUTPUT_HARD_MIN
                               : o->max_message > SIZE_MAX / 2       ? SIZE_MAX
                                                                     : 2 * o->max_message;
    if (o->output_limit_soft == 0)
        o->output_limit_soft = o->max_message > OUTPUT_SOFT_MIN ? o->max_message
                                                                : OUTPUT_SOFT_MIN;
    if (o->output_limit_soft_seconds <= 0)
        o->output_limit_soft_seconds = 60;
}

/* The safe point, once per turn of the loop before it polls (Redis's beforeSleep): ends
 * the sessions flagged to close, re-runs the parked calls of signalled wait lists, writes
 * the replies gathered; again while any of that flagged or signalled more. */
static void run_safe_point(mpx_server *s)
{
    do {
        sessions_close_flagged(s);
        wait_run_signalled(s);
        sessions_flush(s);
    } while (!list_empty(&s->to_close) || !list_empty(&s->signalled));
}

static void on_safe_point(uv_prepare_t *p)
{
    run_safe_point(p->data);
}

/* After the poll: the sessions whose requests outlasted their turn's budget get another
 * one, once the reads that poll found have had theirs, and their replies are written
 * first (the safe point runs then too), so that they do not wait for that budget. */
static void on_backlog(uv_check_t *c)
{
    mpx_server *s = c->data;
    if (list_empty(&s->backlog))
        return;
    run_safe_point(s);
    sessions_serve_backlog(s);
}

/* Closes every listener and session; the loop then drains and run returns. */
static void shut_down(mpx_server *s, const char *reason)
{
    s->stopping = 1;
    for (int i = 0; i < s->nlisteners; i++)
        listener_close(s->listeners[i]);
    s->nlisteners = 0;
    sessions_close_all(s, reason);
    run_safe_point(s);
    uv_close((uv_handle_t *)&s->safe_point, NULL);
    uv_close((uv_handle_t *)&s->backlog_check, NULL);
    uv_close((uv_handle_t *)&s->backlog_idle, NULL);
}

static void on_stop(uv_async_t *async)
{
    mpx_server *s = async->data;
    if (s->stopping)
        return;
    mpx_server_log(s, MPX_LOG_INFO, "event=stop sessions=%zu objects=%zu", s->sessions.len,
                   s->objects.len);
    shut_down(s, "manager stopping");
    uv_close((uv_handle_t *)&s->stop_async, NULL);
}

int mpx_server_new(const mpx_server_opts *opts, mpx_server **out)
{
    *out = NULL;
    if (opts == NULL || opts->authkey == NULL || opts->keylen == 0)
        return MPX_EINVAL;
    mpx_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return MPX_ENOMEM;
    s->opts = *opts;
    if (s->opts.max_message == 0)
        s->opts.max_message = FRAME_DEFAULT_MAX;
    if (s->opts.max_connections <= 0)
        s->opts.max_connections = 1024;
    if (s->opts.max_unauthenticated <= 0)
        s->opts.max_unauthenticated = 128;
    if (s->opts.max_waiters <= 0)
        s->opts.max_waiters = 1000000;
    if (s->opts.max_waiters_per_session <= 0)
        s->opts.max_waiters_per_session = 10000;
    if (s->opts.auth_timeout_ms <= 0)
        s->opts.auth_timeout_ms = 2000;
    default_output_limits(&s->opts);
    if (s->opts.turn_frames <= 0)
        s->opts.turn_frames = 1000;
    if (s->opts.turn_budget_us <= 0)
        s->opts.turn_budget_us = 1000;
    s->authkey = malloc(opts->keylen);
    bool admin = opts->admin_key != NULL && opts->admin_keylen > 0;
    s->admin_key = admin ? malloc(opts->admin_keylen) : NULL;
    if (s->authkey == NULL || (admin && s->admin_key == NULL) || uv_loop_init(&s->loop) != 0) {
        free(s->authkey);
        free(s->admin_key);
        free(s);
        return MPX_ENOMEM;
    }
    memcpy(s->authkey, opts->authkey, opts->keylen);
    s->opts.authkey = s->authkey;
    if (s->admin_key != NULL)
        memcpy(s->admin_key, opts->admin_key, opts->admin_keylen);
    s->opts.admin_key = s->admin_key;
    uv_async_init(&s->loop, &s->stop_async, on_stop);
    s->stop_async.data = s;
    uv_prepare_init(&s->loop, &s->safe_point);
    s->safe_point.data = s;
    uv_prepare_start(&s->safe_point, on_safe_point);
    uv_check_init(&s->loop, &s->backlog_check);
    s->backlog_check.data = s;
    uv_check_start(&s->backlog_check, on_backlog);
    uv_idle_init(&s->loop, &s->backlog_idle); /* session.c runs it while there is one */
    s->backlog_idle.data = s;
    mem_counter *outer = mem_scope_enter(&s->mem);
    int rc = objects_init(s);
    mem_scope_leave(outer);
    if (rc != MPX_OK) {
        mpx_server_free(s);
        return rc;
    }
    *out = s;
    return MPX_OK;
}

static void on_accept(listener *l, uv_stream_t *stream, const char *peer, void *data)
{
    session_accept(data, stream, peer, listener_is_tls(l));
}

int mpx_server_listen(mpx_server *s, const char *address, char *bound, size_t boundlen,
                      char *err, size_t errlen)
{
    mpx_address addr, actual;
    int rc = address_parse(address, &addr, err, errlen);
    if (rc != MPX_OK)
        return rc;
    if (s->nlisteners == SERVER_MAX_LISTENERS) {
        snprintf(err, errlen, "at most %d listen addresses", SERVER_MAX_LISTENERS);
        return MPX_ELIMIT;
    }
    if (transport_scheme_of(&addr)->tls && s->tls == NULL &&
        (rc = tls_server_config(s->opts.tls_cert, s->opts.tls_key, s->opts.tls_ca, &s->tls,
                                err, errlen)) != MPX_OK)
        return rc;
    listener *l;
    rc = listener_open(&s->loop, &addr, 511, on_accept, s, &l, &actual, err, errlen);
    if (rc != MPX_OK)
        return rc;
    s->listeners[s->nlisteners++] = l;
    char text[400];
    if (address_format(&actual, text, sizeof text) < 0)
        snprintf(text, sizeof text, "%s", address);
    if (bound != NULL && boundlen > 0)
        snprintf(bound, boundlen, "%s", text);
    mpx_server_log(s, MPX_LOG_INFO, "event=listen address=%s", text);
    return MPX_OK;
}

int mpx_server_run(mpx_server *s)
{
    mem_counter *outer = mem_scope_enter(&s->mem);
    int rc = uv_run(&s->loop, UV_RUN_DEFAULT);
    (void)rc;
    mem_scope_leave(outer);
    return MPX_OK;
}

void mpx_server_stop(mpx_server *s)
{
    uv_async_send(&s->stop_async);
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void mpx_server_free(mpx_server *s)
{
    if (s == NULL)
        return;
    mem_counter *outer = mem_scope_enter(&s->mem);
    if (!s->stopping) {
        /* never ran, or ran without a stop: close what is open and drain */
        shut_down(s, "manager freed");
        uv_walk(&s->loop, close_any, NULL);
    }
    uv_run(&s->loop, UV_RUN_DEFAULT);
    objects_free(s);
    uv_run(&s->loop, UV_RUN_DEFAULT); /* the handles the objects' destroys closed */
    uv_loop_close(&s->loop);
    tls_config_free(s->tls);
    mem_scope_leave(outer);
    assert(s->mem.used == 0); /* all given back, each block in the scope it came from */
    free(s->authkey);
    free(s->admin_key);
    free(s);
}
