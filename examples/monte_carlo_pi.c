/* monte_carlo_pi.c - estimating pi with a process pool, on one host or many.
 *
 *   monte_carlo_pi [--processes N] [--tasks T] [--samples S]        a local pool
 *   monte_carlo_pi --single [--tasks T] [--samples S]               one process, no pool
 *   mpx-manager --listen tcp://0.0.0.0:5000 --authkey-file key      on one host, then
 *   monte_carlo_pi worker --connect tcp://HOST:5000 --authkey-file key --pool pi
 *                                                                   on every worker host
 *   monte_carlo_pi --connect tcp://HOST:5000 --authkey-file key --pool pi [--close]
 *                                                                   submits from anywhere
 * Task k draws S points with its own seed k, so every run, on any number of hosts,
 * gives the same estimate as --single. Each task also adds its hits into the shared
 * Value pi.hits and, under the Lock pi.lock, its samples into the shared dict pi.hosts
 * under its host's name: the per-host line shows who did the work. A task re-run after
 * its worker died adds to those twice (at-least-once); the map's own results, from which
 * the estimate is made, count each task once.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpx.h"

typedef struct options {
    const char *address;
    const char *keyfile;
    const char *pool;
    int processes;
    int64_t tasks;
    int64_t samples;
    bool single;
    bool close;
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: monte_carlo_pi [--processes N] [--tasks T] [--samples S]\n"
            "       monte_carlo_pi --single [--tasks T] [--samples S]\n"
            "       monte_carlo_pi --connect ADDR [--authkey-file PATH] [--pool NAME]\n"
            "                      [--tasks T] [--samples S] [--close]\n"
            "       monte_carlo_pi worker --connect ADDR [--authkey-file PATH] --pool NAME\n"
            "                      [--processes N]\n"
            "Estimates pi from T tasks (default 64) of S random points each (default\n"
            "200000): in a local pool of N processes (default: the cores), in one process\n"
            "(--single), or through the pool NAME (default pi) of the mpx-manager at ADDR,\n"
            "whose workers are started with `worker` on any host; --close then closes that\n"
            "pool, and its workers leave. The key comes from --authkey-file, or else from\n"
            "$%s.\n",
            MPX_AUTHKEY_ENV);
}

/* ---- the work ----------------------------------------------------------------------------- */

