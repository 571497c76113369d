/* test_pool.c - the process pool (mpx/pool.h), local and distributed, with real processes.
 *
 * Local: map, starmap, apply, apply_async with callbacks, imap in order and unordered,
 * an initializer, maxtasksperchild (workers replaced), a worker killed mid-map (its task
 * runs again: every result arrives once), and the error paths: a function that fails, an
 * unknown function name, a get that times out, calls after close, join before close, an
 * initializer that fails (the map fails; the workers are not restarted over and over).
 * Chunks: sizes 0, 1, fewer items than workers, a length that is not a multiple; results
 * in order and complete for map, starmap, imap and imap_unordered, a chunk run by one
 * worker, Python's default rule, an item failing inside a chunk alone. map_async and
 * starmap_async with callbacks and error callbacks (once each, a callback that frees its
 * own handle, an empty map's at once), per-item outcomes. Timeouts on map, starmap,
 * apply, next and item, each followed by calls that work. A crash storm: a function that
 * aborts or exits for some inputs, locally and on worker programs: the healthy results
 * all arrive, each bad task fails with RuntimeError naming it, and the pool goes on.
 * terminate while map_async and apply_async results are pending.
 * Distributed: worker programs (mpx_pool_worker_main) on the test's manager take a map
 * submitted by another process; two submitters share one pool and each gets its own
 * results; a worker program started mid-map takes a share; one of three workers is killed
 * with SIGKILL mid-map and the map still returns every result exactly once, equal to the
 * local computation.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/manager.h"
#include "mpx/pool.h"
#include "mpx/value_obj.h"

static t_manager M;
static int64_t initialized; /* set by the initializer, in each worker */

static int square(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                  size_t errlen)
{
    (void)c;
    const mpx_value *x = mpx_value_at(args, 0);
    if (x == NULL || mpx_value_kind(x) != MPX_INT) {
        snprintf(err, errlen, "square needs an int");
        return MPX_ETYPE;
    }
    *result = mpx_value_int(mpx_value_get_int(x) * mpx_value_get_int(x));
    return MPX_OK;
}

static int add(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
               size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    *result = mpx_value_int(mpx_value_get_int(mpx_value_at(args, 0)) +
                            mpx_value_get_int(mpx_value_at(args, 1)));
    return MPX_OK;
}

static int fail_on_three(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                         size_t errlen)
{
    (void)c;
    int64_t x = mpx_value_get_int(mpx_value_at(args, 0));
    if (x == 3) {
        snprintf(err, errlen, "bad input %lld", (long long)x);
        return MPX_EVALUE;
    }
    *result = mpx_value_int(x);
    return MPX_OK;
}

/* Sleeps args[0] ms, then returns (args[1] squared, its pid). */
static int slow_square(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                       size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    usleep((useconds_t)mpx_value_get_int(mpx_value_at(args, 0)) * 1000);
    int64_t x = mpx_value_get_int(mpx_value_at(args, 1));
    mpx_value sq = mpx_value_int(x * x), pid = mpx_value_int(getpid());
    mpx_value_tuple(result, 2);
    mpx_value_append(result, &sq);
    mpx_value_append(result, &pid);
    return MPX_OK;
}

static int whoami(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                  size_t errlen)
{
    (void)c;
    (void)args;
    (void)err;
    (void)errlen;
    *result = mpx_value_int(getpid());
    return MPX_OK;
}

static int init_value(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                      size_t errlen)
{
    (void)c;
    (void)args;
    (void)err;
    (void)errlen;
    *result = mpx_value_int(initialized);
    return MPX_OK;
}

/* Adds args[0] to the shared Value 'tally' through the worker's own connection. */
static int tally(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                 size_t errlen)
{
    mpx_value_obj *v;
    int rc = mpx_value_obj_open(c, "tally", 'q', NULL, &v);
    if (rc == MPX_OK) {
        int64_t now = 0;
        rc = mpx_value_obj_add_int(v, mpx_value_get_int(mpx_value_at(args, 0)), &now);
        *result = mpx_value_int(now);
    }
    if (rc != MPX_OK)
        snprintf(err, errlen, "%s", mpx_client_errmsg(c));
    mpx_value_obj_close(v);
    return rc;
}

/* crash(x) -> x * x, except that it aborts for x % 10 == 7 and leaves with status 0 (as
 * if it were done) for x % 10 == 3: each ends the worker running it. */
static int crash(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                 size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    int64_t x = mpx_value_get_int(mpx_value_at(args, 0));
    if (x % 10 == 7) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none); /* no core file for a crash on purpose */
        abort();
    }
    if (x % 10 == 3)
        _exit(0);
    *result = mpx_value_int(x * x);
    return MPX_OK;
}

/* echo(x) -> x, a shared object's reference included */
static int echo(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                size_t errlen)
{
    (void)c;
    (void)err;
    (void)errlen;
    return mpx_value_copy(result, mpx_value_at(args, 0));
}

static int initializer(void *arg)
{
    initialized = *(int64_t *)arg;
    return initialized < 0 ? -1 : 0; /* a negative argument: the initializer fails */
}

static const mpx_pool_function FUNCTIONS[] = {
    {"square", square},       {"add", add},       {"fail_on_three", fail_on_three},
    {"slow_square", slow_square}, {"whoami", whoami}, {"init_value", init_value},
    {"tally", tally},         {"crash", crash},   {"echo", echo},
};
#define NFUNCTIONS (sizeof FUNCTIONS / sizeof FUNCTIONS[0])

