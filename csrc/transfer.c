/* mistralai.core.Transfer: one HTTP exchange on a Multi.
 *
 * A request table says what to send (method, url, header lines, multipart parts read by
 * libcurl from memory or straight from disk) and where a 2xx body goes (a string, a file
 * written atomically, or a Lua sink). Bodies of other responses always come back as a string,
 * for the error. Nothing here knows about Mistral. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "headers.h"
#include "platform.h"

#define MX_ERROR_BODY_MAX (1024 * 1024)  /* error bodies beyond this are cut, not failed */
#define MX_PROGRESS_INTERVAL 0.1         /* seconds between progress calls at most */

static mx_transfer *check_transfer(lua_State *L, int i) {
  return luaL_checkudata(L, i, MX_TRANSFER_MT);
}

/* ---- calling Lua from libcurl's callbacks ----
 * The call runs under lua_pcall through a trampoline, so no Lua error (not even a memory error
 * while pushing the arguments) unwinds through libcurl's frames. A raise is kept and re-raised
 * by the Lua layer after the transfer is torn down; `false[, msg]` refuses, anything else goes on. */
typedef struct mx_call {
  int ref;
  const char *chunk;
  size_t chunk_len;
  curl_off_t counts[4];  /* progress: received, to receive, sent, to send */
} mx_call;

static void push_count(lua_State *L, curl_off_t n, int known) {
  if (known) lua_pushnumber(L, (lua_Number)n);
  else lua_pushnil(L);
}

static int call_trampoline(lua_State *L) {
  mx_call *c = lua_touserdata(L, 1);
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

/* Returns 0 to go on, 1 to stop the transfer. */
static int call_lua(mx_transfer *t, mx_call *c) {
  lua_State *L = t->multi != NULL ? t->multi->L : NULL;
  int top;
  if (L == NULL) {  /* libcurl called back outside step(): nobody to run Lua for */
    t->abort = MX_ABORT_REFUSED;
    return 1;
  }
  top = lua_gettop(L);
  lua_pushcfunction(L, call_trampoline);
  lua_pushlightuserdata(L, c);
  if (lua_pcall(L, 1, 2, 0) != 0) {
    t->raised_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->abort = MX_ABORT_RAISED;
    lua_settop(L, top);
    return 1;
  }
  if (lua_type(L, -2) == LUA_TBOOLEAN && !lua_toboolean(L, -2)) {
    const char *msg = lua_tostring(L, -1);
    t->abort_message = strdup(msg != NULL ? msg : "stopped by callback");
    t->abort = t->abort_message != NULL ? MX_ABORT_REFUSED : MX_ABORT_NOMEM;
    lua_settop(L, top);
    return 1;
  }
  lua_settop(L, top);
  return 0;
}

/* ---- libcurl callbacks ---- */

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  mx_transfer *t = ud;
  size_t len = size * n;
  if (mx_header_is_status_line(p, len)) {  /* a new response: interim, redirect or final */
    mx_buffer_reset(&t->head);
    mx_buffer_reset(&t->body);
    t->routing_known = 0;
  }
  if (mx_buffer_append(&t->head, p, len) != 0) {
    t->abort = MX_ABORT_NOMEM;
    return 0;
  }
  return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud) {
  mx_transfer *t = ud;
  size_t len = size * n;
  if (!t->routing_known) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->body_routed = status >= 200 && status < 300 && (t->out != NULL || t->sink_ref != LUA_NOREF);
    t->routing_known = 1;
  }
  if (t->body_routed && t->out != NULL) {
    if (fwrite(p, 1, len, t->out) != len) {
      t->io_errno = errno;
      t->abort = MX_ABORT_IO;
      return 0;
    }
    return len;
  }
  if (t->body_routed) {
    mx_call c = {t->sink_ref, p, len, {0, 0, 0, 0}};
    return call_lua(t, &c) ? 0 : len;
  }
  if (t->out != NULL || t->sink_ref != LUA_NOREF) {  /* an error body: keep its start */
    if (t->body.len >= MX_ERROR_BODY_MAX) return len;
    if (len > MX_ERROR_BODY_MAX - t->body.len) len = MX_ERROR_BODY_MAX - t->body.len;
  }
  if (mx_buffer_append(&t->body, p, len) != 0) {
    t->abort = MX_ABORT_NOMEM;
    return 0;
  }
  return size * n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  mx_transfer *t = ud;
  mx_call c = {t->progress_ref, NULL, 0, {dlnow, dltotal, ulnow, ultotal}};
  double now;
  if (memcmp(c.counts, t->progress_last, sizeof c.counts) == 0) return 0;
  now = mx_now();
  if (now - t->progress_at < MX_PROGRESS_INTERVAL) return 0;
  t->progress_at = now;
  memcpy(t->progress_last, c.counts, sizeof c.counts);
  return call_lua(t, &c);
}

