/*
 * OTLP/HTTP with the JSON encoding: the one OTLP encoding the project's
 * libraries already speak (cJSON prints the resource, the log's JSON
 * string rule escapes the span strings). The binary encoding would need
 * the opentelemetry-proto files (in no Debian package) compiled by
 * protoc-c into generated code, for a payload that leaves the request
 * path anyway. Jaeger and the OpenTelemetry Collector accept both on
 * /v1/traces.
 */
#include "trace_export.h"

#include <civetweb.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

struct slot {
	_Atomic int ready; /* the producer finished copying the record */
	struct gb_span_record rec;
};

static struct gb_export_config cfg;
static struct slot *queue;
/*
 * The queue is a ring of cfg.queue_size slots: producers (worker threads)
 * claim slot `head` with a compare-and-swap, the export thread alone
 * advances `tail` once it has read a slot. No lock on the request path;
 * `lock` only pairs with `wake`, the export thread's sleep.
 */
static _Atomic uint64_t head, tail; /* next slot to fill; next to send */
static _Atomic int running;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int stopping; /* under lock */
static double stop_deadline;
static pthread_t thread;
static struct gb_series *dropped, *exported, *failures;
static int failing; /* the last export failed: logged once per outage, and
		     * the next try waits for the next interval */

void gb_export_enqueue(const struct gb_span_record *r)
{
	uint64_t i = atomic_load_explicit(&head, memory_order_relaxed);
	do {
		if (!atomic_load_explicit(&running, memory_order_acquire) ||
		    i - atomic_load_explicit(&tail, memory_order_acquire) >=
			(uint64_t)cfg.queue_size) {
			gb_counter_add(dropped, 1);
			return;
		}
	} while (!atomic_compare_exchange_weak_explicit(
	    &head, &i, i + 1, memory_order_acq_rel, memory_order_relaxed));
	/* Wake the exporter once, when this span completes a batch. */
	int full_batch =
	    i + 1 - atomic_load_explicit(&tail, memory_order_relaxed) ==
	    (uint64_t)cfg.batch_size;
	struct slot *s = &queue[i % (uint64_t)cfg.queue_size];
	/* Only what the record uses: the text is most of it. */
	memcpy(&s->rec, r, offsetof(struct gb_span_record, text));
	memcpy(s->rec.text, r->text, r->text_len);
	atomic_store_explicit(&s->ready, 1, memory_order_release);
	if (full_batch)
		pthread_cond_signal(&wake);
}

/* ---- OTLP JSON --------------------------------------------------------- */

void gb_trace_hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * The request body is written straight into one growing buffer: a cJSON
 * tree would cost some 40 allocations per span, a core's worth at the
 * span rates of a busy server. cJSON prints the resource once at start;
 * strings are escaped by the log's JSON rule (gb_json_escape_append).
 */
struct body {
	char *data;
	size_t len, cap;
	int failed;
};

/* Room for one span: its text escaped (at most 6 bytes a byte) and the
 * keys, ids and numbers around it. */
#define SPAN_JSON_MAX (6 * GB_SPAN_TEXT + 2048)

static void reserve(struct body *b, size_t more)
{
	if (b->failed || b->len + more < b->cap)
		return;
	size_t cap = b->cap ? b->cap : 65536;
	while (cap <= b->len + more)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->failed = 1;
		return;
	}
	b->data = d;
	b->cap = cap;
}

