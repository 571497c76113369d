/* lock.c - the Lock and RLock proxies: the same four calls on two types.
 *
 * acquire's timeout travels as Python's (blocking, timeout) arguments and as the call's
 * own wait, so the socket waits a little longer than the manager will.
 */
#include "mpx/lock.h"
#include "proxy_internal.h"

struct mpx_lock {
    struct mpx_proxy base;
};

struct mpx_rlock {
    struct mpx_proxy base;
};

static int acquire(mpx_proxy *p, double timeout, uint64_t *fence)
{
    mpx_value args[2], token;
    int rc = mpx_proxy_call_timeout(p, "acquire", args, proxy_block_args(timeout, args),
                                    timeout, &token);
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

int mpx_lock_attach(mpx_client *c, const char *token, mpx_lock **out)
{
    return proxy_attach_as(c, token, "Lock", sizeof(mpx_lock), (mpx_proxy **)out);
}

void mpx_lock_close(mpx_lock *l)
{
    mpx_proxy_close(l != NULL ? &l->base : NULL);
}

mpx_proxy *mpx_lock_proxy(mpx_lock *l)
{
    return &l->base;
}

int mpx_lock_token(const mpx_lock *l, char *buf, size_t size)
{
    return mpx_proxy_token(&l->base, buf, size);
}

int mpx_lock_acquire(mpx_lock *l, double timeout, uint64_t *fence)
{
    return acquire(&l->base, timeout, fence);
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

int mpx_rlock_attach(mpx_client *c, const char *token, mpx_rlock **out)
{
    return proxy_attach_as(c, token, "RLock", sizeof(mpx_rlock), (mpx_proxy **)out);
}

void mpx_rlock_close(mpx_rlock *l)
{
    mpx_proxy_close(l != NULL ? &l->base : NULL);
}

mpx_proxy *mpx_rlock_proxy(mpx_rlock *l)
{
    return &l->base;
}

int mpx_rlock_token(const mpx_rlock *l, char *buf, size_t size)
{
    return mpx_proxy_token(&l->base, buf, size);
}

int mpx_rlock_acquire(mpx_rlock *l, double timeout, uint64_t *fence)
{
    return acquire(&l->base, timeout, fence);
}

int mpx_rlock_release(mpx_rlock *l)
{
    return proxy_call_void(&l->base, "release", NULL, 0);
}

int mpx_rlock_locked(mpx_rlock *l, bool *out)
{
    return proxy_call_bool(&l->base, "locked", NULL, 0, out);
}
