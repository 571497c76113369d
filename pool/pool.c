/* pool.c - the submitting side of the pool: jobs, results, local workers.
 *
 * Every map, imap or apply_async is a job: n items sent to the TaskPool as tasks of
 * chunksize items each (a chunk is one task: one round trip out, one result back), in
 * batches whose ids come back as ranges, and n result slots. Results are collected from
 * the TaskPool in finishing order by pump(), inside whichever pool call is waiting, and
 * dispatched to their job by id: a chunk's result fills its items' slots, and a chunk the
 * TaskPool split (its worker died) adds the range of its items' own tasks. A job's
 * callback runs there, once, when its last slot is filled. A local pool also keeps its
 * forked workers: pump() reaps them and starts one in place of each that left early
 * (maxtasksperchild, a task that ended it) while the pool may still have work.
 * Invariants: a slot is filled once (the first result wins); a job is freed only when no
 * handle refers to it and its callback is not running.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "list.h"
#include "mpx/manager.h"
#include "pool_internal.h"

#define SUBMIT_BATCH 1024   /* tasks per submit call */
#define SUBMIT_ITEMS 8192   /* items per submit call, unless one chunk alone has more */
#define COLLECT_BATCH 1024  /* results per results call */
/* A local pool looks at its workers this often while waiting: a worker that a task ended
 * is replaced within it, whether or not a result comes. */
#define LOCAL_SLICE_S 0.05

typedef enum job_kind {
    JOB_APPLY, /* one call: its result is values[0] */
    JOB_MAP,   /* map_async and the blocking maps: the result is the list */
    JOB_ITER,  /* imap, imap_unordered: the values are taken one by one */
} job_kind;

/* Tasks submitted together: ids first, first + 1, ... for tasks of chunk items each. */
typedef struct id_range {
    uint64_t first;
    size_t tasks;
    size_t index;  /* the first task's first item */
    size_t chunk;  /* items per task; the range's last task may have fewer */
    size_t end;    /* one past the range's last item */
    bool chunked;  /* sent as chunks (pool_internal.h): each result is a list */
} id_range;

typedef struct job {
    list_node link;          /* in its pool's jobs while pool is set */
    mpx_pool *pool;
    job_kind kind;
    size_t n;
    size_t done;
    mpx_value *values;       /* results (or error messages) by index; JOB_MAP: in list */
    int *status;             /* MPX_OK or the task's error, by index */
    bool *finished;
    size_t *order;           /* indexes in finishing order (imap_unordered) */
    size_t cursor;           /* the iterator's position (in order, or in index) */
    id_range *ranges;        /* in the order of their ids (the manager's ids only grow) */
    size_t nranges;
    size_t cap_ranges;
    mpx_value list;          /* JOB_MAP: the results (or error messages), by index */
    mpx_pool_callback callback;
    mpx_pool_error_callback error_callback;
    void *data;
    bool owned;              /* a handle or iterator still refers to it */
    bool in_callback;        /* its callback runs: a release leaves the freeing to it */
} job;

struct mpx_pool_result {
    job *j;
};

struct mpx_pool_iter {
    job *j;
    bool ordered;
};

struct mpx_pool {
    mpx_client *client;
    bool own_client;
    mpx_manager *manager;    /* local: the private manager */
    mpx_proxy *tasks;        /* the TaskPool */
    mpx_pool_opts opts;
    pid_t *workers;          /* local: live worker pids, 0 for a free place */
    pool_slot *slots;        /* local: what each place's worker says (busy), shared */
    int nworkers;
    int restarts_left;       /* local: deaths by signal between tasks still replaced */
    bool closed;
    bool terminated;
    list jobs;               /* jobs with results still to come (job.link) */
    int failed;              /* a constructor failed with this: the pool only says why */
    char errmsg[256];
};

