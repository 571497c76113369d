/* address.h - where a manager listens and where a client connects.
 *
 * Three schemes: tcp://HOST:PORT (HOST an IPv4 literal, [IPv6] literal or a name),
 * tls://HOST:PORT (the same, with TLS over it) and unix:///ABSOLUTE/PATH. Parsing never
 * resolves names; the schemes (scheme_tcp.c) resolve at connect/bind time, so an address
 * can be parsed once and used after DNS changes.
 */
#ifndef MPX_TRANSPORT_ADDRESS_H
#define MPX_TRANSPORT_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

typedef enum addr_scheme { ADDR_TCP = 1, ADDR_UNIX = 2, ADDR_TLS = 3 } addr_scheme;

typedef struct mpx_address {
    addr_scheme scheme;
    char host[256];  /* tcp, tls: name or literal, IPv6 without brackets */
    uint16_t port;   /* tcp, tls: 1..65535; 0 is allowed for listening (any free port) */
    char path[108];  /* unix: the socket path (sun_path size) */
} mpx_address;

/* Parses text into *out. MPX_OK, or MPX_EADDR with a reason in err. */
int address_parse(const char *text, mpx_address *out, char *err, size_t errlen);

/* Formats back to the canonical text ("tcp://[::1]:5000", "unix:///run/m.sock").
 * Returns the length written (excluding NUL), or MPX_EINVAL when size is too small. */
int address_format(const mpx_address *a, char *buf, size_t size);

#endif
