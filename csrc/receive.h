/* libcurl's header and write callbacks of a transfer (userdata: the mx_transfer): see receive.c. */
#ifndef MX_RECEIVE_H
#define MX_RECEIVE_H

#include <stddef.h>

#include "transfer.h"

size_t mx_receive_head(char *p, size_t size, size_t n, void *ud);
size_t mx_receive_body(char *p, size_t size, size_t n, void *ud);

#endif
