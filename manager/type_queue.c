/* type_queue.c - Queue and JoinableQueue: queue.Queue held by the manager.
 *
 * Items live in a ring buffer. Blocked gets and puts park FIFO through wait.c: a get
 * never passes a parked get, a put never passes a parked put. Whatever adds items signals
 * the getters, whatever makes room signals the putters, and wait.c re-runs them. An item
 * taken by a get travels as a delivery (mpx_undelivered_fn): when its reply cannot be
 * written, the item comes back to the head of the queue, so nothing put is lost while
 * the manager runs, even if that briefly holds more than maxsize.
 * A JoinableQueue counts items put and not yet marked done (join waits for zero) and items
 * taken and not yet marked done (task_done beyond them is an error); a plain Queue does
 * too, as Python's queue.Queue (and so its manager's Queue) has task_done and join.
 * Once the reply is in the socket, a plain get's item is the consumer's: one killed an
 * instant later loses it (the kernel took the bytes). get_acked closes that window: the
 * item stays the manager's, recorded for its session under a ticket, until ack(ticket);
 * when the session ends first, its unacknowledged items go back to the head of the queue,
 * in the order they were taken. Records are kept per session (inflight_by_session), so a
 * session that ends costs its own items, not everyone's.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "mem.h"
#include "sync.h"
#include "u64map.h"

#define QUEUE_MIN_CAP 8

/* An item handed out by get_acked and not yet acknowledged. */
typedef struct inflight {
    list_node link;   /* in its session's list, oldest first */
    uint64_t ticket;
    uint64_t session;
    mpx_value item;
} inflight;

typedef struct queue_state {
    mpx_value *ring;   /* cap slots; items at head, head+1, ... (mod cap) */
    size_t cap;        /* a power of two, or 0 */
    size_t head;
    size_t len;
    int64_t maxsize;   /* <= 0: unbounded */
    int64_t unfinished; /* put and not marked done (join waits for 0) */
    int64_t taken;      /* handed to a getter and not marked done */
    mpx_wait_list getters;
    mpx_wait_list putters;
    mpx_wait_list joiners;  /* each re-runs when unfinished reaches 0 */
    u64map inflight_by_ticket;  /* ticket -> inflight* */
    u64map inflight_by_session; /* session id -> list* of its inflight records */
    uint64_t next_ticket;
} queue_state;

static queue_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

/* ---- the ring ---------------------------------------------------------------------------- */

static mpx_value *slot(queue_state *q, size_t i)
{
    return &q->ring[(q->head + i) & (q->cap - 1)];
}

/* Room for n more items, so that pushes after it cannot fail. */
static int ring_reserve(queue_state *q, size_t n)
{
    if (n > SIZE_MAX / 2 - q->len)
        return MPX_ENOMEM;
    size_t need = q->len + n;
    if (need <= q->cap)
        return MPX_OK;
    size_t cap = q->cap ? q->cap : QUEUE_MIN_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > SIZE_MAX / sizeof(mpx_value))
        return MPX_ENOMEM;
    mpx_value *ring = mem_alloc(cap * sizeof *ring);
    if (ring == NULL)
        return MPX_ENOMEM;
    for (size_t i = 0; i < q->len; i++)
        ring[i] = *slot(q, i);
    mem_free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return MPX_OK;
}

/* Takes item; room must have been reserved. */
static void ring_push_back(queue_state *q, mpx_value *item)
{
    mpx_value_move(slot(q, q->len), item);
    q->len++;
}

static void ring_push_front(queue_state *q, mpx_value *item)
{
    q->head = (q->head + q->cap - 1) & (q->cap - 1);
    mpx_value_move(&q->ring[q->head], item);
    q->len++;
}

static void ring_pop_front(queue_state *q, mpx_value *out)
{
    mpx_value_move(out, &q->ring[q->head]);
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
}

/* Shrinks a ring that has emptied out, so a burst does not hold its memory forever. */
static void ring_trim(queue_state *q)
{
    if (q->len == 0 && q->cap > 1024) {
        mem_free(q->ring);
        q->ring = NULL;
        q->cap = q->head = 0;
    }
}

/* ---- arguments --------------------------------------------------------------------------- */

/* Python's Queue (block=True, timeout=None) from c->args[first..]: *block false answers
 * at once; a timeout is ignored when not blocking, as Python does. */
