/* fuzz_frame.c - the frame reader (transport/frame.h) fed a byte stream in pieces.
 *
 * Input: byte 0 picks the maximum payload (small, so that limits are met: 0-891 bytes, or
 * for the top values 64 MiB, to announce far more than comes); byte 1 is n, the count of
 * piece sizes that follow; the n bytes after it are those sizes, used in turn (the low 7
 * bits are the size, 0 meaning 1; the top bit says to receive through reserve/commit, as
 * libuv does, instead of feed); the rest is the stream. After each piece the frames that
 * are complete are taken. Every frame must be the one a plain reading of the whole stream
 * gives (the oracle below, which knows nothing of buffers), the first error must come
 * where that reading meets it, and the buffer must never grow with an announced length.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "fuzz_common.h"
#include "mpx/error.h"

#define GROWTH_FLOOR 4096 /* the reader's first buffer */

/* The next frame of stream[at..len): 1 with its payload, 0 when the stream ends first,
 * or the error the reader must give. */
static int oracle_next(const uint8_t *s, size_t len, size_t max, size_t *at, size_t *off,
                       size_t *n)
{
    if (len - *at < 4)
        return 0;
    const uint8_t *p = s + *at;
    uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    uint64_t payload = u;
    size_t hdr = 4;
    if (u == 0xffffffffu) {
        if (len - *at < 12)
            return 0;
        payload = 0;
        for (int i = 4; i < 12; i++)
            payload = payload << 8 | p[i];
        hdr = 12;
    } else if (u & 0x80000000u) {
        return MPX_EPROTO;
    }
    if (payload > max)
        return MPX_ETOOBIG;
    if (len - *at - hdr < payload)
        return 0;
    *off = *at + hdr;
    *n = (size_t)payload;
    *at += hdr + (size_t)payload;
    return 1;
}

static size_t pick_max(uint8_t b)
{
    return b < 0xf8 ? (size_t)b * 3 + (b & 3) : FRAME_DEFAULT_MAX;
}

/* Hands one piece to the reader, by feed or through reserve and commit. */
static void give(frame_reader *r, const uint8_t *piece, size_t n, bool direct)
{
    if (!direct) {
        FUZZ_CHECK(frame_reader_feed(r, piece, n) == MPX_OK);
        return;
    }
    while (n > 0) {
        uint8_t *ptr;
        size_t avail;
        FUZZ_CHECK(frame_reader_reserve(r, n, &ptr, &avail) == MPX_OK);
        FUZZ_CHECK(avail > 0);
        size_t take = n < avail ? n : avail;
        memcpy(ptr, piece, take);
        frame_reader_commit(r, take);
        piece += take;
        n -= take;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max = pick_max(data[0]), nsizes = data[1];
    if (size - 2 < nsizes)
        return 0;
    const uint8_t *sizes = data + 2, *stream = data + 2 + nsizes;
    size_t len = size - 2 - nsizes, fed = 0, at = 0, k = 0;
    frame_reader r;
    frame_reader_init(&r, max);
    int state = 1; /* the oracle's last answer */
    while (fed < len && state >= 0) {
        uint8_t code = nsizes ? sizes[k++ % nsizes] : 0x7f;
        size_t n = (code & 0x7f) ? (code & 0x7f) : 1;
        if (n > len - fed)
            n = len - fed;
        give(&r, stream + fed, n, code & 0x80);
        fed += n;
        FUZZ_CHECK(frame_reader_capacity(&r) <= GROWTH_FLOOR ||
                   frame_reader_capacity(&r) <= 2 * fed);
        const uint8_t *payload;
        size_t plen, off, want;
        int rc;
        while ((rc = frame_reader_next(&r, &payload, &plen)) == 1) {
            FUZZ_CHECK(oracle_next(stream, fed, max, &at, &off, &want) == 1);
            FUZZ_CHECK(plen == want && memcmp(payload, stream + off, plen) == 0);
        }
        state = oracle_next(stream, fed, max, &at, &off, &want);
        FUZZ_CHECK(rc == state); /* 0 as the oracle needs more, or the same error */
    }
    frame_reader_free(&r);
    return 0;
}
