/*
 * trace_jaeger.c - traces end to end against a real Jaeger (built from the
 * Go module proxy by tests/lib/jaeger.sh, in-memory storage, OTLP/HTTP on a
 * free loopback port): a post through the front end's page is one trace
 * across both processes, incoming trace context is continued, the sampler
 * is obeyed, an outage of the collector costs requests nothing, the log
 * lines and a real Prometheus' exemplars point at traces Jaeger holds.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "jaeger_server.h"
#include "prometheus_server.h"

static struct gbt_jaeger jaeger;
static struct gbt_server backend, front, single;
static struct gbt_prometheus prometheus;

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	gbt_jaeger_build();
}

static void setup(void)
{
	char why[2048];

	cr_assert_eq(gbt_jaeger_start(&jaeger, why, sizeof(why)), 0, "%s", why);
}

static void teardown(void)
{
	gbt_prometheus_stop(&prometheus);
	if (front.pid > 0)
		gbt_server_stop(&front, SIGKILL);
	if (backend.pid > 0)
		gbt_server_stop(&backend, SIGKILL);
	if (single.pid > 0)
		gbt_server_stop(&single, SIGKILL);
	gbt_jaeger_stop(&jaeger);
}

TestSuite(trace_jaeger, .init = setup, .fini = teardown, .timeout = 240);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts guestbookd exporting to the test's Jaeger every 100 ms. */
static void start_traced(struct gbt_server *s, const char *const *args,
			 const char *extra_env)
{
	const char *env[] = {gbt_jaeger_endpoint_env(&jaeger),
			     "OTEL_BSP_SCHEDULE_DELAY=100", extra_env, NULL};

	cr_assert_eq(gbt_server_start(s, args, env), 0,
		     "guestbookd did not start");
}

static struct gbt_response request(int port, const char *method,
				   const char *path, const char *const *headers,
				   const char *body)
{
	struct gbt_response r;

	cr_assert_eq(gbt_http(port, method, path, headers, body,
			      body ? strlen(body) : 0, &r),
		     0, "%s %s: no answer", method, path);
	return r;
}

/*
 * The value of `field` in the first JSON log line of s that contains
 * `needle` (waiting for the buffered access lines); "" when none.
 */
static const char *log_field(const struct gbt_server *s, const char *needle,
			     const char *field)
{
	static _Thread_local char out[256];
	char *log = gbt_server_log_wait(s, needle);
	char *line = strstr(log, needle);

	out[0] = '\0';
	if (line) {
		char *start = line, *end = strchr(line, '\n');

		while (start > log && start[-1] != '\n')
			start--;
		if (end)
			*end = '\0';
		cJSON *doc = cJSON_Parse(start);
		const cJSON *v = cJSON_GetObjectItem(doc, field);

		if (cJSON_IsString(v))
			snprintf(out, sizeof(out), "%s", v->valuestring);
		cJSON_Delete(doc);
	}
	free(log);
	return out;
}

/* The value of a counter or gauge without labels on /metrics; -1 if absent. */
static double metric(int port, const char *name)
{
	struct gbt_response r = request(port, "GET", "/metrics", NULL, NULL);
	char needle[128];
	double v = -1;

	snprintf(needle, sizeof(needle), "\n%s ", name);
	const char *p = strstr(r.body, needle);

	if (p)
		v = strtod(p + strlen(needle), NULL);
	gbt_response_free(&r);
	return v;
}

static const char *span_id(const cJSON *span)
{
	const cJSON *id = cJSON_GetObjectItem(span, "spanID");

	return cJSON_IsString(id) ? id->valuestring : "";
}