/* Every socket libcurl opens for a connection is closed on exec: a child process the host
 * starts (Neovim jobs, os.execute) must not hold the client's connections open. */
static int on_socket(void *ud, curl_socket_t fd, curlsocktype purpose) {
#if defined(FD_CLOEXEC) && !defined(_WIN32)
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
#endif
  (void)ud;
  (void)purpose;
  (void)fd;
  return CURL_SOCKOPT_OK;
}

/* ---- reading the request table ---- */

static const char *field_string(lua_State *L, int req, const char *name, size_t *len) {
  const char *s = NULL;
  lua_getfield(L, req, name);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "start: field '%s' must be a string, got %s", name, luaL_typename(L, -1));
    s = lua_tolstring(L, -1, len);
  }
  lua_pop(L, 1);  /* the request table still holds the string */
  return s;
}

static long field_long(lua_State *L, int req, const char *name, long dflt) {
  long v = dflt;
  lua_getfield(L, req, name);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER)
      luaL_error(L, "start: field '%s' must be a number, got %s", name, luaL_typename(L, -1));
    v = (long)lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static int field_function(lua_State *L, int req, const char *name) {
  int ref = LUA_NOREF;
  lua_getfield(L, req, name);
  if (lua_isnil(L, -1)) lua_pop(L, 1);
  else if (lua_type(L, -1) != LUA_TFUNCTION)
    luaL_error(L, "start: field '%s' must be a function, got %s", name, luaL_typename(L, -1));
  else ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return ref;
}

static int transfer_close(lua_State *L);

/* A failure of the world found before anything is sent: the transfer at index t is freed at
 * once and start returns nil, kind, message. */
static int start_failed(lua_State *L, int t, const char *kind, const char *fmt, const char *what,
                        const char *why) {
  lua_pushcfunction(L, transfer_close);
  lua_pushvalue(L, t);
  lua_call(L, 1, 0);
  lua_pushnil(L);
  lua_pushstring(L, kind);
  lua_pushfstring(L, fmt, what, why);
  return 3;
}

/* Checks that path is a regular file this process can read; its size in *size. The type is
 * checked before opening: opening a FIFO for reading would block until a writer came. */
static const char *regular_file(const char *path, curl_off_t *size) {
  mx_stat_t st;
  int fd;
  if (mx_stat(path, &st) != 0) return strerror(errno);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  fd = mx_open(path, O_RDONLY | MX_O_NONBLOCK | MX_O_BINARY);
  if (fd < 0) return strerror(errno);
  mx_close(fd);
  *size = (curl_off_t)st.st_size;
  return NULL;
}

/* core.file_size(path) -> bytes | nil, message */
int mx_file_size(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  curl_off_t size = 0;
  const char *why = regular_file(path, &size);
  if (why != NULL) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, why);
    return 2;
  }
  lua_pushnumber(L, (lua_Number)size);
  return 1;
}

/* parts = { {name=, data=|path=, filename=, type=}, ... } -> a curl_mime on t.
 * Returns NULL, or why a file part cannot be read (with the path in *bad). */
