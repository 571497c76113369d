/* mpx/error.h - the one error enum shared by the client library and the manager.
 *
 * Every mpx function returns MPX_OK (0) or a negative MPX_E* code. Codes that match a
 * Python exception map to it one-to-one (mpx_err_name gives "KeyError" ...); the wire
 * carries the code as its positive value, so the list below only ever grows at the end.
 */
#ifndef MPX_ERROR_H
#define MPX_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mpx_err {
    MPX_OK = 0,
    MPX_ENOMEM = -1,      /* MemoryError */
    MPX_EINVAL = -2,      /* bad argument to a C function (not a Python error) */
    MPX_EKEY = -3,        /* KeyError */
    MPX_EINDEX = -4,      /* IndexError */
    MPX_EVALUE = -5,      /* ValueError */
    MPX_ETYPE = -6,       /* TypeError */
    MPX_EATTR = -7,       /* AttributeError (Namespace attribute missing) */
    MPX_ENOMETHOD = -8,   /* the object's type has no such method */
    MPX_ENOOBJECT = -9,   /* no object with that id (never existed or released) */
    MPX_ETIMEOUT = -10,   /* a call or a wait ran out of time */
    MPX_EEMPTY = -11,     /* queue.Empty */
    MPX_EFULL = -12,      /* queue.Full */
    MPX_EBROKEN = -13,    /* threading.BrokenBarrierError */
    MPX_ENOTOWNER = -14,  /* release by a session that does not hold it */
    MPX_ERUNTIME = -15,   /* RuntimeError */
    MPX_EOVERFLOW = -16,  /* OverflowError: an int outside 64 bits */
    MPX_EZERODIV = -17,   /* ZeroDivisionError */
    MPX_EEXIST = -18,     /* a name is registered with another type */
    MPX_EAUTH = -19,      /* multiprocessing.AuthenticationError */
    MPX_EPROTO = -20,     /* malformed frame or message */
    MPX_ETOOBIG = -21,    /* a message over the size limit */
    MPX_EIO = -22,        /* connection failed or was lost (OSError) */
    MPX_ECLOSED = -23,    /* the peer closed the connection (EOFError) */
    MPX_EADDR = -24,      /* an address that cannot be parsed or resolved */
    MPX_ELIMIT = -25,     /* a configured limit was reached (connections, waiters) */
    MPX_ERR_COUNT_ = 26   /* one past the last code; keep last */
} mpx_err;

/* A sentence for the code, e.g. "key not found". Never NULL. */
const char *mpx_strerror(int err);

/* Python's exception name for the code, e.g. "KeyError". Never NULL. */
const char *mpx_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
