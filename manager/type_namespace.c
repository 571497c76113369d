/* type_namespace.c - multiprocessing.managers.Namespace: attributes kept on the manager.
 *
 * obj->value is a dict whose keys are always str (attribute names); values sent in are
 * moved in. Names starting with '_' are stored like any other: Python's NamespaceProxy
 * keeps those on the proxy and never sends them, so a client mirroring it stays
 * compatible, while a C client may use them. repr() hides them, as Python's does.
 */
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "types.h"

/* Python compares str by code point, which for UTF-8 is byte order. */
static int str_order(const char *a, size_t alen, const char *b, size_t blen)
{
    int d = memcmp(a, b, alen < blen ? alen : blen);
    if (d != 0)
        return d;
    return alen < blen ? -1 : alen > blen;
}

static int name_order(const void *pa, const void *pb)
{
    const mpx_value *a = *(const mpx_value *const *)pa, *b = *(const mpx_value *const *)pb;
    return str_order(mpx_value_str_data(a), mpx_value_str_len(a), mpx_value_str_data(b),
                     mpx_value_str_len(b));
}

/* TypeError unless args[i] is a str, in Python's words for getattr/setattr/delattr. */
static int expect_name(mpx_call *c, size_t i)
{
    mpx_kind k = mpx_value_kind(&c->args[i]);
    if (k == MPX_STR)
        return MPX_OK;
    return mpx_call_fail(c, MPX_ETYPE, "attribute name must be string, not '%s'",
                         mpx_kind_name(k));
}

static int no_attribute(mpx_call *c, const mpx_value *name)
{
    return mpx_call_fail(c, MPX_EATTR, "'Namespace' object has no attribute '%s'",
                         mpx_value_str_data(name));
}

/* Namespace() or Namespace({name: value, ...}), the dict standing for Python's **kwds. */
static int namespace_init(mpx_object *obj, mpx_call *c)
{
    if (c->nargs == 0)
        return mpx_value_dict(&obj->value) == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
    mpx_value *attrs = &c->args[0];
    if (mpx_value_kind(attrs) != MPX_DICT)
        return mpx_call_fail(c, MPX_ETYPE, "Namespace() argument must be a dict, not '%s'",
                             mpx_kind_name(mpx_value_kind(attrs)));
    size_t pos = 0;
    mpx_value *k, *v;
    while (mpx_value_dict_next(attrs, &pos, &k, &v))
        if (mpx_value_kind(k) != MPX_STR)
            return mpx_call_fail(c, MPX_ETYPE, "keywords must be strings");
    mpx_value_move(&obj->value, attrs);
    return MPX_OK;
}

