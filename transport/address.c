/* address.c - parsing and printing tcp:// and unix:// addresses (no name resolution). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "mpx/error.h"

static int bad(char *err, size_t errlen, const char *why)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", why);
    return MPX_EADDR;
}

static int parse_port(const char *text, uint16_t *port)
{
    if (*text == '\0' || strlen(text) > 5)
        return -1;
    unsigned v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int parse_tcp(const char *rest, mpx_address *out, char *err, size_t errlen)
{
    const char *host = rest, *host_end, *colon;
    if (*rest == '[') {
        host = rest + 1;
        host_end = strchr(host, ']');
        if (host_end == NULL)
            return bad(err, errlen, "missing ']' after an IPv6 address");
        if (host_end[1] != ':')
            return bad(err, errlen, "missing ':PORT' after the host");
        colon = host_end + 1;
    } else {
        colon = strrchr(rest, ':');
        if (colon == NULL)
            return bad(err, errlen, "missing ':PORT' after the host");
        host_end = colon;
        if (memchr(rest, ':', (size_t)(colon - rest)) != NULL)
            return bad(err, errlen, "an IPv6 address must be written in brackets: [::1]:PORT");
    }
    size_t hostlen = (size_t)(host_end - host);
    if (hostlen == 0)
        return bad(err, errlen, "empty host");
    if (hostlen >= sizeof out->host)
        return bad(err, errlen, "host name too long");
    if (parse_port(colon + 1, &out->port) != 0)
        return bad(err, errlen, "port must be a number from 0 to 65535");
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    out->scheme = ADDR_TCP;
    return MPX_OK;
}

int address_parse(const char *text, mpx_address *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (text == NULL)
        return bad(err, errlen, "no address");
    if (strncmp(text, "tcp://", 6) == 0)
        return parse_tcp(text + 6, out, err, errlen);
    if (strncmp(text, "tls://", 6) == 0) { /* tcp's HOST:PORT, with TLS over it */
        int rc = parse_tcp(text + 6, out, err, errlen);
        out->scheme = ADDR_TLS;
        return rc;
    }
    if (strncmp(text, "unix://", 7) == 0) {
        const char *path = text + 7;
        if (path[0] != '/')
            return bad(err, errlen, "a unix socket path must be absolute: unix:///PATH");
        if (strlen(path) >= sizeof out->path)
            return bad(err, errlen, "unix socket path too long (at most 107 bytes)");
        strcpy(out->path, path);
        out->scheme = ADDR_UNIX;
        return MPX_OK;
    }
    if (strstr(text, "://") != NULL)
        return bad(err, errlen, "unknown scheme (use tcp://, tls:// or unix://)");
    return bad(err, errlen, "missing scheme (use tcp://HOST:PORT or unix:///PATH)");
}

int address_format(const mpx_address *a, char *buf, size_t size)
{
    int n;
    const char *scheme = a->scheme == ADDR_TLS ? "tls" : "tcp";
    if (a->scheme == ADDR_UNIX)
        n = snprintf(buf, size, "unix://%s", a->path);
    else if (strchr(a->host, ':') != NULL)
        n = snprintf(buf, size, "%s://[%s]:%u", scheme, a->host, a->port);
    else
        n = snprintf(buf, size, "%s://%s:%u", scheme, a->host, a->port);
    return n < 0 || (size_t)n >= size ? MPX_EINVAL : n;
}
