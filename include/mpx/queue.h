/* mpx/queue.h - a Queue or JoinableQueue held by a manager: Python's queue.Queue in C.
 *
 * Items are mpx_values, passed in borrowed and handed out owned (free them with
 * mpx_value_free). Calls that wait (put on a full queue, get on an empty one, join) wait on
 * the manager, in FIFO order with other waiters, and take a timeout in seconds: negative
 * waits as long as it takes, 0 does not wait, more waits at most that long. A get that
 * finds nothing in time is MPX_EEMPTY (queue.Empty), a put that finds no room MPX_EFULL
 * (queue.Full). Delivery: an item leaves the queue only when the reply carrying it has
 * been written to the taker's socket; if the taker is gone by then, the item goes back to
 * the head of the queue (so a bounded queue may briefly hold more than maxsize). An item
 * whose reply was written but that the taker then lost (it crashed) is not put back.
 */
#ifndef MPX_QUEUE_H
#define MPX_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpx/client.h"
#include "mpx/proxy.h"
#include "mpx/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_queue mpx_queue;

/* ---- getting a proxy ----------------------------------------------------------------------
 * maxsize <= 0 is unbounded. joinable makes a JoinableQueue (task_done, join). */

/* The queue registered under name, created on first use. MPX_EEXIST when the name holds
 * an object of another type (a Queue asked for as a JoinableQueue too). */
int mpx_queue_open(mpx_client *c, const char *name, int64_t maxsize, bool joinable,
                   mpx_queue **out);
/* A new anonymous queue; it lives while some proxy holds it. */
int mpx_queue_create(mpx_client *c, int64_t maxsize, bool joinable, mpx_queue **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. attach and from_ref take
 * either kind of queue; any other type is MPX_ETYPE. */
MPX_PROXY_HANDLE_API(mpx_queue, mpx_queue);

/* ---- one item ---------------------------------------------------------------------------- */

/* Puts a copy of item at the tail. */
int mpx_queue_put(mpx_queue *q, const mpx_value *item, double timeout);
/* Takes the item at the head into *out (None on failure). */
int mpx_queue_get(mpx_queue *q, double timeout, mpx_value *out);

/* Takes the item at the head into *out, as mpx_queue_get, but the item stays the
 * manager's until mpx_queue_ack(q, *ticket): if this client's connection ends first (the
 * process is killed even an instant after the item arrived), it goes back to the head of
 * the queue for the next consumer. Without it, an item whose reply the kernel has taken
 * belongs to the consumer, and dies with it. */
int mpx_queue_get_acked(mpx_queue *q, double timeout, mpx_value *out, uint64_t *ticket);
/* The item of that ticket is done with (MPX_EVALUE: not a ticket this connection holds). */
int mpx_queue_ack(mpx_queue *q, uint64_t ticket);

/* ---- batches ------------------------------------------------------------------------------
 * One call each way for many items: the throughput path. */

/* Puts every item of items (a list or tuple) in order, all or none: it waits for room for
 * all of them. More items than maxsize is MPX_EVALUE. */
int mpx_queue_put_many(mpx_queue *q, const mpx_value *items, double timeout);
/* Takes 1..max items from the head into *out, a list: it waits for the first, then takes
 * what is there up to max. */
int mpx_queue_get_many(mpx_queue *q, size_t max, double timeout, mpx_value *out);

/* ---- state -------------------------------------------------------------------------------
 * Snapshots: other processes may change the queue right after. */
int mpx_queue_qsize(mpx_queue *q, int64_t *out);
int mpx_queue_empty(mpx_queue *q, bool *out);
int mpx_queue_full(mpx_queue *q, bool *out);

/* ---- task_done and join ------------------------------------------------------------------
 * Both kinds of queue have them, as Python's queue.Queue does. */

/* Marks one item taken as finished; more calls than items taken is MPX_EVALUE. */
int mpx_queue_task_done(mpx_queue *q);
/* Waits until every item put has been marked finished (MPX_ETIMEOUT after timeout). */
int mpx_queue_join(mpx_queue *q, double timeout);

#ifdef __cplusplus
}
#endif
#endif
