/* fuzz_handshake.c - the HMAC handshake's steps (auth/auth.h) on frames a peer chose.
 *
 * Input: byte 0 is the key's length k (k mod 64), the next k bytes the key, the rest a
 * stream of frames read with the limit a session has before authentication
 * (AUTH_MAX_FRAME). The server's part runs on the frames in its order: the first is the
 * answer to a fixed challenge of ours (auth_response_verify), the second the client's
 * challenge to us (auth_response_make), the third must be #WELCOME#. Every frame is also
 * taken as a challenge (a client reads one first), and whatever answer we make to any
 * challenge must be accepted for that challenge with that key, and refused with another
 * key. Every refusal says why. The challenge is fixed, not auth_challenge_make's random
 * one, so that a run can be replayed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth.h"
#include "frame.h"
#include "fuzz_common.h"
#include "mpx/error.h"

static const uint8_t our_challenge[] = AUTH_CHALLENGE "{sha256}"
                                       "0123456789abcdefghijABCDEFGHIJ0123456789";

static void check_refusal(int rc, const char *err, size_t errlen)
{
    FUZZ_CHECK(rc == MPX_EAUTH);
    FUZZ_CHECK(fuzz_reason_given(err, errlen));
}

/* Answers frame as a challenge; an answer we make must pass our own check, and only with
 * our key. */
static void answer_as_challenge(const uint8_t *key, size_t keylen, const uint8_t *frame,
                                size_t len)
{
    uint8_t answer[AUTH_RESPONSE_MAX], other[65];
    size_t answer_len = 0;
    char err[128];
    memset(err, 0xff, sizeof err);
    int rc = auth_response_make(key, keylen, frame, len, answer, &answer_len, err, sizeof err);
    if (rc != MPX_OK) {
        check_refusal(rc, err, sizeof err);
        return;
    }
    FUZZ_CHECK(answer_len > 0 && answer_len <= AUTH_RESPONSE_MAX);
    FUZZ_CHECK(auth_response_verify(key, keylen, frame, len, answer, answer_len, err,
                                    sizeof err) == MPX_OK);
    /* HMAC pads a key with zeros, so "" and "\0" are one key: change a byte, or add a 1 */
    memcpy(other, key, keylen);
    if (keylen > 0)
        other[keylen - 1] ^= 1;
    else
        other[0] = 1;
    size_t other_len = keylen > 0 ? keylen : 1;
    memset(err, 0xff, sizeof err);
    rc = auth_response_verify(other, other_len, frame, len, answer, answer_len, err,
                              sizeof err);
    check_refusal(rc, err, sizeof err);
}

/* The server's step for the n-th frame of a connection (0, 1, 2); false: it would close. */
static bool server_step(const uint8_t *key, size_t keylen, int n, const uint8_t *frame,
                        size_t len)
{
    char err[128];
    memset(err, 0xff, sizeof err);
    if (n == 0) {
        int rc = auth_response_verify(key, keylen, our_challenge, sizeof our_challenge - 1,
                                      frame, len, err, sizeof err);
        if (rc != MPX_OK)
            check_refusal(rc, err, sizeof err);
        return rc == MPX_OK;
    }
    if (n == 1) {
        uint8_t answer[AUTH_RESPONSE_MAX];
        size_t answer_len;
        int rc = auth_response_make(key, keylen, frame, len, answer, &answer_len, err,
                                    sizeof err);
        if (rc != MPX_OK)
            check_refusal(rc, err, sizeof err);
        return rc == MPX_OK;
    }
    return len == strlen(AUTH_WELCOME) && memcmp(frame, AUTH_WELCOME, len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t keylen = data[0] % 64;
    if (size - 1 < keylen)
        return 0;
    const uint8_t *key = data + 1;
    frame_reader r;
    frame_reader_init(&r, AUTH_MAX_FRAME);
    FUZZ_CHECK(frame_reader_feed(&r, data + 1 + keylen, size - 1 - keylen) == MPX_OK);
    const uint8_t *frame;
    size_t len;
    bool server_open = true;
    for (int n = 0; frame_reader_next(&r, &frame, &len) == 1; n++) {
        FUZZ_CHECK(len <= AUTH_MAX_FRAME);
        answer_as_challenge(key, keylen, frame, len);
        if (server_open && n < 3)
            server_open = server_step(key, keylen, n, frame, len);
    }
    frame_reader_free(&r);
    return 0;
}
