/* mpx/client.h - one authenticated connection to a manager, and the generic call.
 *
 * An mpx_client is used by one thread at a time (like a hiredis context). Every function
 * returns MPX_OK or a negative MPX_E* code; the manager's message (or the local reason)
 * stays on the client for mpx_client_errmsg() until the next call. A client used in a
 * child after fork() does not touch the parent's socket: its next call reconnects,
 * authenticates again and takes its own references to the proxies it holds.
 */
#ifndef MPX_CLIENT_H
#define MPX_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "mpx/error.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MPX_ERRMSG_MAX 256

typedef struct mpx_client mpx_client;

typedef struct mpx_client_opts {
    int64_t connect_timeout_ms; /* connect + handshake; default 5000 */
    int64_t call_timeout_ms;    /* waiting for a reply to a call without its own timeout;
                                   default 30000, -1 waits forever */
    size_t max_message;         /* largest reply accepted; default 64 MiB */
    /* tls:// managers: the CA file that signs the manager's certificate (NULL:
     * $MPX_TLS_CA, else the system's CAs), and the client's own certificate and key for a
     * manager that asks for one (NULL: $MPX_TLS_CERT and $MPX_TLS_KEY, else none). The
     * manager's certificate must name the address's HOST (a name or an IP address);
     * tls_no_verify (or $MPX_TLS_NO_VERIFY=1) skips that check and the CA's: for tests
     * only, as anyone can then sit in the middle. */
    const char *tls_ca;
    const char *tls_cert;
    const char *tls_key;
    int tls_no_verify;
} mpx_client_opts;

void mpx_client_opts_init(mpx_client_opts *opts);

/* Connects to address ("tcp://host:port", "tls://host:port", "unix:///path") and
 * authenticates with the key (inside TLS for tls://). opts may be NULL for the defaults.
 * On failure *out is still a client, in the failed state, so that mpx_client_errmsg()
 * can say why: close it. (*out is NULL only when memory ran out.) */
int mpx_client_connect(const char *address, const void *authkey, size_t keylen,
                       const mpx_client_opts *opts, mpx_client **out);
/* The same with the key read from keyfile, or from $MPX_AUTHKEY when keyfile is NULL
 * (mpx_authkey_resolve). A key that cannot be read fails like a connection that cannot be
 * made: *out is a failed client whose message says why. */
int mpx_client_connect_keyfile(const char *address, const char *keyfile,
                               const mpx_client_opts *opts, mpx_client **out);
/* Drops the connection; the manager then releases this session's references. */
void mpx_client_close(mpx_client *c);

int mpx_client_errcode(const mpx_client *c);
const char *mpx_client_errmsg(const mpx_client *c);
const char *mpx_client_address(const mpx_client *c);

/* Calls method on object object_id. args are borrowed; *result receives the reply value,
 * owned by the caller (None on error). timeout (seconds, negative: none) is sent with the
 * call; the reply is waited for opts.call_timeout_ms. When it does not come in time the
 * call fails with MPX_ETIMEOUT and the connection is closed (the manager may still
 * answer it, and nothing may take that answer for another call's): later calls fail with
 * MPX_ECLOSED, connect a new client. Proxies (mpx_proxy_call and the typed ones) know from
 * the manager which methods may wait and wait for those as long as it takes; this raw
 * call does not: for a method that waits use mpx_client_call_wait. */
int mpx_client_call(mpx_client *c, uint64_t object_id, const char *method,
                    const mpx_value *args, size_t nargs, double timeout, mpx_value *result);

/* The same for a method that may wait on the manager (acquire, wait, get...): timeout
 * >= 0 bounds the wait (MPX_ETIMEOUT when it expires) and the reply is waited for that
 * long and a margin; timeout < 0 waits as long as it takes, and so does the socket. */
int mpx_client_call_wait(mpx_client *c, uint64_t object_id, const char *method,
                         const mpx_value *args, size_t nargs, double timeout,
                         mpx_value *result);

/* ---- pipelining, as hiredis's redisAppendCommand / redisGetReply -----------------------
 * mpx_client_append encodes a call into the client's send buffer without sending it and
 * gives its call id; mpx_client_flush sends everything appended in one write, and
 * mpx_client_get_reply (which flushes first) takes the next reply that arrives, for
 * whichever appended call it answers. Replies of calls that answer at once come in the
 * order of the calls; a call that waits on the manager (a get on an empty queue, an
 * acquire) is answered when it is done, after later calls. While appended calls are
 * unanswered the synchronous calls refuse with MPX_EINVAL instead of losing replies.
 * A lost connection loses every unanswered call (mpx_client_pending() is then 0). */
int mpx_client_append(mpx_client *c, uint64_t object_id, const char *method,
                      const mpx_value *args, size_t nargs, double timeout, uint64_t *call_id);
int mpx_client_flush(mpx_client *c);
/* Waits at most timeout seconds (negative: as long as it takes) for the next reply. Returns
 * MPX_OK when one was read: *call_id says which call, *status is that call's outcome
 * (MPX_OK with *result owned by the caller, or its error with the manager's message in
 * mpx_client_errmsg). Otherwise the client's own error: MPX_ETIMEOUT (nothing lost),
 * MPX_EINVAL when no call is pending, or the connection's failure. */
int mpx_client_get_reply(mpx_client *c, double timeout, uint64_t *call_id, int *status,
                         mpx_value *result);
/* The number of appended calls not yet answered. */
size_t mpx_client_pending(const mpx_client *c);

/* Manager-level calls (object 0). create makes an anonymous object of the type with the
 * constructor args, open finds the object registered under name or creates it; both give
 * back a reference value (kind MPX_REF) that this session holds one reference to. */
int mpx_client_create(mpx_client *c, const char *type, const mpx_value *args, size_t nargs,
                      mpx_value *ref_out);
int mpx_client_open(mpx_client *c, const char *name, const char *type, const mpx_value *args,
                    size_t nargs, mpx_value *ref_out);
/* Takes one more reference to id for this session; *type_out (may be NULL) gets the
 * object's type name, malloc'd. */
int mpx_client_incref(mpx_client *c, uint64_t object_id, char **type_out);
int mpx_client_decref(mpx_client *c, uint64_t object_id);
int mpx_client_ping(mpx_client *c);

/* Proves the manager's admin key (mpx-manager --admin-key-file) for this connection: from
 * then on it may make object 0's admin calls (objects, lookup, repr, delete, info,
 * shutdown). The key never crosses the wire: the manager's challenge is answered with its
 * HMAC, as in the handshake. MPX_EAUTH for a wrong key or a manager without one. */
int mpx_client_admin_login(mpx_client *c, const void *key, size_t keylen);

#ifdef __cplusplus
}
#endif
#endif
