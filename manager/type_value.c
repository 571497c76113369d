/* type_value.c - Value: one typed number (or character) held in a raw slot, like
 * multiprocessing's Value(typecode, value), with atomic add and compare-and-swap.
 *
 * Every method runs to completion on the manager's loop, so add and compare_and_swap are
 * atomic across all clients without a lock. The slot only ever holds what typecode_store
 * accepted: a call that fails changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "typecode.h"
#include "types.h"

typedef struct value_state {
    const typecode *tc;
    unsigned char slot[8];
} value_state;

static value_state *state_of(const mpx_object *obj)
{
    return obj->state;
}

/* c->result = the stored value. */
static int load_result(mpx_call *c, const value_state *st)
{
    return typecode_load(st->tc, st->slot, &c->result) == MPX_OK ? MPX_OK
                                                                : mpx_call_fail_nomem(c);
}

/* Value(typecode[, value]): value defaults to the typecode's zero. */
static int value_init(mpx_object *obj, mpx_call *c)
{
    const typecode *tc;
    int rc = typecode_arg(c, 0, &tc);
    if (rc != MPX_OK)
        return rc;
    value_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mpx_call_fail_nomem(c);
    st->tc = tc;
    if (c->nargs > 1 && (rc = typecode_store(c, tc, st->slot, &c->args[1])) != MPX_OK) {
        free(st);
        return rc;
    }
    obj->state = st;
    return MPX_OK;
}

static void value_destroy(mpx_object *obj)
{
    free(obj->state);
    obj->state = NULL;
}

/* get() -> the value */
static int value_get(mpx_call *c)
{
    return load_result(c, state_of(c->obj));
}

/* set(v) -> None */
static int value_set(mpx_call *c)
{
    value_state *st = state_of(c->obj);
    return typecode_store(c, st->tc, st->slot, &c->args[0]);
}

/* add(delta) -> the new value */
static int value_add(mpx_call *c)
{
    value_state *st = state_of(c->obj);
    unsigned char next[8];
    int rc = typecode_add(c, st->tc, st->slot, 0, next);
    if (rc != MPX_OK)
        return rc;
    memcpy(st->slot, next, st->tc->size);
    return load_result(c, st);
}

/* compare_and_swap(expected, new) -> bool: stores new when the value == expected (Python's
 * ==, so 1 == 1.0). new is checked first, so a bad one is an error either way. */
static int value_compare_and_swap(mpx_call *c)
{
    value_state *st = state_of(c->obj);
    unsigned char next[8];
    mpx_value cur;
    int rc = typecode_store(c, st->tc, next, &c->args[1]);
    if (rc != MPX_OK)
        return rc;
    if (typecode_load(st->tc, st->slot, &cur) != MPX_OK)
        return mpx_call_fail_nomem(c);
    bool equal = mpx_value_equal(&cur, &c->args[0]);
    mpx_value_free(&cur);
    if (equal)
        memcpy(st->slot, next, st->tc->size);
    c->result = mpx_value_bool(equal);
    return MPX_OK;
}

/* typecode() -> the typecode as a 1-character str */
static int value_typecode(mpx_call *c)
{
    char code = state_of(c->obj)->tc->code;
    return mpx_value_strn(&c->result, &code, 1) == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

/* __repr__() -> "Value('d', 0.0)", as multiprocessing.managers.Value prints itself */
static int value_repr(mpx_call *c)
{
    value_state *st = state_of(c->obj);
    mpx_value cur;
    if (typecode_load(st->tc, st->slot, &cur) != MPX_OK)
        return mpx_call_fail_nomem(c);
    char *text = mpx_value_repr(&cur), *out = NULL;
    mpx_value_free(&cur);
    if (text != NULL && asprintf(&out, "Value('%c', %s)", st->tc->code, text) < 0)
        out = NULL;
    free(text);
    int rc = out != NULL ? mpx_value_str(&c->result, out) : MPX_ENOMEM;
    free(out);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

static const mpx_method value_methods[] = {
    {"get", value_get, 0, 0, 0},
    {"set", value_set, 1, 1, 0},
    {"add", value_add, 1, 1, 0},
    {"compare_and_swap", value_compare_and_swap, 2, 2, 0},
    {"typecode", value_typecode, 0, 0, 0},
    {"__repr__", value_repr, 0, 0, 0},
};

const mpx_type type_value = {
    .name = "Value",
    .init = value_init,
    .destroy = value_destroy,
    .methods = value_methods,
    .nmethods = sizeof value_methods / sizeof value_methods[0],
    .min_init_args = 1,
    .max_init_args = 2,
};
