/* mem.h - counted allocation, as Redis's zmalloc: the bytes a manager holds, for its
 * memory budget (mpx_server_opts.max_memory).
 *
 * mem_alloc, mem_calloc, mem_realloc and mem_free are malloc's, and besides add to or take
 * from the counter of the calling thread's scope the usable size of the block. A server
 * enters its own counter's scope whenever its code runs (mpx_server_new, run, free), so two
 * servers in one process count apart, and a client, which has no scope, pays one
 * thread-local load per call. Invariant: a block is freed in the scope it was allocated
 * in (a server's values never leave its loop thread), so a counter ends at zero.
 */
#ifndef MPX_UTIL_MEM_H
#define MPX_UTIL_MEM_H

#include <stddef.h>

typedef struct mem_counter {
    size_t used; /* usable bytes of the blocks allocated in this scope and not freed */
    size_t peak; /* the most used has been */
} mem_counter;

void *mem_alloc(size_t size);
void *mem_calloc(size_t n, size_t size);
/* As realloc: NULL (p untouched) when out of memory. */
void *mem_realloc(void *p, size_t size);
void mem_free(void *p);
char *mem_strdup(const char *s);

/* Counts this thread's allocations in c (NULL: in none) until mem_scope_leave(previous),
 * previous being what this returned. Scopes nest. */
mem_counter *mem_scope_enter(mem_counter *c);
void mem_scope_leave(mem_counter *previous);

#endif
