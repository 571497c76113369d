/* stream_out.c - see stream_out.h.
 *
 * Invariant: no length reaches libuv cut to its unsigned; a batch goes as pieces of at most
 * STREAM_PIECE_MAX, described in an array on the stack unless it is over 8 GiB.
 */
#include <stdlib.h>

#include "mem.h"
#include "stream_out.h"

#define KEEP_MAX ((size_t)1 << 20) /* a larger batch buffer is given back once written */
#define INLINE_BUFS 8

size_t stream_split(char *data, size_t len, size_t piece, uv_buf_t *bufs, size_t nbufs)
{
    size_t count = len / piece + (len % piece != 0);
    for (size_t i = 0; i < count && i < nbufs; i++) {
        size_t off = i * piece, n = len - off < piece ? len - off : piece;
        bufs[i] = uv_buf_init(data + off, (unsigned)n); /* n <= piece, which fits */
    }
    return count;
}

/* The rest of the batch, from byte `done`, to libuv in a request that takes the buffer;
 * bufs (nbufs slots) had room for the whole batch's pieces, so it has for its tail's. */
static int queue_rest(uv_stream_t *s, frame_buf *out, size_t done, size_t size,
                      uv_write_cb cb, uv_buf_t *bufs, size_t nbufs, stream_write **queued)
{
    size_t len;
    stream_write *w = mem_calloc(1, size);
    if (w == NULL)
        return UV_ENOMEM;
    frame_buf_take(out, &w->buf, &len);
    w->len = len - done;
    size_t n = stream_split((char *)w->buf + done, len - done, STREAM_PIECE_MAX, bufs,
                            nbufs);
    int rc = uv_write(&w->req, s, bufs, (unsigned)n, cb); /* libuv copies bufs */
    if (rc < 0) {
        stream_write_done(w);
        return rc;
    }
    *queued = w;
    return 1;
}

int stream_send(uv_stream_t *s, frame_buf *out, size_t size, uv_write_cb cb,
                stream_write **queued)
{
    *queued = NULL;
    if (out->len == 0)
        return 0;
    uv_buf_t inline_bufs[INLINE_BUFS], *bufs = inline_bufs;
    size_t nbufs = stream_split(NULL, out->len, STREAM_PIECE_MAX, NULL, 0);
    if (nbufs > INLINE_BUFS && (bufs = mem_alloc(nbufs * sizeof *bufs)) == NULL)
        return UV_ENOMEM;
    stream_split((char *)out->data, out->len, STREAM_PIECE_MAX, bufs, nbufs);
    /* a write takes at most INT_MAX bytes (Linux stops short of 2 GiB), so n fits an int */
    int n = uv_try_write(s, bufs, (unsigned)nbufs), rc;
    if (n >= 0 && (size_t)n == out->len) {
        out->len = 0;
        if (out->cap > KEEP_MAX)
            frame_buf_free(out);
        rc = 0;
    } else if (n < 0 && n != UV_EAGAIN) {
        rc = n;
    } else {
        rc = queue_rest(s, out, n > 0 ? (size_t)n : 0, size, cb, bufs, nbufs, queued);
    }
    if (bufs != inline_bufs)
        mem_free(bufs);
    return rc;
}

void stream_write_done(stream_write *w)
{
    mem_free(w->buf);
    mem_free(w);
}
