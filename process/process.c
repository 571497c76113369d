/* process.c - mpx/process.h: fork-based child processes, as Python's Process.
 *
 * Invariant: a child is waited for only by its own pid, only by the process that started
 * it (p->parent), and only until it has been reaped (state ENDED); it is signalled only
 * before that, while its pid cannot have been recycled (an unreaped child keeps it).
 * The one process-wide state is what Python keeps in multiprocessing.process too: the
 * table of started handles for the exit handler, the counter and identity that name
 * children, and whether this process is a daemonic child. It lives behind one mutex that
 * pthread_atfork keeps consistent across fork.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "list.h"
#include "mpx/process.h"

#define PROCESS_NAME_MAX 128
#define PROCESS_ERRMSG_MAX 160
/* How long daemonic children have between SIGTERM and SIGKILL when the program exits. */
#define DAEMON_GRACE_MS 2000
/* What exitcode says of a child whose status another wait took. */
#define STATUS_LOST 255

typedef enum proc_state { P_INITIAL, P_STARTED, P_ENDED } proc_state;

struct mpx_process {
    mpx_process_fn fn;
    void *arg;
    char name[PROCESS_NAME_MAX];
    char identity[PROCESS_NAME_MAX]; /* "2:1": the numbers in the default name */
    bool daemon;
    proc_state state;
    pid_t creator;   /* the process that created the handle: the only one to start it */
    pid_t parent;    /* the process that started it: the only one to wait or signal */
    pid_t pid;       /* 0 before start */
    int pidfd;       /* a pidfd to poll for the exit, or -1 (then join polls waitpid) */
    int exitcode;    /* once ENDED */
    bool status_lost; /* ENDED, but another wait took the status */
    list_node link;  /* in started while STARTED or ENDED and not closed */
    char errmsg[PROCESS_ERRMSG_MAX];
};

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static list started;                        /* every started handle not yet closed */
static unsigned counter;                    /* Python's _process_counter */
static char identity[PROCESS_NAME_MAX];     /* this process's: "" in the main program */
static bool am_daemon;                      /* this process is a daemonic child */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* an early wake-up only makes the caller look again sooner */
}