static const char *build_mime(lua_State *L, mx_transfer *t, int req, const char **bad) {
  int parts, i, n;
  lua_getfield(L, req, "parts");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  luaL_argcheck(L, lua_istable(L, -1), 2, "field 'parts' must be a table");
  parts = lua_gettop(L);
  t->mime = curl_mime_init(t->easy);
  if (t->mime == NULL) luaL_error(L, "start: out of memory");
  n = (int)mx_rawlen(L, parts);
  for (i = 1; i <= n; i++) {
    int spec;
    size_t data_len = 0;
    const char *name, *data, *path, *filename, *type;
    curl_mimepart *part;
    lua_rawgeti(L, parts, i);
    if (!lua_istable(L, -1)) luaL_error(L, "start: part %d must be a table", i);
    spec = lua_gettop(L);
    name = field_string(L, spec, "name", NULL);
    data = field_string(L, spec, "data", &data_len);
    path = field_string(L, spec, "path", NULL);
    filename = field_string(L, spec, "filename", NULL);
    type = field_string(L, spec, "type", NULL);
    if (name == NULL || (data == NULL) == (path == NULL))
      luaL_error(L, "start: part %d needs a name and one of data or path", i);
    part = curl_mime_addpart(t->mime);
    if (part == NULL) luaL_error(L, "start: out of memory");
    curl_mime_name(part, name);
    if (path != NULL) {
      curl_off_t size;
      const char *why = regular_file(path, &size);
      if (why != NULL) {
        *bad = path;
        lua_settop(L, parts - 1);
        return why;
      }
      curl_mime_filedata(part, path);  /* libcurl reads it from disk while sending */
    } else {
      curl_mime_data(part, data, data_len);
    }
    if (filename != NULL) curl_mime_filename(part, filename);
    if (type != NULL) curl_mime_type(part, type);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  curl_easy_setopt(t->easy, CURLOPT_MIMEPOST, t->mime);
  return NULL;
}

/* The 2xx body goes to a new file beside the destination; commit renames it into place, so an
 * existing file is never touched by a failed download and no partial file is ever visible. */
static const char *open_output(mx_transfer *t, const char *path) {
  static unsigned long counter = 0;
  size_t n = strlen(path) + 64;
  int attempt;
  t->out_path = strdup(path);
  t->tmp_path = malloc(n);
  if (t->out_path == NULL || t->tmp_path == NULL) return "out of memory";
  for (attempt = 0; attempt < 100; attempt++) {
    int fd;
    snprintf(t->tmp_path, n, "%s.%ld-%lu.part", path, (long)mx_getpid(), ++counter);
    fd = mx_open(t->tmp_path, O_WRONLY | O_CREAT | O_EXCL | MX_O_BINARY, 0666);
    if (fd >= 0) {
      t->out = fdopen(fd, "wb");
      if (t->out != NULL) return NULL;
      mx_close(fd);
      mx_unlink(t->tmp_path);
      return strerror(errno);
    }
    if (errno != EEXIST) break;
  }
  free(t->tmp_path);
  t->tmp_path = NULL;
  return strerror(errno);
}

static void set_protocols(CURL *easy) {
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static void set_string_option(lua_State *L, mx_transfer *t, int req, const char *name,
                              CURLoption opt) {
  const char *s = field_string(L, req, name, NULL);
  if (s != NULL) curl_easy_setopt(t->easy, opt, s);
}

/* m:start(request) -> transfer | nil, kind, message */
int mx_transfer_start(lua_State *L) {
  mx_multi *m = mx_multi_check(L, 1);
  mx_transfer *t;
  const char *method, *url, *output, *why, *bad = NULL;
  int n, i, self;
  luaL_checktype(L, 2, LUA_TTABLE);
  if (m->stepping) return luaL_error(L, "start: called from inside a transfer callback");

  t = lua_newuserdata(L, sizeof *t);
  self = lua_gettop(L);
  memset(t, 0, sizeof *t);
  t->self_ref = t->sink_ref = t->progress_ref = t->raised_ref = LUA_NOREF;
  t->closed = 1;  /* until the easy handle exists, so __gc has nothing to free */
  luaL_getmetatable(L, MX_TRANSFER_MT);
  lua_setmetatable(L, -2);
  t->easy = curl_easy_init();
  if (t->easy == NULL) return luaL_error(L, "start: curl_easy_init failed");
  t->closed = 0;

  url = field_string(L, 2, "url", NULL);
  if (url == NULL) return luaL_error(L, "start: field 'url' is required");
  method = field_string(L, 2, "method", NULL);
  curl_easy_setopt(t->easy, CURLOPT_URL, url);
  curl_easy_setopt(t->easy, CURLOPT_PRIVATE, (char *)t);
  curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);  /* the host program owns signals */
  curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(t->easy, CURLOPT_SOCKOPTFUNCTION, on_socket);
  /* The caller's path is sent as given: libcurl would otherwise remove "." and ".." segments. */
  curl_easy_setopt(t->easy, CURLOPT_PATH_AS_IS, 1L);
  set_protocols(t->easy);
  curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);

  lua_getfield(L, 2, "headers");
  if (!lua_isnil(L, -1)) {
    luaL_argcheck(L, lua_istable(L, -1), 2, "field 'headers' must be a list of lines");
    n = (int)mx_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      struct curl_slist *grown;
      lua_rawgeti(L, -1, i);
      if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "start: header %d must be a string", i);
      grown = curl_slist_append(t->headers, lua_tostring(L, -1));
      if (grown == NULL) luaL_error(L, "start: out of memory");
      t->headers = grown;
      lua_pop(L, 1);
    }
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
  }
  lua_pop(L, 1);

  why = build_mime(L, t, 2, &bad);
  if (why != NULL) return start_failed(L, self, "io", "cannot read '%s': %s", bad, why);
  if (t->mime != NULL) curl_easy_setopt(t->easy, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
  if (method != NULL && strcmp(method, "GET") != 0 && !(t->mime && strcmp(method, "POST") == 0))
    curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, method);

  t->sink_ref = field_function(L, 2, "sink");
  t->progress_ref = field_function(L, 2, "progress");
  if (t->progress_ref != LUA_NOREF) {
    curl_easy_setopt(t->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(t->easy, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(t->easy, CURLOPT_NOPROGRESS, 0L);
  }
  output = field_string(L, 2, "output", NULL);
  if (output != NULL && (why = open_output(t, output)) != NULL)
    return start_failed(L, self, "io", "cannot write '%s': %s", output, why);
  if (output != NULL || t->sink_ref != LUA_NOREF)
    curl_easy_setopt(t->easy, CURLOPT_BUFFERSIZE, 256L * 1024);

  curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, field_long(L, 2, "connect_timeout_ms", 10000));
  curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, field_long(L, 2, "timeout_ms", 0));
  curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_LIMIT, field_long(L, 2, "low_speed_limit", 0));
  curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_TIME, field_long(L, 2, "low_speed_time", 0));
  /* libcurl re-sends a request, body included, when a reused connection dies before any
   * response byte; on a fresh connection it never does. A caller that must not repeat a
   * request (an upload the server may have stored) asks for one. */
  lua_getfield(L, 2, "fresh_connect");
  if (lua_toboolean(L, -1)) curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L);
  lua_pop(L, 1);
  n = (int)field_long(L, 2, "max_redirects", 0);
  curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, n > 0 ? 1L : 0L);
  curl_easy_setopt(t->easy, CURLOPT_MAXREDIRS, (long)n);
  set_string_option(L, t, 2, "ca_file", CURLOPT_CAINFO);
  set_string_option(L, t, 2, "ca_path", CURLOPT_CAPATH);
  set_string_option(L, t, 2, "proxy", CURLOPT_PROXY);
  set_string_option(L, t, 2, "no_proxy", CURLOPT_NOPROXY);

  if (curl_multi_add_handle(m->cm, t->easy) != CURLM_OK)
    return luaL_error(L, "start: curl_multi_add_handle failed");
  t->started = 1;
  t->multi = m;
  t->next = m->head;
  if (m->head != NULL) m->head->prev = t;
  m->head = t;
  lua_pushvalue(L, -1);
  t->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

