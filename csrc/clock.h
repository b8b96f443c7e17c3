/* A monotonic clock in seconds, for deadlines and rate limits. */
#ifndef MX_CLOCK_H
#define MX_CLOCK_H

#include <time.h>
#ifdef _WIN32
#include <windows.h>
#endif

static inline double mx_now(void) {
#ifdef _WIN32
  LARGE_INTEGER count, frequency;
  QueryPerformanceCounter(&count);
  QueryPerformanceFrequency(&frequency);
  return (double)count.QuadPart / (double)frequency.QuadPart;
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

#endif
