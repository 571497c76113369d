/* type_pool.c - TaskPool: the tasks of a process pool, leased to the workers that run them.
 *
 * A submitter adds tasks (any values; ids are consecutive from 1) and collects the results
 * of its own tasks (several submitters may share a pool); workers take tasks and finish
 * them with results. A submitter's session that ends takes its pending tasks and its
 * uncollected results with it. A task taken is leased to the taker's session: if that
 * session ends before the task is finished, the task goes back to the head of the queue
 * and runs again elsewhere (at-least-once; the first result wins), up to the tries it was
 * submitted with: a task whose workers keep dying (it crashes them) then fails with
 * RuntimeError instead of killing worker after worker, and a chunk of a map goes on item
 * by item. Takes and result collections park through wait.c. Once the pool is closed and
 * every task is done, parked and later takes answer None, which tells workers to leave;
 * terminate drops what is pending at once, cancel the pending tasks a submitter names.
 * Invariant: a task id is in exactly one of pending, running, or done (its result waiting
 * in its owner's queue, or collected, or cancelled).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec.h"
#include "sync.h"
#include "u64map.h"

typedef struct task {
    uint64_t id;
    uint64_t owner;  /* the session that submitted it */
    uint64_t holder; /* the session running it; 0 while pending */
    int64_t tries;   /* how many times it may be handed out */
    int64_t lost;    /* how many times a session running it ended first */
    int64_t split_tries; /* a chunk, lost: its items go on as tasks with these tries */
    mpx_value payload;
    list_node link;  /* in pending */
} task;

typedef struct result {
    uint64_t id;
    int64_t status;  /* 0 or the mpx error code the function failed with */
    mpx_value value; /* the result, or the error message */
    list_node link; /* in its owner's results */
} result;

/* A submitter: its finished results, in finishing order, and its tasks still to come. */
typedef struct owner {
    list results;       /* finished, in finishing order (result.link) */
    size_t outstanding; /* pending or running */
} owner;

typedef struct pool_state {
    list pending;      /* tasks not yet taken, in order (task.link) */
    u64map running;    /* id -> task */
    u64map workers;    /* session ids of the workers (the value is unused) */
    u64map owners;     /* session id -> owner */
    uint64_t next_id;
    uint64_t done;     /* results accepted */
    bool closed;
    bool terminated;
    mpx_wait_list takers;
    mpx_wait_list collectors; /* each collects its own results */
} pool_state;

/* The tries of a task submitted without saying: a task may kill the worker running it
 * (abort, a segfault) or lose it to a host that vanished; three runs tell one from the other
 * well enough, and bound what one bad task costs. */
#define DEFAULT_TRIES 3

static pool_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

/* ---- the queues --------------------------------------------------------------------------- */

static task *pending_pop(pool_state *p)
{
    return list_entry(list_pop_front(&p->pending), task, link);
}

static void task_free(task *t)
{
    mpx_value_free(&t->payload);
    free(t);
}

static owner *owner_of(const pool_state *p, uint64_t sid)
{
    return u64map_get(&p->owners, sid);
}

/* The caller's owner record, made (and its session watched) on its first submit. */
static owner *owner_join(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    uint64_t sid = mpx_call_session_id(c);
    owner *o = owner_of(p, sid);
    if (o != NULL)
        return o;
    if ((o = calloc(1, sizeof *o)) == NULL)
        return NULL;
    if (u64map_put(&p->owners, sid, o) != MPX_OK) {
        free(o);
        return NULL;
    }
    if (mpx_call_watch(c, c->obj) != MPX_OK) {
        u64map_del(&p->owners, sid);
        free(o);
        return NULL;
    }
    return o;
}

static void owner_free(owner *o)
{
    list_node *n;
    while ((n = list_pop_front(&o->results)) != NULL) {
        result *r = list_entry(n, result, link);
        mpx_value_free(&r->value);
        free(r);
    }
    free(o);
}

