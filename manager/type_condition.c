/* type_condition.c - Condition: a wait list tied to a Lock or RLock.
 *
 * wait() releases the caller's hold on the lock (every RLock level), parks the call in
 * the condition's list, and once notified (or timed out) moves it into the lock's own
 * queue, so the reply - True when notified, False on timeout - is only sent when the
 * caller holds the lock again at its old level. The lock is another object the
 * condition keeps a reference on, or a private RLock when none was given.
 */
#include <stdlib.h>

#include "sync.h"

typedef struct condition_state {
    mpx_object *lock;        /* a table object (a reference held) or own_lock */
    mpx_object own_lock;     /* a private RLock, when none was given */
    bool owns_lock;
    mpx_server *srv;     /* to give back the reference on the lock */
    mpx_wait_list waiters;   /* w->n: the RLock levels to regain */
} condition_state;

static condition_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

static int condition_acquire(mpx_call *c)
{
    return lock_call_acquire(c, state_of(c->obj)->lock);
}

static int condition_release(mpx_call *c)
{
    return lock_call_release(c, state_of(c->obj)->lock);
}

static int condition_locked(mpx_call *c)
{
    return lock_call_locked(c, state_of(c->obj)->lock);
}

/* The wait ran out: go back for the lock, and answer False once it is held. */
static void on_wait_timeout(mpx_waiter *w)
{
    mpx_value_free(&w->arg);
    w->arg = mpx_value_bool(false);
    lock_regain(state_of(w->obj)->lock, w, (uint32_t)w->n);
}

static const mpx_wait_ops condition_wait_ops = {.on_timeout = on_wait_timeout};

static int condition_wait(mpx_call *c)
{
    condition_state *st = state_of(c->obj);
    int rc = mpx_call_timeout_arg(c, 0);
    if (rc != MPX_OK)
        return rc;
    uint64_t sid = mpx_call_session_id(c);
    if (!lock_owned_by(st->lock, sid))
        return mpx_call_fail(c, MPX_ERUNTIME, "cannot wait on un-acquired lock");
    mpx_waiter *w;
    rc = mpx_call_park(c, &st->waiters, &condition_wait_ops, &w);
    if (rc != MPX_PARKED)
        return rc;
    w->arg = mpx_value_bool(true);
    w->n = lock_release_all(st->lock, sid);
    return MPX_PARKED;
}

static int notify_some(mpx_call *c, size_t n)
{
    condition_state *st = state_of(c->obj);
    if (!lock_owned_by(st->lock, mpx_call_session_id(c)))
        return mpx_call_fail(c, MPX_ERUNTIME, "cannot notify on un-acquired lock");
    mpx_waiter *w;
    while (n-- > 0 && (w = mpx_wait_list_first(&st->waiters)) != NULL)
        lock_regain(st->lock, w, (uint32_t)w->n);
    return MPX_OK;
}

static int condition_notify(mpx_call *c)
{
    int64_t n = 1;
    if (c->nargs > 0) {
        int rc = mpx_call_expect_kind(c, 0, MPX_INT, "n");
        if (rc != MPX_OK)
            return rc;
        n = mpx_value_get_int(&c->args[0]);
    }
    return notify_some(c, n > 0 ? (size_t)n : 0);
}

static int condition_notify_all(mpx_call *c)
{
    return notify_some(c, mpx_wait_list_len(&state_of(c->obj)->waiters));
}

/* The lock argument: a reference to a Lock or RLock on this manager, which the
 * condition then keeps alive (st->lock holds a reference). */
static int lock_from_arg(mpx_call *c, condition_state *st)
{
    const mpx_value *v = &c->args[0];
    if (mpx_value_kind(v) != MPX_REF)
        return mpx_call_fail(c, MPX_ETYPE, "Condition() lock must be a Lock or RLock, not '%s'",
                             mpx_kind_name(mpx_value_kind(v)));
    mpx_object *lock;
    int rc = mpx_call_ref_arg(c, 0, &lock);
    if (rc != MPX_OK)
        return rc;
    st->lock = lock; /* destroy gives the reference back, also after the refusal below */
    if (lock->type != &type_lock && lock->type != &type_rlock)
        return mpx_call_fail(c, MPX_ETYPE, "Condition() lock must be a Lock or RLock, not %s",
                             lock->type->name);
    return MPX_OK;
}

static int condition_init(mpx_object *obj, mpx_call *c)
{
    condition_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    obj->state = st;
    st->srv = c->srv;
    if (c->nargs > 0 && mpx_value_kind(&c->args[0]) != MPX_NONE) {
        return lock_from_arg(c, st);
    }
    st->own_lock.type = &type_rlock;
    int rc = type_rlock.init(&st->own_lock, c);
    if (rc != MPX_OK)
        return rc;
    st->owns_lock = true;
    st->lock = &st->own_lock;
    lock_set_watched(st->lock, obj);
    return MPX_OK;
}

static void condition_session_ended(mpx_object *obj, uint64_t sid)
{
    condition_state *st = state_of(obj);
    if (st->owns_lock && type_rlock.session_ended != NULL)
        type_rlock.session_ended(&st->own_lock, sid);
}

static void condition_destroy(mpx_object *obj)
{
    condition_state *st = state_of(obj);
    if (st == NULL)
        return;
    mpx_wait_list_close(&st->waiters, MPX_ENOOBJECT, "the condition was destroyed");
    if (st->owns_lock)
        object_clear(&st->own_lock);
    else if (st->lock != NULL && st->srv != NULL)
        mpx_object_release(st->srv, st->lock);
    free(st);
    obj->state = NULL;
}

static const mpx_method condition_methods[] = {
    {"acquire", condition_acquire, 0, 2, MPX_METHOD_MAY_WAIT},
    {"release", condition_release, 0, 0, 0},
    {"locked", condition_locked, 0, 0, 0},
    {"wait", condition_wait, 0, 1, MPX_METHOD_MAY_WAIT},
    {"notify", condition_notify, 0, 1, 0},
    {"notify_all", condition_notify_all, 0, 0, 0},
};

const mpx_type type_condition = {
    .name = "Condition",
    .init = condition_init,
    .destroy = condition_destroy,
    .session_ended = condition_session_ended,
    .methods = condition_methods,
    .nmethods = sizeof condition_methods / sizeof condition_methods[0],
    .max_init_args = 1,
};
