#include "log.h"

#include "guestbook/utf8.h"
#include "trace.h"

#include <pthread.h>
#include <signal.h>
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
static int escape_into(char *buf, size_t cap, size_t *len, const char *s,
		       int json)
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
	escape_into(buf, cap, len, s, 1);
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
static void timestamp(char out[32])
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

static void write_all(const char *buf, size_t len)
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
	write_all(buf, len);
}

/*
 * Access lines go through a per-thread buffer: one write(2) per 16 KiB
 * or per FLUSH_MS instead of one per request. A thread appends under its
 * own (uncontended) lock; the flusher thread takes each lock in turn.
 * Lines are never split, and each carries its own timestamp (Loki and
 * jq order by it); lines of different threads may reach stdout up to
 * FLUSH_MS apart from their order in time. A kill -9 loses at most
 * FLUSH_MS of access lines. Text format (a terminal) is not buffered.
 */
#define FLUSH_MS   200
#define ACCESS_BUF 16384

struct access_buf {
	pthread_mutex_t lock;
	size_t len;
	struct access_buf *next;
	char data[ACCESS_BUF];
};

static _Thread_local struct access_buf *my_buf;
static struct access_buf *all_bufs;
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t flusher_once = PTHREAD_ONCE_INIT;

static void flush_buf(struct access_buf *b)
{
	if (b->len) {
		write_all(b->data, b->len);
		b->len = 0;
	}
}

void gb_log_flush(void)
{
	pthread_mutex_lock(&all_lock);
	for (struct access_buf *b = all_bufs; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		flush_buf(b);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&all_lock);
}

static void *flusher_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = {0, FLUSH_MS * 1000000L};
		nanosleep(&ts, NULL);
		gb_log_flush();
	}
	return NULL;
}

static void start_flusher(void)
{
	pthread_t t;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, flusher_main, NULL) == 0)
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void emit_buffered(char *line, size_t len)
{
	/* People reading a terminal want lines in order and at once. */
	if (current_format() == GB_LOG_TEXT) {
		emit(line, len);
		return;
	}
	line[len++] = '\n';
	if (!my_buf) {
		pthread_once(&flusher_once, start_flusher);
		struct access_buf *b = malloc(sizeof *b);
		if (!b) {
			write_all(line, len);
			return;
		}
		pthread_mutex_init(&b->lock, NULL);
		b->len = 0;
		pthread_mutex_lock(&all_lock);
		b->next = all_bufs;
		all_bufs = b;
		pthread_mutex_unlock(&all_lock);
		my_buf = b;
	}
	pthread_mutex_lock(&my_buf->lock);
	if (my_buf->len + len > ACCESS_BUF)
		flush_buf(my_buf);
	memcpy(my_buf->data + my_buf->len, line, len);
	my_buf->len += len;
	pthread_mutex_unlock(&my_buf->lock);
}

static void begin_line(char *buf, size_t cap, size_t *len,
		       enum gb_log_level level, const char *logger,
		       const char *msg)
{
	char ts[32];
	timestamp(ts);
	if (current_format() == GB_LOG_TEXT) {
		append_fmt(buf, cap, len, "%s %-5s [%s] ", ts,
			   level_names[level], logger);
		if (!escape_into(buf, cap - 3, len, msg, 0))
			append_raw(buf, cap, len, "...");
		return;
	}
	append_fmt(buf, cap, len,
		   "{\"ts\":\"%s\",\"level\":\"%s\",\"logger\":\"", ts,
		   level_names[level]);
	gb_json_escape_append(buf, cap - 2, len, logger);
	append_raw(buf, cap, len, "\",\"msg\":\"");
	/* Room for the mark of a cut message and the closing quote. */
	if (!escape_into(buf, cap - 5, len, msg, 1))
		append_raw(buf, cap, len, "...");
	append_raw(buf, cap, len, "\"");
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

/*
 * Appends "key":"val" with val cut to at most `max` bytes of JSON (then
 * marked "..."). The limits of an access line's fields add up to well
 * under LINE_MAX_BYTES, so a huge path or User-Agent can never cut the
 * fields after it and break the line's JSON.
 */
static void field_str(char *buf, size_t cap, size_t *len, const char *key,
		      const char *val, size_t max)
{
	append_fmt(buf, cap, len, ",\"%s\":\"", key);
	size_t limit = *len + max + 1;
	if (limit > cap - 5)
		limit = cap - 5;
	if (!escape_into(buf, limit, len, val ? val : "", 1))
		append_raw(buf, cap, len, "...");
	append_raw(buf, cap, len, "\"");
}

/* Appends val (or "-") for a text line, escaped and cut like field_str,
 * then a space. */
static void text_field(char *buf, size_t cap, size_t *len, const char *val,
		       size_t max)
{
	size_t limit = *len + max + 1;
	if (limit > cap - 5)
		limit = cap - 5;
	if (!escape_into(buf, limit, len, val && *val ? val : "-", 0))
		append_raw(buf, cap, len, "...");
	append_raw(buf, cap, len, " ");
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
			field_str(line, sizeof line - 2, &len, fields[i],
				  fields[i + 1], 512);
		append_raw(line, sizeof line - 1, &len, "}");
	}
	emit(line, len);
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
		append_fmt(line, cap, &len, "%s info  [access] ", ts);
		text_field(line, cap, &len, e->method, 64);
		text_field(line, cap, &len, e->path, 2048);
		append_fmt(line, cap, &len, "%d %.3fms %zuB ", e->status,
			   e->duration_ms, e->bytes);
		text_field(line, cap, &len, e->remote, 256);
		append_raw(line, cap, &len, "id=");
		text_field(line, cap, &len, e->request_id, 256);
		if (e->trace_id && *e->trace_id) {
			append_raw(line, cap, &len, "trace=");
			text_field(line, cap, &len, e->trace_id, 32);
		}
		len--; /* the last field's space */
		emit_buffered(line, len);
		return;
	}
	begin_line(line, cap, &len, GB_LOG_INFO, "access", "request");
	field_str(line, cap, &len, "method", e->method, 64);
	field_str(line, cap, &len, "route", e->route, 512);
	field_str(line, cap, &len, "path", e->path, 2048);
	append_fmt(line, cap, &len,
		   ",\"status\":%d,\"duration_ms\":%.3f,"
		   "\"bytes\":%zu",
		   e->status, e->duration_ms, e->bytes);
	field_str(line, cap, &len, "remote", e->remote, 256);
	field_str(line, cap, &len, "request_id", e->request_id, 256);
	field_str(line, cap, &len, "user_agent", e->user_agent, 1024);
	if (e->trace_id && *e->trace_id) {
		field_str(line, cap, &len, "trace_id", e->trace_id, 32);
		field_str(line, cap, &len, "span_id", e->span_id, 16);
	}
	append_raw(line, sizeof line - 1, &len, "}");
	emit_buffered(line, len);
}
