/* test_process.c - mpx/process.h with real children: exit codes by return and by exit(),
 * deaths by terminate, kill and other signals (negative codes), join's timeout, is_alive,
 * close while running, names, a daemon's children refused, and what happens at exit:
 * a parent's daemonic children terminated (one that ignores SIGTERM killed after the
 * grace), its non-daemonic ones left running, a child's daemons stopped when it returns.
 *
 * Each case runs in its own forked child (the harness). The at-exit cases need a parent
 * that exits: the case forks one, and becomes a child subreaper (PR_SET_CHILD_SUBREAPER)
 * so that the grandchildren it left are reparented to the case, which reaps them by pid.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mpx/connection.h"
#include "mpx/process.h"

static int return_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

static int exit_three(void *arg)
{
    (void)arg;
    exit(3); /* as sys.exit(3) in Python's run() */
}

/* Sleeps 30 s at most, in steps: long enough for every test to signal it first. */
static int sleeper(void *arg)
{
    (void)arg;
    for (int i = 0; i < 300; i++)
        usleep(100000);
    return 0;
}

static int ignores_sigterm(void *arg)
{
    signal(SIGTERM, SIG_IGN);
    return sleeper(arg);
}

static int raise_sigusr1(void *arg)
{
    (void)arg;
    signal(SIGUSR1, SIG_DFL);
    raise(SIGUSR1);
    return 0;
}

static mpx_process *start(mpx_process_fn fn, void *arg, const char *name, bool daemon)
{
    mpx_process_opts o;
    mpx_process_opts_init(&o);
    o.name = name;
    o.daemon = daemon;
    mpx_process *p;
    T_EQ_INT(mpx_process_create(fn, arg, &o, &p), MPX_OK);
    int rc = mpx_process_start(p);
    if (rc != MPX_OK)
        t_fail(__FILE__, __LINE__, "start: %s", mpx_process_errmsg(p));
    return p;
}

static int join_exitcode(mpx_process *p)
{
    int rc = mpx_process_join(p, 20);
    if (rc != MPX_OK)
        t_fail(__FILE__, __LINE__, "join: %d %s", rc, mpx_process_errmsg(p));
    int code = 12345;
    T_CHECK(mpx_process_exitcode(p, &code));
    return code;
}

static void case_return_value_is_exit_code(void *arg)
{
    (void)arg;
    mpx_process *ps[5];
    for (int i = 0; i < 5; i++)
        ps[i] = start(return_arg, (void *)(intptr_t)(i * 50), NULL, false);
    for (int i = 0; i < 5; i++) {
        T_CHECK(mpx_process_pid(ps[i]) > 0);
        T_EQ_INT(join_exitcode(ps[i]), i * 50);
        T_CHECK(!mpx_process_is_alive(ps[i]));
        T_EQ_INT(mpx_process_join(ps[i], 0), MPX_OK); /* again: it has ended */
        T_EQ_INT(mpx_process_close(ps[i]), MPX_OK);
    }
    mpx_process *p = start(return_arg, (void *)(intptr_t)258, NULL, false);
    T_EQ_INT(join_exitcode(p), 2); /* the low 8 bits, as exit(258) */
    mpx_process_close(p);
}

static void case_exit_three(void *arg)
{
    (void)arg;
    mpx_process *p = start(exit_three, NULL, NULL, false);
    T_EQ_INT(join_exitcode(p), 3);
    mpx_process_close(p);
}

static void case_terminate(void *arg)
{
    (void)arg;
    mpx_process *p = start(sleeper, NULL, NULL, false);
    T_CHECK(mpx_process_is_alive(p));
    int code;
    T_CHECK(!mpx_process_exitcode(p, &code));
    T_EQ_INT(mpx_process_terminate(p), MPX_OK);
    T_EQ_INT(join_exitcode(p), -SIGTERM);
    T_CHECK(!mpx_process_is_alive(p));
    T_EQ_INT(mpx_process_terminate(p), MPX_OK); /* ended: left alone, as in Python */
    T_EQ_INT(mpx_process_kill(p), MPX_OK);
    T_EQ_INT(join_exitcode(p), -SIGTERM);
    mpx_process_close(p);
}

static void case_kill(void *arg)
{
    (void)arg;
    mpx_process *p = start(ignores_sigterm, NULL, NULL, false);
    usleep(100000); /* let it ignore SIGTERM first */
    T_EQ_INT(mpx_process_terminate(p), MPX_OK);
    T_EQ_INT(mpx_process_join(p, 0.3), MPX_ETIMEOUT); /* it ignored that */
    T_EQ_INT(mpx_process_kill(p), MPX_OK);
    T_EQ_INT(join_exitcode(p), -SIGKILL);
    mpx_process_close(p);
    p = start(raise_sigusr1, NULL, NULL, false);
    T_EQ_INT(join_exitcode(p), -SIGUSR1);
    mpx_process_close(p);
}

