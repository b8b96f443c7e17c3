#include <stdlib.h>
#include <string.h>

#include "buffer.h"

int mx_buffer_append(mx_buffer *b, const char *p, size_t n) {
  if (n == 0) return 0;
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 1024;
    char *grown;
    while (cap - b->len < n) {
      if (cap > ((size_t)-1) / 2) return -1;
      cap *= 2;
    }
    grown = realloc(b->data, cap);
    if (grown == NULL) return -1;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void mx_buffer_reset(mx_buffer *b) { b->len = 0; }

void mx_buffer_free(mx_buffer *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
