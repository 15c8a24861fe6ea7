/* clock.h - monotonic and wall clock in seconds. */
#ifndef GB_CORE_CLOCK_H
#define GB_CORE_CLOCK_H

#include <time.h>

/* Seconds from an arbitrary start, never going back. */
static inline double gb_now_monotonic(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds since the Unix epoch. */
static inline double gb_now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
