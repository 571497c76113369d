/* mpx/pool.h - a process pool with the shape of Python's multiprocessing.Pool, for C.
 *
 * Functions are named: every worker program registers its C functions under names, and a
 * task names the function and carries its arguments (a tuple) and its result as
 * mpx_values. The same submitting code runs two ways:
 *   - local: mpx_pool_start forks N workers on this host around a private manager;
 *   - distributed: mpx_pool_connect uses a TaskPool on a running mpx-manager, and worker
 *     programs started on any hosts (mpx_pool_worker_main: --connect ADDR --authkey-file
 *     PATH --pool NAME --processes N) take its tasks; workers may join or leave mid-job.
 * Delivery is at-least-once: a task taken by a worker whose connection ends before it
 * returns a result (it crashed, was killed, its host vanished) goes back to the queue and
 * runs again elsewhere, so functions should be safe to run twice. A function that fails
 * returns its error to get/map; it is not retried.
 *
 * Crashes are bounded: a task whose worker ends before finishing it is handed out at most
 * 3 times in all; then it fails with MPX_ERUNTIME and a message that names it ("task 7:
 * the worker running crash(13) ended before it finished, 3 times (crashed, killed or
 * disconnected)"), while every other task runs and every result that arrived is kept. A
 * chunk (see chunksize) whose worker ends is sent again item by item, each with its own 3
 * tries, so only the items that end their worker fail. A worker process that a task ended
 * is replaced, local or in a worker program; one that fails between tasks (its
 * connection, its initializer) is not, and one killed between tasks is, at most 10 times
 * per process.
 *
 * The pool is driven by the thread that calls it: results are collected, and callbacks
 * run, inside the pool's calls that wait (map, starmap, apply, get, wait, ready, item,
 * next, join), in that thread, never from another thread or a signal. A result's callback
 * therefore runs when some later pool call collects it: call mpx_pool_result_wait,
 * mpx_pool_join or any waiting call to have it run. One thread at a time per pool; a
 * callback may call the pool's functions and free its own handle, but not free the pool,
 * nor a handle that the waiting call was given.
 */
#ifndef MPX_POOL_H
#define MPX_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A task function. c is the worker's connection to the pool's manager, for tasks that
 * work on shared objects there (open them by name or token). args is the task's tuple of
 * arguments (borrowed). On success it sets *result (the pool takes it) and returns
 * MPX_OK; otherwise it returns an MPX_E* code and may write a message into err (errlen
 * bytes): the task fails with them. */
typedef int (*mpx_pool_fn)(mpx_client *c, const mpx_value *args, mpx_value *result,
                           char *err, size_t errlen);

typedef struct mpx_pool_function {
    const char *name;
    mpx_pool_fn fn;
} mpx_pool_function;

typedef struct mpx_pool_opts {
    int processes;                      /* local workers (0: the number of cores) */
    const mpx_pool_function *functions; /* what the local workers run */
    size_t nfunctions;
    /* Run once in each worker before its first task; non-zero makes the worker leave. */
    int (*initializer)(void *arg);
    void *initarg;
    long maxtasksperchild; /* a local worker leaves after this many tasks (a chunk is one,
                              as in Python) and is replaced; 0: never */
    bool progress;         /* done/total, rate and time left on stderr while a map runs,
                              when stderr is a terminal */
} mpx_pool_opts;

void mpx_pool_opts_init(mpx_pool_opts *opts);

typedef struct mpx_pool mpx_pool;
typedef struct mpx_pool_result mpx_pool_result;
typedef struct mpx_pool_iter mpx_pool_iter;

/* ---- making a pool -----------------------------------------------------------------------
 * On failure *out is still a pool, a failed one that holds nothing: mpx_pool_errmsg says
 * why, every other call answers the same error, and mpx_pool_free frees it. (*out is NULL
 * only when memory ran out.) */

/* Local: a private manager and opts->processes forked workers running opts->functions. */
int mpx_pool_start(const mpx_pool_opts *opts, mpx_pool **out);
/* Distributed: the TaskPool registered as name on c's manager (made on first use). c is
 * used by the pool from now on and must outlive it. opts may be NULL (only progress is
 * read). */
int mpx_pool_connect(mpx_client *c, const char *name, const mpx_pool_opts *opts,
                     mpx_pool **out);

/* The pool's connection to its manager (local: the private one), for making the shared
 * objects its tasks use. Owned by the pool. */
