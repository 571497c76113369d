/* value.c - building, owning and reading mpx_values; list and tuple operations.
 *
 * Invariant: every non-scalar cell points to exactly one heap block that only it owns, so
 * free is a plain tree walk and move is a struct copy. A str block always holds valid
 * UTF-8 followed by a NUL; a None cell owns nothing. Dicts live in value_map.c. Blocks
 * come from util/mem.h, so that a manager counts what its values hold.
 */
#include <stdlib.h>
#include <string.h>

#include "mpx/error.h"
#include "mem.h"
#include "value_internal.h"

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Length of the sequence a lead byte starts, 0 for a byte that cannot start one. */
static int utf8_lead_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c < 0xc2) /* continuation bytes, and 0xc0/0xc1 which only make overlongs */
        return 0;
    if (c < 0xe0)
        return 2;
    if (c < 0xf0)
        return 3;
    return c < 0xf5 ? 4 : 0;
}

bool value_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        if (*s < 0x80) { /* the common case: skip ASCII quickly */
            s++;
            continue;
        }
        int n = utf8_lead_len(*s);
        if (n == 0 || end - s < n)
            return false;
        for (int k = 1; k < n; k++)
            if ((s[k] & 0xc0) != 0x80)
                return false;
        /* The second byte's range rules out overlongs (e0, f0), surrogates (ed) and
         * code points past U+10FFFF (f4). */
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
            (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
            return false;
        s += n;
    }
    return true;
}

/* ---- construction ----------------------------------------------------------------------- */

mpx_value mpx_value_none(void)
{
    return (mpx_value){.kind = MPX_NONE};
}

mpx_value mpx_value_bool(bool b)
{
    return (mpx_value){.kind = MPX_BOOL, .u.b = b};
}

mpx_value mpx_value_int(int64_t i)
{
    return (mpx_value){.kind = MPX_INT, .u.i = i};
}

mpx_value mpx_value_float(double f)
{
    return (mpx_value){.kind = MPX_FLOAT, .u.f = f};
}

static int buf_new(mpx_value *out, mpx_kind kind, const void *data, size_t len)
{
    *out = mpx_value_none();
    if (len > MPX_BUF_MAX)
        return MPX_ENOMEM; /* over 4 GiB: more than any frame carries */
    struct mpx_buf *buf = mem_alloc(sizeof *buf + len + 1);
    if (buf == NULL)
        return MPX_ENOMEM;
    buf->len = (uint32_t)len;
    if (len > 0)
        memcpy(buf->data, data, len);
    buf->data[len] = '\0';
    out->kind = kind;
    out->u.buf = buf;
    return MPX_OK;
}

int mpx_value_str(mpx_value *out, const char *s)
{
    return mpx_value_strn(out, s, strlen(s));
}

int mpx_value_strn(mpx_value *out, const char *s, size_t len)
{
    if (!value_utf8_valid(s, len)) {
        *out = mpx_value_none();
        return MPX_EVALUE;
    }
    return buf_new(out, MPX_STR, s, len);
}

int mpx_value_bytes(mpx_value *out, const void *data, size_t len)
{
    return buf_new(out, MPX_BYTES, data, len);
}

static struct mpx_seq *seq_alloc(size_t cap)
{
    if (cap > (SIZE_MAX - sizeof(struct mpx_seq)) / sizeof(mpx_value))
        return NULL;
    struct mpx_seq *seq = mem_alloc(sizeof *seq + cap * sizeof(mpx_value));
    if (seq != NULL) {
        seq->len = 0;
        seq->cap = cap;
    }
    return seq;
}

static int seq_new(mpx_value *out, mpx_kind kind, size_t capacity_hint)
{
    *out = mpx_value_none();
    struct mpx_seq *seq = seq_alloc(capacity_hint);
    if (seq == NULL)
        return MPX_ENOMEM;
    out->kind = kind;
    out->u.seq = seq;
    return MPX_OK;
}

int mpx_value_list(mpx_value *out, size_t capacity_hint)
{
    return seq_new(out, MPX_LIST, capacity_hint);
}