void mx_transfer_detach(lua_State *L, mx_transfer *t) {
  mx_multi *m = t->multi;
  if (m == NULL) return;
  curl_multi_remove_handle(m->cm, t->easy);
  if (t->prev != NULL) t->prev->next = t->next;
  else m->head = t->next;
  if (t->next != NULL) t->next->prev = t->prev;
  t->prev = t->next = NULL;
  t->multi = NULL;
  if (!t->done) {  /* cancelled before libcurl finished it */
    t->done = 1;
    t->code = CURLE_ABORTED_BY_CALLBACK;
  }
  luaL_unref(L, LUA_REGISTRYINDEX, t->self_ref);
  t->self_ref = LUA_NOREF;
}

void mx_transfer_finish(lua_State *L, mx_transfer *t, CURLcode code) {
  t->done = 1;
  t->code = code;
  mx_transfer_detach(L, t);
}

/* ---- results ---- */

static void add_header(void *ctx, const char *name, size_t name_len, const char *value,
                       size_t value_len) {
  lua_State *L = ctx;
  size_t i;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 0; i < name_len; i++) {
    char c = name[i];
    luaL_addchar(&b, (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c);
  }
  luaL_pushresult(&b);
  lua_pushvalue(L, -1);
  lua_rawget(L, -3);
  if (lua_isnil(L, -1)) {  /* first occurrence */
    lua_pop(L, 1);
    lua_pushlstring(L, value, value_len);
  } else {                 /* repeated fields fold into one, as RFC 9110 allows */
    lua_pushliteral(L, ", ");
    lua_pushlstring(L, value, value_len);
    lua_concat(L, 3);
  }
  lua_rawset(L, -3);
}

