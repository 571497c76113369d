/* test_sync.c - Semaphore, Event and Barrier across real processes.
 *
 * A Semaphore(3) never has more than 3 holders (the holders count themselves in a shared
 * dict under a Lock); a BoundedSemaphore refuses to rise above its value; an Event wakes 8
 * waiting processes and a timed wait on a clear one returns false; a Barrier of 4
 * processes runs 100 rounds whose arrival indices are a permutation of 0..3 each time;
 * a process killed while waiting on a Barrier breaks it for the others; a Condition
 * carries 200 items from a producer to 2 consumers, each consumed exactly once.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/barrier.h"
#include "mpx/condition.h"
#include "mpx/dict.h"
#include "mpx/event.h"
#include "mpx/list.h"
#include "mpx/lock.h"
#include "mpx/semaphore.h"

static t_manager M;

/* holders += delta under the lock; returns the new count, and raises "max" to it. */
static int64_t count_holders(mpx_client *c, mpx_lock *l, mpx_dict *d, int delta)
{
    mpx_value hk = t_str("holders"), mk = t_str("max"), zero = mpx_value_int(0), h, m;
    T_OK(c, mpx_lock_acquire(l, -1, NULL));
    T_OK(c, mpx_dict_get(d, &hk, &zero, &h));
    T_OK(c, mpx_dict_get(d, &mk, &zero, &m));
    int64_t now = mpx_value_get_int(&h) + delta;
    mpx_value nv = mpx_value_int(now);
    T_OK(c, mpx_dict_setitem(d, &hk, &nv));
    if (now > mpx_value_get_int(&m))
        T_OK(c, mpx_dict_setitem(d, &mk, &nv));
    T_OK(c, mpx_lock_release(l));
    mpx_value_free(&hk);
    mpx_value_free(&mk);
    return now;
}

static void semaphore_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[i % 2]);
    mpx_semaphore *s;
    mpx_lock *l;
    mpx_dict *d;
    T_OK(c, mpx_semaphore_open(c, "sem3", 3, false, &s));
    T_OK(c, mpx_lock_open(c, "sem3.lock", &l));
    T_OK(c, mpx_dict_open(c, "sem3.count", &d));
    for (int j = 0; j < 20; j++) {
        T_OK(c, mpx_semaphore_acquire(s, -1));
        T_CHECK(count_holders(c, l, d, +1) <= 3);
        usleep(1000);
        count_holders(c, l, d, -1);
        T_OK(c, mpx_semaphore_release(s, 1));
    }
    mpx_dict_close(d);
    mpx_lock_close(l);
    mpx_semaphore_close(s);
    mpx_client_close(c);
}

