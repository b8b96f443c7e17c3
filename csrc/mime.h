/* A multipart/form-data body from the request's parts: each part's bytes come from a Lua
 * string or straight from a file on disk (opened once, read by libcurl as it sends). */
#ifndef MX_MIME_H
#define MX_MIME_H

#include <curl/curl.h>

#include "compat.h"
#include "stop.h"

typedef struct mx_mime {
  curl_mime *mime;
  curl_off_t *sizes;  /* each part's content bytes, as found when the body was built */
  int count;
} mx_mime;

/* parts = { {name=, data=|path=, filename=, type=}, ... } at field "parts" of the table at req:
 * builds the body on easy (m->mime stays NULL when there is no "parts" field). Returns NULL, or
 * why a file part cannot be read, with its path in *bad. A read that fails while sending
 * stops the transfer through *stop. Misuse (a malformed part) raises. */
const char *mx_mime_build(lua_State *L, CURL *easy, int req, mx_stop *stop, mx_mime *m,
                          const char **bad);
void mx_mime_free(mx_mime *m);

#endif