static mpx_value range_list(int64_t n)
{
    mpx_value l;
    mpx_value_list(&l, (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        mpx_value v = mpx_value_int(i);
        mpx_value_append(&l, &v);
    }
    return l;
}

/* [(ms, 0), (ms, 1), ...]: starmap items for slow_square. */
static mpx_value slow_items(int64_t n, int64_t ms)
{
    mpx_value l;
    mpx_value_list(&l, (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        mpx_value pair, wait = mpx_value_int(ms), x = mpx_value_int(i);
        mpx_value_tuple(&pair, 2);
        mpx_value_append(&pair, &wait);
        mpx_value_append(&pair, &x);
        mpx_value_append(&l, &pair);
    }
    return l;
}

static mpx_pool *start_local(int processes, long maxtasks, int64_t *initarg)
{
    mpx_pool_opts o;
    mpx_pool_opts_init(&o);
    o.processes = processes;
    o.functions = FUNCTIONS;
    o.nfunctions = NFUNCTIONS;
    o.maxtasksperchild = maxtasks;
    if (initarg != NULL) {
        o.initializer = initializer;
        o.initarg = initarg;
    }
    mpx_pool *p;
    if (mpx_pool_start(&o, &p) != MPX_OK)
        t_fail(__FILE__, __LINE__, "mpx_pool_start: %s", p ? mpx_pool_errmsg(p) : "no memory");
    return p;
}

#define P_OK(p, expr)                                                                     \
    do {                                                                                  \
        int p_rc_ = (expr);                                                               \
        if (p_rc_ != MPX_OK)                                                              \
            t_fail(__FILE__, __LINE__, "%s: %s: %s", #expr, mpx_err_name(p_rc_),          \
                   mpx_pool_errmsg(p));                                                   \
    } while (0)

/* ---- local -------------------------------------------------------------------------------- */

static int callbacks_ok, callbacks_failed;
static int64_t callback_sum;

static void on_result(const mpx_value *result, void *data)
{
    (void)data;
    callbacks_ok++;
    callback_sum += mpx_value_get_int(result);
}

static void on_error(int code, const char *message, void *data)
{
    (void)data;
    T_EQ_INT(code, MPX_EVALUE);
    T_EQ_STR(message, "bad input 3");
    callbacks_failed++;
}

static void case_local_calls(void *arg)
{
    (void)arg;
    int64_t magic = 4242;
    mpx_pool *p = start_local(3, 0, &magic);
    mpx_value items = range_list(200), out;
    P_OK(p, mpx_pool_map(p, "square", &items, &out));
    T_EQ_INT(mpx_value_len(&out), 200);
    for (int64_t i = 0; i < 200; i++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, (size_t)i)), i * i);
    mpx_value_free(&out);

    mpx_value pairs = t_val("[(1, 2), (3, 4), (10, -10)]");
    P_OK(p, mpx_pool_starmap(p, "add", &pairs, &out));
    T_REPR(&out, "[3, 7, 0]");
    mpx_value_free(&out);
    mpx_value_free(&pairs);
    mpx_value args = t_val("(12,)");
    P_OK(p, mpx_pool_apply(p, "square", &args, &out));
    T_REPR(&out, "144");
    mpx_value_free(&out);
    P_OK(p, mpx_pool_apply(p, "init_value", NULL, &out));
    T_REPR(&out, "4242"); /* the initializer ran in the worker */
    mpx_value_free(&out);

    /* tasks work on shared objects of the pool's manager through their own connection */
    mpx_value_obj *total;
    T_OK(mpx_pool_client(p), mpx_value_obj_open(mpx_pool_client(p), "tally", 'q', NULL,
                                                &total));
    P_OK(p, mpx_pool_map(p, "tally", &items, &out));
    mpx_value_free(&out);
    int64_t sum_all = 0;
    T_OK(NULL, mpx_value_obj_get_int(total, &sum_all));
    T_EQ_INT(sum_all, 199 * 200 / 2);
    mpx_value_obj_close(total);

    /* apply_async: callbacks, ready, successful, get */
    mpx_pool_result *r[6];
    for (int i = 0; i < 6; i++) {
        mpx_value a = mpx_value_int(i), tup;
        mpx_value_tuple(&tup, 1);
        mpx_value_append(&tup, &a);
        P_OK(p, mpx_pool_apply_async(p, "fail_on_three", &tup, on_result, on_error, NULL,
                                     &r[i]));
        mpx_value_free(&tup);
    }
    for (int i = 0; i < 6; i++) {
        int rc = mpx_pool_result_get(r[i], 10, &out);
        T_EQ_INT(rc, i == 3 ? MPX_EVALUE : MPX_OK);
        bool ok = false;
        T_OK(NULL, mpx_pool_result_successful(r[i], &ok));
        T_CHECK(ok == (i != 3) && mpx_pool_result_ready(r[i]));
        mpx_value_free(&out);
        mpx_pool_result_free(r[i]);
    }
    T_EQ_STR(mpx_pool_errmsg(p), "bad input 3");
    T_EQ_INT(callbacks_ok, 5);
    T_EQ_INT(callbacks_failed, 1);
    T_EQ_INT(callback_sum, 0 + 1 + 2 + 4 + 5);

    /* imap in order, imap_unordered as they come */
    mpx_pool_iter *it;
    mpx_value ten = range_list(10);
    P_OK(p, mpx_pool_imap(p, "square", &ten, &it));
    bool done = false;
    for (int64_t i = 0; !done; i++) {
        P_OK(p, mpx_pool_iter_next(it, 10, &out, &done));
        if (!done)
            T_EQ_INT(mpx_value_get_int(&out), i * i);
        else
            T_EQ_INT(i, 10);
    }
    mpx_pool_iter_free(it);
    P_OK(p, mpx_pool_imap_unordered(p, "square", &ten, &it));
    int64_t sum = 0, count = 0;
    for (done = false; !done;) {
        P_OK(p, mpx_pool_iter_next(it, 10, &out, &done));
        if (!done) {
            sum += mpx_value_get_int(&out);
            count++;
        }
    }
    T_EQ_INT(count, 10);
    T_EQ_INT(sum, 285);
    mpx_pool_iter_free(it);

    /* errors */
    T_RC(NULL, mpx_pool_map(p, "fail_on_three", &ten, &out), MPX_EVALUE);
    T_EQ_STR(mpx_pool_errmsg(p), "bad input 3");
    T_CHECK(mpx_value_kind(&out) == MPX_NONE);
    T_RC(NULL, mpx_pool_map(p, "nope", &ten, &out), MPX_ENOMETHOD);
    T_EQ_STR(mpx_pool_errmsg(p), "no function 'nope' in this worker");
    mpx_value not_items = mpx_value_int(3);
    T_RC(NULL, mpx_pool_map(p, "square", &not_items, &out), MPX_ETYPE);
    T_EQ_STR(mpx_pool_errmsg(p), "items must be a list or tuple, not int");
    mpx_pool_result *never = NULL;
    T_RC(NULL, mpx_pool_apply_async(p, "square", &ten, NULL, NULL, NULL, &never), MPX_ETYPE);
    T_EQ_STR(mpx_pool_errmsg(p), "args must be a tuple, not list");
    T_CHECK(never == NULL);
    mpx_value slow = t_val("(300, 2)");
    mpx_pool_result *late;
    P_OK(p, mpx_pool_apply_async(p, "slow_square", &slow, NULL, NULL, NULL, &late));
    T_RC(NULL, mpx_pool_result_get(late, 0.02, &out), MPX_ETIMEOUT);
    bool ok;
    T_RC(NULL, mpx_pool_result_successful(late, &ok), MPX_EINVAL);
    P_OK(p, mpx_pool_result_wait(late, 10));
    P_OK(p, mpx_pool_result_get(late, 0, &out));
    T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, 0)), 4);
    mpx_value_free(&out);
    mpx_pool_result_free(late);
    T_RC(NULL, mpx_pool_join(p), MPX_EVALUE); /* still running */
    T_EQ_STR(mpx_pool_errmsg(p), "Pool is still running");
    P_OK(p, mpx_pool_close(p));
    T_RC(NULL, mpx_pool_map(p, "square", &ten, &out), MPX_EVALUE);
    T_EQ_STR(mpx_pool_errmsg(p), "Pool not running");
    T_RC(NULL, mpx_pool_apply(p, "square", &args, &out), MPX_EVALUE);
    P_OK(p, mpx_pool_join(p));
    mpx_pool_free(p);
    t_free_all(&items, 1);
    t_free_all(&ten, 1);
    t_free_all(&args, 1);
    t_free_all(&slow, 1);
}

