/* scheme.c - from an address to its scheme's table (scheme.h). */
#include "scheme.h"

const transport_scheme *transport_scheme_of(const mpx_address *a)
{
    return a->scheme == ADDR_UNIX ? &scheme_unix : &scheme_tcp;
}
