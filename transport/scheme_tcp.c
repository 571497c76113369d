/* scheme_tcp.c - tcp://HOST:PORT and tls://HOST:PORT (scheme.h), whose sockets are the
 * same (tls.h puts TLS over them): names resolved at connect and bind time,
 * every resolved address tried in turn on connect, the first one bound (as Python's
 * SocketListener binds the one it is given), TCP_NODELAY and keepalive on every stream.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mpx/error.h"
#include "scheme.h"
#include "sock.h"

/* The stream addresses of a (getaddrinfo with flags); MPX_EADDR with the reason when the
 * name does not resolve. */
static int resolve(const mpx_address *a, int flags, struct addrinfo **res, char *err,
                   size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC,
                             .ai_flags = flags};
    char port[8];
    snprintf(port, sizeof port, "%u", a->port);
    int gai = getaddrinfo(a->host, port, &hints, res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve '%s': %s", a->host, gai_strerror(gai));
        return MPX_EADDR;
    }
    return MPX_OK;
}

static int tcp_connect(const mpx_address *a, int64_t deadline, int *fd_out, char *err,
                       size_t errlen)
{
    struct addrinfo *res;
    if (resolve(a, 0, &res, err, errlen) != MPX_OK)
        return MPX_EADDR;
    int rc = MPX_EIO, e = 0;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        rc = sock_connect_to(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline, fd_out, &e);
        if (rc == MPX_OK || rc == MPX_ETIMEOUT)
            break;
    }
    freeaddrinfo(res);
    if (rc != MPX_OK)
        snprintf(err, errlen, "%s:%u: %s", a->host, a->port, strerror(e));
    return rc;
}

static int tcp_listen(const mpx_address *a, int backlog, int *fd_out, mpx_address *bound,
                      char *err, size_t errlen)
{
    struct addrinfo *res;
    if (resolve(a, AI_PASSIVE, &res, err, errlen) != MPX_OK)
        return MPX_EADDR;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0) {
        freeaddrinfo(res);
        return sock_listen_fail(err, errlen, MPX_EIO, -1, "socket for", a->host);
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0)
        return sock_listen_fail(err, errlen, errno == EADDRINUSE ? MPX_EADDR : MPX_EIO, fd,
                                "bind", a->host);
    if (listen(fd, backlog) != 0)
        return sock_listen_fail(err, errlen, MPX_EIO, fd, "listen on", a->host);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN + 1], serv[NI_MAXSERV]; /* numeric: fits bound->host */
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return sock_listen_fail(err, errlen, MPX_EIO, fd, "getsockname of", a->host);
    *bound = *a;
    snprintf(bound->host, sizeof bound->host, "%s", host);
    bound->port = (uint16_t)atoi(serv);
    *fd_out = fd;
    return MPX_OK;
}

static int tcp_stream_init(uv_loop_t *loop, transport_stream *s)
{
    return uv_tcp_init(loop, &s->tcp);
}

static int tcp_stream_open(transport_stream *s, int fd)
{
    return uv_tcp_open(&s->tcp, fd);
}

static int tcp_bind(uv_loop_t *loop, transport_stream *s, const mpx_address *a,
                    mpx_address *bound, char *err, size_t errlen)
{
    struct addrinfo *res;
    if (resolve(a, AI_PASSIVE, &res, err, errlen) != MPX_OK)
        return MPX_EADDR;
    uv_tcp_init(loop, &s->tcp);
    unsigned flags = res->ai_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
    int rc = uv_tcp_bind(&s->tcp, res->ai_addr, flags);
    freeaddrinfo(res);
    if (rc != 0) {
        snprintf(err, errlen, "bind %s: %s", a->host, uv_strerror(rc));
        return MPX_EIO;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (bound != NULL && uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&ss, &len) == 0) {
        *bound = *a;
        bound->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                      : ((struct sockaddr_in *)&ss)->sin_port);
    }
    return MPX_OK;
}

static void tcp_accepted(uv_stream_t *client)
{
    uv_tcp_nodelay((uv_tcp_t *)client, 1);
    uv_tcp_keepalive((uv_tcp_t *)client, 1, TRANSPORT_KEEPALIVE_IDLE_S);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)client, &fd) == 0) {
        int interval = TRANSPORT_KEEPALIVE_INTERVAL_S, count = TRANSPORT_KEEPALIVE_COUNT;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    }
}

static void tcp_peer_name(uv_stream_t *client, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char host[INET6_ADDRSTRLEN + 1] = "?", port[8] = "?";
    if (uv_tcp_getpeername((uv_tcp_t *)client, (struct sockaddr *)&ss, &len) == 0)
        getnameinfo((struct sockaddr *)&ss, (socklen_t)len, host, sizeof host, port,
                    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(buf, size, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

const transport_scheme scheme_tcp = {
    .name = "tcp",
    .connect = tcp_connect,
    .listen = tcp_listen,
    .stream_init = tcp_stream_init,
    .stream_open = tcp_stream_open,
    .bind = tcp_bind,
    .accepted = tcp_accepted,
    .peer_name = tcp_peer_name,
};

const transport_scheme scheme_tls = {
    .name = "tls",
    .connect = tcp_connect,
    .listen = tcp_listen,
    .stream_init = tcp_stream_init,
    .stream_open = tcp_stream_open,
    .bind = tcp_bind,
    .accepted = tcp_accepted,
    .peer_name = tcp_peer_name,
    .tls = true,
};
