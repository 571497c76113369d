/* session.c - one client connection: handshake, request frames in, reply frames out.
 *
 * A session starts unauthenticated: it challenges the client, checks the answer, answers
 * the client's challenge, and reads nothing but those frames (at most AUTH_MAX_FRAME
 * bytes each) until then, with a timer that closes it when the handshake takes too long.
 * Once ready, complete frames are decoded and dispatched in order, within a budget per turn
 * of the loop (a count and a time): a session past it reads nothing more and waits on
 * srv->backlog, and what it has left is served after the next poll, so one client's flood
 * of pipelined calls delays the others by about one budget.
 * The first request frame decides the dialect for good: a pickle opens Python's manager
 * protocol (python_dialect.h), anything else is mpx's protobuf; replies follow it.
 * Replies gather in the session's buffer, which the server's safe point writes once per
 * turn of the loop (sessions_flush); what the session holds of them (that buffer and what
 * the socket has not taken) is bounded by the output limits, past which it closes. A
 * session never closes in the middle of anything: session_close only flags it and queues
 * it on srv->to_close (Redis's CLIENT_CLOSE_ASAP), and the safe point ends it
 * (sessions_close_flagged), giving back its parked calls, its holds and its references.
 * A flagged session reads nothing more and gets no replies.
 * A result that must not be lost (a queue item) rides with the write that carries it, as
 * a delivery: freed once its reply frame is wholly in the socket, handed back to its type
 * when the session ends first (all of a write's, when it failed or the peer is gone).
 * Sessions are counted by state (srv->unauthenticated, srv->nauthenticated; the client's
 * right answer to our challenge moves one from the first to the second): unauthenticated
 * ones have their own small cap and give way to newcomers, so only clients that have
 * proven the key can fill max_connections.
 */
#include <assert.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "codec.h"
#include "mem.h"
#include "python_dialect.h"
#include "server_internal.h"
#include "stream_out.h"
#include "tls.h"
#include "wait.h"

/* A result in a reply not yet written (see mpx_undelivered_fn). */
typedef struct delivery {
    struct delivery *next;
    uint64_t object_id; /* looked up again: the object may be gone by then */
    mpx_undelivered_fn undelivered;
    size_t end;         /* where its reply frame ends in the batch (session.out) */
    mpx_value result;
} delivery;

typedef enum session_state {
    SESSION_WAIT_ANSWER,    /* we challenged; waiting for the client's answer */
    SESSION_WAIT_CHALLENGE, /* we welcomed the client; waiting for its challenge */
    SESSION_WAIT_WELCOME,   /* we answered; waiting for #WELCOME# */
    SESSION_READY,
} session_state;

/* The wire a ready session speaks, decided by its first request frame. */
typedef enum session_dialect {
    DIALECT_UNSET,
    DIALECT_PROTOBUF, /* mpx's own: protobuf requests with call ids (codec.h) */
    DIALECT_PYTHON,   /* Python's manager protocol: pickles (python_dialect.h) */
} session_dialect;

/* The session's flags word (Redis's client flags). */
enum {
    SESSION_CLOSE_ASAP = 1u << 0,  /* in srv->to_close: reads nothing more, gets no reply */
    SESSION_CLOSED = 1u << 1,      /* out of every server list; its handles are closing */
    SESSION_CLOSE_AFTER_WRITE = 1u << 2, /* #FAILURE# queued: close once it is written */
    SESSION_WRITE_PENDING = 1u << 3, /* in srv->pending_writes */
    SESSION_BACKLOG = 1u << 4,     /* in srv->backlog: frames left, its socket not read */
    SESSION_PEER_GONE = 1u << 5,   /* closes for the peer's end (EOF, a failed write) */
    SESSION_OVER_SOFT = 1u << 6,   /* its output is over the soft limit; limit_timer runs */
};

struct mpx_session {
    mpx_server *srv;
    list_node link;         /* in srv->sessions */
    list_node auth_link;    /* in srv->unauthenticated until it proves the key, or ends */
    list_node close_link;   /* in srv->to_close while SESSION_CLOSE_ASAP */
    list_node write_link;   /* in srv->pending_writes while SESSION_WRITE_PENDING */
    list_node backlog_link; /* in srv->backlog while SESSION_BACKLOG */
    uint64_t id;
    char peer[64];
    uv_stream_t *stream;
    uv_timer_t auth_timer;
    uv_timer_t limit_timer; /* while over the soft output limit: when it has been too long */
    int open_handles;       /* freed when the stream and both timers have closed */
    session_state state;
    session_dialect dialect;
    unsigned flags;
    char close_reason[160]; /* why it closes, once flagged: for the log line */
    frame_reader reader;
    arena scratch;          /* the codec's, per message */
    uint8_t challenge[AUTH_CHALLENGE_MAX];
    size_t challenge_len;
    frame_buf out;          /* replies not yet handed to libuv (plaintext under TLS) */
    /* tls:// sessions: the records the stream carries. Replies wait in out until the TLS
     * handshake is done, then flush encrypts them into tls_out, which goes to libuv. */
    tls_conn *tls;
    frame_buf tls_out;
    uint8_t *tls_in;        /* one read's records, TLS_READ_MAX bytes */
    delivery *pending;      /* results in out, newest first */
    struct write_req *inflight; /* the one write libuv has, until its callback */
    uint64_t over_soft_since; /* loop time (ms) its output went over the soft limit */
    u64map refs;            /* object id -> number of references held */
    u64map watched;         /* object ids whose type wants to hear that we ended */
    list waiters;           /* our parked calls (waiter.session_link) */
    python_state py;        /* DIALECT_PYTHON's */
    bool admin;             /* proved the admin key (admin.h) */
    uint8_t admin_challenge[AUTH_CHALLENGE_MAX]; /* the last admin_challenge, unanswered */
    size_t admin_challenge_len;
};

