/*
 * log.h - structured logging on stdout: one JSON object per line (for Loki)
 * or a readable text line on a TTY. Each line is written with one write(2).
 */
#ifndef GB_CORE_LOG_H
#define GB_CORE_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "guestbook/plugin.h"

enum gb_log_format { GB_LOG_JSON, GB_LOG_TEXT };

/*
 * Sends every line to `fd` instead of stdout (the export and import
 * commands keep stdout for data). Call before the first line.
 */
void gb_log_set_fd(int fd);

/* Sets the minimum level and the format. Safe to call before anything. */
void gb_log_configure(enum gb_log_level level, enum gb_log_format format);

/* Parses "debug".."error" / "json","text"; -1 if unknown. */
int gb_log_level_parse(const char *s);
int gb_log_format_parse(const char *s);

/* True when a message at `level` would be written. */
int gb_log_enabled(enum gb_log_level level);

/* Logs msg (printf format) from `logger` at `level`. */
void gb_log(enum gb_log_level level, const char *logger, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gb_logv(enum gb_log_level level, const char *logger, const char *fmt,
	     va_list ap);

/*
 * Like gb_log, with extra string fields: `fields` holds key, value pairs
 * and ends with NULL. JSON lines get "key":"value" members after msg (for
 * harnesses and log queries); text lines, read by people, show only msg,
 * so say the same in msg when a reader needs it.
 */
void gb_log_fields(enum gb_log_level level, const char *logger,
		   const char *const *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes out the buffered access lines now (at shutdown). */
void gb_log_flush(void);

/* One access-log line; every string may be NULL. Buffered per thread and
 * written at least every 200 ms. */
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
void gb_log_access(const struct gb_access_entry *e);

/*
 * Appends s to buf (capacity cap, current length *len) as JSON string
 * content (no quotes), escaping as needed and truncating safely at cap.
 */
void gb_json_escape_append(char *buf, size_t cap, size_t *len, const char *s);

#endif
