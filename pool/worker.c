/* worker.c - the worker side of the pool: the task loop, and the main of worker programs.
 *
 * A worker takes one task at a time (so a slow task never holds others hostage; a chunk
 * is one task, as the submitter chose), looks its function up by name, runs it (on each
 * item of a chunk) and finishes it with its result or its error. Its lease on the task is
 * its session: if the process dies, the manager gives the task to another worker, within
 * the task's tries. The worker program's main process only forks workers and replaces
 * those that leave after maxtasksperchild, or that a task ended (the slot they share says
 * so), until the pool is drained.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpx/authkey.h"
#include "pool_internal.h"

/* SIGTERM or SIGINT to a worker program: it passes the signal on to its workers. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

bool pool_worker_replace(int status, bool busy, int *restarts_left)
{
    if (busy)
        return true;
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == WORKER_RECYCLE;
    return WIFSIGNALED(status) && (*restarts_left)-- > 0;
}

pool_slot *pool_slots_new(size_t n)
{
    void *m = mmap(NULL, (n ? n : 1) * sizeof(pool_slot), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    pool_slot *slots = m; /* zero-filled: nobody busy */
    for (size_t i = 0; i < n; i++)
        atomic_init(&slots[i].busy, 0);
    return slots;
}

void pool_slots_free(pool_slot *slots, size_t n)
{
    if (slots != NULL)
        munmap(slots, (n ? n : 1) * sizeof(pool_slot));
}

static void slot_set(pool_slot *slot, int busy)
{
    if (slot != NULL)
        atomic_store_explicit(&slot->busy, busy, memory_order_relaxed);
}

int pool_default_processes(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 4096 ? (int)n : 1;
}

static const mpx_pool_function *find_function(const mpx_pool_function *fns, size_t n,
                                              const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fns[i].name, name) == 0)
            return &fns[i];
    return NULL;
}

/* Calls f on args into *value: its result, or its message as a str; returns its status. */
static int call_function(mpx_client *c, const mpx_pool_function *f, const mpx_value *args,
                         mpx_value *value)
{
    char err[256];
    err[0] = '\0'; /* not the whole buffer: this runs for every item of a chunk */
    *value = mpx_value_none();
    int rc = f->fn(c, args, value, err, sizeof err);
    if (rc == MPX_OK)
        return MPX_OK;
    mpx_value_free(value);
    if (err[0] == '\0')
        snprintf(err, sizeof err, "%s", mpx_strerror(rc));
    if (mpx_value_str(value, err) != MPX_OK)
        mpx_value_str(value, "(message not UTF-8)");
    return rc;
}

/* A failure of the task itself (before any function ran): rc with msg as *value. */
static int task_error(int rc, const char *msg, mpx_value *value)
{
    if (mpx_value_str(value, msg) != MPX_OK)
        *value = mpx_value_none();
    return rc;
}

/* Runs a chunk (fn, [item, ...], star) into *value; returns its status (pool_internal.h):
 * MPX_OK with the list of results, or POOL_STATUS_MIXED with (status, value) pairs. The
 * items are moved out of the payload. */
static int run_chunk(mpx_client *c, const mpx_pool_function *f, mpx_value *items, bool star,
                     mpx_value *value)
{
    size_t n = mpx_value_len(items);
    int *status = calloc(n ? n : 1, sizeof *status);
    if (status == NULL || mpx_value_list(value, n) != MPX_OK) {
        free(status);
        return task_error(MPX_ENOMEM, "out of memory in the worker", value);
    }
    bool mixed = false;
    mpx_value args = mpx_value_none(); /* (item,) for fn(item): one tuple for all items */
    if (!star && mpx_value_tuple(&args, 1) != MPX_OK) {
        free(status);
        mpx_value_free(value);
        return task_error(MPX_ENOMEM, "out of memory in the worker", value);
    }
    for (size_t i = 0; i < n; i++) {
        mpx_value *item = mpx_value_at(items, i), out, done_with;
        if (star && mpx_value_kind(item) != MPX_TUPLE) {
            status[i] = MPX_ETYPE;
            if (mpx_value_str(&out, "each item of a starmap must be a tuple") != MPX_OK)
                out = mpx_value_none();
        } else if (star) {
            status[i] = call_function(c, f, item, &out);
        } else {
            mpx_value_append(&args, item); /* within its room: the payload is done with it */
            status[i] = call_function(c, f, &args, &out);
            mpx_value_remove(&args, 0, &done_with);
            mpx_value_free(&done_with);
        }
        mixed |= status[i] != MPX_OK;
        mpx_value_append(value, &out); /* within the capacity asked for */
    }
    mpx_value_free(&args);
    if (!mixed) {
        free(status);
        return MPX_OK;
    }
    mpx_value pairs;
    if (mpx_value_list(&pairs, n) != MPX_OK) {
        free(status);
        mpx_value_free(value);
        return task_error(MPX_ENOMEM, "out of memory in the worker", value);
    }
    for (size_t i = 0; i < n; i++) {
        mpx_value pair, st = mpx_value_int(status[i]);
        if (mpx_value_tuple(&pair, 2) != MPX_OK) {
            free(status);
            mpx_value_free(&pairs);
            mpx_value_free(value);
            return task_error(MPX_ENOMEM, "out of memory in the worker", value);
        }
        mpx_value_append(&pair, &st);
        mpx_value_append(&pair, mpx_value_at(value, i)); /* moved */
        mpx_value_append(&pairs, &pair);
    }
    free(status);
    mpx_value_free(value);
    mpx_value_move(value, &pairs);
    return POOL_STATUS_MIXED;
}

