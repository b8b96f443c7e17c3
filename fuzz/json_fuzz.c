/* libFuzzer target for csrc/json.c, the decoder every answer from a server goes through. The
 * input is an exact-size copy, so a read past its end is caught by AddressSanitizer. Beyond "no
 * crash": each call leaves one value, or nil and a message naming a byte within the input (or
 * just past it, for an unexpected end), with or without a null sentinel, and nothing else on the
 * stack. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/json.h"

static lua_State *L;

static void check(const char *text, size_t n, int null_index) {
  int top = lua_gettop(L);
  int results = mx_json_decode_bytes(L, text, n, null_index);
  if (lua_gettop(L) != top + results) __builtin_trap();
  if (results == 2) {
    const char *at;
    if (!lua_isnil(L, -2) || lua_type(L, -1) != LUA_TSTRING) __builtin_trap();
    at = strstr(lua_tostring(L, -1), " at byte ");
    if (at == NULL || strtoul(at + 9, NULL, 10) < 1 || strtoul(at + 9, NULL, 10) > n + 1) __builtin_trap();
  } else if (results != 1) {
    __builtin_trap();
  }
  lua_settop(L, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = malloc(size > 0 ? size : 1);
  if (copy == NULL) return 0;
  memcpy(copy, data, size);
  if (L == NULL) {
    L = luaL_newstate();
    lua_newtable(L);  /* index 1: the null sentinel */
  }
  check(copy, size, 0);
  check(copy, size, 1);
  lua_gc(L, LUA_GCCOLLECT, 0);
  free(copy);
  return 0;
}
