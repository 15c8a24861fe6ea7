#include "access_log.h"

#include <civetweb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "decimal.h"
#include "log.h"
#include "request.h"
#include "trace.h"

/*
 * Room for the longest access line: the fields' limits (method 64, route
 * 512, path 2048, remote 256, request id 256, user agent 1024, trace and
 * span ids 48 bytes of JSON) add up to 4,208 bytes, and the keys, the
 * numbers, the timestamp and the cut marks to less than 400 more.
 */
#define LINE_MAX_BYTES 5120

/* ---- buffering ----------------------------------------------------------
 *
 * A thread formats its lines straight into its own buffer under its own
 * lock, which only the flusher thread takes otherwise (every FLUSH_MS):
 * uncontended. The buffer is written out when less than a line's room
 * is left, so one write(2) carries 5 to 10 KiB.
 * Lines are never split, and each carries its own timestamp (Loki and jq
 * order by it); lines may reach the output up to FLUSH_MS apart from their
 * order in time.
 */
#define FLUSH_MS   200
#define ACCESS_BUF (2 * LINE_MAX_BYTES)

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
static int enabled;

static void flush_buf(struct access_buf *b)
{
	if (b->len) {
		gb_log_write(b->data, b->len);
		b->len = 0;
	}
}

/* Writes out every thread's lines. A buffer's lock is held only to copy
 * its lines out, never during the write: its thread goes on logging. */