static void case_join_timeout(void *arg)
{
    (void)arg;
    mpx_process *p = start(sleeper, NULL, NULL, false);
    int64_t t0 = t_now_ms();
    T_EQ_INT(mpx_process_join(p, 0.2), MPX_ETIMEOUT);
    int64_t took = t_now_ms() - t0;
    T_CHECK(took >= 190 && took < 3000);
    T_EQ_INT(mpx_process_join(p, 0), MPX_ETIMEOUT);
    T_CHECK(mpx_process_is_alive(p));
    int code;
    T_CHECK(!mpx_process_exitcode(p, &code));
    T_EQ_INT(mpx_process_close(p), MPX_EVALUE); /* still running: the handle stays */
    T_CHECK(strstr(mpx_process_errmsg(p), "still running") != NULL);
    T_EQ_INT(mpx_process_kill(p), MPX_OK);
    T_EQ_INT(mpx_process_join(p, -1), MPX_OK);
    T_CHECK(mpx_process_exitcode(p, &code) && code == -SIGKILL);
    T_EQ_INT(mpx_process_close(p), MPX_OK);
}

static void case_before_start(void *arg)
{
    (void)arg;
    mpx_process *p;
    T_EQ_INT(mpx_process_create(NULL, NULL, NULL, &p), MPX_EINVAL);
    T_CHECK(p == NULL);
    T_EQ_INT(mpx_process_create(return_arg, NULL, NULL, &p), MPX_OK);
    T_EQ_INT(mpx_process_pid(p), 0);
    T_CHECK(!mpx_process_is_alive(p));
    int code;
    T_CHECK(!mpx_process_exitcode(p, &code));
    T_EQ_INT(mpx_process_join(p, 1), MPX_EINVAL);
    T_EQ_INT(mpx_process_terminate(p), MPX_EINVAL);
    T_EQ_INT(mpx_process_start(p), MPX_OK);
    T_EQ_INT(mpx_process_start(p), MPX_EINVAL);
    T_CHECK(strstr(mpx_process_errmsg(p), "twice") != NULL);
    T_EQ_INT(join_exitcode(p), 0);
    T_EQ_INT(mpx_process_close(p), MPX_OK);
    T_EQ_INT(mpx_process_create(return_arg, NULL, NULL, &p), MPX_OK);
    T_EQ_INT(mpx_process_close(p), MPX_OK); /* never started */
    T_EQ_INT(mpx_process_close(NULL), MPX_OK);
}

/* Names as Python gives them: Process-N in a program, Process-N:M in its child N. */
static int report_child_name(void *arg)
{
    mpx_conn *c = arg;
    mpx_process *p;
    T_EQ_INT(mpx_process_create(return_arg, NULL, NULL, &p), MPX_OK);
    const char *name = mpx_process_name(p);
    T_EQ_INT(mpx_conn_send_bytes(c, name, strlen(name)), MPX_OK);
    mpx_process_close(p);
    return 0;
}

static void case_names(void *arg)
{
    (void)arg;
    mpx_process *a, *b;
    T_EQ_INT(mpx_process_create(return_arg, NULL, NULL, &a), MPX_OK);
    T_EQ_STR(mpx_process_name(a), "Process-1");
    T_CHECK(!mpx_process_daemon(a));
    mpx_process_opts o;
    mpx_process_opts_init(&o);
    o.name = "worker";
    o.daemon = true;
    T_EQ_INT(mpx_process_create(return_arg, NULL, &o, &b), MPX_OK);
    T_EQ_STR(mpx_process_name(b), "worker");
    T_CHECK(mpx_process_daemon(b));
    mpx_process_close(a);
    mpx_process_close(b);
    mpx_conn *mine, *theirs;
    T_EQ_INT(mpx_pipe(&mine, &theirs), MPX_OK);
    mpx_process *p = start(report_child_name, theirs, NULL, false);
    T_EQ_STR(mpx_process_name(p), "Process-3");
    uint8_t *buf;
    size_t len;
    T_EQ_INT(mpx_conn_recv_bytes(mine, 10, &buf, &len), MPX_OK);
    T_EQ_STR((char *)buf, "Process-3:1");
    free(buf);
    T_EQ_INT(join_exitcode(p), 0);
    mpx_process_close(p);
    mpx_conn_close(mine);
    mpx_conn_close(theirs);
}

