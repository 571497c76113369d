/* scheme_unix.c - unix:///PATH (scheme.h): a blocking listener never replaces a path
 * that exists (as Python's); the manager's replaces a stale socket file (a crashed
 * manager's) but never a live one, and removes the file it made when it closes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mpx/error.h"
#include "scheme.h"
#include "sock.h"

static int unix_connect(const mpx_address *a, int64_t deadline, int *fd_out, char *err,
                        size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", a->path);
    int e = 0;
    int rc = sock_connect_to(AF_UNIX, (struct sockaddr *)&sun, sizeof sun, deadline, fd_out,
                             &e);
    if (rc != MPX_OK)
        snprintf(err, errlen, "%s: %s", a->path, strerror(e));
    return rc;
}

static int unix_listen(const mpx_address *a, int backlog, int *fd_out, mpx_address *bound,
                       char *err, size_t errlen)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return sock_listen_fail(err, errlen, MPX_EIO, -1, "socket for", a->path);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", a->path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
        return sock_listen_fail(err, errlen, errno == EADDRINUSE ? MPX_EADDR : MPX_EIO, fd,
                                "bind", a->path);
    if (listen(fd, backlog) != 0) {
        int e = errno;
        unlink(a->path); /* bound by us a moment ago */
        errno = e;
        return sock_listen_fail(err, errlen, MPX_EIO, fd, "listen on", a->path);
    }
    *bound = *a;
    *fd_out = fd;
    return MPX_OK;
}

static int unix_stream_init(uv_loop_t *loop, transport_stream *s)
{
    return uv_pipe_init(loop, &s->pipe, 0);
}

static int unix_stream_open(transport_stream *s, int fd)
{
    return uv_pipe_open(&s->pipe, fd);
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

static int unix_bind(uv_loop_t *loop, transport_stream *s, const mpx_address *a,
                     mpx_address *bound, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(a->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", a->path);
            return MPX_EADDR;
        }
        if (socket_is_live(a->path)) {
            snprintf(err, errlen, "%s is in use by a running server", a->path);
            return MPX_EADDR;
        }
        unlink(a->path);
    }
    uv_pipe_init(loop, &s->pipe, 0);
    int rc = uv_pipe_bind(&s->pipe, a->path);
    if (rc != 0) {
        snprintf(err, errlen, "bind %s: %s", a->path, uv_strerror(rc));
        return MPX_EIO;
    }
    if (bound != NULL)
        *bound = *a;
    return MPX_OK;
}

static void unix_accepted(uv_stream_t *client)
{
    (void)client;
}

static void unix_peer_name(uv_stream_t *client, char *buf, size_t size)
{
    (void)client;
    snprintf(buf, size, "unix");
}

const transport_scheme scheme_unix = {
    .name = "unix",
    .connect = unix_connect,
    .listen = unix_listen,
    .stream_init = unix_stream_init,
    .stream_open = unix_stream_open,
    .bind = unix_bind,
    .accepted = unix_accepted,
    .peer_name = unix_peer_name,
    .leaves_file = true,
};
