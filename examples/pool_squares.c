/* pool_squares.c - the Pool example from Python's multiprocessing documentation, in C.
 *
 * The Python original ("Using a pool of workers"):   This program:
 *   with Pool(processes=4) as pool:                    mpx_pool_start, 4 processes
 *       print(pool.map(f, range(10)))                  mpx_pool_map of "f"
 *       for i in pool.imap_unordered(f, range(10)):    mpx_pool_imap_unordered
 *           print(i)
 *       res = pool.apply_async(f, (20,))               mpx_pool_apply_async, then
 *       print(res.get(timeout=1))                      mpx_pool_result_get(res, 1, ...)
 *       res = pool.apply_async(os.getpid, ())          "getpid", once, then 4 at once
 *       res = pool.apply_async(time.sleep, (10,))      "sleep" 10 s, get(timeout=1):
 *       ... except TimeoutError: print("We lacked ...")  MPX_ETIMEOUT
 *   (the end of the with block terminates the pool)    mpx_pool_free
 * The workers are forked from this program, so the functions are this file's own, found
 * by name. The 10 s sleep does not hold the program: freeing the pool stops its workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mpx.h"

/* f(x): x * x */
static int f(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
             size_t errlen)
{
    (void)c;
    const mpx_value *x = mpx_value_at(args, 0);
    if (x == NULL || mpx_value_kind(x) != MPX_INT) {
        snprintf(err, errlen, "f needs an int");
        return MPX_ETYPE;
    }
    *result = mpx_value_int(mpx_value_get_int(x) * mpx_value_get_int(x));
    return MPX_OK;
}

/* os.getpid() */
static int get_pid(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                   size_t errlen)
{
    (void)c;
    (void)args;
    (void)err;
    (void)errlen;
    *result = mpx_value_int(getpid());
    return MPX_OK;
}

/* time.sleep(seconds) */
static int sleep_for(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                     size_t errlen)
{
    (void)c;
    const mpx_value *s = mpx_value_at(args, 0);
    if (s == NULL || mpx_value_kind(s) != MPX_INT) {
        snprintf(err, errlen, "sleep needs an int");
        return MPX_ETYPE;
    }
    sleep((unsigned)mpx_value_get_int(s));
    *result = mpx_value_none();
    return MPX_OK;
}

static const mpx_pool_function FUNCTIONS[] = {
    {"f", f},
    {"getpid", get_pid},
    {"sleep", sleep_for},
};

static int fail(mpx_pool *pool, int rc, const char *what)
{
    fprintf(stderr, "pool_squares: %s: %s: %s\n", what, mpx_err_name(rc),
            pool != NULL ? mpx_pool_errmsg(pool) : mpx_strerror(rc));
    return rc;
}

/* print(v) */
static void print_value(const mpx_value *v)
{
    char *text = mpx_value_repr(v);
    printf("%s\n", text != NULL ? text : "?");
    free(text);
}

/* pool.apply_async(fn, (arg,)) or, arg negative, (): the handle in *out. */
static int apply_async(mpx_pool *pool, const char *fn, int64_t arg, mpx_pool_result **out)
{
    mpx_value args, x = mpx_value_int(arg);
    int rc = mpx_value_tuple(&args, 1);
    if (rc == MPX_OK && arg >= 0)
        mpx_value_append(&args, &x);
    if (rc == MPX_OK)
        rc = mpx_pool_apply_async(pool, fn, &args, NULL, NULL, NULL, out);
    mpx_value_free(&args);
    return rc;
}

/* print(res.get(timeout=1)) */
static int print_get(mpx_pool_result *res)
{
    mpx_value v;
    int rc = mpx_pool_result_get(res, 1, &v);
    if (rc == MPX_OK)
        print_value(&v);
    mpx_value_free(&v);
    return rc;
}

