/* pool_internal.h - what the submitting side (pool.c) and the workers (worker.c) share.
 *
 * A task travels as (function name, args tuple), or, for a chunk of a map, as (function
 * name, items, star) with items a list [item, ...] or that list packed (pool_pack):
 * fn(*item) for each item when star, fn(item) otherwise. A result comes back through the
 * TaskPool as (task id, status, value): for one call, value is the function's result
 * (status MPX_OK) or its error message (status its MPX_E* code); for a chunk, value is the
 * list of the results (status MPX_OK: all succeeded) or a list of (status, value) pairs,
 * one per item (status POOL_STATUS_MIXED), either packed or not. A negative status for a
 * chunk failed it as a whole (the TaskPool's RuntimeError: its worker kept dying).
 */
#ifndef MPX_POOL_INTERNAL_H
#define MPX_POOL_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "mpx/pool.h"
#include "mpx/proxy.h"

#define POOL_TYPE "TaskPool"

/* The status of a chunk's result when some of its items failed (never an MPX_E* code). */
#define POOL_STATUS_MIXED 1

/* How many times a task of one call is handed out before it fails (the TaskPool's tries):
 * a worker that dies running it may have been killed, or lost its host; one that dies on
 * it three times was killed by it. A chunk gets one try: lost once, its items are sent
 * again one by one, so that only the items that kill their worker fail. */
#define POOL_TASK_TRIES 3

/* How a worker process ends: its exit status. */
enum {
    WORKER_DRAINED = 0,  /* the pool closed and every task is done */
    WORKER_FAILED = 1,   /* lost its connection, or the initializer failed */
    WORKER_RECYCLE = 3,  /* reached maxtasksperchild: start another in its place */
};

/* What a worker process tells the process that forked it, in memory they share
 * (pool_slots_new, one per place): busy while it runs a task. A worker that ends while busy
 * was ended by its task (a crash, an exit in the function, a kill), whatever its status. */
typedef struct pool_slot {
    atomic_int busy;
} pool_slot;

/* n slots shared with the children forked after it (all zero), or NULL when mmap fails. */
pool_slot *pool_slots_new(size_t n);
void pool_slots_free(pool_slot *slots, size_t n);

/* Takes and runs tasks of the pool until it is drained (or maxtasks are done, 0: no
 * limit); returns the WORKER_* status. Runs initializer first when not NULL. slot (may be
 * NULL) says when it is busy. */
int pool_worker_run(mpx_client *c, mpx_proxy *tasks, const mpx_pool_function *functions,
                    size_t nfunctions, int (*initializer)(void *arg), void *initarg,
                    long maxtasks, pool_slot *slot);

/* Whether a worker process that ended with status (from waitpid) is replaced: one that
 * left after maxtasksperchild; one that ended while busy (its task ended it: each such
 * death costs that task one of its tries, so the TaskPool bounds them); one that died of
 * a signal between tasks, at most *restarts_left times. One that drained, or failed
 * between tasks (its connection, its initializer), is not: another would fail the same
 * way. */
bool pool_worker_replace(int status, bool busy, int *restarts_left);
/* Deaths by signal between tasks a pool replaces, per worker process it runs. */
#define POOL_RESTARTS_PER_PROCESS 10

/* A list of plain data (no reference, not nested too deeply) as one bytes value (chunk.c
 * says the format): MPX_OK, or MPX_EVALUE when it is not plain (send it as it is), or
 * MPX_ENOMEM. unpack makes the list again from such bytes (MPX_ETYPE for another kind,
 * MPX_EPROTO for bytes that are not one). The caller owns *out. */
int pool_pack(const mpx_value *v, mpx_value *out);
/* The same for the list of items[from], ..., items[to - 1] (items a list or tuple),
 * without copying them. */
int pool_pack_range(const mpx_value *items, size_t from, size_t to, mpx_value *out);
int pool_unpack(const mpx_value *packed, mpx_value *out);

/* The number of cores, for the default number of workers. */
int pool_default_processes(void);

#endif
