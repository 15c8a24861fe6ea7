#include "trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "guestbook/utf8.h"
#include "metrics.h"
#include "trace_export.h"

/* Deepest nesting of open spans per thread: server, storage, client. */
#define STACK_MAX      4
#define VALUE_MAX      512 /* longest attribute value kept, in bytes */
#define TRACESTATE_MAX 512

_Atomic int gb_trace_on;

enum sampler { ALWAYS_ON, ALWAYS_OFF, RATIO };
static struct {
	enum sampler root;
	int parent_based;
	uint64_t threshold; /* RATIO: sample when id's low 64 bits < this */
	int ratio_all;	    /* RATIO 1.0: every trace */
} sampling;

static struct gb_series *invalid_traceparent, *invalid_tracestate;

struct gb_span {
	struct gb_span_record rec;
	int recording;
	uint8_t flags;
};

/* A thread's spans. Allocated at the thread's first traced request, so
 * that worker threads that never trace (tracing off) carry none of it. */
struct thread_spans {
	int depth;
	struct gb_span stack[STACK_MAX];
	char tracestate[TRACESTATE_MAX + 1];
};

static _Thread_local struct thread_spans *mine;
static const struct thread_spans none; /* depth 0: no request traced */
static pthread_key_t mine_key;
static pthread_once_t mine_once = PTHREAD_ONCE_INIT;

static void make_mine_key(void)
{
	pthread_key_create(&mine_key, free); /* freed when its thread ends */
}

/* This thread's spans, for reading; `none` before its first request. */
static const struct thread_spans *spans(void)
{
	return mine ? mine : &none;
}

/* ---- ids ------------------------------------------------------------- */

static void random_bytes(uint8_t *out, size_t n)
{
	static _Thread_local uint64_t state;
	if (state == 0 && getrandom(&state, sizeof state, 0) != sizeof state)
		state = (uint64_t)(uintptr_t)&state ^ (uint64_t)time(NULL);
	for (size_t i = 0; i < n; i += 8) {
		/* xorshift64*: ids need uniqueness, not secrecy. */
		state ^= state >> 12;
		state ^= state << 25;
		state ^= state >> 27;
		uint64_t v = state * 2685821657736338717ULL;
		for (size_t k = 0; k < 8 && i + k < n; k++)
			out[i + k] = (uint8_t)(v >> (k * 8));
	}
}

static int all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void new_id(uint8_t *out, size_t n)
{
	do
		random_bytes(out, n);
	while (all_zero(out, n));
}

/* Lowercase hex only, as W3C Trace Context requires. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

/* ---- W3C Trace Context ------------------------------------------------ */

/*
 * version "-" trace-id "-" parent-id "-" flags. Version ff, all-zero ids
 * and version 00 with anything after the flags are invalid; a later
 * version may append "-..." fields, which are ignored.
 */
static int parse_traceparent(const char *s, uint8_t tid[16], uint8_t pid[8],
			     uint8_t *flags)
{
	uint8_t version;
	size_t n = strlen(s);
	if (n < 55 || unhex(s, &version, 1) < 0 || version == 0xff ||
	    s[2] != '-' || unhex(s + 3, tid, 16) < 0 || s[35] != '-' ||
	    unhex(s + 36, pid, 8) < 0 || s[52] != '-' ||
	    unhex(s + 53, flags, 1) < 0)
		return -1;
	if (version == 0 ? n != 55 : n > 55 && s[55] != '-')
		return -1;
	if (all_zero(tid, 16) || all_zero(pid, 8))
		return -1;
	return 0;
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-' || c == '*' || c == '/' || c == '@';
}

/* A list-member: key "=" value, key lowercase (tenant@system allowed),
 * value printable ASCII without "," and "=", not ending in a space. */
