/* admin.h - object 0's admin calls: what an operator asks a running manager (admin.c).
 *
 * objects, lookup, repr, delete, info and shutdown are refused (AuthenticationError)
 * unless the session may: the manager was started with allow_admin, or the session
 * proved the admin key with admin_challenge / admin_prove (the handshake's HMAC, over a
 * fresh challenge of the manager's, so the key never crosses the wire).
 */
#ifndef MPX_MANAGER_ADMIN_H
#define MPX_MANAGER_ADMIN_H

#include "object.h"

int admin_challenge(mpx_call *c);
int admin_prove(mpx_call *c);
int admin_objects(mpx_call *c);
int admin_lookup(mpx_call *c);
int admin_repr(mpx_call *c);
int admin_delete(mpx_call *c);
int admin_info(mpx_call *c);
int admin_shutdown(mpx_call *c);

/* object 0's rows for them (objects.c) */
#define ADMIN_METHOD_ROWS                                                                   \
    {"admin_challenge", admin_challenge, 0, 0, 0}, {"admin_prove", admin_prove, 1, 1, 0},    \
        {"objects", admin_objects, 0, 2, 0}, {"lookup", admin_lookup, 1, 1, 0},              \
        {"repr", admin_repr, 1, 1, 0}, {"delete", admin_delete, 1, 1, 0},                    \
        {"info", admin_info, 0, 0, 0}, {"shutdown", admin_shutdown, 0, 0, 0}

/* Gives a method index its place among the server's call counts (its types, as they are
 * registered, once the index is built). MPX_OK or MPX_ENOMEM. */
int admin_place_counts(struct mpx_server *s, method_index *ix);
/* Counts one call of method m, found in ix (object_invoke): an array slot, no lookup. */
void admin_count_call(struct mpx_server *s, const method_index *ix, const mpx_method *m);
/* Frees the counts (objects_free). */
void admin_free(struct mpx_server *s);

#endif