static int run(mpx_pool *pool)
{
    mpx_value items, out;
    int rc = mpx_value_list(&items, 10);
    for (int64_t i = 0; i < 10 && rc == MPX_OK; i++) {
        mpx_value x = mpx_value_int(i);
        mpx_value_append(&items, &x);
    }
    /* print "[0, 1, 4,..., 81]" */
    if (rc != MPX_OK || (rc = mpx_pool_map(pool, "f", &items, &out)) != MPX_OK) {
        mpx_value_free(&items);
        return fail(pool, rc, "pool.map(f, range(10))");
    }
    print_value(&out);
    mpx_value_free(&out);

    /* print same numbers in arbitrary order */
    mpx_pool_iter *it;
    rc = mpx_pool_imap_unordered(pool, "f", &items, &it);
    mpx_value_free(&items);
    bool done = false;
    for (int guard = 0; rc == MPX_OK && !done && guard <= 10; guard++) {
        if ((rc = mpx_pool_iter_next(it, -1, &out, &done)) == MPX_OK && !done)
            print_value(&out);
        mpx_value_free(&out);
    }
    mpx_pool_iter_free(it);
    if (rc != MPX_OK)
        return fail(pool, rc, "pool.imap_unordered(f, range(10))");

    /* evaluate "f(20)" asynchronously: runs in only one process */
    mpx_pool_result *res = NULL;
    if ((rc = apply_async(pool, "f", 20, &res)) == MPX_OK)
        rc = print_get(res); /* prints "400" */
    mpx_pool_result_free(res);
    if (rc != MPX_OK)
        return fail(pool, rc, "pool.apply_async(f, (20,))");

    /* evaluate "os.getpid()" asynchronously: prints the pid of that process */
    if ((rc = apply_async(pool, "getpid", -1, &res)) == MPX_OK)
        rc = print_get(res);
    mpx_pool_result_free(res);
    if (rc != MPX_OK)
        return fail(pool, rc, "pool.apply_async(os.getpid, ())");

    /* launching multiple evaluations asynchronously *may* use more processes */
    mpx_pool_result *multiple[4] = {NULL};
    for (int i = 0; i < 4 && rc == MPX_OK; i++)
        rc = apply_async(pool, "getpid", -1, &multiple[i]);
    mpx_value pids;
    if (rc == MPX_OK)
        rc = mpx_value_list(&pids, 4);
    for (int i = 0; i < 4 && rc == MPX_OK; i++)
        if ((rc = mpx_pool_result_get(multiple[i], 1, &out)) == MPX_OK)
            mpx_value_append(&pids, &out);
    for (int i = 0; i < 4; i++)
        mpx_pool_result_free(multiple[i]);
    if (rc != MPX_OK)
        return fail(pool, rc, "[pool.apply_async(os.getpid, ()) for i in range(4)]");
    print_value(&pids);
    mpx_value_free(&pids);

    /* make a single worker sleep for 10 seconds */
    if ((rc = apply_async(pool, "sleep", 10, &res)) != MPX_OK)
        return fail(pool, rc, "pool.apply_async(time.sleep, (10,))");
    rc = print_get(res);
    mpx_pool_result_free(res);
    if (rc == MPX_ETIMEOUT)
        printf("We lacked patience and got a multiprocessing.TimeoutError\n");
    else if (rc != MPX_OK)
        return fail(pool, rc, "res.get(timeout=1)");

    printf("For the moment, the pool remains available for more work\n");
    return MPX_OK;
}

int main(void)
{
    mpx_pool_opts opts;
    mpx_pool_opts_init(&opts);
    opts.processes = 4; /* start 4 worker processes */
    opts.functions = FUNCTIONS;
    opts.nfunctions = sizeof FUNCTIONS / sizeof FUNCTIONS[0];
    mpx_pool *pool;
    int rc = mpx_pool_start(&opts, &pool);
    if (rc != MPX_OK) {
        fail(pool, rc, "Pool(processes=4)");
        mpx_pool_free(pool);
        return 1;
    }
    rc = run(pool);
    fflush(stdout);
    mpx_pool_free(pool); /* exiting the 'with' block stops the pool */
    if (rc != MPX_OK)
        return 1;
    printf("Now the pool has been terminated\n");
    return 0;
}