/* Records the caller as a worker, watched so that its leases end with its session. */
static int worker_join(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    uint64_t sid = mpx_call_session_id(c);
    if (u64map_get(&p->workers, sid) != NULL)
        return MPX_OK;
    if (u64map_put(&p->workers, sid, (void *)1) != MPX_OK)
        return MPX_ENOMEM;
    if (mpx_call_watch(c, c->obj) != MPX_OK) {
        u64map_del(&p->workers, sid);
        return MPX_ENOMEM;
    }
    return MPX_OK;
}

/* [id, payload] for a task handed out; the payload is copied (the lease keeps it). */
static int task_pair(const task *t, mpx_value *out)
{
    mpx_value id = mpx_value_int((int64_t)t->id), payload;
    int rc = mpx_value_tuple(out, 2);
    if (rc == MPX_OK && (rc = mpx_value_copy(&payload, &t->payload)) == MPX_OK) {
        mpx_value_append(out, &id);
        if ((rc = mpx_value_append(out, &payload)) != MPX_OK)
            mpx_value_free(&payload);
    }
    if (rc != MPX_OK)
        mpx_value_free(out);
    return rc;
}

/* Leases up to max pending tasks to session sid into *out (a list). Out of memory after
 * the first, it hands out those leased so far; before it, MPX_ENOMEM and nothing moved. */
static int lease(pool_state *p, uint64_t sid, size_t max, mpx_value *out)
{
    size_t n = p->pending.len < max ? p->pending.len : max;
    int rc = mpx_value_list(out, n);
    if (rc != MPX_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        task *t = list_entry(p->pending.head, task, link);
        mpx_value pair;
        if ((rc = task_pair(t, &pair)) != MPX_OK)
            break;
        if ((rc = u64map_put(&p->running, t->id, t)) != MPX_OK) {
            mpx_value_free(&pair);
            break;
        }
        pending_pop(p);
        mpx_value_append(out, &pair); /* within the capacity asked for */
        t->holder = sid;
    }
    if (rc != MPX_OK && mpx_value_len(out) == 0) {
        mpx_value_free(out);
        return rc;
    }
    return MPX_OK;
}

/* Whether a payload is a chunk of a map as the pool sends one: (fn, items, star), items a
 * list [item, ...] or that list packed into bytes, so that this loop moves a chunk whole
 * instead of each of its items (pool/chunk.c packs): 'q' then little-endian int64s, or
 * 'c' then the codec's bytes of a reply whose value is the list. */
static bool is_chunk(const mpx_value *payload)
{
    mpx_kind items = mpx_value_kind(mpx_value_at(payload, 1));
    return mpx_value_kind(payload) == MPX_TUPLE && mpx_value_len(payload) == 3 &&
           mpx_value_kind(mpx_value_at(payload, 0)) == MPX_STR &&
           (items == MPX_LIST || items == MPX_BYTES) &&
           mpx_value_kind(mpx_value_at(payload, 2)) == MPX_BOOL;
}

/* A chunk's items as a list: *items borrowed from the payload, or unpacked into *tmp. */
static int chunk_items(const task *t, mpx_value *tmp, const mpx_value **items)
{
    const mpx_value *v = mpx_value_at(&t->payload, 1);
    *tmp = mpx_value_none();
    *items = v;
    if (mpx_value_kind(v) == MPX_LIST)
        return MPX_OK;
    const uint8_t *p = (const uint8_t *)mpx_value_str_data(v);
    size_t len = mpx_value_str_len(v);
    *items = tmp;
    if (len >= 1 && p[0] == 'q' && (len - 1) % 8 == 0) {
        int rc = mpx_value_list(tmp, (len - 1) / 8);
        for (size_t i = 1; rc == MPX_OK && i < len; i += 8) {
            uint64_t x = 0;
            for (int b = 0; b < 8; b++)
                x |= (uint64_t)p[i + (size_t)b] << (8 * b);
            mpx_value item = mpx_value_int((int64_t)x);
            rc = mpx_value_append(tmp, &item);
        }
        return rc;
    }
    if (len < 1 || p[0] != 'c')
        return MPX_EPROTO;
    mpx_reply r;
    char err[64];
    int rc = codec_reply_decode(p + 1, len - 1, &r, err, sizeof err);
    if (rc != MPX_OK)
        return rc;
    mpx_value_move(tmp, &r.value);
    codec_reply_clear(&r);
    return mpx_value_kind(tmp) == MPX_LIST ? MPX_OK : MPX_EPROTO;
}

