/* barrier_phases.c - workers on several hosts running phases in step, a Barrier between
 * each phase and the next.
 *
 *   host-a$ mpx-manager --listen tcp://0.0.0.0:50000 --authkey-file key
 *   host-b$ barrier_phases --connect tcp://host-a:50000 --authkey-file key \
 *               --parties 3 --phases 5 --worker b
 *   host-c$ barrier_phases ... --parties 3 --phases 5 --worker c     (and a third one)
 * In each phase k a worker appends "ID:k" to the shared list NAME.log, then waits on the
 * Barrier NAME (N parties). No worker starts phase k+1 before all N have ended phase k, so
 * after the last phase every worker checks that the log holds, phase after phase, exactly
 * N entries of each phase and one of its own, none of phase k after one of phase k+1.
 * A worker that dies or times out at the barrier breaks it: the others then stop, and say so.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpx.h"

#define NAME_LEN 200

typedef struct options {
    const char *address;
    const char *authkey_file; /* NULL: $MPX_AUTHKEY */
    const char *name;
    char worker[NAME_LEN]; /* default: HOSTNAME-PID */
    int64_t parties;
    int64_t phases;
    double timeout; /* a barrier wait; < 0: as long as it takes */
    bool bad_timeout;
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: barrier_phases --connect ADDR [--authkey-file PATH] --parties N\n"
            "                      --phases P [--name NAME] [--worker ID] [--timeout S]\n"
            "\n"
            "Runs P phases in step with the other N-1 workers: in each phase k, appends\n"
            "\"ID:k\" to the shared list NAME.log and waits on the shared Barrier NAME\n"
            "(default NAME: phases) on the mpx-manager at ADDR; then checks that the log\n"
            "has every entry of a phase before any entry of the next. A wait longer than S\n"
            "seconds (default: no limit) breaks the barrier for everyone. ID defaults to\n"
            "HOSTNAME-PID. The key comes from --authkey-file, or else from $%s.\n",
            MPX_AUTHKEY_ENV);
}

/* A whole decimal number >= 1, or -1. */
static int64_t parse_positive(const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno != 0 || end == text || *end != '\0' || v < 1 ? -1 : (int64_t)v;
}

/* Seconds >= 0 (a finite decimal), or -1. */
static double parse_seconds(const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    return errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < 0 ? -1 : v;
}

/* What is wrong with the parsed arguments, or NULL. extra: arguments left over. */
static const char *check_args(const options *o, int extra)
{
    if (extra > 0)
        return "unexpected argument";
    if (o->address == NULL)
        return "--connect is required";
    if (o->parties == 0 || o->phases == 0)
        return "--parties and --phases are required";
    if (o->parties < 0 || o->phases < 0)
        return "--parties and --phases need a number >= 1";
    if (o->bad_timeout)
        return "--timeout needs a number of seconds >= 0";
    if (strlen(o->name) + strlen(".log") >= NAME_LEN)
        return "--name is too long";
    return NULL;
}

/* Fills o from argv: 0 to go on, 1 after --help, 2 on bad arguments (usage printed). */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"authkey-file", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {"worker", required_argument, NULL, 'w'},
        {"parties", required_argument, NULL, 'N'},
        {"phases", required_argument, NULL, 'P'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->name = "phases";
    o->timeout = -1;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': o->address = optarg; break;
        case 'k': o->authkey_file = optarg; break;
        case 'n': o->name = optarg; break;
        case 'w': snprintf(o->worker, sizeof o->worker, "%s", optarg); break;
        case 'N': o->parties = parse_positive(optarg); break;
        case 'P': o->phases = parse_positive(optarg); break;
        case 't':
            o->timeout = parse_seconds(optarg);
            o->bad_timeout = o->timeout < 0;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    const char *problem = check_args(o, argc - optind);
    if (problem != NULL) {
        fprintf(stderr, "barrier_phases: %s\n", problem);
        usage(stderr);
        return 2;
    }
    if (o->worker[0] == '\0') {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(o->worker, sizeof o->worker, "%s-%ld", host, (long)getpid());
    }
    return 0;
}

/* Prints which step failed and why (the manager's message when there is one). */
static int fail(const mpx_client *c, int rc, const char *what)
{
    const char *msg = c != NULL ? mpx_client_errmsg(c) : "";
    fprintf(stderr, "barrier_phases: %s: %s: %s\n", what, mpx_err_name(rc),
            msg[0] != '\0' ? msg : mpx_strerror(rc));
    return rc;
}

/* One phase: log.append("ID:k"), then barrier.wait(). */
static int run_phase(mpx_client *c, mpx_list *log, mpx_barrier *b, const options *o,
                     int64_t k)
{
    char text[NAME_LEN + 32];
    snprintf(text, sizeof text, "%s:%" PRId64, o->worker, k);
    mpx_value entry;
    int rc = mpx_value_str(&entry, text);
    if (rc != MPX_OK)
        return fail(c, rc, "--worker must be UTF-8");
    rc = mpx_list_append(log, &entry);
    mpx_value_free(&entry);
    if (rc != MPX_OK)
        return fail(c, rc, "log.append(entry)");
    rc = mpx_barrier_wait(b, o->timeout, NULL);
    if (rc == MPX_EBROKEN)
        fprintf(stderr,
                "barrier_phases: worker %s: the barrier %s broke in phase %" PRId64
                " (BrokenBarrierError: %s): a worker left, timed out or aborted it\n",
                o->worker, o->name, k, mpx_client_errmsg(c));
    else if (rc != MPX_OK)
        fail(c, rc, "barrier.wait()");
    return rc;
}