typedef struct write_req {
    stream_write base;      /* first: the request stream_send made */
    session *sess;
    size_t sent_before;     /* bytes of the batch the socket took before the request */
    delivery *deliveries;   /* results in the buffer not in the socket then, newest first */
} write_req;

/* ---- references ------------------------------------------------------------------------- */

int session_ref_add(session *sess, uint64_t id)
{
    uintptr_t n = (uintptr_t)u64map_get(&sess->refs, id);
    return u64map_put(&sess->refs, id, (void *)(n + 1));
}

int session_ref_drop(session *sess, uint64_t id)
{
    uintptr_t n = (uintptr_t)u64map_get(&sess->refs, id);
    if (n == 0)
        return MPX_EVALUE;
    if (n == 1)
        u64map_del(&sess->refs, id);
    else
        u64map_put(&sess->refs, id, (void *)(n - 1));
    return MPX_OK;
}

static void release_all_refs(session *sess)
{
    size_t pos = 0;
    uint64_t id;
    void *n;
    while (u64map_next(&sess->refs, &pos, &id, &n)) {
        mpx_object *obj = objects_find(sess->srv, id);
        if (obj != NULL)
            objects_release(sess->srv, obj, (uint32_t)(uintptr_t)n);
    }
    u64map_free(&sess->refs);
}

uint64_t session_id(const session *sess)
{
    return sess->id;
}

bool session_admin(const session *sess)
{
    return sess->admin;
}

void session_set_admin(session *sess)
{
    sess->admin = true;
}

void session_set_admin_challenge(session *sess, const uint8_t *challenge, size_t len)
{
    memcpy(sess->admin_challenge, challenge, len);
    sess->admin_challenge_len = len;
}

bool session_take_admin_challenge(session *sess, const uint8_t **challenge, size_t *len)
{
    *challenge = sess->admin_challenge;
    *len = sess->admin_challenge_len;
    sess->admin_challenge_len = 0; /* answered once, right or wrong */
    return *len > 0;
}

mpx_server *session_server(session *sess)
{
    return sess->srv;
}

python_state *session_python(session *sess)
{
    return &sess->py;
}

uv_stream_t *session_stream(session *sess)
{
    return sess->stream;
}

bool session_closing(const session *sess)
{
    return (sess->flags & (SESSION_CLOSE_ASAP | SESSION_CLOSED)) != 0;
}

int mpx_call_watch(mpx_call *c, mpx_object *obj)
{
    if (c->sess == NULL) /* a handler run alone (unit tests): no connection to end */
        return MPX_OK;
    return u64map_put(&c->sess->watched, obj->id, obj);
}

/* Tells the types of the watched objects that still exist that this session ended. */
static void notify_watchers(session *sess)
{
    size_t pos = 0;
    uint64_t id;
    void *unused;
    while (u64map_next(&sess->watched, &pos, &id, &unused)) {
        mpx_object *obj = objects_find(sess->srv, id);
        if (obj != NULL && obj->type->session_ended != NULL)
            obj->type->session_ended(obj, sess->id);
    }
    u64map_free(&sess->watched);
}

void session_link_waiter(session *sess, list_node *n)
{
    list_push_back(&sess->waiters, n);
    sess->srv->nwaiters++;
}

void session_unlink_waiter(session *sess, list_node *n)
{
    assert(sess->srv->nwaiters > 0);
    list_remove(&sess->waiters, n);
    sess->srv->nwaiters--;
}

size_t session_nwaiters(const session *sess)
{
    return sess->waiters.len;
}

void session_close(session *sess, const char *reason)
{
    if (session_closing(sess))
        return;
    sess->flags |= SESSION_CLOSE_ASAP;
    snprintf(sess->close_reason, sizeof sess->close_reason, "%s", reason);
    uv_read_stop(sess->stream);
    list_push_back(&sess->srv->to_close, &sess->close_link);
}

/* ---- deliveries ------------------------------------------------------------------------ */

static void deliveries_free(delivery *d)
{
    while (d != NULL) {
        delivery *next = d->next;
        mpx_value_free(&d->result);
        mem_free(d);
        d = next;
    }
}

/* Frees the deliveries whose reply frames lie wholly in the first `written` bytes of their
 * batch: they are in the socket. Those are the oldest (the list is newest first); the
 * others stay in *list. */
