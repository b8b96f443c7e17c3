/* Where a response goes: its header lines kept (bounded), its body checked before the first
 * byte is handed over (a 2xx status, the expected type, a resumed download's range) and then
 * routed to the output file, the sink or the stream, or else kept in memory (bounded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "callback.h"
#include "headers.h"
#include "receive.h"

#define MX_STREAM_CHUNK_MAX (256 * 1024)  /* a stream's chunk grows to this before libcurl pauses */
#define MX_HEAD_MAX (256 * 1024)          /* header lines of one response kept, at most */

size_t mx_receive_head(char *p, size_t size, size_t n, void *ud) {
  mx_transfer *t = ud;
  size_t len = size * n;
  if (mx_header_is_status_line(p, len)) {  /* a new response: interim, redirect or final */
    mx_buffer_reset(&t->head);
    mx_buffer_reset(&t->body);
    t->routing_known = 0;
  }
  if (t->head.len + len > MX_HEAD_MAX) {  /* a server that never ends its header lines */
    t->stop.why = MX_STOP_TOO_LARGE;
    return 0;
  }
  if (mx_buffer_append(&t->head, p, len) != 0) {
    t->stop.why = MX_STOP_NOMEM;
    return 0;
  }
  return len;
}

/* A header of the latest response, looked up by name (value NULL when absent). */
typedef struct mx_found {
  const char *name;
  const char *value;
  size_t len;
} mx_found;

static void find_header(void *ctx, const char *name, size_t name_len, const char *value, size_t value_len) {
  mx_found *f = ctx;
  if (name_len == strlen(f->name) && strncasecmp(name, f->name, name_len) == 0) {
    f->value = value;
    f->len = value_len;
  }
}

/* Is the response's media type the one the request expects (expect_type; none: any)? A body
 * of another type never reaches the output file, sink or stream: it is kept, bounded, as an
 * error body, and the Lua layer reports it. A response without Content-Type passes, as the
 * official SDKs let it. */
static int type_expected(const mx_transfer *t) {
  mx_found f = {"content-type", NULL, 0};
  size_t n;
  if (t->expect_type == NULL) return 1;
  mx_header_each(t->head.data, t->head.len, find_header, &f);
  if (f.value == NULL) return 1;
  for (n = 0; n < f.len && f.value[n] != ';' && f.value[n] != ' ' && f.value[n] != '\t'; n++) {}
  return n == strlen(t->expect_type) && strncasecmp(f.value, t->expect_type, n) == 0;
}

/* A resumed download's answer: a 206 whose Content-Range starts where the bytes had so far
 * end goes on; a 200 starts the body over, which an output file can take (emptied) but not a
 * sink, a stream or a FIFO that already has the first bytes; anything else stops the transfer. */
static int resumes(mx_transfer *t, long status) {
  if (status == 206) {
    mx_found range = {"content-range", NULL, 0};
    mx_header_each(t->head.data, t->head.len, find_header, &range);
    if (range.value != NULL && range.len > 6 && strncmp(range.value, "bytes ", 6) == 0 &&
        strtoll(range.value + 6, NULL, 10) == t->resume_from)
      return 1;
  } else if (status == 200 && t->out.file != NULL && !t->out.direct) {
    if (mx_output_restart(&t->out) == 0) {
      t->restarted = 1;
      return 1;
    }
    t->stop.why = MX_STOP_WRITE;
    return 0;
  }
  t->stop.message = malloc(128);
  if (t->stop.message != NULL)
    snprintf(t->stop.message, 128, "the server did not resume the body at byte %lld (HTTP %ld)",
             (long long)t->resume_from, status);
  t->stop.why = t->stop.message != NULL ? MX_STOP_RESUME : MX_STOP_NOMEM;
  return 0;
}

size_t mx_receive_body(char *p, size_t size, size_t n, void *ud) {
  mx_transfer *t = ud;
  size_t len = size * n;
  int routable;
  if (t->stop.why != MX_STOP_NONE) return 0;  /* cancelled meanwhile */
  routable = t->out.file != NULL || t->sink_ref != LUA_NOREF || t->stream;
  if (!t->routing_known) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->body_routed = status >= 200 && status < 300 && routable && type_expected(t);
    t->routing_known = 1;
    if (t->body_routed && t->resume_from > 0 && !resumes(t, status)) return 0;
  }
  if (t->body_routed) t->delivered += (curl_off_t)len;
  if (t->body_routed && t->out.file != NULL) {
    if (mx_output_write(&t->out, p, len) != 0) {
      t->stop.why = MX_STOP_WRITE;
      return 0;
    }
    return len;
  }
  if (t->body_routed && t->stream) {  /* a chunk waits for its reader; what follows, in libcurl */
    if (t->chunk.len > 0 && len > MX_STREAM_CHUNK_MAX - t->chunk.len) {
      t->paused = 1;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (mx_buffer_append(&t->chunk, p, len) != 0) {
      t->stop.why = MX_STOP_NOMEM;
      return 0;
    }
    if (t->driver != NULL) t->driver->readable = 1;
    return len;
  }
  if (t->body_routed) {
    mx_call c = {t->sink_ref, p, len, {0, 0, 0, 0}};
    return mx_callback_call(mx_transfer_state(t), &c, &t->stop) ? 0 : len;
  }
  /* a body kept in memory (an answer, an error, a download to a string): bounded, whatever
   * the server sends; over the bound, its start is kept and the transfer stops */
  if (t->body_max > 0 && (curl_off_t)len > t->body_max - (curl_off_t)t->body.len) {
    len = (size_t)(t->body_max - (curl_off_t)t->body.len);
    if (mx_buffer_append(&t->body, p, len) == 0) t->stop.why = MX_STOP_TOO_LARGE;
    else t->stop.why = MX_STOP_NOMEM;
    return 0;
  }
  if (mx_buffer_append(&t->body, p, len) != 0) {
    t->stop.why = MX_STOP_NOMEM;
    return 0;
  }
  return len;
}
