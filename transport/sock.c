/* sock.c - blocking sockets with deadlines, for the proxy side and the connection API.
 *
 * Every wait goes through poll() against an absolute monotonic deadline, so a call never
 * blocks longer than its caller allowed, whatever the peer does. Sends use MSG_NOSIGNAL:
 * a vanished peer is an MPX_EIO result, never a SIGPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "mpx/error.h"
#include "scheme.h"
#include "sock.h"
#include "tls.h"

#define RECV_CHUNK ((size_t)64 << 10) /* sock_recv_frame's first buffer, at most */

int64_t sock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sock_deadline(int64_t timeout_ms)
{
    return timeout_ms < 0 ? -1 : sock_now_ms() + timeout_ms;
}

/* Waits for events on fd until the deadline: MPX_OK, MPX_ETIMEOUT or MPX_EIO. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - sock_now_ms();
            if (left <= 0)
                return MPX_ETIMEOUT;
            timeout = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, timeout);
        if (n > 0)
            return MPX_OK;
        if (n < 0 && errno != EINTR)
            return MPX_EIO;
    }
}

void sock_tune_tcp(int fd)
{
    int one = 1, idle = TRANSPORT_KEEPALIVE_IDLE_S, intvl = TRANSPORT_KEEPALIVE_INTERVAL_S,
        cnt = TRANSPORT_KEEPALIVE_COUNT;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

int sock_connect_to(int family, const struct sockaddr *sa, socklen_t len, int64_t deadline,
                       int *fd_out, int *err_out)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *err_out = errno;
        return MPX_EIO;
    }
    int rc = connect(fd, sa, len);
    if (rc != 0 && errno == EINPROGRESS) {
        rc = wait_fd(fd, POLLOUT, deadline);
        if (rc != MPX_OK) {
            *err_out = rc == MPX_ETIMEOUT ? ETIMEDOUT : errno;
            close(fd);
            return rc;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) {
            *err_out = soerr;
            close(fd);
            return MPX_EIO;
        }
    } else if (rc != 0) {
        *err_out = errno;
        close(fd);
        return MPX_EIO;
    }
    if (family != AF_UNIX)
        sock_tune_tcp(fd);
    *fd_out = fd;
    return MPX_OK;
}

int sock_connect(const mpx_address *a, int64_t deadline, int *fd_out, char *err,
                 size_t errlen)
{
    return transport_scheme_of(a)->connect(a, deadline, fd_out, err, errlen);
}

static int write_iov(int fd, struct iovec *iov, int iovcnt, int64_t deadline)
{
    while (iovcnt > 0) {
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return MPX_EIO;
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc != MPX_OK)
                return rc;
            continue;
        }
        size_t done = (size_t)n;
        while (iovcnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return MPX_OK;
}

int sock_write_all(int fd, const void *buf, size_t len, int64_t deadline)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    return write_iov(fd, &iov, 1, deadline);
}

int sock_read_all(int fd, void *buf, size_t len, int64_t deadline)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0)
            return MPX_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return MPX_EIO;
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc != MPX_OK)
            return rc;
    }
    return MPX_OK;
}

int sock_send_frame(int fd, const void *payload, size_t len, int64_t deadline)
{
    uint8_t hdr[FRAME_HEADER_MAX];
    struct iovec iov[2] = {
        {.iov_base = hdr, .iov_len = frame_header_encode(len, hdr)},
        {.iov_base = (void *)payload, .iov_len = len},
    };
    return write_iov(fd, iov, len > 0 ? 2 : 1, deadline);
}

int sock_recv_frame(int fd, size_t max, uint8_t **payload, size_t *len, int64_t deadline)
{
    uint8_t hdr[8];
    *payload = NULL;
    int rc = sock_read_all(fd, hdr, 4, deadline);
    if (rc != MPX_OK)
        return rc;
    int32_t n32 = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
                            (uint32_t)hdr[2] << 8 | hdr[3]);
    uint64_t n = (uint64_t)n32;
    if (n32 == -1) {
        if ((rc = sock_read_all(fd, hdr, 8, deadline)) != MPX_OK)
            return rc;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | hdr[i];
    } else if (n32 < 0) {
        return MPX_EPROTO;
    }
    if (n > max)
        return MPX_ETOOBIG;
    /* The buffer grows with the bytes that came (doubling from RECV_CHUNK, never past the
     * frame), as the manager's frame reader does: a peer announcing max bytes and sending
     * ten costs one chunk, not max. */
    size_t want = (size_t)n, cap = want < RECV_CHUNK ? want : RECV_CHUNK, got = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (buf == NULL)
        return MPX_ENOMEM;
    while (got < want) {
        if (got == cap) {
            size_t grown = cap > want / 2 ? want : 2 * cap;
            uint8_t *p = realloc(buf, grown);
            if (p == NULL) {
                free(buf);
                return MPX_ENOMEM;
            }
            buf = p;
            cap = grown;
        }
        if ((rc = sock_read_all(fd, buf + got, cap - got, deadline)) != MPX_OK) {
            free(buf);
            return rc;
        }
        got = cap;
    }
    *payload = buf;
    *len = want;
    return MPX_OK;
}

