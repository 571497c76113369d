/* type_queue.c - Queue and JoinableQueue: queue.Queue held by the manager.
 *
 * Items live in a ring buffer. Blocked gets and puts park FIFO through wait.c, and never
 * both at once: gets park only while the queue is empty, puts only while the putter at
 * their head does not fit (a put never passes a parked one). settle() restores that after
 * every change. An item taken by a get travels as a delivery (undelivered_fn): when its
 * reply cannot be written, the item comes back to the head of the queue, so nothing put
 * is lost while the manager runs, even if that briefly holds more than maxsize.
 * A JoinableQueue counts items put and not yet marked done (join waits for zero) and items
 * taken and not yet marked done (task_done beyond them is an error).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

#define QUEUE_MIN_CAP 8

typedef struct queue_state {
    mpx_value *ring;   /* cap slots; items at head, head+1, ... (mod cap) */
    size_t cap;        /* a power of two, or 0 */
    size_t head;
    size_t len;
    int64_t maxsize;   /* <= 0: unbounded */
    int64_t unfinished; /* put and not marked done (join waits for 0) */
    int64_t taken;      /* handed to a getter and not marked done */
    wait_list getters;  /* w->n: 0 for get, else get_many's max */
    wait_list putters;  /* w->arg: the item (put) or the list of items (put_many) */
    wait_list joiners;
} queue_state;

static queue_state *state_of(const object *obj)
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
    mpx_value *ring = malloc(cap * sizeof *ring);
    if (ring == NULL)
        return MPX_ENOMEM;
    for (size_t i = 0; i < q->len; i++)
        ring[i] = *slot(q, i);
    free(q->ring);
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
        free(q->ring);
        q->ring = NULL;
        q->cap = q->head = 0;
    }
}

/* ---- arguments --------------------------------------------------------------------------- */

/* Python's Queue (block=True, timeout=None) from c->args[first..]: *block false answers
 * at once; a timeout is ignored when not blocking, as Python does. */
