/* rawtcp.c - the floor: a raw TCP request/reply exchange of mpx's message sizes, with no
 * codec, no dispatch and no objects, driven the way mpx-bench drives the manager.
 *
 * A forked child runs a single-threaded epoll echo server (as the manager runs one loop)
 * that answers every REQ_BYTES it reads with REPLY_BYTES; the parent runs one
 * single-threaded epoll driver with CLIENTS connections, each keeping PIPELINE requests in
 * flight, until REQUESTS replies in all. TCP_NODELAY on both ends, loopback only.
 * Invariant: a connection never has more than PIPELINE requests unanswered, and the run
 * ends after REQUESTS replies or after the time limit, whichever comes first.
 *
 * The default sizes are not guessed: `rawtcp --sizes` encodes each benchmarked mpx request
 * and reply with the project's own codec (protocol/codec.c) and prints the framed sizes
 * (4-byte length prefix included), and -s/-r default to the dict __setitem__ pair.
 *
 * --lock is the floor of a contended Lock: each client alternates an acquire and a release
 * (mpx's frame sizes for both), and the server holds one token, granting it FIFO: an
 * acquire is answered only when the token is free, a release passes it to the oldest
 * waiting acquire. One operation is one pair, as in mpx-bench -t lock. Only one client
 * holds the token at a time, so no design can pass it faster than this exchange does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "codec.h"
#include "mpx.h"

#define FRAME_HEADER 4       /* the 4-byte big-endian length prefix */
#define TYPICAL_CALL_ID 100000 /* a call id in the middle of a run: a 3-byte varint */
#define TYPICAL_OBJECT_ID 3  /* the first few objects a benchmark creates */
#define MAX_EVENTS 256

struct options {
    long clients, requests, pipeline;
    size_t req_bytes, reply_bytes;
    double time_limit;
    const char *label;
    bool csv, quiet;
    bool lock;                    /* the token-passing floor of a contended Lock */
    size_t rel_bytes, rel_reply;  /* --lock: release request and reply (acquire: -s/-r) */
};

static void set_nodelay_nonblock(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        bench_die("socket options");
}

/* ---- the sizes of real mpx messages ---------------------------------------------------- */

/* Framed size of one request, or 0 if it could not be encoded. */
static size_t request_size(const char *method, const mpx_value *args, size_t nargs)
{
    uint8_t *buf;
    size_t len;
    if (codec_request_encode(TYPICAL_CALL_ID, TYPICAL_OBJECT_ID, method, args, nargs, false,
                             0, &buf, &len) != MPX_OK)
        return 0;
    free(buf);
    return FRAME_HEADER + len;
}

static size_t reply_size(const mpx_value *value)
{
    uint8_t *buf;
    size_t len;
    if (codec_reply_encode(TYPICAL_CALL_ID, MPX_OK, "", value, &buf, &len) != MPX_OK)
        return 0;
    free(buf);
    return FRAME_HEADER + len;
}

/* One line per benchmarked call, as the proxies send them (proxy/dict.c, queue.c, lock.c):
 * 16-byte str keys and values, Queue.get/put with block=True, Lock.acquire(True) returning
 * an int fencing token. */
static int print_sizes(void)
{
    mpx_value key, val, none = mpx_value_none(), yes = mpx_value_bool(true);
    mpx_value token = mpx_value_int(123456);
    if (mpx_value_str(&key, "key:000000012345") != MPX_OK ||
        mpx_value_str(&val, "xxxxxxxxxxxxxxxx") != MPX_OK)
        return 1;
    mpx_value set_args[2] = {key, val}, put_args[2] = {val, yes};
    printf("call,request_bytes,reply_bytes\n");
    printf("set,%zu,%zu\n", request_size("__setitem__", set_args, 2), reply_size(&none));
    printf("get,%zu,%zu\n", request_size("__getitem__", &key, 1), reply_size(&val));
    printf("put,%zu,%zu\n", request_size("put", put_args, 2), reply_size(&none));
    printf("qget,%zu,%zu\n", request_size("get", &yes, 1), reply_size(&val));
    printf("acquire,%zu,%zu\n", request_size("acquire", &yes, 1), reply_size(&token));
    printf("release,%zu,%zu\n", request_size("release", NULL, 0), reply_size(&none));
    mpx_value_free(&key);
    mpx_value_free(&val);
    return 0;
}

