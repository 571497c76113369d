/* remote_queue.c - Python's "Using a remote manager" example: one host serves a queue, a
 * second host puts 'hello' into it, a third gets it.
 *
 *   host-a$ mpx-manager --listen tcp://0.0.0.0:50000 --authkey-file key
 *   host-b$ remote_queue put --connect tcp://host-a:50000 --authkey-file key hello
 *   host-c$ remote_queue get --connect tcp://host-a:50000 --authkey-file key
 *   'hello'
 * put puts each MESSAGE, as a str, into the Queue NAME (default remote), created by the
 * first program that opens it; get takes N messages (default 1) and prints the repr of
 * each on its own line, waiting for each at most --timeout seconds (default: as long as it
 * takes). A get that finds nothing in time is queue.Empty: it says so and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpx.h"

typedef struct options {
    const char *mode; /* "put" or "get" */
    const char *address;
    const char *authkey_file; /* NULL: $MPX_AUTHKEY */
    const char *name;
    int64_t count;
    double timeout; /* < 0: wait as long as it takes */
    bool bad_timeout;
    char **messages; /* put: argv's tail */
    int nmessages;
} options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: remote_queue put --connect ADDR [--authkey-file PATH] [--name NAME]\n"
            "                        MESSAGE...\n"
            "       remote_queue get --connect ADDR [--authkey-file PATH] [--name NAME]\n"
            "                        [--count N] [--timeout S]\n"
            "\n"
            "put puts each MESSAGE (a str) into the shared Queue NAME (default remote) on the\n"
            "mpx-manager at ADDR (tcp://HOST:PORT or unix:///PATH). get takes N messages\n"
            "(default 1) and prints each one's repr on a line, waiting at most S seconds for\n"
            "each (default: no limit); it exits 1 when one does not come in time. The key\n"
            "comes from --authkey-file, or else from $%s.\n",
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

/* Seconds >= 0 (a finite decimal), or -1. */
static double parse_seconds(const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    return errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < 0 ? -1 : v;
}

/* What is wrong with the parsed arguments, or NULL. args: the non-option arguments. */
static const char *check_args(const options *o, char **args, int nargs)
{
    if (nargs < 1)
        return "say put or get";
    if (strcmp(args[0], "put") != 0 && strcmp(args[0], "get") != 0)
        return "the mode is put or get";
    if (o->address == NULL)
        return "--connect is required";
    if (strcmp(args[0], "put") == 0 && nargs < 2)
        return "put needs at least one MESSAGE";
    if (strcmp(args[0], "get") == 0 && nargs > 1)
        return "get takes no MESSAGE";
    if (o->count < 0)
        return "--count needs a number >= 0";
    if (o->bad_timeout)
        return "--timeout needs a number of seconds >= 0";
    return NULL;
}

/* Fills o from argv: 0 to go on, 1 after --help, 2 on bad arguments (usage printed). */
static int parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"authkey-file", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {"count", required_argument, NULL, 'N'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->name = "remote";
    o->count = 1;
    o->timeout = -1; /* not given: no limit */
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': o->address = optarg; break;
        case 'k': o->authkey_file = optarg; break;
        case 'n': o->name = optarg; break;
        case 'N': o->count = parse_count(optarg); break;
        case 't':
            o->timeout = parse_seconds(optarg);
            o->bad_timeout = o->timeout < 0;
            break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    const char *problem = check_args(o, argv + optind, argc - optind);
    if (problem != NULL) {
        fprintf(stderr, "remote_queue: %s\n", problem);
        usage(stderr);
        return 2;
    }
    o->mode = argv[optind];
    o->messages = argv + optind + 1;
    o->nmessages = argc - optind - 1;
    return 0;
}

/* Prints which step failed and why (the manager's message when there is one). */
static int fail(const mpx_client *c, int rc, const char *what)
{
    const char *msg = c != NULL ? mpx_client_errmsg(c) : "";
    fprintf(stderr, "remote_queue: %s: %s: %s\n", what, mpx_err_name(rc),
            msg[0] != '\0' ? msg : mpx_strerror(rc));
    return rc;
}

/* queue.put(message) for each MESSAGE, in order. */
static int put(mpx_client *c, mpx_queue *q, const options *o)
{
    for (int i = 0; i < o->nmessages; i++) {
        mpx_value msg;
        int rc = mpx_value_str(&msg, o->messages[i]);
        if (rc != MPX_OK) {
            fprintf(stderr, "remote_queue: MESSAGE %d is not UTF-8 text\n", i + 1);
            return rc;
        }
        rc = mpx_queue_put(q, &msg, -1);
        mpx_value_free(&msg);
        if (rc != MPX_OK)
            return fail(c, rc, "queue.put(message)");
    }
    return MPX_OK;
}

/* print(repr(queue.get(timeout=S))), N times. */
static int get(mpx_client *c, mpx_queue *q, const options *o)
{
    for (int64_t i = 0; i < o->count; i++) {
        mpx_value msg;
        int rc = mpx_queue_get(q, o->timeout, &msg);
        if (rc == MPX_EEMPTY) {
            fprintf(stderr,
                    "remote_queue: no message in the queue %s within %g s "
                    "(queue.Empty); got %" PRId64 " of %" PRId64 "\n",
                    o->name, o->timeout, i, o->count);
            return rc;
        }
        if (rc != MPX_OK)
            return fail(c, rc, "queue.get()");
        char *text = mpx_value_repr(&msg);
        mpx_value_free(&msg);
        if (text == NULL)
            return fail(c, MPX_ENOMEM, "repr(message)");
        printf("%s\n", text);
        fflush(stdout);
        free(text);
    }
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
    mpx_client *c;
    mpx_queue *q = NULL;
    rc = connect_client(&o, &c);
    if (rc == MPX_OK && (rc = mpx_queue_open(c, o.name, 0, false, &q)) != MPX_OK)
        fail(c, rc, o.name);
    if (rc == MPX_OK)
        rc = strcmp(o.mode, "put") == 0 ? put(c, q, &o) : get(c, q, &o);
    mpx_queue_close(q);
    mpx_client_close(c);
    return rc == MPX_OK ? 0 : 1;
}
