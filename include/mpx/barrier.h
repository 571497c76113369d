/* mpx/barrier.h - a Barrier held by a manager: parties processes meet, round after round.
 *
 * A wait that times out, an abort, a reset, or the death of a waiting process breaks the
 * barrier: every waiter gets MPX_EBROKEN rather than hanging.
 */
#ifndef MPX_BARRIER_H
#define MPX_BARRIER_H

#include <stdbool.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/proxy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_barrier mpx_barrier;

/* The barrier registered under name, created for parties (>= 1) on first use, with a
 * default wait timeout in seconds (< 0: none). */
int mpx_barrier_open(mpx_client *c, const char *name, int64_t parties, double timeout,
                     mpx_barrier **out);
/* A new anonymous barrier, as open makes; it lives while some proxy holds it. */
int mpx_barrier_create(mpx_client *c, int64_t parties, double timeout, mpx_barrier **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_barrier, mpx_barrier);

/* Waits for the round to fill; *index (may be NULL) gets the arrival order 0..parties-1.
 * timeout < 0 uses the barrier's default. MPX_EBROKEN when the barrier breaks. */
int mpx_barrier_wait(mpx_barrier *b, double timeout, int64_t *index);
int mpx_barrier_abort(mpx_barrier *b);
int mpx_barrier_reset(mpx_barrier *b);
int mpx_barrier_n_waiting(mpx_barrier *b, int64_t *out);
int mpx_barrier_broken(mpx_barrier *b, bool *out);

#ifdef __cplusplus
}
#endif
#endif
