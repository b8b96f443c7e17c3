#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "callback.h"
#include "clock.h"
#include "headers.h"
#include "options.h"
#include "platform.h"
#include "receive.h"
#include "result.h"
#include "transfer.h"

#define MX_PROGRESS_INTERVAL 0.1         /* seconds between progress calls at most */

/* The Lua object: a pointer to the transfer, NULL once collected (seen only by another
 * finalizer that resurrects it). */
static mx_transfer *to_transfer(lua_State *L, int i) {
  return *(mx_transfer **)luaL_checkudata(L, i, MX_TRANSFER_MT);
}

static mx_transfer *check_transfer(lua_State *L, int i) {
  mx_transfer *t = to_transfer(L, i);
  if (t == NULL) luaL_argerror(L, i, "transfer is closed");
  return t;
}

/* ---- libcurl's callbacks (the response's head and body: receive.c) ---- */

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  mx_transfer *t = ud;
  mx_call c = {t->progress_ref, NULL, 0, {dlnow, dltotal, ulnow, ultotal}};
  double now;
  if (memcmp(c.counts, t->progress_last, sizeof c.counts) == 0) return 0;
  now = mx_now();
  if (now - t->progress_at < MX_PROGRESS_INTERVAL) return 0;
  t->progress_at = now;
  memcpy(t->progress_last, c.counts, sizeof c.counts);
  return mx_callback_call(mx_transfer_state(t), &c, &t->stop);
}

/* Every socket libcurl opens for a connection is closed on exec: a child process the host
 * starts (Neovim jobs, os.execute) must not hold the client's connections open. */
static int on_socket(void *ud, curl_socket_t fd, curlsocktype purpose) {
#if defined(FD_CLOEXEC) && !defined(_WIN32)
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
#endif
  (void)ud;
  (void)purpose;
  (void)fd;
  return CURL_SOCKOPT_OK;
}

/* ---- building a transfer ---- */

static void release_resources(lua_State *L, mx_transfer *t);

/* A failure of the world found before anything is sent: the transfer is freed at once and the
 * caller returns nil, kind, message. */
static int start_failed(lua_State *L, mx_transfer *t, const char *fmt, const char *what, const char *why) {
  release_resources(L, t);
  lua_pushnil(L);
  lua_pushliteral(L, "io");
  lua_pushfstring(L, fmt, what, why);
  return 3;
}

static void set_callbacks(mx_transfer *t) {
  curl_easy_setopt(t->easy, CURLOPT_PRIVATE, (char *)t);
  curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(t->easy, CURLOPT_SOCKOPTFUNCTION, on_socket);
  curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, mx_receive_head);
  curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, mx_receive_body);
  curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
  if (t->progress_ref != LUA_NOREF) {
    curl_easy_setopt(t->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(t->easy, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(t->easy, CURLOPT_NOPROGRESS, 0L);
  }
}

/* libcurl holds a transfer to its rate caps between socket actions, and one action reads up
 * to 100 buffers: with a cap, a read buffer of a thousandth of the rate keeps a burst near
 * 0.1 s of it (a 1 MiB body at 1 MiB/s came in 0.02 s with 64 KiB buffers). The fields were
 * checked by mx_options_apply. */
static long clamp(lua_Number v, long lo, long hi) { return v < lo ? lo : v > hi ? hi : (long)v; }

/* The read buffer of a body that goes to a file, a sink or a stream: 64 KiB, as fast as the curl
 * program here, unless the request's read_buffer_bytes (1 KiB to 512 KiB) says otherwise. libcurl
 * reads up to 100 buffers in one action while the socket stays readable, so a host whose loop
 * must keep ticking (Neovim) asks for less. */
static long read_buffer(lua_State *L, int req) {
  lua_Number n;
  lua_getfield(L, req, "read_buffer_bytes");
  n = lua_isnil(L, -1) ? 64 * 1024 : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(n >= 1024 && n <= 512 * 1024)) luaL_error(L, "start: field 'read_buffer_bytes' must be from 1024 to 524288");
  return (long)n;
}

