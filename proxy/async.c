/* async.c - the libuv client (mpx/async.h): calls queued, written once per loop turn,
 * replies dispatched to callbacks by call id.
 *
 * The connection and handshake are made with the blocking socket code the synchronous
 * client uses, then the socket is handed to libuv. Requests are appended to one buffer;
 * a prepare handle (run just before the loop waits for I/O, as Redis's beforeSleep)
 * writes it out. Calls in flight live in a u64map by call id; their records are reused
 * through a free list, so a steady stream of calls allocates nothing for them.
 * Invariant: every call accepted gets exactly one callback, from a reply or from the
 * close that fails what is left.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "address.h"
#include "auth.h"
#include "codec.h"
#include "frame.h"
#include "mpx/async.h"
#include "proxy_internal.h"
#include "scheme.h"
#include "sock.h"
#include "stream_out.h"
#include "u64map.h"

typedef struct async_call {
    mpx_async_cb cb;
    void *data;
    struct async_call *next_free;
} async_call;

struct mpx_async {
    uv_loop_t *loop;
    transport_stream conn; /* of the kind its address's scheme makes */
    uv_prepare_t flusher;
    int open_handles;     /* conn and flusher, until libuv has closed them */
    bool closing;         /* the connection is over (or ending) */
    bool released;        /* mpx_async_close was called: free once the handles are closed */
    frame_reader in;
    frame_buf out;        /* requests not yet handed to libuv (plaintext under TLS) */
    tls_config *tls_config; /* tls:// connections: the verification, the connection, */
    tls_conn *tls;        /* the records to write (out sealed) and one read's records */
    frame_buf tls_out;
    uint8_t *tls_in;
    arena scratch;        /* the codec's, per message */
    uint64_t next_call_id;
    u64map calls;         /* call id -> async_call */
    async_call *free_calls;
    size_t max_message;
    char address[400];
    int err;              /* the last failure: of the connection, or of a call */
    char errmsg[MPX_ERRMSG_MAX];
};

static int async_fail(mpx_async *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int async_fail(mpx_async *a, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->errmsg, sizeof a->errmsg, fmt, ap);
    va_end(ap);
    a->err = code;
    return code;
}

int mpx_async_errcode(const mpx_async *a)
{
    return a->err;
}

const char *mpx_async_errmsg(const mpx_async *a)
{
    return a->errmsg;
}

static uv_stream_t *stream_of(mpx_async *a)
{
    return &a->conn.stream;
}

/* ---- calls in flight ---------------------------------------------------------------------- */

static async_call *call_new(mpx_async *a)
{
    async_call *call = a->free_calls;
    if (call != NULL) {
        a->free_calls = call->next_free;
        return call;
    }
    return malloc(sizeof *call);
}

static void call_recycle(mpx_async *a, async_call *call)
{
    call->next_free = a->free_calls;
    a->free_calls = call;
}

/* Runs and retires the call with that id; an unknown id (never ours) is ignored. */
static void call_finish(mpx_async *a, uint64_t id, int status, const char *message,
                        mpx_value *result)
{
    async_call *call = u64map_del(&a->calls, id);
    if (call == NULL)
        return;
    mpx_async_cb cb = call->cb;
    void *data = call->data;
    call_recycle(a, call);
    cb(a, status, message, result, data);
}

/* Every call still in flight gets status (the connection is over), oldest first. The ids
 * are taken first: finishing a call changes the map under an iteration. */
