/* mpx/value.h - the value model: what travels in calls and lives in shared containers.
 *
 * An mpx_value is a 16-byte tagged cell: scalars are stored inline, everything else points
 * to one heap block that the cell owns. Each value has exactly one owner. Functions that
 * "take" a value move it: the source cell is left as None and the caller frees nothing.
 * Functions that "borrow" leave ownership where it was. A value the caller owns is released
 * with mpx_value_free(), which also resets the cell to None (freeing None is a no-op).
 *
 * Semantics follow Python: 1 == 1.0 == True (also as dict keys), tuples and lists never
 * compare equal to each other, dicts keep insertion order, repr() prints what Python prints.
 */
#ifndef MPX_VALUE_H
#define MPX_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mpx_kind {
    MPX_NONE = 0,
    MPX_BOOL,
    MPX_INT,   /* 64-bit signed */
    MPX_FLOAT, /* IEEE double */
    MPX_STR,   /* UTF-8, always NUL-terminated, may contain NUL */
    MPX_BYTES,
    MPX_LIST,
    MPX_TUPLE,
    MPX_DICT,  /* insertion-ordered hash map */
    MPX_REF,   /* a reference to a shared object on a manager (a nested proxy) */
    MPX_SLICE, /* Python's slice(start, stop, step); each part an int or None */
    MPX_SET,   /* hashable items, insertion-ordered as mpx keeps them (Python's order may
                  differ: a set has none) */
    MPX_FROZENSET, /* an immutable, hashable set */
    MPX_KIND_COUNT_
} mpx_kind;

struct mpx_buf;
struct mpx_seq;
struct mpx_map;
struct mpx_ref;
struct mpx_slice;

typedef struct mpx_value {
    mpx_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        struct mpx_buf *buf;     /* str, bytes */
        struct mpx_seq *seq;     /* list, tuple */
        struct mpx_map *map;     /* dict, set, frozenset */
        struct mpx_ref *ref;     /* ref */
        struct mpx_slice *slice; /* slice */
    } u;
} mpx_value;

/* ---- construction ------------------------------------------------------------------
 * Scalars cannot fail. The others return MPX_OK, MPX_ENOMEM, or MPX_EVALUE for a str that
 * is not valid UTF-8; on failure *out is None. *out is overwritten, not freed first. */
mpx_value mpx_value_none(void);
mpx_value mpx_value_bool(bool b);
mpx_value mpx_value_int(int64_t i);
mpx_value mpx_value_float(double f);
int mpx_value_str(mpx_value *out, const char *s);
int mpx_value_strn(mpx_value *out, const char *s, size_t len);
int mpx_value_bytes(mpx_value *out, const void *data, size_t len);
int mpx_value_list(mpx_value *out, size_t capacity_hint);
int mpx_value_tuple(mpx_value *out, size_t capacity_hint); /* filled with append */
int mpx_value_dict(mpx_value *out);
int mpx_value_ref(mpx_value *out, uint64_t object_id, const char *type_name);
/* An empty set, or frozenset when frozen (filled with mpx_value_set_add). */
int mpx_value_set(mpx_value *out, bool frozen);
/* NULL for a part means None, as in slice(None, 5, None). */
int mpx_value_slice(mpx_value *out, const int64_t *start, const int64_t *stop,
                    const int64_t *step);

/* Parses a Python literal the way ast.literal_eval does for the kinds above:
 * None True False, ints, floats (inf/nan via float('inf') are not literals), 'str' "str",
 * b'bytes', [list], (tuple,), {dict}. On error returns MPX_EVALUE (MPX_ENOMEM when out of
 * memory) and writes a message to err (if err is not NULL); *out is then None. *out is
 * owned by the caller on success. */
int mpx_value_parse(const char *text, mpx_value *out, char *err, size_t errlen);

/* ---- ownership ---------------------------------------------------------------------- */
void mpx_value_free(mpx_value *v);                         /* releases, leaves None */
int mpx_value_copy(mpx_value *dst, const mpx_value *src);  /* deep copy into empty dst */
/* dst = src, src = None. Like construction, dst is overwritten, not freed first. */
void mpx_value_move(mpx_value *dst, mpx_value *src);

/* ---- access --------------------------------------------------------------------------
 * Getters do not check the kind: check mpx_value_kind() first. */
