#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

static _Atomic int min_level = GB_LOG_INFO;
static _Atomic int out_format = -1;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

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
	return (int)level >= atomic_load_explicit(&min_level,
						  memory_order_relaxed);
}

static enum gb_log_format current_format(void)
{
	int f = atomic_load_explicit(&out_format, memory_order_relaxed);
	if (f < 0) {
		f = isatty(STDOUT_FILENO) ? GB_LOG_TEXT : GB_LOG_JSON;
		atomic_store(&out_format, f);
	}
	return (enum gb_log_format)f;
}

void gb_json_escape_append(char *buf, size_t cap, size_t *len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = *len;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc = 0;
		switch (*p) {
		case '"': esc = '"'; break;
		case '\\': esc = '\\'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		default: break;
		}
		if (esc) {
			if (n + 2 >= cap)
				break;
			buf[n++] = '\\';
			buf[n++] = esc;
		} else if (*p < 0x20 || *p == 0x7f) {
			if (n + 6 >= cap)
				break;
			memcpy(buf + n, "\\u00", 4);
			buf[n + 4] = hex[*p >> 4];
			buf[n + 5] = hex[*p & 15];
			n += 6;
		} else {
			if (n + 1 >= cap)
				break;
			buf[n++] = (char)*p;
		}
	}
	buf[n] = '\0';
	*len = n;
}

static void append_raw(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len + n >= cap)
		n = cap - *len - 1;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

static void append_fmt(char *buf, size_t cap, size_t *len, const char *fmt,
		       ...) __attribute__((format(printf, 4, 5)));
static void append_fmt(char *buf, size_t cap, size_t *len, const char *fmt,
		       ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += ((size_t)n < cap - *len) ? (size_t)n : cap - *len - 1;
}

static void timestamp(char out[32])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Writes the finished line; a short write to a pipe is retried. */
static void emit(char *buf, size_t len)
{
	buf[len++] = '\n';
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(STDOUT_FILENO, buf + off, len - off);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

static void begin_line(char *buf, size_t cap, size_t *len,
		       enum gb_log_level level, const char *logger,
		       const char *msg)
{
	char ts[32];
	timestamp(ts);
	if (current_format() == GB_LOG_TEXT) {
		append_fmt(buf, cap, len, "%s %-5s [%s] %s", ts,
			   level_names[level], logger, msg);
		return;
	}
	append_fmt(buf, cap, len, "{\"ts\":\"%s\",\"level\":\"%s\",\"logger\":\"",
		   ts, level_names[level]);
	gb_json_escape_append(buf, cap - 2, len, logger);
	append_raw(buf, cap, len, "\",\"msg\":\"");
	gb_json_escape_append(buf, cap - 2, len, msg);
	append_raw(buf, cap, len, "\"");
}

void gb_logv(enum gb_log_level level, const char *logger, const char *fmt,
	     va_list ap)
{
	if (!gb_log_enabled(level))
		return;
	char msg[4096], line[LINE_MAX_BYTES];
	size_t len = 0;
	vsnprintf(msg, sizeof msg, fmt, ap);
	begin_line(line, sizeof line - 2, &len, level, logger, msg);
	if (current_format() == GB_LOG_JSON)
		append_raw(line, sizeof line - 1, &len, "}");
	emit(line, len);
}

void gb_log(enum gb_log_level level, const char *logger, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gb_logv(level, logger, fmt, ap);
	va_end(ap);
}

static void field_str(char *buf, size_t cap, size_t *len, const char *key,
		      const char *val)
{
	append_fmt(buf, cap, len, ",\"%s\":\"", key);
	gb_json_escape_append(buf, cap - 3, len, val ? val : "");
	append_raw(buf, cap, len, "\"");
}

void gb_log_access(const struct gb_access_entry *e)
{
	if (!gb_log_enabled(GB_LOG_INFO))
		return;
	char line[LINE_MAX_BYTES];
	size_t len = 0, cap = sizeof line - 2;

	if (current_format() == GB_LOG_TEXT) {
		char ts[32];
		timestamp(ts);
		append_fmt(line, cap, &len,
			   "%s info  [access] %s %s %d %.3fms %zuB %s id=%s",
			   ts, e->method ? e->method : "-",
			   e->path ? e->path : "-", e->status, e->duration_ms,
			   e->bytes, e->remote ? e->remote : "-",
			   e->request_id ? e->request_id : "-");
		emit(line, len);
		return;
	}
	begin_line(line, cap, &len, GB_LOG_INFO, "access", "request");
	field_str(line, cap, &len, "method", e->method);
	field_str(line, cap, &len, "route", e->route);
	field_str(line, cap, &len, "path", e->path);
	append_fmt(line, cap, &len, ",\"status\":%d,\"duration_ms\":%.3f,"
		   "\"bytes\":%zu", e->status, e->duration_ms, e->bytes);
	field_str(line, cap, &len, "remote", e->remote);
	field_str(line, cap, &len, "request_id", e->request_id);
	field_str(line, cap, &len, "user_agent", e->user_agent);
	append_raw(line, sizeof line - 1, &len, "}");
	emit(line, len);
}
