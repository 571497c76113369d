/* test_queue.c - Queue and JoinableQueue across real processes.
 *
 * The Python docs' seed example (a child puts [42, None, 'hello'], the parent prints it);
 * 4 producers and 4 consumers move 100,000 items through a bounded queue and every id
 * arrives exactly once (counted in shared memory); a bounded queue blocks its producer and
 * never shows more than maxsize; a timed get on an empty queue is Empty after about its
 * timeout; a consumer killed while parked in get takes no item with it; join returns only
 * after the last task_done; and the error paths answer as Python's queue does.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/dict.h"
#include "mpx/queue.h"

static t_manager M;

/* ---- the seed example ---------------------------------------------------------------- */

static void case_seed_example(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_create(c, 0, false, &q));
    char token[MPX_TOKEN_MAX];
    T_OK(c, mpx_queue_token(q, token, sizeof token));
    pid_t child = fork();
    if (child == 0) {
        mpx_client *cc = t_connect(&M, NULL);
        mpx_queue *cq;
        T_OK(cc, mpx_queue_attach(cc, token, &cq));
        mpx_value item = t_val("[42, None, 'hello']");
        T_OK(cc, mpx_queue_put(cq, &item, -1));
        mpx_value_free(&item);
        mpx_queue_close(cq);
        mpx_client_close(cc);
        _exit(0);
    }
    mpx_value got;
    T_OK(c, mpx_queue_get(q, 10, &got));
    T_REPR(&got, "[42, None, 'hello']");
    mpx_value_free(&got);
    T_EQ_INT(t_wait_pid(child, 10000), 0);
    mpx_queue_close(q);
    mpx_client_close(c);
}

/* ---- errors ---------------------------------------------------------------------------- */

static void case_errors(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q, *jq;
    T_OK(c, mpx_queue_create(c, 2, false, &q));
    T_OK(c, mpx_queue_create(c, 0, true, &jq));
    mpx_value out, one = mpx_value_int(1);

    T_RC(c, mpx_queue_get(q, 0, &out), MPX_EEMPTY);
    T_CHECK(mpx_value_kind(&out) == MPX_NONE);
    T_OK(c, mpx_queue_put(q, &one, 0));
    T_OK(c, mpx_queue_put(q, &one, 0));
    T_RC(c, mpx_queue_put(q, &one, 0), MPX_EFULL);
    T_RC(c, mpx_queue_put(q, &one, 0.2), MPX_EFULL);
    bool full = false, empty = true;
    T_OK(c, mpx_queue_full(q, &full));
    T_OK(c, mpx_queue_empty(q, &empty));
    T_CHECK(full && !empty);

    /* all or none: three items never fit in a queue of two */
    mpx_value three = t_val("[1, 2, 3]");
    T_RC(c, mpx_queue_put_many(q, &three, 0), MPX_EVALUE);
    T_ERRMSG_IS(c, "3 items can never fit in a queue of maxsize 2");
    mpx_value_free(&three);
    T_RC(c, mpx_queue_get_many(q, 0, 0, &out), MPX_EINVAL);

    /* Python's argument errors, through the generic proxy */
    mpx_proxy *p = mpx_queue_proxy(q);
    mpx_value args[3] = {mpx_value_int(1), mpx_value_bool(true), mpx_value_int(-1)};
    T_RC(c, mpx_proxy_call(p, "put", args, 3, &out), MPX_EVALUE);
    T_ERRMSG_IS(c, "'timeout' must be a non-negative number");
    mpx_value x = t_str("x");
    T_RC(c, mpx_proxy_call(p, "get_many", &x, 1, &out), MPX_ETYPE);
    T_RC(c, mpx_proxy_call(p, "put_many", &x, 1, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "items must be a list or tuple, not str");
    mpx_value_free(&x);
    T_RC(c, mpx_proxy_call(p, "get", args, 3, &out), MPX_ETYPE);
    T_RC(c, mpx_queue_task_done(q), MPX_EVALUE); /* a plain Queue has it, as Python's */
    T_RC(c, mpx_queue_task_done(jq), MPX_EVALUE);
    T_ERRMSG_IS(c, "task_done() called too many times");
    T_RC(c, mpx_queue_join(jq, 0), MPX_OK); /* nothing unfinished */

    /* a token of another type is not a queue */
    mpx_dict *d;
    T_OK(c, mpx_dict_create(c, NULL, &d));
    char token[MPX_TOKEN_MAX];
    T_OK(c, mpx_dict_token(d, token, sizeof token));
    mpx_queue *bad = NULL;
    T_RC(c, mpx_queue_attach(c, token, &bad), MPX_ETYPE);
    T_ERRMSG_IS(c, "a dict is not a queue");
    T_CHECK(bad == NULL);
    mpx_queue *named;
    T_OK(c, mpx_queue_open(c, "errors.q", 0, false, &named));
    T_RC(c, mpx_queue_open(c, "errors.q", 0, true, &bad), MPX_EEXIST);

    /* the items are still there, in order */
    mpx_value batch;
    T_OK(c, mpx_queue_get_many(q, 10, 0, &batch));
    T_REPR(&batch, "[1, 1]");
    mpx_value_free(&batch);
    mpx_dict_close(d);
    mpx_queue_close(named);
    mpx_queue_close(q);
    mpx_queue_close(jq);
    mpx_client_close(c);
}

/* get(timeout) on an empty queue: Empty after about the timeout, not at once, not never */
static void case_get_timeout(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_create(c, 0, false, &q));
    mpx_value out;
    int64_t t0 = t_now_ms();
    T_RC(c, mpx_queue_get(q, 0.3, &out), MPX_EEMPTY);
    int64_t took = t_now_ms() - t0;
    T_CHECK(took >= 280 && took < 5000);
    T_RC(c, mpx_queue_get_many(q, 5, 0.1, &out), MPX_EEMPTY);
    mpx_queue_close(q);
    mpx_client_close(c);
}

