/* What differs between POSIX systems and Windows, in one place. Only Linux is built and
 * tested by this project; the Windows branch follows the C runtime's documented names. */
#ifndef MX_PLATFORM_H
#define MX_PLATFORM_H

#include <fcntl.h>
#include <sys/stat.h>

#ifdef _WIN32
#include <winsock2.h>
#include <io.h>
#include <process.h>
#define mx_poll(fds, n, ms) WSAPoll((fds), (ULONG)(n), (ms))
#define mx_open _open
#define mx_close _close
#define mx_read(fd, p, n) _read((fd), (p), (unsigned)(n))
#define mx_lseek _lseeki64
#define mx_unlink _unlink
#define mx_ftruncate _chsize_s
#define mx_getpid _getpid
#define MX_O_NONBLOCK 0 /* no FIFOs to block on */
#define MX_O_BINARY _O_BINARY
#define MX_O_CLOEXEC _O_NOINHERIT
typedef struct _stat64 mx_stat_t;
#define mx_stat _stat64
#define mx_fstat _fstat64
#define mx_clear_nonblock(fd) ((void)(fd))
#define MX_O_NOCTTY 0
#define mx_readlink(p, buf, n) (errno = EINVAL, -1L) /* no symlinks to follow */
#define mx_link(from, to) (errno = ENOSYS, -1)     /* the checked rename is used instead */
#define mx_fchmod(fd, mode) ((void)(fd), (void)(mode))
#define mx_fsync _commit
#ifndef S_ISDIR
#define S_ISDIR(m) (((m) & _S_IFMT) == _S_IFDIR)
#endif
#ifndef S_ISREG
#define S_ISREG(m) (((m) & _S_IFMT) == _S_IFREG)
#endif
#else
#include <poll.h>
#include <unistd.h>
#define mx_poll(fds, n, ms) poll((fds), (nfds_t)(n), (ms))
#define mx_open open
#define mx_close close
#define mx_read read
#define mx_lseek lseek
#define mx_unlink unlink
#define mx_ftruncate ftruncate
#define mx_getpid getpid
#define MX_O_NONBLOCK O_NONBLOCK
#define MX_O_BINARY 0
#define MX_O_CLOEXEC O_CLOEXEC
typedef struct stat mx_stat_t;
#define mx_stat stat
#define mx_fstat fstat
/* A regular file reads the same either way; cleared so no later read can see EAGAIN. */
#define mx_clear_nonblock(fd) ((void)fcntl((fd), F_SETFL, fcntl((fd), F_GETFL) & ~O_NONBLOCK))
#define MX_O_NOCTTY O_NOCTTY
#define mx_readlink(p, buf, n) ((long)readlink((p), (buf), (n)))
#define mx_link link
#define mx_fchmod(fd, mode) ((void)fchmod((fd), (mode)))
#define mx_fsync fsync
#endif

#endif
