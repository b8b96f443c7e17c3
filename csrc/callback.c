#include <stdlib.h>
#include <string.h>

#include "callback.h"

/* A byte count: an integer where the Lua has them (5.3+), so a progress shows 255, not 255.0. */
static void push_count(lua_State *L, curl_off_t n, int known) {
  if (known) lua_pushinteger(L, (lua_Integer)n);
  else lua_pushnil(L);
}

/* Everything that may raise, the pushes included, runs inside the protected call. */
static int trampoline(lua_State *L) {
  const mx_call *c = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
  if (c->chunk != NULL) {
    lua_pushlstring(L, c->chunk, c->chunk_len);
    lua_call(L, 1, 2);
  } else {
    push_count(L, c->counts[0], 1);
    push_count(L, c->counts[1], c->counts[1] > 0);
    push_count(L, c->counts[2], 1);
    push_count(L, c->counts[3], c->counts[3] > 0);
    lua_call(L, 4, 2);
  }
  return 2;
}

int mx_callback_call(lua_State *L, const mx_call *c, mx_stop *stop) {
  int top;
  if (stop->why != MX_STOP_NONE) return 1;
  if (L == NULL) {
    stop->why = MX_STOP_REFUSED;
    return 1;
  }
  top = lua_gettop(L);
  lua_pushcfunction(L, trampoline);
  lua_pushlightuserdata(L, (void *)c);
  if (lua_pcall(L, 1, 2, 0) != 0) {
    stop->raised_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    stop->why = MX_STOP_RAISED;
    lua_settop(L, top);
    return 1;
  }
  if (lua_type(L, -2) == LUA_TBOOLEAN && !lua_toboolean(L, -2)) {
    const char *msg = lua_tostring(L, -1);
    stop->message = strdup(msg != NULL ? msg : "stopped by callback");
    stop->why = stop->message != NULL ? MX_STOP_REFUSED : MX_STOP_NOMEM;
    lua_settop(L, top);
    return 1;
  }
  lua_settop(L, top);
  return 0;
}