/* A result comes back through a pipe, as Python's Pipe() with a Process. */
static int square_over_pipe(void *arg)
{
    mpx_conn *c = arg;
    mpx_value v;
    if (mpx_conn_recv(c, 10, &v) != MPX_OK || mpx_value_kind(&v) != MPX_INT)
        return 1;
    mpx_value sq = mpx_value_int(mpx_value_get_int(&v) * mpx_value_get_int(&v));
    return mpx_conn_send(c, &sq) == MPX_OK ? 0 : 2;
}

static void case_pipe_to_child(void *arg)
{
    (void)arg;
    mpx_conn *mine, *theirs;
    T_EQ_INT(mpx_pipe(&mine, &theirs), MPX_OK);
    mpx_process *p = start(square_over_pipe, theirs, NULL, false);
    mpx_conn_close(theirs);
    mpx_value v = mpx_value_int(12);
    T_EQ_INT(mpx_conn_send(mine, &v), MPX_OK);
    T_EQ_INT(mpx_conn_recv(mine, 10, &v), MPX_OK);
    T_REPR(&v, "144");
    T_EQ_INT(join_exitcode(p), 0);
    T_EQ_INT(mpx_conn_recv(mine, 10, &v), MPX_ECLOSED); /* its end went with it */
    mpx_process_close(p);
    mpx_conn_close(mine);
}

/* In a forked copy (not started by the API) the parent's handle is not its child. */
static void case_not_my_child(void *arg)
{
    (void)arg;
    mpx_process *p = start(sleeper, NULL, NULL, false);
    pid_t other = fork();
    if (other == 0) {
        T_EQ_INT(mpx_process_join(p, 0.1), MPX_EINVAL);
        T_EQ_INT(mpx_process_terminate(p), MPX_EINVAL);
        T_EQ_INT(mpx_process_kill(p), MPX_EINVAL);
        T_CHECK(!mpx_process_is_alive(p));
        T_EQ_INT(mpx_process_start(p), MPX_EINVAL);
        T_EQ_INT(mpx_process_close(p), MPX_OK); /* frees the copy only */
        _exit(0);
    }
    T_EQ_INT(t_wait_pid(other, 10000), 0);
    T_CHECK(mpx_process_is_alive(p)); /* untouched */
    T_EQ_INT(mpx_process_terminate(p), MPX_OK);
    T_EQ_INT(join_exitcode(p), -SIGTERM);
    mpx_process_close(p);
}

/* A child whose status another wait took: it counts as ended, and join says so. */
static void case_status_taken_elsewhere(void *arg)
{
    (void)arg;
    mpx_process *p = start(return_arg, (void *)(intptr_t)9, NULL, false);
    T_EQ_INT(t_wait_pid(mpx_process_pid(p), 10000), 9); /* by its pid, not ours to take */
    T_EQ_INT(mpx_process_join(p, 5), MPX_EIO);
    T_CHECK(strstr(mpx_process_errmsg(p), "another wait") != NULL);
    int code;
    T_CHECK(mpx_process_exitcode(p, &code) && code == 255);
    T_EQ_INT(mpx_process_terminate(p), MPX_OK); /* and it is never signalled */
    mpx_process_close(p);
}

static int daemon_starts_child(void *arg)
{
    (void)arg;
    mpx_process *p;
    if (mpx_process_create(return_arg, NULL, NULL, &p) != MPX_OK)
        return 1;
    int rc = mpx_process_start(p);
    bool says = strstr(mpx_process_errmsg(p), "daemonic") != NULL;
    mpx_process_close(p);
    return rc == MPX_EINVAL && says ? 0 : 2;
}

static void case_daemon_has_no_children(void *arg)
{
    (void)arg;
    mpx_process *p = start(daemon_starts_child, NULL, NULL, true);
    T_EQ_INT(join_exitcode(p), 0);
    mpx_process_close(p);
}

/* ---- at exit --------------------------------------------------------------------------- */

typedef struct exit_report {
    int fd; /* where the exiting parent writes what became of its children */
    mpx_process *term, *stubborn, *plain;
} exit_report;

static exit_report report;

/* Registered before the first start, so it runs after mpx's handler: it sees what that
 * did to the daemons. */
static void report_at_exit(void)
{
    int codes[2] = {1000, 1000};
    mpx_process_exitcode(report.term, &codes[0]);
    mpx_process_exitcode(report.stubborn, &codes[1]);
    pid_t pids[3] = {mpx_process_pid(report.term), mpx_process_pid(report.stubborn),
                     mpx_process_pid(report.plain)};
    int alive = mpx_process_is_alive(report.plain);
    if (write(report.fd, codes, sizeof codes) != (ssize_t)sizeof codes ||
        write(report.fd, pids, sizeof pids) != (ssize_t)sizeof pids ||
        write(report.fd, &alive, sizeof alive) != (ssize_t)sizeof alive)
        _exit(9);
}

