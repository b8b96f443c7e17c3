/* mistralai.core.Multi. libcurl says through its socket callback which descriptors to watch
 * for what, and through curl_multi_timeout when it wants to be called regardless; the multi
 * hands both to whoever waits:
 *   m:wait(seconds)  blocks in poll() on them (scripts), up to seconds or until a transfer ends;
 *   m:watching()     tells an event loop what to watch and until when;
 *   m:act(fd, ev)    is the loop's "this descriptor is ready" (or, without fd, "time is due").
 * Every path ends in curl_multi_socket_action, never curl_multi_perform: libcurl forbids
 * mixing the two on one handle. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "multi.h"
#include "platform.h"
#include "transfer.h"

#define MX_WAIT_MAX 3600.0  /* seconds one wait may block at most */

/* A descriptor libcurl wants watched. A new socket on a reused descriptor number gets a new
 * generation, so an event loop knows to drop its watcher of the old one. */
typedef struct mx_watch {
  curl_socket_t fd;
  int events;      /* MX_READ | MX_WRITE */
  unsigned generation;
} mx_watch;

#define MX_READ 1
#define MX_WRITE 2

typedef struct mx_multi {
  mx_driver driver;   /* first, so a transfer's driver pointer is its multi */
  CURLM *cm;
  mx_transfer *head;  /* transfers in flight (their Lua objects are the callers' to hold) */
  mx_watch *watches;
  int nwatches, capwatches;
  unsigned generation;
  int running;        /* transfers libcurl still runs, as of the last action */
  int failed;         /* a socket callback could not record a descriptor (out of memory) */
  int closed;
  int close_pending;  /* closed from inside a callback: done once the step returns */
} mx_multi;

static void close_now(lua_State *L, mx_multi *m);

static mx_multi *check_multi(lua_State *L, int i) {
  mx_multi *m = luaL_checkudata(L, i, MX_MULTI_MT);
  if (m->closed) luaL_argerror(L, i, "multi is closed");
  return m;
}

/* ---- libcurl's socket and timer callbacks ---- */

static int find_watch(const mx_multi *m, curl_socket_t fd) {
  int i;
  for (i = 0; i < m->nwatches; i++)
    if (m->watches[i].fd == fd) return i;
  return -1;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  mx_multi *m = userp;
  int i = find_watch(m, fd);
  (void)easy;
  (void)socketp;
  if (what == CURL_POLL_REMOVE) {
    if (i >= 0) m->watches[i] = m->watches[--m->nwatches];
    return 0;
  }
  if (i < 0) {
    if (m->nwatches == m->capwatches) {
      int cap = m->capwatches ? m->capwatches * 2 : 8;
      mx_watch *grown = realloc(m->watches, (size_t)cap * sizeof *grown);
      if (grown == NULL) {
        m->failed = 1;
        return -1;
      }
      m->watches = grown;
      m->capwatches = cap;
    }
    i = m->nwatches++;
    m->watches[i].fd = fd;
    m->watches[i].generation = ++m->generation;
  }
  m->watches[i].events = (what & CURL_POLL_IN ? MX_READ : 0) | (what & CURL_POLL_OUT ? MX_WRITE : 0);
  return 0;
}

/* Seconds until libcurl wants a timeout action (0: now), or -1 when it has no timer. Asked each
 * time rather than kept from CURLMOPT_TIMERFUNCTION: libcurl does not always call that back
 * when its last timer goes (a finished transfer's), and a stale "due" would spin a host. */
static double timer_left(const mx_multi *m) {
  long ms = -1;
  if (curl_multi_timeout(m->cm, &ms) != CURLM_OK || ms < 0) return -1;
  return (double)ms / 1000;
}

/* ---- acting ---- */

/* Takes t out of the multi (finished, cancelled or closed). A transfer taken out before
 * libcurl finished it reports "cancelled". */
static void multi_release(mx_driver *d, lua_State *L, mx_transfer *t) {
  mx_multi *m = (mx_multi *)d;
  (void)L;
  curl_multi_remove_handle(m->cm, t->easy);
  if (t->prev != NULL) t->prev->next = t->next;
  else m->head = t->next;
  if (t->next != NULL) t->next->prev = t->prev;
  t->prev = t->next = NULL;
  t->driver = NULL;
  if (!t->done) mx_transfer_finished(t, CURLE_ABORTED_BY_CALLBACK);
}

