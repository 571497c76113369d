/* test_pool.c - the process pool (mpx/pool.h), local and distributed, with real processes.
 *
 * Local: map, starmap, apply, apply_async with callbacks, imap in order and unordered,
 * an initializer, maxtasksperchild (workers replaced), a worker killed mid-map (its task
 * runs again: every result arrives once), and the error paths: a function that fails, an
 * unknown function name, a get that times out, calls after close, join before close, an
 * initializer that fails (the map fails; the workers are not restarted over and over).
 * Distributed: worker programs (mpx_pool_worker_main) on the test's manager take a map
 * submitted by another process; two submitters share one pool and each gets its own
 * results; a worker program started mid-map takes a share; one of three workers is killed
 * with SIGKILL mid-map and the map still returns every result exactly once, equal to the
 * local computation.
 */
#include <signal.h>
#include <stdio.h>
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

static int initializer(void *arg)
{
    initialized = *(int64_t *)arg;
    return initialized < 0 ? -1 : 0; /* a negative argument: the initializer fails */
}

static const mpx_pool_function FUNCTIONS[] = {
    {"square", square},       {"add", add},       {"fail_on_three", fail_on_three},
    {"slow_square", slow_square}, {"whoami", whoami}, {"init_value", init_value},
    {"tally", tally},
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
    mpx_pool_map_opts one = {.chunksize = 1, .timeout = -1};
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

int main(void)
{
    t_manager_start(&M, NULL, NULL);
    T_RUN(case_local_calls, NULL);
    T_RUN(case_local_maxtasksperchild, NULL);
    T_RUN(case_local_worker_killed, NULL);
    T_RUN(case_local_terminate, NULL);
    T_RUN(case_handles_outlive_the_pool, NULL);
    T_RUN(case_local_initializer_fails, NULL);
    T_RUN(case_failed_constructors_say_why, NULL);
    T_RUN(case_distributed_map, NULL);
    T_RUN(case_distributed_two_submitters, NULL);
    T_RUN(case_distributed_worker_joins_mid_map, NULL);
    T_RUN(case_distributed_worker_killed, NULL);
    return t_finish_with_manager(&M);
}
