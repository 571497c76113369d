/* test_auth.c - auth/auth.c against HMAC vectors computed with Python's hmac module, the
 * legacy (3.11) forms, the refusals, and full handshakes over a socketpair: the client's
 * against a hand-written server, and auth_server_handshake against the client's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "mpx/error.h"
#include "sock.h"

static const char KEY[] = "secret key";

static void hex_to_bytes(const char *hex, uint8_t *out)
{
    for (size_t i = 0; hex[2 * i]; i++)
        sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

/* "#CHALLENGE#{sha256}" + bytes 0..39 */
static size_t modern_challenge(uint8_t *buf)
{
    size_t n = strlen(AUTH_CHALLENGE "{sha256}");
    memcpy(buf, AUTH_CHALLENGE "{sha256}", n);
    for (int i = 0; i < 40; i++)
        buf[n + (size_t)i] = (uint8_t)i;
    return n + 40;
}

/* "#CHALLENGE#" + bytes 100..119: what Python 3.11's deliver_challenge sends */
static size_t legacy_challenge(uint8_t *buf)
{
    size_t n = strlen(AUTH_CHALLENGE);
    memcpy(buf, AUTH_CHALLENGE, n);
    for (int i = 0; i < 20; i++)
        buf[n + (size_t)i] = (uint8_t)(100 + i);
    return n + 20;
}

static void test_response_sha256_vector(void **state)
{
    (void)state;
    uint8_t ch[128], out[AUTH_RESPONSE_MAX], expected[32];
    size_t chlen = modern_challenge(ch), outlen;
    char err[128];
    assert_int_equal(auth_response_make(KEY, strlen(KEY), ch, chlen, out, &outlen, err,
                                        sizeof err),
                     MPX_OK);
    hex_to_bytes("de660527caa52c2d8313422ff6496f5aa46b4ddfca5f20b8da5748f901d3dd5b", expected);
    assert_int_equal(outlen, 8 + 32);
    assert_memory_equal(out, "{sha256}", 8);
    assert_memory_equal(out + 8, expected, 32);
    assert_int_equal(auth_response_verify(KEY, strlen(KEY), ch, chlen, out, outlen, err,
                                          sizeof err),
                     MPX_OK);
}

static void test_response_legacy_md5_vector(void **state)
{
    (void)state;
    uint8_t ch[128], out[AUTH_RESPONSE_MAX], expected[16];
    size_t chlen = legacy_challenge(ch), outlen;
    char err[128];
    assert_int_equal(auth_response_make(KEY, strlen(KEY), ch, chlen, out, &outlen, err,
                                        sizeof err),
                     MPX_OK);
    hex_to_bytes("316925bc6c3c42d0accaaf0bdeec1c0b", expected);
    assert_int_equal(outlen, 16);
    assert_memory_equal(out, expected, 16);
}

/* A 3.11 client answers our tagged challenge with a bare HMAC-MD5 over the whole message. */
static void test_verify_accepts_legacy_answer(void **state)
{
    (void)state;
    uint8_t ch[128], answer[16];
    size_t chlen = modern_challenge(ch);
    char err[128];
    hex_to_bytes("b60d7fd0e70a7da2749f805c65053205", answer);
    assert_int_equal(auth_response_verify(KEY, strlen(KEY), ch, chlen, answer, 16, err,
                                          sizeof err),
                     MPX_OK);
    answer[3] ^= 1;
    assert_int_equal(auth_response_verify(KEY, strlen(KEY), ch, chlen, answer, 16, err,
                                          sizeof err),
                     MPX_EAUTH);
    assert_string_equal(err, "digest received was wrong");
}

static void test_verify_refusals(void **state)
{
    (void)state;
    uint8_t ch[128], out[AUTH_RESPONSE_MAX];
    size_t chlen = modern_challenge(ch), outlen;
    char err[128];
    assert_int_equal(auth_response_make(KEY, strlen(KEY), ch, chlen, out, &outlen, err,
                                        sizeof err),
                     MPX_OK);
    /* wrong key */
    assert_int_equal(auth_response_verify("other", 5, ch, chlen, out, outlen, err, sizeof err),
                     MPX_EAUTH);
    /* truncated MAC */
    assert_int_equal(auth_response_verify(KEY, strlen(KEY), ch, chlen, out, outlen - 1, err,
                                          sizeof err),
                     MPX_EAUTH);
    assert_non_null(strstr(err, "length"));
    /* a digest Python does not allow */
    const char *bad = "{sha1}0123456789012345678901234567890123456789";
    assert_int_equal(auth_response_verify(KEY, strlen(KEY), ch, chlen, (const uint8_t *)bad,
                                          strlen(bad), err, sizeof err),
                     MPX_EAUTH);
    /* not a challenge at all, and a too-short one */
    assert_int_equal(auth_response_make(KEY, strlen(KEY), (const uint8_t *)"hello", 5, out,
                                        &outlen, err, sizeof err),
                     MPX_EAUTH);
    assert_int_equal(auth_response_make(KEY, strlen(KEY), (const uint8_t *)"#CHALLENGE#short",
                                        16, out, &outlen, err, sizeof err),
                     MPX_EAUTH);
}

static void test_challenges_are_fresh(void **state)
{
    (void)state;
    uint8_t a[AUTH_CHALLENGE_MAX], b[AUTH_CHALLENGE_MAX];
    size_t alen, blen;
    assert_int_equal(auth_challenge_make(a, &alen), MPX_OK);
    assert_int_equal(auth_challenge_make(b, &blen), MPX_OK);
    assert_int_equal(alen, strlen(AUTH_CHALLENGE "{sha256}") + AUTH_CHALLENGE_BYTES);
    assert_memory_equal(a, AUTH_CHALLENGE "{sha256}", alen - AUTH_CHALLENGE_BYTES);
    assert_memory_not_equal(a, b, alen);
}