/* Unpauses a stream whose chunk was read, or an upload given its next piece. libcurl may call
 * back at once (the next chunk, a progress function), so this is a step of its own. */
static void multi_resume(mx_driver *d, lua_State *L, mx_transfer *t) {
  d->L = L;
  d->stepping = 1;
  /* libcurl 7.88 wakes a paused multipart reader only when the transfer is marked send-paused,
   * which a pause during the request's first send does not do: mark it, then go on. */
  curl_easy_pause(t->easy, CURLPAUSE_SEND);
  curl_easy_pause(t->easy, CURLPAUSE_CONT);
  d->stepping = 0;
  d->L = NULL;
  if (((mx_multi *)d)->close_pending) close_now(L, (mx_multi *)d);
}

/* Does a transfer wait for its caller: a stream's chunk to read, a fed upload hungry? */
static int caller_awaited(const mx_multi *m) {
  const mx_transfer *t;
  if (m->driver.readable) return 1;
  for (t = m->head; t != NULL; t = t->next)
    if (t->mime.feed != NULL && t->mime.feed->hungry) return 1;
  return 0;
}

/* Takes out a transfer that is done with: finished, cancelled, or orphaned (freed here). */
static void let_go(lua_State *L, mx_multi *m, mx_transfer *t) {
  multi_release(&m->driver, L, t);
  if (t->orphaned) mx_transfer_free(L, t);
}

/* Reads libcurl's completion messages and finishes those transfers. Returns how many. */
static int collect(lua_State *L, mx_multi *m) {
  CURLMsg *msg;
  int left, finished = 0;
  while ((msg = curl_multi_info_read(m->cm, &left)) != NULL) {
    mx_transfer *t = NULL;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    if (t != NULL) {
      mx_transfer_finished(t, msg->data.result);
      if (!t->orphaned) finished++;
      let_go(L, m, t);
    }
  }
  return finished;
}

/* Takes out what was cancelled or collected during the step, now that libcurl has returned.
 * Returns how many cancelled transfers a caller waits for. */
static int sweep(lua_State *L, mx_multi *m) {
  mx_transfer *t = m->head, *next;
  int finished = 0;
  if (!m->driver.pending) return 0;
  m->driver.pending = 0;
  for (; t != NULL; t = next) {
    next = t->next;
    if (t->stop.why != MX_STOP_CANCELLED) continue;
    if (!t->orphaned) finished++;
    let_go(L, m, t);
  }
  return finished;
}

/* One socket action: on fd with the events (MX_READ/MX_WRITE, or 0 to let libcurl look), or,
 * with fd CURL_SOCKET_TIMEOUT, whatever libcurl's timers say is due. */
static CURLMcode act(mx_multi *m, curl_socket_t fd, int events) {
  int mask = (events & MX_READ ? CURL_CSELECT_IN : 0) | (events & MX_WRITE ? CURL_CSELECT_OUT : 0);
  return curl_multi_socket_action(m->cm, fd, mask, &m->running);
}

static int timer_due(const mx_multi *m) { return timer_left(m) == 0; }

static void begin_step(lua_State *L, mx_multi *m, const char *what) {
  if (m->driver.stepping) luaL_error(L, "%s: called from inside a transfer callback", what);
  m->driver.L = L;
  m->driver.stepping = 1;
}

static void end_step(lua_State *L, mx_multi *m, CURLMcode mc, const char *what) {
  m->driver.stepping = 0;
  m->driver.L = NULL;
  if (m->close_pending) close_now(L, m);
  if (mc != CURLM_OK) luaL_error(L, "%s: %s", what, curl_multi_strerror(mc));
  if (m->failed) {
    m->failed = 0;
    luaL_error(L, "%s: out of memory", what);
  }
}

/* Seconds as whole milliseconds, rounded up so a wait never ends before its time. */
static int milliseconds_up(double seconds) {
  int ms;
  if (seconds <= 0) return 0;
  ms = (int)(seconds * 1000);
  return ms < seconds * 1000 ? ms + 1 : ms;
}

