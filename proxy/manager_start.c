/* manager_start.c - a private manager in a forked child, like Python's Manager().start().
 *
 * The child serves an embedded mpx_server on a unix socket inside a fresh 0700 directory,
 * with a random key that only this program (and what it forks) knows. It tells the parent
 * over a pipe that it listens (one NUL byte) or why it cannot (a message, then EOF), and it
 * dies with the thread that started it, so an orphaned manager never outlives its program.
 * Only the starting process stops it and removes the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mpx/authkey.h"
#include "mpx/manager.h"
#include "proxy_internal.h"
#include "mpx/server.h"

#define READY_TIMEOUT_MS 10000 /* the child has this long to start listening */
#define STOP_TIMEOUT_MS 5000   /* after SIGTERM, the child has this long before SIGKILL */
#define SOCKET_NAME "manager.sock"
/* A unix socket path must fit sockaddr_un.sun_path (108 bytes on Linux). */
#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct mpx_manager {
    pid_t child;            /* the serving process */
    pid_t owner;            /* the process that started it: the only one that stops it */
    char dir[SUN_PATH_MAX]; /* the private directory holding the socket */
    char sockpath[SUN_PATH_MAX];
    char address[SUN_PATH_MAX + 8]; /* "unix://" + sockpath */
    uint8_t *key;
    size_t keylen;
    int err;                /* MPX_OK, or why start failed (a failed handle) */
    char errmsg[512];
};

/* Removes what make_socket_dir made; the socket may or may not be there. Both processes
 * call it: the child on its way out (so a manager orphaned by its program's death leaves
 * nothing behind) and the parent after the child has gone (in case it was killed). */
static void remove_socket_dir(const mpx_manager *m)
{
    if (m->dir[0] == '\0')
        return;
    unlink(m->sockpath);
    rmdir(m->dir);
}

/* ---- the child ---------------------------------------------------------------------------- */

/* The server the SIGTERM handler stops. A signal handler can only reach it through a
 * global; it is set only in the forked child, which runs nothing else. */
static mpx_server *volatile child_server;

static void child_on_term(int sig)
{
    (void)sig;
    if (child_server != NULL)
        mpx_server_stop(child_server); /* async-signal-safe */
    else
        _exit(0); /* not serving yet: nothing to close cleanly */
}

/* Writes all of buf, retrying short writes; the parent reads until EOF. */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

/* Closes every descriptor but stdio and keep: the parent's client sockets must not stay
 * open in the manager, or the server at their other end would never see them close. */
static void close_inherited_fds(int keep)
{
#ifdef SYS_close_range
    bool below = keep <= 3 || syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0;
    if (below && syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
        if (fd != keep)
            close(fd);
}

/* Sets up signals: SIGTERM stops the server, SIGINT is ignored (a Ctrl-C in the terminal
 * reaches the whole process group; the parent decides when its manager stops, as Python's
 * manager process does), SIGPIPE is ignored (a peer gone mid-write is an error, not death).
 * The parent blocked SIGTERM before forking; it is unblocked once the handler is set. */
static void child_signals(const sigset_t *parent_mask)
{
    struct sigaction sa = {.sa_handler = child_on_term};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigprocmask(SIG_SETMASK, parent_mask, NULL);
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &term, NULL);
}

/* Builds the server and listens; on failure writes the reason to ready_fd. */
static mpx_server *child_listen(const mpx_manager *m, int ready_fd)
{
    mpx_server_opts opts;
    mpx_server_opts_init(&opts);
    opts.authkey = m->key;
    opts.keylen = m->keylen;
    opts.log_level = MPX_LOG_WARN; /* a private manager stays quiet unless something fails */
    mpx_server *s;
    char err[256] = "";
    int rc = mpx_server_new(&opts, &s);
    if (rc != MPX_OK) {
        snprintf(err, sizeof err, "cannot create the server: %s", mpx_strerror(rc));
    } else if (mpx_server_listen(s, m->address, NULL, 0, err, sizeof err) != MPX_OK) {
        mpx_server_free(s);
        s = NULL;
    }
    if (s == NULL) {
        const char *why = err[0] != '\0' ? err : "cannot listen";
        write_all(ready_fd, why, strlen(why));
    }
    return s;
}

/* The child's whole life: never returns into the caller's code. */
static _Noreturn void child_main(const mpx_manager *m, pid_t parent, int ready_fd,
                                 const sigset_t *parent_mask)
{
    /* PDEATHSIG fires when the thread that forked exits, so the manager does not survive
     * its program; the getppid check covers a parent that died before prctl ran. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        _exit(1);
    close_inherited_fds(ready_fd);
    child_signals(parent_mask);
    mpx_server *s = child_listen(m, ready_fd);
    if (s == NULL)
        _exit(1);
    child_server = s;
    write_all(ready_fd, "", 1); /* one NUL byte: listening */
    close(ready_fd);
    int rc = mpx_server_run(s);
    child_server = NULL;
    mpx_server_free(s);
    remove_socket_dir(m);
    /* _exit, not exit: the parent's atexit handlers and stdio buffers belong to it */
    _exit(rc == MPX_OK ? 0 : 1);
}

/* ---- the parent ----------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the child's word on fd: MPX_OK when it listens, MPX_EIO with the reason in
 * why when it failed, exited or stayed silent past the timeout. */
