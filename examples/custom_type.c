/* custom_type.c - a shared object type of your own: a token bucket that rate-limits
 * workers on many hosts, served by a manager built from this program (mpx/type.h).
 *
 *   custom_type                       the demo: a manager and 4 workers on this host
 *   custom_type --listen tcp://0.0.0.0:5000 --authkey-file key   a manager with the type
 *                                     (every mpx-manager option works: mpx_server_main)
 *   custom_type worker --connect tcp://HOST:5000 --authkey-file key [--takes N]
 *
 * TokenBucket(rate, capacity[, concurrency]) refills rate tokens a second up to capacity.
 * take([timeout]) waits for a token (and, with a concurrency, for one of that many slots,
 * held by the caller's connection until done()), parked on the manager, FIFO; it answers
 * True, or False when the timeout ends first. A worker that dies holding a slot gives it
 * back (session_ended). available() and in_flight() read the state.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mpx.h"

/* ---- the type, on the manager ------------------------------------------------------------ */

typedef struct slot_hold {
    uint64_t session; /* a connection holding slots */
    int64_t slots;
} slot_hold;

typedef struct bucket {
    double rate, capacity, tokens;
    double last;               /* when tokens was last brought up to date (seconds) */
    int64_t concurrency;       /* 0: no limit on takes in flight */
    int64_t in_flight;
    slot_hold *holds;          /* at most concurrency entries: each holds a slot */
    size_t nholds;
    mpx_wait_list waiters;     /* parked take() calls */
    mpx_deadline *refill;      /* wakes the waiters when the next token is due */
} bucket;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bring_up_to_date(bucket *b)
{
    double now = now_seconds();
    b->tokens += (now - b->last) * b->rate;
    if (b->tokens > b->capacity)
        b->tokens = b->capacity;
    b->last = now;
}

static slot_hold *hold_of(bucket *b, uint64_t session)
{
    for (size_t i = 0; i < b->nholds; i++)
        if (b->holds[i].session == session)
            return &b->holds[i];
    return NULL;
}

/* One more slot for the caller's connection, which is watched so that its slots come
 * back if it ends holding them. */
static int hold_slot(mpx_call *c, bucket *b)
{
    uint64_t session = mpx_call_session_id(c);
    slot_hold *h = hold_of(b, session);
    if (h == NULL) {
        slot_hold *grown = realloc(b->holds, (b->nholds + 1) * sizeof *grown);
        if (grown == NULL || mpx_call_watch(c, c->obj) != MPX_OK) {
            if (grown != NULL)
                b->holds = grown;
            return mpx_call_fail_nomem(c);
        }
        b->holds = grown;
        h = &b->holds[b->nholds++];
        *h = (slot_hold){.session = session};
    }
    h->slots++;
    b->in_flight++;
    return MPX_OK;
}

static void drop_slots(bucket *b, slot_hold *h, int64_t n)
{
    h->slots -= n;
    b->in_flight -= n;
    if (h->slots == 0)
        *h = b->holds[--b->nholds];
    mpx_wait_signal(&b->waiters);
}

static void on_refill(mpx_object *obj, uint64_t token)
{
    (void)token;
    bucket *b = obj->state;
    b->refill = NULL; /* a fired deadline frees itself */
    mpx_wait_signal(&b->waiters);
}

/* take() answers False, not an error, when its timeout ends first. */
static void on_take_timeout(mpx_waiter *w)
{
    mpx_value no = mpx_value_bool(false);
    mpx_waiter_reply(w, MPX_OK, "", &no);
}

static const mpx_wait_ops take_ops = {.on_timeout = on_take_timeout};

/* take([timeout]) -> True, or False after timeout seconds without a token */
static int bucket_take(mpx_call *c)
{
    bucket *b = c->obj->state;
    int rc = mpx_call_timeout_arg(c, 0);
    if (rc != MPX_OK)
        return rc;
    bring_up_to_date(b);
    bool slot_free = b->concurrency == 0 || b->in_flight < b->concurrency;
    if (b->tokens >= 1 && slot_free && mpx_call_first_in_line(c, &b->waiters)) {
        if (b->concurrency > 0 && (rc = hold_slot(c, b)) != MPX_OK)
            return rc;
        b->tokens -= 1;
        c->result = mpx_value_bool(true);
        return MPX_OK;
    }
    if (c->has_timeout && c->timeout <= 0) {
        c->result = mpx_value_bool(false);
        return MPX_OK;
    }
    if (b->tokens < 1 && b->refill == NULL) { /* wake up when the next token is there */
        double wait = (1 - b->tokens) / b->rate + 0.001;
        if ((b->refill = mpx_deadline_start(c->srv, c->obj, wait, 0, on_refill)) == NULL)
            return mpx_call_fail_nomem(c);
    }
    return mpx_call_park(c, &b->waiters, &take_ops, NULL);
}

