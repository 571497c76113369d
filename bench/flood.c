/* flood.c - what one misbehaving client costs the manager and the clients beside it.
 *
 * rss: a client pipelines GETS gets of a 1 MiB value and reads none of the replies. Each
 * of two fresh managers gets it: one with the output limits off (--output-limit-hard none
 * --output-limit-soft none: the manager as it was before them) and one with its defaults.
 * The manager's RSS is sampled until it has not moved for a second (at most RSS_SECONDS);
 * the figure is its peak (VmHWM). Then the client reads, to see whether it was closed.
 * latency: on one fresh manager, a second client's ping round trips (p50, p99, max) with
 * no flood, then while a first client floods INSERTS pipelined insert(0, x) calls on one
 * list (WINDOW of them in flight), both in the same run. The flood is bounded in time
 * (FLOOD_SECONDS) and the pings in number (MAX_SAMPLES); what got through is printed.
 * memory (memory-budget: the same with --max-memory 1gb): the two attacks of a client
 * that asks the manager to hold more than it has, each on a fresh manager: three
 * Array('b', 2**30), then one list.extend by a str of STR_MIB MiB (60: the manager makes
 * 60 Mi one-character strs). Each call's time and answer, the manager's peak RSS (VmHWM),
 * its address space (VmSize: calloc'd pages are resident only once written) and RSS at
 * the end. Never run with a budget off on a machine without 4 GiB to spare.
 * A benchmark, not a test: it prints figures and exits 0 unless something failed outright.
 * Usage: flood MPX_MANAGER_BIN [rss|latency|all|memory|memory-budget] [GETS|INSERTS|STR_MIB]
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "auth.h"
#include "bench_common.h"
#include "codec.h"
#include "frame.h"
#include "mpx.h"
#include "sock.h"

#define VALUE_BYTES ((size_t)1 << 20)
#define RSS_SECONDS 10.0
#define FLOOD_SECONDS 180.0
#define WINDOW 20000
#define BASELINE_PINGS 5000
#define MAX_SAMPLES 2000000
#define PING_PAUSE_US 200

/* A field of /proc/PID/status in KiB (VmRSS, VmHWM). */
static long status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    size_t n = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kib = atol(line + n + 1);
    if (f != NULL)
        fclose(f);
    return kib;
}

static mpx_client *connect_or_die(const bench_manager *m)
{
    mpx_client *c;
    if (mpx_client_connect(m->address, m->key, m->keylen, NULL, &c) != MPX_OK) {
        fprintf(stderr, "flood: connect: %s\n", c != NULL ? mpx_client_errmsg(c) : "no memory");
        exit(1);
    }
    return c;
}

/* ---- rss: a client that never reads ----------------------------------------------------- */

/* A raw connection (the mpx client reads what it is sent; this one must not). */
static int raw_connect(const bench_manager *m)
{
    mpx_address a;
    char err[256];
    int fd;
    if (address_parse(m->address, &a, err, sizeof err) != MPX_OK ||
        sock_connect(&a, sock_deadline(5000), &fd, err, sizeof err) != MPX_OK ||
        auth_client_handshake(&(sock_link){.fd = fd}, m->key, m->keylen, sock_deadline(5000),
                              err, sizeof err) != MPX_OK) {
        fprintf(stderr, "flood: raw connection: %s\n", err);
        exit(1);
    }
    return fd;
}

/* Whether the manager has closed fd: its end of file comes behind the replies it had sent,
 * so they are read (and dropped) first, at most `most` bytes of them for at most 2 s. */
static bool closed_by_manager(int fd, size_t most)
{
    static char sink[1 << 16];
    double end = bench_now_s() + 2;
    for (size_t got = 0; got < most && bench_now_s() < end;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) != 1)
            continue;
        ssize_t n = read(fd, sink, sizeof sink);
        if (n <= 0)
            return true; /* EOF, or reset */
        got += (size_t)n;
    }
    return false;
}

typedef struct rss_result {
    long peak_kib, end_kib, empty_kib;
    double settled; /* seconds from the gets until the RSS stopped moving */
    bool closed;
} rss_result;