static inline mpx_kind mpx_value_kind(const mpx_value *v) { return v->kind; }
static inline bool mpx_value_get_bool(const mpx_value *v) { return v->u.b; }
static inline int64_t mpx_value_get_int(const mpx_value *v) { return v->u.i; }
static inline double mpx_value_get_float(const mpx_value *v) { return v->u.f; }
const char *mpx_value_str_data(const mpx_value *v); /* str or bytes; NUL-terminated */
size_t mpx_value_str_len(const mpx_value *v);       /* str or bytes, in bytes */
uint64_t mpx_value_ref_id(const mpx_value *v);
const char *mpx_value_ref_type(const mpx_value *v);
/* Slice parts: false when that part is None. */
bool mpx_value_slice_part(const mpx_value *v, int which /*0 start,1 stop,2 step*/,
                          int64_t *out);
/* Number of items of a list, tuple, dict or set; byte length of str or bytes; 0 otherwise. */
size_t mpx_value_len(const mpx_value *v);
/* Python's truth value: None, False, 0, 0.0 and empty containers are false. */
bool mpx_value_truthy(const mpx_value *v);
/* Python's name of the kind, as type(x).__name__: "NoneType", "int", "dict", ... */
const char *mpx_kind_name(mpx_kind kind);

/* ---- list and tuple ------------------------------------------------------------------ */
/* Borrowed pointer to item i, NULL when i >= len. Valid until the sequence changes. */
mpx_value *mpx_value_at(const mpx_value *seq, size_t i);
/* The contiguous item array (len items), for in-place algorithms; NULL when empty. */
mpx_value *mpx_value_items(const mpx_value *seq);
int mpx_value_append(mpx_value *seq, mpx_value *item);             /* takes item */
int mpx_value_insert(mpx_value *seq, size_t index, mpx_value *item); /* index <= len */
/* Removes item i; moves it into *out, or frees it when out is NULL. i < len. */
void mpx_value_remove(mpx_value *seq, size_t i, mpx_value *out);
/* Grows with None items or shrinks freeing the dropped tail. */
int mpx_value_resize(mpx_value *seq, size_t len);

/* ---- dict ----------------------------------------------------------------------------
 * Keys must be hashable (None, bool, int, float, str, bytes, tuples of those): otherwise
 * MPX_ETYPE and nothing is taken. */
bool mpx_value_hashable(const mpx_value *v);
/* Python-compatible equality classes: hash(1) == hash(1.0) == hash(True). 0 when the
 * value is not hashable. */
uint64_t mpx_value_hash(const mpx_value *v);
/* Takes key and val. If an equal key exists, its value is replaced and the original key
 * kept (as Python does), the passed key is freed. On any error nothing is taken. */
int mpx_value_dict_set(mpx_value *dict, mpx_value *key, mpx_value *val);
/* *found borrows the stored value. MPX_EKEY when absent, MPX_ETYPE when unhashable. */
int mpx_value_dict_find(const mpx_value *dict, const mpx_value *key, mpx_value **found);
/* Removes key; the stored key and value are moved out (or freed where NULL). */
int mpx_value_dict_pop(mpx_value *dict, const mpx_value *key, mpx_value *key_out,
                       mpx_value *val_out);
/* Removes the last inserted pair (LIFO, as Python); MPX_EKEY when empty. */
int mpx_value_dict_popitem(mpx_value *dict, mpx_value *key_out, mpx_value *val_out);
void mpx_value_dict_clear(mpx_value *dict);
/* Iterates in insertion order: start with *pos = 0; false when done. Borrowed pointers. */
bool mpx_value_dict_next(const mpx_value *dict, size_t *pos, mpx_value **key,
                         mpx_value **val);

/* ---- set and frozenset --------------------------------------------------------------
 * Items are hashable, as dict keys; equal items are one (1, 1.0 and True). */
/* Takes item; an item equal to one present is freed. MPX_ETYPE (nothing taken) when it
 * is unhashable. */
int mpx_value_set_add(mpx_value *set, mpx_value *item);
bool mpx_value_set_contains(const mpx_value *set, const mpx_value *item);
/* Removes the item equal to item; MPX_EKEY when there is none, MPX_ETYPE unhashable. */
int mpx_value_set_discard(mpx_value *set, const mpx_value *item);
/* Iterates as mpx_value_dict_next does; *item is borrowed. */
bool mpx_value_set_next(const mpx_value *set, size_t *pos, mpx_value **item);

/* ---- comparison and text ------------------------------------------------------------- */
bool mpx_value_equal(const mpx_value *a, const mpx_value *b); /* Python == */
/* Python's ordering (<): numbers with numbers, str with str, bytes with bytes, list with
 * list and tuple with tuple lexicographically. Sets *cmp to -1, 0 or 1; MPX_ETYPE when
 * Python would raise TypeError. */
int mpx_value_compare(const mpx_value *a, const mpx_value *b, int *cmp);
/* repr() exactly as Python prints it. Returns a malloc'd string, NULL on ENOMEM. */
char *mpx_value_repr(const mpx_value *v);

#ifdef __cplusplus
}
#endif
#endif
