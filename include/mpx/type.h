/* mpx/type.h - writing a shared object type: what the manager's own types are made of.
 *
 * A type is a table of method rows ({name, handler, arity, flags}) plus a constructor, a
 * destructor and an optional session-ended hook (mpx_type). An embedded server takes it
 * with mpx_server_register_type before it runs; from then on clients create it, open it
 * by name, call it, pipeline calls to it and pass references to it like any built-in
 * type (mpx_proxy_create / mpx_proxy_open / mpx_proxy_call with the type's name). Every
 * built-in type (dict, Lock, Queue...) is a table like this, registered the same way.
 *
 * A handler runs to completion on the manager's one loop thread and never blocks. It
 * reads c->args (the dispatcher has checked their count against the row), and either
 * answers now: returns MPX_OK with c->result set (None by default), or an error code
 * through mpx_call_fail; or parks the call (MPX_PARKED, from mpx_call_park) in one of its
 * object's wait lists, to be run again with the same arguments once the object signals
 * that list (mpx_wait_signal). A parked call is answered by its re-run, by its timeout
 * (the caller's, or one the handler set), or dropped when its caller's connection ends.
 * The whole template of a blocking method:
 *
 *     static int bucket_take(mpx_call *c)
 *     {
 *         bucket *b = c->obj->state;
 *         if (b->tokens > 0 && mpx_call_first_in_line(c, &b->waiters)) {
 *             b->tokens--;                       answer now
 *             return MPX_OK;
 *         }
 *         return mpx_call_park(c, &b->waiters, NULL, NULL);    or park
 *     }
 *
 * and whatever adds a token calls mpx_wait_signal(&b->waiters); the row is
 * {"take", bucket_take, 0, 0, MPX_METHOD_MAY_WAIT}; destroy calls mpx_wait_list_close.
 *
 * Holds that belong to a client (a Lock's owner, a Semaphore's units) are given back
 * when its connection ends: the handler asks for it once (mpx_call_watch), the type's
 * session_ended runs then with the connection's id (mpx_call_session_id).
 *
 * Values: c->args and c->result are mpx_value trees (mpx/value.h). A handler may move
 * arguments out of c->args (mpx_value_move) into its state once it will answer; what is
 * left is freed after the call. Fields and functions marked private are the manager's.
 */
#ifndef MPX_TYPE_H
#define MPX_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/error.h"
#include "mpx/links.h"
#include "mpx/server.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MPX_CALL_ERRMSG_MAX 256
#define MPX_PARKED 1 /* a handler's result: the call waits, no reply now */

typedef struct mpx_call mpx_call;
typedef struct mpx_object mpx_object;
typedef struct mpx_type mpx_type;
typedef struct mpx_waiter mpx_waiter;

typedef int (*mpx_method_fn)(mpx_call *c);
/* A result that must reach its caller (an item taken from a queue). The manager keeps it
 * until the reply carrying it is in the socket; when that cannot happen (the connection
 * ended, the write failed) it is handed back here, for the type to put it back. The
 * function takes what it keeps (leaving *result None); the rest is freed after it. */
typedef void (*mpx_undelivered_fn)(mpx_object *obj, mpx_value *result);

/* One call of a method, or of a constructor. */
struct mpx_call {
    mpx_server *srv;       /* the manager; NULL when a test runs a handler alone */
    mpx_object *obj;       /* the object called */
    mpx_value *args;       /* positional arguments, owned by the call */
    size_t nargs;
    double timeout;        /* seconds, valid when has_timeout: the caller's, or the
                              handler's own (mpx_call_timeout_arg), for a park */
    bool has_timeout;
    mpx_value result;      /* set by the handler on MPX_OK; None by default */
    mpx_undelivered_fn undelivered; /* set with result when it must not be lost */
    char errmsg[MPX_CALL_ERRMSG_MAX]; /* set by mpx_call_fail */
    /* private */
    struct mpx_session *sess; /* the caller's connection; NULL in unit tests */
    uint64_t call_id;      /* the request's id, for a reply sent later */
    mpx_method_fn fn;      /* the handler running, for mpx_call_park */
    mpx_waiter *parked;    /* a parked call being re-run: its waiter; else NULL */
};