static rss_result run_rss(const char *bin, const char *const *extra, long gets)
{
    bench_manager m;
    bench_manager_start_with(&m, bin, 0, extra);
    rss_result r = {.empty_kib = status_kib(m.pid, "VmRSS")};
    mpx_client *c = connect_or_die(&m);
    mpx_value ref, key, value;
    char *big = malloc(VALUE_BYTES + 1);
    if (big == NULL)
        bench_die("malloc");
    memset(big, 'x', VALUE_BYTES);
    big[VALUE_BYTES] = '\0';
    if (mpx_client_open(c, "flood", "dict", NULL, 0, &ref) != MPX_OK ||
        mpx_value_str(&key, "v") != MPX_OK || mpx_value_str(&value, big) != MPX_OK) {
        fprintf(stderr, "flood: setup: %s\n", mpx_client_errmsg(c));
        exit(1);
    }
    free(big);
    uint64_t dict = mpx_value_ref_id(&ref);
    mpx_value kv[2] = {key, value}, out;
    if (mpx_client_call(c, dict, "__setitem__", kv, 2, -1, &out) != MPX_OK) {
        fprintf(stderr, "flood: __setitem__: %s\n", mpx_client_errmsg(c));
        exit(1);
    }
    mpx_value_free(&value);

    /* every get in one write, then nothing read */
    int fd = raw_connect(&m);
    size_t len = 0, cap = (size_t)gets * 64;
    uint8_t *wire = malloc(cap);
    if (wire == NULL)
        bench_die("malloc");
    for (long i = 0; i < gets; i++) {
        uint8_t *frame, hdr[FRAME_HEADER_MAX];
        size_t n;
        if (codec_request_encode((uint64_t)i + 1, dict, "__getitem__", &key, 1, false, 0,
                                 &frame, &n) != MPX_OK || len + n + 16 > cap)
            bench_die("encode");
        size_t h = frame_header_encode(n, hdr);
        memcpy(wire + len, hdr, h);
        memcpy(wire + len + h, frame, n);
        len += h + n;
        free(frame);
    }
    double t0 = bench_now_s();
    if (sock_write_all(fd, wire, len, sock_deadline(10000)) != MPX_OK)
        bench_die("sending the gets");
    free(wire);
    /* until the RSS has not moved (by 1 MiB) for a second, at most RSS_SECONDS */
    long last = -1;
    int steady = 0;
    while (bench_now_s() - t0 < RSS_SECONDS && steady < 100) {
        usleep(10000);
        long rss = status_kib(m.pid, "VmRSS");
        steady = rss >= 0 && last >= 0 && labs(rss - last) < 1024 ? steady + 1 : 0;
        last = rss;
    }
    r.settled = bench_now_s() - t0 - (steady >= 100 ? 1.0 : 0.0);
    r.peak_kib = status_kib(m.pid, "VmHWM");
    r.end_kib = status_kib(m.pid, "VmRSS");
    r.closed = closed_by_manager(fd, (size_t)64 << 20);
    close(fd);
    mpx_value_free(&key);
    mpx_value_free(&ref);
    mpx_client_close(c);
    bench_manager_stop(&m);
    return r;
}

static void rss_mode(const char *bin, long gets)
{
    static const char *const off[] = {"--output-limit-hard", "none", "--output-limit-soft",
                                      "none", NULL};
    printf("A client pipelines %ld gets of a 1 MiB value and reads none of the replies\n"
           "(%.0f MiB of them); the manager's RSS, at most %.0f s:\n", gets,
           (double)gets * (double)VALUE_BYTES / 1048576.0, RSS_SECONDS);
    printf("  %-34s %11s %11s %11s %8s  %s\n", "manager", "peak KiB", "end KiB", "empty KiB",
           "settled", "the client");
    const char *names[] = {"output limits off (as before them)", "default output limits"};
    const char *const *extras[] = {off, NULL};
    for (int i = 0; i < 2; i++) {
        rss_result r = run_rss(bin, extras[i], gets);
        printf("  %-34s %11ld %11ld %11ld %7.2fs  %s\n", names[i], r.peak_kib, r.end_kib,
               r.empty_kib, r.settled, r.closed ? "closed by the manager" : "still open");
        fflush(stdout);
    }
}

/* ---- latency: a second client's pings beside a flood ----------------------------------- */

typedef struct flood_state {
    const bench_manager *m;
    long inserts;
    atomic_bool started, done;
    long answered;
    double seconds;
    int failed;
} flood_state;

