/* codec.h - requests and replies between their protobuf bytes and C structs.
 *
 * This is the one place that knows the wire schema (mpx.proto); the manager and the
 * client see only mpx_request / mpx_reply and mpx_value. Decoding checks what protobuf
 * cannot: nesting depth (before unpacking, so a hostile frame cannot exhaust the stack),
 * UTF-8 in str, hashable dict keys, paired keys and values. A second dialect can sit
 * beside this one behind the same structs.
 */
#ifndef MPX_PROTOCOL_CODEC_H
#define MPX_PROTOCOL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/value.h"

#define CODEC_MAX_DEPTH 64 /* nested containers in one value */

typedef struct mpx_request {
    uint64_t call_id;
    uint64_t object_id;
    char *method;       /* owned */
    mpx_value *args;    /* owned array of nargs values */
    size_t nargs;
    bool has_timeout;
    double timeout;     /* seconds */
} mpx_request;

typedef struct mpx_reply {
    uint64_t call_id;
    int err;            /* MPX_OK or a negative MPX_E* code */
    char *message;      /* owned; "" on success */
    mpx_value value;    /* owned; None on error */
} mpx_reply;

/* Both encoders return a malloc'd payload (*buf, *len) the caller frees; MPX_ENOMEM or,
 * for a value nested deeper than CODEC_MAX_DEPTH, MPX_EVALUE. */
int codec_request_encode(uint64_t call_id, uint64_t object_id, const char *method,
                         const mpx_value *args, size_t nargs, bool has_timeout,
                         double timeout, uint8_t **buf, size_t *len);
int codec_reply_encode(uint64_t call_id, int err, const char *message,
                       const mpx_value *value, uint8_t **buf, size_t *len);

/* Both decoders fill *out (cleared first) and return MPX_OK, or MPX_EPROTO with a reason
 * in err, or MPX_ENOMEM. On failure *out holds nothing to free. */
int codec_request_decode(const uint8_t *buf, size_t len, mpx_request *out, char *err,
                         size_t errlen);
int codec_reply_decode(const uint8_t *buf, size_t len, mpx_reply *out, char *err,
                       size_t errlen);

void codec_request_clear(mpx_request *r);
void codec_reply_clear(mpx_reply *r);

#endif