/* maxtasksperchild: workers leave after 2 tasks and are replaced. A chunk is one task, as
 * in Python: chunksize 1 makes each item one. */
static void case_local_maxtasksperchild(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(2, 2, NULL);
    mpx_value items = range_list(20), out;
    mpx_pool_map_opts one = {.chunksize = 1}; /* zero options are the defaults */
    P_OK(p, mpx_pool_map_ex(p, "whoami", &items, &one, &out));
    int distinct = 0;
    for (size_t i = 0; i < 20; i++) {
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen |= mpx_value_get_int(mpx_value_at(&out, k)) ==
                    mpx_value_get_int(mpx_value_at(&out, i));
        distinct += !seen;
    }
    T_CHECK(distinct >= 10); /* 20 tasks, at most 2 each */
    mpx_value_free(&out);
    mpx_value_free(&items);
    P_OK(p, mpx_pool_close(p));
    P_OK(p, mpx_pool_join(p));
    mpx_pool_free(p);
}

/* A worker killed mid-map: its task runs again elsewhere; every result arrives once. */
static void case_local_worker_killed(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(3, 0, NULL);
    mpx_value items = slow_items(30, 40);
    /* a helper process kills the worker running the 5th task, while the map runs */
    mpx_value first;
    mpx_value one = t_val("(1, 0)");
    P_OK(p, mpx_pool_apply(p, "slow_square", &one, &first));
    pid_t victim = (pid_t)mpx_value_get_int(mpx_value_at(&first, 1));
    mpx_value_free(&first);
    mpx_value_free(&one);
    pid_t killer = fork();
    if (killer == 0) {
        usleep(150000);
        kill(victim, SIGKILL); /* a worker this test's pool forked */
        _exit(0);
    }
    mpx_value out;
    P_OK(p, mpx_pool_starmap(p, "slow_square", &items, &out));
    T_EQ_INT(mpx_value_len(&out), 30);
    for (int64_t i = 0; i < 30; i++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(mpx_value_at(&out, (size_t)i), 0)), i * i);
    T_EQ_INT(t_wait_pid(killer, 10000), 0);
    mpx_value_free(&out);
    mpx_value_free(&items);
    P_OK(p, mpx_pool_terminate(p));
    P_OK(p, mpx_pool_join(p));
    mpx_pool_free(p);
}

/* terminate drops what is queued and stops the workers: a pending result fails. */
static void case_local_terminate(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(1, 0, NULL);
    mpx_value slow = t_val("(5000, 3)"), out;
    mpx_pool_result *r[3];
    for (int i = 0; i < 3; i++)
        P_OK(p, mpx_pool_apply_async(p, "slow_square", &slow, NULL, NULL, NULL, &r[i]));
    usleep(100000); /* the first is running */
    int64_t t0 = t_now_ms();
    P_OK(p, mpx_pool_terminate(p));
    for (int i = 0; i < 3; i++) {
        T_RC(NULL, mpx_pool_result_get(r[i], 10, &out), MPX_ECLOSED);
        mpx_pool_result_free(r[i]);
    }
    T_CHECK(t_now_ms() - t0 < 4000); /* not after the 5 s tasks */
    T_EQ_STR(mpx_pool_errmsg(p), "the pool's tasks were dropped (terminated)");
    P_OK(p, mpx_pool_join(p));
    T_RC(NULL, mpx_pool_apply(p, "square", &slow, &out), MPX_EVALUE);
    mpx_pool_free(p);
    mpx_value_free(&slow);
}

/* Handles may outlive their pool: what they had stays, the rest answers MPX_ECLOSED. */
static void case_handles_outlive_the_pool(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(2, 0, NULL);
    mpx_value quick = t_val("(3,)"), slow = t_val("(5000, 3)"), items = range_list(4), out;
    mpx_pool_result *done_r, *pending_r;
    mpx_pool_iter *it;
    P_OK(p, mpx_pool_apply_async(p, "square", &quick, NULL, NULL, NULL, &done_r));
    P_OK(p, mpx_pool_result_wait(done_r, 10));
    P_OK(p, mpx_pool_apply_async(p, "slow_square", &slow, NULL, NULL, NULL, &pending_r));
    P_OK(p, mpx_pool_imap(p, "square", &items, &it));
    mpx_pool_free(p); /* terminates the local pool */
    T_OK(NULL, mpx_pool_result_get(done_r, 1, &out));
    T_REPR(&out, "9");
    mpx_value_free(&out);
    T_RC(NULL, mpx_pool_result_get(pending_r, 1, &out), MPX_ECLOSED);
    bool ready = mpx_pool_result_ready(pending_r), finished = false;
    T_CHECK(!ready);
    int rc = MPX_OK;
    for (int k = 0; k < 10 && rc == MPX_OK && !finished; k++) {
        rc = mpx_pool_iter_next(it, 1, &out, &finished);
        mpx_value_free(&out);
    }
    T_CHECK(rc == MPX_ECLOSED || finished); /* what arrived before the free, then closed */
    mpx_pool_result_free(done_r);
    mpx_pool_result_free(pending_r);
    mpx_pool_iter_free(it);
    t_free_all(&quick, 1);
    t_free_all(&slow, 1);
    t_free_all(&items, 1);
}

