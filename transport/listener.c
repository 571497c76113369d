/* listener.c - see listener.h. One libuv handle per address; accepted streams are handed
 * over already configured (TCP_NODELAY, keepalive), with a printable peer name. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"
#include "mpx/error.h"

/* A peer host that vanishes is noticed after about idle + interval * count seconds. */
#define KEEPALIVE_IDLE_S 10
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3

struct listener {
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_handle_t handle;
        uv_stream_t stream;
    } h;
    addr_scheme scheme;
    char path[108]; /* the unix socket file to remove on close */
    listener_accept_cb cb;
    void *data;
};

static void peer_name(listener *l, uv_stream_t *client, char *buf, size_t size)
{
    if (l->scheme == ADDR_UNIX) {
        snprintf(buf, size, "unix");
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[INET6_ADDRSTRLEN + 1] = "?", port[8] = "?";
    if (uv_tcp_getpeername((uv_tcp_t *)client, (struct sockaddr *)&ss, &len) == 0)
        getnameinfo((struct sockaddr *)&ss, (socklen_t)len, host, sizeof host, port,
                    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(buf, size, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

static void free_on_close(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
    listener *l = server->data;
    if (status < 0)
        return;
    uv_stream_t *client;
    if (l->scheme == ADDR_TCP) {
        uv_tcp_t *tcp = malloc(sizeof *tcp);
        if (tcp == NULL || uv_tcp_init(server->loop, tcp) != 0) {
            free(tcp);
            return;
        }
        client = (uv_stream_t *)tcp;
    } else {
        uv_pipe_t *pipe = malloc(sizeof *pipe);
        if (pipe == NULL || uv_pipe_init(server->loop, pipe, 0) != 0) {
            free(pipe);
            return;
        }
        client = (uv_stream_t *)pipe;
    }
    if (uv_accept(server, client) != 0) {
        uv_close((uv_handle_t *)client, free_on_close);
        return;
    }
    if (l->scheme == ADDR_TCP) {
        uv_tcp_nodelay((uv_tcp_t *)client, 1);
        uv_tcp_keepalive((uv_tcp_t *)client, 1, KEEPALIVE_IDLE_S);
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)client, &fd) == 0) {
            int interval = KEEPALIVE_INTERVAL_S, count = KEEPALIVE_COUNT;
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
        }
    }
    char peer[64];
    peer_name(l, client, peer, sizeof peer);
    l->cb(l, client, peer, l->data);
}

static int fail(char *err, size_t errlen, int code, const char *fmt, const char *a,
                const char *b)
{
    snprintf(err, errlen, fmt, a, b);
    return code;
}

static int bind_tcp(listener *l, uv_loop_t *loop, const mpx_address *a, mpx_address *bound,
                    char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    char port[8];
    snprintf(port, sizeof port, "%u", a->port);
    int gai = getaddrinfo(a->host, port, &hints, &res);
    if (gai != 0)
        return fail(err, errlen, MPX_EADDR, "cannot resolve '%s': %s", a->host,
                    gai_strerror(gai));
    uv_tcp_init(loop, &l->h.tcp);
    unsigned flags = res->ai_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
    int rc = uv_tcp_bind(&l->h.tcp, res->ai_addr, flags);
    freeaddrinfo(res);
    if (rc != 0)
        return fail(err, errlen, MPX_EIO, "bind %s: %s", a->host, uv_strerror(rc));
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (bound != NULL && uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&ss, &len) == 0) {
        *bound = *a;
        bound->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                      : ((struct sockaddr_in *)&ss)->sin_port);
    }
    return MPX_OK;
}

/* A socket file nobody accepts on (a crashed manager's) may be replaced; a live one not. */
static int socket_is_live(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int live = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
    close(fd);
    return live;
}

static int bind_unix(listener *l, uv_loop_t *loop, const mpx_address *a, mpx_address *bound,
                     char *err, size_t errlen)
{
    struct stat st;
    if (lstat(a->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail(err, errlen, MPX_EADDR, "%s exists and is not a socket%s", a->path,
                        "");
        if (socket_is_live(a->path))
            return fail(err, errlen, MPX_EADDR, "%s is in use by a running server%s",
                        a->path, "");
        unlink(a->path);
    }
    uv_pipe_init(loop, &l->h.pipe, 0);
    int rc = uv_pipe_bind(&l->h.pipe, a->path);
    if (rc != 0)
        return fail(err, errlen, MPX_EIO, "bind %s: %s", a->path, uv_strerror(rc));
    snprintf(l->path, sizeof l->path, "%s", a->path);
    if (bound != NULL)
        *bound = *a;
    return MPX_OK;
}

int listener_open(uv_loop_t *loop, const mpx_address *a, int backlog, listener_accept_cb cb,
                  void *data, listener **out, mpx_address *bound, char *err, size_t errlen)
{
    *out = NULL;
    listener *l = calloc(1, sizeof *l);
    if (l == NULL)
        return fail(err, errlen, MPX_ENOMEM, "out of memory%s%s", "", "");
    l->scheme = a->scheme;
    l->cb = cb;
    l->data = data;
    l->h.handle.data = l;
    int rc = a->scheme == ADDR_UNIX ? bind_unix(l, loop, a, bound, err, errlen)
                                    : bind_tcp(l, loop, a, bound, err, errlen);
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