int mpx_value_tuple(mpx_value *out, size_t capacity_hint)
{
    return seq_new(out, MPX_TUPLE, capacity_hint);
}

int mpx_value_dict(mpx_value *out)
{
    *out = mpx_value_none();
    /* The table is allocated on first insert: many dicts stay empty. */
    struct mpx_map *map = mem_calloc(1, sizeof *map);
    if (map == NULL)
        return MPX_ENOMEM;
    out->kind = MPX_DICT;
    out->u.map = map;
    return MPX_OK;
}

int mpx_value_set(mpx_value *out, bool frozen)
{
    int rc = mpx_value_dict(out); /* a set is a map whose values are all None */
    if (rc == MPX_OK)
        out->kind = frozen ? MPX_FROZENSET : MPX_SET;
    return rc;
}

int mpx_value_ref(mpx_value *out, uint64_t object_id, const char *type_name)
{
    *out = mpx_value_none();
    size_t n = strlen(type_name);
    struct mpx_ref *ref = mem_alloc(sizeof *ref + n + 1);
    if (ref == NULL)
        return MPX_ENOMEM;
    ref->id = object_id;
    ref->owner = NULL;
    memcpy(ref->type, type_name, n + 1);
    out->kind = MPX_REF;
    out->u.ref = ref;
    return MPX_OK;
}

int mpx_value_slice(mpx_value *out, const int64_t *start, const int64_t *stop,
                    const int64_t *step)
{
    *out = mpx_value_none();
    struct mpx_slice *sl = mem_calloc(1, sizeof *sl);
    if (sl == NULL)
        return MPX_ENOMEM;
    const int64_t *parts[3] = {start, stop, step};
    for (int k = 0; k < 3; k++) {
        if (parts[k] != NULL) {
            sl->part[k] = *parts[k];
            sl->has |= (uint8_t)(1u << k);
        }
    }
    out->kind = MPX_SLICE;
    out->u.slice = sl;
    return MPX_OK;
}

/* ---- ownership -------------------------------------------------------------------------- */

void mpx_value_free(mpx_value *v)
{
    switch (v->kind) {
    case MPX_STR:
    case MPX_BYTES:
        mem_free(v->u.buf);
        break;
    case MPX_LIST:
    case MPX_TUPLE:
        for (size_t i = 0; i < v->u.seq->len; i++)
            mpx_value_free(&v->u.seq->items[i]);
        mem_free(v->u.seq);
        break;
    case MPX_DICT:
    case MPX_SET:
    case MPX_FROZENSET:
        map_destroy(v->u.map);
        break;
    case MPX_REF:
        if (v->u.ref->owner != NULL)
            v->u.ref->owner->drop(v->u.ref->owner->ctx, v->u.ref->id);
        mem_free(v->u.ref);
        break;
    case MPX_SLICE:
        mem_free(v->u.slice);
        break;
    default: /* scalars own nothing */
        break;
    }
    *v = mpx_value_none();
}

static int seq_copy(mpx_value *dst, const mpx_value *src)
{
    const struct mpx_seq *from = src->u.seq;
    int rc = seq_new(dst, src->kind, from->len);
    for (size_t i = 0; rc == MPX_OK && i < from->len; i++) {
        rc = mpx_value_copy(&dst->u.seq->items[i], &from->items[i]);
        if (rc == MPX_OK)
            dst->u.seq->len++; /* counted only once built, so free() sees live items */
    }
    if (rc != MPX_OK)
        mpx_value_free(dst);
    return rc;
}

