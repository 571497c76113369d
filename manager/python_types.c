/* python_types.c - Python's SyncManager typeids, as mpx's types (see python_types.h).
 *
 * The exposed lists are those CPython 3.11's SyncManager hands its clients (the proxy
 * classes' _exposed_, and for Queue and JoinableQueue, which use AutoProxy, the public
 * methods of queue.Queue). Python's "Queue" is a queue.Queue, which has task_done and
 * join, so both typeids are served by mpx's JoinableQueue. Parameter names and defaults
 * are CPython's, so that keyword arguments land where Python would put them.
 */
#include <stdlib.h>
#include <string.h>

#include "python_types.h"
#include "server_internal.h"
#include "sync.h"
#include "typecode.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const acquirer_exposed[] = {"acquire", "release", NULL};

static const char *const lock_acquire_params[] = {"blocking=True", "timeout=-1", NULL};
/* mpx's lease is a third parameter of Lock's and RLock's acquire, for who wants it */
static const char *const lease_acquire_params[] = {"blocking=True", "timeout=-1", "lease=None",
                                                   NULL};
static const char *const sem_acquire_params[] = {"blocking=True", "timeout=None", NULL};
static const char *const timeout_params[] = {"timeout=None", NULL};

static const py_method lock_methods[] = {
    {"acquire", lease_acquire_params, PY_ARGS_PARAMS, PY_RESULT_ACQUIRED},
};
static const py_method semaphore_methods[] = {
    {"acquire", sem_acquire_params, PY_ARGS_PARAMS, PY_RESULT_ACQUIRED},
};

static const char *const condition_exposed[] = {"acquire", "release", "wait", "notify",
                                                "notify_all", NULL};
static const char *const notify_params[] = {"n=1", NULL};
static const py_method condition_methods[] = {
    {"acquire", lock_acquire_params, PY_ARGS_PARAMS, PY_RESULT_ACQUIRED},
    {"wait", timeout_params, PY_ARGS_PARAMS, PY_RESULT_VALUE},
    {"notify", notify_params, PY_ARGS_PARAMS, PY_RESULT_VALUE},
};

static const char *const event_exposed[] = {"is_set", "set", "clear", "wait", NULL};
static const py_method event_methods[] = {
    {"wait", timeout_params, PY_ARGS_PARAMS, PY_RESULT_VALUE},
};

static const char *const barrier_exposed[] = {"__getattribute__", "wait", "abort", "reset",
                                              NULL};
static const py_method barrier_methods[] = {
    {"wait", timeout_params, PY_ARGS_PARAMS, PY_RESULT_VALUE},
    {"__getattribute__", NULL, PY_ARGS_ATTRIBUTE, PY_RESULT_VALUE},
};

/* with mpx's get_acked and ack: AutoProxy gives Python's clients a method for each name */
static const char *const queue_exposed[] = {"empty", "full", "get", "get_nowait", "join",
                                            "put", "put_nowait", "qsize", "task_done",
                                            "get_acked", "ack", NULL};
static const char *const put_params[] = {"item", "block=True", "timeout=None", NULL};
static const char *const get_params[] = {"block=True", "timeout=None", NULL};
static const char *const put_nowait_params[] = {"item", NULL};
static const py_method queue_methods[] = {
    {"get_acked", get_params, PY_ARGS_PARAMS, PY_RESULT_VALUE},
    {"put", put_params, PY_ARGS_PARAMS, PY_RESULT_VALUE},
    {"get", get_params, PY_ARGS_PARAMS, PY_RESULT_VALUE},
    {"put_nowait", put_nowait_params, PY_ARGS_PARAMS, PY_RESULT_VALUE},
};

static const char *const list_exposed[] = {
    "__add__", "__contains__", "__delitem__", "__getitem__", "__len__", "__mul__",
    "__reversed__", "__rmul__", "__setitem__", "append", "count", "extend", "index",
    "insert", "pop", "remove", "reverse", "sort", "__imul__", NULL};
static const py_method list_methods[] = {
    {"sort", NULL, PY_ARGS_SORT, PY_RESULT_VALUE},
};

static const char *const dict_exposed[] = {
    "__contains__", "__delitem__", "__getitem__", "__iter__", "__len__", "__setitem__",
    "clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update",
    "values", NULL};
static const py_method dict_methods[] = {
    {"update", NULL, PY_ARGS_UPDATE, PY_RESULT_VALUE},
    {"__iter__", NULL, PY_ARGS_PARAMS, PY_RESULT_ITERATOR},
};

static const char *const iterator_exposed[] = {"__next__", "send", "throw", "close", NULL};
static const char *const iterator_params[] = {"iterable", NULL};

static const char *const namespace_exposed[] = {"__getattribute__", "__setattr__",
                                                "__delattr__", NULL};
static const char *const value_exposed[] = {"get", "set", NULL};
static const char *const array_exposed[] = {"__len__", "__getitem__", "__setitem__", NULL};
static const char *const pool_exposed[] = {
    "apply", "apply_async", "close", "imap", "imap_unordered", "join", "map", "map_async",
    "starmap", "starmap_async", "terminate", NULL};

static const char *const no_params[] = {NULL};
static const char *const semaphore_params[] = {"value=1", NULL};
static const char *const condition_params[] = {"lock=None", NULL};
static const char *const barrier_params[] = {"parties", "action=None", "timeout=None", NULL};
static const char *const queue_params[] = {"maxsize=0", NULL};
static const char *const value_params[] = {"typecode", "value", "~lock=True", NULL};
static const char *const array_params[] = {"typecode", "sequence", "~lock=True", NULL};