void gb_log_flush(void)
{
	static char out[ACCESS_BUF]; /* all_lock's */
	pthread_mutex_lock(&all_lock);
	for (struct access_buf *b = all_bufs; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		size_t n = b->len;
		memcpy(out, b->data, n);
		b->len = 0;
		pthread_mutex_unlock(&b->lock);
		if (n)
			gb_log_write(out, n);
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

/* This thread's buffer, made at its first line; NULL when out of memory. */
static struct access_buf *thread_buf(void)
{
	if (my_buf)
		return my_buf;
	pthread_once(&flusher_once, start_flusher);
	struct access_buf *b = malloc(sizeof *b);
	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	b->len = 0;
	pthread_mutex_lock(&all_lock);
	b->next = all_bufs;
	all_bufs = b;
	pthread_mutex_unlock(&all_lock);
	my_buf = b;
	return b;
}

/* ---- the JSON line ------------------------------------------------------
 *
 * Built without printf and without escaping what needs none: the line of
 * every request is formatted here. The bytes are those of the log's
 * general writer (log.c): values that need escaping, or are longer than
 * their field's limit, go through gb_log_json_field.
 */
struct line {
	char *buf;
	size_t len, cap;
};

static void put(struct line *l, const char *s, size_t n)
{
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

#define PUT_LIT(l, s) put(l, s, sizeof(s) - 1)

/* Bytes a JSON string holds as they are: printable ASCII but " and \. */
static int plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* ,"key":"val" with val cut to `max` bytes of JSON, as
 * gb_log_json_field writes it. */
static void field(struct line *l, const char *key, size_t key_len,
		  const char *val, size_t max)
{
	const char *v = val ? val : "";
	size_t n = 0;
	while (n <= max && plain((unsigned char)v[n]))
		n++;
	if (v[n] != '\0' || n > max) {
		gb_log_json_field(l->buf, l->cap, &l->len, key, val, max);
		return;
	}
	PUT_LIT(l, ",\"");
	put(l, key, key_len);
	PUT_LIT(l, "\":\"");
	put(l, v, n);
	PUT_LIT(l, "\"");
}

#define FIELD(l, key, val, max) field(l, key, sizeof(key) - 1, val, max)

static void put_uint(struct line *l, unsigned long long v)
{
	char buf[GB_DECIMAL_MAX];
	char *digits = gb_decimal(buf, v);
	put(l, digits, (size_t)(buf + GB_DECIMAL_MAX - digits));
}

/* What printf's "%.3f" writes for a duration in milliseconds. */
static void put_millis(struct line *l, double ms)
{
	if (!(ms >= 0.0 && ms < 1e12)) { /* never for a real duration */
		int n = snprintf(l->buf + l->len, l->cap - l->len, "%.3f", ms);
		if (n > 0 && (size_t)n < l->cap - l->len)
			l->len += (size_t)n;
		return;
	}
	unsigned long long us = (unsigned long long)(ms * 1000.0 + 0.5);
	unsigned frac = (unsigned)(us % 1000);
	put_uint(l, us / 1000);
	char f[4] = {'.', (char)('0' + frac / 100),
		     (char)('0' + frac / 10 % 10), (char)('0' + frac % 10)};
	put(l, f, 4);
}

static void json_line(const struct gb_access_entry *e, char *buf, size_t cap,
		      size_t *len)
{
	struct line l = {buf, 0, cap};
	char ts[32];
	gb_log_timestamp(ts);
	PUT_LIT(&l, "{\"ts\":\"");
	put(&l, ts, strlen(ts));
	PUT_LIT(&l, "\",\"level\":\"info\",\"logger\":\"access\","
		    "\"msg\":\"request\"");
	FIELD(&l, "method", e->method, 64);
	FIELD(&l, "route", e->route, 512);
	FIELD(&l, "path", e->path, 2048);
	PUT_LIT(&l, ",\"status\":");
	if (e->status < 0) {
		PUT_LIT(&l, "-");
		put_uint(&l, (unsigned long long)-(long long)e->status);
	} else {
		put_uint(&l, (unsigned long long)e->status);
	}
	PUT_LIT(&l, ",\"duration_ms\":");
	put_millis(&l, e->duration_ms);
	PUT_LIT(&l, ",\"bytes\":");
	put_uint(&l, e->bytes);
	FIELD(&l, "remote", e->remote, 256);
	FIELD(&l, "request_id", e->request_id, 256);
	FIELD(&l, "user_agent", e->user_agent, 1024);
	if (e->trace_id && *e->trace_id) {
		FIELD(&l, "trace_id", e->trace_id, 32);
		FIELD(&l, "span_id", e->span_id, 16);
	}
	PUT_LIT(&l, "}");
	*len = l.len;
}

/* ---- the text line ------------------------------------------------------ */

/* Appends val (or "-") escaped for a terminal and cut to `max` bytes,
 * then a space. */
static void text_field(char *buf, size_t cap, size_t *len, const char *val,
		       size_t max)
{
	size_t limit = *len + max + 1;
	if (limit > cap - 5)
		limit = cap - 5;
	if (!gb_log_escape(buf, limit, len, val && *val ? val : "-", 0))
		gb_log_append(buf, cap, len, "...");
	gb_log_append(buf, cap, len, " ");
}

static void text_line(const struct gb_access_entry *e, char *line, size_t cap,
		      size_t *len)
{
	char ts[32], nums[96];
	gb_log_timestamp(ts);
	snprintf(nums, sizeof nums, "%s info  [access] ", ts);
	gb_log_append(line, cap, len, nums);
	text_field(line, cap, len, e->method, 64);
	text_field(line, cap, len, e->path, 2048);
	snprintf(nums, sizeof nums, "%d %.3fms %zuB ", e->status,
		 e->duration_ms, e->bytes);
	gb_log_append(line, cap, len, nums);
	text_field(line, cap, len, e->remote, 256);
	gb_log_append(line, cap, len, "id=");
	text_field(line, cap, len, e->request_id, 256);
	if (e->trace_id && *e->trace_id) {
		gb_log_append(line, cap, len, "trace=");
		text_field(line, cap, len, e->trace_id, 32);
	}
	(*len)--; /* the last field's space */
}

/* A line written at once, from a buffer of its own (a terminal's line, or
 * when this thread has no buffer). Not inlined: the worker threads' small
 * stacks only hold `line` on this path. */
static __attribute__((noinline)) void write_now(const struct gb_access_entry *e,
						int text)
{
	char line[LINE_MAX_BYTES];
	size_t len = 0, cap = sizeof line - 2;
	if (text)
		text_line(e, line, cap, &len);
	else
		json_line(e, line, cap, &len);
	line[len++] = '\n';
	gb_log_write(line, len);
}

void gb_log_access(const struct gb_access_entry *e)
{
	if (!gb_log_enabled(GB_LOG_INFO))
		return;
	/* People reading a terminal want lines in order and at once. */
	struct access_buf *b = gb_log_text() ? NULL : thread_buf();
	if (!b) {
		write_now(e, gb_log_text());
		return;
	}
	/* The JSON line is formatted straight into the buffer. */
	pthread_mutex_lock(&b->lock);
	if (ACCESS_BUF - b->len < LINE_MAX_BYTES)
		flush_buf(b);
	size_t len = 0;
	json_line(e, b->data + b->len, LINE_MAX_BYTES - 2, &len);
	b->data[b->len + len] = '\n';
	b->len += len + 1;
	pthread_mutex_unlock(&b->lock);
}

void gb_access_log_prepare(void)
{
	enabled = gb_config_bool("access_log");
}

void gb_access_log_request(const struct gb_request *req, const char *route,
			   double elapsed, size_t bytes, const char *user_agent)
{
	if (!enabled)
		return;
	char trace_id[33] = "", span_id[17] = "";
	if (gb_trace_on)
		gb_trace_ids(trace_id, span_id);
	struct gb_access_entry e = {
	    .method = req->ri ? req->ri->request_method : NULL,
	    .route = route,
	    .path = req->path,
	    .status = req->status,
	    .duration_ms = elapsed * 1000.0,
	    .bytes = bytes,
	    .remote = req->client,
	    .request_id = req->request_id,
	    .user_agent = user_agent,
	    .trace_id = trace_id,
	    .span_id = span_id,
	};
	gb_log_access(&e);
}
