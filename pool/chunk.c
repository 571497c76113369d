/* chunk.c - a chunk's items, or its results, packed into one bytes value and back.
 *
 * A chunk of a map passes through the TaskPool four times (submitted, leased, finished,
 * collected). As a list, the single-threaded manager would decode, copy and encode each
 * of its items on every pass; packed into one bytes value, it moves whole, and only the
 * submitter and the worker touch the items, in parallel. The format (type_pool.c reads it
 * too, to split a chunk) is one byte then the data: 'q' and n little-endian int64s for a
 * list of n ints (a map over a range: no codec at all), or 'c' and the wire codec's bytes
 * of a reply whose value is the list. Invariant: only plain data is packed. A reference
 * to a shared object travels as itself, because the manager counts the references its
 * values hold: a chunk holding one goes as a list.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "pool_internal.h"

/* Whether v holds no reference (and is not nested past what the codec takes). */
static bool plain(const mpx_value *v, int depth)
{
    if (depth > CODEC_MAX_DEPTH)
        return false;
    size_t pos = 0;
    mpx_value *key, *val;
    switch (mpx_value_kind(v)) {
    case MPX_REF:
        return false;
    case MPX_LIST:
    case MPX_TUPLE:
        for (size_t i = 0; i < mpx_value_len(v); i++)
            if (!plain(mpx_value_at(v, i), depth + 1))
                return false;
        return true;
    case MPX_DICT:
        while (mpx_value_dict_next(v, &pos, &key, &val))
            if (!plain(key, depth + 1) || !plain(val, depth + 1))
                return false;
        return true;
    case MPX_SET:
    case MPX_FROZENSET:
        while (mpx_value_set_next(v, &pos, &key))
            if (!plain(key, depth + 1))
                return false;
        return true;
    default:
        return true;
    }
}

/* Packs items[0..n) (a contiguous array): 'q' when all are ints, else 'c'. */
static int pack_items(const mpx_value *v, const mpx_value *items, size_t n, mpx_value *out)
{
    bool ints = true;
    for (size_t i = 0; i < n && ints; i++)
        ints = mpx_value_kind(&items[i]) == MPX_INT;
    uint8_t *buf, *code = NULL;
    size_t len = 0;
    if (ints) {
        len = 1 + 8 * n;
        if ((buf = malloc(len)) == NULL)
            return MPX_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            uint64_t x = (uint64_t)mpx_value_get_int(&items[i]);
            for (int b = 0; b < 8; b++)
                buf[1 + 8 * i + (size_t)b] = (uint8_t)(x >> (8 * b));
        }
        buf[0] = 'q';
    } else {
        int rc = codec_reply_encode(0, MPX_OK, "", v, &code, &len);
        if (rc != MPX_OK)
            return rc;
        if ((buf = malloc(len + 1)) == NULL) {
            free(code);
            return MPX_ENOMEM;
        }
        buf[0] = 'c';
        memcpy(buf + 1, code, len++);
        free(code);
    }
    int rc = mpx_value_bytes(out, buf, len);
    free(buf);
    return rc;
}

int pool_pack(const mpx_value *v, mpx_value *out)
{
    *out = mpx_value_none();
    if (mpx_value_kind(v) != MPX_LIST || !plain(v, 1))
        return MPX_EVALUE;
    return pack_items(v, mpx_value_items(v), mpx_value_len(v), out);
}

int pool_pack_range(const mpx_value *items, size_t from, size_t to, mpx_value *out)
{
    *out = mpx_value_none();
    for (size_t i = from; i < to; i++)
        if (!plain(mpx_value_at(items, i), 2))
            return MPX_EVALUE;
    /* a list that borrows the items' bits while they are encoded, instead of copies of
     * them: read only, and None again (all zero) before it is freed, so the items stay
     * the caller's alone */
    mpx_value view;
    int rc = mpx_value_list(&view, to - from);
    if (rc != MPX_OK)
        return rc;
    if ((rc = mpx_value_resize(&view, to - from)) == MPX_OK && to > from) {
        mpx_value *slots = mpx_value_items(&view);
        memcpy(slots, mpx_value_items(items) + from, (to - from) * sizeof *slots);
        rc = pack_items(&view, slots, to - from, out);
        memset(slots, 0, (to - from) * sizeof *slots);
    } else if (rc == MPX_OK) {
        rc = pack_items(&view, NULL, 0, out);
    }
    mpx_value_free(&view);
    return rc;
}

int pool_unpack(const mpx_value *packed, mpx_value *out)
{
    *out = mpx_value_none();
    if (mpx_value_kind(packed) != MPX_BYTES)
        return MPX_ETYPE;
    const uint8_t *p = (const uint8_t *)mpx_value_str_data(packed);
    size_t len = mpx_value_str_len(packed);
    if (len >= 1 && p[0] == 'q' && (len - 1) % 8 == 0) {
        size_t n = (len - 1) / 8;
        int rc = mpx_value_list(out, n);
        if (rc == MPX_OK && (rc = mpx_value_resize(out, n)) == MPX_OK) {
            mpx_value *slots = mpx_value_items(out);
            for (size_t i = 0; i < n; i++) {
                uint64_t x = 0;
                for (int b = 0; b < 8; b++)
                    x |= (uint64_t)p[1 + 8 * i + (size_t)b] << (8 * b);
                slots[i] = mpx_value_int((int64_t)x);
            }
        }
        if (rc != MPX_OK)
            mpx_value_free(out);
        return rc;
    }
    if (len < 1 || p[0] != 'c')
        return MPX_EPROTO;
    mpx_reply r;
    char err[128];
    int rc = codec_reply_decode(p + 1, len - 1, &r, err, sizeof err);
    if (rc != MPX_OK)
        return rc;
    mpx_value_move(out, &r.value);
    codec_reply_clear(&r);
    return mpx_value_kind(out) == MPX_LIST ? MPX_OK : MPX_EPROTO;
}
