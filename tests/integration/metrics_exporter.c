/*
 * GET /metrics on the real server: the page parses as the Prometheus text
 * format 0.0.4 (our own strict reader and promtool), the request metrics
 * count exactly, label cardinality stays bounded whatever clients send, and
 * scrapes taken under load are consistent.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct gbt_server server;

static void start(void)
{
	static const char *const args[] = {"--plugins", "api,metrics",
					   "--rate-limit", "0", NULL};

	cr_assert_eq(gbt_server_start(&server, args, NULL), 0,
		     "guestbookd did not start");
}

static void stop(void)
{
	if (server.pid > 0)
		gbt_server_stop(&server, 15);
}

TestSuite(metrics_exporter, .init = start, .fini = stop, .timeout = 60);

/* ---- a strict reader of the text exposition format 0.0.4 ------------- */

struct sample {
	char name[128];
	char labels[512]; /* as printed between the braces, escapes kept */
	double value;
	int family; /* index into families */
};

struct family {
	char name[128];
	char type[16];
	bool has_help;
	bool has_samples_done; /* another family's samples came after ours */
};

struct exposition {
	struct family *families;
	size_t nfamilies;
	struct sample *samples;
	size_t nsamples;
	char error[1024];
};

static void exposition_free(struct exposition *e)
{
	free(e->families);
	free(e->samples);
	memset(e, 0, sizeof(*e));
}

static bool is_name(const char *s, size_t n, bool colon)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  c == '_' || (colon && c == ':') ||
			  (i > 0 && c >= '0' && c <= '9');

		if (!ok)
			return false;
	}
	return true;
}

static bool valid_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned char c = u[i];
		size_t len = c < 0x80		      ? 1
			     : c >= 0xc2 && c <= 0xdf ? 2
			     : c >= 0xe0 && c <= 0xef ? 3
			     : c >= 0xf0 && c <= 0xf4 ? 4
						      : 0;

		if (len == 0 || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
		}
		if ((c == 0xe0 && u[i + 1] < 0xa0) ||
		    (c == 0xed && u[i + 1] > 0x9f) ||
		    (c == 0xf0 && u[i + 1] < 0x90) ||
		    (c == 0xf4 && u[i + 1] > 0x8f))
			return false;
		i += len;
	}
	return true;
}