static int namespace_getattribute(mpx_call *c)
{
    int rc = expect_name(c, 0);
    if (rc != MPX_OK)
        return rc;
    mpx_value *found;
    if (mpx_value_dict_find(&c->obj->value, &c->args[0], &found) != MPX_OK)
        return no_attribute(c, &c->args[0]);
    return mpx_value_copy(&c->result, found) == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

static int namespace_setattr(mpx_call *c)
{
    int rc = expect_name(c, 0);
    if (rc != MPX_OK)
        return rc;
    rc = mpx_value_dict_set(&c->obj->value, &c->args[0], &c->args[1]);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

static int namespace_delattr(mpx_call *c)
{
    int rc = expect_name(c, 0);
    if (rc != MPX_OK)
        return rc;
    if (mpx_value_dict_pop(&c->obj->value, &c->args[0], NULL, NULL) != MPX_OK)
        return no_attribute(c, &c->args[0]);
    return MPX_OK;
}

/* __dir__(): the attribute names, sorted (what dir() shows of them). */
static int namespace_dir(mpx_call *c)
{
    const mpx_value *attrs = &c->obj->value;
    size_t n = mpx_value_len(attrs), pos = 0, i = 0;
    const mpx_value **names = malloc((n ? n : 1) * sizeof *names);
    mpx_value list = mpx_value_none();
    if (names == NULL || mpx_value_list(&list, n) != MPX_OK) {
        free(names);
        return mpx_call_fail_nomem(c);
    }
    mpx_value *k, *v;
    while (mpx_value_dict_next(attrs, &pos, &k, &v))
        names[i++] = k;
    qsort(names, n, sizeof *names, name_order);
    for (i = 0; i < n; i++) {
        mpx_value name = mpx_value_none();
        if (mpx_value_copy(&name, names[i]) != MPX_OK ||
            mpx_value_append(&list, &name) != MPX_OK) {
            mpx_value_free(&name);
            mpx_value_free(&list);
            free(names);
            return mpx_call_fail_nomem(c);
        }
    }
    free(names);
    mpx_value_move(&c->result, &list);
    return MPX_OK;
}

static int namespace_copy(mpx_call *c)
{
    return mpx_value_copy(&c->result, &c->obj->value) == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

/* One "name=repr(value)" piece of the repr. */
typedef struct piece {
    char *text;
    size_t len;
} piece;

static int piece_order(const void *pa, const void *pb)
{
    const piece *a = pa, *b = pb;
    return str_order(a->text, a->len, b->text, b->len);
}

/* Python's Namespace.__repr__: "name=repr(value)" for names not starting with '_', the
 * pieces sorted as strings (so "a0=1" sorts before "a=2"), joined by ", ". */
static int namespace_repr(mpx_call *c)
{
    const mpx_value *attrs = &c->obj->value;
    size_t n = mpx_value_len(attrs), count = 0, total = sizeof "Namespace()", pos = 0;
    piece *pieces = calloc(n ? n : 1, sizeof *pieces);
    int rc = pieces != NULL ? MPX_OK : MPX_ENOMEM;
    mpx_value *k, *v;
    while (rc == MPX_OK && mpx_value_dict_next(attrs, &pos, &k, &v)) {
        size_t nlen = mpx_value_str_len(k);
        if (nlen > 0 && mpx_value_str_data(k)[0] == '_')
            continue;
        char *vrepr = mpx_value_repr(v);
        size_t vlen = vrepr != NULL ? strlen(vrepr) : 0;
        piece *p = &pieces[count];
        p->len = nlen + 1 + vlen;
        p->text = vrepr != NULL ? malloc(p->len) : NULL;
        if (p->text != NULL) {
            memcpy(p->text, mpx_value_str_data(k), nlen);
            p->text[nlen] = '=';
            memcpy(p->text + nlen + 1, vrepr, vlen);
            total += p->len + 2;
            count++;
        } else {
            rc = MPX_ENOMEM;
        }
        free(vrepr);
    }
    char *out = rc == MPX_OK ? malloc(total) : NULL;
    if (out != NULL) {
        qsort(pieces, count, sizeof *pieces, piece_order);
        size_t len = 0;
        memcpy(out, "Namespace(", 10);
        len = 10;
        for (size_t i = 0; i < count; i++) {
            if (i > 0) {
                memcpy(out + len, ", ", 2);
                len += 2;
            }
            memcpy(out + len, pieces[i].text, pieces[i].len);
            len += pieces[i].len;
        }
        out[len++] = ')';
        rc = mpx_value_strn(&c->result, out, len);
        free(out);
    } else {
        rc = MPX_ENOMEM;
    }
    for (size_t i = 0; pieces != NULL && i < count; i++)
        free(pieces[i].text);
    free(pieces);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

static const mpx_method namespace_methods[] = {
    {"__getattribute__", namespace_getattribute, 1, 1, 0},
    {"__setattr__", namespace_setattr, 2, 2, MPX_METHOD_GROWS},
    {"__delattr__", namespace_delattr, 1, 1, 0},
    {"__dir__", namespace_dir, 0, 0, 0},
    {"copy", namespace_copy, 0, 0, 0},
    {"__repr__", namespace_repr, 0, 0, 0},
};

const mpx_type type_namespace = {
    .name = "Namespace",
    .init = namespace_init,
    .destroy = NULL,
    .methods = namespace_methods,
    .nmethods = sizeof namespace_methods / sizeof namespace_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};