/* done(): gives back a slot the caller's connection holds */
static int bucket_done(mpx_call *c)
{
    bucket *b = c->obj->state;
    slot_hold *h = hold_of(b, mpx_call_session_id(c));
    if (h == NULL)
        return mpx_call_fail(c, MPX_ERUNTIME, "done() without a slot held by this connection");
    drop_slots(b, h, 1);
    return MPX_OK;
}

/* available() -> float: the tokens there now */
static int bucket_available(mpx_call *c)
{
    bucket *b = c->obj->state;
    bring_up_to_date(b);
    c->result = mpx_value_float(b->tokens);
    return MPX_OK;
}

/* in_flight() -> int: the slots held */
static int bucket_in_flight(mpx_call *c)
{
    c->result = mpx_value_int(((bucket *)c->obj->state)->in_flight);
    return MPX_OK;
}

static void bucket_session_ended(mpx_object *obj, uint64_t session)
{
    bucket *b = obj->state;
    slot_hold *h = hold_of(b, session);
    if (h != NULL)
        drop_slots(b, h, h->slots);
}

/* TokenBucket(rate, capacity[, concurrency=0]) */
static int bucket_init(mpx_object *obj, mpx_call *c)
{
    double rate, capacity;
    int64_t concurrency = 0;
    int rc = mpx_call_number_arg(c, 0, "rate", &rate);
    if (rc == MPX_OK)
        rc = mpx_call_number_arg(c, 1, "capacity", &capacity);
    if (rc == MPX_OK && c->nargs > 2)
        rc = mpx_call_expect_kind(c, 2, MPX_INT, "concurrency");
    if (rc != MPX_OK)
        return rc;
    if (c->nargs > 2)
        concurrency = mpx_value_get_int(&c->args[2]);
    if (!(rate > 0) || !(capacity >= 1) || concurrency < 0)
        return mpx_call_fail(c, MPX_EVALUE, "TokenBucket needs rate > 0, capacity >= 1 and "
                             "concurrency >= 0");
    bucket *b = calloc(1, sizeof *b);
    if (b == NULL)
        return mpx_call_fail_nomem(c);
    *b = (bucket){.rate = rate, .capacity = capacity, .tokens = capacity,
                  .last = now_seconds(), .concurrency = concurrency};
    obj->state = b;
    return MPX_OK;
}

static void bucket_destroy(mpx_object *obj)
{
    bucket *b = obj->state;
    if (b == NULL)
        return;
    mpx_wait_list_close(&b->waiters, MPX_ENOOBJECT, "the bucket was destroyed");
    mpx_deadline_stop(b->refill);
    free(b->holds);
    free(b);
    obj->state = NULL;
}

static const mpx_method bucket_methods[] = {
    {"take", bucket_take, 0, 1, MPX_METHOD_MAY_WAIT},
    {"done", bucket_done, 0, 0, 0},
    {"available", bucket_available, 0, 0, 0},
    {"in_flight", bucket_in_flight, 0, 0, 0},
};

static const mpx_type token_bucket = {
    .name = "TokenBucket",
    .init = bucket_init,
    .destroy = bucket_destroy,
    .session_ended = bucket_session_ended,
    .methods = bucket_methods,
    .nmethods = sizeof bucket_methods / sizeof bucket_methods[0],
    .min_init_args = 2,
    .max_init_args = 3,
};

static int register_types(mpx_server *s, void *arg)
{
    (void)arg;
    return mpx_server_register_type(s, &token_bucket);
}

/* ---- a worker: any client process, on any host ------------------------------------------- */

#define BUCKET_NAME "api.limit"

/* Takes n tokens from the shared bucket, holding a slot for a short piece of work each
 * time; prints what it saw. Exit status 0, or 1 with the reason. */