/* "fn(a, b)" for a task (fn, args) that names its function, shortened to fit; "a chunk of
 * fn's items" for a chunk; otherwise "task ID". */
static void task_name(const task *t, char *buf, size_t size)
{
    const mpx_value *pl = &t->payload, *fn = mpx_value_at(pl, 0), *args = mpx_value_at(pl, 1);
    if (is_chunk(pl)) {
        snprintf(buf, size, "a chunk of %s's items", mpx_value_str_data(fn));
        return;
    }
    if (mpx_value_kind(pl) != MPX_TUPLE || mpx_value_len(pl) != 2 ||
        mpx_value_kind(fn) != MPX_STR || mpx_value_kind(args) != MPX_TUPLE) {
        snprintf(buf, size, "task %llu", (unsigned long long)t->id);
        return;
    }
    size_t used = (size_t)snprintf(buf, size, "%s(", mpx_value_str_data(fn));
    for (size_t i = 0; i < mpx_value_len(args) && used < size; i++) {
        char *r = mpx_value_repr(mpx_value_at(args, i));
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", r ? r : "?");
        free(r);
    }
    if (used + 2 >= size && size > 5) /* cut: say so */
        snprintf(buf + size - 5, 5, "...)");
    else if (used < size)
        snprintf(buf + used, size - used, ")");
}

/* Replaces a lost chunk by one task per item, fn(*item) or fn(item), with split_tries
 * each, at the head of the queue in their order; *first is the first new id. */
static int split_task(pool_state *p, task *chunk, uint64_t *first)
{
    mpx_value *fn = mpx_value_at(&chunk->payload, 0), unpacked;
    const mpx_value *items;
    bool star = mpx_value_get_bool(mpx_value_at(&chunk->payload, 2));
    int rc = chunk_items(chunk, &unpacked, &items);
    size_t n = rc == MPX_OK ? mpx_value_len(items) : 0;
    task **made = rc == MPX_OK ? calloc(n ? n : 1, sizeof *made) : NULL;
    if (rc == MPX_OK && made == NULL)
        rc = MPX_ENOMEM;
    for (size_t i = 0; i < n && rc == MPX_OK; i++) {
        mpx_value name, args = mpx_value_none(), item;
        if ((made[i] = calloc(1, sizeof *made[i])) == NULL ||
            (rc = mpx_value_tuple(&made[i]->payload, 2)) != MPX_OK ||
            (rc = mpx_value_copy(&name, fn)) != MPX_OK) {
            rc = MPX_ENOMEM;
            break;
        }
        mpx_value_append(&made[i]->payload, &name);
        if (!star && (rc = mpx_value_tuple(&args, 1)) == MPX_OK &&
            (rc = mpx_value_copy(&item, mpx_value_at(items, i))) == MPX_OK)
            mpx_value_append(&args, &item);
        else if (star)
            rc = mpx_value_copy(&args, mpx_value_at(items, i));
        if (rc != MPX_OK || (rc = mpx_value_append(&made[i]->payload, &args)) != MPX_OK) {
            mpx_value_free(&args);
            break;
        }
    }
    mpx_value_free(&unpacked);
    if (rc != MPX_OK) {
        for (size_t i = 0; made != NULL && i < n && made[i] != NULL; i++)
            task_free(made[i]);
        free(made);
        return rc;
    }
    *first = p->next_id;
    for (size_t i = 0; i < n; i++) {
        made[i]->id = p->next_id++;
        made[i]->owner = chunk->owner;
        made[i]->tries = chunk->split_tries;
    }
    for (size_t i = n; i-- > 0;)
        list_push_front(&p->pending, &made[i]->link);
    owner *o = owner_of(p, chunk->owner);
    if (o != NULL)
        o->outstanding += n;
    free(made);
    return MPX_OK;
}