int sock_poll_readable(int fd, int64_t deadline, bool *ready)
{
    *ready = false;
    for (;;) {
        int timeout = 0;
        if (deadline < 0) {
            timeout = -1;
        } else {
            int64_t left = deadline - sock_now_ms();
            if (left > 0)
                timeout = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, timeout);
        if (n > 0) {
            *ready = true; /* POLLIN, or POLLHUP/POLLERR: a read will say which */
            return MPX_OK;
        }
        if (n < 0 && errno != EINTR)
            return MPX_EIO;
        if (n == 0 && timeout >= 0 && (timeout == 0 || sock_now_ms() >= deadline))
            return MPX_OK;
    }
}

int sock_recv_avail(int fd, void *buf, size_t cap, int64_t deadline, size_t *got)
{
    *got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
        if (n > 0) {
            *got = (size_t)n;
            return MPX_OK;
        }
        if (n == 0)
            return MPX_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return MPX_EIO;
        bool ready;
        if (sock_poll_readable(fd, deadline, &ready) != MPX_OK)
            return MPX_EIO;
        if (!ready)
            return MPX_ETIMEOUT;
    }
}

int sock_listen_fail(char *err, size_t errlen, int code, int fd, const char *what,
                     const char *where)
{
    snprintf(err, errlen, "%s %s: %s", what, where, strerror(errno));
    if (fd >= 0)
        close(fd);
    return code;
}

int sock_listen(const mpx_address *a, int backlog, int *fd_out, mpx_address *bound,
                char *err, size_t errlen)
{
    *fd_out = -1;
    return transport_scheme_of(a)->listen(a, backlog, fd_out, bound, err, errlen);
}

int sock_accept(int listen_fd, int64_t deadline, int *fd_out)
{
    *fd_out = -1;
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            int domain = AF_UNIX;
            socklen_t len = sizeof domain;
            getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
            if (domain != AF_UNIX)
                sock_tune_tcp(fd);
            *fd_out = fd;
            return MPX_OK;
        }
        /* A peer that gave up between the SYN and our accept is not our failure. */
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return MPX_EIO;
        int rc = wait_fd(listen_fd, POLLIN, deadline);
        if (rc != MPX_OK)
            return rc;
    }
}

int sock_set_blocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        return MPX_EIO;
    return MPX_OK;
}