/* Runs the function f found for name (NULL: none) on args (one call) or each item of a
 * chunk (items, star). */
static int run_items(mpx_client *c, const mpx_pool_function *f, const mpx_value *name,
                     mpx_value *args, bool chunk, const mpx_value *star, mpx_value *value)
{
    if (f == NULL) {
        char err[256];
        snprintf(err, sizeof err, "no function '%s' in this worker", mpx_value_str_data(name));
        if (!chunk)
            return task_error(MPX_ENOMETHOD, err, value);
        /* every item fails alike, so that the items' errors read as they would one by one */
        size_t k = mpx_value_len(args);
        if (mpx_value_list(value, k) != MPX_OK)
            return task_error(MPX_ENOMEM, "out of memory in the worker", value);
        for (size_t i = 0; i < k; i++) {
            mpx_value pair, st = mpx_value_int(MPX_ENOMETHOD), msg;
            if (mpx_value_tuple(&pair, 2) != MPX_OK || mpx_value_str(&msg, err) != MPX_OK) {
                mpx_value_free(&pair);
                mpx_value_free(value);
                return task_error(MPX_ENOMEM, "out of memory in the worker", value);
            }
            mpx_value_append(&pair, &st);
            mpx_value_append(&pair, &msg);
            mpx_value_append(value, &pair);
        }
        return POOL_STATUS_MIXED;
    }
    if (chunk)
        return run_chunk(c, f, args, mpx_value_get_bool(star), value);
    return call_function(c, f, args, value);
}

/* Runs one task's payload (pool_internal.h) into *value; returns its status. */
static int run_task(mpx_client *c, mpx_value *payload, const mpx_pool_function *fns,
                    size_t n, mpx_value *value)
{
    *value = mpx_value_none();
    size_t len = mpx_value_kind(payload) == MPX_TUPLE ? mpx_value_len(payload) : 0;
    mpx_value *name = len > 0 ? mpx_value_at(payload, 0) : NULL;
    mpx_value *args = len > 1 ? mpx_value_at(payload, 1) : NULL;
    bool chunk = len == 3 &&
                 (mpx_value_kind(args) == MPX_LIST || mpx_value_kind(args) == MPX_BYTES) &&
                 mpx_value_kind(mpx_value_at(payload, 2)) == MPX_BOOL;
    if (name == NULL || mpx_value_kind(name) != MPX_STR ||
        !(chunk || (len == 2 && mpx_value_kind(args) == MPX_TUPLE)))
        return task_error(MPX_ETYPE, "a task must be (function name, args tuple)", value);
    const mpx_pool_function *f = find_function(fns, n, mpx_value_str_data(name));
    mpx_value unpacked = mpx_value_none();
    if (chunk && mpx_value_kind(args) == MPX_BYTES) {
        int rc = pool_unpack(args, &unpacked);
        if (rc != MPX_OK || mpx_value_kind(&unpacked) != MPX_LIST) {
            mpx_value_free(&unpacked);
            return task_error(rc == MPX_ENOMEM ? rc : MPX_EPROTO, "a chunk's items are "
                              "malformed", value);
        }
        args = &unpacked;
    }
    int status = run_items(c, f, name, args, chunk, mpx_value_at(payload, 2), value);
    mpx_value_free(&unpacked);
    mpx_value packed;
    if (chunk && (status == MPX_OK || status == POOL_STATUS_MIXED) &&
        pool_pack(value, &packed) == MPX_OK) { /* else it goes as a list */
        mpx_value_free(value);
        mpx_value_move(value, &packed);
    }
    return status;
}