/* Pushes the seconds until libcurl's timer, or nil when it has none. */
static void push_timer(lua_State *L, const mx_multi *m) {
  double left = timer_left(m);
  if (left < 0) lua_pushnil(L);
  else lua_pushnumber(L, left);
}

static int events_of(lua_State *L, int i) {
  const char *s = luaL_optstring(L, i, "");
  return (strchr(s, 'r') ? MX_READ : 0) | (strchr(s, 'w') ? MX_WRITE : 0);
}

/* m:act([fd, events]) -> as m:wait: "fd is ready for events
 * ('r', 'w', 'rw'; '' lets libcurl look)", or without fd, "the time is due". Never blocks. */
static int multi_act(lua_State *L) {
  mx_multi *m = check_multi(L, 1);
  CURLMcode mc;
  int finished = 0;
  begin_step(L, m, "act");
  if (lua_isnoneornil(L, 2)) mc = act(m, CURL_SOCKET_TIMEOUT, 0);
  else mc = act(m, (curl_socket_t)luaL_checkinteger(L, 2), events_of(L, 3));
  if (mc == CURLM_OK && timer_due(m)) mc = act(m, CURL_SOCKET_TIMEOUT, 0);
  if (mc == CURLM_OK) finished = collect(L, m);
  finished += sweep(L, m);
  end_step(L, m, mc, "act");
  lua_pushinteger(L, m->running);
  lua_pushinteger(L, finished);
  push_timer(L, m);
  return 3;
}

/* Acts on every ready descriptor of a poll() (counted in *ready), then on the timer if due. */
static CURLMcode act_on_ready(mx_multi *m, const struct pollfd *pfds, int n, int *ready) {
  CURLMcode mc = CURLM_OK;
  int i;
  for (i = 0; i < n && mc == CURLM_OK; i++) {
    short r = pfds[i].revents;
    if (r == 0 || (r & POLLNVAL)) continue;  /* POLLNVAL: closed by an earlier action */
    (*ready)++;
    mc = act(m, pfds[i].fd, (r & (POLLIN | POLLERR | POLLHUP) ? MX_READ : 0) | (r & POLLOUT ? MX_WRITE : 0));
  }
  if (mc == CURLM_OK && timer_due(m)) mc = act(m, CURL_SOCKET_TIMEOUT, 0);
  return mc;
}

/* m:wait([seconds]) -> transfers still running, transfers finished, seconds until libcurl's
 * timer (nil: none), descriptors that were ready. Blocks in poll() on the
 * descriptors libcurl watches, until libcurl's timer, for at most seconds (default 0: look
 * once), acting on whatever is ready, and returns as soon as a transfer finished or waits for
 * its caller (a stream's chunk to read, an upload's next piece to give). With nothing
 * to watch it sleeps: that is how a blocking client waits between retries. */
static int multi_wait(lua_State *L) {
  mx_multi *m = check_multi(L, 1);
  double seconds = luaL_optnumber(L, 2, 0);
  double deadline = mx_now() + (seconds > 0 ? (seconds < MX_WAIT_MAX ? seconds : MX_WAIT_MAX) : 0);
  struct pollfd *pfds = NULL;
  CURLMcode mc = CURLM_OK;
  int finished = 0, ready = 0;
  begin_step(L, m, "wait");
  m->driver.readable = 0;
  for (;;) {
    double left = deadline - mx_now(), timer;
    int i, n = m->nwatches, rc;
    struct pollfd *grown = realloc(pfds, (size_t)(n > 0 ? n : 1) * sizeof *pfds);
    if (grown == NULL) {
      m->failed = 1;
      break;
    }
    pfds = grown;
    for (i = 0; i < n; i++) {
      pfds[i].fd = m->watches[i].fd;
      pfds[i].events = (short)((m->watches[i].events & MX_READ ? POLLIN : 0) | (m->watches[i].events & MX_WRITE ? POLLOUT : 0));
      pfds[i].revents = 0;
    }
    timer = timer_left(m);
    if (timer >= 0 && timer < left) left = timer;
    rc = mx_poll(pfds, n, milliseconds_up(left));
    if (rc < 0 && errno == EINTR) break;  /* a signal: back to Lua, which may have been told to stop */
    mc = act_on_ready(m, pfds, rc > 0 ? n : 0, &ready);
    if (mc != CURLM_OK) break;
    finished += collect(L, m);
    finished += sweep(L, m);
    if (finished > 0 || caller_awaited(m) || mx_now() >= deadline) break;
  }
  free(pfds);
  end_step(L, m, mc, "wait");
  lua_pushinteger(L, m->running);
  lua_pushinteger(L, finished);
  push_timer(L, m);
  lua_pushinteger(L, ready);
  return 4;
}