static void cap_buffers(lua_State *L, mx_transfer *t, int req) {
  lua_Number recv, send;
  lua_getfield(L, req, "max_recv_bytes_per_s");
  lua_getfield(L, req, "max_send_bytes_per_s");
  recv = lua_tonumber(L, -2);
  send = lua_tonumber(L, -1);
  lua_pop(L, 2);
  if (recv > 0) curl_easy_setopt(t->easy, CURLOPT_BUFFERSIZE, clamp(recv / 1000, 1024, 65536));
  if (send > 0 && t->mime.mime != NULL)  /* libcurl's upload buffer is 16 KiB to 2 MiB */
    curl_easy_setopt(t->easy, CURLOPT_UPLOAD_BUFFERSIZE, clamp(send / 100, 16384, 524288));
}

/* The request's fsync = true and overwrite = false, for the output file. */
static int output_flags(lua_State *L, int req) {
  int flags = 0;
  lua_getfield(L, req, "fsync");
  if (lua_toboolean(L, -1)) flags |= MX_OUTPUT_FSYNC;
  lua_getfield(L, req, "overwrite");
  if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) flags |= MX_OUTPUT_NO_CLOBBER;
  lua_pop(L, 2);
  return flags;
}

int mx_transfer_new(lua_State *L, int req) {
  mx_transfer *t, **box;
  const char *method, *output, *partial, *expect, *why, *bad = NULL;
  req = mx_absindex(L, req);
  luaL_checktype(L, req, LUA_TTABLE);
  box = lua_newuserdata(L, sizeof *box);
  *box = NULL;
  luaL_getmetatable(L, MX_TRANSFER_MT);
  lua_setmetatable(L, -2);
  t = calloc(1, sizeof *t);
  if (t == NULL) return luaL_error(L, "start: out of memory");
  *box = t;
  t->sink_ref = t->progress_ref = t->stop.raised_ref = LUA_NOREF;
  t->closed = 1;  /* until the easy handle exists, so __gc has nothing to free */
  t->easy = curl_easy_init();
  if (t->easy == NULL) return luaL_error(L, "start: curl_easy_init failed");
  t->closed = 0;

  if (mx_field_string(L, req, "url", NULL) == NULL) return luaL_error(L, "start: field 'url' is required");
  mx_options_apply(L, t->easy, req);
  why = mx_mime_build(L, t->easy, req, &t->stop, &t->mime, &bad);
  if (why != NULL) return start_failed(L, t, "cannot read %s: %s", bad, why);
  /* No "Expect: 100-continue" round trip before a multipart body. */
  mx_options_headers(L, req, t->mime.mime != NULL ? "Expect:" : NULL, &t->headers);
  if (t->headers != NULL) curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
  if (t->mime.mime != NULL) curl_easy_setopt(t->easy, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
  method = mx_field_string(L, req, "method", NULL);
  if (method != NULL && strcmp(method, "GET") != 0 && !(t->mime.mime && strcmp(method, "POST") == 0))
    curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, method);

  lua_getfield(L, req, "stream");
  t->stream = lua_toboolean(L, -1);
  lua_pop(L, 1);
  t->sink_ref = mx_field_function(L, req, "sink");
  t->progress_ref = mx_field_function(L, req, "progress");
  expect = mx_field_string(L, req, "expect_type", NULL);
  if (expect != NULL && (t->expect_type = strdup(expect)) == NULL) return luaL_error(L, "start: out of memory");
  lua_getfield(L, req, "max_body_bytes");
  t->body_max = lua_isnumber(L, -1) ? (curl_off_t)lua_tonumber(L, -1) : 0;
  lua_pop(L, 1);
  lua_getfield(L, req, "resume_from");
  t->resume_from = lua_isnumber(L, -1) ? (curl_off_t)lua_tonumber(L, -1) : 0;
  lua_pop(L, 1);
  output = mx_field_string(L, req, "output", NULL);
  partial = mx_field_string(L, req, "partial", NULL);
  if (output != NULL &&
      (why = mx_output_open(&t->out, output, partial, output_flags(L, req))) != NULL)
    return start_failed(L, t, "cannot write '%s': %s", output, why);
  /* an earlier attempt's file that is not resumed starts over */
  if (output != NULL && partial != NULL && t->resume_from == 0 && mx_output_restart(&t->out) != 0)
    return start_failed(L, t, "cannot write '%s': %s", output, strerror(t->out.write_errno));
  if (output != NULL || t->sink_ref != LUA_NOREF || t->stream)
    curl_easy_setopt(t->easy, CURLOPT_BUFFERSIZE, read_buffer(L, req));
  cap_buffers(L, t, req);
  set_callbacks(t);
  return 1;
}

