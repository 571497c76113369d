/* pickle.h - the data-only subset of Python's pickle that manager clients send, and the
 * pickles the manager answers with (Python's manager protocol, the second dialect).
 *
 * pickle_decode reads protocols 2 to 5 as CPython 3.8-3.14 writes them for data: None,
 * bool, int (64 bits; a bigger one is refused), float, str, bytes, bytearray, tuple, list,
 * dict, set, frozenset, slice, the memo and framing, and a proxy passed as an argument
 * (RebuildProxy of a manager Token) as an MPX_REF. No global is ever imported or called:
 * a short allow-list of names is read as data, anything else is refused with a clear
 * error. Nesting and the work done are bounded (CODEC_MAX_DEPTH; copies made for the
 * memo stay within a budget linear in the input), so a hostile pickle of n bytes costs
 * O(n).
 * The pickle_out functions write protocol 4 pickles that every Python 3.8+ reads.
 */
#ifndef MPX_PROTOCOL_PICKLE_H
#define MPX_PROTOCOL_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/error.h"
#include "mpx/value.h"

#define PICKLE_PROTO 0x80 /* a pickle of protocol 2+ starts with it */

/* Decodes one pickle into *out (the caller's, None on error). MPX_OK; MPX_EPROTO for a
 * malformed or truncated pickle; MPX_EVALUE for data mpx does not take (a global that is
 * not allowed, an unhashable set item, a recursive structure, too deep or too large);
 * MPX_EOVERFLOW for an int beyond 64 bits; MPX_ENOMEM. The reason goes to err. */
int pickle_decode(const uint8_t *buf, size_t len, mpx_value *out, char *err, size_t errlen);

/* A manager ident (a Token's id, a request's ident): the object id in lower-case hex, as
 * Python's server writes '%x' % id(obj). False for anything else, 0 included. */
bool pickle_ident(const mpx_value *s, uint64_t *id);

/* A growing buffer a pickle is written into. Zeroed is empty; pickle_out_free frees. */
typedef struct pickle_out {
    uint8_t *data;
    size_t len;
    size_t cap;
    int err; /* the first failure; later writes do nothing */
} pickle_out;

void pickle_out_free(pickle_out *o);

/* How an MPX_REF is written (a proxy, in Python's terms): the caller knows the server's
 * address and the type's exposed methods. Returns MPX_OK or an error. NULL: refs are
 * refused with MPX_EVALUE. */
typedef int (*pickle_ref_fn)(pickle_out *o, const mpx_value *ref, void *ctx);

/* The pieces of a pickle, for the dialect to assemble its replies. pickle_begin writes
 * PROTO 4; pickle_end STOP. Each returns o->err (MPX_OK while all went well). */
int pickle_begin(pickle_out *o);
int pickle_end(pickle_out *o);
/* One value, whole. */
int pickle_value(pickle_out *o, const mpx_value *v, pickle_ref_fn ref, void *ctx);
int pickle_str(pickle_out *o, const char *s, size_t len);
/* module.name, for REDUCE (Python looks it up when it unpickles). */
int pickle_global(pickle_out *o, const char *module, const char *name);
/* MARK ... TUPLE, and a tuple of the n values on the stack (n <= 3 without a mark). */
int pickle_mark(pickle_out *o);
int pickle_tuple(pickle_out *o, size_t n_or_marked);
#define PICKLE_MARKED ((size_t)-1)
/* callable args REDUCE: the global and the argument tuple must be on the stack. */
int pickle_reduce(pickle_out *o);

/* cls args NEWOBJ (cls.__new__(cls, *args)), then state BUILD (__setstate__): how an
 * object such as a manager Token is rebuilt. */
int pickle_newobj(pickle_out *o);
int pickle_build(pickle_out *o);

#endif