static void case_semaphore_three_holders(void *arg)
{
    (void)arg;
    T_EQ_INT(t_fork_workers(8, semaphore_worker, NULL, 120000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d;
    T_OK(c, mpx_dict_open(c, "sem3.count", &d));
    mpx_value mk = t_str("max"), m;
    T_OK(c, mpx_dict_getitem(d, &mk, &m));
    T_CHECK(mpx_value_get_int(&m) >= 1 && mpx_value_get_int(&m) <= 3);
    mpx_value_free(&mk);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_bounded_semaphore(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_semaphore *s;
    int64_t v;
    T_OK(c, mpx_semaphore_create(c, 2, true, &s));
    T_OK(c, mpx_semaphore_acquire(s, 0));
    T_OK(c, mpx_semaphore_acquire(s, 0));
    T_RC(c, mpx_semaphore_acquire(s, 0), MPX_ETIMEOUT);
    T_OK(c, mpx_semaphore_value(s, &v));
    T_EQ_INT(v, 0);
    T_OK(c, mpx_semaphore_release(s, 2));
    T_RC(c, mpx_semaphore_release(s, 1), MPX_EVALUE);
    T_ERRMSG_IS(c, "Semaphore released too many times");
    mpx_semaphore_close(s);
    mpx_client_close(c);
}

static void event_waiter(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[i % 2]);
    mpx_event *e;
    bool set = false;
    T_OK(c, mpx_event_open(c, "fanout", &e));
    T_OK(c, mpx_event_wait(e, 30, &set));
    T_CHECK(set);
    mpx_event_close(e);
    mpx_client_close(c);
}

static void event_setter(int i, void *arg)
{
    (void)i;
    (void)arg;
    usleep(300000); /* let the others park first (they would pass a set event anyway) */
    mpx_client *c = t_connect(&M, NULL);
    mpx_event *e;
    T_OK(c, mpx_event_open(c, "fanout", &e));
    T_OK(c, mpx_event_set(e));
    mpx_event_close(e);
    mpx_client_close(c);
}

static void event_worker(int i, void *arg)
{
    if (i == 8)
        event_setter(i, arg);
    else
        event_waiter(i, arg);
}

static void case_event_fan_out(void *arg)
{
    (void)arg;
    T_EQ_INT(t_fork_workers(9, event_worker, NULL, 60000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_event *e;
    bool set = true;
    T_OK(c, mpx_event_create(c, &e));
    int64_t t0 = t_now_ms();
    T_OK(c, mpx_event_wait(e, 0.2, &set));
    T_CHECK(!set);
    T_CHECK(t_now_ms() - t0 >= 150);
    mpx_event_close(e);
    mpx_client_close(c);
}

#define ROUNDS 100
#define PARTIES 4

static void barrier_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[i % 2]);
    mpx_barrier *b;
    mpx_list *l;
    T_OK(c, mpx_barrier_open(c, "phases", PARTIES, -1, &b));
    T_OK(c, mpx_list_open(c, "phases.log", &l));
    for (int r = 0; r < ROUNDS; r++) {
        int64_t index;
        T_OK(c, mpx_barrier_wait(b, 30, &index));
        mpx_value entry = mpx_value_int(r * 10 + index);
        T_OK(c, mpx_list_append(l, &entry));
    }
    mpx_list_close(l);
    mpx_barrier_close(b);
    mpx_client_close(c);
}

static void case_barrier_rounds(void *arg)
{
    (void)arg;
    T_EQ_INT(t_fork_workers(PARTIES, barrier_worker, NULL, 120000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_list *l;
    mpx_value all;
    T_OK(c, mpx_list_open(c, "phases.log", &l));
    T_OK(c, mpx_list_copy(l, &all));
    T_EQ_INT(mpx_value_len(&all), ROUNDS * PARTIES);
    static int seen[ROUNDS][PARTIES];
    for (size_t k = 0; k < mpx_value_len(&all); k++) {
        int64_t e = mpx_value_get_int(mpx_value_at(&all, k));
        T_CHECK(e % 10 < PARTIES);
        seen[e / 10][e % 10]++;
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int p = 0; p < PARTIES; p++)
            T_EQ_INT(seen[r][p], 1); /* each round: a permutation of 0..3 */
    mpx_value_free(&all);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_killed_waiter_breaks_barrier(void *arg)
{
    (void)arg;
    pid_t victim = fork();
    if (victim == 0) {
        mpx_client *c = t_connect(&M, NULL);
        mpx_barrier *b;
        T_OK(c, mpx_barrier_open(c, "fault", 3, -1, &b));
        mpx_barrier_wait(b, -1, NULL); /* parks; killed there */
        _exit(1);
    }
    mpx_client *c = t_connect(&M, NULL);
    mpx_barrier *b;
    T_OK(c, mpx_barrier_open(c, "fault", 3, -1, &b));
    pid_t killer = fork();
    if (killer == 0) {
        usleep(300000);
        kill(victim, SIGKILL);
        _exit(0);
    }
    T_RC(c, mpx_barrier_wait(b, 20, NULL), MPX_EBROKEN);
    bool broken = false;
    T_OK(c, mpx_barrier_broken(b, &broken));
    T_CHECK(broken);
    t_wait_pid(killer, 10000);
    t_wait_pid(victim, 10000);
    mpx_barrier_close(b);
    mpx_client_close(c);
}

#define ITEMS 200
#define CONSUMERS 2

static bool list_not_empty(void *arg)
{
    size_t n = 0;
    int rc = mpx_list_len(arg, &n);
    return rc != MPX_OK || n > 0; /* an error ends the wait; the next call reports it */
}

static void producer(mpx_client *c, mpx_condition *cv, mpx_list *items)
{
    for (int k = 0; k < ITEMS + CONSUMERS; k++) {
        mpx_value item = mpx_value_int(k < ITEMS ? k : -1); /* -1: one stop per consumer */
        T_OK(c, mpx_condition_acquire(cv, -1, NULL));
        T_OK(c, mpx_list_append(items, &item));
        T_OK(c, mpx_condition_notify(cv, 1));
        T_OK(c, mpx_condition_release(cv));
    }
}

static void consumer(mpx_client *c, mpx_condition *cv, mpx_list *items, mpx_list *got)
{
    for (;;) {
        bool ready;
        T_OK(c, mpx_condition_acquire(cv, -1, NULL));
        T_OK(c, mpx_condition_wait_for(cv, list_not_empty, items, 30, &ready));
        T_CHECK(ready);
        int64_t first = 0;
        mpx_value item;
        T_OK(c, mpx_list_pop(items, &first, &item));
        T_OK(c, mpx_condition_release(cv));
        if (mpx_value_get_int(&item) < 0)
            return;
        T_OK(c, mpx_list_append(got, &item));
    }
}

static void condition_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[i % 2]);
    mpx_condition *cv;
    mpx_list *items, *got;
    T_OK(c, mpx_condition_open(c, "queue.cv", NULL, &cv));
    T_OK(c, mpx_list_open(c, "queue.items", &items));
    T_OK(c, mpx_list_open(c, "queue.got", &got));
    if (i == 0)
        producer(c, cv, items);
    else
        consumer(c, cv, items, got);
    mpx_list_close(got);
    mpx_list_close(items);
    mpx_condition_close(cv);
    mpx_client_close(c);
}

static void case_condition_producer_consumer(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_condition *cv;
    bool notified;
    T_OK(c, mpx_condition_open(c, "queue.cv", NULL, &cv));
    T_RC(c, mpx_condition_wait(cv, 0.1, &notified), MPX_ERUNTIME);
    T_ERRMSG_IS(c, "cannot wait on un-acquired lock");
    T_OK(c, mpx_condition_acquire(cv, -1, NULL));
    T_OK(c, mpx_condition_wait(cv, 0.1, &notified)); /* nobody notifies: times out */
    T_CHECK(!notified);
    T_OK(c, mpx_condition_release(cv));

    T_EQ_INT(t_fork_workers(1 + CONSUMERS, condition_worker, NULL, 120000), 0);
    mpx_list *got;
    mpx_value all;
    T_OK(c, mpx_list_open(c, "queue.got", &got));
    T_OK(c, mpx_list_sort(got, false));
    T_OK(c, mpx_list_copy(got, &all));
    T_EQ_INT(mpx_value_len(&all), ITEMS);
    for (int k = 0; k < ITEMS; k++)
        T_EQ_INT(mpx_value_get_int(mpx_value_at(&all, (size_t)k)), k);
    mpx_value_free(&all);
    mpx_list_close(got);
    mpx_condition_close(cv);
    mpx_client_close(c);
}

int main(void)
{
    const char *listen[] = {"tcp", "unix", NULL};
    t_manager_start(&M, listen, NULL);
    t_run_case("case_semaphore_three_holders", case_semaphore_three_holders, NULL, 150000);
    T_RUN(case_bounded_semaphore, NULL);
    t_run_case("case_event_fan_out", case_event_fan_out, NULL, 90000);
    t_run_case("case_barrier_rounds", case_barrier_rounds, NULL, 150000);
    T_RUN(case_killed_waiter_breaks_barrier, NULL);
    t_run_case("case_condition_producer_consumer", case_condition_producer_consumer, NULL,
               150000);
    return t_finish_with_manager(&M);
}
