/* wait.h - the one parking mechanism for calls that must wait (Redis's blocked.c): its
 * public half is in mpx/type.h (mpx_call_park, mpx_wait_signal...), this is the server's.
 *
 * Types signal, they do not serve. A handler that cannot answer yet parks its call
 * (mpx_call_park) in one of the object's FIFO wait lists and returns MPX_PARKED: the call's
 * handler, arguments and id are kept, the session sends no reply and keeps serving other
 * calls. When the object's state changes in a way that may let parked calls through, the
 * type calls mpx_wait_signal on the list; at one point of the loop (wait_run_signalled, before
 * the loop polls again) wait.c re-runs the parked calls' handlers in FIFO order with their
 * saved arguments. A handler that must still wait parks again and keeps its place and its
 * timer; any other outcome is replied here, deliveries (mpx_undelivered_fn) and a gone session
 * included, so a new blocking type is only "answer now or park". Broadcasts (Event.set, a
 * Barrier round, Condition.notify) answer or move waiters themselves (mpx_waiter_reply,
 * mpx_waiter_requeue). A call is also answered by its timer (on_timeout; default Timeout), or
 * dropped without a reply when its session ends (on_drop).
 * Invariant: a waiter is in exactly one wait list and in its session's list of parked
 * calls from mpx_call_park until it is answered or dropped, and then freed.
 *
 * A blocking method, the whole template (type_semaphore.c's acquire):
 *
 *     static int thing_take(mpx_call *c)
 *     {
 *         thing_state *st = c->obj->state;
 *         ...read the arguments (again on every re-run; they are saved)...
 *         if (st->free > 0 && mpx_call_first_in_line(c, &st->waiters)) {
 *             st->free--;                 answer now: reply, or the delivery of an item
 *             return MPX_OK;
 *         }
 *         if (no time to wait)
 *             return mpx_call_fail(c, MPX_ETIMEOUT, "timed out");
 *         return mpx_call_park(c, &st->waiters, NULL, NULL);    or park
 *     }
 *
 * and whatever frees a unit calls mpx_wait_signal(&st->waiters); the row says
 * {"take", thing_take, 0, 2, MPX_METHOD_MAY_WAIT}; destroy calls mpx_wait_list_close.
 */
#ifndef MPX_MANAGER_WAIT_H
#define MPX_MANAGER_WAIT_H

#include "list.h"
#include "object.h"

/* Re-runs the calls of every signalled list, until no list is signalled (server.c). */
void wait_run_signalled(struct mpx_server *s);

/* Called by session.c when a session ends: drops its waiters (on_drop, no reply). */
void waiters_drop_session(list *session_waiters);

#endif
