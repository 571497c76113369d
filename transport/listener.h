/* listener.h - the manager's listening sockets on libuv, one per --listen address.
 *
 * A listener binds tcp:// or unix:// addresses (a stale unix socket file is replaced, a
 * live one is an error), accepts, applies TCP_NODELAY and keepalive to TCP peers, and
 * hands each accepted stream to its callback, which owns it from then on (close it with
 * uv_close and free it in the close callback).
 */
#ifndef MPX_TRANSPORT_LISTENER_H
#define MPX_TRANSPORT_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "address.h"

typedef struct listener listener;

/* stream: a malloc'd uv_tcp_t or uv_pipe_t, already accepted. peer: printable peer
 * ("127.0.0.1:40312", "[::1]:5000", "unix"). */
typedef void (*listener_accept_cb)(listener *l, uv_stream_t *stream, const char *peer,
                                   void *data);

/* Binds and listens. The bound address (with the real port when 0 was asked) is written
 * back into bound (may be NULL). MPX_OK, MPX_EADDR or MPX_EIO with a reason in err. */
int listener_open(uv_loop_t *loop, const mpx_address *a, int backlog, listener_accept_cb cb,
                  void *data, listener **out, mpx_address *bound, char *err, size_t errlen);

/* Whether its streams carry TLS (a tls:// address). */
bool listener_is_tls(const listener *l);
/* Stops accepting, unlinks a unix socket file it created, frees itself after the
 * handle closes (the loop must run once more). */
void listener_close(listener *l);
/* Acknowledges at once what the peer sent on an accepted TCP stream (Linux's
 * TCP_QUICKACK; nothing elsewhere, or on unix sockets). For a message we answer with
 * nothing: the peer's next small write, held by Nagle's algorithm until that ack, then
 * does not wait for the delayed ack's 40 ms. */
void listener_ack_now(uv_stream_t *stream);

#endif