static void deliveries_free_written(delivery **list, size_t written)
{
    while (*list != NULL && (*list)->end > written)
        list = &(*list)->next;
    deliveries_free(*list);
    *list = NULL;
}

/* Hands each result back to its object, newest first, so that types putting items back
 * at the head restore the order in which they were taken. */
static void deliveries_return(mpx_server *s, delivery *d)
{
    while (d != NULL) {
        delivery *next = d->next;
        mpx_object *obj = objects_find(s, d->object_id);
        if (obj != NULL)
            d->undelivered(obj, &d->result);
        mpx_value_free(&d->result);
        mem_free(d);
        d = next;
    }
}

/* ---- output ------------------------------------------------------------------------------ */

/* The reply bytes the session holds: its buffer and what libuv has not written yet. */
static size_t output_held(const session *sess)
{
    return sess->out.len + sess->tls_out.len + uv_stream_get_write_queue_size(sess->stream);
}

/* What the stream is to carry: the frames, or under TLS the records made of them. */
static frame_buf *wire_of(session *sess)
{
    return sess->tls != NULL ? &sess->tls_out : &sess->out;
}

/* Under TLS, once the handshake is done, encrypts the queued frames into tls_out. */
static int tls_seal(session *sess)
{
    char err[160];
    if (sess->tls == NULL || !tls_conn_handshake_done(sess->tls) || sess->out.len == 0)
        return MPX_OK;
    int rc = tls_conn_write(sess->tls, sess->out.data, sess->out.len, err, sizeof err);
    sess->out.len = 0;
    if (rc == MPX_OK)
        rc = tls_conn_take_out(sess->tls, &sess->tls_out);
    if (rc != MPX_OK)
        session_close(sess, rc == MPX_ENOMEM ? "out of memory" : err);
    return rc;
}

/* The one line that says why, then the close; ms: how long it was over (the soft limit). */
static void close_over_limit(session *sess, const char *which, size_t held, size_t limit,
                             uint64_t ms)
{
    char over[48] = "";
    if (ms > 0)
        snprintf(over, sizeof over, " over_ms=%llu", (unsigned long long)ms);
    mpx_server_log(sess->srv, MPX_LOG_WARN,
                   "event=close session=%llu peer=%s reason=output-limit limit=%s held=%zu "
                   "max=%zu%s",
                   (unsigned long long)sess->id, sess->peer, which, held, limit, over);
    char why[128];
    snprintf(why, sizeof why, "output limit (%s): %zu reply bytes held, at most %zu", which,
             held, limit);
    session_close(sess, why);
}

static void output_check(session *sess);

static void on_soft_limit(uv_timer_t *timer)
{
    output_check(timer->data);
}

/* Redis's client-output-buffer-limit: past the hard limit the session closes at once; past
 * the soft one it closes when it has stayed past it for soft_seconds (checked at every
 * reply and write, and by limit_timer when nothing happens). */
static void output_check(session *sess)
{
    const mpx_server_opts *o = &sess->srv->opts;
    if (session_closing(sess))
        return;
    size_t held = output_held(sess);
    if (held > o->output_limit_hard) {
        close_over_limit(sess, "hard", held, o->output_limit_hard, 0);
        return;
    }
    if (held <= o->output_limit_soft) {
        if (sess->flags & SESSION_OVER_SOFT) {
            sess->flags &= ~SESSION_OVER_SOFT;
            uv_timer_stop(&sess->limit_timer);
        }
        return;
    }
    uint64_t now = uv_now(&sess->srv->loop), ms = (uint64_t)o->output_limit_soft_seconds * 1000;
    if (!(sess->flags & SESSION_OVER_SOFT)) {
        sess->flags |= SESSION_OVER_SOFT;
        sess->over_soft_since = now;
        uv_timer_start(&sess->limit_timer, on_soft_limit, ms, 0);
    } else if (now - sess->over_soft_since >= ms) {
        close_over_limit(sess, "soft", held, o->output_limit_soft, now - sess->over_soft_since);
    }
}

/* Checks the output limits; queues the session for the safe point's write, once. */
static void want_write(session *sess)
{
    output_check(sess);
    if ((sess->flags & SESSION_WRITE_PENDING) || session_closing(sess) ||
        sess->out.len + sess->tls_out.len == 0)
        return;
    sess->flags |= SESSION_WRITE_PENDING;
    list_push_back(&sess->srv->pending_writes, &sess->write_link);
}

static int queue_frame(session *sess, const void *payload, size_t len)
{
    uint8_t *dst = frame_buf_add(&sess->out, len);
    if (dst == NULL)
        return MPX_ENOMEM;
    memcpy(dst, payload, len);
    return MPX_OK;
}

static void on_write(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    session *sess = w->sess;
    sess->inflight = NULL;
    /* A failed write's results go back: nobody can tell which of them the peer read. A
     * cancelled one (the session ended first) has none left: session_end took them. */
    if (status < 0)
        deliveries_return(sess->srv, w->deliveries);
    else
        deliveries_free(w->deliveries);
    stream_write_done(&w->base);
    if (status < 0) {
        sess->flags |= SESSION_PEER_GONE;
        session_close(sess, uv_strerror(status));
    } else if ((sess->flags & SESSION_CLOSE_AFTER_WRITE) &&
               sess->out.len + sess->tls_out.len == 0) {
        session_close(sess, "authentication failed");
    } else {
        want_write(sess); /* what gathered meanwhile */
    }
}

