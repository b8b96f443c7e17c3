/* core.poll(fds, milliseconds[, wake_fd]) waits in poll() until one of fds ({ [fd] = "r" | "w" |
 * "rw", optionally followed by ":generation", as m:watching() gives them) is ready, the time
 * has passed, or the waker's descriptor is written to. It touches no libcurl state, so it may
 * run in another thread (and another Lua state) than the multi it serves.
 * core.waker() is a pipe whose write end wakes such a poll. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "wait.h"

#ifndef _WIN32

typedef struct mx_waker {
  int fds[2];  /* read end, write end; -1 once closed */
} mx_waker;

static int mode_of(const char *s) {
  int events = 0;
  for (; *s != '\0' && *s != ':'; s++) {
    if (*s == 'r') events |= POLLIN;
    if (*s == 'w') events |= POLLOUT;
  }
  return events;
}

/* core.poll(fds, ms[, wake_fd]) -> { [fd] = "r" | "w" | "rw" } of the ready ones, woken */
static int core_poll(lua_State *L) {
  lua_Integer ms = luaL_checkinteger(L, 2);
  int wake_fd = (int)luaL_optinteger(L, 3, -1);
  int n = 0, cap = 8, i, rc, woken = 0;
  struct pollfd *pfds;
  luaL_checktype(L, 1, LUA_TTABLE);
  pfds = malloc((size_t)cap * sizeof *pfds);
  if (pfds == NULL) return luaL_error(L, "poll: out of memory");
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    if (lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TSTRING) {
      if (n + 1 >= cap) {
        struct pollfd *grown = realloc(pfds, (size_t)(cap *= 2) * sizeof *pfds);
        if (grown == NULL) {
          free(pfds);
          return luaL_error(L, "poll: out of memory");
        }
        pfds = grown;
      }
      pfds[n].fd = (int)lua_tointeger(L, -2);
      pfds[n].events = (short)mode_of(lua_tostring(L, -1));
      pfds[n].revents = 0;
      n++;
    }
    lua_pop(L, 1);
  }
  if (wake_fd >= 0) {
    pfds[n].fd = wake_fd;
    pfds[n].events = POLLIN;
    pfds[n].revents = 0;
  }
  do rc = mx_poll(pfds, n + (wake_fd >= 0), ms < 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms);
  while (rc < 0 && errno == EINTR);
  lua_newtable(L);
  for (i = 0; rc > 0 && i < n; i++) {
    short r = pfds[i].revents;
    if (r == 0 || (r & POLLNVAL)) continue;
    lua_pushstring(L, (r & (POLLIN | POLLERR | POLLHUP)) ? ((r & POLLOUT) ? "rw" : "r") : "w");
    lua_rawseti(L, -2, pfds[i].fd);
  }
  if (rc > 0 && wake_fd >= 0 && pfds[n].revents != 0) {
    char drain[64];
    while (read(wake_fd, drain, sizeof drain) > 0) {}
    woken = 1;
  }
  free(pfds);
  lua_pushboolean(L, woken);
  return 2;
}

static mx_waker *check_waker(lua_State *L) { return luaL_checkudata(L, 1, MX_WAKER_MT); }

/* core.waker() -> a waker: w:fd() for core.poll, w:wake() from anywhere, w:close() */
static int core_waker(lua_State *L) {
  mx_waker *w = lua_newuserdata(L, sizeof *w);
  w->fds[0] = w->fds[1] = -1;
  luaL_getmetatable(L, MX_WAKER_MT);
  lua_setmetatable(L, -2);
  if (pipe(w->fds) != 0) return luaL_error(L, "waker: %s", strerror(errno));
  for (int i = 0; i < 2; i++) {
    fcntl(w->fds[i], F_SETFD, FD_CLOEXEC);
    fcntl(w->fds[i], F_SETFL, fcntl(w->fds[i], F_GETFL) | O_NONBLOCK);
  }
  return 1;
}

static int waker_fd(lua_State *L) {
  mx_waker *w = check_waker(L);
  if (w->fds[0] < 0) return luaL_argerror(L, 1, "waker is closed");
  lua_pushinteger(L, w->fds[0]);
  return 1;
}

/* A full pipe already wakes its reader: a failed write loses nothing. */
static int waker_wake(lua_State *L) {
  mx_waker *w = check_waker(L);
  if (w->fds[1] >= 0 && write(w->fds[1], "!", 1) < 0 && errno != EAGAIN) {
    return luaL_error(L, "wake: %s", strerror(errno));
  }
  return 0;
}

static int waker_close(lua_State *L) {
  mx_waker *w = check_waker(L);
  for (int i = 0; i < 2; i++) {
    if (w->fds[i] >= 0) close(w->fds[i]);
    w->fds[i] = -1;
  }
  return 0;
}

void mx_wait_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"fd", waker_fd}, {"wake", waker_wake}, {"close", waker_close}, {NULL, NULL}};
  luaL_newmetatable(L, MX_WAKER_MT);
  lua_newtable(L);
  mx_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, waker_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, waker_close);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  lua_pushcfunction(L, core_poll);
  lua_setfield(L, -2, "poll");
  lua_pushcfunction(L, core_waker);
  lua_setfield(L, -2, "waker");
}

#else

void mx_wait_register(lua_State *L) { (void)L; }  /* nginx's Lua hosts are POSIX here */

#endif
