/* pool_bench.c - one map of many trivial tasks: mpx's pool against Python's, in one run.
 *
 * Times mpx_pool_map of f(x) = x * x over range(N) with the default chunksize (Python's
 * rule) three ways, each the best of R maps after a warm-up map: a local pool of P forked
 * workers; a pool on an mpx-manager of its own (loopback TCP) whose workers are P worker
 * programs (mpx_pool_worker_main, --processes 1 each); and Python's
 * multiprocessing.Pool(P).map of the same function (bench/pool_bench.py, run from here).
 * Prints the seconds, tasks/s and the ratios, with the targets: the local pool at least
 * 1.0x Python's, the worker programs at least 0.5x the local pool. --floats maps over
 * floats instead of ints (0.0, 1.0, ...), which mpx's chunks carry through the general
 * codec rather than as packed ints. Every process it starts it stops by pid; the programs
 * and the manager are waited for at most a few seconds.
 * Usage: pool_bench MPX_MANAGER_BIN [--tasks N] [--processes P] [--repeat R] [--floats]
 *                   [--python SCRIPT] [--csv]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "mpx.h"

static int f(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
             size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    const mpx_value *x = mpx_value_at(args, 0);
    if (mpx_value_kind(x) == MPX_FLOAT)
        *result = mpx_value_float(mpx_value_get_float(x) * mpx_value_get_float(x));
    else
        *result = mpx_value_int(mpx_value_get_int(x) * mpx_value_get_int(x));
    return MPX_OK;
}

static bool floats; /* --floats */

static const mpx_pool_function FUNCTIONS[] = {{"f", f}};

static mpx_value range_list(int64_t n)
{
    mpx_value l;
    if (mpx_value_list(&l, (size_t)n) != MPX_OK)
        bench_die("out of memory");
    for (int64_t i = 0; i < n; i++) {
        mpx_value v = floats ? mpx_value_float((double)i) : mpx_value_int(i);
        mpx_value_append(&l, &v);
    }
    return l;
}

/* The best of repeat maps over items on p, in seconds; checks every result. */
static double time_maps(mpx_pool *p, const mpx_value *items, int repeat)
{
    mpx_value warm = range_list(1000), out;
    if (mpx_pool_map(p, "f", &warm, &out) != MPX_OK) {
        fprintf(stderr, "pool_bench: warm-up map: %s\n", mpx_pool_errmsg(p));
        exit(1);
    }
    mpx_value_free(&out);
    mpx_value_free(&warm);
    double best = -1;
    for (int r = 0; r < repeat; r++) {
        double t0 = bench_now_s();
        int rc = mpx_pool_map(p, "f", items, &out);
        double took = bench_now_s() - t0;
        if (rc != MPX_OK) {
            fprintf(stderr, "pool_bench: map: %s\n", mpx_pool_errmsg(p));
            exit(1);
        }
        for (size_t i = 0; i < mpx_value_len(items); i++)
            if (floats ? mpx_value_get_float(mpx_value_at(&out, i)) != (double)i * (double)i
                       : mpx_value_get_int(mpx_value_at(&out, i)) != (int64_t)(i * i)) {
                fprintf(stderr, "pool_bench: result %zu is wrong\n", i);
                exit(1);
            }
        mpx_value_free(&out);
        if (best < 0 || took < best)
            best = took;
    }
    return best;
}

static double bench_local(const mpx_value *items, int processes, int repeat)
{
    mpx_pool_opts o;
    mpx_pool_opts_init(&o);
    o.processes = processes;
    o.functions = FUNCTIONS;
    o.nfunctions = 1;
    mpx_pool *p;
    if (mpx_pool_start(&o, &p) != MPX_OK) {
        fprintf(stderr, "pool_bench: %s\n", p != NULL ? mpx_pool_errmsg(p) : "no memory");
        exit(1);
    }
    double s = time_maps(p, items, repeat);
    mpx_pool_close(p);
    mpx_pool_join(p);
    mpx_pool_free(p);
    return s;
}

