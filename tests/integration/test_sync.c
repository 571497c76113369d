/* test_sync.c - Semaphore, Event and Barrier across real processes.
 *
 * A Semaphore(3) never has more than 3 holders (the holders count themselves in a shared
 * dict under a Lock); a BoundedSemaphore refuses to rise above its value; an Event wakes 8
 * waiting processes and a timed wait on a clear one returns false; a Barrier of 4
 * processes runs 100 rounds whose arrival indices are a permutation of 0..3 each time;
 * a process killed while waiting on a Barrier breaks it for the others; a Condition
 * carries 200 items from a producer to 2 consumers, each consumed exactly once; a child
 * reaches each kind of object by its token and by a reference read from a list, and a
 * token or a reference of another type is refused.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
    mpx_client *c = t_connect(&M, NULL);
    t_wait_parked(c, 8, 20000); /* the others park first (they would pass a set event) */
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
        mpx_client *kc = t_connect(&M, NULL);
        t_wait_parked(kc, 2, 10000); /* the victim and our wait have parked */
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

/* ---- the handle functions across fork ----------------------------------------------------
 * The parent makes one object of each kind and hands the child their tokens, and a list
 * holding a reference to each; the child reaches every object both ways and uses it, so
 * the parent sees what the child did. */

enum { H_SEM, H_BSEM, H_EVENT, H_BARRIER, H_COND, H_LOCK, H_LIST, H_COUNT };

typedef struct handles {
    char token[H_COUNT][MPX_TOKEN_MAX];
} handles;

static void child_semaphores(mpx_client *c, const handles *h, const mpx_value *refs)
{
    mpx_semaphore *s, *bs, *again, *bad = NULL;
    int64_t v;
    T_OK(c, mpx_semaphore_attach(c, h->token[H_SEM], &s));
    T_OK(c, mpx_semaphore_value(s, &v));
    T_EQ_INT(v, 4); /* the parent took one of 5 */
    /* a unit given, not taken: one taken would go back when this session ends */
    T_OK(c, mpx_semaphore_release(s, 1));
    /* either kind attaches; a Lock's token is refused */
    T_OK(c, mpx_semaphore_attach(c, h->token[H_BSEM], &bs));
    T_EQ_STR(mpx_proxy_type(mpx_semaphore_proxy(bs)), "BoundedSemaphore");
    T_OK(c, mpx_semaphore_value(bs, &v));
    T_EQ_INT(v, 1);
    T_OK(c, mpx_semaphore_release(bs, 1));
    T_RC(c, mpx_semaphore_release(bs, 1), MPX_EVALUE); /* bounded: back at 2 */
    T_RC(c, mpx_semaphore_attach(c, h->token[H_LOCK], &bad), MPX_ETYPE);
    T_ERRMSG_IS(c, "a Lock is not a semaphore");
    T_CHECK(bad == NULL);

    T_OK(c, mpx_semaphore_from_ref(c, mpx_value_at(refs, H_SEM), &again));
    T_EQ_INT(mpx_proxy_id(mpx_semaphore_proxy(again)), mpx_proxy_id(mpx_semaphore_proxy(s)));
    T_OK(c, mpx_semaphore_value(again, &v));
    T_EQ_INT(v, 5);
    mpx_semaphore_close(again);
    T_OK(c, mpx_semaphore_from_ref(c, mpx_value_at(refs, H_BSEM), &again));
    mpx_semaphore_close(again);
    T_RC(c, mpx_semaphore_from_ref(c, mpx_value_at(refs, H_EVENT), &bad), MPX_ETYPE);
    T_ERRMSG_IS(c, "a Event is not a semaphore");
    T_CHECK(bad == NULL);
    mpx_semaphore_close(bs);
    mpx_semaphore_close(s);
}

static void child_event(mpx_client *c, const handles *h, const mpx_value *refs)
{
    mpx_event *e, *again, *bad = NULL;
    bool set = true;
    T_OK(c, mpx_event_attach(c, h->token[H_EVENT], &e));
    T_OK(c, mpx_event_from_ref(c, mpx_value_at(refs, H_EVENT), &again));
    T_OK(c, mpx_event_is_set(again, &set));
    T_CHECK(!set);
    T_OK(c, mpx_event_set(e)); /* the parent's wait returns true */
    T_OK(c, mpx_event_is_set(again, &set));
    T_CHECK(set);
    T_RC(c, mpx_event_attach(c, h->token[H_SEM], &bad), MPX_ETYPE);
    T_CHECK(bad == NULL);
    T_RC(c, mpx_event_from_ref(c, mpx_value_at(refs, H_BARRIER), &bad), MPX_ETYPE);
    T_CHECK(bad == NULL);
    mpx_event_close(again);
    mpx_event_close(e);
}

static void child_barrier(mpx_client *c, const handles *h, const mpx_value *refs)
{
    mpx_barrier *b, *again, *bad = NULL;
    int64_t index = -1;
    T_OK(c, mpx_barrier_attach(c, h->token[H_BARRIER], &b));
    T_RC(c, mpx_barrier_attach(c, h->token[H_COND], &bad), MPX_ETYPE);
    T_CHECK(bad == NULL);
    T_RC(c, mpx_barrier_from_ref(c, mpx_value_at(refs, H_EVENT), &bad), MPX_ETYPE);
    T_CHECK(bad == NULL);
    T_OK(c, mpx_barrier_from_ref(c, mpx_value_at(refs, H_BARRIER), &again));
    /* the second of 2 parties: the parent's wait returns when this one arrives */
    T_OK(c, mpx_barrier_wait(again, 10, &index));
    T_CHECK(index == 0 || index == 1);
    mpx_barrier_close(again);
    mpx_barrier_close(b);
}

