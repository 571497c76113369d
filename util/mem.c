/* mem.c - see mem.h.
 *
 * The size counted is the allocator's (malloc_usable_size), not the one asked for, so that
 * a free needs no size and the counter is what the heap really gives the manager: a
 * 6-byte string costs its 24-byte chunk. The scope is a thread-local pointer rather than
 * an argument, because values are made deep inside protocol/ on behalf of either side.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static _Thread_local mem_counter *scope;

static void count_in(mem_counter *c, void *p)
{
    c->used += malloc_usable_size(p);
    if (c->used > c->peak)
        c->peak = c->used;
}

void *mem_alloc(size_t size)
{
    void *p = malloc(size);
    mem_counter *c = scope;
    if (c != NULL && p != NULL)
        count_in(c, p);
    return p;
}

void *mem_calloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    mem_counter *c = scope;
    if (c != NULL && p != NULL)
        count_in(c, p);
    return p;
}

void *mem_realloc(void *p, size_t size)
{
    mem_counter *c = scope;
    if (c == NULL)
        return realloc(p, size);
    size_t before = p != NULL ? malloc_usable_size(p) : 0;
    void *q = realloc(p, size);
    if (q == NULL)
        return NULL; /* p is still there, still counted */
    c->used -= before;
    count_in(c, q);
    return q;
}

void mem_free(void *p)
{
    mem_counter *c = scope;
    if (c != NULL && p != NULL)
        c->used -= malloc_usable_size(p);
    free(p);
}

char *mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mem_alloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

mem_counter *mem_scope_enter(mem_counter *c)
{
    mem_counter *previous = scope;
    scope = c;
    return previous;
}

void mem_scope_leave(mem_counter *previous)
{
    scope = previous;
}
