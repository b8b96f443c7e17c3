/* The JSON decoder behind every answer the rock reads (RFC 8259), straight into the Lua values
 * the API layer hands out, with no second pass over them: a null leaves its field out (or
 * becomes a sentinel the caller gives), integral numbers are integers on Lua 5.3+, and a string
 * without escapes is pushed from the input as it is. Any byte string is safe input: the result is
 * a value, or nil and a message naming the byte where the input stopped being JSON. Nesting is
 * bounded (MX_JSON_MAX_DEPTH), so no input exhausts the C stack; numbers read the same whatever
 * the host's C locale. */
#ifndef MX_JSON_H
#define MX_JSON_H

#include "compat.h"

#define MX_JSON_MAX_DEPTH 1000

/* core.json_decode(text [, null]) -> value | nil, message
 * With null given, a JSON null becomes that value (cjson.null, vim.NIL), everywhere; without
 * it, an object's null field is left out and an array's null is a hole. A JSON null at the top
 * decodes to nil with no message. */
int mx_json_decode(lua_State *L);

/* The same over n bytes at text, with the null sentinel at the absolute stack index null_index
 * (0: none):
 * pushes the value and returns 1, or pushes nil and the message and returns 2. */
int mx_json_decode_bytes(lua_State *L, const char *text, size_t n, int null_index);

#endif
