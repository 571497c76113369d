/* python_dialect.c - Python's manager protocol on mpx's objects (see python_dialect.h).
 *
 * A request is the pickle of (ident, methodname, args, kwds). With ident None it is one
 * of BaseManager's server functions (create, incref, decref, accept_connection,
 * get_methods, dummy, debug_info, number_of_objects, shutdown); otherwise a method of the
 * object whose id ident is, in hex, as Python's server writes '%x' % id(obj). Method calls
 * go through object_invoke like the protobuf dialect's, after Python's keyword arguments
 * are put in their positional places (python_types.h); a call that parks is answered by
 * wait.c through session.c's reply, which comes back here (python_reply).
 * Errors come back as Python does: a failing method as ('#ERROR', exception instance of
 * the class Python raises), anything wrong with the request itself or with a server
 * function as ('#TRACEBACK', text), which Python's client raises as RemoteError. Nothing
 * in a request is ever run: the unpickler reads data only (protocol/pickle.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "pickle.h"
#include "python_dialect.h"
#include "python_types.h"
#include "server_internal.h"
#include "sync.h"
#include "wait.h"

#define MANAGERS "multiprocessing.managers"
#define TRACEBACK_MAX 512
#define DEBUG_INFO_MAX_OBJECTS 10000 /* debug_info lists this many objects at most */

/* One request, borrowed from the decoded tuple. */
typedef struct py_request {
    const mpx_value *ident; /* None or str */
    const char *method;
    mpx_value *args;        /* a tuple */
    mpx_value *kwds;        /* a dict */
} py_request;

/* Positional arguments for a handler (owned; moved out of the request). */
typedef struct py_args {
    mpx_value *v;
    size_t n;
} py_args;

static void py_args_free(py_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        mpx_value_free(&a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

bool python_frame_starts_dialect(const uint8_t *frame, size_t len)
{
    return len > 0 && frame[0] == PICKLE_PROTO;
}

void python_state_free(python_state *py)
{
    mpx_value_free(&py->address);
}

/* ---- Python's exceptions -------------------------------------------------------------- */

typedef struct py_exception {
    const char *module;
    const char *name;
    bool no_args; /* raised bare, as queue.Empty() is */
} py_exception;

/* By -rc: the class Python raises where mpx answers with that code. */
static const py_exception exceptions[] = {
    [-MPX_ENOMEM] = {"builtins", "MemoryError", false},
    [-MPX_EINVAL] = {"builtins", "ValueError", false},
    [-MPX_EKEY] = {"builtins", "KeyError", false},
    [-MPX_EINDEX] = {"builtins", "IndexError", false},
    [-MPX_EVALUE] = {"builtins", "ValueError", false},
    [-MPX_ETYPE] = {"builtins", "TypeError", false},
    [-MPX_EATTR] = {"builtins", "AttributeError", false},
    [-MPX_ENOMETHOD] = {"builtins", "AttributeError", false},
    [-MPX_ENOOBJECT] = {"builtins", "KeyError", false},
    [-MPX_ETIMEOUT] = {"builtins", "TimeoutError", false},
    [-MPX_EEMPTY] = {"_queue", "Empty", true},
    [-MPX_EFULL] = {"queue", "Full", true},
    [-MPX_EBROKEN] = {"threading", "BrokenBarrierError", true},
    [-MPX_ENOTOWNER] = {"builtins", "RuntimeError", false},
    [-MPX_ERUNTIME] = {"builtins", "RuntimeError", false},
    [-MPX_EOVERFLOW] = {"builtins", "OverflowError", false},
    [-MPX_EZERODIV] = {"builtins", "ZeroDivisionError", false},
    [-MPX_EEXIST] = {"builtins", "TypeError", false},
    [-MPX_EPROTO] = {"builtins", "ValueError", false},
    [-MPX_ELIMIT] = {"builtins", "RuntimeError", false},
    [-MPX_ESTOPITER] = {"builtins", "StopIteration", true},
};

static const py_exception *exception_of(int rc)
{
    static const py_exception runtime = {"builtins", "RuntimeError", false};
    size_t i = (size_t)-rc;
    if (rc < 0 && i < sizeof exceptions / sizeof exceptions[0] && exceptions[i].name != NULL)
        return &exceptions[i];
    return &runtime;
}

/* cls(arg) or cls(), REDUCE'd. A KeyError carries the key itself, as Python's does: the
 * message of mpx's KeyError is the key's repr, read back here. */
static void put_exception(pickle_out *o, int rc, const char *msg)
{
    const py_exception *e = exception_of(rc);
    pickle_global(o, e->module, e->name);
    pickle_mark(o);
    if (!e->no_args) {
        mpx_value key;
        char err[8];
        if (rc == MPX_EKEY && mpx_value_parse(msg, &key, err, sizeof err) == MPX_OK) {
            pickle_value(o, &key, NULL, NULL);
            mpx_value_free(&key);
        } else {
            pickle_str(o, msg, strlen(msg));
        }
    }
    pickle_tuple(o, PICKLE_MARKED);
    pickle_reduce(o);
}

/* ---- references as proxies ------------------------------------------------------------ */

/* What the client connected to, as Python's Token holds it: (host, port) or a path. */
static int local_address(session *sess, mpx_value *out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)session_stream(sess), &fd) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return mpx_value_str(out, "");
    if (ss.ss_family == AF_UNIX)
        return mpx_value_str(out, ((struct sockaddr_un *)&ss)->sun_path);
    char host[INET6_ADDRSTRLEN] = "";
    int port;
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    }
    mpx_value h, p = mpx_value_int(port);
    if (mpx_value_tuple(out, 2) != MPX_OK || mpx_value_str(&h, host) != MPX_OK) {
        mpx_value_free(out);
        return MPX_ENOMEM;
    }
    mpx_value_append(out, &h);
    mpx_value_append(out, &p);
    return MPX_OK;
}