/* The phase of an entry "ID:k" (k < phases), -1 when it has no such shape. *own is set
 * when ID is this worker's. */
static int64_t entry_phase(const mpx_value *entry, const options *o, bool *own)
{
    if (mpx_value_kind(entry) != MPX_STR)
        return -1;
    const char *text = mpx_value_str_data(entry), *colon = strrchr(text, ':');
    if (colon == NULL)
        return -1;
    *own = (size_t)(colon - text) == strlen(o->worker) &&
           strncmp(text, o->worker, (size_t)(colon - text)) == 0;
    char *end;
    errno = 0;
    long long k = strtoll(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || k < 0 || k >= o->phases)
        return -1;
    return (int64_t)k;
}

/* Checks a log copy: phases never go back, each has parties entries, one of them ours.
 * Writes what is wrong to why. */
static bool log_consistent(const mpx_value *log, const options *o, char *why, size_t size)
{
    int64_t phase = 0, in_phase = 0, own = 0;
    for (size_t i = 0; i < mpx_value_len(log); i++) {
        const mpx_value *entry = mpx_value_at(log, i);
        bool mine = false;
        int64_t k = entry_phase(entry, o, &mine);
        bool next = k == phase + 1 && in_phase == o->parties && own == 1;
        if (k < 0 || k < phase || (k > phase && !next)) {
            char *text = mpx_value_repr(entry);
            const char *shown = text != NULL ? text : "?";
            if (k < 0)
                snprintf(why, size, "entry %zu, %s, is not ID:PHASE", i, shown);
            else
                snprintf(why, size,
                         "entry %zu, %s, comes after %" PRId64 " entries of phase %" PRId64
                         " (%" PRId64 " of mine)",
                         i, shown, in_phase, phase, own);
            free(text);
            return false;
        }
        if (next)
            phase = k, in_phase = 0, own = 0;
        in_phase++;
        own += mine;
    }
    if (phase == o->phases - 1 && in_phase == o->parties && own == 1)
        return true;
    snprintf(why, size,
             "it ends with %" PRId64 " entries of phase %" PRId64 " (%" PRId64
             " of mine), not %" PRId64 " of phase %" PRId64 " (1 of mine)",
             in_phase, phase, own, o->parties, o->phases - 1);
    return false;
}

static int run(mpx_client *c, mpx_list *log, mpx_barrier *b, const options *o)
{
    for (int64_t k = 0; k < o->phases; k++) {
        int rc = run_phase(c, log, b, o, k);
        if (rc != MPX_OK)
            return rc;
    }
    /* Everyone has passed the last wait, so every entry is in: check a copy. */
    mpx_value copy;
    int rc = mpx_list_copy(log, &copy);
    if (rc != MPX_OK)
        return fail(c, rc, "log.copy()");
    char why[NAME_LEN + 256];
    bool ok = log_consistent(&copy, o, why, sizeof why);
    size_t n = mpx_value_len(&copy);
    mpx_value_free(&copy);
    if (!ok) {
        fprintf(stderr,
                "barrier_phases: worker %s: %s.log is INCONSISTENT (%zu entries): %s "
                "(a log left by an earlier run? use another --name)\n",
                o->worker, o->name, n, why);
        return MPX_EVALUE;
    }
    printf("worker %s: %" PRId64 " phases, log consistent (%zu entries)\n", o->worker,
           o->phases, n);
    return MPX_OK;
}

/* Connects with the key from --authkey-file or $MPX_AUTHKEY. */
static int connect_client(const options *o, mpx_client **out)
{
    int rc = mpx_client_connect_keyfile(o->address, o->authkey_file, NULL, out);
    if (rc != MPX_OK)
        fail(*out, rc, o->address);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    char logname[NAME_LEN];
    snprintf(logname, sizeof logname, "%s.log", o.name);
    mpx_client *c;
    mpx_list *log = NULL;
    mpx_barrier *b = NULL;
    rc = connect_client(&o, &c);
    if (rc == MPX_OK && (rc = mpx_list_open(c, logname, &log)) != MPX_OK)
        fail(c, rc, logname);
    if (rc == MPX_OK && (rc = mpx_barrier_open(c, o.name, o.parties, -1, &b)) != MPX_OK)
        fail(c, rc, o.name);
    if (rc == MPX_OK)
        rc = run(c, log, b, &o);
    mpx_barrier_close(b);
    mpx_list_close(log);
    mpx_client_close(c);
    return rc == MPX_OK ? 0 : 1;
}
