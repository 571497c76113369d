/* chunk.c - a chunk's items, or its results, packed into one bytes value and back.
 *
 * A chunk of a map passes through the TaskPool four times (submitted, leased, finished,
 * collected). As a list, the single-threaded manager would decode, copy and encode each
 * of its items on every pass; packed with the wire codec into one bytes value, it moves
 * whole, and only the submitter and the worker touch the items, in parallel. Invariant:
 * only plain data is packed. A reference to a shared object travels as itself, because
 * the manager counts the references its values hold: a chunk holding one goes as a list.
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

/* The codec's bytes for v, as a bytes value. */
static int pack_value(const mpx_value *v, mpx_value *out)
{
    uint8_t *buf;
    size_t len;
    int rc = codec_reply_encode(0, MPX_OK, "", v, &buf, &len);
    if (rc != MPX_OK)
        return rc;
    rc = mpx_value_bytes(out, buf, len);
    free(buf);
    return rc;
}

int pool_pack(const mpx_value *v, mpx_value *out)
{
    *out = mpx_value_none();
    return plain(v, 1) ? pack_value(v, out) : MPX_EVALUE;
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
        rc = pack_value(&view, out);
        memset(slots, 0, (to - from) * sizeof *slots);
    } else if (rc == MPX_OK) {
        rc = pack_value(&view, out);
    }
    mpx_value_free(&view);
    return rc;
}

int pool_unpack(const mpx_value *packed, mpx_value *out)
{
    *out = mpx_value_none();
    if (mpx_value_kind(packed) != MPX_BYTES)
        return MPX_ETYPE;
    mpx_reply r;
    char err[128];
    int rc = codec_reply_decode((const uint8_t *)mpx_value_str_data(packed),
                                mpx_value_str_len(packed), &r, err, sizeof err);
    if (rc != MPX_OK)
        return rc;
    mpx_value_move(out, &r.value);
    codec_reply_clear(&r);
    return MPX_OK;
}