/* Workers whose initializer fails are not started again and again: the map fails. */
static void case_local_initializer_fails(void *arg)
{
    (void)arg;
    int64_t bad = -1;
    mpx_pool *p = start_local(2, 0, &bad);
    mpx_value items = range_list(5), out;
    T_RC(NULL, mpx_pool_map(p, "square", &items, &out), MPX_ECLOSED);
    T_EQ_STR(mpx_pool_errmsg(p), "every worker of the pool has exited (their errors went to "
                                 "stderr)");
    mpx_pool_free(p);
    mpx_value_free(&items);
}

/* ---- chunks ------------------------------------------------------------------------------- */

static mpx_pool_map_opts chunks_of(size_t chunksize)
{
    mpx_pool_map_opts o;
    mpx_pool_map_opts_init(&o);
    o.chunksize = chunksize;
    return o;
}

/* [0, 1, 4, ...] of n squares, checked in order. */
static void check_squares(const mpx_value *out, int64_t n)
{
    T_CHECK(mpx_value_kind(out) == MPX_LIST);
    T_EQ_INT(mpx_value_len(out), n);
    for (int64_t i = 0; i < n; i++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(out, (size_t)i)), i * i);
}

/* Drains an iterator of squares of 0..n-1: in order, or (unordered) each once. */
static void check_square_iter(mpx_pool *p, mpx_pool_iter *it, int64_t n, bool ordered)
{
    bool done = false, seen[64] = {false};
    int64_t count = 0;
    for (int guard = 0; !done && guard <= n; guard++) {
        mpx_value v;
        P_OK(p, mpx_pool_iter_next(it, 10, &v, &done));
        if (done)
            break;
        int64_t x = mpx_value_get_int(&v);
        if (ordered)
            T_EQ_INT(x, count * count);
        for (int64_t k = 0; k < n && k < 64; k++)
            if (k * k == x) {
                T_CHECK(!seen[k]);
                seen[k] = true;
            }
        count++;
    }
    T_CHECK(done);
    T_EQ_INT(count, n);
    mpx_pool_iter_free(it);
}

static void case_chunksizes(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(3, 0, NULL);
    const int64_t sizes[] = {0, 1, 2, 13, 50};
    const size_t chunks[] = {0, 1, 4, 7, 100};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            mpx_pool_map_opts o = chunks_of(chunks[c]);
            mpx_value items = range_list(sizes[s]), out;
            P_OK(p, mpx_pool_map_ex(p, "square", &items, &o, &out));
            check_squares(&out, sizes[s]);
            mpx_value_free(&out);
            mpx_pool_iter *it;
            P_OK(p, mpx_pool_imap_ex(p, "square", &items, &o, &it));
            check_square_iter(p, it, sizes[s], true);
            P_OK(p, mpx_pool_imap_unordered_ex(p, "square", &items, &o, &it));
            check_square_iter(p, it, sizes[s], false);
            mpx_value_free(&items);
        }
    }
    mpx_value pairs = t_val("[(1, 2), (3, 4), (10, -10), (5, 5), (0, 1)]"), out;
    mpx_pool_map_opts two = chunks_of(2);
    P_OK(p, mpx_pool_starmap_ex(p, "add", &pairs, &two, &out));
    T_REPR(&out, "[3, 7, 0, 10, 1]");
    mpx_value_free(&out);
    mpx_value_free(&pairs);

    /* a chunk travels as one task: one worker runs all its items */
    mpx_value items = range_list(20);
    mpx_pool_map_opts five = chunks_of(5);
    P_OK(p, mpx_pool_map_ex(p, "whoami", &items, &five, &out));
    for (size_t i = 0; i < 20; i++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, i)),
                 mpx_value_get_int(mpx_value_at(&out, i - i % 5)));
    mpx_value_free(&out);
    mpx_value_free(&items);
    /* the default is Python's: 100 items, 3 workers: 100 / 12 rounded up = 9 a chunk */
    items = range_list(100);
    P_OK(p, mpx_pool_map(p, "whoami", &items, &out));
    for (size_t i = 0; i < 100; i++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, i)),
                 mpx_value_get_int(mpx_value_at(&out, i - i % 9)));
    mpx_value_free(&out);
    mpx_value_free(&items);

    /* an item that fails inside a chunk fails alone */
    mpx_value ten = range_list(10);
    T_RC(NULL, mpx_pool_map_ex(p, "fail_on_three", &ten, &five, &out), MPX_EVALUE);
    T_EQ_STR(mpx_pool_errmsg(p), "bad input 3");
    T_CHECK(mpx_value_kind(&out) == MPX_NONE);
    mpx_pool_iter *it;
    P_OK(p, mpx_pool_imap_ex(p, "fail_on_three", &ten, &five, &it));
    for (int64_t i = 0; i < 10; i++) {
        bool done = true;
        int rc = mpx_pool_iter_next(it, 10, &out, &done);
        T_CHECK(!done);
        if (i == 3) {
            T_EQ_INT(rc, MPX_EVALUE);
            T_EQ_STR(mpx_pool_errmsg(p), "bad input 3");
        } else {
            T_EQ_INT(rc, MPX_OK);
            T_EQ_INT(mpx_value_get_int(&out), i);
        }
        mpx_value_free(&out);
    }
    mpx_pool_iter_free(it);
    T_RC(NULL, mpx_pool_map_ex(p, "nope", &ten, &five, &out), MPX_ENOMETHOD);
    T_EQ_STR(mpx_pool_errmsg(p), "no function 'nope' in this worker");
    mpx_value bad_pairs = t_val("[(1, 2), 3]");
    T_RC(NULL, mpx_pool_starmap_ex(p, "add", &bad_pairs, &two, &out), MPX_ETYPE);
    T_EQ_STR(mpx_pool_errmsg(p), "each item of a starmap must be a tuple");
    mpx_value_free(&bad_pairs);
    mpx_value_free(&ten);

    /* a chunk holding a shared object's reference travels as a list, not packed */
    mpx_value ref, mixed;
    T_OK(mpx_pool_client(p), mpx_client_open(mpx_pool_client(p), "chunk.ref", "dict", NULL,
                                             0, &ref));
    mpx_value_list(&mixed, 3);
    mpx_value five_v = mpx_value_int(5), x, ref_copy;
    mpx_value_copy(&ref_copy, &ref);
    mpx_value_append(&mixed, &ref_copy);
    mpx_value_append(&mixed, &five_v);
    mpx_value_str(&x, "x");
    mpx_value_append(&mixed, &x);
    mpx_pool_map_opts three = chunks_of(3);
    P_OK(p, mpx_pool_map_ex(p, "echo", &mixed, &three, &out));
    T_CHECK(mpx_value_equal(&out, &mixed));
    mpx_value_free(&out);
    mpx_value plain = t_val("[1, 2.5, 'a', (1, (2, 3)), None, {'k': [1]}, True]");
    P_OK(p, mpx_pool_map_ex(p, "echo", &plain, &three, &out)); /* packed */
    T_CHECK(mpx_value_equal(&out, &plain));
    mpx_value_free(&out);
    t_free_all(&plain, 1);
    t_free_all(&mixed, 1);
    t_free_all(&ref, 1);
    P_OK(p, mpx_pool_close(p));
    P_OK(p, mpx_pool_join(p));
    mpx_pool_free(p);
}