/* A task whose tries are used up: it fails with RuntimeError and (message, times) as its
 * value, or, a chunk submitted with split_tries, (message, times, first id) once its items
 * go on as tasks of their own. Its owner gone, it is dropped. */
static void task_lost(pool_state *p, task *t)
{
    owner *o = owner_of(p, t->owner);
    if (o == NULL) {
        task_free(t);
        return;
    }
    char name[128], msg[MPX_CALL_ERRMSG_MAX];
    task_name(t, name, sizeof name);
    uint64_t first = 0;
    bool split = t->split_tries > 0 && is_chunk(&t->payload) &&
                 split_task(p, t, &first) == MPX_OK;
    snprintf(msg, sizeof msg, "the worker running %s ended before it finished, %lld time%s "
             "(crashed, killed or disconnected)%s", name, (long long)t->lost,
             t->lost == 1 ? "" : "s", split ? "; its items run again one by one" : "");
    o->outstanding--;
    result *r = calloc(1, sizeof *r);
    mpx_value text, times = mpx_value_int(t->lost), next = mpx_value_int((int64_t)first);
    if (r != NULL && mpx_value_tuple(&r->value, 3) == MPX_OK &&
        mpx_value_str(&text, msg) == MPX_OK) {
        mpx_value_append(&r->value, &text);
        mpx_value_append(&r->value, &times);
        if (split)
            mpx_value_append(&r->value, &next);
        r->id = t->id;
        r->status = MPX_ERUNTIME;
        list_push_back(&o->results, &r->link);
        p->done++;
    } else if (r != NULL) { /* out of memory: its owner hears [] once nothing else can come */
        mpx_value_free(&r->value);
        free(r);
    }
    task_free(t);
}

/* Takes back every task a session runs (its lease ended) to the head of the queue. Each
 * round moves its highest id to the front, so the lowest ends first, as submitted. A task
 * that has used up its tries is lost instead (task_lost). */
static void unlease_session(pool_state *p, uint64_t sid)
{
    for (;;) {
        task *last = NULL;
        size_t pos = 0;
        uint64_t id;
        void *v;
        while (u64map_next(&p->running, &pos, &id, &v)) {
            task *t = v;
            if (t->holder == sid && (last == NULL || t->id > last->id))
                last = t;
        }
        if (last == NULL)
            return;
        u64map_del(&p->running, last->id);
        last->holder = 0;
        if (p->terminated) { /* nothing runs again */
            owner *o = owner_of(p, last->owner);
            if (o != NULL)
                o->outstanding--;
            task_free(last);
        } else if (++last->lost >= last->tries) {
            task_lost(p, last);
        } else {
            list_push_front(&p->pending, &last->link);
        }
    }
}

/* [id, status, value] of a finished task, moved out of r (freed). */
static int result_triple(result *r, mpx_value *out)
{
    mpx_value id = mpx_value_int((int64_t)r->id), status = mpx_value_int(r->status);
    int rc = mpx_value_tuple(out, 3);
    if (rc == MPX_OK) {
        mpx_value_append(out, &id);
        mpx_value_append(out, &status);
        mpx_value_append(out, &r->value);
    }
    return rc;
}

