/* mistralai.core: libcurl for the mistralai rock. It moves bytes (HTTP, multipart, files,
 * sinks); lua/mistralai/ speaks the API. */
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#endif

#include "core.h"

int mx_file_size(lua_State *L);

double mx_now(void) {
#ifdef _WIN32
  LARGE_INTEGER count, frequency;
  QueryPerformanceCounter(&count);
  QueryPerformanceFrequency(&frequency);
  return (double)count.QuadPart / (double)frequency.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

/* core.now() -> seconds on a monotonic clock */
static int core_now(lua_State *L) {
  lua_pushnumber(L, mx_now());
  return 1;
}

/* core.sleep(seconds): blocks the thread; used between retries by blocking clients. */
static int core_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  if (s <= 0) return 0;
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

static int core_curl_version(lua_State *L) {
  lua_pushstring(L, curl_version());
  return 1;
}

int luaopen_mistralai_core(lua_State *L) {
  static const luaL_Reg functions[] = {
    {"now", core_now},
    {"sleep", core_sleep},
    {"file_size", mx_file_size},
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
  return 1;
}