static void *flood_run(void *arg)
{
    flood_state *f = arg;
    mpx_client *c = connect_or_die(f->m);
    mpx_value ref, out;
    if (mpx_client_create(c, "list", NULL, 0, &ref) != MPX_OK) {
        fprintf(stderr, "flood: create: %s\n", mpx_client_errmsg(c));
        exit(1);
    }
    uint64_t list = mpx_value_ref_id(&ref);
    long sent = 0;
    atomic_store(&f->started, true);
    double t0 = bench_now_s();
    while (f->answered < f->inserts && bench_now_s() - t0 < FLOOD_SECONDS) {
        /* refill the window, a thousand at a time */
        while (sent < f->inserts && sent - f->answered < WINDOW) {
            mpx_value args[2] = {mpx_value_int(0), mpx_value_int(sent)};
            uint64_t id;
            if (mpx_client_append(c, list, "insert", args, 2, -1, &id) != MPX_OK)
                goto fail;
            sent++;
        }
        for (int i = 0; i < 1000 && f->answered < sent; i++) {
            uint64_t id;
            int status;
            if (mpx_client_get_reply(c, 60, &id, &status, &out) != MPX_OK || status != MPX_OK)
                goto fail;
            f->answered++;
        }
    }
    f->seconds = bench_now_s() - t0;
    atomic_store(&f->done, true);
    mpx_value_free(&ref);
    mpx_client_close(c); /* what is still in flight past the deadline is dropped */
    return NULL;
fail:
    fprintf(stderr, "flood: insert: %s\n", mpx_client_errmsg(c));
    f->failed = 1;
    f->seconds = bench_now_s() - t0;
    atomic_store(&f->done, true);
    mpx_client_close(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(const char *what, double *ms, long n)
{
    if (n == 0) {
        printf("  %-32s no pings\n", what);
        return;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    printf("  %-32s %8ld %9.3f %9.3f %9.3f\n", what, n, ms[n / 2], ms[(n * 99) / 100],
           ms[n - 1]);
}

/* One ping's round trip in ms. */
static double ping_ms(mpx_client *c)
{
    double t = bench_now_s();
    if (mpx_client_ping(c) != MPX_OK) {
        fprintf(stderr, "flood: ping: %s\n", mpx_client_errmsg(c));
        exit(1);
    }
    return (bench_now_s() - t) * 1000.0;
}

static void latency_mode(const char *bin, long inserts)
{
    bench_manager m;
    bench_manager_start(&m, bin, 0);
    mpx_client *b = connect_or_die(&m);
    double *quiet = malloc(BASELINE_PINGS * sizeof *quiet);
    double *loud = malloc(MAX_SAMPLES * sizeof *loud);
    if (quiet == NULL || loud == NULL)
        bench_die("malloc");
    for (long i = 0; i < BASELINE_PINGS; i++) {
        quiet[i] = ping_ms(b);
        usleep(PING_PAUSE_US);
    }
    flood_state f = {.m = &m, .inserts = inserts};
    pthread_t t;
    if (pthread_create(&t, NULL, flood_run, &f) != 0)
        bench_die("pthread_create");
    while (!atomic_load(&f.started))
        usleep(1000);
    long n = 0;
    while (!atomic_load(&f.done) && n < MAX_SAMPLES) {
        loud[n++] = ping_ms(b);
        usleep(PING_PAUSE_US);
    }
    pthread_join(t, NULL);
    printf("A second client's pings (one in flight, %d us apart), no flood, then while a\n"
           "first client pipelines insert(0, x) on one list (%d in flight): %ld of %ld\n"
           "answered in %.1f s%s\n", PING_PAUSE_US, WINDOW, f.answered, inserts, f.seconds,
           f.answered < inserts ? " (stopped at the time bound)" : "");
    printf("  %-32s %8s %9s %9s %9s\n", "ping round trip, ms", "pings", "p50", "p99", "max");
    print_latency("no flood", quiet, BASELINE_PINGS);
    print_latency("during the flood", loud, n);
    free(quiet);
    free(loud);
    mpx_client_close(b);
    bench_manager_stop(&m);
    if (f.failed)
        exit(1);
}

/* ---- memory: requests that ask the manager to hold gigabytes --------------------------- */

static void print_memory_call(const char *what, int rc, mpx_client *c, double s,
                              const bench_manager *m)
{
    printf("  %-30s %-12s %8.3f s %9ld %9ld %9ld\n", what,
           rc == MPX_OK ? "ok" : rc == MPX_ENOMEM ? "MemoryError" : mpx_client_errmsg(c), s,
           status_kib(m->pid, "VmHWM") >> 10, status_kib(m->pid, "VmSize") >> 10,
           status_kib(m->pid, "VmRSS") >> 10);
    fflush(stdout);
}

static void memory_mode(const char *bin, bool budget, long str_mib)
{
    static const char *const with_budget[] = {"--max-memory", "1gb", NULL};
    const char *const *extra = budget ? with_budget : NULL;
    mpx_client_opts opts = {.connect_timeout_ms = 5000, .call_timeout_ms = 300000,
                            .max_message = (size_t)128 << 20};
    printf("The manager %s, each attack on a fresh one:\n", budget ? "with --max-memory 1gb"
                                                                  : "without a memory budget");
    printf("  %-30s %-12s %10s %9s %9s %9s\n", "call", "answer", "time", "peak MiB",
           "VmSize MiB", "RSS MiB");

    bench_manager m;
    bench_manager_start_with(&m, bin, 0, extra);
    mpx_client *c;
    if (mpx_client_connect(m.address, m.key, m.keylen, &opts, &c) != MPX_OK)
        bench_die("connect");
    print_memory_call("(fresh manager)", MPX_OK, c, 0, &m);
    mpx_value args[2], ref;
    mpx_value_str(&args[0], "b");
    args[1] = mpx_value_int((int64_t)1 << 30);
    for (int i = 0; i < 3; i++) {
        double t0 = bench_now_s();
        int rc = mpx_client_create(c, "Array", args, 2, &ref);
        mpx_value_free(&ref);
        char what[64];
        snprintf(what, sizeof what, "Array('b', 2**30) #%d", i + 1);
        print_memory_call(what, rc, c, bench_now_s() - t0, &m);
    }
    mpx_value_free(&args[0]);
    mpx_client_close(c);
    bench_manager_stop(&m);

    bench_manager_start_with(&m, bin, 0, extra);
    if (mpx_client_connect(m.address, m.key, m.keylen, &opts, &c) != MPX_OK)
        bench_die("connect");
    size_t n = (size_t)str_mib << 20;
    char *text = malloc(n + 1), what[64];
    mpx_value s, out;
    if (text == NULL)
        bench_die("malloc");
    memset(text, 'x', n);
    text[n] = '\0';
    if (mpx_client_create(c, "list", NULL, 0, &ref) != MPX_OK ||
        mpx_value_strn(&s, text, n) != MPX_OK)
        bench_die("list");
    free(text);
    double t0 = bench_now_s();
    int rc = mpx_client_call(c, mpx_value_ref_id(&ref), "extend", &s, 1, -1, &out);
    snprintf(what, sizeof what, "list.extend(%ld MiB str)", str_mib);
    print_memory_call(what, rc, c, bench_now_s() - t0, &m);
    mpx_value_free(&s);
    mpx_value_free(&out);
    t0 = bench_now_s();
    rc = mpx_client_call(c, mpx_value_ref_id(&ref), "__len__", NULL, 0, -1, &out);
    print_memory_call("len(list) after it", rc, c, bench_now_s() - t0, &m);
    mpx_value_free(&ref);
    mpx_client_close(c);
    bench_manager_stop(&m);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: flood MPX_MANAGER_BIN [rss|latency|all|memory|memory-budget] "
                        "[GETS|INSERTS|STR_MIB]\n");
        return 2;
    }
    const char *mode = argc > 2 ? argv[2] : "all";
    long n = argc > 3 ? atol(argv[3]) : 0;
    if (strncmp(mode, "memory", 6) == 0) {
        bool budget = strcmp(mode, "memory-budget") == 0;
        if ((!budget && strcmp(mode, "memory") != 0) || n < 0 || n > 63) {
            fprintf(stderr, "flood: memory[-budget] STR_MIB: 1..63 (default 60)\n");
            return 2;
        }
        memory_mode(argv[1], budget, n > 0 ? n : 60);
        return 0;
    }
    bool rss = strcmp(mode, "rss") == 0, latency = strcmp(mode, "latency") == 0;
    if (strcmp(mode, "all") == 0)
        rss = latency = true;
    if ((!rss && !latency) || n < 0 || n > 10000000 || (rss && latency && n != 0)) {
        fprintf(stderr, "flood: MODE is rss, latency or all (all takes no count); "
                        "GETS|INSERTS 1..10000000\n");
        return 2;
    }
    if (rss)
        rss_mode(argv[1], n > 0 ? (n > 8192 ? 8192 : n) : 1024);
    if (latency)
        latency_mode(argv[1], n > 0 ? n : 300000);
    return 0;
}