static void child_condition(mpx_client *c, const handles *h, const mpx_value *refs)
{
    mpx_condition *cv, *again, *bad = NULL;
    T_OK(c, mpx_condition_attach(c, h->token[H_COND], &cv));
    T_RC(c, mpx_condition_attach(c, h->token[H_BARRIER], &bad), MPX_ETYPE);
    T_CHECK(bad == NULL);
    T_OK(c, mpx_condition_from_ref(c, mpx_value_at(refs, H_COND), &again));
    T_RC(c, mpx_condition_from_ref(c, mpx_value_at(refs, H_LOCK), &bad), MPX_ETYPE);
    T_CHECK(bad == NULL);
    /* the parent holds the lock until its wait lets go of it: only then is this granted */
    T_OK(c, mpx_condition_acquire(cv, 10, NULL));
    T_OK(c, mpx_condition_notify(again, 1));
    T_OK(c, mpx_condition_release(cv));
    mpx_condition_close(again);
    mpx_condition_close(cv);
}

static void handles_child(const handles *h)
{
    mpx_client *c = t_connect(&M, M.addresses[1]); /* over the other transport */
    mpx_list *l;
    mpx_value refs;
    T_OK(c, mpx_list_attach(c, h->token[H_LIST], &l));
    T_OK(c, mpx_list_copy(l, &refs));
    T_EQ_INT(mpx_value_len(&refs), H_LIST);
    for (size_t k = 0; k < mpx_value_len(&refs); k++)
        T_EQ_INT(mpx_value_kind(mpx_value_at(&refs, k)), MPX_REF);
    child_semaphores(c, h, &refs);
    child_event(c, h, &refs);
    child_barrier(c, h, &refs);
    child_condition(c, h, &refs);
    mpx_value_free(&refs);
    mpx_list_close(l);
    mpx_client_close(c);
}

static void case_handles_across_fork(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_semaphore *s, *bs;
    mpx_event *e;
    mpx_barrier *b;
    mpx_lock *lk;
    mpx_condition *cv;
    mpx_list *l;
    T_OK(c, mpx_semaphore_create(c, 5, false, &s));
    T_OK(c, mpx_semaphore_create(c, 2, true, &bs));
    T_OK(c, mpx_event_create(c, &e));
    T_OK(c, mpx_barrier_create(c, 2, -1, &b));
    T_OK(c, mpx_lock_create(c, &lk));
    T_OK(c, mpx_condition_create(c, mpx_lock_proxy(lk), &cv));
    T_OK(c, mpx_list_create(c, NULL, &l));
    mpx_proxy *all[H_COUNT] = {
        mpx_semaphore_proxy(s), mpx_semaphore_proxy(bs), mpx_event_proxy(e),
        mpx_barrier_proxy(b),   mpx_condition_proxy(cv), mpx_lock_proxy(lk),
        mpx_list_proxy(l),
    };
    handles h;
    for (int k = 0; k < H_COUNT; k++) {
        T_OK(c, mpx_proxy_token(all[k], h.token[k], sizeof h.token[k]));
        if (k < H_LIST) {
            mpx_value ref;
            T_OK(c, mpx_value_ref(&ref, mpx_proxy_id(all[k]), mpx_proxy_type(all[k])));
            T_OK(c, mpx_list_append(l, &ref));
            mpx_value_free(&ref);
        }
    }
    /* the typed token writers say the same as the generic one */
    char token[MPX_TOKEN_MAX], tiny[4];
    T_OK(c, mpx_semaphore_token(bs, token, sizeof token));
    T_EQ_STR(token, h.token[H_BSEM]);
    T_OK(c, mpx_condition_token(cv, token, sizeof token));
    T_EQ_STR(token, h.token[H_COND]);
    T_RC(c, mpx_barrier_token(b, tiny, sizeof tiny), MPX_EINVAL);
    T_OK(c, mpx_semaphore_acquire(s, 0));
    T_OK(c, mpx_semaphore_acquire(bs, 0));
    T_OK(c, mpx_condition_acquire(cv, 0, NULL));

    fflush(NULL);
    pid_t child = fork();
    T_CHECK(child >= 0);
    if (child == 0) {
        handles_child(&h);
        fflush(NULL);
        exit(0); /* as the harness's workers do: the leak check runs here too */
    }
    bool set = false, notified = false, locked = false;
    int64_t index = -1, v;
    T_OK(c, mpx_event_wait(e, 10, &set));
    T_CHECK(set);
    T_OK(c, mpx_barrier_wait(b, 10, &index));
    T_CHECK(index == 0 || index == 1);
    T_OK(c, mpx_condition_wait(cv, 10, &notified)); /* lets the child take the lock */
    T_CHECK(notified);
    T_OK(c, mpx_lock_locked(lk, &locked)); /* the condition's lock is the Lock */
    T_CHECK(locked);
    T_OK(c, mpx_condition_release(cv));
    T_EQ_INT(t_wait_pid(child, 20000), 0);
    T_OK(c, mpx_semaphore_value(s, &v));
    T_EQ_INT(v, 5);
    T_OK(c, mpx_semaphore_value(bs, &v));
    T_EQ_INT(v, 2);
    mpx_list_close(l);
    mpx_condition_close(cv);
    mpx_lock_close(lk);
    mpx_barrier_close(b);
    mpx_event_close(e);
    mpx_semaphore_close(bs);
    mpx_semaphore_close(s);
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
    T_RUN(case_handles_across_fork, NULL);
    return t_finish_with_manager(&M);
}
