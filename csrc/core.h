/* Shared declarations of the core: a Multi (one libcurl multi handle: a connection cache
 * and the set of transfers in flight) and the Transfers started on it. */
#ifndef MX_CORE_H
#define MX_CORE_H

#include <stdio.h>
#include <curl/curl.h>

#include "buffer.h"
#include "compat.h"

#define MX_MULTI_MT "mistralai.core.Multi"
#define MX_TRANSFER_MT "mistralai.core.Transfer"

typedef struct mx_transfer mx_transfer;

typedef struct mx_multi {
  CURLM *cm;
  mx_transfer *head;  /* transfers in flight, each held by a registry reference */
  lua_State *L;       /* the state that called step, valid only while it runs */
  int stepping;
  int closed;
} mx_multi;

/* Why a transfer stopped before libcurl finished it on its own. */
enum mx_abort { MX_ABORT_NONE, MX_ABORT_RAISED, MX_ABORT_REFUSED, MX_ABORT_IO, MX_ABORT_NOMEM };

struct mx_transfer {
  CURL *easy;
  curl_mime *mime;
  struct curl_slist *headers;
  mx_multi *multi;    /* while in flight; NULL once done, closed or orphaned */
  mx_transfer *prev, *next;
  int self_ref;       /* keeps the userdata alive while libcurl holds a pointer to it */
  int started, done, closed;
  CURLcode code;
  char errbuf[CURL_ERROR_SIZE];

  mx_buffer head;     /* raw header lines of the latest response */
  mx_buffer body;     /* the body, unless it goes to the output file or the sink */
  int body_routed;    /* the current response is 2xx, so its body goes to output/sink */
  int routing_known;

  int sink_ref;       /* Lua function called with each chunk of a 2xx body */
  int progress_ref;   /* Lua function called with (done, total, sent, to_send) */
  curl_off_t progress_last[4];
  double progress_at; /* when it was last called, to bound the rate */
  int raised_ref;     /* the value a callback raised, re-raised by the Lua layer */
  enum mx_abort abort;
  char *abort_message;
  int io_errno;

  FILE *out;          /* the 2xx body goes to a temporary file beside out_path ... */
  char *out_path;
  char *tmp_path;     /* ... renamed over out_path only by commit */
};

double mx_now(void);

void mx_multi_register(lua_State *L);
mx_multi *mx_multi_check(lua_State *L, int i);
/* Called by the multi when libcurl reports a transfer finished. */
void mx_transfer_finish(lua_State *L, mx_transfer *t, CURLcode code);
/* Takes a transfer out of its multi (cancel or orphan), releasing the multi's hold on it. */
void mx_transfer_detach(lua_State *L, mx_transfer *t);

void mx_transfer_register(lua_State *L);
/* m:start(request): builds a transfer from a request table and adds it to the multi. */
int mx_transfer_start(lua_State *L);

#endif