static const char *error_kind(const mx_transfer *t) {
  switch (t->abort) {
    case MX_ABORT_RAISED:
    case MX_ABORT_REFUSED: return "aborted";
    case MX_ABORT_IO:
    case MX_ABORT_NOMEM: return "io";
    case MX_ABORT_NONE: break;
  }
  switch (t->code) {
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_READ_ERROR: return "io";
    case CURLE_ABORTED_BY_CALLBACK: return "aborted";
    default: return "network";
  }
}

/* Could the same request succeed if tried again? Refused or dropped connections, timeouts,
 * name resolution and cut-off bodies may pass; certificate, protocol or usage errors will not. */
static int transient(const mx_transfer *t) {
  if (t->abort != MX_ABORT_NONE) return 0;
  switch (t->code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2_STREAM:
      return 1;
    default:
      return 0;
  }
}

static void push_error_message(lua_State *L, const mx_transfer *t) {
  switch (t->abort) {
    case MX_ABORT_RAISED:
      lua_rawgeti(L, LUA_REGISTRYINDEX, t->raised_ref);
      if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushliteral(L, "a callback raised an error");
      }
      return;
    case MX_ABORT_REFUSED:
      lua_pushstring(L, t->abort_message != NULL ? t->abort_message : "stopped by callback");
      return;
    case MX_ABORT_IO:
      lua_pushfstring(L, "cannot write '%s': %s", t->out_path, strerror(t->io_errno));
      return;
    case MX_ABORT_NOMEM:
      lua_pushliteral(L, "out of memory");
      return;
    case MX_ABORT_NONE:
      break;
  }
  if (t->code == CURLE_ABORTED_BY_CALLBACK && t->errbuf[0] == '\0') lua_pushliteral(L, "cancelled");
  else lua_pushstring(L, t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(t->code));
}

/* t:result() -> { status, headers, body?, sent, received, seconds, connects, url,
 *                error? = { kind, message, code, transient, raised? } } */
