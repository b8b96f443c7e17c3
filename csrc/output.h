/* The atomic output file of a download: the body goes to a new temporary file beside the
 * destination, and only commit renames it into place, so an existing file is never touched
 * by a failed download and no partial file is ever visible under the destination's name. */
#ifndef MX_OUTPUT_H
#define MX_OUTPUT_H

#include <stdio.h>

typedef struct mx_output {
  FILE *file;      /* open while the body arrives */
  char *path;      /* the destination */
  char *tmp_path;  /* the temporary file, until committed or discarded */
  int write_errno; /* why the last write failed */
} mx_output;

/* Creates the temporary file for path, or, with partial, reopens that temporary file of an
 * earlier attempt to append to it. Returns NULL, or why not. */
const char *mx_output_open(mx_output *o, const char *path, const char *partial);
/* Empties the file, for a body that starts over. Returns 0, or -1 with write_errno set. */
int mx_output_restart(mx_output *o);
/* Closes the file and hands its temporary path to the caller (to resume into); NULL if none. */
char *mx_output_keep(mx_output *o);
/* Appends len bytes. Returns 0, or -1 with write_errno set. */
int mx_output_write(mx_output *o, const char *p, size_t len);
/* Closes the file and renames it over the destination. Returns 0, or an errno value (the
 * temporary file is then removed). */
int mx_output_commit(mx_output *o);
/* Closes and removes whatever was not committed, and frees o's memory. Idempotent. */
void mx_output_discard(mx_output *o);

#endif
