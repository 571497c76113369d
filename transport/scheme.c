/* scheme.c - from an address to its scheme's table (scheme.h). */
#include "scheme.h"

const transport_scheme *transport_scheme_of(const mpx_address *a)
{
    switch (a->scheme) {
    case ADDR_UNIX:
        return &scheme_unix;
    case ADDR_TLS:
        return &scheme_tls;
    case ADDR_TCP:
        break;
    }
    return &scheme_tcp;
}
