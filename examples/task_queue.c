/* task_queue.c - Python's "remote manager" pattern: a task queue and a result queue on one
 * manager, workers started as separate programs on any host that reaches it.
 *
 *   mpx-manager --listen tcp://0.0.0.0:50000 --authkey-file key
 *   task_queue work   --connect tcp://HOST:50000 --authkey-file key     (any number, anywhere)
 *   task_queue submit --connect tcp://HOST:50000 --authkey-file key --tasks 1000 --stop 2
 * The submitter puts tasks (i, n) into the JoinableQueue NAME.tasks; each worker takes
 * them, counts the primes below n and puts (i, worker, count) into the Queue NAME.results,
 * then marks the task done. The submitter collects one result per task, checks each
 * against its own computation, waits for join(), and finally puts one None per worker
 * to stop (--stop W). Workers may join late or leave: tasks wait in the manager meanwhile.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpx.h"

#define NAME_LEN 200
#define BATCH 100

typedef struct options {
    const char *mode; /* "work" or "submit" */
    const char *address;
    const char *authkey_file; /* NULL: $MPX_AUTHKEY */
    const char *name;
    char worker[NAME_LEN]; /* default: HOSTNAME-PID */
    int64_t tasks;
    int64_t stop;
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: task_queue work   --connect ADDR [--authkey-file PATH] [--name NAME]\n"
            "                         [--worker ID]\n"
            "       task_queue submit --connect ADDR [--authkey-file PATH] [--name NAME]\n"
            "                         [--tasks N] [--stop W]\n"
            "\n"
            "work takes tasks from the shared JoinableQueue NAME.tasks (default NAME: jobs)\n"
            "until it gets None, and puts results into the Queue NAME.results. submit puts N\n"
            "tasks (default 100), checks every result, waits until all are done, then puts\n"
            "W Nones (default 0) to stop W workers. The key comes from --authkey-file, or\n"
            "else from $%s.\n",
            MPX_AUTHKEY_ENV);
}

static int64_t parse_count(const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno != 0 || end == text || *end != '\0' || v < 0 ? -1 : (int64_t)v;
}

/* Fills o from argv: 0 to go on, 1 after --help, 2 on bad arguments (usage printed). */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"authkey-file", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {"worker", required_argument, NULL, 'w'},
        {"tasks", required_argument, NULL, 't'},
        {"stop", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->name = "jobs";
    o->tasks = 100;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': o->address = optarg; break;
        case 'k': o->authkey_file = optarg; break;
        case 'n': o->name = optarg; break;
        case 'w': snprintf(o->worker, sizeof o->worker, "%s", optarg); break;
        case 't': o->tasks = parse_count(optarg); break;
        case 's': o->stop = parse_count(optarg); break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    const char *problem = NULL;
    if (optind + 1 != argc)
        problem = "say work or submit";
    else if (strcmp(argv[optind], "work") != 0 && strcmp(argv[optind], "submit") != 0)
        problem = "the mode is work or submit";
    else if (o->address == NULL)
        problem = "--connect is required";
    else if (o->tasks < 0 || o->stop < 0)
        problem = "--tasks and --stop need a number >= 0";
    else if (strlen(o->name) + strlen(".results") >= NAME_LEN)
        problem = "--name is too long";
    if (problem != NULL) {
        fprintf(stderr, "task_queue: %s\n", problem);
        usage(stderr);
        return 2;
    }
    o->mode = argv[optind];
    if (o->worker[0] == '\0') {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(o->worker, sizeof o->worker, "%s-%ld", host, (long)getpid());
    }
    return 0;
}

static int fail(const mpx_client *c, int rc, const char *what)
{
    const char *msg = c != NULL ? mpx_client_errmsg(c) : "";
    fprintf(stderr, "task_queue: %s: %s: %s\n", what, mpx_err_name(rc),
            msg[0] != '\0' ? msg : mpx_strerror(rc));
    return rc;
}

/* The work a task stands for: the number of primes below n. */
static int64_t primes_below(int64_t n)
{
    int64_t count = 0;
    for (int64_t k = 2; k < n; k++) {
        bool prime = true;
        for (int64_t d = 2; d * d <= k && prime; d++)
            prime = k % d != 0;
        count += prime;
    }
    return count;
}

