#include <math.h>
#include <string.h>

#include "options.h"

typedef enum {
  MX_STRING,      /* copied by libcurl */
  MX_COUNT,       /* a whole number from 0 to MX_COUNT_MAX */
  MX_MS_AS_S,     /* milliseconds, given to libcurl as whole seconds, rounded up */
  MX_REUSE,       /* boolean: false asks for a new connection */
  MX_REDIRECTS,   /* a count; 0 turns following redirects off */
  MX_RATE         /* a count given to libcurl as a curl_off_t; 0: no cap */
} mx_option_type;

typedef struct {
  const char *field;
  CURLoption option;
  mx_option_type type;
  long dflt;  /* when the field is absent (not used for strings) */
} mx_option;

/* Fits a 32-bit long and every libcurl millisecond option: 24 days. */
#define MX_COUNT_MAX 2147483647.0

static const mx_option OPTIONS[] = {
  {"url", CURLOPT_URL, MX_STRING, 0},
  {"connect_timeout_ms", CURLOPT_CONNECTTIMEOUT_MS, MX_COUNT, 0},  /* 0: libcurl's 300 s */
  {"timeout_ms", CURLOPT_TIMEOUT_MS, MX_COUNT, 0},                 /* 0: none */
  /* A transfer slower than stall_bytes_per_s for stall_timeout_ms fails as timed out. */
  {"stall_bytes_per_s", CURLOPT_LOW_SPEED_LIMIT, MX_COUNT, 0},
  {"stall_timeout_ms", CURLOPT_LOW_SPEED_TIME, MX_MS_AS_S, 0},
  {"max_redirects", CURLOPT_MAXREDIRS, MX_REDIRECTS, 0},
  /* libcurl re-sends a request, body included, when a reused connection dies before any
   * response byte; on a new connection it never does. A request that must not be repeated
   * unasked (an upload the server may have stored) says reuse_connection = false. */
  {"reuse_connection", CURLOPT_FRESH_CONNECT, MX_REUSE, 1},
  {"max_send_bytes_per_s", CURLOPT_MAX_SEND_SPEED_LARGE, MX_RATE, 0},
  {"max_recv_bytes_per_s", CURLOPT_MAX_RECV_SPEED_LARGE, MX_RATE, 0},
  {"ca_file", CURLOPT_CAINFO, MX_STRING, 0},
  {"ca_path", CURLOPT_CAPATH, MX_STRING, 0},
  {"proxy", CURLOPT_PROXY, MX_STRING, 0},
  {"no_proxy", CURLOPT_NOPROXY, MX_STRING, 0},
};

const char *mx_field_string(lua_State *L, int tbl, const char *name, size_t *len) {
  const char *s = NULL;
  lua_getfield(L, tbl, name);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "start: field '%s' must be a string, got %s", name, luaL_typename(L, -1));
    s = lua_tolstring(L, -1, len);
  }
  lua_pop(L, 1);  /* the table still holds the string */
  return s;
}

int mx_field_function(lua_State *L, int tbl, const char *name) {
  lua_getfield(L, tbl, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return LUA_NOREF;
  }
  if (lua_type(L, -1) != LUA_TFUNCTION)
    luaL_error(L, "start: field '%s' must be a function, got %s", name, luaL_typename(L, -1));
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* A count field: absent gives dflt; anything but a whole number in range raises, so no
 * NaN, infinity or huge value reaches a C cast. */
static long field_count(lua_State *L, int req, const char *name, long dflt) {
  lua_Number v;
  lua_getfield(L, req, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return dflt;
  }
  if (lua_type(L, -1) != LUA_TNUMBER)
    luaL_error(L, "start: field '%s' must be a number, got %s", name, luaL_typename(L, -1));
  v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= 0 && v <= MX_COUNT_MAX) || v != floor(v))
    luaL_error(L, "start: field '%s' must be a whole number from 0 to %d", name, (int)MX_COUNT_MAX);
  return (long)v;
}

static void set_fixed(CURL *easy) {
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  /* the host program owns signals */
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  /* The caller's path is sent as given: libcurl would otherwise remove "." and ".." segments. */
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

void mx_options_apply(lua_State *L, CURL *easy, int req) {
  size_t i;
  set_fixed(easy);
  for (i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++) {
    const mx_option *o = &OPTIONS[i];
    long n;
    switch (o->type) {
      case MX_STRING: {
        const char *s = mx_field_string(L, req, o->field, NULL);
        if (s != NULL) curl_easy_setopt(easy, o->option, s);
        break;
      }
      case MX_COUNT:
        curl_easy_setopt(easy, o->option, field_count(L, req, o->field, o->dflt));
        break;
      case MX_MS_AS_S:
        n = field_count(L, req, o->field, o->dflt);
        curl_easy_setopt(easy, o->option, n / 1000 + (n % 1000 != 0));
        break;
      case MX_REUSE:
        lua_getfield(L, req, o->field);
        n = lua_isnil(L, -1) ? o->dflt : lua_toboolean(L, -1);
        lua_pop(L, 1);
        curl_easy_setopt(easy, o->option, n ? 0L : 1L);
        /* Over https, a transfer that may share a connection waits for one being set up to
         * say (by ALPN, right after its handshake) whether it multiplexes, instead of opening
         * its own: 32 calls of a cold gather then ride one HTTP/2 connection. Not over plain
         * http: there libcurl learns it only from a first response, so every other transfer
         * would queue behind a slow one. */
        if (n) {
          const char *url = mx_field_string(L, req, "url", NULL);
          curl_easy_setopt(easy, CURLOPT_PIPEWAIT, url != NULL && strncmp(url, "https://", 8) == 0 ? 1L : 0L);
        }
        break;
      case MX_RATE:
        curl_easy_setopt(easy, o->option, (curl_off_t)field_count(L, req, o->field, o->dflt));
        break;
      case MX_REDIRECTS:
        n = field_count(L, req, o->field, o->dflt);
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, n > 0 ? 1L : 0L);
        curl_easy_setopt(easy, o->option, n);
        break;
    }
  }
}

void mx_options_headers(lua_State *L, int req, const char *extra, struct curl_slist **list) {
  lua_getfield(L, req, "headers");
  if (!lua_isnil(L, -1)) {
    int i, n;
    if (!lua_istable(L, -1)) luaL_error(L, "start: field 'headers' must be a list of lines");
    n = (int)mx_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      struct curl_slist *grown;
      lua_rawgeti(L, -1, i);
      if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "start: header %d must be a string", i);
      grown = curl_slist_append(*list, lua_tostring(L, -1));
      if (grown == NULL) luaL_error(L, "start: out of memory");
      *list = grown;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (extra != NULL) {
    struct curl_slist *grown = curl_slist_append(*list, extra);
    if (grown == NULL) luaL_error(L, "start: out of memory");
    *list = grown;
  }
}
