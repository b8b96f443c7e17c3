#include <string.h>

#include "headers.h"

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* RFC 9110 token characters: what a field name may hold. */
static int is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return 1;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int mx_header_is_status_line(const char *line, size_t len) {
  return len >= 5 && memcmp(line, "HTTP/", 5) == 0;
}

int mx_header_split(const char *line, size_t len, const char **name, size_t *name_len,
                    const char **value, size_t *value_len) {
  size_t colon = 0, start, end;
  while (colon < len && line[colon] != ':') {
    if (!is_tchar((unsigned char)line[colon])) return 0;
    colon++;
  }
  if (colon == 0 || colon == len) return 0;
  start = colon + 1;
  end = len;
  while (end > start && (line[end - 1] == '\r' || line[end - 1] == '\n' || is_blank(line[end - 1])))
    end--;
  while (start < end && is_blank(line[start])) start++;
  *name = line;
  *name_len = colon;
  *value = line + start;
  *value_len = end - start;
  return 1;
}

void mx_header_each(const char *block, size_t len, mx_header_fn fn, void *ctx) {
  size_t pos = 0;
  while (pos < len) {
    const char *line = block + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t line_len = nl ? (size_t)(nl - line) + 1 : len - pos;
    const char *name, *value;
    size_t name_len, value_len;
    if (mx_header_split(line, line_len, &name, &name_len, &value, &value_len))
      fn(ctx, name, name_len, value, value_len);
    pos += line_len;
  }
}
