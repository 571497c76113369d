/* frame.h - length-prefixed framing, byte-compatible with multiprocessing.connection.
 *
 * A frame is a 4-byte big-endian signed length then the payload; payloads of 2 GiB and
 * more use the length -1 followed by an 8-byte big-endian unsigned length. The reader
 * enforces its maximum as soon as a header is complete, and grows its buffer only as the
 * payload arrives, so an announced length never causes an allocation of that size.
 */
#ifndef MPX_TRANSPORT_FRAME_H
#define MPX_TRANSPORT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_DEFAULT_MAX ((size_t)64 << 20) /* 64 MiB */
#define FRAME_HEADER_MAX 12

/* Writes the header for a payload of len bytes into out; returns 4 or 12. */
size_t frame_header_encode(uint64_t len, uint8_t out[FRAME_HEADER_MAX]);

typedef struct frame_reader {
    uint8_t *buf;    /* received bytes; [start, end) not yet consumed */
    size_t start;
    size_t end;
    size_t cap;
    size_t max;      /* largest payload accepted */
} frame_reader;

void frame_reader_init(frame_reader *r, size_t max_payload);
void frame_reader_set_max(frame_reader *r, size_t max_payload);
void frame_reader_free(frame_reader *r);
/* Gives back a buffer over 1 MiB once it holds nothing: one large request does not keep
 * its connection's buffer that large (Redis shrinks its query buffers too). */
void frame_reader_trim(frame_reader *r);

/* Space to receive into directly (for libuv's alloc callback): at least min(want, 64 KiB)
 * bytes, or what the frame in progress still lacks when that is less. The buffer grows
 * with the bytes received (doubling), never to the length a header announces before its
 * payload arrives, and never past the frame in progress. MPX_OK or MPX_ENOMEM. */
int frame_reader_reserve(frame_reader *r, size_t want, uint8_t **ptr, size_t *avail);
/* How many more bytes the next frame needs: what its header lacks while the header is
 * incomplete (4 bytes, 12 for a long one), then what its payload lacks. A reader that
 * must not read past one frame (mpx_conn: a poll on its fd then says exactly whether a
 * message is coming, as in Python) receives at most this. 0 when a whole frame or a bad
 * header is buffered: frame_reader_next says which. */
size_t frame_reader_missing(const frame_reader *r);
/* Bytes the reader has allocated for its buffer: what the connection costs in memory. */
size_t frame_reader_capacity(const frame_reader *r);
/* Marks n bytes of the reserved space as received. */
void frame_reader_commit(frame_reader *r, size_t n);
/* reserve + copy + commit. */
int frame_reader_feed(frame_reader *r, const void *data, size_t n);

/* Takes the next complete frame. Returns 1 and points payload and len into the reader's
 * buffer (valid until the next reserve/feed); 0 when more bytes are needed; MPX_ETOOBIG
 * when the announced length exceeds the maximum; MPX_EPROTO for a negative length other
 * than -1. After an error the reader is unusable. */
int frame_reader_next(frame_reader *r, const uint8_t **payload, size_t *len);

/* Frames to send, built one after the other in one growing buffer, so a batch goes out
 * in one write. */
typedef struct frame_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} frame_buf;

/* Appends the header for a payload of len bytes and returns where the payload goes (len
 * bytes, to fill before the next call); NULL when out of memory (nothing appended). */
uint8_t *frame_buf_add(frame_buf *b, size_t len);
/* Appends room for len raw bytes, no header (TLS records), and returns it, to fill before
 * the next call; NULL when out of memory (nothing appended). */
uint8_t *frame_buf_extend(frame_buf *b, size_t len);
/* Hands the bytes to the caller (*data, *len; free(*data) later) and leaves b empty. */
void frame_buf_take(frame_buf *b, uint8_t **data, size_t *len);
void frame_buf_free(frame_buf *b);

#endif
