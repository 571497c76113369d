/* value_map.c - Python equality and hashing, and the dict: CPython's compact ordered table.
 *
 * Entries sit in insertion order in one array; a power-of-two index of 1/2/4/8-byte slots
 * maps hashes to entry numbers. Deletes leave a tombstone entry and a DUMMY slot until the
 * next rebuild. Invariants: a == b implies hash(a) == hash(b) (1, 1.0, True share one), and
 * nentries <= filled <= usable(size) < size, so every probe sequence reaches an EMPTY slot.
 * A key holding a NaN equals no key, so it is never looked up and its hash is an identity
 * the dict hands out (as CPython hashes a NaN by its object): n such keys cost O(n).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpx/error.h"
#include "mem.h"
#include "value_internal.h"

/* ---- hashing ---------------------------------------------------------------------------- */

/* splitmix64's finaliser: every input bit reaches every output bit, so consecutive ints
 * spread over the low bits the index uses. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_int(int64_t i)
{
    return mix64((uint64_t)i);
}

/* True when f is an integer that fits int64: then it equals that int and must hash
 * like it (this also folds -0.0 onto 0). 2^63 is exact as a double. */
static bool float_as_int(double f, int64_t *out)
{
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0) || f != trunc(f))
        return false;
    *out = (int64_t)f;
    return true;
}

static uint64_t hash_float(double f)
{
    int64_t i;
    if (float_as_int(f, &i))
        return hash_int(i);
    uint64_t bits;
    memcpy(&bits, &f, sizeof bits);
    return mix64(bits ^ 0x5851f42d4c957f2dULL);
}

