/*
 * trace_export.h - the batch span processor and the OTLP/HTTP exporter.
 *
 * Finished spans go into a bounded queue (OTEL_BSP_MAX_QUEUE_SIZE); a
 * full queue drops the span and counts it, so a request never waits for
 * the collector. One thread sends batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)
 * every OTEL_BSP_SCHEDULE_DELAY ms, or sooner when a batch is full, as
 * OTLP over HTTP (protobuf or JSON, core/otlp.c), each POST bounded by
 * OTEL_BSP_EXPORT_TIMEOUT.
 */
#ifndef GB_CORE_TRACE_EXPORT_H
#define GB_CORE_TRACE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#define GB_SPAN_MAX_ATTRS 12
#define GB_SPAN_TEXT	  1280

enum gb_span_kind {
	GB_SPAN_INTERNAL = 1,
	GB_SPAN_SERVER = 2,
	GB_SPAN_CLIENT = 3
};
enum gb_span_status { GB_SPAN_UNSET = 0, GB_SPAN_OK = 1, GB_SPAN_ERROR = 2 };

/* One attribute: a string (offset into the span's text) or an integer. */
struct gb_span_attr {
	const char *key; /* a string literal */
	int is_int;
	int64_t i;
	uint16_t off;
};

/* A finished span as the exporter sees it. Strings live in `text`. */
struct gb_span_record {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* all zero: a root span */
	int kind;
	int status;
	uint64_t start_ns, end_ns; /* Unix epoch nanoseconds */
	uint16_t name_off, status_off;
	int nattrs;
	struct gb_span_attr attrs[GB_SPAN_MAX_ATTRS];
	size_t text_len;
	char text[GB_SPAN_TEXT];
};

/* OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf or http/json. */
enum gb_otlp_encoding { GB_OTLP_PROTOBUF, GB_OTLP_JSON };

/* One resource attribute, both strings valid UTF-8. */
struct gb_otlp_attr {
	const char *key;
	const char *value;
};

/* The exporter's settings, from the OTEL_* environment. */
struct gb_export_config {
	enum gb_otlp_encoding encoding;
	char host[256];
	int port;
	char path[512];
	long queue_size;
	long batch_size;
	long delay_ms;
	long timeout_ms;
	const struct gb_otlp_attr *resource; /* encoded at start, not kept */
	size_t nresource;
};

/*
 * Starts the export thread. Returns 0, or -1 with one line in err.
 */
int gb_export_start(const struct gb_export_config *cfg, char *err,
		    size_t errlen);

/*
 * Copies `r` into the queue, or drops it (counted) when the queue is
 * full. Never blocks on the exporter.
 */
void gb_export_enqueue(const struct gb_span_record *r);

/* Writes the n bytes at b as 2n lowercase hex digits and a NUL. */
void gb_trace_hex(char *out, const uint8_t *b, size_t n);

/* Sends what is queued within `budget_s` seconds and stops the thread. */
void gb_export_stop(double budget_s);

#endif
