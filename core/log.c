#include "log.h"

#include "guestbook/utf8.h"
#include "trace.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

static _Atomic int min_level = GB_LOG_INFO;
static _Atomic int out_format = -1;
static _Atomic int out_fd = STDOUT_FILENO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void gb_log_set_fd(int fd)
{
	atomic_store(&out_fd, fd);
}

void gb_log_configure(enum gb_log_level level, enum gb_log_format format)
{
	atomic_store(&min_level, (int)level);
	atomic_store(&out_format, (int)format);
}

int gb_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return GB_LOG_WARN;
	return -1;
}

int gb_log_format_parse(const char *s)
{
	if (strcmp(s, "json") == 0)
		return GB_LOG_JSON;
	if (strcmp(s, "text") == 0)
		return GB_LOG_TEXT;
	return -1;
}

int gb_log_enabled(enum gb_log_level level)
{
	return (int)level >=
	       atomic_load_explicit(&min_level, memory_order_relaxed);
}

static enum gb_log_format current_format(void)
{
	int f = atomic_load_explicit(&out_format, memory_order_relaxed);
	if (f < 0) {
		f = isatty(atomic_load(&out_fd)) ? GB_LOG_TEXT : GB_LOG_JSON;
		atomic_store(&out_format, f);
	}
	return (enum gb_log_format)f;
}

/* Length of the valid UTF-8 sequence at p (1 to 4), 0 if p does not
 * start one. p is NUL-terminated: decoding stops at the first bad byte. */
static size_t utf8_sequence(const unsigned char *p)
{
	uint32_t cp;
	return gb_utf8_decode(p, 4, &cp);
}

/*
 * Appends s, whole characters and escapes only, as JSON string content
 * (`json`) or as text for a terminal: control characters are escaped in
 * both (no forged lines, no terminal escape sequences), bytes that are
 * not UTF-8 become U+FFFD (JSON) or \xNN (text), so a line stays valid
 * whatever a client sent. Returns 1 if all of s fit, 0 if it was cut.
 */
int gb_log_escape(char *buf, size_t cap, size_t *len, const char *s, int json)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = *len;
	int whole = 1;

	if (n >= cap)
		return *p == '\0';
	while (*p) {
		char esc[8];
		const char *out = esc;
		size_t out_len = 2, seq = utf8_sequence(p);

		esc[0] = '\\';
		if ((*p == '"' || *p == '\\') && json) {
			esc[1] = (char)*p;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			esc[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
		} else if (*p < 0x20 || *p == 0x7f || seq == 0) {
			if (json && seq == 0) {
				out = "\\ufffd";
			} else {
				memcpy(esc, json ? "\\u00" : "\\x",
				       json ? 4 : 2);
				esc[json ? 4 : 2] = hex[*p >> 4];
				esc[json ? 5 : 3] = hex[*p & 15];
			}
			out_len = json ? 6 : 4;
			seq = 1;
		} else if (!json && p[0] == 0xc2 && p[1] < 0xa0) {
			/* C1 controls: some terminals take U+009B as CSI */
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[p[1] >> 4];
			esc[5] = hex[p[1] & 15];
			out_len = 6;
		} else {
			out = (const char *)p;
			out_len = seq;
		}
		if (n + out_len >= cap) {
			whole = 0;
			break;
		}
		memcpy(buf + n, out, out_len);
		n += out_len;
		p += seq;
	}
	buf[n] = '\0';
	*len = n;
	return whole;
}

void gb_json_escape_append(char *buf, size_t cap, size_t *len, const char *s)
{
	gb_log_escape(buf, cap, len, s, 1);
}

void gb_log_append(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len + n >= cap)
		n = cap - *len - 1;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

static void append_fmt(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append_fmt(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += ((size_t)n < cap - *len) ? (size_t)n : cap - *len - 1;
}

/* RFC 3339 with milliseconds; the part up to the second is formatted
 * once per second per thread. */
void gb_log_timestamp(char out[32])
{
	static _Thread_local time_t cached_sec = -1;
	static _Thread_local char prefix[24];
	static _Thread_local size_t prefix_len;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		prefix_len =
		    strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S.", &tm);
		cached_sec = ts.tv_sec;
	}
	long ms = ts.tv_nsec / 1000000;
	memcpy(out, prefix, prefix_len);
	out[prefix_len] = (char)('0' + ms / 100);
	out[prefix_len + 1] = (char)('0' + ms / 10 % 10);
	out[prefix_len + 2] = (char)('0' + ms % 10);
	out[prefix_len + 3] = 'Z';
	out[prefix_len + 4] = '\0';
}

