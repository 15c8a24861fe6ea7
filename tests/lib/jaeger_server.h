/*
 * jaeger_server.h - a real Jaeger collector for the tracing tests, built
 * and started through tests/lib/jaeger.sh on free loopback ports (OTLP/HTTP
 * receiver, in-memory storage, query API), and its query API.
 */
#ifndef GB_TEST_JAEGER_SERVER_H
#define GB_TEST_JAEGER_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct gbt_jaeger {
	char dir[256];	/* config, log, pid and ports */
	int otlp_port;	/* POST /v1/traces */
	int query_port; /* GET /api/traces/ID */
	pid_t pid;	/* 0 while stopped */
};

/*
 * Builds Jaeger if needed (many minutes the first time on a machine;
 * cached in ~/.cache/guestbook) and exports JAEGER_BIN for the test
 * processes, or GBT_JAEGER_ERROR with the reason. Call it from a Criterion
 * ReportHook(PRE_ALL): the runner has no timeout, a test has.
 */
void gbt_jaeger_build(void);

/*
 * Starts Jaeger (built by gbt_jaeger_build, or now) in a new temporary
 * directory. Returns 0, or -1 with the reason in `why`.
 */
int gbt_jaeger_start(struct gbt_jaeger *j, char *why, size_t whylen);

/* Stops it (the ports stay reserved for gbt_jaeger_restart). */
void gbt_jaeger_stop(struct gbt_jaeger *j);

/* Starts the stopped collector again on the same ports (empty store). */
int gbt_jaeger_restart(struct gbt_jaeger *j, char *why, size_t whylen);

/* "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT" (thread-local). */
const char *gbt_jaeger_endpoint_env(const struct gbt_jaeger *j);

/*
 * The trace `trace_id` (32 hex digits) from the query API once it holds at
 * least `min_spans` spans, waiting up to `timeout_s` seconds: the "data"[0]
 * object (spans, processes); caller frees with cJSON_Delete. NULL when it
 * never got there.
 */
cJSON *gbt_jaeger_trace(const struct gbt_jaeger *j, const char *trace_id,
			int min_spans, double timeout_s);

/* 1 when the query API lists `service` among the services it has seen. */
int gbt_jaeger_has_service(const struct gbt_jaeger *j, const char *service);

/* The span of a trace with this operation name and service, or NULL. */
const cJSON *gbt_jaeger_span(const cJSON *trace, const char *operation,
			     const char *service);

/* The string value of tag `key` of a span ("" when the tag is absent;
 * integers are printed). Thread-local buffer. */
const char *gbt_jaeger_tag(const cJSON *span, const char *key);

/* The spanID of the span's CHILD_OF reference, or "" for a root. */
const char *gbt_jaeger_parent(const cJSON *span);

#endif
