/* The output file of a download. A regular file (or a new one) is written atomically: the
 * body goes to a new temporary file beside the destination, and only commit renames it into
 * place, so an existing file is never touched by a failed download and no partial file is
 * ever visible under the destination's name. A symlink is followed: its target is replaced,
 * the link stays. A FIFO, a device or any other non-regular file is written as it is (no
 * temporary file, no rename), like a sink. */
#ifndef MX_OUTPUT_H
#define MX_OUTPUT_H

#include <stdio.h>

#define MX_OUTPUT_FSYNC 1        /* sync the data, and the folder after the rename */
#define MX_OUTPUT_NO_CLOBBER 2   /* never replace an existing file, atomically */

typedef struct mx_output {
  FILE *file;      /* open while the body arrives */
  char *path;      /* the destination, symlinks followed */
  char *tmp_path;  /* the temporary file, until committed or discarded; NULL when direct */
  int direct;      /* a non-regular file, written as it is */
  int flags;       /* MX_OUTPUT_* */
  int write_errno; /* why the last write failed */
} mx_output;

/* Opens the output for path: refuses a folder (and, with MX_OUTPUT_NO_CLOBBER, any existing
 * file) at once; writes a non-regular file directly; else creates the temporary file (with
 * the permission bits of the file it will replace), or, with partial, reopens that temporary
 * file of an earlier attempt to append to it. Returns NULL, or why not. */
const char *mx_output_open(mx_output *o, const char *path, const char *partial, int flags);
/* Empties the file, for a body that starts over. Returns 0, or -1 with write_errno set. */
int mx_output_restart(mx_output *o);
/* Closes the file and hands its temporary path to the caller (to resume into); NULL if none. */
char *mx_output_keep(mx_output *o);
/* Appends len bytes. Returns 0, or -1 with write_errno set. */
int mx_output_write(mx_output *o, const char *p, size_t len);
/* Closes the file (synced first with MX_OUTPUT_FSYNC) and moves it over the destination.
 * Returns 0, or an errno value (the temporary file is then removed). */
int mx_output_commit(mx_output *o);
/* Closes the file and removes the temporary file at once, for a transfer its driver let go
 * of (its client closed): nothing stays on disk however long its Lua object lives. */
void mx_output_abandon(mx_output *o);
/* Closes and removes whatever was not committed, and frees o's memory. Idempotent. */
void mx_output_discard(mx_output *o);

#endif
