/* mpx/server.h - the manager as a library: what mpx-manager runs, embeddable in a program.
 *
 * A server is a struct you own; two can run in one process (on their own threads or one
 * after the other). It runs one libuv loop on the calling thread until mpx_server_stop()
 * is called (safe from a signal handler or another thread).
 */
#ifndef MPX_SERVER_H
#define MPX_SERVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_server mpx_server;

typedef enum mpx_log_level {
    MPX_LOG_ERROR = 0,
    MPX_LOG_WARN = 1,
    MPX_LOG_INFO = 2, /* one line per connection event: the default */
    MPX_LOG_DEBUG = 3
} mpx_log_level;

typedef struct mpx_server_opts {
    const void *authkey;     /* required; copied */
    size_t keylen;
    size_t max_message;      /* largest request accepted; default 64 MiB */
    int max_connections;     /* connections at once, authenticated or not; default 1024.
                                A newcomer past it closes an unauthenticated one, or is
                                closed at once when all of them are authenticated */
    int auth_timeout_ms;     /* default 2000: unauthenticated connections are closed then */
    mpx_log_level log_level; /* default MPX_LOG_INFO; lines go to stderr */
    int max_waiters;         /* calls parked at once (blocked acquire, get...); default
                                1000000; more are refused with MPX_ELIMIT */
    int max_unauthenticated; /* connections that have not proven the key yet, within
                                max_connections; default 128. A newcomer past it closes the
                                oldest of them, so keyless sockets never keep clients with
                                the key out */
    int max_waiters_per_session; /* calls parked at once by one connection; default 10000;
                                    more are refused with MPX_ELIMIT */
    int allow_shutdown;      /* Python's shutdown() over the wire stops the manager; 0 (the
                                default) refuses it */
    int allow_admin;         /* every session may make admin calls (objects, info, delete,
                                shutdown...); default 0: only one that proved admin_key */
    const void *admin_key;   /* copied; NULL: no session proves it (mpx_client_admin_login) */
    size_t admin_keylen;
    /* Output limits per connection, as Redis's client-output-buffer-limit: the reply bytes
     * the manager holds for a client that does not read them (its buffer, and what the
     * socket has not taken yet). Past the hard limit, or past the soft one for
     * output_limit_soft_seconds in a row, the connection is closed (a log line with
     * reason=output-limit); queue items in its unsent replies go back to their queue.
     * SIZE_MAX switches a limit off. A client that reads its replies as they come stays
     * far below the defaults, and so does one reply of max_message bytes; one reply over
     * the hard limit (an object of hundreds of MiB read at once) also closes it. */
    size_t output_limit_hard; /* default 0: 256 MiB, or 2 x max_message when larger */
    size_t output_limit_soft; /* default 0: 64 MiB, or max_message when larger */
    int output_limit_soft_seconds; /* default 60 */
    /* The work one connection gets per turn of the loop, so that a client pipelining
     * thousands of calls delays the others by about one budget: past either bound, the
     * rest of its requests wait, in order, for the next turn, after the other clients'
     * reads (a single call longer than the budget still runs whole). */
    int turn_frames;    /* requests per connection per turn; default 1000 */
    int turn_budget_us; /* time per connection per turn, in microseconds; default 1000 */
    /* The memory budget, as Redis's maxmemory with the noeviction policy: the bytes the
     * manager holds (values, the object table, parked calls, connection buffers, counted
     * at the allocator's usable size). While over it, a call that can grow state (a row
     * flagged METHOD_GROWS: setitem, append, put, create...) fails with MPX_ENOMEM
     * (MemoryError) and reads, deletes and pops still run; a call whose growth is known
     * before it runs (Array(n), extend, l * n) fails when it would cross it. Default 0: no
     * limit. Each server counts its own: the admin call info() says used_memory. */
    size_t max_memory;
    /* tls:// listeners: the manager's certificate chain and key (PEM files, required for
     * tls://), and with tls_ca the CAs whose certificates clients must present (mutual
     * TLS; NULL: clients need none). Read by mpx_server_listen. */
    const char *tls_cert;
    const char *tls_key;
    const char *tls_ca;
} mpx_server_opts;

void mpx_server_opts_init(mpx_server_opts *opts);

int mpx_server_new(const mpx_server_opts *opts, mpx_server **out);
/* Adds a listening address ("tcp://0.0.0.0:5000", "tcp://127.0.0.1:0", "unix:///p").
 * bound (may be NULL) receives the address actually bound (the real port for :0). */
int mpx_server_listen(mpx_server *s, const char *address, char *bound, size_t boundlen,
                      char *err, size_t errlen);
/* Serves a named object to Python's clients under a typeid of their own, as
 * BaseManager.register('get_queue') asks for it: spec is "typeid=Type:name", e.g.
 * "get_queue=Queue:jobs", the object C clients open as name (made on first use). */
int mpx_server_expose(mpx_server *s, const char *spec, char *err, size_t errlen);
/* Serves until mpx_server_stop; then closes every connection. MPX_OK or MPX_EIO. */
int mpx_server_run(mpx_server *s);
/* Asks the running loop to stop; async-signal-safe and thread-safe. */
void mpx_server_stop(mpx_server *s);
/* Frees a server that is not running. */
void mpx_server_free(mpx_server *s);

/* Sets a made server up before it listens: registers a program's own types
 * (mpx_server_register_type, mpx/type.h). MPX_OK, or a code that stops the start. */
typedef int (*mpx_server_setup_fn)(mpx_server *s, void *arg);
/* mpx-manager's whole command line (--listen, --authkey-file, every limit; --help lists
 * them) for a program's main: makes the server, runs setup(s, arg) when setup is not
 * NULL, then --expose and --listen, and serves until SIGINT or SIGTERM. Returns the exit
 * status (0, 1 for a failure to start, 2 for bad options). It handles the two signals
 * and SIGPIPE for the process, so run one per process. */
int mpx_server_main(int argc, char **argv, mpx_server_setup_fn setup, void *arg);

#ifdef __cplusplus
}
#endif
#endif