/* Up to max of o's results into *out (a list); those handed out are gone from it. */
static int collect(owner *o, size_t max, mpx_value *out)
{
    size_t n = o == NULL ? 0 : o->results.len < max ? o->results.len : max;
    int rc = mpx_value_list(out, n);
    if (rc != MPX_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        result *r = list_entry(o->results.head, result, link);
        mpx_value triple;
        if ((rc = result_triple(r, &triple)) != MPX_OK)
            return MPX_OK; /* out of memory: hand out what is built, the rest stays */
        list_remove(&o->results, &r->link);
        mpx_value_append(out, &triple);
        free(r);
    }
    return MPX_OK;
}

/* Nothing more will come for o: no results waiting, no task pending or running. */
static bool owner_idle(const owner *o)
{
    return o == NULL || (o->results.len == 0 && o->outstanding == 0);
}

/* Nothing more will ever be handed to workers. */
static bool drained(const pool_state *p)
{
    return p->terminated || (p->closed && p->pending.len == 0 && p->running.len == 0);
}

/* After any change that may let parked calls through: tasks came, results came, the
 * pool drained. wait.c re-runs them (take and results answer or park again). */
static void signal_all(mpx_object *obj)
{
    pool_state *p = state_of(obj);
    mpx_wait_signal(&p->takers);
    mpx_wait_signal(&p->collectors);
}

/* ---- methods ------------------------------------------------------------------------------ */

/* submit(tasks, tries=3, split_tries=None) -> the first task's id (the others follow it).
 * Each task is handed out at most tries times: when the worker running it ends before
 * finishing it for the tries-th time, it fails with RuntimeError (task_lost). With
 * split_tries, a task that is a chunk, (fn, [item, ...], star), then goes on as one task
 * per item, (fn, item) when star, else (fn, (item,)), each with split_tries: so only the
 * items that end their worker fail. */
