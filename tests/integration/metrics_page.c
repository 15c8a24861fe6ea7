/*
 * The metrics plugin's page, byte for byte: the built metrics.so is loaded
 * into a small host of its own (the real registry, a fake request) so the
 * tests can register families with awkward help texts and label values the
 * real server never produces, and check the escaping, the number formats
 * and the histogram lines exactly.
 */
#include <criterion/criterion.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guestbook/plugin.h"
#include "harness.h"
#include "metrics.h"

static gb_route_handler handler;
static char route[64];
static unsigned route_methods;
static int status;
static char content_type[128];
static char *body;
static size_t body_len;
static void *plugin;
static const char *accept_header; /* what the fake request's Accept is */

static enum gb_status fake_route_add(struct gb_plugin *self, unsigned methods,
				     const char *pattern, gb_route_handler h,
				     void *userdata, size_t max_body)
{
	(void)self;
	(void)userdata;
	(void)max_body;
	snprintf(route, sizeof(route), "%s", pattern);
	route_methods = methods;
	handler = h;
	return GB_OK;
}

static enum gb_status fake_respond(struct gb_request *req, int st,
				   const char *ctype, const void *b, size_t n)
{
	(void)req;
	status = st;
	snprintf(content_type, sizeof(content_type), "%s", ctype);
	free(body);
	body = malloc(n + 1);
	memcpy(body, b, n);
	body[n] = '\0';
	body_len = n;
	return GB_OK;
}

static enum gb_status fake_respond_error(struct gb_request *req, int st,
					 const char *code, const char *message,
					 const char *field)
{
	(void)req;
	(void)field;
	status = st;
	cr_log_error("error %s: %s", code, message);
	return GB_OK;
}

static const char *fake_req_header(struct gb_request *req, const char *name)
{
	(void)req;
	return strcasecmp(name, "Accept") == 0 ? accept_header : NULL;
}

