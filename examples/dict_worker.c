/* dict_worker.c - workers on any host sharing one dict and one list through mpx-manager.
 *
 * Start a manager on one host, then run workers wherever the manager's address reaches:
 *   mpx-manager --listen tcp://0.0.0.0:5000 --authkey-file key
 *   dict_worker --connect tcp://HOST:5000 --authkey-file key --name counts --worker a
 *   dict_worker --connect tcp://HOST:5000 --authkey-file key --name counts --report
 * Each worker counts its own updates under its own key of the dict NAME and appends its id
 * to the list NAME.log. Only a worker writes its key, and append is one call the manager
 * runs whole, so no update is lost: the report checks that the counts add up to the log.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpx.h"

#define NAME_MAX_LEN 200

typedef struct options {
    const char *address;
    const char *authkey_file; /* NULL: $MPX_AUTHKEY */
    const char *name;
    char worker[NAME_MAX_LEN]; /* default: HOSTNAME-PID */
    int64_t count;
    int report;
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: dict_worker --connect ADDR [--authkey-file PATH] --name NAME\n"
            "                   [--worker ID] [--count N]\n"
            "       dict_worker --connect ADDR [--authkey-file PATH] --name NAME --report\n"
            "\n"
            "Adds N (default 10) counts under the key ID of the shared dict NAME and appends ID\n"
            "to the shared list NAME.log, on the mpx-manager at ADDR (tcp://HOST:PORT or\n"
            "unix:///PATH). --report prints the dict and checks it against the log.\n"
            "The key comes from --authkey-file, or else from $%s.\n"
            "ID defaults to HOSTNAME-PID.\n",
            MPX_AUTHKEY_ENV);
}

/* A whole decimal number >= 0, or -1. */
static int64_t parse_count(const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    return errno != 0 || end == text || *end != '\0' || v < 0 ? -1 : (int64_t)v;
}

/* What is wrong with the parsed arguments, or NULL. extra: arguments left over. */
static const char *check_args(const options *o, int extra)
{
    if (extra > 0)
        return "unexpected argument";
    if (o->address == NULL)
        return "--connect is required";
    if (o->name == NULL)
        return "--name is required";
    if (strlen(o->name) + strlen(".log") >= NAME_MAX_LEN)
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
        {"count", required_argument, NULL, 'N'},
        {"report", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->count = 10;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': o->address = optarg; break;
        case 'k': o->authkey_file = optarg; break;
        case 'n': o->name = optarg; break;
        case 'w': snprintf(o->worker, sizeof o->worker, "%s", optarg); break;
        case 'N':
            if ((o->count = parse_count(optarg)) < 0) {
                fprintf(stderr, "dict_worker: --count needs a number >= 0, not '%s'\n", optarg);
                usage(stderr);
                return 2;
            }
            break;
        case 'r': o->report = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    const char *problem = check_args(o, argc - optind);
    if (problem != NULL) {
        fprintf(stderr, "dict_worker: %s\n", problem);
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
    fprintf(stderr, "dict_worker: %s: %s: %s\n", what, mpx_err_name(rc),
            msg[0] != '\0' ? msg : mpx_strerror(rc));
    return rc;
}

/* One update: d[id] = done, then l.append(id). */
static int update_once(mpx_client *c, mpx_dict *d, mpx_list *l, const mpx_value *id,
                       int64_t done)
{
    mpx_value n = mpx_value_int(done);
    int rc = mpx_dict_setitem(d, id, &n);
    if (rc != MPX_OK)
        return fail(c, rc, "d[id] = count");
    if ((rc = mpx_list_append(l, id)) != MPX_OK)
        return fail(c, rc, "log.append(id)");
    return MPX_OK;
}

/* The worker: continues from the count already under its key (a worker run again with
 * the same id keeps counting), does o->count updates and prints a summary. */
static int work(mpx_client *c, mpx_dict *d, mpx_list *l, const options *o)
{
    mpx_value id, zero = mpx_value_int(0), start;
    int rc = mpx_value_str(&id, o->worker);
    if (rc != MPX_OK)
        return fail(c, rc, "--worker must be UTF-8");
    rc = mpx_dict_get(d, &id, &zero, &start);
    if (rc != MPX_OK || mpx_value_kind(&start) != MPX_INT) {
        if (rc == MPX_OK)
            fprintf(stderr, "dict_worker: d['%s'] is not an int\n", o->worker);
        else
            fail(c, rc, "d.get(id, 0)");
        mpx_value_free(&start);
        mpx_value_free(&id);
        return rc != MPX_OK ? rc : MPX_ETYPE;
    }
    int64_t done = mpx_value_get_int(&start);
    for (int64_t i = 0; i < o->count && rc == MPX_OK; i++)
        rc = update_once(c, d, l, &id, ++done);
    mpx_value_free(&id);
    size_t keys = 0, logged = 0;
    if (rc == MPX_OK && (rc = mpx_dict_len(d, &keys)) != MPX_OK)
        fail(c, rc, "len(d)");
    if (rc == MPX_OK && (rc = mpx_list_len(l, &logged)) != MPX_OK)
        fail(c, rc, "len(log)");
    if (rc == MPX_OK)
        printf("worker %s: %" PRId64 " updates (total %" PRId64 "); %s has %zu workers, "
               "%s.log %zu entries\n",
               o->worker, o->count, done, o->name, keys, o->name, logged);
    return rc;
}

/* The sum of the dict's int values: what the log's length should be. */
static int64_t sum_counts(const mpx_value *values)
{
    int64_t sum = 0;
    for (size_t i = 0; i < mpx_value_len(values); i++) {
        const mpx_value *v = mpx_value_at(values, i);
        if (mpx_value_kind(v) == MPX_INT)
            sum += mpx_value_get_int(v);
    }
    return sum;
}

/* --report: the dict's repr, and whether the counts add up to the log's length. */
static int report(mpx_client *c, mpx_dict *d, mpx_list *l, const options *o)
{
    char *text;
    mpx_value values;
    size_t logged;
    int rc = mpx_dict_repr(d, &text);
    if (rc != MPX_OK)
        return fail(c, rc, "repr(d)");
    printf("%s = %s\n", o->name, text);
    free(text);
    if ((rc = mpx_dict_values(d, &values)) != MPX_OK)
        return fail(c, rc, "d.values()");
    int64_t sum = sum_counts(&values);
    mpx_value_free(&values);
    if ((rc = mpx_list_len(l, &logged)) != MPX_OK)
        return fail(c, rc, "len(log)");
    printf("%s.log: %zu entries, counts sum to %" PRId64 ": %s\n", o->name, logged, sum,
           (size_t)sum == logged ? "consistent" : "INCONSISTENT");
    return (size_t)sum == logged ? MPX_OK : MPX_EVALUE;
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
    mpx_client *c;
    mpx_dict *d = NULL;
    mpx_list *l = NULL;
    char logname[NAME_MAX_LEN];
    snprintf(logname, sizeof logname, "%s.log", o.name);
    rc = connect_client(&o, &c);
    if (rc == MPX_OK && (rc = mpx_dict_open(c, o.name, &d)) != MPX_OK)
        fail(c, rc, "opening the dict");
    if (rc == MPX_OK && (rc = mpx_list_open(c, logname, &l)) != MPX_OK)
        fail(c, rc, "opening the list");
    if (rc == MPX_OK)
        rc = o.report ? report(c, d, l, &o) : work(c, d, l, &o);
    mpx_dict_close(d);
    mpx_list_close(l);
    mpx_client_close(c);
    return rc == MPX_OK ? 0 : 1;
}
