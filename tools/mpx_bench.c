/* mpx_bench.c - mpx-bench: load on a running mpx-manager, in the manner of redis-benchmark.
 *
 * One thread runs a libuv loop over CLIENTS connections (mpx/async.h); each connection
 * keeps PIPELINE operations in flight until REQUESTS operations are done in all, and the
 * time of each (from its first call to its last reply) goes into a latency table. A pair
 * test (queue: put then get; lock: acquire then release) counts one pair as one
 * operation. Prints operations per second and latency percentiles per test.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "mpx.h"
#include "mpx/async.h"

#define KEYSPACE 100000
#define GET_KEYS 1000
#define TEST_DEADLINE_S 300

/* ---- options ------------------------------------------------------------------------------ */

typedef struct options {
    const char *address;
    const char *keyfile;
    int clients;
    long requests;
    int pipeline;
    char tests[256];
    int value_size;
    bool csv;
    bool quiet;
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mpx-bench -a ADDR [-k KEYFILE] [-c CLIENTS] [-n REQUESTS] [-P PIPELINE]\n"
            "                 [-t TESTS] [-d VALUE_SIZE] [--csv] [-q]\n"
            "\n"
            "  -a ADDR      the manager (tcp://HOST:PORT or unix:///PATH)\n"
            "  -k KEYFILE   the authkey file (default: $%s)\n"
            "  -c CLIENTS   connections (default 50)\n"
            "  -n REQUESTS  operations per test, over all clients (default 100000)\n"
            "  -P PIPELINE  operations in flight per connection (default 1)\n"
            "  -t TESTS     comma list of set,get,append,queue,lock,incr,barrier,fill\n"
            "               (default: all but fill)\n"
            "  -d SIZE      bytes of each str value (default 16)\n"
            "  --csv        test,clients,pipeline,requests,ops_per_sec,p50_ms,p99_ms,p999_ms\n"
            "  -q           no progress line\n"
            "\n"
            "set/get: dict __setitem__/__getitem__ with 16-byte str keys (set: random keys of\n"
            "a %d-key space; get: %d keys set first). append: list append. queue: Queue put\n"
            "then get (a pair). lock: Lock acquire then release (a pair). incr: Value add(1).\n"
            "barrier: Barrier wait by every operation in flight (parties = CLIENTS x\n"
            "PIPELINE). fill: REQUESTS distinct keys, 16-byte keys and values, in dict 'fill'.\n",
            MPX_AUTHKEY_ENV, KEYSPACE, GET_KEYS);
}

static long parse_long(const char *text, long min)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    return errno != 0 || end == text || *end != '\0' || v < min ? -1 : v;
}

