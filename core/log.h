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

/*
 * Appends s to buf (capacity cap, current length *len) as JSON string
 * content (no quotes), escaping as needed and truncating safely at cap.
 */
void gb_json_escape_append(char *buf, size_t cap, size_t *len, const char *s);

/* ---- the line writers' parts, for the access log (access_log.h) ---- */

/* 1 when lines are text for a terminal, 0 when they are JSON. */
int gb_log_text(void);

/* The current time as RFC 3339 UTC with milliseconds, NUL-terminated. */
void gb_log_timestamp(char out[32]);

/*
 * Appends s to buf (capacity cap, length *len), whole characters and
 * escapes only, as JSON string content (`json`) or as text for a
 * terminal: control characters are escaped in both, bytes that are not
 * UTF-8 become U+FFFD (JSON) or \xNN (text). 1 if all of s fit, 0 if it
 * was cut.
 */
int gb_log_escape(char *buf, size_t cap, size_t *len, const char *s, int json);

/*
 * Appends ,"key":"val" with val escaped and cut to at most `max` bytes of
 * JSON (then marked "...").
 */
void gb_log_json_field(char *buf, size_t cap, size_t *len, const char *key,
		       const char *val, size_t max);

/* Appends s as it is, cut to what fits (buf stays NUL-terminated). */
void gb_log_append(char *buf, size_t cap, size_t *len, const char *s);

/* Writes buf (whole lines) to the log's output. */
void gb_log_write(const char *buf, size_t len);

#endif