void mx_transfer_finished(mx_transfer *t, CURLcode code) {
  t->done = 1;
  t->code = code;
}

/* ---- methods ---- */

static int transfer_done(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  lua_pushboolean(L, t->done);
  return 1;
}

static int hungry(const mx_transfer *t) {
  return !t->done && t->mime.feed != NULL && t->mime.feed->hungry;
}

/* t:ready() -> whether a waiter may go on: the transfer is done, a stream has a chunk, or a
 * fed upload wants its next piece. */
static int transfer_ready(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  lua_pushboolean(L, t->done || t->chunk.len > 0 || hungry(t));
  return 1;
}

/* t:hungry() -> whether the fed part waits for its next piece (t:feed). */
static int transfer_hungry(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  lua_pushboolean(L, !t->closed && hungry(t));
  return 1;
}

/* t:feed(piece | nil): the fed part's next piece, or its end; libcurl goes on sending. */
static int transfer_feed(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  size_t len = 0;
  const char *p = lua_isnil(L, 2) ? NULL : luaL_checklstring(L, 2, &len);
  mx_feed *f;
  if (t->closed || t->mime.feed == NULL) return luaL_argerror(L, 1, "no fed part to feed");
  if (t->driver != NULL && t->driver->stepping) return luaL_error(L, "feed: called from inside a transfer callback");
  f = t->mime.feed;
  if (mx_mime_feed(f, p, len, p == NULL) != 0) return luaL_error(L, "feed: out of memory");
  if (f->hungry && !t->done && t->driver != NULL) {
    f->hungry = 0;
    t->driver->resume(t->driver, L, t);
  }
  return 0;
}

/* t:read() -> the stream's next chunk, or nil when none has arrived (see t:ready(), t:done()).
 * Taking it lets libcurl go on with the next one. */
static int transfer_read(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  if (t->closed) return luaL_argerror(L, 1, "transfer is closed");
  if (t->chunk.len == 0) {
    lua_pushnil(L);
    return 1;
  }
  if (t->driver != NULL && t->driver->stepping) return luaL_error(L, "read: called from inside a transfer callback");
  lua_pushlstring(L, t->chunk.data, t->chunk.len);
  mx_buffer_reset(&t->chunk);
  if (t->paused && t->driver != NULL) {
    t->paused = 0;
    t->driver->resume(t->driver, L, t);
  }
  return 1;
}

/* t:part_size(i) -> the bytes of multipart part i, as found when the body was built. */
static int transfer_part_size(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  lua_Integer i = luaL_checkinteger(L, 2);
  if (t->closed) return luaL_argerror(L, 1, "transfer is closed");
  luaL_argcheck(L, i >= 1 && i <= t->mime.count, 2, "no such part");
  lua_pushnumber(L, (lua_Number)t->mime.sizes[i - 1]);
  return 1;
}

/* t:result() -> see result.h */
static int transfer_result(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  mx_outcome o;
  if (t->closed) return luaL_argerror(L, 1, "transfer is closed");
  /* a stream's status and headers are known once its body has begun */
  if (!t->done && !(t->stream && t->body_routed)) return luaL_argerror(L, 1, "transfer is still in flight");
  o.easy = t->easy;
  o.head = &t->head;
  o.body = t->body_routed ? NULL : &t->body;
  o.code = t->code;
  o.stop = &t->stop;
  o.errbuf = t->errbuf;
  o.out_path = t->out.path;
  o.write_errno = t->out.write_errno;
  o.delivered = t->delivered;
  o.restarted = t->restarted;
  o.direct = t->out.direct;
  mx_result_push(L, &o);
  return 1;
}

/* t:keep_partial() -> the temporary file of a failed download, closed and left in place for
 * the next attempt to resume into (see the request's partial and resume_from); nil if none. */
static int transfer_keep_partial(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  char *kept;
  if (t->closed || !t->done) return luaL_argerror(L, 1, "no finished transfer");
  kept = mx_output_keep(&t->out);
  if (kept == NULL) return 0;
  lua_pushstring(L, kept);
  free(kept);
  return 1;
}