static int block_args(mpx_call *c, size_t first, bool *block)
{
    *block = c->nargs <= first || mpx_value_truthy(&c->args[first]);
    c->has_timeout = false;
    c->timeout = 0;
    if (c->nargs <= first + 1 || mpx_value_kind(&c->args[first + 1]) == MPX_NONE)
        return MPX_OK;
    double timeout;
    int rc = mpx_call_number_arg(c, first + 1, "timeout", &timeout);
    if (rc != MPX_OK)
        return rc;
    if (!*block)
        return MPX_OK;
    if (!(timeout >= 0))
        return mpx_call_fail(c, MPX_EVALUE, "'timeout' must be a non-negative number");
    c->has_timeout = true;
    c->timeout = timeout;
    return MPX_OK;
}

/* ---- moving items ------------------------------------------------------------------------ */

static bool bounded(const queue_state *q)
{
    return q->maxsize > 0;
}

static bool fits(const queue_state *q, size_t n)
{
    return !bounded(q) || (q->len <= (uint64_t)q->maxsize && n <= (uint64_t)q->maxsize - q->len);
}

/* Appends n items (room reserved), counting them for join. */
static void push_items(queue_state *q, mpx_value *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ring_push_back(q, &items[i]);
    q->unfinished += (int64_t)n;
    mpx_wait_signal(&q->getters);
}

/* Gives back items whose reply could not be written: to the head, in their order. */
static void put_back(queue_state *q, mpx_value *items, size_t n)
{
    if (ring_reserve(q, n) != MPX_OK)
        return; /* out of memory: they cannot be kept (the caller frees them) */
    for (size_t i = n; i-- > 0;)
        ring_push_front(q, &items[i]);
    q->taken -= (int64_t)n;
    mpx_wait_signal(&q->getters);
}

/* mpx_undelivered_fn of get: one item. */
static void get_undelivered(mpx_object *obj, mpx_value *item)
{
    put_back(state_of(obj), item, 1);
}

/* mpx_undelivered_fn of get_many: a list of items. */
static void get_many_undelivered(mpx_object *obj, mpx_value *list)
{
    put_back(state_of(obj), mpx_value_items(list), mpx_value_len(list));
}

/* Takes up to max items from the head: one item itself when !many, else a list. */
static int take_items(queue_state *q, bool many, size_t max, mpx_value *out)
{
    assert(q->len > 0 && max > 0);
    if (!many) {
        ring_pop_front(q, out);
    } else {
        size_t n = q->len < max ? q->len : max;
        int rc = mpx_value_list(out, n);
        if (rc != MPX_OK)
            return rc;
        for (size_t i = 0; i < n; i++) {
            mpx_value item;
            ring_pop_front(q, &item);
            mpx_value_append(out, &item); /* within the capacity asked for: cannot fail */
        }
    }
    q->taken += many ? (int64_t)mpx_value_len(out) : 1;
    mpx_wait_signal(&q->putters);
    ring_trim(q);
    return MPX_OK;
}

/* ---- parking ----------------------------------------------------------------------------- */

static void on_get_timeout(mpx_waiter *w)
{
    mpx_waiter_reply(w, MPX_EEMPTY, "the queue is empty", NULL);
}

/* A put that leaves the head of the line may let the smaller ones behind it in. */
static void on_put_timeout(mpx_waiter *w)
{
    mpx_wait_list *putters = &state_of(w->obj)->putters;
    mpx_waiter_reply(w, MPX_EFULL, "the queue is full", NULL);
    mpx_wait_signal(putters);
}

static void on_put_drop(mpx_waiter *w)
{
    mpx_wait_signal(&state_of(w->obj)->putters); /* w is out of the list already */
}

static const mpx_wait_ops get_ops = {.on_timeout = on_get_timeout};
static const mpx_wait_ops put_ops = {.on_timeout = on_put_timeout, .on_drop = on_put_drop};

/* ---- methods ----------------------------------------------------------------------------- */

/* Puts n items (taken from items) now when they fit and nobody waits ahead, else parks
 * the call. */
