/* wait.h - the one parking mechanism for calls that must wait (Redis's blocked.c).
 *
 * A handler that cannot answer yet parks its call in the object's FIFO wait list and
 * returns MPX_PARKED; the session sends no reply, and keeps serving other calls. The
 * call is answered later by waiter_reply (woken by another call), by its own timer
 * (on_timeout, default: MPX_ETIMEOUT), or dropped when its session ends (on_drop, no
 * reply). Types never run timers of their own. Invariant: a waiter is in exactly one
 * wait list and in its session's list until it is answered or dropped, then freed.
 */
#ifndef MPX_MANAGER_WAIT_H
#define MPX_MANAGER_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "object.h"

#define MPX_PARKED 1 /* a handler's result: the call waits, no reply now */

typedef struct waiter waiter;

typedef struct wait_list {
    waiter *head;
    waiter *tail;
    size_t len;
} wait_list;

typedef struct wait_ops {
    /* The call's timeout expired; the waiter is still parked. NULL: reply MPX_ETIMEOUT. */
    void (*on_timeout)(waiter *w);
    /* The caller's session ended while parked. The waiter is already out of its wait list
     * (w->list is NULL) and is freed after this; it cannot be answered. */
    void (*on_drop)(waiter *w);
} wait_ops;

struct waiter {
    wait_list *list;      /* the object's list it waits in */
    waiter *prev;
    waiter *next;
    waiter *sprev;        /* its session's list */
    waiter *snext;
    struct session *sess;
    uint64_t call_id;
    object *obj;
    const wait_ops *ops;
    void *timer;          /* a uv_timer_t while a timeout runs */
    int64_t n;            /* for the type: a count, a generation, ... */
    mpx_value arg;        /* for the type: a value the call carried (owned) */
};

/* Parks c in wl with c's timeout (none when !c->has_timeout). *out (may be NULL) is the
 * waiter, for the type to fill n/arg. Returns MPX_PARKED, or an error for the reply. */
int call_park(call *c, wait_list *wl, const wait_ops *ops, waiter **out);

/* Answers the parked call and frees the waiter. Returns MPX_ECLOSED when the session has
 * ended meanwhile (nothing was sent: the type may take back what it handed out). */
int waiter_reply(waiter *w, int rc, const char *msg, const mpx_value *result);

/* Answers the parked call with a result that must not be lost (see undelivered_fn) and
 * frees the waiter. MPX_OK when result was taken; otherwise (the session has ended, or no
 * memory) result is left to the type to put back. */
int waiter_deliver(waiter *w, undelivered_fn fn, mpx_value *result);

/* Moves a parked waiter to the tail of another list (its timer keeps running). */
void waiter_move(waiter *w, wait_list *to);
/* Stops a waiter's timer: it then waits without a deadline. */
void waiter_stop_timer(waiter *w);

/* Answers every waiter of wl with the same error (a broken barrier, a freed object). */
void wait_list_fail_all(wait_list *wl, int rc, const char *msg);

/* Called by session.c when a session ends: drops its waiters (on_drop, no reply). */
void waiters_drop_session(struct session *sess, waiter **session_list);

#endif