static void setup(void)
{
	static struct gb_host_api api;
	const struct gb_plugin_descriptor *d;

	cr_assert_eq(gb_metrics_init(), 0);
	api.size = sizeof(api);
	api.abi_major = GB_ABI_MAJOR;
	api.abi_minor = GB_ABI_MINOR;
	api.route_add = fake_route_add;
	api.metrics_visit = gb_metrics_visit;
	api.respond = fake_respond;
	api.respond_error = fake_respond_error;
	api.req_header = fake_req_header;
	accept_header = NULL;
	plugin =
	    dlopen(gbt_build_path("plugins/metrics.so"), RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(plugin, "%s", dlerror());
	d = dlsym(plugin, GB_PLUGIN_SYMBOL);
	cr_assert_not_null(d);
	cr_assert_str_eq(d->name, "metrics");
	cr_assert_eq(d->kind, GB_PLUGIN_ROUTE);
	cr_assert_eq(d->init(NULL, &api), 0);
	cr_assert_str_eq(route, "/metrics");
	cr_assert_eq(route_methods, GB_GET);
}

static void teardown(void)
{
	free(body);
	body = NULL;
	gb_metrics_shutdown();
}

TestSuite(metrics_page, .init = setup, .fini = teardown);

static struct gb_metric *reg(enum gb_metric_type type, const char *name,
			     const char *help, const char *const *labels,
			     const double *buckets, size_t nbuckets)
{
	char err[256];
	struct gb_metric *m = gb_metric_register(
	    type, name, help, labels, buckets, nbuckets, err, sizeof(err));

	cr_assert_not_null(m, "%s", err);
	return m;
}

static const char *page(void)
{
	handler(NULL, NULL);
	cr_assert_eq(status, 200);
	cr_assert_str_eq(content_type,
			 "text/plain; version=0.0.4; charset=utf-8");
	cr_assert_eq(strlen(body), body_len, "no NUL inside the page");
	return body;
}

/* The page from its start up to the process collector. */
static char *registry_part(void)
{
	const char *p = page();
	const char *proc = strstr(p, "# HELP process_");

	return strndup(p, proc ? (size_t)(proc - p) : strlen(p));
}

Test(metrics_page, label_values_and_help_are_escaped)
{
	const char *labels[] = {"path", NULL};
	struct gb_metric *m =
	    reg(GB_METRIC_COUNTER, "odd_total",
		"Help with \\ and\nnewline \"quoted\".", labels, NULL, 0);
	const char *v1[] = {"a\"b\\c\nd"};
	const char *v2[] = {"caf\xc3\xa9 \xff\xfe bad \xe2\x82"};

	gb_counter_add(gb_metric_series(m, v1), 2);
	gb_counter_add(gb_metric_series(m, v2), 1);

	char *text = registry_part();

	cr_assert_str_eq(
	    text, "# HELP odd_total Help with \\\\ and\\nnewline "
		  "\"quoted\".\n"
		  "# TYPE odd_total counter\n"
		  "odd_total{path=\"a\\\"b\\\\c\\nd\"} 2\n"
		  "odd_total{path=\"caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd "
		  "bad \xef\xbf\xbd\xef\xbf\xbd\"} 1\n");
	free(text);
}

Test(metrics_page, histogram_lines_match_the_prometheus_clients)
{
	const double bounds[] = {0.0001, 0.005, 0.25, 1, 2.5, 10};
	const char *labels[] = {"method", "route", NULL};
	const char *values[] = {"GET", "/x"};
	struct gb_metric *h =
	    reg(GB_METRIC_HISTOGRAM, "lat_seconds", "L.", labels, bounds, 6);
	struct gb_metric *plain =
	    reg(GB_METRIC_HISTOGRAM, "size_bytes", "S.", NULL, bounds, 1);
	struct gb_series *s = gb_metric_series(h, values);

	gb_histogram_observe(s, 0.005);
	gb_histogram_observe(s, 0.1);
	gb_histogram_observe(s, 3);
	gb_histogram_observe(s, 11);
	gb_histogram_observe(gb_metric_series(plain, NULL), 0.5);

	char *text = registry_part();

	cr_assert_str_eq(
	    text,
	    "# HELP lat_seconds L.\n"
	    "# TYPE lat_seconds histogram\n"
	    "lat_seconds_bucket{method=\"GET\",route=\"/x\",le=\"0.0001\"} 0\n"
	    "lat_seconds_bucket{method=\"GET\",route=\"/x\",le=\"0.005\"} 1\n"
	    "lat_seconds_bucket{method=\"GET\",route=\"/x\",le=\"0.25\"} 2\n"
	    "lat_seconds_bucket{method=\"GET\",route=\"/x\",le=\"1\"} 2\n"
	    "lat_seconds_bucket{method=\"GET\",route=\"/x\",le=\"2.5\"} 2\n"
	    "lat_seconds_bucket{method=\"GET\",route=\"/x\",le=\"10\"} 3\n"
	    "lat_seconds_bucket{method=\"GET\",route=\"/x\",le=\"+Inf\"} 4\n"
	    "lat_seconds_sum{method=\"GET\",route=\"/x\"} 14.105\n"
	    "lat_seconds_count{method=\"GET\",route=\"/x\"} 4\n"
	    "# HELP size_bytes S.\n"
	    "# TYPE size_bytes histogram\n"
	    "size_bytes_bucket{le=\"0.0001\"} 0\n"
	    "size_bytes_bucket{le=\"+Inf\"} 1\n"
	    "size_bytes_sum 0.5\n"
	    "size_bytes_count 1\n");
	free(text);
}

Test(metrics_page, numbers_are_shortest_round_trip)
{
	const char *labels[] = {"case", NULL};
	struct gb_metric *g =
	    reg(GB_METRIC_GAUGE, "num", "N.", labels, NULL, 0);
	const struct {
		const char *label;
		double value;
		const char *text;
	} cases[] = {
	    {"sum", 0.1 + 0.2, "0.30000000000000004"},
	    {"tenth", 0.1, "0.1"},
	    {"int", 1234567, "1234567"},
	    {"neg", -2.5, "-2.5"},
	    {"tiny", 0.00001, "1e-05"},
	    {"huge", 1e21, "1e+21"},
	    {"third", 1.0 / 3, "0.3333333333333333"},
	    {"inf", INFINITY, "+Inf"},
	    {"ninf", -INFINITY, "-Inf"},
	    {"nan", NAN, "NaN"},
	};
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++) {
		const char *v[] = {cases[i].label};

		gb_gauge_set(gb_metric_series(g, v), cases[i].value);
	}

	const char *text = page();

	for (size_t i = 0; i < n; i++) {
		char line[128];

		snprintf(line, sizeof(line), "\nnum{case=\"%s\"} %s\n",
			 cases[i].label, cases[i].text);
		cr_assert(strstr(text, line), "missing line %s in:\n%s", line,
			  text);
	}

	/* A counter past 2^53 still prints, in the exponent form. */
	struct gb_metric *c =
	    reg(GB_METRIC_COUNTER, "big_total", "B.", NULL, NULL, 0);

	gb_counter_add(gb_metric_series(c, NULL), 1000000000000000000ULL);
	cr_assert(strstr(page(), "\nbig_total 1e+18\n"));
}

