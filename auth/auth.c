/* auth.c - the challenge/response of multiprocessing.connection (Python 3.12 rules).
 *
 * A message is either modern, "{digest}payload" longer than 20 bytes, or legacy: exactly
 * 20 bytes (a challenge from Python <= 3.11) or 16 bytes (an HMAC-MD5 answer from one).
 * The MAC always covers the whole message after "#CHALLENGE#", tag included, so a peer
 * cannot downgrade a tagged challenge. Comparisons go through CRYPTO_memcmp.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth.h"
#include "frame.h"
#include "mpx/error.h"
#include "sock.h"

#define LEGACY_CHALLENGE_LEN 20
#define MD5_LEN 16
#define MAX_DIGEST_NAME 8 /* Python's _MAX_DIGEST_LEN: longest allowed name */

static const struct {
    const char *python; /* the name on the wire */
    const char *openssl;
} allowed_digests[] = {
    {"md5", "md5"},           {"sha256", "sha256"},     {"sha384", "sha384"},
    {"sha3_256", "sha3-256"}, {"sha3_384", "sha3-384"},
};

static int fail(char *err, size_t errlen, const char *why)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", why);
    return MPX_EAUTH;
}

/* Splits a message into digest name (NULL for legacy) and payload, as Python's
 * _get_digest_name_and_payload. Returns 0, or -1 for an unsupported form. */
static int split_message(const uint8_t *msg, size_t len, const char **openssl_name,
                         const uint8_t **payload, size_t *payload_len)
{
    if (len == LEGACY_CHALLENGE_LEN || len == MD5_LEN) {
        *openssl_name = NULL;
        *payload = msg;
        *payload_len = len;
        return 0;
    }
    if (len < 2 || msg[0] != '{')
        return -1;
    size_t scan = len - 1 < MAX_DIGEST_NAME + 1 ? len - 1 : MAX_DIGEST_NAME + 1;
    const uint8_t *close = memchr(msg + 1, '}', scan);
    if (close == NULL)
        return -1;
    size_t namelen = (size_t)(close - msg - 1);
    for (size_t i = 0; i < sizeof allowed_digests / sizeof allowed_digests[0]; i++) {
        if (strlen(allowed_digests[i].python) == namelen &&
            memcmp(allowed_digests[i].python, msg + 1, namelen) == 0) {
            *openssl_name = allowed_digests[i].openssl;
            *payload = close + 1;
            *payload_len = len - namelen - 2;
            return 0;
        }
    }
    return -1;
}

static int hmac(const char *digest, const void *key, size_t keylen, const uint8_t *msg,
                size_t len, uint8_t *out, unsigned *out_len)
{
    const EVP_MD *md = EVP_get_digestbyname(digest);
    if (md == NULL)
        return -1;
    return HMAC(md, key, (int)keylen, msg, len, out, out_len) == NULL ? -1 : 0;
}

int auth_challenge_make(uint8_t *out, size_t *len)
{
    static const char prefix[] = AUTH_CHALLENGE "{sha256}";
    size_t n = sizeof prefix - 1;
    memcpy(out, prefix, n);
    if (RAND_bytes(out + n, AUTH_CHALLENGE_BYTES) != 1)
        return MPX_EIO;
    *len = n + AUTH_CHALLENGE_BYTES;
    return MPX_OK;
}

/* The message part of a challenge frame, or -1 when it is not one. */
static int challenge_message(const uint8_t *frame, size_t len, const uint8_t **msg,
                             size_t *msglen)
{
    size_t plen = strlen(AUTH_CHALLENGE);
    if (len < plen || memcmp(frame, AUTH_CHALLENGE, plen) != 0)
        return -1;
    *msg = frame + plen;
    *msglen = len - plen;
    return 0;
}

int auth_response_make(const void *key, size_t keylen, const uint8_t *challenge,
                       size_t challenge_len, uint8_t *out, size_t *out_len, char *err,
                       size_t errlen)
{
    const uint8_t *msg, *payload;
    size_t msglen, payload_len;
    const char *digest;
    if (challenge_message(challenge, challenge_len, &msg, &msglen) != 0)
        return fail(err, errlen, "protocol error: expected a challenge");
    if (msglen < LEGACY_CHALLENGE_LEN)
        return fail(err, errlen, "challenge too short");
    if (split_message(msg, msglen, &digest, &payload, &payload_len) != 0)
        return fail(err, errlen, "unsupported challenge: no digest tag Python allows");
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen;
    if (hmac(digest ? digest : "md5", key, keylen, msg, msglen, mac, &maclen) != 0)
        return fail(err, errlen, "digest not available");
    size_t n = 0;
    if (digest != NULL) { /* modern: echo the tag the challenge named */
        size_t taglen = (size_t)(payload - msg);
        if (taglen + maclen > AUTH_RESPONSE_MAX)
            return fail(err, errlen, "response too long");
        memcpy(out, msg, taglen);
        n = taglen;
    }
    memcpy(out + n, mac, maclen);
    *out_len = n + maclen;
    return MPX_OK;
}

