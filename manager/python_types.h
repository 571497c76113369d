/* python_types.h - Python's SyncManager typeids, as mpx's types (python_types.c).
 *
 * The pickle dialect (python_dialect.c) serves clients written for
 * multiprocessing.managers. For each typeid they may ask for, this table says which mpx
 * type holds the object, which names their proxies may call (Python's `exposed`), the
 * proxy class a reference to it is rebuilt with, and where Python's keyword arguments go
 * among the positional ones the mpx handlers read. Only the methods that need more than
 * "same name, positional arguments" have a row.
 */
#ifndef MPX_MANAGER_PYTHON_TYPES_H
#define MPX_MANAGER_PYTHON_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "object.h"

/* py_method.result: how the handler's answer becomes Python's. */
enum {
    PY_RESULT_VALUE = 0, /* as it is */
    PY_RESULT_ACQUIRED,  /* acquire: success is True, a timeout is False (not an error) */
    PY_RESULT_ITERATOR,  /* __iter__: a proxy to an Iterator over the keys ('#PROXY') */
};

/* py_method.args: how Python's (args, kwds) become the handler's positional arguments. */
enum {
    PY_ARGS_PARAMS = 0, /* by the parameter names in params (NULL: no keywords taken) */
    PY_ARGS_SORT,       /* list.sort(*, key=None, reverse=False): keywords only, no key */
    PY_ARGS_UPDATE,     /* dict.update(other=(), **kwds) */
    PY_ARGS_ATTRIBUTE,  /* Barrier.__getattribute__(name): runs the method called name */
};

typedef struct py_method {
    const char *name;          /* Python's name, as the proxy calls it */
    const char *const *params; /* "name" or "name=default" (a Python literal), in order */
    uint8_t args;              /* PY_ARGS_* */
    uint8_t result;            /* PY_RESULT_* */
} py_method;

/* py_typeid.ctor: how create's (args, kwds) become the type's constructor arguments. */
enum {
    PY_CTOR_PARAMS = 0, /* by ctor_params; a parameter written "~name=..." is taken and
                           dropped (Value's and Array's lock: the manager serialises) */
    PY_CTOR_DICT,       /* dict(mapping_or_iterable=(), **kwds) */
    PY_CTOR_KWDS,       /* Namespace(**kwds): the keywords are the one argument */
    PY_CTOR_REFUSED,    /* a typeid mpx cannot serve honestly (Pool: callables) */
};

typedef struct py_typeid {
    const char *typeid;             /* Python's typeid: "dict", "Queue", ... */
    const mpx_type *type;        /* the mpx type; NULL when refused */
    const char *proxy;              /* its proxy class in multiprocessing.managers */
    const char *const *exposed;     /* Python's exposed names, NULL-terminated */
    const char *const *ctor_params; /* for PY_CTOR_PARAMS */
    uint8_t ctor;                   /* PY_CTOR_* */
    const py_method *methods;       /* the rows that need care */
    size_t nmethods;
    const char *refusal;            /* why, for PY_CTOR_REFUSED */
} py_typeid;

/* The row of a typeid: one Python's SyncManager registers, or else the automatic row of
 * a type registered on s under that name (s may be NULL: SyncManager's only); NULL. */
const py_typeid *py_typeid_find(const struct mpx_server *s, const char *typeid);
/* The row for objects of an mpx type (the typeid a reference to it is rebuilt as), or
 * NULL for a type Python has no typeid for. */
const py_typeid *py_typeid_of(const struct mpx_server *s, const mpx_type *type);
/* The row of a registered type that has no SyncManager typeid, as Python's
 * BaseManager.register(name) serves one: its name, AutoProxy with every method exposed,
 * positional arguments only. *out stays empty (typeid NULL) for a type with a SyncManager
 * row. MPX_OK or MPX_ENOMEM; py_typeid_auto_free frees it. */
int py_typeid_auto(const mpx_type *type, py_typeid *out);
void py_typeid_auto_free(py_typeid *t);
/* Whether name is in the typeid's exposed list. */
int py_exposed(const py_typeid *t, const char *name);
/* The method's row, or NULL when it needs no care. */
const py_method *py_method_find(const py_typeid *t, const char *name);

#endif
