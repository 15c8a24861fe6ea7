/*
 * metrics.c - the `metrics` plugin: GET /metrics in the Prometheus text
 * exposition format 0.0.4, over the host's registry (api->metrics_visit)
 * plus the standard process collector. A scraper that asks for OpenMetrics
 * (Accept: application/openmetrics-text, as Prometheus does with exemplar
 * storage on) gets OpenMetrics 1.0 instead, with the trace exemplars of
 * the histogram buckets.
 *
 * The page is built in one growable buffer and answered with one respond
 * call. Label values and help texts are escaped as the format requires,
 * and bytes that are not UTF-8 become U+FFFD: Prometheus refuses a scrape
 * with an invalid label value, and label values come from clients.
 */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestbook/plugin.h"
#include "process.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define OPENMETRICS_TYPE                                                       \
	"application/openmetrics-text; version=1.0.0; charset=utf-8"

static const struct gb_host_api *api;

/* Size of the last page, so the next scrape allocates once. */
static _Atomic size_t last_page_size = 16384;

/* ---- the page buffer --------------------------------------------------- */

struct page {
	char *data;
	size_t len;
	size_t cap;
	bool failed; /* out of memory: the scrape answers 500 */
};

static bool page_reserve(struct page *p, size_t more)
{
	if (p->failed)
		return false;
	if (p->len + more <= p->cap)
		return true;

	size_t cap = p->cap ? p->cap : 4096;

	while (cap < p->len + more)
		cap *= 2;

	char *data = realloc(p->data, cap);

	if (!data) {
		p->failed = true;
		return false;
	}
	p->data = data;
	p->cap = cap;
	return true;
}

static void put(struct page *p, const char *s, size_t n)
{
	if (!page_reserve(p, n))
		return;
	memcpy(p->data + p->len, s, n);
	p->len += n;
}

static void put_str(struct page *p, const char *s)
{
	put(p, s, strlen(s));
}

/*
 * Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 if the bytes there are not
 * one.
 */
static size_t utf8_sequence(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		unsigned char lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = s[0] == 0xed ? 0x9f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		unsigned char lo = s[0] == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = s[0] == 0xf4 ? 0x8f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Appends s escaped for the format: backslash and newline always, the
 * double quote too inside label values; invalid UTF-8 as U+FFFD.
 */
static void put_escaped(struct page *p, const char *s, bool quote)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		size_t n = utf8_sequence(u);

		if (*u == '\\')
			put(p, "\\\\", 2);
		else if (*u == '\n')
			put(p, "\\n", 2);
		else if (*u == '"' && quote)
			put(p, "\\\"", 2);
		else if (n == 0)
			put(p, "\xef\xbf\xbd", 3);
		else
			put(p, (const char *)u, n);
		u += n ? n : 1;
	}
}

/*
 * Formats v as the shortest decimal that reads back as the same double
 * (as the Go client's strconv 'g' -1 does), or +Inf, -Inf, NaN.
 */