/* mpx_method.flags */
#define MPX_METHOD_MAY_WAIT 0x1u /* may park: the caller waits for as long as the call does */
/* may grow what the manager holds (Redis's CMD_DENYOOM): refused with MPX_ENOMEM while
 * its used memory is over mpx_server_opts.max_memory; reads, deletes and pops are not */
#define MPX_METHOD_GROWS 0x2u

typedef struct mpx_method {
    const char *name; /* the name clients call: "__getitem__", "append", "take" */
    mpx_method_fn fn;
    uint8_t min_args; /* fewer or more arguments are a TypeError, in Python's words, */
    uint8_t max_args; /* before the handler runs: it may index args[0..max_args-1] < nargs */
    uint8_t flags;    /* MPX_METHOD_* */
} mpx_method;

struct mpx_type {
    const char *name; /* what clients create and open it as: "dict", "TokenBucket" */
    /* Builds obj->value / obj->state from the constructor arguments in c->args
     * (c->obj == obj). MPX_OK, or an error via mpx_call_fail: destroy then still runs,
     * on whatever init left (so free what is set, and leave NULL what is not). */
    int (*init)(mpx_object *obj, mpx_call *c);
    /* Frees what init made; NULL when obj->value is all there is (the manager frees it). */
    void (*destroy)(mpx_object *obj);
    /* A connection that asked to be watched on this object (mpx_call_watch) has ended:
     * give back what it held. NULL for types without holds. */
    void (*session_ended)(mpx_object *obj, uint64_t session_id);
    const mpx_method *methods;
    size_t nmethods;  /* at most 64 */
    uint8_t min_init_args;
    uint8_t max_init_args;
};

struct mpx_object {
    uint64_t id;        /* never reused by the manager */
    const mpx_type *type;
    mpx_value value;    /* for the type: a value freed with the object (dict's, list's) */
    void *state;        /* for the type: what init made, freed by destroy */
    char *name;         /* its registry name, or NULL; read-only */
    /* private */
    const struct mpx_method_index *methods; /* the index of type's methods */
    uint32_t refs;      /* proxies (sessions) and the registry holding it */
    uint32_t py_refs;   /* of refs, those Python's clients hold, counted per object */
    mpx_object *dying_next; /* in the server's objects to destroy, once refs is 0 */
};

/* Makes type creatable on s by its name, as the built-in types are: for C clients
 * (mpx_proxy_create, _open) and for Python's, which register it with
 * BaseManager.register(name) and get an AutoProxy exposing every method (positional
 * arguments only). Call it before mpx_server_run; type and everything it points to must
 * outlive the server. MPX_EEXIST when a type of that name is there already (a built-in's
 * too), MPX_EINVAL for a type without a name, init, or methods, with more than 64
 * methods or a row whose min_args > max_args, MPX_ELIMIT past 256 types, MPX_ENOMEM. */
int mpx_server_register_type(mpx_server *s, const mpx_type *type);

/* ---- answering -------------------------------------------------------------------------- */

/* Records the error message and returns code, so a handler can `return mpx_call_fail(..)`.
 * code is an MPX_E* (mpx/error.h): the caller sees it, Python's clients as its exception
 * (MPX_EKEY as KeyError, MPX_EVALUE as ValueError...). */
