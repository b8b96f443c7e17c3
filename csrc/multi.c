/* mistralai.core.Multi: one libcurl multi handle. Its connection cache makes consecutive
 * transfers reuse connections; step() drives every transfer in flight without blocking longer
 * than asked, which serves blocking callers (a long wait) and event loops (no wait) alike. */
#include <stdlib.h>

#include "clock.h"
#include "multi.h"
#include "transfer.h"

typedef struct mx_multi {
  mx_driver driver;   /* first, so a transfer's driver pointer is its multi */
  CURLM *cm;
  mx_transfer *head;  /* transfers in flight, each held by a registry reference */
  int closed;
} mx_multi;

static mx_multi *check_multi(lua_State *L, int i) {
  mx_multi *m = luaL_checkudata(L, i, MX_MULTI_MT);
  if (m->closed) luaL_argerror(L, i, "multi is closed");
  return m;
}

/* Takes t out of the multi (finished, cancelled or closed), dropping the multi's hold on it.
 * A transfer taken out before libcurl finished it reports "cancelled". */
static void multi_release(mx_driver *d, lua_State *L, mx_transfer *t) {
  mx_multi *m = (mx_multi *)d;
  curl_multi_remove_handle(m->cm, t->easy);
  if (t->prev != NULL) t->prev->next = t->next;
  else m->head = t->next;
  if (t->next != NULL) t->next->prev = t->prev;
  t->prev = t->next = NULL;
  t->driver = NULL;
  if (!t->done) mx_transfer_finished(t, CURLE_ABORTED_BY_CALLBACK);
  luaL_unref(L, LUA_REGISTRYINDEX, t->driver_ref);
  t->driver_ref = LUA_NOREF;
}

static int multi_new(lua_State *L) {
  mx_multi *m = lua_newuserdata(L, sizeof *m);
  m->driver.L = NULL;
  m->driver.stepping = 0;
  m->driver.release = multi_release;
  m->cm = NULL;
  m->head = NULL;
  m->closed = 1;  /* until the handle exists, so __gc has nothing to free */
  luaL_getmetatable(L, MX_MULTI_MT);
  lua_setmetatable(L, -2);
  m->cm = curl_multi_init();
  if (m->cm == NULL) return luaL_error(L, "curl_multi_init failed");
  m->closed = 0;
  return 1;
}

/* m:start(request) -> transfer | nil, kind, message: builds a transfer and adds it. */
static int multi_start(lua_State *L) {
  mx_multi *m = check_multi(L, 1);
  mx_transfer *t;
  luaL_checktype(L, 2, LUA_TTABLE);
  if (m->driver.stepping) return luaL_error(L, "start: called from inside a transfer callback");
  if (mx_transfer_new(L, 2) != 1) return 3;
  t = lua_touserdata(L, -1);
  if (curl_multi_add_handle(m->cm, t->easy) != CURLM_OK)
    return luaL_error(L, "start: curl_multi_add_handle failed");
  t->driver = &m->driver;
  t->next = m->head;
  if (m->head != NULL) m->head->prev = t;
  m->head = t;
  lua_pushvalue(L, -1);
  t->driver_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

/* Reads libcurl's completion messages and finishes those transfers. Returns how many. */
static int multi_collect(lua_State *L, mx_multi *m) {
  CURLMsg *msg;
  int left, finished = 0;
  while ((msg = curl_multi_info_read(m->cm, &left)) != NULL) {
    mx_transfer *t = NULL;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    if (t != NULL) {
      mx_transfer_finished(t, msg->data.result);
      multi_release(&m->driver, L, t);
      finished++;
    }
  }
  return finished;
}

/* m:step([wait_seconds]) -> transfers still in flight, transfers finished by this step.
 * Performs what can be done now; then, while nothing has finished and time is left, waits for
 * socket activity (or libcurl's own timers) and performs again. */
static int multi_step(lua_State *L) {
  mx_multi *m = check_multi(L, 1);
  double wait = luaL_optnumber(L, 2, 0);
  double deadline = mx_now() + (wait > 0 ? wait : 0);
  int running = 0, finished = 0;
  CURLMcode mc = CURLM_OK;
  if (m->driver.stepping) return luaL_error(L, "step: called from inside a transfer callback");
  m->driver.L = L;
  m->driver.stepping = 1;
  for (;;) {
    double left;
    mc = curl_multi_perform(m->cm, &running);
    if (mc != CURLM_OK) break;
    finished += multi_collect(L, m);
    if (finished > 0 || running == 0) break;
    left = deadline - mx_now();
    if (left <= 0) break;
    mc = curl_multi_poll(m->cm, NULL, 0, left > 3600 ? 3600000 : (int)(left * 1000) + 1, NULL);
    if (mc != CURLM_OK) break;
  }
  m->driver.stepping = 0;
  m->driver.L = NULL;
  if (mc != CURLM_OK) return luaL_error(L, "step: %s", curl_multi_strerror(mc));
  lua_pushinteger(L, running);
  lua_pushinteger(L, finished);
  return 2;
}

/* One close for close(), __gc and __close: transfers still in flight are cancelled
 * (they report "cancelled"); the handle and its connections are freed. */
static int multi_close(lua_State *L) {
  mx_multi *m = luaL_checkudata(L, 1, MX_MULTI_MT);
  if (m->closed) return 0;
  if (m->driver.stepping) return luaL_error(L, "close: called from inside a transfer callback");
  while (m->head != NULL) multi_release(&m->driver, L, m->head);
  curl_multi_cleanup(m->cm);
  m->cm = NULL;
  m->closed = 1;
  return 0;
}

static int multi_tostring(lua_State *L) {
  mx_multi *m = luaL_checkudata(L, 1, MX_MULTI_MT);
  int n = 0;
  mx_transfer *t;
  for (t = m->head; t != NULL; t = t->next) n++;
  if (m->closed) lua_pushfstring(L, "%s (closed)", MX_MULTI_MT);
  else lua_pushfstring(L, "%s (%d in flight)", MX_MULTI_MT, n);
  return 1;
}

void mx_multi_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"start", multi_start},
    {"step", multi_step},
    {"close", multi_close},
    {NULL, NULL}};
  luaL_newmetatable(L, MX_MULTI_MT);
  lua_newtable(L);
  mx_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, multi_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, multi_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, multi_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  lua_pushcfunction(L, multi_new);
  lua_setfield(L, -2, "multi");
}
