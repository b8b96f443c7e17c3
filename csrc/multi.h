/* mistralai.core.Multi: one libcurl multi handle, its connection cache and the transfers in
 * flight on it, driven by libcurl's socket API: the multi knows which descriptors libcurl
 * wants watched and when its timer is due, so a host wakes only for those. */
#ifndef MX_MULTI_H
#define MX_MULTI_H

#include "compat.h"

#define MX_MULTI_MT "mistralai.core.Multi"

/* Adds the class to the metatables and core.multi() to the table on top of the stack. */
void mx_multi_register(lua_State *L);

#endif
