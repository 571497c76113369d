/* sock.h - blocking sockets with deadlines (the proxy side and mpx/connection.h need no
 * libuv): connecting, and for a blocking listener, listening and accepting.
 *
 * Every call takes an absolute deadline on the monotonic clock in milliseconds
 * (sock_deadline(timeout_ms)); -1 means wait forever. Sockets are close-on-exec, TCP ones
 * have TCP_NODELAY and keepalive. Results are MPX_OK or a negative MPX_E* code:
 * MPX_ETIMEOUT, MPX_ECLOSED (orderly EOF), MPX_EIO (errno-level failure), MPX_EADDR.
 */
#ifndef MPX_TRANSPORT_SOCK_H
#define MPX_TRANSPORT_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "address.h"

int64_t sock_now_ms(void);                 /* CLOCK_MONOTONIC in ms */
int64_t sock_deadline(int64_t timeout_ms); /* now + timeout, or -1 when timeout_ms < 0 */

/* Resolves and connects (every resolved address in turn until one works). */
int sock_connect(const mpx_address *a, int64_t deadline, int *fd_out, char *err,
                 size_t errlen);
int sock_write_all(int fd, const void *buf, size_t len, int64_t deadline);
int sock_read_all(int fd, void *buf, size_t len, int64_t deadline);

/* One frame out: header and payload in one writev. */
int sock_send_frame(int fd, const void *payload, size_t len, int64_t deadline);
/* One frame in, into a malloc'd buffer the caller frees (NULL for an empty payload is
 * never returned: a zero-length frame gives a 1-byte buffer and *len = 0). MPX_ETOOBIG
 * when the header announces more than max (nothing more is read). The buffer grows with
 * the payload's bytes as they arrive, never to the announced length before they do. */
int sock_recv_frame(int fd, size_t max, uint8_t **payload, size_t *len, int64_t deadline);

/* Receives what has arrived, at least one byte and at most cap, into buf (*got), waiting
 * for it until the deadline. It looks once even when the deadline has passed, so a
 * deadline of now takes what is there. MPX_OK, MPX_ETIMEOUT, MPX_ECLOSED, MPX_EIO. */
int sock_recv_avail(int fd, void *buf, size_t cap, int64_t deadline, size_t *got);
/* Whether fd has something to read (input, EOF or an error), waiting until the deadline;
 * it too looks once when the deadline has passed. MPX_OK with *ready, or MPX_EIO. */
int sock_poll_readable(int fd, int64_t deadline, bool *ready);

/* Binds and listens on a (SO_REUSEADDR for TCP, as Python's SocketListener; a unix path
 * that exists is an error, as in Python: nothing is unlinked here). *bound gets the
 * address really bound: the port the kernel chose for port 0, the numeric host.
 * The socket is non-blocking and close-on-exec. MPX_OK, MPX_EADDR or MPX_EIO (err). */
int sock_listen(const mpx_address *a, int backlog, int *fd_out, mpx_address *bound,
                char *err, size_t errlen);
/* Accepts one connection until the deadline: close-on-exec, non-blocking, TCP_NODELAY and
 * keepalive for TCP. MPX_OK, MPX_ETIMEOUT or MPX_EIO. */
int sock_accept(int listen_fd, int64_t deadline, int *fd_out);

/* ---- a link: a connected socket, with TLS over it when tls is set (tls.h) ---------------
 * The same contracts as the fd functions above, which they are without TLS. */
struct tls_conn;
typedef struct sock_link {
    int fd;
    struct tls_conn *tls;
} sock_link;

int link_write_all(const sock_link *l, const void *buf, size_t len, int64_t deadline);
int link_send_frame(const sock_link *l, const void *payload, size_t len, int64_t deadline);
int link_recv_frame(const sock_link *l, size_t max, uint8_t **payload, size_t *len,
                    int64_t deadline);
/* sock_recv_some's fast path without TLS (timeo_ms as there); under TLS it reads what
 * the records hold, at least one byte. */
int link_recv_some(const sock_link *l, void *buf, size_t cap, int64_t deadline,
                   int64_t *timeo_ms, size_t *got);

/* ---- for the schemes (scheme_tcp.c, scheme_unix.c) ---- */
/* A non-blocking connect of a new socket bounded by the deadline; the socket is left
 * non-blocking (all I/O here polls first), close-on-exec, tuned for TCP. *err_out: errno. */
int sock_connect_to(int family, const struct sockaddr *sa, socklen_t len, int64_t deadline,
                    int *fd_out, int *err_out);
/* TCP_NODELAY and keepalive (TRANSPORT_KEEPALIVE_*) on a TCP socket. */
void sock_tune_tcp(int fd);
/* "<what> <where>: strerror(errno)" into err, closes fd (when >= 0), returns code. */
int sock_listen_fail(char *err, size_t errlen, int code, int fd, const char *what,
                     const char *where);

/* The fast path of a client waiting for replies. sock_set_blocking clears O_NONBLOCK once
 * (the functions above never block: they pass MSG_DONTWAIT and poll). sock_recv_some
 * then receives what has arrived, at least one byte, into buf with one blocking recv
 * bounded by SO_RCVTIMEO, so a reply costs one syscall instead of poll + recv. *timeo_ms
 * caches the socket's receive timeout (start it at 0: none set); it is changed only when
 * it would outlast the deadline. MPX_OK (*got > 0), MPX_ETIMEOUT, MPX_ECLOSED, MPX_EIO. */
int sock_set_blocking(int fd);
int sock_recv_some(int fd, void *buf, size_t cap, int64_t deadline, int64_t *timeo_ms,
                   size_t *got);

#endif