/* Makes the socket's receive timeout end no later than left_ms from now. */
static int bound_recv_timeout(int fd, int64_t left_ms, int64_t *timeo_ms)
{
    /* No deadline, or a timeout set that ends sooner: recv may only wake up early, and
     * the caller's loop goes round again. */
    if (left_ms < 0 || (*timeo_ms > 0 && *timeo_ms <= left_ms))
        return MPX_OK;
    struct timeval tv = {.tv_sec = left_ms / 1000, .tv_usec = (left_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        return MPX_EIO;
    *timeo_ms = left_ms;
    return MPX_OK;
}

int sock_recv_some(int fd, void *buf, size_t cap, int64_t deadline, int64_t *timeo_ms,
                   size_t *got)
{
    for (;;) {
        int64_t left = -1;
        if (deadline >= 0) {
            left = deadline - sock_now_ms();
            if (left <= 0)
                return MPX_ETIMEOUT;
        }
        if (bound_recv_timeout(fd, left, timeo_ms) != MPX_OK)
            return MPX_EIO;
        ssize_t n = recv(fd, buf, cap, 0);
        if (n > 0) {
            *got = (size_t)n;
            return MPX_OK;
        }
        if (n == 0)
            return MPX_ECLOSED;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            return MPX_EIO;
    }
}

/* ---- links ------------------------------------------------------------------------------- */

int link_write_all(const sock_link *l, const void *buf, size_t len, int64_t deadline)
{
    return l->tls != NULL ? tls_write_fd(l->tls, l->fd, buf, len, deadline)
                          : sock_write_all(l->fd, buf, len, deadline);
}

int link_send_frame(const sock_link *l, const void *payload, size_t len, int64_t deadline)
{
    if (l->tls == NULL)
        return sock_send_frame(l->fd, payload, len, deadline);
    frame_buf b = {0};
    uint8_t *at = frame_buf_add(&b, len);
    int rc = at == NULL ? MPX_ENOMEM : MPX_OK;
    if (rc == MPX_OK) {
        memcpy(at, payload, len);
        rc = tls_write_fd(l->tls, l->fd, b.data, b.len, deadline);
    }
    frame_buf_free(&b);
    return rc;
}

static int tls_read_all(const sock_link *l, uint8_t *buf, size_t len, int64_t deadline)
{
    while (len > 0) {
        size_t got;
        int rc = tls_recv_fd(l->tls, l->fd, buf, len, deadline, &got);
        if (rc != MPX_OK)
            return rc;
        buf += got;
        len -= got;
    }
    return MPX_OK;
}

int link_recv_frame(const sock_link *l, size_t max, uint8_t **payload, size_t *len,
                    int64_t deadline)
{
    if (l->tls == NULL)
        return sock_recv_frame(l->fd, max, payload, len, deadline);
    uint8_t hdr[FRAME_HEADER_MAX];
    int rc = tls_read_all(l, hdr, 4, deadline);
    int32_t n = (int32_t)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
                          (uint32_t)hdr[2] << 8 | hdr[3]);
    uint64_t size = n >= 0 ? (uint64_t)n : 0;
    if (rc == MPX_OK && n == -1 && (rc = tls_read_all(l, hdr + 4, 8, deadline)) == MPX_OK)
        for (int i = 4; i < 12; i++)
            size = size << 8 | hdr[i];
    if (rc == MPX_OK && (n < -1 || size > max))
        rc = n < -1 ? MPX_EPROTO : MPX_ETOOBIG;
    if (rc != MPX_OK)
        return rc;
    uint8_t *p = malloc(size > 0 ? size : 1); /* at most max: the caller's bound */
    if (p == NULL)
        return MPX_ENOMEM;
    if ((rc = tls_read_all(l, p, size, deadline)) != MPX_OK) {
        free(p);
        return rc;
    }
    *payload = p;
    *len = size;
    return MPX_OK;
}

int link_recv_some(const sock_link *l, void *buf, size_t cap, int64_t deadline,
                   int64_t *timeo_ms, size_t *got)
{
    if (l->tls == NULL)
        return sock_recv_some(l->fd, buf, cap, deadline, timeo_ms, got);
    return tls_recv_fd(l->tls, l->fd, buf, cap, deadline, got);
}
