/* object.h - what every shared object type gives the manager, and one call's context.
 *
 * A type is a row table of methods ({name, handler, arity}) plus init and destroy; the
 * dispatcher indexes the names once (dispatch.c) and checks arity before a handler runs,
 * so handlers only check argument kinds. A handler runs to completion on the loop: it
 * returns MPX_OK with c->result set, or an error code with c->errmsg set by call_fail,
 * or parks the call (wait.h: MPX_PARKED) to be run again when the state it waits for may
 * have come. Handlers may move values out of c->args once they answer (the request, or
 * the parked call's saved arguments, is dropped after the call).
 */
#ifndef MPX_MANAGER_OBJECT_H
#define MPX_MANAGER_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/error.h"
#include "mpx/value.h"

#define CALL_ERRMSG_MAX 256

struct mpx_server;
struct session;
struct object;

/* A result that must reach its caller (an item taken from a queue). The session keeps it
 * until the reply carrying it has been written to the socket; when that cannot happen (the
 * session ended, the write failed) it is handed back here, for the type to put it back.
 * The function takes what it keeps (leaving *result None); the rest is freed after it. */
typedef void (*undelivered_fn)(struct object *obj, mpx_value *result);

struct call;
struct waiter;
typedef int (*method_fn)(struct call *c);

typedef struct call {
    struct mpx_server *srv; /* NULL in unit tests */
    struct session *sess;  /* the caller; NULL in unit tests */
    uint64_t call_id;      /* the request's id, for a reply sent later (wait.h) */
    struct object *obj;
    method_fn fn;          /* the handler running (set by object_invoke), for call_park */
    struct waiter *parked; /* a parked call being re-run (wait.h): its waiter; else NULL */
    mpx_value *args;       /* positional arguments, owned by the call */
    size_t nargs;
    double timeout;        /* seconds, valid when has_timeout */
    bool has_timeout;
    mpx_value result;      /* set by the handler on MPX_OK; None by default */
    undelivered_fn undelivered; /* set with result when it must not be lost; else NULL */
    char errmsg[CALL_ERRMSG_MAX];
} call;

/* Records the error message and returns code, so handlers can `return call_fail(...)`. */
int call_fail(call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* KeyError-style: the message is repr(v), as Python prints KeyError('x'). */
int call_fail_repr(call *c, int code, const mpx_value *v);
/* TypeError when args[i] is not of kind k: "<what> must be int, not str". */
int call_expect_kind(call *c, size_t i, mpx_kind k, const char *what);
/* A batch argument: TypeError unless args[i] is a list or tuple ("<what> must be a list or
 * tuple, not str"); *items and *n give its items, which the handler may move out. */
int call_sequence_arg(call *c, size_t i, const char *what, mpx_value **items, size_t *n);
/* A count argument at args[i], dflt when absent: an int of at least 1 (TypeError for
 * another kind, ValueError "<what> must be at least 1"). */
int call_count_arg(call *c, size_t i, const char *what, int64_t dflt, int64_t *out);
/* The memory budget (mpx_server_opts.max_memory) for a call whose growth is known before
 * it allocates (Array(n), extend of a str, l * n): MPX_OK when the manager may take about
 * bytes more, else MPX_ENOMEM (MemoryError) with nothing allocated. Always MPX_OK without
 * a budget or a server (unit tests). */
int call_reserve(call *c, size_t bytes);

/* method_def.flags */
#define METHOD_MAY_WAIT 0x1u /* may park: the caller waits for as long as the call does */
/* may grow what the manager holds (Redis's CMD_DENYOOM): refused with MPX_ENOMEM while
 * used memory is over max_memory; reads, deletes and pops are not flagged */
#define METHOD_GROWS 0x2u

typedef struct method_def {
    const char *name; /* Python's exposed name: "__getitem__", "append", ... */
    method_fn fn;
    uint8_t min_args;
    uint8_t max_args;
    uint8_t flags;    /* METHOD_* */
} method_def;

/* A type's method names hashed once (open addressing over FNV-1a), so dispatch by name is
 * one hash and one compare. The server builds one per type at start; so do unit tests. */
typedef struct method_index {
    const struct object_type *type;
    uint32_t mask;
    uint16_t slot[128]; /* index into type->methods plus one; 0 is empty */
    uint32_t counts_at; /* where the server's call counts of these methods start (admin.c) */
} method_index;

typedef struct object_type {
    const char *name; /* Python's typeid: "dict", "list", "Namespace" */
    /* Builds obj->value / obj->state from the constructor arguments in c->args
     * (c->obj == obj). Returns MPX_OK or an error via call_fail. */
    int (*init)(struct object *obj, call *c);
    /* Frees what init made; NULL when obj->value is all there is (the table frees it). */
    void (*destroy)(struct object *obj);
    /* A session that asked to be watched on this object (session_watch) has ended: give
     * back what it held (locks, semaphore units). NULL for types without holds. */
    void (*session_ended)(struct object *obj, uint64_t session_id);
    const method_def *methods;
    size_t nmethods;
    uint8_t min_init_args;
    uint8_t max_init_args;
} object_type;

/* MPX_OK, or MPX_EINVAL when the type has more methods than the index holds. */
int method_index_build(method_index *ix, const object_type *type);
const method_def *method_index_find(const method_index *ix, const char *name, size_t len);

typedef struct object {
    uint64_t id;
    const object_type *type;
    const method_index *methods; /* the index of type's methods */
    uint32_t refs;   /* proxies (sessions) and the registry holding it */
    uint32_t py_refs; /* of refs, those Python's clients hold: counted per object, not per
                         session, as Python's server does (python_dialect.h) */
    char *name;      /* registry name, or NULL */
    mpx_value value; /* the container of dict, list, Namespace */
    void *state;     /* for types with more than a value */
    struct object *dying_next; /* in the server's objects to destroy, once refs is 0 */
} object;

extern const object_type type_dict;
extern const object_type type_list;
extern const object_type type_namespace;

/* Runs a method on obj the way the dispatcher does (lookup, arity check, handler), for
 * the server and for unit tests. c->obj, c->args, c->nargs must be set; an unknown name
 * is MPX_ENOMETHOD, a wrong count MPX_ETYPE, both with Python's wording. */
int object_invoke(object *obj, const char *method, call *c);
/* Runs type->init with arity checks; obj->type must be set. */
int object_init(object *obj, call *c);
/* Releases what the object holds (destroy or value), not the struct itself. */
void object_clear(object *obj);

#endif
