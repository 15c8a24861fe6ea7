/*
 * OTLP trace export bodies, written by hand into one reusable buffer.
 *
 * Protobuf: the few messages of opentelemetry/proto/collector/trace/v1
 * (ExportTraceServiceRequest > ResourceSpans > ScopeSpans > Span, with
 * KeyValue, AnyValue and Status) need four wire primitives: varints,
 * fixed64, length-delimited bytes and tags. No generated code, no
 * library. Field numbers are those of the .proto files (opentelemetry-
 * proto v1), noted where they are used.
 *
 * Nested messages are length-prefixed. A span (and its attributes) is at
 * most a few KiB, so its length fits two varint bytes: the encoder keeps
 * two, writes the span and moves it down by one byte when it came out
 * shorter than 128. The envelope around all spans is written last, into
 * room kept free at the front of the buffer.
 *
 * JSON: the OTLP/JSON mapping (hex ids, int64 values as strings, enums as
 * integers), strings escaped by the log's JSON rule.
 */
#include "otlp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The largest span in either encoding: its text escaped (at most 6 bytes
 * a byte in JSON) and the keys, ids and numbers around it. */
#define SPAN_MAX (6 * GB_SPAN_TEXT + 64 * GB_SPAN_MAX_ATTRS + 512)
/* Protobuf: every span (text, keys, framing) fits a 2-byte length. */
_Static_assert(GB_SPAN_TEXT + 64 * GB_SPAN_MAX_ATTRS + 256 < 16384,
	       "a protobuf span must fit a two-byte length");

#define SCOPE_NAME "guestbookd"
/* The encoded scope field; name and version take one-byte lengths. */
#define SCOPE_MAX 128
_Static_assert(sizeof SCOPE_NAME + sizeof GB_VERSION + 8 < SCOPE_MAX,
	       "the scope must fit SCOPE_MAX");

enum wire { VARINT = 0, FIXED64 = 1, LEN = 2 };

static void reserve(struct gb_otlp *o, size_t more)
{
	if (o->failed || o->len + more < o->cap)
		return;
	size_t cap = o->cap ? o->cap : 65536;
	while (cap <= o->len + more)
		cap *= 2;
	char *d = realloc(o->data, cap);
	if (!d) {
		o->failed = 1;
		return;
	}
	o->data = d;
	o->cap = cap;
}

/* ---- protobuf ---------------------------------------------------------- */

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static size_t put_varint(char *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (char)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (char)v;
	return n;
}

/* The pb_* writers assume room was reserved (a span's worth). */
static void pb_varint(struct gb_otlp *o, uint64_t v)
{
	o->len += put_varint(o->data + o->len, v);
}

static void pb_tag(struct gb_otlp *o, unsigned field, enum wire w)
{
	pb_varint(o, (uint64_t)field << 3 | w);
}

static void pb_bytes(struct gb_otlp *o, unsigned field, const void *p, size_t n)
{
	pb_tag(o, field, LEN);
	pb_varint(o, n);
	memcpy(o->data + o->len, p, n);
	o->len += n;
}

static void pb_string(struct gb_otlp *o, unsigned field, const char *s)
{
	pb_bytes(o, field, s, strlen(s));
}

static void pb_fixed64(struct gb_otlp *o, unsigned field, uint64_t v)
{
	pb_tag(o, field, FIXED64);
	for (int i = 0; i < 8; i++)
		o->data[o->len++] = (char)(v >> (8 * i)); /* little-endian */
}

/* Opens a nested message of field `field`; returns the mark for close. */
static size_t pb_open(struct gb_otlp *o, unsigned field)
{
	pb_tag(o, field, LEN);
	o->len += 2;
	return o->len;
}

static void pb_close(struct gb_otlp *o, size_t mark)
{
	size_t n = o->len - mark;
	char *p = o->data + mark;
	if (n < 128) {
		p[-2] = (char)n;
		memmove(p - 1, p, n);
		o->len--;
	} else {
		p[-2] = (char)(n | 0x80);
		p[-1] = (char)(n >> 7);
	}
}

/* KeyValue { key = 1; value = 2 } with AnyValue { string_value = 1;
 * int_value = 3 }. */
static void pb_attr(struct gb_otlp *o, unsigned field, const char *key,
		    const char *str, const int64_t *i)
{
	size_t kv = pb_open(o, field);
	pb_string(o, 1, key);
	size_t any = pb_open(o, 2);
	if (i) {
		pb_tag(o, 3, VARINT);
		pb_varint(o, (uint64_t)*i);
	} else {
		pb_string(o, 1, str);
	}
	pb_close(o, any);
	pb_close(o, kv);
}

/* Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6,
 * start 7, end 8 (fixed64), attributes 9, status 15 { message 2,
 * code 3 }. As the 2nd field (spans) of ScopeSpans. */