/* The server's side of the handshake, in a child, with its own key. Exits 0 when the
 * client authenticated, 1 when it did not. */
static void serve_handshake(int fd, const char *key)
{
    uint8_t ch[AUTH_CHALLENGE_MAX], *frame, out[AUTH_RESPONSE_MAX];
    size_t chlen, len, outlen;
    char err[128];
    int64_t deadline = sock_deadline(5000);
    auth_challenge_make(ch, &chlen);
    sock_send_frame(fd, ch, chlen, deadline);
    if (sock_recv_frame(fd, AUTH_MAX_FRAME, &frame, &len, deadline) != MPX_OK)
        _exit(2);
    int ok = auth_response_verify(key, strlen(key), ch, chlen, frame, len, err, sizeof err);
    free(frame);
    const char *verdict = ok == MPX_OK ? AUTH_WELCOME : AUTH_FAILURE;
    sock_send_frame(fd, verdict, strlen(verdict), deadline);
    if (ok != MPX_OK)
        _exit(1);
    if (sock_recv_frame(fd, AUTH_MAX_FRAME, &frame, &len, deadline) != MPX_OK)
        _exit(2);
    auth_response_make(key, strlen(key), frame, len, out, &outlen, err, sizeof err);
    free(frame);
    sock_send_frame(fd, out, outlen, deadline);
    if (sock_recv_frame(fd, AUTH_MAX_FRAME, &frame, &len, deadline) != MPX_OK)
        _exit(2);
    int welcomed = len == strlen(AUTH_WELCOME) && memcmp(frame, AUTH_WELCOME, len) == 0;
    free(frame);
    _exit(welcomed ? 0 : 1);
}

static int handshake_with(const char *server_key, const char *client_key, char *err,
                          size_t errlen, int *server_status)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        serve_handshake(sv[1], server_key);
    }
    close(sv[1]);
    sock_link link = {.fd = sv[0]};
    int rc = auth_client_handshake(&link, client_key, strlen(client_key), sock_deadline(5000),
                                   err, errlen);
    close(sv[0]);
    waitpid(pid, server_status, 0);
    return rc;
}

static void test_full_handshake(void **state)
{
    (void)state;
    char err[160];
    int status;
    assert_int_equal(handshake_with(KEY, KEY, err, sizeof err, &status), MPX_OK);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(handshake_with(KEY, "wrong", err, sizeof err, &status), MPX_EAUTH);
    assert_non_null(strstr(err, "refused"));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

static void test_handshake_times_out(void **state)
{
    (void)state;
    int sv[2];
    char err[160];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int64_t t0 = sock_now_ms();
    sock_link link = {.fd = sv[0]};
    assert_int_equal(auth_client_handshake(&link, KEY, strlen(KEY), sock_deadline(200), err,
                                           sizeof err),
                     MPX_ETIMEOUT);
    assert_true(sock_now_ms() - t0 >= 190);
    close(sv[0]);
    close(sv[1]);
}

/* auth_server_handshake (Listener.accept's order) with auth_client_handshake in a child;
 * the child exits with the client's result, negated. */
static int server_handshake_with(const char *server_key, const char *client_key, char *err,
                                 size_t errlen, int *client_rc)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char cerr[160];
        _exit(-auth_client_handshake(&(sock_link){.fd = sv[1]}, client_key, strlen(client_key),
                                     sock_deadline(5000), cerr, sizeof cerr));
    }
    close(sv[1]);
    sock_link link = {.fd = sv[0]};
    int rc = auth_server_handshake(&link, server_key, strlen(server_key), sock_deadline(5000),
                                   err, errlen);
    close(sv[0]);
    int status;
    waitpid(pid, &status, 0);
    *client_rc = WIFEXITED(status) ? -WEXITSTATUS(status) : 1;
    return rc;
}

static void test_server_handshake(void **state)
{
    (void)state;
    char err[160] = "";
    int client_rc;
    assert_int_equal(server_handshake_with(KEY, KEY, err, sizeof err, &client_rc), MPX_OK);
    assert_int_equal(client_rc, MPX_OK);
    assert_int_equal(server_handshake_with(KEY, "wrong", err, sizeof err, &client_rc),
                     MPX_EAUTH);
    assert_non_null(strstr(err, "digest received was wrong"));
    assert_int_equal(client_rc, MPX_EAUTH);
}

static void test_server_handshake_times_out(void **state)
{
    (void)state;
    int sv[2];
    char err[160];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int64_t t0 = sock_now_ms();
    sock_link link = {.fd = sv[0]};
    assert_int_equal(auth_server_handshake(&link, KEY, strlen(KEY), sock_deadline(200), err,
                                           sizeof err),
                     MPX_ETIMEOUT); /* the challenge went out; no answer comes */
    assert_true(sock_now_ms() - t0 >= 190);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_sha256_vector),
        cmocka_unit_test(test_response_legacy_md5_vector),
        cmocka_unit_test(test_verify_accepts_legacy_answer),
        cmocka_unit_test(test_verify_refusals),
        cmocka_unit_test(test_challenges_are_fresh),
        cmocka_unit_test(test_full_handshake),
        cmocka_unit_test(test_handshake_times_out),
        cmocka_unit_test(test_server_handshake),
        cmocka_unit_test(test_server_handshake_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
