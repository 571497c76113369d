/* codec.c - mpx_request / mpx_reply <-> the protobuf bytes of mpx.proto, by hand.
 *
 * The hot path of the manager and of every client, so no tree in between: encoding
 * walks the values twice (sizes, then bytes straight into the caller's buffer) and
 * decoding builds owned mpx_values straight from the bytes in one bounded pass. The bytes
 * are exactly what protobuf-c packs for the same message (fields in number order, proto3
 * defaults left out, map keys before values), and decoding accepts what any protobuf
 * encoder may send (fields in any order, unknown fields skipped, the last of a repeated
 * singular field winning, except a reply's value, refused given twice: protobuf would
 * merge the two); tests/unit/test_codec.c checks both against protobuf-c.
 * Nesting is bounded by CODEC_MAX_DEPTH both ways, so a hostile frame cannot exhaust the
 * stack.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "mem.h"
#include "mpx/error.h"

/* Field numbers and wire types of mpx.proto. */
enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };
enum {
    V_NONE = 1, V_BOOL, V_INT, V_FLOAT, V_STR, V_BYTES, V_LIST, V_TUPLE, V_DICT, V_REF, V_SLICE,
    V_SET, V_FROZENSET
};
enum { RQ_CALL_ID = 1, RQ_OBJECT_ID, RQ_METHOD, RQ_ARGS, RQ_HAS_TIMEOUT, RQ_TIMEOUT };
enum { RP_CALL_ID = 1, RP_ERROR, RP_MESSAGE, RP_VALUE };

static uint8_t tag(unsigned field, unsigned wire_type)
{
    return (uint8_t)(field << 3 | wire_type);
}

/* ---- sizes -------------------------------------------------------------------------------- */

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* A length-delimited field of a one-byte tag: tag, length, body. */
static size_t field_size(size_t body)
{
    return 1 + varint_size(body) + body;
}

/* Container bodies (Seq, Map) are sized in a first pass and their sizes kept in pre-order,
 * in chunks from the scratch arena, for the second pass that writes the bytes. */
#define SIZES_PER_CHUNK 256

typedef struct size_chunk {
    struct size_chunk *next;
    size_t v[SIZES_PER_CHUNK];
} size_chunk;

typedef struct size_list {
    arena *a;
    size_chunk *head;
    size_chunk *tail;
    size_t count;     /* sizes reserved */
    size_chunk *read; /* the second pass's position */
    size_t read_at;
} size_list;

/* A slot for a container's body size; NULL when out of memory. */
static size_t *sizes_reserve(size_list *s)
{
    size_t at = s->count % SIZES_PER_CHUNK;
    if (at == 0) {
        size_chunk *c = arena_alloc(s->a, sizeof *c);
        if (c == NULL)
            return NULL;
        c->next = NULL;
        if (s->tail != NULL)
            s->tail->next = c;
        else
            s->head = c;
        s->tail = c;
    }
    s->count++;
    return &s->tail->v[at];
}

static size_t sizes_next(size_list *s)
{
    if (s->read_at == SIZES_PER_CHUNK) {
        s->read = s->read->next;
        s->read_at = 0;
    }
    return s->read->v[s->read_at++];
}

enum { SIZE_TOO_DEEP = -1, SIZE_NOMEM = -2 };

static int value_size(size_list *s, const mpx_value *v, int depth, size_t *out);

/* The body of a Ref or a Slice message. */
static size_t ref_size(const mpx_value *v)
{
    uint64_t id = mpx_value_ref_id(v);
    size_t tlen = strlen(mpx_value_ref_type(v));
    return (id ? 1 + varint_size(id) : 0) + (tlen ? field_size(tlen) : 0);
}

static size_t slice_size(const mpx_value *v)
{
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        int64_t part;
        if (mpx_value_slice_part(v, i, &part))
            n += 2 + (part ? 1 + varint_size(zigzag(part)) : 0); /* has_x = true, x */
    }
    return n;
}

static bool is_set_kind(mpx_kind k)
{
    return k == MPX_SET || k == MPX_FROZENSET;
}

/* The body of a Seq (items; a set's too) or a Map (keys, then values): the sum of the
 * Value fields. */
