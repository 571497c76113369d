/* test_frame.c - transport/frame.c and the framed socket calls: headers as Python's
 * multiprocessing.connection writes them, partial reads, limits checked before any
 * allocation, and the socket paths (timeout, EOF, oversized). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "mpx/error.h"
#include "sock.h"

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
    assert_true(r.cap < (1u << 20)); /* nothing of the announced size was allocated */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_encode),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_many_in_one_feed_and_big_frame),
        cmocka_unit_test(test_limit_before_allocation),
        cmocka_unit_test(test_socket_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
