/* listener.c - see listener.h. One libuv handle per address, bound by its scheme's table
 * (scheme.h); accepted streams are handed over configured by the scheme (TCP_NODELAY,
 * keepalive), with a printable peer name. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"
#include "mpx/error.h"
#include "scheme.h"

struct listener {
    transport_stream h;
    const transport_scheme *scheme;
    char path[108]; /* the file its scheme left, to remove on close */
    listener_accept_cb cb;
    void *data;
};

static void free_on_close(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
    listener *l = server->data;
    if (status < 0)
        return;
    transport_stream *client = malloc(sizeof *client);
    if (client == NULL || l->scheme->stream_init(server->loop, client) != 0) {
        free(client);
        return;
    }
    if (uv_accept(server, &client->stream) != 0) {
        uv_close(&client->handle, free_on_close);
        return;
    }
    l->scheme->accepted(&client->stream);
    char peer[64];
    l->scheme->peer_name(&client->stream, peer, sizeof peer);
    l->cb(l, &client->stream, peer, l->data);
}

static int fail(char *err, size_t errlen, int code, const char *fmt, const char *a,
                const char *b)
{
    snprintf(err, errlen, fmt, a, b);
    return code;
}

int listener_open(uv_loop_t *loop, const mpx_address *a, int backlog, listener_accept_cb cb,
                  void *data, listener **out, mpx_address *bound, char *err, size_t errlen)
{
    *out = NULL;
    listener *l = calloc(1, sizeof *l);
    if (l == NULL)
        return fail(err, errlen, MPX_ENOMEM, "out of memory%s%s", "", "");
    l->scheme = transport_scheme_of(a);
    l->cb = cb;
    l->data = data;
    l->h.handle.data = l;
    int rc = l->scheme->bind(loop, &l->h, a, bound, err, errlen);
    if (rc == MPX_OK && l->scheme->leaves_file)
        snprintf(l->path, sizeof l->path, "%s", a->path);
    if (rc == MPX_OK) {
        int lrc = uv_listen(&l->h.stream, backlog, on_connection);
        if (lrc != 0)
            rc = fail(err, errlen, MPX_EIO, "listen: %s%s", uv_strerror(lrc), "");
    }
    if (rc != MPX_OK) {
        if (uv_handle_get_type(&l->h.handle) != UV_UNKNOWN_HANDLE)
            uv_close(&l->h.handle, free_on_close);
        else
            free(l);
        return rc;
    }
    *out = l;
    return MPX_OK;
}

bool listener_is_tls(const listener *l)
{
    return l->scheme->tls;
}

void listener_close(listener *l)
{
    if (l->path[0] != '\0')
        unlink(l->path);
    uv_close(&l->h.handle, free_on_close);
}

void listener_ack_now(uv_stream_t *stream)
{
#ifdef TCP_QUICKACK
    uv_os_fd_t fd;
    int on = 1;
    if (stream->type == UV_TCP && uv_fileno((uv_handle_t *)stream, &fd) == 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
#else
    (void)stream;
#endif
}
