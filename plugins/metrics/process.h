/*
 * process.h - the standard process collector: what the Prometheus Go and
 * Python clients export as process_*, read from /proc at scrape time.
 */
#ifndef GB_METRICS_PROCESS_H
#define GB_METRICS_PROCESS_H

#include <stdbool.h>

/* One scrape's process figures; a `has_` flag is false when unreadable. */
struct process_stats {
	bool has_stat;	    /* the /proc/self/stat fields below */
	double cpu_seconds; /* user + system */
	double virtual_bytes;
	double resident_bytes;
	double threads;
	bool has_start_time;
	double start_time; /* seconds since the epoch */
	bool has_open_fds;
	double open_fds;
	bool has_max_fds;
	double max_fds; /* soft RLIMIT_NOFILE */
};

/* Reads the boot time and clock constants once (call from plugin init). */
void process_stats_init(void);

/* Fills `out` with this process's current figures. Thread-safe. */
void process_stats_read(struct process_stats *out);

#endif
