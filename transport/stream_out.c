/* stream_out.c - see stream_out.h. */
#include <stdlib.h>

#include "stream_out.h"

#define KEEP_MAX ((size_t)1 << 20) /* a larger batch buffer is given back once written */

int stream_send(uv_stream_t *s, frame_buf *out, size_t size, uv_write_cb cb,
                stream_write **queued)
{
    *queued = NULL;
    if (out->len == 0)
        return 0;
    uv_buf_t all = uv_buf_init((char *)out->data, (unsigned)out->len);
    int n = uv_try_write(s, &all, 1);
    if (n == (int)out->len) {
        out->len = 0;
        if (out->cap > KEEP_MAX)
            frame_buf_free(out);
        return 0;
    }
    if (n < 0 && n != UV_EAGAIN)
        return n;
    size_t done = n > 0 ? (size_t)n : 0, len;
    stream_write *w = calloc(1, size);
    if (w == NULL)
        return UV_ENOMEM;
    frame_buf_take(out, &w->buf, &len);
    uv_buf_t rest = uv_buf_init((char *)w->buf + done, (unsigned)(len - done));
    int rc = uv_write(&w->req, s, &rest, 1, cb);
    if (rc < 0) {
        stream_write_done(w);
        return rc;
    }
    *queued = w;
    return 1;
}

void stream_write_done(stream_write *w)
{
    free(w->buf);
    free(w);
}