static const mpx_value *session_address(session *sess)
{
    python_state *py = session_python(sess);
    if (mpx_value_kind(&py->address) == MPX_NONE && local_address(sess, &py->address) != MPX_OK)
        return NULL;
    return &py->address;
}

static void format_ident(uint64_t id, char *buf, size_t size)
{
    snprintf(buf, size, "%llx", (unsigned long long)id);
}

/* Token(typeid, address, ident): NEWOBJ of the class, then its state. */
static void put_token(pickle_out *o, session *sess, const char *typeid, uint64_t id)
{
    const mpx_value *address = session_address(sess);
    char ident[24];
    format_ident(id, ident, sizeof ident);
    if (address == NULL) {
        o->err = MPX_ENOMEM;
        return;
    }
    pickle_global(o, MANAGERS, "Token");
    pickle_tuple(o, 0);
    pickle_newobj(o);
    pickle_str(o, typeid, strlen(typeid));
    pickle_value(o, address, NULL, NULL);
    pickle_str(o, ident, strlen(ident));
    pickle_tuple(o, 3);
    pickle_build(o);
}

static int exposed_tuple(const py_typeid *t, mpx_value *out)
{
    if (mpx_value_tuple(out, 20) != MPX_OK)
        return MPX_ENOMEM;
    for (const char *const *e = t->exposed; *e != NULL; e++) {
        mpx_value name;
        if (mpx_value_str(&name, *e) != MPX_OK || mpx_value_append(out, &name) != MPX_OK) {
            mpx_value_free(&name);
            mpx_value_free(out);
            return MPX_ENOMEM;
        }
    }
    return MPX_OK;
}

/* A reference inside a value goes to Python as its proxy: RebuildProxy(ProxyClass, token,
 * 'pickle', kwds), which Python's BaseProxy.__reduce__ writes; unpickling it increfs. */
static int put_ref(pickle_out *o, const mpx_value *ref, void *ctx)
{
    session *sess = ctx;
    mpx_server *s = session_server(sess);
    mpx_object *obj = objects_find(s, mpx_value_ref_id(ref));
    const py_typeid *t = obj != NULL ? py_typeid_of(s, obj->type)
                                     : py_typeid_find(s, mpx_value_ref_type(ref));
    if (t == NULL)
        return MPX_EVALUE;
    mpx_value kwds;
    if (mpx_value_dict(&kwds) != MPX_OK)
        return MPX_ENOMEM;
    if (strcmp(t->proxy, "AutoProxy") == 0) { /* AutoProxy needs the exposed names */
        mpx_value key, names;
        if (mpx_value_str(&key, "exposed") != MPX_OK || exposed_tuple(t, &names) != MPX_OK ||
            mpx_value_dict_set(&kwds, &key, &names) != MPX_OK) {
            mpx_value_free(&kwds);
            return MPX_ENOMEM;
        }
    }
    pickle_global(o, MANAGERS, "RebuildProxy");
    pickle_mark(o);
    pickle_global(o, MANAGERS, t->proxy);
    put_token(o, sess, t->typeid, mpx_value_ref_id(ref));
    pickle_str(o, "pickle", 6);
    pickle_value(o, &kwds, NULL, NULL);
    pickle_tuple(o, PICKLE_MARKED);
    pickle_reduce(o);
    mpx_value_free(&kwds);
    return o->err;
}

/* ---- replies -------------------------------------------------------------------------- */

static int send_pickle(session *sess, pickle_out *o)
{
    pickle_end(o);
    int rc = o->err == MPX_OK ? session_send_frame(sess, o->data, o->len) : o->err;
    pickle_out_free(o);
    return rc;
}

static int send_text(session *sess, const char *kind, const char *text)
{
    pickle_out o = {0};
    pickle_begin(&o);
    pickle_str(&o, kind, strlen(kind));
    pickle_str(&o, text, strlen(text));
    pickle_tuple(&o, 2);
    return send_pickle(sess, &o);
}

