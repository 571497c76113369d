/* main.c - mpx-manager's command line, as mpx_server_main (mpx/server.h), so that a
 * program with types of its own serves them with the same options (mpx_manager.c is
 * mpx-manager itself).
 *
 * Reads the options and the authkey (--authkey-file, else $MPX_AUTHKEY, else a fresh key
 * written to a new 0600 file whose path is printed), lets the program set the server up
 * (its types), listens on every --listen address, serves until SIGINT or SIGTERM, then
 * closes every connection and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mpx/authkey.h"
#include "mpx/error.h"
#include "mpx/server.h"

#define MPX_VERSION "0.1.0"
#define MAX_LISTEN 16
#define MAX_EXPOSE 64

static mpx_server *running; /* for the signal handler only */

static void on_signal(int sig)
{
    (void)sig;
    if (running != NULL)
        mpx_server_stop(running);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mpx-manager [--listen ADDR]... [options]\n"
            "\n"
            "Serves shared objects (dict, list, Namespace, Lock, RLock, Condition, ...) to\n"
            "mpx clients, and authenticates Python multiprocessing.connection clients.\n"
            "\n"
            "  --listen ADDR          tcp://HOST:PORT, tls://HOST:PORT or unix:///PATH;\n"
            "                         repeatable\n"
            "                         (default tcp://127.0.0.1:0, a free port)\n"
            "  --tls-cert PATH        tls://: the manager's certificate chain (PEM)\n"
            "  --tls-key PATH         tls://: its private key (PEM)\n"
            "  --tls-ca PATH          tls://: require client certificates signed by these\n"
            "                         CAs (mutual TLS); without it clients need none\n"
            "  --authkey-file PATH    the shared key (file mode 0600; one trailing newline\n"
            "                         is ignored). Else $MPX_AUTHKEY; else a new random key\n"
            "                         is written to a 0600 file and its path printed\n"
            "  --max-message BYTES    largest request accepted (default 67108864)\n"
            "  --max-memory BYTES     memory budget (default 0: none): past it, calls that\n"
            "                         grow state fail with MemoryError while reads, deletes\n"
            "                         and pops still run (Redis's maxmemory, noeviction)\n"
            "  --max-connections N    connections served at once, authenticated or not\n"
            "                         (default 1024)\n"
            "  --max-unauthenticated N  connections that have not proven the key yet,\n"
            "                         within --max-connections (default 128); past it the\n"
            "                         oldest of them is closed to make room\n"
            "  --auth-timeout-ms MS   time allowed for the handshake (default 2000)\n"
            "  --max-waiters N        calls parked at once (blocked acquire, wait...;\n"
            "                         default 1000000); more fail at once\n"
            "  --max-waiters-per-session N  calls one connection parks at once\n"
            "                         (default 10000); more fail at once\n"
            "  --expose TYPEID=Type:NAME  serve the named object to Python clients that\n"
            "                         register TYPEID (BaseManager.register('get_queue'));\n"
            "                         repeatable, e.g. --expose get_queue=Queue:jobs\n"
            "  --allow-shutdown       let Python clients stop the manager (shutdown())\n"
            "  --admin-key-file PATH  a second key (0600): a client that proves it may list,\n"
            "                         inspect and delete objects, read info, shut down\n"
            "  --allow-admin          every client may make those admin calls\n"
            "  --output-limit-hard BYTES  reply bytes held for one connection that does not\n"
            "                         read them (its buffer and what its socket has not\n"
            "                         taken): past it the connection is closed (default\n"
            "                         268435456, or 2 x --max-message when larger; none: off)\n"
            "  --output-limit-soft BYTES  the same, closed once past it for\n"
            "                         --output-limit-soft-seconds in a row (default 67108864,\n"
            "                         or --max-message when larger; none: off)\n"
            "  --output-limit-soft-seconds N  (default 60)\n"
            "  --turn-frames N        requests served per connection per turn of the loop\n"
            "                         (default 1000); the rest wait for the next turn\n"
            "  --turn-budget-us US    microseconds per connection per turn (default 1000):\n"
            "                         a client's flood delays the others by about that much\n"
            "  --log-level LEVEL      error, warn, info (default) or debug\n"
            "  --ready-fd FD          once listening, write the bound addresses (one per\n"
            "                         line, then an empty line) to FD and close it\n"
            "  --help, --version\n"
            "BYTES may end in k, m, g (powers of 1000) or kb, mb, gb (of 1024), as Redis's\n"
            "sizes: --max-memory 512mb.\n");
}