static int fail(mpx_process *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(mpx_process *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->errmsg, sizeof p->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- reaping and signals ----------------------------------------------------------------- */

static void record_status(mpx_process *p, int status)
{
    p->state = P_ENDED;
    p->exitcode = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    if (p->pidfd >= 0) {
        close(p->pidfd);
        p->pidfd = -1;
    }
}

/* Reaps p if it has ended (flags: WNOHANG, or 0 to wait). Returns whether it has ended. */
static bool reap(mpx_process *p, int flags)
{
    if (p->state != P_STARTED)
        return p->state == P_ENDED;
    for (int tries = 0; tries < 100; tries++) { /* EINTR only */
        int status;
        pid_t r = waitpid(p->pid, &status, flags);
        if (r == p->pid) {
            record_status(p, status);
            return true;
        }
        if (r == 0)
            return false;
        if (errno == EINTR)
            continue;
        /* ECHILD: someone else's wait took it, so it has ended, how is lost. */
        record_status(p, STATUS_LOST << 8);
        p->status_lost = true;
        return true;
    }
    return false;
}

static bool is_my_child(const mpx_process *p)
{
    return p->state != P_INITIAL && p->parent == getpid();
}

static int send_signal(mpx_process *p, int sig)
{
    if (!is_my_child(p))
        return fail(p, MPX_EINVAL, p->state == P_INITIAL ? "not started"
                                                         : "not a child of this process");
    if (reap(p, WNOHANG))
        return MPX_OK; /* ended: nothing to signal, and its pid may already be another's */
    int rc = -1;
#ifdef SYS_pidfd_send_signal
    /* By pidfd where the kernel has it: the signal can only reach this very process. */
    if (p->pidfd >= 0)
        rc = (int)syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0);
#endif
    if (rc != 0 && (p->pidfd < 0 || errno == ENOSYS))
        rc = kill(p->pid, sig); /* unreaped, so the pid is still this child's */
    if (rc != 0 && errno != ESRCH)
        return fail(p, MPX_EIO, "signal %d to pid %d: %s", sig, (int)p->pid, strerror(errno));
    return MPX_OK;
}

int mpx_process_terminate(mpx_process *p)
{
    return send_signal(p, SIGTERM);
}

int mpx_process_kill(mpx_process *p)
{
    return send_signal(p, SIGKILL);
}

/* ---- the exit handler -------------------------------------------------------------------- */

/* Python's util._exit_function for daemons: SIGTERM to each running daemonic child of this
 * process, a grace period, SIGKILL to the ones left, and every one reaped. */
static void stop_daemons(void)
{
    pthread_mutex_lock(&state_lock);
    pid_t me = getpid();
    int pending = 0;
    for (list_node *n = started.head; n != NULL; n = n->next) {
        mpx_process *p = list_entry(n, mpx_process, link);
        if (p->daemon && p->parent == me && !reap(p, WNOHANG) && send_signal(p, SIGTERM) == 0)
            pending++;
    }
    int64_t deadline = now_ms() + DAEMON_GRACE_MS;
    for (int delay = 1; pending > 0 && now_ms() < deadline; delay = delay < 20 ? delay * 2 : 20) {
        sleep_ms(delay);
        pending = 0;
        for (list_node *n = started.head; n != NULL; n = n->next) {
            mpx_process *p = list_entry(n, mpx_process, link);
            if (p->daemon && p->parent == me && !reap(p, WNOHANG))
                pending++;
        }
    }
    for (list_node *n = started.head; pending > 0 && n != NULL; n = n->next) {
        mpx_process *p = list_entry(n, mpx_process, link);
        if (p->daemon && p->parent == me && !reap(p, WNOHANG)) {
            send_signal(p, SIGKILL);
            reap(p, 0); /* SIGKILL cannot be caught: this returns */
        }
    }
    pthread_mutex_unlock(&state_lock);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&state_lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&state_lock);
}

static void install_handlers(void)
{
    atexit(stop_daemons);
    pthread_atfork(fork_prepare, fork_release, fork_release);
}

/* ---- handles ----------------------------------------------------------------------------- */

void mpx_process_opts_init(mpx_process_opts *opts)
{
    opts->name = NULL;
    opts->daemon = false;
}

int mpx_process_create(mpx_process_fn fn, void *arg, const mpx_process_opts *opts,
                       mpx_process **out)
{
    *out = NULL;
    if (fn == NULL)
        return MPX_EINVAL;
    mpx_process *p = calloc(1, sizeof *p);
    if (p == NULL)
        return MPX_ENOMEM;
    p->fn = fn;
    p->arg = arg;
    p->pidfd = -1;
    p->creator = getpid();
    p->daemon = opts != NULL && opts->daemon;
    pthread_mutex_lock(&state_lock);
    unsigned n = ++counter;
    if (identity[0] != '\0')
        snprintf(p->identity, sizeof p->identity, "%.100s:%u", identity, n);
    else
        snprintf(p->identity, sizeof p->identity, "%u", n);
    pthread_mutex_unlock(&state_lock);
    if (opts != NULL && opts->name != NULL)
        snprintf(p->name, sizeof p->name, "%s", opts->name);
    else
        snprintf(p->name, sizeof p->name, "Process-%.100s", p->identity);
    *out = p;
    return MPX_OK;
}

/* In the child: it becomes p, with no children of its own yet, as Python's _bootstrap. */
static _Noreturn void run_child(mpx_process *p)
{
    pthread_mutex_lock(&state_lock);
    counter = 0;
    snprintf(identity, sizeof identity, "%s", p->identity);
    am_daemon = p->daemon;
    pthread_mutex_unlock(&state_lock);
    int code = p->fn(p->arg);
    /* As returning from Python's run(): its own daemons stopped, its output flushed, and
     * none of the parent's atexit handlers run (they are the parent's: _exit). */
    stop_daemons();
    fflush(NULL);
    _exit(code & 0xff);
}

