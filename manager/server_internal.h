/* server_internal.h - the manager's state, shared by its files (not by types).
 *
 * One server owns one libuv loop, its listeners, its sessions (client connections), the
 * object table and the name registry. Everything runs on the loop thread; only
 * mpx_server_stop crosses threads (through a uv_async_t). Work that must not happen in
 * the middle of a call waits for the safe point, once per turn of the loop before it
 * polls (server.c): sessions flagged to close end, signalled wait lists re-run their
 * parked calls, and the replies gathered are written. After the poll, sessions that had
 * more requests than one turn's budget get the next budget (srv->backlog), after the safe
 * point has run once more for the replies to the reads that poll found.
 */
#ifndef MPX_MANAGER_SERVER_INTERNAL_H
#define MPX_MANAGER_SERVER_INTERNAL_H

#include <stdarg.h>
#include <uv.h>

#include "frame.h"
#include "list.h"
#include "listener.h"
#include "mem.h"
#include "mpx/server.h"
#include "object.h"
#include "python_types.h"
#include "u64map.h"
#include "value_ref.h"

#define SERVER_MAX_LISTENERS 16

/* The types a client can create, with their method indexes (mpx_server_register_type). */
#define SERVER_MAX_TYPES 256
typedef struct type_entry {
    const mpx_type *type;
    method_index index;
    py_typeid py; /* how Python's clients get a type SyncManager has no typeid for */
} type_entry;

typedef struct mpx_session session;

/* A named object Python's clients ask for by a typeid of their own (mpx_server_expose). */
typedef struct server_exposure {
    char *typeid;
    const type_entry *entry;
    char *name;
} server_exposure;

struct mpx_server {
    uv_loop_t loop;
    uv_async_t stop_async;
    mpx_server_opts opts;
    uint8_t *authkey;
    uint8_t *admin_key;     /* opts.admin_key's copy, or NULL */
    listener *listeners[SERVER_MAX_LISTENERS];
    struct tls_config *tls; /* made by the first tls:// listen, from opts.tls_* */
    int nlisteners;
    list sessions;          /* open sessions (session.link), until they end */
    /* The sessions by state: sessions.len == unauthenticated.len + nauthenticated. Those
     * that have not proven the key yet are capped apart (opts.max_unauthenticated), so
     * that keyless sockets cannot take the room of clients with the key (session_accept). */
    list unauthenticated;   /* oldest first (session.auth_link) */
    size_t nauthenticated;  /* the client's answer to our challenge was right */
    list to_close;          /* sessions flagged to close at the safe point */
    list pending_writes;    /* sessions with replies to write at the safe point */
    list signalled;         /* wait lists whose parked calls re-run (mpx_wait_list.ready) */
    uv_prepare_t safe_point;
    /* Sessions whose requests outlasted one turn's budget (opts.turn_frames,
     * turn_budget_us): their sockets are not read until the frames they hold are served,
     * a budget a turn, by backlog_check after the poll; backlog_idle runs meanwhile so that
     * the poll does not block. */
    list backlog;           /* session.backlog_link, in the order they ran out */
    uv_check_t backlog_check;
    uv_idle_t backlog_idle;
    size_t nwaiters;        /* parked calls, all objects */
    uint64_t next_fence;    /* fencing tokens: grows with every lock grant */
    uint64_t next_session_id;
    u64map objects;         /* id -> object* */
    uint64_t next_object_id;
    mpx_value registry;     /* dict: name (str) -> id (int) */
    /* The creatable types: built-in, then registered. Each entry stays where it is made
     * (objects and exposures point at it). */
    type_entry *types[SERVER_MAX_TYPES];
    size_t ntypes;
    /* References inside stored values keep their objects alive (value_ref.h); one object
     * destroyed gives back what its value held, so destruction runs as a loop over the
     * dying ones, never as a recursion a chain of nested objects could overflow. */
    value_ref_owner ref_owner;
    mpx_object *dying;
    bool releasing;
    bool tearing_down; /* objects_free: references given back count for nothing */
    uint64_t *call_counts;  /* one per method of every type: method_index.counts_at + row */
    size_t ncall_counts;
    uint64_t started_ms;    /* uv_now when made: info's uptime */
    server_exposure *exposures;
    size_t nexposures;
    mpx_object manager_obj;     /* object 0: create, open, incref, decref, methods, parked... */
    method_index manager_index;
    int stopping;
    /* What the server holds in bytes (values, objects, parked calls, session buffers):
     * the allocations made in this scope (mem.h), which mpx_server_new, run and free
     * enter, and so must anything else that runs the server's code (tests' fixtures). */
    mem_counter mem;
};

