/* codec.c - mpx_request / mpx_reply <-> protobuf (mpx.proto), through protobuf-c.
 *
 * Encoding builds a temporary protobuf-c tree over the borrowed values (strings and
 * bytes point into the mpx_value, nothing is copied twice) and packs it where the caller
 * wants the bytes. Decoding first walks the raw bytes to bound the nesting depth, because
 * protobuf-c's unpacker recurses without a limit, then unpacks and converts into owned
 * mpx_values. Both trees live in a scratch arena that is reset per message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "mpx.pb-c.h"
#include "mpx/error.h"

/* ---- depth check on the raw bytes ------------------------------------------------------ */

enum msg_kind { MSG_REQUEST, MSG_REPLY, MSG_VALUE, MSG_SEQ, MSG_MAP, MSG_LEAF };

/* Which submessage a length-delimited field of `kind` holds (MSG_LEAF: not a message
 * that can contain values). */
static enum msg_kind field_message(enum msg_kind kind, uint32_t field)
{
    switch (kind) {
    case MSG_REQUEST:
        return field == 4 ? MSG_VALUE : MSG_LEAF;
    case MSG_REPLY:
        return field == 4 ? MSG_VALUE : MSG_LEAF;
    case MSG_VALUE:
        if (field == 7 || field == 8)
            return MSG_SEQ;
        return field == 9 ? MSG_MAP : MSG_LEAF;
    case MSG_SEQ:
        return field == 1 ? MSG_VALUE : MSG_LEAF;
    case MSG_MAP:
        return (field == 1 || field == 2) ? MSG_VALUE : MSG_LEAF;
    default:
        return MSG_LEAF;
    }
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Returns 0 when every value inside [p, end) nests at most `left` more levels. */
static int check_depth(const uint8_t *p, const uint8_t *end, enum msg_kind kind, int left)
{
    while (p < end) {
        uint64_t tag, n;
        if (read_varint(&p, end, &tag) != 0)
            return -1;
        switch (tag & 7) {
        case 0:
            if (read_varint(&p, end, &n) != 0)
                return -1;
            break;
        case 1:
            if (end - p < 8)
                return -1;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return -1;
            p += 4;
            break;
        case 2: {
            if (read_varint(&p, end, &n) != 0 || n > (uint64_t)(end - p))
                return -1;
            enum msg_kind sub = field_message(kind, (uint32_t)(tag >> 3));
            if (sub != MSG_LEAF) {
                int cost = sub == MSG_VALUE ? 1 : 0;
                if (left - cost < 0 || check_depth(p, p + n, sub, left - cost) != 0)
                    return -1;
            }
            p += n;
            break;
        }
        default:
            return -1;
        }
    }
    return 0;
}

/* ---- mpx_value -> protobuf-c tree (borrowing) ----------------------------------------- */

/* ---- borrowed mpx_value -> protobuf-c tree, in the scratch arena ----------------------- */

static void *scratch_new(arena *a, size_t size)
{
    return arena_alloc(a, size);
}

static Mpx__Value *pb_value_from(arena *a, const mpx_value *v, int depth);

/* An array of n converted items, or NULL (n > 0) on failure. */
static Mpx__Value **pb_array_from(arena *a, const mpx_value *items, size_t n, int depth)
{
    Mpx__Value **out = scratch_new(a, (n ? n : 1) * sizeof *out);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((out[i] = pb_value_from(a, &items[i], depth)) == NULL)
            return NULL;
    return out;
}

static Mpx__Seq *pb_seq_from(arena *a, const mpx_value *v, int depth)
{
    Mpx__Seq *seq = scratch_new(a, sizeof *seq);
    if (seq == NULL)
        return NULL;
    mpx__seq__init(seq);
    seq->n_items = mpx_value_len(v);
    seq->items = pb_array_from(a, mpx_value_items(v), seq->n_items, depth);
    return seq->items != NULL ? seq : NULL;
}

static Mpx__Map *pb_map_from(arena *a, const mpx_value *v, int depth)
{
    Mpx__Map *map = scratch_new(a, sizeof *map);
    if (map == NULL)
        return NULL;
    mpx__map__init(map);
    size_t n = mpx_value_len(v);
    map->keys = scratch_new(a, (n ? n : 1) * sizeof *map->keys);
    map->values = scratch_new(a, (n ? n : 1) * sizeof *map->values);
    if (map->keys == NULL || map->values == NULL)
        return NULL;
    size_t pos = 0;
    mpx_value *key, *val;
    while (mpx_value_dict_next(v, &pos, &key, &val)) {
        Mpx__Value *pk = pb_value_from(a, key, depth);
        Mpx__Value *pv = pk ? pb_value_from(a, val, depth) : NULL;
        if (pv == NULL)
            return NULL;
        map->keys[map->n_keys++] = pk;
        map->values[map->n_values++] = pv;
    }
    return map;
}

static int pb_leaf_from(arena *a, const mpx_value *v, Mpx__Value *pv)
{
    switch (mpx_value_kind(v)) {
    case MPX_REF:
        if ((pv->ref_v = scratch_new(a, sizeof *pv->ref_v)) == NULL)
            return -1;
        mpx__ref__init(pv->ref_v);
        pv->ref_v->id = mpx_value_ref_id(v);
        pv->ref_v->type = (char *)mpx_value_ref_type(v);
        return 0;
    case MPX_SLICE: {
        Mpx__Slice *s = scratch_new(a, sizeof *s);
        if (s == NULL)
            return -1;
        mpx__slice__init(s);
        s->has_start = mpx_value_slice_part(v, 0, &s->start);
        s->has_stop = mpx_value_slice_part(v, 1, &s->stop);
        s->has_step = mpx_value_slice_part(v, 2, &s->step);
        pv->slice_v = s;
        return 0;
    }
    default:
        return -1;
    }
}

/* NULL on ENOMEM or when deeper than CODEC_MAX_DEPTH (too_deep tells which). */
static Mpx__Value *pb_value_from(arena *a, const mpx_value *v, int depth)
{
    if (depth >= CODEC_MAX_DEPTH)
        return NULL;
    Mpx__Value *pv = scratch_new(a, sizeof *pv);
    if (pv == NULL)
        return NULL;
    mpx__value__init(pv);
    int ok = 1;
    switch (mpx_value_kind(v)) {
    case MPX_NONE:
        pv->kind_case = MPX__VALUE__KIND_NONE;
        pv->none = 1;
        break;
    case MPX_BOOL:
        pv->kind_case = MPX__VALUE__KIND_BOOL_V;
        pv->bool_v = mpx_value_get_bool(v);
        break;
    case MPX_INT:
        pv->kind_case = MPX__VALUE__KIND_INT_V;
        pv->int_v = mpx_value_get_int(v);
        break;
    case MPX_FLOAT:
        pv->kind_case = MPX__VALUE__KIND_FLOAT_V;
        pv->float_v = mpx_value_get_float(v);
        break;
    case MPX_STR:
    case MPX_BYTES: {
        ProtobufCBinaryData data = {mpx_value_str_len(v),
                                    (uint8_t *)mpx_value_str_data(v)};
        if (mpx_value_kind(v) == MPX_STR) {
            pv->kind_case = MPX__VALUE__KIND_STR_V;
            pv->str_v = data;
        } else {
            pv->kind_case = MPX__VALUE__KIND_BYTES_V;
            pv->bytes_v = data;
        }
        break;
    }
    case MPX_LIST:
        pv->kind_case = MPX__VALUE__KIND_LIST_V;
        ok = (pv->list_v = pb_seq_from(a, v, depth + 1)) != NULL;
        break;
    case MPX_TUPLE:
        pv->kind_case = MPX__VALUE__KIND_TUPLE_V;
        ok = (pv->tuple_v = pb_seq_from(a, v, depth + 1)) != NULL;
        break;
    case MPX_DICT:
        pv->kind_case = MPX__VALUE__KIND_DICT_V;
        ok = (pv->dict_v = pb_map_from(a, v, depth + 1)) != NULL;
        break;
    case MPX_REF:
        pv->kind_case = MPX__VALUE__KIND_REF_V;
        ok = pb_leaf_from(a, v, pv) == 0;
        break;
    case MPX_SLICE:
        pv->kind_case = MPX__VALUE__KIND_SLICE_V;
        ok = pb_leaf_from(a, v, pv) == 0;
        break;
    default:
        ok = 0;
        break;
    }
    return ok ? pv : NULL;
}

/* Whether v nests deeper than the codec carries (so a failed build was not ENOMEM). */
static bool too_deep(const mpx_value *v, int depth)
{
    if (depth >= CODEC_MAX_DEPTH)
        return true;
    switch (mpx_value_kind(v)) {
    case MPX_LIST:
    case MPX_TUPLE:
        for (size_t i = 0; i < mpx_value_len(v); i++)
            if (too_deep(mpx_value_at(v, i), depth + 1))
                return true;
        return false;
    case MPX_DICT: {
        size_t pos = 0;
        mpx_value *key, *val;
        while (mpx_value_dict_next(v, &pos, &key, &val))
            if (too_deep(key, depth + 1) || too_deep(val, depth + 1))
                return true;
        return false;
    }
    default:
        return false;
    }
}

static int build_failure(const mpx_value *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (too_deep(&values[i], 0))
            return MPX_EVALUE;
    return MPX_ENOMEM;
}

/* protobuf-c's allocator over the scratch arena: frees are no-ops, reset frees all. */
static void *pb_arena_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void pb_arena_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

/* ---- protobuf-c tree -> owned mpx_value ------------------------------------------------ */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int value_from_pb(const Mpx__Value *pv, mpx_value *out, char *err, size_t errlen);

static int seq_from_pb(const Mpx__Seq *seq, bool tuple, mpx_value *out, char *err,
                       size_t errlen)
{
    size_t n = seq ? seq->n_items : 0;
    int rc = tuple ? mpx_value_tuple(out, n) : mpx_value_list(out, n);
    if (rc != MPX_OK)
        return fail(err, errlen, rc, "out of memory");
    for (size_t i = 0; i < n; i++) {
        mpx_value item;
        rc = value_from_pb(seq->items[i], &item, err, errlen);
        if (rc == MPX_OK && (rc = mpx_value_append(out, &item)) != MPX_OK)
            mpx_value_free(&item);
        if (rc != MPX_OK) {
            mpx_value_free(out);
            return rc;
        }
    }
    return MPX_OK;
}

static int map_from_pb(const Mpx__Map *map, mpx_value *out, char *err, size_t errlen)
{
    if (map != NULL && map->n_keys != map->n_values)
        return fail(err, errlen, MPX_EPROTO, "dict with %zu keys and %zu values",
                    map->n_keys, map->n_values);
    int rc = mpx_value_dict(out);
    if (rc != MPX_OK)
        return fail(err, errlen, rc, "out of memory");
    for (size_t i = 0; map != NULL && i < map->n_keys; i++) {
        mpx_value key, val = mpx_value_none();
        rc = value_from_pb(map->keys[i], &key, err, errlen);
        if (rc == MPX_OK && !mpx_value_hashable(&key))
            rc = fail(err, errlen, MPX_EPROTO, "unhashable dict key of type '%s'",
                      mpx_kind_name(mpx_value_kind(&key)));
        if (rc == MPX_OK)
            rc = value_from_pb(map->values[i], &val, err, errlen);
        if (rc == MPX_OK)
            rc = mpx_value_dict_set(out, &key, &val);
        if (rc != MPX_OK) {
            mpx_value_free(&key);
            mpx_value_free(&val);
            mpx_value_free(out);
            return rc;
        }
    }
    return MPX_OK;
}

static int leaf_from_pb(const Mpx__Value *pv, mpx_value *out, char *err, size_t errlen)
{
    int rc;
    if (pv->kind_case == MPX__VALUE__KIND_REF_V) {
        if (pv->ref_v == NULL)
            return fail(err, errlen, MPX_EPROTO, "empty ref");
        rc = mpx_value_ref(out, pv->ref_v->id, pv->ref_v->type);
    } else {
        const Mpx__Slice *s = pv->slice_v;
        if (s == NULL)
            return fail(err, errlen, MPX_EPROTO, "empty slice");
        rc = mpx_value_slice(out, s->has_start ? &s->start : NULL,
                             s->has_stop ? &s->stop : NULL, s->has_step ? &s->step : NULL);
    }
    return rc == MPX_OK ? MPX_OK : fail(err, errlen, rc, "out of memory");
}

static int value_from_pb(const Mpx__Value *pv, mpx_value *out, char *err, size_t errlen)
{
    *out = mpx_value_none();
    if (pv == NULL)
        return MPX_OK;
    int rc;
    switch (pv->kind_case) {
    case MPX__VALUE__KIND__NOT_SET:
    case MPX__VALUE__KIND_NONE:
        return MPX_OK;
    case MPX__VALUE__KIND_BOOL_V:
        *out = mpx_value_bool(pv->bool_v);
        return MPX_OK;
    case MPX__VALUE__KIND_INT_V:
        *out = mpx_value_int(pv->int_v);
        return MPX_OK;
    case MPX__VALUE__KIND_FLOAT_V:
        *out = mpx_value_float(pv->float_v);
        return MPX_OK;
    case MPX__VALUE__KIND_STR_V:
        rc = mpx_value_strn(out, (const char *)pv->str_v.data, pv->str_v.len);
        if (rc == MPX_EVALUE)
            return fail(err, errlen, MPX_EPROTO, "str value is not valid UTF-8");
        return rc == MPX_OK ? MPX_OK : fail(err, errlen, rc, "out of memory");
    case MPX__VALUE__KIND_BYTES_V:
        rc = mpx_value_bytes(out, pv->bytes_v.data, pv->bytes_v.len);
        return rc == MPX_OK ? MPX_OK : fail(err, errlen, rc, "out of memory");
    case MPX__VALUE__KIND_LIST_V:
        return seq_from_pb(pv->list_v, false, out, err, errlen);
    case MPX__VALUE__KIND_TUPLE_V:
        return seq_from_pb(pv->tuple_v, true, out, err, errlen);
    case MPX__VALUE__KIND_DICT_V:
        return map_from_pb(pv->dict_v, out, err, errlen);
    case MPX__VALUE__KIND_REF_V:
    case MPX__VALUE__KIND_SLICE_V:
        return leaf_from_pb(pv, out, err, errlen);
    default:
        return fail(err, errlen, MPX_EPROTO, "unknown value kind %d", (int)pv->kind_case);
    }
}

/* ---- requests and replies --------------------------------------------------------------- */

int codec_request_prepare(arena *scratch, uint64_t call_id, uint64_t object_id,
                          const char *method, const mpx_value *args, size_t nargs,
                          bool has_timeout, double timeout, codec_packer *out)
{
    arena_reset(scratch);
    Mpx__Request *req = scratch_new(scratch, sizeof *req);
    if (req == NULL)
        return MPX_ENOMEM;
    mpx__request__init(req);
    req->call_id = call_id;
    req->object_id = object_id;
    req->method = (char *)method;
    req->has_timeout = has_timeout;
    req->timeout = timeout;
    req->n_args = nargs;
    req->args = pb_array_from(scratch, args, nargs, 0);
    if (req->args == NULL)
        return build_failure(args, nargs);
    *out = (codec_packer){.msg = req, .size = mpx__request__get_packed_size(req)};
    return MPX_OK;
}

int codec_reply_prepare(arena *scratch, uint64_t call_id, int err, const char *message,
                        const mpx_value *value, codec_packer *out)
{
    arena_reset(scratch);
    Mpx__Reply *rep = scratch_new(scratch, sizeof *rep);
    if (rep == NULL)
        return MPX_ENOMEM;
    mpx__reply__init(rep);
    rep->call_id = call_id;
    rep->error = -err;
    rep->message = (char *)(message ? message : "");
    if (err == MPX_OK && value != NULL && mpx_value_kind(value) != MPX_NONE &&
        (rep->value = pb_value_from(scratch, value, 0)) == NULL)
        return build_failure(value, 1);
    *out = (codec_packer){.msg = rep, .size = mpx__reply__get_packed_size(rep), .reply = true};
    return MPX_OK;
}

void codec_pack(const codec_packer *p, uint8_t *dst)
{
    if (p->reply)
        mpx__reply__pack(p->msg, dst);
    else
        mpx__request__pack(p->msg, dst);
}

/* prepare + pack into a malloc'd buffer, with a scratch arena of its own. */
static int encode_alloc(int rc, arena *scratch, const codec_packer *p, uint8_t **buf,
                        size_t *len)
{
    if (rc == MPX_OK) {
        *buf = malloc(p->size ? p->size : 1);
        if (*buf == NULL) {
            rc = MPX_ENOMEM;
        } else {
            codec_pack(p, *buf);
            *len = p->size;
        }
    }
    arena_free(scratch);
    return rc;
}

int codec_request_encode(uint64_t call_id, uint64_t object_id, const char *method,
                         const mpx_value *args, size_t nargs, bool has_timeout,
                         double timeout, uint8_t **buf, size_t *len)
{
    arena scratch;
    codec_packer p;
    arena_init(&scratch);
    int rc = codec_request_prepare(&scratch, call_id, object_id, method, args, nargs,
                                   has_timeout, timeout, &p);
    return encode_alloc(rc, &scratch, &p, buf, len);
}

int codec_reply_encode(uint64_t call_id, int err, const char *message,
                       const mpx_value *value, uint8_t **buf, size_t *len)
{
    arena scratch;
    codec_packer p;
    arena_init(&scratch);
    int rc = codec_reply_prepare(&scratch, call_id, err, message, value, &p);
    return encode_alloc(rc, &scratch, &p, buf, len);
}

/* Runs decode with scratch, or with a temporary arena when scratch is NULL. */
typedef int (*decode_fn)(arena *a, const uint8_t *buf, size_t len, void *out, char *err,
                         size_t errlen);

static int with_scratch(arena *scratch, decode_fn fn, const uint8_t *buf, size_t len,
                        void *out, char *err, size_t errlen)
{
    arena tmp;
    arena *a = scratch;
    if (a == NULL) {
        arena_init(&tmp);
        a = &tmp;
    }
    arena_reset(a);
    int rc = fn(a, buf, len, out, err, errlen);
    if (a == &tmp)
        arena_free(&tmp);
    else
        arena_reset(a);
    return rc;
}

static int decode_request(arena *a, const uint8_t *buf, size_t len, void *vout, char *err,
                          size_t errlen)
{
    mpx_request *out = vout;
    if (check_depth(buf, buf + len, MSG_REQUEST, CODEC_MAX_DEPTH) != 0)
        return fail(err, errlen, MPX_EPROTO,
                    "malformed request (bad protobuf or values nested over %d deep)",
                    CODEC_MAX_DEPTH);
    ProtobufCAllocator alloc = {pb_arena_alloc, pb_arena_free, a};
    Mpx__Request *req = mpx__request__unpack(&alloc, len, buf);
    if (req == NULL)
        return fail(err, errlen, MPX_EPROTO, "malformed request (protobuf)");
    size_t mlen = strlen(req->method);
    if (mlen >= CODEC_METHOD_MAX)
        return fail(err, errlen, MPX_EPROTO, "method name of %zu bytes (at most %d)", mlen,
                    CODEC_METHOD_MAX - 1);
    memcpy(out->method, req->method, mlen + 1);
    out->call_id = req->call_id;
    out->object_id = req->object_id;
    out->has_timeout = req->has_timeout;
    out->timeout = req->timeout;
    out->args = out->args_inline;
    if (req->n_args > CODEC_INLINE_ARGS &&
        (out->args = calloc(req->n_args, sizeof *out->args)) == NULL)
        return fail(err, errlen, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < req->n_args; i++) {
        int rc = value_from_pb(req->args[i], &out->args[i], err, errlen);
        if (rc != MPX_OK) {
            codec_request_clear(out);
            return rc;
        }
        out->nargs = i + 1;
    }
    return MPX_OK;
}

int codec_request_decode(arena *scratch, const uint8_t *buf, size_t len, mpx_request *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->args = out->args_inline;
    return with_scratch(scratch, decode_request, buf, len, out, err, errlen);
}

static int decode_reply(arena *a, const uint8_t *buf, size_t len, void *vout, char *err,
                        size_t errlen)
{
    mpx_reply *out = vout;
    if (check_depth(buf, buf + len, MSG_REPLY, CODEC_MAX_DEPTH) != 0)
        return fail(err, errlen, MPX_EPROTO, "malformed reply");
    ProtobufCAllocator alloc = {pb_arena_alloc, pb_arena_free, a};
    Mpx__Reply *rep = mpx__reply__unpack(&alloc, len, buf);
    if (rep == NULL)
        return fail(err, errlen, MPX_EPROTO, "malformed reply (protobuf)");
    out->call_id = rep->call_id;
    out->err = -rep->error;
    if (rep->error < 0 || rep->error >= MPX_ERR_COUNT_)
        return fail(err, errlen, MPX_EPROTO, "unknown error code %d", (int)rep->error);
    snprintf(out->message, sizeof out->message, "%s", rep->message);
    int rc = value_from_pb(rep->value, &out->value, err, errlen);
    if (rc != MPX_OK)
        codec_reply_clear(out);
    return rc;
}

int codec_reply_decode(arena *scratch, const uint8_t *buf, size_t len, mpx_reply *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    return with_scratch(scratch, decode_reply, buf, len, out, err, errlen);
}

void codec_request_clear(mpx_request *r)
{
    for (size_t i = 0; i < r->nargs; i++)
        mpx_value_free(&r->args[i]);
    if (r->args != r->args_inline)
        free(r->args);
    r->args = r->args_inline;
    r->nargs = 0;
}

void codec_reply_clear(mpx_reply *r)
{
    mpx_value_free(&r->value);
    r->message[0] = '\0';
}
