#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "platform.h"

static const char *reopen(mx_output *o, const char *partial) {
  int fd;
  o->tmp_path = strdup(partial);
  if (o->tmp_path == NULL) return "out of memory";
  fd = mx_open(partial, O_WRONLY | O_APPEND | MX_O_BINARY | MX_O_CLOEXEC);
  if (fd >= 0) o->file = fdopen(fd, "ab");
  if (fd >= 0 && o->file == NULL) mx_close(fd);
  if (o->file != NULL) return NULL;
  free(o->tmp_path);  /* not ours to remove: the caller's */
  o->tmp_path = NULL;
  return strerror(errno);
}

const char *mx_output_open(mx_output *o, const char *path, const char *partial) {
  static unsigned long counter = 0;
  size_t n = strlen(path) + 64;
  int attempt;
  o->path = strdup(path);
  if (o->path == NULL) return "out of memory";
  if (partial != NULL) return reopen(o, partial);
  o->tmp_path = malloc(n);
  if (o->tmp_path == NULL) return "out of memory";
  for (attempt = 0; attempt < 100; attempt++) {
    int fd;
    snprintf(o->tmp_path, n, "%s.%ld-%lu.part", path, (long)mx_getpid(), ++counter);
    fd = mx_open(o->tmp_path, O_WRONLY | O_CREAT | O_EXCL | MX_O_BINARY | MX_O_CLOEXEC, 0666);
    if (fd >= 0) {
      o->file = fdopen(fd, "wb");
      if (o->file != NULL) return NULL;
      mx_close(fd);
      mx_unlink(o->tmp_path);
      return strerror(errno);
    }
    if (errno != EEXIST) break;
  }
  free(o->tmp_path);
  o->tmp_path = NULL;
  return strerror(errno);
}

int mx_output_write(mx_output *o, const char *p, size_t len) {
  if (fwrite(p, 1, len, o->file) == len) return 0;
  o->write_errno = errno;
  return -1;
}

int mx_output_restart(mx_output *o) {
  if (fflush(o->file) == 0 && mx_ftruncate(fileno(o->file), 0) == 0) return 0;
  o->write_errno = errno;
  return -1;
}

char *mx_output_keep(mx_output *o) {
  char *kept = o->tmp_path;
  if (o->file != NULL) fclose(o->file);
  o->file = NULL;
  o->tmp_path = NULL;
  return kept;
}

int mx_output_commit(mx_output *o) {
  FILE *file = o->file;
  o->file = NULL;
  if (fclose(file) != 0 || rename(o->tmp_path, o->path) != 0) {
    int err = errno;
    mx_unlink(o->tmp_path);
    free(o->tmp_path);
    o->tmp_path = NULL;
    return err;
  }
  free(o->tmp_path);
  o->tmp_path = NULL;
  return 0;
}

void mx_output_discard(mx_output *o) {
  if (o->file != NULL) fclose(o->file);
  o->file = NULL;
  if (o->tmp_path != NULL) mx_unlink(o->tmp_path);
  free(o->tmp_path);
  free(o->path);
  o->tmp_path = o->path = NULL;
}
