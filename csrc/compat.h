/* One header to build the core for Lua 5.1 (and LuaJIT) through 5.4.
 * The code is written against the 5.4 API; what 5.1 lacks is shimmed here under
 * our own names, so nothing clashes with the partial 5.2 API some LuaJIT builds export. */
#ifndef MX_COMPAT_H
#define MX_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM == 501
#define mx_rawlen(L, i) lua_objlen((L), (i))
#define mx_absindex(L, i) \
  (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)

static inline void mx_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

#else
#define mx_rawlen(L, i) lua_rawlen((L), (i))
#define mx_absindex lua_absindex
#define mx_setfuncs luaL_setfuncs
#endif

#endif