static int pool_fail(mpx_pool *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pool_fail(mpx_pool *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->errmsg, sizeof p->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

/* A failure of a call on the client: its message becomes the pool's. */
static int client_failed(mpx_pool *p, int rc)
{
    return pool_fail(p, rc, "%s", mpx_client_errmsg(p->client));
}

const char *mpx_pool_errmsg(const mpx_pool *p)
{
    return p->errmsg;
}

mpx_client *mpx_pool_client(mpx_pool *p)
{
    return p->client;
}

void mpx_pool_opts_init(mpx_pool_opts *opts)
{
    memset(opts, 0, sizeof *opts);
}

void mpx_pool_map_opts_init(mpx_pool_map_opts *opts)
{
    opts->chunksize = 0;
    opts->timeout = 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- jobs --------------------------------------------------------------------------------- */

static void job_free(job *j)
{
    for (size_t i = 0; j->kind != JOB_MAP && i < j->n; i++)
        mpx_value_free(&j->values[i]);
    mpx_value_free(&j->list);
    free(j->values);
    free(j->status);
    free(j->finished);
    free(j->order);
    free(j->ranges);
    free(j);
}

/* Takes the job out of its pool's list: it then belongs to no pool. */
static void job_unlink(job *j)
{
    if (j->pool != NULL)
        list_remove(&j->pool->jobs, &j->link);
    j->pool = NULL;
}

/* A job is freed once all its results are in (or its pool is gone) and no handle refers
 * to it; during its callback, the callback's end frees it. */
static void job_release(job *j)
{
    j->owned = false;
    if ((j->done == j->n && !j->in_callback) || j->pool == NULL) {
        job_unlink(j);
        job_free(j);
    }
}

static job *job_new(mpx_pool *p, size_t n, job_kind kind)
{
    job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->pool = p;
    j->n = n;
    j->kind = kind;
    j->owned = true;
    /* a map's results go straight into the list it answers with, in their places */
    j->values = calloc(n && kind != JOB_MAP ? n : 1, sizeof *j->values);
    j->status = calloc(n ? n : 1, sizeof *j->status);
    j->finished = calloc(n ? n : 1, sizeof *j->finished);
    j->order = calloc(n ? n : 1, sizeof *j->order);
    if (j->values == NULL || j->status == NULL || j->finished == NULL || j->order == NULL ||
        (kind == JOB_MAP && (mpx_value_list(&j->list, n) != MPX_OK ||
                             mpx_value_resize(&j->list, n) != MPX_OK))) {
        job_free(j);
        return NULL;
    }
    list_push_back(&p->jobs, &j->link);
    return j;
}

static int job_add_range(job *j, id_range r)
{
    if (j->nranges == j->cap_ranges) {
        size_t cap = j->cap_ranges ? 2 * j->cap_ranges : 4;
        id_range *more = realloc(j->ranges, cap * sizeof *more);
        if (more == NULL)
            return MPX_ENOMEM;
        j->ranges = more;
        j->cap_ranges = cap;
    }
    j->ranges[j->nranges++] = r;
    return MPX_OK;
}

/* The job, range and task number a task id belongs to. */
static job *job_of(mpx_pool *p, uint64_t id, size_t *range, size_t *task)
{
    for (list_node *n = p->jobs.head; n != NULL; n = n->next) {
        job *j = list_entry(n, job, link);
        size_t lo = 0, hi = j->nranges; /* the last range with first <= id is lo - 1 */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (j->ranges[mid].first <= id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && id - j->ranges[lo - 1].first < j->ranges[lo - 1].tasks) {
            *range = lo - 1;
            *task = (size_t)(id - j->ranges[lo - 1].first);
            return j;
        }
    }
    return NULL;
}

/* Item i's value: the result, or the error message when it failed. */
static mpx_value *job_value(job *j, size_t i)
{
    return j->kind == JOB_MAP ? mpx_value_at(&j->list, i) : &j->values[i];
}

static const char *job_message(job *j, size_t i)
{
    const mpx_value *v = job_value(j, i);
    return mpx_value_kind(v) == MPX_STR ? mpx_value_str_data(v) : mpx_strerror(j->status[i]);
}

/* The first failed item (by index), or n. */
static size_t job_first_failed(const job *j)
{
    size_t i = 0;
    while (i < j->n && j->status[i] == MPX_OK)
        i++;
    return i;
}

/* Records item index's result (value moved from, when taken). The first result wins: a
 * task that ran twice (at-least-once) has its second dropped. */
static void item_done(job *j, size_t index, int status, mpx_value *value)
{
    if (index >= j->n || j->finished[index])
        return;
    j->finished[index] = true;
    j->status[index] = status;
    mpx_value_move(job_value(j, index), value);
    j->order[j->done++] = index;
}

/* Fails item index with status and a message. */
static void item_fail(job *j, size_t index, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void item_fail(job *j, size_t index, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mpx_value v;
    if (mpx_value_str(&v, msg) != MPX_OK)
        v = mpx_value_none(); /* out of memory: the code still says what failed */
    item_done(j, index, status, &v);
    mpx_value_free(&v);
}

/* Every slot is filled: the callback runs. Frees the job when no handle refers to it any
 * more. */
static void job_finish(job *j)
{
    size_t bad = job_first_failed(j);
    j->in_callback = true;
    if (bad == j->n && j->callback != NULL && j->kind != JOB_ITER)
        j->callback(j->kind == JOB_MAP ? &j->list : &j->values[0], j->data);
    else if (bad < j->n && j->error_callback != NULL && j->kind != JOB_ITER)
        j->error_callback(j->status[bad], job_message(j, bad), j->data);
    j->in_callback = false;
    if (!j->owned) {
        job_unlink(j);
        job_free(j);
    }
}

/* Whether no item of [index, index + count) has its result yet. */
static bool chunk_unfinished(const job *j, size_t index, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (j->finished[index + i])
            return false;
    return true;
}

/* One task's result (pool_internal.h, and type_pool.c's results for a lost task): task k
 * of range ri of j. The value is moved from. */
static void task_result(job *j, size_t ri, size_t k, int status, mpx_value *value)
{
    id_range r = j->ranges[ri]; /* a copy: a split below may move the ranges */
    size_t index = r.index + k * r.chunk;
    if (index >= r.end)
        return;
    size_t count = r.end - index < r.chunk ? r.end - index : r.chunk;
    if (status < 0 && mpx_value_kind(value) == MPX_TUPLE && mpx_value_len(value) >= 2 &&
        mpx_value_kind(mpx_value_at(value, 0)) == MPX_STR) { /* lost: the TaskPool's */
        const mpx_value *next = mpx_value_at(value, 2);
        if (r.chunked && next != NULL && mpx_value_kind(next) == MPX_INT &&
            job_add_range(j, (id_range){(uint64_t)mpx_value_get_int(next), count, index, 1,
                                        index + count, false}) == MPX_OK)
            return; /* its items go on as tasks of their own */
        for (size_t i = 0; i < count; i++)
            item_fail(j, index + i, status, "task %zu: %s", index + i,
                      mpx_value_str_data(mpx_value_at(value, 0)));
        return;
    }
    if (!r.chunked) {
        item_done(j, index, status, value);
        return;
    }
    mpx_value unpacked = mpx_value_none();
    if (mpx_value_kind(value) == MPX_BYTES && (status == MPX_OK || status == POOL_STATUS_MIXED)) {
        if (pool_unpack(value, &unpacked) != MPX_OK)
            status = POOL_STATUS_MIXED + 1; /* malformed, below */
        value = &unpacked;
    }
    bool list = mpx_value_kind(value) == MPX_LIST && mpx_value_len(value) == count;
    if (status == MPX_OK && list && j->kind == JOB_MAP && count > 0 &&
        chunk_unfinished(j, index, count)) {
        /* the whole chunk into its place in the map's list at once: its slots are None,
         * and the chunk's own are left None (all zero) for it to be freed */
        mpx_value *src = mpx_value_items(value);
        memcpy(job_value(j, index), src, count * sizeof *src);
        memset(src, 0, count * sizeof *src);
        for (size_t i = 0; i < count; i++) {
            j->finished[index + i] = true;
            j->status[index + i] = MPX_OK;
            j->order[j->done++] = index + i;
        }
    } else if (status == MPX_OK && list) {
        for (size_t i = 0; i < count; i++)
            item_done(j, index + i, MPX_OK, mpx_value_at(value, i));
    } else if (status == POOL_STATUS_MIXED && list) {
        for (size_t i = 0; i < count; i++) {
            mpx_value *pair = mpx_value_at(value, i);
            if (mpx_value_kind(pair) == MPX_TUPLE && mpx_value_len(pair) == 2 &&
                mpx_value_kind(mpx_value_at(pair, 0)) == MPX_INT)
                item_done(j, index + i, (int)mpx_value_get_int(mpx_value_at(pair, 0)),
                          mpx_value_at(pair, 1));
            else
                item_fail(j, index + i, MPX_EPROTO, "a chunk's result is malformed");
        }
    } else if (status < 0) { /* the chunk failed as a whole: each item with its message */
        for (size_t i = 0; i < count; i++)
            item_fail(j, index + i, status, "%s",
                      mpx_value_kind(value) == MPX_STR ? mpx_value_str_data(value)
                                                       : mpx_strerror(status));
    } else {
        for (size_t i = 0; i < count; i++)
            item_fail(j, index + i, MPX_EPROTO, "a chunk's result is malformed");
    }
    mpx_value_free(&unpacked);
}

/* Builds (fn, args) for one call: args is the item (star) or (item,) (map); copied. */
static int single_payload(const char *fn, const mpx_value *item, bool star, mpx_value *out)
{
    mpx_value name, args = mpx_value_none(), copy;
    int rc = mpx_value_tuple(out, 2);
    if (rc != MPX_OK)
        return rc;
    if ((rc = mpx_value_str(&name, fn)) != MPX_OK) {
        mpx_value_free(out);
        return rc;
    }
    mpx_value_append(out, &name);
    if (star) {
        rc = mpx_value_copy(&args, item);
    } else if ((rc = mpx_value_tuple(&args, 1)) == MPX_OK &&
               (rc = mpx_value_copy(&copy, item)) == MPX_OK) {
        mpx_value_append(&args, &copy);
    }
    if (rc == MPX_OK)
        rc = mpx_value_append(out, &args);
    if (rc != MPX_OK) {
        mpx_value_free(&args);
        mpx_value_free(out);
    }
    return rc;
}

/* Builds (fn, [items[from], ..., items[to - 1]], star) for a chunk, the list packed when it
 * can be (pool_internal.h), copied otherwise. */
static int chunk_payload(const char *fn, const mpx_value *items, size_t from, size_t to,
                         bool star, mpx_value *out)
{
    mpx_value name, list, flag = mpx_value_bool(star);
    int rc = mpx_value_tuple(out, 3);
    if (rc != MPX_OK)
        return rc;
    if ((rc = mpx_value_str(&name, fn)) != MPX_OK) {
        mpx_value_free(out);
        return rc;
    }
    mpx_value_append(out, &name);
    if ((rc = pool_pack_range(items, from, to, &list)) == MPX_EVALUE) { /* not plain */
        rc = mpx_value_list(&list, to - from);
        for (size_t i = from; i < to && rc == MPX_OK; i++) {
            mpx_value copy;
            if ((rc = mpx_value_copy(&copy, mpx_value_at(items, i))) == MPX_OK)
                mpx_value_append(&list, &copy); /* within the room asked for */
        }
    }
    if (rc == MPX_OK && (rc = mpx_value_append(out, &list)) == MPX_OK)
        mpx_value_append(out, &flag);
    if (rc != MPX_OK) {
        mpx_value_free(&list);
        mpx_value_free(out);
    }
    return rc;
}

/* One submit call sent and not yet answered: the tasks it carries. */
typedef struct sent_batch {
    uint64_t call;
    size_t first_task;
    size_t tasks;
} sent_batch;

/* Builds the next batch of tasks from task *t on (at most SUBMIT_BATCH tasks and
 * SUBMIT_ITEMS items, or one chunk alone) into *batch, moving *t past them. */
static int build_batch(const job *j, const char *fn, const mpx_value *items, bool star,
                       size_t cs, size_t ntasks, size_t *t, mpx_value *batch)
{
    size_t first = *t, in_batch = 0;
    int rc = mpx_value_list(batch, ntasks - first < SUBMIT_BATCH ? ntasks - first : SUBMIT_BATCH);
    while (rc == MPX_OK && *t < ntasks && *t - first < SUBMIT_BATCH &&
           (in_batch == 0 || in_batch + cs <= SUBMIT_ITEMS)) {
        size_t from = *t * cs, to = from + cs < j->n ? from + cs : j->n;
        mpx_value payload;
        rc = cs > 1 ? chunk_payload(fn, items, from, to, star, &payload)
                    : single_payload(fn, mpx_value_at(items, from), star, &payload);
        if (rc == MPX_OK && (rc = mpx_value_append(batch, &payload)) != MPX_OK)
            mpx_value_free(&payload);
        in_batch += to - from;
        (*t)++;
    }
    if (rc != MPX_OK)
        mpx_value_free(batch);
    return rc;
}

/* Submits j's items (fn over items) as tasks of cs items each: one call per task when cs
 * is 1 (POOL_TASK_TRIES tries), chunks otherwise (one try, then split by the TaskPool into
 * its items' tasks with POOL_TASK_TRIES each). The batches are pipelined: the manager
 * takes in one, and workers start on it, while the next is being built. */
static int submit(mpx_pool *p, job *j, const char *fn, const mpx_value *items, bool star,
                  size_t cs)
{
    if (p->failed != MPX_OK)
        return p->failed; /* its message still says why it could not start */
    bool chunked = cs > 1;
    size_t ntasks = j->n / cs + (j->n % cs != 0), nsent = 0, answered = 0;
    sent_batch *sent = calloc(ntasks, sizeof *sent);
    if (sent == NULL)
        return pool_fail(p, MPX_ENOMEM, "out of memory");
    int rc = MPX_OK;
    for (size_t t = 0; t < ntasks && rc == MPX_OK;) {
        mpx_value batch;
        size_t first_task = t;
        if ((rc = build_batch(j, fn, items, star, cs, ntasks, &t, &batch)) != MPX_OK) {
            pool_fail(p, rc, "cannot build the tasks: %s", mpx_strerror(rc));
            break;
        }
        mpx_value args[3] = {batch, mpx_value_int(chunked ? 1 : POOL_TASK_TRIES),
                             mpx_value_int(POOL_TASK_TRIES)};
        rc = mpx_proxy_append(p->tasks, "submit", args, chunked ? 3 : 2, -1,
                              &sent[nsent].call);
        mpx_value_free(&batch);
        if (rc == MPX_OK && (rc = mpx_client_flush(p->client)) == MPX_OK) {
            sent[nsent].first_task = first_task;
            sent[nsent].tasks = t - first_task;
            nsent++;
        } else {
            client_failed(p, rc);
        }
    }
    /* every reply is read (the client takes no other call before), in the calls' order */
    while (answered < nsent && mpx_client_pending(p->client) > 0) {
        uint64_t call;
        int status;
        mpx_value first;
        int grc = mpx_client_get_reply(p->client, -1, &call, &status, &first);
        if (grc != MPX_OK) {
            rc = client_failed(p, grc); /* the connection is gone, with the other replies */
            break;
        }
        answered++;
        size_t k = 0;
        while (k < nsent && sent[k].call != call)
            k++;
        if (status != MPX_OK || k == nsent || mpx_value_kind(&first) != MPX_INT) {
            if (rc == MPX_OK && status != MPX_OK)
                rc = client_failed(p, status);
            else if (rc == MPX_OK)
                rc = pool_fail(p, MPX_EPROTO, "submit answered with a %s, to call %llu",
                               mpx_kind_name(mpx_value_kind(&first)),
                               (unsigned long long)call);
            mpx_value_free(&first);
            continue;
        }
        size_t end = (sent[k].first_task + sent[k].tasks) * cs;
        id_range r = {(uint64_t)mpx_value_get_int(&first), sent[k].tasks,
                      sent[k].first_task * cs, cs, end < j->n ? end : j->n, chunked};
        if (job_add_range(j, r) != MPX_OK && rc == MPX_OK)
            rc = pool_fail(p, MPX_ENOMEM, "out of memory");
    }
    free(sent);
    return rc;
}

/* Drops the job's tasks that no worker took yet (best effort: a pool whose connection
 * failed has nothing to drop them from) and the job: results of its tasks that still run
 * belong to no job when they come, and are dropped. */
static void job_forget(mpx_pool *p, job *j)
{
    mpx_value spans;
    if (p->failed == MPX_OK && p->tasks != NULL && j->nranges > 0 &&
        mpx_value_list(&spans, j->nranges) == MPX_OK) {
        for (size_t r = 0; r < j->nranges; r++) {
            mpx_value span, first = mpx_value_int((int64_t)j->ranges[r].first),
                            count = mpx_value_int((int64_t)j->ranges[r].tasks);
            if (mpx_value_tuple(&span, 2) != MPX_OK)
                break;
            mpx_value_append(&span, &first);
            mpx_value_append(&span, &count);
            mpx_value_append(&spans, &span);
        }
        mpx_value out;
        mpx_proxy_call(p->tasks, "cancel", &spans, 1, &out); /* keeps the pool's message */
        mpx_value_free(&out);
        mpx_value_free(&spans);
    }
    job_unlink(j);
    job_free(j);
}

/* ---- local workers ------------------------------------------------------------------------ */

static void local_worker(mpx_pool *p, int place)
{
    mpx_client *c = NULL;
    mpx_proxy *tasks = NULL;
    char token[MPX_TOKEN_MAX];
    int status = WORKER_FAILED;
    if (mpx_proxy_token(p->tasks, token, sizeof token) == MPX_OK &&
        mpx_manager_connect(p->manager, &c) == MPX_OK &&
        mpx_proxy_attach(c, token, POOL_TYPE, &tasks) == MPX_OK)
        status = pool_worker_run(c, tasks, p->opts.functions, p->opts.nfunctions,
                                 p->opts.initializer, p->opts.initarg,
                                 p->opts.maxtasksperchild, &p->slots[place]);
    mpx_proxy_close(tasks);
    mpx_client_close(c);
    fflush(NULL);
    _exit(status);
}

static int fork_worker(mpx_pool *p, int place)
{
    atomic_store(&p->slots[place].busy, 0);
    pid_t pid = fork();
    if (pid < 0)
        return pool_fail(p, MPX_EIO, "cannot fork a worker: %s", strerror(errno));
    if (pid == 0)
        local_worker(p, place);
    p->workers[place] = pid;
    return MPX_OK;
}

/* Reaps workers that left, and starts another in the place of each one the policy
 * replaces (pool_worker_replace), unless the pool was terminated. */
static void tend_workers(mpx_pool *p, bool block)
{
    for (int i = 0; i < p->nworkers; i++) {
        if (p->workers[i] <= 0)
            continue;
        int status;
        pid_t r = waitpid(p->workers[i], &status, block ? 0 : WNOHANG);
        if (r != p->workers[i])
            continue;
        p->workers[i] = 0;
        bool busy = atomic_load(&p->slots[i].busy);
        if (!p->terminated && pool_worker_replace(status, busy, &p->restarts_left))
            fork_worker(p, i);
    }
}

static int live_workers(const mpx_pool *p)
{
    int n = 0;
    for (int i = 0; i < p->nworkers; i++)
        n += p->workers[i] > 0;
    return n;
}

/* ---- collecting results ------------------------------------------------------------------- */

/* Collects what results there are, waiting up to timeout (negative: as needed) for the
 * first, and completes the jobs they finish (their callbacks run here): MPX_OK,
 * MPX_ETIMEOUT when none came in time, MPX_ECLOSED when none of this pool's tasks is left
 * anywhere (they were dropped: the pool was terminated), or the client's failure. */
static int pump(mpx_pool *p, double timeout)
{
    if (p->failed != MPX_OK)
        return p->failed;
    bool orphaned = false; /* no worker left to bring what is still missing */
    if (p->manager != NULL) {
        tend_workers(p, false);
        orphaned = live_workers(p) == 0 && !p->terminated;
        if (orphaned)
            timeout = 0; /* but what they finished before leaving may be waiting */
        else if (timeout < 0 || timeout > LOCAL_SLICE_S)
            timeout = LOCAL_SLICE_S; /* come back to look at the workers */
    }
    mpx_value args[2] = {mpx_value_int(COLLECT_BATCH), mpx_value_float(timeout)}, got;
    int rc = mpx_proxy_call_timeout(p->tasks, "results", args, timeout >= 0 ? 2 : 1, timeout,
                                    &got);
    if (rc == MPX_ETIMEOUT && orphaned)
        return pool_fail(p, MPX_ECLOSED, "every worker of the pool has exited (their "
                                         "errors went to stderr)");
    if (rc == MPX_ETIMEOUT)
        return rc;
    if (rc != MPX_OK)
        return client_failed(p, rc);
    if (mpx_value_len(&got) == 0) {
        mpx_value_free(&got);
        return pool_fail(p, MPX_ECLOSED, "the pool's tasks were dropped (terminated)");
    }
    for (size_t k = 0; k < mpx_value_len(&got); k++) {
        mpx_value *triple = mpx_value_at(&got, k);
        if (mpx_value_kind(triple) != MPX_TUPLE || mpx_value_len(triple) != 3)
            continue;
        mpx_value *parts = mpx_value_items(triple);
        if (mpx_value_kind(&parts[0]) != MPX_INT || mpx_value_kind(&parts[1]) != MPX_INT)
            continue;
        size_t range, task;
        job *j = job_of(p, (uint64_t)mpx_value_get_int(&parts[0]), &range, &task);
        if (j == NULL)
            continue; /* a forgotten job's, or a second run's */
        size_t before = j->done;
        task_result(j, range, task, (int)mpx_value_get_int(&parts[1]), &parts[2]);
        if (j->done == j->n && before < j->n)
            job_finish(j); /* may free j */
    }
    mpx_value_free(&got);
    return MPX_OK;
}

/* Pumps until done(j, arg) or the timeout; MPX_OK or MPX_ETIMEOUT or a failure. */
static int pump_until(mpx_pool *p, bool (*done)(const job *j, size_t arg), const job *j,
                      size_t arg, double timeout)
{
    double end = timeout >= 0 ? now_s() + timeout : 0;
    while (!done(j, arg)) {
        double left = -1;
        if (timeout >= 0 && (left = end - now_s()) <= 0)
            return MPX_ETIMEOUT;
        int rc = pump(p, left);
        if (rc != MPX_OK && rc != MPX_ETIMEOUT)
            return rc;
    }
    return MPX_OK;
}

static bool job_all_done(const job *j, size_t arg)
{
    (void)arg;
    return j->done == j->n;
}

static bool item_finished(const job *j, size_t index)
{
    return j->finished[index];
}

/* ---- progress ----------------------------------------------------------------------------- */

typedef struct progress {
    bool on;
    double start;
    double shown;
} progress;

static void progress_start(progress *pr, const mpx_pool *p, size_t n)
{
    pr->on = p->opts.progress && n > 1 && isatty(STDERR_FILENO);
    pr->start = pr->shown = now_s();
}

static void progress_show(progress *pr, const job *j, bool last)
{
    if (!pr->on)
        return;
    double now = now_s();
    if (!last && now - pr->shown < 0.5)
        return;
    pr->shown = now;
    double elapsed = now - pr->start, rate = elapsed > 0 ? (double)j->done / elapsed : 0;
    double left = rate > 0 ? (double)(j->n - j->done) / rate : 0;
    fprintf(stderr, "\r%zu/%zu done, %.0f/s, %.0f s left   %s", j->done, j->n, rate, left,
            last ? "\n" : "");
    fflush(stderr);
}

/* ---- the blocking calls ------------------------------------------------------------------- */

static int check_running(mpx_pool *p)
{
    if (p->closed)
        return pool_fail(p, MPX_EVALUE, "Pool not running");
    return MPX_OK;
}

static int check_items(mpx_pool *p, const mpx_value *items)
{
    mpx_kind k = items != NULL ? mpx_value_kind(items) : MPX_NONE;
    if (k != MPX_LIST && k != MPX_TUPLE)
        return pool_fail(p, MPX_ETYPE, "items must be a list or tuple, not %s",
                         mpx_kind_name(k));
    return MPX_OK;
}

/* The first failed task's error, as the call's, or MPX_OK. */
static int job_error(mpx_pool *p, job *j)
{
    size_t bad = job_first_failed(j);
    return bad == j->n ? MPX_OK : pool_fail(p, j->status[bad], "%s", job_message(j, bad));
}

/* How many workers a default chunk is cut for: a local pool's processes; a distributed
 * pool's workers at this moment (they may come and go), at least 1. */
static size_t pool_workers(mpx_pool *p)
{
    if (p->manager != NULL)
        return (size_t)p->nworkers;
    mpx_value stats, key, *found = NULL;
    size_t n = 1;
    if (mpx_proxy_call(p->tasks, "stats", NULL, 0, &stats) != MPX_OK)
        return n; /* the submit that follows says what is wrong */
    if (mpx_value_str(&key, "workers") == MPX_OK &&
        mpx_value_dict_find(&stats, &key, &found) == MPX_OK && found != NULL &&
        mpx_value_kind(found) == MPX_INT && mpx_value_get_int(found) > 1)
        n = (size_t)mpx_value_get_int(found);
    mpx_value_free(&key);
    mpx_value_free(&stats);
    return n;
}

/* Items per task: the caller's, or the default: Python's rule for map (len / (4 x
 * workers), rounded up), 1 for imap. */
static size_t chunksize_for(mpx_pool *p, size_t n, const mpx_pool_map_opts *o, bool map)
{
    if (o != NULL && o->chunksize > 0)
        return o->chunksize;
    if (!map || n == 0 || p->failed != MPX_OK)
        return 1;
    size_t per = 4 * pool_workers(p), cs = n / per + (n % per != 0);
    return cs > 0 ? cs : 1;
}

/* Starts a map job over items (the common part of the maps and the async maps). */
static int map_start(mpx_pool *p, const char *fn, const mpx_value *items, bool star,
                     const mpx_pool_map_opts *o, job **out)
{
    *out = NULL;
    int rc = check_running(p);
    if (rc == MPX_OK)
        rc = check_items(p, items);
    if (rc != MPX_OK)
        return rc;
    size_t n = mpx_value_len(items);
    job *j = job_new(p, n, JOB_MAP);
    if (j == NULL)
        return pool_fail(p, MPX_ENOMEM, "out of memory");
    if (n > 0 && (rc = submit(p, j, fn, items, star, chunksize_for(p, n, o, true))) != MPX_OK) {
        job_forget(p, j); /* what it sent is dropped */
        return rc;
    }
    *out = j;
    return MPX_OK;
}

static int map_common(mpx_pool *p, const char *fn, const mpx_value *items, bool star,
                      const mpx_pool_map_opts *o, mpx_value *results)
{
    *results = mpx_value_none();
    job *j;
    int rc = map_start(p, fn, items, star, o, &j);
    if (rc != MPX_OK)
        return rc;
    double timeout = o != NULL && o->timeout > 0 ? o->timeout : -1, end = now_s() + timeout;
    progress pr;
    progress_start(&pr, p, j->n);
    while (rc == MPX_OK && !job_all_done(j, 0)) {
        double slice = 0.5;
        if (timeout >= 0 && (slice = end - now_s()) > 0.5)
            slice = 0.5;
        if (timeout >= 0 && slice <= 0) {
            rc = MPX_ETIMEOUT;
            break;
        }
        rc = pump(p, slice);
        if (rc == MPX_ETIMEOUT)
            rc = MPX_OK;
        progress_show(&pr, j, false);
    }
    if (rc != MPX_OK) {
        job_forget(p, j); /* the tasks not started are dropped: the pool stays usable */
        return rc == MPX_ETIMEOUT
                   ? pool_fail(p, rc, "the map did not finish in %g s", timeout)
                   : rc;
    }
    if (j->n == 0)
        job_finish(j); /* nothing to wait for */
    progress_show(&pr, j, true);
    if ((rc = job_error(p, j)) == MPX_OK)
        mpx_value_move(results, &j->list);
    job_release(j);
    return rc;
}

int mpx_pool_map(mpx_pool *p, const char *fn, const mpx_value *items, mpx_value *results)
{
    return map_common(p, fn, items, false, NULL, results);
}

int mpx_pool_starmap(mpx_pool *p, const char *fn, const mpx_value *items,
                     mpx_value *results)
{
    return map_common(p, fn, items, true, NULL, results);
}

int mpx_pool_map_ex(mpx_pool *p, const char *fn, const mpx_value *items,
                    const mpx_pool_map_opts *opts, mpx_value *results)
{
    return map_common(p, fn, items, false, opts, results);
}

int mpx_pool_starmap_ex(mpx_pool *p, const char *fn, const mpx_value *items,
                        const mpx_pool_map_opts *opts, mpx_value *results)
{
    return map_common(p, fn, items, true, opts, results);
}

/* ---- asynchronous results ----------------------------------------------------------------- */

static int map_async_common(mpx_pool *p, const char *fn, const mpx_value *items, bool star,
                            const mpx_pool_map_opts *opts, mpx_pool_callback callback,
                            mpx_pool_error_callback error_callback, void *data,
                            mpx_pool_result **out)
{
    *out = NULL;
    mpx_pool_result *r = calloc(1, sizeof *r);
    if (r == NULL)
        return pool_fail(p, MPX_ENOMEM, "out of memory");
    int rc = map_start(p, fn, items, star, opts, &r->j);
    if (rc != MPX_OK) {
        free(r);
        return rc;
    }
    r->j->callback = callback;
    r->j->error_callback = error_callback;
    r->j->data = data;
    if (r->j->n == 0)
        job_finish(r->j); /* ready at once: its callback runs now, with [] */
    *out = r;
    return MPX_OK;
}

int mpx_pool_map_async(mpx_pool *p, const char *fn, const mpx_value *items,
                       const mpx_pool_map_opts *opts, mpx_pool_callback callback,
                       mpx_pool_error_callback error_callback, void *data,
                       mpx_pool_result **out)
{
    return map_async_common(p, fn, items, false, opts, callback, error_callback, data, out);
}

int mpx_pool_starmap_async(mpx_pool *p, const char *fn, const mpx_value *items,
                           const mpx_pool_map_opts *opts, mpx_pool_callback callback,
                           mpx_pool_error_callback error_callback, void *data,
                           mpx_pool_result **out)
{
    return map_async_common(p, fn, items, true, opts, callback, error_callback, data, out);
}

int mpx_pool_apply_async(mpx_pool *p, const char *fn, const mpx_value *args,
                         mpx_pool_callback callback, mpx_pool_error_callback error_callback,
                         void *data, mpx_pool_result **out)
{
    *out = NULL;
    int rc = check_running(p);
    if (rc != MPX_OK)
        return rc;
    mpx_value items = mpx_value_none(), copy = mpx_value_none();
    if (args != NULL && mpx_value_kind(args) != MPX_TUPLE)
        return pool_fail(p, MPX_ETYPE, "args must be a tuple, not %s",
                         mpx_kind_name(mpx_value_kind(args)));
    mpx_pool_result *r = calloc(1, sizeof *r);
    job *j = r != NULL ? job_new(p, 1, JOB_APPLY) : NULL;
    rc = j != NULL ? mpx_value_tuple(&items, 1) : MPX_ENOMEM;
    if (rc == MPX_OK)
        rc = args != NULL ? mpx_value_copy(&copy, args) : mpx_value_tuple(&copy, 0);
    if (rc == MPX_OK)
        mpx_value_append(&items, &copy);
    if (rc != MPX_OK) {
        if (j != NULL) {
            mpx_value_free(&items);
            job_forget(p, j);
        }
        free(r);
        return pool_fail(p, MPX_ENOMEM, "out of memory");
    }
    j->callback = callback;
    j->error_callback = error_callback;
    j->data = data;
    rc = submit(p, j, fn, &items, true, 1);
    mpx_value_free(&items);
    if (rc != MPX_OK) {
        job_forget(p, j);
        free(r);
        return rc;
    }
    r->j = j;
    *out = r;
    return MPX_OK;
}

int mpx_pool_result_wait(mpx_pool_result *r, double timeout)
{
    if (job_all_done(r->j, 0))
        return MPX_OK;
    if (r->j->pool == NULL)
        return MPX_ECLOSED; /* its pool was freed before it */
    return pump_until(r->j->pool, job_all_done, r->j, 0, timeout);
}

bool mpx_pool_result_ready(mpx_pool_result *r)
{
    if (!job_all_done(r->j, 0) && r->j->pool != NULL)
        pump(r->j->pool, 0);
    return job_all_done(r->j, 0);
}

int mpx_pool_result_successful(mpx_pool_result *r, bool *out)
{
    if (!mpx_pool_result_ready(r))
        return r->j->pool == NULL ? MPX_ECLOSED
                                  : pool_fail(r->j->pool, MPX_EINVAL, "the result is not ready");
    *out = job_first_failed(r->j) == r->j->n;
    return MPX_OK;
}

int mpx_pool_result_get(mpx_pool_result *r, double timeout, mpx_value *out)
{
    *out = mpx_value_none();
    job *j = r->j;
    int rc = mpx_pool_result_wait(r, timeout);
    if (j->pool == NULL && rc != MPX_OK)
        return rc;
    if (rc == MPX_ETIMEOUT)
        return pool_fail(j->pool, rc, "the result is not ready in time");
    if (rc != MPX_OK)
        return rc;
    size_t bad = job_first_failed(j);
    if (bad < j->n)
        return j->pool == NULL ? j->status[bad]
                               : pool_fail(j->pool, j->status[bad], "%s", job_message(j, bad));
    rc = mpx_value_copy(out, j->kind == JOB_MAP ? &j->list : &j->values[0]);
    if (rc != MPX_OK && j->pool != NULL)
        pool_fail(j->pool, rc, "out of memory");
    return rc;
}

int mpx_pool_result_item(mpx_pool_result *r, size_t index, double timeout, mpx_value *out)
{
    *out = mpx_value_none();
    job *j = r->j;
    if (index >= j->n)
        return j->pool == NULL ? MPX_EINDEX
                               : pool_fail(j->pool, MPX_EINDEX, "the result has %zu items, "
                                           "not %zu", j->n, index + 1);
    if (!j->finished[index]) {
        if (j->pool == NULL)
            return MPX_ECLOSED;
        int rc = pump_until(j->pool, item_finished, j, index, timeout);
        if (rc == MPX_ETIMEOUT)
            return pool_fail(j->pool, rc, "task %zu is not done in time", index);
        if (rc != MPX_OK)
            return rc;
    }
    if (j->status[index] != MPX_OK)
        return j->pool == NULL ? j->status[index]
                               : pool_fail(j->pool, j->status[index], "%s",
                                           job_message(j, index));
    int rc = mpx_value_copy(out, job_value(j, index));
    if (rc != MPX_OK && j->pool != NULL)
        pool_fail(j->pool, rc, "out of memory");
    return rc;
}

void mpx_pool_result_free(mpx_pool_result *r)
{
    if (r == NULL)
        return;
    job_release(r->j);
    free(r);
}

int mpx_pool_apply_timeout(mpx_pool *p, const char *fn, const mpx_value *args, double timeout,
                           mpx_value *result)
{
    mpx_pool_result *r;
    *result = mpx_value_none();
    int rc = mpx_pool_apply_async(p, fn, args, NULL, NULL, NULL, &r);
    if (rc != MPX_OK)
        return rc;
    rc = mpx_pool_result_get(r, timeout, result);
    if (rc == MPX_ETIMEOUT && r->j->pool != NULL) {
        job_forget(p, r->j); /* not started: dropped; running: its result is dropped */
        free(r);
        return pool_fail(p, rc, "apply did not finish in %g s", timeout);
    }
    mpx_pool_result_free(r);
    return rc;
}

int mpx_pool_apply(mpx_pool *p, const char *fn, const mpx_value *args, mpx_value *result)
{
    return mpx_pool_apply_timeout(p, fn, args, -1, result);
}

/* ---- imap --------------------------------------------------------------------------------- */

static int imap_common(mpx_pool *p, const char *fn, const mpx_value *items, bool ordered,
                       const mpx_pool_map_opts *o, mpx_pool_iter **out)
{
    *out = NULL;
    int rc = check_running(p);
    if (rc == MPX_OK)
        rc = check_items(p, items);
    if (rc != MPX_OK)
        return rc;
    mpx_pool_iter *it = calloc(1, sizeof *it);
    job *j = it != NULL ? job_new(p, mpx_value_len(items), JOB_ITER) : NULL;
    if (j == NULL) {
        free(it);
        return pool_fail(p, MPX_ENOMEM, "out of memory");
    }
    if (j->n > 0 &&
        (rc = submit(p, j, fn, items, false, chunksize_for(p, j->n, o, false))) != MPX_OK) {
        job_forget(p, j);
        free(it);
        return rc;
    }
    it->j = j;
    it->ordered = ordered;
    *out = it;
    return MPX_OK;
}

int mpx_pool_imap(mpx_pool *p, const char *fn, const mpx_value *items, mpx_pool_iter **out)
{
    return imap_common(p, fn, items, true, NULL, out);
}

int mpx_pool_imap_unordered(mpx_pool *p, const char *fn, const mpx_value *items,
                            mpx_pool_iter **out)
{
    return imap_common(p, fn, items, false, NULL, out);
}

int mpx_pool_imap_ex(mpx_pool *p, const char *fn, const mpx_value *items,
                     const mpx_pool_map_opts *opts, mpx_pool_iter **out)
{
    return imap_common(p, fn, items, true, opts, out);
}

int mpx_pool_imap_unordered_ex(mpx_pool *p, const char *fn, const mpx_value *items,
                               const mpx_pool_map_opts *opts, mpx_pool_iter **out)
{
    return imap_common(p, fn, items, false, opts, out);
}

static bool next_ordered_ready(const job *j, size_t arg)
{
    (void)arg;
    return j->cursor >= j->n || j->finished[j->cursor];
}

static bool next_unordered_ready(const job *j, size_t arg)
{
    (void)arg;
    return j->cursor >= j->n || j->cursor < j->done;
}

int mpx_pool_iter_next(mpx_pool_iter *it, double timeout, mpx_value *out, bool *done)
{
    job *j = it->j;
    *out = mpx_value_none();
    *done = false;
    bool (*ready)(const job *, size_t) = it->ordered ? next_ordered_ready : next_unordered_ready;
    if (!ready(j, 0)) {
        if (j->pool == NULL)
            return MPX_ECLOSED; /* its pool was freed before it */
        int rc = pump_until(j->pool, ready, j, 0, timeout);
        if (rc == MPX_ETIMEOUT)
            return pool_fail(j->pool, rc, "no result in time");
        if (rc != MPX_OK)
            return rc;
    }
    if (j->cursor >= j->n) {
        *done = true;
        return MPX_OK;
    }
    size_t index = it->ordered ? j->cursor : j->order[j->cursor];
    j->cursor++;
    if (j->status[index] != MPX_OK)
        return j->pool == NULL ? j->status[index]
                               : pool_fail(j->pool, j->status[index], "%s",
                                           job_message(j, index));
    mpx_value_move(out, &j->values[index]);
    return MPX_OK;
}

void mpx_pool_iter_free(mpx_pool_iter *it)
{
    if (it == NULL)
        return;
    job_release(it->j);
    free(it);
}

/* ---- life cycle --------------------------------------------------------------------------- */

static int pool_call_void(mpx_pool *p, const char *method)
{
    if (p->failed != MPX_OK)
        return p->failed;
    mpx_value out;
    int rc = mpx_proxy_call(p->tasks, method, NULL, 0, &out);
    mpx_value_free(&out);
    return rc == MPX_OK ? MPX_OK : client_failed(p, rc);
}

int mpx_pool_close(mpx_pool *p)
{
    p->closed = true;
    return pool_call_void(p, "close");
}

int mpx_pool_terminate(mpx_pool *p)
{
    p->closed = p->terminated = true;
    int rc = pool_call_void(p, "terminate");
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i] > 0)
            kill(p->workers[i], SIGTERM); /* ours: forked by this pool */
    tend_workers(p, true);
    return rc;
}

/* The first job whose results are not all in, or NULL. */
static job *unfinished_job(const mpx_pool *p)
{
    for (list_node *n = p->jobs.head; n != NULL; n = n->next)
        if (!job_all_done(list_entry(n, job, link), 0))
            return list_entry(n, job, link);
    return NULL;
}

int mpx_pool_join(mpx_pool *p)
{
    if (p->failed != MPX_OK)
        return p->failed;
    if (!p->closed)
        return pool_fail(p, MPX_EVALUE, "Pool is still running");
    /* a job is looked up again after each pump: one no handle refers to is freed there */
    while (!p->terminated && unfinished_job(p) != NULL) {
        int rc = pump(p, -1);
        if (rc != MPX_OK && rc != MPX_ETIMEOUT)
            return rc;
    }
    while (p->manager != NULL && live_workers(p) > 0) { /* they leave once drained */
        tend_workers(p, false);
        if (live_workers(p) > 0)
            usleep(20000);
    }
    return MPX_OK;
}

static mpx_pool *pool_new(const mpx_pool_opts *opts)
{
    mpx_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    if (opts != NULL)
        p->opts = *opts;
    return p;
}

/* Lets go of everything the pool holds but the struct (and its message). */
static void pool_release(mpx_pool *p)
{
    if (p->manager != NULL && live_workers(p) > 0)
        mpx_pool_terminate(p);
    while (!list_empty(&p->jobs)) {
        job *j = list_entry(p->jobs.head, job, link);
        job_unlink(j);
        if (!j->owned)
            job_free(j);
        /* a job a handle still owns is freed with the handle (free handles first: a
         * handle of a freed pool can only be freed) */
    }
    mpx_proxy_close(p->tasks);
    p->tasks = NULL;
    if (p->own_client)
        mpx_client_close(p->client);
    p->client = NULL;
    mpx_manager_shutdown(p->manager);
    p->manager = NULL;
    free(p->workers);
    p->workers = NULL;
    pool_slots_free(p->slots, (size_t)p->nworkers);
    p->slots = NULL;
    p->nworkers = 0;
}

void mpx_pool_free(mpx_pool *p)
{
    if (p == NULL)
        return;
    pool_release(p);
    free(p);
}

/* A constructor that failed: the pool lets go of what it made and keeps only why. */
static int pool_failed(mpx_pool *p, int rc, const char *what)
{
    char why[sizeof p->errmsg];
    snprintf(why, sizeof why, "%s", p->errmsg[0] ? p->errmsg : mpx_strerror(rc));
    pool_fail(p, rc, "%s: %s", what, why);
    pool_release(p);
    p->failed = rc;
    return rc;
}

int mpx_pool_start(const mpx_pool_opts *opts, mpx_pool **out)
{
    mpx_pool *p = *out = pool_new(opts);
    if (p == NULL)
        return MPX_ENOMEM;
    p->nworkers = p->opts.processes > 0 ? p->opts.processes : pool_default_processes();
    p->restarts_left = POOL_RESTARTS_PER_PROCESS * p->nworkers;
    p->workers = calloc((size_t)p->nworkers, sizeof *p->workers);
    p->slots = pool_slots_new((size_t)p->nworkers);
    int rc = p->workers != NULL && p->slots != NULL ? mpx_manager_start(&p->manager)
                                                     : MPX_ENOMEM;
    if (rc != MPX_OK && p->manager != NULL)
        pool_fail(p, rc, "%s", mpx_manager_errmsg(p->manager));
    if (rc == MPX_OK && (rc = mpx_manager_connect(p->manager, &p->client)) != MPX_OK)
        pool_fail(p, rc, "%s", mpx_client_errmsg(p->client));
    p->own_client = true;
    if (rc == MPX_OK && (rc = mpx_proxy_create(p->client, POOL_TYPE, NULL, 0, &p->tasks)) !=
                            MPX_OK)
        client_failed(p, rc);
    for (int i = 0; rc == MPX_OK && i < p->nworkers; i++)
        rc = fork_worker(p, i);
    return rc == MPX_OK ? MPX_OK : pool_failed(p, rc, "cannot start the pool");
}

int mpx_pool_connect(mpx_client *c, const char *name, const mpx_pool_opts *opts,
                     mpx_pool **out)
{
    mpx_pool *p = *out = pool_new(opts);
    if (p == NULL)
        return MPX_ENOMEM;
    p->client = c;
    int rc = mpx_proxy_open(c, POOL_TYPE, name, NULL, 0, &p->tasks);
    if (rc == MPX_OK)
        return MPX_OK;
    client_failed(p, rc);
    char what[128];
    snprintf(what, sizeof what, "cannot open the pool '%s'", name);
    return pool_failed(p, rc, what);
}