/* ---- many items, many processes ---------------------------------------------------------- */

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 25000
#define TOTAL (PRODUCERS * PER_PRODUCER)
#define SINGLE_PUTS 2500 /* each producer's first items go one by one, the rest in batches */
#define BATCH 100
#define STOP (-1)

typedef struct traffic {
    unsigned char seen[TOTAL]; /* how often each id arrived (shared memory) */
    long max_qsize;
} traffic;

static traffic *T;

static void producer(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "traffic", 1000, false, &q));
    int64_t id = (int64_t)i * PER_PRODUCER, end = id + PER_PRODUCER;
    for (int k = 0; k < SINGLE_PUTS; k++) {
        mpx_value item = mpx_value_int(id++);
        T_OK(c, mpx_queue_put(q, &item, 60));
    }
    while (id < end) {
        mpx_value batch;
        T_OK(c, mpx_value_list(&batch, BATCH));
        for (int k = 0; k < BATCH && id < end; k++) {
            mpx_value item = mpx_value_int(id++);
            T_OK(c, mpx_value_append(&batch, &item));
        }
        T_OK(c, mpx_queue_put_many(q, &batch, 60));
        mpx_value_free(&batch);
    }
    mpx_queue_close(q);
    mpx_client_close(c);
}

/* Counts one item; returns whether it was a stop. */
static bool consume(const mpx_value *item)
{
    T_CHECK(mpx_value_kind(item) == MPX_INT);
    int64_t id = mpx_value_get_int(item);
    if (id == STOP)
        return true;
    T_CHECK(id >= 0 && id < TOTAL);
    __atomic_fetch_add(&T->seen[id], 1, __ATOMIC_RELAXED);
    return false;
}

/* Consumers 0 and 1 take one item per call, 2 and 3 up to 64; each stops at its first
 * STOP and puts back any other STOP a batch brought it. */
static void consumer(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "traffic", 1000, false, &q));
    int stops = 0;
    while (stops == 0) {
        mpx_value got;
        if (i < 2) {
            T_OK(c, mpx_queue_get(q, 60, &got));
            stops += consume(&got);
        } else {
            T_OK(c, mpx_queue_get_many(q, 64, 60, &got));
            for (size_t k = 0; k < mpx_value_len(&got); k++)
                stops += consume(mpx_value_at(&got, k));
        }
        mpx_value_free(&got);
        int64_t n;
        T_OK(c, mpx_queue_qsize(q, &n));
        if (n > __atomic_load_n(&T->max_qsize, __ATOMIC_RELAXED))
            __atomic_store_n(&T->max_qsize, n, __ATOMIC_RELAXED);
    }
    for (; stops > 1; stops--) {
        mpx_value stop = mpx_value_int(STOP);
        T_OK(c, mpx_queue_put(q, &stop, 60));
    }
    mpx_queue_close(q);
    mpx_client_close(c);
}

