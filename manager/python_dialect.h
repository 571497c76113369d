/* python_dialect.h - the manager's second wire dialect: Python's manager protocol.
 *
 * After the handshake, a session whose first frame is a pickle speaks what
 * multiprocessing.managers speaks: each request is a pickled (ident, methodname, args,
 * kwds), each reply a pickled ('#RETURN', value), ('#ERROR', exception), ('#TRACEBACK',
 * text) or ('#PROXY', (exposed, token)). Requests run on the same objects, handlers and
 * parking as the protobuf dialect's; only the framing of calls and answers differs.
 * Python sends one call per connection at a time and matches replies by order, so a
 * session of this dialect has at most one call in flight (a second one closes it).
 * References taken by this dialect are counted per object (object.py_refs), as Python's
 * server counts them: its clients incref and decref on short-lived connections.
 */
#ifndef MPX_MANAGER_PYTHON_DIALECT_H
#define MPX_MANAGER_PYTHON_DIALECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/value.h"

struct mpx_session;
struct mpx_server;

/* What a session of this dialect keeps (session.c embeds it). Zeroed is the start. */
typedef struct python_state {
    bool busy;         /* a call is parked: its reply is the next frame we send */
    uint8_t result;    /* that call's PY_RESULT_*: how its answer becomes Python's */
    mpx_value address; /* the address tokens carry: what the client connected to */
} python_state;

/* Whether a session's first request frame opens this dialect. */
bool python_frame_starts_dialect(const uint8_t *frame, size_t len);
/* Runs one request frame of a session of this dialect. */
void python_request(struct mpx_session *sess, const uint8_t *frame, size_t len);
/* Packs the answer to the session's call in flight (session.c's reply for this dialect):
 * rc MPX_OK with value, or an error with its message. Returns MPX_OK or MPX_ENOMEM. */
int python_reply(struct mpx_session *sess, int rc, const char *msg, const mpx_value *value);
void python_state_free(python_state *py);

#endif
