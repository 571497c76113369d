/* sync.c - the Semaphore, Event, Barrier and Condition proxies: thin calls over the generic proxy.
 *
 * Each call goes through mpx_proxy_call(_timeout), which knows from the manager which
 * methods may wait: their replies are waited for as long as the manager takes.
 */
#include "mpx/barrier.h"
#include "mpx/condition.h"
#include "mpx/event.h"
#include "mpx/semaphore.h"
#include "proxy_internal.h"
#include "sock.h"

struct mpx_semaphore {
    struct mpx_proxy base;
};

struct mpx_event {
    struct mpx_proxy base;
};

struct mpx_barrier {
    struct mpx_proxy base;
};

/* ---- Semaphore ------------------------------------------------------------------------ */

static const char *semaphore_type(bool bounded)
{
    return bounded ? "BoundedSemaphore" : "Semaphore";
}

int mpx_semaphore_open(mpx_client *c, const char *name, int64_t value, bool bounded,
                       mpx_semaphore **out)
{
    mpx_value v = mpx_value_int(value);
    return proxy_open_as(c, semaphore_type(bounded), name, &v, 1, sizeof(mpx_semaphore),
                         (mpx_proxy **)out);
}

int mpx_semaphore_create(mpx_client *c, int64_t value, bool bounded, mpx_semaphore **out)
{
    mpx_value v = mpx_value_int(value);
    return proxy_create_as(c, semaphore_type(bounded), &v, 1, sizeof(mpx_semaphore),
                           (mpx_proxy **)out);
}

/* attach and from_ref take either kind, as a Queue proxy does, and nothing else. */
static int as_any_semaphore(mpx_client *c, int rc, mpx_proxy *p, mpx_semaphore **out)
{
    rc = proxy_accept_either(c, rc, &p, semaphore_type(false), semaphore_type(true),
                             "semaphore");
    *out = (mpx_semaphore *)p;
    return rc;
}

int mpx_semaphore_attach(mpx_client *c, const char *token, mpx_semaphore **out)
{
    mpx_proxy *p;
    int rc = proxy_attach_as(c, token, NULL, sizeof(mpx_semaphore), &p);
    return as_any_semaphore(c, rc, p, out);
}

int mpx_semaphore_from_ref(mpx_client *c, const mpx_value *ref, mpx_semaphore **out)
{
    mpx_proxy *p;
    int rc = proxy_from_ref_as(c, ref, NULL, sizeof(mpx_semaphore), &p);
    return as_any_semaphore(c, rc, p, out);
}

PROXY_BASE_FUNCS(mpx_semaphore, mpx_semaphore);

int mpx_semaphore_acquire(mpx_semaphore *s, double timeout)
{
    mpx_value args[2];
    return proxy_call_timeout_void(&s->base, "acquire", args,
                                   proxy_block_args(timeout, args), timeout);
}

int mpx_semaphore_release(mpx_semaphore *s, int64_t n)
{
    mpx_value v = mpx_value_int(n);
    return proxy_call_void(&s->base, "release", &v, 1);
}

int mpx_semaphore_value(mpx_semaphore *s, int64_t *out)
{
    return proxy_call_int(&s->base, "get_value", NULL, 0, out);
}

/* ---- Event ---------------------------------------------------------------------------- */

int mpx_event_open(mpx_client *c, const char *name, mpx_event **out)
{
    return proxy_open_as(c, "Event", name, NULL, 0, sizeof(mpx_event), (mpx_proxy **)out);
}

int mpx_event_create(mpx_client *c, mpx_event **out)
{
    return proxy_create_as(c, "Event", NULL, 0, sizeof(mpx_event), (mpx_proxy **)out);
}

PROXY_HANDLE_FUNCS(mpx_event, mpx_event, "Event");

int mpx_event_set(mpx_event *e)
{
    return proxy_call_void(&e->base, "set", NULL, 0);
}

