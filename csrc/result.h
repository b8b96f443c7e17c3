/* What a finished transfer reports to Lua: the result table, and a stable failure name for
 * every way a transfer can fail. The names are the core's interface (docs/api.md lists them);
 * what each means for the API (its error kind, whether to retry) is decided in Lua. */
#ifndef MX_RESULT_H
#define MX_RESULT_H

#include <curl/curl.h>

#include "buffer.h"
#include "compat.h"
#include "stop.h"

typedef struct mx_outcome {
  CURL *easy;
  const mx_buffer *head;  /* the raw header lines of the last response */
  const mx_buffer *body;  /* NULL when the body went to an output file or a sink */
  CURLcode code;
  const mx_stop *stop;
  const char *errbuf;     /* libcurl's detailed message, may be empty */
  const char *out_path;   /* the output file, for write errors */
  int write_errno;
  curl_off_t delivered;   /* bytes of a 2xx body given to the output file, sink or stream */
  int restarted;          /* a resumed download's server sent the whole body again */
  int direct;             /* the output was a FIFO or device, written as it is */
} mx_outcome;

/* Pushes { status, headers, body?, sent, received, delivered, restarted, direct, seconds, connects,
 *          url, error? = { name, message, raised? } }. */
void mx_result_push(lua_State *L, const mx_outcome *o);

/* The failure name of a libcurl result code ("connect_failed", "timed_out", ...). */
const char *mx_failure_name(CURLcode code);

#endif
