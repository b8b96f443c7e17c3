/* The UTF-8 checker behind JSON Lines validation. Pure code over bytes: no Lua, no libcurl,
 * so it is fuzzed alone (fuzz/utf8_fuzz.c). */
#ifndef MX_UTF8_H
#define MX_UTF8_H

#include <stddef.h>

/* Returns len when s[0..len) is valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), else the 0-based offset of the first byte that starts no valid
 * sequence. */
size_t mx_utf8_valid_prefix(const unsigned char *s, size_t len);

#endif
