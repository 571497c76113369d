/* type_dict.c - the shared dict: Python's dict methods over an insertion-ordered mpx map.
 *
 * obj->value is always an MPX_DICT. Keys and values arriving in a call are moved into the
 * map, never copied; what a call hands back while the map keeps it (get, keys, items,
 * copy) is a deep copy. Errors carry Python's exception and wording: a missing key is
 * KeyError with repr(key) as the message, an unhashable one "unhashable type: 'list'".
 */
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "types.h"

/* The part of key Python names when hashing fails: hash((1, [2])) blames the list. */
static mpx_kind unhashable_kind(const mpx_value *key)
{
    if (mpx_value_kind(key) == MPX_TUPLE) {
        size_t n = mpx_value_len(key);
        for (size_t i = 0; i < n; i++) {
            const mpx_value *item = mpx_value_at(key, i);
            if (!mpx_value_hashable(item))
                return unhashable_kind(item);
        }
    }
    return mpx_value_kind(key);
}

/* Turns a map status about key into the call's error: KeyError, TypeError or ENOMEM. */
static int key_fail(mpx_call *c, int rc, const mpx_value *key)
{
    switch (rc) {
    case MPX_EKEY:
        return mpx_call_fail_repr(c, MPX_EKEY, key);
    case MPX_ETYPE:
        return mpx_call_fail(c, MPX_ETYPE, "unhashable type: '%s'",
                             mpx_kind_name(unhashable_kind(key)));
    default:
        return mpx_call_fail_nomem(c);
    }
}

/* Stores key: val, taking both; on failure the call's error names key. */
static int dict_put(mpx_call *c, mpx_value *dict, mpx_value *key, mpx_value *val)
{
    int rc = mpx_value_dict_set(dict, key, val);
    return rc == MPX_OK ? MPX_OK : key_fail(c, rc, key);
}

/* One element of dict.update's sequence form: a 2-item iterable becomes key: value. */
static int merge_pair(mpx_call *c, mpx_value *dict, mpx_value *elem, size_t index)
{
    mpx_value tmp = mpx_value_none(), *kv;
    size_t n;
    int rc = iterable_items(c, elem, &tmp, &kv, &n);
    if (rc == MPX_ETYPE)
        return mpx_call_fail(c, MPX_ETYPE,
                             "cannot convert dictionary update sequence element #%zu "
                             "to a sequence",
                             index);
    if (rc != MPX_OK)
        return rc;
    if (n != 2)
        rc = mpx_call_fail(c, MPX_EVALUE,
                           "dictionary update sequence element #%zu has length %zu; 2 is required",
                           index, n);
    else
        rc = dict_put(c, dict, &kv[0], &kv[1]);
    mpx_value_free(&tmp);
    return rc;
}

/* dict.update(src) with src owned by the call: a dict's pairs or a sequence of pairs are
 * moved in. As in Python, pairs stored before an error stay stored. */
static int dict_merge(mpx_call *c, mpx_value *dict, mpx_value *src)
{
    if (mpx_value_kind(src) == MPX_DICT) {
        if (mpx_value_len(dict) == 0) { /* nothing to merge into: take src whole */
            mpx_value_free(dict);
            mpx_value_move(dict, src);
            return MPX_OK;
        }
        /* src is only freed after this, so its cells may be emptied while walking it. */
        size_t pos = 0;
        mpx_value *k, *v;
        while (mpx_value_dict_next(src, &pos, &k, &v)) {
            mpx_value key = mpx_value_none(), val = mpx_value_none();
            mpx_value_move(&key, k);
            mpx_value_move(&val, v);
            int rc = mpx_value_dict_set(dict, &key, &val);
            if (rc != MPX_OK) {
                mpx_value_free(&key);
                mpx_value_free(&val);
                return mpx_call_fail_nomem(c);
            }
        }
        return MPX_OK;
    }
    mpx_value tmp = mpx_value_none(), *items;
    size_t n;
    int rc = iterable_items(c, src, &tmp, &items, &n);
    for (size_t i = 0; rc == MPX_OK && i < n; i++)
        rc = merge_pair(c, dict, &items[i], i);
    mpx_value_free(&tmp);
    return rc;
}

