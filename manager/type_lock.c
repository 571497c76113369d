/* type_lock.c - Lock and RLock: threading's locks, owned by client sessions.
 *
 * The owner is a session id (0 when free). A grant takes a fencing token from the
 * server's counter, so tokens grow across every grant of every lock: a resource that
 * remembers the largest token it has seen can refuse a writer whose lock was taken over
 * after it died. Waiters are served strictly FIFO; a free lock is never taken past a
 * parked waiter: a release signals the wait list, and the oldest parked acquire re-runs.
 * A session that ends while holding the lock releases it (session_ended).
 */
#include <assert.h>
#include <stdlib.h>

#include "server_internal.h"
#include "sync.h"

typedef struct lock_state {
    bool reentrant;
    uint64_t owner;    /* session id; 0 when free */
    uint32_t levels;   /* RLock depth (1 for a held Lock) */
    uint64_t fence;    /* the token of the current grant */
    uint64_t *fences;  /* the server's counter, or own_fences without a server */
    uint64_t own_fences;
    wait_list waiters; /* parked acquires, and Condition waiters regaining the lock */
    object *watched;   /* what a holder's session watches: the lock, or its Condition */
} lock_state;

/* Unit tests call without a session: they all act as one caller. */
static uint64_t caller_id(const call *c)
{
    return c->sess != NULL ? session_id(c->sess) : UINT64_MAX;
}

static lock_state *state_of(const object *obj)
{
    return obj->state;
}

static void grant(object *obj, uint64_t sid, uint32_t levels)
{
    lock_state *st = state_of(obj);
    assert(st->owner == 0 && st->levels == 0 && sid != 0 && levels > 0);
    st->owner = sid;
    st->levels = levels;
    st->fence = ++*st->fences;
}

/* Takes the free lock for c's session at levels, watched so that it passes on if the
 * session ends. MPX_OK, or MemoryError with the lock still free. */
static int take(call *c, uint32_t levels)
{
    lock_state *st = state_of(c->obj);
    if (c->sess != NULL && session_watch(c->sess, st->watched) != MPX_OK)
        return call_fail(c, MPX_ENOMEM, "out of memory");
    grant(c->obj, caller_id(c), levels);
    return MPX_OK;
}

static void set_free(object *obj)
{
    lock_state *st = state_of(obj);
    st->owner = 0;
    st->levels = 0;
    wait_signal(&st->waiters);
}

bool lock_owned_by(const object *lock, uint64_t session_id)
{
    const lock_state *st = state_of(lock);
    return st->owner != 0 && st->owner == session_id;
}

uint32_t lock_release_all(object *lock, uint64_t session_id)
{
    lock_state *st = state_of(lock);
    if (st->owner != session_id)
        return 0;
    uint32_t levels = st->levels;
    set_free(lock);
    return levels;
}

/* A Condition waiter going back for the lock (lock_regain): when the lock is free and
 * nobody waits ahead, it takes it at its old level (w->n) and answers w->arg. */
static int regain(call *c)
{
    lock_state *st = state_of(c->obj);
    if (st->owner != 0 || !call_first_in_line(c, &st->waiters))
        return call_park(c, &st->waiters, NULL, NULL);
    int rc = take(c, (uint32_t)c->parked->n);
    if (rc == MPX_OK)
        mpx_value_move(&c->result, &c->parked->arg);
    return rc;
}

void lock_regain(object *lock, waiter *w, uint32_t levels)
{
    lock_state *st = state_of(lock);
    waiter_stop_timer(w); /* re-acquiring after a wait has no deadline, as in Python */
    w->n = levels ? levels : 1;
    waiter_requeue(w, &st->waiters, lock, regain);
    if (st->owner == 0)
        wait_signal(&st->waiters);
}

static int lock_acquire(call *c)
{
    lock_state *st = state_of(c->obj);
    bool blocking;
    int rc = sync_acquire_args(c, 0, &blocking);
    if (rc != MPX_OK)
        return rc;
    if (st->reentrant && st->owner == caller_id(c)) {
        st->levels++;
        c->result = mpx_value_int((int64_t)st->fence);
        return MPX_OK;
    }
    if (st->owner == 0 && call_first_in_line(c, &st->waiters)) {
        if ((rc = take(c, 1)) == MPX_OK)
            c->result = mpx_value_int((int64_t)st->fence);
        return rc;
    }
    if (!blocking || (c->has_timeout && c->timeout <= 0))
        return call_fail(c, MPX_ETIMEOUT, "the lock is held");
    return call_park(c, &st->waiters, NULL, NULL);
}

static int lock_release(call *c)
{
    lock_state *st = state_of(c->obj);
    if (st->reentrant) {
        if (st->owner != caller_id(c))
            return call_fail(c, MPX_ENOTOWNER, "cannot release un-acquired lock");
        if (--st->levels > 0)
            return MPX_OK;
    } else if (st->owner == 0) {
        /* any session may release a held Lock, as any thread may in Python */
        return call_fail(c, MPX_ERUNTIME, "release unlocked lock");
    }
    set_free(c->obj);
    return MPX_OK;
}

static int lock_locked(call *c)
{
    c->result = mpx_value_bool(state_of(c->obj)->owner != 0);
    return MPX_OK;
}

static void lock_session_ended(object *obj, uint64_t sid)
{
    lock_state *st = state_of(obj);
    if (st->owner == sid)
        set_free(obj);
}

static int lock_init_common(object *obj, call *c, bool reentrant)
{
    lock_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return call_fail(c, MPX_ENOMEM, "out of memory");
    st->reentrant = reentrant;
    st->fences = c->srv != NULL ? &c->srv->next_fence : &st->own_fences;
    st->watched = obj;
    obj->state = st;
    return MPX_OK;
}

static int lock_init(object *obj, call *c)
{
    return lock_init_common(obj, c, false);
}

static int rlock_init(object *obj, call *c)
{
    return lock_init_common(obj, c, true);
}

static void lock_destroy(object *obj)
{
    lock_state *st = state_of(obj);
    if (st == NULL)
        return;
    wait_list_close(&st->waiters, MPX_ENOOBJECT, "the lock was destroyed");
    free(st);
    obj->state = NULL;
}

void lock_set_watched(object *lock, object *watched)
{
    state_of(lock)->watched = watched;
}

int lock_call_acquire(call *c, object *lock)
{
    c->obj = lock;
    c->fn = lock_acquire; /* what re-runs if it parks: the lock's own acquire */
    return lock_acquire(c);
}

int lock_call_release(call *c, object *lock)
{
    c->obj = lock;
    return lock_release(c);
}

int lock_call_locked(call *c, object *lock)
{
    c->obj = lock;
    return lock_locked(c);
}

static const method_def lock_methods[] = {
    {"acquire", lock_acquire, 0, 2, METHOD_MAY_WAIT},
    {"release", lock_release, 0, 0, 0},
    {"locked", lock_locked, 0, 0, 0},
};

const object_type type_lock = {
    .name = "Lock",
    .init = lock_init,
    .destroy = lock_destroy,
    .session_ended = lock_session_ended,
    .methods = lock_methods,
    .nmethods = sizeof lock_methods / sizeof lock_methods[0],
};

const object_type type_rlock = {
    .name = "RLock",
    .init = rlock_init,
    .destroy = lock_destroy,
    .session_ended = lock_session_ended,
    .methods = lock_methods,
    .nmethods = sizeof lock_methods / sizeof lock_methods[0],
};
