/* type_semaphore.c - Semaphore and BoundedSemaphore: threading's counters, owned in part.
 *
 * value counts the free units. Acquires wait FIFO: a free unit never goes past a parked
 * call; a release signals the wait list and the oldest acquires re-run. Each session's
 * units (acquired minus released by it, never below 0) are counted in holds and given
 * back when the session ends, so a dead worker does not take its units with it. A
 * BoundedSemaphore's value never exceeds its initial value.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "sync.h"
#include "u64map.h"

typedef struct semaphore_state {
    int64_t value;     /* free units */
    int64_t initial;   /* the bound of a BoundedSemaphore */
    bool bounded;
    u64map holds;      /* session id -> units it holds, as uintptr_t; absent: none */
    mpx_wait_list waiters; /* parked acquires, each waiting for one unit */
} semaphore_state;

static semaphore_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

/* An int argument (bool counts, as in Python); TypeError otherwise. */
static int int_arg(mpx_call *c, size_t i, const char *what, int64_t *out)
{
    const mpx_value *v = &c->args[i];
    switch (mpx_value_kind(v)) {
    case MPX_INT:
        *out = mpx_value_get_int(v);
        return MPX_OK;
    case MPX_BOOL:
        *out = mpx_value_get_bool(v);
        return MPX_OK;
    default:
        return mpx_call_fail(c, MPX_ETYPE, "%s must be an integer, not '%s'", what,
                             mpx_kind_name(mpx_value_kind(v)));
    }
}

static uintptr_t holds_of(const semaphore_state *st, uint64_t sid)
{
    return (uintptr_t)u64map_get(&st->holds, sid);
}

/* Sets a session's count; 0 removes its entry. Only a new entry can fail (ENOMEM). */
static int holds_set(semaphore_state *st, uint64_t sid, uintptr_t n)
{
    if (n == 0) {
        u64map_del(&st->holds, sid);
        return MPX_OK;
    }
    return u64map_put(&st->holds, sid, (void *)n);
}

/* Counts a unit as held by c's session, watched so that the unit comes back if the
 * session ends. MPX_OK, or MPX_ENOMEM with nothing changed. */
static int hold_unit(mpx_call *c)
{
    semaphore_state *st = state_of(c->obj);
    uint64_t sid = mpx_call_session_id(c);
    uintptr_t held = holds_of(st, sid);
    if (holds_set(st, sid, held + 1) != MPX_OK)
        return MPX_ENOMEM;
    if (mpx_call_watch(c, c->obj) != MPX_OK) {
        holds_set(st, sid, held); /* drops the entry again when it was new */
        return MPX_ENOMEM;
    }
    return MPX_OK;
}

/* acquire([blocking[, timeout]]) -> True */
static int semaphore_acquire(mpx_call *c)
{
    semaphore_state *st = state_of(c->obj);
    bool blocking;
    int rc = mpx_call_acquire_args(c, 0, &blocking);
    if (rc != MPX_OK)
        return rc;
    if (st->value > 0 && mpx_call_first_in_line(c, &st->waiters)) {
        if (hold_unit(c) != MPX_OK)
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
        st->value--;
        assert(st->value >= 0 && (!st->bounded || st->value <= st->initial));
        c->result = mpx_value_bool(true);
        return MPX_OK;
    }
    if (!blocking || (c->has_timeout && c->timeout <= 0))
        return mpx_call_fail(c, MPX_ETIMEOUT, "timed out");
    return mpx_call_park(c, &st->waiters, NULL, NULL); /* the default on_timeout: "timed out" */
}

/* release([n=1]): any session may release, as any thread may in Python; it gives back
 * its own holds first, and never goes below none. */
static int semaphore_release(mpx_call *c)
{
    semaphore_state *st = state_of(c->obj);
    int64_t n = 1;
    if (c->nargs > 0) {
        int rc = int_arg(c, 0, "n", &n);
        if (rc != MPX_OK)
            return rc;
    }
    if (n < 1)
        return mpx_call_fail(c, MPX_EVALUE, "n must be one or more");
    if (st->bounded && n > st->initial - st->value)
        return mpx_call_fail(c, MPX_EVALUE, "Semaphore released too many times");
    if (n > INT64_MAX - st->value)
        return mpx_call_fail(c, MPX_EOVERFLOW, "semaphore value too large");
    uint64_t sid = mpx_call_session_id(c);
    uintptr_t held = holds_of(st, sid);
    holds_set(st, sid, held > (uint64_t)n ? held - (uintptr_t)n : 0);
    st->value += n;
    mpx_wait_signal(&st->waiters);
    return MPX_OK;
}

/* get_value() -> int */
static int semaphore_get_value(mpx_call *c)
{
    c->result = mpx_value_int(state_of(c->obj)->value);
    return MPX_OK;
}

/* The session's units come back. Another session may already have released them for
 * it (anyone may release), so a BoundedSemaphore is clamped to its bound. */
static void semaphore_session_ended(mpx_object *obj, uint64_t sid)
{
    semaphore_state *st = state_of(obj);
    uint64_t held = (uintptr_t)u64map_del(&st->holds, sid);
    if (held == 0)
        return;
    if (held > (uint64_t)(INT64_MAX - st->value))
        st->value = INT64_MAX;
    else
        st->value += (int64_t)held;
    if (st->bounded && st->value > st->initial)
        st->value = st->initial;
    mpx_wait_signal(&st->waiters);
}

/* Semaphore([value=1]) / BoundedSemaphore([value=1]) */
static int semaphore_init_common(mpx_object *obj, mpx_call *c, bool bounded)
{
    int64_t value = 1;
    if (c->nargs > 0) {
        int rc = int_arg(c, 0, "value", &value);
        if (rc != MPX_OK)
            return rc;
    }
    if (value < 0)
        return mpx_call_fail(c, MPX_EVALUE, "semaphore initial value must be >= 0");
    semaphore_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    st->value = st->initial = value;
    st->bounded = bounded;
    u64map_init(&st->holds);
    obj->state = st;
    return MPX_OK;
}

static int semaphore_init(mpx_object *obj, mpx_call *c)
{
    return semaphore_init_common(obj, c, false);
}

static int bounded_semaphore_init(mpx_object *obj, mpx_call *c)
{
    return semaphore_init_common(obj, c, true);
}

static void semaphore_destroy(mpx_object *obj)
{
    semaphore_state *st = state_of(obj);
    if (st == NULL)
        return;
    mpx_wait_list_close(&st->waiters, MPX_ENOOBJECT, "the semaphore was destroyed");
    u64map_free(&st->holds);
    free(st);
    obj->state = NULL;
}

static const mpx_method semaphore_methods[] = {
    {"acquire", semaphore_acquire, 0, 2, MPX_METHOD_MAY_WAIT},
    {"release", semaphore_release, 0, 1, 0},
    {"get_value", semaphore_get_value, 0, 0, 0},
};

const mpx_type type_semaphore = {
    .name = "Semaphore",
    .init = semaphore_init,
    .destroy = semaphore_destroy,
    .session_ended = semaphore_session_ended,
    .methods = semaphore_methods,
    .nmethods = sizeof semaphore_methods / sizeof semaphore_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};

const mpx_type type_bounded_semaphore = {
    .name = "BoundedSemaphore",
    .init = bounded_semaphore_init,
    .destroy = semaphore_destroy,
    .session_ended = semaphore_session_ended,
    .methods = semaphore_methods,
    .nmethods = sizeof semaphore_methods / sizeof semaphore_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};