static void format_double(char out[32], double v)
{
	if (isnan(v)) {
		strcpy(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int precision = 15; precision <= 17; precision++) {
		snprintf(out, 32, "%.*g", precision, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

static void put_double(struct page *p, double v)
{
	char num[32];

	format_double(num, v);
	put_str(p, num);
}

static void put_u64(struct page *p, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	put(p, num, (size_t)n);
}

/* ---- families and series ------------------------------------------------ */

static const char *type_name(enum gb_metric_type t)
{
	switch (t) {
	case GB_METRIC_COUNTER: return "counter";
	case GB_METRIC_GAUGE: return "gauge";
	case GB_METRIC_HISTOGRAM: return "histogram";
	}
	return "untyped";
}

/*
 * The HELP and TYPE lines. OpenMetrics names a counter family without
 * its samples' "_total"; a counter whose name lacks it is "unknown" there,
 * so its samples keep the name the text format gives them.
 */
static void put_header(struct page *p, const char *name, const char *help,
		       const char *type, bool openmetrics)
{
	size_t n = strlen(name);

	if (openmetrics && strcmp(type, "counter") == 0) {
		if (n > 6 && strcmp(name + n - 6, "_total") == 0)
			n -= 6;
		else
			type = "unknown";
	}
	put_str(p, "# HELP ");
	put(p, name, n);
	put(p, " ", 1);
	put_escaped(p, help, openmetrics);
	put_str(p, "\n# TYPE ");
	put(p, name, n);
	put(p, " ", 1);
	put_str(p, type);
	put(p, "\n", 1);
}

/* The process_* families, also a bit mask of those the registry holds. */
enum {
	PROC_CPU = 1 << 0,
	PROC_RESIDENT = 1 << 1,
	PROC_VIRTUAL = 1 << 2,
	PROC_OPEN_FDS = 1 << 3,
	PROC_MAX_FDS = 1 << 4,
	PROC_START = 1 << 5,
	PROC_THREADS = 1 << 6,
};

static const struct {
	unsigned bit;
	const char *name;
	const char *type;
	const char *help;
} process_families[] = {
    {PROC_CPU, "process_cpu_seconds_total", "counter",
     "Total user and system CPU time spent in seconds."},
    {PROC_RESIDENT, "process_resident_memory_bytes", "gauge",
     "Resident memory size in bytes."},
    {PROC_VIRTUAL, "process_virtual_memory_bytes", "gauge",
     "Virtual memory size in bytes."},
    {PROC_OPEN_FDS, "process_open_fds", "gauge",
     "Number of open file descriptors."},
    {PROC_MAX_FDS, "process_max_fds", "gauge",
     "Maximum number of open file descriptors."},
    {PROC_START, "process_start_time_seconds", "gauge",
     "Start time of the process since unix epoch in seconds."},
    {PROC_THREADS, "process_threads", "gauge",
     "Number of OS threads in the process."},
};

#define PROCESS_FAMILIES                                                       \
	(sizeof(process_families) / sizeof(process_families[0]))

struct scrape {
	struct page page;
	unsigned registered_process; /* PROC_* bits the registry exports */
	bool openmetrics;
};

static void on_family(void *ud, const struct gb_metric_family_view *f)
{
	struct scrape *sc = ud;

	for (size_t i = 0; i < PROCESS_FAMILIES; i++) {
		if (strcmp(f->name, process_families[i].name) == 0)
			sc->registered_process |= process_families[i].bit;
	}
	put_header(&sc->page, f->name, f->help, type_name(f->type),
		   sc->openmetrics);
}

/* Appends `label="value",...` for every label of the series. */
static void put_labels(struct page *p, const struct gb_metric_family_view *f,
		       const struct gb_series_view *s)
{
	for (size_t i = 0; i < f->label_count; i++) {
		if (i)
			put(p, ",", 1);
		put_str(p, f->label_names[i]);
		put(p, "=\"", 2);
		put_escaped(p, s->label_values[i], true);
		put(p, "\"", 1);
	}
}

/* NAME[SUFFIX][{labels}] — the start of a sample line, before the value. */
static void put_sample_name(struct page *p,
			    const struct gb_metric_family_view *f,
			    const struct gb_series_view *s, const char *suffix)
{
	put_str(p, f->name);
	put_str(p, suffix);
	if (f->label_count) {
		put(p, "{", 1);
		put_labels(p, f, s);
		put(p, "}", 1);
	}
	put(p, " ", 1);
}

/* " # {trace_id="..",span_id=".."} VALUE TIMESTAMP" after a bucket. */
static void put_exemplar(struct page *p, const struct gb_exemplar *e)
{
	char ts[32];

	if (!e->trace_id)
		return;
	put_str(p, " # {trace_id=\"");
	put_escaped(p, e->trace_id, true);
	put_str(p, "\",span_id=\"");
	put_escaped(p, e->span_id, true);
	put_str(p, "\"} ");
	put_double(p, e->value);
	put(p, " ", 1);
	snprintf(ts, sizeof(ts), "%.3f", e->timestamp);
	put_str(p, ts);
}

static void put_histogram(struct page *p, const struct gb_metric_family_view *f,
			  const struct gb_series_view *s,
			  const struct gb_exemplar *exemplars)
{
	for (size_t i = 0; i <= f->bucket_count; i++) {
		char le[32];

		if (i < f->bucket_count)
			format_double(le, f->bucket_bounds[i]);
		else
			strcpy(le, "+Inf");
		put_str(p, f->name);
		put_str(p, "_bucket{");
		put_labels(p, f, s);
		put_str(p, f->label_count ? ",le=\"" : "le=\"");
		put_str(p, le);
		put_str(p, "\"} ");
		put_u64(p, s->bucket_counts[i]);
		if (exemplars)
			put_exemplar(p, &exemplars[i]);
		put(p, "\n", 1);
	}
	put_sample_name(p, f, s, "_sum");
	put_double(p, s->sum);
	put(p, "\n", 1);
	put_sample_name(p, f, s, "_count");
	put_u64(p, s->count);
	put(p, "\n", 1);
}

static void on_series(void *ud, const struct gb_metric_family_view *f,
		      const struct gb_series_view *s)
{
	struct scrape *sc = ud;

	if (f->type == GB_METRIC_HISTOGRAM) {
		/* Exemplars are OpenMetrics only; the view has them from
		 * ABI 1.2 on. */
		put_histogram(&sc->page, f, s,
			      sc->openmetrics ? s->exemplars : NULL);
		return;
	}
	put_sample_name(&sc->page, f, s, "");
	put_double(&sc->page, s->value);
	put(&sc->page, "\n", 1);
}

static void put_process(struct scrape *sc)
{
	struct process_stats ps;

	process_stats_read(&ps);

	/* In the order of process_families. */
	const struct {
		double value;
		bool known;
	} values[PROCESS_FAMILIES] = {
	    {ps.cpu_seconds, ps.has_stat},   {ps.resident_bytes, ps.has_stat},
	    {ps.virtual_bytes, ps.has_stat}, {ps.open_fds, ps.has_open_fds},
	    {ps.max_fds, ps.has_max_fds},    {ps.start_time, ps.has_start_time},
	    {ps.threads, ps.has_stat},
	};

	for (size_t i = 0; i < PROCESS_FAMILIES; i++) {
		if (!values[i].known ||
		    (sc->registered_process & process_families[i].bit))
			continue;
		put_header(&sc->page, process_families[i].name,
			   process_families[i].help, process_families[i].type,
			   sc->openmetrics);
		put_str(&sc->page, process_families[i].name);
		put(&sc->page, " ", 1);
		put_double(&sc->page, values[i].value);
		put(&sc->page, "\n", 1);
	}
}

/* ---- the route ---------------------------------------------------------- */

static void handle_metrics(struct gb_request *req, void *userdata)
{
	static const struct gb_metrics_visitor visitor = {on_family, on_series};
	struct scrape sc = {0};

	(void)userdata;
	const char *accept = api->req_header(req, "Accept");

	sc.openmetrics =
	    accept && strstr(accept, "application/openmetrics-text") != NULL;
	page_reserve(&sc.page, atomic_load_explicit(&last_page_size,
						    memory_order_relaxed));
	api->metrics_visit(&visitor, &sc);
	put_process(&sc);
	if (sc.openmetrics)
		put_str(&sc.page, "# EOF\n");
	if (sc.page.failed) {
		api->respond_error(req, 500, "internal",
				   "out of memory building the metrics page",
				   NULL);
	} else {
		/* Some slack: the next page is usually a little longer. */
		atomic_store_explicit(&last_page_size,
				      sc.page.len + sc.page.len / 8 + 256,
				      memory_order_relaxed);
		api->respond(req, 200,
			     sc.openmetrics ? OPENMETRICS_TYPE : CONTENT_TYPE,
			     sc.page.data, sc.page.len);
	}
	free(sc.page.data);
}

static int metrics_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	enum gb_status st;

	api = host;
	process_stats_init();
	st = api->route_add(self, GB_GET, "/metrics", handle_metrics, NULL, 0);
	if (st != GB_OK) {
		api->init_error(self, "cannot register GET /metrics (is "
				      "another plugin serving it?)");
		return -1;
	}
	return 0;
}

GB_PLUGIN(GB_PLUGIN_ROUTE, "metrics", "2.0.0",
	  "Prometheus exporter: GET /metrics", NULL, metrics_init, NULL);
