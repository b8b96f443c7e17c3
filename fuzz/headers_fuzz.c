/* libFuzzer target for csrc/headers.c, the C code that parses bytes from the network:
 * response status lines and header fields. Beyond "no crash", every field it yields must lie
 * inside the input, have a token name and a value without surrounding blanks or line ends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/headers.h"

typedef struct {
  const char *start, *end;
} bounds;

static int is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void check_field(void *ctx, const char *name, size_t name_len, const char *value,
                        size_t value_len) {
  const bounds *b = ctx;
  size_t i;
  if (name_len == 0 || name < b->start || name + name_len > b->end) __builtin_trap();
  if (value < b->start || value + value_len > b->end) __builtin_trap();
  for (i = 0; i < name_len; i++)
    if (!is_tchar((unsigned char)name[i])) __builtin_trap();
  if (value_len > 0) {
    char first = value[0], last = value[value_len - 1];
    if (first == ' ' || first == '\t' || last == ' ' || last == '\t' || last == '\r' || last == '\n')
      __builtin_trap();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy, so a read one byte past the end is caught by AddressSanitizer. */
  char *copy = malloc(size > 0 ? size : 1);
  bounds b;
  const char *name, *value;
  size_t name_len, value_len;
  if (copy == NULL) return 0;
  memcpy(copy, data, size);
  b.start = copy;
  b.end = copy + size;
  (void)mx_header_is_status_line(copy, size);
  if (mx_header_split(copy, size, &name, &name_len, &value, &value_len))
    check_field(&b, name, name_len, value, value_len);
  mx_header_each(copy, size, check_field, &b);
  free(copy);
  return 0;
}