/* ---- map_async ---------------------------------------------------------------------------- */

typedef struct seen_callbacks {
    int ok;
    int failed;
    int code;
    char message[128];
    char repr[256];
    mpx_pool_result *own; /* freed by the callback itself when set */
} seen_callbacks;

static void on_map_result(const mpx_value *result, void *data)
{
    seen_callbacks *s = data;
    s->ok++;
    char *r = mpx_value_repr(result);
    snprintf(s->repr, sizeof s->repr, "%s", r ? r : "?");
    free(r);
    if (s->own != NULL) {
        mpx_pool_result_free(s->own); /* a callback may let go of its own handle */
        s->own = NULL;
    }
}

static void on_map_error(int code, const char *message, void *data)
{
    seen_callbacks *s = data;
    s->failed++;
    s->code = code;
    snprintf(s->message, sizeof s->message, "%s", message);
}

static void case_map_async(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(2, 0, NULL);
    mpx_value ten = range_list(10), out;
    seen_callbacks a = {0}, b = {0}, c = {0}, e = {0};
    mpx_pool_result *ra, *rb, *rc_, *re;
    P_OK(p, mpx_pool_map_async(p, "square", &ten, NULL, on_map_result, on_map_error, &a, &ra));
    mpx_value pairs = t_val("[(1, 2), (3, 4)]");
    mpx_pool_map_opts one = chunks_of(1);
    P_OK(p, mpx_pool_starmap_async(p, "add", &pairs, &one, on_map_result, on_map_error, &b,
                                   &rb));
    P_OK(p, mpx_pool_map_async(p, "fail_on_three", &ten, NULL, on_map_result, on_map_error,
                               &c, &rc_));
    mpx_value none = t_val("[]");
    P_OK(p, mpx_pool_map_async(p, "square", &none, NULL, on_map_result, on_map_error, &e, &re));
    T_EQ_INT(e.ok, 1); /* ready at once */
    T_EQ_STR(e.repr, "[]");
    P_OK(p, mpx_pool_result_get(ra, 10, &out));
    T_REPR(&out, "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
    mpx_value_free(&out);
    P_OK(p, mpx_pool_result_wait(rb, 10));
    P_OK(p, mpx_pool_result_wait(rc_, 10));
    T_EQ_INT(a.ok, 1);
    T_EQ_STR(a.repr, "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
    T_EQ_INT(a.failed, 0);
    T_EQ_INT(b.ok, 1);
    T_EQ_STR(b.repr, "[3, 7]");
    T_EQ_INT(c.ok, 0);
    T_EQ_INT(c.failed, 1);
    T_EQ_INT(c.code, MPX_EVALUE);
    T_EQ_STR(c.message, "bad input 3");
    bool ok = true;
    P_OK(p, mpx_pool_result_successful(rc_, &ok));
    T_CHECK(!ok);
    T_RC(NULL, mpx_pool_result_get(rc_, 1, &out), MPX_EVALUE);
    /* the other results of a map that failed are all there, item by item */
    for (size_t i = 0; i < 10; i++) {
        int rc = mpx_pool_result_item(rc_, i, 1, &out);
        T_EQ_INT(rc, i == 3 ? MPX_EVALUE : MPX_OK);
        if (i != 3)
            T_EQ_INT(mpx_value_get_int(&out), (int64_t)i);
        mpx_value_free(&out);
    }
    T_RC(NULL, mpx_pool_result_item(rc_, 10, 1, &out), MPX_EINDEX);
    T_EQ_STR(mpx_pool_errmsg(p), "the result has 10 items, not 11");
    P_OK(p, mpx_pool_result_item(ra, 9, 0, &out));
    T_REPR(&out, "81");
    mpx_value_free(&out);
    mpx_value not_items = mpx_value_int(1);
    mpx_pool_result *never = NULL;
    T_RC(NULL, mpx_pool_map_async(p, "square", &not_items, NULL, NULL, NULL, NULL, &never),
         MPX_ETYPE);
    T_CHECK(never == NULL);
    for (mpx_pool_result **r = (mpx_pool_result *[]){ra, rb, rc_, re, NULL}; *r; r++)
        mpx_pool_result_free(*r);

    /* a callback that frees its own handle; join runs the callbacks still to run */
    seen_callbacks f = {0};
    mpx_pool_result *rf;
    P_OK(p, mpx_pool_map_async(p, "square", &ten, NULL, on_map_result, on_map_error, &f, &rf));
    f.own = rf;
    seen_callbacks g = {0};
    P_OK(p, mpx_pool_map_async(p, "square", &ten, NULL, on_map_result, on_map_error, &g, &rf));
    mpx_pool_result_free(rf); /* its callback still runs */
    P_OK(p, mpx_pool_close(p));
    T_RC(NULL, mpx_pool_map_async(p, "square", &ten, NULL, NULL, NULL, NULL, &never),
         MPX_EVALUE);
    P_OK(p, mpx_pool_join(p));
    T_EQ_INT(f.ok, 1);
    T_CHECK(f.own == NULL);
    T_EQ_INT(g.ok, 1);
    mpx_pool_free(p);
    t_free_all(&ten, 1);
    t_free_all(&pairs, 1);
    t_free_all(&none, 1);
}

/* ---- timeouts ----------------------------------------------------------------------------- */

static void case_timeouts_then_reuse(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(2, 0, NULL);
    mpx_value slow = slow_items(8, 300), ten = range_list(10), out;
    mpx_pool_map_opts quick;
    mpx_pool_map_opts_init(&quick);
    quick.timeout = 0.1;
    int64_t t0 = t_now_ms();
    T_RC(NULL, mpx_pool_starmap_ex(p, "slow_square", &slow, &quick, &out), MPX_ETIMEOUT);
    T_EQ_STR(mpx_pool_errmsg(p), "the map did not finish in 0.1 s");
    T_CHECK(mpx_value_kind(&out) == MPX_NONE);
    /* what did not start was dropped: the next map waits for two tasks at most */
    P_OK(p, mpx_pool_map(p, "square", &ten, &out));
    check_squares(&out, 10);
    mpx_value_free(&out);
    T_CHECK(t_now_ms() - t0 < 1500);
    mpx_value sleepy = t_val("[(300, 1), (300, 2)]");
    t0 = t_now_ms();
    T_RC(NULL, mpx_pool_starmap_ex(p, "slow_square", &sleepy, &quick, &out), MPX_ETIMEOUT);
    mpx_value late = t_val("(2000, 5)"), five = t_val("(5,)");
    T_RC(NULL, mpx_pool_apply_timeout(p, "slow_square", &late, 0.05, &out), MPX_ETIMEOUT);
    T_EQ_STR(mpx_pool_errmsg(p), "apply did not finish in 0.05 s");
    P_OK(p, mpx_pool_apply_timeout(p, "square", &five, 10, &out));
    T_REPR(&out, "25");
    mpx_value_free(&out);
    /* iterators and results: a timeout leaves them pending, and they go on */
    mpx_pool_iter *it;
    mpx_value two = t_val("[(200, 3), (0, 4)]");
    P_OK(p, mpx_pool_imap(p, "square", &ten, &it));
    mpx_pool_iter_free(it); /* unread: its results are dropped when they come */
    mpx_pool_result *r;
    mpx_pool_map_opts one = chunks_of(1);
    P_OK(p, mpx_pool_starmap_async(p, "slow_square", &two, &one, NULL, NULL, NULL, &r));
    T_RC(NULL, mpx_pool_result_item(r, 0, 0.01, &out), MPX_ETIMEOUT);
    T_EQ_STR(mpx_pool_errmsg(p), "task 0 is not done in time");
    P_OK(p, mpx_pool_result_item(r, 0, 10, &out));
    T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, 0)), 9);
    mpx_value_free(&out);
    mpx_pool_result_free(r);
    T_CHECK(t_now_ms() - t0 < 3000); /* not after the 2 s task */
    P_OK(p, mpx_pool_terminate(p));
    P_OK(p, mpx_pool_join(p));
    mpx_pool_free(p);
    t_free_all(&slow, 1);
    t_free_all(&ten, 1);
    t_free_all(&sleepy, 1);
    t_free_all(&late, 1);
    t_free_all(&five, 1);
    t_free_all(&two, 1);
}

