/* sync.c - argument reading shared by the synchronization types (see sync.h). */
#include "server_internal.h"
#include "sync.h"

int mpx_call_number_arg(mpx_call *c, size_t i, const char *what, double *out)
{
    const mpx_value *v = &c->args[i];
    switch (mpx_value_kind(v)) {
    case MPX_INT:
        *out = (double)mpx_value_get_int(v);
        return MPX_OK;
    case MPX_FLOAT:
        *out = mpx_value_get_float(v);
        return MPX_OK;
    case MPX_BOOL:
        *out = mpx_value_get_bool(v);
        return MPX_OK;
    default:
        return mpx_call_fail(c, MPX_ETYPE, "%s must be a number, not '%s'", what,
                             mpx_kind_name(mpx_value_kind(v)));
    }
}

int mpx_call_acquire_args(mpx_call *c, size_t first, bool *blocking)
{
    double timeout = -1;
    *blocking = true;
    if (c->nargs > first)
        *blocking = mpx_value_truthy(&c->args[first]);
    /* None is Semaphore.acquire's default timeout: no deadline, as Lock's -1 */
    if (c->nargs > first + 1 && mpx_value_kind(&c->args[first + 1]) != MPX_NONE) {
        int rc = mpx_call_number_arg(c, first + 1, "timeout", &timeout);
        if (rc != MPX_OK)
            return rc;
    }
    if (!*blocking && timeout != -1)
        return mpx_call_fail(c, MPX_EVALUE, "can't specify a timeout for a non-blocking call");
    if (timeout != timeout || (timeout < 0 && timeout != -1))
        return mpx_call_fail(c, MPX_EVALUE, "timeout value must be a non-negative number");
    c->has_timeout = timeout >= 0;
    c->timeout = timeout >= 0 ? timeout : 0;
    return MPX_OK;
}

int mpx_call_timeout_arg(mpx_call *c, size_t i)
{
    c->has_timeout = false;
    c->timeout = 0;
    if (c->nargs <= i || mpx_value_kind(&c->args[i]) == MPX_NONE)
        return MPX_OK;
    double timeout;
    int rc = mpx_call_number_arg(c, i, "timeout", &timeout);
    if (rc != MPX_OK)
        return rc;
    if (timeout != timeout)
        return mpx_call_fail(c, MPX_EVALUE, "timeout must be a number, not nan");
    if (timeout < 0)
        timeout = 0; /* Python treats a negative wait timeout as "do not wait" */
    c->has_timeout = true;
    c->timeout = timeout;
    return MPX_OK;
}

uint64_t mpx_call_session_id(const mpx_call *c)
{
    return c->sess != NULL ? session_id(c->sess) : UINT64_MAX;
}
