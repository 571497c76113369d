/* wait.c - see wait.h. Timers are libuv timers owned by their waiter; a waiter leaves
 * its object's list and its session's list in one place (waiter_free), so no path can
 * answer a call twice or leave a dangling entry. Re-runs happen only in
 * wait_run_signalled, which the server calls at its safe point: never inside a handler,
 * so a handler never sees another call's reply, and replies never close a session under
 * it (a failed reply only flags the session; it closes at the safe point).
 */
#include <assert.h>
#include <stdlib.h>

#include "mem.h"
#include "server_internal.h"
#include "wait.h"

static void link_into(mpx_wait_list *wl, mpx_waiter *w)
{
    list_push_back(&wl->waiters, &w->link);
    w->list = wl;
}

static void unlink_from_list(mpx_waiter *w)
{
    if (w->list == NULL)
        return;
    list_remove(&w->list->waiters, &w->link);
    w->list = NULL;
}

static void free_timer(uv_handle_t *h)
{
    mem_free(h);
}

void mpx_waiter_stop_timer(mpx_waiter *w)
{
    if (w->timer == NULL)
        return;
    uv_timer_t *t = w->timer;
    uv_timer_stop(t);
    t->data = NULL;
    uv_close((uv_handle_t *)t, free_timer);
    w->timer = NULL;
}

static void free_args(mpx_value *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mpx_value_free(&args[i]);
    mem_free(args);
}

static void waiter_free(mpx_waiter *w)
{
    assert(w->timer == NULL || ((uv_timer_t *)w->timer)->data == w);
    unlink_from_list(w);
    session_unlink_waiter(w->sess, &w->session_link);
    mpx_waiter_stop_timer(w);
    free_args(w->args, w->nargs);
    mpx_value_free(&w->arg);
    mem_free(w);
}

static void on_timer(uv_timer_t *t)
{
    mpx_waiter *w = t->data;
    if (w == NULL)
        return;
    mpx_waiter_stop_timer(w);
    if (w->ops != NULL && w->ops->on_timeout != NULL)
        w->ops->on_timeout(w);
    else
        mpx_waiter_reply(w, MPX_ETIMEOUT, "timed out", NULL);
}

static int start_timer(mpx_waiter *w, mpx_call *c)
{
    uv_timer_t *t = mem_alloc(sizeof *t);
    if (t == NULL)
        return MPX_ENOMEM;
    uv_timer_init(&c->srv->loop, t);
    t->data = w;
    double ms = c->timeout > 0 ? c->timeout * 1000.0 : 0;
    uv_timer_start(t, on_timer, ms > 1e12 ? (uint64_t)1e12 : (uint64_t)ms, 0);
    w->timer = t;
    return MPX_OK;
}

/* Moves the call's arguments into the waiter, for its re-runs; c->args then points at
 * them, so the handler that parks may still read them. */
static int save_args(mpx_waiter *w, mpx_call *c)
{
    if (c->nargs == 0)
        return MPX_OK;
    w->args = mem_alloc(c->nargs * sizeof *w->args);
    if (w->args == NULL)
        return MPX_ENOMEM;
    for (size_t i = 0; i < c->nargs; i++)
        mpx_value_move(&w->args[i], &c->args[i]);
    w->nargs = c->nargs;
    c->args = w->args;
    return MPX_OK;
}

