/* type_event.c - Event: threading's flag that calls can wait on.
 *
 * A wait on a set flag is answered at once; otherwise it parks until set() answers every
 * parked wait with True, or its own timeout answers it with False. Invariant: nobody is
 * parked while the flag is set (set() empties the list before it returns). Events hold
 * nothing for a session, so a session that ends only loses its parked calls.
 */
#include <stdlib.h>

#include "sync.h"

typedef struct event_state {
    bool flag;
    mpx_wait_list waiters; /* parked wait() calls */
} event_state;

static event_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

/* Python's Event.wait returns False, not an error, when its timeout expires. */
static void on_wait_timeout(mpx_waiter *w)
{
    mpx_value unset = mpx_value_bool(false);
    mpx_waiter_reply(w, MPX_OK, "", &unset);
}

static const mpx_wait_ops event_wait_ops = {.on_timeout = on_wait_timeout};

/* set(): wakes every waiter; one whose session is gone has nothing to give back. */
static int event_set(mpx_call *c)
{
    event_state *st = state_of(c->obj);
    st->flag = true;
    mpx_value set = mpx_value_bool(true);
    while (mpx_wait_list_first(&st->waiters) != NULL)
        mpx_waiter_reply(mpx_wait_list_first(&st->waiters), MPX_OK, "", &set);
    return MPX_OK;
}

/* clear() */
static int event_clear(mpx_call *c)
{
    state_of(c->obj)->flag = false;
    return MPX_OK;
}

/* is_set() -> bool */
static int event_is_set(mpx_call *c)
{
    c->result = mpx_value_bool(state_of(c->obj)->flag);
    return MPX_OK;
}

/* wait([timeout]) -> True when set, False when the timeout expired */
static int event_wait(mpx_call *c)
{
    event_state *st = state_of(c->obj);
    int rc = mpx_call_timeout_arg(c, 0);
    if (rc != MPX_OK)
        return rc;
    if (st->flag || (c->has_timeout && c->timeout <= 0)) {
        c->result = mpx_value_bool(st->flag);
        return MPX_OK;
    }
    return mpx_call_park(c, &st->waiters, &event_wait_ops, NULL);
}

/* Event() */
static int event_init(mpx_object *obj, mpx_call *c)
{
    event_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    obj->state = st;
    return MPX_OK;
}

static void event_destroy(mpx_object *obj)
{
    event_state *st = state_of(obj);
    if (st == NULL)
        return;
    mpx_wait_list_close(&st->waiters, MPX_ENOOBJECT, "the event was destroyed");
    free(st);
    obj->state = NULL;
}

static const mpx_method event_methods[] = {
    {"set", event_set, 0, 0, 0},
    {"clear", event_clear, 0, 0, 0},
    {"is_set", event_is_set, 0, 0, 0},
    {"wait", event_wait, 0, 1, MPX_METHOD_MAY_WAIT},
};

const mpx_type type_event = {
    .name = "Event",
    .init = event_init,
    .destroy = event_destroy,
    .methods = event_methods,
    .nmethods = sizeof event_methods / sizeof event_methods[0],
};
