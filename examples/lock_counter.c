/* lock_counter.c - N worker processes add to one shared counter under a shared Lock.
 *
 *   lock_counter [--workers N] [--increments M]
 * starts a private manager and forks N workers; each does M read-add-write updates of a
 * counter in a shared dict, holding the Lock for each. The final count is exactly N*M,
 * and every grant's fencing token is larger than the one before it. With
 *   lock_counter --connect ADDR --authkey-file PATH ...
 * the workers use a running mpx-manager instead (run one such command per host to spread
 * the workers over machines; each run adds its own N*M and checks its own tokens).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpx.h"

typedef struct options {
    long workers;
    long increments;
    const char *address;      /* NULL: a private manager */
    const char *authkey_file; /* NULL: $MPX_AUTHKEY */
} options;

static void usage(FILE *to)
{
    fprintf(to, "usage: lock_counter [--workers N] [--increments M]\n"
                "                    [--connect ADDR [--authkey-file PATH]]\n"
                "Adds N*M to a shared counter from N processes under a shared Lock.\n");
}

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"workers", required_argument, NULL, 'w'},
        {"increments", required_argument, NULL, 'm'},
        {"connect", required_argument, NULL, 'c'},
        {"authkey-file", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.workers = 8, .increments = 1250};
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'w':
            o->workers = strtol(optarg, &end, 10);
            if (*end != '\0' || o->workers < 1 || o->workers > 256)
                return -1;
            break;
        case 'm':
            o->increments = strtol(optarg, &end, 10);
            if (*end != '\0' || o->increments < 1 || o->increments > 10000000)
                return -1;
            break;
        case 'c':
            o->address = optarg;
            break;
        case 'k':
            o->authkey_file = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

static int fail(const mpx_client *c, int rc, const char *what)
{
    fprintf(stderr, "lock_counter: %s: %s: %s\n", what, mpx_err_name(rc),
            c != NULL ? mpx_client_errmsg(c) : mpx_strerror(rc));
    return rc;
}

/* One worker: M increments, each under the lock; checks its tokens grow. */
static int work(mpx_client *c, long increments)
{
    mpx_lock *lock;
    mpx_dict *d;
    int rc = mpx_lock_open(c, "lock_counter.lock", &lock);
    if (rc != MPX_OK)
        return fail(c, rc, "opening the lock");
    if ((rc = mpx_dict_open(c, "lock_counter", &d)) != MPX_OK) {
        mpx_lock_close(lock);
        return fail(c, rc, "opening the dict");
    }
    mpx_value key, zero = mpx_value_int(0), n;
    mpx_value_str(&key, "count");
    uint64_t last = 0;
    for (long i = 0; i < increments && rc == MPX_OK; i++) {
        uint64_t fence;
        if ((rc = mpx_lock_acquire(lock, -1, &fence)) != MPX_OK)
            break;
        if (fence <= last) {
            fprintf(stderr, "lock_counter: token %" PRIu64 " after %" PRIu64 "\n", fence, last);
            rc = MPX_ERUNTIME;
        }
        last = fence;
        if (rc == MPX_OK && (rc = mpx_dict_get(d, &key, &zero, &n)) == MPX_OK) {
            mpx_value next = mpx_value_int(mpx_value_get_int(&n) + 1);
            rc = mpx_dict_setitem(d, &key, &next);
        }
        int rrc = mpx_lock_release(lock);
        rc = rc != MPX_OK ? rc : rrc;
    }
    if (rc != MPX_OK)
        fail(c, rc, "incrementing");
    mpx_value_free(&key);
    mpx_dict_close(d);
    mpx_lock_close(lock);
    return rc;
}

static int connect_to(const options *o, mpx_manager *m, mpx_client **c)
{
    if (m != NULL)
        return mpx_manager_connect(m, c);
    return mpx_client_connect_keyfile(o->address, o->authkey_file, NULL, c);
}

static int64_t read_count(mpx_client *c)
{
    mpx_dict *d;
    mpx_value key, zero = mpx_value_int(0), n = mpx_value_int(-1);
    mpx_value_str(&key, "count");
    if (mpx_dict_open(c, "lock_counter", &d) == MPX_OK) {
        mpx_dict_get(d, &key, &zero, &n);
        mpx_dict_close(d);
    }
    mpx_value_free(&key);
    return mpx_value_get_int(&n);
}

int main(int argc, char **argv)
{
    options o;
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    mpx_manager *m = NULL;
    if (o.address == NULL && mpx_manager_start(&m) != MPX_OK) {
        fprintf(stderr, "lock_counter: starting the manager: %s\n",
                m != NULL ? mpx_manager_errmsg(m) : "out of memory");
        mpx_manager_shutdown(m);
        return 1;
    }
    mpx_client *c;
    int rc = connect_to(&o, m, &c);
    if (rc != MPX_OK) {
        fail(c, rc, "connecting");
        mpx_client_close(c);
        mpx_manager_shutdown(m);
        return 1;
    }
    int64_t before = read_count(c);
    int failed = 0;
    pid_t pids[256];
    for (long w = 0; w < o.workers; w++) {
        pids[w] = fork();
        if (pids[w] == 0) /* the client reconnects by itself in the child */
            _exit(work(c, o.increments) == MPX_OK ? 0 : 1);
        failed += pids[w] < 0;
    }
    for (long w = 0; w < o.workers; w++) { /* the workers only: not the private manager */
        int status;
        if (pids[w] > 0 && waitpid(pids[w], &status, 0) == pids[w])
            failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    int64_t added = read_count(c) - before, expected = o.workers * o.increments;
    printf("counter = %" PRId64 " (expected %" PRId64 ")%s\n", added, expected,
           failed ? ", some workers failed" : "");
    mpx_client_close(c);
    mpx_manager_shutdown(m);
    return added == expected && !failed ? 0 : 1;
}
