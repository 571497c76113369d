/* auth.h - the HMAC challenge/response handshake of multiprocessing.connection.
 *
 * Byte-compatible with Python 3.12+ (deliver_challenge/answer_challenge): a challenge
 * frame is "#CHALLENGE#" + message, where our message is "{sha256}" + 40 random bytes;
 * the answer is "{digest}" + HMAC(authkey, message). Legacy peers (3.11 and older) send a
 * 20-byte untagged message and answer with a bare 16-byte HMAC-MD5; both directions of
 * that are accepted. Digests always compare in constant time.
 */
#ifndef MPX_AUTH_AUTH_H
#define MPX_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "sock.h"

#define AUTH_CHALLENGE "#CHALLENGE#"
#define AUTH_WELCOME "#WELCOME#"
#define AUTH_FAILURE "#FAILURE#"
#define AUTH_MAX_FRAME 256       /* before authentication no frame may be longer */
#define AUTH_CHALLENGE_BYTES 40  /* random bytes in our challenge (Python's MESSAGE_LENGTH) */
#define AUTH_CHALLENGE_MAX 96    /* room for any challenge frame we build */
#define AUTH_RESPONSE_MAX 80     /* room for "{sha3_384}" + 48-byte MAC */

/* Builds a fresh challenge frame "#CHALLENGE#{sha256}<40 random bytes>" into out
 * (AUTH_CHALLENGE_MAX bytes) and sets *len. MPX_OK or MPX_EIO if no randomness. */
int auth_challenge_make(uint8_t *out, size_t *len);

/* Computes the answer to a challenge frame we received (prefix included): "{d}"+HMAC-d
 * for a tagged message, a bare HMAC-MD5 for a legacy untagged one. out holds
 * AUTH_RESPONSE_MAX bytes. MPX_EAUTH (with err) for a frame that is no valid challenge. */
int auth_response_make(const void *key, size_t keylen, const uint8_t *challenge,
                       size_t challenge_len, uint8_t *out, size_t *out_len, char *err,
                       size_t errlen);

/* Checks the peer's answer to the challenge frame we sent. Accepts any digest Python
 * allows (md5, sha256, sha384, sha3_256, sha3_384) or a bare 16-byte HMAC-MD5.
 * MPX_OK or MPX_EAUTH with the reason in err. */
int auth_response_verify(const void *key, size_t keylen, const uint8_t *challenge,
                         size_t challenge_len, const uint8_t *response, size_t response_len,
                         char *err, size_t errlen);

/* The client's side over a connected socket (with TLS over it when l->tls), in Python's
 * order: answer the server's challenge, read #WELCOME#, then challenge the server and
 * send #WELCOME# or #FAILURE#. MPX_OK, MPX_EAUTH (wrong key either way), or a transport error. */
int auth_client_handshake(const sock_link *l, const void *key, size_t keylen,
                          int64_t deadline, char *err, size_t errlen);

/* The server's side, as Python's Listener.accept: challenge the client and send #WELCOME#
 * or #FAILURE# (then return MPX_EAUTH), then answer the client's challenge and read its
 * #WELCOME#. The same results as auth_client_handshake. */
int auth_server_handshake(const sock_link *l, const void *key, size_t keylen,
                          int64_t deadline, char *err, size_t errlen);

#endif