static int put_common(mpx_call *c, mpx_value *items, size_t n, bool block)
{
    queue_state *q = state_of(c->obj);
    if (bounded(q) && n > (uint64_t)q->maxsize)
        return mpx_call_fail(c, MPX_EVALUE, "%zu items can never fit in a queue of maxsize %lld",
                             n, (long long)q->maxsize);
    if (fits(q, n) && mpx_call_first_in_line(c, &q->putters)) {
        if (ring_reserve(q, n) != MPX_OK)
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
        push_items(q, items, n);
        return MPX_OK;
    }
    if (!block || (c->has_timeout && c->timeout <= 0))
        return mpx_call_fail(c, MPX_EFULL, "the queue is full");
    return mpx_call_park(c, &q->putters, &put_ops, NULL);
}

/* put(item, block=True, timeout=None) */
static int queue_put(mpx_call *c)
{
    bool block;
    int rc = block_args(c, 1, &block);
    if (rc != MPX_OK)
        return rc;
    return put_common(c, &c->args[0], 1, block);
}

/* put_nowait(item) */
static int queue_put_nowait(mpx_call *c)
{
    return put_common(c, &c->args[0], 1, false);
}

/* put_many(items, block=True, timeout=None): all of them, in order, or none (Full). */
static int queue_put_many(mpx_call *c)
{
    bool block;
    mpx_value *items = NULL;
    size_t n = 0;
    int rc = block_args(c, 1, &block);
    if (rc == MPX_OK)
        rc = mpx_call_sequence_arg(c, 0, "items", &items, &n);
    if (rc != MPX_OK || n == 0)
        return rc;
    return put_common(c, items, n, block);
}

/* Answers at once when items are there and no get waits ahead, else parks. */
static int get_common(mpx_call *c, bool many, size_t max, bool block)
{
    queue_state *q = state_of(c->obj);
    if (q->len > 0 && mpx_call_first_in_line(c, &q->getters)) {
        if (take_items(q, many, max, &c->result) != MPX_OK)
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
        c->undelivered = many ? get_many_undelivered : get_undelivered;
        return MPX_OK;
    }
    if (!block || (c->has_timeout && c->timeout <= 0))
        return mpx_call_fail(c, MPX_EEMPTY, "the queue is empty");
    return mpx_call_park(c, &q->getters, &get_ops, NULL);
}

/* get(block=True, timeout=None) -> item */
static int queue_get(mpx_call *c)
{
    bool block;
    int rc = block_args(c, 0, &block);
    if (rc != MPX_OK)
        return rc;
    return get_common(c, false, 1, block);
}

/* get_nowait() -> item */
static int queue_get_nowait(mpx_call *c)
{
    return get_common(c, false, 1, false);
}

/* get_many(max, block=True, timeout=None) -> a list of 1..max items */
static int queue_get_many(mpx_call *c)
{
    int64_t max;
    int rc = mpx_call_count_arg(c, 0, "max", 1, &max);
    if (rc != MPX_OK)
        return rc;
    bool block;
    if ((rc = block_args(c, 1, &block)) != MPX_OK)
        return rc;
    return get_common(c, true, (size_t)max, block);
}

/* The session's list of records, made on its first one (and watched, so that its end
 * gives them back). NULL when out of memory. */
static list *session_inflight(mpx_call *c, queue_state *q)
{
    uint64_t sid = mpx_call_session_id(c);
    list *l = u64map_get(&q->inflight_by_session, sid);
    if (l != NULL)
        return l;
    if ((l = calloc(1, sizeof *l)) == NULL)
        return NULL;
    if (u64map_put(&q->inflight_by_session, sid, l) != MPX_OK ||
        mpx_call_watch(c, c->obj) != MPX_OK) {
        u64map_del(&q->inflight_by_session, sid);
        free(l);
        return NULL;
    }
    return l;
}

static void inflight_forget(queue_state *q, inflight *f, list *l)
{
    list_remove(l, &f->link);
    u64map_del(&q->inflight_by_ticket, f->ticket);
    if (list_empty(l)) {
        u64map_del(&q->inflight_by_session, f->session);
        free(l);
    }
    mpx_value_free(&f->item);
    free(f);
}