static int valid_member(const char *m, size_t n)
{
	const char *eq = memchr(m, '=', n);
	if (!eq || eq == m || eq - m > 256)
		return 0;
	if (!((m[0] >= 'a' && m[0] <= 'z') || (m[0] >= '0' && m[0] <= '9')))
		return 0;
	for (const char *p = m; p < eq; p++)
		if (!key_char(*p))
			return 0;
	size_t vlen = n - (size_t)(eq - m) - 1;
	if (vlen == 0 || vlen > 256 || eq[vlen] == ' ')
		return 0;
	for (size_t i = 1; i <= vlen; i++)
		if (eq[i] < 0x20 || eq[i] > 0x7e || eq[i] == ',' ||
		    eq[i] == '=')
			return 0;
	return 1;
}

/* At most 32 comma-separated members (empty ones allowed), 512 bytes. */
static int valid_tracestate(const char *s)
{
	size_t n = strlen(s), members = 0;
	if (n > TRACESTATE_MAX)
		return 0;
	const char *p = s, *end = s + n;
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		const char *a = p, *b = stop;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a < b) {
			if (!valid_member(a, (size_t)(b - a)) || ++members > 32)
				return 0;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return 1;
}

/* ---- sampling ---------------------------------------------------------- */

static int sample_root(const uint8_t tid[16])
{
	switch (sampling.root) {
	case ALWAYS_ON: return 1;
	case ALWAYS_OFF: return 0;
	case RATIO:
		if (sampling.ratio_all)
			return 1;
		uint64_t low = 0;
		for (int i = 8; i < 16; i++)
			low = low << 8 | tid[i];
		return low < sampling.threshold;
	}
	return 0;
}

/* ---- span text --------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Copies s into out as valid UTF-8 (bad bytes become "?"), cut at whole
 * characters to at most `max` bytes, and a NUL; returns the bytes copied.
 * The collector refuses strings that are not UTF-8.
 */
static size_t utf8_copy(char *out, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t n = 0;
	while (*u) {
		if (*u < 0x80) { /* the common case: ASCII */
			if (n + 1 > max)
				break;
			out[n++] = (char)*u++;
			continue;
		}
		uint32_t cp;
		size_t k = gb_utf8_decode(u, 4, &cp);
		size_t w = k ? k : 1;
		if (n + w > max)
			break;
		if (k)
			memcpy(out + n, u, k);
		else
			out[n] = '?';
		n += w;
		u += w;
	}
	out[n] = '\0';
	return n;
}

/* Adds s (see utf8_copy) to the span's text; returns its offset. */
static uint16_t text_add(struct gb_span_record *r, const char *s, size_t max)
{
	size_t room = sizeof r->text - r->text_len - 1;
	uint16_t off = (uint16_t)r->text_len;
	r->text_len +=
	    utf8_copy(r->text + r->text_len, s, max < room ? max : room) + 1;
	return off;
}

/* Adds "a b" (or a alone when b is NULL) within `max` bytes, as text_add. */
static uint16_t text_pair(struct gb_span_record *r, const char *a,
			  const char *b, size_t max)
{
	size_t room = sizeof r->text - r->text_len - 1;
	uint16_t off = (uint16_t)r->text_len;
	char *out = r->text + off;
	if (max > room)
		max = room;
	size_t n = utf8_copy(out, a, max);
	if (b && n + 1 < max) {
		out[n++] = ' ';
		n += utf8_copy(out + n, b, max - n);
	}
	r->text_len += n + 1;
	return off;
}

static void attr_str(struct gb_span_record *r, const char *key, const char *v)
{
	if (!v || r->nattrs == GB_SPAN_MAX_ATTRS)
		return;
	struct gb_span_attr *a = &r->attrs[r->nattrs++];
	a->key = key;
	a->is_int = 0;
	a->off = text_add(r, v, VALUE_MAX);
}

static void attr_int(struct gb_span_record *r, const char *key, int64_t v)
{
	if (r->nattrs == GB_SPAN_MAX_ATTRS)
		return;
	struct gb_span_attr *a = &r->attrs[r->nattrs++];
	a->key = key;
	a->is_int = 1;
	a->i = v;
}