int mpx_event_clear(mpx_event *e)
{
    return proxy_call_void(&e->base, "clear", NULL, 0);
}

int mpx_event_is_set(mpx_event *e, bool *out)
{
    return proxy_call_bool(&e->base, "is_set", NULL, 0, out);
}

int mpx_event_wait(mpx_event *e, double timeout, bool *was_set)
{
    mpx_value arg = timeout >= 0 ? mpx_value_float(timeout) : mpx_value_none(), v;
    int rc = mpx_proxy_call_timeout(&e->base, "wait", &arg, 1, timeout, &v);
    if (rc == MPX_OK && mpx_value_kind(&v) != MPX_BOOL)
        rc = client_fail(e->base.client, MPX_EPROTO, "Event.wait did not return a bool");
    if (rc == MPX_OK)
        *was_set = mpx_value_get_bool(&v);
    mpx_value_free(&v);
    return rc;
}

/* ---- Barrier -------------------------------------------------------------------------- */

/* Opens (name not NULL) or creates Barrier(parties, action, timeout); action, a Python
 * callable, has no C counterpart and stays None. */
static int barrier_open_or_create(mpx_client *c, const char *name, int64_t parties,
                                  double timeout, mpx_barrier **out)
{
    mpx_value args[3] = {mpx_value_int(parties), mpx_value_none(),
                         timeout >= 0 ? mpx_value_float(timeout) : mpx_value_none()};
    mpx_proxy *p;
    int rc;
    if (name != NULL)
        rc = proxy_open_as(c, "Barrier", name, args, 3, sizeof(mpx_barrier), &p);
    else
        rc = proxy_create_as(c, "Barrier", args, 3, sizeof(mpx_barrier), &p);
    *out = (mpx_barrier *)p;
    return rc;
}

int mpx_barrier_open(mpx_client *c, const char *name, int64_t parties, double timeout,
                     mpx_barrier **out)
{
    if (name == NULL) {
        *out = NULL;
        return client_fail(c, MPX_EINVAL, "a Barrier to open needs a name");
    }
    return barrier_open_or_create(c, name, parties, timeout, out);
}

int mpx_barrier_create(mpx_client *c, int64_t parties, double timeout, mpx_barrier **out)
{
    return barrier_open_or_create(c, NULL, parties, timeout, out);
}

PROXY_HANDLE_FUNCS(mpx_barrier, mpx_barrier, "Barrier");

int mpx_barrier_wait(mpx_barrier *b, double timeout, int64_t *index)
{
    mpx_value arg = timeout >= 0 ? mpx_value_float(timeout) : mpx_value_none(), v;
    int rc = mpx_proxy_call_timeout(&b->base, "wait", &arg, 1, timeout, &v);
    if (rc == MPX_OK && mpx_value_kind(&v) != MPX_INT)
        rc = client_fail(b->base.client, MPX_EPROTO, "Barrier.wait did not return an int");
    if (rc == MPX_OK && index != NULL)
        *index = mpx_value_get_int(&v);
    mpx_value_free(&v);
    return rc;
}

int mpx_barrier_abort(mpx_barrier *b)
{
    return proxy_call_void(&b->base, "abort", NULL, 0);
}

int mpx_barrier_reset(mpx_barrier *b)
{
    return proxy_call_void(&b->base, "reset", NULL, 0);
}

int mpx_barrier_n_waiting(mpx_barrier *b, int64_t *out)
{
    return proxy_call_int(&b->base, "n_waiting", NULL, 0, out);
}

int mpx_barrier_broken(mpx_barrier *b, bool *out)
{
    return proxy_call_bool(&b->base, "broken", NULL, 0, out);
}

/* ---- Condition ------------------------------------------------------------------------ */

struct mpx_condition {
    struct mpx_proxy base;
};

/* Opens (name not NULL) or creates Condition(lock): the lock travels as a reference to
 * it, and no argument leaves the Condition to make its own RLock. */
