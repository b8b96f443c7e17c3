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

/* core.utf8_error(s) -> nil when s is valid UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), else the 1-based position of the first byte that is not. */
static int core_utf8_error(lua_State *L) {
  size_t len, i = 0;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
  while (i < len) {
    unsigned char c = s[i];
    size_t n, k;
    unsigned long cp;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else break;
    if (len - i <= n) break;
    for (k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) break;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (k <= n) break;
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      break;
    i += n + 1;
  }
  if (i >= len) lua_pushnil(L);
  else lua_pushinteger(L, (lua_Integer)i + 1);
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
    {"file_size", mx_file_size},
    {"utf8_error", core_utf8_error},
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
