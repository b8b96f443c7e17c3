#include <string.h>

#include "headers.h"
#include "result.h"

const char *mx_failure_name(CURLcode code) {
  switch (code) {
    case CURLE_OK: return "ok";
    case CURLE_UNSUPPORTED_PROTOCOL: return "unsupported_protocol";
    case CURLE_URL_MALFORMAT: return "bad_url";
    case CURLE_COULDNT_RESOLVE_PROXY: return "resolve_proxy";
    case CURLE_COULDNT_RESOLVE_HOST: return "resolve_host";
    case CURLE_COULDNT_CONNECT: return "connect_failed";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING: return "bad_response";
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return "http2";
    case CURLE_PARTIAL_FILE: return "partial_body";
    case CURLE_WRITE_ERROR: return "write_failed";
    case CURLE_READ_ERROR: return "read_failed";
    case CURLE_OUT_OF_MEMORY: return "out_of_memory";
    case CURLE_OPERATION_TIMEDOUT: return "timed_out";
    case CURLE_ABORTED_BY_CALLBACK: return "cancelled";
    case CURLE_TOO_MANY_REDIRECTS: return "too_many_redirects";
    case CURLE_GOT_NOTHING: return "empty_reply";
    case CURLE_SEND_ERROR: return "send_failed";
    case CURLE_RECV_ERROR: return "recv_failed";
    case CURLE_SEND_FAIL_REWIND: return "rewind_failed";
    case CURLE_FILESIZE_EXCEEDED: return "too_large";
    case CURLE_SSL_CONNECT_ERROR: return "tls_connect";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: return "tls_verify";
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE: return "tls";
    default: return "other";
  }
}

static const char *stop_name(enum mx_stop_why why) {
  switch (why) {
    case MX_STOP_RAISED: return "callback_raised";
    case MX_STOP_REFUSED: return "callback_refused";
    case MX_STOP_WRITE: return "write_failed";
    case MX_STOP_READ: return "read_failed";
    case MX_STOP_NOMEM: return "out_of_memory";
    case MX_STOP_CANCELLED: return "cancelled";
    case MX_STOP_RESUME: return "resume_refused";
    case MX_STOP_TOO_LARGE: return "too_large";
    case MX_STOP_NONE: break;
  }
  return NULL;
}

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

static void push_message(lua_State *L, const mx_outcome *o) {
  const mx_stop *s = o->stop;
  switch (s->why) {
    case MX_STOP_RAISED:
      lua_rawgeti(L, LUA_REGISTRYINDEX, s->raised_ref);
      if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushliteral(L, "a callback raised an error");
      }
      return;
    case MX_STOP_WRITE:
      lua_pushfstring(L, "cannot write '%s': %s", o->out_path, strerror(o->write_errno));
      return;
    case MX_STOP_REFUSED:
    case MX_STOP_READ:
    case MX_STOP_RESUME:
      lua_pushstring(L, s->message != NULL ? s->message : "stopped by callback");
      return;
    case MX_STOP_NOMEM:
      lua_pushliteral(L, "out of memory");
      return;
    case MX_STOP_CANCELLED:
      lua_pushliteral(L, "cancelled");
      return;
    case MX_STOP_TOO_LARGE:
      lua_pushfstring(L, "the response is over the %d bytes kept in memory", o->body ? (int)o->body->len : 0);
      return;
    case MX_STOP_NONE:
      break;
  }
  if (o->code == CURLE_ABORTED_BY_CALLBACK && o->errbuf[0] == '\0') lua_pushliteral(L, "cancelled");
  else lua_pushstring(L, o->errbuf[0] != '\0' ? o->errbuf : curl_easy_strerror(o->code));
}

static void push_error(lua_State *L, const mx_outcome *o) {
  const char *name = stop_name(o->stop->why);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, name != NULL ? name : mx_failure_name(o->code));
  lua_setfield(L, -2, "name");
  push_message(L, o);
  lua_setfield(L, -2, "message");
  if (o->stop->why == MX_STOP_RAISED) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, o->stop->raised_ref);
    lua_setfield(L, -2, "raised");
  }
}

void mx_result_push(lua_State *L, const mx_outcome *o) {
  long status = 0, connects = 0;
  curl_off_t sent = 0, received = 0, micros = 0;
  char *url = NULL;
  curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(o->easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(o->easy, CURLINFO_SIZE_UPLOAD_T, &sent);
  curl_easy_getinfo(o->easy, CURLINFO_SIZE_DOWNLOAD_T, &received);
  curl_easy_getinfo(o->easy, CURLINFO_TOTAL_TIME_T, &micros);
  curl_easy_getinfo(o->easy, CURLINFO_EFFECTIVE_URL, &url);
  lua_createtable(L, 0, 10);
  lua_pushinteger(L, status);
  lua_setfield(L, -2, "status");
  lua_newtable(L);
  mx_header_each(o->head->data, o->head->len, add_header, L);
  lua_setfield(L, -2, "headers");
  if (o->body != NULL) {
    lua_pushlstring(L, o->body->data ? o->body->data : "", o->body->len);
    lua_setfield(L, -2, "body");
  }
  lua_pushinteger(L, (lua_Integer)sent);  /* byte counts: integers where Lua has them */
  lua_setfield(L, -2, "sent");
  lua_pushinteger(L, (lua_Integer)received);
  lua_setfield(L, -2, "received");
  lua_pushinteger(L, (lua_Integer)o->delivered);
  lua_setfield(L, -2, "delivered");
  lua_pushboolean(L, o->restarted);
  lua_setfield(L, -2, "restarted");
  lua_pushboolean(L, o->direct);
  lua_setfield(L, -2, "direct");
  lua_pushnumber(L, (lua_Number)micros / 1e6);
  lua_setfield(L, -2, "seconds");
  lua_pushinteger(L, connects);
  lua_setfield(L, -2, "connects");
  lua_pushstring(L, url != NULL ? url : "");
  lua_setfield(L, -2, "url");
  if (o->code != CURLE_OK || o->stop->why != MX_STOP_NONE) {
    push_error(L, o);
    lua_setfield(L, -2, "error");
  }
}