static int parse_size(const char *text, const char *what, unsigned long long max,
                      unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || end == text || v == 0 || v > max) {
        fprintf(stderr, "mpx-manager: %s must be a number from 1 to %llu, not '%s'\n", what,
                max, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* A byte count with Redis's suffixes (memtoll): k, m, g are powers of 1000, kb, mb, gb of
 * 1024, either case; from 1 to max. */
static int parse_bytes(const char *text, const char *what, unsigned long long max,
                       unsigned long long *out)
{
    static const struct {
        const char *suffix;
        unsigned long long unit;
    } units[] = {{"k", 1000ULL}, {"kb", 1ULL << 10}, {"m", 1000000ULL}, {"mb", 1ULL << 20},
                 {"g", 1000000000ULL}, {"gb", 1ULL << 30}};
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10), unit = 1;
    for (size_t i = 0; *end != '\0' && unit == 1 && i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(end, units[i].suffix) == 0)
            unit = units[i].unit;
    if (errno != 0 || end == text || (*end != '\0' && unit == 1) || v == 0 ||
        v > max / unit || text[0] == '-') {
        fprintf(stderr, "mpx-manager: %s must be a size from 1 to %llu bytes (a number, or "
                        "one with k, kb, m, mb, g or gb after it), not '%s'\n", what, max, text);
        return -1;
    }
    *out = v * unit;
    return 0;
}

/* A byte limit, or "none" (SIZE_MAX: no limit). */
static int parse_limit(const char *text, const char *what, size_t *out)
{
    unsigned long long v;
    if (strcmp(text, "none") == 0) {
        *out = SIZE_MAX;
        return 0;
    }
    if (parse_bytes(text, what, 1ULL << 62, &v) != 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_level(const char *text, mpx_log_level *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (mpx_log_level)i;
            return 0;
        }
    fprintf(stderr, "mpx-manager: --log-level must be error, warn, info or debug\n");
    return -1;
}

typedef struct config {
    const char *listen[MAX_LISTEN];
    int nlisten;
    const char *expose[MAX_EXPOSE];
    int nexpose;
    const char *authkey_file;
    const char *admin_key_file;
    int ready_fd;
    mpx_server_opts opts;
} config;

/* 0 to run, 1 to exit 0 (help, version), -1 to exit 2. */
static int parse_args(int argc, char **argv, config *cfg)
{
    enum {
        O_MAXMSG = 256, O_MAXCONN, O_AUTHTO, O_LOG, O_READY, O_MAXWAIT, O_MAXUNAUTH, O_MAXWPS,
        O_EXPOSE, O_SHUTDOWN, O_ADMINKEY, O_ALLOWADMIN, O_TURNFRAMES, O_TURNUS, O_OUTHARD,
        O_OUTSOFT, O_OUTSOFTSEC, O_MAXMEM, O_TLSCERT, O_TLSKEY, O_TLSCA
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"authkey-file", required_argument, NULL, 'k'},
        {"max-message", required_argument, NULL, O_MAXMSG},
        {"max-memory", required_argument, NULL, O_MAXMEM},
        {"max-connections", required_argument, NULL, O_MAXCONN},
        {"auth-timeout-ms", required_argument, NULL, O_AUTHTO},
        {"log-level", required_argument, NULL, O_LOG},
        {"ready-fd", required_argument, NULL, O_READY},
        {"max-waiters", required_argument, NULL, O_MAXWAIT},
        {"max-unauthenticated", required_argument, NULL, O_MAXUNAUTH},
        {"max-waiters-per-session", required_argument, NULL, O_MAXWPS},
        {"expose", required_argument, NULL, O_EXPOSE},
        {"allow-shutdown", no_argument, NULL, O_SHUTDOWN},
        {"admin-key-file", required_argument, NULL, O_ADMINKEY},
        {"allow-admin", no_argument, NULL, O_ALLOWADMIN},
        {"tls-cert", required_argument, NULL, O_TLSCERT},
        {"tls-key", required_argument, NULL, O_TLSKEY},
        {"tls-ca", required_argument, NULL, O_TLSCA},
        {"output-limit-hard", required_argument, NULL, O_OUTHARD},
        {"output-limit-soft", required_argument, NULL, O_OUTSOFT},
        {"output-limit-soft-seconds", required_argument, NULL, O_OUTSOFTSEC},
        {"turn-frames", required_argument, NULL, O_TURNFRAMES},
        {"turn-budget-us", required_argument, NULL, O_TURNUS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    unsigned long long v;
    int opt;
    while ((opt = getopt_long(argc, argv, "l:k:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'l':
            if (cfg->nlisten == MAX_LISTEN) {
                fprintf(stderr, "mpx-manager: at most %d --listen addresses\n", MAX_LISTEN);
                return -1;
            }
            cfg->listen[cfg->nlisten++] = optarg;
            break;
        case 'k':
            cfg->authkey_file = optarg;
            break;
        case O_MAXMSG:
            if (parse_bytes(optarg, "--max-message", (1ULL << 40), &v) != 0)
                return -1;
            cfg->opts.max_message = (size_t)v;
            break;
        case O_MAXMEM: /* 0 or none: no budget, as Redis's maxmemory 0 */
            if (strcmp(optarg, "0") == 0 || strcmp(optarg, "none") == 0)
                v = 0;
            else if (parse_bytes(optarg, "--max-memory", 1ULL << 62, &v) != 0)
                return -1;
            cfg->opts.max_memory = (size_t)v;
            break;
        case O_MAXCONN:
            if (parse_size(optarg, "--max-connections", 1000000, &v) != 0)
                return -1;
            cfg->opts.max_connections = (int)v;
            break;
        case O_AUTHTO:
            if (parse_size(optarg, "--auth-timeout-ms", 3600000, &v) != 0)
                return -1;
            cfg->opts.auth_timeout_ms = (int)v;
            break;
        case O_MAXWAIT:
            if (parse_size(optarg, "--max-waiters", INT_MAX, &v) != 0)
                return -1;
            cfg->opts.max_waiters = (int)v;
            break;
        case O_MAXUNAUTH:
            if (parse_size(optarg, "--max-unauthenticated", INT_MAX, &v) != 0)
                return -1;
            cfg->opts.max_unauthenticated = (int)v;
            break;
        case O_MAXWPS:
            if (parse_size(optarg, "--max-waiters-per-session", INT_MAX, &v) != 0)
                return -1;
            cfg->opts.max_waiters_per_session = (int)v;
            break;
        case O_OUTHARD:
            if (parse_limit(optarg, "--output-limit-hard", &cfg->opts.output_limit_hard) != 0)
                return -1;
            break;
        case O_OUTSOFT:
            if (parse_limit(optarg, "--output-limit-soft", &cfg->opts.output_limit_soft) != 0)
                return -1;
            break;
        case O_OUTSOFTSEC:
            if (parse_size(optarg, "--output-limit-soft-seconds", 86400 * 365, &v) != 0)
                return -1;
            cfg->opts.output_limit_soft_seconds = (int)v;
            break;
        case O_TURNFRAMES:
            if (parse_size(optarg, "--turn-frames", INT_MAX, &v) != 0)
                return -1;
            cfg->opts.turn_frames = (int)v;
            break;
        case O_TURNUS:
            if (parse_size(optarg, "--turn-budget-us", 60000000, &v) != 0)
                return -1;
            cfg->opts.turn_budget_us = (int)v;
            break;
        case O_LOG:
            if (parse_level(optarg, &cfg->opts.log_level) != 0)
                return -1;
            break;
        case O_READY:
            if (parse_size(optarg, "--ready-fd", INT_MAX, &v) != 0)
                return -1;
            cfg->ready_fd = (int)v;
            break;
        case O_EXPOSE:
            if (cfg->nexpose == MAX_EXPOSE) {
                fprintf(stderr, "mpx-manager: at most %d --expose\n", MAX_EXPOSE);
                return -1;
            }
            cfg->expose[cfg->nexpose++] = optarg;
            break;
        case O_SHUTDOWN:
            cfg->opts.allow_shutdown = 1;
            break;
        case O_ADMINKEY:
            cfg->admin_key_file = optarg;
            break;
        case O_ALLOWADMIN:
            cfg->opts.allow_admin = 1;
            break;
        case O_TLSCERT:
            cfg->opts.tls_cert = optarg;
            break;
        case O_TLSKEY:
            cfg->opts.tls_key = optarg;
            break;
        case O_TLSCA:
            cfg->opts.tls_ca = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            printf("mpx-manager %s\n", MPX_VERSION);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mpx-manager: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (cfg->nlisten == 0)
        cfg->listen[cfg->nlisten++] = "tcp://127.0.0.1:0";
    return 0;
}

/* The key from the file, the environment, or a new file. *generated gets the path of a
 * key file made here (removed at exit). */
static int load_key(const config *cfg, uint8_t **key, size_t *len, char *generated,
                    size_t genlen)
{
    char err[256];
    int rc;
    generated[0] = '\0';
    if (cfg->authkey_file != NULL || getenv(MPX_AUTHKEY_ENV) != NULL) {
        rc = mpx_authkey_resolve(cfg->authkey_file, key, len, err, sizeof err);
    } else {
        const char *tmp = getenv("TMPDIR");
        char dir[PATH_MAX - 16]; /* room for "/authkey" in generated */
        snprintf(dir, sizeof dir, "%s/mpx-manager-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(dir) == NULL) {
            fprintf(stderr, "mpx-manager: cannot make a directory for the key: %s\n",
                    strerror(errno));
            return -1;
        }
        snprintf(generated, genlen, "%s/authkey", dir);
        rc = mpx_authkey_generate(generated, key, len, err, sizeof err);
        if (rc == MPX_OK)
            fprintf(stderr, "mpx-manager: no authkey given; a new one is in %s\n", generated);
    }
    if (rc != MPX_OK) {
        fprintf(stderr, "mpx-manager: %s\n", err);
        return -1;
    }
    return 0;
}

static void remove_generated_key(const char *path)
{
    if (path[0] == '\0')
        return;
    unlink(path);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        rmdir(dir);
    }
}

static void announce_ready(int fd, char bound[][400], int n)
{
    for (int i = 0; i < n; i++)
        dprintf(fd, "%s\n", bound[i]);
    dprintf(fd, "\n");
    close(fd);
}

/* Every connection is a descriptor: raise the soft limit toward --max-connections (as far
 * as the hard limit allows), and say so when it cannot reach it. */
static void raise_fd_limit(int max_connections)
{
    const rlim_t want = (rlim_t)max_connections + 64; /* listeners, logs, spare */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= want)
        return;
    rlim_t cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (cur > rl.rlim_cur) {
        rl.rlim_cur = cur;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (cur < want)
        fprintf(stderr, "mpx-manager: warning: the descriptor limit (%llu) allows fewer than "
                        "--max-connections %d connections\n",
                (unsigned long long)cur, max_connections);
}

int mpx_server_main(int argc, char **argv, mpx_server_setup_fn setup, void *arg)
{
    config cfg = {.ready_fd = -1};
    mpx_server_opts_init(&cfg.opts);
    int rc = parse_args(argc, argv, &cfg);
    if (rc != 0)
        return rc > 0 ? 0 : 2;

    uint8_t *key;
    size_t keylen;
    char generated[PATH_MAX];
    if (load_key(&cfg, &key, &keylen, generated, sizeof generated) != 0)
        return 1;
    cfg.opts.authkey = key;
    cfg.opts.keylen = keylen;
    uint8_t *admin_key = NULL;
    if (cfg.admin_key_file != NULL) {
        char err[256];
        size_t admin_len;
        if (mpx_authkey_load(cfg.admin_key_file, &admin_key, &admin_len, err, sizeof err) !=
            MPX_OK) {
            fprintf(stderr, "mpx-manager: --admin-key-file: %s\n", err);
            free(key);
            remove_generated_key(generated);
            return 1;
        }
        cfg.opts.admin_key = admin_key;
        cfg.opts.admin_keylen = admin_len;
    }
    raise_fd_limit(cfg.opts.max_connections);

    mpx_server *s;
    if ((rc = mpx_server_new(&cfg.opts, &s)) != MPX_OK) {
        fprintf(stderr, "mpx-manager: cannot start: %s\n", mpx_strerror(rc));
        free(key);
        free(admin_key);
        remove_generated_key(generated);
        return 1;
    }
    free(key);
    free(admin_key); /* the server keeps copies */
    if (setup != NULL && (rc = setup(s, arg)) != MPX_OK) {
        fprintf(stderr, "mpx-manager: setting the server up failed: %s\n", mpx_strerror(rc));
        mpx_server_free(s);
        remove_generated_key(generated);
        return 1;
    }

    for (int i = 0; i < cfg.nexpose; i++) {
        char err[256];
        if (mpx_server_expose(s, cfg.expose[i], err, sizeof err) != MPX_OK) {
            fprintf(stderr, "mpx-manager: --expose %s\n", err);
            mpx_server_free(s);
            remove_generated_key(generated);
            return 2;
        }
    }
    char bound[MAX_LISTEN][400];
    for (int i = 0; i < cfg.nlisten; i++) {
        char err[256];
        if (mpx_server_listen(s, cfg.listen[i], bound[i], sizeof bound[i], err, sizeof err) !=
            MPX_OK) {
            fprintf(stderr, "mpx-manager: cannot listen on %s: %s\n", cfg.listen[i], err);
            mpx_server_free(s);
            remove_generated_key(generated);
            return 1;
        }
        printf("mpx-manager: listening on %s\n", bound[i]);
    }
    fflush(stdout);

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    running = s;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (cfg.ready_fd >= 0)
        announce_ready(cfg.ready_fd, bound, cfg.nlisten);

    rc = mpx_server_run(s);
    running = NULL;
    mpx_server_free(s);
    remove_generated_key(generated);
    return rc == MPX_OK ? 0 : 1;
}
