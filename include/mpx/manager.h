/* mpx/manager.h - a private manager for one program, like Python's `with Manager() as m:`.
 *
 * mpx_manager_start forks a child that serves on a fresh unix socket with a random key;
 * the parent (and its forked workers) connect to it with mpx_manager_connect. Shutting
 * it down stops the child and removes its socket directory.
 */
#ifndef MPX_MANAGER_H
#define MPX_MANAGER_H

#include "mpx/client.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_manager mpx_manager;

/* Starts the child manager and waits until it listens. MPX_OK, or MPX_EIO with *out a
 * failed handle whose mpx_manager_errmsg says why (free it with mpx_manager_shutdown;
 * *out is NULL only when memory ran out, MPX_ENOMEM). */
int mpx_manager_start(mpx_manager **out);
int mpx_manager_errcode(const mpx_manager *m);
const char *mpx_manager_errmsg(const mpx_manager *m);
/* A new authenticated client of the private manager (see mpx_client_connect; of a failed
 * manager, a failed client that says why). */
int mpx_manager_connect(mpx_manager *m, mpx_client **out);
const char *mpx_manager_address(const mpx_manager *m);
/* The key, for handing to programs that are not forked from this one. */
const void *mpx_manager_authkey(const mpx_manager *m, size_t *len);
/* Stops the child (SIGTERM, then waits), removes the socket, frees m. NULL is fine.
 * A forked child that inherited m must not call this: only the starting process. */
void mpx_manager_shutdown(mpx_manager *m);

#ifdef __cplusplus
}
#endif
#endif
