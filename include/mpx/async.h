/* mpx/async.h - calls from a program that already runs a libuv loop: a callback per reply.
 *
 * An mpx_async is one connection served by the caller's loop. Calls are queued and
 * written together once per loop turn (before the loop next waits for I/O), so many calls
 * made in one callback cost one write; replies are read as they come and each runs its
 * call's callback, matched by call id. It shares the codec and the wire with mpx_client:
 * the same manager serves both. Everything happens on the loop's thread.
 */
#ifndef MPX_ASYNC_H
#define MPX_ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s; /* uv_loop_t: include <uv.h> to make one */

typedef struct mpx_async mpx_async;

/* Runs once per call: status is MPX_OK with *result (owned by the callback: move it out,
 * or leave it, it is freed after) or the call's error with the manager's message; or
 * MPX_ECLOSED / MPX_EIO when the connection ended first (message says why). data is what
 * the call was given. The callback may make more calls, or close a. */
typedef void (*mpx_async_cb)(mpx_async *a, int status, const char *message, mpx_value *result,
                             void *data);

/* Connects and authenticates (this part blocks, at most opts->connect_timeout_ms), then
 * serves the connection on loop. opts may be NULL. On failure *out is still a handle, a
 * failed one: mpx_async_errmsg says why, calls fail, and mpx_async_close frees it (*out
 * is NULL only when memory ran out). */
int mpx_async_connect(struct uv_loop_s *loop, const char *address, const void *authkey,
                      size_t keylen, const mpx_client_opts *opts, mpx_async **out);
/* The last failure (of the connection, or of a call that was refused) and its message,
 * kept on the handle as mpx_client keeps its own. */
int mpx_async_errcode(const mpx_async *a);
const char *mpx_async_errmsg(const mpx_async *a);

/* Queues a call (args are borrowed: encoded now). timeout is the call's own, for methods
 * that wait (negative: none). MPX_OK, or an error and cb will not run (MPX_ECLOSED after
 * the connection ended, MPX_EVALUE for arguments nested too deeply, MPX_ENOMEM). */
int mpx_async_call(mpx_async *a, uint64_t object_id, const char *method,
                   const mpx_value *args, size_t nargs, double timeout, mpx_async_cb cb,
                   void *data);

/* Calls queued or sent whose callback has not run yet. */
size_t mpx_async_pending(const mpx_async *a);

/* Ends the connection: every pending callback runs now with MPX_ECLOSED; the memory is
 * freed once libuv has closed the handle (run the loop). A connection that ended by
 * itself (the manager went away) keeps its mpx_async until this is called, so the
 * pointer never dangles: every mpx_async is released with this, once. NULL is fine. */
void mpx_async_close(mpx_async *a);

#ifdef __cplusplus
}
#endif
#endif