/* m:watching() -> { [fd] = events }, seconds until libcurl's timer (nil: none). events is
 * "r", "w" or "rw", followed by ":" and the socket's generation (a new number means a new
 * socket on that descriptor: drop the old watcher first). */
static int multi_watching(lua_State *L) {
  mx_multi *m = check_multi(L, 1);
  int i;
  lua_createtable(L, 0, m->nwatches);
  for (i = 0; i < m->nwatches; i++) {
    const mx_watch *w = &m->watches[i];
    lua_pushfstring(L, "%s%s:%d", w->events & MX_READ ? "r" : "", w->events & MX_WRITE ? "w" : "",
                    (int)w->generation);
    lua_rawseti(L, -2, (int)w->fd);
  }
  push_timer(L, m);
  return 2;
}

/* m:timer() -> seconds until libcurl's timer, or nil when it has none */
static int multi_timer(lua_State *L) {
  push_timer(L, check_multi(L, 1));
  return 1;
}

static int multi_new(lua_State *L) {
  mx_multi *m = lua_newuserdata(L, sizeof *m);
  memset(m, 0, sizeof *m);
  m->driver.release = multi_release;
  m->driver.resume = multi_resume;
  m->closed = 1;  /* until the handle exists, so __gc has nothing to free */
  luaL_getmetatable(L, MX_MULTI_MT);
  lua_setmetatable(L, -2);
  m->cm = curl_multi_init();
  if (m->cm == NULL) return luaL_error(L, "curl_multi_init failed");
  curl_multi_setopt(m->cm, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(m->cm, CURLMOPT_SOCKETDATA, m);
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
  t = *(mx_transfer **)lua_touserdata(L, -1);
  if (curl_multi_add_handle(m->cm, t->easy) != CURLM_OK)
    return luaL_error(L, "start: curl_multi_add_handle failed");
  t->driver = &m->driver;
  t->next = m->head;
  if (m->head != NULL) m->head->prev = t;
  m->head = t;
  return 1;
}

/* One close for close(), __gc and __close: transfers still in flight are cancelled
 * (they report "cancelled"); the handle and its connections are freed. */
/* Takes out every transfer (they report "cancelled") and frees libcurl's handle and its
 * connections. */
static void close_now(lua_State *L, mx_multi *m) {
  while (m->head != NULL) {
    mx_output_abandon(&m->head->out);  /* its caller may never run again (Ctrl-C, a dropped task) */
    let_go(L, m, m->head);
  }
  curl_multi_cleanup(m->cm);
  m->cm = NULL;
  free(m->watches);
  m->watches = NULL;
  m->nwatches = m->capwatches = 0;
  m->closed = 1;
  m->close_pending = 0;
}

/* m:close(): from inside a transfer callback (a sink that closes its client), libcurl may not
 * lose its handles yet: every transfer stops at its next callback, running no more Lua, and
 * the close is done as soon as the step returns. */
static int multi_close(lua_State *L) {
  mx_multi *m = luaL_checkudata(L, 1, MX_MULTI_MT);
  mx_transfer *t;
  if (m->closed) return 0;
  if (!m->driver.stepping) {
    close_now(L, m);
    return 0;
  }
  for (t = m->head; t != NULL; t = t->next)
    if (t->stop.why == MX_STOP_NONE) t->stop.why = MX_STOP_CANCELLED;
  m->close_pending = 1;
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
    {"act", multi_act},
    {"wait", multi_wait},
    {"watching", multi_watching},
    {"timer", multi_timer},
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