static int compare_ids(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void fail_all(mpx_async *a, int status, const char *message)
{
    size_t n = a->calls.len, pos = 0, k = 0;
    uint64_t *ids = malloc((n ? n : 1) * sizeof *ids), id;
    void *unused;
    if (ids != NULL) {
        while (k < n && u64map_next(&a->calls, &pos, &id, &unused))
            ids[k++] = id;
        qsort(ids, k, sizeof *ids, compare_ids);
    }
    for (size_t i = 0; i < k; i++) {
        mpx_value none = mpx_value_none();
        call_finish(a, ids[i], status, message, &none);
    }
    free(ids);
    while (a->calls.len > 0) { /* out of memory above: one at a time */
        pos = 0;
        if (!u64map_next(&a->calls, &pos, &id, &unused))
            break;
        mpx_value none = mpx_value_none();
        call_finish(a, id, status, message, &none);
    }
}

/* ---- closing ------------------------------------------------------------------------------ */

static void async_free(mpx_async *a)
{
    frame_reader_free(&a->in);
    frame_buf_free(&a->out);
    frame_buf_free(&a->tls_out);
    tls_conn_free(a->tls);
    tls_config_free(a->tls_config);
    free(a->tls_in);
    arena_free(&a->scratch);
    u64map_free(&a->calls);
    while (a->free_calls != NULL) {
        async_call *next = a->free_calls->next_free;
        free(a->free_calls);
        a->free_calls = next;
    }
    free(a);
}

/* The struct outlives a connection that ended by itself, until the program releases it:
 * its pointer stays valid (calls on it answer MPX_ECLOSED). */
static void on_handle_closed(uv_handle_t *h)
{
    mpx_async *a = h->data;
    if (--a->open_handles == 0 && a->released)
        async_free(a);
}

static void shut(mpx_async *a, int status, const char *why)
{
    if (a->closing)
        return;
    a->closing = true;
    uv_close((uv_handle_t *)&a->conn, on_handle_closed);
    uv_close((uv_handle_t *)&a->flusher, on_handle_closed);
    async_fail(a, status, "connection to %s ended: %s", a->address, why);
    char message[sizeof a->errmsg];
    snprintf(message, sizeof message, "%s", a->errmsg);
    fail_all(a, status, message);
}

void mpx_async_close(mpx_async *a)
{
    if (a == NULL)
        return;
    a->released = true;
    if (a->closing && a->open_handles == 0)
        async_free(a);
    else
        shut(a, MPX_ECLOSED, "closed by the program");
}

/* ---- writing ------------------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status)
{
    mpx_async *a = req->data;
    stream_write_done((stream_write *)req);
    if (status < 0 && status != UV_ECANCELED)
        shut(a, MPX_EIO, uv_strerror(status));
}

/* Before the loop waits: everything queued this turn goes out in one write. */
static void on_prepare(uv_prepare_t *p)
{
    mpx_async *a = p->data;
    uv_prepare_stop(p);
    if (a->closing)
        return;
    char err[160];
    if (a->tls != NULL && a->out.len > 0) { /* seal the requests into records */
        int sealed = tls_conn_write(a->tls, a->out.data, a->out.len, err, sizeof err);
        a->out.len = 0;
        if (sealed == MPX_OK)
            sealed = tls_conn_take_out(a->tls, &a->tls_out);
        if (sealed != MPX_OK) {
            shut(a, sealed, sealed == MPX_ENOMEM ? "out of memory" : err);
            return;
        }
    }
    stream_write *queued;
    int rc = stream_send(stream_of(a), a->tls != NULL ? &a->tls_out : &a->out, sizeof *queued,
                         on_write, &queued);
    if (rc < 0)
        shut(a, MPX_EIO, uv_strerror(rc));
    else if (rc == 1)
        queued->req.data = a;
}

int mpx_async_call(mpx_async *a, uint64_t object_id, const char *method,
                   const mpx_value *args, size_t nargs, double timeout, mpx_async_cb cb,
                   void *data)
{
    if (a == NULL)
        return MPX_EINVAL;
    if (method == NULL || cb == NULL || (nargs > 0 && args == NULL))
        return async_fail(a, MPX_EINVAL, "no method, callback or arguments given");
    if (a->closing) /* the message of how it ended stays */
        return a->err != MPX_OK ? MPX_ECLOSED : async_fail(a, MPX_ECLOSED, "the connection ended");
    async_call *call = call_new(a);
    if (call == NULL)
        return async_fail(a, MPX_ENOMEM, "out of memory");
    uint64_t id = a->next_call_id++;
    call->cb = cb;
    call->data = data;
    int rc = u64map_put(&a->calls, id, call);
    if (rc == MPX_OK &&
        (rc = proxy_encode_request(&a->scratch, &a->out, a->max_message, id, object_id, method,
                                   args, nargs, timeout)) != MPX_OK)
        u64map_del(&a->calls, id);
    if (rc != MPX_OK) {
        call_recycle(a, call);
        return async_fail(a, rc, "cannot send %s: %s", method,
                          rc == MPX_EVALUE ? "arguments nested too deeply"
                          : rc == MPX_ETOOBIG ? "over the size limit" : "out of memory");
    }
    uv_prepare_start(&a->flusher, on_prepare);
    return MPX_OK;
}

size_t mpx_async_pending(const mpx_async *a)
{
    return a->calls.len;
}

/* ---- reading ------------------------------------------------------------------------------ */

#define ASYNC_TLS_READ 65536u

/* Opens one read's records into the frame reader. MPX_OK, or the connection is shut. */
static int tls_open(mpx_async *a, const uint8_t *data, size_t len)
{
    char err[160] = "";
    int rc = tls_conn_feed(a->tls, data, len);
    for (size_t got = 1; rc == MPX_OK && got > 0;) {
        uint8_t *ptr;
        size_t avail;
        rc = frame_reader_reserve(&a->in, ASYNC_TLS_READ, &ptr, &avail);
        if (rc == MPX_OK)
            rc = tls_conn_read(a->tls, ptr, avail, &got, err, sizeof err);
        if (rc == MPX_OK)
            frame_reader_commit(&a->in, got);
    }
    if (rc == MPX_OK && tls_conn_out_len(a->tls) > 0) { /* a key update's answer */
        rc = tls_conn_take_out(a->tls, &a->tls_out);
        uv_prepare_start(&a->flusher, on_prepare);
    }
    if (rc != MPX_OK)
        shut(a, rc, rc == MPX_ECLOSED ? "closed by the manager" : err[0] ? err : "tls failure");
    return rc;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    mpx_async *a = h->data;
    uint8_t *ptr;
    size_t avail;
    if (a->tls != NULL) {
        *buf = uv_buf_init((char *)a->tls_in, ASYNC_TLS_READ);
        return;
    }
    if (frame_reader_reserve(&a->in, suggested, &ptr, &avail) != MPX_OK) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init((char *)ptr, (unsigned)(avail > UINT32_MAX ? UINT32_MAX : avail));
}

/* Decodes one reply frame and runs its callback. */
static void dispatch_reply(mpx_async *a, const uint8_t *frame, size_t len)
{
    mpx_reply rep;
    char err[256];
    if (codec_reply_decode(frame, len, &rep, err, sizeof err) != MPX_OK) {
        shut(a, MPX_EPROTO, err);
        return;
    }
    call_finish(a, rep.call_id, rep.err, rep.err == MPX_OK ? "" : rep.message, &rep.value);
    codec_reply_clear(&rep);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    mpx_async *a = s->data;
    (void)buf;
    if (nread < 0) {
        shut(a, nread == UV_EOF ? MPX_ECLOSED : MPX_EIO,
             nread == UV_EOF ? "closed by the manager" : uv_strerror((int)nread));
        return;
    }
    if (a->tls != NULL) {
        if (tls_open(a, (const uint8_t *)buf->base, (size_t)nread) != MPX_OK)
            return;
    } else {
        frame_reader_commit(&a->in, (size_t)nread);
    }
    const uint8_t *frame;
    size_t len;
    int rc = 0;
    /* a callback may close a: its buffers live until the handles have closed */
    while (!a->closing && (rc = frame_reader_next(&a->in, &frame, &len)) == 1)
        dispatch_reply(a, frame, len);
    if (rc < 0 && !a->closing)
        shut(a, MPX_EPROTO, rc == MPX_ETOOBIG ? "a reply over the size limit" : "a bad frame");
}

/* ---- connecting --------------------------------------------------------------------------- */

/* Makes the libuv handles: the connection's (of the kind its address needs) and the
 * flusher. Only a bad loop makes this fail. */
static int init_handles(mpx_async *a, const mpx_address *addr)
{
    int rc = transport_scheme_of(addr)->stream_init(a->loop, &a->conn);
    if (rc != 0)
        return rc;
    stream_of(a)->data = a;
    uv_prepare_init(a->loop, &a->flusher);
    a->flusher.data = a;
    a->open_handles = 2;
    return 0;
}

static int open_fd(mpx_async *a, const mpx_address *addr, int fd)
{
    return transport_scheme_of(addr)->stream_open(&a->conn, fd);
}

int mpx_async_connect(struct uv_loop_s *loop, const char *address, const void *authkey,
                      size_t keylen, const mpx_client_opts *opts, mpx_async **out)
{
    mpx_client_opts defaults;
    if (opts == NULL) {
        mpx_client_opts_init(&defaults);
        opts = &defaults;
    }
    mpx_async *a = *out = calloc(1, sizeof *a);
    if (a == NULL)
        return MPX_ENOMEM;
    a->loop = loop;
    a->closing = true; /* until it serves: a failed handle has no libuv handles */
    a->next_call_id = 1;
    snprintf(a->address, sizeof a->address, "%s", address ? address : "");
    frame_reader_init(&a->in, opts->max_message);
    arena_init(&a->scratch);
    a->max_message = opts->max_message;
    u64map_init(&a->calls);
    mpx_address addr;
    char why[256];
    if (address == NULL || address_parse(address, &addr, why, sizeof why) != MPX_OK)
        return async_fail(a, MPX_EADDR, "bad address '%s': %s", a->address, why);
    if (authkey == NULL || keylen == 0)
        return async_fail(a, MPX_EINVAL, "an authkey is required");
    int64_t deadline = sock_deadline(opts->connect_timeout_ms);
    int fd, rc = sock_connect(&addr, deadline, &fd, why, sizeof why);
    if (rc != MPX_OK)
        return async_fail(a, rc, "cannot connect to %s: %s", address, why);
    if (transport_scheme_of(&addr)->tls &&
        ((a->tls_in = malloc(ASYNC_TLS_READ)) == NULL ||
         (rc = proxy_start_tls(opts, addr.host, fd, deadline, &a->tls_config, &a->tls, why,
                               sizeof why)) != MPX_OK)) {
        close(fd);
        return async_fail(a, a->tls_in == NULL ? MPX_ENOMEM : rc, "handshake with %s failed: %s",
                          address, a->tls_in == NULL ? "out of memory" : why);
    }
    sock_link link = {.fd = fd, .tls = a->tls};
    if ((rc = auth_client_handshake(&link, authkey, keylen, deadline, why, sizeof why)) != 0) {
        close(fd);
        return async_fail(a, rc, "handshake with %s failed: %s", address, why);
    }
    if ((rc = init_handles(a, &addr)) != 0) {
        close(fd);
        return async_fail(a, MPX_EINVAL, "cannot make a libuv handle: %s", uv_strerror(rc));
    }
    a->closing = false;
    if ((rc = open_fd(a, &addr, fd)) != 0)
        close(fd);
    else
        rc = uv_read_start(stream_of(a), on_alloc, on_read);
    if (rc != 0) {
        shut(a, MPX_EIO, "cannot serve the connection"); /* its handles close with the loop */
        return async_fail(a, MPX_EIO, "cannot serve the connection to %s: %s", address,
                          uv_strerror(rc));
    }
    return MPX_OK;
}
