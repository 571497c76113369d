/* mpx/lock.h - proxies to a Lock and an RLock held by a manager (threading's locks).
 *
 * A hold belongs to this client's session: if the process dies, or its host vanishes, the
 * manager releases the lock and grants it to the next waiter. Every grant comes with a
 * fencing token, a number that grows with every grant on the manager: a resource that
 * remembers the largest token it has seen can refuse a writer whose lock was taken over
 * after it stalled or died. Functions return MPX_OK or a negative MPX_E* code; the
 * manager's message is on the client (mpx_client_errmsg).
 */
#ifndef MPX_LOCK_H
#define MPX_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/proxy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_lock mpx_lock;   /* "Lock": any session may release a held lock */
typedef struct mpx_rlock mpx_rlock; /* "RLock": re-entrant, released by its owner only */

/* Each constructor leaves *out a proxy holding one reference (NULL on failure); close it
 * before the client. open finds the lock registered under name or creates it. */
int mpx_lock_open(mpx_client *c, const char *name, mpx_lock **out);
int mpx_lock_create(mpx_client *c, mpx_lock **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_lock, mpx_lock);

/* Takes the lock. timeout < 0 waits as long as it takes, 0 does not wait, > 0 waits that
 * many seconds; MPX_ETIMEOUT when the lock was not taken. *fence (may be NULL) gets the
 * fencing token of this grant. */
int mpx_lock_acquire(mpx_lock *l, double timeout, uint64_t *fence);
/* As mpx_lock_acquire, with a lease: lease seconds (> 0) after the grant, the manager
 * ends it as if released, so a holder that stops (SIGSTOP, a hung process) cannot keep
 * it; the next waiter gets it with a larger *fence. A resource that remembers the largest
 * token it has seen then refuses the late holder's writes. That holder's next release
 * fails with MPX_ENOTOWNER ("the lease ... expired") and releases nothing. */
int mpx_lock_acquire_lease(mpx_lock *l, double timeout, double lease, uint64_t *fence);
/* Releases it; MPX_ERUNTIME when it is not held. */
int mpx_lock_release(mpx_lock *l);
int mpx_lock_locked(mpx_lock *l, bool *out);

int mpx_rlock_open(mpx_client *c, const char *name, mpx_rlock **out);
int mpx_rlock_create(mpx_client *c, mpx_rlock **out);
MPX_PROXY_HANDLE_API(mpx_rlock, mpx_rlock);
/* As mpx_lock_acquire; the owner may acquire again (the token stays the same). */
int mpx_rlock_acquire(mpx_rlock *l, double timeout, uint64_t *fence);
/* As mpx_lock_acquire_lease; a re-entrant acquire by the owner keeps the first lease. */
int mpx_rlock_acquire_lease(mpx_rlock *l, double timeout, double lease, uint64_t *fence);
/* Gives back one level; MPX_ENOTOWNER when this session does not own it. */
int mpx_rlock_release(mpx_rlock *l);
int mpx_rlock_locked(mpx_rlock *l, bool *out);

#ifdef __cplusplus
}
#endif
#endif
