/* harness.c - starts and stops real mpx-manager processes, runs test cases and workers in
 * forked children, and reports.
 *
 * Invariant: every process this file forks is recorded by pid and is the only kind of
 * process it ever signals; every wait has a deadline. Cleanup (managers, temp dirs) runs
 * at exit, and only in the process that started them, never in a forked child.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MANAGERS 16

static pid_t owner_pid;  /* the process that started the managers */
static int cases_passed;
static int cases_failed;

/* Managers started and not yet stopped, for the exit-time cleanup. */
static struct {
    pid_t pid;
    char dir[128];
} started[MAX_MANAGERS];

int64_t t_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- checks ------------------------------------------------------------------------- */

void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    exit(1);
}

void t_fail_rc(const char *file, int line, const char *expr, const mpx_client *c, int got,
               int want)
{
    t_fail(file, line, "%s: got %d %s, expected %d %s%s%s%s", expr, got, mpx_err_name(got),
           want, mpx_err_name(want), c != NULL ? " (client says: \"" : "",
           c != NULL ? mpx_client_errmsg(c) : "", c != NULL ? "\")" : "");
}

void t_check_repr(const char *file, int line, const char *what, const mpx_value *v,
                  const char *text)
{
    char *got = mpx_value_repr(v);
    if (got == NULL)
        t_fail(file, line, "repr(%s) failed", what);
    if (strcmp(got, text) != 0) {
        fprintf(stderr, "%s:%d: repr(%s): got %s, expected %s\n", file, line, what, got, text);
        free(got);
        fflush(stderr);
        exit(1);
    }
    free(got);
}

void t_check_errmsg(const char *file, int line, const mpx_client *c, const char *text,
                    bool exact)
{
    const char *msg = mpx_client_errmsg(c);
    if (msg == NULL)
        t_fail(file, line, "mpx_client_errmsg is NULL, expected \"%s\"", text);
    if (exact ? strcmp(msg, text) != 0 : strstr(msg, text) == NULL)
        t_fail(file, line, "error message: got \"%s\", expected %s\"%s\"", msg,
               exact ? "" : "it to contain ", text);
}

mpx_value t_val(const char *literal)
{
    mpx_value v;
    char err[200] = "";
    if (mpx_value_parse(literal, &v, err, sizeof err) != MPX_OK)
        t_fail(__FILE__, __LINE__, "cannot parse test literal %s: %s", literal, err);
    return v;
}

mpx_value t_str(const char *s)
{
    mpx_value v;
    if (mpx_value_str(&v, s) != MPX_OK)
        t_fail(__FILE__, __LINE__, "mpx_value_str(\"%s\") failed", s);
    return v;
}

void t_free_all(mpx_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mpx_value_free(&v[i]);
}

/* ---- processes ------------------------------------------------------------------------ */

int t_wait_pid(pid_t pid, int timeout_ms)
{
    int64_t deadline = t_now_ms() + timeout_ms;
    int status, delay = 1;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (t_now_ms() >= deadline) {
            fprintf(stderr, "harness: pid %d still running after %d ms: killing it\n",
                    (int)pid, timeout_ms);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return -1;
        }
        sleep_ms(delay);
        if (delay < 20)
            delay *= 2;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    fprintf(stderr, "harness: pid %d killed by signal %d\n", (int)pid,
            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

int t_fork_workers(int n, t_worker_fn fn, void *arg, int timeout_ms)
{
    pid_t pids[256];
    int failed = 0;
    if (n > 256)
        t_fail(__FILE__, __LINE__, "at most 256 workers");
    fflush(NULL);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            failed += n - i;
            n = i;
            break;
        }
        if (pids[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            fn(i, arg);
            fflush(NULL);
            exit(0);
        }
    }
    int64_t deadline = t_now_ms() + timeout_ms;
    for (int i = 0; i < n; i++) {
        int64_t left = deadline - t_now_ms();
        int st = t_wait_pid(pids[i], left > 0 ? (int)left : 0);
        if (st != 0) {
            fprintf(stderr, "harness: worker %d (pid %d) failed: status %d\n", i,
                    (int)pids[i], st);
            failed++;
        }
    }
    return failed;
}

/* ---- test cases ------------------------------------------------------------------------ */

void t_run_case(const char *name, t_case_fn fn, void *arg, int timeout_ms)
{
    if (owner_pid == 0)
        owner_pid = getpid();
    fflush(NULL);
    int64_t start = t_now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        cases_failed++;
        return;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fn(arg);
        fflush(NULL);
        exit(0);
    }
    int st = t_wait_pid(pid, timeout_ms);
    if (st == 0) {
        cases_passed++;
        printf("ok   %s (%lld ms)\n", name, (long long)(t_now_ms() - start));
    } else {
        cases_failed++;
        printf("FAIL %s (%s)\n", name, st < 0 ? "crashed or timed out" : "a check failed");
    }
    fflush(stdout);
}