/* Records the item just taken (c->result) for the caller and answers (ticket, copy). */
static int record_inflight(mpx_call *c)
{
    queue_state *q = state_of(c->obj);
    inflight *f = calloc(1, sizeof *f);
    list *l = f != NULL ? session_inflight(c, q) : NULL;
    mpx_value pair, copy, ticket;
    if (l == NULL || mpx_value_tuple(&pair, 2) != MPX_OK) {
        free(f);
        return MPX_ENOMEM;
    }
    f->ticket = ++q->next_ticket;
    f->session = mpx_call_session_id(c);
    ticket = mpx_value_int((int64_t)f->ticket);
    if (mpx_value_copy(&copy, &c->result) != MPX_OK ||
        u64map_put(&q->inflight_by_ticket, f->ticket, f) != MPX_OK) {
        mpx_value_free(&copy);
        mpx_value_free(&pair);
        free(f);
        if (list_empty(l)) {
            u64map_del(&q->inflight_by_session, mpx_call_session_id(c));
            free(l);
        }
        return MPX_ENOMEM;
    }
    mpx_value_move(&f->item, &c->result);
    list_push_back(l, &f->link);
    mpx_value_append(&pair, &ticket); /* within the capacity asked for */
    mpx_value_append(&pair, &copy);
    mpx_value_move(&c->result, &pair);
    return MPX_OK;
}

/* get_acked(block=True, timeout=None) -> (ticket, item): as get, but the item stays the
 * manager's until ack(ticket); if this connection ends first, it goes back to the queue. */
