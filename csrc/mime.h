/* A multipart/form-data body from the request's parts: each part's bytes come from a Lua
 * string or straight from a file on disk (opened once, read by libcurl as it sends). */
#ifndef MX_MIME_H
#define MX_MIME_H

#include <curl/curl.h>

#include "buffer.h"
#include "compat.h"
#include "stop.h"

/* A part fed from Lua as libcurl sends it (an upload from a reader): libcurl takes what was
 * given, then pauses, hungry, until the next piece comes (mx_mime_feed). */
typedef struct mx_feed {
  mx_buffer buf;      /* the piece given, from off on not sent yet */
  size_t off;
  int eof;            /* no more pieces: the part ends when buf is sent */
  int hungry;         /* libcurl paused for want of a piece */
  mx_stop *stop;
} mx_feed;

typedef struct mx_mime {
  curl_mime *mime;
  curl_off_t *sizes;  /* each part's content bytes, as found when the body was built */
  int count;
  mx_feed *feed;      /* the fed part's state, if a part is { feed = true, size = n } */
} mx_mime;

/* parts = { {name=, data=|path=|feed=true,size=, filename=, type=}, ... } at field "parts" of
 * the table at req (at most one fed part):
 * builds the body on easy (m->mime stays NULL when there is no "parts" field). Returns NULL, or
 * why a file part cannot be read, with its path in *bad. A read that fails while sending
 * stops the transfer through *stop. Misuse (a malformed part) raises. */
const char *mx_mime_build(lua_State *L, CURL *easy, int req, mx_stop *stop, mx_mime *m,
                          const char **bad);
void mx_mime_free(mx_mime *m);
/* Gives the fed part its next piece (len 0 with eof: the end). Returns -1 when out of memory. */
int mx_mime_feed(mx_feed *f, const char *p, size_t len, int eof);

#endif