/* Finishes one task with (id, status, value); a value that cannot travel (nested too
 * deeply) is replaced by that error. */
static int finish(mpx_proxy *tasks, int64_t id, int status, mpx_value *value)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        mpx_value triple, list, out;
        mpx_value vid = mpx_value_int(id), vstatus = mpx_value_int(status);
        if (mpx_value_tuple(&triple, 3) != MPX_OK || mpx_value_list(&list, 1) != MPX_OK)
            return MPX_ENOMEM;
        mpx_value_append(&triple, &vid);
        mpx_value_append(&triple, &vstatus);
        mpx_value_append(&triple, value); /* taken */
        mpx_value_append(&list, &triple);
        int rc = mpx_proxy_call(tasks, "finish", &list, 1, &out);
        mpx_value_free(&list);
        mpx_value_free(&out);
        if (rc != MPX_EVALUE || attempt > 0)
            return rc;
        status = MPX_EVALUE;
        mpx_value_str(value, "the result is nested too deeply to travel");
    }
    return MPX_OK;
}

int pool_worker_run(mpx_client *c, mpx_proxy *tasks, const mpx_pool_function *functions,
                    size_t nfunctions, int (*initializer)(void *arg), void *initarg,
                    long maxtasks, pool_slot *slot)
{
    if (initializer != NULL && initializer(initarg) != 0) {
        fprintf(stderr, "mpx pool worker %ld: the initializer failed\n", (long)getpid());
        return WORKER_FAILED;
    }
    for (long done = 0; maxtasks <= 0 || done < maxtasks; done++) {
        mpx_value got;
        int rc = mpx_proxy_call_timeout(tasks, "take", NULL, 0, -1, &got);
        if (rc != MPX_OK)
            return WORKER_FAILED;
        if (mpx_value_kind(&got) == MPX_NONE)
            return WORKER_DRAINED;
        slot_set(slot, 1); /* from here until finished, a death is this task's doing */
        for (size_t i = 0; i < mpx_value_len(&got); i++) {
            const mpx_value *pair = mpx_value_at(&got, i);
            mpx_value value;
            int status = run_task(c, mpx_value_at(pair, 1), functions, nfunctions, &value);
            rc = finish(tasks, mpx_value_get_int(mpx_value_at(pair, 0)), status, &value);
            mpx_value_free(&value);
            if (rc != MPX_OK) {
                mpx_value_free(&got);
                slot_set(slot, 0);
                return WORKER_FAILED;
            }
        }
        slot_set(slot, 0);
        mpx_value_free(&got);
    }
    return WORKER_RECYCLE;
}

/* ---- worker programs ---------------------------------------------------------------------- */

typedef struct worker_args {
    const char *address;
    const char *keyfile;
    const char *pool;
    int processes;
    long maxtasks;
} worker_args;

static void worker_usage(FILE *to, const char *prog)
{
    fprintf(to,
            "usage: %s --connect ADDR [--authkey-file PATH] --pool NAME [--processes N]\n"
            "          [--maxtasksperchild K]\n"
            "Runs N workers (default: the number of cores) for the task pool NAME on the\n"
            "mpx-manager at ADDR, until the pool is closed and every task is done.\n"
            "The key comes from --authkey-file, or else from $%s.\n",
            prog, MPX_AUTHKEY_ENV);
}

static int parse_worker_args(int argc, char **argv, worker_args *a)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"authkey-file", required_argument, NULL, 'k'},
        {"pool", required_argument, NULL, 'p'},
        {"processes", required_argument, NULL, 'n'},
        {"maxtasksperchild", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *a = (worker_args){.processes = pool_default_processes()};
    optind = 1;
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': a->address = optarg; break;
        case 'k': a->keyfile = optarg; break;
        case 'p': a->pool = optarg; break;
        case 'n':
            a->processes = (int)strtol(optarg, &end, 10);
            if (*end != '\0' || a->processes < 1 || a->processes > 1024) {
                fprintf(stderr, "%s: --processes needs a number from 1 to 1024\n", argv[0]);
                return 2;
            }
            break;
        case 'm':
            a->maxtasks = strtol(optarg, &end, 10);
            if (*end != '\0' || a->maxtasks < 0) {
                fprintf(stderr, "%s: --maxtasksperchild needs a number >= 0\n", argv[0]);
                return 2;
            }
            break;
        case 'h': worker_usage(stdout, argv[0]); return 1;
        default: worker_usage(stderr, argv[0]); return 2;
        }
    }
    if (optind != argc || a->address == NULL || a->pool == NULL) {
        fprintf(stderr, "%s: %s\n", argv[0],
                optind != argc ? "unexpected argument" : "--connect and --pool are required");
        worker_usage(stderr, argv[0]);
        return 2;
    }
    return 0;
}