/* log.c: mpx_server_log (mpx/type.h), one line per event, key=value, to stderr */

/* ---- objects.c ---- the table, the registry and the methods of object 0 */
int objects_init(mpx_server *s);
void objects_free(mpx_server *s);
mpx_object *objects_find(const mpx_server *s, uint64_t id);
/* The creatable type's entry, by its type or its name; NULL. */
const type_entry *objects_type_named(const mpx_server *s, const char *name);
const type_entry *objects_type_entry(const mpx_server *s, const mpx_type *type);
/* Makes an object of type te from the constructor arguments c->args[first..], with no
 * reference yet: the caller takes one (or releases it with n = 0 to undo). */
int objects_create(mpx_server *s, mpx_call *c, const type_entry *te, size_t first,
                   mpx_object **out);
/* The object registered as name, made from c->args[first..] on first use (then the
 * registry holds one reference). MPX_EEXIST when name is an object of another type. */
int objects_open(mpx_server *s, mpx_call *c, const type_entry *te, const char *name,
                 size_t first, mpx_object **out);
/* Adopts the references inside v (request arguments): each keeps its object alive while
 * v or a copy of it lives. MPX_ENOOBJECT, with *missing, when one names no object. */
int objects_adopt_refs(mpx_server *s, mpx_value *v, uint64_t *missing);
/* The object's repr (its type's __repr__, or "<Type object, id N>"), malloc'd; NULL
 * when out of memory. */
char *objects_repr(mpx_server *s, mpx_object *obj);
/* Drops n references; the object is destroyed when none remain. */
void objects_release(mpx_server *s, mpx_object *obj, uint32_t n);

/* ---- session.c ---- a client connection */
/* tls: the stream carries TLS (a tls:// listener's), with s->tls's certificate. */
void session_accept(mpx_server *s, uv_stream_t *stream, const char *peer, bool tls);
/* Flags the session to close at the safe point (idempotent); from then on it reads
 * nothing and is sent nothing. The reason goes into the log line. */
void session_close(session *sess, const char *reason);
bool session_closing(const session *sess);
void sessions_close_all(mpx_server *s, const char *reason);
/* The safe point's parts: end the flagged sessions; write what replies gathered. */
void sessions_close_flagged(mpx_server *s);
void sessions_flush(mpx_server *s);
/* After the poll: one more budget for each session of srv->backlog. */
void sessions_serve_backlog(mpx_server *s);
uint64_t session_id(const session *sess);
/* The session proved the admin key (admin.c); its pending admin challenge (len <=
 * AUTH_CHALLENGE_MAX), which take hands out once. */
bool session_admin(const session *sess);
void session_set_admin(session *sess);
void session_set_admin_challenge(session *sess, const uint8_t *challenge, size_t len);
bool session_take_admin_challenge(session *sess, const uint8_t **challenge, size_t *len);
mpx_server *session_server(session *sess);
/* Queues a reply to call_id. MPX_ECLOSED when the session is closing: nothing is sent. */
int session_reply(session *sess, uint64_t call_id, int rc, const char *msg,
                  const mpx_value *value);
/* Replies to a call a handler finished with rc (c->result or c->errmsg); a result that
 * must not be lost (c->undelivered) goes back to c->obj when it cannot be sent. Frees
 * c->result. */
void session_answer(session *sess, mpx_call *c, int rc);
/* Queues one frame as it is (the pickle dialect's replies). MPX_ECLOSED when closing. */
int session_send_frame(session *sess, const void *payload, size_t len);
struct python_state *session_python(session *sess);
uv_stream_t *session_stream(session *sess);
/* The session's list of parked calls (wait.c's waiter.session_link), and its length. */
void session_link_waiter(session *sess, list_node *n);
void session_unlink_waiter(session *sess, list_node *n);
size_t session_nwaiters(const session *sess);
/* Records one more reference held by sess on id (count kept per session). */
int session_ref_add(session *sess, uint64_t id);
/* Drops one held reference; MPX_EVALUE when sess holds none. */
int session_ref_drop(session *sess, uint64_t id);

#endif
