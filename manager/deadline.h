/* deadline.h - a time after which the manager calls a type back about one of its objects.
 *
 * For holds that end on their own (a Lock's lease): the type starts a deadline with a
 * token of its own (the grant's fencing token) and stops it when the hold ends first.
 * When it fires, the object is looked up again by id (it may be gone: then nothing
 * happens) and fn runs once; the deadline frees itself after fn returns, so fn must
 * forget the pointer and not stop it. Timers are the server loop's; without a server
 * (unit tests) there are none.
 */
#ifndef MPX_MANAGER_DEADLINE_H
#define MPX_MANAGER_DEADLINE_H

#include <stdint.h>

#include "object.h"

typedef struct deadline deadline;
typedef void (*deadline_fn)(object *obj, uint64_t token);

/* NULL when out of memory (the hold then has no deadline: say so to the caller). */
deadline *deadline_start(struct mpx_server *s, object *obj, double seconds, uint64_t token,
                         deadline_fn fn);
/* Stops a deadline that has not fired; NULL is a no-op. */
void deadline_stop(deadline *d);

#endif
