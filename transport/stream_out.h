/* stream_out.h - sending a batch of frames on a libuv stream.
 *
 * The manager's sessions and the async client both gather frames in a frame_buf and send
 * them once per turn of the loop. Most batches fit in the socket at once: then they are
 * written straight away, with no request and no allocation, and the buffer is kept for
 * the next batch. Only what the socket did not take goes to libuv, in a request that
 * owns the buffer until its callback.
 */
#ifndef MPX_TRANSPORT_STREAM_OUT_H
#define MPX_TRANSPORT_STREAM_OUT_H

#include <uv.h>

#include "frame.h"

/* A write libuv has: callers embed it first in their own request struct. */
typedef struct stream_write {
    uv_write_t req;
    uint8_t *buf; /* the batch, owned until stream_write_done */
} stream_write;

/* Sends out's bytes, leaving out empty. Returns 0 when the socket took them all; 1 when
 * libuv has the rest, in *queued: a zeroed request of size bytes (>= sizeof(stream_write))
 * whose callback cb must end with stream_write_done (fill the caller's fields after
 * this returns: libuv never calls back before); or a negative libuv error code, nothing
 * queued. */
int stream_send(uv_stream_t *s, frame_buf *out, size_t size, uv_write_cb cb,
                stream_write **queued);
/* Frees a request's buffer and the request. */
void stream_write_done(stream_write *w);

#endif
