/* test_lock.c - Lock and RLock across real processes, and what a holder's death does.
 *
 * 8 processes add 10,000 to one dict counter under a Lock and the total is exact;
 * fencing tokens only grow; RLock re-entry and wrong-owner release; a 0.2 s timeout on a
 * held lock comes back as MPX_ETIMEOUT and leaves the lock usable; a holder killed with
 * SIGKILL hands the lock to a waiting process with a larger token; a waiter killed while
 * parked takes nothing with it. A generic mpx_proxy_call of acquire waits past the
 * client's call timeout (the method row says it may wait); a call that does time out on
 * the client ends its connection, so the lock is never granted to a caller that gave up.
 * Tests wait for the manager's parked-call count, not for time to pass.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/dict.h"
#include "mpx/lock.h"

#define WORKERS 8
#define TOTAL 10000

static t_manager M;

static void counter_worker(int i, void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[i % 2]);
    mpx_lock *l;
    mpx_dict *d;
    T_OK(c, mpx_lock_open(c, "counter.lock", &l));
    T_OK(c, mpx_dict_open(c, "counter", &d));
    mpx_value key = t_str("n"), zero = mpx_value_int(0);
    uint64_t last = 0;
    for (int j = 0; j < TOTAL / WORKERS; j++) {
        uint64_t fence;
        T_OK(c, mpx_lock_acquire(l, -1, &fence));
        T_CHECK(fence > last); /* tokens only grow, for this process too */
        last = fence;
        mpx_value n;
        T_OK(c, mpx_dict_get(d, &key, &zero, &n));
        mpx_value next = mpx_value_int(mpx_value_get_int(&n) + 1);
        T_OK(c, mpx_dict_setitem(d, &key, &next));
        T_OK(c, mpx_lock_release(l));
    }
    mpx_value_free(&key);
    mpx_dict_close(d);
    mpx_lock_close(l);
    mpx_client_close(c);
}

static void case_counter_under_lock(void *arg)
{
    (void)arg;
    T_EQ_INT(t_fork_workers(WORKERS, counter_worker, NULL, 120000), 0);
    mpx_client *c = t_connect(&M, NULL);
    mpx_dict *d;
    T_OK(c, mpx_dict_open(c, "counter", &d));
    mpx_value key = t_str("n"), n;
    T_OK(c, mpx_dict_getitem(d, &key, &n));
    T_EQ_INT(mpx_value_get_int(&n), TOTAL);
    mpx_value_free(&key);
    mpx_dict_close(d);
    mpx_client_close(c);
}

static void case_release_errors(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_lock *l;
    T_OK(c, mpx_lock_create(c, &l));
    T_RC(c, mpx_lock_release(l), MPX_ERUNTIME);
    T_ERRMSG_IS(c, "release unlocked lock");
    bool held = true;
    T_OK(c, mpx_lock_locked(l, &held));
    T_CHECK(!held);
    T_OK(c, mpx_lock_acquire(l, 0, NULL));
    T_RC(c, mpx_lock_acquire(l, 0, NULL), MPX_ETIMEOUT); /* not re-entrant */
    T_OK(c, mpx_lock_locked(l, &held));
    T_CHECK(held);
    mpx_value bad[2] = {mpx_value_bool(false), mpx_value_float(1.0)}, out;
    T_RC(c, mpx_proxy_call(mpx_lock_proxy(l), "acquire", bad, 2, &out), MPX_EVALUE);
    T_OK(c, mpx_lock_release(l));
    mpx_lock_close(l);
    mpx_client_close(c);
}

static void case_rlock(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_rlock *r;
    uint64_t f1, f2;
    T_OK(c, mpx_rlock_open(c, "rlock", &r));
    T_OK(c, mpx_rlock_acquire(r, -1, &f1));
    T_OK(c, mpx_rlock_acquire(r, 0, &f2));
    T_EQ_INT(f1, f2);
    pid_t pid = fork();
    if (pid == 0) { /* another session: may neither take it nor release it */
        T_RC(c, mpx_rlock_acquire(r, 0, NULL), MPX_ETIMEOUT);
        T_RC(c, mpx_rlock_release(r), MPX_ENOTOWNER);
        T_ERRMSG_IS(c, "cannot release un-acquired lock");
        _exit(0);
    }
    T_EQ_INT(t_wait_pid(pid, 20000), 0);
    T_OK(c, mpx_rlock_release(r));
    T_OK(c, mpx_rlock_release(r));
    T_RC(c, mpx_rlock_release(r), MPX_ENOTOWNER);
    mpx_rlock_close(r);
    mpx_client_close(c);
}

