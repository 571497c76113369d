/* object.h - the manager's side of the type interface (mpx/type.h): method indexes,
 * and running a handler the way the dispatcher does.
 *
 * A type is a table of method rows plus init and destroy (mpx/type.h); the dispatcher
 * indexes the names once (dispatch.c) and checks arity before a handler runs, so handlers
 * only check argument kinds. Handlers may move values out of c->args once they answer
 * (the request, or the parked call's saved arguments, is dropped after the call).
 */
#ifndef MPX_MANAGER_OBJECT_H
#define MPX_MANAGER_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/error.h"
#include "mpx/type.h"
#include "mpx/value.h"

/* A type's method names hashed once (open addressing over FNV-1a), so dispatch by name is
 * one hash and one compare. The server builds one per type at start; so do unit tests. */
typedef struct mpx_method_index {
    const struct mpx_type *type;
    uint32_t mask;
    uint16_t slot[128]; /* index into type->methods plus one; 0 is empty */
    uint32_t counts_at; /* where the server's call counts of these methods start (admin.c) */
} method_index;

/* MPX_OK, or MPX_EINVAL when the type has more methods than the index holds. */
int method_index_build(method_index *ix, const mpx_type *type);
const mpx_method *method_index_find(const method_index *ix, const char *name, size_t len);

extern const mpx_type type_dict;
extern const mpx_type type_list;
extern const mpx_type type_namespace;

/* Runs a method on obj the way the dispatcher does (lookup, arity check, handler), for
 * the server and for unit tests. c->obj, c->args, c->nargs must be set; an unknown name
 * is MPX_ENOMETHOD, a wrong count MPX_ETYPE, both with Python's wording. */
int object_invoke(mpx_object *obj, const char *method, mpx_call *c);
/* Runs type->init with arity checks; obj->type must be set. */
int object_init(mpx_object *obj, mpx_call *c);
/* Releases what the object holds (destroy or value), not the struct itself. */
void object_clear(mpx_object *obj);

#endif