/* dict() or dict(mapping_or_pairs). */
static int dict_init(mpx_object *obj, mpx_call *c)
{
    if (c->nargs == 1 && mpx_value_kind(&c->args[0]) == MPX_DICT) {
        mpx_value_move(&obj->value, &c->args[0]);
        return MPX_OK;
    }
    if (mpx_value_dict(&obj->value) != MPX_OK)
        return mpx_call_fail_nomem(c);
    return c->nargs == 1 ? dict_merge(c, &obj->value, &c->args[0]) : MPX_OK;
}

static int dict_getitem(mpx_call *c)
{
    mpx_value *found;
    int rc = mpx_value_dict_find(&c->obj->value, &c->args[0], &found);
    if (rc != MPX_OK)
        return key_fail(c, rc, &c->args[0]);
    if (mpx_value_copy(&c->result, found) != MPX_OK)
        return mpx_call_fail_nomem(c);
    return MPX_OK;
}

static int dict_setitem(mpx_call *c)
{
    return dict_put(c, &c->obj->value, &c->args[0], &c->args[1]);
}

static int dict_delitem(mpx_call *c)
{
    int rc = mpx_value_dict_pop(&c->obj->value, &c->args[0], NULL, NULL);
    return rc == MPX_OK ? MPX_OK : key_fail(c, rc, &c->args[0]);
}

static int dict_contains(mpx_call *c)
{
    mpx_value *found;
    int rc = mpx_value_dict_find(&c->obj->value, &c->args[0], &found);
    if (rc != MPX_OK && rc != MPX_EKEY)
        return key_fail(c, rc, &c->args[0]);
    c->result = mpx_value_bool(rc == MPX_OK);
    return MPX_OK;
}

static int dict_len(mpx_call *c)
{
    c->result = mpx_value_int((int64_t)mpx_value_len(&c->obj->value));
    return MPX_OK;
}

/* get(key[, default]): the default is None when not given. */
static int dict_get(mpx_call *c)
{
    mpx_value *found;
    int rc = mpx_value_dict_find(&c->obj->value, &c->args[0], &found);
    if (rc == MPX_EKEY) {
        if (c->nargs > 1)
            mpx_value_move(&c->result, &c->args[1]);
        return MPX_OK;
    }
    if (rc != MPX_OK)
        return key_fail(c, rc, &c->args[0]);
    if (mpx_value_copy(&c->result, found) != MPX_OK)
        return mpx_call_fail_nomem(c);
    return MPX_OK;
}

/* setdefault(key[, default]): stores default (None) when key is absent; returns the
 * value now under key. */
static int dict_setdefault(mpx_call *c)
{
    mpx_value *found;
    int rc = mpx_value_dict_find(&c->obj->value, &c->args[0], &found);
    if (rc == MPX_OK) {
        if (mpx_value_copy(&c->result, found) != MPX_OK)
            return mpx_call_fail_nomem(c);
        return MPX_OK;
    }
    if (rc != MPX_EKEY)
        return key_fail(c, rc, &c->args[0]);
    mpx_value val = mpx_value_none();
    if (c->nargs > 1)
        mpx_value_move(&val, &c->args[1]);
    if (mpx_value_copy(&c->result, &val) != MPX_OK) {
        mpx_value_free(&val);
        return mpx_call_fail_nomem(c);
    }
    rc = mpx_value_dict_set(&c->obj->value, &c->args[0], &val);
    if (rc != MPX_OK) {
        mpx_value_free(&val);
        mpx_value_free(&c->result);
        return mpx_call_fail_nomem(c);
    }
    return MPX_OK;
}

/* pop(key[, default]): KeyError only when key is absent and no default was given. */
static int dict_pop(mpx_call *c)
{
    int rc = mpx_value_dict_pop(&c->obj->value, &c->args[0], NULL, &c->result);
    if (rc == MPX_EKEY && c->nargs > 1) {
        mpx_value_move(&c->result, &c->args[1]);
        return MPX_OK;
    }
    return rc == MPX_OK ? MPX_OK : key_fail(c, rc, &c->args[0]);
}

/* popitem(): the last inserted (key, value) pair, as a tuple. */
static int dict_popitem(mpx_call *c)
{
    if (mpx_value_len(&c->obj->value) == 0)
        return mpx_call_fail(c, MPX_EKEY, "'popitem(): dictionary is empty'");
    mpx_value pair, key, val;
    if (mpx_value_tuple(&pair, 2) != MPX_OK)
        return mpx_call_fail_nomem(c);
    mpx_value_dict_popitem(&c->obj->value, &key, &val);
    if (mpx_value_append(&pair, &key) != MPX_OK || mpx_value_append(&pair, &val) != MPX_OK) {
        mpx_value_free(&key);
        mpx_value_free(&val);
        mpx_value_free(&pair);
        return mpx_call_fail_nomem(c);
    }
    mpx_value_move(&c->result, &pair);
    return MPX_OK;
}

