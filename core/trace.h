/*
 * trace.h - distributed tracing: W3C Trace Context in and out, spans per
 * request, per storage operation and per outgoing call, exported over
 * OTLP/HTTP by core/trace_export.c. A core subsystem: plugins reach it
 * through struct gb_host_api (trace_client_begin / trace_client_end).
 *
 * Spans live on the worker thread that serves the request (a small
 * per-thread stack, no allocation) and are copied into the export queue
 * when they end. With tracing off every hook is one predictable branch on
 * gb_trace_on.
 */
#ifndef GB_CORE_TRACE_H
#define GB_CORE_TRACE_H

#include <stddef.h>

#include "guestbook/plugin.h"

/* Nonzero while tracing is configured and running. Read by the hooks. */
extern _Atomic int gb_trace_on;

/*
 * Reads the OTEL_* environment (see README: Traces), registers the trace
 * metrics and starts the export thread when an OTLP endpoint is set and
 * OTEL_SDK_DISABLED is not true. `role` names the default service. A bad
 * value writes one line into err and returns -1 (exit 2).
 */
int gb_trace_init(const char *role, char *err, size_t errlen);

/*
 * Exports what is queued, waiting at most `budget_s` seconds, then stops
 * the export thread. Tracing is off afterwards.
 */
void gb_trace_shutdown(double budget_s);

/*
 * Opens the server span of the request on this thread, continuing the
 * incoming `traceparent` (and `tracestate`) when valid; both may be NULL.
 */
void gb_trace_request_begin(const char *traceparent, const char *tracestate);

/* Closes the server span with the HTTP semantic-convention attributes.
 * `route` is the matched route template, or NULL when none matched. */
void gb_trace_request_end(const char *method, const char *route,
			  const char *path, int status, const char *client,
			  const char *user_agent);

/*
 * The ids of the innermost span open on this thread, as lowercase hex,
 * for log lines; 0 when there is none (then trace_id and span_id are "").
 */
int gb_trace_ids(char trace_id[33], char span_id[17]);

/* Opens a span for one storage operation; returns a token for op_end. */
int gb_trace_op_begin(void);

/* Closes it: `system` is the store's name, `op` the operation. */
void gb_trace_op_end(int token, const char *system, const char *op,
		     const char *collection, enum gb_status st,
		     const char *message);

/* See struct gb_host_api: trace_client_begin, trace_client_end. */
struct gb_span *gb_trace_client_begin(const char *method, const char *host,
				      int port, const char *url, char *headers,
				      size_t len);
void gb_trace_client_end(struct gb_span *span, int status, const char *error);

/*
 * Records the request's trace id as the exemplar of `series` (a
 * histogram) for value v, when the request is sampled.
 */
void gb_trace_exemplar(struct gb_series *series, double v);

#endif
