/* mistralai.core.Transfer: one HTTP exchange on a libcurl easy handle.
 *
 * The Lua object holds a pointer to the transfer, which lives on the C heap: nothing but the
 * caller holds the object, so a caller that is gone (a coroutine abandoned and collected)
 * takes its transfer with it, and libcurl's pointer stays valid until the driver lets go.
 *
 * A request table says what to send (method, url, header lines, multipart parts read from
 * memory or straight from disk, the options of options.c) and where a 2xx body goes (a
 * string, a file written atomically, a Lua sink, or a stream the caller reads at its pace:
 * libcurl is paused while a chunk waits for its reader, so the sender is held back). Bodies of other responses always come
 * back as a string, for the error. Nothing here knows about Mistral, nor about the multi
 * handle that drives the transfer: that one is reached through mx_driver. */
#ifndef MX_TRANSFER_H
#define MX_TRANSFER_H

#include <curl/curl.h>

#include "buffer.h"
#include "compat.h"
#include "mime.h"
#include "output.h"
#include "stop.h"

#define MX_TRANSFER_MT "mistralai.core.Transfer"

typedef struct mx_transfer mx_transfer;

/* What a transfer needs of whatever drives it: the Lua state stepping it (for callbacks), and
 * a way to be taken out when it is closed in flight. The Multi implements it.
 * libcurl forbids taking a transfer out from inside its callbacks, which is where Lua code (a
 * sink, a progress function, a collection cycle) runs during a step: a cancel or a collection
 * there only marks the transfer and sets `pending`, and the driver sweeps once libcurl
 * returns. */
typedef struct mx_driver {
  lua_State *L;  /* valid only while a step runs, so no lua_State is kept past its call */
  int stepping;
  int pending;   /* a transfer was cancelled or collected during this step */
  int readable;  /* a stream got a chunk to read: a waiter may return */
  void (*release)(struct mx_driver *d, lua_State *L, mx_transfer *t);
  /* Unpauses a stream its reader has emptied (libcurl may deliver the next chunk at once). */
  void (*resume)(struct mx_driver *d, lua_State *L, mx_transfer *t);
} mx_driver;

struct mx_transfer {
  CURL *easy;
  mx_mime mime;
  struct curl_slist *headers;
  mx_driver *driver;  /* while in flight; NULL once done, closed or released */
  mx_transfer *prev, *next;  /* the driver's list of transfers in flight */
  int done, closed;
  int orphaned;       /* its Lua object was collected in flight: the driver frees it */
  CURLcode code;
  char errbuf[CURL_ERROR_SIZE];

  mx_buffer head;     /* raw header lines of the latest response */
  mx_buffer body;     /* the body, unless it goes to the output file or the sink */
  curl_off_t body_max;  /* the most of it kept (max_body_bytes); 0: no bound */
  char *expect_type;  /* the media type a routed body must have (NULL: any) */
  int body_routed;    /* the current response is 2xx, so its body goes to output/sink */
  int routing_known;
  curl_off_t resume_from;  /* bytes of the body an earlier attempt delivered (Range: bytes=N-) */
  curl_off_t delivered;    /* bytes of this attempt's 2xx body given to output, sink or stream */
  int restarted;           /* resuming, the server sent the whole body again */

  int stream;         /* a 2xx body is read chunk by chunk through t:read() */
  mx_buffer chunk;    /* the stream's chunk not read yet; while it is there, libcurl is paused */
  int paused;         /* the write callback paused the transfer */

  int sink_ref;       /* Lua function called with each chunk of a 2xx body */
  int progress_ref;   /* Lua function called with (received, to receive, sent, to send) */
  curl_off_t progress_last[4];
  double progress_at; /* when it was last called, to bound the rate */
  mx_stop stop;
  mx_output out;      /* out.file is NULL unless the request named an output */
};

/* The Lua state stepping t, for its callbacks; NULL outside a step. */
static inline lua_State *mx_transfer_state(const mx_transfer *t) {
  return t->driver != NULL ? t->driver->L : NULL;
}

/* Pushes a new transfer built from the request table at index req and returns 1, or pushes
 * nil, kind, message for a failure of the world found before anything is sent (a file that
 * cannot be read or written) and returns 3. Misuse of the request table raises. */
int mx_transfer_new(lua_State *L, int req);
/* Records that libcurl finished the transfer with code. */
void mx_transfer_finished(mx_transfer *t, CURLcode code);
/* Frees an orphaned transfer, once its driver has taken it out. */
void mx_transfer_free(lua_State *L, mx_transfer *t);

void mx_transfer_register(lua_State *L);

#endif
