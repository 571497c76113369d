/* codec.h - requests and replies between their protobuf bytes and C structs.
 *
 * This is the one place that knows the wire schema (mpx.proto); the manager and the
 * client see only mpx_request / mpx_reply and mpx_value. Decoding checks what protobuf
 * cannot: nesting depth (counted while reading, so a hostile frame cannot exhaust the stack),
 * UTF-8 in str, hashable dict keys, paired keys and values. A second dialect can sit
 * beside this one behind the same structs. The steady path allocates nothing but the
 * values themselves: requests hold their method and first arguments inline, and
 * replies and requests are packed straight into the output buffer.
 */
#ifndef MPX_PROTOCOL_CODEC_H
#define MPX_PROTOCOL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "mpx/value.h"

#define CODEC_MAX_DEPTH 64    /* nested containers in one value */
#define CODEC_METHOD_MAX 128  /* a method name's bytes, with its NUL */
#define CODEC_MESSAGE_MAX 256 /* a reply's error message, with its NUL (longer is cut) */
#define CODEC_INLINE_ARGS 6   /* arguments held in the request itself */

typedef struct mpx_request {
    uint64_t call_id;
    uint64_t object_id;
    char method[CODEC_METHOD_MAX];
    mpx_value *args;    /* nargs owned values: args_inline, or a heap array when more */
    size_t nargs;
    bool has_timeout;
    double timeout;     /* seconds */
    mpx_value args_inline[CODEC_INLINE_ARGS];
} mpx_request;

typedef struct mpx_reply {
    uint64_t call_id;
    int err;            /* MPX_OK or a negative MPX_E* code */
    char message[CODEC_MESSAGE_MAX]; /* "" on success */
    mpx_value value;    /* owned; None on error */
} mpx_reply;

/* ---- encoding in place -----------------------------------------------------------------
 * prepare sizes the message over the borrowed values (keeping the sizes of nested
 * containers in the scratch arena, which it resets first) and gives its packed size;
 * pack then writes exactly that many bytes, so a caller can reserve room in its output
 * buffer and write the frame where it goes. The values must not change in between, and
 * the arena must not be used for anything else. MPX_OK, MPX_ENOMEM, or MPX_EVALUE for a
 * value nested deeper than CODEC_MAX_DEPTH. */
typedef struct codec_packer {
    size_t size;             /* bytes pack writes */
    struct size_list *sizes; /* in the scratch arena */
    bool reply;
    uint64_t call_id;
    uint64_t object_id;      /* a request's */
    const char *method;
    const mpx_value *args;   /* a request's arguments, or a reply's value (nargs 1) */
    size_t nargs;
    bool has_timeout;
    double timeout;
    int err;                 /* a reply's */
    const char *message;
} codec_packer;

int codec_request_prepare(arena *scratch, uint64_t call_id, uint64_t object_id,
                          const char *method, const mpx_value *args, size_t nargs,
                          bool has_timeout, double timeout, codec_packer *out);
int codec_reply_prepare(arena *scratch, uint64_t call_id, int err, const char *message,
                        const mpx_value *value, codec_packer *out);
void codec_pack(const codec_packer *p, uint8_t *dst);

/* The same into a malloc'd payload (*buf, *len) the caller frees (tests, tools). */
int codec_request_encode(uint64_t call_id, uint64_t object_id, const char *method,
                         const mpx_value *args, size_t nargs, bool has_timeout,
                         double timeout, uint8_t **buf, size_t *len);
int codec_reply_encode(uint64_t call_id, int err, const char *message,
                       const mpx_value *value, uint8_t **buf, size_t *len);

/* ---- decoding ----------------------------------------------------------------------------
 * Both fill *out (cleared first) and return MPX_OK, or MPX_EPROTO with a reason in err, or
 * MPX_ENOMEM; on failure *out holds nothing to free. A method name of CODEC_METHOD_MAX
 * bytes or more, or with a NUL byte, is MPX_EPROTO. */
int codec_request_decode(const uint8_t *buf, size_t len, mpx_request *out, char *err,
                         size_t errlen);
int codec_reply_decode(const uint8_t *buf, size_t len, mpx_reply *out, char *err,
                       size_t errlen);

void codec_request_clear(mpx_request *r);
void codec_reply_clear(mpx_reply *r);

#endif
