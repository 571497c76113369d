/* connection.c - mpx/connection.h: Python's multiprocessing.connection over sock.c,
 * frame.c, auth.c and the pickle codec.
 *
 * Invariant: a connection never reads past the message it is receiving (it asks the
 * socket for at most what the frame in progress lacks), so every byte it has buffered
 * belongs to that one message, poll(2) on its fd is exact, and a recv that times out
 * keeps a half-received message for the next one. Receiving stops for good (read_err)
 * once the stream's framing is lost: a message over the limit, a bad header, an EOF or
 * an error in the middle of a message. Sending stops once a send failed part-way.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "frame.h"
#include "mpx/connection.h"
#include "pickle.h"
#include "scheme.h"
#include "sock.h"

#define CONN_ERRMSG_MAX 256
#define CONN_DEFAULT_HANDSHAKE_MS 5000
#define CONN_DEFAULT_BACKLOG 128
/* A buffer grown for a big message is given back once that message is taken, so that a
 * connection that once carried 64 MiB does not keep them. */
#define CONN_KEEP_BUFFER ((size_t)1 << 20)

struct mpx_conn {
    int fd;                    /* -1 when not connected */
    mpx_conn_opts opts;
    frame_reader in;           /* the message being received, and nothing after it */
    int read_err;              /* MPX_OK, or why receiving has stopped */
    int write_err;             /* MPX_OK, or why sending has stopped */
    char stopped[CONN_ERRMSG_MAX - 64]; /* what stopped it, for the later calls */
    int err;
    char errmsg[CONN_ERRMSG_MAX];
};

struct mpx_listener {
    int fd;                    /* -1 when not listening */
    pid_t pid;                 /* the process that bound it: the one to unlink its file */
    uint8_t *key;              /* NULL: peers are not authenticated */
    size_t keylen;
    mpx_conn_opts opts;
    char address[400];
    char path[108];            /* the unix socket file we made, or "" */
    int err;
    char errmsg[CONN_ERRMSG_MAX];
};

void mpx_conn_opts_init(mpx_conn_opts *opts)
{
    opts->max_message = FRAME_DEFAULT_MAX;
    opts->handshake_timeout_ms = CONN_DEFAULT_HANDSHAKE_MS;
    opts->send_timeout_ms = -1;
    opts->backlog = CONN_DEFAULT_BACKLOG;
}

/* The caller's options, or the defaults; a field left 0 takes its default. */
static mpx_conn_opts resolve_opts(const mpx_conn_opts *given)
{
    mpx_conn_opts o;
    mpx_conn_opts_init(&o);
    if (given == NULL)
        return o;
    if (given->max_message != 0)
        o.max_message = given->max_message;
    if (given->handshake_timeout_ms != 0)
        o.handshake_timeout_ms = given->handshake_timeout_ms;
    if (given->send_timeout_ms != 0)
        o.send_timeout_ms = given->send_timeout_ms;
    if (given->backlog > 0)
        o.backlog = given->backlog;
    return o;
}

/* Seconds as Python takes them to an absolute deadline: negative waits forever, NaN is 0. */
static int64_t deadline_after(double timeout)
{
    if (timeout < 0)
        return -1;
    if (!(timeout >= 0))
        timeout = 0;
    if (timeout > 1e9)
        timeout = 1e9;
    return sock_deadline((int64_t)ceil(timeout * 1000));
}

/* ---- errors ---------------------------------------------------------------------------- */

static int vfail(int *err, char *msg, size_t size, int code, const char *fmt, va_list ap)
{
    vsnprintf(msg, size, fmt, ap);
    *err = code;
    return code;
}

