/* mpx/error.h - the one error enum shared by the client library and the manager.
 *
 * Every mpx function returns MPX_OK (0) or a negative MPX_E* code. Codes that match a
 * Python exception map to it one-to-one (mpx_err_name gives "KeyError" ...); the wire
 * carries the code as its positive value, so the list only ever grows at the end. The
 * enum, the names and the sentences all come from the one list below, a row
 * X(code, value, Python exception name, sentence) each. What a name does not say:
 *   MPX_EINVAL     a bad argument to a C function (no Python error)
 *   MPX_EATTR      a Namespace attribute missing
 *   MPX_ENOMETHOD  the object's type has no such method
 *   MPX_ENOOBJECT  no object with that id (never existed, or released)
 *   MPX_ETIMEOUT   a call or a wait ran out of time
 *   MPX_EEMPTY     queue.Empty
 *   MPX_EFULL      queue.Full
 *   MPX_EBROKEN    threading.BrokenBarrierError
 *   MPX_ENOTOWNER  a release by a session that does not hold it
 *   MPX_EOVERFLOW  an int outside 64 bits
 *   MPX_EEXIST     a name registered with another type
 *   MPX_EAUTH      multiprocessing.AuthenticationError
 *   MPX_EPROTO     a malformed frame or message
 *   MPX_ETOOBIG    a message over the size limit
 *   MPX_EIO        a connection failed or was lost
 *   MPX_ECLOSED    the peer closed the connection
 *   MPX_EADDR      an address that cannot be parsed or resolved
 *   MPX_ELIMIT     a configured limit (connections, parked calls)
 *   MPX_ESTOPITER  an iterator has no more items (StopIteration)
 */
#ifndef MPX_ERROR_H
#define MPX_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define MPX_ERRORS(X)                                                                             \
    X(MPX_OK, 0, "OK", "success")                                                                 \
    X(MPX_ENOMEM, -1, "MemoryError", "out of memory")                                             \
    X(MPX_EINVAL, -2, "InvalidArgument", "invalid argument")                                      \
    X(MPX_EKEY, -3, "KeyError", "key not found")                                                  \
    X(MPX_EINDEX, -4, "IndexError", "index out of range")                                         \
    X(MPX_EVALUE, -5, "ValueError", "bad value")                                                  \
    X(MPX_ETYPE, -6, "TypeError", "wrong type")                                                   \
    X(MPX_EATTR, -7, "AttributeError", "no such attribute")                                       \
    X(MPX_ENOMETHOD, -8, "AttributeError", "no such method")                                      \
    X(MPX_ENOOBJECT, -9, "LookupError", "no such object")                                         \
    X(MPX_ETIMEOUT, -10, "TimeoutError", "timed out")                                             \
    X(MPX_EEMPTY, -11, "Empty", "queue is empty")                                                 \
    X(MPX_EFULL, -12, "Full", "queue is full")                                                    \
    X(MPX_EBROKEN, -13, "BrokenBarrierError", "barrier is broken")                                \
    X(MPX_ENOTOWNER, -14, "RuntimeError", "not the owner")                                        \
    X(MPX_ERUNTIME, -15, "RuntimeError", "runtime error")                                         \
    X(MPX_EOVERFLOW, -16, "OverflowError", "integer out of range")                                \
    X(MPX_EZERODIV, -17, "ZeroDivisionError", "division by zero")                                 \
    X(MPX_EEXIST, -18, "TypeError", "name exists with another type")                              \
    X(MPX_EAUTH, -19, "AuthenticationError", "authentication failed")                             \
    X(MPX_EPROTO, -20, "ProtocolError", "protocol error")                                         \
    X(MPX_ETOOBIG, -21, "ProtocolError", "message too large")                                     \
    X(MPX_EIO, -22, "OSError", "connection error")                                                \
    X(MPX_ECLOSED, -23, "EOFError", "connection closed")                                          \
    X(MPX_EADDR, -24, "ValueError", "bad address")                                                \
    X(MPX_ELIMIT, -25, "LimitError", "limit reached")                                             \
    X(MPX_ESTOPITER, -26, "StopIteration", "iteration ended")

#define MPX_ERR_ENUM_(code, value, name, sentence) code = value,
#define MPX_ERR_ONE_(code, value, name, sentence) +1
typedef enum mpx_err {
    MPX_ERRORS(MPX_ERR_ENUM_)
    MPX_ERR_COUNT_ = 0 MPX_ERRORS(MPX_ERR_ONE_) /* one past the last code */
} mpx_err;
#undef MPX_ERR_ENUM_
#undef MPX_ERR_ONE_

/* A sentence for the code, e.g. "key not found". Never NULL. */
const char *mpx_strerror(int err);

/* Python's exception name for the code, e.g. "KeyError". Never NULL. */
const char *mpx_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