static int find_family(const struct exposition *e, const char *name)
{
	for (size_t i = 0; i < e->nfamilies; i++) {
		if (strcmp(e->families[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* The family a sample name belongs to: itself, or a histogram's stem. */
static int family_of_sample(const struct exposition *e, const char *name)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	int f = find_family(e, name);

	if (f >= 0)
		return f;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(name), s = strlen(suffixes[i]);
		char stem[128];

		if (n <= s || strcmp(name + n - s, suffixes[i]) != 0)
			continue;
		snprintf(stem, sizeof(stem), "%.*s", (int)(n - s), name);
		f = find_family(e, stem);
		if (f >= 0 && strcmp(e->families[f].type, "histogram") == 0)
			return f;
	}
	return -1;
}

static int fail(struct exposition *e, int line, const char *why)
{
	snprintf(e->error, sizeof(e->error), "line %d: %s", line, why);
	return -1;
}

static int parse_comment(struct exposition *e, const char *l, size_t n,
			 int line, size_t *cap)
{
	bool help = n > 7 && strncmp(l, "# HELP ", 7) == 0;
	bool type = n > 7 && strncmp(l, "# TYPE ", 7) == 0;

	if (!help && !type)
		return 0; /* other comments are allowed */

	const char *name = l + 7;
	const char *sp = memchr(name, ' ', n - 7);

	if (!sp || !is_name(name, (size_t)(sp - name), true))
		return fail(e, line, "bad name in HELP/TYPE");

	char nm[128];

	snprintf(nm, sizeof(nm), "%.*s", (int)(sp - name), name);
	int f = find_family(e, nm);

	if (f < 0) {
		if (e->nfamilies == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			e->families =
			    realloc(e->families, *cap * sizeof(*e->families));
		}
		f = (int)e->nfamilies++;
		memset(&e->families[f], 0, sizeof(e->families[f]));
		snprintf(e->families[f].name, 128, "%s", nm);
	}

	struct family *fam = &e->families[f];
	const char *rest = sp + 1;
	size_t rlen = n - (size_t)(rest - l);

	if (help) {
		if (fam->has_help)
			return fail(e, line, "second HELP");
		for (size_t i = 0; i < rlen; i++) {
			if (rest[i] == '\\' &&
			    (i + 1 == rlen ||
			     (rest[i + 1] != '\\' && rest[i + 1] != 'n')))
				return fail(e, line, "bad escape in HELP");
			if (rest[i] == '\\')
				i++;
		}
		fam->has_help = true;
		return 0;
	}
	if (fam->type[0])
		return fail(e, line, "second TYPE");
	snprintf(fam->type, sizeof(fam->type), "%.*s", (int)rlen, rest);
	if (strcmp(fam->type, "counter") && strcmp(fam->type, "gauge") &&
	    strcmp(fam->type, "histogram") && strcmp(fam->type, "summary") &&
	    strcmp(fam->type, "untyped"))
		return fail(e, line, "unknown TYPE");
	return 0;
}

/* Checks `{name="value",...}` from l[0] == '{'; returns its length. */
static long parse_labels(struct exposition *e, const char *l, size_t n,
			 int line)
{
	size_t i = 1;

	while (i < n && l[i] != '}') {
		size_t start = i;

		while (i < n && l[i] != '=')
			i++;
		if (i == n || !is_name(l + start, i - start, false))
			return fail(e, line, "bad label name");
		if (++i >= n || l[i] != '"')
			return fail(e, line, "label value not quoted");
		for (i++; i < n && l[i] != '"'; i++) {
			if (l[i] == '\\') {
				i++;
				if (i == n || (l[i] != '\\' && l[i] != '"' &&
					       l[i] != 'n'))
					return fail(e, line, "bad escape");
			}
		}
		if (i == n)
			return fail(e, line, "unterminated label value");
		i++;
		if (i < n && l[i] == ',')
			i++;
		else if (i < n && l[i] != '}')
			return fail(e, line, "expected , or } after a label");
	}
	if (i == n)
		return fail(e, line, "unterminated label set");
	return (long)i + 1;
}

static int parse_sample(struct exposition *e, const char *l, size_t n, int line,
			size_t *cap, int *current)
{
	size_t i = 0;

	while (i < n && l[i] != '{' && l[i] != ' ')
		i++;
	if (!is_name(l, i, true))
		return fail(e, line, "bad metric name");
	if (e->nsamples == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		e->samples = realloc(e->samples, *cap * sizeof(*e->samples));
	}

	struct sample *s = &e->samples[e->nsamples];

	snprintf(s->name, sizeof(s->name), "%.*s", (int)i, l);
	s->labels[0] = '\0';
	if (i < n && l[i] == '{') {
		long len = parse_labels(e, l + i, n - i, line);

		if (len < 0)
			return -1;
		snprintf(s->labels, sizeof(s->labels), "%.*s", (int)len - 2,
			 l + i + 1);
		i += (size_t)len;
	}
	if (i >= n || l[i] != ' ')
		return fail(e, line, "no space before the value");

	char value[64];
	char *end;

	snprintf(value, sizeof(value), "%.*s", (int)(n - i - 1), l + i + 1);
	if (strcmp(value, "+Inf") == 0)
		s->value = INFINITY;
	else if (strcmp(value, "-Inf") == 0)
		s->value = -INFINITY;
	else if (strcmp(value, "NaN") == 0)
		s->value = NAN;
	else {
		s->value = strtod(value, &end);
		if (end == value || *end != '\0')
			return fail(e, line, "bad value (or a timestamp)");
	}
	s->family = family_of_sample(e, s->name);
	if (s->family < 0)
		return fail(e, line, "sample without HELP/TYPE before it");
	if (!e->families[s->family].has_help || !e->families[s->family].type[0])
		return fail(e, line, "family lacks HELP or TYPE");
	if (e->families[s->family].has_samples_done)
		return fail(e, line, "family's samples are not contiguous");
	if (*current >= 0 && *current != s->family)
		e->families[*current].has_samples_done = true;
	*current = s->family;
	for (size_t k = 0; k < e->nsamples; k++) {
		if (strcmp(e->samples[k].name, s->name) == 0 &&
		    strcmp(e->samples[k].labels, s->labels) == 0)
			return fail(e, line, "duplicate series");
	}
	e->nsamples++;
	return 0;
}

/* Splits `labels` into the part before ,le="..." (or le="...") and le. */
static bool split_le(const char *labels, char *base, size_t blen, char *le,
		     size_t llen)
{
	const char *p = strstr(labels, "le=\"");

	while (p && p != labels && p[-1] != ',')
		p = strstr(p + 1, "le=\"");
	if (!p)
		return false;
	snprintf(base, blen, "%.*s", (int)(p - labels - (p > labels)), labels);
	snprintf(le, llen, "%.*s", (int)strcspn(p + 4, "\""), p + 4);
	return true;
}

static const struct sample *find_sample(const struct exposition *e,
					const char *name, const char *labels)
{
	for (size_t i = 0; i < e->nsamples; i++) {
		if (strcmp(e->samples[i].name, name) == 0 &&
		    strcmp(e->samples[i].labels, labels) == 0)
			return &e->samples[i];
	}
	return NULL;
}

/* Every histogram: le ascending, counts non-decreasing, +Inf == _count. */
static int check_histograms(struct exposition *e)
{
	for (size_t i = 0; i < e->nsamples; i++) {
		const struct sample *s = &e->samples[i];
		const struct family *f = &e->families[s->family];
		char base[512], le[64], name[160];

		if (strcmp(f->type, "histogram") != 0 ||
		    strcmp(s->name + strlen(f->name), "_count") != 0)
			continue;
		double last_le = -INFINITY, last_count = 0;
		bool saw_inf = false;

		snprintf(name, sizeof(name), "%s_bucket", f->name);
		for (size_t k = 0; k < e->nsamples; k++) {
			const struct sample *b = &e->samples[k];

			if (strcmp(b->name, name) != 0 ||
			    !split_le(b->labels, base, sizeof(base), le,
				      sizeof(le)) ||
			    strcmp(base, s->labels) != 0)
				continue;
			double bound = strcmp(le, "+Inf") == 0
					   ? INFINITY
					   : strtod(le, NULL);

			if (!(bound > last_le) || b->value < last_count) {
				snprintf(e->error, sizeof(e->error),
					 "%s{%s}: bucket le=%s out of order",
					 f->name, s->labels, le);
				return -1;
			}
			last_le = bound;
			last_count = b->value;
			saw_inf |= isinf(bound);
		}
		snprintf(name, sizeof(name), "%s_sum", f->name);
		if (!saw_inf || last_count != s->value ||
		    !find_sample(e, name, s->labels)) {
			snprintf(e->error, sizeof(e->error),
				 "%s{%s}: +Inf bucket %g, count %g, or no sum",
				 f->name, s->labels, last_count, s->value);
			return -1;
		}
	}
	return 0;
}

/* Parses a whole page; 0, or -1 with e->error set. */
static int exposition_parse(struct exposition *e, const char *text, size_t len)
{
	size_t fcap = 0, scap = 0;
	int line = 0, current = -1;

	memset(e, 0, sizeof(*e));
	if (!valid_utf8(text, len))
		return fail(e, 0, "not valid UTF-8");
	if (len == 0 || text[len - 1] != '\n')
		return fail(e, 0, "does not end with a newline");
	for (size_t pos = 0; pos < len;) {
		const char *l = text + pos;
		size_t n =
		    (size_t)((const char *)memchr(l, '\n', len - pos) - l);
		int rc;

		line++;
		pos += n + 1;
		if (n == 0)
			return fail(e, line, "empty line");
		if (l[0] == '#')
			rc = parse_comment(e, l, n, line, &fcap);
		else
			rc = parse_sample(e, l, n, line, &scap, &current);
		if (rc < 0)
			return -1;
	}
	return check_histograms(e);
}

/* ---- helpers --------------------------------------------------------------
 */

static char *scrape_raw(size_t *len)
{
	struct gbt_response r;

	cr_assert_eq(
	    gbt_http(server.port, "GET", "/metrics", NULL, NULL, 0, &r), 0,
	    "GET /metrics failed");
	cr_assert_eq(r.status, 200, "GET /metrics: %d %s", r.status, r.body);
	char *body = r.body;

	*len = r.body_len;
	r.body = NULL;
	gbt_response_free(&r);
	return body;
}

static void scrape(struct exposition *e)
{
	size_t len;
	char *text = scrape_raw(&len);

	cr_assert_eq(exposition_parse(e, text, len), 0, "%s\n---\n%s", e->error,
		     text);
	free(text);
}

static double value_of(const struct exposition *e, const char *name,
		       const char *labels)
{
	const struct sample *s = find_sample(e, name, labels);

	return s ? s->value : NAN;
}

static size_t series_count(const struct exposition *e, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nsamples; i++)
		n += strcmp(e->samples[i].name, name) == 0;
	return n;
}

static int request(const char *method, const char *path, const char *body)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	struct gbt_response r;

	if (gbt_http(server.port, method, path, body ? json : NULL, body,
		     body ? strlen(body) : 0, &r) != 0)
		return -1;

	int status = r.status;

	gbt_response_free(&r);
	return status;
}

/* Runs promtool check metrics on `text`; its verdict and output. */
static int promtool_check(const char *text, size_t len, char *out,
			  size_t outlen)
{
	char path[300], cmd[400];
	FILE *f, *p;
	size_t n = 0;

	p = popen("command -v promtool", "r");
	cr_assert_not_null(p);
	bool found = fgets(cmd, sizeof(cmd), p) != NULL;

	pclose(p);
	cr_assert(found, "promtool is missing: run scripts/install-deps.sh "
			 "test (Debian package prometheus)");
	snprintf(path, sizeof(path), "%s/metrics.txt", server.dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fwrite(text, 1, len, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' 2>&1", path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (n + 1 < outlen && fgets(out + n, (int)(outlen - n), p))
		n += strlen(out + n);
	out[n] = '\0';

	int st = pclose(p);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the reader itself: it must be able to fail ------------------------ */

static bool refused(const char *page)
{
	struct exposition e;
	int rc = exposition_parse(&e, page, strlen(page));

	exposition_free(&e);
	return rc < 0;
}

Test(metrics_exporter, strict_reader_refuses_broken_pages)
{
	const char *good =
	    "# HELP a_total A.\\n\\\\ x\n# TYPE a_total counter\n"
	    "a_total{x=\"q\\\"\\n\"} 1\n"
	    "# HELP h H.\n# TYPE h histogram\n"
	    "h_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
	    "h_sum 0.7\nh_count 2\n";

	cr_assert_not(refused(good), "a good page");
	cr_assert(refused(""));
	cr_assert(refused("# TYPE a gauge\na 1\n"), "no HELP");
	cr_assert(refused("# HELP a A.\na 1\n"), "no TYPE");
	cr_assert(refused("# HELP a A.\n# TYPE a gauge\na 1"), "no newline");
	cr_assert(refused("# HELP a A.\n# TYPE a gauge\na{x=\"\\q\"} 1\n"));
	cr_assert(refused("# HELP a A.\n# TYPE a gauge\na{x=\"\xff\"} 1\n"));
	cr_assert(refused("# HELP a A.\n# TYPE a gauge\na 1\na 2\n"));
	cr_assert(refused("# HELP a A.\n# TYPE a gauge\na one\n"));
	cr_assert(refused("# HELP h H.\n# TYPE h histogram\n"
			  "h_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\n"
			  "h_sum 1\nh_count 2\n"),
		  "cumulative counts went down");
	cr_assert(refused("# HELP h H.\n# TYPE h histogram\n"
			  "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n"),
		  "+Inf is not the count");
}

/* ---- behaviour --------------------------------------------------------------
 */

Test(metrics_exporter, metrics_page_is_text_format_0_0_4)
{
	struct gbt_response r;

	cr_assert_eq(
	    gbt_http(server.port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(gbt_header(&r, "Content-Type"),
			 "text/plain; version=0.0.4; charset=utf-8");
	cr_assert(strstr(r.body, "# HELP http_requests_total "));
	cr_assert(strstr(r.body, "# TYPE http_requests_total counter\n"));
	cr_assert(
	    strstr(r.body, "# TYPE http_request_duration_seconds histogram\n"));
	cr_assert(strstr(r.body, "# TYPE http_requests_in_flight gauge\n"));
	gbt_response_free(&r);

	cr_assert_eq(
	    gbt_http(server.port, "HEAD", "/metrics", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0, "HEAD has no body");
	gbt_response_free(&r);

	cr_assert_eq(request("POST", "/metrics", "{}"), 405);
}

Test(metrics_exporter, scrape_after_mixed_workload_passes_promtool)
{
	char big[20000];
	char out[4096];
	struct exposition e;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 5; i++) {
		char body[128];

		snprintf(
		    body, sizeof(body),
		    "{\"author\":\"ann %d\",\"message\":\"hello \\\"%d\\\"\"}",
		    i, i);
		cr_assert_eq(request("POST", "/api/v1/messages", body), 201);
	}
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(request("GET", "/api/v1/messages", NULL), 200);
		cr_assert_eq(request("GET", "/messages", NULL), 201);
	}
	cr_assert_eq(request("POST", "/messages",
			     "{\"author\":\"bob\",\"message\":\"legacy\"}"),
		     201);
	cr_assert_eq(request("GET", "/api/v1/messages/nope", NULL), 404);
	cr_assert_eq(request("GET", "/no/such/page", NULL), 404);
	cr_assert_eq(request("GET", "/no/such/other", NULL), 404);
	cr_assert_eq(request("DELETE", "/messages", NULL), 405);
	cr_assert_eq(request("POST", "/api/v1/messages", big), 413);
	cr_assert_eq(request("POST", "/api/v1/messages", "not json"), 400);

	size_t len;
	char *text = scrape_raw(&len);

	cr_assert_eq(exposition_parse(&e, text, len), 0, "%s", e.error);
	int rc = promtool_check(text, len, out, sizeof(out));

	cr_assert_eq(rc, 0, "promtool check metrics exit %d:\n%s\n---\n%s", rc,
		     out, text);
	cr_assert_str_empty(out, "promtool printed problems:\n%s", out);
	free(text);

#define REQS(labels) value_of(&e, "http_requests_total", labels)
	cr_assert_eq(REQS("method=\"POST\",route=\"/api/v1/messages\","
			  "status=\"201\""),
		     5);
	cr_assert_eq(REQS("method=\"GET\",route=\"/api/v1/messages\","
			  "status=\"200\""),
		     3);
	cr_assert_eq(REQS("method=\"GET\",route=\"/messages\",status=\"201\""),
		     3);
	cr_assert_eq(REQS("method=\"GET\",route=\"/api/v1/messages/{id}\","
			  "status=\"404\""),
		     1, "a templated route keeps its template");
	cr_assert_eq(REQS("method=\"GET\",route=\"other\",status=\"404\""), 2);
	cr_assert_eq(REQS("method=\"DELETE\",route=\"/messages\","
			  "status=\"405\""),
		     1);
	cr_assert_eq(REQS("method=\"POST\",route=\"/api/v1/messages\","
			  "status=\"413\""),
		     1);
	cr_assert_eq(REQS("method=\"POST\",route=\"/api/v1/messages\","
			  "status=\"400\""),
		     1);
#undef REQS
	cr_assert_eq(value_of(&e, "http_request_duration_seconds_count",
			      "method=\"POST\",route=\"/api/v1/messages\""),
		     7, "201s, the 413 and the 400");
	cr_assert_eq(value_of(&e, "guestbook_messages_created_total", ""), 6);
	cr_assert_eq(value_of(&e, "http_requests_in_flight", ""), 1,
		     "the scrape itself is in flight");
	exposition_free(&e);
}

/* A batch's messages are counted like single posts: each stored one once,
 * a replayed key and a refused message not at all. */
Test(metrics_exporter, batch_posts_count_each_stored_message_once)
{
	static const char batch[] =
	    "{\"messages\":[{\"author\":\"ann\",\"message\":\"one\","
	    "\"idempotency_key\":\"k-1\"},"
	    "{\"author\":\"bob\",\"message\":\"two\"},"
	    "{\"author\":\"\",\"message\":\"no author\"}]}";
	struct exposition e;

	cr_assert_eq(request("POST", "/api/v1/messages/batch", batch), 200);
	scrape(&e);
	cr_assert_eq(value_of(&e, "guestbook_messages_created_total", ""), 2);
	exposition_free(&e);
	cr_assert_eq(request("POST", "/api/v1/messages/batch",
			     "{\"messages\":[{\"author\":\"ann\","
			     "\"message\":\"one\",\"idempotency_key\":"
			     "\"k-1\"}]}"),
		     200);
	scrape(&e);
	cr_assert_eq(value_of(&e, "guestbook_messages_created_total", ""), 2,
		     "a replayed key is not a new message");
	exposition_free(&e);
}

Test(metrics_exporter, process_collector_reports_this_process)
{
	static const char *const gauges[] = {"process_resident_memory_bytes",
					     "process_virtual_memory_bytes",
					     "process_open_fds",
					     "process_max_fds",
					     "process_start_time_seconds",
					     "process_threads"};
	struct exposition e;

	scrape(&e);
	int f = find_family(&e, "process_cpu_seconds_total");

	cr_assert_geq(f, 0);
	cr_assert_str_eq(e.families[f].type, "counter");
	cr_assert_geq(value_of(&e, "process_cpu_seconds_total", ""), 0);
	for (size_t i = 0; i < 6; i++) {
		f = find_family(&e, gauges[i]);
		cr_assert_geq(f, 0, "%s missing", gauges[i]);
		cr_assert_str_eq(e.families[f].type, "gauge", "%s", gauges[i]);
		cr_assert_gt(value_of(&e, gauges[i], ""), 0, "%s", gauges[i]);
	}

	double rss = value_of(&e, "process_resident_memory_bytes", "");
	double start = value_of(&e, "process_start_time_seconds", "");
	double now = (double)time(NULL);

	cr_assert(rss > 1e6 && rss < 1e9, "RSS %g bytes", rss);
	cr_assert(start > now - 120 && start <= now + 1,
		  "started at %f, now %f", start, now);
	cr_assert_geq(value_of(&e, "process_threads", ""), 2,
		      "civetweb workers");
	cr_assert_geq(value_of(&e, "process_max_fds", ""),
		      value_of(&e, "process_open_fds", ""));
	exposition_free(&e);
}

Test(metrics_exporter, cardinality_attack_keeps_series_bounded)
{
	static const char *const methods[] = {
	    "GET", "POST", "BREW", "X-EVIL", "PROPFIND", "get", "DELETE"};
	struct exposition e;
	int answered = 0;

	for (int i = 0; i < 2000; i++) {
		char path[64];
		const char *m = methods[i % 7];

		snprintf(path, sizeof(path), "/attack/%d/%x", i,
			 i * 2654435761u);
		answered += request(m, path, NULL) > 0;
	}
	cr_assert_gt(answered, 1000, "the server kept answering");
	scrape(&e);

	size_t requests = series_count(&e, "http_requests_total");
	size_t durations =
	    series_count(&e, "http_request_duration_seconds_count");

	cr_assert_leq(requests, 20, "%zu http_requests_total series", requests);
	cr_assert_leq(durations, 20, "%zu duration series", durations);
	for (size_t i = 0; i < e.nsamples; i++) {
		cr_assert_null(strstr(e.samples[i].labels, "/attack/"),
			       "a raw path became a label: %s{%s}",
			       e.samples[i].name, e.samples[i].labels);
	}
	cr_assert_geq(value_of(&e, "http_requests_total",
			       "method=\"GET\",route=\"other\",status=\"404\""),
		      2000 / 7, "unknown paths count under route=\"other\"");
	exposition_free(&e);
}

/* ---- concurrency ------------------------------------------------------------
 */

#define CLIENTS	   8
#define PER_CLIENT 150

static void *client(void *arg)
{
	int *ok = arg;

	for (int i = 0; i < PER_CLIENT; i++)
		*ok += request("GET", "/api/v1/messages?limit=5", NULL) == 200;
	return NULL;
}

static const char *const LIST_200 =
    "method=\"GET\",route=\"/api/v1/messages\",status=\"200\"";

Test(metrics_exporter, counters_are_exact_under_concurrency)
{
	pthread_t t[CLIENTS];
	int ok[CLIENTS] = {0};
	struct exposition e;
	double before, after;

	cr_assert_eq(request("GET", "/api/v1/messages", NULL), 200);
	scrape(&e);
	before = value_of(&e, "http_requests_total", LIST_200);
	exposition_free(&e);
	cr_assert_eq(before, 1);

	for (int i = 0; i < CLIENTS; i++)
		pthread_create(&t[i], NULL, client, &ok[i]);
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(ok[i], PER_CLIENT, "client %d: %d answers", i,
			     ok[i]);
	}
	scrape(&e);
	after = value_of(&e, "http_requests_total", LIST_200);
	cr_assert_eq(after - before, CLIENTS * PER_CLIENT, "counted %g",
		     after - before);
	cr_assert_eq(value_of(&e, "http_request_duration_seconds_count",
			      "method=\"GET\",route=\"/api/v1/messages\""),
		     after, "every request timed once");
	exposition_free(&e);
}

struct load {
	volatile int stop;
	int requests;
};

static void *hammer(void *arg)
{
	struct load *l = arg;
	char body[96];

	for (int i = 0; !l->stop; i++) {
		snprintf(body, sizeof(body),
			 "{\"author\":\"load\",\"message\":\"n %d\"}", i);
		request("GET", "/api/v1/messages", NULL);
		request("POST", "/api/v1/messages", body);
		request("GET", "/missing", NULL);
		l->requests += 3;
	}
	return NULL;
}

Test(metrics_exporter, scrapes_under_load_always_parse)
{
	struct load loads[4] = {0};
	pthread_t t[4];
	double last = 0;
	char out[4096];

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &loads[i]);
	for (int round = 0; round < 40; round++) {
		struct exposition e;
		size_t len;
		char *text = scrape_raw(&len);

		cr_assert_eq(exposition_parse(&e, text, len), 0,
			     "scrape %d: %s", round, e.error);
		if (round % 10 == 0) {
			int rc = promtool_check(text, len, out, sizeof(out));

			cr_assert_eq(rc, 0, "scrape %d: promtool: %s", round,
				     out);
		}
		free(text);

		double total = 0;

		for (size_t i = 0; i < e.nsamples; i++) {
			if (strcmp(e.samples[i].name, "http_requests_total") ==
			    0)
				total += e.samples[i].value;
		}
		cr_assert_geq(total, last, "scrape %d: total went back", round);
		last = total;
		exposition_free(&e);
		usleep(20000);
	}
	for (int i = 0; i < 4; i++) {
		loads[i].stop = 1;
		pthread_join(t[i], NULL);
		cr_assert_gt(loads[i].requests, 0);
	}
}