static void default_sizes(struct options *o)
{
    mpx_value key, val, none = mpx_value_none();
    if (o->lock) { /* as print_sizes: acquire(True) -> token, release() -> None */
        mpx_value yes = mpx_value_bool(true), token = mpx_value_int(123456);
        o->req_bytes = o->req_bytes ? o->req_bytes : request_size("acquire", &yes, 1);
        o->reply_bytes = o->reply_bytes ? o->reply_bytes : reply_size(&token);
        o->rel_bytes = request_size("release", NULL, 0);
        o->rel_reply = reply_size(&none);
        return;
    }
    if (mpx_value_str(&key, "key:000000012345") != MPX_OK ||
        mpx_value_str(&val, "xxxxxxxxxxxxxxxx") != MPX_OK)
        bench_die("value");
    mpx_value args[2] = {key, val};
    if (o->req_bytes == 0)
        o->req_bytes = request_size("__setitem__", args, 2);
    if (o->reply_bytes == 0)
        o->reply_bytes = reply_size(&none);
    mpx_value_free(&key);
    mpx_value_free(&val);
}

/* ---- the echo server (child) ------------------------------------------------------------ */

struct server_conn {
    int fd;
    size_t partial; /* bytes of a request read so far */
    size_t owed;    /* reply bytes not yet written */
    bool holds;     /* --lock: the next request is a release */
};

/* --lock: the token and the FIFO of connections whose acquire waits for it. */
struct token {
    struct server_conn *owner;
    struct server_conn **queue; /* a ring of clients slots: each client waits at most once */
    long head, len, cap;
};

/* Writes what it can of c->owed; returns -1 when the connection is gone. */
static int server_flush(struct server_conn *c, const char *zeros, size_t zlen)
{
    while (c->owed > 0) {
        ssize_t n = write(c->fd, zeros, c->owed < zlen ? c->owed : zlen);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->owed -= (size_t)n;
    }
    return 0;
}

static void server_close(int ep, struct server_conn *c, long *open)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
    (*open)--;
}

/* Owes c a reply and writes it, listening for EPOLLOUT while some remains. */
static void owe(int ep, struct server_conn *c, size_t bytes, const char *zeros, size_t zlen)
{
    c->owed += bytes;
    if (server_flush(c, zeros, zlen) == 0 && c->owed > 0) {
        struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
    }
}

/* --lock: the complete requests in c->partial, alternately acquires and releases. A
 * granted acquire and a release are answered at once; the token then goes, FIFO, to the
 * oldest waiting acquire, whose reply is written right away (before c's own). */
static void lock_requests(int ep, struct server_conn *c, struct token *t,
                          const struct options *o, const char *zeros, size_t zlen)
{
    for (;;) {
        size_t need = c->holds ? o->rel_bytes : o->req_bytes;
        if (c->partial < need)
            return;
        c->partial -= need;
        if (!c->holds) {
            c->holds = true;
            if (t->owner == NULL) {
                t->owner = c;
                c->owed += o->reply_bytes;
            } else {
                if (t->len == t->cap)
                    bench_die("token queue (more waiters than clients)");
                t->queue[(t->head + t->len++) % t->cap] = c;
            }
            continue;
        }
        c->holds = false;
        c->owed += o->rel_reply;
        t->owner = NULL;
        if (t->len > 0) {
            t->owner = t->queue[t->head];
            t->head = (t->head + 1) % t->cap;
            t->len--;
            owe(ep, t->owner, o->reply_bytes, zeros, zlen);
        }
    }
}

/* Serves until every accepted connection (at least `expect` of them) has closed, the
 * parent has died, or the time limit has passed. */
static void echo_serve(int lfd, const struct options *o)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[MAX_EVENTS];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        bench_die("server epoll");
    size_t zlen = 64 * 1024;
    char *zeros = calloc(1, zlen), *in = malloc(zlen);
    struct token tok = {.cap = o->clients, .queue = calloc((size_t)o->clients, sizeof(void *))};
    long accepted = 0, open = 0;
    double deadline = bench_now_s() + o->time_limit + 10;
    while ((accepted < o->clients || open > 0) && bench_now_s() < deadline) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 1000);
        for (int i = 0; i < n; i++) {
            struct server_conn *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd = accept(lfd, NULL, NULL);
                if (fd < 0)
                    continue;
                set_nodelay_nonblock(fd);
                c = calloc(1, sizeof *c);
                c->fd = fd;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                accepted++;
                open++;
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                if (server_flush(c, zeros, zlen) != 0) {
                    server_close(ep, c, &open);
                    continue;
                }
                if (c->owed == 0) {
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t got = read(c->fd, in, zlen);
                if (got == 0 || (got < 0 && errno != EAGAIN)) {
                    server_close(ep, c, &open);
                    continue;
                }
                if (got < 0)
                    continue;
                c->partial += (size_t)got;
                if (o->lock)
                    lock_requests(ep, c, &tok, o, zeros, zlen);
                else {
                    c->owed += c->partial / o->req_bytes * o->reply_bytes;
                    c->partial %= o->req_bytes;
                }
                if (server_flush(c, zeros, zlen) != 0) {
                    server_close(ep, c, &open);
                    continue;
                }
                if (c->owed > 0) {
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
                }
            }
        }
    }
    _exit(0);
}

