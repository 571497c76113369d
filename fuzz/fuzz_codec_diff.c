/* fuzz_codec_diff.c - the hand-written codec against protobuf-c, the oracle, on any bytes.
 *
 * Every input is decoded as a Request by codec_request_decode and by protobuf-c's
 * mpx__request__unpack (protoc-c's code for protocol/mpx.proto), and then as a Reply by
 * codec_reply_decode and mpx__reply__unpack, under the same rules: a Reply's error must
 * be a known code (rule 1), its message is cut to CODEC_MESSAGE_MAX - 1 bytes and, as a C
 * string, ends at a NUL as protobuf-c's does, and an error reply carries no value.
 * protobuf-c's tree is then turned into mpx_values with the value API (value.h:
 * dict_set keeps the first of equal keys and the last value, as Python does), applying
 * the checks codec.h documents that protobuf cannot. When both decode, every field and
 * every value must be identical, bit for bit. When one decodes and the other does not,
 * this aborts unless the difference is one of these, each checked as written:
 *
 *  1. The codec refuses (MPX_EPROTO, its reason naming the check) and protobuf-c's reading
 *     breaks a documented rule: a Value nested CODEC_MAX_DEPTH deep or deeper (a top-level
 *     argument is depth 0), a str_v that is not UTF-8, an unhashable dict key or set
 *     item, a Map with more keys than values or fewer, a method name of CODEC_METHOD_MAX
 *     bytes or more, a Ref type name of REF_TYPE_MAX bytes or more, a Reply error code
 *     that names no mpx_err.
 *  2. The codec refuses (MPX_EPROTO, its reason naming the check) a rule broken only in
 *     bytes protobuf-c's reading drops: a singular field given again later (a Value's
 *     oneof, the method, a Ref's type: protobuf-c keeps the last, the codec checks each),
 *     or a NUL byte in the method or a Ref's type (protobuf-c's char * ends there, the
 *     codec refuses the NUL), or a Reply's value given twice (protobuf-c merges the two
 *     Values, or refuses two empty ones; the codec refuses the second). Checked by
 *     writing protobuf-c's reading again (with codec_request_encode or
 *     codec_reply_encode, whose bytes test_codec.c holds to protobuf-c's packer; not
 *     with mpx__request__pack, which writes back the unknown fields it kept, even a field
 *     0 it would refuse to read): the codec must accept those bytes and read what
 *     protobuf-c read.
 *  3. The codec refuses as malformed a bool field (Request.has_timeout, Value.none,
 *     Value.bool_v, a Slice's has_start, has_stop, has_step) sent with a wire type other
 *     than varint (fixed64, length-delimited, fixed32): protobuf-c 1.4 reads a bool
 *     without checking its wire type (true when any byte of the field is nonzero), though
 *     it refuses every other known field of the wrong wire type, as the codec does.
 *     Checked by walking the input's fields where the schema puts a bool (find_quirk,
 *     QUIRK_BOOL_NOT_VARINT).
 *  4. The codec refuses as malformed a tag of field number 0 written in more than one byte
 *     (0x80 0x00, ...): protobuf-c refuses field 0 only in a one-byte tag and skips the
 *     longer forms as an unknown field; field 0 is no field in protobuf, and the codec
 *     refuses it however it is written. Checked by walking the input's tags (find_quirk,
 *     QUIRK_LONG_ZERO_TAG).
 *
 * Nothing else may differ: a codec that accepts what protobuf-c refuses, or refuses with
 * "malformed" what protobuf-c reads, is a bug.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_common.h"
#include "mpx.pb-c.h"
#include "mpx/error.h"

#define REF_TYPE_MAX 64 /* codec.c's read_ref: a type name's bytes, with its NUL */

/* Why protobuf-c's reading is not one the codec may accept (rule 1), or OK. */
enum { PB_OK, PB_BROKEN_RULE, PB_NOMEM };

static int from_pb(const Mpx__Value *pv, int depth, mpx_value *out);

/* protobuf-c leaves an empty bytes field NULL; the value API wants a pointer. */
static const char *bin_data(const ProtobufCBinaryData *b)
{
    return b->len > 0 ? (const char *)b->data : "";
}