static int64_t task_size(int64_t i)
{
    return 1000 + i % 2000;
}

/* ---- work -------------------------------------------------------------------------------- */

/* Builds the result (i, worker, primes) for a task (i, n); MPX_EVALUE for another shape. */
static int run_task(const mpx_value *task, const char *worker, mpx_value *result)
{
    const mpx_value *i = mpx_value_at(task, 0), *n = mpx_value_at(task, 1);
    if (mpx_value_kind(task) != MPX_TUPLE || mpx_value_len(task) != 2 ||
        mpx_value_kind(i) != MPX_INT || mpx_value_kind(n) != MPX_INT)
        return MPX_EVALUE;
    mpx_value index = *i, name, count = mpx_value_int(primes_below(mpx_value_get_int(n)));
    int rc = mpx_value_tuple(result, 3);
    if (rc == MPX_OK)
        rc = mpx_value_append(result, &index);
    if (rc == MPX_OK && (rc = mpx_value_str(&name, worker)) == MPX_OK)
        rc = mpx_value_append(result, &name);
    if (rc == MPX_OK)
        rc = mpx_value_append(result, &count);
    return rc;
}

static int work(mpx_client *c, mpx_queue *tasks, mpx_queue *results, const options *o)
{
    int64_t done = 0;
    for (;;) {
        mpx_value task, result;
        int rc = mpx_queue_get(tasks, -1, &task);
        if (rc != MPX_OK)
            return fail(c, rc, "tasks.get()");
        bool stop = mpx_value_kind(&task) == MPX_NONE;
        if (!stop) {
            rc = run_task(&task, o->worker, &result);
            if (rc == MPX_OK)
                rc = mpx_queue_put(results, &result, -1);
            mpx_value_free(&result);
            if (rc != MPX_OK)
                fail(c, rc, "results.put(result)"); /* also a malformed task */
            done++;
        }
        mpx_value_free(&task);
        int drc = mpx_queue_task_done(tasks);
        if (rc != MPX_OK || drc != MPX_OK)
            return rc != MPX_OK ? rc : fail(c, drc, "tasks.task_done()");
        if (stop)
            break;
    }
    printf("worker %s: %" PRId64 " tasks\n", o->worker, done);
    return MPX_OK;
}

/* ---- submit ------------------------------------------------------------------------------ */

/* Puts tasks (i, n) for i in [0, count), BATCH per call. */
static int put_tasks(mpx_client *c, mpx_queue *tasks, int64_t count)
{
    for (int64_t i = 0; i < count;) {
        mpx_value batch;
        int rc = mpx_value_list(&batch, BATCH);
        for (int k = 0; k < BATCH && i < count && rc == MPX_OK; k++, i++) {
            mpx_value task, index = mpx_value_int(i), n = mpx_value_int(task_size(i));
            rc = mpx_value_tuple(&task, 2);
            if (rc == MPX_OK && (rc = mpx_value_append(&task, &index)) == MPX_OK)
                rc = mpx_value_append(&task, &n);
            if (rc == MPX_OK)
                rc = mpx_value_append(&batch, &task);
            mpx_value_free(&task);
        }
        if (rc == MPX_OK)
            rc = mpx_queue_put_many(tasks, &batch, -1);
        mpx_value_free(&batch);
        if (rc != MPX_OK)
            return fail(c, rc, "tasks.put_many(batch)");
    }
    return MPX_OK;
}

/* Checks one result (i, worker, primes) and counts it for its worker in per_worker. */
static int check_result(const mpx_value *r, unsigned char *seen, int64_t count,
                        mpx_value *per_worker)
{
    const mpx_value *i = mpx_value_at(r, 0), *who = mpx_value_at(r, 1), *p = mpx_value_at(r, 2);
    if (mpx_value_kind(r) != MPX_TUPLE || mpx_value_len(r) != 3 || mpx_value_kind(i) != MPX_INT ||
        mpx_value_kind(who) != MPX_STR || mpx_value_kind(p) != MPX_INT) {
        fprintf(stderr, "task_queue: a malformed result\n");
        return MPX_EVALUE;
    }
    int64_t index = mpx_value_get_int(i);
    if (index < 0 || index >= count || seen[index]) {
        fprintf(stderr, "task_queue: result %" PRId64 " unexpected or twice\n", index);
        return MPX_EVALUE;
    }
    seen[index] = 1;
    if (mpx_value_get_int(p) != primes_below(task_size(index))) {
        fprintf(stderr, "task_queue: result %" PRId64 " is wrong\n", index);
        return MPX_EVALUE;
    }
    mpx_value *had, key;
    int rc = mpx_value_dict_find(per_worker, who, &had);
    mpx_value n = mpx_value_int(rc == MPX_OK ? mpx_value_get_int(had) + 1 : 1);
    if ((rc = mpx_value_copy(&key, who)) == MPX_OK)
        rc = mpx_value_dict_set(per_worker, &key, &n);
    return rc;
}