int t_finish(void)
{
    printf("%d passed, %d failed\n", cases_passed, cases_failed);
    fflush(stdout);
    return cases_failed == 0 && cases_passed > 0 ? 0 : 1;
}

int t_finish_with_manager(t_manager *m)
{
    bool alive = t_manager_alive(m);
    if (!alive)
        printf("FAIL the manager died during the run\n");
    int st = t_manager_stop(m);
    if (st != 0)
        printf("FAIL mpx-manager exit status %d after SIGTERM (expected 0)\n", st);
    int rc = t_finish();
    return rc != 0 || st != 0 || !alive ? 1 : 0;
}

/* ---- the manager ----------------------------------------------------------------------- */

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void cleanup_at_exit(void)
{
    if (getpid() != owner_pid)
        return;
    for (int i = 0; i < MAX_MANAGERS; i++) {
        if (started[i].pid > 0) {
            kill(started[i].pid, SIGTERM);
            t_wait_pid(started[i].pid, 5000);
            started[i].pid = 0;
        }
        if (started[i].dir[0] != '\0') {
            remove_dir(started[i].dir);
            started[i].dir[0] = '\0';
        }
    }
}

static void record_started(pid_t pid, const char *dir)
{
    static bool registered;
    if (!registered) {
        atexit(cleanup_at_exit);
        registered = true;
    }
    for (int i = 0; i < MAX_MANAGERS; i++)
        if (started[i].pid == 0 && started[i].dir[0] == '\0') {
            started[i].pid = pid;
            snprintf(started[i].dir, sizeof started[i].dir, "%s", dir);
            return;
        }
    t_fail(__FILE__, __LINE__, "more than %d managers at once", MAX_MANAGERS);
}

static void forget_started(pid_t pid)
{
    for (int i = 0; i < MAX_MANAGERS; i++)
        if (started[i].pid == pid) {
            started[i].pid = 0;
            started[i].dir[0] = '\0';
        }
}

void t_manager_dump_log(const t_manager *m)
{
    FILE *f = fopen(m->logfile, "r");
    if (f == NULL)
        return;
    char line[1024];
    fprintf(stderr, "---- mpx-manager log (%s) ----\n", m->logfile);
    while (fgets(line, sizeof line, f) != NULL)
        fputs(line, stderr);
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

static void write_key_file(t_manager *m)
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        t_fail(__FILE__, __LINE__, "getrandom: %s", strerror(errno));
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(m->key + 2 * i, 3, "%02x", raw[i]);
    m->keylen = 2 * sizeof raw;
    snprintf(m->keyfile, sizeof m->keyfile, "%s/authkey", m->dir);
    int fd = open(m->keyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        t_fail(__FILE__, __LINE__, "%s: %s", m->keyfile, strerror(errno));
    if (write(fd, m->key, m->keylen) != (ssize_t)m->keylen)
        t_fail(__FILE__, __LINE__, "writing %s: %s", m->keyfile, strerror(errno));
    fchmod(fd, 0600);
    close(fd);
}

/* Reads the ready-fd announcement: addresses one per line, then an empty line. */
static bool read_ready(t_manager *m, int fd, int timeout_ms)
{
    char buf[T_MAX_LISTEN * T_ADDR_MAX + 16];
    size_t len = 0;
    int64_t deadline = t_now_ms() + timeout_ms;
    for (;;) {
        buf[len] = '\0';
        if (strstr(buf, "\n\n") != NULL || (len == 1 && buf[0] == '\n'))
            break;
        int64_t left = deadline - t_now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        if (len + 1 >= sizeof buf)
            return false;
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false; /* closed before the blank line: it did not come up */
        len += (size_t)n;
    }
    m->naddresses = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (m->naddresses == T_MAX_LISTEN)
            break;
        snprintf(m->addresses[m->naddresses++], T_ADDR_MAX, "%s", line);
    }
    if (m->naddresses == 0)
        return false;
    snprintf(m->address, sizeof m->address, "%s", m->addresses[0]);
    return true;
}