/* MurmurHash64A over the bytes, seeded per kind so that 'a' and b'a' differ. */
static uint64_t hash_bytes(const char *data, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ (len * m);
    const unsigned char *p = (const unsigned char *)data;
    for (size_t n = len / 8; n > 0; n--, p += 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    uint64_t tail = 0;
    for (size_t k = len & 7; k > 0; k--)
        tail = (tail << 8) | p[k - 1];
    if (len & 7) {
        h ^= tail;
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

static uint64_t hash_value(const mpx_value *v, bool *nan);

/* CPython's tuple hash (xxHash-style lanes) over the item hashes. */
static uint64_t hash_tuple(const struct mpx_seq *seq, bool *nan)
{
    const uint64_t p1 = 11400714785074694791ULL, p2 = 14029467366897019727ULL,
                   p5 = 2870177450012600261ULL;
    uint64_t acc = p5;
    for (size_t i = 0; i < seq->len; i++) {
        acc += hash_value(&seq->items[i], nan) * p2;
        acc = (acc << 31) | (acc >> 33);
        acc *= p1;
    }
    return acc + (seq->len ^ (p5 ^ 3527539ULL));
}

bool mpx_value_hashable(const mpx_value *v)
{
    switch (v->kind) {
    case MPX_NONE:
    case MPX_BOOL:
    case MPX_INT:
    case MPX_FLOAT:
    case MPX_STR:
    case MPX_BYTES:
        return true;
    case MPX_TUPLE:
        for (size_t i = 0; i < v->u.seq->len; i++)
            if (!mpx_value_hashable(&v->u.seq->items[i]))
                return false;
        return true;
    case MPX_FROZENSET: /* its items are hashable, or they would not be in it */
        return true;
    default:
        return false;
    }
}

/* Order-free, as CPython's frozenset hash: each item's hash is spread and the results
 * xor'ed, so {1, 2} and {2, 1} hash alike and a few items cannot cancel out. */
static uint64_t hash_frozenset(const struct mpx_map *m, bool *nan)
{
    uint64_t acc = 0x72b7b5a1e5f0c3d9ULL ^ (uint64_t)m->len;
    for (size_t i = 0; i < m->nentries; i++) {
        const map_entry *e = &m->entries[i];
        if (e->key.kind == VALUE_DELETED)
            continue;
        if (e->key.kind == MPX_FLOAT && isnan(e->key.u.f))
            *nan = true;
        acc ^= mix64(e->hash ^ 0x5bd1e9955bd1e995ULL);
    }
    return mix64(acc);
}

/* Unhashable kinds hash to 0; callers check mpx_value_hashable first. *nan is set when v
 * is or holds a NaN: then v equals nothing, not even itself, and its hash only has to
 * spread. Every NaN hashing alike would chain them all on one probe path (quadratic), so
 * a NaN hashes by identity, as in CPython 3.10+: here its cell's address, which is stable
 * for a NaN inside a tuple (the items live in the tuple's block) but not for one that is
 * moved; dicts give such keys an identity of their own (map_nan_hash). */
static uint64_t hash_value(const mpx_value *v, bool *nan)
{
    switch (v->kind) {
    case MPX_NONE:
        return 0x9e3779b97f4a7c15ULL;
    case MPX_BOOL:
        return hash_int(v->u.b);
    case MPX_INT:
        return hash_int(v->u.i);
    case MPX_FLOAT:
        if (isnan(v->u.f)) {
            *nan = true;
            return mix64((uint64_t)(uintptr_t)v ^ 0x7ff8a5a5a5a5a5a5ULL);
        }
        return hash_float(v->u.f);
    case MPX_STR:
        return hash_bytes(v->u.buf->data, v->u.buf->len, 0x243f6a8885a308d3ULL);
    case MPX_BYTES:
        return hash_bytes(v->u.buf->data, v->u.buf->len, 0x13198a2e03707344ULL);
    case MPX_TUPLE:
        return hash_tuple(v->u.seq, nan);
    case MPX_FROZENSET:
        return hash_frozenset(v->u.map, nan);
    default:
        return 0;
    }
}

uint64_t mpx_value_hash(const mpx_value *v)
{
    bool nan = false;
    return hash_value(v, &nan);
}

/* ---- equality --------------------------------------------------------------------------- */

static bool is_number(mpx_kind k)
{
    return k == MPX_BOOL || k == MPX_INT || k == MPX_FLOAT;
}

/* Exact: the int is never rounded to a double (2^53 + 1 != 2.0^53). */
static bool number_equal(const mpx_value *a, const mpx_value *b)
{
    if (a->kind == MPX_FLOAT && b->kind == MPX_FLOAT)
        return a->u.f == b->u.f;
    if (b->kind == MPX_FLOAT) {
        const mpx_value *t = a;
        a = b;
        b = t;
    }
    int64_t ib = b->kind == MPX_BOOL ? b->u.b : b->u.i;
    if (a->kind != MPX_FLOAT)
        return (a->kind == MPX_BOOL ? a->u.b : a->u.i) == ib;
    int64_t ia = 0;
    return float_as_int(a->u.f, &ia) && ia == ib;
}

static bool seq_equal(const struct mpx_seq *a, const struct mpx_seq *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++)
        if (!mpx_value_equal(&a->items[i], &b->items[i]))
            return false;
    return true;
}

static bool is_set(mpx_kind k)
{
    return k == MPX_SET || k == MPX_FROZENSET;
}

bool mpx_value_equal(const mpx_value *a, const mpx_value *b)
{
    if (is_number(a->kind) && is_number(b->kind))
        return number_equal(a, b);
    if (is_set(a->kind) && is_set(b->kind)) /* {1} == frozenset({1}), as in Python */
        return map_equal(a->u.map, b->u.map);
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case MPX_NONE:
        return true;
    case MPX_STR:
    case MPX_BYTES:
        return a->u.buf->len == b->u.buf->len &&
               memcmp(a->u.buf->data, b->u.buf->data, a->u.buf->len) == 0;
    case MPX_LIST:
    case MPX_TUPLE:
        return seq_equal(a->u.seq, b->u.seq);
    case MPX_DICT:
        return map_equal(a->u.map, b->u.map);
    case MPX_REF:
        return a->u.ref->id == b->u.ref->id;
    case MPX_SLICE: {
        const struct mpx_slice *x = a->u.slice, *y = b->u.slice;
        if (x->has != y->has)
            return false;
        for (int k = 0; k < 3; k++)
            if ((x->has & (1u << k)) && x->part[k] != y->part[k])
                return false;
        return true;
    }
    default:
        return false;
    }
}

/* ---- the table -------------------------------------------------------------------------- */

#define IX_EMPTY (-1)
#define IX_DUMMY (-2)
#define MIN_LOG2SIZE 3
#define PERTURB_SHIFT 5

static size_t usable(uint8_t log2size)
{
    return ((size_t)2 << log2size) / 3;
}

static uint8_t width_for(uint8_t log2size)
{
    if (log2size <= 7)
        return 1;
    if (log2size <= 15)
        return 2;
    return log2size <= 31 ? 4 : 8;
}

static int64_t ix_get(const struct mpx_map *m, size_t slot)
{
    switch (m->width) {
    case 1:
        return ((const int8_t *)m->table)[slot];
    case 2:
        return ((const int16_t *)m->table)[slot];
    case 4:
        return ((const int32_t *)m->table)[slot];
    default:
        return ((const int64_t *)m->table)[slot];
    }
}

static void ix_set(struct mpx_map *m, size_t slot, int64_t ix)
{
    switch (m->width) {
    case 1:
        ((int8_t *)m->table)[slot] = (int8_t)ix;
        break;
    case 2:
        ((int16_t *)m->table)[slot] = (int16_t)ix;
        break;
    case 4:
        ((int32_t *)m->table)[slot] = (int32_t)ix;
        break;
    default:
        ((int64_t *)m->table)[slot] = ix;
        break;
    }
}

/* The probe sequence of CPython's dict: the perturbation feeds the high hash bits in
 * so that keys agreeing on the low bits still part ways. */
typedef struct probe {
    size_t slot;
    size_t mask;
    uint64_t perturb;
} probe;

static probe probe_start(const struct mpx_map *m, uint64_t hash)
{
    size_t mask = ((size_t)1 << m->log2size) - 1;
    return (probe){(size_t)hash & mask, mask, hash};
}

static void probe_next(probe *p)
{
    p->perturb >>= PERTURB_SHIFT;
    p->slot = (p->slot * 5 + (size_t)p->perturb + 1) & p->mask;
}

/* Entry number of key, or IX_EMPTY when absent; *slot_out gets the index slot pointing
 * at it. Terminates because the index always keeps an EMPTY slot (filled < size). */
static int64_t lookup(const struct mpx_map *m, const mpx_value *key, uint64_t hash,
                      size_t *slot_out)
{
    if (m->table == NULL)
        return IX_EMPTY;
    for (probe p = probe_start(m, hash);; probe_next(&p)) {
        int64_t ix = ix_get(m, p.slot);
        if (ix == IX_EMPTY)
            return IX_EMPTY;
        if (ix >= 0) {
            const map_entry *e = &m->entries[ix];
            if (e->hash == hash && mpx_value_equal(&e->key, key)) {
                *slot_out = p.slot;
                return ix;
            }
        }
    }
}

/* First EMPTY or DUMMY slot on hash's probe path; the table always has one. */
static size_t free_slot(const struct mpx_map *m, uint64_t hash)
{
    probe p = probe_start(m, hash);
    while (ix_get(m, p.slot) >= 0)
        probe_next(&p);
    return p.slot;
}

/* Rebuilds into an index of 2^log2size slots, compacting out tombstones. */
static int map_rebuild(struct mpx_map *m, uint8_t log2size)
{
    size_t size = (size_t)1 << log2size;
    uint8_t width = width_for(log2size);
    size_t index_bytes = size * width; /* a multiple of 8: size >= 8 */
    size_t cap = usable(log2size);
    void *table = mem_alloc(index_bytes + cap * sizeof(map_entry));
    if (table == NULL)
        return MPX_ENOMEM;
    memset(table, 0xff, index_bytes); /* every slot IX_EMPTY, whatever the width */
    map_entry *entries = (map_entry *)((char *)table + index_bytes);
    size_t n = 0;
    for (size_t i = 0; i < m->nentries; i++)
        if (m->entries[i].key.kind != VALUE_DELETED)
            entries[n++] = m->entries[i];
    mem_free(m->table);
    m->table = table;
    m->entries = entries;
    m->log2size = log2size;
    m->width = width;
    m->nentries = n;
    m->filled = n;
    for (size_t i = 0; i < n; i++)
        ix_set(m, free_slot(m, entries[i].hash), (int64_t)i);
    return MPX_OK;
}

/* Smallest table whose usable part holds `need` entries, at least 8 slots. */
static uint8_t log2size_for(size_t need)
{
    uint8_t log2size = MIN_LOG2SIZE;
    while (usable(log2size) < need)
        log2size++;
    return log2size;
}

/* Called when the insert budget is spent: like CPython, an index of at least three
 * slots per live entry, so a growing dict doubles and one that mostly deleted shrinks. */
static int map_grow(struct mpx_map *m)
{
    uint8_t log2size = MIN_LOG2SIZE;
    while (((size_t)1 << log2size) < m->len * 3)
        log2size++;
    return map_rebuild(m, log2size);
}

void map_destroy(struct mpx_map *m)
{
    for (size_t i = 0; i < m->nentries; i++) {
        if (m->entries[i].key.kind != VALUE_DELETED) {
            mpx_value_free(&m->entries[i].key);
            mpx_value_free(&m->entries[i].val);
        }
    }
    mem_free(m->table);
    mem_free(m);
}

int map_copy(struct mpx_map **dst, const struct mpx_map *src)
{
    *dst = NULL;
    struct mpx_map *m = mem_calloc(1, sizeof *m);
    if (m == NULL)
        return MPX_ENOMEM;
    if (src->len > 0 && map_rebuild(m, log2size_for(src->len)) != MPX_OK) {
        mem_free(m);
        return MPX_ENOMEM;
    }
    m->nan_ids = src->nan_ids; /* new NaN keys must not reuse the copied ones' hashes */
    /* Keys are already known distinct, so each copy goes to a free slot with its stored
     * hash, without equality checks. */
    for (size_t i = 0; i < src->nentries; i++) {
        const map_entry *from = &src->entries[i];
        if (from->key.kind == VALUE_DELETED)
            continue;
        map_entry *to = &m->entries[m->nentries];
        to->hash = from->hash;
        if (mpx_value_copy(&to->key, &from->key) != MPX_OK) {
            map_destroy(m);
            return MPX_ENOMEM;
        }
        if (mpx_value_copy(&to->val, &from->val) != MPX_OK) {
            mpx_value_free(&to->key);
            map_destroy(m);
            return MPX_ENOMEM;
        }
        ix_set(m, free_slot(m, to->hash), (int64_t)m->nentries);
        m->nentries++;
        m->filled++;
        m->len++;
    }
    *dst = m;
    return MPX_OK;
}

bool map_equal(const struct mpx_map *a, const struct mpx_map *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->nentries; i++) {
        const map_entry *e = &a->entries[i];
        if (e->key.kind == VALUE_DELETED)
            continue;
        size_t slot;
        int64_t ix = lookup(b, &e->key, e->hash, &slot);
        if (ix < 0 || !mpx_value_equal(&e->val, &b->entries[ix].val))
            return false;
    }
    return true;
}