/* ---- the client driver (parent) --------------------------------------------------------- */

struct client_conn {
    int fd;
    bool holds;     /* --lock: its acquire was answered, its release is out */
    long inflight;  /* requests sent or queued, not yet answered */
    size_t partial; /* bytes of a reply read so far */
    size_t unsent;  /* request bytes queued but not yet written */
    double *sent_at; /* ring of PIPELINE send times, oldest at head */
    long head;
};

static int client_flush(struct client_conn *c, const char *buf, size_t blen)
{
    while (c->unsent > 0) {
        ssize_t n = write(c->fd, buf, c->unsent < blen ? c->unsent : blen);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->unsent -= (size_t)n;
    }
    return 0;
}

/* Writes what it can, then listens for EPOLLOUT only while bytes remain queued. */
static void client_send(int ep, struct client_conn *c, const char *buf, size_t blen)
{
    if (client_flush(c, buf, blen) != 0)
        bench_die("write");
    struct epoll_event ev = {.events = EPOLLIN | (c->unsent ? EPOLLOUT : 0u), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, long n, double p)
{
    long i = (long)(p * (double)(n - 1) + 0.5);
    return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* --lock (one pair in flight per client): an acquire's reply sends the release; a
 * release's reply ends the pair and starts the next one. */
static void lock_replies(struct client_conn *c, const struct options *o, double t,
                         double *lat, long *done, long *issued)
{
    for (;;) {
        size_t need = c->holds ? o->rel_reply : o->reply_bytes;
        if (c->partial < need)
            return;
        c->partial -= need;
        if (!c->holds) {
            c->holds = true;
            c->unsent += o->rel_bytes;
            continue;
        }
        c->holds = false;
        lat[(*done)++] = t - c->sent_at[0];
        c->inflight--;
        if (*issued < o->requests) {
            (*issued)++;
            c->inflight++;
            c->sent_at[0] = t;
            c->unsent += o->req_bytes;
        }
    }
}

static int drive(const struct options *o, const struct sockaddr_in *sa)
{
    int ep = epoll_create1(0);
    struct client_conn *conns = calloc((size_t)o->clients, sizeof *conns);
    double *lat = malloc((size_t)o->requests * sizeof *lat);
    size_t blen = o->req_bytes * (size_t)o->pipeline;
    if (blen < 64 * 1024)
        blen = 64 * 1024;
    char *buf = calloc(1, blen);
    if (ep < 0 || conns == NULL || lat == NULL || buf == NULL)
        bench_die("driver setup");
    for (long i = 0; i < o->clients; i++) {
        struct client_conn *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) != 0)
            bench_die("connect");
        set_nodelay_nonblock(c->fd);
        c->sent_at = calloc((size_t)o->pipeline, sizeof *c->sent_at);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }

    long issued = 0, done = 0;
    double t0 = bench_now_s(), deadline = t0 + o->time_limit;
    /* Fills each connection's pipeline, in connection order, as redis-benchmark does. */
    for (long i = 0; i < o->clients; i++) {
        struct client_conn *c = &conns[i];
        for (; c->inflight < o->pipeline && issued < o->requests; c->inflight++, issued++) {
            c->sent_at[(c->head + c->inflight) % o->pipeline] = bench_now_s();
            c->unsent += o->req_bytes;
        }
        client_send(ep, c, buf, blen);
    }
    struct epoll_event evs[MAX_EVENTS];
    while (done < o->requests) {
        if (bench_now_s() > deadline) {
            fprintf(stderr, "rawtcp: time limit of %.0f s reached after %ld of %ld replies\n",
                    o->time_limit, done, o->requests);
            return 1;
        }
        int n = epoll_wait(ep, evs, MAX_EVENTS, 1000);
        for (int i = 0; i < n; i++) {
            struct client_conn *c = evs[i].data.ptr;
            if (evs[i].events & EPOLLOUT)
                client_send(ep, c, buf, blen);
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            ssize_t got = read(c->fd, buf, blen);
            if (got == 0) {
                fprintf(stderr, "rawtcp: the echo server closed a connection\n");
                return 1;
            }
            if (got < 0) {
                if (errno == EAGAIN)
                    continue;
                bench_die("read");
            }
            c->partial += (size_t)got;
            double t = bench_now_s();
            if (o->lock) {
                lock_replies(c, o, t, lat, &done, &issued);
                client_send(ep, c, buf, blen);
                continue;
            }
            for (; c->partial >= o->reply_bytes; c->partial -= o->reply_bytes) {
                lat[done++] = t - c->sent_at[c->head];
                c->head = (c->head + 1) % o->pipeline;
                c->inflight--;
            }
            for (; c->inflight < o->pipeline && issued < o->requests;
                 c->inflight++, issued++) {
                c->sent_at[(c->head + c->inflight) % o->pipeline] = t;
                c->unsent += o->req_bytes;
            }
            client_send(ep, c, buf, blen);
        }
    }
    double elapsed = bench_now_s() - t0, rate = (double)o->requests / elapsed;

    qsort(lat, (size_t)done, sizeof *lat, cmp_double);
    double p50 = percentile(lat, done, 0.50) * 1e3, p99 = percentile(lat, done, 0.99) * 1e3,
           p999 = percentile(lat, done, 0.999) * 1e3;
    if (o->csv) {
        if (!o->quiet)
            printf("test,clients,pipeline,requests,ops_per_sec,p50_ms,p99_ms,p999_ms\n");
        printf("%s,%ld,%ld,%ld,%.0f,%.3f,%.3f,%.3f\n", o->label, o->clients, o->pipeline,
               o->requests, rate, p50, p99, p999);
    } else if (o->quiet) {
        printf("%s: %.0f ops/s\n", o->label, rate);
    } else {
        printf("%s: %ld clients, pipeline %ld, %zu-byte requests, %zu-byte replies\n",
               o->label, o->clients, o->pipeline, o->req_bytes, o->reply_bytes);
        printf("  %ld requests in %.3f s: %.0f ops/s; latency p50 %.3f ms, p99 %.3f ms, "
               "p99.9 %.3f ms\n", o->requests, elapsed, rate, p50, p99, p999);
    }
    for (long i = 0; i < o->clients; i++) {
        close(conns[i].fd);
        free(conns[i].sent_at);
    }
    free(conns);
    free(lat);
    free(buf);
    close(ep);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rawtcp [-c CLIENTS=50] [-n REQUESTS=100000] [-P PIPELINE=1]\n"
               "              [-s REQ_BYTES] [-r REPLY_BYTES] [-t LABEL=raw]\n"
               "              [-T TIME_LIMIT_S=120] [--csv] [-q] [--lock]\n"
               "       rawtcp --sizes   (framed sizes of mpx's benchmarked calls)\n"
               "REQ_BYTES and REPLY_BYTES default to a dict __setitem__ of 16-byte strs.\n"
               "--lock: acquire/release pairs of mpx's sizes around one token the server\n"
               "grants FIFO (the floor of a contended Lock); one op is one pair; -P 1 only.\n");
}