static int transfer_result(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  long status = 0, connects = 0;
  curl_off_t sent = 0, received = 0, micros = 0;
  char *url = NULL;
  if (t->closed) return luaL_argerror(L, 1, "transfer is closed");
  if (!t->done) return luaL_argerror(L, 1, "transfer is still in flight");
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &sent);
  curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &received);
  curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &micros);
  curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
  lua_createtable(L, 0, 10);
  lua_pushinteger(L, status);
  lua_setfield(L, -2, "status");
  lua_newtable(L);
  mx_header_each(t->head.data, t->head.len, add_header, L);
  lua_setfield(L, -2, "headers");
  if (!t->body_routed) {
    lua_pushlstring(L, t->body.data ? t->body.data : "", t->body.len);
    lua_setfield(L, -2, "body");
  }
  lua_pushnumber(L, (lua_Number)sent);
  lua_setfield(L, -2, "sent");
  lua_pushnumber(L, (lua_Number)received);
  lua_setfield(L, -2, "received");
  lua_pushnumber(L, (lua_Number)micros / 1e6);
  lua_setfield(L, -2, "seconds");
  lua_pushinteger(L, connects);
  lua_setfield(L, -2, "connects");
  lua_pushstring(L, url != NULL ? url : "");
  lua_setfield(L, -2, "url");
  if (t->code != CURLE_OK || t->abort != MX_ABORT_NONE) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, error_kind(t));
    lua_setfield(L, -2, "kind");
    push_error_message(L, t);
    lua_setfield(L, -2, "message");
    lua_pushinteger(L, (lua_Integer)t->code);
    lua_setfield(L, -2, "code");
    lua_pushboolean(L, transient(t));
    lua_setfield(L, -2, "transient");
    if (t->abort == MX_ABORT_RAISED) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, t->raised_ref);
      lua_setfield(L, -2, "raised");
    }
    lua_setfield(L, -2, "error");
  }
  return 1;
}

static int transfer_done(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  lua_pushboolean(L, t->done);
  return 1;
}

/* t:commit() -> true | nil, message: moves the finished output file into place. */
static int transfer_commit(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  FILE *out = t->out;
  if (t->closed || !t->done || out == NULL) return luaL_argerror(L, 1, "no finished output to commit");
  t->out = NULL;
  if (fclose(out) != 0 || rename(t->tmp_path, t->out_path) != 0) {
    int err = errno;
    mx_unlink(t->tmp_path);
    lua_pushnil(L);
    lua_pushfstring(L, "cannot write '%s': %s", t->out_path, strerror(err));
    return 2;
  }
  free(t->tmp_path);
  t->tmp_path = NULL;
  lua_pushboolean(L, 1);
  return 1;
}

/* One close for close(), __gc and __close: cancels a transfer in flight, removes an output file
 * that was not committed, and frees every handle and reference. */
static int transfer_close(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  if (t->closed) return 0;
  if (t->multi != NULL && t->multi->stepping)
    return luaL_error(L, "close: called from inside a transfer callback");
  mx_transfer_detach(L, t);
  t->closed = 1;
  curl_easy_cleanup(t->easy);
  t->easy = NULL;
  curl_mime_free(t->mime);
  t->mime = NULL;
  curl_slist_free_all(t->headers);
  t->headers = NULL;
  if (t->out != NULL) fclose(t->out);
  t->out = NULL;
  if (t->tmp_path != NULL) mx_unlink(t->tmp_path);
  free(t->tmp_path);
  free(t->out_path);
  free(t->abort_message);
  t->tmp_path = t->out_path = t->abort_message = NULL;
  luaL_unref(L, LUA_REGISTRYINDEX, t->sink_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, t->progress_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, t->raised_ref);
  t->sink_ref = t->progress_ref = t->raised_ref = LUA_NOREF;
  mx_buffer_free(&t->head);
  mx_buffer_free(&t->body);
  return 0;
}

static int transfer_tostring(lua_State *L) {
  mx_transfer *t = check_transfer(L, 1);
  const char *state = t->closed ? "closed" : t->done ? "done" : "in flight";
  lua_pushfstring(L, "%s (%s)", MX_TRANSFER_MT, state);
  return 1;
}

void mx_transfer_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"done", transfer_done},
    {"result", transfer_result},
    {"commit", transfer_commit},
    {"close", transfer_close},
    {NULL, NULL}};
  luaL_newmetatable(L, MX_TRANSFER_MT);
  lua_newtable(L);
  mx_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, transfer_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, transfer_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, transfer_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}