Test(metrics_page, families_come_in_registration_order_then_process)
{
	reg(GB_METRIC_GAUGE, "zz_last_registered_first", "Z.", NULL, NULL, 0);
	reg(GB_METRIC_COUNTER, "aa_total", "A.", NULL, NULL, 0);

	const char *text = page();
	const char *z = strstr(text, "# HELP zz_last_registered_first Z.\n");
	const char *a = strstr(text, "# HELP aa_total A.\n");
	const char *p = strstr(text, "# HELP process_cpu_seconds_total ");

	cr_assert(z && a && p);
	cr_assert(z < a && a < p, "registration order, process last");
	cr_assert(strstr(text, "# TYPE zz_last_registered_first gauge\n"
			       "# HELP aa_total"),
		  "a family without series has HELP and TYPE only");
}

Test(metrics_page, a_registered_process_family_is_not_duplicated)
{
	struct gb_metric *m =
	    reg(GB_METRIC_GAUGE, "process_open_fds",
		"Open fds, counted by the host.", NULL, NULL, 0);

	gb_gauge_set(gb_metric_series(m, NULL), 7);

	const char *text = page();
	const char *first = strstr(text, "# HELP process_open_fds");

	cr_assert_not_null(first);
	cr_assert_null(strstr(first + 1, "# HELP process_open_fds"),
		       "process_open_fds exported twice");
	cr_assert(strstr(text, "\nprocess_open_fds 7\n"));
	cr_assert(strstr(text, "# HELP process_max_fds "),
		  "the other process figures remain");
}

Test(metrics_page, whole_page_passes_promtool)
{
	const char *labels[] = {"method", "route", "status", NULL};
	const char *values[] = {"GET", "/a \"q\" \\", "200"};
	struct gb_metric *c = reg(GB_METRIC_COUNTER, "http_requests_total",
				  "Requests.\nTwo lines.", labels, NULL, 0);
	struct gb_metric *h =
	    reg(GB_METRIC_HISTOGRAM, "http_request_duration_seconds",
		"Latency.", NULL, NULL, 0);
	char path[] = "/tmp/gb-metrics-page-XXXXXX";
	char cmd[128], out[2048] = "";
	int fd = mkstemp(path);
	FILE *p;

	gb_counter_add(gb_metric_series(c, values), 3);
	gb_histogram_observe(gb_metric_series(h, NULL), 0.0002);

	const char *text = page();

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "command -v promtool >/dev/null || echo MISSING; "
		 "promtool check metrics < %s 2>&1",
		 path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);

	out[n] = '\0';
	int st = pclose(p);

	unlink(path);
	cr_assert_null(strstr(out, "MISSING"),
		       "promtool is missing: run scripts/install-deps.sh test");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "promtool: %s", out);
	cr_assert_str_empty(out, "promtool: %s\n---\n%s", out, text);
}

Test(metrics_page, openmetrics_on_request_with_exemplars_on_buckets)
{
	const double bounds[] = {0.01, 1};
	const char *labels[] = {"route", NULL};
	const char *values[] = {"/x"};
	struct gb_metric *h =
	    reg(GB_METRIC_HISTOGRAM, "lat_seconds", "L.", labels, bounds, 2);
	struct gb_metric *c =
	    reg(GB_METRIC_COUNTER, "hits_total", "H.", NULL, NULL, 0);
	struct gb_metric *odd =
	    reg(GB_METRIC_COUNTER, "odd_count", "O.", NULL, NULL, 0);
	struct gb_series *s = gb_metric_series(h, values);

	gb_histogram_observe(s, 0.005);
	gb_histogram_exemplar(s, 0.005, "0af7651916cd43dd8448eb211c80319c",
			      "b7ad6b7169203331");
	gb_histogram_observe(s, 0.5);
	gb_counter_add(gb_metric_series(c, NULL), 2);
	gb_counter_add(gb_metric_series(odd, NULL), 1);

	/* The plain text format never carries exemplars. */
	cr_assert_null(strstr(page(), "# {"));

	accept_header = "application/openmetrics-text; version=1.0.0; "
			"charset=utf-8,text/plain;version=0.0.4;q=0.5";
	handler(NULL, NULL);
	cr_assert_eq(status, 200);
	cr_assert_str_eq(content_type, "application/openmetrics-text; "
				       "version=1.0.0; charset=utf-8");
	cr_assert(strstr(body,
			 "lat_seconds_bucket{route=\"/x\",le=\"0.01\"} 1 # "
			 "{trace_id=\"0af7651916cd43dd8448eb211c80319c\","
			 "span_id=\"b7ad6b7169203331\"} 0.005 "),
		  "%s", body);
	cr_assert(strstr(body, "lat_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"),
		  "a bucket without a traced observation has no exemplar");
	cr_assert(strstr(body, "# TYPE hits counter\nhits_total 2\n"), "%s",
		  body);
	cr_assert(strstr(body, "# TYPE odd_count unknown\nodd_count 1\n"), "%s",
		  body);
	size_t n = strlen(body);
	cr_assert(n > 6 && strcmp(body + n - 6, "# EOF\n") == 0);
}