/* A child takes the lock and tells us its token through a pipe, then waits to die. */
static pid_t spawn_holder(const char *name, uint64_t *fence)
{
    int p[2];
    T_CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        mpx_client *c = t_connect(&M, NULL);
        mpx_lock *l;
        uint64_t f;
        T_OK(c, mpx_lock_open(c, name, &l));
        T_OK(c, mpx_lock_acquire(l, -1, &f));
        T_CHECK(write(p[1], &f, sizeof f) == (ssize_t)sizeof f);
        pause();
        _exit(0);
    }
    close(p[1]);
    T_CHECK(read(p[0], fence, sizeof *fence) == (ssize_t)sizeof *fence);
    close(p[0]);
    return pid;
}

static void case_timeout_then_usable(void *arg)
{
    (void)arg;
    uint64_t held;
    pid_t holder = spawn_holder("timeout.lock", &held);
    mpx_client *c = t_connect(&M, NULL);
    mpx_lock *l;
    T_OK(c, mpx_lock_open(c, "timeout.lock", &l));
    int64_t t0 = t_now_ms();
    T_RC(c, mpx_lock_acquire(l, 0.2, NULL), MPX_ETIMEOUT);
    int64_t took = t_now_ms() - t0;
    T_CHECK(took >= 150 && took < 2000); /* broad bounds: "about 0.2 s", not a benchmark */
    kill(holder, SIGKILL);
    t_wait_pid(holder, 10000);
    uint64_t fence;
    T_OK(c, mpx_lock_acquire(l, 5, &fence));
    T_CHECK(fence > held);
    T_OK(c, mpx_lock_release(l));
    mpx_lock_close(l);
    mpx_client_close(c);
}

static void case_killed_holder_hands_over(void *arg)
{
    (void)arg;
    uint64_t held;
    pid_t holder = spawn_holder("kill.lock", &held);
    pid_t waiter = fork();
    if (waiter == 0) { /* parks in acquire before the holder dies */
        mpx_client *c = t_connect(&M, NULL);
        mpx_lock *l;
        uint64_t fence;
        T_OK(c, mpx_lock_open(c, "kill.lock", &l));
        T_OK(c, mpx_lock_acquire(l, 20, &fence));
        T_CHECK(fence > held);
        _exit(0);
    }
    mpx_client *c = t_connect(&M, NULL);
    t_wait_parked(c, 1, 10000);
    kill(holder, SIGKILL);
    t_wait_pid(holder, 10000);
    T_EQ_INT(t_wait_pid(waiter, 20000), 0);
    mpx_client_close(c);
}

/* The case: a generic call of a method that may wait, from a client whose call
 * timeout (300 ms) is far shorter than the wait, gets the lock when it comes. */
static void case_generic_call_waits_past_call_timeout(void *arg)
{
    (void)arg;
    uint64_t held;
    pid_t holder = spawn_holder("generic.lock", &held);
    pid_t waiter = fork();
    if (waiter == 0) {
        mpx_client *c = t_connect_timeout(&M, NULL, 300);
        mpx_lock *l;
        T_OK(c, mpx_lock_open(c, "generic.lock", &l));
        mpx_value fence;
        T_OK(c, mpx_proxy_call(mpx_lock_proxy(l), "acquire", NULL, 0, &fence));
        T_CHECK(mpx_value_kind(&fence) == MPX_INT && (uint64_t)mpx_value_get_int(&fence) > held);
        T_OK(c, mpx_lock_release(l));
        _exit(0);
    }
    mpx_client *c = t_connect(&M, NULL);
    t_wait_parked(c, 1, 10000);
    usleep(800000); /* the point of the test: the wait outlasts the waiter's call timeout */
    kill(holder, SIGKILL);
    t_wait_pid(holder, 10000);
    T_EQ_INT(t_wait_pid(waiter, 20000), 0);
    mpx_client_close(c);
}

/* A call the client stops waiting for ends the connection: its parked acquire goes with
 * the session, and the lock, once free, goes to the next caller, not to the one that gave
 * up. */