static int pool_submit(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    mpx_value *items;
    size_t n;
    int64_t tries, split_tries = 0;
    int rc = mpx_call_sequence_arg(c, 0, "tasks", &items, &n);
    if (rc == MPX_OK)
        rc = mpx_call_count_arg(c, 1, "tries", DEFAULT_TRIES, &tries);
    if (rc == MPX_OK && c->nargs > 2 && mpx_value_kind(&c->args[2]) != MPX_NONE)
        rc = mpx_call_count_arg(c, 2, "split_tries", 0, &split_tries);
    if (rc != MPX_OK)
        return rc;
    if (p->closed)
        return mpx_call_fail(c, MPX_EVALUE, "Pool not running");
    task **made = calloc(n ? n : 1, sizeof *made);
    if (made == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if ((made[i] = calloc(1, sizeof *made[i])) == NULL) {
            for (size_t j = 0; j < i; j++)
                free(made[j]);
            free(made);
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
        }
    }
    owner *o = owner_join(c);
    if (o == NULL) {
        for (size_t i = 0; i < n; i++)
            free(made[i]);
        free(made);
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    uint64_t first = p->next_id, sid = mpx_call_session_id(c);
    for (size_t i = 0; i < n; i++) {
        made[i]->id = p->next_id++;
        made[i]->owner = sid;
        made[i]->tries = tries;
        made[i]->split_tries = split_tries;
        mpx_value_move(&made[i]->payload, &items[i]);
        list_push_back(&p->pending, &made[i]->link);
    }
    o->outstanding += n;
    free(made);
    c->result = mpx_value_int((int64_t)first);
    signal_all(c->obj);
    return MPX_OK;
}

/* (max=1, timeout=None), the arguments of take and results. */
static int max_timeout_args(mpx_call *c, int64_t *max)
{
    int rc = mpx_call_count_arg(c, 0, "max", 1, max);
    return rc == MPX_OK ? mpx_call_timeout_arg(c, 1) : rc;
}

/* Answers with what is there (fill), or parks the call in wl. */
static int answer_or_park(mpx_call *c, bool ready, int (*fill)(mpx_call *c, size_t max),
                          int64_t max, mpx_wait_list *wl, const char *none_in_time)
{
    if (ready)
        return fill(c, (size_t)max) == MPX_OK ? MPX_OK
                                             : mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    if (c->has_timeout && c->timeout <= 0)
        return mpx_call_fail(c, MPX_ETIMEOUT, "%s", none_in_time);
    return mpx_call_park(c, wl, NULL, NULL);
}

static int fill_tasks(mpx_call *c, size_t max)
{
    return lease(state_of(c->obj), mpx_call_session_id(c), max, &c->result);
}

static int fill_results(mpx_call *c, size_t max)
{
    pool_state *p = state_of(c->obj);
    return collect(owner_of(p, mpx_call_session_id(c)), max, &c->result);
}

/* take(max=1, timeout=None) -> a list of [id, task], or None when the pool is drained */
static int pool_take(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    int64_t max;
    int rc = max_timeout_args(c, &max);
    if (rc != MPX_OK)
        return rc;
    if (worker_join(c) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    if (drained(p))
        return MPX_OK; /* None: leave */
    bool ready = p->pending.len > 0 && mpx_call_first_in_line(c, &p->takers);
    return answer_or_park(c, ready, fill_tasks, max, &p->takers, "no task in time");
}

/* Reads one [id, status, value] of finish(); MPX_OK or TypeError. */
static int finished_item(mpx_call *c, const mpx_value *item, uint64_t *id, int64_t *status)
{
    mpx_kind k = mpx_value_kind(item);
    bool triple = (k == MPX_LIST || k == MPX_TUPLE) && mpx_value_len(item) == 3;
    const mpx_value *parts = triple ? mpx_value_items(item) : NULL; /* not on an int */
    if (!triple || mpx_value_kind(&parts[0]) != MPX_INT || mpx_value_kind(&parts[1]) != MPX_INT)
        return mpx_call_fail(c, MPX_ETYPE, "each result must be (task id, status, value)");
    *id = (uint64_t)mpx_value_get_int(&parts[0]);
    *status = mpx_value_get_int(&parts[1]);
    return MPX_OK;
}

/* finish(results): results of tasks this session runs, each (id, status, value). A task
 * not running here (its lease ended and it was given to another) is ignored. */
static int pool_finish(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    mpx_value *items;
    size_t n;
    int rc = mpx_call_sequence_arg(c, 0, "results", &items, &n);
    if (rc != MPX_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        uint64_t id;
        int64_t status;
        rc = finished_item(c, &items[i], &id, &status);
        if (rc != MPX_OK)
            return rc;
    }
    uint64_t sid = mpx_call_session_id(c);
    size_t accepted = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = 0;
        int64_t status = 0;
        finished_item(c, &items[i], &id, &status); /* checked above: cannot fail */
        task *t = u64map_get(&p->running, id);
        if (t == NULL || t->holder != sid)
            continue;
        result *r = calloc(1, sizeof *r);
        if (r == NULL)
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
        r->id = id;
        r->status = status;
        mpx_value_move(&r->value, &mpx_value_items(&items[i])[2]);
        owner *o = owner_of(p, t->owner);
        if (o != NULL) {
            list_push_back(&o->results, &r->link);
            o->outstanding--;
        } else { /* its submitter is gone */
            mpx_value_free(&r->value);
            free(r);
        }
        p->done++;
        u64map_del(&p->running, id);
        task_free(t);
        accepted++;
    }
    c->result = mpx_value_int((int64_t)accepted);
    signal_all(c->obj);
    return MPX_OK;
}

/* results(max=1, timeout=None) -> a list of [id, status, value] of the caller's tasks, in
 * finishing order; empty when none of its tasks is pending, running or ready. value is
 * what finish() gave, or for a task lost (task_lost) a tuple: (message, times) or, a
 * chunk split, (message, times, first id of its items' tasks). */
static int pool_results(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    int64_t max;
    int rc = max_timeout_args(c, &max);
    if (rc != MPX_OK)
        return rc;
    owner *o = owner_of(p, mpx_call_session_id(c));
    return answer_or_park(c, o == NULL || o->results.len > 0 || owner_idle(o), fill_results, max,
                          &p->collectors, "no result in time");
}

/* The (first, count) pairs of cancel(), sorted by first, for a binary search. */
typedef struct id_span {
    uint64_t first;
    uint64_t count;
} id_span;

static int span_cmp(const void *a, const void *b)
{
    uint64_t x = ((const id_span *)a)->first, y = ((const id_span *)b)->first;
    return x < y ? -1 : x > y;
}

static bool in_spans(const id_span *s, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n; /* the last span whose first <= id is at lo - 1 */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].first <= id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && id - s[lo - 1].first < s[lo - 1].count;
}