static int queue_get_acked(mpx_call *c)
{
    bool block;
    int rc = block_args(c, 0, &block);
    if (rc == MPX_OK)
        rc = get_common(c, false, 1, block);
    if (rc != MPX_OK)
        return rc;
    c->undelivered = NULL; /* the record keeps the item: the session's end returns it */
    if (record_inflight(c) != MPX_OK) {
        put_back(state_of(c->obj), &c->result, 1);
        mpx_value_free(&c->result);
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    return MPX_OK;
}

/* ack(ticket): the item of get_acked is the consumer's for good. */
static int queue_ack(mpx_call *c)
{
    queue_state *q = state_of(c->obj);
    int rc = mpx_call_expect_kind(c, 0, MPX_INT, "ticket");
    if (rc != MPX_OK)
        return rc;
    uint64_t ticket = (uint64_t)mpx_value_get_int(&c->args[0]);
    inflight *f = u64map_get(&q->inflight_by_ticket, ticket);
    if (f == NULL || f->session != mpx_call_session_id(c))
        return mpx_call_fail(c, MPX_EVALUE, "ticket %llu is not an item this connection holds",
                             (unsigned long long)ticket);
    inflight_forget(q, f, u64map_get(&q->inflight_by_session, f->session));
    return MPX_OK;
}

/* A consumer's connection ended: its unacknowledged items go back to the head, the
 * newest first, so that they come out again in the order they were taken. */
static void queue_session_ended(mpx_object *obj, uint64_t sid)
{
    queue_state *q = state_of(obj);
    list *l; /* forgetting the last record frees the list: look it up each time */
    while ((l = u64map_get(&q->inflight_by_session, sid)) != NULL) {
        inflight *f = list_entry(l->tail, inflight, link);
        put_back(q, &f->item, 1); /* takes it, unless out of memory: then it is lost */
        inflight_forget(q, f, l);
    }
}

/* qsize() -> int */
static int queue_qsize(mpx_call *c)
{
    c->result = mpx_value_int((int64_t)state_of(c->obj)->len);
    return MPX_OK;
}

/* empty() -> bool */
static int queue_empty(mpx_call *c)
{
    c->result = mpx_value_bool(state_of(c->obj)->len == 0);
    return MPX_OK;
}

/* full() -> bool */
static int queue_full(mpx_call *c)
{
    const queue_state *q = state_of(c->obj);
    c->result = mpx_value_bool(bounded(q) && q->len >= (uint64_t)q->maxsize);
    return MPX_OK;
}

/* task_done(): one item taken is finished; when none is left unfinished, join returns. */
static int queue_task_done(mpx_call *c)
{
    queue_state *q = state_of(c->obj);
    if (q->taken <= 0 || q->unfinished <= 0)
        return mpx_call_fail(c, MPX_EVALUE, "task_done() called too many times");
    q->taken--;
    if (--q->unfinished == 0)
        mpx_wait_signal(&q->joiners);
    return MPX_OK;
}

/* join(timeout=None): waits until every item put has been marked done. The timeout is
 * ours (Python's join has none): Timeout when it expires. */
static int queue_join(mpx_call *c)
{
    queue_state *q = state_of(c->obj);
    int rc = mpx_call_timeout_arg(c, 0);
    if (rc != MPX_OK)
        return rc;
    if (q->unfinished == 0)
        return MPX_OK;
    if (c->has_timeout && c->timeout <= 0)
        return mpx_call_fail(c, MPX_ETIMEOUT, "timed out");
    return mpx_call_park(c, &q->joiners, NULL, NULL);
}

/* ---- life cycle -------------------------------------------------------------------------- */

/* Queue(maxsize=0) / JoinableQueue(maxsize=0) */
static int queue_init(mpx_object *obj, mpx_call *c)
{
    int64_t maxsize = 0;
    if (c->nargs > 0) {
        int rc = mpx_call_expect_kind(c, 0, MPX_INT, "maxsize");
        if (rc != MPX_OK)
            return rc;
        maxsize = mpx_value_get_int(&c->args[0]);
    }
    queue_state *q = calloc(1, sizeof *q);
    if (q == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    q->maxsize = maxsize;
    q->joiners.each = true;
    u64map_init(&q->inflight_by_ticket);
    u64map_init(&q->inflight_by_session);
    obj->state = q;
    return MPX_OK;
}

static void queue_destroy(mpx_object *obj)
{
    queue_state *q = state_of(obj);
    if (q == NULL)
        return;
    mpx_wait_list_close(&q->getters, MPX_ENOOBJECT, "the queue was destroyed");
    mpx_wait_list_close(&q->putters, MPX_ENOOBJECT, "the queue was destroyed");
    mpx_wait_list_close(&q->joiners, MPX_ENOOBJECT, "the queue was destroyed");
    while (q->len > 0) {
        mpx_value item;
        ring_pop_front(q, &item);
        mpx_value_free(&item);
    }
    size_t pos = 0;
    uint64_t key;
    void *v;
    while (u64map_next(&q->inflight_by_ticket, &pos, &key, &v)) {
        mpx_value_free(&((inflight *)v)->item);
        free(v);
    }
    pos = 0;
    while (u64map_next(&q->inflight_by_session, &pos, &key, &v))
        free(v);
    u64map_free(&q->inflight_by_ticket);
    u64map_free(&q->inflight_by_session);
    mem_free(q->ring);
    free(q);
    obj->state = NULL;
}

#define QUEUE_METHODS                                                                     \
    {"put", queue_put, 1, 3, MPX_METHOD_MAY_WAIT | MPX_METHOD_GROWS},                     \
        {"put_nowait", queue_put_nowait, 1, 1, MPX_METHOD_GROWS},                         \
        {"put_many", queue_put_many, 1, 3, MPX_METHOD_MAY_WAIT | MPX_METHOD_GROWS},       \
        {"get", queue_get, 0, 2, MPX_METHOD_MAY_WAIT}, {"get_nowait", queue_get_nowait, 0, 0, 0}, \
        {"get_many", queue_get_many, 1, 3, MPX_METHOD_MAY_WAIT},                              \
        {"qsize", queue_qsize, 0, 0, 0}, {"empty", queue_empty, 0, 0, 0},                       \
        {"full", queue_full, 0, 0, 0}, {"task_done", queue_task_done, 0, 0, 0},             \
        {"join", queue_join, 0, 1, MPX_METHOD_MAY_WAIT},                                      \
        {"get_acked", queue_get_acked, 0, 2, MPX_METHOD_MAY_WAIT}, {"ack", queue_ack, 1, 1, 0}

/* Python's queue.Queue has task_done and join: a JoinableQueue differs only by name. */
static const mpx_method queue_methods[] = {QUEUE_METHODS};
static const mpx_method joinable_queue_methods[] = {QUEUE_METHODS};

const mpx_type type_queue = {
    .name = "Queue",
    .init = queue_init,
    .destroy = queue_destroy,
    .session_ended = queue_session_ended,
    .methods = queue_methods,
    .nmethods = sizeof queue_methods / sizeof queue_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};

const mpx_type type_joinable_queue = {
    .name = "JoinableQueue",
    .init = queue_init, /* the same state: only the methods differ */
    .destroy = queue_destroy,
    .session_ended = queue_session_ended,
    .methods = joinable_queue_methods,
    .nmethods = sizeof joinable_queue_methods / sizeof joinable_queue_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};
