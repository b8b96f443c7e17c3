/* The request table's fields, read into libcurl options. Every plain option is one row of a
 * table (field, libcurl option, type, default), so adding one is one line. */
#ifndef MX_OPTIONS_H
#define MX_OPTIONS_H

#include <curl/curl.h>

#include "compat.h"

/* Sets what every transfer of this core has (no signals, keepalive, close-on-exec sockets,
 * the path as given, http and https only) and every row of the option table from the request
 * table at index req. A field of the wrong type or out of range raises. */
void mx_options_apply(lua_State *L, CURL *easy, int req);

/* The request's header lines ("Name: value"), plus extra (may be NULL), as a list for
 * CURLOPT_HTTPHEADER. Raises on a field of the wrong type; *list is freed by the caller. */
void mx_options_headers(lua_State *L, int req, const char *extra, struct curl_slist **list);

/* Field readers for the other parts of a request: a string (NULL when absent; it stays alive
 * as long as the table holds it), a function kept in the registry (LUA_NOREF when absent). */
const char *mx_field_string(lua_State *L, int tbl, const char *name, size_t *len);
int mx_field_function(lua_State *L, int tbl, const char *name);

#endif
