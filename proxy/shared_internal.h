/* shared_internal.h - what the Value and Array proxies share (defined in value_obj.c):
 * the typecode argument, and reading a reply as the C number the caller asked for.
 */
#ifndef MPX_PROXY_SHARED_INTERNAL_H
#define MPX_PROXY_SHARED_INTERNAL_H

#include "proxy_internal.h"

/* *out = typecode as a 1-character str value, for a constructor; the caller frees it. */
int shared_typecode_value(mpx_client *c, char typecode, mpx_value *out);
/* Takes *reply (freed here, whatever happens): an int into *out; another kind is
 * MPX_ETYPE, since the Value or Array holds something else. */
int shared_reply_int(mpx_proxy *p, const char *method, mpx_value *reply, int64_t *out);
/* Takes *reply: a float, or an int converted, into *out; another kind is MPX_ETYPE. */
int shared_reply_float(mpx_proxy *p, const char *method, mpx_value *reply, double *out);
/* The object's typecode() as a char. */
int shared_call_typecode(mpx_proxy *p, char *out);

#endif