/* A Seq as a list, tuple, set or frozenset (kind); a set's items must be hashable (the
 * codec's rule), and equal ones are one. */
static int seq_from_pb(const Mpx__Seq *seq, mpx_kind kind, int depth, mpx_value *out)
{
    bool set = kind == MPX_SET || kind == MPX_FROZENSET;
    int made = set ? mpx_value_set(out, kind == MPX_FROZENSET)
               : kind == MPX_TUPLE ? mpx_value_tuple(out, 0) : mpx_value_list(out, 0);
    if (made != MPX_OK)
        return PB_NOMEM;
    for (size_t i = 0; i < seq->n_items; i++) {
        mpx_value item;
        int rc = from_pb(seq->items[i], depth, &item);
        if (rc == PB_OK && set && !mpx_value_hashable(&item)) {
            mpx_value_free(&item);
            rc = PB_BROKEN_RULE;
        }
        if (rc == PB_OK && (set ? mpx_value_set_add(out, &item)
                                : mpx_value_append(out, &item)) != MPX_OK) {
            mpx_value_free(&item);
            rc = PB_NOMEM;
        }
        if (rc != PB_OK) {
            mpx_value_free(out);
            return rc;
        }
    }
    return PB_OK;
}

static int map_from_pb(const Mpx__Map *map, int depth, mpx_value *out)
{
    if (map->n_keys != map->n_values)
        return PB_BROKEN_RULE;
    if (mpx_value_dict(out) != MPX_OK)
        return PB_NOMEM;
    for (size_t i = 0; i < map->n_keys; i++) {
        mpx_value key, val = mpx_value_none();
        int rc = from_pb(map->keys[i], depth, &key);
        if (rc == PB_OK && !mpx_value_hashable(&key))
            rc = PB_BROKEN_RULE;
        if (rc == PB_OK)
            rc = from_pb(map->values[i], depth, &val);
        if (rc == PB_OK && mpx_value_dict_set(out, &key, &val) != MPX_OK)
            rc = PB_NOMEM;
        if (rc != PB_OK) {
            mpx_value_free(&key);
            mpx_value_free(&val);
            mpx_value_free(out);
            return rc;
        }
    }
    return PB_OK;
}

static int slice_from_pb(const Mpx__Slice *s, mpx_value *out)
{
    return mpx_value_slice(out, s->has_start ? &s->start : NULL, s->has_stop ? &s->stop : NULL,
                           s->has_step ? &s->step : NULL) == MPX_OK ? PB_OK : PB_NOMEM;
}

/* One Value of protobuf-c's tree at the given depth, as the codec must read it. */
static int from_pb(const Mpx__Value *pv, int depth, mpx_value *out)
{
    *out = mpx_value_none();
    if (depth >= CODEC_MAX_DEPTH)
        return PB_BROKEN_RULE;
    int rc;
    switch (pv->kind_case) {
    case MPX__VALUE__KIND__NOT_SET:
    case MPX__VALUE__KIND_NONE:
        return PB_OK;
    case MPX__VALUE__KIND_BOOL_V:
        *out = mpx_value_bool(pv->bool_v);
        return PB_OK;
    case MPX__VALUE__KIND_INT_V:
        *out = mpx_value_int(pv->int_v);
        return PB_OK;
    case MPX__VALUE__KIND_FLOAT_V:
        *out = mpx_value_float(pv->float_v);
        return PB_OK;
    case MPX__VALUE__KIND_STR_V:
        rc = mpx_value_strn(out, bin_data(&pv->str_v), pv->str_v.len);
        return rc == MPX_OK ? PB_OK : rc == MPX_EVALUE ? PB_BROKEN_RULE : PB_NOMEM;
    case MPX__VALUE__KIND_BYTES_V:
        rc = mpx_value_bytes(out, bin_data(&pv->bytes_v), pv->bytes_v.len);
        return rc == MPX_OK ? PB_OK : PB_NOMEM;
    case MPX__VALUE__KIND_LIST_V:
    case MPX__VALUE__KIND_TUPLE_V:
        return seq_from_pb(pv->kind_case == MPX__VALUE__KIND_LIST_V ? pv->list_v : pv->tuple_v,
                           pv->kind_case == MPX__VALUE__KIND_TUPLE_V ? MPX_TUPLE : MPX_LIST,
                           depth + 1, out);
    case MPX__VALUE__KIND_SET_V:
        return seq_from_pb(pv->set_v, MPX_SET, depth + 1, out);
    case MPX__VALUE__KIND_FROZENSET_V:
        return seq_from_pb(pv->frozenset_v, MPX_FROZENSET, depth + 1, out);
    case MPX__VALUE__KIND_DICT_V:
        return map_from_pb(pv->dict_v, depth + 1, out);
    case MPX__VALUE__KIND_REF_V:
        if (strlen(pv->ref_v->type) >= REF_TYPE_MAX)
            return PB_BROKEN_RULE;
        return mpx_value_ref(out, pv->ref_v->id, pv->ref_v->type) == MPX_OK ? PB_OK : PB_NOMEM;
    case MPX__VALUE__KIND_SLICE_V:
        return slice_from_pb(pv->slice_v, out);
    default:
        abort(); /* protobuf-c knows no other kinds */
    }
}

