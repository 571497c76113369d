/* pool.c - the submitting side of the pool: jobs, results, local workers.
 *
 * Every map, imap or apply_async is a job: n tasks submitted to the TaskPool in batches,
 * whose ids come back as ranges, and n result slots. Results are collected from the
 * TaskPool in finishing order by pump(), inside whichever pool call is waiting, and
 * dispatched to their job by id; callbacks run there. A local pool also keeps its
 * forked workers: pump() reaps them and starts one in place of each that left early
 * (maxtasksperchild, a task that ended it) while the pool may still have work.
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
#define COLLECT_BATCH 1024  /* results per results call */
#define LOCAL_SLICE_S 0.2   /* a local pool looks at its workers this often while waiting */

typedef struct id_range {
    uint64_t first;
    size_t count;
    size_t index; /* the job's index of the first */
} id_range;

typedef struct job {
    list_node link;          /* in its pool's jobs while pool is set */
    mpx_pool *pool;
    size_t n;
    size_t done;
    mpx_value *values;       /* results (or error messages) by index */
    int *status;             /* MPX_OK or the task's error, by index */
    bool *finished;
    size_t *order;           /* indexes in finishing order (imap_unordered) */
    size_t cursor;           /* the iterator's position (in order, or in index) */
    id_range *ranges;
    size_t nranges;
    mpx_pool_callback callback;
    mpx_pool_error_callback error_callback;
    void *data;
    bool owned;              /* a handle or iterator still refers to it */
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- jobs --------------------------------------------------------------------------------- */

static void job_free(job *j)
{
    for (size_t i = 0; i < j->n; i++)
        mpx_value_free(&j->values[i]);
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
 * to it. */
static void job_release(job *j)
{
    j->owned = false;
    if (j->done == j->n || j->pool == NULL) {
        job_unlink(j);
        job_free(j);
    }
}

static job *job_new(mpx_pool *p, size_t n)
{
    job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->pool = p;
    j->n = n;
    j->owned = true;
    j->values = calloc(n ? n : 1, sizeof *j->values);
    j->status = calloc(n ? n : 1, sizeof *j->status);
    j->finished = calloc(n ? n : 1, sizeof *j->finished);
    j->order = calloc(n ? n : 1, sizeof *j->order);
    j->ranges = calloc(n / SUBMIT_BATCH + 1, sizeof *j->ranges);
    if (j->values == NULL || j->status == NULL || j->finished == NULL || j->order == NULL ||
        j->ranges == NULL) {
        job_free(j);
        return NULL;
    }
    list_push_back(&p->jobs, &j->link);
    return j;
}

/* The job and index a task id belongs to. */
static job *job_of(mpx_pool *p, uint64_t id, size_t *index)
{
    for (list_node *n = p->jobs.head; n != NULL; n = n->next) {
        job *j = list_entry(n, job, link);
        for (size_t r = 0; r < j->nranges; r++)
            if (id >= j->ranges[r].first && id - j->ranges[r].first < j->ranges[r].count) {
                *index = j->ranges[r].index + (size_t)(id - j->ranges[r].first);
                return j;
            }
    }
    return NULL;
}

/* Records one result; runs the job's callback (apply_async). */
static void job_complete(job *j, size_t index, int status, mpx_value *value)
{
    if (j->finished[index])
        return; /* at-least-once: a second result of the same task is dropped */
    j->finished[index] = true;
    j->status[index] = status;
    mpx_value_move(&j->values[index], value);
    j->order[j->done++] = index;
    if (status == MPX_OK && j->callback != NULL)
        j->callback(&j->values[index], j->data);
    else if (status != MPX_OK && j->error_callback != NULL)
        j->error_callback(status, mpx_value_kind(&j->values[index]) == MPX_STR
                                      ? mpx_value_str_data(&j->values[index])
                                      : "",
                          j->data);
    if (j->done == j->n && !j->owned) {
        job_unlink(j);
        job_free(j);
    }
}

/* Builds (fn, args) for item i of items: args is the item (starmap) or (item,) (map). */
static int make_payload(const char *fn, const mpx_value *item, bool star, mpx_value *out)
{
    mpx_value name, args;
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
    } else {
        mpx_value copy;
        rc = mpx_value_tuple(&args, 1);
        if (rc == MPX_OK && (rc = mpx_value_copy(&copy, item)) == MPX_OK)
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

/* Submits n tasks (fn over items, or fn(*args) when items is NULL and n == 1) for j. */
static int submit(mpx_pool *p, job *j, const char *fn, const mpx_value *items, bool star)
{
    if (p->failed != MPX_OK)
        return p->failed; /* its message still says why it could not start */
    for (size_t start = 0; start < j->n; start += SUBMIT_BATCH) {
        size_t count = j->n - start < SUBMIT_BATCH ? j->n - start : SUBMIT_BATCH;
        mpx_value batch, first;
        int rc = mpx_value_list(&batch, count);
        for (size_t i = 0; i < count && rc == MPX_OK; i++) {
            mpx_value payload;
            rc = make_payload(fn, mpx_value_at(items, start + i), star, &payload);
            if (rc == MPX_OK && (rc = mpx_value_append(&batch, &payload)) != MPX_OK)
                mpx_value_free(&payload);
        }
        if (rc != MPX_OK) {
            mpx_value_free(&batch);
            return pool_fail(p, rc, "cannot build the tasks: %s", mpx_strerror(rc));
        }
        rc = mpx_proxy_call(p->tasks, "submit", &batch, 1, &first);
        mpx_value_free(&batch);
        if (rc != MPX_OK)
            return client_failed(p, rc);
        if (mpx_value_kind(&first) != MPX_INT)
            return pool_fail(p, MPX_EPROTO, "submit answered with a %s",
                             mpx_kind_name(mpx_value_kind(&first)));
        j->ranges[j->nranges++] =
            (id_range){(uint64_t)mpx_value_get_int(&first), count, start};
    }
    return MPX_OK;
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
 * first: MPX_OK, MPX_ETIMEOUT when none came in time, MPX_ECLOSED when none of this
 * pool's tasks is left anywhere (they were dropped: the pool was terminated), or the
 * client's failure. */
static int pump(mpx_pool *p, double timeout)
{
    if (p->failed != MPX_OK)
        return p->failed;
    if (p->manager != NULL) {
        tend_workers(p, false);
        if (live_workers(p) == 0 && !p->terminated)
            return pool_fail(p, MPX_ECLOSED, "every worker of the pool has exited (their "
                                             "errors went to stderr)");
        if (timeout < 0 || timeout > LOCAL_SLICE_S)
            timeout = LOCAL_SLICE_S; /* come back to look at the workers */
    }
    mpx_value args[2] = {mpx_value_int(COLLECT_BATCH), mpx_value_float(timeout)}, got;
    int rc = mpx_proxy_call_timeout(p->tasks, "results", args, timeout >= 0 ? 2 : 1, timeout,
                                    &got);
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
        mpx_value *parts = mpx_value_items(triple);
        if (mpx_value_len(triple) != 3 || mpx_value_kind(&parts[0]) != MPX_INT ||
            mpx_value_kind(&parts[1]) != MPX_INT)
            continue;
        size_t index;
        job *j = job_of(p, (uint64_t)mpx_value_get_int(&parts[0]), &index);
        if (j != NULL)
            job_complete(j, index, (int)mpx_value_get_int(&parts[1]), &parts[2]);
    }
    mpx_value_free(&got);
    return MPX_OK;
}

/* Pumps until done(arg) or the timeout; MPX_OK or MPX_ETIMEOUT or a failure. */
static int pump_until(mpx_pool *p, bool (*done)(const job *j), const job *j, double timeout)
{
    double end = timeout >= 0 ? now_s() + timeout : 0;
    while (!done(j)) {
        double left = -1;
        if (timeout >= 0 && (left = end - now_s()) <= 0)
            return MPX_ETIMEOUT;
        int rc = pump(p, left);
        if (rc != MPX_OK && rc != MPX_ETIMEOUT)
            return rc;
    }
    return MPX_OK;
}

static bool job_all_done(const job *j)
{
    return j->done == j->n;
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
static int job_error(mpx_pool *p, const job *j)
{
    for (size_t i = 0; i < j->n; i++)
        if (j->status[i] != MPX_OK)
            return pool_fail(p, j->status[i], "%s",
                             mpx_value_kind(&j->values[i]) == MPX_STR
                                 ? mpx_value_str_data(&j->values[i])
                                 : mpx_strerror(j->status[i]));
    return MPX_OK;
}

static int map_common(mpx_pool *p, const char *fn, const mpx_value *items, bool star,
                      mpx_value *results)
{
    *results = mpx_value_none();
    int rc = check_running(p);
    if (rc == MPX_OK)
        rc = check_items(p, items);
    if (rc != MPX_OK)
        return rc;
    job *j = job_new(p, mpx_value_len(items));
    if (j == NULL)
        return pool_fail(p, MPX_ENOMEM, "out of memory");
    progress pr;
    progress_start(&pr, p, j->n);
    rc = submit(p, j, fn, items, star);
    while (rc == MPX_OK && !job_all_done(j)) {
        rc = pump(p, 0.5);
        if (rc == MPX_ETIMEOUT)
            rc = MPX_OK;
        progress_show(&pr, j, false);
    }
    if (rc == MPX_OK) {
        progress_show(&pr, j, true);
        rc = job_error(p, j);
    }
    if (rc == MPX_OK && (rc = mpx_value_list(results, j->n)) == MPX_OK)
        for (size_t i = 0; i < j->n; i++)
            mpx_value_append(results, &j->values[i]); /* moved; within the capacity */
    if (rc == MPX_ENOMEM && mpx_value_kind(results) == MPX_NONE)
        pool_fail(p, rc, "out of memory");
    j->n = j->done; /* a failed submit leaves tasks that never come: forget them */
    job_release(j);
    return rc;
}

int mpx_pool_map(mpx_pool *p, const char *fn, const mpx_value *items, mpx_value *results)
{
    return map_common(p, fn, items, false, results);
}

int mpx_pool_starmap(mpx_pool *p, const char *fn, const mpx_value *items,
                     mpx_value *results)
{
    return map_common(p, fn, items, true, results);
}

/* ---- apply_async -------------------------------------------------------------------------- */

int mpx_pool_apply_async(mpx_pool *p, const char *fn, const mpx_value *args,
                         mpx_pool_callback callback, mpx_pool_error_callback error_callback,
                         void *data, mpx_pool_result **out)
{
    *out = NULL;
    int rc = check_running(p);
    if (rc != MPX_OK)
        return rc;
    mpx_value none_args, items;
    if (args == NULL) {
        if (mpx_value_tuple(&none_args, 0) != MPX_OK)
            return pool_fail(p, MPX_ENOMEM, "out of memory");
        args = &none_args;
    } else if (mpx_value_kind(args) != MPX_TUPLE) {
        return pool_fail(p, MPX_ETYPE, "args must be a tuple, not %s",
                         mpx_kind_name(mpx_value_kind(args)));
    }
    mpx_pool_result *r = calloc(1, sizeof *r);
    job *j = r != NULL ? job_new(p, 1) : NULL;
    if (j == NULL || mpx_value_tuple(&items, 1) != MPX_OK) {
        free(r);
        if (j != NULL)
            job_release(j);
        if (args == &none_args)
            mpx_value_free(&none_args);
        return pool_fail(p, MPX_ENOMEM, "out of memory");
    }
    mpx_value copy;
    rc = mpx_value_copy(&copy, args);
    if (rc == MPX_OK)
        mpx_value_append(&items, &copy);
    j->callback = callback;
    j->error_callback = error_callback;
    j->data = data;
    if (rc == MPX_OK)
        rc = submit(p, j, fn, &items, true);
    mpx_value_free(&items);
    if (args == &none_args)
        mpx_value_free(&none_args);
    if (rc != MPX_OK) {
        j->n = 0;
        job_release(j);
        free(r);
        return rc;
    }
    r->j = j;
    *out = r;
    return MPX_OK;
}

int mpx_pool_result_wait(mpx_pool_result *r, double timeout)
{
    if (job_all_done(r->j))
        return MPX_OK;
    if (r->j->pool == NULL)
        return MPX_ECLOSED; /* its pool was freed before it */
    return pump_until(r->j->pool, job_all_done, r->j, timeout);
}

bool mpx_pool_result_ready(mpx_pool_result *r)
{
    if (!job_all_done(r->j) && r->j->pool != NULL)
        pump(r->j->pool, 0);
    return job_all_done(r->j);
}

int mpx_pool_result_successful(mpx_pool_result *r, bool *out)
{
    if (!mpx_pool_result_ready(r))
        return r->j->pool == NULL ? MPX_ECLOSED
                                  : pool_fail(r->j->pool, MPX_EINVAL, "the result is not ready");
    *out = r->j->status[0] == MPX_OK;
    return MPX_OK;
}

int mpx_pool_result_get(mpx_pool_result *r, double timeout, mpx_value *out)
{
    *out = mpx_value_none();
    int rc = mpx_pool_result_wait(r, timeout);
    if (r->j->pool == NULL && rc != MPX_OK)
        return rc;
    if (rc == MPX_ETIMEOUT)
        return pool_fail(r->j->pool, rc, "the result is not ready in time");
    if (rc != MPX_OK)
        return rc;
    if (r->j->pool == NULL)
        return r->j->status[0] != MPX_OK
                   ? r->j->status[0]
                   : mpx_value_copy(out, &r->j->values[0]); /* finished before the free */
    if ((rc = job_error(r->j->pool, r->j)) != MPX_OK)
        return rc;
    if (mpx_value_copy(out, &r->j->values[0]) != MPX_OK)
        return pool_fail(r->j->pool, MPX_ENOMEM, "out of memory");
    return MPX_OK;
}

void mpx_pool_result_free(mpx_pool_result *r)
{
    if (r == NULL)
        return;
    job_release(r->j);
    free(r);
}

int mpx_pool_apply(mpx_pool *p, const char *fn, const mpx_value *args, mpx_value *result)
{
    mpx_pool_result *r;
    *result = mpx_value_none();
    int rc = mpx_pool_apply_async(p, fn, args, NULL, NULL, NULL, &r);
    if (rc != MPX_OK)
        return rc;
    rc = mpx_pool_result_get(r, -1, result);
    mpx_pool_result_free(r);
    return rc;
}

/* ---- imap --------------------------------------------------------------------------------- */

static int imap_common(mpx_pool *p, const char *fn, const mpx_value *items, bool ordered,
                       mpx_pool_iter **out)
{
    *out = NULL;
    int rc = check_running(p);
    if (rc == MPX_OK)
        rc = check_items(p, items);
    if (rc != MPX_OK)
        return rc;
    mpx_pool_iter *it = calloc(1, sizeof *it);
    job *j = it != NULL ? job_new(p, mpx_value_len(items)) : NULL;
    if (j == NULL) {
        free(it);
        return pool_fail(p, MPX_ENOMEM, "out of memory");
    }
    if ((rc = submit(p, j, fn, items, false)) != MPX_OK) {
        j->n = j->done;
        job_release(j);
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
    return imap_common(p, fn, items, true, out);
}

int mpx_pool_imap_unordered(mpx_pool *p, const char *fn, const mpx_value *items,
                            mpx_pool_iter **out)
{
    return imap_common(p, fn, items, false, out);
}

static bool next_ordered_ready(const job *j)
{
    return j->cursor >= j->n || j->finished[j->cursor];
}

static bool next_unordered_ready(const job *j)
{
    return j->cursor >= j->n || j->cursor < j->done;
}

int mpx_pool_iter_next(mpx_pool_iter *it, double timeout, mpx_value *out, bool *done)
{
    job *j = it->j;
    *out = mpx_value_none();
    *done = false;
    bool (*ready)(const job *) = it->ordered ? next_ordered_ready : next_unordered_ready;
    if (!ready(j)) {
        if (j->pool == NULL)
            return MPX_ECLOSED; /* its pool was freed before it */
        int rc = pump_until(j->pool, ready, j, timeout);
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
    if (j->status[index] != MPX_OK) {
        if (j->pool == NULL)
            return j->status[index];
        return pool_fail(j->pool, j->status[index], "%s",
                         mpx_value_kind(&j->values[index]) == MPX_STR
                             ? mpx_value_str_data(&j->values[index])
                             : mpx_strerror(j->status[index]));
    }
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
        if (!job_all_done(list_entry(n, job, link)))
            return list_entry(n, job, link);
    return NULL;
}

int mpx_pool_join(mpx_pool *p)
{
    if (p->failed != MPX_OK)
        return p->failed;
    if (!p->closed)
        return pool_fail(p, MPX_EVALUE, "Pool is still running");
    job *j;
    while (!p->terminated && (j = unfinished_job(p)) != NULL) {
        int rc = pump_until(p, job_all_done, j, -1);
        if (rc != MPX_OK)
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
