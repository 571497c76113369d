/* parked.c - many calls parked at once: what they cost while idle, and how they wake.
 *
 * Starts a manager, opens CONNECTIONS connections (mpx/async.h, one loop) that each park
 * PER gets on one Queue, in a known order (each connection's gets are confirmed parked
 * by a ping behind them before the next connection starts). Then it measures the
 * manager's CPU time over an idle interval, puts CONNECTIONS x PER items one call each,
 * and checks that every get was answered exactly once and in FIFO order (the k-th get
 * parked got the k-th item). Prints the figures; exits 1 when an order or count is wrong.
 * Usage: parked MPX_MANAGER_BIN [CONNECTIONS] [PER] [IDLE_SECONDS]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "bench_common.h"
#include "mpx.h"
#include "mpx/async.h"

typedef struct parked_get {
    long order;       /* the how-manieth get parked */
    long got;         /* the item it received, -1 before */
    int answers;
} parked_get;

static long pings_done;
static long gets_answered;
static long bad_answers;

static void on_got(mpx_async *a, int status, const char *message, mpx_value *result,
                   void *data)
{
    (void)a;
    parked_get *g = data;
    g->answers++;
    gets_answered++;
    if (status != MPX_OK || mpx_value_kind(result) != MPX_INT) {
        if (bad_answers++ == 0)
            fprintf(stderr, "parked: a get failed: %s\n", message);
        return;
    }
    g->got = mpx_value_get_int(result);
}

static void on_ping(mpx_async *a, int status, const char *message, mpx_value *result,
                    void *data)
{
    (void)a;
    (void)result;
    (void)data;
    if (status != MPX_OK)
        fprintf(stderr, "parked: ping failed: %s\n", message);
    pings_done++;
}

/* The manager's user + system CPU time in ms, from /proc. */
static double cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof buf, f) == NULL)
        bench_die("reading the manager's /proc stat");
    fclose(f);
    const char *p = strrchr(buf, ')'); /* the command may contain spaces */
    unsigned long utime = 0, stime = 0;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                            &utime, &stime) != 2)
        bench_die("parsing the manager's /proc stat");
    return (double)(utime + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* Room for both ends of every connection (this process and the manager it forks). */
static void raise_fd_limit(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        bench_die("getrlimit");
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max >= need
                          ? (rlim_t)need
                          : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Runs the loop until *counter reaches want, at most 60 s. */
static void run_until(uv_loop_t *loop, const long *counter, long want)
{
    double end = bench_now_s() + 60;
    while (*counter < want && bench_now_s() < end)
        uv_run(loop, UV_RUN_ONCE);
    if (*counter < want) {
        fprintf(stderr, "parked: only %ld of %ld answers in 60 s\n", *counter, want);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: parked MPX_MANAGER_BIN [CONNECTIONS] [PER] [IDLE_SECONDS]\n");
        return 2;
    }
    long conns = argc > 2 ? atol(argv[2]) : 1000, per = argc > 3 ? atol(argv[3]) : 10;
    double idle = argc > 4 ? atof(argv[4]) : 2.0;
    if (conns < 1 || per < 1 || conns > 10000 || per > 1000 || idle < 0 || idle > 60) {
        fprintf(stderr, "parked: CONNECTIONS 1..10000, PER 1..1000, IDLE_SECONDS 0..60\n");
        return 2;
    }
    long total = conns * per;
    raise_fd_limit(conns + 64);
    bench_manager m;
    bench_manager_start(&m, argv[1], (int)conns + 16);

    mpx_client *c;
    mpx_queue *q;
    if (mpx_client_connect(m.address, m.key, m.keylen, NULL, &c) != MPX_OK ||
        mpx_queue_open(c, "parked", 0, false, &q) != MPX_OK) {
        fprintf(stderr, "parked: %s\n", c ? mpx_client_errmsg(c) : "no memory");
        return 2;
    }
    uint64_t qid = mpx_proxy_id(mpx_queue_proxy(q));
    uv_loop_t loop;
    uv_loop_init(&loop);
    mpx_async **as = calloc((size_t)conns, sizeof *as);
    parked_get *gets = calloc((size_t)total, sizeof *gets);
    if (as == NULL || gets == NULL)
        bench_die("calloc");
    for (long i = 0; i < conns; i++) {
        if (mpx_async_connect(&loop, m.address, m.key, m.keylen, NULL, &as[i]) != MPX_OK) {
            fprintf(stderr, "parked: connection %ld: %s\n", i,
                    as[i] != NULL ? mpx_async_errmsg(as[i]) : "out of memory");
            return 2;
        }
        for (long j = 0; j < per; j++) {
            parked_get *g = &gets[i * per + j];
            *g = (parked_get){.order = i * per + j, .got = -1};
            if (mpx_async_call(as[i], qid, "get", NULL, 0, -1, on_got, g) != MPX_OK)
                bench_die("get");
        }
        if (mpx_async_call(as[i], 0, "ping", NULL, 0, -1, on_ping, NULL) != MPX_OK)
            bench_die("ping");
        run_until(&loop, &pings_done, i + 1); /* its gets are parked, in this order */
    }

    double cpu0 = cpu_ms(m.pid);
    usleep((useconds_t)(idle * 1e6));
    double idle_cpu = cpu_ms(m.pid) - cpu0;

    /* one put per item, pipelined on one connection; each must wake the oldest get */
    double t0 = bench_now_s(), cpu1 = cpu_ms(m.pid);
    mpx_proxy *qp = mpx_queue_proxy(q);
    for (long k = 0; k < total; k++) {
        mpx_value item = mpx_value_int(k);
        uint64_t id;
        if (mpx_proxy_append(qp, "put", &item, 1, -1, &id) != MPX_OK)
            bench_die("put");
    }
    for (long k = 0; k < total; k++) {
        uint64_t id;
        int status;
        mpx_value out;
        if (mpx_client_get_reply(c, 30, &id, &status, &out) != MPX_OK || status != MPX_OK) {
            fprintf(stderr, "parked: put failed: %s\n", mpx_client_errmsg(c));
            return 1;
        }
    }
    run_until(&loop, &gets_answered, total);
    double wake_s = bench_now_s() - t0, wake_cpu = cpu_ms(m.pid) - cpu1;

    long out_of_order = 0, twice = 0;
    for (long k = 0; k < total; k++) {
        out_of_order += gets[k].got != gets[k].order;
        twice += gets[k].answers != 1;
    }
    int64_t left = -1;
    mpx_queue_qsize(q, &left);
    bool ok = out_of_order == 0 && twice == 0 && bad_answers == 0 && left == 0;
    printf("parked calls: %ld (%ld connections x %ld queue gets)\n", total, conns, per);
    printf("manager CPU while they wait %.1f s: %.0f ms\n", idle, idle_cpu);
    printf("%ld puts woke %ld gets: %ld out of FIFO order, %ld not answered exactly once, "
           "%lld items left: %s\n",
           total, gets_answered, out_of_order, twice, (long long)left, ok ? "ok" : "WRONG");
    printf("puts and wakes: %.0f per second, manager CPU %.2f us each\n",
           (double)total / wake_s, wake_cpu * 1000.0 / (double)total);

    for (long i = 0; i < conns; i++)
        mpx_async_close(as[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    mpx_queue_close(q);
    mpx_client_close(c);
    bench_manager_stop(&m);
    free(as);
    free(gets);
    return ok ? 0 : 1;
}
