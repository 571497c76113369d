/* mpx/semaphore.h - a Semaphore or BoundedSemaphore held by a manager.
 *
 * Units a session acquired and has not released go back when the session ends (its
 * process died, its host vanished), and the next waiter gets them. A plain Semaphore used
 * as a signal (one side acquires, another releases) therefore grows by the units a dead
 * acquirer held; a BoundedSemaphore never rises above its initial value.
 */
#ifndef MPX_SEMAPHORE_H
#define MPX_SEMAPHORE_H

#include <stdbool.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/proxy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_semaphore mpx_semaphore;

/* The semaphore registered under name, created with value (>= 0) on first use; bounded
 * makes a BoundedSemaphore. */
int mpx_semaphore_open(mpx_client *c, const char *name, int64_t value, bool bounded,
                       mpx_semaphore **out);
int mpx_semaphore_create(mpx_client *c, int64_t value, bool bounded, mpx_semaphore **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. attach and from_ref take
 * either kind of semaphore; any other type is MPX_ETYPE. */
MPX_PROXY_HANDLE_API(mpx_semaphore, mpx_semaphore);

/* Takes one unit: timeout < 0 waits as needed, 0 does not wait; MPX_ETIMEOUT if none. */
int mpx_semaphore_acquire(mpx_semaphore *s, double timeout);
/* Gives back n units (n >= 1); a BoundedSemaphore above its initial value: MPX_EVALUE. */
int mpx_semaphore_release(mpx_semaphore *s, int64_t n);
int mpx_semaphore_value(mpx_semaphore *s, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
