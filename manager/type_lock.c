/* type_lock.c - Lock and RLock: threading's locks, owned by client sessions.
 *
 * The owner is a session id (0 when free). A grant takes a fencing token from the
 * server's counter, so tokens grow across every grant of every lock: a resource that
 * remembers the largest token it has seen can refuse a writer whose lock was taken over
 * after it died. Waiters are served strictly FIFO; a free lock is never taken past a
 * parked waiter: a release signals the wait list, and the oldest parked acquire re-runs.
 * A session that ends while holding the lock releases it (session_ended).
 * An acquire may ask for a lease (acquire(blocking, timeout, lease)): after that many
 * seconds the grant ends on its own (deadline.h), so a holder that is alive but stuck (a
 * SIGSTOPped process) cannot hold the lock forever; the next waiter gets it with a larger
 * token, and the lapsed holder's release is refused instead of releasing the new grant.
 * Without a lease a lock is Python's: held until released.
 */
#include <assert.h>
#include <stdlib.h>

#include "mpx/type.h"
#include "sync.h"

typedef struct lock_state {
    bool reentrant;
    uint64_t owner;    /* session id; 0 when free */
    uint32_t levels;   /* RLock depth (1 for a held Lock) */
    uint64_t fence;    /* the token of the current grant */
    uint64_t own_fences; /* the tokens without a server (unit tests); else the server's */
    mpx_wait_list waiters; /* parked acquires, and Condition waiters regaining the lock */
    mpx_object *watched;   /* what a holder's session watches: the lock, or its Condition */
    mpx_server *srv;   /* NULL in unit tests: then no leases */
    mpx_deadline *lease;   /* while the current grant has a lease */
    uint64_t lapsed_owner; /* the session whose lease ended last, until it hears so */
    uint64_t lapsed_fence;
} lock_state;

static lock_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

static void grant(mpx_object *obj, uint64_t sid, uint32_t levels)
{
    lock_state *st = state_of(obj);
    assert(st->owner == 0 && st->levels == 0 && sid != 0 && levels > 0);
    st->owner = sid;
    st->levels = levels;
    st->fence = st->srv != NULL ? mpx_server_next_fence(st->srv) : ++st->own_fences;
}

/* Takes the free lock for c's session at levels, watched so that it passes on if the
 * session ends. MPX_OK, or MemoryError with the lock still free. */
