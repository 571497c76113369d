/* test_codec.c - protocol/codec.c: round trips of every value kind, and the frames a
 * hostile or broken peer could send (garbage, deep nesting, bad UTF-8, bad dict keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "mpx.pb-c.h"
#include "mpx/error.h"

/* One scratch arena for every decode here, as a session keeps one: each decode must leave
 * it reusable. */
static arena scratch;

static void parse(const char *text, mpx_value *out)
{
    char err[128];
    assert_int_equal(mpx_value_parse(text, out, err, sizeof err), MPX_OK);
}

static void assert_repr(const mpx_value *v, const char *expected)
{
    char *r = mpx_value_repr(v);
    assert_non_null(r);
    assert_string_equal(r, expected);
    free(r);
}

static void test_request_round_trip(void **state)
{
    (void)state;
    const char *texts[] = {
        "None", "True", "-9223372036854775807", "0.25", "'h\\xe9llo'", "b'\\x00\\xff'",
        "[1, [2, [3]], ()]", "(1,)", "{0.25: None, 1: '1', '2': 2}", "{(1, 'a'): [b'']}",
    };
    size_t n = sizeof texts / sizeof texts[0];
    mpx_value args[16];
    for (size_t i = 0; i < n; i++)
        parse(texts[i], &args[i]);
    int64_t start = -3, step = 2;
    assert_int_equal(mpx_value_slice(&args[n], &start, NULL, &step), MPX_OK);
    assert_int_equal(mpx_value_ref(&args[n + 1], 42, "dict"), MPX_OK);

    uint8_t *buf;
    size_t len;
    assert_int_equal(codec_request_encode(7, 99, "__setitem__", args, n + 2, true, 1.5, &buf,
                                          &len),
                     MPX_OK);
    mpx_request req;
    char err[128];
    assert_int_equal(codec_request_decode(&scratch, buf, len, &req, err, sizeof err), MPX_OK);
    free(buf);
    assert_int_equal(req.call_id, 7);
    assert_int_equal(req.object_id, 99);
    assert_string_equal(req.method, "__setitem__");
    assert_true(req.has_timeout);
    assert_true(req.timeout == 1.5);
    assert_int_equal(req.nargs, n + 2);
    for (size_t i = 0; i < n + 2; i++)
        assert_true(mpx_value_equal(&req.args[i], &args[i]));
    assert_repr(&req.args[8], "{0.25: None, 1: '1', '2': 2}");
    assert_repr(&req.args[n], "slice(-3, None, 2)");
    assert_repr(&req.args[n + 1], "<ref dict 42>");
    codec_request_clear(&req);
    for (size_t i = 0; i < n + 2; i++)
        mpx_value_free(&args[i]);
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    mpx_value v;
    parse("[9, 8, 7]", &v);
    uint8_t *buf;
    size_t len;
    assert_int_equal(codec_reply_encode(3, MPX_OK, NULL, &v, &buf, &len), MPX_OK);
    mpx_reply rep;
    char err[128];
    assert_int_equal(codec_reply_decode(&scratch, buf, len, &rep, err, sizeof err), MPX_OK);
    free(buf);
    assert_int_equal(rep.call_id, 3);
    assert_int_equal(rep.err, MPX_OK);
    assert_true(mpx_value_equal(&rep.value, &v));
    codec_reply_clear(&rep);
    mpx_value_free(&v);

    assert_int_equal(codec_reply_encode(4, MPX_EKEY, "'x'", NULL, &buf, &len), MPX_OK);
    assert_int_equal(codec_reply_decode(&scratch, buf, len, &rep, err, sizeof err), MPX_OK);
    free(buf);
    assert_int_equal(rep.err, MPX_EKEY);
    assert_string_equal(rep.message, "'x'");
    assert_int_equal(mpx_value_kind(&rep.value), MPX_NONE);
    codec_reply_clear(&rep);
}

/* A list nested `depth` deep: [[[...]]] */
static void nested_list(mpx_value *out, int depth)
{
    assert_int_equal(mpx_value_list(out, 1), MPX_OK);
    mpx_value *cur = out;
    for (int i = 1; i < depth; i++) {
        mpx_value inner;
        assert_int_equal(mpx_value_list(&inner, 1), MPX_OK);
        assert_int_equal(mpx_value_append(cur, &inner), MPX_OK);
        cur = mpx_value_at(cur, 0);
    }
}

