/* queue.c - the Queue and JoinableQueue proxy: one call per method of Python's Queue.
 *
 * A C timeout becomes Python's (block, timeout) pair: negative is (True, None), 0 is
 * (False, None), more is (True, timeout). Each call goes through mpx_proxy_call(_timeout),
 * which knows from the manager which methods may wait, and waits for those as it must.
 */
#include "mpx/queue.h"
#include "proxy_internal.h"

struct mpx_queue {
    struct mpx_proxy base;
};

static const char *queue_type(bool joinable)
{
    return joinable ? "JoinableQueue" : "Queue";
}

static int as_queue(int rc, mpx_proxy *p, mpx_queue **out)
{
    *out = (mpx_queue *)p;
    return rc;
}

/* attach and from_ref take either kind, and nothing else. */
static int as_any_queue(mpx_client *c, int rc, mpx_proxy *p, mpx_queue **out)
{
    rc = proxy_accept_either(c, rc, &p, queue_type(false), queue_type(true), "queue");
    return as_queue(rc, p, out);
}

int mpx_queue_open(mpx_client *c, const char *name, int64_t maxsize, bool joinable,
                   mpx_queue **out)
{
    mpx_value v = mpx_value_int(maxsize);
    mpx_proxy *p;
    int rc = proxy_open_as(c, queue_type(joinable), name, &v, 1, sizeof(mpx_queue), &p);
    return as_queue(rc, p, out);
}

int mpx_queue_create(mpx_client *c, int64_t maxsize, bool joinable, mpx_queue **out)
{
    mpx_value v = mpx_value_int(maxsize);
    mpx_proxy *p;
    int rc = proxy_create_as(c, queue_type(joinable), &v, 1, sizeof(mpx_queue), &p);
    return as_queue(rc, p, out);
}

int mpx_queue_attach(mpx_client *c, const char *token, mpx_queue **out)
{
    mpx_proxy *p;
    int rc = proxy_attach_as(c, token, NULL, sizeof(mpx_queue), &p);
    return as_any_queue(c, rc, p, out);
}

int mpx_queue_from_ref(mpx_client *c, const mpx_value *ref, mpx_queue **out)
{
    mpx_proxy *p;
    int rc = proxy_from_ref_as(c, ref, NULL, sizeof(mpx_queue), &p);
    return as_any_queue(c, rc, p, out);
}

PROXY_BASE_FUNCS(mpx_queue, mpx_queue);

/* ---- calls that may wait ----------------------------------------------------------------- */

int mpx_queue_put(mpx_queue *q, const mpx_value *item, double timeout)
{
    mpx_value args[3] = {*item};
    size_t n = 1 + proxy_block_args(timeout, args + 1);
    return proxy_call_timeout_void(&q->base, "put", args, n, timeout);
}

int mpx_queue_get(mpx_queue *q, double timeout, mpx_value *out)
{
    mpx_value args[2];
    size_t n = proxy_block_args(timeout, args);
    return mpx_proxy_call_timeout(&q->base, "get", args, n, timeout, out);
}

int mpx_queue_get_acked(mpx_queue *q, double timeout, mpx_value *out, uint64_t *ticket)
{
    mpx_value args[2], pair;
    *out = mpx_value_none();
    size_t n = proxy_block_args(timeout, args);
    int rc = mpx_proxy_call_timeout(&q->base, "get_acked", args, n, timeout, &pair);
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_kind(&pair) != MPX_TUPLE || mpx_value_len(&pair) != 2 ||
        mpx_value_kind(mpx_value_at(&pair, 0)) != MPX_INT) {
        mpx_value_free(&pair);
        return client_fail(q->base.client, MPX_EPROTO, "get_acked did not return (ticket, "
                           "item)");
    }
    *ticket = (uint64_t)mpx_value_get_int(mpx_value_at(&pair, 0));
    mpx_value_move(out, mpx_value_at(&pair, 1));
    mpx_value_free(&pair);
    return MPX_OK;
}

int mpx_queue_ack(mpx_queue *q, uint64_t ticket)
{
    mpx_value arg = mpx_value_int((int64_t)ticket);
    return proxy_call_void(&q->base, "ack", &arg, 1);
}

int mpx_queue_put_many(mpx_queue *q, const mpx_value *items, double timeout)
{
    mpx_value args[3] = {*items};
    size_t n = 1 + proxy_block_args(timeout, args + 1);
    return proxy_call_timeout_void(&q->base, "put_many", args, n, timeout);
}

int mpx_queue_get_many(mpx_queue *q, size_t max, double timeout, mpx_value *out)
{
    if (max == 0 || max > INT64_MAX) {
        *out = mpx_value_none();
        return client_fail(q->base.client, MPX_EINVAL, "max must be at least 1");
    }
    mpx_value args[3] = {mpx_value_int((int64_t)max)};
    size_t n = 1 + proxy_block_args(timeout, args + 1);
    int rc = mpx_proxy_call_timeout(&q->base, "get_many", args, n, timeout, out);
    if (rc == MPX_OK && mpx_value_kind(out) != MPX_LIST) {
        mpx_value_free(out);
        return client_fail(q->base.client, MPX_EPROTO, "get_many answered with a %s",
                           mpx_kind_name(mpx_value_kind(out)));
    }
    return rc;
}

int mpx_queue_join(mpx_queue *q, double timeout)
{
    mpx_value t = mpx_value_float(timeout);
    return proxy_call_timeout_void(&q->base, "join", &t, timeout >= 0 ? 1 : 0, timeout);
}

/* ---- calls that answer at once ----------------------------------------------------------- */

int mpx_queue_qsize(mpx_queue *q, int64_t *out)
{
    return proxy_call_int(&q->base, "qsize", NULL, 0, out);
}

int mpx_queue_empty(mpx_queue *q, bool *out)
{
    return proxy_call_bool(&q->base, "empty", NULL, 0, out);
}

int mpx_queue_full(mpx_queue *q, bool *out)
{
    return proxy_call_bool(&q->base, "full", NULL, 0, out);
}

int mpx_queue_task_done(mpx_queue *q)
{
    return proxy_call_void(&q->base, "task_done", NULL, 0);
}
