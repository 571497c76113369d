/* test_frame.c - transport/frame.c and the framed socket calls: headers as Python's
 * multiprocessing.connection writes them, partial reads, limits checked before any
 * allocation, a buffer that grows with the bytes received rather than the length announced,
 * the socket paths (timeout, EOF, oversized, a buffer that grows with the bytes there too),
 * and stream_out's cutting of a batch into uv_buf_t pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "mpx/error.h"
#include "sock.h"
#include "stream_out.h"

static void test_header_encode(void **state)
{
    (void)state;
    uint8_t h[FRAME_HEADER_MAX];
    assert_int_equal(frame_header_encode(5, h), 4);
    assert_memory_equal(h, "\x00\x00\x00\x05", 4);
    assert_int_equal(frame_header_encode(0x7fffffff, h), 4);
    assert_memory_equal(h, "\x7f\xff\xff\xff", 4);
    /* 2 GiB and more: -1, then the length as 8 bytes (Python's "!i" -1 + "!Q") */
    assert_int_equal(frame_header_encode(0x80000000ULL, h), 12);
    assert_memory_equal(h, "\xff\xff\xff\xff\x00\x00\x00\x00\x80\x00\x00\x00", 12);
}

/* What the frame in progress lacks: a reader that reads no further asks for exactly it. */
static void test_missing(void **state)
{
    (void)state;
    frame_reader r;
    frame_reader_init(&r, 100);
    assert_int_equal(frame_reader_missing(&r), 4);
    assert_int_equal(frame_reader_feed(&r, "\x00\x00", 2), MPX_OK);
    assert_int_equal(frame_reader_missing(&r), 2);
    assert_int_equal(frame_reader_feed(&r, "\x00\x05" "ab", 4), MPX_OK);
    assert_int_equal(frame_reader_missing(&r), 3);
    assert_int_equal(frame_reader_feed(&r, "cde", 3), MPX_OK);
    assert_int_equal(frame_reader_missing(&r), 0);
    const uint8_t *p;
    size_t len;
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    assert_int_equal(frame_reader_missing(&r), 4);
    /* a long header: 4 bytes, then the 8 of its length */
    assert_int_equal(frame_reader_feed(&r, "\xff\xff\xff\xff\x00", 5), MPX_OK);
    assert_int_equal(frame_reader_missing(&r), 7);
    assert_int_equal(frame_reader_feed(&r, "\x00\x00\x00\x00\x00\x00\x02", 7), MPX_OK);
    assert_int_equal(frame_reader_missing(&r), 2);
    assert_int_equal(frame_reader_feed(&r, "xy", 2), MPX_OK);
    assert_int_equal(frame_reader_missing(&r), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    assert_int_equal(len, 2);
    /* over the limit: nothing more to ask for, next() says why */
    assert_int_equal(frame_reader_feed(&r, "\x00\x00\x00\x65", 4), MPX_OK);
    assert_int_equal(frame_reader_missing(&r), 0);
    assert_int_equal(frame_reader_next(&r, &p, &len), MPX_ETOOBIG);
    frame_reader_free(&r);
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    frame_reader r;
    frame_reader_init(&r, 1024);
    const uint8_t wire[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 1, 'z'};
    const char *expect[] = {"abc", "", "z"};
    int got = 0;
    for (size_t i = 0; i < sizeof wire; i++) {
        assert_int_equal(frame_reader_feed(&r, &wire[i], 1), MPX_OK);
        const uint8_t *p;
        size_t len;
        int rc;
        while ((rc = frame_reader_next(&r, &p, &len)) == 1) {
            assert_int_equal(len, strlen(expect[got]));
            assert_memory_equal(p, expect[got], len);
            got++;
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(got, 3);
    frame_reader_free(&r);
}

static void test_many_in_one_feed_and_big_frame(void **state)
{
    (void)state;
    frame_reader r;
    frame_reader_init(&r, 1 << 20);
    size_t big = 300000;
    uint8_t *wire = malloc(4 * 100 + 100 * 2 + 4 + big);
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        n += frame_header_encode(2, wire + n);
        wire[n++] = (uint8_t)i;
        wire[n++] = (uint8_t)(i + 1);
    }
    n += frame_header_encode(big, wire + n);
    memset(wire + n, 0x5a, big);
    n += big;
    /* through reserve/commit in uneven chunks, as libuv delivers them */
    size_t off = 0, frames = 0;
    while (off < n) {
        uint8_t *ptr;
        size_t avail;
        assert_int_equal(frame_reader_reserve(&r, 7777, &ptr, &avail), MPX_OK);
        size_t take = n - off < 7777 ? n - off : 7777;
        take = take < avail ? take : avail;
        memcpy(ptr, wire + off, take);
        frame_reader_commit(&r, take);
        off += take;
        const uint8_t *p;
        size_t len;
        while (frame_reader_next(&r, &p, &len) == 1) {
            if (frames < 100) {
                assert_int_equal(len, 2);
                assert_int_equal(p[0], frames);
            } else {
                assert_int_equal(len, big);
                assert_int_equal(p[big - 1], 0x5a);
            }
            frames++;
        }
    }
    assert_int_equal(frames, 101);
    frame_reader_free(&r);
    free(wire);
}

static void test_limit_before_allocation(void **state)
{
    (void)state;
    frame_reader r;
    frame_reader_init(&r, 1 << 20);
    uint8_t h[FRAME_HEADER_MAX];
    size_t hn = frame_header_encode(1u << 30, h); /* announce 1 GiB */
    assert_int_equal(frame_reader_feed(&r, h, hn), MPX_OK);
    const uint8_t *p;
    size_t len;
    assert_int_equal(frame_reader_next(&r, &p, &len), MPX_ETOOBIG);
    uint8_t *ptr;
    size_t avail;
    assert_int_equal(frame_reader_reserve(&r, 65536, &ptr, &avail), MPX_OK);
    /* nothing of the announced size was allocated */
    assert_true(frame_reader_capacity(&r) < (1u << 20));
    frame_reader_free(&r);

    /* the 8-byte form is held to the same limit */
    frame_reader_init(&r, 1 << 20);
    hn = frame_header_encode(1ULL << 40, h);
    assert_int_equal(frame_reader_feed(&r, h, hn), MPX_OK);
    assert_int_equal(frame_reader_next(&r, &p, &len), MPX_ETOOBIG);
    frame_reader_free(&r);

    /* a negative length other than -1 is no frame at all */
    frame_reader_init(&r, 1 << 20);
    assert_int_equal(frame_reader_feed(&r, "\xff\xff\xff\xfe", 4), MPX_OK);
    assert_int_equal(frame_reader_next(&r, &p, &len), MPX_EPROTO);
    frame_reader_free(&r);

    /* the limit can tighten between frames (the 256-byte pre-auth limit) */
    frame_reader_init(&r, 256);
    hn = frame_header_encode(257, h);
    assert_int_equal(frame_reader_feed(&r, h, hn), MPX_OK);
    assert_int_equal(frame_reader_next(&r, &p, &len), MPX_ETOOBIG);
    frame_reader_free(&r);
}

/* sock_recv_avail and sock_poll_readable look once even with the deadline gone (a poll
 * of 0 s), wait when given time, and tell EOF from nothing yet. */
static void test_socket_avail_and_poll(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    bool ready = true;
    uint8_t buf[16];
    size_t got;
    assert_int_equal(sock_poll_readable(sv[1], sock_deadline(0), &ready), MPX_OK);
    assert_false(ready);
    int64_t t0 = sock_now_ms();
    assert_int_equal(sock_poll_readable(sv[1], sock_deadline(60), &ready), MPX_OK);
    assert_false(ready);
    assert_true(sock_now_ms() - t0 >= 55);
    assert_int_equal(sock_recv_avail(sv[1], buf, sizeof buf, sock_deadline(0), &got),
                     MPX_ETIMEOUT);
    assert_int_equal(sock_write_all(sv[0], "abcdef", 6, sock_deadline(1000)), MPX_OK);
    assert_int_equal(sock_poll_readable(sv[1], sock_deadline(0), &ready), MPX_OK);
    assert_true(ready);
    assert_int_equal(sock_recv_avail(sv[1], buf, 4, sock_deadline(0), &got), MPX_OK);
    assert_int_equal(got, 4); /* at most cap: the rest stays in the socket */
    assert_int_equal(sock_recv_avail(sv[1], buf, sizeof buf, -1, &got), MPX_OK);
    assert_int_equal(got, 2);
    assert_memory_equal(buf, "ef", 2);
    close(sv[0]);
    assert_int_equal(sock_poll_readable(sv[1], -1, &ready), MPX_OK);
    assert_true(ready); /* EOF is something to read */
    assert_int_equal(sock_recv_avail(sv[1], buf, sizeof buf, -1, &got), MPX_ECLOSED);
    close(sv[1]);
}

static void test_socket_frames(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(sock_send_frame(sv[0], "hello", 5, sock_deadline(1000)), MPX_OK);
    assert_int_equal(sock_send_frame(sv[0], "", 0, sock_deadline(1000)), MPX_OK);
    uint8_t *p;
    size_t len;
    assert_int_equal(sock_recv_frame(sv[1], 100, &p, &len, sock_deadline(1000)), MPX_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(p, "hello", 5);
    free(p);
    assert_int_equal(sock_recv_frame(sv[1], 100, &p, &len, sock_deadline(1000)), MPX_OK);
    assert_int_equal(len, 0);
    free(p);
    /* nothing sent: the deadline passes */
    assert_int_equal(sock_recv_frame(sv[1], 100, &p, &len, sock_deadline(50)), MPX_ETIMEOUT);
    /* oversized: refused from the header alone */
    assert_int_equal(sock_write_all(sv[0], "\x00\x10\x00\x00", 4, sock_deadline(1000)),
                     MPX_OK);
    assert_int_equal(sock_recv_frame(sv[1], 100, &p, &len, sock_deadline(1000)), MPX_ETOOBIG);
    /* EOF, also in the middle of a frame */
    assert_int_equal(sock_write_all(sv[0], "\x00\x00\x00\x09partial", 11, sock_deadline(1000)),
                     MPX_OK);
    close(sv[0]);
    assert_int_equal(sock_recv_frame(sv[1], 100, &p, &len, sock_deadline(1000)), MPX_ECLOSED);
    assert_int_equal(sock_recv_frame(sv[1], 100, &p, &len, sock_deadline(1000)), MPX_ECLOSED);
    /* writing to a closed peer is an error, not SIGPIPE */
    assert_int_equal(sock_send_frame(sv[1], "x", 1, sock_deadline(1000)), MPX_EIO);
    close(sv[1]);
}

/* A field of /proc/self/status in kB (VmPeak, VmSize), 0 when it cannot be read. */
static size_t status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0, n = strlen(field);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtoull(line + n + 1, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

/* sock_recv_frame, as the frame reader: a peer that announces 1 GiB and sends ten bytes
 * costs a chunk, not the announced length (an allocation shows in the process's peak
 * virtual size even when its pages are never touched); a frame larger than the first
 * chunk, written by another process in pieces as the socket takes them, arrives whole. */
static void test_socket_frame_grows_with_bytes(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    size_t peak0 = status_kb("VmPeak"), size0 = status_kb("VmSize");
    size_t before = peak0 > size0 ? peak0 : size0;
    assert_true(before > 0);
    uint8_t h[FRAME_HEADER_MAX];
    size_t hn = frame_header_encode((size_t)1 << 30, h);
    assert_int_equal(sock_write_all(sv[0], h, hn, sock_deadline(1000)), MPX_OK);
    assert_int_equal(sock_write_all(sv[0], "0123456789", 10, sock_deadline(1000)), MPX_OK);
    uint8_t *p = NULL;
    size_t len = 0;
    assert_int_equal(sock_recv_frame(sv[1], (size_t)2 << 30, &p, &len, sock_deadline(100)),
                     MPX_ETIMEOUT);
    size_t grew = status_kb("VmPeak") - before;
    printf("# 1 GiB announced, 10 bytes sent: peak virtual size grew %zu KiB\n", grew);
    assert_true(grew < (size_t)256 << 10); /* far below the 1 GiB (in KiB) announced */
    close(sv[0]);
    close(sv[1]);

    const size_t big = (size_t)3 << 20;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(sv[1]);
        uint8_t *data = malloc(big);
        for (size_t i = 0; data != NULL && i < big; i++)
            data[i] = (uint8_t)(i * 7 + i / 4096);
        int rc = data != NULL ? sock_send_frame(sv[0], data, big, sock_deadline(10000)) : -1;
        _exit(rc == MPX_OK ? 0 : 1);
    }
    close(sv[0]);
    assert_int_equal(sock_recv_frame(sv[1], big, &p, &len, sock_deadline(10000)), MPX_OK);
    assert_int_equal(len, big);
    size_t wrong = 0;
    for (size_t i = 0; i < big; i++)
        wrong += p[i] != (uint8_t)(i * 7 + i / 4096);
    assert_int_equal(wrong, 0);
    free(p);
    int status = -1;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(sv[1]);
}

/* A fresh reader has no buffer: asking it for a frame or for room must not do arithmetic
 * on its NULL pointer (UBSan's "applying zero offset to null pointer"). */
static void test_first_read(void **state)
{
    (void)state;
    frame_reader r;
    frame_reader_init(&r, 1024);
    const uint8_t *p;
    size_t len;
    assert_int_equal(frame_reader_next(&r, &p, &len), 0);
    assert_int_equal(frame_reader_capacity(&r), 0);
    uint8_t *ptr;
    size_t avail;
    assert_int_equal(frame_reader_reserve(&r, 65536, &ptr, &avail), MPX_OK);
    assert_true(avail >= 65536);
    memcpy(ptr, "\x00\x00\x00\x02hi", 6);
    frame_reader_commit(&r, 6);
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    assert_int_equal(len, 2);
    assert_memory_equal(p, "hi", 2);
    frame_reader_free(&r);

    /* and a freed reader is a fresh one */
    assert_int_equal(frame_reader_next(&r, &p, &len), 0);
    assert_int_equal(frame_reader_feed(&r, "\x00\x00\x00\x00", 4), MPX_OK);
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    assert_int_equal(len, 0);
    frame_reader_free(&r);
}

/* A peer that announces 64 MiB and sends 10 bytes costs kilobytes: the buffer grows with
 * what arrives (doubling, so the copies stay linear), up to the frame and not past it. */
static void test_buffer_grows_with_bytes_not_header(void **state)
{
    (void)state;
    const size_t big = FRAME_DEFAULT_MAX;
    frame_reader r;
    frame_reader_init(&r, FRAME_DEFAULT_MAX);
    uint8_t h[FRAME_HEADER_MAX];
    size_t hn = frame_header_encode(big, h);
    assert_int_equal(frame_reader_feed(&r, h, hn), MPX_OK);
    assert_int_equal(frame_reader_feed(&r, "0123456789", 10), MPX_OK);
    uint8_t *ptr;
    size_t avail;
    const uint8_t *p;
    size_t len;
    /* as libuv's alloc callback asks before each read */
    assert_int_equal(frame_reader_reserve(&r, 65536, &ptr, &avail), MPX_OK);
    assert_true(avail >= 65536);
    printf("# 64 MiB announced, 10 bytes sent: %zu bytes reserved\n",
           frame_reader_capacity(&r));
    assert_true(frame_reader_capacity(&r) <= (size_t)256 << 10);
    assert_int_equal(frame_reader_next(&r, &p, &len), 0);

    /* the rest, 64 KiB a read: the buffer stays within twice what has come, and ends the
     * size of the frame */
    size_t got = 10, peak = 0, last = 0;
    while (got < big) {
        assert_int_equal(frame_reader_reserve(&r, 65536, &ptr, &avail), MPX_OK);
        size_t take = big - got < 65536 ? big - got : 65536;
        take = take < avail ? take : avail;
        memset(ptr, (int)(got & 0xff), take);
        last = got;
        frame_reader_commit(&r, take);
        got += take;
        size_t cap = frame_reader_capacity(&r);
        assert_true(cap <= 2 * (hn + got) + ((size_t)128 << 10));
        peak = cap > peak ? cap : peak;
    }
    printf("# the whole 64 MiB frame: %zu bytes reserved at the peak\n", peak);
    assert_true(peak <= hn + big);
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    assert_int_equal(len, big);
    assert_memory_equal(p, "0123456789", 10);
    assert_int_equal(p[big - 1], (uint8_t)(last & 0xff));
    frame_reader_free(&r);
}

/* A batch is cut into uv_buf_t pieces whose lengths fit libuv's unsigned: over 4 GiB is
 * several pieces, never a truncated one. Checked with small pieces and by count alone. */
/* After a 2 MiB frame is served the buffer goes; a small one's, or one half read, stays. */
static void test_trim_gives_back_a_large_buffer(void **state)
{
    (void)state;
    frame_reader r;
    frame_reader_init(&r, 4 << 20);
    size_t big = (size_t)2 << 20;
    uint8_t *wire = calloc(1, big + 8);
    size_t n = frame_header_encode(big, wire);
    assert_int_equal(frame_reader_feed(&r, wire, n + big), MPX_OK);
    frame_reader_trim(&r); /* the frame is still unread */
    assert_true(frame_reader_capacity(&r) >= big);
    const uint8_t *p;
    size_t len;
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    assert_int_equal(len, big);
    frame_reader_trim(&r);
    assert_int_equal(frame_reader_capacity(&r), 0);
    n = frame_header_encode(3, wire);
    assert_int_equal(frame_reader_feed(&r, wire, n + 3), MPX_OK);
    assert_int_equal(frame_reader_next(&r, &p, &len), 1);
    frame_reader_trim(&r);
    assert_true(frame_reader_capacity(&r) > 0); /* small: kept for the next one */
    frame_reader_free(&r);
    free(wire);
}

static void test_stream_split(void **state)
{
    (void)state;
    char data[35];
    uv_buf_t bufs[8];
    assert_int_equal(stream_split(data, 0, 10, bufs, 8), 0);
    assert_int_equal(stream_split(data, 35, 10, bufs, 8), 4);
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        assert_ptr_equal(bufs[i].base, data + off);
        assert_int_equal(bufs[i].len, i < 3 ? 10 : 5);
        off += bufs[i].len;
    }
    assert_int_equal(stream_split(data, 30, 10, bufs, 8), 3);
    assert_int_equal(bufs[2].len, 10);
    assert_int_equal(stream_split(data, 7, 10, bufs, 8), 1);
    assert_int_equal(bufs[0].len, 7);
    /* fewer slots than pieces: the count tells how many to make room for */
    bufs[2].len = 99;
    assert_int_equal(stream_split(data, 35, 10, bufs, 2), 4);
    assert_int_equal(bufs[1].len, 10);
    assert_int_equal(bufs[2].len, 99);
    /* the real piece size fits an unsigned, and a 5 GiB batch is several pieces */
    assert_true(STREAM_PIECE_MAX <= UINT_MAX);
    size_t five = (size_t)5 << 30;
    size_t n = stream_split(NULL, five, STREAM_PIECE_MAX, NULL, 0);
    assert_true(n >= 2);
    assert_true(n * STREAM_PIECE_MAX >= five);
    assert_int_equal(stream_split(NULL, (size_t)UINT_MAX + 1, STREAM_PIECE_MAX, NULL, 0),
                     ((size_t)UINT_MAX + STREAM_PIECE_MAX) / STREAM_PIECE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_encode),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_many_in_one_feed_and_big_frame),
        cmocka_unit_test(test_limit_before_allocation),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_first_read),
        cmocka_unit_test(test_buffer_grows_with_bytes_not_header),
        cmocka_unit_test(test_stream_split),
        cmocka_unit_test(test_trim_gives_back_a_large_buffer),
        cmocka_unit_test(test_socket_frames),
        cmocka_unit_test(test_socket_avail_and_poll),
        cmocka_unit_test(test_socket_frame_grows_with_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
