/* Opening an upload's file once: the descriptor that is checked is the one that is read,
 * so the file cannot be swapped between the check and the send. */
#ifndef MX_FILE_H
#define MX_FILE_H

#include <curl/curl.h>

/* Opens path for reading and checks that it is a regular file. On success returns NULL with
 * the descriptor (close-on-exec) in *fd and the size in *size; else why not (a static string
 * or strerror's). A FIFO is opened without blocking and then refused by its type. */
const char *mx_file_open(const char *path, int *fd, curl_off_t *size);

#endif