static int conn_fail(mpx_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int conn_fail(mpx_conn *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(&c->err, c->errmsg, sizeof c->errmsg, code, fmt, ap);
    va_end(ap);
    return code;
}

static int listener_fail(mpx_listener *l, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int listener_fail(mpx_listener *l, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(&l->err, l->errmsg, sizeof l->errmsg, code, fmt, ap);
    va_end(ap);
    return code;
}

/* The framing is lost: no later recv can tell where a message starts. */
static int stop_reading(mpx_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int stop_reading(mpx_conn *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->stopped, sizeof c->stopped, fmt, ap);
    va_end(ap);
    c->read_err = code;
    frame_reader_free(&c->in);
    return conn_fail(c, code, "%s", c->stopped);
}

static void clear_error(mpx_conn *c)
{
    c->err = MPX_OK;
    c->errmsg[0] = '\0';
}

int mpx_conn_errcode(const mpx_conn *c)
{
    return c->err;
}

const char *mpx_conn_errmsg(const mpx_conn *c)
{
    return c->errmsg;
}

int mpx_listener_errcode(const mpx_listener *l)
{
    return l->err;
}

const char *mpx_listener_errmsg(const mpx_listener *l)
{
    return l->errmsg;
}

/* ---- connections ------------------------------------------------------------------------ */

static mpx_conn *conn_new(const mpx_conn_opts *opts, int fd)
{
    mpx_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->fd = fd;
    c->opts = resolve_opts(opts);
    frame_reader_init(&c->in, c->opts.max_message);
    return c;
}

void mpx_conn_close(mpx_conn *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    frame_reader_free(&c->in);
    free(c);
}

int mpx_conn_fileno(const mpx_conn *c)
{
    return c->fd;
}

/* A key is given (handshake) or NULL (none); an empty one is a mistake either way, since
 * Python's Listener reads b"" as none and its Client as a key. */
static int check_key(const void *authkey, size_t keylen)
{
    return authkey != NULL && keylen == 0 ? MPX_EINVAL : MPX_OK;
}

int mpx_conn_connect(const char *address, const void *authkey, size_t keylen,
                     const mpx_conn_opts *opts, mpx_conn **out)
{
    mpx_conn *c = conn_new(opts, -1);
    *out = c;
    if (c == NULL)
        return MPX_ENOMEM;
    if (check_key(authkey, keylen) != MPX_OK)
        return conn_fail(c, MPX_EINVAL, "an empty authkey: pass NULL for no authentication");
    char err[CONN_ERRMSG_MAX - 64] = "";
    mpx_address addr;
    if (address_parse(address, &addr, err, sizeof err) != MPX_OK)
        return conn_fail(c, MPX_EADDR, "bad address '%.64s': %s", address ? address : "",
                         err);
    if (transport_scheme_of(&addr)->tls)
        return conn_fail(c, MPX_EADDR, "%.64s: connections speak tcp:// and unix:// (tls:// "
                         "is for managers)", address);
    int64_t deadline = sock_deadline(c->opts.handshake_timeout_ms);
    int fd, rc = sock_connect(&addr, deadline, &fd, err, sizeof err);
    if (rc != MPX_OK)
        return conn_fail(c, rc, "cannot connect to %.64s: %s", address, err);
    if (authkey != NULL) {
        /* Client(): answer_challenge, then deliver_challenge (auth_client_handshake) */
        rc = auth_client_handshake(&(sock_link){.fd = fd}, authkey, keylen, deadline, err,
                                   sizeof err);
        if (rc != MPX_OK) {
            close(fd);
            return conn_fail(c, rc, "handshake with %.64s failed: %s", address,
                             err[0] ? err : mpx_strerror(rc));
        }
    }
    c->fd = fd;
    return MPX_OK;
}

int mpx_pipe(mpx_conn **a, mpx_conn **b)
{
    int sv[2];
    *a = *b = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return errno == EMFILE || errno == ENFILE ? MPX_ELIMIT : MPX_EIO;
    *a = conn_new(NULL, sv[0]);
    *b = conn_new(NULL, sv[1]);
    if (*a == NULL || *b == NULL) {
        if (*a == NULL)
            close(sv[0]);
        if (*b == NULL)
            close(sv[1]);
        mpx_conn_close(*a);
        mpx_conn_close(*b);
        *a = *b = NULL;
        return MPX_ENOMEM;
    }
    return MPX_OK;
}

/* ---- sending ---------------------------------------------------------------------------- */

static int ready_to_send(mpx_conn *c)
{
    clear_error(c);
    if (c->fd < 0)
        return conn_fail(c, MPX_ECLOSED, "not connected");
    if (c->write_err != MPX_OK)
        return conn_fail(c, c->write_err, "the connection can no longer send: %s",
                         c->stopped);
    return MPX_OK;
}

static int send_message(mpx_conn *c, const void *buf, size_t len)
{
    int rc = sock_send_frame(c->fd, buf, len, sock_deadline(c->opts.send_timeout_ms));
    if (rc == MPX_OK)
        return MPX_OK;
    int e = errno;
    /* Part of the message may have gone: what the peer reads next would be its tail. */
    if (rc == MPX_ETIMEOUT)
        snprintf(c->stopped, sizeof c->stopped, "a send of %zu bytes timed out", len);
    else if (e == EPIPE || e == ECONNRESET)
        snprintf(c->stopped, sizeof c->stopped, "the peer has closed the connection");
    else
        snprintf(c->stopped, sizeof c->stopped, "a send failed: %s", strerror(e));
    c->write_err = rc == MPX_ETIMEOUT ? MPX_ETIMEOUT : MPX_EIO;
    return conn_fail(c, c->write_err, "%s", c->stopped);
}

int mpx_conn_send_bytes(mpx_conn *c, const void *buf, size_t len)
{
    int rc = ready_to_send(c);
    if (rc != MPX_OK)
        return rc;
    if (buf == NULL && len > 0)
        return conn_fail(c, MPX_EINVAL, "no buffer");
    return send_message(c, buf, len);
}

int mpx_conn_send(mpx_conn *c, const mpx_value *v)
{
    int rc = ready_to_send(c);
    if (rc != MPX_OK)
        return rc;
    if (v == NULL)
        return conn_fail(c, MPX_EINVAL, "no value");
    pickle_out o = {0};
    pickle_begin(&o);
    pickle_value(&o, v, NULL, NULL);
    if ((rc = pickle_end(&o)) != MPX_OK) {
        pickle_out_free(&o);
        return conn_fail(c, rc, "cannot pickle the value: %s",
                         rc == MPX_ENOMEM ? "out of memory"
                                          : "a reference to a shared object, or nested too "
                                            "deeply (only data values travel)");
    }
    rc = send_message(c, o.data, o.len);
    pickle_out_free(&o);
    return rc;
}

/* ---- receiving -------------------------------------------------------------------------- */

/* The length the buffered header announces (the header is complete). */
static uint64_t announced_length(const frame_reader *r)
{
    const uint8_t *p = r->buf + r->start;
    int32_t n = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                          p[3]);
    if (n != -1)
        return (uint64_t)(int64_t)n;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[4 + i];
    return v;
}

/* How much of a message had come, for the message of an EOF in the middle of it. */
static void describe_partial(const frame_reader *r, char *buf, size_t size)
{
    size_t have = r->end - r->start, hdr = 4;
    if (have >= 4 && memcmp(r->buf + r->start, "\xff\xff\xff\xff", 4) == 0)
        hdr = 12;
    if (have < hdr)
        snprintf(buf, size, "%zu bytes of its %zu-byte header had come", have, hdr);
    else
        snprintf(buf, size, "%zu of its %llu bytes had come", have - hdr,
                 (unsigned long long)announced_length(r));
}

/* The next whole message: MPX_OK with *payload and *len pointing into c->in, valid until
 * the next recv; or an error recorded on c. Each turn receives at least one byte or
 * returns, so the loop ends by the deadline or at the end of the message. */
static int next_message(mpx_conn *c, double timeout, const uint8_t **payload, size_t *len)
{
    clear_error(c);
    if (c->fd < 0)
        return conn_fail(c, MPX_ECLOSED, "not connected");
    if (c->read_err != MPX_OK)
        return conn_fail(c, c->read_err, "the connection can no longer receive: %s",
                         c->stopped);
    if (c->in.start == c->in.end && frame_reader_capacity(&c->in) > CONN_KEEP_BUFFER)
        frame_reader_free(&c->in); /* the last message was big, and it has been taken */
    int64_t deadline = deadline_after(timeout);
    for (;;) {
        int rc = frame_reader_next(&c->in, payload, len);
        if (rc == 1)
            return MPX_OK;
        if (rc == MPX_ETOOBIG)
            return stop_reading(c, rc, "a message of %llu bytes is over the limit of %zu",
                                (unsigned long long)announced_length(&c->in),
                                c->opts.max_message);
        if (rc < 0)
            return stop_reading(c, MPX_EPROTO, "bad message header (a negative length)");
        size_t want = frame_reader_missing(&c->in), avail, got;
        uint8_t *ptr;
        if (frame_reader_reserve(&c->in, want, &ptr, &avail) != MPX_OK)
            return conn_fail(c, MPX_ENOMEM, "out of memory receiving a message");
        rc = sock_recv_avail(c->fd, ptr, avail < want ? avail : want, deadline, &got);
        size_t have = c->in.end - c->in.start;
        if (rc == MPX_ETIMEOUT)
            return conn_fail(c, rc, have ? "timed out in the middle of a message "
                                         "(what came is kept for the next recv)"
                                         : "no message came in time");
        if (rc == MPX_ECLOSED && have == 0)
            return conn_fail(c, rc, "the peer closed the connection");
        if (rc == MPX_ECLOSED) {
            char part[64];
            describe_partial(&c->in, part, sizeof part);
            return stop_reading(c, MPX_EIO, "the peer closed the connection in the middle of "
                                "a message (%s)", part);
        }
        if (rc != MPX_OK)
            return stop_reading(c, MPX_EIO, "receiving failed: %s", strerror(errno));
        frame_reader_commit(&c->in, got);
    }
}

int mpx_conn_recv_bytes(mpx_conn *c, double timeout, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    const uint8_t *payload;
    size_t n;
    int rc = next_message(c, timeout, &payload, &n);
    if (rc != MPX_OK)
        return rc;
    uint8_t *copy = malloc(n + 1);
    if (copy == NULL)
        return conn_fail(c, MPX_ENOMEM, "out of memory for a message of %zu bytes", n);
    if (n > 0)
        memcpy(copy, payload, n);
    copy[n] = '\0';
    *buf = copy;
    *len = n;
    return MPX_OK;
}

int mpx_conn_recv(mpx_conn *c, double timeout, mpx_value *out)
{
    *out = mpx_value_none();
    const uint8_t *payload;
    size_t n;
    int rc = next_message(c, timeout, &payload, &n);
    if (rc != MPX_OK)
        return rc;
    char err[CONN_ERRMSG_MAX - 64] = "";
    if (n == 0 || payload[0] != PICKLE_PROTO) /* Python's pickles of protocol 2 and up */
        return conn_fail(c, MPX_EPROTO, "the message (%zu bytes) is not a pickle", n);
    if ((rc = pickle_decode(payload, n, out, err, sizeof err)) != MPX_OK)
        return conn_fail(c, rc, "cannot unpickle the message: %s", err);
    return MPX_OK;
}

int mpx_conn_poll(mpx_conn *c, double timeout, bool *ready)
{
    *ready = false;
    clear_error(c);
    if (c->fd < 0)
        return conn_fail(c, MPX_ECLOSED, "not connected");
    if (c->read_err != MPX_OK)
        return conn_fail(c, c->read_err, "the connection can no longer receive: %s",
                         c->stopped);
    if (c->in.end > c->in.start && frame_reader_missing(&c->in) == 0) {
        *ready = true; /* a whole message, or a bad header recv will report */
        return MPX_OK;
    }
    if (sock_poll_readable(c->fd, deadline_after(timeout), ready) != MPX_OK)
        return conn_fail(c, MPX_EIO, "poll failed: %s", strerror(errno));
    return MPX_OK;
}

/* ---- listeners -------------------------------------------------------------------------- */

int mpx_listener_open(const char *address, const void *authkey, size_t keylen,
                      const mpx_conn_opts *opts, mpx_listener **out)
{
    mpx_listener *l = calloc(1, sizeof *l);
    *out = l;
    if (l == NULL)
        return MPX_ENOMEM;
    l->fd = -1;
    l->opts = resolve_opts(opts);
    if (check_key(authkey, keylen) != MPX_OK)
        return listener_fail(l, MPX_EINVAL, "an empty authkey: pass NULL for none");
    if (authkey != NULL) {
        if ((l->key = malloc(keylen)) == NULL)
            return listener_fail(l, MPX_ENOMEM, "out of memory");
        memcpy(l->key, authkey, keylen);
        l->keylen = keylen;
    }
    char err[CONN_ERRMSG_MAX - 64] = "";
    mpx_address addr, bound;
    if (address_parse(address, &addr, err, sizeof err) != MPX_OK)
        return listener_fail(l, MPX_EADDR, "bad address '%.64s': %s", address ? address : "",
                             err);
    if (transport_scheme_of(&addr)->tls)
        return listener_fail(l, MPX_EADDR, "%.64s: listeners speak tcp:// and unix:// "
                             "(tls:// is for managers)", address);
    int rc = sock_listen(&addr, l->opts.backlog, &l->fd, &bound, err, sizeof err);
    if (rc != MPX_OK)
        return listener_fail(l, rc, "cannot listen on %.64s: %s", address, err);
    if (address_format(&bound, l->address, sizeof l->address) < 0)
        snprintf(l->address, sizeof l->address, "%s", address);
    if (transport_scheme_of(&bound)->leaves_file)
        snprintf(l->path, sizeof l->path, "%s", bound.path);
    l->pid = getpid();
    return MPX_OK;
}

const char *mpx_listener_address(const mpx_listener *l)
{
    return l->address;
}

int mpx_listener_fileno(const mpx_listener *l)
{
    return l->fd;
}

/* "127.0.0.1:40312", "[::1]:5000" or "a unix peer", for messages. */
static void peer_name(int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN + 1], port[8];
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 || ss.ss_family == AF_UNIX ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, size, "a unix peer");
        return;
    }
    snprintf(buf, size, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

int mpx_listener_accept(mpx_listener *l, double timeout, mpx_conn **out)
{
    *out = NULL;
    l->err = MPX_OK;
    l->errmsg[0] = '\0';
    if (l->fd < 0)
        return listener_fail(l, MPX_ECLOSED, "not listening");
    int fd, rc = sock_accept(l->fd, deadline_after(timeout), &fd);
    if (rc == MPX_ETIMEOUT)
        return listener_fail(l, rc, "no connection came in time");
    if (rc != MPX_OK)
        return listener_fail(l, rc, "accept failed: %s", strerror(errno));
    if (l->key != NULL) {
        /* Listener.accept(): deliver_challenge, then answer_challenge */
        char err[CONN_ERRMSG_MAX - 96] = "", peer[64];
        rc = auth_server_handshake(&(sock_link){.fd = fd}, l->key, l->keylen,
                                   sock_deadline(l->opts.handshake_timeout_ms), err, sizeof err);
        if (rc != MPX_OK) {
            peer_name(fd, peer, sizeof peer);
            close(fd);
            return listener_fail(l, rc, "handshake with %s failed: %s", peer,
                                 err[0] ? err : mpx_strerror(rc));
        }
    }
    if ((*out = conn_new(&l->opts, fd)) == NULL) {
        close(fd);
        return listener_fail(l, MPX_ENOMEM, "out of memory");
    }
    return MPX_OK;
}

void mpx_listener_close(mpx_listener *l)
{
    if (l == NULL)
        return;
    if (l->fd >= 0)
        close(l->fd);
    /* Only the process that bound it: a forked child closing its copy leaves the file. */
    if (l->path[0] != '\0' && l->pid == getpid())
        unlink(l->path);
    free(l->key);
    free(l);
}