/* Waits for pid at most ms milliseconds, then kills it (ours); its status or -1. */
static int wait_bounded(pid_t pid, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static double bench_programs(const char *manager_bin, const mpx_value *items, int programs,
                             int repeat)
{
    bench_manager m;
    bench_manager_start(&m, manager_bin, 0);
    pid_t *pids = calloc((size_t)programs, sizeof *pids);
    if (pids == NULL)
        bench_die("calloc");
    for (int i = 0; i < programs; i++) {
        if ((pids[i] = fork()) < 0)
            bench_die("fork");
        if (pids[i] == 0) {
            char *argv[] = {"pool_bench-worker", "--connect", m.address, "--authkey-file",
                            m.keyfile, "--pool", "bench", "--processes", "1", NULL};
            _exit(mpx_pool_worker_main(9, argv, FUNCTIONS, 1, NULL, NULL));
        }
    }
    mpx_client *c;
    mpx_pool *p;
    if (mpx_client_connect(m.address, m.key, m.keylen, NULL, &c) != MPX_OK ||
        mpx_pool_connect(c, "bench", NULL, &p) != MPX_OK) {
        fprintf(stderr, "pool_bench: cannot reach the pool on %s\n", m.address);
        exit(1);
    }
    /* every program's worker has joined before the clock starts: the default chunksize
     * counts the workers there are when a map begins (at most 5 s) */
    mpx_proxy *tasks = NULL;
    mpx_proxy_open(c, "TaskPool", "bench", NULL, 0, &tasks);
    for (int tries = 0; tasks != NULL && tries < 500; tries++) {
        mpx_value stats, key, *n = NULL;
        bool all = false;
        if (mpx_proxy_call(tasks, "stats", NULL, 0, &stats) == MPX_OK) {
            all = mpx_value_str(&key, "workers") == MPX_OK &&
                  mpx_value_dict_find(&stats, &key, &n) == MPX_OK && n != NULL &&
                  mpx_value_get_int(n) >= programs;
            mpx_value_free(&key);
            mpx_value_free(&stats);
        }
        if (all)
            break;
        usleep(10000);
    }
    mpx_proxy_close(tasks);
    double s = time_maps(p, items, repeat);
    mpx_pool_close(p);
    mpx_pool_join(p);
    mpx_pool_free(p);
    mpx_client_close(c);
    for (int i = 0; i < programs; i++)
        if (wait_bounded(pids[i], 10000) != 0)
            fprintf(stderr, "pool_bench: worker program %d did not end cleanly\n", i);
    free(pids);
    bench_manager_stop(&m);
    return s;
}

/* Runs the Python script; its best map in seconds, or -1 when it could not run. */
static double bench_python(const char *script, int64_t tasks, int processes, int repeat)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "python3 '%s' --tasks %lld --processes %d --repeat %d%s",
             script, (long long)tasks, processes, repeat, floats ? " --floats" : "");
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    char line[256];
    double s = -1;
    while (fgets(line, sizeof line, f) != NULL)
        sscanf(line, "python_pool_map_seconds=%lf", &s);
    return pclose(f) == 0 ? s : -1;
}

static void target(const char *what, double ratio, double min)
{
    printf("  %-44s %6.2fx  %s\n", what, ratio, ratio >= min ? "met" : "NOT met");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tasks", required_argument, NULL, 'n'},   {"processes", required_argument, NULL, 'p'},
        {"repeat", required_argument, NULL, 'r'},  {"python", required_argument, NULL, 'y'},
        {"csv", no_argument, NULL, 'c'},           {"floats", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    int64_t tasks = 100000;
    int processes = 2, repeat = 3, opt;
    bool csv = false;
    const char *script = NULL;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n': tasks = strtoll(optarg, NULL, 10); break;
        case 'p': processes = atoi(optarg); break;
        case 'r': repeat = atoi(optarg); break;
        case 'y': script = optarg; break;
        case 'c': csv = true; break;
        case 'f': floats = true; break;
        default: return 2;
        }
    }
    if (optind != argc - 1 || tasks < 1 || tasks > 100000000 || processes < 1 ||
        processes > 64 || repeat < 1 || repeat > 99) {
        fprintf(stderr, "usage: pool_bench MPX_MANAGER_BIN [--tasks N] [--processes P] "
                        "[--repeat R] [--python SCRIPT] [--csv]\n");
        return 2;
    }
    char default_script[1024];
    if (script == NULL) { /* next to this program's source: bench/pool_bench.py */
        snprintf(default_script, sizeof default_script, "%s", __FILE__);
        char *slash = strrchr(default_script, '/');
        snprintf(slash != NULL ? slash + 1 : default_script,
                 sizeof default_script - (size_t)(slash != NULL ? slash + 1 - default_script : 0),
                 "pool_bench.py");
        script = default_script;
    }
    mpx_value items = range_list(tasks);
    double local = bench_local(&items, processes, repeat);
    double dist = bench_programs(argv[optind], &items, processes, repeat);
    double py = bench_python(script, tasks, processes, repeat);
    mpx_value_free(&items);
    double n = (double)tasks;
    if (csv) {
        printf("system,config,test,ops_per_sec,p50_ms,p99_ms,p999_ms\n");
        const char *test = floats ? "map_floats" : "map";
        printf("mpx,pool local,%s,%.0f,,,\n", test, n / local);
        printf("mpx,pool programs,%s,%.0f,,,\n", test, n / dist);
        if (py > 0)
            printf("python,pool local,%s,%.0f,,,\n", test, n / py);
        return 0;
    }
    printf("pool map of %lld trivial tasks (f(x) = x * x over %s, default chunksize), %d "
           "processes, best of %d:\n", (long long)tasks, floats ? "floats" : "ints", processes,
           repeat);
    printf("  %-32s %9.4f s %12.0f tasks/s\n", "mpx local pool", local, n / local);
    printf("  %-32s %9.4f s %12.0f tasks/s\n", "mpx, worker programs on loopback", dist,
           n / dist);
    if (py > 0)
        printf("  %-32s %9.4f s %12.0f tasks/s\n", "Python multiprocessing.Pool", py, n / py);
    else
        printf("  %-32s %9s\n", "Python multiprocessing.Pool", "(did not run)");
    printf("targets:\n");
    if (py > 0)
        target("mpx local pool >= 1.0x Python's Pool", py / local, 1.0);
    target("worker programs >= 0.5x mpx local pool", local / dist, 0.5);
    return 0;
}
