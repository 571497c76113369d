/* value_internal.h - the heap blocks behind mpx_value, shared by the protocol/value*.c files.
 *
 * Nothing outside protocol/value*.c may include this: the layouts change freely. Each block
 * is owned by exactly one cell; str/bytes/ref keep their payload inline (one allocation),
 * list/tuple keep items inline and are reallocated in place by the cell that owns them.
 */
#ifndef MPX_VALUE_INTERNAL_H
#define MPX_VALUE_INTERNAL_H

#include "mpx/value.h"
#include "value_ref.h"

/* A 32-bit length keeps a 16-byte string in a 32-byte malloc chunk (with a size_t it
 * takes 48): a million such keys and values cost 32 MB less. */
#define MPX_BUF_MAX UINT32_MAX

struct mpx_buf {
    uint32_t len;
    char data[]; /* len bytes + NUL */
};

struct mpx_seq {
    size_t len;
    size_t cap;
    mpx_value items[]; /* cap cells, the first len are live */
};

struct mpx_ref {
    uint64_t id;
    const value_ref_owner *owner; /* counts this reference while it lives, or NULL */
    char type[]; /* NUL-terminated type name */
};

struct mpx_slice {
    int64_t part[3]; /* start, stop, step */
    uint8_t has;     /* bit i set: part[i] is an int, else None */
};

/* One dict slot in insertion order. A deleted slot keeps its place (a tombstone) with
 * key.kind == VALUE_DELETED until the next resize compacts the array. */
typedef struct map_entry {
    uint64_t hash;
    mpx_value key;
    mpx_value val;
} map_entry;

#define VALUE_DELETED MPX_KIND_COUNT_

/* CPython's compact dict: `index` has 2^log2size slots of `width` bytes holding an entry
 * number, EMPTY or DUMMY; `entries` holds up to usable(size) entries, nentries used so far.
 * Both live in one allocation (table); an empty dict has no table. */
struct mpx_map {
    size_t len;      /* live entries */
    size_t nentries; /* entries used, live or deleted */
    size_t filled;   /* inserts since the last rebuild: bounds the non-EMPTY index slots */
    uint64_t nan_ids; /* identities handed to keys holding a NaN (their stored hashes) */
    uint8_t log2size;
    uint8_t width; /* bytes per index slot: 1, 2, 4 or 8 */
    void *table;   /* index slots, then the entries array */
    map_entry *entries;
};

/* Cross-file helpers (value_map.c). */
void map_destroy(struct mpx_map *map);
int map_copy(struct mpx_map **dst, const struct mpx_map *src);
bool map_equal(const struct mpx_map *a, const struct mpx_map *b);

/* value.c: strict UTF-8 check (no overlongs, no surrogates, <= U+10FFFF; NUL allowed). */
bool value_utf8_valid(const char *s, size_t len);

#endif
