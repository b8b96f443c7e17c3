#include <errno.h>
#include <string.h>

#include "file.h"
#include "platform.h"

const char *mx_file_open(const char *path, int *fd, curl_off_t *size) {
  mx_stat_t st;
  int f = mx_open(path, O_RDONLY | MX_O_NONBLOCK | MX_O_BINARY | MX_O_CLOEXEC);
  if (f < 0) return strerror(errno);
  if (mx_fstat(f, &st) != 0) {
    int err = errno;
    mx_close(f);
    return strerror(err);
  }
  if (!S_ISREG(st.st_mode)) {
    mx_close(f);
    return S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file";
  }
  mx_clear_nonblock(f);
  *fd = f;
  *size = (curl_off_t)st.st_size;
  return NULL;
}
