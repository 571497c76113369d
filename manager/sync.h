/* sync.h - what the synchronization types share: reading Python's (blocking, timeout)
 * arguments into the call's own timeout, so that every type parks through wait.c the
 * same way. The lock API below is what Condition uses of Lock and RLock.
 */
#ifndef MPX_MANAGER_SYNC_H
#define MPX_MANAGER_SYNC_H

#include <stdbool.h>

#include "object.h"
#include "wait.h"

/* acquire([blocking=True[, timeout=-1]]) from c->args[first..]: sets *blocking, and
 * c->has_timeout/c->timeout from the timeout argument (-1: none). Errors as Python's. */
int sync_acquire_args(call *c, size_t first, bool *blocking);
/* An optional timeout argument at c->args[i] (absent or None: none; else a number >= 0)
 * into c->has_timeout/c->timeout. */
int sync_timeout_arg(call *c, size_t i);
/* A number argument (int, float or bool) as a double; TypeError otherwise. */
int sync_number_arg(call *c, size_t i, const char *what, double *out);
/* The caller's session id, whose holds these are; unit tests call without a session and
 * all act as one caller (UINT64_MAX). */
uint64_t sync_caller_id(const call *c);

/* ---- type_lock.c, for type_condition.c ---- */
extern const object_type type_lock;
extern const object_type type_rlock;
extern const object_type type_condition;
/* Whether the session owns the lock (a Lock: is held by it). */
bool lock_owned_by(const object *lock, uint64_t session_id);
/* Releases the session's hold entirely (all RLock levels) and returns the level count it
 * had, to hand back on re-acquire; wakes the next waiter. */
uint32_t lock_release_all(object *lock, uint64_t session_id);
/* Sends a parked waiter (of any object's list: a Condition's) back for the lock: it
 * joins the lock's queue, and once it holds the lock again at the given RLock level it is
 * answered with w->arg (moved). Its timer stops. */
void lock_regain(object *lock, waiter *w, uint32_t levels);
/* A Condition's private lock is in no table: its holders' sessions watch the Condition,
 * whose session_ended passes the news on to the lock. */
void lock_set_watched(object *lock, object *watched);
/* The lock's own acquire / release / locked, run on lock for a Condition's call. */
int lock_call_acquire(call *c, object *lock);
int lock_call_release(call *c, object *lock);
int lock_call_locked(call *c, object *lock);

/* ---- type_semaphore.c, type_event.c, type_barrier.c ---- */
extern const object_type type_semaphore;
extern const object_type type_bounded_semaphore;
extern const object_type type_event;
extern const object_type type_barrier;

/* ---- type_queue.c ---- */
extern const object_type type_queue;
extern const object_type type_joinable_queue;

/* ---- type_pool.c ---- */
extern const object_type type_task_pool;
extern const object_type type_iterator; /* type_iterator.c: dict.__iter__ for Python */

#endif
