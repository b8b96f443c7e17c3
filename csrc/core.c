/* mistralai.core: libcurl for the mistralai rock. It moves bytes (HTTP, multipart, files,
 * sinks); lua/mistralai/ speaks the API. This file registers the functions and the two
 * classes: multi.c drives transfers, transfer.c runs one request with the other files' help. */
#include "clock.h"
#include "json.h"
#include "multi.h"
#include "transfer.h"
#include "utf8.h"
#include "wait.h"

/* core.now() -> seconds on a monotonic clock */
static int core_now(lua_State *L) {
  lua_pushnumber(L, mx_now());
  return 1;
}

/* core.sleep(seconds): blocks the thread; used between retries by blocking clients. */
static int core_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  if (!(s > 0)) return 0;
  if (s > 86400) s = 86400;
#ifdef _WIN32
  Sleep((DWORD)(s * 1000));
#else
  {
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {}
  }
#endif
  return 0;
}

/* core.utf8_error(s) -> nil when s is valid UTF-8, else the 1-based position of the first
 * byte that is not. */
static int core_utf8_error(lua_State *L) {
  size_t len, valid;
  const char *s = luaL_checklstring(L, 1, &len);
  valid = mx_utf8_valid_prefix((const unsigned char *)s, len);
  if (valid == len) lua_pushnil(L);
  else lua_pushinteger(L, (lua_Integer)valid + 1);
  return 1;
}

static int core_curl_version(lua_State *L) {
  lua_pushstring(L, curl_version());
  return 1;
}

int luaopen_mistralai_core(lua_State *L) {
  static const luaL_Reg functions[] = {
    {"now", core_now},
    {"sleep", core_sleep},
    {"utf8_error", core_utf8_error},
    {"json_decode", mx_json_decode},
    {"curl_version", core_curl_version},
    {NULL, NULL}};
  /* Not thread-safe before libcurl 7.84, so done once, at the first require. */
  static int initialised = 0;
  if (!initialised) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return luaL_error(L, "curl_global_init failed");
    initialised = 1;
  }
  lua_newtable(L);
  mx_setfuncs(L, functions, 0);
  mx_transfer_register(L);
  mx_multi_register(L);
  mx_wait_register(L);
  return 1;
}