/* ---- dict API --------------------------------------------------------------------------- */

/* The hash a key holding a NaN is stored with: the map's next identity, not the key's
 * cell address, which is the caller's and often the same for every key (a decoder's
 * one local). Stored with the entry, it survives moves and rebuilds, which never rehash. */
static uint64_t map_nan_hash(struct mpx_map *m)
{
    return mix64(++m->nan_ids ^ 0x6a09e667f3bcc909ULL);
}

int mpx_value_dict_set(mpx_value *dict, mpx_value *key, mpx_value *val)
{
    if (!mpx_value_hashable(key))
        return MPX_ETYPE;
    struct mpx_map *m = dict->u.map;
    bool nan = false;
    uint64_t hash = hash_value(key, &nan);
    size_t slot;
    int64_t ix = IX_EMPTY; /* a key holding a NaN equals no stored key: always a new one */
    if (nan)
        hash = map_nan_hash(m);
    else
        ix = lookup(m, key, hash, &slot);
    if (ix >= 0) {
        /* Python keeps the first key: d[1] = 'a'; d[1.0] = 'b' leaves {1: 'b'}. */
        mpx_value_free(&m->entries[ix].val);
        mpx_value_move(&m->entries[ix].val, val);
        mpx_value_free(key);
        return MPX_OK;
    }
    if (m->table == NULL || m->filled == usable(m->log2size)) {
        int rc = m->table == NULL ? map_rebuild(m, MIN_LOG2SIZE) : map_grow(m);
        if (rc != MPX_OK)
            return rc; /* nothing taken */
    }
    map_entry *e = &m->entries[m->nentries];
    e->hash = hash;
    mpx_value_move(&e->key, key);
    mpx_value_move(&e->val, val);
    ix_set(m, free_slot(m, hash), (int64_t)m->nentries);
    m->nentries++;
    m->filled++;
    m->len++;
    return MPX_OK;
}

