/* mpx/links.h - the links of the manager's intrusive lists, which mpx/type.h's structs
 * embed (a wait list, a parked call). Only their layout is public, so that a type can
 * hold a wait list by value; the manager's own list functions work on them, nothing
 * outside it should. A zeroed head is an empty list and a zeroed link is in none.
 */
#ifndef MPX_LINKS_H
#define MPX_LINKS_H

#include <stddef.h>

typedef struct mpx_link {
    struct mpx_link *prev;
    struct mpx_link *next;
} mpx_link;

typedef struct mpx_links {
    mpx_link *head;
    mpx_link *tail;
    size_t len;
} mpx_links;

#endif
