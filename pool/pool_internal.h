/* pool_internal.h - what the submitting side (pool.c) and the workers (worker.c) share.
 *
 * A task travels as (function name, args tuple); a result comes back through the
 * TaskPool as (task id, status, value), value being the function's result, or its error
 * message when status is an MPX_E* code.
 */
#ifndef MPX_POOL_INTERNAL_H
#define MPX_POOL_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "mpx/pool.h"
#include "mpx/proxy.h"

#define POOL_TYPE "TaskPool"

/* How a worker process ends: its exit status. */
enum {
    WORKER_DRAINED = 0,  /* the pool closed and every task is done */
    WORKER_FAILED = 1,   /* lost its connection, or the initializer failed */
    WORKER_RECYCLE = 3,  /* reached maxtasksperchild: start another in its place */
};

/* Takes and runs tasks of the pool until it is drained (or maxtasks are done, 0: no
 * limit); returns the WORKER_* status. Runs initializer first when not NULL. */
int pool_worker_run(mpx_client *c, mpx_proxy *tasks, const mpx_pool_function *functions,
                    size_t nfunctions, int (*initializer)(void *arg), void *initarg,
                    long maxtasks);

/* Whether a worker process that ended with status (from waitpid) is replaced: one that
 * left after maxtasksperchild, or died of a signal (its tasks went back), the latter at
 * most *restarts_left times. One that drained, or failed (its connection, its
 * initializer), is not: another would fail the same way. */
bool pool_worker_replace(int status, int *restarts_left);
/* Deaths by signal a pool replaces, per worker process it runs. */
#define POOL_RESTARTS_PER_PROCESS 10

/* The number of cores, for the default number of workers. */
int pool_default_processes(void);

#endif