/* Opens a span on this thread's stack as a child of the one on top. */
static struct gb_span *push(int kind)
{
	struct thread_spans *tls = mine;
	if (!tls || tls->depth == 0 || tls->depth == STACK_MAX)
		return NULL;
	struct gb_span *parent = &tls->stack[tls->depth - 1];
	struct gb_span *s = &tls->stack[tls->depth++];
	memcpy(s->rec.trace_id, parent->rec.trace_id, 16);
	memcpy(s->rec.parent_id, parent->rec.span_id, 8);
	new_id(s->rec.span_id, 8);
	s->flags = parent->flags;
	s->recording = parent->recording;
	s->rec.kind = kind;
	s->rec.status = GB_SPAN_UNSET;
	s->rec.nattrs = 0;
	s->rec.text_len = 0;
	s->rec.name_off = 0;
	s->rec.status_off = 0;
	if (s->recording)
		s->rec.start_ns = now_ns();
	return s;
}

/* Ends span s (and anything a caller left open above it). */
static void finish(struct gb_span *s)
{
	struct thread_spans *tls = mine; /* s is one of its spans */
	tls->depth = (int)(s - tls->stack);
	if (!s->recording)
		return;
	s->rec.end_ns = now_ns();
	gb_export_enqueue(&s->rec);
}

static void set_status(struct gb_span_record *r, int status, const char *msg)
{
	r->status = status;
	if (msg && *msg)
		r->status_off = text_add(r, msg, 256);
}

/* ---- the request ------------------------------------------------------- */

void gb_trace_request_begin(const char *traceparent, const char *tracestate)
{
	if (!mine) {
		pthread_once(&mine_once, make_mine_key);
		struct thread_spans *t = calloc(1, sizeof *t);
		if (!t || pthread_setspecific(mine_key, t) != 0) {
			free(t);
			return; /* this request goes untraced */
		}
		mine = t;
	}
	struct thread_spans *tls = mine;
	struct gb_span *s = &tls->stack[0];
	uint8_t flags = 0;
	tls->tracestate[0] = '\0';
	if (traceparent && parse_traceparent(traceparent, s->rec.trace_id,
					     s->rec.parent_id, &flags) == 0) {
		if (tracestate && valid_tracestate(tracestate))
			snprintf(tls->tracestate, sizeof tls->tracestate, "%s",
				 tracestate);
		else if (tracestate)
			gb_counter_add(invalid_tracestate, 1);
		s->recording = sampling.parent_based
				   ? flags & 1
				   : sample_root(s->rec.trace_id);
	} else {
		if (traceparent)
			gb_counter_add(invalid_traceparent, 1);
		new_id(s->rec.trace_id, 16);
		memset(s->rec.parent_id, 0, 8);
		s->recording = sample_root(s->rec.trace_id);
	}
	s->flags = s->recording ? 1 : 0;
	new_id(s->rec.span_id, 8);
	s->rec.kind = GB_SPAN_SERVER;
	s->rec.status = GB_SPAN_UNSET;
	s->rec.nattrs = 0;
	s->rec.text_len = 0;
	s->rec.status_off = 0;
	if (s->recording)
		s->rec.start_ns = now_ns();
	tls->depth = 1;
}

static const char *known_method(const char *m)
{
	static const char *const known[] = {"GET",     "HEAD",	  "POST",
					    "PUT",     "DELETE",  "PATCH",
					    "OPTIONS", "CONNECT", "TRACE"};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (m && strcmp(m, known[i]) == 0)
			return known[i];
	return NULL;
}

