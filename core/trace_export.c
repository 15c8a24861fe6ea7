/*
 * The batch span processor and the OTLP/HTTP exporter: a lock-free ring
 * between the worker threads and one export thread, which encodes each
 * batch (core/otlp.c) and POSTs it to the collector.
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
#include "otlp.h"

struct slot {
	_Atomic int ready; /* the producer finished copying the record */
	struct gb_span_record rec;
};

static struct gb_export_config cfg;
static struct gb_otlp encoder; /* the export thread's */
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
 * Takes up to one batch off the queue and encodes it (the body belongs to
 * the encoder); *n gets the number of spans, 0 when the queue is empty.
 */
static const char *take_batch(size_t *n, size_t *len)
{
	uint64_t from = atomic_load_explicit(&tail, memory_order_relaxed);
	uint64_t avail =
	    atomic_load_explicit(&head, memory_order_acquire) - from;
	*n = avail < (uint64_t)cfg.batch_size ? (size_t)avail
					      : (size_t)cfg.batch_size;
	if (*n == 0)
		return NULL;
	gb_otlp_begin(&encoder);
	for (size_t i = 0; i < *n; i++) {
		struct slot *s = &queue[(from + i) % (uint64_t)cfg.queue_size];
		/* A producer holds its slot only while copying the record. */
		while (!atomic_load_explicit(&s->ready, memory_order_acquire))
			sched_yield();
		gb_otlp_span(&encoder, &s->rec);
		atomic_store_explicit(&s->ready, 0, memory_order_relaxed);
	}
	atomic_store_explicit(&tail, from + *n, memory_order_release);
	return gb_otlp_end(&encoder, len);
}

/* POSTs one body; 0 when the collector answered 2xx. */
static int post(const char *body, size_t blen, long timeout_ms, char *why,
		size_t len)
{
	char ebuf[256] = "";
	struct mg_connection *conn =
	    mg_connect_client(cfg.host, cfg.port, 0, ebuf, sizeof ebuf);
	if (!conn) {
		snprintf(why, len, "cannot connect: %s",
			 ebuf[0] ? ebuf : "connection failed");
		return -1;
	}
	int ok = mg_printf(conn,
			   "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
			   "Content-Type: %s\r\n"
			   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			   cfg.path, cfg.host, cfg.port,
			   gb_otlp_content_type(cfg.encoding), blen) > 0 &&
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
	size_t n, blen;
	const char *body = take_batch(&n, &blen);
	if (!body) {
		if (n)
			gb_counter_add(dropped, n);
		return;
	}
	char why[300];
	if (post(body, blen, timeout_ms, why, sizeof why) == 0) {
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
	if (gb_otlp_init(&encoder, cfg.encoding, cfg.resource, cfg.nresource) <
	    0) {
		snprintf(err, errlen, "tracing: out of memory");
		goto fail;
	}
	cfg.resource = NULL; /* not kept: the caller's */
	cfg.nresource = 0;
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
	       "tracing: exporting to http://%s:%d%s as %s "
	       "(queue %ld, batch %ld, every %ld ms, timeout %ld ms)",
	       cfg.host, cfg.port, cfg.path,
	       cfg.encoding == GB_OTLP_PROTOBUF ? "http/protobuf" : "http/json",
	       cfg.queue_size, cfg.batch_size, cfg.delay_ms, cfg.timeout_ms);
	return 0;
fail:
	gb_otlp_free(&encoder);
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
	gb_otlp_free(&encoder);
}
