/* pickle.c - see pickle.h. The decoder runs pickle's stack machine over nodes of its own,
 * not over mpx_values: the memo and DUP share a node the way Python shares an object,
 * and the tree is turned into values once STOP is read, copying a node met twice (within
 * a budget linear in the input, so memo references cannot blow a small pickle up) and
 * refusing one met inside itself (a recursive structure). Every node comes from an opcode,
 * so nodes are bounded by the input's length, and all of them are freed in one place.
 * Invariant: nothing read from the wire names code to run; a global is only ever compared
 * against the allow-list below.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "mem.h"
#include "pickle.h"
#include "u64map.h"

/* ---- nodes ------------------------------------------------------------------------------ */

typedef enum node_kind {
    N_SCALAR, /* value: None, bool, int, float, str, bytes, slice */
    N_LIST,
    N_TUPLE,
    N_DICT,   /* items: key, value, key, value, ... */
    N_SET,
    N_FROZENSET,
    N_GLOBAL, /* an allowed name, not yet applied */
    N_TOKEN,  /* a multiprocessing.managers.Token (typeid, address, id) */
    N_REF,    /* a proxy rebuilt from a Token: value is its MPX_REF */
} node_kind;

/* The allowed globals: names read as data, never looked up. */
typedef enum global_id {
    G_SLICE,
    G_BYTEARRAY,
    G_SET,
    G_FROZENSET,
    G_TOKEN,
    G_REBUILD_PROXY,
    G_PROXY_CLASS, /* AutoProxy, DictProxy, ...: only as RebuildProxy's first argument */
    G_CODECS_ENCODE, /* _codecs.encode(str, 'latin1'): how protocol 2 writes bytes */
} global_id;

typedef struct node {
    node_kind kind;
    global_id global;
    unsigned refs;        /* how many places hold it: one is moved, more are copied */
    bool converting;      /* being turned into a value: met again inside, it is a cycle */
    mpx_value value;      /* N_SCALAR, N_REF; N_TOKEN: its state tuple */
    struct node **items;  /* N_LIST, N_TUPLE, N_DICT, N_SET, N_FROZENSET */
    size_t n, cap;
} node;

typedef struct unpickler {
    const uint8_t *p, *end;
    node **stack;
    size_t depth, stack_cap;
    size_t *marks;        /* stack depths of the open MARKs */
    size_t nmarks, marks_cap;
    u64map memo;          /* index + 1 -> node */
    node **all;           /* every node made, to free them */
    size_t nall, all_cap;
    size_t budget;        /* value cells and bytes the conversion may still make */
    char *err;
    size_t errlen;
} unpickler;

