/* value_ref.h - references inside values that keep their objects alive (the manager's).
 *
 * In a client an MPX_REF is only a name. In the manager, a reference that arrived in a
 * request and is kept (stored in a dict, a list, a queue...) must keep the object it names
 * alive, as a Python proxy inside a manager's dict does: the manager adopts every
 * reference of a request's arguments, and from then on the value counts itself. Each copy
 * takes one more reference and each free gives one back, wherever the value goes, so no
 * type has to know. References made any other way have no owner and count nothing.
 */
#ifndef MPX_PROTOCOL_VALUE_REF_H
#define MPX_PROTOCOL_VALUE_REF_H

#include <stdint.h>

#include "mpx/value.h"

typedef struct value_ref_owner {
    /* One more reference on id: MPX_OK, or an error when id names no object. */
    int (*take)(void *ctx, uint64_t id);
    /* One reference on id given back. */
    void (*drop)(void *ctx, uint64_t id);
    void *ctx;
} value_ref_owner;

/* Adopts every reference inside v (items, dict keys and values) for owner, taking one
 * reference each. On the first one owner refuses, returns its error with *missing set to
 * its id; those adopted before stay adopted (freeing v gives them back). */
int value_refs_adopt(mpx_value *v, const value_ref_owner *owner, uint64_t *missing);

#endif