void gb_trace_request_end(const char *method, const char *route,
			  const char *path, int status, const char *client,
			  const char *user_agent)
{
	struct thread_spans *tls = mine;
	if (!tls || tls->depth == 0)
		return;
	struct gb_span *s = &tls->stack[0];
	if (s->recording) {
		struct gb_span_record *r = &s->rec;
		const char *m = known_method(method);
		/* HTTP semconv: "{method} {route}", "HTTP" for unknown
		 * methods, the method alone without a route. */
		r->name_off = text_pair(r, m ? m : "HTTP", route, 300);
		attr_str(r, "http.request.method", m ? m : "_OTHER");
		if (!m)
			attr_str(r, "http.request.method_original", method);
		attr_str(r, "http.route", route);
		attr_str(r, "url.path", path);
		attr_int(r, "http.response.status_code", status);
		attr_str(r, "client.address", client);
		attr_str(r, "user_agent.original", user_agent);
		if (status >= 500) {
			char code[16];
			snprintf(code, sizeof code, "%d", status);
			attr_str(r, "error.type", code);
			set_status(r, GB_SPAN_ERROR, NULL);
		}
	}
	finish(s);
	tls->depth = 0;
}

int gb_trace_ids(char trace_id[33], char span_id[17])
{
	const struct thread_spans *tls = spans();
	if (!gb_trace_on || tls->depth == 0) {
		trace_id[0] = span_id[0] = '\0';
		return 0;
	}
	const struct gb_span *s = &tls->stack[tls->depth - 1];
	gb_trace_hex(trace_id, s->rec.trace_id, 16);
	gb_trace_hex(span_id, s->rec.span_id, 8);
	return 1;
}

/* ---- storage operations ------------------------------------------------ */

int gb_trace_op_begin(void)
{
	struct gb_span *s = push(GB_SPAN_CLIENT);
	return s ? (int)(s - mine->stack) : -1;
}

/* db.system.name of the semantic conventions for a store's name. */
static const char *db_system(const char *store)
{
	if (strcmp(store, "mongo") == 0)
		return "mongodb";
	return store;
}

void gb_trace_op_end(int token, const char *system, const char *op,
		     const char *collection, enum gb_status st,
		     const char *message)
{
	struct thread_spans *tls = mine;
	if (!tls || token < 0 || token >= tls->depth)
		return;
	struct gb_span *s = &tls->stack[token];
	if (s->recording) {
		struct gb_span_record *r = &s->rec;
		r->name_off = text_pair(r, op, collection, 128);
		/* The http store's work is its client spans below this. */
		if (strcmp(system, "http") == 0)
			r->kind = GB_SPAN_INTERNAL;
		attr_str(r, "db.system.name", db_system(system));
		attr_str(r, "db.operation.name", op);
		attr_str(r, "db.collection.name", collection);
		if (st == GB_ERR_UNAVAILABLE || st == GB_ERR_INTERNAL ||
		    st == GB_ERR_NOMEM) {
			attr_str(r, "error.type",
				 st == GB_ERR_UNAVAILABLE ? "unavailable"
							  : "error");
			set_status(r, GB_SPAN_ERROR, message);
		}
	}
	finish(s);
}

/* ---- outgoing calls ---------------------------------------------------- */

struct gb_span *gb_trace_client_begin(const char *method, const char *host,
				      int port, const char *url, char *headers,
				      size_t len)
{
	if (len)
		headers[0] = '\0';
	struct thread_spans *tls = mine;
	if (!gb_trace_on || !tls || tls->depth == 0)
		return NULL;
	struct gb_span *s = push(GB_SPAN_CLIENT);
	const struct gb_span *ctx = s ? s : &tls->stack[tls->depth - 1];
	char tid[33], sid[17];
	gb_trace_hex(tid, ctx->rec.trace_id, 16);
	gb_trace_hex(sid, ctx->rec.span_id, 8);
	int n =
	    snprintf(headers, len, "traceparent: 00-%s-%s-%02x\r\n%s%s%s", tid,
		     sid, ctx->flags, tls->tracestate[0] ? "tracestate: " : "",
		     tls->tracestate, tls->tracestate[0] ? "\r\n" : "");
	if (n < 0 || (size_t)n >= len) {
		if (len)
			headers[0] = '\0';
	}
	if (!s || !s->recording) {
		if (s)
			tls->depth--;
		return NULL;
	}
	const char *m = known_method(method);
	s->rec.name_off = text_add(&s->rec, m ? m : "HTTP", 16);
	attr_str(&s->rec, "http.request.method", m ? m : "_OTHER");
	attr_str(&s->rec, "server.address", host);
	attr_int(&s->rec, "server.port", port);
	attr_str(&s->rec, "url.full", url);
	return s;
}