/* protobuf-c's request as the codec must give it: *out is cleared first; PB_OK with out
 * filled (clear it with codec_request_clear), or why not (out then holds nothing). */
static int request_from_pb(const Mpx__Request *pr, mpx_request *out)
{
    memset(out, 0, sizeof *out);
    out->args = out->args_inline;
    if (strlen(pr->method) >= CODEC_METHOD_MAX)
        return PB_BROKEN_RULE;
    out->call_id = pr->call_id;
    out->object_id = pr->object_id;
    strcpy(out->method, pr->method);
    out->has_timeout = pr->has_timeout;
    out->timeout = pr->timeout;
    if (pr->n_args > CODEC_INLINE_ARGS && (out->args = calloc(pr->n_args, sizeof *out->args))
        == NULL)
        return PB_NOMEM;
    for (size_t i = 0; i < pr->n_args; i++) {
        int rc = from_pb(pr->args[i], 0, &out->args[i]);
        if (rc != PB_OK) {
            codec_request_clear(out);
            return rc;
        }
        out->nargs++;
    }
    return PB_OK;
}

/* written: b was encoded and read back, where a timeout of -0.0 is left out as proto3's
 * default (by protobuf-c's packer as by the codec's) and so comes back 0.0. */
static void check_same_as(const mpx_request *a, const mpx_request *b, bool written)
{
    FUZZ_CHECK(a->call_id == b->call_id);
    FUZZ_CHECK(a->object_id == b->object_id);
    FUZZ_CHECK(strcmp(a->method, b->method) == 0);
    FUZZ_CHECK(a->has_timeout == b->has_timeout);
    FUZZ_CHECK(memcmp(&a->timeout, &b->timeout, sizeof a->timeout) == 0 ||
               (written && a->timeout == 0 && b->timeout == 0));
    FUZZ_CHECK(a->nargs == b->nargs);
    for (size_t i = 0; i < a->nargs; i++)
        FUZZ_CHECK(fuzz_same_value(&a->args[i], &b->args[i]));
}

static void check_same(const mpx_request *a, const mpx_request *b)
{
    check_same_as(a, b, false);
}

/* protobuf-c's reply as the codec must give it, as request_from_pb. */
static int reply_from_pb(const Mpx__Reply *pr, mpx_reply *out)
{
    memset(out, 0, sizeof *out);
    if (pr->error < 0 || pr->error >= MPX_ERR_COUNT_)
        return PB_BROKEN_RULE;
    out->call_id = pr->call_id;
    out->err = -pr->error;
    snprintf(out->message, sizeof out->message, "%s", pr->message);
    if (pr->value != NULL) {
        int rc = from_pb(pr->value, 0, &out->value);
        if (rc != PB_OK)
            return rc;
    }
    if (out->err != MPX_OK)
        mpx_value_free(&out->value); /* an error carries no result */
    return PB_OK;
}

static void check_same_reply(const mpx_reply *a, const mpx_reply *b)
{
    FUZZ_CHECK(a->call_id == b->call_id);
    FUZZ_CHECK(a->err == b->err);
    FUZZ_CHECK(strcmp(a->message, b->message) == 0);
    FUZZ_CHECK(fuzz_same_value(&a->value, &b->value));
}