/* ---- crash storms ------------------------------------------------------------------------- */

/* The outcome of crash over 0..n-1 through r: every healthy item's square, and for each
 * bad one (x % 10 == 3 or 7) RuntimeError naming it. */
static void check_storm(mpx_pool *p, mpx_pool_result *r, int64_t n)
{
    P_OK(p, mpx_pool_result_wait(r, 20));
    for (int64_t i = 0; i < n; i++) {
        mpx_value out;
        int rc = mpx_pool_result_item(r, (size_t)i, 0, &out);
        if (i % 10 == 3 || i % 10 == 7) {
            T_EQ_INT(rc, MPX_ERUNTIME);
            char want[200];
            snprintf(want, sizeof want, "task %lld: the worker running crash(%lld) ended "
                     "before it finished, 3 times (crashed, killed or disconnected)",
                     (long long)i, (long long)i);
            T_EQ_STR(mpx_pool_errmsg(p), want);
        } else {
            T_EQ_INT(rc, MPX_OK);
            T_EQ_INT(mpx_value_get_int(&out), i * i);
        }
        mpx_value_free(&out);
    }
}

static void case_local_crash_storm(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(3, 0, NULL);
    mpx_value items = range_list(40), out;
    mpx_pool_result *r;
    seen_callbacks s = {0};
    int64_t t0 = t_now_ms();
    /* default chunks (4 items): each chunk holds one bad item, lost once, then split */
    P_OK(p, mpx_pool_map_async(p, "crash", &items, NULL, on_map_result, on_map_error, &s, &r));
    check_storm(p, r, 40);
    T_EQ_INT(s.ok, 0);
    T_EQ_INT(s.failed, 1);
    T_EQ_INT(s.code, MPX_ERUNTIME);
    T_CHECK(strstr(s.message, "task 3: the worker running crash(3) ended") == s.message);
    mpx_pool_result_free(r);
    /* items that are not all ints travel packed by the codec: split the same way */
    mpx_value singles;
    mpx_value_list(&singles, 20);
    for (int64_t i = 0; i < 20; i++) {
        mpx_value one, x = mpx_value_int(i);
        mpx_value_tuple(&one, 1);
        mpx_value_append(&one, &x);
        mpx_value_append(&singles, &one);
    }
    P_OK(p, mpx_pool_starmap_async(p, "crash", &singles, NULL, NULL, NULL, NULL, &r));
    check_storm(p, r, 20);
    mpx_pool_result_free(r);
    mpx_value_free(&singles);
    /* the blocking map says the first bad task */
    mpx_value some = range_list(9);
    T_RC(NULL, mpx_pool_map(p, "crash", &some, &out), MPX_ERUNTIME);
    T_CHECK(strstr(mpx_pool_errmsg(p), "task 3: the worker running crash(3)") != NULL);
    /* one call at a time, and an iterator: the same */
    mpx_value seven = t_val("(7,)");
    T_RC(NULL, mpx_pool_apply(p, "crash", &seven, &out), MPX_ERUNTIME);
    T_CHECK(strstr(mpx_pool_errmsg(p), "task 0: the worker running crash(7) ended") != NULL);
    mpx_pool_iter *it;
    P_OK(p, mpx_pool_imap_unordered(p, "crash", &some, &it));
    int good = 0, bad = 0;
    bool done = false;
    for (int guard = 0; !done && guard < 20; guard++) {
        int rc = mpx_pool_iter_next(it, 20, &out, &done);
        good += rc == MPX_OK && !done;
        bad += rc == MPX_ERUNTIME;
        mpx_value_free(&out);
    }
    T_CHECK(done);
    T_EQ_INT(good, 7);
    T_EQ_INT(bad, 2);
    mpx_pool_iter_free(it);
    /* and the pool goes on, its workers replaced */
    P_OK(p, mpx_pool_map(p, "square", &items, &out));
    check_squares(&out, 40);
    mpx_value_free(&out);
    T_CHECK(t_now_ms() - t0 < 20000);
    P_OK(p, mpx_pool_close(p));
    P_OK(p, mpx_pool_join(p));
    mpx_pool_free(p);
    t_free_all(&items, 1);
    t_free_all(&some, 1);
    t_free_all(&seven, 1);
}

