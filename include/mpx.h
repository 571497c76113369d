/* mpx.h - everything a program needs to use mpx: include this one header.
 *
 * mpx shares dicts, lists and Namespaces between processes through a manager server, as
 * Python's multiprocessing managers do. The per-topic headers below can also be included
 * on their own; each says who owns and frees what it hands out.
 */
#ifndef MPX_H
#define MPX_H

#include "mpx/error.h"     /* status codes, mpx_strerror */
#include "mpx/value.h"     /* mpx_value: what calls carry and containers hold */
#include "mpx/authkey.h"   /* loading and generating the shared key */
#include "mpx/client.h"    /* one authenticated connection to a manager */
#include "mpx/proxy.h"     /* the generic proxy and tokens */
#include "mpx/dict.h"      /* typed proxies */
#include "mpx/list.h"
#include "mpx/lock.h"
#include "mpx/semaphore.h"
#include "mpx/event.h"
#include "mpx/barrier.h"
#include "mpx/condition.h"
#include "mpx/namespace.h"
#include "mpx/queue.h"
#include "mpx/pool.h"      /* a process pool, local or over many hosts */
#include "mpx/value_obj.h"
#include "mpx/array.h"
#include "mpx/server.h"    /* the manager as an embeddable server */
#include "mpx/type.h"      /* writing a shared object type of your own */
#include "mpx/manager.h"   /* a private manager in a forked child */
#include "mpx/connection.h" /* Listener, Client and Pipe, as multiprocessing.connection */
#include "mpx/process.h"   /* a child process running a C function */

#endif