/* Whether the peer has closed its end (a killed process's kernel sends FIN at once). A
 * write to such a socket still succeeds, so a delivery would be lost without this check;
 * POLLRDHUP sees the FIN even behind unread requests. */
static bool peer_gone(session *sess)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)sess->stream, &fd) != 0)
        return false;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* Writes everything queued (stream_send). A result is delivered once its whole reply frame
 * is in the socket; those of frames libuv still has ride with its request. Results that
 * must not be lost are not written to a peer that is gone: the session closes and hands
 * them back. One write at a time: while libuv has one, replies gather in out, and its
 * callback queues them (so what libuv holds is one request, whose progress is known). */
static void flush(session *sess)
{
    if (session_closing(sess) || sess->inflight != NULL || tls_seal(sess) != MPX_OK ||
        wire_of(sess)->len == 0)
        return;
    if (sess->pending != NULL && peer_gone(sess)) {
        sess->flags |= SESSION_PEER_GONE;
        session_close(sess, "closed by peer");
        return;
    }
    size_t batch = wire_of(sess)->len;
    stream_write *queued;
    int rc = stream_send(sess->stream, wire_of(sess), sizeof(write_req), on_write, &queued);
    if (rc < 0) {
        sess->flags |= SESSION_PEER_GONE;
        session_close(sess, uv_strerror(rc)); /* the close hands the results back */
        return;
    }
    if (rc == 0) {
        deliveries_free(sess->pending); /* in the socket: delivered */
        if (sess->flags & SESSION_CLOSE_AFTER_WRITE)
            session_close(sess, "authentication failed");
    } else {
        write_req *w = (write_req *)queued;
        w->sess = sess;
        /* records do not map to frames: under TLS every result rides with the request */
        w->sent_before = sess->tls != NULL ? 0 : batch - queued->len;
        deliveries_free_written(&sess->pending, w->sent_before);
        w->deliveries = sess->pending;
        sess->inflight = w;
    }
    sess->pending = NULL;
    output_check(sess); /* less held now, maybe under the soft limit again */
}

/* Newest first: the sessions queued last are those whose parked calls this safe point
 * re-ran (a lock's next holder), and the rest of the system waits on them; those queued
 * by their own reads follow within the same turn. */
void sessions_flush(mpx_server *s)
{
    list_node *n;
    while ((n = s->pending_writes.tail) != NULL) {
        list_remove(&s->pending_writes, n);
        session *sess = list_entry(n, session, write_link);
        sess->flags &= ~SESSION_WRITE_PENDING;
        flush(sess);
    }
}

int session_send_frame(session *sess, const void *payload, size_t len)
{
    if (session_closing(sess))
        return MPX_ECLOSED;
    if (queue_frame(sess, payload, len) != MPX_OK) {
        session_close(sess, "out of memory");
        return MPX_ENOMEM;
    }
    want_write(sess);
    return MPX_OK;
}

/* Packs the reply straight into the output buffer. */
static void reply(session *sess, uint64_t call_id, int rc, const char *msg,
                  const mpx_value *value)
{
    if (sess->dialect == DIALECT_PYTHON) { /* one call in flight: no id to match */
        if (python_reply(sess, rc, msg, value) != MPX_OK)
            session_close(sess, "out of memory");
        return;
    }
    codec_packer p;
    int erc = codec_reply_prepare(&sess->scratch, call_id, rc, msg, value, &p);
    if (erc == MPX_EVALUE) /* a result nested deeper than the codec carries */
        erc = codec_reply_prepare(&sess->scratch, call_id, MPX_EVALUE,
                                  "result is nested too deeply", NULL, &p);
    uint8_t *dst = erc == MPX_OK ? frame_buf_add(&sess->out, p.size) : NULL;
    if (dst == NULL) {
        arena_reset(&sess->scratch);
        session_close(sess, "out of memory");
        return;
    }
    codec_pack(&p, dst);
    arena_reset(&sess->scratch);
    want_write(sess);
}

int session_reply(session *sess, uint64_t call_id, int rc, const char *msg,
                  const mpx_value *value)
{
    if (session_closing(sess))
        return MPX_ECLOSED;
    reply(sess, call_id, rc, msg, value);
    return session_closing(sess) ? MPX_ECLOSED : MPX_OK;
}

/* Replies with result and keeps it as a delivery of the next write (result taken). When
 * the session is closing, or no record can be made (then the call is answered with
 * MemoryError), result is left with the caller. */