static long parse_long(const char *s, const char *what, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "rawtcp: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct options o = {.clients = 50, .requests = 100000, .pipeline = 1,
                        .time_limit = 120, .label = "raw"};
    static const struct option longs[] = {{"csv", no_argument, NULL, 'C'},
                                          {"lock", no_argument, NULL, 'L'},
                                          {"sizes", no_argument, NULL, 'S'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:n:P:s:r:t:T:qh", longs, NULL)) != -1) {
        switch (opt) {
        case 'c': o.clients = parse_long(optarg, "clients", 1, 10000); break;
        case 'n': o.requests = parse_long(optarg, "requests", 1, 100000000); break;
        case 'P': o.pipeline = parse_long(optarg, "pipeline", 1, 100000); break;
        case 's': o.req_bytes = (size_t)parse_long(optarg, "request size", 1, 1 << 20); break;
        case 'r': o.reply_bytes = (size_t)parse_long(optarg, "reply size", 1, 1 << 20); break;
        case 't': o.label = optarg; break;
        case 'T': o.time_limit = (double)parse_long(optarg, "time limit", 1, 3600); break;
        case 'q': o.quiet = true; break;
        case 'C': o.csv = true; break;
        case 'L': o.lock = true; break;
        case 'S': return print_sizes();
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (o.lock && o.pipeline != 1) {
        fprintf(stderr, "rawtcp: --lock passes one token: it runs with -P 1 only\n");
        return 2;
    }
    default_sizes(&o);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t salen = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(lfd, (int)(o.clients < 4096 ? o.clients : 4096)) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0)
        bench_die("listen");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        bench_die("fork");
    if (pid == 0)
        echo_serve(lfd, &o);
    close(lfd);
    int rc = drive(&o, &sa);
    if (rc != 0)
        kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return rc;
}
