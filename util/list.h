/* list.h - the one intrusive doubly linked list: a node embedded in the element, a head
 * that counts its nodes.
 *
 * A zeroed list is empty and a zeroed node is in no list, so the structs that embed them
 * need no init. A node is in at most one list at a time; list_remove is told which, and
 * checks (assert, on in the Debug/ASan build) that the node really is one of its own.
 * Everything is O(1); list_entry gets the element from its node (container_of).
 */
#ifndef MPX_UTIL_LIST_H
#define MPX_UTIL_LIST_H

#include <assert.h>
#include <stddef.h>

#include "mpx/links.h"

/* The structs are public (mpx/links.h) because mpx/type.h's wait lists embed them. */
typedef mpx_link list_node;
typedef mpx_links list;

#define list_entry(node, type, member) ((type *)((char *)(node) - offsetof(type, member)))

static inline int list_empty(const list *l)
{
    return l->head == NULL;
}

static inline void list_push_back(list *l, list_node *n)
{
    assert(n->prev == NULL && n->next == NULL && l->head != n);
    n->prev = l->tail;
    n->next = NULL;
    if (l->tail != NULL)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
    l->len++;
}

static inline void list_push_front(list *l, list_node *n)
{
    assert(n->prev == NULL && n->next == NULL && l->head != n);
    n->prev = NULL;
    n->next = l->head;
    if (l->head != NULL)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
    l->len++;
}

static inline void list_remove(list *l, list_node *n)
{
    assert(l->len > 0);
    assert(n->prev != NULL ? n->prev->next == n : l->head == n);
    assert(n->next != NULL ? n->next->prev == n : l->tail == n);
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
    l->len--;
}

/* Removes and returns the first node, or NULL when the list is empty. */
static inline list_node *list_pop_front(list *l)
{
    list_node *n = l->head;
    if (n != NULL)
        list_remove(l, n);
    return n;
}

#endif