static void case_timed_out_call_ends_connection(void *arg)
{
    (void)arg;
    uint64_t held;
    pid_t holder = spawn_holder("gaveup.lock", &held);
    mpx_client *c = t_connect(&M, NULL), *quitter = t_connect_timeout(&M, NULL, 300);
    mpx_lock *l;
    T_OK(c, mpx_lock_open(c, "gaveup.lock", &l));
    mpx_value out;
    T_RC(quitter, mpx_client_call(quitter, mpx_proxy_id(mpx_lock_proxy(l)), "acquire", NULL, 0,
                                  -1, &out),
         MPX_ETIMEOUT);
    T_CHECK(strstr(mpx_client_errmsg(quitter), "the connection is closed") != NULL);
    T_RC(quitter, mpx_client_ping(quitter), MPX_ECLOSED);
    t_wait_parked(c, 0, 10000); /* the manager has dropped the quitter's acquire */
    kill(holder, SIGKILL);
    t_wait_pid(holder, 10000);
    uint64_t fence;
    T_OK(c, mpx_lock_acquire(l, 5, &fence)); /* ours, not granted to the quitter first */
    T_CHECK(fence > held);
    T_OK(c, mpx_lock_release(l));
    mpx_lock_close(l);
    mpx_client_close(quitter);
    mpx_client_close(c);
}

static void case_killed_waiter_takes_nothing(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_lock *l;
    T_OK(c, mpx_lock_open(c, "parked.lock", &l));
    T_OK(c, mpx_lock_acquire(l, -1, NULL));
    pid_t waiter = fork();
    if (waiter == 0) {
        T_OK(c, mpx_lock_acquire(l, -1, NULL)); /* parks until killed */
        _exit(1);
    }
    mpx_client *observer = t_connect(&M, NULL);
    t_wait_parked(observer, 1, 10000);
    kill(waiter, SIGKILL);
    t_wait_pid(waiter, 10000);
    t_wait_parked(observer, 0, 10000);
    mpx_client_close(observer);
    T_OK(c, mpx_lock_release(l));
    T_OK(c, mpx_lock_acquire(l, 0, NULL)); /* nothing was granted to the dead waiter */
    T_OK(c, mpx_lock_release(l));
    mpx_lock_close(l);
    mpx_client_close(c);
}

/* The hardening issue's case: a holder that is alive but stopped (SIGSTOP) holds a plain
 * lock forever; with a lease the lock passes to the waiter when the lease ends, with a
 * larger token, and the holder's late release, once it runs again, releases nothing. */
static void case_stopped_holder_loses_its_lease(void *arg)
{
    (void)arg;
    int p[2], go[2];
    T_CHECK(pipe(p) == 0 && pipe(go) == 0);
    pid_t holder = fork();
    if (holder == 0) {
        mpx_client *c = t_connect(&M, NULL);
        mpx_lock *l;
        uint64_t f;
        char byte;
        T_OK(c, mpx_lock_open(c, "lease.lock", &l));
        T_OK(c, mpx_lock_acquire_lease(l, -1, 1.0, &f));
        T_CHECK(write(p[1], &f, sizeof f) == (ssize_t)sizeof f);
        raise(SIGSTOP); /* stuck, as a debugged or swapped-out process is */
        T_CHECK(read(go[0], &byte, 1) == 1);
        T_RC(c, mpx_lock_release(l), MPX_ENOTOWNER);
        T_ERRMSG_HAS(c, "expired");
        _exit(0);
    }
    close(p[1]);
    close(go[0]);
    uint64_t held, fence;
    T_CHECK(read(p[0], &held, sizeof held) == (ssize_t)sizeof held);
    close(p[0]);
    mpx_client *c = t_connect(&M, NULL);
    mpx_lock *l;
    T_OK(c, mpx_lock_open(c, "lease.lock", &l));
    T_RC(c, mpx_lock_acquire(l, 0, NULL), MPX_ETIMEOUT); /* held, lease running */
    T_OK(c, mpx_lock_acquire(l, 20, &fence));           /* the lease ends it */
    T_CHECK(fence > held);
    kill(holder, SIGCONT);
    T_CHECK(write(go[1], "x", 1) == 1);
    close(go[1]);
    T_EQ_INT(t_wait_pid(holder, 20000), 0);
    bool locked;
    T_OK(c, mpx_lock_locked(l, &locked));
    T_CHECK(locked); /* the late release did not free our grant */
    T_OK(c, mpx_lock_release(l));
    mpx_lock_close(l);
    mpx_client_close(c);
}

int main(void)
{
    const char *listen[] = {"tcp", "unix", NULL};
    t_manager_start(&M, listen, NULL);
    t_run_case("case_counter_under_lock", case_counter_under_lock, NULL, 150000);
    T_RUN(case_release_errors, NULL);
    T_RUN(case_rlock, NULL);
    T_RUN(case_timeout_then_usable, NULL);
    T_RUN(case_killed_holder_hands_over, NULL);
    T_RUN(case_killed_waiter_takes_nothing, NULL);
    T_RUN(case_generic_call_waits_past_call_timeout, NULL);
    T_RUN(case_timed_out_call_ends_connection, NULL);
    T_RUN(case_stopped_holder_loses_its_lease, NULL);
    return t_finish_with_manager(&M);
}