int mpx_value_dict_find(const mpx_value *dict, const mpx_value *key, mpx_value **found)
{
    if (!mpx_value_hashable(key))
        return MPX_ETYPE;
    const struct mpx_map *m = dict->u.map;
    bool nan = false;
    uint64_t hash = hash_value(key, &nan);
    size_t slot;
    int64_t ix = nan ? IX_EMPTY : lookup(m, key, hash, &slot); /* d[nan]: KeyError */
    if (ix < 0)
        return MPX_EKEY;
    *found = &m->entries[ix].val;
    return MPX_OK;
}

/* Turns entry ix (indexed from `slot`) into a tombstone, handing out key and value. */
static void map_delete(struct mpx_map *m, size_t slot, int64_t ix, mpx_value *key_out,
                       mpx_value *val_out)
{
    map_entry *e = &m->entries[ix];
    if (key_out != NULL)
        mpx_value_move(key_out, &e->key);
    else
        mpx_value_free(&e->key);
    if (val_out != NULL)
        mpx_value_move(val_out, &e->val);
    else
        mpx_value_free(&e->val);
    e->key.kind = VALUE_DELETED;
    ix_set(m, slot, IX_DUMMY);
    m->len--;
}

int mpx_value_dict_pop(mpx_value *dict, const mpx_value *key, mpx_value *key_out,
                       mpx_value *val_out)
{
    if (!mpx_value_hashable(key))
        return MPX_ETYPE;
    struct mpx_map *m = dict->u.map;
    bool nan = false;
    uint64_t hash = hash_value(key, &nan);
    size_t slot;
    int64_t ix = nan ? IX_EMPTY : lookup(m, key, hash, &slot);
    if (ix < 0)
        return MPX_EKEY;
    map_delete(m, slot, ix, key_out, val_out);
    return MPX_OK;
}