static int reply_keep(session *sess, uint64_t call_id, mpx_object *obj, mpx_undelivered_fn fn,
                      mpx_value *result)
{
    if (session_closing(sess))
        return MPX_ECLOSED;
    delivery *d = mem_alloc(sizeof *d);
    if (d == NULL) {
        reply(sess, call_id, MPX_ENOMEM, "out of memory", NULL);
        return MPX_ENOMEM;
    }
    reply(sess, call_id, MPX_OK, "", result);
    d->object_id = obj->id;
    d->undelivered = fn;
    d->end = sess->out.len;
    mpx_value_move(&d->result, result);
    d->next = sess->pending; /* a failed reply closes the session, which hands it back */
    sess->pending = d;
    return MPX_OK;
}

void session_answer(session *sess, mpx_call *c, int rc)
{
    if (rc == MPX_OK && c->undelivered != NULL) {
        if (reply_keep(sess, c->call_id, c->obj, c->undelivered, &c->result) != MPX_OK)
            c->undelivered(c->obj, &c->result);
    } else {
        session_reply(sess, c->call_id, rc, rc == MPX_OK ? "" : c->errmsg, &c->result);
    }
    mpx_value_free(&c->result);
}

/* ---- handshake --------------------------------------------------------------------------- */

/* Whether the client has proven the key (its answer to our challenge was right). From then
 * on it counts as authenticated: what is left of the handshake proves us to it, and no
 * keyless newcomer may push it out (session_accept). */
static bool key_proven(const session *sess)
{
    return sess->state != SESSION_WAIT_ANSWER;
}

static void become_ready(session *sess)
{
    sess->state = SESSION_READY;
    uv_timer_stop(&sess->auth_timer);
    frame_reader_set_max(&sess->reader, sess->srv->opts.max_message);
    /* #WELCOME# gets no answer, and Python's client writes its first request right after
     * it without TCP_NODELAY: that request would wait for our delayed ack */
    listener_ack_now(sess->stream);
    mpx_server_log(sess->srv, MPX_LOG_INFO, "event=authenticated session=%llu peer=%s",
                   (unsigned long long)sess->id, sess->peer);
}

static void handle_handshake(session *sess, const uint8_t *frame, size_t len)
{
    mpx_server *s = sess->srv;
    char err[128] = "";
    uint8_t answer[AUTH_RESPONSE_MAX];
    size_t answer_len;
    switch (sess->state) {
    case SESSION_WAIT_ANSWER:
        if (auth_response_verify(s->authkey, s->opts.keylen, sess->challenge,
                                 sess->challenge_len, frame, len, err, sizeof err) != MPX_OK) {
            mpx_server_log(s, MPX_LOG_WARN, "event=auth-failed session=%llu peer=%s reason=\"%s\"",
                           (unsigned long long)sess->id, sess->peer, err);
            queue_frame(sess, AUTH_FAILURE, strlen(AUTH_FAILURE));
            sess->flags |= SESSION_CLOSE_AFTER_WRITE;
            return;
        }
        queue_frame(sess, AUTH_WELCOME, strlen(AUTH_WELCOME));
        sess->state = SESSION_WAIT_CHALLENGE;
        list_remove(&s->unauthenticated, &sess->auth_link); /* from one count to the other */
        s->nauthenticated++;
        return;
    case SESSION_WAIT_CHALLENGE:
        if (auth_response_make(s->authkey, s->opts.keylen, frame, len, answer, &answer_len,
                               err, sizeof err) != MPX_OK) {
            session_close(sess, "bad challenge from client");
            return;
        }
        queue_frame(sess, answer, answer_len);
        sess->state = SESSION_WAIT_WELCOME;
        return;
    case SESSION_WAIT_WELCOME:
        if (len == strlen(AUTH_WELCOME) && memcmp(frame, AUTH_WELCOME, len) == 0)
            become_ready(sess);
        else
            session_close(sess, "client refused our answer (different authkey)");
        return;
    case SESSION_READY:
        return;
    }
}

static void on_auth_timeout(uv_timer_t *timer)
{
    session *sess = timer->data;
    session_close(sess, sess->tls != NULL && !tls_conn_handshake_done(sess->tls)
                            ? "tls: no TLS handshake in time (a tcp:// client?)"
                            : "authentication timed out");
}

/* ---- requests ---------------------------------------------------------------------------- */