static int take(mpx_call *c, uint32_t levels)
{
    lock_state *st = state_of(c->obj);
    if (mpx_call_watch(c, st->watched) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    grant(c->obj, mpx_call_session_id(c), levels);
    return MPX_OK;
}

static void set_free(mpx_object *obj)
{
    lock_state *st = state_of(obj);
    mpx_deadline_stop(st->lease);
    st->lease = NULL;
    st->owner = 0;
    st->levels = 0;
    mpx_wait_signal(&st->waiters);
}

bool lock_owned_by(const mpx_object *lock, uint64_t session_id)
{
    const lock_state *st = state_of(lock);
    return st->owner != 0 && st->owner == session_id;
}

uint32_t lock_release_all(mpx_object *lock, uint64_t session_id)
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
static int regain(mpx_call *c)
{
    lock_state *st = state_of(c->obj);
    if (st->owner != 0 || !mpx_call_first_in_line(c, &st->waiters))
        return mpx_call_park(c, &st->waiters, NULL, NULL);
    int rc = take(c, (uint32_t)c->parked->n);
    if (rc == MPX_OK)
        mpx_value_move(&c->result, &c->parked->arg);
    return rc;
}

void lock_regain(mpx_object *lock, mpx_waiter *w, uint32_t levels)
{
    lock_state *st = state_of(lock);
    mpx_waiter_stop_timer(w); /* re-acquiring after a wait has no deadline, as in Python */
    w->n = levels ? levels : 1;
    mpx_waiter_requeue(w, &st->waiters, lock, regain);
    if (st->owner == 0)
        mpx_wait_signal(&st->waiters);
}

/* The grant's lease ran out: it ends as a release would, and its session is told when it
 * next releases. A lease of an earlier grant (token) has nothing left to end. */
static void lease_lapsed(mpx_object *obj, uint64_t token)
{
    lock_state *st = state_of(obj);
    st->lease = NULL; /* it frees itself */
    if (st->owner == 0 || st->fence != token)
        return;
    mpx_server_log(st->srv, MPX_LOG_WARN,
                   "event=lease-expired object=%llu session=%llu token=%llu",
                   (unsigned long long)obj->id, (unsigned long long)st->owner,
                   (unsigned long long)token);
    st->lapsed_owner = st->owner;
    st->lapsed_fence = token;
    set_free(obj);
}

/* acquire's third argument: None, or the lease in seconds (> 0). */
static int lease_arg(mpx_call *c, size_t i, double *lease)
{
    *lease = 0;
    if (c->nargs <= i || mpx_value_kind(&c->args[i]) == MPX_NONE)
        return MPX_OK;
    int rc = mpx_call_number_arg(c, i, "lease", lease);
    if (rc == MPX_OK && !(*lease > 0))
        return mpx_call_fail(c, MPX_EVALUE, "lease must be a positive number of seconds");
    if (rc == MPX_OK && c->srv == NULL)
        return mpx_call_fail(c, MPX_EVALUE, "a lease needs a server");
    return rc;
}

/* A new grant to c's session, with its lease when it asked for one. */
static int grant_to(mpx_call *c, double lease)
{
    lock_state *st = state_of(c->obj);
    int rc = take(c, 1);
    if (rc != MPX_OK)
        return rc;
    if (lease > 0 &&
        (st->lease = mpx_deadline_start(c->srv, c->obj, lease, st->fence, lease_lapsed)) == NULL) {
        set_free(c->obj);
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    if (st->lapsed_owner == st->owner)
        st->lapsed_owner = 0; /* it holds the lock again: its old lease is old news */
    c->result = mpx_value_int((int64_t)st->fence);
    return MPX_OK;
}

static int lock_acquire(mpx_call *c)
{
    lock_state *st = state_of(c->obj);
    bool blocking;
    double lease;
    int rc = mpx_call_acquire_args(c, 0, &blocking);
    if (rc == MPX_OK)
        rc = lease_arg(c, 2, &lease);
    if (rc != MPX_OK)
        return rc;
    if (st->reentrant && st->owner == mpx_call_session_id(c)) {
        st->levels++;
        c->result = mpx_value_int((int64_t)st->fence);
        return MPX_OK;
    }
    if (st->owner == 0 && mpx_call_first_in_line(c, &st->waiters))
        return grant_to(c, lease);
    if (!blocking || (c->has_timeout && c->timeout <= 0))
        return mpx_call_fail(c, MPX_ETIMEOUT, "the lock is held");
    return mpx_call_park(c, &st->waiters, NULL, NULL);
}

/* release(token=None). A session whose lease lapsed is refused, once, rather than
 * releasing a grant that is someone else's now; so is a token that is not the current
 * grant's. */
static int lock_release(mpx_call *c)
{
    lock_state *st = state_of(c->obj);
    uint64_t caller = mpx_call_session_id(c);
    if (c->nargs > 0 && mpx_value_kind(&c->args[0]) != MPX_NONE) {
        int rc = mpx_call_expect_kind(c, 0, MPX_INT, "token");
        if (rc != MPX_OK)
            return rc;
        if (st->owner == 0 || (uint64_t)mpx_value_get_int(&c->args[0]) != st->fence)
            return mpx_call_fail(c, MPX_ENOTOWNER, "token %lld is not the lock's current grant",
                                 (long long)mpx_value_get_int(&c->args[0]));
    }
    if (st->lapsed_owner != 0 && st->lapsed_owner == caller && st->owner != caller) {
        st->lapsed_owner = 0;
        return mpx_call_fail(c, MPX_ENOTOWNER, "the lease of token %llu expired: the lock was "
                             "not released", (unsigned long long)st->lapsed_fence);
    }
    if (st->reentrant) {
        if (st->owner != mpx_call_session_id(c))
            return mpx_call_fail(c, MPX_ENOTOWNER, "cannot release un-acquired lock");
        if (--st->levels > 0)
            return MPX_OK;
    } else if (st->owner == 0) {
        /* any session may release a held Lock, as any thread may in Python */
        return mpx_call_fail(c, MPX_ERUNTIME, "release unlocked lock");
    }
    set_free(c->obj);
    return MPX_OK;
}

static int lock_locked(mpx_call *c)
{
    c->result = mpx_value_bool(state_of(c->obj)->owner != 0);
    return MPX_OK;
}

static void lock_session_ended(mpx_object *obj, uint64_t sid)
{
    lock_state *st = state_of(obj);
    if (st->owner == sid)
        set_free(obj);
}

static int lock_init_common(mpx_object *obj, mpx_call *c, bool reentrant)
{
    lock_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    st->reentrant = reentrant;
    st->srv = c->srv;
    st->watched = obj;
    obj->state = st;
    return MPX_OK;
}

static int lock_init(mpx_object *obj, mpx_call *c)
{
    return lock_init_common(obj, c, false);
}

static int rlock_init(mpx_object *obj, mpx_call *c)
{
    return lock_init_common(obj, c, true);
}

static void lock_destroy(mpx_object *obj)
{
    lock_state *st = state_of(obj);
    if (st == NULL)
        return;
    mpx_wait_list_close(&st->waiters, MPX_ENOOBJECT, "the lock was destroyed");
    mpx_deadline_stop(st->lease);
    free(st);
    obj->state = NULL;
}

void lock_set_watched(mpx_object *lock, mpx_object *watched)
{
    state_of(lock)->watched = watched;
}

int lock_call_acquire(mpx_call *c, mpx_object *lock)
{
    c->obj = lock;
    c->fn = lock_acquire; /* what re-runs if it parks: the lock's own acquire */
    return lock_acquire(c);
}

int lock_call_release(mpx_call *c, mpx_object *lock)
{
    c->obj = lock;
    return lock_release(c);
}

int lock_call_locked(mpx_call *c, mpx_object *lock)
{
    c->obj = lock;
    return lock_locked(c);
}

static const mpx_method lock_methods[] = {
    {"acquire", lock_acquire, 0, 3, MPX_METHOD_MAY_WAIT},
    {"release", lock_release, 0, 1, 0},
    {"locked", lock_locked, 0, 0, 0},
};

const mpx_type type_lock = {
    .name = "Lock",
    .init = lock_init,
    .destroy = lock_destroy,
    .session_ended = lock_session_ended,
    .methods = lock_methods,
    .nmethods = sizeof lock_methods / sizeof lock_methods[0],
};

const mpx_type type_rlock = {
    .name = "RLock",
    .init = rlock_init,
    .destroy = lock_destroy,
    .session_ended = lock_session_ended,
    .methods = lock_methods,
    .nmethods = sizeof lock_methods / sizeof lock_methods[0],
};