int mpx_value_dict_popitem(mpx_value *dict, mpx_value *key_out, mpx_value *val_out)
{
    struct mpx_map *m = dict->u.map;
    if (m->len == 0)
        return MPX_EKEY;
    size_t i = m->nentries - 1;
    while (m->entries[i].key.kind == VALUE_DELETED)
        i--;
    /* Find the index slot pointing at entry i by walking its probe path. */
    probe p = probe_start(m, m->entries[i].hash);
    while (ix_get(m, p.slot) != (int64_t)i)
        probe_next(&p);
    map_delete(m, p.slot, (int64_t)i, key_out, val_out);
    /* As CPython: forget the tail so the next popitem does not rescan it. `filled` stays,
     * because the DUMMY slot left behind still occupies the index. */
    m->nentries = i;
    return MPX_OK;
}

void mpx_value_dict_clear(mpx_value *dict)
{
    struct mpx_map *m = dict->u.map;
    for (size_t i = 0; i < m->nentries; i++) {
        if (m->entries[i].key.kind != VALUE_DELETED) {
            mpx_value_free(&m->entries[i].key);
            mpx_value_free(&m->entries[i].val);
        }
    }
    mem_free(m->table);
    memset(m, 0, sizeof *m);
}

bool mpx_value_dict_next(const mpx_value *dict, size_t *pos, mpx_value **key,
                         mpx_value **val)
{
    const struct mpx_map *m = dict->u.map;
    for (size_t i = *pos; i < m->nentries; i++) {
        map_entry *e = &m->entries[i];
        if (e->key.kind != VALUE_DELETED) {
            *key = &e->key;
            *val = &e->val;
            *pos = i + 1;
            return true;
        }
    }
    *pos = m->nentries;
    return false;
}

/* ---- set API: a map whose values are all None ------------------------------------------- */

int mpx_value_set_add(mpx_value *set, mpx_value *item)
{
    mpx_value none = mpx_value_none();
    return mpx_value_dict_set(set, item, &none);
}

bool mpx_value_set_contains(const mpx_value *set, const mpx_value *item)
{
    mpx_value *found;
    return mpx_value_dict_find(set, item, &found) == MPX_OK;
}

int mpx_value_set_discard(mpx_value *set, const mpx_value *item)
{
    return mpx_value_dict_pop(set, item, NULL, NULL);
}

bool mpx_value_set_next(const mpx_value *set, size_t *pos, mpx_value **item)
{
    mpx_value *none;
    return mpx_value_dict_next(set, pos, item, &none);
}