void t_manager_start(t_manager *m, const char *const *listen, const char *const *extra)
{
    static const char *const default_listen[] = {"tcp", NULL};
    const char *bin = getenv("MPX_MANAGER_BIN");
    if (bin == NULL || bin[0] == '\0') {
        fprintf(stderr, "harness: set MPX_MANAGER_BIN to the mpx-manager binary\n");
        exit(1);
    }
    if (owner_pid == 0)
        owner_pid = getpid();
    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "/tmp/mpx-it-XXXXXX");
    if (mkdtemp(m->dir) == NULL)
        t_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
    snprintf(m->logfile, sizeof m->logfile, "%s/manager.log", m->dir);
    write_key_file(m);

    if (listen == NULL)
        listen = default_listen;
    char listen_addr[T_MAX_LISTEN][T_ADDR_MAX];
    const char *argv[64];
    int argc = 0, nl = 0;
    argv[argc++] = bin;
    for (; listen[nl] != NULL && nl < T_MAX_LISTEN; nl++) {
        if (strcmp(listen[nl], "unix") == 0)
            snprintf(listen_addr[nl], T_ADDR_MAX, "unix://%s/m%d.sock", m->dir, nl);
        else if (strcmp(listen[nl], "tcp") == 0)
            snprintf(listen_addr[nl], T_ADDR_MAX, "tcp://127.0.0.1:0");
        else
            snprintf(listen_addr[nl], T_ADDR_MAX, "%s", listen[nl]);
        argv[argc++] = "--listen";
        argv[argc++] = listen_addr[nl];
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        t_fail(__FILE__, __LINE__, "pipe2: %s", strerror(errno));
    char fdtext[16];
    snprintf(fdtext, sizeof fdtext, "%d", pfd[1]);
    argv[argc++] = "--authkey-file";
    argv[argc++] = m->keyfile;
    argv[argc++] = "--auth-timeout-ms";
    argv[argc++] = "500";
    argv[argc++] = "--log-level";
    argv[argc++] = "debug";
    argv[argc++] = "--ready-fd";
    argv[argc++] = fdtext;
    for (int i = 0; extra != NULL && extra[i] != NULL && argc < 62; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        t_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int log = open(m->logfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
            if (log > 2)
                close(log);
        }
        fcntl(pfd[1], F_SETFD, 0); /* the ready fd survives exec */
        unsetenv("MPX_AUTHKEY");
        execv(bin, (char *const *)argv);
        fprintf(stderr, "harness: exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    m->pid = pid;
    record_started(pid, m->dir);
    bool ready = read_ready(m, pfd[0], 10000);
    close(pfd[0]);
    if (!ready) {
        fprintf(stderr, "harness: mpx-manager did not announce its addresses\n");
        t_manager_dump_log(m);
        exit(1);
    }
}

bool t_manager_alive(const t_manager *m)
{
    if (m->pid <= 0)
        return false;
    int status;
    pid_t r = waitpid(m->pid, &status, WNOHANG);
    return r == 0;
}

int t_manager_stop(t_manager *m)
{
    if (m->pid <= 0)
        return -1;
    int st;
    if (kill(m->pid, SIGTERM) != 0) {
        st = -1; /* already gone (reaped elsewhere) */
    } else {
        st = t_wait_pid(m->pid, 10000);
    }
    if (st != 0) {
        fprintf(stderr, "harness: mpx-manager exited with status %d\n", st);
        t_manager_dump_log(m);
    } else if (getenv("MPX_TEST_VERBOSE") != NULL) {
        t_manager_dump_log(m);
    }
    forget_started(m->pid);
    m->pid = 0;
    remove_dir(m->dir);
    return st;
}

void t_manager_kill(t_manager *m)
{
    if (m->pid <= 0)
        return;
    kill(m->pid, SIGKILL);
    t_wait_pid(m->pid, 10000);
    forget_started(m->pid);
    m->pid = 0;
    remove_dir(m->dir);
}

mpx_client *t_connect(const t_manager *m, const char *addr)
{
    return t_connect_timeout(m, addr, 10000);
}

mpx_client *t_connect_timeout(const t_manager *m, const char *addr, int64_t call_timeout_ms)
{
    mpx_client_opts opts;
    mpx_client_opts_init(&opts);
    opts.connect_timeout_ms = 5000;
    opts.call_timeout_ms = call_timeout_ms;
    mpx_client *c = NULL;
    int rc = mpx_client_connect(addr != NULL ? addr : m->address, m->key, m->keylen, &opts,
                                &c);
    if (rc != MPX_OK)
        t_fail(__FILE__, __LINE__, "connect %s: %s %s: %s", addr != NULL ? addr : m->address,
               mpx_err_name(rc), mpx_strerror(rc), c != NULL ? mpx_client_errmsg(c) : "");
    return c;
}

void t_wait_parked(mpx_client *c, int64_t n, int timeout_ms)
{
    int64_t deadline = t_now_ms() + timeout_ms, parked = -1;
    while (t_now_ms() < deadline) {
        mpx_value v;
        int rc = mpx_client_call(c, 0, "parked", NULL, 0, -1, &v);
        if (rc != MPX_OK)
            t_fail(__FILE__, __LINE__, "parked(): %s: %s", mpx_err_name(rc),
                   mpx_client_errmsg(c));
        parked = mpx_value_get_int(&v);
        if (parked == n)
            return;
        usleep(2000);
    }
    t_fail(__FILE__, __LINE__, "waited %d ms for %lld parked calls; %lld are", timeout_ms,
           (long long)n, (long long)parked);
}