int mpx_call_park(mpx_call *c, mpx_wait_list *wl, const mpx_wait_ops *ops, mpx_waiter **out)
{
    if (c->parked != NULL) { /* a re-run that must still wait: same waiter, same timer */
        mpx_waiter *w = c->parked;
        assert(w->sess == c->sess && w->list != NULL);
        if (w->list != wl) {
            unlink_from_list(w);
            link_into(wl, w);
        }
        if (out != NULL)
            *out = w;
        return MPX_PARKED;
    }
    if (c->sess == NULL || c->srv == NULL || c->fn == NULL)
        return mpx_call_fail(c, MPX_ERUNTIME, "this call must wait, and cannot here");
    /* One connection's own cap first: without it, one client could park max_waiters calls
     * and every other client's blocking call would fail. A re-run (above) never gets
     * here, so a call that already holds a slot keeps it. */
    if (session_nwaiters(c->sess) >= (size_t)c->srv->opts.max_waiters_per_session)
        return mpx_call_fail(c, MPX_ELIMIT, "too many calls waiting for this connection (%d)",
                             c->srv->opts.max_waiters_per_session);
    if (c->srv->nwaiters >= (size_t)c->srv->opts.max_waiters)
        return mpx_call_fail(c, MPX_ELIMIT, "too many calls waiting on the manager (%d)",
                             c->srv->opts.max_waiters);
    mpx_waiter *w = mem_calloc(1, sizeof *w);
    if (w == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    if ((c->has_timeout && start_timer(w, c) != MPX_OK) || save_args(w, c) != MPX_OK) {
        mpx_waiter_stop_timer(w); /* save_args moves nothing when it fails */
        mem_free(w);
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    w->sess = c->sess;
    w->call_id = c->call_id;
    w->obj = c->obj;
    w->fn = c->fn;
    w->ops = ops;
    wl->srv = c->srv;
    link_into(wl, w);
    session_link_waiter(c->sess, &w->session_link);
    if (out != NULL)
        *out = w;
    return MPX_PARKED;
}

/* The oldest waiter of wl whose session is not closing (those are dropped at the safe
 * point, and get nothing meanwhile), or NULL. */
static mpx_waiter *first_live(const list_node *from)
{
    for (const list_node *n = from; n != NULL; n = n->next) {
        mpx_waiter *w = list_entry(n, mpx_waiter, link);
        if (!session_closing(w->sess))
            return w;
    }
    return NULL;
}

bool mpx_call_first_in_line(const mpx_call *c, const mpx_wait_list *wl)
{
    mpx_waiter *first = first_live(wl->waiters.head);
    return first == NULL || first == c->parked;
}

mpx_waiter *mpx_wait_list_first(const mpx_wait_list *wl)
{
    return wl->waiters.head != NULL ? list_entry(wl->waiters.head, mpx_waiter, link) : NULL;
}

size_t mpx_wait_list_len(const mpx_wait_list *wl)
{
    return wl->waiters.len;
}

void mpx_wait_signal(mpx_wait_list *wl)
{
    assert(wl->srv != NULL || list_empty(&wl->waiters)); /* only a park sets srv */
    if (wl->signalled || wl->srv == NULL || list_empty(&wl->waiters))
        return;
    wl->signalled = true;
    list_push_back(&wl->srv->signalled, &wl->ready);
}

static void unsignal(mpx_wait_list *wl)
{
    if (!wl->signalled)
        return;
    wl->signalled = false;
    list_remove(&wl->srv->signalled, &wl->ready);
}

int mpx_waiter_reply(mpx_waiter *w, int rc, const char *msg, const mpx_value *result)
{
    /* out of every list before answering */
    struct mpx_session *sess = w->sess;
    uint64_t call_id = w->call_id;
    waiter_free(w);
    return session_reply(sess, call_id, rc, msg, result);
}

/* Runs a parked call's handler again; answers it unless it parked again (true). */
static bool rerun(mpx_waiter *w)
{
    assert(w->list != NULL && !session_closing(w->sess));
    mpx_call c = {.srv = w->list->srv, .sess = w->sess, .call_id = w->call_id, .obj = w->obj,
              .fn = w->fn, .args = w->args, .nargs = w->nargs, .parked = w};
    int rc = w->fn(&c);
    if (rc == MPX_PARKED) {
        mpx_value_free(&c.result);
        return true;
    }
    struct mpx_session *sess = w->sess;
    waiter_free(w);
    session_answer(sess, &c, rc);
    return false;
}

/* FIFO: re-runs the oldest live call until one must still wait. */
static void run_in_order(mpx_wait_list *wl)
{
    mpx_waiter *w;
    while ((w = first_live(wl->waiters.head)) != NULL)
        if (rerun(w) && w->list == wl)
            return; /* it must still wait, and so must those behind it */
}

/* Every waiter for itself: each call parked now is re-run once, oldest first. They are
 * taken out first, so that a call parking again (to the tail) is not met twice. */
static void run_each(mpx_wait_list *wl)
{
    mpx_wait_list round = {.srv = wl->srv};
    while (!list_empty(&wl->waiters)) {
        mpx_waiter *w = mpx_wait_list_first(wl);
        unlink_from_list(w);
        link_into(&round, w);
    }
    mpx_waiter *w;
    while ((w = first_live(round.waiters.head)) != NULL) {
        if (rerun(w) && w->list == &round) { /* parked again: back into wl, in order */
            unlink_from_list(w);
            link_into(wl, w);
        }
    }
    while (!list_empty(&round.waiters)) { /* closing sessions': back, to be dropped */
        mpx_waiter *left = mpx_wait_list_first(&round);
        unlink_from_list(left);
        link_into(wl, left);
    }
}

void wait_run_signalled(mpx_server *s)
{
    list_node *n;
    while ((n = list_pop_front(&s->signalled)) != NULL) {
        mpx_wait_list *wl = list_entry(n, mpx_wait_list, ready);
        assert(wl->signalled);
        wl->signalled = false;
        if (wl->each)
            run_each(wl);
        else
            run_in_order(wl);
    }
}

void mpx_waiter_requeue(mpx_waiter *w, mpx_wait_list *to, mpx_object *obj, mpx_method_fn fn)
{
    to->srv = w->list->srv;
    unlink_from_list(w);
    w->obj = obj;
    w->fn = fn;
    link_into(to, w);
}

void mpx_wait_list_close(mpx_wait_list *wl, int rc, const char *msg)
{
    unsignal(wl);
    while (!list_empty(&wl->waiters))
        mpx_waiter_reply(mpx_wait_list_first(wl), rc, msg, NULL);
    assert(!wl->signalled); /* a reply signals nothing: the object is going away */
}

void waiters_drop_session(list *session_waiters)
{
    while (!list_empty(session_waiters)) {
        mpx_waiter *w = list_entry(session_waiters->head, mpx_waiter, session_link);
        unlink_from_list(w); /* so on_drop never finds it among the waiters it wakes */
        if (w->ops != NULL && w->ops->on_drop != NULL)
            w->ops->on_drop(w);
        waiter_free(w);
    }
}
