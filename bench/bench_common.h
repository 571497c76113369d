/* bench_common.h - what the benchmark programs share: a clock, dying with the reason,
 * and an mpx-manager of their own (fresh temp dir, 0600 key, loopback port) for a run. */
#ifndef MPX_BENCH_COMMON_H
#define MPX_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Seconds on the monotonic clock. */
double bench_now_s(void);
/* Prints "PROGRAM: what: strerror(errno)" and exits 1. */
void bench_die(const char *what) __attribute__((noreturn));

typedef struct bench_manager {
    pid_t pid;
    char dir[64];
    char keyfile[96];
    char address[256];
    uint8_t *key;
    size_t keylen;
} bench_manager;

/* Starts bin on tcp://127.0.0.1:0 (max_connections 0: its default) and waits until it
 * listens; dies on failure. */
void bench_manager_start(bench_manager *m, const char *bin, int max_connections);
/* The same with more options for the manager (extra: NULL-terminated, may be NULL). */
void bench_manager_start_with(bench_manager *m, const char *bin, int max_connections,
                              const char *const *extra);
/* SIGTERM, wait, remove the key and the dir. */
void bench_manager_stop(bench_manager *m);

#endif