static void pb_span(struct gb_otlp *o, const struct gb_span_record *r)
{
	static const uint8_t zero[8];
	size_t span = pb_open(o, 2);
	pb_bytes(o, 1, r->trace_id, 16);
	pb_bytes(o, 2, r->span_id, 8);
	if (memcmp(r->parent_id, zero, 8) != 0)
		pb_bytes(o, 4, r->parent_id, 8);
	pb_string(o, 5, r->text + r->name_off);
	pb_tag(o, 6, VARINT);
	pb_varint(o, (uint64_t)r->kind);
	pb_fixed64(o, 7, r->start_ns);
	pb_fixed64(o, 8, r->end_ns);
	for (int k = 0; k < r->nattrs; k++) {
		const struct gb_span_attr *a = &r->attrs[k];
		pb_attr(o, 9, a->key, r->text + a->off,
			a->is_int ? &a->i : NULL);
	}
	if (r->status != GB_SPAN_UNSET) {
		size_t st = pb_open(o, 15);
		if (r->status_off)
			pb_string(o, 2, r->text + r->status_off);
		pb_tag(o, 3, VARINT);
		pb_varint(o, (uint64_t)r->status);
		pb_close(o, st);
	}
	pb_close(o, span);
}

/* Resource { attributes = 1 }, encoded once into o->resource. */
static int pb_resource(struct gb_otlp *o, const struct gb_otlp_attr *attrs,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		reserve(o, strlen(attrs[i].key) + strlen(attrs[i].value) + 32);
		if (o->failed)
			return -1;
		pb_attr(o, 1, attrs[i].key, attrs[i].value, NULL);
	}
	return 0;
}

/* InstrumentationScope { name = 1; version = 2 } as ScopeSpans field 1. */
static size_t pb_scope(char *out)
{
	static const char name[] = SCOPE_NAME, version[] = GB_VERSION;
	size_t inner = 2 + (sizeof name - 1) + 2 + (sizeof version - 1);
	size_t n = 0;
	out[n++] = 1 << 3 | LEN;
	n += put_varint(out + n, inner);
	out[n++] = 1 << 3 | LEN;
	out[n++] = (char)(sizeof name - 1);
	memcpy(out + n, name, sizeof name - 1);
	n += sizeof name - 1;
	out[n++] = 2 << 3 | LEN;
	out[n++] = (char)(sizeof version - 1);
	memcpy(out + n, version, sizeof version - 1);
	return n + sizeof version - 1;
}

/*
 * ExportTraceServiceRequest { resource_spans = 1 } > ResourceSpans
 * { resource = 1; scope_spans = 2 } > ScopeSpans { scope = 1; spans = 2 }:
 * everything before the spans, written right before them into the room
 * kept at the front. Returns where the body starts.
 */
static size_t pb_envelope(struct gb_otlp *o)
{
	char scope[SCOPE_MAX];
	size_t scope_len = pb_scope(scope);
	size_t spans = o->len - o->room;
	size_t scope_spans = scope_len + spans;
	size_t resource_field =
	    1 + varint_size(o->resource_len) + o->resource_len;
	size_t resource_spans =
	    resource_field + 1 + varint_size(scope_spans) + scope_spans;
	size_t head = 1 + varint_size(resource_spans) + resource_field + 1 +
		      varint_size(scope_spans) + scope_len;
	size_t start = o->room - head, n = start;
	char *d = o->data;
	d[n++] = 1 << 3 | LEN;
	n += put_varint(d + n, resource_spans);
	d[n++] = 1 << 3 | LEN;
	n += put_varint(d + n, o->resource_len);
	memcpy(d + n, o->resource, o->resource_len);
	n += o->resource_len;
	d[n++] = 2 << 3 | LEN;
	n += put_varint(d + n, scope_spans);
	memcpy(d + n, scope, scope_len);
	return start;
}

/* ---- JSON -------------------------------------------------------------- */

static void put(struct gb_otlp *o, const char *s)
{
	size_t n = strlen(s);
	reserve(o, n + 1);
	if (o->failed)
		return;
	memcpy(o->data + o->len, s, n + 1);
	o->len += n;
}

/* A JSON string; the caller reserved room for it escaped. */
static void put_string(struct gb_otlp *o, const char *s)
{
	put(o, "\"");
	if (!o->failed)
		gb_json_escape_append(o->data, o->cap, &o->len, s);
	put(o, "\"");
}

static void put_id(struct gb_otlp *o, const char *key, const uint8_t *id,
		   size_t n)
{
	char hex[33];
	gb_trace_hex(hex, id, n);
	put(o, key);
	put(o, "\"");
	put(o, hex);
	put(o, "\"");
}

