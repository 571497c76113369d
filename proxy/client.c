/* client.c - one authenticated connection to a manager and the synchronous call.
 *
 * A call is one request frame out and reply frames in until the one with its call id
 * arrives; replies to earlier calls that timed out on the socket are skipped, so a slow
 * reply never answers the wrong call. The client remembers the pid that connected: in a
 * forked child the next call opens a new connection (the parent's socket is left to the
 * parent) and takes new references to every live proxy for the child's session.
 * A fork handler closes the child's copies of every client socket at once: otherwise a
 * child would keep its parent's sessions open, and the manager would not see the parent
 * die (its locks would stay held) while any child lives.
 * A call whose reply does not come in time ends the connection (a hiredis context is not
 * reused after an error): the manager may still answer it, and a lock it grants must go
 * to no caller that gave up. Whether a method may wait (and so has no deadline here) the
 * client asks the manager once per type (client_method_may_wait).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "codec.h"
#include "frame.h"
#include "mpx/authkey.h"
#include "mpx/client.h"
#include "proxy_internal.h"
#include "scheme.h"
#include "sock.h"
#include "tls.h"

/* How much longer than a call's own timeout the socket waits for its reply. */
#define CLIENT_REPLY_MARGIN_MS 2000

struct mpx_client {
    char address[400];
    mpx_address addr;
    uint8_t *key;
    size_t keylen;
    mpx_client_opts opts;
    int fd;             /* -1 when not connected */
    tls_conn *tls;      /* over fd for tls:// addresses; NULL otherwise */
    tls_config *tls_config; /* made by the first tls:// dial, from opts.tls_* */
    pid_t pid;          /* the process that owns fd */
    frame_reader in;    /* replies received and not yet taken */
    arena scratch;      /* the codec's, per message */
    frame_buf out;      /* request frames appended and not yet sent */
    size_t pending;     /* appended calls whose reply has not been taken */
    uint64_t first_pending_id; /* replies to lower ids are late ones of timed-out calls */
    int64_t rcv_timeo_ms; /* fd's SO_RCVTIMEO, 0 when none (sock_recv_some) */
    uint64_t next_call_id;
    int err;
    char errmsg[MPX_ERRMSG_MAX];
    list proxies;           /* live proxies (mpx_proxy.link) */
    struct type_methods *types; /* what the manager said of the types' methods */
    list_node link;         /* in clients: every client of the process, for fork */
};

/* The manager's answer to methods(type): the names of the type's methods that may wait. */
typedef struct type_methods {
    struct type_methods *next;
    char type[PROXY_TYPE_MAX];
    size_t nwaiting;
    char **waiting;
} type_methods;

#define METHOD_MAY_WAIT 0x1 /* methods(type)'s flag: the manager's METHOD_MAY_WAIT */

/* ---- the process's clients, for fork ---------------------------------------------------- */

static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t clients_once = PTHREAD_ONCE_INIT;
static list clients;

static void fork_prepare(void)
{
    pthread_mutex_lock(&clients_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&clients_lock);
}

/* In the child: drop the inherited sockets; the next call reconnects (its pid differs). */
static void fork_child(void)
{
    for (list_node *n = clients.head; n != NULL; n = n->next) {
        mpx_client *c = list_entry(n, mpx_client, link);
        if (c->fd >= 0) {
            close(c->fd);
            c->fd = -1;
        }
        tls_conn_free(c->tls); /* the parent's session: no close_notify from here */
        c->tls = NULL;
    }
    pthread_mutex_unlock(&clients_lock);
}

