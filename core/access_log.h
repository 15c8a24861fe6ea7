/*
 * access_log.h - one line per request answered, on the log's output
 * (log.h): a JSON object for Loki, or a text line on a terminal.
 *
 * JSON lines are buffered per worker thread and written by a flusher
 * thread at least every 200 ms (one write(2) per 5 to 10 KiB or per 200 ms,
 * not one per request). A kill -9 loses at most the last 200 ms of
 * access lines; a normal shutdown flushes them (gb_log_flush). Text
 * lines, read by a person, are written at once.
 */
#ifndef GB_CORE_ACCESS_LOG_H
#define GB_CORE_ACCESS_LOG_H

#include <stddef.h>

struct gb_request;

/* One access-log line; every string may be NULL. */
struct gb_access_entry {
	const char *method;
	const char *route;
	const char *path;
	int status;
	double duration_ms;
	size_t bytes;
	const char *remote;
	const char *request_id;
	const char *user_agent;
	const char *trace_id; /* "" or NULL: not traced */
	const char *span_id;
};

/* Writes the line of `e` (at level info). */
void gb_log_access(const struct gb_access_entry *e);

/* Writes out the buffered access lines now (at shutdown). */
void gb_log_flush(void);

/* Reads the access_log setting. Before the server starts. */
void gb_access_log_prepare(void);

/*
 * Logs the request answered: `route` is its route template (or "other"),
 * `elapsed` the seconds it took, `bytes` the body bytes sent. Nothing
 * when the access_log setting is off.
 */
void gb_access_log_request(const struct gb_request *req, const char *route,
			   double elapsed, size_t bytes,
			   const char *user_agent);

#endif