int auth_response_verify(const void *key, size_t keylen, const uint8_t *challenge,
                         size_t challenge_len, const uint8_t *response, size_t response_len,
                         char *err, size_t errlen)
{
    const uint8_t *msg, *mac_in;
    size_t msglen, mac_in_len;
    const char *digest;
    if (challenge_message(challenge, challenge_len, &msg, &msglen) != 0)
        return fail(err, errlen, "not a challenge");
    if (split_message(response, response_len, &digest, &mac_in, &mac_in_len) != 0)
        return fail(err, errlen, "unsupported response length or digest");
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen;
    if (hmac(digest ? digest : "md5", key, keylen, msg, msglen, mac, &maclen) != 0)
        return fail(err, errlen, "digest not available");
    if (maclen != mac_in_len)
        return fail(err, errlen, "digest of the wrong length");
    if (CRYPTO_memcmp(mac, mac_in, maclen) != 0)
        return fail(err, errlen, "digest received was wrong");
    return MPX_OK;
}

/* One frame of at most AUTH_MAX_FRAME bytes into buf. */
static int recv_small(const sock_link *l, uint8_t *buf, size_t *len, int64_t deadline,
                      char *err, size_t errlen)
{
    uint8_t *frame;
    int rc = link_recv_frame(l, AUTH_MAX_FRAME, &frame, len, deadline);
    if (rc != MPX_OK) {
        /* a tls:// manager waits for a TLS hello, then gives up on a plain client */
        snprintf(err, errlen, "%s during the handshake%s",
                 rc == MPX_ETOOBIG ? "oversized frame" : mpx_strerror(rc),
                 rc == MPX_ECLOSED && l->tls == NULL ? " (a tls:// port? connect with tls://)"
                                                     : "");
        return rc == MPX_ETOOBIG ? MPX_EPROTO : rc;
    }
    memcpy(buf, frame, *len);
    free(frame);
    return MPX_OK;
}

static int send_text(const sock_link *l, const char *text, int64_t deadline)
{
    return link_send_frame(l, text, strlen(text), deadline);
}

int auth_client_handshake(const sock_link *l, const void *key, size_t keylen, int64_t deadline,
                          char *err, size_t errlen)
{
    uint8_t frame[AUTH_MAX_FRAME], answer[AUTH_RESPONSE_MAX];
    size_t len, answer_len;
    /* 1. answer the server's challenge */
    int rc = recv_small(l, frame, &len, deadline, err, errlen);
    if (rc != MPX_OK)
        return rc;
    if ((rc = auth_response_make(key, keylen, frame, len, answer, &answer_len, err, errlen)))
        return rc;
    if ((rc = link_send_frame(l, answer, answer_len, deadline)) != MPX_OK)
        return rc;
    if ((rc = recv_small(l, frame, &len, deadline, err, errlen)) != MPX_OK)
        return rc;
    if (len != strlen(AUTH_WELCOME) || memcmp(frame, AUTH_WELCOME, len) != 0)
        return fail(err, errlen, "the server refused the key (digest sent was rejected)");
    /* 2. challenge the server: mutual authentication */
    uint8_t challenge[AUTH_CHALLENGE_MAX];
    size_t challenge_len;
    if ((rc = auth_challenge_make(challenge, &challenge_len)) != MPX_OK)
        return rc;
    if ((rc = link_send_frame(l, challenge, challenge_len, deadline)) != MPX_OK)
        return rc;
    if ((rc = recv_small(l, frame, &len, deadline, err, errlen)) != MPX_OK)
        return rc;
    if (auth_response_verify(key, keylen, challenge, challenge_len, frame, len, err,
                             errlen) != MPX_OK) {
        send_text(l, AUTH_FAILURE, deadline);
        return fail(err, errlen, "the server does not know the key (its answer was wrong)");
    }
    return send_text(l, AUTH_WELCOME, deadline);
}

int auth_server_handshake(const sock_link *l, const void *key, size_t keylen, int64_t deadline,
                          char *err, size_t errlen)
{
    uint8_t frame[AUTH_MAX_FRAME], challenge[AUTH_CHALLENGE_MAX], answer[AUTH_RESPONSE_MAX];
    size_t len, challenge_len, answer_len;
    /* 1. deliver_challenge: the client proves the key first */
    int rc = auth_challenge_make(challenge, &challenge_len);
    if (rc != MPX_OK) {
        snprintf(err, errlen, "no randomness for a challenge");
        return rc;
    }
    if ((rc = link_send_frame(l, challenge, challenge_len, deadline)) != MPX_OK)
        return rc;
    if ((rc = recv_small(l, frame, &len, deadline, err, errlen)) != MPX_OK)
        return rc;
    if (auth_response_verify(key, keylen, challenge, challenge_len, frame, len, err,
                             errlen) != MPX_OK) {
        send_text(l, AUTH_FAILURE, deadline);
        return MPX_EAUTH; /* err says why: Python's "digest received was wrong" */
    }
    if ((rc = send_text(l, AUTH_WELCOME, deadline)) != MPX_OK)
        return rc;
    /* 2. answer_challenge: then we prove it to the client */
    if ((rc = recv_small(l, frame, &len, deadline, err, errlen)) != MPX_OK)
        return rc;
    if ((rc = auth_response_make(key, keylen, frame, len, answer, &answer_len, err, errlen)))
        return rc;
    if ((rc = link_send_frame(l, answer, answer_len, deadline)) != MPX_OK)
        return rc;
    if ((rc = recv_small(l, frame, &len, deadline, err, errlen)) != MPX_OK)
        return rc;
    if (len != strlen(AUTH_WELCOME) || memcmp(frame, AUTH_WELCOME, len) != 0)
        return fail(err, errlen, "the client refused our answer (digest sent was rejected)");
    return MPX_OK;
}
