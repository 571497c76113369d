/* fuzz_request.c - the manager's request decoder (codec_request_decode) on any bytes.
 *
 * What decodes must encode again (the decoder refuses what the encoder would: nesting,
 * method length), decode to the same request, bit for bit, and encode to the same bytes a
 * second time: encoding is canonical. What fails must fail cleanly: a reason in err and
 * nothing left to free (LeakSanitizer checks the latter).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_common.h"
#include "mpx/error.h"

static void check_same_request(const mpx_request *a, const mpx_request *b)
{
    FUZZ_CHECK(a->call_id == b->call_id && a->object_id == b->object_id);
    FUZZ_CHECK(strcmp(a->method, b->method) == 0);
    FUZZ_CHECK(a->has_timeout == b->has_timeout);
    FUZZ_CHECK(memcmp(&a->timeout, &b->timeout, sizeof a->timeout) == 0);
    FUZZ_CHECK(a->nargs == b->nargs);
    for (size_t i = 0; i < a->nargs; i++) {
        FUZZ_CHECK(fuzz_same_value(&a->args[i], &b->args[i]));
        FUZZ_CHECK(fuzz_equal_unless_nan(&a->args[i], &b->args[i]));
    }
}

static uint8_t *encode(const mpx_request *r, size_t *len)
{
    uint8_t *buf = NULL;
    int rc = codec_request_encode(r->call_id, r->object_id, r->method, r->args, r->nargs,
                                  r->has_timeout, r->timeout, &buf, len);
    FUZZ_CHECK(rc == MPX_OK);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mpx_request req, back;
    char err[160];
    memset(err, 0xff, sizeof err);
    int rc = codec_request_decode(data, size, &req, err, sizeof err);
    if (rc != MPX_OK) {
        FUZZ_CHECK(rc == MPX_EPROTO || rc == MPX_ENOMEM);
        FUZZ_CHECK(fuzz_reason_given(err, sizeof err));
        FUZZ_CHECK(req.nargs == 0 && req.args == req.args_inline);
        return 0;
    }
    FUZZ_CHECK(strlen(req.method) < CODEC_METHOD_MAX);
    size_t len, len2;
    uint8_t *bytes = encode(&req, &len);
    FUZZ_CHECK(codec_request_decode(bytes, len, &back, err, sizeof err) == MPX_OK);
    check_same_request(&req, &back);
    uint8_t *again = encode(&back, &len2);
    FUZZ_CHECK(len2 == len && memcmp(bytes, again, len) == 0);
    free(bytes);
    free(again);
    codec_request_clear(&back);
    codec_request_clear(&req);
    return 0;
}
