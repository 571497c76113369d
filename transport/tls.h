/* tls.h - TLS for tls:// addresses: OpenSSL over memory BIOs, so that one engine serves
 * the manager's libuv sessions, the async client and the blocking clients alike.
 *
 * A tls_conn never touches a socket: the caller feeds it the bytes that came from the
 * peer (tls_conn_feed), reads plaintext out (tls_conn_read, which runs the handshake
 * first), writes plaintext in (tls_conn_write) and sends what it produced
 * (tls_conn_take_out). The blocking helpers at the end do that over a socket with a
 * deadline. TLS 1.2 and up with OpenSSL's defaults; the authkey handshake runs inside,
 * unchanged. Every failure comes with a one-line reason.
 */
#ifndef MPX_TRANSPORT_TLS_H
#define MPX_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

typedef struct tls_config tls_config;
typedef struct tls_conn tls_conn;

/* A manager's: its certificate chain and key (PEM files); with ca, clients must present a
 * certificate that ca signed (mutual TLS). MPX_OK, or MPX_EINVAL with the reason. */
int tls_server_config(const char *cert, const char *key, const char *ca, tls_config **out,
                      char *err, size_t errlen);
/* A client's: the CAs that may sign the manager's certificate (NULL: the system's), the
 * client's own certificate and key (both NULL: none), and whether to verify the manager
 * at all (its certificate and its name). MPX_OK, or MPX_EINVAL with the reason. */
int tls_client_config(const char *ca, const char *cert, const char *key, bool verify,
                      tls_config **out, char *err, size_t errlen);
void tls_config_free(tls_config *c);

/* A connection of a config's side; for a client, host is the name (or IP address) its
 * certificate must carry, also sent as SNI when it is a name. NULL when out of memory. */
tls_conn *tls_conn_new(tls_config *c, const char *host);
void tls_conn_free(tls_conn *t);

/* Bytes that came from the peer. MPX_OK or MPX_ENOMEM. */
int tls_conn_feed(tls_conn *t, const void *data, size_t len);
/* Plaintext that the fed bytes hold, the handshake first: MPX_OK with *got (0: more
 * bytes are needed), MPX_ECLOSED when the peer ended TLS, or MPX_EAUTH (a certificate
 * refused) / MPX_EPROTO (not TLS, a broken record) with the reason in err. */
int tls_conn_read(tls_conn *t, void *buf, size_t cap, size_t *got, char *err, size_t errlen);
/* Encrypts len bytes (all of them) for tls_conn_take_out. MPX_OK, or MPX_EPROTO. */
int tls_conn_write(tls_conn *t, const void *buf, size_t len, char *err, size_t errlen);
/* The bytes to send to the peer; take_out appends them to dst (MPX_OK, MPX_ENOMEM). */
size_t tls_conn_out_len(const tls_conn *t);
int tls_conn_take_out(tls_conn *t, frame_buf *dst);
bool tls_conn_handshake_done(const tls_conn *t);
/* Whether plaintext is already decrypted and waiting (tls_conn_read gives it at once). */
bool tls_conn_pending(const tls_conn *t);

/* ---- over a blocking socket (sock.h's deadlines) ---------------------------------------- */

/* The handshake, until the deadline. MPX_OK, MPX_ETIMEOUT, MPX_ECLOSED, MPX_EIO, or the
 * codes of tls_conn_read with the reason. */
int tls_handshake_fd(tls_conn *t, int fd, int64_t deadline, char *err, size_t errlen);
/* Writes len plaintext bytes. MPX_OK, MPX_ETIMEOUT, MPX_EIO, MPX_EPROTO. */
int tls_write_fd(tls_conn *t, int fd, const void *buf, size_t len, int64_t deadline);
/* Reads at least one plaintext byte, at most cap. MPX_OK, MPX_ETIMEOUT, MPX_ECLOSED,
 * MPX_EIO, MPX_EPROTO. */
int tls_recv_fd(tls_conn *t, int fd, void *buf, size_t cap, int64_t deadline, size_t *got);

#endif
