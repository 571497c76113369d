/* mpx/event.h - an Event held by a manager: a flag processes can wait for. */
#ifndef MPX_EVENT_H
#define MPX_EVENT_H

#include <stdbool.h>

#include "mpx/client.h"
#include "mpx/proxy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mpx_event mpx_event;

int mpx_event_open(mpx_client *c, const char *name, mpx_event **out);
int mpx_event_create(mpx_client *c, mpx_event **out);
/* attach, from_ref, close, proxy and token: see mpx/proxy.h. */
MPX_PROXY_HANDLE_API(mpx_event, mpx_event);

/* Sets the flag and wakes every waiter. */
int mpx_event_set(mpx_event *e);
int mpx_event_clear(mpx_event *e);
int mpx_event_is_set(mpx_event *e, bool *out);
/* Waits until the flag is set: *was_set is true then, false when timeout (seconds; < 0
 * waits as needed) ran out first. */
int mpx_event_wait(mpx_event *e, double timeout, bool *was_set);

#ifdef __cplusplus
}
#endif
#endif