static int wait_ready(int fd, char *why, size_t whylen)
{
    char buf[512];
    size_t got = 0;
    int64_t deadline = now_ms() + READY_TIMEOUT_MS;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            snprintf(why, whylen, "the manager did not start within %d ms", READY_TIMEOUT_MS);
            return MPX_EIO;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno != EINTR) {
            snprintf(why, whylen, "poll: %s", strerror(errno));
            return MPX_EIO;
        }
        if (n <= 0)
            continue;
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0 && got == 0 && buf[0] == '\0')
            return MPX_OK;
        if (r > 0) {
            got += (size_t)r;
            if (got < sizeof buf - 1)
                continue; /* a failure message: read it to EOF */
        }
        buf[got] = '\0';
        snprintf(why, whylen, "%s", got > 0 ? buf : "the manager exited before listening");
        return MPX_EIO;
    }
}

/* Stops the child: SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_MS. */
static void stop_child(pid_t child)
{
    kill(child, SIGTERM);
    int64_t deadline = now_ms() + STOP_TIMEOUT_MS;
    for (;;) {
        pid_t r = waitpid(child, NULL, WNOHANG);
        if (r == child || (r < 0 && errno != EINTR))
            return;
        if (now_ms() >= deadline)
            break;
        struct timespec pause = {0, 10 * 1000000};
        nanosleep(&pause, NULL);
    }
    kill(child, SIGKILL);
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
    }
}

/* Makes the private directory and the socket path in it, under $TMPDIR or /tmp. A TMPDIR
 * too deep for a unix socket path (108 bytes) falls back to /tmp. */
static int make_socket_dir(mpx_manager *m, char *why, size_t whylen)
{
    const char *tmp = getenv("TMPDIR");
    const char *bases[2] = {tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", "/tmp"};
    for (int i = 0; i < 2; i++) {
        /* the X's keep their length through mkdtemp, so the socket path is known to fit */
        int n = snprintf(m->dir, sizeof m->dir, "%s/mpx-XXXXXX", bases[i]);
        int p = snprintf(m->sockpath, sizeof m->sockpath, "%s/%s", m->dir, SOCKET_NAME);
        if (n < 0 || p < 0 || (size_t)p >= sizeof m->sockpath)
            continue;
        if (mkdtemp(m->dir) == NULL) { /* mkdtemp makes it 0700 */
            snprintf(why, whylen, "cannot make a directory in %s: %s", bases[i],
                     strerror(errno));
            m->dir[0] = '\0';
            return MPX_EIO;
        }
        memcpy(m->sockpath, m->dir, strlen(m->dir)); /* the X's, now filled in */
        snprintf(m->address, sizeof m->address, "unix://%s", m->sockpath);
        return MPX_OK;
    }
    m->dir[0] = '\0';
    snprintf(why, whylen, "no temporary directory short enough for a unix socket path");
    return MPX_EIO;
}

static void manager_free(mpx_manager *m)
{
    if (m->key != NULL) {
        explicit_bzero(m->key, m->keylen); /* the key admits to everything shared */
        free(m->key);
    }
    free(m);
}

/* Forks the child and waits until it listens. The parent blocks SIGTERM across fork so the
 * child cannot be killed by the parent's own SIGTERM handler before it installs its own. */
static int spawn_child(mpx_manager *m, char *why, size_t whylen)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return MPX_EIO;
    }
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        child_main(m, parent, fds[1], &old);
    }
    int fork_errno = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        snprintf(why, whylen, "fork: %s", strerror(fork_errno));
        return MPX_EIO;
    }
    m->child = pid;
    int rc = wait_ready(fds[0], why, whylen);
    close(fds[0]);
    if (rc != MPX_OK)
        stop_child(pid);
    return rc;
}

int mpx_manager_start(mpx_manager **out)
{
    mpx_manager *m = calloc(1, sizeof *m);
    *out = m;
    if (m == NULL)
        return MPX_ENOMEM;
    m->owner = getpid();
    int rc = mpx_authkey_generate(NULL, &m->key, &m->keylen, m->errmsg, sizeof m->errmsg);
    if (rc == MPX_OK)
        rc = make_socket_dir(m, m->errmsg, sizeof m->errmsg);
    if (rc == MPX_OK)
        rc = spawn_child(m, m->errmsg, sizeof m->errmsg);
    if (rc != MPX_OK) { /* a failed handle: nothing left running, the reason kept */
        remove_socket_dir(m);
        m->child = 0;
        m->err = rc == MPX_ENOMEM ? MPX_ENOMEM : MPX_EIO;
        return m->err;
    }
    return MPX_OK;
}

int mpx_manager_errcode(const mpx_manager *m)
{
    return m->err;
}

const char *mpx_manager_errmsg(const mpx_manager *m)
{
    return m->errmsg;
}

int mpx_manager_connect(mpx_manager *m, mpx_client **out)
{
    if (m->err != MPX_OK) {
        mpx_client_connect(m->address, NULL, 0, NULL, out); /* a failed client, to say why */
        return *out != NULL ? client_fail(*out, MPX_ECLOSED,
                                          "the private manager did not start: %s", m->errmsg)
                            : MPX_ENOMEM;
    }
    return mpx_client_connect(m->address, m->key, m->keylen, NULL, out);
}

const char *mpx_manager_address(const mpx_manager *m)
{
    return m->address;
}

const void *mpx_manager_authkey(const mpx_manager *m, size_t *len)
{
    *len = m->keylen;
    return m->key;
}

void mpx_manager_shutdown(mpx_manager *m)
{
    if (m == NULL)
        return;
    /* a forked child that inherited m only frees its copy: the manager is its parent's */
    if (getpid() == m->owner && m->child > 0) { /* a failed start left nothing */
        stop_child(m->child);
        remove_socket_dir(m);
    }
    manager_free(m);
}