/* Points of task `seed` that fall inside the quarter circle (xorshift64*, seeded). */
static int64_t count_hits(int64_t seed, int64_t samples)
{
    uint64_t s = (uint64_t)seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
    int64_t hits = 0;
    for (int64_t i = 0; i < samples; i++) {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        double x = (double)((s * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        double y = (double)((s * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
        hits += x * x + y * y <= 1.0;
    }
    return hits;
}

/* pi.hosts[host] += samples, under pi.lock. */
static int report_host(mpx_client *c, int64_t samples)
{
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    mpx_lock *lock = NULL;
    mpx_dict *hosts = NULL;
    mpx_value key, zero = mpx_value_int(0), had = mpx_value_none();
    int rc = mpx_value_str(&key, host);
    if (rc == MPX_OK)
        rc = mpx_lock_open(c, "pi.lock", &lock);
    if (rc == MPX_OK)
        rc = mpx_dict_open(c, "pi.hosts", &hosts);
    if (rc == MPX_OK && (rc = mpx_lock_acquire(lock, -1, NULL)) == MPX_OK) {
        rc = mpx_dict_get(hosts, &key, &zero, &had);
        if (rc == MPX_OK) {
            mpx_value now = mpx_value_int(mpx_value_get_int(&had) + samples);
            rc = mpx_dict_setitem(hosts, &key, &now);
        }
        mpx_lock_release(lock);
    }
    mpx_value_free(&had);
    mpx_value_free(&key);
    mpx_dict_close(hosts);
    mpx_lock_close(lock);
    return rc;
}

/* The task: sample((seed, samples)) -> hits; adds them to the shared tallies. */
static int sample(mpx_client *c, const mpx_value *args, mpx_value *result, char *err,
                  size_t errlen)
{
    const mpx_value *seed = mpx_value_at(args, 0), *samples = mpx_value_at(args, 1);
    if (seed == NULL || samples == NULL || mpx_value_kind(seed) != MPX_INT ||
        mpx_value_kind(samples) != MPX_INT) {
        snprintf(err, errlen, "sample needs (seed, samples)");
        return MPX_ETYPE;
    }
    int64_t hits = count_hits(mpx_value_get_int(seed), mpx_value_get_int(samples));
    mpx_value_obj *total;
    int rc = mpx_value_obj_open(c, "pi.hits", 'q', NULL, &total);
    if (rc == MPX_OK)
        rc = mpx_value_obj_add_int(total, hits, NULL);
    mpx_value_obj_close(total);
    if (rc == MPX_OK)
        rc = report_host(c, mpx_value_get_int(samples));
    if (rc != MPX_OK) {
        snprintf(err, errlen, "shared tallies: %s", mpx_client_errmsg(c));
        return rc;
    }
    *result = mpx_value_int(hits);
    return MPX_OK;
}

static const mpx_pool_function FUNCTIONS[] = {{"sample", sample}};

/* ---- the submitting side ------------------------------------------------------------------ */

static int fail(const char *what, int rc, const char *msg)
{
    fprintf(stderr, "monte_carlo_pi: %s: %s: %s\n", what, mpx_err_name(rc),
            msg && msg[0] ? msg : mpx_strerror(rc));
    return rc;
}

static void print_estimate(const options *o, int64_t hits)
{
    printf("pi is about %.6f (%" PRId64 " tasks x %" PRId64 " samples, %" PRId64 " hits)\n",
           4.0 * (double)hits / (double)(o->tasks * o->samples), o->tasks, o->samples, hits);
}

/* Empties the shared tallies (a pool on a long-lived manager keeps them between runs). */
static int reset_tallies(mpx_client *c)
{
    mpx_value_obj *total;
    mpx_dict *hosts;
    mpx_value zero = mpx_value_int(0);
    int rc = mpx_value_obj_open(c, "pi.hits", 'q', NULL, &total);
    if (rc == MPX_OK) {
        rc = mpx_value_obj_set(total, &zero);
        mpx_value_obj_close(total);
    }
    if (rc == MPX_OK && (rc = mpx_dict_open(c, "pi.hosts", &hosts)) == MPX_OK) {
        rc = mpx_dict_clear(hosts);
        mpx_dict_close(hosts);
    }
    return rc;
}

/* The per-host samples and the shared Value, after the map. */
static int print_tallies(mpx_client *c, int64_t hits)
{
    mpx_value_obj *total;
    mpx_dict *hosts;
    mpx_value items;
    int64_t shared = 0;
    int rc = mpx_value_obj_open(c, "pi.hits", 'q', NULL, &total);
    if (rc == MPX_OK) {
        rc = mpx_value_obj_get_int(total, &shared);
        mpx_value_obj_close(total);
    }
    if (rc == MPX_OK && (rc = mpx_dict_open(c, "pi.hosts", &hosts)) == MPX_OK) {
        if ((rc = mpx_dict_items(hosts, &items)) == MPX_OK) {
            for (size_t i = 0; i < mpx_value_len(&items); i++) {
                const mpx_value *kv = mpx_value_at(&items, i);
                printf("  %s: %" PRId64 " samples\n", mpx_value_str_data(mpx_value_at(kv, 0)),
                       mpx_value_get_int(mpx_value_at(kv, 1)));
            }
            mpx_value_free(&items);
        }
        mpx_dict_close(hosts);
    }
    if (rc == MPX_OK)
        printf("shared Value pi.hits: %" PRId64 " (%s)\n", shared,
               shared == hits ? "equal to the map's sum"
                              : "more than the map's sum: tasks ran again after a worker died");
    return rc;
}

static int run_pool(mpx_pool *p, const options *o)
{
    mpx_client *c = mpx_pool_client(p);
    mpx_value items, out;
    int rc = reset_tallies(c);
    if (rc != MPX_OK)
        return fail("resetting the tallies", rc, mpx_client_errmsg(c));
    if ((rc = mpx_value_list(&items, (size_t)o->tasks)) != MPX_OK)
        return fail("tasks", rc, NULL);
    for (int64_t k = 0; k < o->tasks && rc == MPX_OK; k++) {
        mpx_value task, seed = mpx_value_int(k), n = mpx_value_int(o->samples);
        rc = mpx_value_tuple(&task, 2);
        if (rc == MPX_OK) {
            mpx_value_append(&task, &seed);
            mpx_value_append(&task, &n);
            rc = mpx_value_append(&items, &task);
        }
    }
    if (rc == MPX_OK && (rc = mpx_pool_starmap(p, "sample", &items, &out)) != MPX_OK)
        fail("map", rc, mpx_pool_errmsg(p));
    mpx_value_free(&items);
    if (rc != MPX_OK)
        return rc;
    int64_t hits = 0;
    for (size_t i = 0; i < mpx_value_len(&out); i++)
        hits += mpx_value_get_int(mpx_value_at(&out, i));
    mpx_value_free(&out);
    print_estimate(o, hits);
    return print_tallies(c, hits);
}

static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'}, {"authkey-file", required_argument, NULL, 'k'},
        {"pool", required_argument, NULL, 'p'},    {"processes", required_argument, NULL, 'n'},
        {"tasks", required_argument, NULL, 't'},   {"samples", required_argument, NULL, 's'},
        {"single", no_argument, NULL, '1'},        {"close", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.pool = "pi", .tasks = 64, .samples = 200000};
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        long long v = 0;
        if (opt == 'n' || opt == 't' || opt == 's') {
            errno = 0;
            v = strtoll(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || v < 1 || v > 1000000000) {
                fprintf(stderr, "monte_carlo_pi: --%s needs a number from 1 to 1e9\n",
                        opt == 'n' ? "processes" : opt == 't' ? "tasks" : "samples");
                return 2;
            }
        }
        switch (opt) {
        case 'c': o->address = optarg; break;
        case 'k': o->keyfile = optarg; break;
        case 'p': o->pool = optarg; break;
        case 'n': o->processes = (int)(v > 1024 ? 1024 : v); break;
        case 't': o->tasks = v; break;
        case 's': o->samples = v; break;
        case '1': o->single = true; break;
        case 'x': o->close = true; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "monte_carlo_pi: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return 0;
}

static int connect_client(const options *o, mpx_client **out)
{
    int rc = mpx_client_connect_keyfile(o->address, o->keyfile, NULL, out);
    if (rc != MPX_OK)
        fail(o->address, rc, *out != NULL ? mpx_client_errmsg(*out) : NULL);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "worker") == 0)
        return mpx_pool_worker_main(argc - 1, argv + 1, FUNCTIONS, 1, NULL, NULL);
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    if (o.single) {
        int64_t hits = 0;
        for (int64_t k = 0; k < o.tasks; k++)
            hits += count_hits(k, o.samples);
        print_estimate(&o, hits);
        return 0;
    }
    mpx_pool *p = NULL;
    mpx_client *c = NULL;
    mpx_pool_opts opts;
    mpx_pool_opts_init(&opts);
    opts.processes = o.processes;
    opts.functions = FUNCTIONS;
    opts.nfunctions = 1;
    opts.progress = true;
    if (o.address == NULL)
        rc = mpx_pool_start(&opts, &p);
    else if ((rc = connect_client(&o, &c)) == MPX_OK)
        rc = mpx_pool_connect(c, o.pool, &opts, &p);
    if (rc != MPX_OK) {
        if (p != NULL) /* a failed pool says why (a failed client said it already) */
            fail("pool", rc, mpx_pool_errmsg(p));
        mpx_pool_free(p);
        mpx_client_close(c);
        return 1;
    }
    rc = run_pool(p, &o);
    if (o.address == NULL || o.close) { /* a shared pool stays open unless asked */
        mpx_pool_close(p);
        mpx_pool_join(p);
    }
    mpx_pool_free(p);
    mpx_client_close(c);
    return rc == MPX_OK ? 0 : 1;
}