/* ('#TRACEBACK', text): Python's client raises RemoteError(text). The last line names the
 * exception, as a traceback's does. */
static void send_traceback(session *sess, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void send_traceback(session *sess, int rc, const char *fmt, ...)
{
    char msg[TRACEBACK_MAX - 64], text[TRACEBACK_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(text, sizeof text, "mpx-manager:\n%s: %s\n", exception_of(rc)->name, msg);
    send_text(sess, "#TRACEBACK", text);
}

static int send_return(session *sess, const mpx_value *v)
{
    pickle_out o = {0};
    pickle_begin(&o);
    pickle_str(&o, "#RETURN", 7);
    pickle_value(&o, v, put_ref, sess);
    pickle_tuple(&o, 2);
    if (o.err == MPX_EVALUE) { /* a value Python's side cannot have (a nameless type) */
        pickle_out_free(&o);
        return send_text(sess, "#UNSERIALIZABLE", "the result holds an object that "
                                                  "Python's manager protocol cannot name");
    }
    return send_pickle(sess, &o);
}

/* ('#ERROR', exception): what a method raised, as the class Python raises. */
static int send_error(session *sess, int rc, const char *msg)
{
    pickle_out o = {0};
    pickle_begin(&o);
    pickle_str(&o, "#ERROR", 6);
    put_exception(&o, rc, msg);
    pickle_tuple(&o, 2);
    return send_pickle(sess, &o);
}

/* ('#PROXY', (exposed, token)): a method's result is a new object, for which the client
 * makes a proxy of the typeid's class (method_to_typeid). */
static int send_proxy(session *sess, const py_typeid *t, uint64_t id)
{
    mpx_value exposed;
    if (exposed_tuple(t, &exposed) != MPX_OK)
        return MPX_ENOMEM;
    pickle_out o = {0};
    pickle_begin(&o);
    pickle_str(&o, "#PROXY", 6);
    pickle_value(&o, &exposed, NULL, NULL);
    put_token(&o, sess, t->typeid, id);
    pickle_tuple(&o, 2);
    pickle_tuple(&o, 2);
    mpx_value_free(&exposed);
    return send_pickle(sess, &o);
}

int python_reply(session *sess, int rc, const char *msg, const mpx_value *value)
{
    python_state *py = session_python(sess);
    uint8_t kind = py->result;
    py->busy = false;
    py->result = PY_RESULT_VALUE;
    mpx_value flag;
    if (kind == PY_RESULT_ACQUIRED && (rc == MPX_OK || rc == MPX_ETIMEOUT)) {
        flag = mpx_value_bool(rc == MPX_OK); /* Python's acquire answers True or False */
        return send_return(sess, &flag) == MPX_ENOMEM ? MPX_ENOMEM : MPX_OK;
    }
    if (rc == MPX_OK)
        return send_return(sess, value) == MPX_ENOMEM ? MPX_ENOMEM : MPX_OK;
    return send_error(sess, rc, msg) == MPX_ENOMEM ? MPX_ENOMEM : MPX_OK;
}

/* ---- arguments ------------------------------------------------------------------------ */

static size_t param_name_len(const char *p)
{
    const char *eq = strchr(p, '=');
    return eq != NULL ? (size_t)(eq - p) : strlen(p);
}

/* The parameter's index among params (a leading '~' is not part of its name), or -1. */
static int param_index(const char *const *params, const char *name, size_t len)
{
    for (int i = 0; params[i] != NULL; i++) {
        const char *p = params[i] + (params[i][0] == '~');
        if (param_name_len(p) == len && memcmp(p, name, len) == 0)
            return i;
    }
    return -1;
}

/* Python's args and kwds as the handler's positional arguments: positional ones first,
 * each keyword at its parameter's place, the gaps before the last one filled with the
 * parameters' defaults; "~" parameters are taken and dropped. kwds may be NULL (none).
 * Python's wording for the errors, into c->errmsg. */
static int place_arguments(mpx_call *c, const char *fname, const char *const *params,
                           mpx_value *args, mpx_value *kwds, py_args *out)
{
    size_t npos = mpx_value_len(args), nkw = kwds != NULL ? mpx_value_len(kwds) : 0;
    size_t n = npos, nparams = 0;
    while (params != NULL && params[nparams] != NULL)
        nparams++;
    if (nkw > 0 && params == NULL)
        return mpx_call_fail(c, MPX_ETYPE, "%s() takes no keyword arguments", fname);
    size_t pos = 0;
    mpx_value *k, *v;
    while (nkw > 0 && mpx_value_dict_next(kwds, &pos, &k, &v)) {
        if (mpx_value_kind(k) != MPX_STR)
            return mpx_call_fail(c, MPX_ETYPE, "keywords must be strings");
        int i = param_index(params, mpx_value_str_data(k), mpx_value_str_len(k));
        if (i < 0)
            return mpx_call_fail(c, MPX_ETYPE, "%s() got an unexpected keyword argument '%s'",
                                 fname, mpx_value_str_data(k));
        if ((size_t)i < npos)
            return mpx_call_fail(c, MPX_ETYPE, "%s() got multiple values for argument '%s'",
                                 fname, mpx_value_str_data(k));
        if ((size_t)i + 1 > n)
            n = (size_t)i + 1;
    }
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (out->v == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    out->n = n;
    bool *given = calloc(n ? n : 1, sizeof *given);
    if (given == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < npos; i++) {
        mpx_value_move(&out->v[i], mpx_value_at(args, i));
        given[i] = true;
    }
    pos = 0;
    while (nkw > 0 && mpx_value_dict_next(kwds, &pos, &k, &v)) {
        int i = param_index(params, mpx_value_str_data(k), mpx_value_str_len(k));
        mpx_value_move(&out->v[i], v);
        given[i] = true;
    }
    int rc = MPX_OK;
    for (size_t i = npos; i < n && rc == MPX_OK; i++) {
        if (given[i])
            continue;
        const char *eq = strchr(params[i], '=');
        char err[8];
        if (eq == NULL)
            rc = mpx_call_fail(c, MPX_ETYPE, "%s() missing required argument '%.*s'", fname,
                               (int)param_name_len(params[i]), params[i]);
        else if (mpx_value_parse(eq + 1, &out->v[i], err, sizeof err) != MPX_OK)
            rc = mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    }
    free(given);
    if (rc != MPX_OK || params == NULL)
        return rc;
    size_t kept = 0; /* drop the "~" ones, keeping the order of the rest */
    for (size_t i = 0; i < out->n; i++) {
        if (i < nparams && params[i][0] == '~')
            mpx_value_free(&out->v[i]);
        else if (kept++ != i)
            mpx_value_move(&out->v[kept - 1], &out->v[i]);
    }
    out->n = kept;
    return MPX_OK;
}

/* ---- taking and giving back references ------------------------------------------------ */

static void take_python_ref(mpx_object *obj)
{
    obj->refs++;
    obj->py_refs++;
}

/* The object a request's ident (hex, as in Tokens) names, or NULL. */
static mpx_object *ident_object(mpx_server *s, const mpx_value *ident)
{
    uint64_t id;
    return pickle_ident(ident, &id) ? objects_find(s, id) : NULL;
}

/* ---- BaseManager's server functions --------------------------------------------------- */

typedef void (*server_fn)(session *sess, py_request *r);

/* args[i] as a str, or a traceback. */
static const char *str_arg(session *sess, py_request *r, size_t i, const char *what)
{
    const mpx_value *v = mpx_value_at(r->args, i);
    if (i < mpx_value_len(r->args) && mpx_value_kind(v) == MPX_STR)
        return mpx_value_str_data(v);
    send_traceback(sess, MPX_ETYPE, "%s() needs %s as a str", r->method, what);
    return NULL;
}

static bool no_args(session *sess, py_request *r)
{
    if (mpx_value_len(r->args) == 0 && mpx_value_len(r->kwds) == 0)
        return true;
    send_traceback(sess, MPX_ETYPE, "%s() takes no arguments", r->method);
    return false;
}

/* A named object shared with C clients (--expose typeid=Type:name), or NULL. */
static const server_exposure *exposure_find(mpx_server *s, const char *typeid)
{
    for (size_t i = 0; i < s->nexposures; i++)
        if (strcmp(s->exposures[i].typeid, typeid) == 0)
            return &s->exposures[i];
    return NULL;
}

/* Builds the object create asks for: from the typeid's constructor rules, or the named
 * object an exposure gives. */
static int create_object(mpx_server *s, mpx_call *c, const char *typeid, py_request *r,
                         const py_typeid **t, mpx_object **obj)
{
    const server_exposure *x = exposure_find(s, typeid);
    if (x != NULL) {
        *t = py_typeid_of(s, x->entry->type);
        return objects_open(s, c, x->entry, x->name, 0, obj);
    }
    if ((*t = py_typeid_find(s, typeid)) == NULL)
        return mpx_call_fail(c, MPX_EKEY, "'%s'", typeid);
    if ((*t)->ctor == PY_CTOR_REFUSED)
        return mpx_call_fail(c, MPX_ETYPE, "%s is not served: %s", typeid, (*t)->refusal);
    const type_entry *te = objects_type_entry(s, (*t)->type);
    py_args a = {0};
    mpx_value kwds = mpx_value_none();
    int rc;
    if ((*t)->ctor == PY_CTOR_PARAMS) {
        rc = place_arguments(c, typeid, (*t)->ctor_params, r->args, r->kwds, &a);
    } else if ((*t)->ctor == PY_CTOR_KWDS && mpx_value_len(r->args) > 0) {
        rc = mpx_call_fail(c, MPX_ETYPE, "%s() takes no positional arguments", typeid);
    } else { /* dict's positional argument now, the keywords after; Namespace's keywords */
        rc = place_arguments(c, typeid, NULL, r->args, NULL, &a);
        if (rc == MPX_OK && mpx_value_len(r->kwds) > 0)
            mpx_value_move(&kwds, r->kwds);
        if (rc == MPX_OK && (*t)->ctor == PY_CTOR_KWDS && mpx_value_kind(&kwds) != MPX_NONE) {
            py_args_free(&a);
            a.v = calloc(1, sizeof *a.v);
            if (a.v == NULL)
                rc = mpx_call_fail(c, MPX_ENOMEM, "out of memory");
            else
                mpx_value_move(&a.v[a.n++], &kwds);
        }
    }
    if (rc == MPX_OK) {
        c->args = a.v;
        c->nargs = a.n;
        rc = objects_create(s, c, te, 0, obj);
    }
    if (rc == MPX_OK && mpx_value_kind(&kwds) != MPX_NONE) { /* dict(x, **kwds) */
        mpx_call u = {.srv = s, .sess = c->sess, .args = &kwds, .nargs = 1};
        if ((rc = object_invoke(*obj, "update", &u)) != MPX_OK) {
            memcpy(c->errmsg, u.errmsg, sizeof c->errmsg);
            objects_release(s, *obj, 0);
        }
        mpx_value_free(&u.result);
    }
    mpx_value_free(&kwds);
    py_args_free(&a);
    c->args = NULL;
    c->nargs = 0;
    return rc;
}

/* create(typeid, *args, **kwds) -> (ident, exposed), holding one reference for the
 * client, which its proxy's incref and the creator's decref then balance. */
static void py_create(session *sess, py_request *r)
{
    mpx_server *s = session_server(sess);
    const char *typeid = str_arg(sess, r, 0, "a typeid");
    if (typeid == NULL)
        return;
    mpx_value rest;
    if (mpx_value_tuple(&rest, mpx_value_len(r->args)) != MPX_OK) {
        send_traceback(sess, MPX_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 1; i < mpx_value_len(r->args); i++) {
        mpx_value item;
        mpx_value_move(&item, mpx_value_at(r->args, i));
        mpx_value_append(&rest, &item); /* within the capacity asked for */
    }
    mpx_call c = {.srv = s, .sess = sess};
    const py_typeid *t = NULL;
    mpx_object *obj = NULL;
    char id_text[24];
    py_request inner = {.ident = r->ident, .method = r->method, .args = &rest, .kwds = r->kwds};
    int rc = create_object(s, &c, typeid, &inner, &t, &obj);
    mpx_value_free(&rest);
    if (rc == MPX_OK && t == NULL) /* an exposure of a type Python has no typeid for */
        rc = mpx_call_fail(&c, MPX_ETYPE, "%s is a %s, which Python's proxies cannot use",
                           typeid, obj->type->name);
    if (rc != MPX_OK) {
        send_traceback(sess, rc, "%s", c.errmsg);
        return;
    }
    take_python_ref(obj);
    format_ident(obj->id, id_text, sizeof id_text);
    mpx_value result, ident, exposed;
    if (mpx_value_tuple(&result, 2) != MPX_OK || mpx_value_str(&ident, id_text) != MPX_OK ||
        exposed_tuple(t, &exposed) != MPX_OK) {
        send_traceback(sess, MPX_ENOMEM, "out of memory");
        mpx_value_free(&result);
        return;
    }
    mpx_value_append(&result, &ident);
    mpx_value_append(&result, &exposed);
    mpx_server_log(s, MPX_LOG_DEBUG, "event=python-create session=%llu object=%llu typeid=%s",
                   (unsigned long long)session_id(sess), (unsigned long long)obj->id, typeid);
    send_return(sess, &result);
    mpx_value_free(&result);
}

static mpx_object *ident_arg(session *sess, py_request *r)
{
    if (mpx_value_len(r->args) != 1) {
        send_traceback(sess, MPX_ETYPE, "%s() takes one ident", r->method);
        return NULL;
    }
    mpx_object *obj = ident_object(session_server(sess), mpx_value_at(r->args, 0));
    if (obj == NULL) {
        char *text = mpx_value_repr(mpx_value_at(r->args, 0));
        send_traceback(sess, MPX_EKEY, "%s", text != NULL ? text : "?");
        free(text);
    }
    return obj;
}

static void py_incref(session *sess, py_request *r)
{
    mpx_object *obj = ident_arg(sess, r);
    if (obj == NULL)
        return;
    take_python_ref(obj);
    mpx_value none = mpx_value_none();
    send_return(sess, &none);
}

/* Python's clients give back only what they took: the references of C sessions and of the
 * registry are not theirs to drop. */
static void py_decref(session *sess, py_request *r)
{
    mpx_object *obj = ident_arg(sess, r);
    if (obj == NULL)
        return;
    if (obj->py_refs == 0) {
        send_traceback(sess, MPX_ERUNTIME, "Id %llx has no reference from Python clients",
                       (unsigned long long)obj->id);
        return;
    }
    obj->py_refs--;
    objects_release(session_server(sess), obj, 1);
    mpx_value none = mpx_value_none();
    send_return(sess, &none);
}

static void py_accept_connection(session *sess, py_request *r)
{
    const char *name = str_arg(sess, r, 0, "a name");
    if (name == NULL)
        return;
    mpx_server_log(session_server(sess), MPX_LOG_DEBUG, "event=python-serve session=%llu name=%s",
                   (unsigned long long)session_id(sess), name);
    mpx_value none = mpx_value_none();
    send_return(sess, &none);
}

/* get_methods(token) -> the exposed names of the object the token names. */
static void py_get_methods(session *sess, py_request *r)
{
    const mpx_value *token = mpx_value_at(r->args, 0);
    mpx_object *obj = mpx_value_len(r->args) == 1 && mpx_value_kind(token) == MPX_REF
                      ? objects_find(session_server(sess), mpx_value_ref_id(token))
                      : NULL;
    const py_typeid *t = obj != NULL ? py_typeid_of(session_server(sess), obj->type)
                                     : NULL;
    mpx_value names;
    if (t == NULL) {
        send_traceback(sess, MPX_EKEY, "get_methods() needs the Token of a live object");
        return;
    }
    if (exposed_tuple(t, &names) != MPX_OK) {
        send_traceback(sess, MPX_ENOMEM, "out of memory");
        return;
    }
    send_return(sess, &names);
    mpx_value_free(&names);
}

static void py_dummy(session *sess, py_request *r)
{
    mpx_value none = mpx_value_none();
    if (no_args(sess, r))
        send_return(sess, &none);
}

static void py_number_of_objects(session *sess, py_request *r)
{
    mpx_value n = mpx_value_int((int64_t)session_server(sess)->objects.len);
    if (no_args(sess, r))
        send_return(sess, &n);
}

/* debug_info() -> a line pair per object with its references, as Python's server lists
 * them; at most DEBUG_INFO_MAX_OBJECTS, so that the answer stays bounded. */
static void py_debug_info(session *sess, py_request *r)
{
    mpx_server *s = session_server(sess);
    if (!no_args(sess, r))
        return;
    size_t cap = 256, len = 0, pos = 0, listed = 0;
    char *text = malloc(cap);
    uint64_t id;
    void *p;
    while (text != NULL && u64map_next(&s->objects, &pos, &id, &p) &&
           listed++ < DEBUG_INFO_MAX_OBJECTS) {
        mpx_object *obj = p;
        char *repr = objects_repr(s, obj);
        char line[256];
        int n = snprintf(line, sizeof line, "%s  %llx:       refcount=%u\n    %.75s",
                         len ? "\n" : "", (unsigned long long)id, obj->refs,
                         repr != NULL ? repr : "?");
        free(repr);
        size_t add = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n;
        if (len + add + 1 > cap) {
            char *grown = realloc(text, cap = 2 * (len + add + 1));
            if (grown == NULL)
                free(text);
            text = grown;
        }
        if (text != NULL) {
            memcpy(text + len, line, add);
            len += add;
        }
    }
    mpx_value v;
    if (text == NULL || mpx_value_strn(&v, text, len) != MPX_OK) {
        free(text);
        send_traceback(sess, MPX_ENOMEM, "out of memory");
        return;
    }
    free(text);
    send_return(sess, &v);
    mpx_value_free(&v);
}

static void py_shutdown(session *sess, py_request *r)
{
    mpx_server *s = session_server(sess);
    if (!no_args(sess, r))
        return;
    if (!s->opts.allow_shutdown) {
        send_traceback(sess, MPX_ERUNTIME, "shutdown over the wire is refused: mpx-manager "
                                           "was not started with --allow-shutdown");
        return;
    }
    mpx_server_log(s, MPX_LOG_WARN, "event=shutdown session=%llu reason=python-client",
                   (unsigned long long)session_id(sess));
    mpx_value none = mpx_value_none();
    send_return(sess, &none);
    mpx_server_stop(s); /* the reply is written at this turn's safe point, before it stops */
}

static const struct {
    const char *name;
    server_fn fn;
} server_functions[] = {
    {"create", py_create},           {"incref", py_incref},
    {"decref", py_decref},           {"accept_connection", py_accept_connection},
    {"get_methods", py_get_methods}, {"dummy", py_dummy},
    {"debug_info", py_debug_info},   {"number_of_objects", py_number_of_objects},
    {"shutdown", py_shutdown},
};

static void server_function(session *sess, py_request *r)
{
    for (size_t i = 0; i < sizeof server_functions / sizeof server_functions[0]; i++)
        if (strcmp(server_functions[i].name, r->method) == 0) {
            server_functions[i].fn(sess, r);
            return;
        }
    send_traceback(sess, MPX_EVALUE, "'%s' unrecognized", r->method);
}

/* ---- method calls --------------------------------------------------------------------- */

/* How Python's proxies spell a call, as the handler's name and positional arguments. */
static int method_arguments(mpx_call *c, const py_method *m, py_request *r, const char **target,
                            py_args *a)
{
    *target = r->method;
    if (m == NULL)
        return place_arguments(c, r->method, NULL, r->args, r->kwds, a);
    switch (m->args) {
    case PY_ARGS_SORT: { /* sort(*, key=None, reverse=False) */
        static const char *const sort_params[] = {"key=None", "reverse=False", NULL};
        mpx_value empty;
        if (mpx_value_len(r->args) > 0)
            return mpx_call_fail(c, MPX_ETYPE, "sort() takes no positional arguments");
        mpx_value_tuple(&empty, 0);
        int rc = place_arguments(c, "sort", sort_params, &empty, r->kwds, a);
        mpx_value_free(&empty);
        if (rc != MPX_OK)
            return rc;
        if (a->n > 0 && mpx_value_kind(&a->v[0]) != MPX_NONE)
            return mpx_call_fail(c, MPX_ETYPE, "sort(key=...) is not served: mpx-manager runs "
                                           "no code sent over the wire");
        if (a->n == 2) { /* the handler's one argument is reverse */
            mpx_value_free(&a->v[0]);
            mpx_value_move(&a->v[0], &a->v[1]);
        }
        if (a->n > 0)
            a->n--;
        return MPX_OK;
    }
    case PY_ARGS_ATTRIBUTE: { /* Barrier.parties and friends, as attribute reads */
        static const char *const attributes[] = {"parties", "n_waiting", "broken", NULL};
        const mpx_value *name = mpx_value_at(r->args, 0);
        if (mpx_value_len(r->args) != 1 || mpx_value_kind(name) != MPX_STR)
            return mpx_call_fail(c, MPX_ETYPE, "__getattribute__() takes one name");
        for (size_t i = 0; attributes[i] != NULL; i++)
            if (strcmp(attributes[i], mpx_value_str_data(name)) == 0) {
                *target = attributes[i];
                return MPX_OK;
            }
        return mpx_call_fail(c, MPX_EATTR, "'%s' object has no attribute '%s'",
                             c->obj->type->name, mpx_value_str_data(name));
    }
    case PY_ARGS_UPDATE: /* the keywords go in as a dict after the positional argument */
        return place_arguments(c, r->method, NULL, r->args, NULL, a);
    default: return place_arguments(c, r->method, m->params, r->args, r->kwds, a);
    }
}

/* dict.update(other, **kwds)'s second half: the keywords, as one more update. */
static int update_with_keywords(mpx_call *c, py_request *r)
{
    if (mpx_value_len(r->kwds) == 0)
        return MPX_OK;
    mpx_value kwds;
    mpx_value_move(&kwds, r->kwds);
    mpx_call u = {.srv = c->srv, .sess = c->sess, .args = &kwds, .nargs = 1};
    int rc = object_invoke(c->obj, "update", &u);
    if (rc != MPX_OK)
        memcpy(c->errmsg, u.errmsg, sizeof c->errmsg);
    mpx_value_free(&u.result);
    mpx_value_free(&kwds);
    return rc;
}

/* Python's server falls back to these for names a proxy calls without exposing them. */
static bool run_fallback(session *sess, mpx_object *obj, py_request *r)
{
    mpx_server *s = session_server(sess);
    if (strcmp(r->method, "__repr__") == 0 || strcmp(r->method, "__str__") == 0) {
        char *text = objects_repr(s, obj);
        mpx_value v;
        if (text == NULL || mpx_value_str(&v, text) != MPX_OK)
            send_traceback(sess, MPX_ENOMEM, "out of memory");
        else
            send_return(sess, &v);
        free(text);
        mpx_value_free(&v);
        return true;
    }
    if (strcmp(r->method, "#GETVALUE") == 0) { /* proxy._getvalue(): a copy of the value */
        mpx_call c = {.srv = s, .sess = sess};
        if (method_index_find(obj->methods, "copy", 4) == NULL)
            send_traceback(sess, MPX_ETYPE, "a %s has no value to copy", obj->type->name);
        else if (object_invoke(obj, "copy", &c) != MPX_OK)
            send_traceback(sess, MPX_ENOMEM, "%s", c.errmsg);
        else
            send_return(sess, &c.result);
        mpx_value_free(&c.result);
        return true;
    }
    return false;
}

/* __iter__: an Iterator object over the keys, held for the client as create's are. */
static void iterate(session *sess, mpx_object *obj)
{
    mpx_server *s = session_server(sess);
    mpx_call keys = {.srv = s, .sess = sess};
    mpx_object *it = NULL;
    int rc = object_invoke(obj, "keys", &keys);
    if (rc == MPX_OK) {
        mpx_call ctor = {.srv = s, .sess = sess, .args = &keys.result, .nargs = 1};
        rc = objects_create(s, &ctor, objects_type_entry(s, &type_iterator), 0, &it);
        if (rc != MPX_OK)
            memcpy(keys.errmsg, ctor.errmsg, sizeof keys.errmsg);
    }
    mpx_value_free(&keys.result);
    if (rc != MPX_OK) {
        send_error(sess, rc, keys.errmsg);
        return;
    }
    take_python_ref(it);
    send_proxy(sess, py_typeid_of(s, &type_iterator), it->id);
}

static bool exposed_by(const py_typeid *t, mpx_object *obj, const char *name)
{
    if (t != NULL)
        return py_exposed(t, name);
    return method_index_find(obj->methods, name, strlen(name)) != NULL;
}

static void method_call(session *sess, py_request *r)
{
    mpx_server *s = session_server(sess);
    python_state *py = session_python(sess);
    mpx_object *obj = ident_object(s, r->ident);
    if (obj == NULL) {
        char *text = mpx_value_repr(r->ident);
        send_traceback(sess, MPX_EKEY, "%s", text != NULL ? text : "?");
        free(text);
        return;
    }
    const py_typeid *t = py_typeid_of(session_server(sess), obj->type);
    if (!exposed_by(t, obj, r->method)) {
        if (!run_fallback(sess, obj, r))
            send_traceback(sess, MPX_EATTR, "method '%s' of '%s' object is not exposed",
                           r->method, obj->type->name);
        return;
    }
    const py_method *m = t != NULL ? py_method_find(t, r->method) : NULL;
    if (m != NULL && m->result == PY_RESULT_ITERATOR) {
        iterate(sess, obj);
        return;
    }
    mpx_call c = {.srv = s, .sess = sess, .obj = obj};
    py_args a = {0};
    const char *target;
    int rc = method_arguments(&c, m, r, &target, &a);
    if (rc == MPX_OK) {
        c.args = a.v;
        c.nargs = a.n;
        py->busy = true; /* until python_reply: now, or when a parked call is answered */
        py->result = m != NULL ? m->result : PY_RESULT_VALUE;
        rc = object_invoke(obj, target, &c);
        if (rc == MPX_OK && m != NULL && m->args == PY_ARGS_UPDATE)
            rc = update_with_keywords(&c, r);
    }
    if (rc != MPX_PARKED)
        session_answer(sess, &c, rc);
    else
        mpx_value_free(&c.result);
    py_args_free(&a);
}

/* ---- requests ------------------------------------------------------------------------- */

static bool request_fields(mpx_value *req, py_request *r)
{
    if (mpx_value_kind(req) != MPX_TUPLE || mpx_value_len(req) != 4)
        return false;
    r->ident = mpx_value_at(req, 0);
    const mpx_value *method = mpx_value_at(req, 1);
    r->args = mpx_value_at(req, 2);
    r->kwds = mpx_value_at(req, 3);
    if (mpx_value_kind(method) != MPX_STR || mpx_value_kind(r->kwds) != MPX_DICT ||
        (mpx_value_kind(r->args) != MPX_TUPLE && mpx_value_kind(r->args) != MPX_LIST) ||
        (mpx_value_kind(r->ident) != MPX_NONE && mpx_value_kind(r->ident) != MPX_STR))
        return false;
    r->method = mpx_value_str_data(method);
    return true;
}

void python_request(session *sess, const uint8_t *frame, size_t len)
{
    mpx_server *s = session_server(sess);
    if (session_python(sess)->busy) { /* its reply would be taken for the parked call's */
        session_close(sess, "a second call while one waits (Python's manager protocol "
                            "sends one call at a time)");
        return;
    }
    mpx_value req;
    char err[160];
    py_request r;
    uint64_t missing;
    int rc = pickle_decode(frame, len, &req, err, sizeof err);
    if (rc != MPX_OK) {
        mpx_server_log(s, MPX_LOG_WARN, "event=python-refused session=%llu reason=\"%s\"",
                       (unsigned long long)session_id(sess), err);
        send_traceback(sess, rc, "mpx-manager refused the request: %s", err);
    } else if (!request_fields(&req, &r)) {
        send_traceback(sess, MPX_EVALUE, "a request is (ident, methodname, args, kwds)");
    } else if (objects_adopt_refs(s, r.args, &missing) != MPX_OK ||
               objects_adopt_refs(s, r.kwds, &missing) != MPX_OK) {
        send_traceback(sess, MPX_EKEY, "'%llx' (a proxy passed as an argument names no "
                                       "object)", (unsigned long long)missing);
    } else if (mpx_value_kind(r.ident) == MPX_NONE) {
        server_function(sess, &r);
    } else {
        method_call(sess, &r);
    }
    mpx_value_free(&req);
}
