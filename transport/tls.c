/* tls.c - see tls.h. An SSL object between two memory BIOs: rbio holds what the peer
 * sent and SSL has not read yet, wbio what SSL wrote for the peer and the caller has not
 * taken yet. Both are bounded by the caller: it feeds what one socket read gave, and takes
 * the output after every write.
 */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpx/error.h"
#include "sock.h"
#include "tls.h"

struct tls_config {
    SSL_CTX *ctx;
    bool server;
};

struct tls_conn {
    SSL *ssl;
    BIO *rbio; /* owned by ssl */
    BIO *wbio; /* owned by ssl */
    bool server;
};

/* The reason OpenSSL gives for its last failure, after what. */
static int openssl_fail(char *err, size_t errlen, int code, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char reason[200] = "unknown reason";
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    snprintf(err, errlen, "tls: %s: %s", what, reason);
    return code;
}

static SSL_CTX *new_ctx(bool server)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_AUTO_RETRY);
    return ctx;
}

static int load_identity(SSL_CTX *ctx, const char *cert, const char *key, char *err,
                         size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        return openssl_fail(err, errlen, MPX_EINVAL, cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        return openssl_fail(err, errlen, MPX_EINVAL, key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return openssl_fail(err, errlen, MPX_EINVAL, "the key does not match the certificate");
    return MPX_OK;
}

static int make_config(SSL_CTX *ctx, bool server, tls_config **out)
{
    tls_config *c = malloc(sizeof *c);
    if (c == NULL) {
        SSL_CTX_free(ctx);
        return MPX_ENOMEM;
    }
    *c = (tls_config){.ctx = ctx, .server = server};
    *out = c;
    return MPX_OK;
}

int tls_server_config(const char *cert, const char *key, const char *ca, tls_config **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    if (cert == NULL || key == NULL) {
        snprintf(err, errlen, "tls: a manager needs a certificate and its key");
        return MPX_EINVAL;
    }
    SSL_CTX *ctx = new_ctx(true);
    if (ctx == NULL)
        return openssl_fail(err, errlen, MPX_ENOMEM, "no context");
    int rc = load_identity(ctx, cert, key, err, errlen);
    if (rc == MPX_OK && ca != NULL) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 || names == NULL) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            rc = openssl_fail(err, errlen, MPX_EINVAL, ca);
        } else {
            SSL_CTX_set_client_CA_list(ctx, names);
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        }
    }
    if (rc != MPX_OK) {
        SSL_CTX_free(ctx);
        return rc;
    }
    return make_config(ctx, true, out);
}

int tls_client_config(const char *ca, const char *cert, const char *key, bool verify,
                      tls_config **out, char *err, size_t errlen)
{
    *out = NULL;
    if ((cert == NULL) != (key == NULL)) {
        snprintf(err, errlen, "tls: a client certificate needs its key, and a key its "
                              "certificate");
        return MPX_EINVAL;
    }
    SSL_CTX *ctx = new_ctx(false);
    if (ctx == NULL)
        return openssl_fail(err, errlen, MPX_ENOMEM, "no context");
    int rc = MPX_OK;
    if (ca != NULL ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1
                   : SSL_CTX_set_default_verify_paths(ctx) != 1)
        rc = openssl_fail(err, errlen, MPX_EINVAL, ca != NULL ? ca : "the system's CAs");
    if (rc == MPX_OK && cert != NULL)
        rc = load_identity(ctx, cert, key, err, errlen);
    if (rc != MPX_OK) {
        SSL_CTX_free(ctx);
        return rc;
    }
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    return make_config(ctx, false, out);
}

void tls_config_free(tls_config *c)
{
    if (c == NULL)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

tls_conn *tls_conn_new(tls_config *c, const char *host)
{
    tls_conn *t = calloc(1, sizeof *t);
    if (t == NULL || (t->ssl = SSL_new(c->ctx)) == NULL) {
        free(t);
        return NULL;
    }
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    t->server = c->server;
    if (c->server) {
        SSL_set_accept_state(t->ssl);
        return t;
    }
    SSL_set_connect_state(t->ssl);
    if (host != NULL) {
        if (!is_ip_literal(host))
            SSL_set_tlsext_host_name(t->ssl, host); /* SNI carries names only */
        SSL_set1_host(t->ssl, host); /* OpenSSL 3 checks an IP literal as an address */
    }
    return t;
}

void tls_conn_free(tls_conn *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t);
}

int tls_conn_feed(tls_conn *t, const void *data, size_t len)
{
    while (len > 0) {
        int chunk = len > INT32_MAX ? INT32_MAX : (int)len;
        int n = BIO_write(t->rbio, data, chunk);
        if (n <= 0)
            return MPX_ENOMEM;
        data = (const uint8_t *)data + n;
        len -= (size_t)n;
    }
    return MPX_OK;
}