#define METHODS(m) m, COUNT(m)

static const py_typeid typeids[] = {
    {"dict", &type_dict, "DictProxy", dict_exposed, NULL, PY_CTOR_DICT, METHODS(dict_methods),
     NULL},
    {"list", &type_list, "ListProxy", list_exposed, NULL, PY_CTOR_PARAMS,
     METHODS(list_methods), NULL},
    {"Namespace", &type_namespace, "NamespaceProxy", namespace_exposed, NULL, PY_CTOR_KWDS,
     NULL, 0, NULL},
    {"Lock", &type_lock, "AcquirerProxy", acquirer_exposed, no_params, PY_CTOR_PARAMS,
     METHODS(lock_methods), NULL},
    {"RLock", &type_rlock, "AcquirerProxy", acquirer_exposed, no_params, PY_CTOR_PARAMS,
     METHODS(lock_methods), NULL},
    {"Semaphore", &type_semaphore, "AcquirerProxy", acquirer_exposed, semaphore_params,
     PY_CTOR_PARAMS, METHODS(semaphore_methods), NULL},
    {"BoundedSemaphore", &type_bounded_semaphore, "AcquirerProxy", acquirer_exposed,
     semaphore_params, PY_CTOR_PARAMS, METHODS(semaphore_methods), NULL},
    {"Condition", &type_condition, "ConditionProxy", condition_exposed, condition_params,
     PY_CTOR_PARAMS, METHODS(condition_methods), NULL},
    {"Event", &type_event, "EventProxy", event_exposed, no_params, PY_CTOR_PARAMS,
     METHODS(event_methods), NULL},
    {"Barrier", &type_barrier, "BarrierProxy", barrier_exposed, barrier_params,
     PY_CTOR_PARAMS, METHODS(barrier_methods), NULL},
    {"JoinableQueue", &type_joinable_queue, "AutoProxy", queue_exposed, queue_params,
     PY_CTOR_PARAMS, METHODS(queue_methods), NULL},
    {"Queue", &type_joinable_queue, "AutoProxy", queue_exposed, queue_params, PY_CTOR_PARAMS,
     METHODS(queue_methods), NULL},
    {"Value", &type_value, "ValueProxy", value_exposed, value_params, PY_CTOR_PARAMS, NULL, 0,
     NULL},
    {"Array", &type_array, "ArrayProxy", array_exposed, array_params, PY_CTOR_PARAMS, NULL, 0,
     NULL},
    {"Iterator", &type_iterator, "IteratorProxy", iterator_exposed, iterator_params,
     PY_CTOR_PARAMS, NULL, 0, NULL},
    {"Pool", NULL, "PoolProxy", pool_exposed, NULL, PY_CTOR_REFUSED, NULL, 0,
     "a Pool runs functions, and mpx-manager runs no code sent over the wire: use mpx's "
     "TaskPool from C, or a local multiprocessing.Pool"},
};

static const py_typeid *syncmanager_typeid(const char *typeid)
{
    for (size_t i = 0; i < COUNT(typeids); i++)
        if (strcmp(typeids[i].typeid, typeid) == 0)
            return &typeids[i];
    return NULL;
}

const py_typeid *py_typeid_find(const mpx_server *s, const char *typeid)
{
    const py_typeid *t = syncmanager_typeid(typeid);
    if (t != NULL || s == NULL)
        return t;
    const type_entry *te = objects_type_named(s, typeid);
    return te != NULL && te->py.typeid != NULL ? &te->py : NULL;
}

/* The first row of a type wins: JoinableQueue, the typeid of mpx's JoinableQueue. A plain
 * mpx Queue (made by a C client) goes to Python as a Queue typeid too. */
static const py_typeid *syncmanager_row(const mpx_type *type)
{
    if (type == &type_queue)
        return syncmanager_typeid("Queue");
    for (size_t i = 0; i < COUNT(typeids); i++)
        if (typeids[i].type == type)
            return &typeids[i];
    return NULL;
}

const py_typeid *py_typeid_of(const mpx_server *s, const mpx_type *type)
{
    const py_typeid *t = syncmanager_row(type);
    if (t != NULL || s == NULL)
        return t;
    const type_entry *te = objects_type_entry(s, type);
    return te != NULL && te->py.typeid != NULL ? &te->py : NULL;
}

int py_typeid_auto(const mpx_type *type, py_typeid *out)
{
    *out = (py_typeid){0};
    if (syncmanager_row(type) != NULL)
        return MPX_OK; /* served by its SyncManager typeid */
    const char **names = calloc(type->nmethods + 1, sizeof *names);
    if (names == NULL)
        return MPX_ENOMEM;
    for (size_t i = 0; i < type->nmethods; i++)
        names[i] = type->methods[i].name;
    *out = (py_typeid){.typeid = type->name, .type = type, .proxy = "AutoProxy",
                       .exposed = names, .ctor = PY_CTOR_PARAMS};
    return MPX_OK;
}

void py_typeid_auto_free(py_typeid *t)
{
    free((void *)t->exposed);
    *t = (py_typeid){0};
}

int py_exposed(const py_typeid *t, const char *name)
{
    for (const char *const *e = t->exposed; *e != NULL; e++)
        if (strcmp(*e, name) == 0)
            return 1;
    return 0;
}

const py_method *py_method_find(const py_typeid *t, const char *name)
{
    for (size_t i = 0; i < t->nmethods; i++)
        if (strcmp(t->methods[i].name, name) == 0)
            return &t->methods[i];
    return NULL;
}
