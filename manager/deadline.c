/* deadline.c - mpx_deadline_start and _stop (mpx/type.h). One libuv timer per deadline,
 * closed and freed once it has fired or been stopped: never both, since a fired deadline
 * is forgotten by its type. */
#include <stdlib.h>

#include "mpx/type.h"
#include "server_internal.h"

struct mpx_deadline {
    uv_timer_t timer; /* first: the handle is the struct */
    mpx_server *srv;
    uint64_t object_id;
    uint64_t token;
    mpx_deadline_fn fn;
};

static void free_deadline(uv_handle_t *h)
{
    free(h);
}

static void on_fire(uv_timer_t *t)
{
    mpx_deadline *d = (mpx_deadline *)t;
    mpx_object *obj = objects_find(d->srv, d->object_id);
    if (obj != NULL)
        d->fn(obj, d->token);
    uv_close((uv_handle_t *)t, free_deadline);
}

mpx_deadline *mpx_deadline_start(mpx_server *s, mpx_object *obj, double seconds, uint64_t token,
                                 mpx_deadline_fn fn)
{
    mpx_deadline *d = malloc(sizeof *d);
    if (d == NULL)
        return NULL;
    *d = (mpx_deadline){.srv = s, .object_id = obj->id, .token = token, .fn = fn};
    uv_timer_init(&s->loop, &d->timer);
    double ms = seconds * 1000.0;
    uv_timer_start(&d->timer, on_fire, ms > 1e12 ? (uint64_t)1e12 : (uint64_t)ms, 0);
    /* A hold's end is no reason to keep serving: once stopped, the loop ends without
     * waiting for it, and the object's destroy stops it (mpx_server_free). */
    uv_unref((uv_handle_t *)&d->timer);
    return d;
}

void mpx_deadline_stop(mpx_deadline *d)
{
    if (d == NULL)
        return;
    uv_timer_stop(&d->timer);
    uv_close((uv_handle_t *)&d->timer, free_deadline);
}
