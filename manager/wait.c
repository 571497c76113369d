/* wait.c - see wait.h. Timers are libuv timers owned by their waiter; a waiter leaves
 * its object's list and its session's list in one place (waiter_free), so no path can
 * answer a call twice or leave a dangling entry. */
#include <stdlib.h>

#include "server_internal.h"
#include "wait.h"

static void list_unlink(waiter *w)
{
    wait_list *wl = w->list;
    if (wl == NULL)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        wl->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        wl->tail = w->prev;
    wl->len--;
    w->list = NULL;
    w->prev = w->next = NULL;
}

static void list_append(wait_list *wl, waiter *w)
{
    w->list = wl;
    w->prev = wl->tail;
    w->next = NULL;
    if (wl->tail != NULL)
        wl->tail->next = w;
    else
        wl->head = w;
    wl->tail = w;
    wl->len++;
}

static void free_timer(uv_handle_t *h)
{
    free(h);
}

void waiter_stop_timer(waiter *w)
{
    if (w->timer == NULL)
        return;
    uv_timer_t *t = w->timer;
    uv_timer_stop(t);
    t->data = NULL;
    uv_close((uv_handle_t *)t, free_timer);
    w->timer = NULL;
}

static void waiter_free(waiter *w)
{
    list_unlink(w);
    session_unlink_waiter(w->sess, w);
    waiter_stop_timer(w);
    mpx_value_free(&w->arg);
    free(w);
}

static void on_timer(uv_timer_t *t)
{
    waiter *w = t->data;
    if (w == NULL)
        return;
    waiter_stop_timer(w);
    if (w->ops != NULL && w->ops->on_timeout != NULL)
        w->ops->on_timeout(w);
    else
        waiter_reply(w, MPX_ETIMEOUT, "timed out", NULL);
}

int call_park(call *c, wait_list *wl, const wait_ops *ops, waiter **out)
{
    if (c->sess == NULL || c->srv == NULL)
        return call_fail(c, MPX_ERUNTIME, "this call must wait, and cannot here");
    if (c->srv->opts.max_waiters > 0 && c->srv->nwaiters >= (size_t)c->srv->opts.max_waiters)
        return call_fail(c, MPX_ELIMIT, "too many calls waiting on the manager (%d)",
                         c->srv->opts.max_waiters);
    waiter *w = calloc(1, sizeof *w);
    if (w == NULL)
        return call_fail(c, MPX_ENOMEM, "out of memory");
    w->sess = c->sess;
    w->call_id = c->call_id;
    w->obj = c->obj;
    w->ops = ops;
    if (c->has_timeout) {
        uv_timer_t *t = malloc(sizeof *t);
        if (t == NULL) {
            free(w);
            return call_fail(c, MPX_ENOMEM, "out of memory");
        }
        uv_timer_init(&c->srv->loop, t);
        t->data = w;
        double ms = c->timeout > 0 ? c->timeout * 1000.0 : 0;
        uv_timer_start(t, on_timer, ms > 1e12 ? (uint64_t)1e12 : (uint64_t)ms, 0);
        w->timer = t;
    }
    list_append(wl, w);
    session_link_waiter(c->sess, w);
    if (out != NULL)
        *out = w;
    return MPX_PARKED;
}

int waiter_reply(waiter *w, int rc, const char *msg, const mpx_value *result)
{
    /* out of every list before answering: nothing the answer sets off can reach it */
    struct session *sess = w->sess;
    uint64_t call_id = w->call_id;
    waiter_free(w);
    return session_reply(sess, call_id, rc, msg, result);
}

int waiter_deliver(waiter *w, undelivered_fn fn, mpx_value *result)
{
    struct session *sess = w->sess;
    uint64_t call_id = w->call_id;
    object *obj = w->obj;
    waiter_free(w);
    return session_reply_keep(sess, call_id, obj, fn, result);
}

void waiter_move(waiter *w, wait_list *to)
{
    list_unlink(w);
    list_append(to, w);
}

void wait_list_fail_all(wait_list *wl, int rc, const char *msg)
{
    while (wl->head != NULL)
        waiter_reply(wl->head, rc, msg, NULL);
}

void waiters_drop_session(struct session *sess, waiter **session_list)
{
    (void)sess;
    while (*session_list != NULL) {
        waiter *w = *session_list;
        list_unlink(w); /* so on_drop never finds it among the waiters it wakes or fails */
        if (w->ops != NULL && w->ops->on_drop != NULL)
            w->ops->on_drop(w);
        waiter_free(w);
    }
}