static void test_depth_limit_on_encode(void **state)
{
    (void)state;
    mpx_value ok, deep;
    nested_list(&ok, CODEC_MAX_DEPTH - 1);
    nested_list(&deep, CODEC_MAX_DEPTH + 1);
    uint8_t *buf;
    size_t len;
    assert_int_equal(codec_request_encode(1, 1, "append", &ok, 1, false, 0, &buf, &len),
                     MPX_OK);
    free(buf);
    assert_int_equal(codec_request_encode(1, 1, "append", &deep, 1, false, 0, &buf, &len),
                     MPX_EVALUE);
    assert_int_equal(codec_reply_encode(1, MPX_OK, NULL, &deep, &buf, &len), MPX_EVALUE);
    mpx_value_free(&ok);
    mpx_value_free(&deep);
}

/* Prepends a varint ending at *pos (the buffer is filled from its end). */
static void prepend_varint(uint8_t *buf, size_t *pos, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v != 0);
    *pos -= n;
    memcpy(buf + *pos, tmp, n);
}

/* Prepends tag and length for a length-delimited field holding the bytes after *pos. */
static void prepend_field(uint8_t *buf, size_t *pos, size_t size, uint32_t field)
{
    size_t inner = size - *pos;
    prepend_varint(buf, pos, inner);
    prepend_varint(buf, pos, (uint64_t)field << 3 | 2);
}

/* Hand-packs a request whose one argument is a list nested `depth` deep, byte by byte
 * (protobuf-c's own packer recurses and would overflow at such depths), as a hostile
 * client would send it. */
static uint8_t *pack_deep_request(int depth, size_t *len)
{
    size_t size = (size_t)depth * 16 + 64, pos = size;
    uint8_t *buf = malloc(size);
    for (int i = 0; i < depth; i++) {
        if (i > 0)
            prepend_field(buf, &pos, size, 1); /* Seq.items */
        prepend_field(buf, &pos, size, 7);     /* Value.list_v */
    }
    prepend_field(buf, &pos, size, 4); /* Request.args */
    const uint8_t head[] = {0x10, 0x01, 0x1a, 0x06, 'a', 'p', 'p', 'e', 'n', 'd'};
    pos -= sizeof head;
    memcpy(buf + pos, head, sizeof head);
    *len = size - pos;
    memmove(buf, buf + pos, *len);
    return buf;
}

static void test_depth_limit_on_decode(void **state)
{
    (void)state;
    size_t len;
    mpx_request req;
    char err[160];
    uint8_t *buf = pack_deep_request(CODEC_MAX_DEPTH, &len);
    assert_int_equal(codec_request_decode(&scratch, buf, len, &req, err, sizeof err), MPX_OK);
    codec_request_clear(&req);
    free(buf);
    buf = pack_deep_request(100000, &len);
    assert_int_equal(codec_request_decode(&scratch, buf, len, &req, err, sizeof err), MPX_EPROTO);
    assert_non_null(strstr(err, "nested"));
    free(buf);
}

static void test_garbage(void **state)
{
    (void)state;
    mpx_request req;
    mpx_reply rep;
    char err[160];
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
    assert_int_equal(codec_request_decode(&scratch, junk, sizeof junk, &req, err, sizeof err),
                     MPX_EPROTO);
    assert_int_equal(codec_reply_decode(&scratch, junk, sizeof junk, &rep, err, sizeof err), MPX_EPROTO);
    const uint8_t truncated[] = {0x22, 0x10, 0x08};
    assert_int_equal(codec_request_decode(&scratch, truncated, sizeof truncated, &req, err, sizeof err),
                     MPX_EPROTO);
}

static uint8_t *pack_one_arg(Mpx__Value *arg, size_t *len)
{
    Mpx__Request req = MPX__REQUEST__INIT;
    req.method = "x";
    req.n_args = 1;
    req.args = &arg;
    uint8_t *buf = malloc(mpx__request__get_packed_size(&req));
    *len = mpx__request__pack(&req, buf);
    return buf;
}