int mpx_process_start(mpx_process *p)
{
    p->errmsg[0] = '\0';
    if (p->state != P_INITIAL)
        return fail(p, MPX_EINVAL, "cannot start a process twice");
    if (p->creator != getpid())
        return fail(p, MPX_EINVAL, "can only start a process object created by this process");
    pthread_once(&state_once, install_handlers);
    pthread_mutex_lock(&state_lock);
    bool daemonic = am_daemon;
    pthread_mutex_unlock(&state_lock);
    if (daemonic)
        return fail(p, MPX_EINVAL, "daemonic processes are not allowed to have children");
    fflush(NULL); /* what is buffered now would otherwise be written by both */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        return fail(p, e == ENOMEM ? MPX_ENOMEM : MPX_ELIMIT, "fork: %s", strerror(e));
    }
    if (pid == 0)
        run_child(p);
    p->pid = pid;
    p->parent = getpid();
#ifdef SYS_pidfd_open
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1 (old kernel): join polls */
#endif
    pthread_mutex_lock(&state_lock);
    p->state = P_STARTED;
    list_push_back(&started, &p->link);
    pthread_mutex_unlock(&state_lock);
    return MPX_OK;
}

int mpx_process_join(mpx_process *p, double timeout)
{
    p->errmsg[0] = '\0';
    if (!is_my_child(p))
        return fail(p, MPX_EINVAL, p->state == P_INITIAL ? "can only join a started process"
                                                         : "can only join a child process");
    int64_t deadline = -1;
    if (timeout >= 0)
        deadline = now_ms() + (int64_t)(timeout > 1e9 ? 1e9 * 1000 : timeout * 1000);
    else if (!(timeout < 0)) /* NaN */
        deadline = now_ms();
    /* Each turn sleeps until the child's exit, the deadline, or at most 20 ms without a
     * pidfd: the loop ends by the deadline or when the child does. */
    for (int delay = 1; !reap(p, WNOHANG); delay = delay < 20 ? delay * 2 : 20) {
        int64_t left = deadline < 0 ? -1 : deadline - now_ms();
        if (deadline >= 0 && left <= 0)
            return fail(p, MPX_ETIMEOUT, "still running");
        if (p->pidfd >= 0) {
            struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
            int wait = left < 0 || left > 1000000 ? 1000000 : (int)left;
            if (poll(&pfd, 1, wait) < 0 && errno != EINTR)
                sleep_ms(delay); /* a pidfd that cannot be polled: fall back to looking */
        } else {
            sleep_ms(left >= 0 && left < delay ? (int)left : delay);
        }
    }
    if (p->status_lost)
        return fail(p, MPX_EIO, "its exit status was taken by another wait (waitpid(-1) or "
                    "SIGCHLD ignored)");
    return MPX_OK;
}

bool mpx_process_is_alive(mpx_process *p)
{
    return is_my_child(p) && !reap(p, WNOHANG);
}

bool mpx_process_exitcode(mpx_process *p, int *code)
{
    if (!is_my_child(p) || !reap(p, WNOHANG))
        return false;
    *code = p->exitcode;
    return true;
}

pid_t mpx_process_pid(const mpx_process *p)
{
    return p->pid;
}

const char *mpx_process_name(const mpx_process *p)
{
    return p->name;
}

bool mpx_process_daemon(const mpx_process *p)
{
    return p->daemon;
}

const char *mpx_process_errmsg(const mpx_process *p)
{
    return p->errmsg;
}

int mpx_process_close(mpx_process *p)
{
    if (p == NULL)
        return MPX_OK;
    if (is_my_child(p) && !reap(p, WNOHANG))
        return fail(p, MPX_EVALUE, "cannot close a process while it is still running: "
                    "join or terminate it first");
    if (p->state != P_INITIAL) {
        pthread_mutex_lock(&state_lock);
        list_remove(&started, &p->link);
        pthread_mutex_unlock(&state_lock);
    }
    if (p->pidfd >= 0)
        close(p->pidfd);
    free(p);
    return MPX_OK;
}
