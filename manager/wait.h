/* wait.h - the one parking mechanism for calls that must wait (Redis's blocked.c).
 *
 * Types signal, they do not serve. A handler that cannot answer yet parks its call
 * (call_park) in one of the object's FIFO wait lists and returns MPX_PARKED: the call's
 * handler, arguments and id are kept, the session sends no reply and keeps serving other
 * calls. When the object's state changes in a way that may let parked calls through, the
 * type calls wait_signal on the list; at one point of the loop (wait_run_signalled, before
 * the loop polls again) wait.c re-runs the parked calls' handlers in FIFO order with their
 * saved arguments. A handler that must still wait parks again and keeps its place and its
 * timer; any other outcome is replied here, deliveries (undelivered_fn) and a gone session
 * included, so a new blocking type is only "answer now or park". Broadcasts (Event.set, a
 * Barrier round, Condition.notify) answer or move waiters themselves (waiter_reply,
 * waiter_requeue). A call is also answered by its timer (on_timeout; default Timeout), or
 * dropped without a reply when its session ends (on_drop).
 * Invariant: a waiter is in exactly one wait list and in its session's list of parked
 * calls from call_park until it is answered or dropped, and then freed.
 *
 * A blocking method, the whole template (type_semaphore.c's acquire):
 *
 *     static int thing_take(call *c)
 *     {
 *         thing_state *st = c->obj->state;
 *         ...read the arguments (again on every re-run; they are saved)...
 *         if (st->free > 0 && call_first_in_line(c, &st->waiters)) {
 *             st->free--;                 answer now: reply, or the delivery of an item
 *             return MPX_OK;
 *         }
 *         if (no time to wait)
 *             return call_fail(c, MPX_ETIMEOUT, "timed out");
 *         return call_park(c, &st->waiters, NULL, NULL);    or park
 *     }
 *
 * and whatever frees a unit calls wait_signal(&st->waiters); the row says
 * {"take", thing_take, 0, 2, METHOD_MAY_WAIT}; destroy calls wait_list_close.
 */
#ifndef MPX_MANAGER_WAIT_H
#define MPX_MANAGER_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "object.h"

#define MPX_PARKED 1 /* a handler's result: the call waits, no reply now */

typedef struct waiter waiter;

typedef struct wait_list {
    list waiters;           /* waiter.link, oldest first */
    struct mpx_server *srv; /* set by the first park: where signalled lists are queued */
    list_node ready;        /* in srv's signalled lists while signalled is set */
    bool signalled;
    /* Every waiter for itself (a TaskPool's collectors each want their own results): a
     * signal re-runs every parked call, not only the oldest ones until one stays. */
    bool each;
} wait_list;

typedef struct wait_ops {
    /* The call's timeout expired; the waiter is still parked. NULL: reply MPX_ETIMEOUT. */
    void (*on_timeout)(waiter *w);
    /* The caller's session ended while parked. The waiter is already out of its wait list
     * (w->list is NULL) and is freed after this; it cannot be answered. */
    void (*on_drop)(waiter *w);
} wait_ops;

struct waiter {
    list_node link;       /* in list->waiters */
    list_node session_link; /* in its session's parked calls */
    wait_list *list;
    struct session *sess;
    uint64_t call_id;
    object *obj;          /* the object whose handler fn re-runs */
    method_fn fn;
    mpx_value *args;      /* the saved arguments (owned), nargs of them */
    size_t nargs;
    const wait_ops *ops;
    void *timer;          /* a uv_timer_t while a timeout runs */
    int64_t n;            /* for the type: a count, a generation, ... */
    mpx_value arg;        /* for the type: a value the call carried (owned) */
};

/* Parks c in wl with c's timeout (none when !c->has_timeout) and its arguments (moved out
 * of c->args). A call being re-run (c->parked) keeps its waiter, place and timer; it only
 * changes lists when wl is another one. *out (may be NULL) is the waiter, for the type to
 * fill n/arg. Returns MPX_PARKED, or an error for the reply. */
int call_park(call *c, wait_list *wl, const wait_ops *ops, waiter **out);

/* Whether c may go ahead of wl's parked calls: nobody waits in wl, or c is the oldest
 * parked call there being re-run. FIFO types grant only to such a call. */
bool call_first_in_line(const call *c, const wait_list *wl);

/* The oldest parked call of wl, or NULL; how many are parked there. */
waiter *wait_list_first(const wait_list *wl);
size_t wait_list_len(const wait_list *wl);

/* Asks for wl's parked calls to be re-run at the loop's next safe point (idempotent). */
void wait_signal(wait_list *wl);

/* Re-runs the calls of every signalled list, until no list is signalled (server.c). */
void wait_run_signalled(struct mpx_server *s);

/* Answers the parked call and frees the waiter (for broadcasts and timeouts). Returns
 * MPX_ECLOSED when the session is closing: nothing was sent. */
int waiter_reply(waiter *w, int rc, const char *msg, const mpx_value *result);

/* Moves a parked waiter to the tail of another list, where fn on obj re-runs it when that
 * list is signalled (a notified Condition waiter goes back for its lock). */
void waiter_requeue(waiter *w, wait_list *to, object *obj, method_fn fn);
/* Stops a waiter's timer: it then waits without a deadline. */
void waiter_stop_timer(waiter *w);

/* Answers every waiter of wl with the same error and takes wl out of the signalled lists;
 * for a type's destroy (the object is going away). */
void wait_list_close(wait_list *wl, int rc, const char *msg);

/* Called by session.c when a session ends: drops its waiters (on_drop, no reply). */
void waiters_drop_session(list *session_waiters);

#endif