static int fail(unpickler *u, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(unpickler *u, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (u->err != NULL && u->errlen > 0)
        vsnprintf(u->err, u->errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* Grows *arr (of elem-sized items) to hold one more; MPX_OK or MPX_ENOMEM. */
static int grow(void **arr, size_t *cap, size_t len, size_t elem)
{
    if (len < *cap)
        return MPX_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *n = realloc(*arr, ncap * elem);
    if (n == NULL)
        return MPX_ENOMEM;
    *arr = n;
    *cap = ncap;
    return MPX_OK;
}

static node *node_new(unpickler *u, node_kind kind)
{
    if (grow((void **)&u->all, &u->all_cap, u->nall, sizeof *u->all) != MPX_OK)
        return NULL;
    node *n = calloc(1, sizeof *n);
    if (n != NULL) {
        n->kind = kind;
        u->all[u->nall++] = n;
    }
    return n;
}

static int node_add(node *container, node *item)
{
    if (grow((void **)&container->items, &container->cap, container->n,
             sizeof *container->items) != MPX_OK)
        return MPX_ENOMEM;
    container->items[container->n++] = item;
    item->refs++;
    return MPX_OK;
}

/* ---- the stack ---------------------------------------------------------------------------- */

static int push(unpickler *u, node *n)
{
    if (n == NULL)
        return fail(u, MPX_ENOMEM, "out of memory");
    if (grow((void **)&u->stack, &u->stack_cap, u->depth, sizeof *u->stack) != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    u->stack[u->depth++] = n;
    return MPX_OK;
}

static size_t floor_of_stack(const unpickler *u)
{
    return u->nmarks > 0 ? u->marks[u->nmarks - 1] : 0;
}

static int pop(unpickler *u, node **out)
{
    if (u->depth <= floor_of_stack(u))
        return fail(u, MPX_EPROTO, "unpickling stack underflow");
    *out = u->stack[--u->depth];
    return MPX_OK;
}

/* The top two: *upper was pushed last. */
static int pop2(unpickler *u, node **lower, node **upper)
{
    int rc = pop(u, upper);
    return rc == MPX_OK ? pop(u, lower) : rc;
}

static int top(unpickler *u, node **out)
{
    if (u->depth <= floor_of_stack(u))
        return fail(u, MPX_EPROTO, "unpickling stack underflow");
    *out = u->stack[u->depth - 1];
    return MPX_OK;
}

/* Pops the items above the last MARK, and the mark: *first indexes them in u->stack
 * (still valid until the next push) and *n counts them. */
static int pop_mark(unpickler *u, size_t *first, size_t *n)
{
    if (u->nmarks == 0)
        return fail(u, MPX_EPROTO, "could not find MARK");
    *first = u->marks[--u->nmarks];
    *n = u->depth - *first;
    u->depth = *first;
    return MPX_OK;
}

/* ---- reading the input ---------------------------------------------------------------------- */

static int take(unpickler *u, size_t n, const uint8_t **out)
{
    if ((size_t)(u->end - u->p) < n)
        return fail(u, MPX_EPROTO, "pickle data was truncated");
    *out = u->p;
    u->p += n;
    return MPX_OK;
}

static uint64_t little_endian(const uint8_t *b, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | b[i];
    return v;
}

/* A length of n little-endian bytes, checked against what is left before anything is
 * allocated for it (a huge announced length costs nothing). */
static int read_len(unpickler *u, size_t n, size_t *len)
{
    const uint8_t *b = NULL;
    int rc = take(u, n, &b);
    if (rc != MPX_OK)
        return rc;
    uint64_t v = little_endian(b, n);
    if (v > (uint64_t)(u->end - u->p))
        return fail(u, MPX_EPROTO, "pickle data was truncated");
    *len = (size_t)v;
    return MPX_OK;
}

static int push_scalar(unpickler *u, mpx_value v)
{
    node *n = node_new(u, N_SCALAR);
    if (n == NULL) {
        mpx_value_free(&v);
        return fail(u, MPX_ENOMEM, "out of memory");
    }
    n->value = v;
    return push(u, n);
}

/* str (UTF-8 as Python writes it) or bytes of n bytes at the input. */
static int push_text(unpickler *u, size_t lenbytes, bool is_str)
{
    size_t len;
    const uint8_t *b = NULL;
    int rc = read_len(u, lenbytes, &len);
    if (rc == MPX_OK)
        rc = take(u, len, &b);
    if (rc != MPX_OK)
        return rc;
    mpx_value v;
    rc = is_str ? mpx_value_strn(&v, (const char *)b, len) : mpx_value_bytes(&v, b, len);
    if (rc == MPX_EVALUE)
        return fail(u, MPX_EVALUE, "a str that is not valid UTF-8 (a lone surrogate?)");
    if (rc != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    return push_scalar(u, v);
}

/* LONG1 / LONG4: little-endian two's complement of n bytes, into 64 bits or refused. */
static int push_long(unpickler *u, size_t lenbytes)
{
    size_t len;
    const uint8_t *b = NULL;
    int rc = read_len(u, lenbytes, &len);
    if (rc == MPX_OK)
        rc = take(u, len, &b);
    if (rc != MPX_OK)
        return rc;
    if (len > 8)
        return fail(u, MPX_EOVERFLOW, "int of %zu bytes is too large for mpx (64 bits)", len);
    uint64_t v = little_endian(b, len);
    if (len > 0 && len < 8 && (b[len - 1] & 0x80))
        v |= ~(uint64_t)0 << (8 * len); /* sign extension */
    return push_scalar(u, mpx_value_int((int64_t)v));
}

static int push_float(unpickler *u)
{
    const uint8_t *b = NULL;
    int rc = take(u, 8, &b);
    if (rc != MPX_OK)
        return rc;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits = bits << 8 | b[i]; /* big-endian, as pickle writes it */
    double d;
    memcpy(&d, &bits, sizeof d);
    return push_scalar(u, mpx_value_float(d));
}

/* ---- containers -------------------------------------------------------------------------- */

/* A tuple of the top n items (n 0..3), or of the items above the mark. */
static int make_tuple(unpickler *u, size_t first, size_t n)
{
    node *t = node_new(u, N_TUPLE);
    if (t == NULL)
        return fail(u, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (node_add(t, u->stack[first + i]) != MPX_OK)
            return fail(u, MPX_ENOMEM, "out of memory");
    return push(u, t);
}

static int tuple_of_top(unpickler *u, size_t n)
{
    if (u->depth < floor_of_stack(u) + n)
        return fail(u, MPX_EPROTO, "unpickling stack underflow");
    u->depth -= n;
    return make_tuple(u, u->depth, n);
}

/* Appends the n items at u->stack[first..] to the list or dict on top (pairs for a dict). */
static int add_items(unpickler *u, size_t first, size_t n, node_kind want)
{
    node *c = NULL;
    int rc = top(u, &c);
    if (rc != MPX_OK)
        return rc;
    if (c->kind != want)
        return fail(u, MPX_EPROTO, "%s to something that is not a %s",
                    want == N_LIST ? "APPENDS" : want == N_SET ? "ADDITEMS" : "SETITEMS",
                    want == N_LIST ? "list" : want == N_SET ? "set" : "dict");
    if (want == N_DICT && n % 2 != 0)
        return fail(u, MPX_EPROTO, "odd number of items for SETITEMS");
    for (size_t i = 0; i < n; i++)
        if (node_add(c, u->stack[first + i]) != MPX_OK)
            return fail(u, MPX_ENOMEM, "out of memory");
    return MPX_OK;
}

/* LIST / DICT: a new container of the n items at u->stack[first..] (popped with their
 * mark), pushed where they were. */
static int make_container(unpickler *u, node_kind kind, size_t first, size_t n)
{
    if (kind == N_DICT && n % 2 != 0)
        return fail(u, MPX_EPROTO, "odd number of items for DICT");
    node *c = node_new(u, kind);
    if (c == NULL)
        return fail(u, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (node_add(c, u->stack[first + i]) != MPX_OK)
            return fail(u, MPX_ENOMEM, "out of memory");
    return push(u, c);
}

/* ---- globals -------------------------------------------------------------------------------- */

static bool is_proxy_class(const char *name, size_t len)
{
    static const char suffix[] = "Proxy";
    size_t s = sizeof suffix - 1;
    return len > s && memcmp(name + len - s, suffix, s) == 0;
}

/* Looks module.name up in the allow-list: a node, or an error that names it. */
static int push_global(unpickler *u, const char *module, size_t mlen, const char *name,
                       size_t nlen)
{
    static const struct {
        const char *module, *name;
        global_id id;
    } allowed[] = {
        {"builtins", "slice", G_SLICE},
        {"builtins", "bytearray", G_BYTEARRAY},
        {"builtins", "set", G_SET},
        {"builtins", "frozenset", G_FROZENSET},
        /* protocols 2 and 3 write Python 2's names (pickle's fix_imports) */
        {"__builtin__", "slice", G_SLICE},
        {"__builtin__", "bytearray", G_BYTEARRAY},
        {"__builtin__", "set", G_SET},
        {"__builtin__", "frozenset", G_FROZENSET},
        {"_codecs", "encode", G_CODECS_ENCODE},
        {"multiprocessing.managers", "Token", G_TOKEN},
        {"multiprocessing.managers", "RebuildProxy", G_REBUILD_PROXY},
    };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strlen(allowed[i].module) == mlen && memcmp(allowed[i].module, module, mlen) == 0 &&
            strlen(allowed[i].name) == nlen && memcmp(allowed[i].name, name, nlen) == 0) {
            node *g = node_new(u, N_GLOBAL);
            if (g != NULL)
                g->global = allowed[i].id;
            return push(u, g);
        }
    if (mlen == strlen("multiprocessing.managers") &&
        memcmp(module, "multiprocessing.managers", mlen) == 0 && is_proxy_class(name, nlen)) {
        node *g = node_new(u, N_GLOBAL);
        if (g != NULL)
            g->global = G_PROXY_CLASS;
        return push(u, g);
    }
    return fail(u, MPX_EVALUE,
                "global '%.*s.%.*s' is not allowed: mpx-manager runs no code from the wire",
                (int)(mlen > 100 ? 100 : mlen), module, (int)(nlen > 100 ? 100 : nlen), name);
}

static int stack_global(unpickler *u)
{
    node *name = NULL, *module = NULL;
    int rc = pop2(u, &module, &name);
    if (rc != MPX_OK)
        return rc;
    if (module->kind != N_SCALAR || mpx_value_kind(&module->value) != MPX_STR ||
        name->kind != N_SCALAR || mpx_value_kind(&name->value) != MPX_STR)
        return fail(u, MPX_EPROTO, "STACK_GLOBAL requires str");
    return push_global(u, mpx_value_str_data(&module->value), mpx_value_str_len(&module->value),
                       mpx_value_str_data(&name->value), mpx_value_str_len(&name->value));
}

/* GLOBAL: "module\nname\n" in the input (protocols 0-3 write it). */
static int text_global(unpickler *u)
{
    const uint8_t *m = u->p, *nl1 = memchr(m, '\n', (size_t)(u->end - m));
    const uint8_t *n = nl1 != NULL ? nl1 + 1 : NULL;
    const uint8_t *nl2 = n != NULL ? memchr(n, '\n', (size_t)(u->end - n)) : NULL;
    if (nl2 == NULL)
        return fail(u, MPX_EPROTO, "pickle data was truncated");
    u->p = nl2 + 1;
    return push_global(u, (const char *)m, (size_t)(nl1 - m), (const char *)n,
                       (size_t)(nl2 - n));
}

/* An int or None node as a slice part. */
static bool slice_part(const node *n, int64_t *out, bool *present)
{
    if (n->kind != N_SCALAR)
        return false;
    if (mpx_value_kind(&n->value) == MPX_NONE) {
        *present = false;
        return true;
    }
    if (mpx_value_kind(&n->value) != MPX_INT)
        return false;
    *out = mpx_value_get_int(&n->value);
    *present = true;
    return true;
}

static int reduce_slice(unpickler *u, const node *args)
{
    int64_t part[3] = {0, 0, 0};
    bool has[3] = {false, false, false};
    if (args->n < 1 || args->n > 3)
        return fail(u, MPX_EVALUE, "slice expected 1 to 3 arguments, got %zu", args->n);
    for (size_t i = 0; i < args->n; i++)
        if (!slice_part(args->items[i], &part[i], &has[i]))
            return fail(u, MPX_EVALUE, "slice parts must be int or None");
    if (args->n == 1) { /* slice(stop) */
        part[1] = part[0];
        has[1] = has[0];
        has[0] = false;
    }
    mpx_value v;
    if (mpx_value_slice(&v, has[0] ? &part[0] : NULL, has[1] ? &part[1] : NULL,
                        has[2] ? &part[2] : NULL) != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    return push_scalar(u, v);
}

static int reduce_bytearray(unpickler *u, const node *args)
{
    if (args->n == 0) {
        mpx_value v;
        return mpx_value_bytes(&v, "", 0) == MPX_OK ? push_scalar(u, v)
                                                    : fail(u, MPX_ENOMEM, "out of memory");
    }
    const node *b = args->items[0];
    if (args->n != 1 || b->kind != N_SCALAR || mpx_value_kind(&b->value) != MPX_BYTES)
        return fail(u, MPX_EVALUE, "bytearray() of something other than bytes");
    mpx_value v;
    if (mpx_value_copy(&v, &b->value) != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    return push_scalar(u, v);
}

/* _codecs.encode(text, 'latin1'): protocol 2's bytes, one code point (< 256) a byte. */
static int reduce_latin1(unpickler *u, const node *args)
{
    const node *text = args->n == 2 ? args->items[0] : NULL;
    const node *codec = args->n == 2 ? args->items[1] : NULL;
    if (text == NULL || text->kind != N_SCALAR || mpx_value_kind(&text->value) != MPX_STR ||
        codec->kind != N_SCALAR || mpx_value_kind(&codec->value) != MPX_STR ||
        (strcmp(mpx_value_str_data(&codec->value), "latin1") != 0 &&
         strcmp(mpx_value_str_data(&codec->value), "latin-1") != 0))
        return fail(u, MPX_EVALUE, "_codecs.encode is read only as protocol 2's bytes "
                                   "(a str and 'latin1')");
    const unsigned char *p = (const unsigned char *)mpx_value_str_data(&text->value);
    size_t len = mpx_value_str_len(&text->value), n = 0;
    unsigned char *bytes = malloc(len ? len : 1);
    if (bytes == NULL)
        return fail(u, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < len; n++) { /* valid UTF-8: 1 byte, or 2 for U+0080..U+00FF */
        if (p[i] < 0x80) {
            bytes[n] = p[i++];
        } else if ((p[i] == 0xc2 || p[i] == 0xc3) && i + 1 < len) {
            bytes[n] = (unsigned char)((p[i] & 0x03) << 6 | (p[i + 1] & 0x3f));
            i += 2;
        } else {
            free(bytes);
            return fail(u, MPX_EVALUE, "a latin1 str with a code point past U+00FF");
        }
    }
    mpx_value v;
    int rc = mpx_value_bytes(&v, bytes, n);
    free(bytes);
    return rc == MPX_OK ? push_scalar(u, v) : fail(u, MPX_ENOMEM, "out of memory");
}

bool pickle_ident(const mpx_value *s, uint64_t *id)
{
    if (mpx_value_kind(s) != MPX_STR)
        return false;
    const char *p = mpx_value_str_data(s);
    size_t len = mpx_value_str_len(s);
    if (len == 0 || len > 16)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *id = v;
    return v != 0;
}

/* A Token's state (typeid, address, id) as a reference to the object it names. */
static int token_ref(unpickler *u, const node *token, node **out)
{
    /* a Token that BUILD never gave its state is None: no parts to read */
    const mpx_value *state = &token->value, *typeid = NULL, *id = NULL;
    if (mpx_value_kind(state) == MPX_TUPLE && mpx_value_len(state) == 3) {
        typeid = mpx_value_at(state, 0);
        id = mpx_value_at(state, 2);
    }
    uint64_t object_id;
    if (typeid == NULL || mpx_value_kind(typeid) != MPX_STR || mpx_value_kind(id) != MPX_STR ||
        !pickle_ident(id, &object_id))
        return fail(u, MPX_EVALUE, "a proxy whose Token is not (typeid, address, id)");
    node *r = node_new(u, N_REF);
    if (r == NULL || mpx_value_ref(&r->value, object_id, mpx_value_str_data(typeid)) != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    *out = r;
    return MPX_OK;
}

/* RebuildProxy(func, token, serializer, kwds): the proxy's object, as a reference. */
static int reduce_rebuild_proxy(unpickler *u, const node *args)
{
    if (args->n != 4 || args->items[0]->kind != N_GLOBAL ||
        args->items[0]->global != G_PROXY_CLASS || args->items[1]->kind != N_TOKEN)
        return fail(u, MPX_EVALUE, "RebuildProxy expects (proxy class, Token, serializer, "
                                   "kwds)");
    node *r;
    int rc = token_ref(u, args->items[1], &r);
    return rc == MPX_OK ? push(u, r) : rc;
}

/* set(items) / frozenset(items), as protocols 2 and 3 write sets: the items of a list or
 * tuple (or none). They stay where they were too, so they are copied, not moved. */
static int reduce_set(unpickler *u, const node *args, bool frozen)
{
    const node *items = args->n == 1 ? args->items[0] : NULL;
    if (args->n > 1 || (items != NULL && items->kind != N_LIST && items->kind != N_TUPLE))
        return fail(u, MPX_EVALUE, "%s expects one list or tuple", frozen ? "frozenset" : "set");
    node *c = node_new(u, frozen ? N_FROZENSET : N_SET);
    if (c == NULL)
        return fail(u, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; items != NULL && i < items->n; i++)
        if (node_add(c, items->items[i]) != MPX_OK)
            return fail(u, MPX_ENOMEM, "out of memory");
    return push(u, c);
}

static int reduce(unpickler *u)
{
    node *args = NULL, *callable = NULL;
    int rc = pop2(u, &callable, &args);
    if (rc != MPX_OK)
        return rc;
    if (callable->kind != N_GLOBAL || args->kind != N_TUPLE)
        return fail(u, MPX_EVALUE, "REDUCE of something that is not an allowed global");
    switch (callable->global) {
    case G_SLICE: return reduce_slice(u, args);
    case G_BYTEARRAY: return reduce_bytearray(u, args);
    case G_REBUILD_PROXY: return reduce_rebuild_proxy(u, args);
    case G_CODECS_ENCODE: return reduce_latin1(u, args);
    case G_SET:
    case G_FROZENSET: return reduce_set(u, args, callable->global == G_FROZENSET);
    default: return fail(u, MPX_EVALUE, "REDUCE of a name that is data only");
    }
}

/* NEWOBJ of Token with () makes an empty Token; BUILD then gives it its state. */
static int newobj(unpickler *u)
{
    node *args = NULL, *cls = NULL;
    int rc = pop2(u, &cls, &args);
    if (rc != MPX_OK)
        return rc;
    if (cls->kind != N_GLOBAL || cls->global != G_TOKEN || args->kind != N_TUPLE ||
        args->n != 0)
        return fail(u, MPX_EVALUE, "NEWOBJ of something other than a manager Token");
    return push(u, node_new(u, N_TOKEN));
}

static int build(unpickler *u)
{
    node *state = NULL, *obj = NULL;
    int rc = pop(u, &state);
    if (rc == MPX_OK)
        rc = top(u, &obj);
    if (rc != MPX_OK)
        return rc;
    if (obj->kind != N_TOKEN || state->kind != N_TUPLE || state->n != 3)
        return fail(u, MPX_EVALUE, "BUILD of something other than a manager Token");
    /* the state is data: typeid, address (a tuple or a str), id */
    mpx_value_free(&obj->value);
    if (mpx_value_tuple(&obj->value, 3) != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < 3; i++) {
        const node *part = state->items[i];
        mpx_value copy = mpx_value_none();
        if (part->kind == N_SCALAR && mpx_value_copy(&copy, &part->value) != MPX_OK)
            return fail(u, MPX_ENOMEM, "out of memory");
        mpx_value_append(&obj->value, &copy); /* within the capacity asked for */
    }
    return MPX_OK;
}

/* ---- memo -------------------------------------------------------------------------------- */

static int memo_put(unpickler *u, uint64_t index)
{
    node *n = NULL;
    int rc = top(u, &n);
    if (rc != MPX_OK)
        return rc;
    if (index == UINT64_MAX || u64map_put(&u->memo, index + 1, n) != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    return MPX_OK;
}

static int memo_get(unpickler *u, size_t lenbytes)
{
    const uint8_t *b = NULL;
    int rc = take(u, lenbytes, &b);
    if (rc != MPX_OK)
        return rc;
    node *n = u64map_get(&u->memo, little_endian(b, lenbytes) + 1);
    if (n == NULL)
        return fail(u, MPX_EPROTO, "memo value not found at index %llu",
                    (unsigned long long)little_endian(b, lenbytes));
    return push(u, n);
}

/* ---- the machine ------------------------------------------------------------------------- */

enum {
    OP_MARK = '(', OP_STOP = '.', OP_POP = '0', OP_POP_MARK = '1', OP_DUP = '2',
    OP_BININT = 'J', OP_BININT1 = 'K', OP_BININT2 = 'M', OP_NONE = 'N', OP_REDUCE = 'R',
    OP_BINUNICODE = 'X', OP_EMPTY_LIST = ']', OP_APPEND = 'a', OP_BUILD = 'b',
    OP_GLOBAL = 'c', OP_DICT = 'd', OP_EMPTY_DICT = '}', OP_APPENDS = 'e', OP_BINGET = 'h',
    OP_LONG_BINGET = 'j', OP_LIST = 'l', OP_BINPUT = 'q', OP_LONG_BINPUT = 'r',
    OP_SETITEM = 's', OP_TUPLE = 't', OP_EMPTY_TUPLE = ')', OP_SETITEMS = 'u',
    OP_BINFLOAT = 'G', OP_BINBYTES = 'B', OP_SHORT_BINBYTES = 'C', OP_PROTO = 0x80,
    OP_NEWOBJ = 0x81, OP_TUPLE1 = 0x85, OP_TUPLE2 = 0x86, OP_TUPLE3 = 0x87,
    OP_NEWTRUE = 0x88, OP_NEWFALSE = 0x89, OP_LONG1 = 0x8a, OP_LONG4 = 0x8b,
    OP_SHORT_BINUNICODE = 0x8c, OP_BINUNICODE8 = 0x8d, OP_BINBYTES8 = 0x8e,
    OP_EMPTY_SET = 0x8f, OP_ADDITEMS = 0x90, OP_FROZENSET = 0x91, OP_STACK_GLOBAL = 0x93,
    OP_MEMOIZE = 0x94, OP_FRAME = 0x95, OP_BYTEARRAY8 = 0x96,
};

/* One opcode. *done is set by STOP. */
static int step(unpickler *u, bool *done)
{
    const uint8_t *b = NULL;
    size_t first = 0, n = 0;
    node *x = NULL, *y = NULL;
    int rc = take(u, 1, &b);
    if (rc != MPX_OK)
        return rc;
    switch (*b) {
    case OP_PROTO:
        if ((rc = take(u, 1, &b)) == MPX_OK && (*b < 2 || *b > 5))
            rc = fail(u, MPX_EPROTO, "unsupported pickle protocol: %d", *b);
        return rc;
    case OP_FRAME: return read_len(u, 8, &n); /* frames only group bytes: nothing to do */
    case OP_STOP: *done = true; return MPX_OK;
    case OP_NONE: return push_scalar(u, mpx_value_none());
    case OP_NEWTRUE: return push_scalar(u, mpx_value_bool(true));
    case OP_NEWFALSE: return push_scalar(u, mpx_value_bool(false));
    case OP_BININT1:
    case OP_BININT2:
        n = *b == OP_BININT1 ? 1 : 2;
        if ((rc = take(u, n, &b)) != MPX_OK)
            return rc;
        return push_scalar(u, mpx_value_int((int64_t)little_endian(b, n)));
    case OP_BININT:
        if ((rc = take(u, 4, &b)) != MPX_OK)
            return rc;
        return push_scalar(u, mpx_value_int((int32_t)(uint32_t)little_endian(b, 4)));
    case OP_LONG1: return push_long(u, 1);
    case OP_LONG4: return push_long(u, 4);
    case OP_BINFLOAT: return push_float(u);
    case OP_SHORT_BINUNICODE: return push_text(u, 1, true);
    case OP_BINUNICODE: return push_text(u, 4, true);
    case OP_BINUNICODE8: return push_text(u, 8, true);
    case OP_SHORT_BINBYTES: return push_text(u, 1, false);
    case OP_BINBYTES: return push_text(u, 4, false);
    case OP_BINBYTES8:
    case OP_BYTEARRAY8: return push_text(u, 8, false);
    case OP_EMPTY_TUPLE: return make_tuple(u, 0, 0);
    case OP_TUPLE1: return tuple_of_top(u, 1);
    case OP_TUPLE2: return tuple_of_top(u, 2);
    case OP_TUPLE3: return tuple_of_top(u, 3);
    case OP_TUPLE:
        if ((rc = pop_mark(u, &first, &n)) != MPX_OK)
            return rc;
        return make_tuple(u, first, n);
    case OP_EMPTY_LIST: return push(u, node_new(u, N_LIST));
    case OP_EMPTY_DICT: return push(u, node_new(u, N_DICT));
    case OP_LIST:
    case OP_DICT:
        if ((rc = pop_mark(u, &first, &n)) != MPX_OK)
            return rc;
        return make_container(u, *b == OP_LIST ? N_LIST : N_DICT, first, n);
    case OP_APPEND:
        if ((rc = pop(u, &x)) != MPX_OK)
            return rc;
        return add_items(u, u->depth, 1, N_LIST);
    case OP_SETITEM:
        if ((rc = pop2(u, &x, &y)) != MPX_OK)
            return rc;
        return add_items(u, u->depth, 2, N_DICT); /* x and y are still there, in order */
    case OP_APPENDS:
    case OP_SETITEMS:
        if ((rc = pop_mark(u, &first, &n)) != MPX_OK)
            return rc;
        return add_items(u, first, n, *b == OP_APPENDS ? N_LIST : N_DICT);
    case OP_EMPTY_SET: return push(u, node_new(u, N_SET));
    case OP_ADDITEMS:
    case OP_FROZENSET:
        if ((rc = pop_mark(u, &first, &n)) != MPX_OK)
            return rc;
        return *b == OP_ADDITEMS ? add_items(u, first, n, N_SET)
                                 : make_container(u, N_FROZENSET, first, n);
    case OP_MARK:
        if (grow((void **)&u->marks, &u->marks_cap, u->nmarks, sizeof *u->marks) != MPX_OK)
            return fail(u, MPX_ENOMEM, "out of memory");
        u->marks[u->nmarks++] = u->depth;
        return MPX_OK;
    case OP_POP: return pop(u, &x);
    case OP_POP_MARK: return pop_mark(u, &first, &n);
    case OP_DUP:
        if ((rc = top(u, &x)) != MPX_OK)
            return rc;
        return push(u, x);
    case OP_MEMOIZE: return memo_put(u, u->memo.len);
    case OP_BINPUT:
    case OP_LONG_BINPUT:
        n = *b == OP_BINPUT ? 1 : 4;
        if ((rc = take(u, n, &b)) != MPX_OK)
            return rc;
        return memo_put(u, little_endian(b, n));
    case OP_BINGET: return memo_get(u, 1);
    case OP_LONG_BINGET: return memo_get(u, 4);
    case OP_GLOBAL: return text_global(u);
    case OP_STACK_GLOBAL: return stack_global(u);
    case OP_REDUCE: return reduce(u);
    case OP_NEWOBJ: return newobj(u);
    case OP_BUILD: return build(u);
    default:
        return fail(u, MPX_EPROTO, "pickle opcode 0x%02x is not read by mpx (protocols 2-5, "
                                   "data only)", *b);
    }
}

/* ---- nodes into values ------------------------------------------------------------------ */

static int spend(unpickler *u, size_t units)
{
    if (units > u->budget)
        return fail(u, MPX_EVALUE, "the pickle refers to its parts too often (memo copies "
                                   "past the limit)");
    u->budget -= units;
    return MPX_OK;
}

static int convert(unpickler *u, node *n, int depth, bool copy, mpx_value *out);

static int convert_items(unpickler *u, node *n, int depth, bool copy, mpx_value *out)
{
    int rc = n->kind == N_LIST ? mpx_value_list(out, n->n) : mpx_value_tuple(out, n->n);
    if (rc != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        mpx_value item;
        if ((rc = convert(u, n->items[i], depth + 1, copy, &item)) != MPX_OK)
            return rc;
        mpx_value_append(out, &item); /* within the capacity asked for */
    }
    return MPX_OK;
}

static int convert_dict(unpickler *u, node *n, int depth, bool copy, mpx_value *out)
{
    if (mpx_value_dict(out) != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i + 1 < n->n; i += 2) {
        mpx_value key, val;
        int rc = convert(u, n->items[i], depth + 1, copy, &key);
        if (rc != MPX_OK)
            return rc;
        if ((rc = convert(u, n->items[i + 1], depth + 1, copy, &val)) != MPX_OK) {
            mpx_value_free(&key);
            return rc;
        }
        if ((rc = mpx_value_dict_set(out, &key, &val)) != MPX_OK) {
            const char *kind = mpx_kind_name(mpx_value_kind(&key));
            mpx_value_free(&key);
            mpx_value_free(&val);
            return rc == MPX_ETYPE ? fail(u, MPX_EVALUE, "unhashable type: '%s'", kind)
                                   : fail(u, MPX_ENOMEM, "out of memory");
        }
    }
    return MPX_OK;
}

static int convert_set(unpickler *u, node *n, int depth, bool copy, mpx_value *out)
{
    if (mpx_value_set(out, n->kind == N_FROZENSET) != MPX_OK)
        return fail(u, MPX_ENOMEM, "out of memory");
    for (size_t i = 0; i < n->n; i++) {
        mpx_value item;
        int rc = convert(u, n->items[i], depth + 1, copy, &item);
        if (rc != MPX_OK)
            return rc;
        if ((rc = mpx_value_set_add(out, &item)) != MPX_OK) {
            const char *kind = mpx_kind_name(mpx_value_kind(&item));
            mpx_value_free(&item);
            return rc == MPX_ETYPE ? fail(u, MPX_EVALUE, "unhashable type: '%s'", kind)
                                   : fail(u, MPX_ENOMEM, "out of memory");
        }
    }
    return MPX_OK;
}

/* The node as a value. A node held in more than one place is copied (and so is all of
 * it: it will be met again), paid for from the budget; one held once, under no shared
 * node, is moved out. On error *out is None. */
static int convert(unpickler *u, node *n, int depth, bool copy, mpx_value *out)
{
    *out = mpx_value_none();
    if (depth > CODEC_MAX_DEPTH)
        return fail(u, MPX_EVALUE, "nested deeper than %d", CODEC_MAX_DEPTH);
    if (n->converting)
        return fail(u, MPX_EVALUE, "a recursive structure (it contains itself)");
    bool shared = copy || n->refs > 1;
    int rc = MPX_OK;
    switch (n->kind) {
    case N_SCALAR:
    case N_REF:
        if (!shared) {
            mpx_value_move(out, &n->value);
            return MPX_OK;
        }
        if ((rc = spend(u, 16 + mpx_value_len(&n->value))) != MPX_OK)
            return rc;
        return mpx_value_copy(out, &n->value) == MPX_OK ? MPX_OK
                                                        : fail(u, MPX_ENOMEM, "out of memory");
    case N_LIST:
    case N_TUPLE:
    case N_DICT:
    case N_SET:
    case N_FROZENSET:
        if (shared && (rc = spend(u, 16 * (n->n + 1))) != MPX_OK)
            return rc;
        n->converting = true;
        rc = n->kind == N_DICT ? convert_dict(u, n, depth, shared, out)
             : n->kind == N_SET || n->kind == N_FROZENSET
                 ? convert_set(u, n, depth, shared, out)
                 : convert_items(u, n, depth, shared, out);
        n->converting = false;
        if (rc != MPX_OK)
            mpx_value_free(out);
        return rc;
    case N_GLOBAL: return fail(u, MPX_EVALUE, "a bare global is not a value");
    case N_TOKEN: { /* get_methods(token): the object it names */
        node *r;
        if ((rc = token_ref(u, n, &r)) != MPX_OK)
            return rc;
        mpx_value_move(out, &r->value);
        return MPX_OK;
    }
    }
    return fail(u, MPX_EPROTO, "bad node");
}

static void unpickler_free(unpickler *u)
{
    for (size_t i = 0; i < u->nall; i++) {
        mpx_value_free(&u->all[i]->value);
        free(u->all[i]->items);
        free(u->all[i]);
    }
    free(u->all);
    free(u->stack);
    free(u->marks);
    u64map_free(&u->memo);
}

int pickle_decode(const uint8_t *buf, size_t len, mpx_value *out, char *err, size_t errlen)
{
    *out = mpx_value_none();
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    unpickler u = {.p = buf, .end = buf + len, .err = err, .errlen = errlen};
    u64map_init(&u.memo);
    u.budget = len > SIZE_MAX / 8 - 65536 ? SIZE_MAX : 8 * len + 65536;
    int rc = MPX_OK;
    bool done = false;
    while (rc == MPX_OK && !done)
        rc = step(&u, &done);
    if (rc == MPX_OK && (u.depth != 1 || u.nmarks != 0))
        rc = fail(&u, MPX_EPROTO, "pickle ends with %zu values on the stack", u.depth);
    if (rc == MPX_OK && u.p != u.end)
        rc = fail(&u, MPX_EPROTO, "bytes after the pickle's STOP");
    if (rc == MPX_OK) {
        u.stack[0]->refs++; /* the result holds it */
        rc = convert(&u, u.stack[0], 0, false, out);
    }
    unpickler_free(&u);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------- */

void pickle_out_free(pickle_out *o)
{
    mem_free(o->data);
    o->data = NULL;
    o->len = o->cap = 0;
}

static uint8_t *room(pickle_out *o, size_t n)
{
    if (o->err != MPX_OK)
        return NULL;
    if (n > SIZE_MAX / 2 - o->len) {
        o->err = MPX_ENOMEM;
        return NULL;
    }
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *d = mem_realloc(o->data, cap);
        if (d == NULL) {
            o->err = MPX_ENOMEM;
            return NULL;
        }
        o->data = d;
        o->cap = cap;
    }
    uint8_t *at = o->data + o->len;
    o->len += n;
    return at;
}

static void put_byte(pickle_out *o, uint8_t b)
{
    uint8_t *at = room(o, 1);
    if (at != NULL)
        *at = b;
}

static void put_le(pickle_out *o, uint64_t v, size_t n)
{
    uint8_t *at = room(o, n);
    for (size_t i = 0; at != NULL && i < n; i++, v >>= 8)
        at[i] = (uint8_t)v;
}

static void put_bytes(pickle_out *o, const void *data, size_t n)
{
    uint8_t *at = room(o, n);
    if (at != NULL && n > 0)
        memcpy(at, data, n);
}

int pickle_begin(pickle_out *o)
{
    put_byte(o, OP_PROTO);
    put_byte(o, 4);
    return o->err;
}

int pickle_end(pickle_out *o)
{
    put_byte(o, OP_STOP);
    return o->err;
}

/* str or bytes with the shortest length prefix. */
static void put_text(pickle_out *o, const char *s, size_t len, bool is_str)
{
    if (len < 256) {
        put_byte(o, is_str ? OP_SHORT_BINUNICODE : OP_SHORT_BINBYTES);
        put_le(o, len, 1);
    } else if (len <= UINT32_MAX) {
        put_byte(o, is_str ? OP_BINUNICODE : OP_BINBYTES);
        put_le(o, len, 4);
    } else {
        put_byte(o, is_str ? OP_BINUNICODE8 : OP_BINBYTES8);
        put_le(o, len, 8);
    }
    put_bytes(o, s, len);
}

int pickle_str(pickle_out *o, const char *s, size_t len)
{
    put_text(o, s, len, true);
    return o->err;
}

static void put_int(pickle_out *o, int64_t v)
{
    if (v >= 0 && v < 256) {
        put_byte(o, OP_BININT1);
        put_le(o, (uint64_t)v, 1);
    } else if (v >= 0 && v < 65536) {
        put_byte(o, OP_BININT2);
        put_le(o, (uint64_t)v, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        put_byte(o, OP_BININT);
        put_le(o, (uint64_t)(uint32_t)(int32_t)v, 4);
    } else { /* LONG1 with the fewest bytes that keep the sign */
        size_t n = 8;
        while (n > 1) {
            int64_t shifted = v >> (8 * (n - 1) - 1);
            if (shifted != 0 && shifted != -1)
                break;
            n--;
        }
        put_byte(o, OP_LONG1);
        put_le(o, n, 1);
        put_le(o, (uint64_t)v, n);
    }
}

static void put_float(pickle_out *o, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    put_byte(o, OP_BINFLOAT);
    uint8_t *at = room(o, 8);
    for (int i = 7; at != NULL && i >= 0; i--, bits >>= 8)
        at[i] = (uint8_t)bits;
}

int pickle_global(pickle_out *o, const char *module, const char *name)
{
    put_text(o, module, strlen(module), true);
    put_text(o, name, strlen(name), true);
    put_byte(o, OP_STACK_GLOBAL);
    return o->err;
}

int pickle_mark(pickle_out *o)
{
    put_byte(o, OP_MARK);
    return o->err;
}

int pickle_tuple(pickle_out *o, size_t n)
{
    static const uint8_t small[] = {OP_EMPTY_TUPLE, OP_TUPLE1, OP_TUPLE2, OP_TUPLE3};
    put_byte(o, n == PICKLE_MARKED ? OP_TUPLE : small[n < 4 ? n : 0]);
    if (n != PICKLE_MARKED && n > 3)
        o->err = MPX_EINVAL;
    return o->err;
}

int pickle_newobj(pickle_out *o)
{
    put_byte(o, OP_NEWOBJ);
    return o->err;
}

int pickle_build(pickle_out *o)
{
    put_byte(o, OP_BUILD);
    return o->err;
}

int pickle_reduce(pickle_out *o)
{
    put_byte(o, OP_REDUCE);
    return o->err;
}

static int put_value(pickle_out *o, const mpx_value *v, pickle_ref_fn ref, void *ctx,
                     int depth);

/* Items in batches of 1000 between marks, as Python writes APPENDS and SETITEMS. */
static void put_seq(pickle_out *o, const mpx_value *v, pickle_ref_fn ref, void *ctx,
                    int depth)
{
    size_t n = mpx_value_len(v);
    if (mpx_value_kind(v) == MPX_TUPLE) {
        if (n > 3)
            put_byte(o, OP_MARK);
        for (size_t i = 0; i < n && o->err == MPX_OK; i++)
            put_value(o, mpx_value_at(v, i), ref, ctx, depth + 1);
        pickle_tuple(o, n > 3 ? PICKLE_MARKED : n);
        return;
    }
    put_byte(o, OP_EMPTY_LIST);
    for (size_t i = 0; i < n && o->err == MPX_OK; i += 1000) {
        put_byte(o, OP_MARK);
        for (size_t j = i; j < n && j < i + 1000 && o->err == MPX_OK; j++)
            put_value(o, mpx_value_at(v, j), ref, ctx, depth + 1);
        put_byte(o, OP_APPENDS);
    }
}

/* EMPTY_SET, then MARK items ADDITEMS in batches of 1000; a frozenset is MARK items
 * FROZENSET. As CPython's pickler writes them (protocol 4). */
static void put_set(pickle_out *o, const mpx_value *v, pickle_ref_fn ref, void *ctx,
                    int depth)
{
    bool frozen = mpx_value_kind(v) == MPX_FROZENSET;
    size_t pos = 0, batch = 0;
    mpx_value *item;
    if (frozen)
        put_byte(o, OP_MARK);
    else
        put_byte(o, OP_EMPTY_SET);
    while (o->err == MPX_OK && mpx_value_set_next(v, &pos, &item)) {
        if (!frozen && batch == 0)
            put_byte(o, OP_MARK);
        put_value(o, item, ref, ctx, depth + 1);
        if (!frozen && ++batch == 1000) {
            put_byte(o, OP_ADDITEMS);
            batch = 0;
        }
    }
    if (frozen)
        put_byte(o, OP_FROZENSET);
    else if (batch > 0)
        put_byte(o, OP_ADDITEMS);
}

static void put_dict(pickle_out *o, const mpx_value *v, pickle_ref_fn ref, void *ctx,
                     int depth)
{
    put_byte(o, OP_EMPTY_DICT);
    size_t pos = 0, batch = 0;
    mpx_value *key, *val;
    while (o->err == MPX_OK && mpx_value_dict_next(v, &pos, &key, &val)) {
        if (batch == 0)
            put_byte(o, OP_MARK);
        put_value(o, key, ref, ctx, depth + 1);
        put_value(o, val, ref, ctx, depth + 1);
        if (++batch == 1000) {
            put_byte(o, OP_SETITEMS);
            batch = 0;
        }
    }
    if (batch > 0)
        put_byte(o, OP_SETITEMS);
}

static void put_slice(pickle_out *o, const mpx_value *v)
{
    pickle_global(o, "builtins", "slice");
    for (int i = 0; i < 3; i++) {
        int64_t part;
        if (mpx_value_slice_part(v, i, &part))
            put_int(o, part);
        else
            put_byte(o, OP_NONE);
    }
    put_byte(o, OP_TUPLE3);
    put_byte(o, OP_REDUCE);
}

static int put_value(pickle_out *o, const mpx_value *v, pickle_ref_fn ref, void *ctx,
                     int depth)
{
    if (o->err != MPX_OK)
        return o->err;
    if (depth > CODEC_MAX_DEPTH)
        return o->err = MPX_EVALUE;
    switch (mpx_value_kind(v)) {
    case MPX_NONE: put_byte(o, OP_NONE); break;
    case MPX_BOOL: put_byte(o, mpx_value_get_bool(v) ? OP_NEWTRUE : OP_NEWFALSE); break;
    case MPX_INT: put_int(o, mpx_value_get_int(v)); break;
    case MPX_FLOAT: put_float(o, mpx_value_get_float(v)); break;
    case MPX_STR:
    case MPX_BYTES:
        put_text(o, mpx_value_str_data(v), mpx_value_str_len(v), mpx_value_kind(v) == MPX_STR);
        break;
    case MPX_LIST:
    case MPX_TUPLE: put_seq(o, v, ref, ctx, depth); break;
    case MPX_DICT: put_dict(o, v, ref, ctx, depth); break;
    case MPX_SET:
    case MPX_FROZENSET: put_set(o, v, ref, ctx, depth); break;
    case MPX_SLICE: put_slice(o, v); break;
    case MPX_REF:
        if (ref == NULL)
            o->err = MPX_EVALUE;
        else if (o->err == MPX_OK)
            o->err = ref(o, v, ctx);
        break;
    default: o->err = MPX_EVALUE; break;
    }
    return o->err;
}

int pickle_value(pickle_out *o, const mpx_value *v, pickle_ref_fn ref, void *ctx)
{
    return put_value(o, v, ref, ctx, 0);
}