/* t:commit() -> true | nil, message: moves the finished output file into place. */
static int transfer_commit(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  int err;
  if (t->closed || !t->done || t->out.file == NULL) return luaL_argerror(L, 1, "no finished output to commit");
  err = mx_output_commit(&t->out);
  if (err != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cannot write '%s': %s", t->out.path, strerror(err));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* Takes a transfer in flight out of its driver (it reports "cancelled"), removes an output
 * file that was not committed, and frees every handle and reference; not the struct. */
static void release_resources(lua_State *L, mx_transfer *t) {
  if (t->closed) return;
  if (t->driver != NULL) t->driver->release(t->driver, L, t);
  t->closed = 1;
  curl_easy_cleanup(t->easy);
  t->easy = NULL;
  mx_mime_free(&t->mime);
  curl_slist_free_all(t->headers);
  t->headers = NULL;
  mx_output_discard(&t->out);
  free(t->stop.message);
  t->stop.message = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, t->sink_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, t->progress_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, t->stop.raised_ref);
  t->sink_ref = t->progress_ref = t->stop.raised_ref = LUA_NOREF;
  mx_buffer_free(&t->head);
  mx_buffer_free(&t->body);
  mx_buffer_free(&t->chunk);
  free(t->expect_type);
  t->expect_type = NULL;
}

void mx_transfer_free(lua_State *L, mx_transfer *t) {
  release_resources(L, t);
  free(t);
}

/* t:close(), also __close: cancels a transfer in flight and frees it. Idempotent. */
static int transfer_close(lua_State *L) {
  mx_transfer *t = to_transfer(L, 1);
  if (t == NULL || t->closed) return 0;
  if (t->driver != NULL && t->driver->stepping)
    return luaL_error(L, "close: called from inside a transfer callback");
  release_resources(L, t);
  return 0;
}

/* t:cancel(): ends a transfer in flight with "cancelled", keeping what it got so far for
 * t:result(). Allowed anywhere, a transfer callback included: there the transfer only stops
 * at its next callback, and the driver takes it out once libcurl returns. */
static int transfer_cancel(lua_State *L) {
  mx_transfer *t = to_transfer(L, 1);
  if (t == NULL || t->closed || t->done) return 0;
  if (t->stop.why == MX_STOP_NONE) t->stop.why = MX_STOP_CANCELLED;
  if (t->driver == NULL) mx_transfer_finished(t, CURLE_ABORTED_BY_CALLBACK);
  else if (t->driver->stepping) t->driver->pending = 1;
  else t->driver->release(t->driver, L, t);
  return 0;
}

/* __gc: the caller is gone, so is the transfer. Inside a step (a collection cycle run by a
 * callback's Lua code) libcurl may not lose it yet: it is stopped, and the driver frees it. */
static int transfer_gc(lua_State *L) {
  mx_transfer **box = luaL_checkudata(L, 1, MX_TRANSFER_MT);
  mx_transfer *t = *box;
  *box = NULL;
  if (t == NULL) return 0;
  if (t->driver != NULL && t->driver->stepping) {
    t->orphaned = 1;
    if (t->stop.why == MX_STOP_NONE) t->stop.why = MX_STOP_CANCELLED;
    t->driver->pending = 1;
    return 0;
  }
  mx_transfer_free(L, t);
  return 0;
}

static int transfer_tostring(lua_State *L) {
  mx_transfer *t = to_transfer(L, 1);
  const char *state = t == NULL || t->closed ? "closed" : t->done ? "done" : "in flight";
  lua_pushfstring(L, "%s (%s)", MX_TRANSFER_MT, state);
  return 1;
}

void mx_transfer_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"done", transfer_done},
    {"ready", transfer_ready},
    {"hungry", transfer_hungry},
    {"feed", transfer_feed},
    {"read", transfer_read},
    {"part_size", transfer_part_size},
    {"result", transfer_result},
    {"commit", transfer_commit},
    {"keep_partial", transfer_keep_partial},
    {"cancel", transfer_cancel},
    {"close", transfer_close},
    {NULL, NULL}};
  luaL_newmetatable(L, MX_TRANSFER_MT);
  lua_newtable(L);
  mx_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, transfer_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, transfer_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, transfer_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}