int mpx_value_copy(mpx_value *dst, const mpx_value *src)
{
    *dst = mpx_value_none();
    switch (src->kind) {
    case MPX_STR:
    case MPX_BYTES:
        return buf_new(dst, src->kind, src->u.buf->data, src->u.buf->len);
    case MPX_LIST:
    case MPX_TUPLE:
        return seq_copy(dst, src);
    case MPX_DICT:
    case MPX_SET:
    case MPX_FROZENSET: {
        struct mpx_map *map;
        int rc = map_copy(&map, src->u.map);
        if (rc == MPX_OK) {
            dst->kind = src->kind;
            dst->u.map = map;
        }
        return rc;
    }
    case MPX_REF: {
        int rc = mpx_value_ref(dst, src->u.ref->id, src->u.ref->type);
        const value_ref_owner *owner = src->u.ref->owner;
        /* the object is alive (src holds it): the take cannot be refused */
        if (rc == MPX_OK && owner != NULL && owner->take(owner->ctx, src->u.ref->id) == MPX_OK)
            dst->u.ref->owner = owner;
        return rc;
    }
    case MPX_SLICE: {
        struct mpx_slice *sl = mem_alloc(sizeof *sl);
        if (sl == NULL)
            return MPX_ENOMEM;
        *sl = *src->u.slice;
        dst->kind = MPX_SLICE;
        dst->u.slice = sl;
        return MPX_OK;
    }
    default:
        *dst = *src;
        return MPX_OK;
    }
}

void mpx_value_move(mpx_value *dst, mpx_value *src)
{
    *dst = *src;
    *src = mpx_value_none();
}

/* ---- access ----------------------------------------------------------------------------- */

const char *mpx_value_str_data(const mpx_value *v)
{
    return v->u.buf->data;
}

size_t mpx_value_str_len(const mpx_value *v)
{
    return v->u.buf->len;
}

uint64_t mpx_value_ref_id(const mpx_value *v)
{
    return v->u.ref->id;
}

const char *mpx_value_ref_type(const mpx_value *v)
{
    return v->u.ref->type;
}

bool mpx_value_slice_part(const mpx_value *v, int which, int64_t *out)
{
    if (which < 0 || which > 2 || !(v->u.slice->has & (1u << which)))
        return false;
    *out = v->u.slice->part[which];
    return true;
}

size_t mpx_value_len(const mpx_value *v)
{
    switch (v->kind) {
    case MPX_STR:
    case MPX_BYTES:
        return v->u.buf->len;
    case MPX_LIST:
    case MPX_TUPLE:
        return v->u.seq->len;
    case MPX_DICT:
    case MPX_SET:
    case MPX_FROZENSET:
        return v->u.map->len;
    default:
        return 0;
    }
}

bool mpx_value_truthy(const mpx_value *v)
{
    switch (v->kind) {
    case MPX_NONE:
        return false;
    case MPX_BOOL:
        return v->u.b;
    case MPX_INT:
        return v->u.i != 0;
    case MPX_FLOAT:
        return v->u.f != 0.0; /* NaN is true, as in Python */
    case MPX_REF:
    case MPX_SLICE:
        return true;
    default:
        return mpx_value_len(v) != 0;
    }
}

const char *mpx_kind_name(mpx_kind kind)
{
    static const char *const names[MPX_KIND_COUNT_] = {
        [MPX_NONE] = "NoneType", [MPX_BOOL] = "bool",   [MPX_INT] = "int",
        [MPX_FLOAT] = "float",   [MPX_STR] = "str",     [MPX_BYTES] = "bytes",
        [MPX_LIST] = "list",     [MPX_TUPLE] = "tuple", [MPX_DICT] = "dict",
        [MPX_REF] = "ref",       [MPX_SLICE] = "slice", [MPX_SET] = "set",
        [MPX_FROZENSET] = "frozenset",
    };
    if ((unsigned)kind >= MPX_KIND_COUNT_)
        return "unknown";
    return names[kind];
}

/* ---- list and tuple --------------------------------------------------------------------- */

mpx_value *mpx_value_at(const mpx_value *seq, size_t i)
{
    return i < seq->u.seq->len ? &seq->u.seq->items[i] : NULL;
}

mpx_value *mpx_value_items(const mpx_value *seq)
{
    return seq->u.seq->len > 0 ? seq->u.seq->items : NULL;
}

/* Makes room for at least `need` items, growing by half again so that appends are
 * amortised O(1). The block moves, so the owning cell is updated. */