static void case_many_producers_and_consumers(void *arg)
{
    (void)arg;
    T = mmap(NULL, sizeof *T, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    T_CHECK(T != MAP_FAILED);
    pid_t consumers = fork();
    if (consumers == 0)
        _exit(t_fork_workers(CONSUMERS, consumer, NULL, 170000) == 0 ? 0 : 1);
    T_EQ_INT(t_fork_workers(PRODUCERS, producer, NULL, 160000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "traffic", 1000, false, &q));
    for (int k = 0; k < CONSUMERS; k++) {
        mpx_value stop = mpx_value_int(STOP);
        T_OK(c, mpx_queue_put(q, &stop, 60));
    }
    T_EQ_INT(t_wait_pid(consumers, 60000), 0);
    for (int id = 0; id < TOTAL; id++)
        if (T->seen[id] != 1)
            t_fail(__FILE__, __LINE__, "item %d arrived %d times", id, T->seen[id]);
    T_CHECK(T->max_qsize <= 1000);
    int64_t left = -1;
    T_OK(c, mpx_queue_qsize(q, &left));
    T_EQ_INT(left, 0);
    mpx_queue_close(q);
    mpx_client_close(c);
}

/* A producer of 200 items into Queue(5): it blocks while the queue is full, and the
 * queue never shows more than 5 however the consumer looks. */
static void case_bounded_blocks_producer(void *arg)
{
    (void)arg;
    pid_t child = fork();
    if (child == 0) {
        mpx_client *c = t_connect(&M, NULL);
        mpx_queue *q;
        T_OK(c, mpx_queue_open(c, "bounded5", 5, false, &q));
        for (int k = 0; k < 200; k++) {
            mpx_value item = mpx_value_int(k);
            T_OK(c, mpx_queue_put(q, &item, 30));
        }
        mpx_queue_close(q);
        mpx_client_close(c);
        _exit(0);
    }
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "bounded5", 5, false, &q));
    bool full = false;
    for (int tries = 0; tries < 500 && !full; tries++) {
        usleep(10000);
        T_OK(c, mpx_queue_full(q, &full));
    }
    T_CHECK(full);
    t_wait_parked(c, 1, 10000); /* the producer is parked now: the queue stays at 5 */
    int64_t n = -1;
    T_OK(c, mpx_queue_qsize(q, &n));
    T_EQ_INT(n, 5);
    mpx_value extra = mpx_value_int(-1);
    T_RC(c, mpx_queue_put(q, &extra, 0), MPX_EFULL);
    for (int k = 0; k < 200; k++) {
        mpx_value got;
        T_OK(c, mpx_queue_get(q, 30, &got));
        T_EQ_INT(mpx_value_get_int(&got), k); /* FIFO */
        T_OK(c, mpx_queue_qsize(q, &n));
        T_CHECK(n <= 5);
    }
    T_EQ_INT(t_wait_pid(child, 30000), 0);
    mpx_queue_close(q);
    mpx_client_close(c);
}

/* Consumers parked in get are killed just as a put arrives. The manager is held still
 * (SIGSTOP) while the put is sent and then the consumers die, so it reads the put before
 * it hears of their deaths: the items must still not go to the dead. */
static void case_killed_consumer_loses_nothing(void *arg)
{
    (void)arg;
    enum { VICTIMS = 3 };
    pid_t victims[VICTIMS];
    for (int v = 0; v < VICTIMS; v++) {
        victims[v] = fork();
        if (victims[v] == 0) {
            mpx_client *vc = t_connect(&M, NULL);
            mpx_queue *vq;
            T_OK(vc, mpx_queue_open(vc, "victim", 0, false, &vq));
            mpx_value got;
            mpx_queue_get(vq, -1, &got); /* parks; killed there */
            _exit(1);
        }
    }
    int go[2], ready[2];
    T_CHECK(pipe(go) == 0 && pipe(ready) == 0);
    pid_t putter = fork();
    if (putter == 0) {
        mpx_client *pc = t_connect(&M, NULL);
        mpx_queue *pq;
        T_OK(pc, mpx_queue_open(pc, "victim", 0, false, &pq));
        T_CHECK(write(ready[1], "r", 1) == 1);
        char byte;
        T_CHECK(read(go[0], &byte, 1) == 1);
        mpx_value items = t_val("['a', 'b', 'c', 'd']");
        T_OK(pc, mpx_queue_put_many(pq, &items, 30));
        mpx_value_free(&items);
        _exit(0);
    }
    char byte;
    T_CHECK(read(ready[0], &byte, 1) == 1); /* the putter is connected */
    mpx_client *observer = t_connect(&M, NULL);
    t_wait_parked(observer, VICTIMS, 10000); /* and the victims are parked */
    mpx_client_close(observer);
    kill(M.pid, SIGSTOP);
    T_CHECK(write(go[1], "x", 1) == 1);
    usleep(100000); /* the putter's bytes reach the stopped manager's socket: no server
                     * state to wait for while it is stopped */
    for (int v = 0; v < VICTIMS; v++)
        kill(victims[v], SIGKILL);
    int killed = 0;
    for (int v = 0; v < VICTIMS; v++)
        killed += t_wait_pid(victims[v], 10000) == -1;
    kill(M.pid, SIGCONT);
    T_EQ_INT(killed, VICTIMS);
    T_EQ_INT(t_wait_pid(putter, 30000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "victim", 0, false, &q));
    mpx_value got;
    T_OK(c, mpx_queue_get_many(q, 10, 10, &got));
    T_REPR(&got, "['a', 'b', 'c', 'd']");
    mpx_value_free(&got);
    mpx_queue_close(q);
    mpx_client_close(c);
}