static void json_span(struct gb_otlp *o, const struct gb_span_record *r,
		      int first)
{
	static const uint8_t zero[8];
	char num[192];
	put_id(o, first ? "{\"traceId\":" : ",{\"traceId\":", r->trace_id, 16);
	put_id(o, ",\"spanId\":", r->span_id, 8);
	if (memcmp(r->parent_id, zero, 8) != 0)
		put_id(o, ",\"parentSpanId\":", r->parent_id, 8);
	put(o, ",\"name\":");
	put_string(o, r->text + r->name_off);
	/* int64 values are strings in OTLP/JSON */
	snprintf(num, sizeof num,
		 ",\"kind\":%d,\"startTimeUnixNano\":\"%llu\","
		 "\"endTimeUnixNano\":\"%llu\",\"attributes\":[",
		 r->kind, (unsigned long long)r->start_ns,
		 (unsigned long long)r->end_ns);
	put(o, num);
	for (int i = 0; i < r->nattrs; i++) {
		const struct gb_span_attr *a = &r->attrs[i];
		put(o, i ? ",{\"key\":\"" : "{\"key\":\"");
		put(o, a->key); /* a literal of ours: nothing to escape */
		if (a->is_int) {
			snprintf(num, sizeof num,
				 "\",\"value\":{\"intValue\":\"%lld\"}}",
				 (long long)a->i);
			put(o, num);
		} else {
			put(o, "\",\"value\":{\"stringValue\":");
			put_string(o, r->text + a->off);
			put(o, "}}");
		}
	}
	put(o, "]");
	if (r->status != GB_SPAN_UNSET) {
		snprintf(num, sizeof num, ",\"status\":{\"code\":%d",
			 r->status);
		put(o, num);
		if (r->status_off) {
			put(o, ",\"message\":");
			put_string(o, r->text + r->status_off);
		}
		put(o, "}");
	}
	put(o, "}");
}

static int json_resource(struct gb_otlp *o, const struct gb_otlp_attr *attrs,
			 size_t n)
{
	put(o, "{\"attributes\":[");
	for (size_t i = 0; i < n; i++) {
		reserve(o, 6 * (strlen(attrs[i].key) + strlen(attrs[i].value)) +
			       64);
		put(o, i ? ",{\"key\":" : "{\"key\":");
		put_string(o, attrs[i].key);
		put(o, ",\"value\":{\"stringValue\":");
		put_string(o, attrs[i].value);
		put(o, "}}");
	}
	put(o, "]}");
	return o->failed ? -1 : 0;
}

/* ---- the body ---------------------------------------------------------- */

int gb_otlp_init(struct gb_otlp *o, enum gb_otlp_encoding encoding,
		 const struct gb_otlp_attr *attrs, size_t n)
{
	memset(o, 0, sizeof *o);
	o->encoding = encoding;
	int rc = encoding == GB_OTLP_PROTOBUF ? pb_resource(o, attrs, n)
					      : json_resource(o, attrs, n);
	if (rc < 0) {
		free(o->data);
		o->data = NULL;
		return -1;
	}
	/* The resource moves out; the buffer stays for the bodies. */
	o->resource = malloc(o->len + 1);
	if (!o->resource) {
		gb_otlp_free(o);
		return -1;
	}
	memcpy(o->resource, o->data, o->len);
	o->resource[o->len] = '\0';
	o->resource_len = o->len;
	o->len = 0;
	return 0;
}

void gb_otlp_begin(struct gb_otlp *o)
{
	o->failed = 0;
	o->len = 0;
	if (o->encoding == GB_OTLP_PROTOBUF) {
		/* The envelope: three tags and lengths, the resource, the
		 * scope. */
		o->room = 3 * (1 + 10) + o->resource_len + SCOPE_MAX;
		reserve(o, o->room);
		o->len = o->room;
		return;
	}
	put(o, "{\"resourceSpans\":[{\"resource\":");
	put(o, o->resource);
	put(o, ",\"scopeSpans\":[{\"scope\":{\"name\":\"" SCOPE_NAME
	       "\",\"version\":\"" GB_VERSION "\"},\"spans\":[");
	o->room = o->len;
}

void gb_otlp_span(struct gb_otlp *o, const struct gb_span_record *r)
{
	reserve(o, SPAN_MAX);
	if (o->failed)
		return;
	if (o->encoding == GB_OTLP_PROTOBUF) {
		pb_span(o, r);
		return;
	}
	json_span(o, r, o->len == o->room);
}

const char *gb_otlp_end(struct gb_otlp *o, size_t *len)
{
	if (o->failed)
		return NULL;
	if (o->encoding == GB_OTLP_PROTOBUF) {
		size_t start = pb_envelope(o);
		*len = o->len - start;
		return o->data + start;
	}
	put(o, "]}]}]}");
	if (o->failed)
		return NULL;
	*len = o->len;
	return o->data;
}

const char *gb_otlp_content_type(enum gb_otlp_encoding encoding)
{
	return encoding == GB_OTLP_PROTOBUF ? "application/x-protobuf"
					    : "application/json";
}

void gb_otlp_free(struct gb_otlp *o)
{
	free(o->data);
	free(o->resource);
	memset(o, 0, sizeof *o);
}