/* cancel(spans) -> the ids dropped: of the caller's tasks with ids in the (first, count)
 * spans (which do not overlap), those still pending are dropped (they never run and no
 * result comes for them); those running finish as usual. */
static int pool_cancel(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    mpx_value *items;
    size_t n;
    int rc = mpx_call_sequence_arg(c, 0, "spans", &items, &n);
    if (rc != MPX_OK)
        return rc;
    id_span *spans = calloc(n ? n : 1, sizeof *spans);
    if (spans == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        mpx_kind k = mpx_value_kind(&items[i]);
        bool pair = (k == MPX_LIST || k == MPX_TUPLE) && mpx_value_len(&items[i]) == 2;
        const mpx_value *parts = pair ? mpx_value_items(&items[i]) : NULL;
        if (!pair ||
            mpx_value_kind(&parts[0]) != MPX_INT || mpx_value_kind(&parts[1]) != MPX_INT ||
            mpx_value_get_int(&parts[1]) < 0) {
            free(spans);
            return mpx_call_fail(c, MPX_ETYPE, "each span must be (first id, count)");
        }
        spans[i] = (id_span){(uint64_t)mpx_value_get_int(&parts[0]),
                             (uint64_t)mpx_value_get_int(&parts[1])};
    }
    qsort(spans, n, sizeof *spans, span_cmp);
    uint64_t sid = mpx_call_session_id(c);
    owner *o = owner_of(p, sid);
    size_t dropped = 0;
    for (list_node *it = p->pending.head; it != NULL; it = it->next) {
        task *t = list_entry(it, task, link);
        dropped += t->owner == sid && in_spans(spans, n, t->id);
    }
    if (mpx_value_list(&c->result, dropped) != MPX_OK) {
        free(spans);
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    list_node *it = p->pending.head;
    while (it != NULL) {
        task *t = list_entry(it, task, link);
        it = it->next;
        if (t->owner != sid || !in_spans(spans, n, t->id))
            continue;
        mpx_value id = mpx_value_int((int64_t)t->id);
        mpx_value_append(&c->result, &id); /* within the capacity asked for */
        list_remove(&p->pending, &t->link);
        if (o != NULL)
            o->outstanding--;
        task_free(t);
    }
    free(spans);
    signal_all(c->obj); /* its collector may now be idle */
    return MPX_OK;
}

/* stats() -> {'pending': n, 'running': n, 'done': n, 'ready': n, 'workers': n,
 *             'closed': bool} */
static int pool_stats(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    size_t ready = 0, pos = 0;
    uint64_t sid;
    void *o;
    while (u64map_next(&p->owners, &pos, &sid, &o))
        ready += ((owner *)o)->results.len;
    const char *names[] = {"pending", "running", "done", "ready", "workers", "closed"};
    int64_t values[] = {(int64_t)p->pending.len, (int64_t)p->running.len, (int64_t)p->done,
                        (int64_t)ready, (int64_t)p->workers.len, p->closed};
    if (mpx_value_dict(&c->result) != MPX_OK)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        mpx_value key, val = i == 5 ? mpx_value_bool(values[i]) : mpx_value_int(values[i]);
        if (mpx_value_str(&key, names[i]) != MPX_OK ||
            mpx_value_dict_set(&c->result, &key, &val) != MPX_OK) {
            mpx_value_free(&key);
            mpx_value_free(&c->result);
            return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
        }
    }
    return MPX_OK;
}