mpx_client *mpx_pool_client(mpx_pool *p);

/* The message of the pool's last failure (a failed task's own message). */
const char *mpx_pool_errmsg(const mpx_pool *p);

/* ---- options of the maps -------------------------------------------------------------------
 * chunksize: items per task. A chunk travels to a worker as one task and its results come
 * back as one (a round trip for many small items); results keep the items' order all the
 * same (map, imap), and each item still succeeds or fails on its own. 0 is the default:
 * for map, starmap and their _async forms Python's rule, len / (4 x workers) rounded up
 * (workers: a local pool's processes; a distributed pool's workers when the map starts, at
 * least 1); for imap and imap_unordered 1.
 * timeout: seconds the blocking map_ex and starmap_ex wait at most (0 or negative: as
 * long as it takes). On MPX_ETIMEOUT the map's tasks that no worker took yet are dropped,
 * those running finish and their results are dropped, and the pool goes on. The async
 * forms and the iterators do not read it: their get, wait and next take their own timeout.
 * Zero options, like NULL, are the defaults. */
typedef struct mpx_pool_map_opts {
    size_t chunksize;
    double timeout;
} mpx_pool_map_opts;

/* Zero: chunksize 0 (the default), timeout 0 (none). */
void mpx_pool_map_opts_init(mpx_pool_map_opts *opts);

/* ---- blocking calls -----------------------------------------------------------------------
 * items is a list or tuple. map calls fn(item) for each item, starmap fn(*item) (each item
 * a tuple of arguments); *results is a list in the items' order. If any task fails, the
 * first failing one's code (by index) is returned, with its message, after all have
 * finished, and *results is None; to keep the results of the others, use map_async and
 * mpx_pool_result_item, or imap. map and starmap are map_ex and starmap_ex with the
 * default options. */
int mpx_pool_map(mpx_pool *p, const char *fn, const mpx_value *items, mpx_value *results);
int mpx_pool_starmap(mpx_pool *p, const char *fn, const mpx_value *items,
                     mpx_value *results);
int mpx_pool_map_ex(mpx_pool *p, const char *fn, const mpx_value *items,
                    const mpx_pool_map_opts *opts, mpx_value *results);
int mpx_pool_starmap_ex(mpx_pool *p, const char *fn, const mpx_value *items,
                        const mpx_pool_map_opts *opts, mpx_value *results);
/* fn(*args), args a tuple (NULL: no arguments). */
int mpx_pool_apply(mpx_pool *p, const char *fn, const mpx_value *args, mpx_value *result);
/* The same, waiting at most timeout seconds (negative: as needed): on MPX_ETIMEOUT the
 * task is dropped if no worker took it yet, or its result is dropped when it comes. */
int mpx_pool_apply_timeout(mpx_pool *p, const char *fn, const mpx_value *args, double timeout,
                           mpx_value *result);

/* ---- asynchronous results ----------------------------------------------------------------
 * As Python's: callback(result, data) runs once, when every task of the result has
 * succeeded (result borrowed for the call: apply_async's value, or map_async's list in
 * the items' order), error_callback(code, message, data) once, when every task has
 * finished and some failed (the first failed by index); either may be NULL. They run in
 * the caller's thread, inside whichever pool call collects the last result (see the top
 * of this file); an empty map_async is ready at once and its callback runs, with [],
 * before map_async returns (Python never calls it for an empty map). After terminate, a
 * result still pending never becomes ready and its callbacks never run (get and wait
 * answer MPX_ECLOSED). */
typedef void (*mpx_pool_callback)(const mpx_value *result, void *data);
typedef void (*mpx_pool_error_callback)(int code, const char *message, void *data);

int mpx_pool_apply_async(mpx_pool *p, const char *fn, const mpx_value *args,
                         mpx_pool_callback callback, mpx_pool_error_callback error_callback,
                         void *data, mpx_pool_result **out);
/* map and starmap whose result is a handle: get gives the list. opts as for map_ex
 * (its timeout is not read). */
int mpx_pool_map_async(mpx_pool *p, const char *fn, const mpx_value *items,
                       const mpx_pool_map_opts *opts, mpx_pool_callback callback,
                       mpx_pool_error_callback error_callback, void *data,
                       mpx_pool_result **out);
