#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "mime.h"
#include "options.h"
#include "platform.h"

/* A file part's source: the descriptor opened and checked when the body was built. */
typedef struct mx_mime_file {
  int fd;
  curl_off_t size, pos;
  char *path;
  mx_stop *stop;
} mx_mime_file;

static void file_failed(mx_mime_file *f, const char *why) {
  size_t n = strlen(f->path) + strlen(why) + 32;
  if (f->stop->why != MX_STOP_NONE) return;
  f->stop->message = malloc(n);
  if (f->stop->message == NULL) {
    f->stop->why = MX_STOP_NOMEM;
    return;
  }
  snprintf(f->stop->message, n, "cannot read '%s': %s", f->path, why);
  f->stop->why = MX_STOP_READ;
}

static size_t file_read(char *buf, size_t size, size_t n, void *arg) {
  mx_mime_file *f = arg;
  size_t want = size * n;
  long got;
  if (f->stop->why != MX_STOP_NONE) return CURL_READFUNC_ABORT;  /* cancelled meanwhile */
  if (f->pos >= f->size) return 0;
  if ((curl_off_t)want > f->size - f->pos) want = (size_t)(f->size - f->pos);
  do got = (long)mx_read(f->fd, buf, want);
  while (got < 0 && errno == EINTR);
  if (got <= 0) {  /* the declared size can no longer be sent */
    file_failed(f, got < 0 ? strerror(errno) : "the file shrank while it was sent");
    return CURL_READFUNC_ABORT;
  }
  f->pos += got;
  return (size_t)got;
}

/* libcurl rewinds a body to send it again (a redirect, an auth retry). */
static int file_seek(void *arg, curl_off_t offset, int origin) {
  mx_mime_file *f = arg;
  if (origin != SEEK_SET || offset < 0 || mx_lseek(f->fd, offset, SEEK_SET) < 0) return CURL_SEEKFUNC_FAIL;
  f->pos = offset;
  return CURL_SEEKFUNC_OK;
}

static void file_free(void *arg) {
  mx_mime_file *f = arg;
  mx_close(f->fd);
  free(f->path);
  free(f);
}

static size_t feed_read(char *buf, size_t size, size_t n, void *arg) {
  mx_feed *f = arg;
  size_t want = size * n, avail = f->buf.len - f->off;
  if (f->stop->why != MX_STOP_NONE) return CURL_READFUNC_ABORT;
  if (avail == 0) {
    if (f->eof) return 0;
    f->hungry = 1;
    return CURL_READFUNC_PAUSE;
  }
  if (want > avail) want = avail;
  memcpy(buf, f->buf.data + f->off, want);
  f->off += want;
  if (f->off == f->buf.len) {
    mx_buffer_reset(&f->buf);
    f->off = 0;
  }
  return want;
}

static void feed_free(void *arg) {
  mx_feed *f = arg;
  mx_buffer_free(&f->buf);
  free(f);
}

int mx_mime_feed(mx_feed *f, const char *p, size_t len, int eof) {
  if (mx_buffer_append(&f->buf, p, len) != 0) return -1;
  if (eof) f->eof = 1;
  return 0;
}

/* A part whose bytes Lua gives as libcurl sends (no seek: libcurl cannot rewind it). */
static int add_feed(curl_mimepart *part, curl_off_t size, mx_stop *stop, mx_mime *m) {
  mx_feed *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  f->stop = stop;
  if (curl_mime_data_cb(part, size, feed_read, NULL, feed_free, f) != CURLE_OK) {
    feed_free(f);
    return -1;
  }
  m->feed = f;
  return 0;
}

/* Opens path for part; NULL on success, else why not. */
static const char *add_file(curl_mimepart *part, const char *path, mx_stop *stop, curl_off_t *size) {
  int fd;
  mx_mime_file *f;
  const char *why = mx_file_open(path, &fd, size);
  if (why != NULL) return why;
  f = malloc(sizeof *f);
  if (f != NULL) f->path = strdup(path);
  if (f == NULL || f->path == NULL) {
    free(f);
    mx_close(fd);
    return "out of memory";
  }
  f->fd = fd;
  f->size = *size;
  f->pos = 0;
  f->stop = stop;
  if (curl_mime_data_cb(part, *size, file_read, file_seek, file_free, f) != CURLE_OK) {
    file_free(f);
    return "out of memory";
  }
  return NULL;
}

const char *mx_mime_build(lua_State *L, CURL *easy, int req, mx_stop *stop, mx_mime *m,
                          const char **bad) {
  int parts, i, n;
  lua_getfield(L, req, "parts");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  if (!lua_istable(L, -1)) luaL_error(L, "start: field 'parts' must be a table");
  parts = lua_gettop(L);
  n = (int)mx_rawlen(L, parts);
  m->mime = curl_mime_init(easy);
  m->sizes = calloc(n > 0 ? (size_t)n : 1, sizeof *m->sizes);
  if (m->mime == NULL || m->sizes == NULL) luaL_error(L, "start: out of memory");
  for (i = 1; i <= n; i++) {
    int spec, fed;
    size_t data_len = 0;
    const char *name, *data, *path, *filename, *type;
    curl_mimepart *part;
    lua_rawgeti(L, parts, i);
    if (!lua_istable(L, -1)) luaL_error(L, "start: part %d must be a table", i);
    spec = lua_gettop(L);
    name = mx_field_string(L, spec, "name", NULL);
    data = mx_field_string(L, spec, "data", &data_len);
    path = mx_field_string(L, spec, "path", NULL);
    filename = mx_field_string(L, spec, "filename", NULL);
    type = mx_field_string(L, spec, "type", NULL);
    lua_getfield(L, spec, "feed");
    fed = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (name == NULL || (data != NULL) + (path != NULL) + fed != 1)
      luaL_error(L, "start: part %d needs a name and one of data, path or feed", i);
    if (fed && m->feed != NULL) luaL_error(L, "start: part %d: one fed part at most", i);
    part = curl_mime_addpart(m->mime);
    if (part == NULL) luaL_error(L, "start: out of memory");
    curl_mime_name(part, name);
    m->count = i;
    if (fed) {
      lua_Number size;
      lua_getfield(L, spec, "size");
      size = lua_tonumber(L, -1);
      lua_pop(L, 1);
      if (!(size >= 0 && size <= 9007199254740992.0) || size != (lua_Number)(curl_off_t)size)
        luaL_error(L, "start: part %d: a fed part needs a whole size", i);
      if (add_feed(part, (curl_off_t)size, stop, m) != 0) luaL_error(L, "start: out of memory");
      m->sizes[i - 1] = (curl_off_t)size;
    } else if (path != NULL) {
      const char *why = add_file(part, path, stop, &m->sizes[i - 1]);
      if (why != NULL) {
        *bad = path;  /* still held by the request table */
        lua_settop(L, parts - 1);
        return why;
      }
    } else {
      curl_mime_data(part, data, data_len);
      m->sizes[i - 1] = (curl_off_t)data_len;
    }
    if (filename != NULL) curl_mime_filename(part, filename);
    if (type != NULL) curl_mime_type(part, type);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  curl_easy_setopt(easy, CURLOPT_MIMEPOST, m->mime);
  return NULL;
}

void mx_mime_free(mx_mime *m) {
  curl_mime_free(m->mime);
  free(m->sizes);
  m->mime = NULL;
  m->sizes = NULL;
  m->feed = NULL;  /* freed with its part */
  m->count = 0;
}