/* One worker process: connect, open the pool, run tasks; _exits with the status. */
static void worker_process(const worker_args *a, const uint8_t *key, size_t keylen,
                           const mpx_pool_function *fns, size_t n,
                           int (*initializer)(void *), void *initarg, pool_slot *slot)
{
    signal(SIGTERM, SIG_DFL); /* the program's handler passes signals on; a worker just ends */
    signal(SIGINT, SIG_DFL);
    mpx_client *c;
    mpx_proxy *tasks = NULL;
    int rc = mpx_client_connect(a->address, key, keylen, NULL, &c);
    if (rc == MPX_OK)
        rc = mpx_proxy_open(c, POOL_TYPE, a->pool, NULL, 0, &tasks);
    int status = WORKER_FAILED;
    if (rc == MPX_OK)
        status = pool_worker_run(c, tasks, fns, n, initializer, initarg, a->maxtasks, slot);
    else
        fprintf(stderr, "worker %ld: %s: %s\n", (long)getpid(), mpx_err_name(rc),
                c != NULL ? mpx_client_errmsg(c) : mpx_strerror(rc));
    mpx_proxy_close(tasks);
    mpx_client_close(c);
    fflush(NULL);
    _exit(status);
}

int mpx_pool_worker_main(int argc, char **argv, const mpx_pool_function *functions,
                         size_t nfunctions, int (*initializer)(void *arg), void *initarg)
{
    worker_args a;
    int rc = parse_worker_args(argc, argv, &a);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    uint8_t *key;
    size_t keylen;
    char err[256];
    if (mpx_authkey_resolve(a.keyfile, &key, &keylen, err, sizeof err) != MPX_OK) {
        fprintf(stderr, "%s: authkey: %s\n", argv[0], err);
        return 2;
    }
    pid_t *children = calloc((size_t)a.processes, sizeof *children);
    pool_slot *slots = pool_slots_new((size_t)a.processes);
    if (children == NULL || slots == NULL) {
        free(children);
        pool_slots_free(slots, (size_t)a.processes);
        free(key);
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_stop_signal}, old_term, old_int;
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: wait() returns to look at the flag */
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    int running = 0, failed = 0, restarts_left = POOL_RESTARTS_PER_PROCESS * a.processes;
    for (int i = 0; i < a.processes; i++) {
        pid_t pid = fork();
        if (pid == 0)
            worker_process(&a, key, keylen, functions, nfunctions, initializer, initarg,
                           &slots[i]);
        if (pid > 0) {
            children[i] = pid;
            running++;
        }
    }
    bool stopping = false;
    while (running > 0) {
        if (stop_signal != 0 && !stopping) {
            stopping = true; /* its tasks go back to the pool with their sessions */
            for (int i = 0; i < a.processes; i++)
                if (children[i] > 0)
                    kill(children[i], SIGTERM);
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        running--;
        int place = 0;
        while (place < a.processes && children[place] != pid)
            place++;
        if (place < a.processes)
            children[place] = 0;
        if (stopping) {
            failed++;
            continue;
        }
        bool busy = place < a.processes && atomic_load(&slots[place].busy);
        bool drained = !busy && WIFEXITED(status) && WEXITSTATUS(status) == WORKER_DRAINED;
        bool recycled = WIFEXITED(status) && WEXITSTATUS(status) == WORKER_RECYCLE;
        if (!drained && !recycled) {
            failed++;
            fprintf(stderr, "%s: worker %ld ended with %s %d%s\n", argv[0], (long)pid,
                    WIFEXITED(status) ? "status" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                    busy ? " while running a task" : "");
        }
        if (place < a.processes && pool_worker_replace(status, busy, &restarts_left)) {
            atomic_store(&slots[place].busy, 0);
            pid_t again = fork();
            if (again == 0)
                worker_process(&a, key, keylen, functions, nfunctions, initializer, initarg,
                               &slots[place]);
            if (again > 0) {
                children[place] = again;
                running++;
            }
        }
    }
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    free(children);
    pool_slots_free(slots, (size_t)a.processes);
    free(key);
    return failed == 0 ? 0 : 1;
}
