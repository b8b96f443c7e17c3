/* Parsing of raw HTTP response header lines, as libcurl hands them over.
 * Pure functions over bytes from the network: no Lua, no libcurl, so they can be fuzzed alone. */
#ifndef MX_HEADERS_H
#define MX_HEADERS_H

#include <stddef.h>

/* Does this line start a new response ("HTTP/1.1 200 OK")? Interim (1xx) and redirect
 * responses each start one, and only the last response's headers are kept. */
int mx_header_is_status_line(const char *line, size_t len);

/* Splits "Name: value\r\n" into a name and a value with surrounding blanks and the line end
 * removed. Returns 1 for a well-formed field, 0 for anything else (status lines, the blank
 * line that ends the block, a line without a colon or with an empty or blank-holding name). */
int mx_header_split(const char *line, size_t len, const char **name, size_t *name_len,
                    const char **value, size_t *value_len);

/* Calls fn once for each well-formed field of a block of lines separated by "\n". */
typedef void (*mx_header_fn)(void *ctx, const char *name, size_t name_len, const char *value,
                             size_t value_len);
void mx_header_each(const char *block, size_t len, mx_header_fn fn, void *ctx);

#endif
