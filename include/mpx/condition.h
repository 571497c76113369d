/* mpx/condition.h - a Condition held by a manager: wait for a state under a lock.
 *
 * wait releases the lock, waits to be notified (or for the timeout), and returns only
 * once this session holds the lock again, as threading.Condition does. The lock is a
 * Lock or RLock given at creation, or the Condition's own RLock.
 */
#ifndef MPX_CONDITION_H
#define MPX_CONDITION_H

#include <stdbool.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/proxy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_condition mpx_condition;

/* The condition registered under name, created on first use over lock (the proxy of a
 * Lock or RLock on the same manager, e.g. mpx_lock_proxy(l); NULL: its own RLock). */
int mpx_condition_open(mpx_client *c, const char *name, mpx_proxy *lock,
                       mpx_condition **out);
/* A new anonymous condition over lock, as open makes; it lives while some proxy holds it. */
int mpx_condition_create(mpx_client *c, mpx_proxy *lock, mpx_condition **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_condition, mpx_condition);

/* The lock's acquire and release (see mpx/lock.h). */
int mpx_condition_acquire(mpx_condition *cv, double timeout, uint64_t *fence);
int mpx_condition_release(mpx_condition *cv);
/* Waits to be notified: *notified is false when timeout (seconds; < 0 waits as needed)
 * ran out first. Either way the lock is held again. MPX_ERUNTIME without the lock. */
int mpx_condition_wait(mpx_condition *cv, double timeout, bool *notified);
/* Loops over wait until pred(arg) holds, for at most timeout seconds (< 0: no limit), as
 * Condition.wait_for; *result is the predicate's last value. Call with the lock held. */
int mpx_condition_wait_for(mpx_condition *cv, bool (*pred)(void *arg), void *arg,
                           double timeout, bool *result);
int mpx_condition_notify(mpx_condition *cv, int64_t n);
int mpx_condition_notify_all(mpx_condition *cv);

#ifdef __cplusplus
}
#endif
#endif