int mpx_call_fail(mpx_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* KeyError-style: the message is repr(v), as Python prints KeyError('x'). */
int mpx_call_fail_repr(mpx_call *c, int code, const mpx_value *v);
/* MemoryError "out of memory". */
int mpx_call_fail_nomem(mpx_call *c);

/* ---- reading arguments: each fails with Python's TypeError / ValueError wording ------- */

/* TypeError when args[i] is not of kind k: "<what> must be int, not str". */
int mpx_call_expect_kind(mpx_call *c, size_t i, mpx_kind k, const char *what);
/* A batch argument: TypeError unless args[i] is a list or tuple; *items and *n give its
 * items, which the handler may move out. */
int mpx_call_sequence_arg(mpx_call *c, size_t i, const char *what, mpx_value **items,
                          size_t *n);
/* A count argument at args[i], dflt when absent: an int of at least 1. */
int mpx_call_count_arg(mpx_call *c, size_t i, const char *what, int64_t dflt, int64_t *out);
/* The memory budget (mpx_server_opts.max_memory) for a call whose growth is known before
 * it allocates (Array(n), extend of a str, l * n): MPX_OK when the manager may take about
 * bytes more, else MPX_ENOMEM (MemoryError) with nothing allocated. Always MPX_OK without
 * a budget or a server (a test running a handler alone). */
int mpx_call_reserve(mpx_call *c, size_t bytes);
/* A number argument (int, float or bool) as a double. */
int mpx_call_number_arg(mpx_call *c, size_t i, const char *what, double *out);
/* An optional timeout at args[i] (absent or None: none; else a number >= 0) into
 * c->has_timeout / c->timeout, which a park then uses. */
int mpx_call_timeout_arg(mpx_call *c, size_t i);
/* acquire([blocking=True[, timeout=-1]]) from args[first..]: *blocking, and the timeout
 * as mpx_call_timeout_arg (-1: none). */
int mpx_call_acquire_args(mpx_call *c, size_t first, bool *blocking);

/* ---- who calls ------------------------------------------------------------------------- */

/* The caller's connection id: holds are recorded under it. A handler run without a
 * manager (a unit test) gets UINT64_MAX for every call. */
uint64_t mpx_call_session_id(const mpx_call *c);
/* Asks for obj->type->session_ended(obj, id) when the caller's connection ends (once per
 * connection and object; again is a no-op). MPX_OK (also without a manager), MPX_ENOMEM. */
int mpx_call_watch(mpx_call *c, mpx_object *obj);

/* ---- waiting: the one parking mechanism ------------------------------------------------ */

/* A FIFO list of parked calls. Zeroed (inside a calloc'd state) it is empty and ready;
 * the type's destroy must close it (mpx_wait_list_close). */
typedef struct mpx_wait_list {
    /* A signal re-runs every parked call, not only the oldest ones until one must still
     * wait (each caller wants something of its own). Set before the first park. */
    bool each;
    /* private */
    mpx_links waiters;      /* mpx_waiter.link, oldest first */
    mpx_server *srv;        /* set by the first park: where signalled lists are queued */
    mpx_link ready;         /* in srv's signalled lists while signalled is set */
    bool signalled;
} mpx_wait_list;

typedef struct mpx_wait_ops {
    /* The call's timeout expired; the waiter is still parked. NULL: MPX_ETIMEOUT. */
    void (*on_timeout)(mpx_waiter *w);
    /* The caller's connection ended while parked. The waiter is already out of its list
     * (w->list is NULL) and is freed after this; it cannot be answered. */
    void (*on_drop)(mpx_waiter *w);
} mpx_wait_ops;

/* A parked call. Invariant: it is in exactly one wait list and in its connection's list
 * of parked calls from mpx_call_park until it is answered or dropped, then freed. */
struct mpx_waiter {
    mpx_object *obj;      /* the object whose handler re-runs it */
    int64_t n;            /* for the type: a count, a generation, ... */
    mpx_value arg;        /* for the type: a value the call carries (owned, freed with it) */
    /* private */
    mpx_link link;        /* in list->waiters */
    mpx_link session_link; /* in its session's parked calls */
    mpx_wait_list *list;
    struct mpx_session *sess;
    uint64_t call_id;
    mpx_method_fn fn;
    mpx_value *args;      /* the saved arguments (owned), nargs of them */
    size_t nargs;
    const mpx_wait_ops *ops;
    void *timer;          /* a uv_timer_t while a timeout runs */
};

/* Parks c in wl with c's timeout (none when !c->has_timeout) and its arguments (moved
 * out of c->args; c->args then points at the saved ones). A call being re-run keeps its
 * waiter, place and timer; it only changes lists when wl is another one. ops may be
 * NULL; *out (may be NULL) is the waiter, for the type to fill n / arg. Returns
 * MPX_PARKED, or an error for the reply (MPX_ELIMIT past the manager's limits on parked
 * calls, MPX_ERUNTIME without a manager). */
int mpx_call_park(mpx_call *c, mpx_wait_list *wl, const mpx_wait_ops *ops, mpx_waiter **out);
/* Whether c may go ahead of wl's parked calls: nobody waits in wl, or c is the oldest
 * parked call there being re-run. A FIFO type grants only to such a call. */
bool mpx_call_first_in_line(const mpx_call *c, const mpx_wait_list *wl);
/* Asks for wl's parked calls to be re-run at the loop's next safe point (idempotent,
 * cheap: call it on every change that may let a parked call through). */
void mpx_wait_signal(mpx_wait_list *wl);
/* The oldest parked call of wl, or NULL; how many are parked there. */
mpx_waiter *mpx_wait_list_first(const mpx_wait_list *wl);
size_t mpx_wait_list_len(const mpx_wait_list *wl);
/* Answers a parked call now and frees it (a broadcast: Event.set answers them all).
 * MPX_ECLOSED when its connection is closing: nothing was sent. */
int mpx_waiter_reply(mpx_waiter *w, int rc, const char *msg, const mpx_value *result);
/* Moves a parked call to the tail of another list, where fn on obj re-runs it when that
 * list is signalled (a notified Condition waiter goes back for its lock). */
void mpx_waiter_requeue(mpx_waiter *w, mpx_wait_list *to, mpx_object *obj, mpx_method_fn fn);
/* Stops a parked call's timer: it then waits without a deadline. */
void mpx_waiter_stop_timer(mpx_waiter *w);
/* Answers every call of wl with the same error; for destroy (the object is going away). */
void mpx_wait_list_close(mpx_wait_list *wl, int rc, const char *msg);

/* ---- the rest of the manager a type may use --------------------------------------------- */

/* A time after which the manager calls the type back about one of its objects (a hold
 * that ends on its own: a Lock's lease). When it fires, the object is looked up again by
 * id (it may be gone: then nothing happens) and fn runs once with token; the deadline
 * frees itself after fn returns, so fn must forget it, not stop it. NULL when out of
 * memory. Stop one that has not fired with mpx_deadline_stop (NULL is a no-op). */
typedef struct mpx_deadline mpx_deadline;
typedef void (*mpx_deadline_fn)(mpx_object *obj, uint64_t token);
mpx_deadline *mpx_deadline_start(mpx_server *s, mpx_object *obj, double seconds,
                                 uint64_t token, mpx_deadline_fn fn);
void mpx_deadline_stop(mpx_deadline *d);

/* The object a reference argument (args[i], kind MPX_REF) names, with one reference for
 * the caller's state: the object lives until mpx_object_release gives it back. TypeError
 * for another kind, LookupError when it names no object (or without a manager). */
int mpx_call_ref_arg(mpx_call *c, size_t i, mpx_object **out);
void mpx_object_release(mpx_server *s, mpx_object *obj);
/* A number greater than every one this manager gave before (fencing tokens). */
uint64_t mpx_server_next_fence(mpx_server *s);
/* One log line, key=value fields, to the manager's log at level (mpx/server.h). */
void mpx_server_log(const mpx_server *s, mpx_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
