/* mpx/connection.h - message connections, as Python's multiprocessing.connection.
 *
 * An mpx_listener listens on "tcp://host:port" or "unix:///path" and accepts mpx_conns; an
 * mpx_conn sends and receives whole messages, either bytes (send_bytes/recv_bytes) or
 * data values (send/recv), and polls. The wire is Python's: each message is a 4-byte
 * big-endian length then the payload (a length of -1 then an 8-byte length for payloads
 * over 0x7fffffff); with an authkey, the listener's accept runs deliver_challenge then
 * answer_challenge and mpx_conn_connect the reverse, as Listener.accept and Client do, so
 * either side may be a stock Python Listener or Client. Values travel as pickles of the
 * data kinds (None, bool, int of 64 bits, float, str, bytes, list, tuple, dict): what
 * Python's Connection.send(obj) of such data writes, read by the data-only unpickler,
 * which never imports or calls anything. mpx_pipe gives a connected pair for a parent and
 * its child across fork, as Pipe().
 *
 * Every input is bounded: a message whose announced length is over opts.max_message is
 * refused before anything is allocated for it, and memory grows only with the bytes that
 * really arrived. Every function returns MPX_OK or a negative MPX_E* code; the reason is
 * kept on the handle (mpx_conn_errmsg, mpx_listener_errmsg) until its next call. A handle
 * is used by one thread at a time. Sends never raise SIGPIPE: a vanished peer is MPX_EIO.
 */
#ifndef MPX_CONNECTION_H
#define MPX_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/error.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_conn mpx_conn;
typedef struct mpx_listener mpx_listener;

/* A field left 0 takes its default, so a zeroed struct is the defaults too. */
typedef struct mpx_conn_opts {
    size_t max_message;           /* largest message a recv accepts; default 64 MiB */
    int64_t handshake_timeout_ms; /* connect + handshake (mpx_conn_connect), or the
                                     handshake of each accepted peer; default 5000 */
    int64_t send_timeout_ms;      /* how long a send may wait for room; default -1: as
                                     long as it takes, as in Python. A send that times
                                     out (MPX_ETIMEOUT) may have sent part of its message:
                                     the connection can no longer send */
    int backlog;                  /* the listener's; default 128 */
} mpx_conn_opts;

void mpx_conn_opts_init(mpx_conn_opts *opts);

/* ---- listener -------------------------------------------------------------------------
 * Listens on address (port 0: any free port). With authkey (keylen > 0 bytes), every
 * accepted peer must prove it knows the key and is proven to (mutual, as Python); NULL
 * means none: peers are not authenticated, as Listener(authkey=None). opts may be NULL.
 * The key is copied. A unix socket path that exists is refused, as in Python; close
 * removes the file. On failure *out is still a listener, in the failed state, so that
 * mpx_listener_errmsg says why: close it (NULL only when memory ran out). */
int mpx_listener_open(const char *address, const void *authkey, size_t keylen,
                      const mpx_conn_opts *opts, mpx_listener **out);
/* Waits at most timeout seconds (negative: as long as it takes) for a peer, then runs the
 * handshake (bounded by opts.handshake_timeout_ms). MPX_OK with *out a connection the
 * caller closes; otherwise *out is NULL and the listener's message says why:
 * MPX_ETIMEOUT (no peer came, or it was silent in the handshake), MPX_EAUTH (a wrong
 * key, on either side), MPX_EPROTO, MPX_ECLOSED or MPX_EIO (that peer's connection; the
 * listener goes on, accept again). */
int mpx_listener_accept(mpx_listener *l, double timeout, mpx_conn **out);
/* The address really bound, e.g. "tcp://127.0.0.1:40123" for "tcp://127.0.0.1:0";
 * valid while l is. */
const char *mpx_listener_address(const mpx_listener *l);
int mpx_listener_fileno(const mpx_listener *l); /* the listening socket, or -1 */
int mpx_listener_errcode(const mpx_listener *l);
const char *mpx_listener_errmsg(const mpx_listener *l);
/* Stops listening. The unix socket file is removed only by the process that opened the
 * listener (a forked child closing its copy leaves it). NULL is a no-op. */
void mpx_listener_close(mpx_listener *l);

/* ---- connection -----------------------------------------------------------------------
 * Connects to address and, with authkey, authenticates as Client(address, authkey): it
 * answers the listener's challenge, then challenges it. NULL authkey: no handshake.
 * opts may be NULL. On failure *out is still a connection, in the failed state, so that
 * mpx_conn_errmsg says why: close it (NULL only when memory ran out). */
int mpx_conn_connect(const char *address, const void *authkey, size_t keylen,
                     const mpx_conn_opts *opts, mpx_conn **out);

/* A connected pair (a socketpair, duplex), as Pipe(): what is sent on one end is received
 * on the other. No authkey, as in Python. Across fork, each process closes the end it
 * does not use, so that the other end sees EOF (MPX_ECLOSED) when its peer is gone.
 * On failure both are NULL. */
int mpx_pipe(mpx_conn **a, mpx_conn **b);

/* Sends len bytes (borrowed) as one message. */
int mpx_conn_send_bytes(mpx_conn *c, const void *buf, size_t len);
/* Waits at most timeout seconds (negative: as long as it takes) for the next message and
 * gives it in *buf (malloc'd, the caller frees it; NUL-terminated, for text) and *len.
 * MPX_ETIMEOUT loses nothing: a message half received stays buffered for the next recv.
 * MPX_ECLOSED when the peer closed between messages (Python's EOFError); MPX_EIO when it
 * closed in the middle of one (Python's OSError "got end of file during message");
 * MPX_ETOOBIG for a message over opts.max_message and MPX_EPROTO for a bad header:
 * after those two, as after MPX_EIO, the connection can no longer receive (nothing
 * tells where the next message starts), though it can still send, as in Python. */
int mpx_conn_recv_bytes(mpx_conn *c, double timeout, uint8_t **buf, size_t *len);

/* Sends v (borrowed) as a pickle (protocol 4) that Python's recv() reads. MPX_EVALUE for
 * what has no data pickle (a reference to a manager's object, nesting too deep). */
int mpx_conn_send(mpx_conn *c, const mpx_value *v);
/* Receives one message and unpickles it into *out, owned by the caller (None on error).
 * A message that is no pickle mpx takes (MPX_EPROTO: not a pickle or a malformed one;
 * MPX_EVALUE: a global outside the data kinds, an unhashable set item, a recursive
 * structure; MPX_EOVERFLOW: an int over 64 bits) is consumed whole: the error says why
 * and the connection stays usable for the next message. Otherwise as
 * mpx_conn_recv_bytes. */
int mpx_conn_recv(mpx_conn *c, double timeout, mpx_value *out);

/* Whether a message is ready to be received, waiting at most timeout seconds (0: look
 * and return; negative: as long as it takes), as Connection.poll: *ready is also true
 * when the peer has closed (the recv then says so). A recv reads no further than the
 * message it returns, so a poll on mpx_conn_fileno (select, epoll, a libuv poll handle)
 * says the same. */
int mpx_conn_poll(mpx_conn *c, double timeout, bool *ready);
/* The socket, for poll(2)/select; -1 once closed or failed. Do not read or write it. */
int mpx_conn_fileno(const mpx_conn *c);
int mpx_conn_errcode(const mpx_conn *c);
const char *mpx_conn_errmsg(const mpx_conn *c);
/* Closes this process's end (after fork, the other process's copy stays open) and frees
 * c. NULL is a no-op. */
void mpx_conn_close(mpx_conn *c);

#ifdef __cplusplus
}
#endif
#endif
