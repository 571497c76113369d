/* lock.c - the Lock and RLock proxies: the same four calls on two types.
 *
 * acquire's timeout travels as Python's (blocking, timeout) arguments and as the call's
 * own wait, so the socket waits a little longer than the manager will. A lease is the
 * third argument.
 */
#include "mpx/lock.h"
#include "proxy_internal.h"

struct mpx_lock {
    struct mpx_proxy base;
};

struct mpx_rlock {
    struct mpx_proxy base;
};

/* acquire(blocking, timeout[, lease]): a lease (> 0) makes the arguments three. */
static int acquire(mpx_proxy *p, double timeout, double lease, uint64_t *fence)
{
    mpx_value args[3], token;
    size_t nargs = proxy_block_args(timeout, args);
    if (lease > 0) {
        if (nargs == 1)
            args[nargs++] = mpx_value_int(-1); /* no deadline of its own */
        args[nargs++] = mpx_value_float(lease);
    }
    int rc = mpx_proxy_call_timeout(p, "acquire", args, nargs, timeout, &token);
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_kind(&token) != MPX_INT) {
        mpx_value_free(&token);
        return client_fail(p->client, MPX_EPROTO, "acquire did not return a token");
    }
    if (fence != NULL)
        *fence = (uint64_t)mpx_value_get_int(&token);
    return MPX_OK;
}

/* ---- Lock ---------------------------------------------------------------------------- */

int mpx_lock_open(mpx_client *c, const char *name, mpx_lock **out)
{
    return proxy_open_as(c, "Lock", name, NULL, 0, sizeof(mpx_lock), (mpx_proxy **)out);
}

int mpx_lock_create(mpx_client *c, mpx_lock **out)
{
    return proxy_create_as(c, "Lock", NULL, 0, sizeof(mpx_lock), (mpx_proxy **)out);
}

PROXY_HANDLE_FUNCS(mpx_lock, mpx_lock, "Lock");

int mpx_lock_acquire(mpx_lock *l, double timeout, uint64_t *fence)
{
    return acquire(&l->base, timeout, 0, fence);
}

int mpx_lock_acquire_lease(mpx_lock *l, double timeout, double lease, uint64_t *fence)
{
    if (!(lease > 0))
        return client_fail(l->base.client, MPX_EINVAL, "a lease must be > 0 seconds");
    return acquire(&l->base, timeout, lease, fence);
}

int mpx_lock_release(mpx_lock *l)
{
    return proxy_call_void(&l->base, "release", NULL, 0);
}

int mpx_lock_locked(mpx_lock *l, bool *out)
{
    return proxy_call_bool(&l->base, "locked", NULL, 0, out);
}

/* ---- RLock --------------------------------------------------------------------------- */

int mpx_rlock_open(mpx_client *c, const char *name, mpx_rlock **out)
{
    return proxy_open_as(c, "RLock", name, NULL, 0, sizeof(mpx_rlock), (mpx_proxy **)out);
}

int mpx_rlock_create(mpx_client *c, mpx_rlock **out)
{
    return proxy_create_as(c, "RLock", NULL, 0, sizeof(mpx_rlock), (mpx_proxy **)out);
}

PROXY_HANDLE_FUNCS(mpx_rlock, mpx_rlock, "RLock");

int mpx_rlock_acquire(mpx_rlock *l, double timeout, uint64_t *fence)
{
    return acquire(&l->base, timeout, 0, fence);
}

int mpx_rlock_acquire_lease(mpx_rlock *l, double timeout, double lease, uint64_t *fence)
{
    if (!(lease > 0))
        return client_fail(l->base.client, MPX_EINVAL, "a lease must be > 0 seconds");
    return acquire(&l->base, timeout, lease, fence);
}

int mpx_rlock_release(mpx_rlock *l)
{
    return proxy_call_void(&l->base, "release", NULL, 0);
}

int mpx_rlock_locked(mpx_rlock *l, bool *out)
{
    return proxy_call_bool(&l->base, "locked", NULL, 0, out);
}
