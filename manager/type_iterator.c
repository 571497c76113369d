/* type_iterator.c - Iterator: the items of a snapshot, one __next__ at a time.
 *
 * Python's SyncManager answers dict.__iter__ with a proxy to an iterator living in the
 * manager (method_to_typeid: {'__iter__': 'Iterator'}). mpx's iterator walks a copy taken
 * when it was made (the keys, for a dict): a dict changed meanwhile does not invalidate
 * it, where Python's would raise RuntimeError. Invariant: pos <= len(items); __next__
 * past the end is StopIteration, as often as it is asked.
 */
#include <stdlib.h>

#include "sync.h"

typedef struct iterator_state {
    mpx_value items; /* a list */
    size_t pos;
} iterator_state;

/* Iterator(items): items is a list or tuple, copied. */
static int iterator_init(mpx_object *obj, mpx_call *c)
{
    mpx_kind k = mpx_value_kind(&c->args[0]);
    if (k != MPX_LIST && k != MPX_TUPLE)
        return mpx_call_fail(c, MPX_ETYPE, "Iterator() takes a list or tuple, not %s",
                             mpx_kind_name(k));
    iterator_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    mpx_value_move(&st->items, &c->args[0]);
    obj->state = st;
    return MPX_OK;
}

static void iterator_destroy(mpx_object *obj)
{
    iterator_state *st = obj->state;
    mpx_value_free(&st->items);
    free(st);
    obj->state = NULL;
}

static int iterator_next(mpx_call *c)
{
    iterator_state *st = c->obj->state;
    if (st->pos >= mpx_value_len(&st->items))
        return mpx_call_fail(c, MPX_ESTOPITER, "%s", "the iterator is exhausted");
    mpx_value_move(&c->result, mpx_value_at(&st->items, st->pos++));
    return MPX_OK;
}

/* close(): the rest is dropped; later __next__ calls stop. */
static int iterator_close(mpx_call *c)
{
    iterator_state *st = c->obj->state;
    st->pos = mpx_value_len(&st->items);
    return MPX_OK;
}

static const mpx_method iterator_methods[] = {
    {"__next__", iterator_next, 0, 0, 0},
    {"close", iterator_close, 0, 0, 0},
};

const mpx_type type_iterator = {
    .name = "Iterator",
    .init = iterator_init,
    .destroy = iterator_destroy,
    .methods = iterator_methods,
    .nmethods = sizeof iterator_methods / sizeof iterator_methods[0],
    .min_init_args = 1,
    .max_init_args = 1,
};