/* Why the handshake or a read failed, in one line, with the code for it. */
static int ssl_failure(tls_conn *t, int ret, char *err, size_t errlen)
{
    int e = SSL_get_error(t->ssl, ret);
    if (e == SSL_ERROR_ZERO_RETURN)
        return MPX_ECLOSED;
    long verify = SSL_get_verify_result(t->ssl);
    unsigned long first = ERR_peek_error();
    int reason = ERR_GET_REASON(first);
    if (!t->server && verify != X509_V_OK) {
        ERR_clear_error();
        snprintf(err, errlen, "tls: the manager's certificate was refused: %s",
                 X509_verify_cert_error_string(verify));
        return MPX_EAUTH;
    }
    if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
        reason == SSL_R_PACKET_LENGTH_TOO_LONG || reason == SSL_R_RECORD_LENGTH_MISMATCH) {
        ERR_clear_error();
        snprintf(err, errlen, t->server ? "tls: the client does not speak TLS (a tcp:// client?)"
                                        : "tls: the manager does not speak TLS (a tcp:// port?)");
        return MPX_EPROTO;
    }
    if (t->server && (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
                      reason == SSL_R_CERTIFICATE_VERIFY_FAILED)) {
        ERR_clear_error();
        snprintf(err, errlen, "tls: the client's certificate was refused: %s",
                 reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE
                     ? "none given"
                     : X509_verify_cert_error_string(verify));
        return MPX_EAUTH;
    }
    if (ERR_GET_LIB(first) == ERR_LIB_SSL && reason > 1000) { /* an alert from the peer */
        ERR_clear_error();
        snprintf(err, errlen, "tls: the %s refused the handshake: %s",
                 t->server ? "client" : "manager", SSL_alert_desc_string_long(reason - 1000));
        return MPX_EAUTH;
    }
    return openssl_fail(err, errlen, MPX_EPROTO, t->server ? "with the client" : "handshake");
}

int tls_conn_read(tls_conn *t, void *buf, size_t cap, size_t *got, char *err, size_t errlen)
{
    *got = 0;
    if (!SSL_is_init_finished(t->ssl)) {
        int r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            int e = SSL_get_error(t->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return MPX_OK;
            return ssl_failure(t, r, err, errlen);
        }
    }
    if (cap == 0)
        return MPX_OK;
    int n = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (n > 0) {
        *got = (size_t)n;
        return MPX_OK;
    }
    int e = SSL_get_error(t->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return MPX_OK;
    return ssl_failure(t, n, err, errlen);
}

int tls_conn_write(tls_conn *t, const void *buf, size_t len, char *err, size_t errlen)
{
    while (len > 0) {
        int n = SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
        if (n <= 0)
            return openssl_fail(err, errlen, MPX_EPROTO, "write");
        buf = (const uint8_t *)buf + n;
        len -= (size_t)n;
    }
    return MPX_OK;
}

size_t tls_conn_out_len(const tls_conn *t)
{
    return BIO_ctrl_pending(t->wbio);
}

int tls_conn_take_out(tls_conn *t, frame_buf *dst)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    if (n == 0)
        return MPX_OK;
    uint8_t *at = frame_buf_extend(dst, n);
    if (at == NULL)
        return MPX_ENOMEM;
    int got = BIO_read(t->wbio, at, (int)n); /* a memory BIO gives all it holds */
    dst->len -= n - (got > 0 ? (size_t)got : 0);
    return MPX_OK;
}

bool tls_conn_handshake_done(const tls_conn *t)
{
    return SSL_is_init_finished(t->ssl);
}

bool tls_conn_pending(const tls_conn *t)
{
    return SSL_pending(t->ssl) > 0;
}

/* ---- over a blocking socket ------------------------------------------------------------- */

/* Sends what the engine produced. */
static int send_out(tls_conn *t, int fd, int64_t deadline)
{
    frame_buf out = {0};
    int rc = tls_conn_take_out(t, &out);
    if (rc == MPX_OK && out.len > 0)
        rc = sock_write_all(fd, out.data, out.len, deadline);
    frame_buf_free(&out);
    return rc;
}

/* Feeds what the socket has (waiting for it until the deadline). */
static int feed_in(tls_conn *t, int fd, int64_t deadline)
{
    uint8_t buf[16384];
    size_t got;
    int rc = sock_recv_avail(fd, buf, sizeof buf, deadline, &got);
    return rc == MPX_OK ? tls_conn_feed(t, buf, got) : rc;
}

int tls_handshake_fd(tls_conn *t, int fd, int64_t deadline, char *err, size_t errlen)
{
    for (;;) {
        size_t got;
        int rc = tls_conn_read(t, NULL, 0, &got, err, errlen);
        int sent = send_out(t, fd, deadline); /* an alert too, before giving up */
        if (rc != MPX_OK)
            return rc;
        if (sent != MPX_OK)
            return sent;
        if (tls_conn_handshake_done(t))
            return MPX_OK;
        if ((rc = feed_in(t, fd, deadline)) != MPX_OK) {
            if (rc == MPX_ECLOSED)
                snprintf(err, errlen, "tls: the manager closed the connection during the "
                                      "handshake");
            return rc;
        }
    }
}

int tls_write_fd(tls_conn *t, int fd, const void *buf, size_t len, int64_t deadline)
{
    char err[160];
    int rc = tls_conn_write(t, buf, len, err, sizeof err);
    return rc == MPX_OK ? send_out(t, fd, deadline) : rc;
}

int tls_recv_fd(tls_conn *t, int fd, void *buf, size_t cap, int64_t deadline, size_t *got)
{
    char err[160];
    for (;;) {
        int rc = tls_conn_read(t, buf, cap, got, err, sizeof err);
        if (rc == MPX_OK && tls_conn_out_len(t) > 0)
            rc = send_out(t, fd, deadline); /* a key update's answer */
        if (rc != MPX_OK || *got > 0)
            return rc;
        if ((rc = feed_in(t, fd, deadline)) != MPX_OK)
            return rc;
    }
}
