/*
 * otlp.h - the body of an OTLP/HTTP trace export request
 * (ExportTraceServiceRequest) in either encoding: protobuf
 * (application/x-protobuf) or JSON (application/json). One resource, one
 * instrumentation scope, the spans of one batch.
 *
 * The encoder writes into one buffer that grows to the largest batch and
 * is reused for every later one, so a steady export allocates nothing.
 * Not thread-safe: the export thread owns its encoder.
 */
#ifndef GB_CORE_OTLP_H
#define GB_CORE_OTLP_H

#include <stddef.h>

#include "trace_export.h"

struct gb_otlp {
	enum gb_otlp_encoding encoding;
	char *resource; /* the encoded Resource message or JSON object */
	size_t resource_len;
	char *data; /* the body being built */
	size_t len, cap;
	size_t room; /* protobuf: bytes kept free for the envelope */
	int failed;  /* out of memory: the batch is lost */
};

/*
 * Prepares an encoder and encodes the resource once: `attrs` (n of them,
 * valid UTF-8, copied). Returns 0, or -1 when out of memory.
 */
int gb_otlp_init(struct gb_otlp *o, enum gb_otlp_encoding encoding,
		 const struct gb_otlp_attr *attrs, size_t n);

/* Starts a new body, dropping the previous one. */
void gb_otlp_begin(struct gb_otlp *o);

/* Appends one span to the body. */
void gb_otlp_span(struct gb_otlp *o, const struct gb_span_record *r);

/*
 * Closes the body and returns it (*len bytes, owned by the encoder, valid
 * until the next gb_otlp_begin), or NULL when memory ran out.
 */
const char *gb_otlp_end(struct gb_otlp *o, size_t *len);

/* The Content-Type of the encoding. */
const char *gb_otlp_content_type(enum gb_otlp_encoding encoding);

/* Frees the encoder's buffers. */
void gb_otlp_free(struct gb_otlp *o);

#endif