static void test_bad_str_and_keys(void **state)
{
    (void)state;
    mpx_request req;
    char err[160];
    size_t len;

    Mpx__Value s = MPX__VALUE__INIT;
    s.kind_case = MPX__VALUE__KIND_STR_V;
    s.str_v.data = (uint8_t *)"\xc3\x28";
    s.str_v.len = 2;
    uint8_t *buf = pack_one_arg(&s, &len);
    assert_int_equal(codec_request_decode(&scratch, buf, len, &req, err, sizeof err), MPX_EPROTO);
    assert_non_null(strstr(err, "UTF-8"));
    free(buf);

    /* {[]: 1}: a list as a dict key */
    Mpx__Seq empty = MPX__SEQ__INIT;
    Mpx__Value key = MPX__VALUE__INIT, val = MPX__VALUE__INIT, d = MPX__VALUE__INIT;
    key.kind_case = MPX__VALUE__KIND_LIST_V;
    key.list_v = &empty;
    val.kind_case = MPX__VALUE__KIND_INT_V;
    val.int_v = 1;
    Mpx__Value *keys[] = {&key}, *vals[] = {&val};
    Mpx__Map map = MPX__MAP__INIT;
    map.n_keys = map.n_values = 1;
    map.keys = keys;
    map.values = vals;
    d.kind_case = MPX__VALUE__KIND_DICT_V;
    d.dict_v = &map;
    buf = pack_one_arg(&d, &len);
    assert_int_equal(codec_request_decode(&scratch, buf, len, &req, err, sizeof err), MPX_EPROTO);
    assert_non_null(strstr(err, "unhashable"));
    free(buf);

    map.n_values = 0; /* a key without its value */
    buf = pack_one_arg(&d, &len);
    assert_int_equal(codec_request_decode(&scratch, buf, len, &req, err, sizeof err), MPX_EPROTO);
    free(buf);
}

/* A method name that does not fit the request's buffer is refused, not cut. */
static void test_method_name_limit(void **state)
{
    (void)state;
    char name[CODEC_METHOD_MAX + 1];
    memset(name, 'm', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    uint8_t *buf;
    size_t len;
    mpx_request req;
    char err[160];
    assert_int_equal(codec_request_encode(1, 2, name, NULL, 0, false, 0, &buf, &len), MPX_OK);
    assert_int_equal(codec_request_decode(&scratch, buf, len, &req, err, sizeof err),
                     MPX_EPROTO);
    assert_non_null(strstr(err, "method name"));
    free(buf);
    name[CODEC_METHOD_MAX - 1] = '\0'; /* the longest that fits */
    assert_int_equal(codec_request_encode(1, 2, name, NULL, 0, false, 0, &buf, &len), MPX_OK);
    assert_int_equal(codec_request_decode(NULL, buf, len, &req, err, sizeof err), MPX_OK);
    assert_string_equal(req.method, name);
    codec_request_clear(&req);
    free(buf);
}

/* More arguments than the request holds inline go to the heap, and are freed by clear. */
static void test_many_args_and_in_place_packing(void **state)
{
    (void)state;
    mpx_value args[CODEC_INLINE_ARGS + 3];
    for (size_t i = 0; i < CODEC_INLINE_ARGS + 3; i++)
        parse(i % 2 ? "'an argument'" : "[1, (2, 3), {'k': b'v'}]", &args[i]);
    codec_packer p;
    arena a;
    arena_init(&a);
    assert_int_equal(codec_request_prepare(&a, 9, 8, "many", args, CODEC_INLINE_ARGS + 3, true,
                                           1.5, &p),
                     MPX_OK);
    uint8_t *buf = malloc(p.size);
    codec_pack(&p, buf);
    uint8_t *same;
    size_t len;
    assert_int_equal(codec_request_encode(9, 8, "many", args, CODEC_INLINE_ARGS + 3, true,
                                          1.5, &same, &len),
                     MPX_OK);
    assert_int_equal(len, p.size);
    assert_memory_equal(buf, same, len);
    mpx_request req;
    char err[160];
    assert_int_equal(codec_request_decode(&scratch, buf, p.size, &req, err, sizeof err),
                     MPX_OK);
    assert_int_equal(req.nargs, CODEC_INLINE_ARGS + 3);
    assert_true(req.args != req.args_inline);
    for (size_t i = 0; i < req.nargs; i++)
        assert_true(mpx_value_equal(&req.args[i], &args[i]));
    assert_true(req.has_timeout);
    codec_request_clear(&req);
    for (size_t i = 0; i < CODEC_INLINE_ARGS + 3; i++)
        mpx_value_free(&args[i]);
    free(buf);
    free(same);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_method_name_limit),
        cmocka_unit_test(test_many_args_and_in_place_packing),
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_depth_limit_on_encode),
        cmocka_unit_test(test_depth_limit_on_decode),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_bad_str_and_keys),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    arena_free(&scratch);
    return failed;
}
