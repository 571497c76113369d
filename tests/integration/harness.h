/* harness.h - what the C integration tests share: a real mpx-manager, forked workers,
 * checks.
 *
 * A test program starts mpx-manager (path from $MPX_MANAGER_BIN) in a fresh temp dir with
 * its own 0600 key file, learns the bound address through --ready-fd, runs each test case
 * in a forked child with a deadline (so a crash or a hang fails one case, not the run),
 * then stops the manager with SIGTERM and expects exit status 0. Every wait is bounded;
 * only pids this harness forked are ever signalled. The last line is "N passed, M failed".
 */
#ifndef MPX_TEST_HARNESS_H
#define MPX_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mpx/client.h"
#include "mpx/error.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define T_MAX_LISTEN 4
#define T_ADDR_MAX 512

/* ---- checks ---------------------------------------------------------------------------
 * A failed check prints file:line and what differed, then exits the current process with
 * status 1 (the test case's child, or a worker), which fails the case. */
void t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define T_CHECK(cond)                                                                     \
    do {                                                                                  \
        if (!(cond))                                                                      \
            t_fail(__FILE__, __LINE__, "check failed: %s", #cond);                        \
    } while (0)

#define T_EQ_INT(a, b)                                                                    \
    do {                                                                                  \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                           \
        if (t_a_ != t_b_)                                                                 \
            t_fail(__FILE__, __LINE__, "%s == %s: got %lld, expected %lld", #a, #b, t_a_, \
                   t_b_);                                                                 \
    } while (0)

#define T_EQ_STR(a, b)                                                                    \
    do {                                                                                  \
        const char *t_a_ = (a), *t_b_ = (b);                                              \
        if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0)                      \
            t_fail(__FILE__, __LINE__, "%s == %s: got \"%s\", expected \"%s\"", #a, #b,   \
                   t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");                       \
    } while (0)

/* expr must return the mpx status want; c (may be NULL) gives the message on mismatch. */
#define T_RC(c, expr, want)                                                               \
    do {                                                                                  \
        int t_rc_ = (expr);                                                               \
        if (t_rc_ != (want))                                                              \
            t_fail_rc(__FILE__, __LINE__, #expr, (c), t_rc_, (want));                     \
    } while (0)
#define T_OK(c, expr) T_RC(c, expr, MPX_OK)

void t_fail_rc(const char *file, int line, const char *expr, const mpx_client *c, int got,
               int want) __attribute__((noreturn));

/* v must print as repr text (Python's repr). */
#define T_REPR(v, text) t_check_repr(__FILE__, __LINE__, #v, (v), (text))
void t_check_repr(const char *file, int line, const char *what, const mpx_value *v,
                  const char *text);

/* The client's last message must contain needle. */
#define T_ERRMSG_HAS(c, needle) t_check_errmsg(__FILE__, __LINE__, (c), (needle), false)
/* The client's last message must equal text. */
#define T_ERRMSG_IS(c, text) t_check_errmsg(__FILE__, __LINE__, (c), (text), true)
void t_check_errmsg(const char *file, int line, const mpx_client *c, const char *text,
                    bool exact);

/* ---- values --------------------------------------------------------------------------
 * Parses a Python literal (mpx_value_parse) or fails the test. The caller frees. */
mpx_value t_val(const char *literal);
/* A str value. */
mpx_value t_str(const char *s);
/* Frees n values of an array. */
void t_free_all(mpx_value *v, size_t n);

/* ---- the manager ---------------------------------------------------------------------- */
typedef struct t_manager {
    pid_t pid;                              /* 0 when not running */
    char dir[128];                          /* temp dir, removed by stop */
    char keyfile[192];
    char logfile[192];
    char key[65];                           /* the key text (also in keyfile) */
    size_t keylen;
    char address[T_ADDR_MAX];               /* the first bound address */
    char addresses[T_MAX_LISTEN][T_ADDR_MAX];
    int naddresses;
} t_manager;

/* listen: up to T_MAX_LISTEN of "tcp" (tcp://127.0.0.1:0) or "unix" (a socket in the temp
 * dir), NULL-terminated; NULL means {"tcp"}. extra: more mpx-manager arguments,
 * NULL-terminated, may be NULL. Fails the program (exit 1) when the manager does not
 * come up within 10 s, printing its log. */
void t_manager_start(t_manager *m, const char *const *listen, const char *const *extra);
/* SIGTERM, wait at most 10 s (then SIGKILL), remove the temp dir. Returns the exit status
 * (0 for a clean exit, -1 killed or signalled). */
int t_manager_stop(t_manager *m);
/* SIGKILL (a crash, for fault tests), reap, remove the temp dir. */
void t_manager_kill(t_manager *m);
/* Whether the manager process is still running. */
bool t_manager_alive(const t_manager *m);
/* Prints the manager's log so far to stderr. */
void t_manager_dump_log(const t_manager *m);

/* A client connected to addr (NULL: the manager's first address) with its key; fails the
 * test when the connection or handshake fails. Close it with mpx_client_close. */
mpx_client *t_connect(const t_manager *m, const char *addr);
/* The same with the client's call timeout (t_connect's is 10 s). */
mpx_client *t_connect_timeout(const t_manager *m, const char *addr, int64_t call_timeout_ms);
/* Waits until exactly n calls are parked on the manager (object 0's parked()), at most
 * timeout_ms; fails the test otherwise. The way to wait for "it is waiting now". */
void t_wait_parked(mpx_client *c, int64_t n, int timeout_ms);

/* ---- test cases ------------------------------------------------------------------------
 * Runs fn(arg) in a forked child with a deadline (ms); counts it passed when the child
 * exits 0. Prints "ok NAME" or "FAIL NAME (why)". */
typedef void (*t_case_fn)(void *arg);
void t_run_case(const char *name, t_case_fn fn, void *arg, int timeout_ms);
#define T_RUN(fn, arg) t_run_case(#fn, (fn), (arg), 30000)
/* Prints "N passed, M failed"; returns the exit status for main (0 when none failed). */
int t_finish(void);
/* The end of a test program with one manager: the manager must still be running, and
 * must exit 0 on SIGTERM (each said as a FAIL line); then t_finish. Returns main's status. */
int t_finish_with_manager(t_manager *m);

/* ---- workers ---------------------------------------------------------------------------
 * Forks n children running fn(index, arg) (index 0..n-1); each exits 0 when fn returns.
 * Waits for all of them at most timeout_ms, then SIGKILLs the ones still running (only
 * those). Returns the number of workers that failed (non-zero status, signal, timeout). */
typedef void (*t_worker_fn)(int index, void *arg);
int t_fork_workers(int n, t_worker_fn fn, void *arg, int timeout_ms);

/* Waits for one pid this process forked, at most timeout_ms; kills it on timeout.
 * Returns its exit status, or -1 when it was signalled or timed out. */
int t_wait_pid(pid_t pid, int timeout_ms);

/* Milliseconds on a monotonic clock. */
int64_t t_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