static int container_size(size_list *s, const mpx_value *v, int depth, size_t *out)
{
    size_t *slot = sizes_reserve(s), body = 0, n;
    if (slot == NULL)
        return SIZE_NOMEM;
    int rc;
    if (mpx_value_kind(v) == MPX_DICT) {
        size_t pos = 0;
        mpx_value *key, *val;
        while (mpx_value_dict_next(v, &pos, &key, &val)) {
            if ((rc = value_size(s, key, depth, &n)) != 0)
                return rc;
            body += field_size(n);
        }
        pos = 0;
        while (mpx_value_dict_next(v, &pos, &key, &val)) {
            if ((rc = value_size(s, val, depth, &n)) != 0)
                return rc;
            body += field_size(n);
        }
    } else if (is_set_kind(mpx_value_kind(v))) {
        size_t pos = 0;
        mpx_value *item;
        while (mpx_value_set_next(v, &pos, &item)) {
            if ((rc = value_size(s, item, depth, &n)) != 0)
                return rc;
            body += field_size(n);
        }
    } else {
        for (size_t i = 0; i < mpx_value_len(v); i++) {
            if ((rc = value_size(s, mpx_value_at(v, i), depth, &n)) != 0)
                return rc;
            body += field_size(n);
        }
    }
    *slot = body;
    *out = body;
    return 0;
}

