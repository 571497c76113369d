/* stream_out.h - sending a batch of frames on a libuv stream.
 *
 * The manager's sessions and the async client both gather frames in a frame_buf and send
 * them once per turn of the loop. Most batches fit in the socket at once: then they are
 * written straight away, with no request and no allocation, and the buffer is kept for
 * the next batch. Only what the socket did not take goes to libuv, in a request that
 * owns the buffer until its callback. A batch may pass 4 GiB, and libuv takes lengths as
 * unsigned: it goes as several uv_buf_t of at most STREAM_PIECE_MAX bytes each.
 */
#ifndef MPX_TRANSPORT_STREAM_OUT_H
#define MPX_TRANSPORT_STREAM_OUT_H

#include <uv.h>

#include "frame.h"

/* A write libuv has: callers embed it first in their own request struct. */
typedef struct stream_write {
    uv_write_t req;
    uint8_t *buf; /* the batch, owned until stream_write_done */
    size_t len;   /* the bytes of it libuv was handed: those the socket did not take */
} stream_write;

/* Sends out's bytes, leaving out empty. Returns 0 when the socket took them all; 1 when
 * libuv has the rest, in *queued: a zeroed request of size bytes (>= sizeof(stream_write))
 * whose callback cb must end with stream_write_done (fill the caller's fields after
 * this returns: libuv never calls back before); or a negative libuv error code, nothing
 * queued. */
int stream_send(uv_stream_t *s, frame_buf *out, size_t size, uv_write_cb cb,
                stream_write **queued);
/* The largest piece of a batch in one uv_buf_t: fits uv_buf_init's unsigned (and Windows'
 * ULONG), round enough that a batch is rarely more than one. */
#define STREAM_PIECE_MAX ((size_t)1 << 30)

/* Cuts len bytes at data into consecutive pieces of at most `piece` bytes (piece > 0) and
 * returns how many that takes; fills the first min(count, nbufs) of bufs. With nbufs 0
 * it only counts (data and bufs may then be NULL). */
size_t stream_split(char *data, size_t len, size_t piece, uv_buf_t *bufs, size_t nbufs);

/* Frees a request's buffer and the request. */
void stream_write_done(stream_write *w);

#endif
