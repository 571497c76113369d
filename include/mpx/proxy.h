/* mpx/proxy.h - a handle on one shared object: the base of the typed proxies.
 *
 * A proxy holds one reference to its object for its session and releases it on close.
 * Its token is a short string ("unix:///run/m.sock#dict/17": address, type, id) that
 * another process passes to mpx_proxy_attach to reach the same object, as a pickled
 * Python proxy does. The typed proxies (mpx_dict, mpx_list, ...) start with an mpx_proxy,
 * so every typed proxy can be used through mpx_proxy_call via its *_proxy() accessor.
 */
#ifndef MPX_PROXY_H
#define MPX_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "mpx/client.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MPX_TOKEN_MAX 512

typedef struct mpx_proxy mpx_proxy;

/* Opens the object registered under name, creating it with type and args on first use.
 * An existing name of another type is MPX_EEXIST. */
int mpx_proxy_open(mpx_client *c, const char *type, const char *name, const mpx_value *args,
                   size_t nargs, mpx_proxy **out);
/* Creates an anonymous object; it lives while some proxy holds it. */
int mpx_proxy_create(mpx_client *c, const char *type, const mpx_value *args, size_t nargs,
                     mpx_proxy **out);
/* Attaches to the object a token names. expect_type (may be NULL) must match: MPX_ETYPE
 * otherwise. The client should be connected to the token's manager. */
int mpx_proxy_attach(mpx_client *c, const char *token, const char *expect_type,
                     mpx_proxy **out);
/* Attaches to the object a reference value names (a ref returned by a call). */
int mpx_proxy_from_ref(mpx_client *c, const mpx_value *ref, mpx_proxy **out);
/* Releases the reference and frees the proxy. NULL is fine. */
void mpx_proxy_close(mpx_proxy *p);

/* Calls a method with borrowed args; *result is owned by the caller. A method that may
 * wait on the manager (its row says so; the client asks the manager once per type) is
 * waited for as long as the manager takes; any other for the client's call timeout. */
int mpx_proxy_call(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                   mpx_value *result);
/* The same with the call's own timeout in seconds (negative: none), which the manager
 * enforces on a method that waits. */
int mpx_proxy_call_timeout(mpx_proxy *p, const char *method, const mpx_value *args,
                           size_t nargs, double timeout, mpx_value *result);

/* Appends a call of any method to the proxy's client's pipeline (mpx_client_append): the
 * reply comes through mpx_client_get_reply with *call_id. */
int mpx_proxy_append(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                     double timeout, uint64_t *call_id);

/* Writes the token; MPX_EINVAL when size is too small. */
int mpx_proxy_token(const mpx_proxy *p, char *buf, size_t size);

/* ---- the handle functions every typed proxy has ----------------------------------------
 * MPX_PROXY_HANDLE_API(mpx_dict, mpx_dict) declares mpx_dict_attach, _from_ref, _close,
 * _proxy and _token with one contract for all:
 *   attach    the object a token names (see _token), MPX_ETYPE when it names another type;
 *   from_ref  the object a reference value names (borrowed; e.g. an item read from a
 *             container), MPX_ETYPE when it is not a reference or names another type;
 *   close     releases the reference and frees the proxy; NULL is fine;
 *   proxy     the generic proxy inside, for mpx_proxy_call and friends; owned by p;
 *   token     writes the token another process passes to attach; MPX_EINVAL when size is
 *             too small (MPX_TOKEN_MAX always suffices).
 * attach and from_ref leave *out a proxy holding one reference (NULL on failure). A proxy
 * uses the client it was made with for its calls, so close the proxies before the client.
 */
#define MPX_PROXY_HANDLE_API(prefix, type)                                                \
    int prefix##_attach(mpx_client *c, const char *token, type **out);                    \
    int prefix##_from_ref(mpx_client *c, const mpx_value *ref, type **out);               \
    void prefix##_close(type *p);                                                         \
    mpx_proxy *prefix##_proxy(type *p);                                                   \
    int prefix##_token(const type *p, char *buf, size_t size)

/* The address part of a token, to connect a client to before attaching. */
int mpx_token_address(const char *token, char *buf, size_t size);

uint64_t mpx_proxy_id(const mpx_proxy *p);
const char *mpx_proxy_type(const mpx_proxy *p);
mpx_client *mpx_proxy_client(const mpx_proxy *p);

#ifdef __cplusplus
}
#endif
#endif