void gb_trace_client_end(struct gb_span *s, int status, const char *error)
{
	const struct thread_spans *tls = spans();
	if (!s || s < tls->stack || s >= tls->stack + tls->depth)
		return;
	struct gb_span_record *r = &s->rec;
	if (status > 0)
		attr_int(r, "http.response.status_code", status);
	if (error || status >= 500) {
		char code[16];
		snprintf(code, sizeof code, "%d", status);
		attr_str(r, "error.type", error ? "unavailable" : code);
		set_status(r, GB_SPAN_ERROR, error);
	}
	finish(s);
}

void gb_trace_exemplar(struct gb_series *series, double v)
{
	const struct thread_spans *tls = spans();
	if (tls->depth == 0 || !tls->stack[0].recording)
		return;
	char tid[33], sid[17];
	gb_trace_hex(tid, tls->stack[0].rec.trace_id, 16);
	gb_trace_hex(sid, tls->stack[0].rec.span_id, 8);
	gb_histogram_exemplar(series, v, tid, sid);
}

/* ---- configuration ----------------------------------------------------- */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int env_true(const char *name)
{
	const char *v = env(name);
	return v && strcasecmp(v, "true") == 0;
}

/* A positive integer setting with a default; -1 when malformed. */
static long env_long(const char *name, long def, char *err, size_t errlen)
{
	const char *v = env(name);
	if (!v)
		return def;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n <= 0 || n > 100000000) {
		snprintf(err, errlen, "%s=%s: expected a positive integer",
			 name, v);
		return -1;
	}
	return n;
}

static int parse_sampler(char *err, size_t errlen)
{
	const char *name = env("OTEL_TRACES_SAMPLER");
	const char *arg = env("OTEL_TRACES_SAMPLER_ARG");
	if (!name)
		name = "parentbased_always_on";
	sampling.parent_based = strncmp(name, "parentbased_", 12) == 0;
	const char *root = sampling.parent_based ? name + 12 : name;
	if (strcmp(root, "always_on") == 0) {
		sampling.root = ALWAYS_ON;
	} else if (strcmp(root, "always_off") == 0) {
		sampling.root = ALWAYS_OFF;
	} else if (strcmp(root, "traceidratio") == 0) {
		double ratio = 1.0;
		if (arg) {
			char *end;
			ratio = strtod(arg, &end);
			if (*end || !(ratio >= 0.0 && ratio <= 1.0)) {
				snprintf(err, errlen,
					 "OTEL_TRACES_SAMPLER_ARG=%s: expected "
					 "a ratio from 0 to 1",
					 arg);
				return -1;
			}
		}
		sampling.root = RATIO;
		sampling.ratio_all = ratio >= 1.0;
		sampling.threshold = (uint64_t)(ratio * 18446744073709551615.0);
	} else {
		snprintf(err, errlen,
			 "OTEL_TRACES_SAMPLER=%s: expected always_on, "
			 "always_off, traceidratio, parentbased_always_on, "
			 "parentbased_always_off or parentbased_traceidratio",
			 name);
		return -1;
	}
	return 0;
}

/* http://host[:port][/path]; the default path is /v1/traces when the
 * URL is the OTEL_EXPORTER_OTLP_ENDPOINT base. */
