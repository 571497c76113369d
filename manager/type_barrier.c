/* type_barrier.c - Barrier: threading's barrier, for parties spread over processes.
 *
 * Arrivals park until `parties` have come; the last one ends the round and every arrival
 * of it is answered with its index (0 for the first). A timeout, abort(), reset(), a
 * failed park or a waiting session that ends breaks the round: all its arrivals get
 * BrokenBarrierError. Each round has a generation, so a party that leaves after its
 * round ended (its session closed) does not break the next one.
 */
#include <stdlib.h>

#include "sync.h"

#define BROKEN_MSG "barrier is broken"

typedef struct barrier_state {
    int64_t parties;
    bool has_timeout;    /* the constructor's default timeout for wait() */
    double timeout;
    bool broken;
    int64_t generation;  /* bumped whenever a round ends: filled, broken or reset */
    mpx_wait_list waiters;   /* this round's arrivals: w->n the index, w->arg the generation */
} barrier_state;

static barrier_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

/* Ends the current round, answering its arrivals with their index (rc MPX_OK) or with
 * rc: a broadcast, answered here rather than re-run. */
static void end_round(mpx_object *obj, int rc)
{
    barrier_state *st = state_of(obj);
    st->generation++;
    mpx_waiter *w;
    while ((w = mpx_wait_list_first(&st->waiters)) != NULL) {
        mpx_value index = mpx_value_int(w->n);
        if (rc == MPX_OK)
            mpx_waiter_reply(w, MPX_OK, "", &index);
        else
            mpx_waiter_reply(w, rc, BROKEN_MSG, NULL);
    }
}

static void break_barrier(mpx_object *obj)
{
    state_of(obj)->broken = true;
    end_round(obj, MPX_EBROKEN);
}

/* A wait that times out breaks the barrier for the whole round, itself included. */
static void on_wait_timeout(mpx_waiter *w)
{
    break_barrier(w->obj);
}

/* A session ended while waiting (the process died): the round can never fill. An arrival
 * of a round that already ended (it was being answered) has nothing left to break. */
static void on_wait_drop(mpx_waiter *w)
{
    barrier_state *st = state_of(w->obj);
    if (!st->broken && mpx_value_get_int(&w->arg) == st->generation)
        break_barrier(w->obj);
}

static const mpx_wait_ops barrier_wait_ops = {.on_timeout = on_wait_timeout,
                                          .on_drop = on_wait_drop};

/* wait([timeout]) -> the arrival index; the constructor's timeout when none is given */
static int barrier_wait(mpx_call *c)
{
    barrier_state *st = state_of(c->obj);
    int rc = mpx_call_timeout_arg(c, 0);
    if (rc != MPX_OK)
        return rc;
    if (!c->has_timeout && st->has_timeout) {
        c->has_timeout = true;
        c->timeout = st->timeout;
    }
    if (st->broken)
        return mpx_call_fail(c, MPX_EBROKEN, BROKEN_MSG);
    int64_t index = (int64_t)mpx_wait_list_len(&st->waiters);
    if (index + 1 >= st->parties) {
        end_round(c->obj, MPX_OK);
        c->result = mpx_value_int(index);
        return MPX_OK;
    }
    /* As in Python, a wait with no time left breaks the barrier rather than fail alone. */
    if (c->has_timeout && c->timeout <= 0) {
        break_barrier(c->obj);
        return mpx_call_fail(c, MPX_EBROKEN, BROKEN_MSG);
    }
    mpx_waiter *w;
    rc = mpx_call_park(c, &st->waiters, &barrier_wait_ops, &w);
    if (rc != MPX_PARKED) {
        /* Python breaks the barrier when a wait fails for any reason: the round could
         * not fill without this party, and the others would wait for it forever. */
        break_barrier(c->obj);
        return rc;
    }
    w->n = index;
    w->arg = mpx_value_int(st->generation);
    return MPX_PARKED;
}

/* abort(): the barrier stays broken until reset(). */
static int barrier_abort(mpx_call *c)
{
    break_barrier(c->obj);
    return MPX_OK;
}

/* reset(): the current arrivals get BrokenBarrierError; the barrier is usable again. */
static int barrier_reset(mpx_call *c)
{
    state_of(c->obj)->broken = false;
    end_round(c->obj, MPX_EBROKEN);
    return MPX_OK;
}

/* parties() -> int */
static int barrier_parties(mpx_call *c)
{
    c->result = mpx_value_int(state_of(c->obj)->parties);
    return MPX_OK;
}

/* n_waiting() -> int */
static int barrier_n_waiting(mpx_call *c)
{
    c->result = mpx_value_int((int64_t)mpx_wait_list_len(&state_of(c->obj)->waiters));
    return MPX_OK;
}

/* broken() -> bool */
static int barrier_broken(mpx_call *c)
{
    c->result = mpx_value_bool(state_of(c->obj)->broken);
    return MPX_OK;
}

/* Barrier(parties[, action=None[, timeout=None]]): an action would be a callable run by
 * one of the parties, which cannot travel over the wire. */
static int barrier_init(mpx_object *obj, mpx_call *c)
{
    int64_t parties;
    const mpx_value *p = &c->args[0];
    if (mpx_value_kind(p) == MPX_INT)
        parties = mpx_value_get_int(p);
    else if (mpx_value_kind(p) == MPX_BOOL)
        parties = mpx_value_get_bool(p);
    else
        return mpx_call_fail(c, MPX_ETYPE, "parties must be an integer, not '%s'",
                             mpx_kind_name(mpx_value_kind(p)));
    if (parties < 1)
        return mpx_call_fail(c, MPX_EVALUE, "parties must be > 0");
    if (c->nargs > 1 && mpx_value_kind(&c->args[1]) != MPX_NONE)
        return mpx_call_fail(c, MPX_ETYPE, "Barrier action is not supported over mpx");
    double timeout = 0;
    bool has_timeout = c->nargs > 2 && mpx_value_kind(&c->args[2]) != MPX_NONE;
    if (has_timeout) {
        int rc = mpx_call_number_arg(c, 2, "timeout", &timeout);
        if (rc != MPX_OK)
            return rc;
        if (!(timeout >= 0)) /* NaN too */
            return mpx_call_fail(c, MPX_EVALUE, "timeout value must be a non-negative number");
    }
    barrier_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    st->parties = parties;
    st->has_timeout = has_timeout;
    st->timeout = timeout;
    obj->state = st;
    return MPX_OK;
}

static void barrier_destroy(mpx_object *obj)
{
    barrier_state *st = state_of(obj);
    if (st == NULL)
        return;
    mpx_wait_list_close(&st->waiters, MPX_ENOOBJECT, "the barrier was destroyed");
    free(st);
    obj->state = NULL;
}

static const mpx_method barrier_methods[] = {
    {"wait", barrier_wait, 0, 1, MPX_METHOD_MAY_WAIT},
    {"abort", barrier_abort, 0, 0, 0},
    {"reset", barrier_reset, 0, 0, 0},
    {"parties", barrier_parties, 0, 0, 0},
    {"n_waiting", barrier_n_waiting, 0, 0, 0},
    {"broken", barrier_broken, 0, 0, 0},
};

const mpx_type type_barrier = {
    .name = "Barrier",
    .init = barrier_init,
    .destroy = barrier_destroy,
    .methods = barrier_methods,
    .nmethods = sizeof barrier_methods / sizeof barrier_methods[0],
    .min_init_args = 1,
    .max_init_args = 3,
};
