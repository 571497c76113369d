/* mpx/process.h - a child process running a C function, as Python's multiprocessing.Process
 * with the fork start method.
 *
 * mpx_process_create records the function, its argument and the options; start forks, and
 * the child runs fn(arg) and exits with its return value (the low 8 bits, as exit()); a
 * child that calls exit(n) itself exits with n, and one killed by a signal has the exit
 * code -signal, as Python's Process.exitcode. The child gets copies of the parent's
 * memory, so arg may point to anything set up before start; send results back through a
 * pipe (mpx_pipe), a manager or the exit code. stdout and stderr are flushed before the
 * fork, as Python does, so buffered output is not written twice.
 *
 * Only processes this API started are ever waited for, each by its own pid (never
 * waitpid(-1)), and only until it has been reaped: a pid is never signalled after, so a
 * recycled pid cannot be hit. A program that reaps children itself (waitpid(-1), SIGCHLD
 * set to SIG_IGN) takes their exit status away: such a process counts as ended, its
 * exit code is 255 and join says MPX_EIO.
 *
 * Daemons: as Python's atexit handler does, when the program ends normally (exit(), or
 * return from main) every daemonic child it started that is still running gets SIGTERM;
 * those still running 2 s later get SIGKILL, and all are reaped before the exit goes on.
 * (Python then waits as long as it takes; a C program should not hang in exit.) A
 * non-daemonic child is left running at exit, where Python would join it: join it first.
 * _exit(), exec or a crash skip this, as they skip Python's. A daemonic process may not
 * start children of its own (MPX_EINVAL), as in Python.
 *
 * A handle is used by one thread at a time, and only the process that started it may
 * join, signal or query it; the process-wide table of started children behind the exit
 * handler is locked and fork-safe.
 */
#ifndef MPX_PROCESS_H
#define MPX_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "mpx/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_process mpx_process;

/* What the child runs; its return value is the child's exit code. */
typedef int (*mpx_process_fn)(void *arg);

typedef struct mpx_process_opts {
    const char *name; /* copied; NULL: "Process-N", numbered as Python does ("Process-2:1"
                         is the first child of Process-2) */
    bool daemon;      /* terminated at the parent's normal exit; default false */
} mpx_process_opts;

void mpx_process_opts_init(mpx_process_opts *opts);

/* A process to run fn(arg), not yet started. opts may be NULL for the defaults. MPX_OK;
 * MPX_EINVAL without fn; MPX_ENOMEM. *out (NULL on error) is freed by mpx_process_close. */
int mpx_process_create(mpx_process_fn fn, void *arg, const mpx_process_opts *opts,
                       mpx_process **out);
/* Forks the child. MPX_OK; MPX_EINVAL when already started, created in another process,
 * or called in a daemonic child; MPX_ELIMIT or MPX_ENOMEM when fork fails. */
int mpx_process_start(mpx_process *p);

/* Waits at most timeout seconds (negative: as long as it takes) for the child to end,
 * and reaps it. MPX_OK once it has ended (mpx_process_exitcode then says how), also when
 * it had already; MPX_ETIMEOUT while it still runs; MPX_EINVAL when not started (or not
 * this process's child); MPX_EIO when its status was taken by another wait. */
int mpx_process_join(mpx_process *p, double timeout);
/* Whether it was started and has not ended yet (it reaps a child that has). */
bool mpx_process_is_alive(mpx_process *p);
/* Whether the child has ended, as Python's exitcode is not None: true with *code its exit
 * status (0..255) or -N when signal N killed it; false before start and while it runs. */
bool mpx_process_exitcode(mpx_process *p, int *code);

/* SIGTERM (terminate) or SIGKILL (kill) to the child, as Process.terminate / kill: a
 * child that has already ended is left alone (MPX_OK). Join it afterwards. MPX_EINVAL
 * when not started (or not this process's child), MPX_EIO when the signal failed. */
int mpx_process_terminate(mpx_process *p);
int mpx_process_kill(mpx_process *p);

pid_t mpx_process_pid(const mpx_process *p); /* 0 before start */
const char *mpx_process_name(const mpx_process *p);
bool mpx_process_daemon(const mpx_process *p);
/* The reason of the last failure. */
const char *mpx_process_errmsg(const mpx_process *p);

/* Frees the handle, as Process.close: MPX_EVALUE (Python's ValueError) while the child
 * still runs, and then the handle stays valid (join or terminate it first). MPX_OK for a
 * process not started or ended, and in a forked child for its copy of a parent's handle.
 * NULL is a no-op. */
int mpx_process_close(mpx_process *p);

#ifdef __cplusplus
}
#endif
#endif