static void start_pair(void)
{
	static const char *const back_args[] = {
	    "--role",	    "backend", "--storage", "sqlite",
	    "--rate-limit", "0",       NULL};
	char url[64];
	const char *front_args[] = {"--role", "frontend",     "--backend-url",
				    url,      "--rate-limit", "0",
				    NULL};

	start_traced(&backend, back_args, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", backend.port);
	start_traced(&front, front_args, NULL);
}

Test(trace_jaeger, a_post_through_the_page_is_one_trace_across_both)
{
	start_pair();
	const char *form[] = {"Content-Type: application/x-www-form-urlencoded",
			      "User-Agent: trace-test/1.0", NULL};
	struct gbt_response r = request(front.port, "POST", "/post", form,
					"name=Ada&message=traced+hello");

	cr_assert_eq(r.status, 303, "%s", r.body);
	gbt_response_free(&r);

	char trace_id[64], front_span[32];

	snprintf(trace_id, sizeof(trace_id), "%s",
		 log_field(&front, "\"route\":\"/post\"", "trace_id"));
	snprintf(front_span, sizeof(front_span), "%s",
		 log_field(&front, "\"route\":\"/post\"", "span_id"));
	cr_assert_eq(strlen(trace_id), 32, "access line without trace_id");
	cr_assert_eq(strlen(front_span), 16, "access line without span_id");

	cJSON *t = gbt_jaeger_trace(&jaeger, trace_id, 5, 20);

	if (!t) {
		cJSON *some = gbt_jaeger_trace(&jaeger, trace_id, 1, 1);
		char *text = some ? cJSON_Print(some) : NULL;

		struct gbt_response m =
		    request(front.port, "GET", "/metrics", NULL, NULL);
		const char *e =
		    strstr(m.body, "guestbook_trace_spans_exported");

		cr_assert_fail("Jaeger does not hold trace %s with 5 spans; it "
			       "holds %s; frontend: %.200s",
			       trace_id, text ? text : "nothing", e ? e : "?");
	}
	const cJSON *server =
	    gbt_jaeger_span(t, "POST /post", "guestbook-frontend");
	const cJSON *store =
	    gbt_jaeger_span(t, "insert messages", "guestbook-frontend");
	const cJSON *client = gbt_jaeger_span(t, "POST", "guestbook-frontend");
	const cJSON *bserver =
	    gbt_jaeger_span(t, "POST /api/v1/messages", "guestbook-backend");
	const cJSON *bstore =
	    gbt_jaeger_span(t, "insert messages", "guestbook-backend");
	char *dump = cJSON_Print(t);

	cr_assert(server && store && client && bserver && bstore,
		  "missing spans in %s", dump);
	/* frontend server -> its storage op -> the call -> backend server
	 * -> the backend's storage op */
	cr_assert_str_eq(gbt_jaeger_parent(server), "");
	cr_assert_str_eq(span_id(server), front_span,
			 "the log line names the server span");
	cr_assert_str_eq(gbt_jaeger_parent(store), span_id(server));
	cr_assert_str_eq(gbt_jaeger_parent(client), span_id(store));
	cr_assert_str_eq(gbt_jaeger_parent(bserver), span_id(client));
	cr_assert_str_eq(gbt_jaeger_parent(bstore), span_id(bserver));

	cr_assert_str_eq(gbt_jaeger_tag(server, "span.kind"), "server");
	cr_assert_str_eq(gbt_jaeger_tag(server, "http.request.method"), "POST");
	cr_assert_str_eq(gbt_jaeger_tag(server, "http.route"), "/post");
	cr_assert_str_eq(gbt_jaeger_tag(server, "url.path"), "/post");
	cr_assert_str_eq(gbt_jaeger_tag(server, "http.response.status_code"),
			 "303");
	cr_assert_str_eq(gbt_jaeger_tag(server, "client.address"), "127.0.0.1");
	cr_assert_str_eq(gbt_jaeger_tag(server, "user_agent.original"),
			 "trace-test/1.0");
	cr_assert_str_eq(gbt_jaeger_tag(client, "span.kind"), "client");
	cr_assert_str_eq(gbt_jaeger_tag(client, "http.response.status_code"),
			 "201");
	cr_assert_str_eq(gbt_jaeger_tag(client, "server.address"), "127.0.0.1");
	cr_assert_str_eq(gbt_jaeger_tag(bserver, "http.route"),
			 "/api/v1/messages");
	cr_assert_str_eq(gbt_jaeger_tag(bstore, "span.kind"), "client");
	cr_assert_str_eq(gbt_jaeger_tag(bstore, "db.system.name"), "sqlite");
	cr_assert_str_eq(gbt_jaeger_tag(bstore, "db.operation.name"), "insert");
	cr_assert_str_eq(gbt_jaeger_tag(bstore, "db.collection.name"),
			 "messages");
	cr_assert_str_eq(gbt_jaeger_tag(store, "db.system.name"), "http");

	/* The backend's log line carries the ids Jaeger holds for it. */
	cr_assert_str_eq(log_field(&backend, "\"method\":\"POST\"", "trace_id"),
			 trace_id);
	cr_assert_str_eq(log_field(&backend, "\"method\":\"POST\"", "span_id"),
			 span_id(bserver));
	free(dump);
	cJSON_Delete(t);
}

Test(trace_jaeger, an_incoming_traceparent_is_continued)
{
	static const char *const args[] = {"--rate-limit", "0", NULL};

	start_traced(&single, args, "OTEL_SERVICE_NAME=continued");
	const char *h[] = {"traceparent: "
			   "00-4bf92f3577b34da6a3ce929d0e0e4736-"
			   "00f067aa0ba902b7-01",
			   "tracestate: vendor=abc,other@tenant=x1", NULL};
	struct gbt_response r =
	    request(single.port, "GET", "/api/v1/messages", h, NULL);

	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
	cJSON *t = gbt_jaeger_trace(&jaeger, "4bf92f3577b34da6a3ce929d0e0e4736",
				    2, 20);

	cr_assert_not_null(t, "the incoming trace id was not continued");
	const cJSON *server =
	    gbt_jaeger_span(t, "GET /api/v1/messages", "continued");
	const cJSON *store = gbt_jaeger_span(t, "list messages", "continued");

	cr_assert(server && store);
	cr_assert_str_eq(gbt_jaeger_parent(server), "00f067aa0ba902b7");
	cr_assert_str_eq(gbt_jaeger_parent(store), span_id(server));
	cJSON_Delete(t);

	/* Malformed context: ignored (a new trace) and counted. */
	const char *bad[] = {"traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-"
			     "00f067aa0ba902b7-01",
			     NULL};
	const char *zero[] = {
	    "traceparent: 00-00000000000000000000000000000000-"
	    "00f067aa0ba902b7-01",
	    NULL};
	const char *bad_state[] = {
	    "traceparent: 00-5bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01",
	    "tracestate: UPPER=no", NULL};

	r = request(single.port, "GET", "/health", bad, NULL);
	gbt_response_free(&r);
	r = request(single.port, "GET", "/health", zero, NULL);
	gbt_response_free(&r);
	r = request(single.port, "GET", "/health", bad_state, NULL);
	gbt_response_free(&r);
	r = request(single.port, "GET", "/metrics", NULL, NULL);
	cr_assert(strstr(r.body, "guestbook_trace_context_invalid_total{header="
				 "\"traceparent\"} 2\n"),
		  "%s", r.body);
	cr_assert(strstr(r.body, "guestbook_trace_context_invalid_total{header="
				 "\"tracestate\"} 1\n"));
	gbt_response_free(&r);
	/* The one with a bad tracestate still continues its trace. */
	t = gbt_jaeger_trace(&jaeger, "5bf92f3577b34da6a3ce929d0e0e4736", 1,
			     20);
	cr_assert_not_null(t);
	cJSON_Delete(t);
	char *log = gbt_server_log_wait(&single, "\"route\":\"/metrics\"");

	cr_assert_null(strstr(log, "4bf92f3577b34da6a3ce929d0e0e4736\",\"span_"
				   "id\":\"00f067aa0ba902b7"));
	free(log);
}

/*
 * Both OTLP encodings (http/protobuf, the default, and http/json) carry
 * the same spans: ids, parent, name, kind, integer and non-ASCII string
 * attributes, and a service named in percent-encoded UTF-8.
 */
Test(trace_jaeger, both_encodings_deliver_the_same_spans)
{
	static const char *const args[] = {"--rate-limit", "0", NULL};
	static const struct {
		const char *protocol, *service, *trace_id;
	} enc[] = {
	    {"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "caf\u00e9-protobuf",
	     "6bf92f3577b34da6a3ce929d0e0e4736"},
	    {"OTEL_EXPORTER_OTLP_PROTOCOL=http/json", "caf\u00e9-json",
	     "7bf92f3577b34da6a3ce929d0e0e4736"},
	};

	for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		char resource[128], traceparent[128];
		const char *suffix = strchr(enc[i].service, '-');

		snprintf(resource, sizeof(resource),
			 "OTEL_RESOURCE_ATTRIBUTES=service.name=caf%%C3%%A9%s,"
			 "team=t%%C3%%BCr",
			 suffix);
		snprintf(traceparent, sizeof(traceparent),
			 "traceparent: 00-%s-00f067aa0ba902b7-01",
			 enc[i].trace_id);
		const char *env[] = {gbt_jaeger_endpoint_env(&jaeger),
				     "OTEL_BSP_SCHEDULE_DELAY=100",
				     enc[i].protocol, resource, NULL};

		cr_assert_eq(gbt_server_start(&single, args, env), 0,
			     "%s: guestbookd did not start", enc[i].protocol);
		/* A user agent with UTF-8 and one invalid byte (sent as ?). */
		const char *h[] = {traceparent,
				   "User-Agent: na\xc3\xafve/\xff"
				   "1.0",
				   NULL};
		struct gbt_response r =
		    request(single.port, "GET", "/api/v1/messages", h, NULL);

		cr_assert_eq(r.status, 200);
		gbt_response_free(&r);
		cJSON *t = gbt_jaeger_trace(&jaeger, enc[i].trace_id, 2, 20);

		cr_assert_not_null(t, "%s: no trace in Jaeger",
				   enc[i].protocol);
		const cJSON *server =
		    gbt_jaeger_span(t, "GET /api/v1/messages", enc[i].service);
		const cJSON *store =
		    gbt_jaeger_span(t, "list messages", enc[i].service);
		char *dump = cJSON_Print(t);

		cr_assert(server && store, "%s: %s", enc[i].protocol, dump);
		cr_assert_str_eq(gbt_jaeger_parent(server), "00f067aa0ba902b7");
		cr_assert_str_eq(gbt_jaeger_parent(store), span_id(server));
		cr_assert_str_eq(gbt_jaeger_tag(server, "span.kind"), "server");
		cr_assert_str_eq(gbt_jaeger_tag(store, "span.kind"), "client");
		cr_assert_str_eq(
		    gbt_jaeger_tag(server, "http.response.status_code"), "200");
		cr_assert_str_eq(gbt_jaeger_tag(server, "user_agent.original"),
				 "na\xc3\xafve/?1.0", "%s", enc[i].protocol);
		cr_assert_str_eq(gbt_jaeger_tag(store, "db.system.name"),
				 "sqlite");
		free(dump);
		cJSON_Delete(t);
		cr_assert_eq(gbt_server_stop(&single, SIGTERM), 0);
	}
}