void gb_log_write(const char *buf, size_t len)
{
	size_t off = 0;
	int fd = atomic_load_explicit(&out_fd, memory_order_relaxed);
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* Writes the finished line at once (event lines). */
static void emit(char *buf, size_t len)
{
	buf[len++] = '\n';
	gb_log_write(buf, len);
}

static void begin_line(char *buf, size_t cap, size_t *len,
		       enum gb_log_level level, const char *logger,
		       const char *msg)
{
	char ts[32];
	gb_log_timestamp(ts);
	if (current_format() == GB_LOG_TEXT) {
		append_fmt(buf, cap, len, "%s %-5s [%s] ", ts,
			   level_names[level], logger);
		if (!gb_log_escape(buf, cap - 3, len, msg, 0))
			gb_log_append(buf, cap, len, "...");
		return;
	}
	append_fmt(buf, cap, len,
		   "{\"ts\":\"%s\",\"level\":\"%s\",\"logger\":\"", ts,
		   level_names[level]);
	gb_json_escape_append(buf, cap - 2, len, logger);
	gb_log_append(buf, cap, len, "\",\"msg\":\"");
	/* Room for the mark of a cut message and the closing quote. */
	if (!gb_log_escape(buf, cap - 5, len, msg, 1))
		gb_log_append(buf, cap, len, "...");
	gb_log_append(buf, cap, len, "\"");
}

void gb_logv(enum gb_log_level level, const char *logger, const char *fmt,
	     va_list ap)
{
	if (!gb_log_enabled(level))
		return;
	char msg[4096], line[LINE_MAX_BYTES];
	size_t len = 0;
	if (vsnprintf(msg, sizeof msg, fmt, ap) >= (int)sizeof msg)
		memcpy(msg + sizeof msg - 4, "...", 4);
	begin_line(line, sizeof line - 2, &len, level, logger, msg);
	char trace_id[33], span_id[17];
	if (current_format() == GB_LOG_JSON && gb_trace_ids(trace_id, span_id))
		append_fmt(line, sizeof line - 2, &len,
			   ",\"trace_id\":\"%s\",\"span_id\":\"%s\"", trace_id,
			   span_id);
	if (current_format() == GB_LOG_JSON)
		gb_log_append(line, sizeof line - 1, &len, "}");
	emit(line, len);
}

void gb_log(enum gb_log_level level, const char *logger, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gb_logv(level, logger, fmt, ap);
	va_end(ap);
}

/*
 * Appends "key":"val" with val cut to at most `max` bytes of JSON (then
 * marked "..."). The limits of an access line's fields add up to well
 * under LINE_MAX_BYTES, so a huge path or User-Agent can never cut the
 * fields after it and break the line's JSON.
 */
void gb_log_json_field(char *buf, size_t cap, size_t *len, const char *key,
		       const char *val, size_t max)
{
	append_fmt(buf, cap, len, ",\"%s\":\"", key);
	size_t limit = *len + max + 1;
	if (limit > cap - 5)
		limit = cap - 5;
	if (!gb_log_escape(buf, limit, len, val ? val : "", 1))
		gb_log_append(buf, cap, len, "...");
	gb_log_append(buf, cap, len, "\"");
}

void gb_log_fields(enum gb_log_level level, const char *logger,
		   const char *const *fields, const char *fmt, ...)
{
	if (!gb_log_enabled(level))
		return;
	char msg[4096], line[LINE_MAX_BYTES];
	size_t len = 0;
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof msg, fmt, ap) >= (int)sizeof msg)
		memcpy(msg + sizeof msg - 4, "...", 4);
	va_end(ap);
	begin_line(line, sizeof line - 2, &len, level, logger, msg);
	if (current_format() == GB_LOG_JSON) {
		for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2)
			gb_log_json_field(line, sizeof line - 2, &len,
					  fields[i], fields[i + 1], 512);
		gb_log_append(line, sizeof line - 1, &len, "}");
	}
	emit(line, len);
}

int gb_log_text(void)
{
	return current_format() == GB_LOG_TEXT;
}