static void install_fork_handler(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void register_client(mpx_client *c)
{
    pthread_once(&clients_once, install_fork_handler);
    pthread_mutex_lock(&clients_lock);
    list_push_back(&clients, &c->link);
    pthread_mutex_unlock(&clients_lock);
}

static void unregister_client(mpx_client *c)
{
    pthread_mutex_lock(&clients_lock);
    list_remove(&clients, &c->link);
    pthread_mutex_unlock(&clients_lock);
}

void mpx_client_opts_init(mpx_client_opts *opts)
{
    opts->connect_timeout_ms = 5000;
    opts->call_timeout_ms = 30000;
    opts->max_message = FRAME_DEFAULT_MAX;
    opts->tls_ca = opts->tls_cert = opts->tls_key = NULL;
    opts->tls_no_verify = 0;
}

int client_fail(mpx_client *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    c->err = code;
    return code;
}

int mpx_client_errcode(const mpx_client *c)
{
    return c->err;
}

const char *mpx_client_errmsg(const mpx_client *c)
{
    return c->errmsg;
}

const char *mpx_client_address(const mpx_client *c)
{
    return c->address;
}

void client_track_proxy(mpx_client *c, struct mpx_proxy *p)
{
    list_push_back(&c->proxies, &p->link);
}

void client_untrack_proxy(mpx_client *c, struct mpx_proxy *p)
{
    list_remove(&c->proxies, &p->link);
}

static void type_methods_free(type_methods *t)
{
    for (size_t i = 0; i < t->nwaiting; i++)
        free(t->waiting[i]);
    free(t->waiting);
    free(t);
}

static void disconnect(mpx_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    tls_conn_free(c->tls);
    c->tls = NULL;
    frame_reader_free(&c->in); /* what was buffered belonged to that connection */
    frame_reader_init(&c->in, c->opts.max_message);
    c->out.len = 0;           /* and so did every call not yet answered */
    c->pending = 0;
}

static const char *opt_or_env(const char *opt, const char *env)
{
    return opt != NULL ? opt : getenv(env);
}

int proxy_start_tls(const mpx_client_opts *opts, const char *host, int fd, int64_t deadline,
                    tls_config **config, tls_conn **out, char *err, size_t errlen)
{
    const char *no_verify = getenv("MPX_TLS_NO_VERIFY");
    bool verify = !opts->tls_no_verify && !(no_verify != NULL && strcmp(no_verify, "1") == 0);
    int rc = MPX_OK;
    if (*config == NULL)
        rc = tls_client_config(opt_or_env(opts->tls_ca, "MPX_TLS_CA"),
                               opt_or_env(opts->tls_cert, "MPX_TLS_CERT"),
                               opt_or_env(opts->tls_key, "MPX_TLS_KEY"), verify, config, err,
                               errlen);
    if (rc != MPX_OK)
        return rc;
    if ((*out = tls_conn_new(*config, host)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return MPX_ENOMEM;
    }
    return tls_handshake_fd(*out, fd, deadline, err, errlen);
}

/* Connects and authenticates; the connection then belongs to this process. */
static int dial(mpx_client *c)
{
    char err[MPX_ERRMSG_MAX - 64];
    int64_t deadline = sock_deadline(c->opts.connect_timeout_ms);
    int fd, rc = sock_connect(&c->addr, deadline, &fd, err, sizeof err);
    if (rc != MPX_OK)
        return client_fail(c, rc, "cannot connect to %s: %s", c->address, err);
    if (transport_scheme_of(&c->addr)->tls)
        rc = proxy_start_tls(&c->opts, c->addr.host, fd, deadline, &c->tls_config, &c->tls,
                             err, sizeof err);
    sock_link link = {.fd = fd, .tls = c->tls};
    if (rc == MPX_OK)
        rc = auth_client_handshake(&link, c->key, c->keylen, deadline, err, sizeof err);
    if (rc == MPX_OK && sock_set_blocking(fd) != MPX_OK) {
        rc = MPX_EIO;
        snprintf(err, sizeof err, "cannot make the socket blocking");
    }
    if (rc != MPX_OK) {
        close(fd);
        tls_conn_free(c->tls);
        c->tls = NULL;
        return client_fail(c, rc, "handshake with %s failed: %s", c->address, err);
    }
    c->fd = fd;
    c->rcv_timeo_ms = 0;
    c->pid = getpid();
    return MPX_OK;
}

int mpx_client_connect(const char *address, const void *authkey, size_t keylen,
                       const mpx_client_opts *opts, mpx_client **out)
{
    mpx_client *c = calloc(1, sizeof *c);
    *out = c;
    if (c == NULL)
        return MPX_ENOMEM;
    c->fd = -1;
    c->next_call_id = 1;
    if (opts != NULL)
        c->opts = *opts;
    else
        mpx_client_opts_init(&c->opts);
    frame_reader_init(&c->in, c->opts.max_message);
    arena_init(&c->scratch);
    snprintf(c->address, sizeof c->address, "%s", address ? address : "");
    char err[MPX_ERRMSG_MAX - 64];
    if (address_parse(c->address, &c->addr, err, sizeof err) != MPX_OK)
        return client_fail(c, MPX_EADDR, "bad address '%s': %s", c->address, err);
    if (authkey == NULL || keylen == 0)
        return client_fail(c, MPX_EINVAL, "an authkey is required");
    c->key = malloc(keylen);
    if (c->key == NULL)
        return client_fail(c, MPX_ENOMEM, "out of memory");
    memcpy(c->key, authkey, keylen);
    c->keylen = keylen;
    int rc = dial(c);
    if (rc == MPX_OK)
        register_client(c);
    return rc;
}

int mpx_client_connect_keyfile(const char *address, const char *keyfile,
                               const mpx_client_opts *opts, mpx_client **out)
{
    uint8_t *key;
    size_t keylen;
    char err[MPX_ERRMSG_MAX - 16];
    int rc = mpx_authkey_resolve(keyfile, &key, &keylen, err, sizeof err);
    if (rc != MPX_OK) {
        mpx_client_connect(address, NULL, 0, opts, out); /* a failed client, to say why */
        return *out != NULL ? client_fail(*out, rc, "authkey: %s", err) : MPX_ENOMEM;
    }
    rc = mpx_client_connect(address, key, keylen, opts, out);
    free(key);
    return rc;
}

void mpx_client_close(mpx_client *c)
{
    if (c == NULL)
        return;
    /* proxies that outlive their client fail their calls instead of touching freed memory */
    list_node *n;
    while ((n = list_pop_front(&c->proxies)) != NULL)
        list_entry(n, struct mpx_proxy, link)->client = NULL;
    while (c->types != NULL) {
        type_methods *t = c->types;
        c->types = t->next;
        type_methods_free(t);
    }
    if (c->pid != 0)
        unregister_client(c);
    disconnect(c); /* in a child, only its own copy: the parent's connection is unaffected */
    frame_reader_free(&c->in);
    frame_buf_free(&c->out);
    arena_free(&c->scratch);
    tls_config_free(c->tls_config);
    free(c->key);
    free(c);
}

/* How a call's reply is waited for. */
typedef enum reply_wait {
    WAIT_DEFAULT, /* a call that does not wait: opts.call_timeout_ms */
    WAIT_CALL,    /* a call that may wait: its timeout plus a margin, or forever */
} reply_wait;

static int call_once(mpx_client *c, uint64_t object_id, const char *method,
                     const mpx_value *args, size_t nargs, double timeout, reply_wait how,
                     mpx_value *result);

/* In a forked child: a connection of our own, and our own references to live proxies. */
static int reconnect_after_fork(mpx_client *c)
{
    disconnect(c); /* the fork handler closed it already; this is for forks it missed */
    int rc = dial(c);
    if (rc != MPX_OK)
        return rc;
    for (list_node *n = c->proxies.head; n != NULL; n = n->next) {
        struct mpx_proxy *p = list_entry(n, struct mpx_proxy, link);
        mpx_value id = mpx_value_int((int64_t)p->id), type;
        if (call_once(c, 0, "incref", &id, 1, -1, WAIT_DEFAULT, &type) == MPX_OK)
            mpx_value_free(&type);
    }
    c->err = MPX_OK;
    c->errmsg[0] = '\0';
    return MPX_OK;
}

static int64_t reply_deadline(const mpx_client *c, double timeout, reply_wait how)
{
    if (how == WAIT_DEFAULT)
        return sock_deadline(c->opts.call_timeout_ms);
    if (timeout < 0)
        return -1;
    if (timeout > 1e9)
        timeout = 1e9;
    return sock_deadline((int64_t)(timeout * 1000) + CLIENT_REPLY_MARGIN_MS);
}

/* A transport failure leaves the stream in an unknown state: drop the connection. */
static int lost(mpx_client *c, int rc, const char *what)
{
    disconnect(c);
    return client_fail(c, rc, "connection to %s lost while %s: %s", c->address, what,
                       mpx_strerror(rc));
}

/* The next reply frame, from what is buffered or else from one receive: MPX_OK with
 * frame pointing into c->in (valid until the next call here), or an error recorded on
 * the client (the connection dropped unless it is a timeout). */
static int next_frame(mpx_client *c, int64_t deadline, const uint8_t **frame, size_t *len)
{
    for (;;) {
        int rc = frame_reader_next(&c->in, frame, len);
        if (rc == 1)
            return MPX_OK;
        if (rc < 0)
            return lost(c, rc, rc == MPX_ETOOBIG ? "reading a reply over the size limit"
                                                 : "reading a reply");
        uint8_t *ptr;
        size_t avail, got;
        if (frame_reader_reserve(&c->in, 65536, &ptr, &avail) != MPX_OK)
            return lost(c, MPX_ENOMEM, "reading a reply");
        sock_link link = {.fd = c->fd, .tls = c->tls};
        rc = link_recv_some(&link, ptr, avail, deadline, &c->rcv_timeo_ms, &got);
        if (rc == MPX_ETIMEOUT)
            return client_fail(c, rc, "no reply from %s in time", c->address);
        if (rc != MPX_OK)
            return lost(c, rc, "reading a reply");
        frame_reader_commit(&c->in, got);
    }
}

/* The next reply to a call at or after first_id (replies to earlier ids are late ones of
 * synchronous calls that timed out, and are skipped). *rep is the caller's to clear. */
static int next_reply(mpx_client *c, uint64_t first_id, int64_t deadline, mpx_reply *rep)
{
    for (;;) {
        const uint8_t *frame;
        size_t len;
        int rc = next_frame(c, deadline, &frame, &len);
        if (rc != MPX_OK)
            return rc;
        char err[MPX_ERRMSG_MAX - 64];
        if ((rc = codec_reply_decode(frame, len, rep, err, sizeof err)) != MPX_OK) {
            disconnect(c);
            return client_fail(c, rc, "bad reply from %s: %s", c->address, err);
        }
        if (rep->call_id >= first_id)
            return MPX_OK;
        codec_reply_clear(rep);
    }
}

/* A reply's outcome: its value into *result, or its error kept on the client. */
static int take_reply(mpx_client *c, mpx_reply *rep, mpx_value *result)
{
    int rc = rep->err;
    if (rc != MPX_OK)
        client_fail(c, rc, "%s", rep->message);
    else
        mpx_value_move(result, &rep->value);
    codec_reply_clear(rep);
    return rc;
}

/* The reply to the synchronous call call_id (the only one in flight: ids are sequential).
 * When none comes in time the manager may still answer: no later call may take that for
 * its own, so the connection ends. */
static int read_reply(mpx_client *c, const char *method, uint64_t call_id, int64_t deadline,
                      mpx_value *result)
{
    mpx_reply rep;
    int rc = next_reply(c, call_id, deadline, &rep);
    if (rc == MPX_ETIMEOUT) {
        disconnect(c);
        return client_fail(c, rc, "no reply to %s from %s in time; the connection is closed",
                           method, c->address);
    }
    return rc != MPX_OK ? rc : take_reply(c, &rep, result);
}

int proxy_encode_request(arena *scratch, frame_buf *out, size_t max_message, uint64_t id,
                         uint64_t object_id, const char *method, const mpx_value *args,
                         size_t nargs, double timeout)
{
    codec_packer p;
    int rc = codec_request_prepare(scratch, id, object_id, method, args, nargs, timeout >= 0,
                                   timeout >= 0 ? timeout : 0, &p);
    uint8_t *dst = NULL;
    if (rc == MPX_OK && p.size > max_message)
        rc = MPX_ETOOBIG;
    if (rc == MPX_OK && (dst = frame_buf_add(out, p.size)) == NULL)
        rc = MPX_ENOMEM;
    if (rc == MPX_OK)
        codec_pack(&p, dst);
    arena_reset(scratch);
    return rc;
}

/* Encodes a request frame onto c->out; *call_id is its id. */
static int append_request(mpx_client *c, uint64_t object_id, const char *method,
                          const mpx_value *args, size_t nargs, double timeout,
                          uint64_t *call_id)
{
    uint64_t id = c->next_call_id++;
    int rc = proxy_encode_request(&c->scratch, &c->out, c->opts.max_message, id, object_id,
                                  method, args, nargs, timeout);
    if (rc == MPX_ETOOBIG)
        return client_fail(c, rc, "the request for %s is over the size limit", method);
    if (rc != MPX_OK)
        return client_fail(c, rc, "cannot encode the arguments of %s: %s", method,
                           rc == MPX_EVALUE ? "nested too deeply" : "out of memory");
    *call_id = id;
    return MPX_OK;
}

/* Sends every appended request in one write. */
static int flush_requests(mpx_client *c, int64_t deadline)
{
    if (c->out.len == 0)
        return MPX_OK;
    sock_link link = {.fd = c->fd, .tls = c->tls};
    int rc = link_write_all(&link, c->out.data, c->out.len, deadline);
    c->out.len = 0;
    return rc == MPX_OK ? MPX_OK : lost(c, rc, "sending requests");
}

static int call_once(mpx_client *c, uint64_t object_id, const char *method,
                     const mpx_value *args, size_t nargs, double timeout, reply_wait how,
                     mpx_value *result)
{
    uint64_t call_id = 0;
    int rc = append_request(c, object_id, method, args, nargs, timeout, &call_id);
    if (rc != MPX_OK)
        return rc;
    int64_t deadline = reply_deadline(c, timeout, how);
    if ((rc = flush_requests(c, deadline)) != MPX_OK)
        return rc;
    return read_reply(c, method, call_id, deadline, result);
}

/* What every entry point does first: clears the last error; a child after fork gets its
 * own connection (appended calls of the parent are the parent's). */
static int prepare(mpx_client *c)
{
    c->err = MPX_OK;
    c->errmsg[0] = '\0';
    int rc;
    if (c->pid != 0 && c->pid != getpid() && (rc = reconnect_after_fork(c)) != MPX_OK)
        return rc;
    if (c->fd < 0)
        return client_fail(c, MPX_ECLOSED, "not connected to %s", c->address);
    return MPX_OK;
}

static int client_call(mpx_client *c, uint64_t object_id, const char *method,
                       const mpx_value *args, size_t nargs, double timeout, reply_wait how,
                       mpx_value *result)
{
    *result = mpx_value_none();
    if (method == NULL || (nargs > 0 && args == NULL))
        return client_fail(c, MPX_EINVAL, "no method or no arguments given");
    int rc = prepare(c);
    if (rc != MPX_OK)
        return rc;
    if (c->pending > 0 || c->out.len > 0)
        return client_fail(c, MPX_EINVAL, "%zu pipelined calls are unanswered: take their "
                           "replies (mpx_client_get_reply) before a synchronous call",
                           c->pending);
    return call_once(c, object_id, method, args, nargs, timeout, how, result);
}

int mpx_client_call(mpx_client *c, uint64_t object_id, const char *method,
                    const mpx_value *args, size_t nargs, double timeout, mpx_value *result)
{
    return client_call(c, object_id, method, args, nargs, timeout, WAIT_DEFAULT, result);
}

int mpx_client_call_wait(mpx_client *c, uint64_t object_id, const char *method,
                         const mpx_value *args, size_t nargs, double timeout,
                         mpx_value *result)
{
    return client_call(c, object_id, method, args, nargs, timeout, WAIT_CALL, result);
}

/* Reads one (name, min_args, max_args, flags) row of methods(type) into t. */
static int add_method_row(type_methods *t, const mpx_value *row)
{
    const mpx_value *f = mpx_value_items(row);
    if (mpx_value_kind(row) != MPX_TUPLE || mpx_value_len(row) != 4 ||
        mpx_value_kind(&f[0]) != MPX_STR || mpx_value_kind(&f[3]) != MPX_INT)
        return MPX_EPROTO;
    if (!(mpx_value_get_int(&f[3]) & METHOD_MAY_WAIT))
        return MPX_OK;
    char *name = strdup(mpx_value_str_data(&f[0]));
    if (name == NULL)
        return MPX_ENOMEM;
    t->waiting[t->nwaiting++] = name;
    return MPX_OK;
}

/* Asks the manager about type's methods and keeps the answer on the client. */
static int fetch_type_methods(mpx_client *c, const char *type, type_methods **out)
{
    mpx_value name, rows;
    if (mpx_value_str(&name, type) != MPX_OK)
        return client_fail(c, MPX_ENOMEM, "out of memory");
    int rc = mpx_client_call(c, 0, "methods", &name, 1, -1, &rows);
    mpx_value_free(&name);
    if (rc != MPX_OK)
        return rc;
    type_methods *t = calloc(1, sizeof *t);
    size_t n = mpx_value_len(&rows);
    if (t == NULL || (t->waiting = calloc(n ? n : 1, sizeof *t->waiting)) == NULL)
        rc = MPX_ENOMEM;
    if (rc == MPX_OK && mpx_value_kind(&rows) != MPX_LIST)
        rc = MPX_EPROTO;
    for (size_t i = 0; rc == MPX_OK && i < n; i++)
        rc = add_method_row(t, &mpx_value_items(&rows)[i]);
    mpx_value_free(&rows);
    if (rc != MPX_OK) {
        if (t != NULL)
            type_methods_free(t);
        return client_fail(c, rc, "methods(%s): %s", type,
                           rc == MPX_ENOMEM ? "out of memory" : "a malformed answer");
    }
    snprintf(t->type, sizeof t->type, "%s", type);
    t->next = c->types;
    c->types = t;
    *out = t;
    return MPX_OK;
}

int client_method_may_wait(mpx_client *c, const char *type, const char *method, bool *out)
{
    type_methods *t = c->types;
    while (t != NULL && strcmp(t->type, type) != 0)
        t = t->next;
    int rc = t != NULL ? MPX_OK : fetch_type_methods(c, type, &t);
    if (rc != MPX_OK)
        return rc;
    *out = false;
    for (size_t i = 0; i < t->nwaiting && !*out; i++)
        *out = strcmp(t->waiting[i], method) == 0;
    return MPX_OK;
}

/* ---- pipelining -------------------------------------------------------------------------- */

int mpx_client_append(mpx_client *c, uint64_t object_id, const char *method,
                      const mpx_value *args, size_t nargs, double timeout, uint64_t *call_id)
{
    if (method == NULL || (nargs > 0 && args == NULL) || call_id == NULL)
        return client_fail(c, MPX_EINVAL, "no method, arguments or call id given");
    int rc = prepare(c);
    if (rc != MPX_OK)
        return rc;
    if ((rc = append_request(c, object_id, method, args, nargs, timeout, call_id)) != MPX_OK)
        return rc;
    if (c->pending++ == 0)
        c->first_pending_id = *call_id;
    return MPX_OK;
}

int mpx_client_flush(mpx_client *c)
{
    int rc = prepare(c);
    if (rc != MPX_OK)
        return rc;
    return flush_requests(c, sock_deadline(c->opts.call_timeout_ms));
}

int mpx_client_get_reply(mpx_client *c, double timeout, uint64_t *call_id, int *status,
                         mpx_value *result)
{
    *result = mpx_value_none();
    *call_id = 0;
    *status = MPX_OK;
    int rc = prepare(c);
    if (rc != MPX_OK)
        return rc;
    if (c->pending == 0)
        return client_fail(c, MPX_EINVAL, "no pipelined call is waiting for its reply");
    int64_t deadline = timeout < 0 ? -1 : sock_deadline((int64_t)(timeout * 1000));
    if ((rc = flush_requests(c, sock_deadline(c->opts.call_timeout_ms))) != MPX_OK)
        return rc;
    mpx_reply rep;
    if ((rc = next_reply(c, c->first_pending_id, deadline, &rep)) != MPX_OK)
        return rc;
    c->pending--;
    *call_id = rep.call_id;
    *status = take_reply(c, &rep, result);
    return MPX_OK;
}

size_t mpx_client_pending(const mpx_client *c)
{
    return c->pending;
}

/* ---- manager-level calls ------------------------------------------------------------------ */

/* [first..., args...] as one borrowed array (shallow copies: the codec only reads). */
static int join_args(mpx_client *c, const mpx_value *first, size_t nfirst,
                     const mpx_value *args, size_t nargs, mpx_value **out)
{
    *out = malloc((nfirst + nargs + 1) * sizeof **out);
    if (*out == NULL)
        return client_fail(c, MPX_ENOMEM, "out of memory");
    memcpy(*out, first, nfirst * sizeof *first);
    if (nargs > 0)
        memcpy(*out + nfirst, args, nargs * sizeof *args);
    return MPX_OK;
}

static int call_with_strings(mpx_client *c, const char *method, const char *s1,
                             const char *s2, const mpx_value *args, size_t nargs,
                             mpx_value *ref_out)
{
    mpx_value head[2];
    size_t nhead = 0;
    int rc = MPX_OK;
    *ref_out = mpx_value_none();
    if (s1 != NULL && (rc = mpx_value_str(&head[nhead], s1)) == MPX_OK)
        nhead++;
    if (rc == MPX_OK && s2 != NULL && (rc = mpx_value_str(&head[nhead], s2)) == MPX_OK)
        nhead++;
    mpx_value *all = NULL;
    if (rc != MPX_OK)
        rc = client_fail(c, rc, "bad name or type (not UTF-8?)");
    else if ((rc = join_args(c, head, nhead, args, nargs, &all)) == MPX_OK)
        rc = mpx_client_call(c, 0, method, all, nhead + nargs, -1, ref_out);
    free(all);
    for (size_t i = 0; i < nhead; i++)
        mpx_value_free(&head[i]);
    return rc;
}

int mpx_client_create(mpx_client *c, const char *type, const mpx_value *args, size_t nargs,
                      mpx_value *ref_out)
{
    if (type == NULL)
        return client_fail(c, MPX_EINVAL, "no type given");
    return call_with_strings(c, "create", type, NULL, args, nargs, ref_out);
}

int mpx_client_open(mpx_client *c, const char *name, const char *type, const mpx_value *args,
                    size_t nargs, mpx_value *ref_out)
{
    if (name == NULL || type == NULL)
        return client_fail(c, MPX_EINVAL, "no name or type given");
    return call_with_strings(c, "open", name, type, args, nargs, ref_out);
}

int mpx_client_incref(mpx_client *c, uint64_t object_id, char **type_out)
{
    mpx_value id = mpx_value_int((int64_t)object_id), type;
    int rc = mpx_client_call(c, 0, "incref", &id, 1, -1, &type);
    if (rc == MPX_OK && type_out != NULL) {
        *type_out = mpx_value_kind(&type) == MPX_STR ? strdup(mpx_value_str_data(&type))
                                                      : NULL;
        if (*type_out == NULL)
            rc = client_fail(c, MPX_ENOMEM, "out of memory");
    }
    mpx_value_free(&type);
    return rc;
}

int mpx_client_decref(mpx_client *c, uint64_t object_id)
{
    mpx_value id = mpx_value_int((int64_t)object_id), none;
    int rc = mpx_client_call(c, 0, "decref", &id, 1, -1, &none);
    mpx_value_free(&none);
    return rc;
}

int mpx_client_ping(mpx_client *c)
{
    mpx_value pong;
    int rc = mpx_client_call(c, 0, "ping", NULL, 0, -1, &pong);
    mpx_value_free(&pong);
    return rc;
}

int mpx_client_admin_login(mpx_client *c, const void *key, size_t keylen)
{
    mpx_value challenge, answer, none;
    int rc = mpx_client_call(c, 0, "admin_challenge", NULL, 0, -1, &challenge);
    if (rc != MPX_OK)
        return rc;
    uint8_t response[AUTH_RESPONSE_MAX];
    size_t len;
    char err[128];
    rc = mpx_value_kind(&challenge) == MPX_BYTES
             ? auth_response_make(key, keylen, (const uint8_t *)mpx_value_str_data(&challenge),
                                  mpx_value_str_len(&challenge), response, &len, err,
                                  sizeof err)
             : MPX_EPROTO;
    mpx_value_free(&challenge);
    if (rc != MPX_OK)
        return client_fail(c, rc, "the manager's admin challenge is not one: %s",
                           rc == MPX_EPROTO ? "not bytes" : err);
    if ((rc = mpx_value_bytes(&answer, response, len)) != MPX_OK)
        return client_fail(c, rc, "out of memory");
    rc = mpx_client_call(c, 0, "admin_prove", &answer, 1, -1, &none);
    mpx_value_free(&answer);
    mpx_value_free(&none);
    return rc;
}