/* 0 to go on, 1 after --help, 2 on bad arguments. */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"csv", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.clients = 50, .requests = 100000, .pipeline = 1, .value_size = 16};
    snprintf(o->tests, sizeof o->tests, "set,get,append,queue,lock,incr,barrier");
    int opt;
    long v;
    while ((opt = getopt_long(argc, argv, "a:k:c:n:P:t:d:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a': o->address = optarg; break;
        case 'k': o->keyfile = optarg; break;
        case 't': snprintf(o->tests, sizeof o->tests, "%s", optarg); break;
        case 'C': o->csv = true; break;
        case 'q': o->quiet = true; break;
        case 'h': usage(stdout); return 1;
        case 'c':
        case 'n':
        case 'P':
        case 'd':
            v = parse_long(optarg, opt == 'd' ? 0 : 1);
            if (v < 0 || v > (opt == 'n' ? 100000000L : 100000L)) {
                fprintf(stderr, "mpx-bench: -%c needs a number in range, not '%s'\n", opt,
                        optarg);
                return 2;
            }
            if (opt == 'c')
                o->clients = (int)v;
            else if (opt == 'n')
                o->requests = v;
            else if (opt == 'P')
                o->pipeline = (int)v;
            else
                o->value_size = (int)v;
            break;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || o->address == NULL) {
        fprintf(stderr, "mpx-bench: %s\n", o->address == NULL ? "-a ADDR is required"
                                                              : "unexpected argument");
        usage(stderr);
        return 2;
    }
    return 0;
}

/* ---- a test run ----------------------------------------------------------------------------- */

typedef struct run run;

typedef enum test_kind {
    T_SET, T_GET, T_APPEND, T_QUEUE, T_LOCK, T_INCR, T_BARRIER, T_FILL
} test_kind;

typedef struct test_def {
    const char *name;
    test_kind kind;
    const char *type;     /* the shared object's type */
    bool pair;            /* two calls per operation */
    const char *method[2]; /* the call, or the two calls of a pair */
} test_def;

static const test_def TESTS[] = {
    {"set", T_SET, "dict", false, {"__setitem__"}},
    {"get", T_GET, "dict", false, {"__getitem__"}},
    {"append", T_APPEND, "list", false, {"append"}},
    {"queue", T_QUEUE, "Queue", true, {"put", "get"}},
    {"lock", T_LOCK, "Lock", true, {"acquire", "release"}},
    {"incr", T_INCR, "Value", false, {"add"}},
    {"barrier", T_BARRIER, "Barrier", false, {"wait"}},
    {"fill", T_FILL, "dict", false, {"__setitem__"}},
};

/* One operation in flight: a slot of a connection's pipeline. */
typedef struct slot {
    run *r;
    mpx_async *a;
    double started;
    int step;             /* which call of a pair is out */
} slot;

struct run {
    const options *o;
    const test_def *t;
    uint64_t object_id;
    long target;          /* operations to finish */
    long issued;
    long done;
    long failed;
    char first_error[256];
    uint32_t *latency_us; /* one per finished operation */
    mpx_value value;      /* the str value of set/append/queue */
    mpx_value *keys;      /* set and get: the keyspace, made once (as redis-benchmark does) */
    long nkeys;
    uint64_t rng;
    double start;
    double end;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_random(run *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng;
}

/* A 16-byte str key: "key:" and 12 digits. */
static int make_key(mpx_value *out, long n)
{
    char key[32];
    snprintf(key, sizeof key, "key:%012ld", n % 1000000000000L);
    return mpx_value_str(out, key);
}

static void issue(slot *s);

static void record_error(run *r, int status, const char *message)
{
    if (r->failed++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "%s: %s", mpx_err_name(status),
                 message);
}

static void on_reply(mpx_async *a, int status, const char *message, mpx_value *result,
                     void *data)
{
    (void)a;
    (void)result;
    slot *s = data;
    run *r = s->r;
    if (status != MPX_OK) {
        record_error(r, status, message);
        if (status == MPX_ECLOSED || status == MPX_EIO)
            return; /* this slot is over */
    }
    if (r->t->pair && s->step == 0 && status == MPX_OK) {
        s->step = 1; /* the second call of the pair */
        issue(s);
        return;
    }
    double took = now_s() - s->started;
    if (r->done < r->target)
        r->latency_us[r->done] = took * 1e6 > UINT32_MAX ? UINT32_MAX : (uint32_t)(took * 1e6);
    r->done++;
    if (r->done == r->target)
        r->end = now_s();
    s->step = 0;
    if (r->issued < r->target) {
        r->issued++;
        issue(s);
    }
}

/* Makes the call for the slot's current step. */
static void issue(slot *s)
{
    run *r = s->r;
    mpx_value args[2], fill_key = mpx_value_none();
    size_t nargs = 0;
    if (s->step == 0)
        s->started = now_s();
    switch (r->t->kind) {
    case T_SET:
    case T_GET:
        args[nargs++] = r->keys[next_random(r) % (uint64_t)r->nkeys];
        if (r->t->kind == T_SET)
            args[nargs++] = r->value;
        break;
    case T_FILL:
        if (make_key(&fill_key, r->issued) != MPX_OK) {
            record_error(r, MPX_ENOMEM, "out of memory");
            return;
        }
        args[nargs++] = fill_key;
        args[nargs++] = r->value;
        break;
    case T_APPEND:
        args[nargs++] = r->value;
        break;
    case T_QUEUE:
        if (s->step == 0)
            args[nargs++] = r->value;
        break;
    case T_INCR:
        args[nargs++] = mpx_value_int(1);
        break;
    case T_LOCK:
    case T_BARRIER:
        break;
    }
    int rc = mpx_async_call(s->a, r->object_id, r->t->method[s->step], args, nargs, -1,
                            on_reply, s);
    mpx_value_free(&fill_key);
    if (rc != MPX_OK)
        record_error(r, rc, "the call could not be queued");
}

/* The keys set and get use: "key:" and 12 digits, n of them. */
static int make_keys(run *r, long n)
{
    r->keys = calloc((size_t)n, sizeof *r->keys);
    if (r->keys == NULL)
        return MPX_ENOMEM;
    r->nkeys = n;
    for (long i = 0; i < n; i++)
        if (make_key(&r->keys[i], i) != MPX_OK)
            return MPX_ENOMEM;
    return MPX_OK;
}

static void free_keys(run *r)
{
    for (long i = 0; r->keys != NULL && i < r->nkeys; i++)
        mpx_value_free(&r->keys[i]);
    free(r->keys);
    r->keys = NULL;
}

static int compare_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static double percentile_ms(const uint32_t *sorted, long n, double p)
{
    if (n == 0)
        return 0;
    long i = (long)(p * (double)(n - 1) + 0.5);
    return sorted[i] / 1000.0;
}

/* ---- setup through a synchronous client ------------------------------------------------ */

static int fail(const mpx_client *c, int rc, const char *what)
{
    const char *msg = c != NULL ? mpx_client_errmsg(c) : "";
    fprintf(stderr, "mpx-bench: %s: %s: %s\n", what, mpx_err_name(rc),
            msg[0] != '\0' ? msg : mpx_strerror(rc));
    return rc;
}

/* A fresh object for the test (the name carries the pid and the test, so runs against one
 * manager do not share state); its id for the async calls. */
static int make_object(mpx_client *c, const run *r, mpx_proxy **out)
{
    char name[128];
    snprintf(name, sizeof name, "bench.%ld.%s", (long)getpid(), r->t->name);
    mpx_value args[2];
    size_t nargs = 0;
    if (r->t->kind == T_INCR) {
        mpx_value_str(&args[nargs++], "q");
        args[nargs++] = mpx_value_int(0);
    } else if (r->t->kind == T_BARRIER) {
        args[nargs++] = mpx_value_int((int64_t)r->o->clients * r->o->pipeline);
    }
    int rc = mpx_proxy_open(c, r->t->type, r->t->kind == T_FILL ? "fill" : name,
                            args, nargs, out);
    for (size_t i = 0; i < nargs; i++)
        mpx_value_free(&args[i]);
    return rc == MPX_OK ? MPX_OK : fail(c, rc, "creating the test's object");
}

/* get reads keys that exist: set them first, pipelined. */
static int prefill_keys(mpx_client *c, mpx_proxy *dict, const mpx_value *keys, long n,
                        const mpx_value *value)
{
    for (long i = 0; i < n; i++) {
        mpx_value kv[2] = {keys[i], *value};
        uint64_t id;
        int rc = mpx_proxy_append(dict, "__setitem__", kv, 2, -1, &id);
        if (rc != MPX_OK)
            return fail(c, rc, "prefill");
    }
    while (mpx_client_pending(c) > 0) {
        uint64_t id;
        int status;
        mpx_value out;
        int rc = mpx_client_get_reply(c, 30, &id, &status, &out);
        if (rc != MPX_OK || status != MPX_OK)
            return fail(c, rc != MPX_OK ? rc : status, "prefill");
    }
    return MPX_OK;
}

/* ---- running a test -------------------------------------------------------------------- */

static int run_test(const options *o, const test_def *t, const uint8_t *key, size_t keylen,
                    mpx_client *c)
{
    run r = {.o = o, .t = t, .rng = 0x9e3779b97f4a7c15ULL};
    r.target = o->requests;
    if (t->kind == T_BARRIER) { /* whole rounds only, or the last one hangs */
        long parties = (long)o->clients * o->pipeline;
        r.target = r.target / parties * parties;
        if (r.target == 0)
            r.target = parties;
    }
    char *text = malloc((size_t)o->value_size + 1);
    if (text == NULL)
        return fail(NULL, MPX_ENOMEM, "value");
    memset(text, 'x', (size_t)o->value_size);
    text[o->value_size] = '\0';
    int rc = mpx_value_str(&r.value, text);
    free(text);
    mpx_proxy *obj = NULL;
    if (rc == MPX_OK)
        rc = make_object(c, &r, &obj);
    if (rc == MPX_OK && (t->kind == T_SET || t->kind == T_GET) &&
        make_keys(&r, t->kind == T_SET ? KEYSPACE : GET_KEYS) != MPX_OK)
        rc = fail(NULL, MPX_ENOMEM, "keys");
    if (rc == MPX_OK && t->kind == T_GET)
        rc = prefill_keys(c, obj, r.keys, r.nkeys, &r.value);
    r.latency_us = rc == MPX_OK ? malloc((size_t)r.target * sizeof *r.latency_us) : NULL;
    if (rc == MPX_OK && r.latency_us == NULL)
        rc = fail(NULL, MPX_ENOMEM, "latency table");
    if (rc != MPX_OK) {
        mpx_proxy_close(obj);
        mpx_value_free(&r.value);
        free_keys(&r);
        return rc;
    }
    r.object_id = mpx_proxy_id(obj);

    uv_loop_t loop;
    uv_loop_init(&loop);
    mpx_async **conns = calloc((size_t)o->clients, sizeof *conns);
    slot *slots = calloc((size_t)o->clients * (size_t)o->pipeline, sizeof *slots);
    for (int i = 0; i < o->clients && conns != NULL && slots != NULL && rc == MPX_OK; i++) {
        rc = mpx_async_connect(&loop, o->address, key, keylen, NULL, &conns[i]);
        if (rc != MPX_OK)
            fprintf(stderr, "mpx-bench: client %d: %s\n", i,
                    conns[i] != NULL ? mpx_async_errmsg(conns[i]) : "out of memory");
    }
    if (conns == NULL || slots == NULL)
        rc = fail(NULL, MPX_ENOMEM, "clients");
    if (rc == MPX_OK) {
        r.start = now_s();
        for (int i = 0; i < o->clients; i++)
            for (int k = 0; k < o->pipeline && r.issued < r.target; k++) {
                slot *s = &slots[i * o->pipeline + k];
                *s = (slot){.r = &r, .a = conns[i]};
                r.issued++;
                issue(s);
            }
        double deadline = r.start + TEST_DEADLINE_S, shown = r.start;
        bool progress = !o->quiet && isatty(STDERR_FILENO);
        while (r.done < r.target && r.failed == 0 && now_s() < deadline &&
               uv_run(&loop, UV_RUN_ONCE) >= 0) {
            if (progress && now_s() - shown > 0.5) {
                shown = now_s();
                fprintf(stderr, "\r%s: %ld of %ld", t->name, r.done, r.target);
            }
        }
        if (progress)
            fprintf(stderr, "\r%*s\r", 40, "");
        if (r.done < r.target && r.failed == 0) {
            snprintf(r.first_error, sizeof r.first_error, "not done in %d s (%ld of %ld)",
                     TEST_DEADLINE_S, r.done, r.target);
            r.failed = 1;
        }
    }
    for (int i = 0; conns != NULL && i < o->clients; i++)
        mpx_async_close(conns[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(conns);
    free(slots);

    if (rc == MPX_OK && r.failed > 0) {
        fprintf(stderr, "mpx-bench: %s: %ld failed calls, the first: %s\n", t->name, r.failed,
                r.first_error);
        rc = MPX_EIO;
    }
    if (rc == MPX_OK) {
        double secs = r.end - r.start;
        qsort(r.latency_us, (size_t)r.done, sizeof *r.latency_us, compare_u32);
        double ops = secs > 0 ? (double)r.done / secs : 0;
        double p50 = percentile_ms(r.latency_us, r.done, 0.50);
        double p99 = percentile_ms(r.latency_us, r.done, 0.99);
        double p999 = percentile_ms(r.latency_us, r.done, 0.999);
        if (o->csv)
            printf("%s,%d,%d,%ld,%.0f,%.3f,%.3f,%.3f\n", t->name, o->clients, o->pipeline,
                   r.done, ops, p50, p99, p999);
        else
            printf("%-8s %8d %9d %9ld %11.0f %9.3f %9.3f %9.3f\n", t->name, o->clients,
                   o->pipeline, r.done, ops, p50, p99, p999);
        fflush(stdout);
    }
    free(r.latency_us);
    free_keys(&r);
    mpx_value_free(&r.value);
    mpx_proxy_close(obj);
    return rc;
}

static const test_def *find_test(const char *name)
{
    for (size_t i = 0; i < sizeof TESTS / sizeof TESTS[0]; i++)
        if (strcmp(TESTS[i].name, name) == 0)
            return &TESTS[i];
    return NULL;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    /* every test named must exist before any runs */
    char names[256];
    snprintf(names, sizeof names, "%s", o.tests);
    for (char *save, *name = strtok_r(names, ",", &save); name != NULL;
         name = strtok_r(NULL, ",", &save))
        if (find_test(name) == NULL) {
            fprintf(stderr, "mpx-bench: unknown test '%s'\n", name);
            usage(stderr);
            return 2;
        }
    uint8_t *key;
    size_t keylen;
    char err[256];
    if (mpx_authkey_resolve(o.keyfile, &key, &keylen, err, sizeof err) != MPX_OK) {
        fprintf(stderr, "mpx-bench: authkey: %s\n", err);
        return 2;
    }
    mpx_client *c;
    rc = mpx_client_connect(o.address, key, keylen, NULL, &c);
    if (rc != MPX_OK) {
        fail(c, rc, o.address);
        mpx_client_close(c);
        free(key);
        return 1;
    }
    if (o.csv)
        printf("test,clients,pipeline,requests,ops_per_sec,p50_ms,p99_ms,p999_ms\n");
    else
        printf("%-8s %8s %9s %9s %11s %9s %9s %9s\n", "test", "clients", "pipeline",
               "requests", "ops/s", "p50 ms", "p99 ms", "p99.9 ms");
    snprintf(names, sizeof names, "%s", o.tests);
    int failures = 0;
    for (char *save, *name = strtok_r(names, ",", &save); name != NULL;
         name = strtok_r(NULL, ",", &save))
        failures += run_test(&o, find_test(name), key, keylen, c) != MPX_OK;
    mpx_client_close(c);
    free(key);
    return failures == 0 ? 0 : 1;
}