static int run_worker(const char *address, const char *keyfile, int takes)
{
    mpx_client *c;
    int rc = mpx_client_connect_keyfile(address, keyfile, NULL, &c);
    if (rc != MPX_OK) {
        fprintf(stderr, "worker: cannot connect to %s: %s\n", address, mpx_strerror(rc));
        return 1;
    }
    mpx_value args[3] = {mpx_value_float(20), mpx_value_int(5), mpx_value_int(2)};
    mpx_proxy *p;
    int64_t most = 0;
    if ((rc = mpx_proxy_open(c, "TokenBucket", BUCKET_NAME, args, 3, &p)) != MPX_OK)
        goto failed;
    for (int i = 0; i < takes; i++) {
        mpx_value r;
        if ((rc = mpx_proxy_call(p, "take", NULL, 0, &r)) != MPX_OK)
            goto failed;
        mpx_value_free(&r);
        if ((rc = mpx_proxy_call(p, "in_flight", NULL, 0, &r)) != MPX_OK)
            goto failed;
        if (mpx_value_get_int(&r) > most)
            most = mpx_value_get_int(&r);
        usleep(10000); /* the work the token pays for */
        if ((rc = mpx_proxy_call(p, "done", NULL, 0, &r)) != MPX_OK)
            goto failed;
    }
    printf("worker %ld: %d tokens, at most %lld in flight\n", (long)getpid(), takes,
           (long long)most);
    fflush(stdout);
    mpx_proxy_close(p);
    mpx_client_close(c);
    return 0;
failed:
    fprintf(stderr, "worker: %s: %s\n", mpx_strerror(rc), mpx_client_errmsg(c));
    mpx_client_close(c);
    return 1;
}

static int worker_main(int argc, char **argv)
{
    const char *address = NULL, *keyfile = NULL;
    int takes = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--connect") == 0)
            address = argv[i + 1];
        else if (strcmp(argv[i], "--authkey-file") == 0)
            keyfile = argv[i + 1];
        else if (strcmp(argv[i], "--takes") == 0)
            takes = atoi(argv[i + 1]);
        else
            address = NULL, i = argc; /* unknown: usage below */
    }
    if (address == NULL || takes < 0 || argc % 2 == 0) {
        fprintf(stderr, "usage: custom_type worker --connect ADDR [--authkey-file PATH] "
                        "[--takes N]\n");
        return 2;
    }
    return run_worker(address, keyfile, takes);
}

/* ---- the demo: a manager with the type and 4 workers, on this host ----------------------- */

#define DEMO_WORKERS 4
#define DEMO_TAKES 10

/* Starts this program as a manager (mpx_server_main) in a child listening on loopback;
 * *address gets where. 0, or -1 with the reason printed. */
static int start_manager(const char *keyfile, pid_t *pid, char *address, size_t size)
{
    int ready[2];
    if (pipe(ready) != 0)
        return -1;
    if ((*pid = fork()) == 0) {
        close(ready[0]);
        char fd[16];
        snprintf(fd, sizeof fd, "%d", ready[1]);
        char *argv[] = {"custom_type", "--listen", "tcp://127.0.0.1:0", "--authkey-file",
                        (char *)keyfile, "--ready-fd", fd, "--log-level", "warn", NULL};
        _exit(mpx_server_main(9, argv, register_types, NULL));
    }
    close(ready[1]);
    FILE *in = fdopen(ready[0], "r");
    int ok = in != NULL && fgets(address, (int)size, in) != NULL && address[0] != '\n';
    if (in != NULL)
        fclose(in);
    if (!ok) {
        fprintf(stderr, "custom_type: the manager did not start\n");
        return -1;
    }
    address[strcspn(address, "\n")] = '\0';
    return 0;
}

static int demo(void)
{
    char dir[] = "/tmp/custom_type.XXXXXX", keyfile[64], address[256], err[256];
    uint8_t *key;
    size_t keylen;
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(keyfile, sizeof keyfile, "%s/key", dir);
    if (mpx_authkey_generate(keyfile, &key, &keylen, err, sizeof err) != MPX_OK) {
        fprintf(stderr, "custom_type: %s\n", err);
        return 1;
    }
    free(key);
    pid_t manager = 0;
    int failed = start_manager(keyfile, &manager, address, sizeof address) != 0;
    double start = now_seconds();
    pid_t workers[DEMO_WORKERS];
    for (int i = 0; !failed && i < DEMO_WORKERS; i++) {
        fflush(stdout);
        if ((workers[i] = fork()) == 0)
            _exit(run_worker(address, keyfile, DEMO_TAKES));
    }
    for (int i = 0; !failed && i < DEMO_WORKERS; i++) {
        int status;
        failed |= waitpid(workers[i], &status, 0) < 0 || !WIFEXITED(status) ||
                  WEXITSTATUS(status) != 0;
    }
    if (!failed)
        printf("%d tokens in %.1f s: a burst of 5, then 20 a second, at most 2 in flight\n",
               DEMO_WORKERS * DEMO_TAKES, now_seconds() - start);
    if (manager > 0) {
        kill(manager, SIGTERM);
        waitpid(manager, NULL, 0);
    }
    unlink(keyfile);
    rmdir(dir);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc == 1)
        return demo();
    if (strcmp(argv[1], "worker") == 0)
        return worker_main(argc - 1, argv + 1);
    return mpx_server_main(argc, argv, register_types, NULL);
}