/* ---- rules 3 and 4: what protobuf-c reads that protobuf does not ---------------------- */

enum { QUIRK_BOOL_NOT_VARINT, QUIRK_LONG_ZERO_TAG };
enum { M_REQUEST, M_REPLY, M_VALUE, M_SEQ, M_MAP, M_SLICE, M_REF, M_OTHER };

static bool wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return true;
    }
    return false;
}

static bool is_bool_field(int msg, uint64_t field)
{
    return (msg == M_REQUEST && field == 5) || (msg == M_VALUE && (field == 1 || field == 2)) ||
           (msg == M_SLICE && (field == 1 || field == 3 || field == 5));
}

/* The message a length-delimited field of msg holds, by mpx.proto. */
static int child_message(int msg, uint64_t field)
{
    if (msg == M_REQUEST || msg == M_REPLY)
        return field == 4 ? M_VALUE : M_OTHER; /* args, value */
    if (msg == M_VALUE)
        return field == 7 || field == 8 || field == 12 || field == 13 ? M_SEQ /* and sets */
               : field == 9                                          ? M_MAP
               : field == 10                                         ? M_REF
               : field == 11                                         ? M_SLICE
                                                                     : M_OTHER;
    if (msg == M_SEQ)
        return field == 1 ? M_VALUE : M_OTHER;
    if (msg == M_MAP)
        return field == 1 || field == 2 ? M_VALUE : M_OTHER;
    return M_OTHER;
}

/* Whether [p, end), a message of kind msg, has anywhere the quirk: a bool field of a wire
 * type other than varint, or a tag of field 0 longer than one byte. Only asked of bytes
 * protobuf-c read, so a malformed field simply ends the walk. */
static bool find_quirk(const uint8_t *p, const uint8_t *end, int msg, int quirk)
{
    while (p < end) {
        const uint8_t *tag_at = p;
        uint64_t tag, n;
        if (!wire_varint(&p, end, &tag))
            return false;
        if (quirk == QUIRK_LONG_ZERO_TAG && tag >> 3 == 0 && p - tag_at > 1)
            return true;
        unsigned wt = (unsigned)(tag & 7);
        if (quirk == QUIRK_BOOL_NOT_VARINT && wt != 0 && is_bool_field(msg, tag >> 3))
            return true;
        if (wt == 0 && wire_varint(&p, end, &n))
            continue;
        if ((wt == 1 || wt == 5) && (size_t)(end - p) >= (wt == 1 ? 8u : 4u)) {
            p += wt == 1 ? 8 : 4;
            continue;
        }
        if (wt != 2 || !wire_varint(&p, end, &n) || n > (uint64_t)(end - p))
            return false;
        const uint8_t *body = p;
        p += n;
        int inner = tag >> 3 == 0 ? M_OTHER : child_message(msg, tag >> 3);
        if (inner != M_OTHER && find_quirk(body, body + n, inner, quirk))
            return true;
    }
    return false;
}