int mpx_pool_starmap_async(mpx_pool *p, const char *fn, const mpx_value *items,
                           const mpx_pool_map_opts *opts, mpx_pool_callback callback,
                           mpx_pool_error_callback error_callback, void *data,
                           mpx_pool_result **out);
/* Waits at most timeout seconds (negative: as needed): MPX_OK with a copy of the result
 * in *out (a map's: the list), the error of the (first) failed task, or MPX_ETIMEOUT (the
 * result stays pending). */
int mpx_pool_result_get(mpx_pool_result *r, double timeout, mpx_value *out);
int mpx_pool_result_wait(mpx_pool_result *r, double timeout);
bool mpx_pool_result_ready(mpx_pool_result *r);
/* Whether it succeeded; MPX_EINVAL (Python's ValueError) when it is not ready yet. */
int mpx_pool_result_successful(mpx_pool_result *r, bool *out);
/* One task's outcome: item index of a map_async (0 for apply_async), waiting for it at
 * most timeout seconds: MPX_OK with a copy of its result in *out, its own error (message
 * in mpx_pool_errmsg), MPX_ETIMEOUT while it is not done, MPX_EINDEX past the end. The
 * results that arrived stay readable when other tasks failed, or when get timed out. */
int mpx_pool_result_item(mpx_pool_result *r, size_t index, double timeout, mpx_value *out);
/* Frees the handle (a pending task still runs; its callbacks still run). NULL is fine. */
void mpx_pool_result_free(mpx_pool_result *r);

/* ---- iterators ---------------------------------------------------------------------------
 * imap yields fn(item) in the items' order, imap_unordered as they finish (a chunk's
 * items together, in their order). next returns MPX_OK with *out (the value, owned by the
 * caller) and *done false, or *done true at the end; a failed task's error is returned by
 * the next that reaches it, and the next after it goes on (Python's imap stops there when
 * chunks are used). Waiting longer than timeout is MPX_ETIMEOUT; the iterator goes on. The
 * _ex forms take opts (chunksize; default 1). */
int mpx_pool_imap(mpx_pool *p, const char *fn, const mpx_value *items, mpx_pool_iter **out);
int mpx_pool_imap_unordered(mpx_pool *p, const char *fn, const mpx_value *items,
                            mpx_pool_iter **out);
int mpx_pool_imap_ex(mpx_pool *p, const char *fn, const mpx_value *items,
                     const mpx_pool_map_opts *opts, mpx_pool_iter **out);
int mpx_pool_imap_unordered_ex(mpx_pool *p, const char *fn, const mpx_value *items,
                               const mpx_pool_map_opts *opts, mpx_pool_iter **out);
int mpx_pool_iter_next(mpx_pool_iter *it, double timeout, mpx_value *out, bool *done);
void mpx_pool_iter_free(mpx_pool_iter *it);

/* ---- ending ------------------------------------------------------------------------------ */

/* No more tasks; workers leave once every task is done. Calls that submit then fail with
 * MPX_EVALUE ("Pool not running"). */
int mpx_pool_close(mpx_pool *p);
/* Drops the tasks not yet taken and stops the local workers at once. */
int mpx_pool_terminate(mpx_pool *p);
/* After close or terminate: waits until every task is done (running callbacks) and, for a
 * local pool, every worker has exited. MPX_EVALUE while the pool is still running. */
int mpx_pool_join(mpx_pool *p);
/* Frees the pool: a local pool is terminated first. NULL is fine. Result handles and
 * iterators may outlive it: the results they had stay readable, the others answer
 * MPX_ECLOSED; free them as usual. */
void mpx_pool_free(mpx_pool *p);

/* ---- distributed workers ------------------------------------------------------------------
 * The main of a worker program: parses --connect ADDR [--authkey-file PATH] --pool NAME
 * [--processes N] [--maxtasksperchild K], forks N workers (default: the number of cores)
 * that take tasks of the pool NAME until it is closed and drained, replacing those that
 * leave after K tasks and those a task ended (see the top of this file). The key comes
 * from --authkey-file or $MPX_AUTHKEY. Returns the exit status for main: 0 when every
 * worker ended cleanly, 1 on failure (a worker failed, or a task ended one), 2 on bad
 * arguments. */
int mpx_pool_worker_main(int argc, char **argv, const mpx_pool_function *functions,
                         size_t nfunctions, int (*initializer)(void *arg), void *initarg);

#ifdef __cplusplus
}
#endif
#endif
