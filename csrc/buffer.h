/* A growable byte buffer: response bodies and raw header blocks. */
#ifndef MX_BUFFER_H
#define MX_BUFFER_H

#include <stddef.h>

typedef struct mx_buffer {
  char *data;
  size_t len;
  size_t cap;
} mx_buffer;

/* Appends n bytes; returns 0 on success, -1 when out of memory (the buffer is unchanged). */
int mx_buffer_append(mx_buffer *b, const char *p, size_t n);
void mx_buffer_reset(mx_buffer *b);
void mx_buffer_free(mx_buffer *b);

#endif
