/* fuzz_reply.c - the client's reply decoder (codec_reply_decode) on any bytes, as a
 * hostile or broken manager could send them.
 *
 * A decoded reply is either a known error code with no value, or MPX_OK; its message is
 * NUL-terminated within CODEC_MESSAGE_MAX. It must encode again, decode to the same reply
 * and encode to the same bytes a second time. Failures give a reason and leave nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_common.h"
#include "mpx/error.h"

static uint8_t *encode(const mpx_reply *r, size_t *len)
{
    uint8_t *buf = NULL;
    FUZZ_CHECK(codec_reply_encode(r->call_id, r->err, r->message, &r->value, &buf, len) ==
               MPX_OK);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mpx_reply rep, back;
    char err[160];
    memset(err, 0xff, sizeof err);
    int rc = codec_reply_decode(data, size, &rep, err, sizeof err);
    if (rc != MPX_OK) {
        FUZZ_CHECK(rc == MPX_EPROTO || rc == MPX_ENOMEM);
        FUZZ_CHECK(fuzz_reason_given(err, sizeof err));
        FUZZ_CHECK(mpx_value_kind(&rep.value) == MPX_NONE);
        return 0;
    }
    FUZZ_CHECK(rep.err <= 0 && rep.err > -MPX_ERR_COUNT_);
    FUZZ_CHECK(memchr(rep.message, '\0', sizeof rep.message) != NULL);
    FUZZ_CHECK(rep.err == MPX_OK || mpx_value_kind(&rep.value) == MPX_NONE);
    size_t len, len2;
    uint8_t *bytes = encode(&rep, &len);
    FUZZ_CHECK(codec_reply_decode(bytes, len, &back, err, sizeof err) == MPX_OK);
    FUZZ_CHECK(back.call_id == rep.call_id && back.err == rep.err);
    FUZZ_CHECK(strcmp(back.message, rep.message) == 0);
    FUZZ_CHECK(fuzz_same_value(&back.value, &rep.value));
    uint8_t *again = encode(&back, &len2);
    FUZZ_CHECK(len2 == len && memcmp(bytes, again, len) == 0);
    free(bytes);
    free(again);
    codec_reply_clear(&back);
    codec_reply_clear(&rep);
    return 0;
}