static void handle_request(session *sess, const uint8_t *frame, size_t len)
{
    if (sess->dialect == DIALECT_UNSET)
        sess->dialect = python_frame_starts_dialect(frame, len) ? DIALECT_PYTHON
                                                                : DIALECT_PROTOBUF;
    if (sess->dialect == DIALECT_PYTHON) {
        python_request(sess, frame, len);
        return;
    }
    mpx_request req;
    char err[160];
    if (codec_request_decode(frame, len, &req, err, sizeof err) != MPX_OK) {
        session_close(sess, err);
        return;
    }
    mpx_call c = {.srv = sess->srv, .sess = sess, .call_id = req.call_id, .args = req.args,
              .nargs = req.nargs, .timeout = req.timeout, .has_timeout = req.has_timeout};
    mpx_object *obj = objects_find(sess->srv, req.object_id);
    int rc = MPX_OK;
    uint64_t missing = 0;
    for (size_t i = 0; i < req.nargs && rc == MPX_OK; i++)
        rc = objects_adopt_refs(sess->srv, &req.args[i], &missing);
    if (rc != MPX_OK)
        rc = mpx_call_fail(&c, MPX_ENOOBJECT, "no object with id %llu (a reference among the "
                           "arguments)", (unsigned long long)missing);
    else if (obj == NULL)
        rc = mpx_call_fail(&c, MPX_ENOOBJECT, "no object with id %llu",
                           (unsigned long long)req.object_id);
    else
        rc = object_invoke(obj, req.method, &c);
    if (rc != MPX_PARKED) /* a parked call is answered later, through wait.c */
        session_answer(sess, &c, rc);
    else
        mpx_value_free(&c.result);
    codec_request_clear(&req);
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Nothing to do: while it runs, the loop polls without blocking (a backlog is waiting). */
static void on_backlog_idle(uv_idle_t *idle)
{
    (void)idle;
}

/* The session ran out of its turn's budget with frames left: it reads nothing more until
 * they are served, one budget a turn, after the poll (sessions_serve_backlog). */
static void backlog_add(session *sess)
{
    mpx_server *s = sess->srv;
    sess->flags |= SESSION_BACKLOG;
    uv_read_stop(sess->stream);
    list_push_back(&s->backlog, &sess->backlog_link);
    uv_idle_start(&s->backlog_idle, on_backlog_idle);
}

static void backlog_remove(session *sess)
{
    mpx_server *s = sess->srv;
    sess->flags &= ~SESSION_BACKLOG;
    list_remove(&s->backlog, &sess->backlog_link);
    if (list_empty(&s->backlog))
        uv_idle_stop(&s->backlog_idle);
}

/* Dispatches the complete frames received, in order, within one turn's budget: at most
 * opts.turn_frames of them, for at most opts.turn_budget_us (checked after each, so one
 * call longer than the budget still runs whole). Past it the rest wait in the reader, on
 * the backlog. A flagged session dispatches nothing more: what it had is dropped. */
static void serve_frames(session *sess)
{
    const mpx_server_opts *o = &sess->srv->opts;
    const uint64_t start = uv_hrtime(), budget_ns = (uint64_t)o->turn_budget_us * 1000;
    const uint8_t *frame;
    size_t len;
    int rc = 0, served = 0;
    while (!(sess->flags & (SESSION_CLOSE_ASAP | SESSION_CLOSE_AFTER_WRITE))) {
        if (served == o->turn_frames || (served > 0 && uv_hrtime() - start >= budget_ns)) {
            backlog_add(sess);
            break;
        }
        if ((rc = frame_reader_next(&sess->reader, &frame, &len)) != 1)
            break;
        served++;
        if (sess->state == SESSION_READY)
            handle_request(sess, frame, len);
        else
            handle_handshake(sess, frame, len);
    }
    if (rc < 0)
        session_close(sess, rc == MPX_ETOOBIG ? "frame larger than the limit" : "bad frame");
    frame_reader_trim(&sess->reader); /* the frames served are done with */
    want_write(sess);
}

#define TLS_READ_MAX ((size_t)64 << 10)

/* Decrypts one read's records into the frame reader. MPX_OK, or the session closes. */
static int tls_open(session *sess, const uint8_t *data, size_t len)
{
    char err[160] = "";
    bool was_done = tls_conn_handshake_done(sess->tls);
    int rc = tls_conn_feed(sess->tls, data, len);
    for (size_t got = 1; rc == MPX_OK && got > 0;) {
        uint8_t *ptr;
        size_t avail;
        rc = frame_reader_reserve(&sess->reader, TLS_READ_MAX, &ptr, &avail);
        if (rc == MPX_OK)
            rc = tls_conn_read(sess->tls, ptr, avail, &got, err, sizeof err);
        if (rc == MPX_OK)
            frame_reader_commit(&sess->reader, got);
    }
    if (rc != MPX_OK) {
        if (rc == MPX_ECLOSED)
            sess->flags |= SESSION_PEER_GONE;
        mpx_server_log(sess->srv, MPX_LOG_WARN, "event=tls-failed session=%llu peer=%s "
                       "reason=\"%s\"", (unsigned long long)sess->id, sess->peer,
                       rc == MPX_ECLOSED ? "closed by peer"
                       : rc == MPX_ENOMEM ? "no memory"
                                          : err);
        session_close(sess, rc == MPX_ECLOSED ? "closed by peer" : err[0] ? err : "tls failure");
        return rc;
    }
    if (tls_conn_out_len(sess->tls) > 0 &&
        tls_conn_take_out(sess->tls, &sess->tls_out) != MPX_OK) {
        session_close(sess, "out of memory");
        return MPX_ENOMEM;
    }
    if (!was_done && tls_conn_handshake_done(sess->tls))
        listener_ack_now(sess->stream);
    want_write(sess); /* the handshake's records, or the challenge once it is done */
    return MPX_OK;
}

/* A TLS ClientHello's first bytes (a handshake record, version 3.x) where a frame
 * header should be: a tls:// client on a tcp:// port. */
static bool looks_like_tls(const session *sess, const uint8_t *data, size_t len)
{
    return sess->tls == NULL && sess->state == SESSION_WAIT_ANSWER && len >= 3 &&
           data[0] == 0x16 && data[1] == 0x03 && data[2] <= 0x04;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    session *sess = handle->data;
    uint8_t *ptr;
    size_t avail;
    if (sess->tls != NULL) {
        *buf = uv_buf_init((char *)sess->tls_in, (unsigned)TLS_READ_MAX);
        return;
    }
    if (frame_reader_reserve(&sess->reader, suggested, &ptr, &avail) != MPX_OK) {
        *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS to on_read */
        return;
    }
    *buf = uv_buf_init((char *)ptr, (unsigned)(avail > UINT32_MAX ? UINT32_MAX : avail));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    session *sess = stream->data;
    (void)buf;
    if (nread < 0) {
        if (nread != UV_ENOBUFS) /* not our own allocation failing */
            sess->flags |= SESSION_PEER_GONE;
        session_close(sess, nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread));
        return;
    }
    if (sess->tls != NULL) {
        if (tls_open(sess, (const uint8_t *)buf->base, (size_t)nread) == MPX_OK)
            serve_frames(sess);
        return;
    }
    if (looks_like_tls(sess, (const uint8_t *)buf->base, (size_t)nread)) {
        mpx_server_log(sess->srv, MPX_LOG_WARN, "event=tls-on-plain-port session=%llu peer=%s",
                       (unsigned long long)sess->id, sess->peer);
        session_close(sess, "a TLS client on a tcp:// port (connect with tcp://, or listen "
                            "with tls://)");
        return;
    }
    frame_reader_commit(&sess->reader, (size_t)nread);
    serve_frames(sess);
}

