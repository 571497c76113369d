/* arena.c - see arena.h. Blocks form a list; a request larger than a block gets a block
 * of its own size. */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"
#include "mem.h"

struct arena_block {
    arena_block *next;
    size_t size; /* bytes of data */
    alignas(max_align_t) unsigned char data[];
};

static arena_block *block_new(size_t size)
{
    arena_block *b = mem_alloc(sizeof *b + size);
    if (b != NULL) {
        b->next = NULL;
        b->size = size;
    }
    return b;
}

void arena_init(arena *a)
{
    a->first = a->current = NULL;
    a->used = 0;
}

void *arena_alloc(arena *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size > SIZE_MAX - align)
        return NULL;
    size = (size + align - 1) & ~(align - 1);
    if (a->current != NULL && a->current->size - a->used >= size) {
        void *p = a->current->data + a->used;
        a->used += size;
        return p;
    }
    /* the next block in the list may be free already (kept from before a reset) */
    arena_block *b = a->current != NULL ? a->current->next : a->first;
    if (b == NULL || b->size < size) {
        arena_block *fresh = block_new(size > ARENA_BLOCK ? size : ARENA_BLOCK);
        if (fresh == NULL)
            return NULL;
        fresh->next = b;
        if (a->current != NULL)
            a->current->next = fresh;
        else
            a->first = fresh;
        b = fresh;
    }
    a->current = b;
    a->used = size;
    return b->data;
}

void arena_reset(arena *a)
{
    if (a->first == NULL)
        return;
    if (a->first->size > ARENA_BLOCK) { /* one huge message: do not keep its block */
        arena_block *b = a->first;
        while (b != NULL) {
            arena_block *next = b->next;
            mem_free(b);
            b = next;
        }
        arena_init(a);
        return;
    }
    /* keep the first block; give the others back */
    arena_block *b = a->first->next;
    while (b != NULL) {
        arena_block *next = b->next;
        mem_free(b);
        b = next;
    }
    a->first->next = NULL;
    a->current = NULL;
    a->used = 0;
}

void arena_free(arena *a)
{
    arena_reset(a);
    mem_free(a->first);
    arena_init(a);
}
