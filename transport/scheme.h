/* scheme.h - one table of operations per address scheme, found by the address (NNG's
 * transports): the one place where tcp:// and unix:// differ.
 *
 * Blocking sockets (sock.c), the manager's libuv listeners (listener.c), the async client
 * (proxy/async.c) and the connection API (process/connection.c) ask the table of their
 * address and never switch on the scheme; a new scheme is one more table. The address is
 * parsed (address.c) before any of these run.
 */
#ifndef MPX_TRANSPORT_SCHEME_H
#define MPX_TRANSPORT_SCHEME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "address.h"

/* Room for a libuv stream of any scheme (set up by stream_init or bind). */
typedef union transport_stream {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_handle_t handle;
    uv_stream_t stream;
} transport_stream;

typedef struct transport_scheme {
    const char *name; /* "tcp", "unix" */
    /* Blocking (sock.h's contracts): connect until the deadline; bind and listen, with
     * the address really bound in *bound. */
    int (*connect)(const mpx_address *a, int64_t deadline, int *fd, char *err, size_t errlen);
    int (*listen)(const mpx_address *a, int backlog, int *fd, mpx_address *bound, char *err,
                  size_t errlen);
    /* libuv: an unconnected stream of this scheme in s; one over a connected fd. 0 or a
     * libuv error. */
    int (*stream_init)(uv_loop_t *loop, transport_stream *s);
    int (*stream_open)(transport_stream *s, int fd);
    /* libuv: s made and bound to a, ready for uv_listen; MPX_OK, MPX_EADDR, MPX_EIO (err). */
    int (*bind)(uv_loop_t *loop, transport_stream *s, const mpx_address *a, mpx_address *bound,
                char *err, size_t errlen);
    /* An accepted stream's options (TCP_NODELAY, keepalive), and its printable peer. */
    void (*accepted)(uv_stream_t *client);
    void (*peer_name)(uv_stream_t *client, char *buf, size_t size);
    /* Listening leaves a file at a->path, for whoever made it to remove. */
    bool leaves_file;
    /* The stream carries TLS records (tls.h) over these sockets: tls:// is tcp's table
     * with this set. */
    bool tls;
} transport_scheme;

extern const transport_scheme scheme_tcp;
extern const transport_scheme scheme_unix;
extern const transport_scheme scheme_tls;

/* The table of a's scheme. */
const transport_scheme *transport_scheme_of(const mpx_address *a);

/* A peer host that vanishes is noticed after about idle + interval * count seconds. */
#define TRANSPORT_KEEPALIVE_IDLE_S 10
#define TRANSPORT_KEEPALIVE_INTERVAL_S 5
#define TRANSPORT_KEEPALIVE_COUNT 3

#endif