static int seq_reserve(mpx_value *v, size_t need)
{
    struct mpx_seq *seq = v->u.seq;
    if (need <= seq->cap)
        return MPX_OK;
    size_t cap = seq->cap + seq->cap / 2;
    if (cap < need)
        cap = need;
    if (cap < 4)
        cap = 4;
    if (cap > (SIZE_MAX - sizeof *seq) / sizeof(mpx_value))
        return MPX_ENOMEM;
    struct mpx_seq *grown = mem_realloc(seq, sizeof *seq + cap * sizeof(mpx_value));
    if (grown == NULL)
        return MPX_ENOMEM;
    grown->cap = cap;
    v->u.seq = grown;
    return MPX_OK;
}

int mpx_value_append(mpx_value *seq, mpx_value *item)
{
    return mpx_value_insert(seq, seq->u.seq->len, item);
}

int mpx_value_insert(mpx_value *seq, size_t index, mpx_value *item)
{
    size_t len = seq->u.seq->len;
    if (index > len)
        return MPX_EINDEX;
    int rc = seq_reserve(seq, len + 1);
    if (rc != MPX_OK)
        return rc; /* nothing taken */
    mpx_value *items = seq->u.seq->items;
    memmove(&items[index + 1], &items[index], (len - index) * sizeof *items);
    mpx_value_move(&items[index], item);
    seq->u.seq->len = len + 1;
    return MPX_OK;
}

void mpx_value_remove(mpx_value *seq, size_t i, mpx_value *out)
{
    struct mpx_seq *s = seq->u.seq;
    if (out != NULL)
        mpx_value_move(out, &s->items[i]);
    else
        mpx_value_free(&s->items[i]);
    memmove(&s->items[i], &s->items[i + 1], (s->len - i - 1) * sizeof *s->items);
    s->len--;
}

int mpx_value_resize(mpx_value *seq, size_t len)
{
    struct mpx_seq *s = seq->u.seq;
    if (len <= s->len) {
        for (size_t i = len; i < s->len; i++)
            mpx_value_free(&s->items[i]);
        s->len = len;
        /* Give memory back once the list is mostly empty; failure to shrink is harmless. */
        if (len < s->cap / 4) {
            struct mpx_seq *small = mem_realloc(s, sizeof *s + len * sizeof(mpx_value));
            if (small != NULL) {
                small->cap = len;
                seq->u.seq = small;
            }
        }
        return MPX_OK;
    }
    int rc = seq_reserve(seq, len);
    if (rc != MPX_OK)
        return rc;
    s = seq->u.seq;
    for (size_t i = s->len; i < len; i++)
        s->items[i] = mpx_value_none();
    s->len = len;
    return MPX_OK;
}

int value_refs_adopt(mpx_value *v, const value_ref_owner *owner, uint64_t *missing)
{
    switch (v->kind) {
    case MPX_REF: {
        if (v->u.ref->owner != NULL)
            return MPX_OK;
        int rc = owner->take(owner->ctx, v->u.ref->id);
        if (rc != MPX_OK) {
            *missing = v->u.ref->id;
            return rc;
        }
        v->u.ref->owner = owner;
        return MPX_OK;
    }
    case MPX_LIST:
    case MPX_TUPLE:
        for (size_t i = 0; i < v->u.seq->len; i++) {
            int rc = value_refs_adopt(&v->u.seq->items[i], owner, missing);
            if (rc != MPX_OK)
                return rc;
        }
        return MPX_OK;
    case MPX_DICT: {
        size_t pos = 0;
        mpx_value *key, *val;
        while (mpx_value_dict_next(v, &pos, &key, &val)) {
            int rc = value_refs_adopt(key, owner, missing); /* the owner is not hashed */
            if (rc == MPX_OK)
                rc = value_refs_adopt(val, owner, missing);
            if (rc != MPX_OK)
                return rc;
        }
        return MPX_OK;
    }
    default: return MPX_OK;
    }
}