Test(trace_jaeger, sampler_ratio_zero_exports_nothing)
{
	static const char *const args[] = {"--rate-limit", "0", NULL};
	const char *env[] = {gbt_jaeger_endpoint_env(&jaeger),
			     "OTEL_BSP_SCHEDULE_DELAY=100",
			     "OTEL_SERVICE_NAME=ratio-zero",
			     "OTEL_TRACES_SAMPLER=parentbased_traceidratio",
			     "OTEL_TRACES_SAMPLER_ARG=0",
			     NULL};

	cr_assert_eq(gbt_server_start(&single, args, env), 0);
	for (int i = 0; i < 30; i++) {
		struct gbt_response r =
		    request(single.port, "GET", "/api/v1/messages", NULL, NULL);

		cr_assert_eq(r.status, 200);
		gbt_response_free(&r);
	}
	/* An unsampled parent is followed too; a log line still names the
	 * trace so the request can be found in the logs. */
	const char *h[] = {"traceparent: 00-6bf92f3577b34da6a3ce929d0e0e4736-"
			   "00f067aa0ba902b7-00",
			   NULL};
	struct gbt_response r = request(single.port, "GET", "/health", h, NULL);

	gbt_response_free(&r);
	cr_assert_str_eq(
	    log_field(&single, "\"route\":\"/health\"", "trace_id"),
	    "6bf92f3577b34da6a3ce929d0e0e4736");
	usleep(600000); /* six export intervals */
	cr_assert_eq(
	    metric(single.port, "guestbook_trace_spans_exported_total"), 0);
	cr_assert_eq(metric(single.port, "guestbook_trace_spans_dropped_total"),
		     0);
	cr_assert_not(gbt_jaeger_has_service(&jaeger, "ratio-zero"));

	/* parentbased: a sampled parent is still followed at ratio 0. */
	const char *sampled[] = {
	    "traceparent: 00-7bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01",
	    NULL};

	r = request(single.port, "GET", "/health", sampled, NULL);
	gbt_response_free(&r);
	cJSON *t = gbt_jaeger_trace(&jaeger, "7bf92f3577b34da6a3ce929d0e0e4736",
				    1, 20);

	cr_assert_not_null(t);
	cJSON_Delete(t);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Latencies of n GET /api/v1/messages, sorted; all must be 200. */
static void measure(int port, double *lat, int n)
{
	for (int i = 0; i < n; i++) {
		double t0 = now();
		struct gbt_response r =
		    request(port, "GET", "/api/v1/messages", NULL, NULL);

		lat[i] = now() - t0;
		cr_assert_eq(r.status, 200, "request %d failed", i);
		gbt_response_free(&r);
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
}

/* A peer that accepts connections and never answers: a hung collector. */
static int stalled_listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 64), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

Test(trace_jaeger, a_collector_down_or_hung_costs_requests_nothing)
{
	static const char *const args[] = {"--rate-limit", "0", "--threads",
					   "4", NULL};
	enum { N = 300 };
	double up[N], down[N], hung[N];

	/* Small queue so it overflows during the test; 4 workers so one
	 * blocked on the exporter would show at once. */
	start_traced(&single, args, "OTEL_BSP_MAX_QUEUE_SIZE=64");
	measure(single.port, up, N);
	usleep(300000);
	double exported =
	    metric(single.port, "guestbook_trace_spans_exported_total");

	cr_assert_gt(exported, 0, "nothing was exported while Jaeger ran");

	gbt_jaeger_stop(&jaeger);
	double dropped0 =
	    metric(single.port, "guestbook_trace_spans_dropped_total");

	measure(single.port, down, N);
	usleep(300000);
	double dropped1 =
	    metric(single.port, "guestbook_trace_spans_dropped_total");

	cr_assert_gt(dropped1, dropped0, "the dropped counter did not rise");
	cr_log_info("GET /api/v1/messages p50/p99/max ms: collector up "
		    "%.2f/%.2f/%.2f, down %.2f/%.2f/%.2f",
		    up[N / 2] * 1e3, up[N * 99 / 100] * 1e3, up[N - 1] * 1e3,
		    down[N / 2] * 1e3, down[N * 99 / 100] * 1e3,
		    down[N - 1] * 1e3);
	/* Loose bounds for a loaded machine: no request waits for the
	 * exporter's connect or timeout. */
	cr_assert_lt(down[N / 2], up[N / 2] * 3 + 0.010);
	cr_assert_lt(down[N - 1], 1.0);

	/* A collector that accepts and never answers (export timeout 2 s). */
	int port, fd = stalled_listener(&port);
	char endpoint[96];
	const char *env[] = {endpoint, "OTEL_BSP_SCHEDULE_DELAY=100",
			     "OTEL_BSP_EXPORT_TIMEOUT=2000",
			     "OTEL_BSP_MAX_QUEUE_SIZE=64", NULL};

	gbt_server_stop(&single, SIGKILL);
	snprintf(endpoint, sizeof(endpoint),
		 "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", port);
	cr_assert_eq(gbt_server_start(&single, args, env), 0);
	measure(single.port, hung, N);
	cr_log_info("collector hung: p50/p99/max ms %.2f/%.2f/%.2f",
		    hung[N / 2] * 1e3, hung[N * 99 / 100] * 1e3,
		    hung[N - 1] * 1e3);
	cr_assert_lt(hung[N / 2], up[N / 2] * 3 + 0.010);
	cr_assert_lt(hung[N - 1], 1.0);
	cr_assert_gt(metric(single.port, "guestbook_trace_spans_dropped_total"),
		     0, "a full queue drops spans");
	close(fd);

	/* Jaeger back: the exporter recovers by itself. */
	char why[2048];

	gbt_server_stop(&single, SIGKILL);
	cr_assert_eq(gbt_jaeger_restart(&jaeger, why, sizeof(why)), 0, "%s",
		     why);
	start_traced(&single, args, NULL);
	measure(single.port, up, 10);
	gbt_jaeger_stop(&jaeger);
	cr_assert_eq(gbt_jaeger_restart(&jaeger, why, sizeof(why)), 0, "%s",
		     why);
	measure(single.port, up, 10);
	double t_end = now() + 10;

	while (metric(single.port, "guestbook_trace_spans_exported_total") <
		   10 &&
	       now() < t_end)
		usleep(100000);
	cr_assert_geq(
	    metric(single.port, "guestbook_trace_spans_exported_total"), 10,
	    "export did not resume after Jaeger came back");
}

Test(trace_jaeger, spans_queued_at_shutdown_are_flushed)
{
	static const char *const args[] = {"--rate-limit", "0", NULL};
	const char *env[] = {gbt_jaeger_endpoint_env(&jaeger),
			     "OTEL_BSP_SCHEDULE_DELAY=600000",
			     "OTEL_SERVICE_NAME=flushed", NULL};

	cr_assert_eq(gbt_server_start(&single, args, env), 0);
	struct gbt_response r =
	    request(single.port, "GET", "/api/v1/messages", NULL, NULL);

	gbt_response_free(&r);
	char trace_id[64];

	snprintf(
	    trace_id, sizeof(trace_id), "%s",
	    log_field(&single, "\"route\":\"/api/v1/messages\"", "trace_id"));
	cr_assert_eq(gbt_server_stop(&single, SIGTERM), 0);
	cJSON *t = gbt_jaeger_trace(&jaeger, trace_id, 2, 10);

	cr_assert_not_null(t, "the queued spans were lost at shutdown");
	cJSON_Delete(t);
}

/* ---- exemplars through a real Prometheus ------------------------------- */

Test(trace_jaeger, a_prometheus_exemplar_leads_to_a_trace_in_jaeger)
{
	static const char *const args[] = {"--rate-limit", "0", NULL};

	start_traced(&single, args, "OTEL_SERVICE_NAME=exemplars");
	gbt_prometheus_start(&prometheus, single.dir, single.port,
			     "exemplar-storage");
	int pport = prometheus.port;
	char path[512], found[64] = "";
	double end = now() + 60;

	while (!found[0] && now() < end) {
		struct gbt_response r =
		    request(single.port, "GET", "/api/v1/messages", NULL, NULL);

		gbt_response_free(&r);
		time_t t = time(NULL);

		snprintf(path, sizeof(path),
			 "/api/v1/query_exemplars?query="
			 "http_request_duration_seconds_bucket%%7Broute%%3D%%22"
			 "%%2Fapi%%2Fv1%%2Fmessages%%22%%7D&start=%ld&end=%ld",
			 (long)t - 300, (long)t + 60);
		if (gbt_http(pport, "GET", path, NULL, NULL, 0, &r) == 0) {
			cJSON *doc = cJSON_Parse(r.body);
			const cJSON *series, *e;

			cJSON_ArrayForEach(series,
					   cJSON_GetObjectItem(doc, "data"))
			    cJSON_ArrayForEach(
				e, cJSON_GetObjectItem(series, "exemplars"))
			{
				const cJSON *id = cJSON_GetObjectItem(
				    cJSON_GetObjectItem(e, "labels"),
				    "trace_id");

				if (cJSON_IsString(id))
					snprintf(found, sizeof(found), "%s",
						 id->valuestring);
			}
			cJSON_Delete(doc);
			gbt_response_free(&r);
		}
		usleep(300000);
	}
	cr_assert_eq(strlen(found), 32, "Prometheus stored no exemplar");
	cJSON *t = gbt_jaeger_trace(&jaeger, found, 1, 20);

	cr_assert_not_null(t, "exemplar trace %s is not in Jaeger", found);
	cr_assert_not_null(
	    gbt_jaeger_span(t, "GET /api/v1/messages", "exemplars"));
	cJSON_Delete(t);
}

Test(trace_jaeger, bad_otel_settings_stop_the_start_with_one_line)
{
	char plugins[1024];
	snprintf(plugins, sizeof(plugins), "%s", gbt_build_path("plugins"));
	const char *const args[] = {"--listen", "127.0.0.1:0", "--plugin-dir",
				    plugins, NULL};
	const struct {
		const char *env;
		const char *says;
	} cases[] = {
	    {"OTEL_TRACES_SAMPLER=sometimes", "OTEL_TRACES_SAMPLER=sometimes"},
	    {"OTEL_TRACES_SAMPLER_ARG=1.5", "OTEL_TRACES_SAMPLER_ARG=1.5"},
	    {"OTEL_BSP_MAX_QUEUE_SIZE=-3", "OTEL_BSP_MAX_QUEUE_SIZE=-3"},
	    {"OTEL_RESOURCE_ATTRIBUTES=novalue", "OTEL_RESOURCE_ATTRIBUTES"},
	    {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "http/protobuf"},
	    {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/xml",
	     "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/xml"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = {gbt_jaeger_endpoint_env(&jaeger),
				     "OTEL_TRACES_SAMPLER_ARG=0.5",
				     cases[i].env, NULL};
		char *out = NULL;

		if (strncmp(cases[i].env, "OTEL_TRACES_SAMPLER=", 20) != 0 &&
		    strncmp(cases[i].env, "OTEL_TRACES_SAMPLER_ARG", 23) != 0)
			env[1] = "OTEL_TRACES_SAMPLER=always_on";
		else if (strncmp(cases[i].env, "OTEL_TRACES_SAMPLER_ARG", 23) ==
			 0)
			env[1] = "OTEL_TRACES_SAMPLER=traceidratio";
		cr_assert_eq(gbt_run(args, env, &out), 2, "%s: %s",
			     cases[i].env, out);
		cr_assert(strstr(out, cases[i].says), "%s", out);
		free(out);
	}
	/* Off switches: no endpoint, or OTEL_SDK_DISABLED=true. */
	const char *off[] = {gbt_jaeger_endpoint_env(&jaeger),
			     "OTEL_SDK_DISABLED=true",
			     "OTEL_TRACES_SAMPLER=sometimes", NULL};
	static const char *const serve[] = {"--rate-limit", "0", NULL};

	cr_assert_eq(gbt_server_start(&single, serve, off), 0);
	cr_assert_eq(metric(single.port, "guestbook_trace_spans_dropped_total"),
		     -1, "tracing is off: no trace metrics");
	cr_assert_str_eq(
	    log_field(&single, "\"route\":\"/metrics\"", "trace_id"), "");
}