/* Outlives its parent, which does not wait for it: it ends when the case says so. */
static int plain_child(void *arg)
{
    struct pollfd pfd = {.fd = *(int *)arg, .events = POLLIN};
    char x;
    return poll(&pfd, 1, 20000) == 1 && read(pfd.fd, &x, 1) == 1 ? 5 : 6;
}

static void case_daemons_terminated_at_exit(void *arg)
{
    (void)arg;
    T_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    int p[2], release[2];
    T_CHECK(pipe(p) == 0 && pipe(release) == 0);
    fflush(NULL);
    pid_t parent = fork();
    if (parent == 0) {
        close(p[0]);
        report.fd = p[1];
        atexit(report_at_exit);
        report.term = start(sleeper, NULL, "daemon", true);
        report.stubborn = start(ignores_sigterm, NULL, "stubborn", true);
        report.plain = start(plain_child, &release[0], "plain", false);
        usleep(100000); /* the stubborn one ignores SIGTERM by now */
        exit(0);        /* a normal exit: the handlers run */
    }
    close(p[1]);
    int64_t t0 = t_now_ms();
    T_EQ_INT(t_wait_pid(parent, 20000), 0);
    int64_t took = t_now_ms() - t0;
    T_CHECK(took >= 1900 && took < 15000); /* the stubborn daemon's 2 s of grace */
    int codes[2];
    pid_t pids[3];
    int alive;
    T_EQ_INT(read(p[0], codes, sizeof codes), sizeof codes);
    T_EQ_INT(read(p[0], pids, sizeof pids), sizeof pids);
    T_EQ_INT(read(p[0], &alive, sizeof alive), sizeof alive);
    close(p[0]);
    T_EQ_INT(codes[0], -SIGTERM);
    T_EQ_INT(codes[1], -SIGKILL);
    T_CHECK(alive);
    /* Both daemons were reaped by their parent; the plain child was left to finish. */
    T_CHECK(kill(pids[0], 0) != 0 && errno == ESRCH);
    T_CHECK(kill(pids[1], 0) != 0 && errno == ESRCH);
    T_EQ_INT(write(release[1], "x", 1), 1);
    T_EQ_INT(t_wait_pid(pids[2], 10000), 5);
    close(release[0]);
    close(release[1]);
}

/* A child that returns stops its own daemonic children, as a Python child does. */
static int child_with_daemon(void *arg)
{
    int *fds = arg;
    mpx_process *d = start(sleeper, NULL, NULL, true);
    pid_t pid = mpx_process_pid(d);
    if (write(fds[1], &pid, sizeof pid) != (ssize_t)sizeof pid)
        return 1;
    close(fds[1]); /* the grandchild keeps its copy: EOF when it dies */
    return 0;
}

static void case_child_stops_its_daemons(void *arg)
{
    (void)arg;
    T_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    int fds[2];
    T_CHECK(pipe(fds) == 0);
    mpx_process *p = start(child_with_daemon, fds, NULL, false);
    close(fds[1]);
    pid_t grandchild;
    T_EQ_INT(read(fds[0], &grandchild, sizeof grandchild), sizeof grandchild);
    T_EQ_INT(join_exitcode(p), 0);
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    T_EQ_INT(poll(&pfd, 1, 10000), 1);
    char x;
    T_EQ_INT(read(fds[0], &x, 1), 0); /* EOF: the daemon is gone, before its 30 s */
    close(fds[0]);
    T_CHECK(kill(grandchild, 0) != 0 && errno == ESRCH); /* and was reaped by its parent */
    mpx_process_close(p);
}

int main(void)
{
    T_RUN(case_return_value_is_exit_code, NULL);
    T_RUN(case_exit_three, NULL);
    T_RUN(case_terminate, NULL);
    T_RUN(case_kill, NULL);
    T_RUN(case_join_timeout, NULL);
    T_RUN(case_before_start, NULL);
    T_RUN(case_names, NULL);
    T_RUN(case_pipe_to_child, NULL);
    T_RUN(case_not_my_child, NULL);
    T_RUN(case_status_taken_elsewhere, NULL);
    T_RUN(case_daemon_has_no_children, NULL);
    T_RUN(case_daemons_terminated_at_exit, NULL);
    T_RUN(case_child_stops_its_daemons, NULL);
    return t_finish();
}