static int parse_endpoint(const char *name, const char *url, int base,
			  struct gb_export_config *c, char *err, size_t errlen)
{
	if (strncmp(url, "http://", 7) != 0) {
		snprintf(err, errlen,
			 "%s=%s: expected http://host[:port][/path] "
			 "(no https: terminate TLS in a local collector)",
			 name, url);
		return -1;
	}
	const char *h = url + 7;
	size_t hl = strcspn(h, ":/");
	if (hl == 0 || hl >= sizeof c->host) {
		snprintf(err, errlen, "%s=%s: no host", name, url);
		return -1;
	}
	memcpy(c->host, h, hl);
	c->host[hl] = '\0';
	const char *p = h + hl;
	c->port = 80;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535 ||
		    (*end && *end != '/')) {
			snprintf(err, errlen, "%s=%s: bad port", name, url);
			return -1;
		}
		c->port = (int)port;
		p = end;
	}
	size_t pl = strlen(p);
	while (base && pl && p[pl - 1] == '/')
		pl--;
	if (strspn(p, "/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789-._~%") < strlen(p)) {
		snprintf(err, errlen, "%s=%s: bad path", name, url);
		return -1;
	}
	int n = snprintf(c->path, sizeof c->path, "%.*s%s", (int)pl, p,
			 base ? "/v1/traces" : (pl ? "" : "/"));
	if (n < 0 || (size_t)n >= sizeof c->path) {
		snprintf(err, errlen, "%s: path too long", name);
		return -1;
	}
	return 0;
}

/* The resource: OTEL_RESOURCE_ATTRIBUTES (up to LIST_MAX of them, 255
 * bytes a string) and four of ours. */
#define LIST_MAX 60
struct resource {
	size_t n;
	struct gb_otlp_attr attrs[LIST_MAX + 4];
	char text[LIST_MAX + 4][2][256];
};

static void add_resource_attr(struct resource *res, const char *key,
			      const char *val)
{
	char(*t)[256] = res->text[res->n];
	utf8_copy(t[0], key, sizeof t[0] - 1);
	utf8_copy(t[1], val, sizeof t[1] - 1);
	res->attrs[res->n].key = t[0];
	res->attrs[res->n].value = t[1];
	res->n++;
}

/* Percent-decodes s[0..n) into out (cap bytes); -1 when malformed. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = (uint8_t)s[i];
		if (s[i] == '%') {
			char h[3] = {0};
			if (i + 2 >= n)
				return -1;
			h[0] = (char)(s[i + 1] | 0x20);
			h[1] = (char)(s[i + 2] | 0x20);
			if (unhex(h, &b, 1) < 0)
				return -1;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)b;
	}
	out[o] = '\0';
	return 0;
}

/*
 * The OTLP resource: OTEL_RESOURCE_ATTRIBUTES (key=value,... with
 * percent-encoded values), then service.name from OTEL_SERVICE_NAME or,
 * when neither names one, "guestbook-ROLE" ("guestbook" for role all).
 */
static int build_resource(struct resource *res, const char *role, char *err,
			  size_t errlen)
{
	res->n = 0;
	const char *list = env("OTEL_RESOURCE_ATTRIBUTES");
	const char *service = env("OTEL_SERVICE_NAME");
	char from_list[256] = "";
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		char key[256], val[256];
		if (n == 0) {
			p += 1;
			continue;
		}
		size_t kl = eq ? (size_t)(eq - p) : 0;
		while (kl && p[kl - 1] == ' ')
			kl--;
		const char *k = p;
		while (kl && *k == ' ') {
			k++;
			kl--;
		}
		if (!eq || kl == 0 || kl >= sizeof key ||
		    pct_decode(eq + 1, n - (size_t)(eq - p) - 1, val,
			       sizeof val) < 0) {
			snprintf(err, errlen,
				 "OTEL_RESOURCE_ATTRIBUTES: "
				 "expected key=value,... (percent-encoded "
				 "values), got '%.*s'",
				 (int)n, p);
			return -1;
		}
		memcpy(key, k, kl);
		key[kl] = '\0';
		if (strcmp(key, "service.name") == 0)
			snprintf(from_list, sizeof from_list, "%s", val);
		else if (res->n == LIST_MAX) {
			snprintf(err, errlen,
				 "OTEL_RESOURCE_ATTRIBUTES: more than %d "
				 "attributes",
				 LIST_MAX);
			return -1;
		} else
			add_resource_attr(res, key, val);
		p += n;
		if (*p == ',')
			p++;
	}
	char def[64];
	snprintf(def, sizeof def,
		 strcmp(role, "all") == 0 ? "guestbook" : "guestbook-%s", role);
	add_resource_attr(res, "service.name",
			  service	 ? service
			  : from_list[0] ? from_list
					 : def);
	add_resource_attr(res, "service.version", GB_VERSION);
	add_resource_attr(res, "telemetry.sdk.name", "guestbookd");
	add_resource_attr(res, "telemetry.sdk.version", GB_VERSION);
	return 0;
}