enum view { VIEW_KEYS, VIEW_VALUES, VIEW_ITEMS };

/* keys(), values(), items(): a list of copies; items as (key, value) tuples. */
static int dict_view(mpx_call *c, enum view which)
{
    const mpx_value *dict = &c->obj->value;
    mpx_value list;
    if (mpx_value_list(&list, mpx_value_len(dict)) != MPX_OK)
        return mpx_call_fail_nomem(c);
    size_t pos = 0;
    mpx_value *k, *v;
    while (mpx_value_dict_next(dict, &pos, &k, &v)) {
        mpx_value item = mpx_value_none(), kc = mpx_value_none(), vc = mpx_value_none();
        int rc;
        if (which == VIEW_ITEMS) {
            rc = mpx_value_tuple(&item, 2);
            if (rc == MPX_OK && (rc = mpx_value_copy(&kc, k)) == MPX_OK)
                rc = mpx_value_append(&item, &kc);
            if (rc == MPX_OK && (rc = mpx_value_copy(&vc, v)) == MPX_OK)
                rc = mpx_value_append(&item, &vc);
        } else {
            rc = mpx_value_copy(&item, which == VIEW_KEYS ? k : v);
        }
        if (rc == MPX_OK)
            rc = mpx_value_append(&list, &item);
        if (rc != MPX_OK) {
            mpx_value_free(&kc);
            mpx_value_free(&vc);
            mpx_value_free(&item);
            mpx_value_free(&list);
            return mpx_call_fail_nomem(c);
        }
    }
    mpx_value_move(&c->result, &list);
    return MPX_OK;
}

static int dict_keys(mpx_call *c) { return dict_view(c, VIEW_KEYS); }
static int dict_values(mpx_call *c) { return dict_view(c, VIEW_VALUES); }
static int dict_items(mpx_call *c) { return dict_view(c, VIEW_ITEMS); }

/* update([src]): with no argument, nothing to do (Python also takes keywords; mpx has none). */
static int dict_update(mpx_call *c)
{
    return c->nargs == 0 ? MPX_OK : dict_merge(c, &c->obj->value, &c->args[0]);
}

static int dict_clear(mpx_call *c)
{
    mpx_value_dict_clear(&c->obj->value);
    return MPX_OK;
}

static int dict_copy(mpx_call *c)
{
    if (mpx_value_copy(&c->result, &c->obj->value) != MPX_OK)
        return mpx_call_fail_nomem(c);
    return MPX_OK;
}

static int dict_repr(mpx_call *c)
{
    char *text = mpx_value_repr(&c->obj->value);
    int rc = text != NULL ? mpx_value_str(&c->result, text) : MPX_ENOMEM;
    free(text);
    return rc == MPX_OK ? MPX_OK : mpx_call_fail_nomem(c);
}

static const mpx_method dict_methods[] = {
    {"__getitem__", dict_getitem, 1, 1, 0},
    {"__setitem__", dict_setitem, 2, 2, MPX_METHOD_GROWS},
    {"__delitem__", dict_delitem, 1, 1, 0},
    {"__contains__", dict_contains, 1, 1, 0},
    {"__len__", dict_len, 0, 0, 0},
    {"get", dict_get, 1, 2, 0},
    {"setdefault", dict_setdefault, 1, 2, MPX_METHOD_GROWS},
    {"pop", dict_pop, 1, 2, 0},
    {"popitem", dict_popitem, 0, 0, 0},
    {"keys", dict_keys, 0, 0, 0},
    {"values", dict_values, 0, 0, 0},
    {"items", dict_items, 0, 0, 0},
    {"update", dict_update, 0, 1, MPX_METHOD_GROWS},
    {"clear", dict_clear, 0, 0, 0},
    {"copy", dict_copy, 0, 0, 0},
    {"__repr__", dict_repr, 0, 0, 0},
};

const mpx_type type_dict = {
    .name = "dict",
    .init = dict_init,
    .destroy = NULL,
    .methods = dict_methods,
    .nmethods = sizeof dict_methods / sizeof dict_methods[0],
    .min_init_args = 0,
    .max_init_args = 1,
};