/* ---- terminate ---------------------------------------------------------------------------- */

static void case_terminate_with_async_pending(void *arg)
{
    (void)arg;
    mpx_pool *p = start_local(2, 0, NULL);
    mpx_value items = t_val("[(0, 0), (0, 1), (5000, 2), (5000, 3), (5000, 4)]"), out;
    mpx_value slow = t_val("(5000, 9)");
    seen_callbacks s = {0}, a = {0};
    mpx_pool_result *r, *ra;
    mpx_pool_map_opts one = chunks_of(1);
    P_OK(p, mpx_pool_starmap_async(p, "slow_square", &items, &one, on_map_result,
                                   on_map_error, &s, &r));
    P_OK(p, mpx_pool_apply_async(p, "slow_square", &slow, on_map_result, on_map_error, &a,
                                 &ra));
    P_OK(p, mpx_pool_result_item(r, 1, 10, &out)); /* the quick ones are in */
    mpx_value_free(&out);
    int64_t t0 = t_now_ms();
    P_OK(p, mpx_pool_terminate(p));
    T_RC(NULL, mpx_pool_result_get(r, 10, &out), MPX_ECLOSED);
    T_RC(NULL, mpx_pool_result_wait(ra, 10), MPX_ECLOSED);
    T_CHECK(!mpx_pool_result_ready(r));
    T_CHECK(t_now_ms() - t0 < 4000); /* not after the 5 s tasks */
    P_OK(p, mpx_pool_result_item(r, 0, 0, &out)); /* what arrived stays */
    T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, 0)), 0);
    mpx_value_free(&out);
    T_RC(NULL, mpx_pool_result_item(r, 3, 1, &out), MPX_ECLOSED);
    T_EQ_INT(s.ok + s.failed + a.ok + a.failed, 0); /* no callback ran */
    P_OK(p, mpx_pool_join(p));
    mpx_pool_result_free(r);
    mpx_pool_result_free(ra);
    mpx_pool_free(p);
    t_free_all(&items, 1);
    t_free_all(&slow, 1);
}

/* ---- distributed -------------------------------------------------------------------------- */

/* A worker program: mpx_pool_worker_main in its own process group (killed as a whole). */
static pid_t start_worker_program(const char *pool, const char *processes)
{
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        char *argv[] = {"worker", "--connect", M.address, "--authkey-file", M.keyfile,
                        "--pool", (char *)pool, "--processes", (char *)processes, NULL};
        _exit(mpx_pool_worker_main(9, argv, FUNCTIONS, NFUNCTIONS, NULL, NULL));
    }
    setpgid(pid, pid);
    return pid;
}

static mpx_pool *connect_pool(mpx_client *c, const char *name)
{
    mpx_pool *p;
    if (mpx_pool_connect(c, name, NULL, &p) != MPX_OK)
        t_fail(__FILE__, __LINE__, "mpx_pool_connect: %s", p ? mpx_pool_errmsg(p) : "no memory");
    return p;
}

/* A constructor that fails still gives a handle to ask why: a private manager that cannot
 * make its socket directory, the pool built on it, and a pool whose name is taken. */
static void case_failed_constructors_say_why(void *arg)
{
    (void)arg;
    setenv("TMPDIR", "/nonexistent-mpx-test-dir", 1); /* only this case's child */
    mpx_manager *m = NULL;
    T_RC(NULL, mpx_manager_start(&m), MPX_EIO);
    T_CHECK(m != NULL && strstr(mpx_manager_errmsg(m), "cannot make a directory") != NULL);
    mpx_client *c = NULL;
    T_RC(NULL, mpx_manager_connect(m, &c), MPX_ECLOSED);
    T_ERRMSG_HAS(c, "the private manager did not start");
    mpx_client_close(c);
    mpx_manager_shutdown(m);

    mpx_pool_opts o;
    mpx_pool_opts_init(&o);
    o.functions = FUNCTIONS;
    o.nfunctions = NFUNCTIONS;
    mpx_pool *p = NULL;
    T_RC(NULL, mpx_pool_start(&o, &p), MPX_EIO);
    T_CHECK(p != NULL && strstr(mpx_pool_errmsg(p), "cannot start the pool") != NULL);
    mpx_value items = t_val("[1, 2]"), out;
    T_RC(NULL, mpx_pool_map(p, "square", &items, &out), MPX_EIO); /* the same error */
    T_CHECK(strstr(mpx_pool_errmsg(p), "cannot make a directory") != NULL);
    T_RC(NULL, mpx_pool_close(p), MPX_EIO);
    T_RC(NULL, mpx_pool_join(p), MPX_EIO);
    mpx_pool_free(p);
    unsetenv("TMPDIR");

    c = t_connect(&M, NULL);
    mpx_value ref;
    T_OK(c, mpx_client_open(c, "taken.pool", "dict", NULL, 0, &ref));
    T_RC(NULL, mpx_pool_connect(c, "taken.pool", NULL, &p), MPX_EEXIST);
    T_CHECK(p != NULL && strstr(mpx_pool_errmsg(p), "cannot open the pool 'taken.pool'") != NULL);
    T_RC(NULL, mpx_pool_map(p, "square", &items, &out), MPX_EEXIST);
    mpx_pool_free(p);
    mpx_value_free(&items);
    mpx_value_free(&ref);
    mpx_client_close(c);
}

static void case_distributed_map(void *arg)
{
    (void)arg;
    pid_t w = start_worker_program("dist", "2");
    mpx_client *c = t_connect(&M, NULL);
    mpx_pool *p = connect_pool(c, "dist");
    mpx_value items = range_list(300), out;
    P_OK(p, mpx_pool_map(p, "square", &items, &out));
    for (int64_t i = 0; i < 300; i++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, (size_t)i)), i * i);
    mpx_value_free(&out);
    P_OK(p, mpx_pool_close(p));
    P_OK(p, mpx_pool_join(p));
    T_EQ_INT(t_wait_pid(w, 20000), 0); /* the workers left once the pool drained */
    mpx_pool_free(p);
    mpx_value_free(&items);
    mpx_client_close(c);

    /* bad arguments to a worker program */
    pid_t bad = fork();
    if (bad == 0) {
        char *argv[] = {"worker", "--pool", "x", NULL};
        int devnull_rc = mpx_pool_worker_main(3, argv, FUNCTIONS, NFUNCTIONS, NULL, NULL);
        _exit(devnull_rc);
    }
    T_EQ_INT(t_wait_pid(bad, 10000), 2);
}

