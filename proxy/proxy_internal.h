/* proxy_internal.h - the proxy base shared by the typed proxies and the client.
 *
 * A typed proxy (struct mpx_dict, ...) begins with a struct mpx_proxy, so one allocation
 * holds both and the generic calls work on it. The client keeps every live proxy in a
 * list, so that after fork() the child's new session can take its own references.
 */
#ifndef MPX_PROXY_INTERNAL_H
#define MPX_PROXY_INTERNAL_H

#include "arena.h"
#include "frame.h"
#include "list.h"
#include "mpx/proxy.h"
#include "tls.h"

#define PROXY_TYPE_MAX 32

struct mpx_proxy {
    mpx_client *client;
    uint64_t id;
    char type[PROXY_TYPE_MAX];
    list_node link;         /* in its client's list of live proxies */
};

/* The typed constructors: like mpx_proxy_open/create/attach/from_ref, but allocate size
 * bytes (>= sizeof(struct mpx_proxy), zeroed beyond the base) and check the type. */
int proxy_open_as(mpx_client *c, const char *type, const char *name, const mpx_value *args,
                  size_t nargs, size_t size, mpx_proxy **out);
int proxy_create_as(mpx_client *c, const char *type, const mpx_value *args, size_t nargs,
                    size_t size, mpx_proxy **out);
int proxy_attach_as(mpx_client *c, const char *token, const char *type, size_t size,
                    mpx_proxy **out);
int proxy_from_ref_as(mpx_client *c, const mpx_value *ref, const char *type, size_t size,
                      mpx_proxy **out);
/* For a typed proxy that holds either of two types (a Queue proxy: a Queue or a
 * JoinableQueue): rc and *p are what proxy_attach_as or proxy_from_ref_as gave with type
 * NULL. A *p of neither type is closed, *p set NULL, and MPX_ETYPE returned with "a dict is
 * not a <what>" on the client; otherwise rc comes back as it was. */
int proxy_accept_either(mpx_client *c, int rc, mpx_proxy **p, const char *type_a,
                        const char *type_b, const char *what);

/* Defines the handle functions MPX_PROXY_HANDLE_API(prefix, type) declares, for a typed
 * proxy holding objects of typeid only. The typed struct must begin with its base, so the
 * mpx_proxy the constructors allocate is the typed proxy (checked at compile time). */
#define PROXY_HANDLE_FUNCS(prefix, type, typeid)                                          \
    int prefix##_attach(mpx_client *c, const char *token, type **out)                     \
    {                                                                                     \
        mpx_proxy *p;                                                                     \
        int rc = proxy_attach_as(c, token, typeid, sizeof(type), &p);                     \
        *out = (type *)p;                                                                 \
        return rc;                                                                        \
    }                                                                                     \
    int prefix##_from_ref(mpx_client *c, const mpx_value *ref, type **out)                \
    {                                                                                     \
        mpx_proxy *p;                                                                     \
        int rc = proxy_from_ref_as(c, ref, typeid, sizeof(type), &p);                     \
        *out = (type *)p;                                                                 \
        return rc;                                                                        \
    }                                                                                     \
    PROXY_BASE_FUNCS(prefix, type)

/* The three that need only the base: close, proxy and token. A typed proxy of two types
 * uses this alone and writes its attach and from_ref on proxy_accept_either. */
#define PROXY_BASE_FUNCS(prefix, type)                                                    \
    void prefix##_close(type *p)                                                          \
    {                                                                                     \
        mpx_proxy_close(p != NULL ? &p->base : NULL);                                     \
    }                                                                                     \
    mpx_proxy *prefix##_proxy(type *p)                                                    \
    {                                                                                     \
        return &p->base;                                                                  \
    }                                                                                     \
    int prefix##_token(const type *p, char *buf, size_t size)                             \
    {                                                                                     \
        return mpx_proxy_token(&p->base, buf, size);                                      \
    }                                                                                     \
    _Static_assert(offsetof(type, base) == 0, #type " must begin with its mpx_proxy base")

/* mpx_proxy_call, then checks the reply is of the kind the method promises: MPX_EPROTO
 * (with a message on the client) otherwise, and *out freed. */
int proxy_call_expect(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                      mpx_kind kind, mpx_value *out);
/* A call whose reply (None) is of no interest. */
int proxy_call_void(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs);
/* The same with the call's own timeout (mpx_proxy_call_timeout). */
int proxy_call_timeout_void(mpx_proxy *p, const char *method, const mpx_value *args,
                            size_t nargs, double timeout);
/* Calls whose reply is a bool, an int, or a length (an int >= 0); *out is left as it was
 * on failure. */
int proxy_call_bool(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                    bool *out);
int proxy_call_int(mpx_proxy *p, const char *method, const mpx_value *args, size_t nargs,
                   int64_t *out);
int proxy_call_len(mpx_proxy *p, const char *method, size_t *out);
/* Python's (blocking, timeout) for a C timeout (negative: wait as needed, 0: do not wait,
 * more: at most that long) into args[0..]; returns how many it wrote (1 or 2). */
size_t proxy_block_args(double timeout, mpx_value args[2]);
/* The object's __repr__ as a malloc'd string (*out NULL on error). */
int proxy_call_repr(mpx_proxy *p, char **out);

/* Encodes one request frame onto out (the sync and the async client share it): MPX_OK,
 * MPX_ETOOBIG over max_message, MPX_EVALUE nested too deeply, MPX_ENOMEM. */
int proxy_encode_request(arena *scratch, frame_buf *out, size_t max_message, uint64_t id,
                         uint64_t object_id, const char *method, const mpx_value *args,
                         size_t nargs, double timeout);

/* Whether type's method may wait on the manager (its row's MAY_WAIT flag), from what the
 * manager said of the type; asked once per type and client. MPX_OK or the call's error. */
int client_method_may_wait(mpx_client *c, const char *type, const char *method, bool *out);

/* client.c keeps the list; proxies add and remove themselves. */
void client_track_proxy(mpx_client *c, struct mpx_proxy *p);
void client_untrack_proxy(mpx_client *c, struct mpx_proxy *p);
/* Records a local error on the client (for mpx_client_errmsg) and returns code. */
int client_fail(mpx_client *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* TLS over a connected fd for a tls:// address, verified as opts say (or $MPX_TLS_*):
 * *config is made on first use and kept by the caller; *out is the connection, after its
 * handshake. MPX_OK, or a code with the reason in err (*out may then need freeing). */
int proxy_start_tls(const mpx_client_opts *opts, const char *host, int fd, int64_t deadline,
                    tls_config **config, tls_conn **out, char *err, size_t errlen);

#endif