static int collect(mpx_client *c, mpx_queue *results, int64_t count, mpx_value *per_worker)
{
    unsigned char *seen = calloc((size_t)count + 1, 1);
    if (seen == NULL)
        return fail(c, MPX_ENOMEM, "collecting");
    int rc = MPX_OK;
    for (int64_t got = 0; got < count && rc == MPX_OK;) {
        mpx_value batch;
        rc = mpx_queue_get_many(results, BATCH, -1, &batch);
        if (rc != MPX_OK) {
            fail(c, rc, "results.get_many()");
            break;
        }
        for (size_t k = 0; k < mpx_value_len(&batch) && rc == MPX_OK; k++, got++)
            rc = check_result(mpx_value_at(&batch, k), seen, count, per_worker);
        mpx_value_free(&batch);
    }
    free(seen);
    return rc;
}

static int submit(mpx_client *c, mpx_queue *tasks, mpx_queue *results, const options *o)
{
    mpx_value per_worker;
    int rc = mpx_value_dict(&per_worker);
    if (rc != MPX_OK)
        return fail(c, rc, "dict()");
    if ((rc = put_tasks(c, tasks, o->tasks)) == MPX_OK)
        rc = collect(c, results, o->tasks, &per_worker);
    if (rc == MPX_OK && (rc = mpx_queue_join(tasks, -1)) != MPX_OK)
        fail(c, rc, "tasks.join()");
    if (rc == MPX_OK) {
        printf("%" PRId64 " tasks done by %zu workers, every result checked\n", o->tasks,
               mpx_value_len(&per_worker));
        size_t pos = 0;
        mpx_value *who, *n;
        while (mpx_value_dict_next(&per_worker, &pos, &who, &n))
            printf("  %s: %" PRId64 "\n", mpx_value_str_data(who), mpx_value_get_int(n));
    }
    mpx_value_free(&per_worker);
    for (int64_t k = 0; k < o->stop && rc == MPX_OK; k++) {
        mpx_value none = mpx_value_none();
        if ((rc = mpx_queue_put(tasks, &none, -1)) != MPX_OK)
            fail(c, rc, "tasks.put(None)");
    }
    return rc;
}

/* Connects with the key from --authkey-file or $MPX_AUTHKEY. */
static int connect_client(const options *o, mpx_client **out)
{
    int rc = mpx_client_connect_keyfile(o->address, o->authkey_file, NULL, out);
    if (rc != MPX_OK)
        fail(*out, rc, o->address);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    char tasks_name[NAME_LEN], results_name[NAME_LEN];
    snprintf(tasks_name, sizeof tasks_name, "%s.tasks", o.name);
    snprintf(results_name, sizeof results_name, "%s.results", o.name);
    mpx_client *c;
    mpx_queue *tasks = NULL, *results = NULL;
    rc = connect_client(&o, &c);
    if (rc == MPX_OK && (rc = mpx_queue_open(c, tasks_name, 0, true, &tasks)) != MPX_OK)
        fail(c, rc, tasks_name);
    if (rc == MPX_OK && (rc = mpx_queue_open(c, results_name, 0, false, &results)) != MPX_OK)
        fail(c, rc, results_name);
    if (rc == MPX_OK)
        rc = strcmp(o.mode, "work") == 0 ? work(c, tasks, results, &o)
                                         : submit(c, tasks, results, &o);
    mpx_queue_close(tasks);
    mpx_queue_close(results);
    mpx_client_close(c);
    return rc == MPX_OK ? 0 : 1;
}