/* The window a plain get leaves: the consumer dies after its item arrived, before it did
 * anything with it. With get_acked the unacknowledged item goes back to the head: a
 * consumer acks 49 items, dies holding the 50th, and the next consumer gets that one
 * first, then the other 50; nothing is lost. */
static void case_acked_get_survives_the_consumer(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "acked", 0, false, &q));
    for (int i = 0; i < 100; i++) {
        mpx_value item = mpx_value_int(i);
        T_OK(c, mpx_queue_put(q, &item, -1));
    }
    pid_t consumer = fork();
    if (consumer == 0) {
        mpx_client *cc = t_connect(&M, NULL);
        mpx_queue *cq;
        T_OK(cc, mpx_queue_open(cc, "acked", 0, false, &cq));
        for (int i = 0; i < 50; i++) {
            mpx_value got;
            uint64_t ticket;
            T_OK(cc, mpx_queue_get_acked(cq, 10, &got, &ticket));
            T_CHECK(mpx_value_kind(&got) == MPX_INT && mpx_value_get_int(&got) == i);
            if (i == 49)
                raise(SIGKILL); /* it has the item, and dies before anything is done */
            T_OK(cc, mpx_queue_ack(cq, ticket));
        }
        _exit(1);
    }
    T_EQ_INT(t_wait_pid(consumer, 20000), -1); /* killed */
    mpx_value got;
    uint64_t ticket;
    T_OK(c, mpx_queue_get_acked(q, 10, &got, &ticket));
    T_REPR(&got, "49"); /* back at the head */
    T_RC(c, mpx_queue_ack(q, ticket + 1000), MPX_EVALUE);
    T_OK(c, mpx_queue_ack(q, ticket));
    mpx_value_free(&got);
    T_OK(c, mpx_queue_get_many(q, 100, 10, &got));
    T_EQ_INT(mpx_value_len(&got), 50);
    T_REPR(mpx_value_at(&got, 0), "50");
    mpx_value_free(&got);
    mpx_queue_close(q);
    mpx_client_close(c);
}

/* join() returns only once every item taken has been marked done. */
static long *DONE;

static void joinable_worker(int i, void *arg)
{
    (void)i;
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "jobs", 0, true, &q));
    for (;;) {
        mpx_value got;
        T_OK(c, mpx_queue_get(q, 30, &got));
        bool stop = mpx_value_get_int(&got) < 0;
        if (!stop) {
            usleep(5000);
            __atomic_fetch_add(DONE, 1, __ATOMIC_SEQ_CST);
        }
        T_OK(c, mpx_queue_task_done(q));
        if (stop)
            break;
    }
    mpx_queue_close(q);
    mpx_client_close(c);
}

static void case_join_waits_for_task_done(void *arg)
{
    (void)arg;
    DONE = mmap(NULL, sizeof *DONE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    T_CHECK(DONE != MAP_FAILED);
    mpx_client *c = t_connect(&M, NULL);
    mpx_queue *q;
    T_OK(c, mpx_queue_open(c, "jobs", 0, true, &q));
    mpx_value jobs = t_val("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
                           "19, 20, -1, -1]");
    T_OK(c, mpx_queue_put_many(q, &jobs, 10));
    mpx_value_free(&jobs);
    T_RC(c, mpx_queue_join(q, 0.001), MPX_ETIMEOUT);
    pid_t workers = fork();
    if (workers == 0)
        _exit(t_fork_workers(2, joinable_worker, NULL, 30000) == 0 ? 0 : 1);
    T_OK(c, mpx_queue_join(q, 30));
    T_EQ_INT(__atomic_load_n(DONE, __ATOMIC_SEQ_CST), 20);
    T_EQ_INT(t_wait_pid(workers, 30000), 0);
    T_RC(c, mpx_queue_task_done(q), MPX_EVALUE);
    mpx_queue_close(q);
    mpx_client_close(c);
}

int main(void)
{
    const char *listen[] = {"tcp", NULL};
    t_manager_start(&M, listen, NULL);
    T_RUN(case_seed_example, NULL);
    T_RUN(case_errors, NULL);
    T_RUN(case_get_timeout, NULL);
    t_run_case("case_many_producers_and_consumers", case_many_producers_and_consumers, NULL,
               180000);
    T_RUN(case_bounded_blocks_producer, NULL);
    T_RUN(case_killed_consumer_loses_nothing, NULL);
    T_RUN(case_acked_get_survives_the_consumer, NULL);
    T_RUN(case_join_waits_for_task_done, NULL);
    return t_finish_with_manager(&M);
}