static int register_metrics(char *err, size_t errlen)
{
	static const char *const labels[] = {"header", NULL};
	struct gb_metric *m = gb_metric_register(
	    GB_METRIC_COUNTER, "guestbook_trace_context_invalid_total",
	    "Incoming traceparent or tracestate headers refused as "
	    "malformed.",
	    labels, NULL, 0, err, errlen);
	if (!m)
		return -1;
	const char *tp[] = {"traceparent"}, *ts[] = {"tracestate"};
	invalid_traceparent = gb_metric_series(m, tp);
	invalid_tracestate = gb_metric_series(m, ts);
	return 0;
}

int gb_trace_init(const char *role, char *err, size_t errlen)
{
	gb_trace_on = 0;
	const char *traces = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	const char *base = env("OTEL_EXPORTER_OTLP_ENDPOINT");
	const char *exporter = env("OTEL_TRACES_EXPORTER");
	if (env_true("OTEL_SDK_DISABLED") || (!traces && !base) ||
	    (exporter && strcmp(exporter, "none") == 0))
		return 0;
	if (exporter && strcmp(exporter, "otlp") != 0) {
		snprintf(err, errlen,
			 "OTEL_TRACES_EXPORTER=%s: only otlp and "
			 "none are supported",
			 exporter);
		return -1;
	}
	const char *proto_var = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
	const char *proto = env(proto_var);
	if (!proto) {
		proto_var = "OTEL_EXPORTER_OTLP_PROTOCOL";
		proto = env(proto_var);
	}
	struct gb_export_config c;
	memset(&c, 0, sizeof c);
	if (!proto || strcmp(proto, "http/protobuf") == 0) {
		c.encoding = GB_OTLP_PROTOBUF;
	} else if (strcmp(proto, "http/json") == 0) {
		c.encoding = GB_OTLP_JSON;
	} else {
		snprintf(err, errlen,
			 "%s=%s: expected http/protobuf (the default) or "
			 "http/json (guestbookd has no gRPC exporter)",
			 proto_var, proto);
		return -1;
	}
	if (parse_endpoint(traces ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
				  : "OTEL_EXPORTER_OTLP_ENDPOINT",
			   traces ? traces : base, !traces, &c, err,
			   errlen) < 0 ||
	    parse_sampler(err, errlen) < 0)
		return -1;
	c.queue_size = env_long("OTEL_BSP_MAX_QUEUE_SIZE", 2048, err, errlen);
	c.batch_size =
	    env_long("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, err, errlen);
	c.delay_ms = env_long("OTEL_BSP_SCHEDULE_DELAY", 5000, err, errlen);
	c.timeout_ms = env_long("OTEL_BSP_EXPORT_TIMEOUT", 30000, err, errlen);
	if (c.queue_size < 0 || c.batch_size < 0 || c.delay_ms < 0 ||
	    c.timeout_ms < 0)
		return -1;
	if (c.batch_size > c.queue_size)
		c.batch_size = c.queue_size;
	static struct resource res; /* only while the exporter starts */
	if (register_metrics(err, errlen) < 0 ||
	    build_resource(&res, role, err, errlen) < 0)
		return -1;
	c.resource = res.attrs;
	c.nresource = res.n;
	if (gb_export_start(&c, err, errlen) < 0)
		return -1;
	gb_trace_on = 1;
	return 0;
}

void gb_trace_shutdown(double budget_s)
{
	if (!gb_trace_on)
		return;
	gb_trace_on = 0;
	gb_export_stop(budget_s);
}
