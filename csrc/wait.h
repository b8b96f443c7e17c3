/* Waiting on descriptors outside a multi handle: what a host that cannot watch descriptors
 * itself (nginx's Lua) runs in a worker thread, and the waker that interrupts it. */
#ifndef MX_WAIT_H
#define MX_WAIT_H

#include "compat.h"

#define MX_WAKER_MT "mistralai.core.Waker"

/* Adds core.poll and core.waker to the table on top of the stack. */
void mx_wait_register(lua_State *L);

#endif
