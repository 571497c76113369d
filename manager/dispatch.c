/* dispatch.c - from a method name to its handler, and the helpers handlers report with.
 *
 * Each type's method rows are hashed once into a method_index; a lookup is one FNV-1a
 * hash, a short probe and one memcmp. Arity is checked here, so a handler may index
 * c->args up to its declared max_args without checking nargs again. The memory budget is
 * kept here too (Redis's noeviction): an MPX_METHOD_GROWS call is refused while the
 * server holds more than max_memory, the request's own arguments counted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "object.h"
#include "server_internal.h"

static uint32_t name_hash(const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)name[i];
        h *= 16777619u;
    }
    return h;
}

int method_index_build(method_index *ix, const mpx_type *type)
{
    size_t size = 8;
    while (size < type->nmethods * 2)
        size *= 2;
    if (size > sizeof ix->slot / sizeof ix->slot[0])
        return MPX_EINVAL;
    memset(ix, 0, sizeof *ix);
    ix->type = type;
    ix->mask = (uint32_t)size - 1;
    for (size_t m = 0; m < type->nmethods; m++) {
        const char *name = type->methods[m].name;
        uint32_t i = name_hash(name, strlen(name)) & ix->mask;
        while (ix->slot[i] != 0)
            i = (i + 1) & ix->mask;
        ix->slot[i] = (uint16_t)(m + 1);
    }
    return MPX_OK;
}

const mpx_method *method_index_find(const method_index *ix, const char *name, size_t len)
{
    uint32_t i = name_hash(name, len) & ix->mask;
    while (ix->slot[i] != 0) {
        const mpx_method *m = &ix->type->methods[ix->slot[i] - 1];
        if (strncmp(m->name, name, len) == 0 && m->name[len] == '\0')
            return m;
        i = (i + 1) & ix->mask;
    }
    return NULL;
}

int mpx_call_fail(mpx_call *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

int mpx_call_fail_nomem(mpx_call *c)
{
    return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
}

int mpx_call_fail_repr(mpx_call *c, int code, const mpx_value *v)
{
    char *text = mpx_value_repr(v);
    if (text == NULL)
        return mpx_call_fail(c, MPX_ENOMEM, "out of memory");
    mpx_call_fail(c, code, "%s", text);
    free(text);
    return code;
}

int mpx_call_expect_kind(mpx_call *c, size_t i, mpx_kind k, const char *what)
{
    mpx_kind got = mpx_value_kind(&c->args[i]);
    if (got == k)
        return MPX_OK;
    return mpx_call_fail(c, MPX_ETYPE, "%s must be %s, not %s", what, mpx_kind_name(k),
                         mpx_kind_name(got));
}

int mpx_call_sequence_arg(mpx_call *c, size_t i, const char *what, mpx_value **items, size_t *n)
{
    mpx_kind k = mpx_value_kind(&c->args[i]);
    if (k != MPX_LIST && k != MPX_TUPLE)
        return mpx_call_fail(c, MPX_ETYPE, "%s must be a list or tuple, not %s", what,
                             mpx_kind_name(k));
    *items = mpx_value_items(&c->args[i]);
    *n = mpx_value_len(&c->args[i]);
    return MPX_OK;
}

int mpx_call_count_arg(mpx_call *c, size_t i, const char *what, int64_t dflt, int64_t *out)
{
    *out = dflt;
    if (c->nargs <= i)
        return MPX_OK;
    int rc = mpx_call_expect_kind(c, i, MPX_INT, what);
    if (rc != MPX_OK)
        return rc;
    *out = mpx_value_get_int(&c->args[i]);
    if (*out < 1)
        return mpx_call_fail(c, MPX_EVALUE, "%s must be at least 1", what);
    return MPX_OK;
}

int mpx_call_reserve(mpx_call *c, size_t bytes)
{
    const mpx_server *s = c->srv;
    if (s == NULL || s->opts.max_memory == 0)
        return MPX_OK;
    size_t used = s->mem.used, max = s->opts.max_memory;
    if (used <= max && bytes <= max - used)
        return MPX_OK;
    if (used > max)
        return mpx_call_fail(c, MPX_ENOMEM, "OOM command not allowed when used memory > "
                             "'max-memory' (%zu bytes used, max-memory %zu)", used, max);
    return mpx_call_fail(c, MPX_ENOMEM, "OOM command not allowed: it needs about %zu bytes "
                         "and used memory would be > 'max-memory' (%zu bytes used, "
                         "max-memory %zu)", bytes, used, max);
}

/* Python's wording: "pop expected at most 2 arguments, got 3". */
static int check_arity(mpx_call *c, const char *name, size_t min, size_t max)
{
    if (c->nargs >= min && c->nargs <= max)
        return MPX_OK;
    if (min == max)
        return mpx_call_fail(c, MPX_ETYPE, "%s expected %zu argument%s, got %zu", name, min,
                             min == 1 ? "" : "s", c->nargs);
    if (c->nargs < min)
        return mpx_call_fail(c, MPX_ETYPE, "%s expected at least %zu argument%s, got %zu", name,
                             min, min == 1 ? "" : "s", c->nargs);
    return mpx_call_fail(c, MPX_ETYPE, "%s expected at most %zu argument%s, got %zu", name, max,
                         max == 1 ? "" : "s", c->nargs);
}

int object_invoke(mpx_object *obj, const char *method, mpx_call *c)
{
    const mpx_method *m = method_index_find(obj->methods, method, strlen(method));
    if (m == NULL)
        return mpx_call_fail(c, MPX_ENOMETHOD, "'%s' object has no method '%s'", obj->type->name,
                             method);
    int rc = check_arity(c, m->name, m->min_args, m->max_args);
    if (rc != MPX_OK)
        return rc;
    c->obj = obj;
    c->fn = m->fn;
    if (c->srv != NULL)
        admin_count_call(c->srv, obj->methods, m);
    if ((m->flags & MPX_METHOD_GROWS) && (rc = mpx_call_reserve(c, 0)) != MPX_OK)
        return rc;
    return m->fn(c);
}

int object_init(mpx_object *obj, mpx_call *c)
{
    const mpx_type *t = obj->type;
    int rc = check_arity(c, t->name, t->min_init_args, t->max_init_args);
    if (rc != MPX_OK)
        return rc;
    c->obj = obj;
    return t->init(obj, c);
}

void object_clear(mpx_object *obj)
{
    if (obj->type != NULL && obj->type->destroy != NULL)
        obj->type->destroy(obj);
    mpx_value_free(&obj->value);
    obj->state = NULL;
}
