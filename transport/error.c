/* error.c - the sentences and Python exception names of the mpx_err codes.
 *
 * Indexed by -code; the tables must list every code of mpx/error.h in order (a static
 * assertion checks their length).
 */
#include "mpx/error.h"

static const char *const messages[] = {
    "success",
    "out of memory",
    "invalid argument",
    "key not found",
    "index out of range",
    "bad value",
    "wrong type",
    "no such attribute",
    "no such method",
    "no such object",
    "timed out",
    "queue is empty",
    "queue is full",
    "barrier is broken",
    "not the owner",
    "runtime error",
    "integer out of range",
    "division by zero",
    "name exists with another type",
    "authentication failed",
    "protocol error",
    "message too large",
    "connection error",
    "connection closed",
    "bad address",
    "limit reached",
};

static const char *const names[] = {
    "OK",
    "MemoryError",
    "InvalidArgument",
    "KeyError",
    "IndexError",
    "ValueError",
    "TypeError",
    "AttributeError",
    "AttributeError",
    "LookupError",
    "TimeoutError",
    "Empty",
    "Full",
    "BrokenBarrierError",
    "RuntimeError",
    "RuntimeError",
    "OverflowError",
    "ZeroDivisionError",
    "TypeError",
    "AuthenticationError",
    "ProtocolError",
    "ProtocolError",
    "OSError",
    "EOFError",
    "ValueError",
    "LimitError",
};

_Static_assert(sizeof messages / sizeof messages[0] == MPX_ERR_COUNT_, "messages");
_Static_assert(sizeof names / sizeof names[0] == MPX_ERR_COUNT_, "names");

const char *mpx_strerror(int err)
{
    return err <= 0 && -err < MPX_ERR_COUNT_ ? messages[-err] : "unknown error";
}

const char *mpx_err_name(int err)
{
    return err <= 0 && -err < MPX_ERR_COUNT_ ? names[-err] : "Exception";
}
