/* Why a transfer stopped before libcurl finished it: recorded by whichever callback stopped
 * it (a Lua callback that raised or refused, a failed write or read), reported by result.c.
 * The first stop wins: later callbacks of the same transfer see it and run no Lua. */
#ifndef MX_STOP_H
#define MX_STOP_H

enum mx_stop_why {
  MX_STOP_NONE,
  MX_STOP_RAISED,   /* a Lua callback raised: the value is kept in raised_ref */
  MX_STOP_REFUSED,  /* a Lua callback returned false[, message] */
  MX_STOP_WRITE,    /* the output file could not be written */
  MX_STOP_READ,     /* an upload's file could not be read, or changed size */
  MX_STOP_NOMEM,
  MX_STOP_CANCELLED, /* cancelled, or its Lua object collected, while libcurl was running it */
  MX_STOP_RESUME,   /* a resumed download's answer does not continue the bytes had so far */
  MX_STOP_TOO_LARGE /* a body kept in memory went past its bound (max_body_bytes) */
};

typedef struct mx_stop {
  enum mx_stop_why why;
  int raised_ref;  /* LUA_NOREF unless why == MX_STOP_RAISED */
  char *message;   /* malloc'ed; NULL for a default message */
} mx_stop;

#endif
