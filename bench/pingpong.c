/* pingpong.c - one client, synchronous calls: mpx dict set/get against a raw TCP
 * ping-pong of the same frame sizes, measured in the same run.
 *
 * The raw ping-pong is the floor any request/reply protocol pays on this machine (two
 * syscalls and a loopback round trip per call); the ratio mpx/raw says how much of the
 * rest mpx costs. Usage: pingpong MPX_MANAGER_BIN [REQUESTS]
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "codec.h"
#include "mpx.h"

static int read_full(int fd, void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Echo server: answers each frame of req_size bytes with reply_size bytes. */
static void echo_serve(int lfd, size_t req_size, size_t reply_size)
{
    int fd = accept(lfd, NULL, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char *buf = calloc(1, req_size + reply_size);
    while (read_full(fd, buf, req_size) == 0)
        if (write(fd, buf, reply_size) != (ssize_t)reply_size)
            break;
    _exit(0);
}

static double raw_pingpong(size_t req_size, size_t reply_size, long n)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    socklen_t salen = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0)
        bench_die("listen");
    pid_t pid = fork();
    if (pid == 0)
        echo_serve(lfd, req_size, reply_size);
    close(lfd);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        bench_die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char *buf = calloc(1, req_size + reply_size);
    double t0 = bench_now_s();
    for (long i = 0; i < n; i++)
        if (write(fd, buf, req_size) != (ssize_t)req_size || read_full(fd, buf, reply_size))
            bench_die("pingpong");
    double rate = (double)n / (bench_now_s() - t0);
    close(fd);
    waitpid(pid, NULL, 0);
    free(buf);
    return rate;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pingpong MPX_MANAGER_BIN [REQUESTS]\n");
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 50000;
    bench_manager m;
    bench_manager_start(&m, argv[1], 0);

    mpx_client *c;
    mpx_dict *d;
    if (mpx_client_connect(m.address, m.key, m.keylen, NULL, &c) != MPX_OK ||
        mpx_dict_create(c, NULL, &d) != MPX_OK) {
        fprintf(stderr, "bench: %s\n", c ? mpx_client_errmsg(c) : "no memory");
        return 1;
    }
    mpx_value k, v, out;
    mpx_value_str(&k, "key:000000000001"); /* 16-byte key and value, as redis-benchmark */
    mpx_value_str(&v, "value:0000000001");

    double t0 = bench_now_s();
    for (long i = 0; i < n; i++)
        if (mpx_dict_setitem(d, &k, &v) != MPX_OK)
            bench_die("setitem");
    double set_rate = (double)n / (bench_now_s() - t0);
    t0 = bench_now_s();
    for (long i = 0; i < n; i++) {
        if (mpx_dict_getitem(d, &k, &out) != MPX_OK)
            bench_die("getitem");
        mpx_value_free(&out);
    }
    double get_rate = (double)n / (bench_now_s() - t0);

    /* the same frame sizes for the floor: a __setitem__ request and its empty reply */
    mpx_value args[2] = {k, v};
    uint8_t *req_buf;
    size_t req_len;
    if (codec_request_encode((uint64_t)n, 1, "__setitem__", args, 2, false, 0, &req_buf,
                             &req_len) != MPX_OK)
        bench_die("encode");
    free(req_buf);
    double raw_rate = raw_pingpong(req_len + 4, 4 + 2, n);

    printf("%-28s %12s %10s\n", "test (1 client, sync)", "ops/s", "vs raw");
    printf("%-28s %12.0f %10.2f\n", "raw TCP ping-pong", raw_rate, 1.0);
    printf("%-28s %12.0f %10.2f\n", "mpx dict __setitem__", set_rate, set_rate / raw_rate);
    printf("%-28s %12.0f %10.2f\n", "mpx dict __getitem__", get_rate, get_rate / raw_rate);

    mpx_value_free(&k);
    mpx_value_free(&v);
    mpx_dict_close(d);
    mpx_client_close(c);
    bench_manager_stop(&m);
    return 0;
}