/* One more budget for each session that ran out of its own (those that run out again go
 * back to the end of the line); a session whose frames are all served reads again. */
void sessions_serve_backlog(mpx_server *s)
{
    for (size_t n = s->backlog.len; n > 0 && !list_empty(&s->backlog); n--) {
        session *sess = list_entry(s->backlog.head, session, backlog_link);
        backlog_remove(sess);
        serve_frames(sess);
        if (session_closing(sess) || (sess->flags & SESSION_BACKLOG))
            continue;
        int rc = uv_read_start(sess->stream, on_alloc, on_read);
        if (rc < 0)
            session_close(sess, uv_strerror(rc));
    }
}

/* ---- life cycle -------------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle)
{
    session *sess = handle->data;
    if (handle == (uv_handle_t *)sess->stream)
        free(sess->stream);
    if (--sess->open_handles > 0)
        return;
    frame_reader_free(&sess->reader);
    arena_free(&sess->scratch);
    frame_buf_free(&sess->out);
    frame_buf_free(&sess->tls_out);
    tls_conn_free(sess->tls);
    mem_free(sess->tls_in);
    python_state_free(&sess->py);
    mem_free(sess);
}

/* The results of the write libuv has, which closing the stream cancels, go back now, in
 * their order with the others: those whose frames the socket took are delivered (the
 * bytes libuv wrote are the request's less what it still holds), the rest return. When the
 * peer's end is gone they all return, as nobody can tell which bytes it read. */
static void returns_in_flight(session *sess)
{
    write_req *w = sess->inflight;
    if (w == NULL)
        return;
    if (!(sess->flags & SESSION_PEER_GONE) && sess->tls == NULL) { /* records: not known */
        size_t left = uv_stream_get_write_queue_size(sess->stream);
        assert(left <= w->base.len); /* one request at a time: all that libuv holds */
        deliveries_free_written(&w->deliveries, w->sent_before + (w->base.len - left));
    }
    deliveries_return(sess->srv, w->deliveries);
    w->deliveries = NULL;
}

/* Ends a flagged session: out of the server's lists, then parked calls first (a Barrier
 * breaks), holds (a Lock passes on), references last. */
static void session_end(session *sess)
{
    mpx_server *s = sess->srv;
    sess->flags |= SESSION_CLOSED;
    mpx_server_log(s, MPX_LOG_INFO, "event=disconnect session=%llu peer=%s refs=%zu reason=\"%s\"",
                   (unsigned long long)sess->id, sess->peer, sess->refs.len, sess->close_reason);
    list_remove(&s->sessions, &sess->link);
    if (key_proven(sess))
        s->nauthenticated--;
    else
        list_remove(&s->unauthenticated, &sess->auth_link);
    if (sess->flags & SESSION_WRITE_PENDING) {
        list_remove(&s->pending_writes, &sess->write_link);
        sess->flags &= ~SESSION_WRITE_PENDING;
    }
    if (sess->flags & SESSION_BACKLOG)
        backlog_remove(sess); /* its frames left are dropped */
    waiters_drop_session(&sess->waiters);
    assert(list_empty(&sess->waiters)); /* no parked call outlives its session */
    deliveries_return(s, sess->pending); /* the newest first: not written at all */
    sess->pending = NULL;
    returns_in_flight(sess);
    notify_watchers(sess);
    release_all_refs(sess);
    uv_timer_stop(&sess->auth_timer);
    uv_close((uv_handle_t *)sess->stream, on_handle_closed);
    uv_close((uv_handle_t *)&sess->auth_timer, on_handle_closed);
    uv_close((uv_handle_t *)&sess->limit_timer, on_handle_closed);
}