static int condition_open_or_create(mpx_client *c, const char *name, mpx_proxy *lock,
                                    mpx_condition **out)
{
    mpx_value ref = mpx_value_none();
    mpx_proxy *p = NULL;
    *out = NULL;
    if (lock != NULL && mpx_value_ref(&ref, mpx_proxy_id(lock), mpx_proxy_type(lock)) != MPX_OK)
        return client_fail(c, MPX_ENOMEM, "out of memory");
    size_t nargs = lock != NULL ? 1 : 0;
    int rc;
    if (name != NULL)
        rc = proxy_open_as(c, "Condition", name, &ref, nargs, sizeof(mpx_condition), &p);
    else
        rc = proxy_create_as(c, "Condition", &ref, nargs, sizeof(mpx_condition), &p);
    mpx_value_free(&ref);
    *out = (mpx_condition *)p;
    return rc;
}

int mpx_condition_open(mpx_client *c, const char *name, mpx_proxy *lock,
                       mpx_condition **out)
{
    if (name == NULL) {
        *out = NULL;
        return client_fail(c, MPX_EINVAL, "a Condition to open needs a name");
    }
    return condition_open_or_create(c, name, lock, out);
}

int mpx_condition_create(mpx_client *c, mpx_proxy *lock, mpx_condition **out)
{
    return condition_open_or_create(c, NULL, lock, out);
}

PROXY_HANDLE_FUNCS(mpx_condition, mpx_condition, "Condition");

int mpx_condition_acquire(mpx_condition *cv, double timeout, uint64_t *fence)
{
    mpx_value args[2], token;
    int rc = mpx_proxy_call_timeout(&cv->base, "acquire", args, proxy_block_args(timeout, args),
                                    timeout, &token);
    if (rc == MPX_OK && fence != NULL && mpx_value_kind(&token) == MPX_INT)
        *fence = (uint64_t)mpx_value_get_int(&token);
    mpx_value_free(&token);
    return rc;
}

int mpx_condition_release(mpx_condition *cv)
{
    return proxy_call_void(&cv->base, "release", NULL, 0);
}

int mpx_condition_wait(mpx_condition *cv, double timeout, bool *notified)
{
    mpx_value arg = timeout >= 0 ? mpx_value_float(timeout) : mpx_value_none(), v;
    /* the reply also waits for the lock, which has no deadline: the socket must not
     * give up at the wait's own timeout */
    int rc = mpx_proxy_call_timeout(&cv->base, "wait", &arg, 1, -1, &v);
    if (rc == MPX_OK && mpx_value_kind(&v) != MPX_BOOL)
        rc = client_fail(cv->base.client, MPX_EPROTO, "Condition.wait did not return a bool");
    if (rc == MPX_OK)
        *notified = mpx_value_get_bool(&v);
    mpx_value_free(&v);
    return rc;
}

int mpx_condition_wait_for(mpx_condition *cv, bool (*pred)(void *arg), void *arg,
                           double timeout, bool *result)
{
    int64_t deadline = timeout >= 0 ? sock_deadline((int64_t)(timeout * 1000)) : -1;
    bool notified;
    while (!(*result = pred(arg))) {
        double left = -1;
        if (deadline >= 0) {
            left = (double)(deadline - sock_now_ms()) / 1000.0;
            if (left <= 0)
                return MPX_OK;
        }
        int rc = mpx_condition_wait(cv, left, &notified);
        if (rc != MPX_OK)
            return rc;
    }
    return MPX_OK;
}

int mpx_condition_notify(mpx_condition *cv, int64_t n)
{
    mpx_value v = mpx_value_int(n);
    return proxy_call_void(&cv->base, "notify", &v, 1);
}

int mpx_condition_notify_all(mpx_condition *cv)
{
    return proxy_call_void(&cv->base, "notify_all", NULL, 0);
}
