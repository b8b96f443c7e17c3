/* libFuzzer target for csrc/utf8.c, the checker JSON Lines validation runs over every line of
 * a file. Beyond "no crash": the answer lies within the input, the valid prefix it names is
 * itself valid, and a reported error is one (the prefix plus its next byte is not valid). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy, so a read one byte past the end is caught by AddressSanitizer. */
  unsigned char *copy = malloc(size > 0 ? size : 1);
  size_t valid;
  if (copy == NULL) return 0;
  memcpy(copy, data, size);
  valid = mx_utf8_valid_prefix(copy, size);
  if (valid > size) __builtin_trap();
  if (mx_utf8_valid_prefix(copy, valid) != valid) __builtin_trap();
  if (valid < size) {
    /* the byte at valid starts no valid sequence within the rest of the input */
    if (mx_utf8_valid_prefix(copy + valid, size - valid) != 0) __builtin_trap();
    if (copy[valid] < 0x80) __builtin_trap();  /* ASCII is always valid */
  }
  free(copy);
  return 0;
}