static int block_args(call *c, size_t first, bool *block)
{
    *block = c->nargs <= first || mpx_value_truthy(&c->args[first]);
    c->has_timeout = false;
    c->timeout = 0;
    if (c->nargs <= first + 1 || mpx_value_kind(&c->args[first + 1]) == MPX_NONE)
        return MPX_OK;
    double timeout;
    int rc = sync_number_arg(c, first + 1, "timeout", &timeout);
    if (rc != MPX_OK)
        return rc;
    if (!*block)
        return MPX_OK;
    if (!(timeout >= 0))
        return call_fail(c, MPX_EVALUE, "'timeout' must be a non-negative number");
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

/* How many items a parked put carries. */
static size_t putter_count(const waiter *w)
{
    return w->n == 0 ? 1 : mpx_value_len(&w->arg);
}

/* Appends n items (room reserved), counting them for join. */
static void push_items(queue_state *q, mpx_value *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ring_push_back(q, &items[i]);
    q->unfinished += (int64_t)n;
}

/* Gives back items whose reply could not be written: to the head, in their order. */
static void put_back(queue_state *q, mpx_value *items, size_t n)
{
    if (ring_reserve(q, n) != MPX_OK)
        return; /* out of memory: they cannot be kept (the caller frees them) */
    for (size_t i = n; i-- > 0;)
        ring_push_front(q, &items[i]);
    q->taken -= (int64_t)n;
}

/* Puts back what a get took: one item, or get_many's list of items. */
static void put_back_taken(queue_state *q, bool many, mpx_value *taken)
{
    if (many)
        put_back(q, mpx_value_items(taken), mpx_value_len(taken));
    else
        put_back(q, taken, 1);
}

static void settle(object *obj);

/* undelivered_fn of get: one item. */
static void get_undelivered(object *obj, mpx_value *item)
{
    put_back_taken(state_of(obj), false, item);
    settle(obj);
}

/* undelivered_fn of get_many: a list of items. */
static void get_many_undelivered(object *obj, mpx_value *list)
{
    put_back_taken(state_of(obj), true, list);
    settle(obj);
}

/* Takes up to max items from the head: one item itself when !many, else a list. */
static int take_items(queue_state *q, bool many, size_t max, mpx_value *out)
{
    if (!many) {
        ring_pop_front(q, out);
        q->taken++;
        return MPX_OK;
    }
    size_t n = q->len < max ? q->len : max;
    int rc = mpx_value_list(out, n);
    if (rc != MPX_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        mpx_value item;
        ring_pop_front(q, &item);
        mpx_value_append(out, &item); /* within the capacity asked for: cannot fail */
    }
    q->taken += (int64_t)n;
    return MPX_OK;
}

/* Serves parked gets from the head of the queue, in order. */
static bool serve_getters(object *obj)
{
    queue_state *q = state_of(obj);
    bool moved = false;
    while (q->len > 0 && q->getters.head != NULL) {
        waiter *w = q->getters.head;
        bool many = w->n > 0;
        mpx_value out;
        if (take_items(q, many, (size_t)w->n, &out) != MPX_OK) {
            waiter_reply(w, MPX_ENOMEM, "out of memory", NULL);
            continue;
        }
        undelivered_fn fn = many ? get_many_undelivered : get_undelivered;
        if (waiter_deliver(w, fn, &out) != MPX_OK) {
            put_back_taken(q, many, &out); /* its session is gone: for the next one */
            mpx_value_free(&out);
        }
        moved = true;
    }
    return moved;
}

/* Admits parked puts, in order, while the one at the head fits. Its items go in only
 * once its caller has been answered: a put whose session is gone never happened. */
static bool admit_putters(object *obj)
{
    queue_state *q = state_of(obj);
    bool moved = false;
    while (q->putters.head != NULL && fits(q, putter_count(q->putters.head))) {
        waiter *w = q->putters.head;
        size_t n = putter_count(w);
        if (ring_reserve(q, n) != MPX_OK) {
            waiter_reply(w, MPX_ENOMEM, "out of memory", NULL);
            continue;
        }
        mpx_value arg;
        mpx_value_move(&arg, &w->arg);
        bool many = w->n != 0;
        if (waiter_reply(w, MPX_OK, "", NULL) == MPX_OK) {
            push_items(q, many ? mpx_value_items(&arg) : &arg, n);
            moved = true;
        }
        mpx_value_free(&arg);
    }
    return moved;
}

/* After any change: items to parked gets, room to parked puts, until neither moves. */
static void settle(object *obj)
{
    while (serve_getters(obj) | admit_putters(obj))
        ;
    ring_trim(state_of(obj));
}

/* ---- parking ----------------------------------------------------------------------------- */

static void on_get_timeout(waiter *w)
{
    waiter_reply(w, MPX_EEMPTY, "the queue is empty", NULL);
}

/* A put that leaves the head of the line may let the ones behind it in. */
static void on_put_timeout(waiter *w)
{
    object *obj = w->obj;
    waiter_reply(w, MPX_EFULL, "the queue is full", NULL);
    settle(obj);
}

static void on_put_drop(waiter *w)
{
    /* the waiter is out of the list already; it is freed right after this */
    settle(w->obj);
}

static const wait_ops get_ops = {.on_timeout = on_get_timeout};
static const wait_ops put_ops = {.on_timeout = on_put_timeout, .on_drop = on_put_drop};

/* ---- methods ----------------------------------------------------------------------------- */

/* Puts n items (taken from items) now when they fit and nobody waits ahead, else parks
 * the call with arg (the item or the list, taken). */
static int put_common(call *c, mpx_value *arg, bool many, mpx_value *items, size_t n,
                      bool block)
{
    queue_state *q = state_of(c->obj);
    if (bounded(q) && n > (uint64_t)q->maxsize)
        return call_fail(c, MPX_EVALUE, "%zu items can never fit in a queue of maxsize %lld",
                         n, (long long)q->maxsize);
    if (q->putters.head == NULL && fits(q, n)) {
        if (ring_reserve(q, n) != MPX_OK)
            return call_fail(c, MPX_ENOMEM, "out of memory");
        push_items(q, items, n);
        settle(c->obj);
        return MPX_OK;
    }
    if (!block || (c->has_timeout && c->timeout <= 0))
        return call_fail(c, MPX_EFULL, "the queue is full");
    waiter *w;
    int rc = call_park(c, &q->putters, &put_ops, &w);
    if (rc == MPX_PARKED) {
        mpx_value_move(&w->arg, arg);
        w->n = many ? 1 : 0;
    }
    return rc;
}

/* put(item, block=True, timeout=None) */
static int queue_put(call *c)
{
    bool block;
    int rc = block_args(c, 1, &block);
    if (rc != MPX_OK)
        return rc;
    return put_common(c, &c->args[0], false, &c->args[0], 1, block);
}

/* put_nowait(item) */
static int queue_put_nowait(call *c)
{
    return put_common(c, &c->args[0], false, &c->args[0], 1, false);
}

/* put_many(items, block=True, timeout=None): all of them, in order, or none (Full). */
static int queue_put_many(call *c)
{
    bool block;
    mpx_value *items = NULL;
    size_t n = 0;
    int rc = block_args(c, 1, &block);
    if (rc == MPX_OK)
        rc = call_sequence_arg(c, 0, "items", &items, &n);
    if (rc != MPX_OK || n == 0)
        return rc;
    return put_common(c, &c->args[0], true, items, n, block);
}

/* Answers at once when items are there (nobody parks while there are), else parks. */
static int get_common(call *c, bool many, size_t max, bool block)
{
    queue_state *q = state_of(c->obj);
    if (q->len > 0) {
        if (take_items(q, many, max, &c->result) != MPX_OK)
            return call_fail(c, MPX_ENOMEM, "out of memory");
        c->undelivered = many ? get_many_undelivered : get_undelivered;
        settle(c->obj);
        return MPX_OK;
    }
    if (!block || (c->has_timeout && c->timeout <= 0))
        return call_fail(c, MPX_EEMPTY, "the queue is empty");
    waiter *w;
    int rc = call_park(c, &q->getters, &get_ops, &w);
    if (rc == MPX_PARKED)
        w->n = many ? (int64_t)max : 0;
    return rc;
}

/* get(block=True, timeout=None) -> item */
static int queue_get(call *c)
{
    bool block;
    int rc = block_args(c, 0, &block);
    if (rc != MPX_OK)
        return rc;
    return get_common(c, false, 1, block);
}

/* get_nowait() -> item */
static int queue_get_nowait(call *c)
{
    return get_common(c, false, 1, false);
}

/* get_many(max, block=True, timeout=None) -> a list of 1..max items */
static int queue_get_many(call *c)
{
    int64_t max;
    int rc = call_count_arg(c, 0, "max", 1, &max);
    if (rc != MPX_OK)
        return rc;
    bool block;
    if ((rc = block_args(c, 1, &block)) != MPX_OK)
        return rc;
    return get_common(c, true, (size_t)max, block);
}

/* qsize() -> int */
static int queue_qsize(call *c)
{
    c->result = mpx_value_int((int64_t)state_of(c->obj)->len);
    return MPX_OK;
}

/* empty() -> bool */
static int queue_empty(call *c)
{
    c->result = mpx_value_bool(state_of(c->obj)->len == 0);
    return MPX_OK;
}

/* full() -> bool */
static int queue_full(call *c)
{
    const queue_state *q = state_of(c->obj);
    c->result = mpx_value_bool(bounded(q) && q->len >= (uint64_t)q->maxsize);
    return MPX_OK;
}

/* task_done(): one item taken is finished; when none is left unfinished, join returns. */
static int queue_task_done(call *c)
{
    queue_state *q = state_of(c->obj);
    if (q->taken <= 0 || q->unfinished <= 0)
        return call_fail(c, MPX_EVALUE, "task_done() called too many times");
    q->taken--;
    q->unfinished--;
    if (q->unfinished == 0)
        while (q->joiners.head != NULL)
            waiter_reply(q->joiners.head, MPX_OK, "", NULL);
    return MPX_OK;
}

/* join(timeout=None): waits until every item put has been marked done. The timeout is
 * ours (Python's join has none): Timeout when it expires. */
static int queue_join(call *c)
{
    queue_state *q = state_of(c->obj);
    int rc = sync_timeout_arg(c, 0);
    if (rc != MPX_OK)
        return rc;
    if (q->unfinished == 0)
        return MPX_OK;
    if (c->has_timeout && c->timeout <= 0)
        return call_fail(c, MPX_ETIMEOUT, "timed out");
    return call_park(c, &q->joiners, NULL, NULL);
}

/* ---- life cycle -------------------------------------------------------------------------- */

/* Queue(maxsize=0) / JoinableQueue(maxsize=0) */
static int queue_init(object *obj, call *c)
{
    int64_t maxsize = 0;
    if (c->nargs > 0) {
        int rc = call_expect_kind(c, 0, MPX_INT, "maxsize");
        if (rc != MPX_OK)
            return rc;
        maxsize = mpx_value_get_int(&c->args[0]);
    }
    queue_state *q = calloc(1, sizeof *q);
    if (q == NULL)
        return call_fail(c, MPX_ENOMEM, "out of memory");
    q->maxsize = maxsize;
    obj->state = q;
    return MPX_OK;
}

static void queue_destroy(object *obj)
{
    queue_state *q = state_of(obj);
    if (q == NULL)
        return;
    wait_list_fail_all(&q->getters, MPX_ENOOBJECT, "the queue was destroyed");
    wait_list_fail_all(&q->putters, MPX_ENOOBJECT, "the queue was destroyed");
    wait_list_fail_all(&q->joiners, MPX_ENOOBJECT, "the queue was destroyed");
    while (q->len > 0) {
        mpx_value item;
        ring_pop_front(q, &item);
        mpx_value_free(&item);
    }
    free(q->ring);
    free(q);
    obj->state = NULL;
}

#define QUEUE_METHODS                                                                     \
    {"put", queue_put, 1, 3}, {"put_nowait", queue_put_nowait, 1, 1},                     \
        {"put_many", queue_put_many, 1, 3}, {"get", queue_get, 0, 2},                     \
        {"get_nowait", queue_get_nowait, 0, 0}, {"get_many", queue_get_many, 1, 3},       \
        {"qsize", queue_qsize, 0, 0}, {"empty", queue_empty, 0, 0},                       \
        {"full", queue_full, 0, 0}

static const method_def queue_methods[] = {QUEUE_METHODS};

static const method_def joinable_queue_methods[] = {
    QUEUE_METHODS,
    {"task_done", queue_task_done, 0, 0},
    {"join", queue_join, 0, 1},
};

const object_type type_queue = {
    .name = "Queue",
    .init = queue_init,
    .destroy = queue_destroy,
    .methods = queue_methods,
    .nmethods = sizeof queue_methods / sizeof queue_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};

const object_type type_joinable_queue = {
    .name = "JoinableQueue",
    .init = queue_init, /* the same state: only the methods differ */
    .destroy = queue_destroy,
    .methods = joinable_queue_methods,
    .nmethods = sizeof joinable_queue_methods / sizeof joinable_queue_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};
