/* sync.h - what the synchronization types share. Reading Python's (blocking, timeout)
 * arguments into the call's own timeout is public (mpx_call_acquire_args in mpx/type.h),
 * so that every type parks through wait.c the same way; the lock API below is what
 * Condition uses of Lock and RLock.
 */
#ifndef MPX_MANAGER_SYNC_H
#define MPX_MANAGER_SYNC_H

#include <stdbool.h>

#include "object.h"
#include "wait.h"

/* ---- type_lock.c, for type_condition.c ---- */
extern const mpx_type type_lock;
extern const mpx_type type_rlock;
extern const mpx_type type_condition;
/* Whether the session owns the lock (a Lock: is held by it). */
bool lock_owned_by(const mpx_object *lock, uint64_t session_id);
/* Releases the session's hold entirely (all RLock levels) and returns the level count it
 * had, to hand back on re-acquire; wakes the next waiter. */
uint32_t lock_release_all(mpx_object *lock, uint64_t session_id);
/* Sends a parked waiter (of any object's list: a Condition's) back for the lock: it
 * joins the lock's queue, and once it holds the lock again at the given RLock level it is
 * answered with w->arg (moved). Its timer stops. */
void lock_regain(mpx_object *lock, mpx_waiter *w, uint32_t levels);
/* A Condition's private lock is in no table: its holders' sessions watch the Condition,
 * whose session_ended passes the news on to the lock. */
void lock_set_watched(mpx_object *lock, mpx_object *watched);
/* The lock's own acquire / release / locked, run on lock for a Condition's call. */
int lock_call_acquire(mpx_call *c, mpx_object *lock);
int lock_call_release(mpx_call *c, mpx_object *lock);
int lock_call_locked(mpx_call *c, mpx_object *lock);

/* ---- type_semaphore.c, type_event.c, type_barrier.c ---- */
extern const mpx_type type_semaphore;
extern const mpx_type type_bounded_semaphore;
extern const mpx_type type_event;
extern const mpx_type type_barrier;

/* ---- type_queue.c ---- */
extern const mpx_type type_queue;
extern const mpx_type type_joinable_queue;

/* ---- type_pool.c ---- */
extern const mpx_type type_task_pool;
extern const mpx_type type_iterator; /* type_iterator.c: dict.__iter__ for Python */

#endif