void sessions_close_flagged(mpx_server *s)
{
    list_node *n;
    while ((n = list_pop_front(&s->to_close)) != NULL) {
        session *sess = list_entry(n, session, close_link);
        assert((sess->flags & (SESSION_CLOSE_ASAP | SESSION_CLOSED)) == SESSION_CLOSE_ASAP);
        session_end(sess);
    }
}

static void on_refused_closed(uv_handle_t *handle)
{
    free(handle);
}

/* Ends the oldest unauthenticated session now, not at the safe point, so that its
 * descriptor is given back before the newcomer takes one: a burst of accepts within one
 * turn of the loop never holds more than max_connections. That is safe here (the
 * listener's accept callback): none of that session's code is running, and before it has
 * proven the key it has no parked call, hold, reference or delivery to give back. */
static void evict_oldest_unauthenticated(mpx_server *s)
{
    session *old = list_entry(s->unauthenticated.head, session, auth_link);
    mpx_server_log(s, MPX_LOG_WARN, "event=evict session=%llu peer=%s reason=max-unauthenticated",
                   (unsigned long long)old->id, old->peer);
    session_close(old, "made room for a newer connection (max-unauthenticated)");
    list_remove(&s->to_close, &old->close_link); /* flagged now, or flagged before */
    session_end(old);
}

/* A newcomer is refused only when authenticated sessions fill max_connections. Otherwise,
 * when the unauthenticated ones are at their cap or every connection is taken, the oldest
 * unauthenticated one is closed to make room. Refusing the newcomer instead would hand the
 * manager to whoever holds max_unauthenticated silent sockets, renewed as they time out;
 * closing the oldest (it has had the longest to finish its handshake) means a flood must
 * open max_unauthenticated connections within one client's handshake to cut it off. */
void session_accept(mpx_server *s, uv_stream_t *stream, const char *peer, bool tls)
{
    assert(s->sessions.len == s->unauthenticated.len + s->nauthenticated);
    if (s->stopping || s->nauthenticated >= (size_t)s->opts.max_connections) {
        mpx_server_log(s, MPX_LOG_WARN, "event=refuse peer=%s reason=%s", peer,
                       s->stopping ? "stopping" : "max-connections");
        uv_close((uv_handle_t *)stream, on_refused_closed);
        return;
    }
    if (s->unauthenticated.len >= (size_t)s->opts.max_unauthenticated ||
        s->sessions.len >= (size_t)s->opts.max_connections)
        evict_oldest_unauthenticated(s); /* there is one: fewer are authenticated */
    session *sess = mem_calloc(1, sizeof *sess);
    if (sess == NULL) {
        uv_close((uv_handle_t *)stream, on_refused_closed);
        return;
    }
    sess->srv = s;
    sess->id = ++s->next_session_id;
    snprintf(sess->peer, sizeof sess->peer, "%s", peer);
    sess->stream = stream;
    stream->data = sess;
    uv_timer_init(&s->loop, &sess->auth_timer);
    sess->auth_timer.data = sess;
    uv_timer_init(&s->loop, &sess->limit_timer);
    sess->limit_timer.data = sess;
    sess->open_handles = 3;
    frame_reader_init(&sess->reader, AUTH_MAX_FRAME);
    arena_init(&sess->scratch);
    if (tls && ((sess->tls = tls_conn_new(s->tls, NULL)) == NULL ||
                (sess->tls_in = mem_alloc(TLS_READ_MAX)) == NULL)) {
        tls_conn_free(sess->tls);
        sess->tls = NULL; /* closed below, before anything is read */
    }
    u64map_init(&sess->refs);
    u64map_init(&sess->watched);
    list_push_back(&s->sessions, &sess->link);
    list_push_back(&s->unauthenticated, &sess->auth_link);
    mpx_server_log(s, MPX_LOG_INFO, "event=connect session=%llu peer=%s%s",
                   (unsigned long long)sess->id, peer, tls ? " tls=1" : "");
    if (tls && sess->tls == NULL) {
        session_close(sess, "out of memory");
        return;
    }

    int rc = auth_challenge_make(sess->challenge, &sess->challenge_len);
    if (rc == MPX_OK)
        rc = queue_frame(sess, sess->challenge, sess->challenge_len);
    if (rc != MPX_OK) {
        session_close(sess, "cannot make a challenge");
        return;
    }
    uv_timer_start(&sess->auth_timer, on_auth_timeout, (uint64_t)s->opts.auth_timeout_ms, 0);
    rc = uv_read_start(stream, on_alloc, on_read);
    if (rc < 0) {
        session_close(sess, uv_strerror(rc));
        return;
    }
    want_write(sess);
}

void sessions_close_all(mpx_server *s, const char *reason)
{
    for (list_node *n = s->sessions.head; n != NULL; n = n->next)
        session_close(list_entry(n, session, link), reason);
}
