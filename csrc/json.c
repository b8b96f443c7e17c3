#include "json.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  lua_State *L;
  const char *start, *p, *end;
  int null_index;     /* the caller's null sentinel on the stack, or 0: nulls become nil */
  const char *error;  /* what went wrong, at error_at; a static string */
  const char *error_at;
} parser;

/* The bytes that end a run of plain string content: the closing quote, a backslash, and the
 * control characters JSON forbids raw in a string. */
static const unsigned char string_stop[256] = {
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* '"' */
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,  /* '\\' */
};

static const char UNEXPECTED_CHARACTER[] = "unexpected character";

static int fail(parser *ps, const char *at, const char *what) {
  ps->error = what;
  ps->error_at = at;
  return 0;
}

/* Fails at ps->p for want of what: the end of the text, or something else there. */
static int expected(parser *ps, const char *what) {
  return fail(ps, ps->p, ps->p >= ps->end ? "unexpected end" : what);
}

static void skip_space(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) ps->p++;
}

static int is_digit(const parser *ps, const char *q) { return q < ps->end && *q >= '0' && *q <= '9'; }

static int hex4(const char *q, unsigned *out) {
  unsigned v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    char c = q[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

static void add_utf8(luaL_Buffer *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) { u[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  luaL_addlstring(b, u, n);
}

/* A \u escape at q (the backslash): its code point, a surrogate pair taken as one. A surrogate
 * without its other half becomes U+FFFD, so what comes out is always valid UTF-8. */
static const char *unicode_escape(parser *ps, const char *q, unsigned *cp) {
  unsigned lo;
  if (ps->end - q < 6 || !hex4(q + 2, cp)) {
    fail(ps, q, "invalid \\u escape");
    return NULL;
  }
  q += 6;
  if (*cp >= 0xDC00 && *cp <= 0xDFFF) *cp = 0xFFFD;
  else if (*cp >= 0xD800 && *cp <= 0xDBFF) {
    if (ps->end - q >= 6 && q[0] == '\\' && q[1] == 'u' && hex4(q + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
      *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
      q += 6;
    } else {
      *cp = 0xFFFD;
    }
  }
  return q;
}

/* The string whose opening quote is at ps->p. */
static int parse_string(parser *ps) {
  const char *from = ps->p + 1, *q = from;
  luaL_Buffer b;
  while (q < ps->end && !string_stop[(unsigned char)*q]) q++;
  if (q < ps->end && *q == '"') {  /* the common case: no escapes, no copy but Lua's own */
    lua_pushlstring(ps->L, from, (size_t)(q - from));
    ps->p = q + 1;
    return 1;
  }
  luaL_buffinit(ps->L, &b);
  for (;;) {
    luaL_addlstring(&b, from, (size_t)(q - from));
    if (q >= ps->end) return fail(ps, ps->p, "unterminated string");
    if (*q == '"') break;
    if (*q != '\\') return fail(ps, q, "control character in a string");
    if (q + 1 >= ps->end) return fail(ps, ps->p, "unterminated string");
    switch (q[1]) {
      case '"': luaL_addchar(&b, '"'); q += 2; break;
      case '\\': luaL_addchar(&b, '\\'); q += 2; break;
      case '/': luaL_addchar(&b, '/'); q += 2; break;
      case 'b': luaL_addchar(&b, '\b'); q += 2; break;
      case 'f': luaL_addchar(&b, '\f'); q += 2; break;
      case 'n': luaL_addchar(&b, '\n'); q += 2; break;
      case 'r': luaL_addchar(&b, '\r'); q += 2; break;
      case 't': luaL_addchar(&b, '\t'); q += 2; break;
      case 'u': {
        unsigned cp;
        q = unicode_escape(ps, q, &cp);
        if (q == NULL) return 0;
        add_utf8(&b, cp);
        break;
      }
      default: return fail(ps, q, "invalid escape in a string");
    }
    from = q;
    while (q < ps->end && !string_stop[(unsigned char)*q]) q++;
  }
  luaL_pushresult(&b);
  ps->p = q + 1;
  return 1;
}

/* A number's text, already checked against JSON's grammar, as a double. strtod reads the
 * decimal point of the C locale, which a host (a Neovim plugin, say) may have changed: then the
 * point is written the locale's way (one byte or several) and read again. 0 when the C library
 * still cannot read it whole, rather than a number cut short. */
static int to_double(lua_State *L, const char *s, size_t n, double *out) {
  const char *point = localeconv()->decimal_point, *dot;
  size_t point_len = strlen(point), room = n + point_len + 1;
  char small[64], *text = small, *end;
  int ok;
  if (room > sizeof small) text = (char *)lua_newuserdata(L, room);  /* collected with the rest */
  memcpy(text, s, n);
  text[n] = '\0';
  *out = strtod(text, &end);
  ok = end == text + n;
  dot = (const char *)memchr(s, '.', n);
  if (!ok && dot != NULL && point_len > 0) {
    size_t at = (size_t)(dot - s);
    memcpy(text + at, point, point_len);
    memcpy(text + at + point_len, dot + 1, n - at - 1);
    text[n - 1 + point_len] = '\0';
    *out = strtod(text, &end);
    ok = end == text + n - 1 + point_len;
  }
  if (text != small) lua_pop(L, 1);
  return ok;
}

static int parse_number(parser *ps) {
  const char *s = ps->p, *q = s;
  int integral = 1;
  double d;
  if (*q == '-') q++;
  if (q < ps->end && *q == '0') q++;
  else if (is_digit(ps, q)) while (is_digit(ps, q)) q++;
  else return fail(ps, q, q < ps->end ? "invalid number" : "unexpected end");
  if (q < ps->end && *q == '.') {
    integral = 0;
    if (!is_digit(ps, ++q)) return fail(ps, q, q < ps->end ? "invalid number" : "unexpected end");
    while (is_digit(ps, q)) q++;
  }
  if (q < ps->end && (*q == 'e' || *q == 'E')) {
    integral = 0;
    q++;
    if (q < ps->end && (*q == '+' || *q == '-')) q++;
    if (!is_digit(ps, q)) return fail(ps, q, q < ps->end ? "invalid number" : "unexpected end");
    while (is_digit(ps, q)) q++;
  }
  ps->p = q;
#if LUA_VERSION_NUM >= 503
  /* up to 19 digits: read exactly (below 10^19, so no unsigned overflow), kept when in range */
  if (integral && q - s - (*s == '-') <= 19) {
    const char *digit = s + (*s == '-');
    unsigned long long v = 0;
    for (; digit < q; digit++) v = v * 10 + (unsigned)(*digit - '0');
    if (*s != '-' && v <= (unsigned long long)LUA_MAXINTEGER) {
      lua_pushinteger(ps->L, (lua_Integer)v);
      return 1;
    }
    if (*s == '-' && v <= (unsigned long long)LUA_MAXINTEGER + 1) {
      lua_pushinteger(ps->L, v == 0 ? 0 : -(lua_Integer)(v - 1) - 1);
      return 1;
    }
  }
#endif
  if (!to_double(ps->L, s, (size_t)(q - s), &d)) return fail(ps, s, "number unreadable in the C library's locale");
#if LUA_VERSION_NUM >= 503
  {
    /* written with a fraction or an exponent: an integer when it is one (1e3, 2.0), as the
     * API's integers may be written. Integral text that got here is beyond lua_Integer: a float. */
    lua_Integer i;
    if (!integral && lua_numbertointeger(d, &i) && (double)i == d) {
      lua_pushinteger(ps->L, i);
      return 1;
    }
  }
#else
  (void)integral;
#endif
  lua_pushnumber(ps->L, (lua_Number)d);
  return 1;
}

/* true, false or null at ps->p: fails at the first byte that differs, or where the text ends. */
static int literal(parser *ps, const char *word, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (ps->p + i >= ps->end) return fail(ps, ps->p + i, "unexpected end");
    if (ps->p[i] != word[i]) return fail(ps, ps->p + i, UNEXPECTED_CHARACTER);
  }
  ps->p += n;
  return 1;
}

static int parse_value(parser *ps, int depth);

static int parse_array(parser *ps, int depth) {
  lua_State *L = ps->L;
  int n = 0;
  ps->p++;
  lua_newtable(L);
  skip_space(ps);
  if (ps->p < ps->end && *ps->p == ']') { ps->p++; return 1; }
  for (;;) {
    if (!parse_value(ps, depth)) return 0;
    lua_rawseti(L, -2, ++n);  /* a null without a sentinel sets nil: a hole */
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
    if (ps->p < ps->end && *ps->p == ']') { ps->p++; return 1; }
    return expected(ps, "expected ',' or ']'");
  }
}

static int parse_object(parser *ps, int depth) {
  lua_State *L = ps->L;
  ps->p++;
  lua_newtable(L);
  skip_space(ps);
  if (ps->p < ps->end && *ps->p == '}') { ps->p++; return 1; }
  for (;;) {
    skip_space(ps);
    if (ps->p >= ps->end || *ps->p != '"') return expected(ps, "expected a string key");
    if (!parse_string(ps)) return 0;
    skip_space(ps);
    if (ps->p >= ps->end || *ps->p != ':') return expected(ps, "expected ':'");
    ps->p++;
    if (!parse_value(ps, depth)) return 0;
    lua_rawset(L, -3);  /* a null without a sentinel sets nil: the field is left out (the last one wins) */
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
    if (ps->p < ps->end && *ps->p == '}') { ps->p++; return 1; }
    return expected(ps, "expected ',' or '}'");
  }
}

/* Pushes one value (nil for a null without a sentinel), or fails leaving the stack as it is:
 * the caller's top-level settop clears whatever an unfinished value had pushed. */
static int parse_value(parser *ps, int depth) {
  skip_space(ps);
  if (ps->p >= ps->end) return fail(ps, ps->p, "unexpected end");
  switch (*ps->p) {
    case '"': return parse_string(ps);
    case '{':
    case '[':
      if (depth >= MX_JSON_MAX_DEPTH) return fail(ps, ps->p, "nested too deep");
      /* room for this level (table, key, value) and for a string's luaL_Buffer, which on Lua
       * 5.1 keeps its pieces on the stack */
      luaL_checkstack(ps->L, LUA_MINSTACK, "JSON nesting");
      return *ps->p == '{' ? parse_object(ps, depth + 1) : parse_array(ps, depth + 1);
    case 't': if (!literal(ps, "true", 4)) return 0; lua_pushboolean(ps->L, 1); return 1;
    case 'f': if (!literal(ps, "false", 5)) return 0; lua_pushboolean(ps->L, 0); return 1;
    case 'n':
      if (!literal(ps, "null", 4)) return 0;
      if (ps->null_index) lua_pushvalue(ps->L, ps->null_index);
      else lua_pushnil(ps->L);
      return 1;
    default:
      if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_number(ps);
      return fail(ps, ps->p, UNEXPECTED_CHARACTER);
  }
}

int mx_json_decode_bytes(lua_State *L, const char *text, size_t n, int null_index) {
  int base = lua_gettop(L);
  parser ps;
  char message[96];
  ps.L = L;
  ps.start = ps.p = text;
  ps.end = text + n;
  ps.null_index = null_index;
  ps.error = NULL;
  ps.error_at = text;
  if (parse_value(&ps, 0)) {
    skip_space(&ps);
    if (ps.p == ps.end) return 1;
    fail(&ps, ps.p, "unexpected text after the value");
  }
  lua_settop(L, base);
  lua_pushnil(L);
  if (ps.error == UNEXPECTED_CHARACTER && ps.error_at < ps.end && (unsigned char)*ps.error_at >= 0x20 &&
      (unsigned char)*ps.error_at < 0x7F)
    snprintf(message, sizeof message, "unexpected character '%c' at byte %lu", *ps.error_at,
             (unsigned long)(ps.error_at - ps.start) + 1);
  else
    snprintf(message, sizeof message, "%s at byte %lu", ps.error, (unsigned long)(ps.error_at - ps.start) + 1);
  lua_pushstring(L, message);
  return 2;
}

int mx_json_decode(lua_State *L) {
  size_t n;
  const char *text = luaL_checklstring(L, 1, &n);
  lua_settop(L, 2);
  return mx_json_decode_bytes(L, text, n, lua_isnil(L, 2) ? 0 : 2);
}