/* Two processes map over one shared pool at once: each gets exactly its own results. */
static void submitter(int index, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_pool *p = connect_pool(c, "shared");
    mpx_value items;
    mpx_value_list(&items, 200);
    for (int64_t i = 0; i < 200; i++) {
        mpx_value x = mpx_value_int(i + 1000 * index);
        mpx_value_append(&items, &x);
    }
    mpx_value out;
    P_OK(p, mpx_pool_map(p, "square", &items, &out));
    for (int64_t i = 0; i < 200; i++) {
        int64_t x = i + 1000 * index;
        T_EQ_INT(mpx_value_get_int(mpx_value_at(&out, (size_t)i)), x * x);
    }
    mpx_value_free(&out);
    mpx_value_free(&items);
    mpx_pool_free(p);
    mpx_client_close(c);
}

static void case_distributed_two_submitters(void *arg)
{
    (void)arg;
    pid_t w = start_worker_program("shared", "2");
    T_EQ_INT(t_fork_workers(2, submitter, NULL, 30000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_pool *p = connect_pool(c, "shared");
    P_OK(p, mpx_pool_close(p));
    P_OK(p, mpx_pool_join(p));
    T_EQ_INT(t_wait_pid(w, 20000), 0);
    mpx_pool_free(p);
    mpx_client_close(c);
}

/* A worker program that starts while a map runs takes its share of the tasks. */
static void case_distributed_worker_joins_mid_map(void *arg)
{
    (void)arg;
    pid_t first = start_worker_program("late", "1");
    mpx_client *c = t_connect(&M, NULL);
    mpx_pool *p = connect_pool(c, "late");
    mpx_value items = slow_items(40, 25), out;
    pid_t joiner = fork();
    if (joiner == 0) {
        usleep(200000);
        _exit(t_wait_pid(start_worker_program("late", "1"), 30000) == 0 ? 0 : 1);
    }
    P_OK(p, mpx_pool_starmap(p, "slow_square", &items, &out));
    int64_t pid0 = mpx_value_get_int(mpx_value_at(mpx_value_at(&out, 0), 1));
    int others = 0;
    for (size_t i = 0; i < 40; i++)
        others += mpx_value_get_int(mpx_value_at(mpx_value_at(&out, i), 1)) != pid0;
    T_CHECK(others > 0); /* the late worker ran some of them */
    P_OK(p, mpx_pool_close(p));
    P_OK(p, mpx_pool_join(p));
    T_EQ_INT(t_wait_pid(first, 20000), 0);
    T_EQ_INT(t_wait_pid(joiner, 20000), 0);
    mpx_value_free(&out);
    mpx_value_free(&items);
    mpx_pool_free(p);
    mpx_client_close(c);
}

static void case_distributed_worker_killed(void *arg)
{
    (void)arg;
    pid_t w[3];
    for (int i = 0; i < 3; i++)
        w[i] = start_worker_program("fault", "1");
    mpx_client *c = t_connect(&M, NULL);
    mpx_pool *p = connect_pool(c, "fault");
    mpx_value items = slow_items(60, 20);
    pid_t killer = fork();
    if (killer == 0) {
        usleep(200000);
        kill(-w[1], SIGKILL); /* the worker program and its worker: started by this test */
        _exit(0);
    }
    mpx_value out;
    P_OK(p, mpx_pool_starmap(p, "slow_square", &items, &out));
    T_EQ_INT(mpx_value_len(&out), 60);
    for (int64_t i = 0; i < 60; i++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(mpx_value_at(&out, (size_t)i), 0)), i * i);
    T_EQ_INT(t_wait_pid(killer, 10000), 0);
    P_OK(p, mpx_pool_close(p));
    P_OK(p, mpx_pool_join(p));
    T_EQ_INT(t_wait_pid(w[0], 20000), 0);
    T_EQ_INT(t_wait_pid(w[1], 20000), -1); /* killed */
    T_EQ_INT(t_wait_pid(w[2], 20000), 0);
    mpx_value_free(&out);
    mpx_value_free(&items);
    mpx_pool_free(p);
    mpx_client_close(c);
}

/* Worker programs whose workers a task ends: replaced each time; the healthy results all
 * arrive and the bad tasks fail, named. The programs then say that workers failed. */
static void case_distributed_crash_storm(void *arg)
{
    (void)arg;
    pid_t w[2] = {start_worker_program("storm", "1"), start_worker_program("storm", "1")};
    mpx_client *c = t_connect(&M, NULL);
    mpx_pool *p = connect_pool(c, "storm");
    mpx_value items = range_list(30), out;
    mpx_pool_result *r;
    P_OK(p, mpx_pool_map_async(p, "crash", &items, NULL, NULL, NULL, NULL, &r));
    check_storm(p, r, 30);
    mpx_pool_result_free(r);
    P_OK(p, mpx_pool_map(p, "square", &items, &out));
    check_squares(&out, 30);
    mpx_value_free(&out);
    P_OK(p, mpx_pool_close(p));
    P_OK(p, mpx_pool_join(p));
    T_EQ_INT(t_wait_pid(w[0], 20000), 1);
    T_EQ_INT(t_wait_pid(w[1], 20000), 1);
    mpx_value_free(&items);
    mpx_pool_free(p);
    mpx_client_close(c);
}

int main(void)
{
    t_manager_start(&M, NULL, NULL);
    T_RUN(case_local_calls, NULL);
    T_RUN(case_local_maxtasksperchild, NULL);
    T_RUN(case_local_worker_killed, NULL);
    T_RUN(case_local_terminate, NULL);
    T_RUN(case_handles_outlive_the_pool, NULL);
    T_RUN(case_local_initializer_fails, NULL);
    T_RUN(case_chunksizes, NULL);
    T_RUN(case_map_async, NULL);
    T_RUN(case_timeouts_then_reuse, NULL);
    T_RUN(case_local_crash_storm, NULL);
    T_RUN(case_terminate_with_async_pending, NULL);
    T_RUN(case_failed_constructors_say_why, NULL);
    T_RUN(case_distributed_map, NULL);
    T_RUN(case_distributed_two_submitters, NULL);
    T_RUN(case_distributed_worker_joins_mid_map, NULL);
    T_RUN(case_distributed_worker_killed, NULL);
    T_RUN(case_distributed_crash_storm, NULL);
    return t_finish_with_manager(&M);
}