/* The body of a Value message (its one oneof field). */
static int value_size(size_list *s, const mpx_value *v, int depth, size_t *out)
{
    if (depth >= CODEC_MAX_DEPTH)
        return SIZE_TOO_DEEP;
    size_t body;
    int rc;
    switch (mpx_value_kind(v)) {
    case MPX_NONE:
    case MPX_BOOL:
        *out = 2;
        return 0;
    case MPX_INT:
        *out = 1 + varint_size(zigzag(mpx_value_get_int(v)));
        return 0;
    case MPX_FLOAT:
        *out = 9;
        return 0;
    case MPX_STR:
    case MPX_BYTES:
        *out = field_size(mpx_value_str_len(v));
        return 0;
    case MPX_LIST:
    case MPX_TUPLE:
    case MPX_DICT:
    case MPX_SET:
    case MPX_FROZENSET:
        if ((rc = container_size(s, v, depth + 1, &body)) != 0)
            return rc;
        *out = field_size(body);
        return 0;
    case MPX_REF:
        *out = field_size(ref_size(v));
        return 0;
    case MPX_SLICE:
        *out = field_size(slice_size(v));
        return 0;
    default:
        return SIZE_TOO_DEEP; /* not a value: refuse it like one that cannot travel */
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *put_bytes(uint8_t *p, unsigned field, const void *data, size_t len)
{
    *p++ = tag(field, WT_LEN);
    p = put_varint(p, len);
    if (len > 0)
        memcpy(p, data, len);
    return p + len;
}

static uint8_t *put_fixed64(uint8_t *p, unsigned field, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    *p++ = tag(field, WT_FIXED64);
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(bits >> (8 * i));
    return p;
}

static uint8_t *write_value(size_list *s, uint8_t *p, const mpx_value *v);

/* A Value as a length-delimited field of its parent. */
static uint8_t *write_value_field(size_list *s, uint8_t *p, unsigned field,
                                  const mpx_value *v)
{
    size_t body;
    switch (mpx_value_kind(v)) {
    case MPX_LIST:
    case MPX_TUPLE:
    case MPX_DICT:
    case MPX_SET:
    case MPX_FROZENSET: {
        /* peek the container's size: it is the next in pre-order */
        size_list peek = *s;
        body = field_size(sizes_next(&peek));
        break;
    }
    default:
        value_size(s, v, 0, &body); /* a leaf: cannot fail */
        break;
    }
    *p++ = tag(field, WT_LEN);
    p = put_varint(p, body);
    return write_value(s, p, v);
}

static uint8_t *write_container(size_list *s, uint8_t *p, unsigned field, const mpx_value *v)
{
    *p++ = tag(field, WT_LEN);
    p = put_varint(p, sizes_next(s));
    if (mpx_value_kind(v) == MPX_DICT) {
        size_t pos = 0;
        mpx_value *key, *val;
        while (mpx_value_dict_next(v, &pos, &key, &val))
            p = write_value_field(s, p, 1, key);
        pos = 0;
        while (mpx_value_dict_next(v, &pos, &key, &val))
            p = write_value_field(s, p, 2, val);
    } else if (is_set_kind(mpx_value_kind(v))) {
        size_t pos = 0;
        mpx_value *item;
        while (mpx_value_set_next(v, &pos, &item))
            p = write_value_field(s, p, 1, item);
    } else {
        for (size_t i = 0; i < mpx_value_len(v); i++)
            p = write_value_field(s, p, 1, mpx_value_at(v, i));
    }
    return p;
}

/* The body of a Value. */
static uint8_t *write_value(size_list *s, uint8_t *p, const mpx_value *v)
{
    switch (mpx_value_kind(v)) {
    case MPX_NONE:
        *p++ = tag(V_NONE, WT_VARINT);
        *p++ = 1;
        return p;
    case MPX_BOOL:
        *p++ = tag(V_BOOL, WT_VARINT);
        *p++ = mpx_value_get_bool(v) ? 1 : 0;
        return p;
    case MPX_INT:
        *p++ = tag(V_INT, WT_VARINT);
        return put_varint(p, zigzag(mpx_value_get_int(v)));
    case MPX_FLOAT:
        return put_fixed64(p, V_FLOAT, mpx_value_get_float(v));
    case MPX_STR:
    case MPX_BYTES:
        return put_bytes(p, mpx_value_kind(v) == MPX_STR ? V_STR : V_BYTES,
                         mpx_value_str_data(v), mpx_value_str_len(v));
    case MPX_LIST:
        return write_container(s, p, V_LIST, v);
    case MPX_TUPLE:
        return write_container(s, p, V_TUPLE, v);
    case MPX_DICT:
        return write_container(s, p, V_DICT, v);
    case MPX_SET:
        return write_container(s, p, V_SET, v);
    case MPX_FROZENSET:
        return write_container(s, p, V_FROZENSET, v);
    case MPX_REF: {
        *p++ = tag(V_REF, WT_LEN);
        p = put_varint(p, ref_size(v));
        uint64_t id = mpx_value_ref_id(v);
        const char *type = mpx_value_ref_type(v);
        if (id) {
            *p++ = tag(1, WT_VARINT);
            p = put_varint(p, id);
        }
        return type[0] ? put_bytes(p, 2, type, strlen(type)) : p;
    }
    case MPX_SLICE: {
        *p++ = tag(V_SLICE, WT_LEN);
        p = put_varint(p, slice_size(v));
        for (int i = 0; i < 3; i++) {
            int64_t part;
            if (!mpx_value_slice_part(v, i, &part))
                continue;
            *p++ = tag((unsigned)(2 * i + 1), WT_VARINT); /* has_start, has_stop, has_step */
            *p++ = 1;
            if (part) {
                *p++ = tag((unsigned)(2 * i + 2), WT_VARINT);
                p = put_varint(p, zigzag(part));
            }
        }
        return p;
    }
    default:
        return p;
    }
}

/* ---- requests and replies out --------------------------------------------------------------- */

static int size_error(int rc)
{
    return rc == SIZE_NOMEM ? MPX_ENOMEM : MPX_EVALUE;
}

int codec_request_prepare(arena *scratch, uint64_t call_id, uint64_t object_id,
                          const char *method, const mpx_value *args, size_t nargs,
                          bool has_timeout, double timeout, codec_packer *out)
{
    arena_reset(scratch);
    size_list *s = arena_alloc(scratch, sizeof *s);
    if (s == NULL)
        return MPX_ENOMEM;
    *s = (size_list){.a = scratch};
    size_t mlen = strlen(method), n = 0, body;
    if (call_id)
        n += 1 + varint_size(call_id);
    if (object_id)
        n += 1 + varint_size(object_id);
    if (mlen)
        n += field_size(mlen);
    for (size_t i = 0; i < nargs; i++) {
        int rc = value_size(s, &args[i], 0, &body);
        if (rc != 0)
            return size_error(rc);
        n += field_size(body);
    }
    if (has_timeout)
        n += 2;
    if (timeout != 0)
        n += 9;
    *out = (codec_packer){.size = n, .sizes = s, .call_id = call_id, .object_id = object_id,
                          .method = method, .args = args, .nargs = nargs,
                          .has_timeout = has_timeout, .timeout = timeout};
    return MPX_OK;
}

int codec_reply_prepare(arena *scratch, uint64_t call_id, int err, const char *message,
                        const mpx_value *value, codec_packer *out)
{
    arena_reset(scratch);
    size_list *s = arena_alloc(scratch, sizeof *s);
    if (s == NULL)
        return MPX_ENOMEM;
    *s = (size_list){.a = scratch};
    if (message == NULL)
        message = "";
    if (err != MPX_OK || (value != NULL && mpx_value_kind(value) == MPX_NONE))
        value = NULL; /* None is the default: no field */
    size_t n = 0, body;
    if (call_id)
        n += 1 + varint_size(call_id);
    if (err)
        n += 1 + varint_size((uint64_t)(int64_t)-err); /* int32: negative sign-extends */
    if (message[0])
        n += field_size(strlen(message));
    if (value != NULL) {
        int rc = value_size(s, value, 0, &body);
        if (rc != 0)
            return size_error(rc);
        n += field_size(body);
    }
    *out = (codec_packer){.size = n, .sizes = s, .reply = true, .call_id = call_id,
                          .err = err, .message = message, .args = value, .nargs = value != NULL};
    return MPX_OK;
}

void codec_pack(const codec_packer *pk, uint8_t *p)
{
    size_list *s = pk->sizes;
    s->read = s->head;
    s->read_at = 0;
    if (pk->call_id) {
        *p++ = tag(1, WT_VARINT);
        p = put_varint(p, pk->call_id);
    }
    if (pk->reply) {
        if (pk->err) {
            *p++ = tag(RP_ERROR, WT_VARINT);
            p = put_varint(p, (uint64_t)(int64_t)-pk->err);
        }
        if (pk->message[0])
            p = put_bytes(p, RP_MESSAGE, pk->message, strlen(pk->message));
        if (pk->nargs)
            write_value_field(s, p, RP_VALUE, pk->args);
        return;
    }
    if (pk->object_id) {
        *p++ = tag(RQ_OBJECT_ID, WT_VARINT);
        p = put_varint(p, pk->object_id);
    }
    if (pk->method[0])
        p = put_bytes(p, RQ_METHOD, pk->method, strlen(pk->method));
    for (size_t i = 0; i < pk->nargs; i++)
        p = write_value_field(s, p, RQ_ARGS, &pk->args[i]);
    if (pk->has_timeout) {
        *p++ = tag(RQ_HAS_TIMEOUT, WT_VARINT);
        *p++ = 1;
    }
    if (pk->timeout != 0)
        put_fixed64(p, RQ_TIMEOUT, pk->timeout);
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

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct reader {
    const uint8_t *p;
    const uint8_t *end;
    char *err;
    size_t errlen;
} reader;

static int fail(reader *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(reader *r, int code, const char *fmt, ...)
{
    if (r->err != NULL && r->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int malformed(reader *r, const char *what)
{
    return fail(r, MPX_EPROTO, "malformed %s (bad protobuf)", what);
}

static bool get_varint(reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* A bool: true when any bit of its varint is set, even one past the 64th that get_varint
 * drops (a 10-byte varint can carry them), as protobuf-c reads it. */
static bool get_bool(reader *r, bool *out)
{
    const uint8_t *start = r->p;
    uint64_t v;
    if (!get_varint(r, &v))
        return false;
    bool any = false;
    for (const uint8_t *q = start; q < r->p; q++)
        any = any || (*q & 0x7f) != 0;
    *out = any;
    return true;
}

/* The next field's number and wire type; false at a malformed tag. A tag is a varint of
 * at most 5 bytes (a 32-bit value), as protobuf-c and protobuf's own parsers read it. */
static bool get_tag(reader *r, unsigned *field, unsigned *wire_type)
{
    const uint8_t *start = r->p;
    uint64_t t;
    if (!get_varint(r, &t) || r->p - start > 5 || (t >> 3) == 0 || (t >> 3) > UINT32_MAX)
        return false;
    *field = (unsigned)(t >> 3);
    *wire_type = (unsigned)(t & 7);
    return true;
}

/* A length-delimited body: a sub-reader over it, and r moves past it. The length is a
 * varint of at most 5 bytes, as protobuf-c and protobuf's own parsers read it. */
static bool get_len(reader *r, reader *sub)
{
    const uint8_t *start = r->p;
    uint64_t n;
    if (!get_varint(r, &n) || r->p - start > 5 || n > (uint64_t)(r->end - r->p))
        return false;
    *sub = (reader){r->p, r->p + n, r->err, r->errlen};
    r->p += n;
    return true;
}

static bool get_fixed64(reader *r, double *out)
{
    if (r->end - r->p < 8)
        return false;
    uint64_t bits = 0;
    for (int i = 7; i >= 0; i--)
        bits = bits << 8 | r->p[i];
    r->p += 8;
    memcpy(out, &bits, sizeof *out);
    return true;
}

/* Skips a field of an unknown number (proto3 keeps decoding past it). */
static bool skip_field(reader *r, unsigned wire_type)
{
    uint64_t v;
    reader sub;
    switch (wire_type) {
    case WT_VARINT:
        return get_varint(r, &v);
    case WT_FIXED64:
        if (r->end - r->p < 8)
            return false;
        r->p += 8;
        return true;
    case WT_LEN:
        return get_len(r, &sub);
    case WT_FIXED32:
        if (r->end - r->p < 4)
            return false;
        r->p += 4;
        return true;
    default:
        return false; /* groups are not proto3 */
    }
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int read_value(reader *r, int depth, mpx_value *out);

/* A Seq body into a list or tuple. On failure *out holds the items read so far, for
 * read_kind to free; an item that failed was freed by read_value. */
/* A Seq body as a list, tuple, set or frozenset (kind). */
static int read_seq(reader *r, int depth, mpx_kind kind, mpx_value *out)
{
    bool set = is_set_kind(kind);
    int rc = set ? mpx_value_set(out, kind == MPX_FROZENSET)
             : kind == MPX_TUPLE ? mpx_value_tuple(out, 0) : mpx_value_list(out, 0);
    if (rc != MPX_OK)
        return fail(r, rc, "out of memory");
    while (r->p < r->end) {
        unsigned field, wt;
        reader sub;
        if (!get_tag(r, &field, &wt))
            return malformed(r, "list");
        if (field != 1) {
            if (!skip_field(r, wt))
                return malformed(r, "list");
            continue;
        }
        if (wt != WT_LEN || !get_len(r, &sub))
            return malformed(r, "list");
        mpx_value item;
        if ((rc = read_value(&sub, depth, &item)) != MPX_OK)
            return rc;
        if (set && !mpx_value_hashable(&item)) {
            rc = fail(r, MPX_EPROTO, "unhashable set item of type '%s'",
                      mpx_kind_name(mpx_value_kind(&item)));
            mpx_value_free(&item);
            return rc;
        }
        if ((rc = set ? mpx_value_set_add(out, &item) : mpx_value_append(out, &item)) !=
            MPX_OK) {
            mpx_value_free(&item);
            return fail(r, rc, "out of memory");
        }
    }
    return MPX_OK;
}

/* A Map body: keys and values are two repeated fields that pair up in order, wherever
 * they sit in the message; the keys are read first. On failure *out holds the pairs read
 * so far, for read_kind to free; a key not yet stored is freed here. */
static int read_map(reader *r, int depth, mpx_value *out)
{
    int rc = mpx_value_dict(out);
    if (rc != MPX_OK)
        return fail(r, rc, "out of memory");
    reader keys = *r, vals = *r;
    for (;;) {
        /* the next key, and the next value after it */
        unsigned field, wt;
        reader ksub, vsub;
        bool have_key = false, have_val = false;
        while (!have_key && keys.p < keys.end) {
            if (!get_tag(&keys, &field, &wt))
                return malformed(r, "dict");
            if (field == 1 && wt == WT_LEN) {
                if (!get_len(&keys, &ksub))
                    return malformed(r, "dict");
                have_key = true;
            } else if ((field == 1 || field == 2) && wt != WT_LEN) {
                return malformed(r, "dict");
            } else if (!skip_field(&keys, wt)) {
                return malformed(r, "dict");
            }
        }
        while (!have_val && vals.p < vals.end) {
            if (!get_tag(&vals, &field, &wt))
                return malformed(r, "dict");
            if (field == 2 && wt == WT_LEN) {
                if (!get_len(&vals, &vsub))
                    return malformed(r, "dict");
                have_val = true;
            } else if (!skip_field(&vals, wt)) {
                return malformed(r, "dict");
            }
        }
        if (!have_key && !have_val)
            return MPX_OK;
        if (have_key != have_val)
            return fail(r, MPX_EPROTO, "dict with %s keys than values",
                        have_key ? "more" : "fewer");
        mpx_value key, val;
        if ((rc = read_value(&ksub, depth, &key)) != MPX_OK)
            return rc;
        if (!mpx_value_hashable(&key)) {
            rc = fail(r, MPX_EPROTO, "unhashable dict key of type '%s'",
                      mpx_kind_name(mpx_value_kind(&key)));
            mpx_value_free(&key);
            return rc;
        }
        if ((rc = read_value(&vsub, depth, &val)) != MPX_OK) {
            mpx_value_free(&key);
            return rc;
        }
        if ((rc = mpx_value_dict_set(out, &key, &val)) != MPX_OK) {
            mpx_value_free(&key);
            mpx_value_free(&val);
            return fail(r, rc, "out of memory");
        }
    }
}

static int read_ref(reader *r, mpx_value *out)
{
    uint64_t id = 0;
    char type[64] = "";
    while (r->p < r->end) {
        unsigned field, wt;
        reader sub;
        if (!get_tag(r, &field, &wt))
            return malformed(r, "ref");
        if (field == 1 && wt == WT_VARINT) {
            if (!get_varint(r, &id))
                return malformed(r, "ref");
        } else if (field == 2 && wt == WT_LEN) {
            size_t n;
            if (!get_len(r, &sub) || (n = (size_t)(sub.end - sub.p)) >= sizeof type ||
                memchr(sub.p, '\0', n) != NULL)
                return fail(r, MPX_EPROTO, "bad type name in a ref");
            memcpy(type, sub.p, n);
            type[n] = '\0';
        } else if (field <= 2 || !skip_field(r, wt)) {
            return malformed(r, "ref");
        }
    }
    int rc = mpx_value_ref(out, id, type);
    return rc == MPX_OK ? MPX_OK : fail(r, rc, "out of memory");
}

static int read_slice(reader *r, mpx_value *out)
{
    bool has[3] = {false, false, false};
    int64_t part[3] = {0, 0, 0};
    while (r->p < r->end) {
        unsigned field, wt;
        uint64_t v;
        if (!get_tag(r, &field, &wt))
            return malformed(r, "slice");
        if (field >= 1 && field <= 6) {
            bool ok = wt == WT_VARINT && (field % 2 == 1 ? get_bool(r, &has[field / 2])
                                                         : get_varint(r, &v));
            if (!ok)
                return malformed(r, "slice");
            if (field % 2 == 0)
                part[field / 2 - 1] = unzigzag(v);
        } else if (!skip_field(r, wt)) {
            return malformed(r, "slice");
        }
    }
    int rc = mpx_value_slice(out, has[0] ? &part[0] : NULL, has[1] ? &part[1] : NULL,
                             has[2] ? &part[2] : NULL);
    return rc == MPX_OK ? MPX_OK : fail(r, rc, "out of memory");
}

/* One oneof member of a Value; *out is None on entry, owned on success and None again on
 * failure: read_seq and read_map leave the partial container in *out, freed here. */
static int read_kind(reader *r, unsigned field, unsigned wt, int depth, mpx_value *out)
{
    uint64_t v;
    bool b;
    double d;
    reader sub;
    int rc;
    switch (field) {
    case V_NONE:
    case V_BOOL:
        if (wt != WT_VARINT || !get_bool(r, &b))
            return malformed(r, "value");
        *out = field == V_NONE ? mpx_value_none() : mpx_value_bool(b);
        return MPX_OK;
    case V_INT:
        if (wt != WT_VARINT || !get_varint(r, &v))
            return malformed(r, "value");
        *out = mpx_value_int(unzigzag(v));
        return MPX_OK;
    case V_FLOAT:
        if (wt != WT_FIXED64 || !get_fixed64(r, &d))
            return malformed(r, "value");
        *out = mpx_value_float(d);
        return MPX_OK;
    default:
        break;
    }
    if (wt != WT_LEN || !get_len(r, &sub))
        return malformed(r, "value");
    size_t n = (size_t)(sub.end - sub.p);
    switch (field) {
    case V_STR:
        rc = mpx_value_strn(out, (const char *)sub.p, n);
        if (rc == MPX_EVALUE)
            return fail(r, MPX_EPROTO, "str value is not valid UTF-8");
        return rc == MPX_OK ? MPX_OK : fail(r, rc, "out of memory");
    case V_BYTES:
        rc = mpx_value_bytes(out, sub.p, n);
        return rc == MPX_OK ? MPX_OK : fail(r, rc, "out of memory");
    case V_LIST:
    case V_TUPLE:
    case V_DICT:
    case V_SET:
    case V_FROZENSET: {
        static const mpx_kind seq_kinds[] = {[V_LIST] = MPX_LIST, [V_TUPLE] = MPX_TUPLE,
                                             [V_SET] = MPX_SET, [V_FROZENSET] = MPX_FROZENSET};
        rc = field == V_DICT ? read_map(&sub, depth + 1, out)
                             : read_seq(&sub, depth + 1, seq_kinds[field], out);
        break;
    }
    case V_REF:
        rc = read_ref(&sub, out);
        break;
    default:
        rc = read_slice(&sub, out);
        break;
    }
    if (rc != MPX_OK)
        mpx_value_free(out);
    return rc;
}

/* A Value body. An empty one is None; of several kinds the last wins, as in protobuf.
 * A fault anywhere in the body, even after a kind was read (a large bytes_v, then a bad
 * tag), frees what was read: on failure *out is None, so no caller has anything to free. */
static int read_value(reader *r, int depth, mpx_value *out)
{
    *out = mpx_value_none();
    if (depth >= CODEC_MAX_DEPTH) /* as deep as the encoder writes, and no deeper */
        return fail(r, MPX_EPROTO, "values nested over %d deep", CODEC_MAX_DEPTH);
    int rc = MPX_OK;
    while (rc == MPX_OK && r->p < r->end) {
        unsigned field, wt;
        if (!get_tag(r, &field, &wt)) {
            rc = malformed(r, "value");
        } else if (field > V_FROZENSET) {
            if (!skip_field(r, wt))
                rc = malformed(r, "value");
        } else {
            mpx_value kind = mpx_value_none();
            if ((rc = read_kind(r, field, wt, depth, &kind)) == MPX_OK) {
                mpx_value_free(out);
                mpx_value_move(out, &kind);
            }
        }
    }
    if (rc != MPX_OK)
        mpx_value_free(out);
    return rc;
}

/* ---- requests and replies in ---------------------------------------------------------------- */

/* Room for one more argument; the inline ones first, then a heap array that doubles. */
static int args_reserve(mpx_request *req, size_t *cap)
{
    if (req->nargs < *cap)
        return MPX_OK;
    size_t ncap = *cap * 2;
    mpx_value *args = req->args == req->args_inline ? mem_alloc(ncap * sizeof *args)
                                                    : mem_realloc(req->args, ncap * sizeof *args);
    if (args == NULL)
        return MPX_ENOMEM;
    if (req->args == req->args_inline)
        memcpy(args, req->args_inline, req->nargs * sizeof *args);
    req->args = args;
    *cap = ncap;
    return MPX_OK;
}

static int read_request(reader *r, mpx_request *out)
{
    size_t cap = CODEC_INLINE_ARGS;
    while (r->p < r->end) {
        unsigned field, wt;
        reader sub;
        uint64_t v;
        if (!get_tag(r, &field, &wt))
            return malformed(r, "request");
        switch (field) {
        case RQ_CALL_ID:
        case RQ_OBJECT_ID:
            if (wt != WT_VARINT || !get_varint(r, &v))
                return malformed(r, "request");
            if (field == RQ_CALL_ID)
                out->call_id = v;
            else
                out->object_id = v;
            break;
        case RQ_HAS_TIMEOUT:
            if (wt != WT_VARINT || !get_bool(r, &out->has_timeout))
                return malformed(r, "request");
            break;
        case RQ_TIMEOUT:
            if (wt != WT_FIXED64 || !get_fixed64(r, &out->timeout))
                return malformed(r, "request");
            break;
        case RQ_METHOD: {
            if (wt != WT_LEN || !get_len(r, &sub))
                return malformed(r, "request");
            size_t n = (size_t)(sub.end - sub.p);
            if (n >= CODEC_METHOD_MAX)
                return fail(r, MPX_EPROTO, "method name of %zu bytes (at most %d)", n,
                            CODEC_METHOD_MAX - 1);
            if (memchr(sub.p, '\0', n) != NULL)
                return fail(r, MPX_EPROTO, "method name with a NUL byte");
            memcpy(out->method, sub.p, n);
            out->method[n] = '\0';
            break;
        }
        case RQ_ARGS: {
            if (wt != WT_LEN || !get_len(r, &sub))
                return malformed(r, "request");
            if (args_reserve(out, &cap) != MPX_OK)
                return fail(r, MPX_ENOMEM, "out of memory");
            /* counted once read: a failed argument is None, and nothing else is lost */
            int rc = read_value(&sub, 0, &out->args[out->nargs]);
            if (rc != MPX_OK)
                return rc;
            out->nargs++;
            break;
        }
        default:
            if (!skip_field(r, wt))
                return malformed(r, "request");
            break;
        }
    }
    return MPX_OK;
}

int codec_request_decode(const uint8_t *buf, size_t len, mpx_request *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->args = out->args_inline;
    reader r = {buf, buf + len, err, errlen};
    int rc = read_request(&r, out);
    if (rc != MPX_OK)
        codec_request_clear(out);
    return rc;
}

static int read_reply(reader *r, mpx_reply *out)
{
    bool have_value = false;
    while (r->p < r->end) {
        unsigned field, wt;
        reader sub;
        uint64_t v;
        if (!get_tag(r, &field, &wt))
            return malformed(r, "reply");
        switch (field) {
        case RP_CALL_ID:
        case RP_ERROR:
            if (wt != WT_VARINT || !get_varint(r, &v))
                return malformed(r, "reply");
            if (field == RP_CALL_ID) {
                out->call_id = v;
            } else {
                int32_t code = (int32_t)(uint32_t)v; /* int32, as protobuf truncates */
                if (code < 0 || code >= MPX_ERR_COUNT_)
                    return fail(r, MPX_EPROTO, "unknown error code %d", (int)code);
                out->err = -code;
            }
            break;
        case RP_MESSAGE: {
            if (wt != WT_LEN || !get_len(r, &sub))
                return malformed(r, "reply");
            size_t n = (size_t)(sub.end - sub.p);
            if (n >= sizeof out->message)
                n = sizeof out->message - 1; /* longer messages are cut */
            memcpy(out->message, sub.p, n);
            out->message[n] = '\0';
            break;
        }
        case RP_VALUE: {
            if (wt != WT_LEN || !get_len(r, &sub))
                return malformed(r, "reply");
            /* protobuf merges a message field given twice (protobuf-c even refuses two
             * empty ones); no encoder of ours writes one twice, so refuse it */
            if (have_value)
                return fail(r, MPX_EPROTO, "a reply's value given twice");
            have_value = true;
            int rc = read_value(&sub, 0, &out->value);
            if (rc != MPX_OK)
                return rc;
            break;
        }
        default:
            if (!skip_field(r, wt))
                return malformed(r, "reply");
            break;
        }
    }
    if (out->err != MPX_OK)
        mpx_value_free(&out->value); /* an error carries no result */
    return MPX_OK;
}

int codec_reply_decode(const uint8_t *buf, size_t len, mpx_reply *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    reader r = {buf, buf + len, err, errlen};
    int rc = read_reply(&r, out);
    if (rc != MPX_OK)
        codec_reply_clear(out);
    return rc;
}

void codec_request_clear(mpx_request *r)
{
    for (size_t i = 0; i < r->nargs; i++)
        mpx_value_free(&r->args[i]);
    if (r->args != r->args_inline)
        mem_free(r->args);
    r->args = r->args_inline;
    r->nargs = 0;
}

void codec_reply_clear(mpx_reply *r)
{
    mpx_value_free(&r->value);
    r->message[0] = '\0';
}
