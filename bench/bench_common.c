/* bench_common.c - see bench_common.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "mpx/authkey.h"
#include "mpx/error.h"

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_die(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, strerror(errno));
    exit(1);
}

void bench_manager_start(bench_manager *m, const char *bin, int max_connections)
{
    bench_manager_start_with(m, bin, max_connections, NULL);
}

void bench_manager_start_with(bench_manager *m, const char *bin, int max_connections,
                              const char *const *extra)
{
    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "/tmp/mpx-bench-XXXXXX");
    if (mkdtemp(m->dir) == NULL)
        bench_die("mkdtemp");
    snprintf(m->keyfile, sizeof m->keyfile, "%s/key", m->dir);
    char err[256];
    if (mpx_authkey_generate(m->keyfile, &m->key, &m->keylen, err, sizeof err) != MPX_OK) {
        fprintf(stderr, "%s: %s\n", program_invocation_short_name, err);
        exit(1);
    }
    int p[2];
    if (pipe(p) != 0)
        bench_die("pipe");
    m->pid = fork();
    if (m->pid < 0)
        bench_die("fork");
    if (m->pid == 0) {
        close(p[0]);
        char fd[16], conns[16];
        snprintf(fd, sizeof fd, "%d", p[1]);
        snprintf(conns, sizeof conns, "%d", max_connections > 0 ? max_connections : 1024);
        const char *argv[64] = {bin, "--listen", "tcp://127.0.0.1:0", "--authkey-file",
                                m->keyfile, "--log-level", "warn", "--max-connections", conns,
                                "--ready-fd", fd};
        int argc = 11;
        for (int i = 0; extra != NULL && extra[i] != NULL && argc < 63; i++)
            argv[argc++] = extra[i];
        argv[argc] = NULL;
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    if (f == NULL || fgets(m->address, (int)sizeof m->address, f) == NULL)
        bench_die("the manager did not start");
    m->address[strcspn(m->address, "\n")] = '\0';
    fclose(f);
}

void bench_manager_stop(bench_manager *m)
{
    kill(m->pid, SIGTERM); /* the manager this program started */
    waitpid(m->pid, NULL, 0);
    unlink(m->keyfile);
    rmdir(m->dir);
    free(m->key);
    m->key = NULL;
}
