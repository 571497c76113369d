/* frame.c - see frame.h. The buffer holds [start, end) of unconsumed bytes; it is
 * compacted lazily in reserve and grows with the bytes that arrive: it doubles when less
 * than a read's worth is free (so copies stay linear), and never past the frame in
 * progress, so the length a header announces costs nothing until the bytes come.
 * A fresh reader has no buffer (NULL): no arithmetic touches its pointer then. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "mem.h"
#include "mpx/error.h"

#define READ_CHUNK ((size_t)64 << 10)
#define READ_KEEP_MAX ((size_t)1 << 20)

size_t frame_header_encode(uint64_t len, uint8_t out[FRAME_HEADER_MAX])
{
    if (len <= 0x7fffffff) {
        out[0] = (uint8_t)(len >> 24);
        out[1] = (uint8_t)(len >> 16);
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    memset(out, 0xff, 4); /* -1, then the 8-byte length */
    for (int i = 0; i < 8; i++)
        out[4 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 12;
}

void frame_reader_init(frame_reader *r, size_t max_payload)
{
    memset(r, 0, sizeof *r);
    r->max = max_payload;
}

void frame_reader_set_max(frame_reader *r, size_t max_payload)
{
    r->max = max_payload;
}

void frame_reader_free(frame_reader *r)
{
    mem_free(r->buf);
    r->buf = NULL;
    r->start = r->end = r->cap = 0;
}

void frame_reader_trim(frame_reader *r)
{
    if (r->start == r->end && r->cap > READ_KEEP_MAX)
        frame_reader_free(r);
}

/* Parses a header at start. 1 with *hdr and *payload set; 0 when incomplete; <0 error. */
static int parse_header(const frame_reader *r, size_t *hdr, uint64_t *payload)
{
    size_t have = r->end - r->start;
    if (have < 4)
        return 0; /* before r->buf + start: buf is NULL until the first bytes */
    const uint8_t *p = r->buf + r->start;
    int32_t n = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                          p[3]);
    if (n >= 0) {
        *hdr = 4;
        *payload = (uint64_t)n;
    } else if (n == -1) {
        if (have < 12)
            return 0;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | p[4 + i];
        *hdr = 12;
        *payload = v;
    } else {
        return MPX_EPROTO;
    }
    return *payload > r->max ? MPX_ETOOBIG : 1;
}

int frame_reader_reserve(frame_reader *r, size_t want, uint8_t **ptr, size_t *avail)
{
    if (r->start == r->end) {
        r->start = r->end = 0;
    } else if (r->start > 0 && (r->start >= r->cap / 2 || r->end == r->cap)) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    size_t need = want < READ_CHUNK ? want : READ_CHUNK;
    if (need == 0)
        need = 1;
    size_t hdr, limit = SIZE_MAX; /* the most the buffer needs to hold */
    uint64_t payload;
    if (parse_header(r, &hdr, &payload) == 1 && hdr + (size_t)payload > r->end - r->start) {
        limit = r->start + hdr + (size_t)payload; /* the frame in progress, within max */
        if (limit - r->end < need)
            need = limit - r->end; /* its last bytes: what follows comes in the next read */
    }
    if (r->cap - r->end < need) {
        /* Grow with what has arrived, as Python's connection reads a frame into a growing
         * buffer, never reserving the announced length up front: a peer announcing 64 MiB
         * and sending 10 bytes costs one read's worth. Doubling, but not past the frame. */
        size_t cap = r->cap ? r->cap : 4096;
        while (cap - r->end < need)
            cap *= 2;
        if (cap > limit)
            cap = limit; /* still end + need or more */
        uint8_t *buf = mem_realloc(r->buf, cap);
        if (buf == NULL)
            return MPX_ENOMEM;
        r->buf = buf;
        r->cap = cap;
    }
    *ptr = r->buf + r->end;
    *avail = r->cap - r->end;
    return MPX_OK;
}

size_t frame_reader_missing(const frame_reader *r)
{
    size_t have = r->end - r->start, hdr;
    uint64_t payload;
    int rc = parse_header(r, &hdr, &payload);
    if (rc < 0)
        return 0;
    if (rc == 0) /* 4 bytes first; a -1 then asks for its 8-byte length */
        return have < 4 ? 4 - have : 12 - have;
    return have - hdr >= payload ? 0 : (size_t)(payload - (have - hdr));
}

size_t frame_reader_capacity(const frame_reader *r)
{
    return r->cap;
}

void frame_reader_commit(frame_reader *r, size_t n)
{
    r->end += n;
}

int frame_reader_feed(frame_reader *r, const void *data, size_t n)
{
    const uint8_t *src = data;
    while (n > 0) {
        uint8_t *ptr;
        size_t avail;
        int rc = frame_reader_reserve(r, n, &ptr, &avail);
        if (rc != MPX_OK)
            return rc;
        size_t take = n < avail ? n : avail;
        memcpy(ptr, src, take);
        frame_reader_commit(r, take);
        src += take;
        n -= take;
    }
    return MPX_OK;
}

int frame_reader_next(frame_reader *r, const uint8_t **payload, size_t *len)
{
    size_t hdr;
    uint64_t n;
    int rc = parse_header(r, &hdr, &n);
    if (rc <= 0)
        return rc;
    if (r->end - r->start - hdr < n)
        return 0;
    *payload = r->buf + r->start + hdr;
    *len = (size_t)n;
    r->start += hdr + (size_t)n;
    return 1;
}

/* Room for more bytes after len; false when out of memory (or past SIZE_MAX / 2). */
static bool frame_buf_room(frame_buf *b, size_t more)
{
    if (more > SIZE_MAX / 2 - b->len)
        return false;
    size_t need = b->len + more;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *data = mem_realloc(b->data, cap);
        if (data == NULL)
            return false;
        b->data = data;
        b->cap = cap;
    }
    return true;
}

uint8_t *frame_buf_extend(frame_buf *b, size_t len)
{
    if (!frame_buf_room(b, len))
        return NULL;
    uint8_t *at = b->data + b->len;
    b->len += len;
    return at;
}

uint8_t *frame_buf_add(frame_buf *b, size_t len)
{
    if (len > SIZE_MAX / 2 - FRAME_HEADER_MAX || !frame_buf_room(b, FRAME_HEADER_MAX + len))
        return NULL;
    b->len += frame_header_encode(len, b->data + b->len);
    uint8_t *payload = b->data + b->len;
    b->len += len;
    return payload;
}

void frame_buf_take(frame_buf *b, uint8_t **data, size_t *len)
{
    *data = b->data;
    *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
}

void frame_buf_free(frame_buf *b)
{
    mem_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
