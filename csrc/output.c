#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "platform.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* The path a download replaces: a symlink's target, followed however many links deep and even
 * when the target does not exist yet, so that the link itself stays a link. Returns a new
 * string, or NULL with errno set. */
static char *destination(const char *path) {
  char *p = strdup(path);
  int hops;
  for (hops = 0; p != NULL && hops < 40; hops++) {
    char target[PATH_MAX], *joined;
    const char *slash = strrchr(p, '/');
    long n = mx_readlink(p, target, sizeof target - 1);
    if (n < 0) return p;  /* not a link (or not there yet): p itself */
    target[n] = '\0';
    if (target[0] == '/' || slash == NULL) {
      joined = strdup(target);
    } else {  /* relative to the link's folder */
      size_t dir = (size_t)(slash - p) + 1;
      joined = malloc(dir + (size_t)n + 1);
      if (joined != NULL) {
        memcpy(joined, p, dir);
        memcpy(joined + dir, target, (size_t)n + 1);
      }
    }
    free(p);
    p = joined;
  }
  if (p != NULL) {
    free(p);
    errno = ELOOP;
  }
  return NULL;
}

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

/* A FIFO, a device: written as it is. A FIFO nobody reads would block the open: refused. */
static const char *open_direct(mx_output *o) {
  int fd = mx_open(o->path, O_WRONLY | MX_O_NONBLOCK | MX_O_NOCTTY | MX_O_BINARY | MX_O_CLOEXEC);
  if (fd < 0) return errno == ENXIO ? "it is a FIFO that no process reads" : strerror(errno);
  mx_clear_nonblock(fd);
  o->file = fdopen(fd, "wb");  /* "w" on a descriptor truncates nothing */
  if (o->file == NULL) {
    int err = errno;
    mx_close(fd);
    return strerror(err);
  }
  o->direct = 1;
  return NULL;
}

/* The temporary file beside the destination; replaced (non-NULL) is the file it will
 * replace, whose permission bits it takes. New files get 0666 & ~umask, as open() gives. */
static const char *create_temp(mx_output *o, const mx_stat_t *replaced) {
  static unsigned long counter = 0;
  size_t n = strlen(o->path) + 64;
  int attempt;
  o->tmp_path = malloc(n);
  if (o->tmp_path == NULL) return "out of memory";
  for (attempt = 0; attempt < 100; attempt++) {
    int fd;
    snprintf(o->tmp_path, n, "%s.%ld-%lu.part", o->path, (long)mx_getpid(), ++counter);
    fd = mx_open(o->tmp_path, O_WRONLY | O_CREAT | O_EXCL | MX_O_BINARY | MX_O_CLOEXEC, 0666);
    if (fd >= 0) {
      if (replaced != NULL) mx_fchmod(fd, replaced->st_mode & 07777);
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

const char *mx_output_open(mx_output *o, const char *path, const char *partial, int flags) {
  mx_stat_t st;
  int exists;
  o->flags = flags;
  o->path = destination(path);
  if (o->path == NULL) return strerror(errno);
  exists = mx_stat(o->path, &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return strerror(EISDIR);
  if (exists && (flags & MX_OUTPUT_NO_CLOBBER)) return strerror(EEXIST);
  if (exists && !S_ISREG(st.st_mode)) return open_direct(o);
  if (partial != NULL) return reopen(o, partial);
  return create_temp(o, exists ? &st : NULL);
}

int mx_output_write(mx_output *o, const char *p, size_t len) {
  if (fwrite(p, 1, len, o->file) == len) return 0;
  o->write_errno = errno;
  return -1;
}

int mx_output_restart(mx_output *o) {
  if (!o->direct && fflush(o->file) == 0 && mx_ftruncate(fileno(o->file), 0) == 0) return 0;
  o->write_errno = o->direct ? ESPIPE : errno;
  return -1;
}

char *mx_output_keep(mx_output *o) {
  char *kept = o->tmp_path;
  if (o->file != NULL) fclose(o->file);
  o->file = NULL;
  o->tmp_path = NULL;
  return kept;
}

/* Syncs a file's data; a FIFO or a device that cannot be synced has nothing to lose. */
static int sync_file(FILE *file) {
  if (mx_fsync(fileno(file)) == 0 || errno == EINVAL || errno == EROFS) return 0;
  return -1;
}

/* Syncs the folder that holds path, so that a rename into it survives a power cut. */
static int sync_folder(const char *path) {
#ifdef _WIN32
  (void)path;
  return 0;
#else
  const char *slash = strrchr(path, '/');
  char *dir = slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
  int fd, err = 0;
  if (dir == NULL) return ENOMEM;
  fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) err = errno;
  if (fd >= 0) close(fd);
  free(dir);
  return err;
#endif
}

/* Moves the temporary file into place; with MX_OUTPUT_NO_CLOBBER only where nothing is, with
 * no window between the check and the move (a hard link fails if the name exists). */
static int place(mx_output *o) {
  if (!(o->flags & MX_OUTPUT_NO_CLOBBER)) return rename(o->tmp_path, o->path) == 0 ? 0 : errno;
  if (mx_link(o->tmp_path, o->path) == 0) {
    mx_unlink(o->tmp_path);
    return 0;
  }
  if (errno == EEXIST) return EEXIST;
  {  /* a file system without hard links: checked, then renamed */
    mx_stat_t st;
    if (mx_stat(o->path, &st) == 0) return EEXIST;
    return rename(o->tmp_path, o->path) == 0 ? 0 : errno;
  }
}

int mx_output_commit(mx_output *o) {
  FILE *file = o->file;
  int err = 0;
  o->file = NULL;
  if (fflush(file) != 0 || ((o->flags & MX_OUTPUT_FSYNC) && sync_file(file) != 0)) err = errno;
  if (fclose(file) != 0 && err == 0) err = errno;
  if (o->direct) return err;
  if (err == 0) err = place(o);
  if (err != 0) mx_unlink(o->tmp_path);
  else if (o->flags & MX_OUTPUT_FSYNC) err = sync_folder(o->path);  /* the rename itself */
  free(o->tmp_path);
  o->tmp_path = NULL;
  return err;
}

void mx_output_abandon(mx_output *o) {
  if (o->file != NULL) fclose(o->file);
  o->file = NULL;
  if (o->tmp_path != NULL) mx_unlink(o->tmp_path);
  free(o->tmp_path);
  o->tmp_path = NULL;
}

void mx_output_discard(mx_output *o) {
  if (o->file != NULL) fclose(o->file);
  o->file = NULL;
  if (o->tmp_path != NULL) mx_unlink(o->tmp_path);
  free(o->tmp_path);
  free(o->path);
  o->tmp_path = o->path = NULL;
}
