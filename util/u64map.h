/* u64map.h - an open-addressing hash map from 64-bit ids to pointers.
 *
 * Used for the manager's object table (id -> object), each session's references (id ->
 * count stored in the pointer), and the async client's calls in flight (call id -> call).
 * Linear probing with backward-shift deletion: no tombstones, so a long-running manager
 * that creates and drops millions of objects never degrades.
 * Key 0 is reserved as "empty" (object ids start at 1; id 0 is the manager itself).
 */
#ifndef MPX_UTIL_U64MAP_H
#define MPX_UTIL_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct u64map {
    uint64_t *keys;
    void **vals;
    size_t cap; /* power of two, or 0 before the first insert */
    size_t len;
} u64map;

void u64map_init(u64map *m);
void u64map_free(u64map *m);
/* Inserts or replaces. MPX_OK or MPX_ENOMEM. key != 0. */
int u64map_put(u64map *m, uint64_t key, void *val);
/* The value, or NULL when absent. */
void *u64map_get(const u64map *m, uint64_t key);
/* Removes key; returns its value or NULL. */
void *u64map_del(u64map *m, uint64_t key);
/* Iteration: *pos starts at 0; false when done. Do not insert while iterating. */
int u64map_next(const u64map *m, size_t *pos, uint64_t *key, void **val);

#endif
