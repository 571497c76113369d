/* u64map.c - see u64map.h. Load factor stays under 3/4; probing is linear. */
#include <stdlib.h>

#include "mem.h"
#include "mpx/error.h"
#include "u64map.h"

static size_t slot_of(uint64_t key, size_t mask)
{
    /* ids are sequential: mix them so neighbours do not cluster */
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & mask;
}

void u64map_init(u64map *m)
{
    m->keys = NULL;
    m->vals = NULL;
    m->cap = 0;
    m->len = 0;
}

void u64map_free(u64map *m)
{
    mem_free(m->keys);
    mem_free(m->vals);
    u64map_init(m);
}

static void insert_fresh(u64map *m, uint64_t key, void *val)
{
    size_t mask = m->cap - 1, i = slot_of(key, mask);
    while (m->keys[i] != 0)
        i = (i + 1) & mask;
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
}

static int grow(u64map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    uint64_t *keys = mem_calloc(cap, sizeof *keys);
    void **vals = mem_calloc(cap, sizeof *vals);
    if (keys == NULL || vals == NULL) {
        mem_free(keys);
        mem_free(vals);
        return MPX_ENOMEM;
    }
    u64map old = *m;
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    m->len = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] != 0)
            insert_fresh(m, old.keys[i], old.vals[i]);
    mem_free(old.keys);
    mem_free(old.vals);
    return MPX_OK;
}

static size_t find(const u64map *m, uint64_t key)
{
    if (m->cap == 0)
        return (size_t)-1;
    size_t mask = m->cap - 1, i = slot_of(key, mask);
    while (m->keys[i] != 0) {
        if (m->keys[i] == key)
            return i;
        i = (i + 1) & mask;
    }
    return (size_t)-1;
}

int u64map_put(u64map *m, uint64_t key, void *val)
{
    size_t i = find(m, key);
    if (i != (size_t)-1) {
        m->vals[i] = val;
        return MPX_OK;
    }
    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) != MPX_OK)
        return MPX_ENOMEM;
    insert_fresh(m, key, val);
    return MPX_OK;
}

void *u64map_get(const u64map *m, uint64_t key)
{
    size_t i = find(m, key);
    return i == (size_t)-1 ? NULL : m->vals[i];
}

void *u64map_del(u64map *m, uint64_t key)
{
    size_t i = find(m, key);
    if (i == (size_t)-1)
        return NULL;
    void *val = m->vals[i];
    size_t mask = m->cap - 1;
    /* backward-shift: pull later members of the probe run into the hole */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->keys[j] == 0)
            break;
        size_t home = slot_of(m->keys[j], mask);
        /* move j into hole unless its home lies cyclically in (hole, j] */
        int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->vals[hole] = NULL;
    m->len--;
    return val;
}

int u64map_next(const u64map *m, size_t *pos, uint64_t *key, void **val)
{
    while (*pos < m->cap) {
        size_t i = (*pos)++;
        if (m->keys[i] != 0) {
            *key = m->keys[i];
            *val = m->vals[i];
            return 1;
        }
    }
    return 0;
}