/* close(): no more submits; workers leave once every task is done. */
static int pool_close(mpx_call *c)
{
    state_of(c->obj)->closed = true;
    signal_all(c->obj);
    return MPX_OK;
}

/* terminate(): closes and drops every pending task; workers leave at their next take. */
static int pool_terminate(mpx_call *c)
{
    pool_state *p = state_of(c->obj);
    p->closed = p->terminated = true;
    while (p->pending.len > 0) {
        task *t = pending_pop(p);
        owner *o = owner_of(p, t->owner);
        if (o != NULL)
            o->outstanding--; /* its submitter hears [] once nothing else can come */
        task_free(t);
    }
    signal_all(c->obj);
    return MPX_OK;
}

/* ---- life cycle --------------------------------------------------------------------------- */

/* Drops the pending tasks a submitter that is gone had submitted. */
static void drop_owned_pending(pool_state *p, uint64_t sid)
{
    list_node *n = p->pending.head;
    while (n != NULL) {
        task *t = list_entry(n, task, link);
        n = n->next;
        if (t->owner == sid) {
            list_remove(&p->pending, &t->link);
            task_free(t);
        }
    }
}

static void pool_session_ended(mpx_object *obj, uint64_t sid)
{
    pool_state *p = state_of(obj);
    if (u64map_get(&p->workers, sid) != NULL) {
        u64map_del(&p->workers, sid);
        unlease_session(p, sid);
    }
    owner *o = u64map_del(&p->owners, sid);
    if (o != NULL) {
        drop_owned_pending(p, sid);
        owner_free(o);
    }
    signal_all(obj);
}

static int pool_init(mpx_object *obj, mpx_call *c)
{
    (void)c;
    pool_state *p = calloc(1, sizeof *p);
    if (p == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    p->next_id = 1;
    p->collectors.each = true;
    u64map_init(&p->owners);
    u64map_init(&p->running);
    u64map_init(&p->workers);
    obj->state = p;
    return MPX_OK;
}

static void pool_destroy(mpx_object *obj)
{
    pool_state *p = state_of(obj);
    if (p == NULL)
        return;
    mpx_wait_list_close(&p->takers, MPX_ENOOBJECT, "the pool was destroyed");
    mpx_wait_list_close(&p->collectors, MPX_ENOOBJECT, "the pool was destroyed");
    while (p->pending.len > 0)
        task_free(pending_pop(p));
    size_t pos = 0;
    uint64_t id;
    void *v;
    while (u64map_next(&p->running, &pos, &id, &v))
        task_free(v);
    pos = 0;
    while (u64map_next(&p->owners, &pos, &id, &v))
        owner_free(v);
    u64map_free(&p->owners);
    u64map_free(&p->running);
    u64map_free(&p->workers);
    free(p);
    obj->state = NULL;
}

static const mpx_method pool_methods[] = {
    {"submit", pool_submit, 1, 3, MPX_METHOD_GROWS},
    {"take", pool_take, 0, 2, MPX_METHOD_MAY_WAIT},
    {"finish", pool_finish, 1, 1, 0},   {"results", pool_results, 0, 2, MPX_METHOD_MAY_WAIT},
    {"stats", pool_stats, 0, 0, 0},     {"close", pool_close, 0, 0, 0},
    {"terminate", pool_terminate, 0, 0, 0}, {"cancel", pool_cancel, 1, 1, 0},
};

const mpx_type type_task_pool = {
    .name = "TaskPool",
    .init = pool_init,
    .destroy = pool_destroy,
    .session_ended = pool_session_ended,
    .methods = pool_methods,
    .nmethods = sizeof pool_methods / sizeof pool_methods[0],
    .min_init_args = 0,
    .max_init_args = 0,
};
