/* Calling Lua from libcurl's callbacks: a sink with each chunk of a body, a progress function
 * with the transfer's counts. */
#ifndef MX_CALLBACK_H
#define MX_CALLBACK_H

#include <curl/curl.h>

#include "compat.h"
#include "stop.h"

typedef struct mx_call {
  int ref;                /* the function, in the registry */
  const char *chunk;      /* a sink's chunk; NULL for a progress call */
  size_t chunk_len;
  curl_off_t counts[4];   /* progress: received, to receive, sent, to send (0: unknown) */
} mx_call;

/* Calls c's function on L under lua_pcall, so no Lua error unwinds through libcurl's frames.
 * Returns 0 to go on, 1 when the transfer is to stop, with the reason in *stop: the value a
 * raise left (kept for the Lua layer to re-raise), or the message of `false[, msg]`. Runs no Lua
 * once the transfer has stopped, nor when L is NULL (a callback outside a step). */
int mx_callback_call(lua_State *L, const mx_call *c, mx_stop *stop);

#endif