static void put(struct body *b, const char *s)
{
	size_t n = strlen(s);
	reserve(b, n + 1);
	if (b->failed)
		return;
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

static void put_string(struct body *b, const char *s)
{
	put(b, "\"");
	if (!b->failed)
		gb_json_escape_append(b->data, b->cap, &b->len, s);
	put(b, "\"");
}

static void put_id(struct body *b, const char *key, const uint8_t *id, size_t n)
{
	char hex[33];
	gb_trace_hex(hex, id, n);
	put(b, key);
	put(b, "\"");
	put(b, hex);
	put(b, "\"");
}

static void put_span(struct body *b, const struct gb_span_record *r)
{
	static const uint8_t zero[8];
	char num[192];
	reserve(b, SPAN_JSON_MAX);
	put_id(b, "{\"traceId\":", r->trace_id, 16);
	put_id(b, ",\"spanId\":", r->span_id, 8);
	if (memcmp(r->parent_id, zero, 8) != 0)
		put_id(b, ",\"parentSpanId\":", r->parent_id, 8);
	put(b, ",\"name\":");
	put_string(b, r->text + r->name_off);
	/* int64 values are strings in OTLP/JSON */
	snprintf(num, sizeof num,
		 ",\"kind\":%d,\"startTimeUnixNano\":\"%llu\","
		 "\"endTimeUnixNano\":\"%llu\",\"attributes\":[",
		 r->kind, (unsigned long long)r->start_ns,
		 (unsigned long long)r->end_ns);
	put(b, num);
	for (int i = 0; i < r->nattrs; i++) {
		const struct gb_span_attr *a = &r->attrs[i];
		put(b, i ? ",{\"key\":\"" : "{\"key\":\"");
		put(b, a->key); /* a literal of ours: nothing to escape */
		if (a->is_int) {
			snprintf(num, sizeof num,
				 "\",\"value\":{\"intValue\":\"%lld\"}}",
				 (long long)a->i);
			put(b, num);
		} else {
			put(b, "\",\"value\":{\"stringValue\":");
			put_string(b, r->text + a->off);
			put(b, "}}");
		}
	}
	put(b, "]");
	if (r->status != 0) {
		snprintf(num, sizeof num, ",\"status\":{\"code\":%d",
			 r->status);
		put(b, num);
		if (r->status_off) {
			put(b, ",\"message\":");
			put_string(b, r->text + r->status_off);
		}
		put(b, "}");
	}
	put(b, "}");
}

/*
 * Takes up to one batch off the queue and writes the request body
 * (caller frees); *n gets the number of spans, 0 when the queue is empty.
 */
static char *take_batch(size_t *n)
{
	uint64_t from = atomic_load_explicit(&tail, memory_order_relaxed);
	uint64_t avail =
	    atomic_load_explicit(&head, memory_order_acquire) - from;
	*n = avail < (uint64_t)cfg.batch_size ? (size_t)avail
					      : (size_t)cfg.batch_size;
	if (*n == 0)
		return NULL;
	struct body b = {0};
	put(&b, "{\"resourceSpans\":[{\"resource\":");
	put(&b, cfg.resource_json);
	put(&b, ",\"scopeSpans\":[{\"scope\":{\"name\":\"guestbookd\","
		"\"version\":\"" GB_VERSION "\"},\"spans\":[");
	for (size_t i = 0; i < *n; i++) {
		struct slot *s = &queue[(from + i) % (uint64_t)cfg.queue_size];
		/* A producer holds its slot only while copying the record. */
		while (!atomic_load_explicit(&s->ready, memory_order_acquire))
			sched_yield();
		if (i)
			put(&b, ",");
		put_span(&b, &s->rec);
		atomic_store_explicit(&s->ready, 0, memory_order_relaxed);
	}
	put(&b, "]}]}]}");
	atomic_store_explicit(&tail, from + *n, memory_order_release);
	if (b.failed) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

/* POSTs one body; 0 when the collector answered 2xx. */
static int post(const char *body, long timeout_ms, char *why, size_t len)
{
	char ebuf[256] = "";
	struct mg_connection *conn =
	    mg_connect_client(cfg.host, cfg.port, 0, ebuf, sizeof ebuf);
	if (!conn) {
		snprintf(why, len, "cannot connect: %s",
			 ebuf[0] ? ebuf : "connection failed");
		return -1;
	}
	size_t blen = strlen(body);
	int ok = mg_printf(conn,
			   "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
			   "Content-Type: application/json\r\n"
			   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			   cfg.path, cfg.host, cfg.port, blen) > 0 &&
		 mg_write(conn, body, blen) == (int)blen;
	if (!ok ||
	    mg_get_response(conn, ebuf, sizeof ebuf, (int)timeout_ms) < 0) {
		snprintf(why, len, "no answer within %ld ms: %s", timeout_ms,
			 ebuf[0] ? ebuf : "connection lost");
		mg_close_connection(conn);
		return -1;
	}
	const struct mg_response_info *ri = mg_get_response_info(conn);
	int status = ri ? ri->status_code : 0;
	mg_close_connection(conn);
	if (status < 200 || status > 299) {
		snprintf(why, len, "answered HTTP %d", status);
		return -1;
	}
	return 0;
}

static void export_one(long timeout_ms)
{
	size_t n;
	char *body = take_batch(&n);
	if (!body) {
		if (n)
			gb_counter_add(dropped, n);
		return;
	}
	char why[300];
	if (post(body, timeout_ms, why, sizeof why) == 0) {
		gb_counter_add(exported, n);
		if (failing)
			gb_log(GB_LOG_INFO, "core",
			       "trace export to "
			       "http://%s:%d%s works again",
			       cfg.host, cfg.port, cfg.path);
		failing = 0;
	} else {
		gb_counter_add(dropped, n);
		gb_counter_add(failures, 1);
		if (!failing)
			gb_log(GB_LOG_WARN, "core",
			       "trace export to "
			       "http://%s:%d%s failed (%s): spans are dropped "
			       "until it works",
			       cfg.host, cfg.port, cfg.path, why);
		failing = 1;
	}
	free(body);
}

/* Spans claimed and not yet taken (some may still be being copied). */
static uint64_t queued(void)
{
	return atomic_load(&head) - atomic_load(&tail);
}

static void *export_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		/* A full batch goes at once, unless the collector is failing:
		 * then once an interval, and the queue drops in between. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += cfg.delay_ms / 1000;
		until.tv_nsec += (cfg.delay_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!stopping &&
		       (failing || queued() < (uint64_t)cfg.batch_size))
			if (pthread_cond_timedwait(&wake, &lock, &until) ==
			    ETIMEDOUT)
				break;
		if (stopping)
			break;
		pthread_mutex_unlock(&lock);
		export_one(cfg.timeout_ms);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	/* Shutdown: what is queued, as long as the budget lasts. */
	while (queued() > 0) {
		double left = stop_deadline - gb_now_monotonic();
		if (left <= 0.05)
			break;
		long t = (long)(left * 1000);
		export_one(t < cfg.timeout_ms ? t : cfg.timeout_ms);
	}
	uint64_t rest = queued();
	if (rest)
		gb_counter_add(dropped, rest);
	return NULL;
}

int gb_export_start(const struct gb_export_config *c, char *err, size_t errlen)
{
	cfg = *c;
	struct gb_metric *d = gb_metric_register(
	    GB_METRIC_COUNTER, "guestbook_trace_spans_dropped_total",
	    "Finished spans never delivered: the export queue was full, "
	    "the collector refused them or did not answer in time.",
	    NULL, NULL, 0, err, errlen);
	struct gb_metric *e = gb_metric_register(
	    GB_METRIC_COUNTER, "guestbook_trace_spans_exported_total",
	    "Spans the collector accepted.", NULL, NULL, 0, err, errlen);
	struct gb_metric *f = gb_metric_register(
	    GB_METRIC_COUNTER, "guestbook_trace_export_failures_total",
	    "Export requests that failed.", NULL, NULL, 0, err, errlen);
	if (!d || !e || !f)
		goto fail;
	dropped = gb_metric_series(d, NULL);
	exported = gb_metric_series(e, NULL);
	failures = gb_metric_series(f, NULL);
	queue = calloc((size_t)cfg.queue_size, sizeof *queue);
	if (!queue) {
		snprintf(err, errlen,
			 "OTEL_BSP_MAX_QUEUE_SIZE=%ld: out of "
			 "memory",
			 cfg.queue_size);
		goto fail;
	}
	atomic_store(&head, 0);
	atomic_store(&tail, 0);
	stopping = 0;
	failing = 0;
	/* The thread takes no signals: main waits for them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&thread, NULL, export_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen,
			 "tracing: cannot start the export thread");
		free(queue);
		queue = NULL;
		goto fail;
	}
	atomic_store(&running, 1);
	gb_log(GB_LOG_INFO, "core",
	       "tracing: exporting to http://%s:%d%s "
	       "(queue %ld, batch %ld, every %ld ms, timeout %ld ms)",
	       cfg.host, cfg.port, cfg.path, cfg.queue_size, cfg.batch_size,
	       cfg.delay_ms, cfg.timeout_ms);
	return 0;
fail:
	free(cfg.resource_json);
	cfg.resource_json = NULL;
	return -1;
}

void gb_export_stop(double budget_s)
{
	if (!atomic_load(&running))
		return;
	pthread_mutex_lock(&lock);
	atomic_store(&running, 0); /* spans ending now are dropped */
	stopping = 1;
	stop_deadline = gb_now_monotonic() + budget_s;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	free(queue);
	queue = NULL;
	free(cfg.resource_json);
	cfg.resource_json = NULL;
}
