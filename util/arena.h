/* arena.h - a bump allocator for scratch memory that lives as long as one message.
 *
 * The codec builds and unpacks protobuf-c trees in an arena and resets it when the
 * message is done, so the steady path (a request in, a reply out) allocates nothing: the
 * arena's first block is kept across resets, and only a message larger than it makes
 * (and gives back) more blocks. Not thread-safe: one arena per session or client.
 */
#ifndef MPX_UTIL_ARENA_H
#define MPX_UTIL_ARENA_H

#include <stddef.h>

#define ARENA_BLOCK 16384

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *first; /* kept across resets */
    arena_block *current;
    size_t used;        /* bytes used in current */
} arena;

void arena_init(arena *a);
/* size bytes aligned for any type; NULL when out of memory. Freed by reset or free. */
void *arena_alloc(arena *a, size_t size);
/* Frees everything allocated; keeps the first block for the next message. */
void arena_reset(arena *a);
void arena_free(arena *a);

#endif