/* The codec's reason names one of the checks protobuf cannot make (codec.c's words). */
static bool documented_reason(const char *err)
{
    static const char *const reasons[] = {
        "nested over", "not valid UTF-8", "unhashable dict key", "unhashable set item",
        "keys than values",
        "method name", "bad type name in a ref", "unknown error code", "value given twice",
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (strstr(err, reasons[i]) != NULL)
            return true;
    return false;
}

/* Rule 2: protobuf-c's reading, written again, is accepted by the codec and read the same. */
static bool refused_only_what_pb_drops(const mpx_request *want)
{
    uint8_t *buf;
    size_t len;
    FUZZ_CHECK(codec_request_encode(want->call_id, want->object_id, want->method, want->args,
                                    want->nargs, want->has_timeout, want->timeout, &buf,
                                    &len) == MPX_OK);
    mpx_request got;
    char err[160];
    bool ok = codec_request_decode(buf, len, &got, err, sizeof err) == MPX_OK;
    if (ok) {
        check_same_as(&got, want, true);
        codec_request_clear(&got);
    }
    free(buf);
    return ok;
}

/* Rule 2 for a reply. */
static bool reply_refused_only_what_pb_drops(const mpx_reply *want)
{
    uint8_t *buf;
    size_t len;
    FUZZ_CHECK(codec_reply_encode(want->call_id, want->err, want->message, &want->value, &buf,
                                  &len) == MPX_OK);
    mpx_reply got;
    char err[160];
    bool ok = codec_reply_decode(buf, len, &got, err, sizeof err) == MPX_OK;
    if (ok) {
        check_same_reply(&got, want);
        codec_reply_clear(&got);
    }
    free(buf);
    return ok;
}

/* Whether the codec's refusal is one the rules allow: a quirk (rules 3, 4), or a
 * documented check (rule 1, or rule 2 when protobuf-c read something: pb_read). */
static bool refusal_allowed(const uint8_t *data, size_t size, int msg, const char *err)
{
    if (strstr(err, "malformed") != NULL &&
        (find_quirk(data, data + size, msg, QUIRK_BOOL_NOT_VARINT) ||
         find_quirk(data, data + size, msg, QUIRK_LONG_ZERO_TAG)))
        return true;
    if (!documented_reason(err))
        fprintf(stderr, "the codec refused what protobuf-c reads: %s\n", err);
    FUZZ_CHECK(documented_reason(err));
    return false;
}

static void diff_reply(const uint8_t *data, size_t size)
{
    mpx_reply mine, theirs;
    char err[160];
    memset(err, 0xff, sizeof err);
    int rc = codec_reply_decode(data, size, &mine, err, sizeof err);
    Mpx__Reply *pr = mpx__reply__unpack(NULL, size, data);
    if (rc == MPX_ENOMEM || pr == NULL) {
        if (pr == NULL && rc == MPX_OK)
            fprintf(stderr, "the codec decoded a reply protobuf-c refuses\n");
        FUZZ_CHECK(pr != NULL || rc != MPX_OK);
        if (pr != NULL)
            mpx__reply__free_unpacked(pr, NULL);
        if (rc == MPX_OK)
            codec_reply_clear(&mine);
        return;
    }
    int prc = reply_from_pb(pr, &theirs);
    FUZZ_CHECK(prc != PB_NOMEM);
    if (rc == MPX_OK) {
        FUZZ_CHECK(prc == PB_OK);
        check_same_reply(&mine, &theirs);
        codec_reply_clear(&mine);
    } else {
        FUZZ_CHECK(rc == MPX_EPROTO);
        if (!refusal_allowed(data, size, M_REPLY, err) && prc == PB_OK)
            FUZZ_CHECK(reply_refused_only_what_pb_drops(&theirs));
    }
    if (prc == PB_OK)
        codec_reply_clear(&theirs);
    mpx__reply__free_unpacked(pr, NULL);
}

static void diff_request(const uint8_t *data, size_t size)
{
    mpx_request mine, theirs;
    char err[160];
    memset(err, 0xff, sizeof err);
    int rc = codec_request_decode(data, size, &mine, err, sizeof err);
    Mpx__Request *pr = mpx__request__unpack(NULL, size, data);
    if (rc == MPX_ENOMEM) {
        if (pr != NULL)
            mpx__request__free_unpacked(pr, NULL);
        return;
    }
    if (pr == NULL) {
        if (rc == MPX_OK)
            fprintf(stderr, "the codec decoded what protobuf-c refuses\n");
        FUZZ_CHECK(rc != MPX_OK);
        return;
    }
    int prc = request_from_pb(pr, &theirs);
    FUZZ_CHECK(prc != PB_NOMEM);
    if (rc == MPX_OK) {
        FUZZ_CHECK(prc == PB_OK); /* the codec must refuse what breaks its rules */
        check_same(&mine, &theirs);
        codec_request_clear(&mine);
    } else {
        FUZZ_CHECK(rc == MPX_EPROTO);
        if (!refusal_allowed(data, size, M_REQUEST, err) && prc == PB_OK)
            FUZZ_CHECK(refused_only_what_pb_drops(&theirs)); /* rule 2 */
    }
    if (prc == PB_OK)
        codec_request_clear(&theirs);
    mpx__request__free_unpacked(pr, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    diff_request(data, size);
    diff_reply(data, size);
    return 0;
}
