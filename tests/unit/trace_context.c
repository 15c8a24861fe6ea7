/*
 * W3C Trace Context as the server sees it: which traceparent and
 * tracestate headers are continued, which are refused (a new trace, and
 * counted), what goes out to the backend, the sampler's decisions, and the
 * OTEL_* settings refused at start. The exporter runs towards a port
 * nobody listens on: these tests look at context, not at export.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "trace.h"

static char err[512];

static void start(const char *sampler, const char *arg)
{
	cr_assert_eq(gb_metrics_init(), 0);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9", 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "60000", 1);
	if (sampler)
		setenv("OTEL_TRACES_SAMPLER", sampler, 1);
	else
		unsetenv("OTEL_TRACES_SAMPLER");
	if (arg)
		setenv("OTEL_TRACES_SAMPLER_ARG", arg, 1);
	else
		unsetenv("OTEL_TRACES_SAMPLER_ARG");
	cr_assert_eq(gb_trace_init("backend", err, sizeof(err)), 0, "%s", err);
	cr_assert(gb_trace_on);
}

static void teardown(void)
{
	gb_trace_shutdown(0.1);
	gb_metrics_shutdown();
}

TestSuite(trace_context, .fini = teardown);

/* The trace id the request gets for this traceparent (tracestate NULL). */
static const char *trace_of(const char *traceparent)
{
	static char tid[33];
	char sid[17];

	gb_trace_request_begin(traceparent, NULL);
	cr_assert(gb_trace_ids(tid, sid));
	gb_trace_request_end("GET", "/x", "/x", 200, "127.0.0.1", NULL);
	return tid;
}

/* The traceparent (and tracestate) the backend would be sent. */
static const char *outgoing(const char *traceparent, const char *tracestate)
{
	static char headers[1024];

	gb_trace_request_begin(traceparent, tracestate);
	int span = gb_trace_op_begin();
	struct gb_span *c = gb_trace_client_begin("GET", "backend", 8080,
						  "http://backend:8080/x",
						  headers, sizeof(headers));
	gb_trace_client_end(c, 200, NULL);
	gb_trace_op_end(span, "http", "list", "messages", GB_OK, "");
	gb_trace_request_end("GET", "/x", "/x", 200, "127.0.0.1", NULL);
	return headers;
}

Test(trace_context, a_valid_traceparent_is_continued)
{
	start(NULL, NULL);
	cr_assert_str_eq(trace_of("00-0af7651916cd43dd8448eb211c80319c-"
				  "b7ad6b7169203331-01"),
			 "0af7651916cd43dd8448eb211c80319c");
	/* A later version: the first four fields, anything after a dash. */
	cr_assert_str_eq(trace_of("cc-0af7651916cd43dd8448eb211c80319c-"
				  "b7ad6b7169203331-01-what-the-future-adds"),
			 "0af7651916cd43dd8448eb211c80319c");
	cr_assert_str_eq(trace_of("01-0af7651916cd43dd8448eb211c80319c-"
				  "b7ad6b7169203331-09"),
			 "0af7651916cd43dd8448eb211c80319c");
}

Test(trace_context, malformed_traceparents_start_a_new_trace)
{
	start(NULL, NULL);
	static const char *const bad[] = {
	    "",
	    "00",
	    "garbage",
	    /* upper-case hex */
	    "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
	    "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
	    /* version ff, non-hex version */
	    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	    "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	    /* all-zero ids */
	    "00-00000000000000000000000000000000-b7ad6b7169203331-01",
	    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
	    /* version 00 with anything after the flags */
	    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
	    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
	    /* a later version without the dash after the flags */
	    "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
	    /* wrong separators, short fields, bad flags */
	    "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	    "00-0af7651916cd43dd8448eb211c80319-cb7ad6b7169203331-01",
	    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
	    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-zz",
	    " 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *tid = trace_of(bad[i]);

		cr_assert_eq(strlen(tid), 32, "%s", bad[i]);
		cr_assert_str_neq(tid, "0af7651916cd43dd8448eb211c80319c",
				  "continued a malformed traceparent: '%s'",
				  bad[i]);
		cr_assert_str_neq(tid, "00000000000000000000000000000000");
	}
	/* No traceparent: a fresh trace each time. */
	char first[33];

	snprintf(first, sizeof(first), "%s", trace_of(NULL));
	cr_assert_str_neq(first, trace_of(NULL));
}

Test(trace_context, the_backend_gets_the_trace_and_the_client_span)
{
	start(NULL, NULL);
	const char *h = outgoing("00-0af7651916cd43dd8448eb211c80319c-"
				 "b7ad6b7169203331-01",
				 "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE");

	cr_assert(strncmp(h,
			  "traceparent: 00-0af7651916cd43dd8448eb211c80319c-",
			  49) == 0,
		  "%s", h);
	cr_assert(strstr(h, "-01\r\ntracestate: rojo=00f067aa0ba902b7, "
			    "congo=t61rcWkgMzE\r\n"),
		  "%s", h);
	cr_assert_null(strstr(h, "b7ad6b7169203331"),
		       "the backend's parent is our client span: %s", h);

	/* A malformed tracestate is dropped, the traceparent kept. */
	static const char *const bad_state[] = {
	    "UPPER=1",	       "=novalue", "key=",	"key=a,b",
	    "key=with=equals", "k\x01=v",  "key=v\x7f",
	};

	for (size_t i = 0; i < sizeof(bad_state) / sizeof(bad_state[0]); i++) {
		h = outgoing("00-0af7651916cd43dd8448eb211c80319c-"
			     "b7ad6b7169203331-01",
			     bad_state[i]);
		cr_assert(strstr(h, "0af7651916cd43dd8448eb211c80319c"));
		cr_assert_null(strstr(h, "tracestate"), "'%s' passed on",
			       bad_state[i]);
	}
	/* More than 32 members, or over 512 bytes: dropped. */
	char many[1024] = "";

	for (int i = 0; i < 33; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%sk%d=v", i ? "," : "", i);
	h = outgoing("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		     many);
	cr_assert_null(strstr(h, "tracestate"));
	memset(many, 'a', 600);
	many[0] = 'k';
	many[1] = '=';
	many[600] = '\0';
	h = outgoing("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		     many);
	cr_assert_null(strstr(h, "tracestate"));
	/* Tenant keys, empty members and spaces around members are valid. */
	h = outgoing("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		     "t@sys=1, ,x-y*/_=v 2");
	cr_assert(strstr(h, "tracestate: t@sys=1, ,x-y*/_=v 2\r\n"), "%s", h);
}

Test(trace_context, an_unsampled_parent_stays_unsampled_downstream)
{
	start(NULL, NULL);
	const char *h = outgoing("00-0af7651916cd43dd8448eb211c80319c-"
				 "b7ad6b7169203331-00",
				 NULL);

	cr_assert(strstr(h, "0af7651916cd43dd8448eb211c80319c-"), "%s", h);
	cr_assert(strstr(h, "-00\r\n"), "flags 00 go on: %s", h);
}

Test(trace_context, ratio_zero_samples_no_new_trace_but_follows_a_parent)
{
	start("parentbased_traceidratio", "0");
	for (int i = 0; i < 50; i++)
		cr_assert(strstr(outgoing(NULL, NULL), "-00\r\n"));
	cr_assert(strstr(outgoing("00-0af7651916cd43dd8448eb211c80319c-"
				  "b7ad6b7169203331-01",
				  NULL),
			 "-01\r\n"));
}

Test(trace_context, ratio_one_samples_every_new_trace)
{
	start("traceidratio", "1");
	for (int i = 0; i < 50; i++)
		cr_assert(strstr(outgoing(NULL, NULL), "-01\r\n"));
	/* traceidratio ignores the parent's flag. */
	cr_assert(strstr(outgoing("00-0af7651916cd43dd8448eb211c80319c-"
				  "b7ad6b7169203331-00",
				  NULL),
			 "-01\r\n"));
}

Test(trace_context, bad_settings_are_refused_with_their_name)
{
	static const struct {
		const char *name, *value;
	} cases[] = {
	    {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"},
	    {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://:4318"},
	    {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://host:99999"},
	    {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://host:12ab"},
	    {"OTEL_TRACES_SAMPLER", "sometimes"},
	    {"OTEL_TRACES_SAMPLER_ARG", "2"},
	    {"OTEL_TRACES_SAMPLER_ARG", "half"},
	    {"OTEL_BSP_MAX_QUEUE_SIZE", "0"},
	    {"OTEL_BSP_SCHEDULE_DELAY", "soon"},
	    {"OTEL_RESOURCE_ATTRIBUTES", "a=1,broken"},
	    {"OTEL_RESOURCE_ATTRIBUTES", "a=%zz"},
	    {"OTEL_TRACES_EXPORTER", "zipkin"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(gb_metrics_init(), 0);
		setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9", 1);
		setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
		unsetenv("OTEL_TRACES_SAMPLER_ARG");
		setenv(cases[i].name, cases[i].value, 1);
		err[0] = '\0';
		cr_assert_eq(gb_trace_init("all", err, sizeof(err)), -1,
			     "%s=%s accepted", cases[i].name, cases[i].value);
		cr_assert(strstr(err, cases[i].name), "%s", err);
		cr_assert_not(gb_trace_on);
		unsetenv(cases[i].name);
		gb_metrics_shutdown();
	}
	/* Off switches. */
	cr_assert_eq(gb_metrics_init(), 0);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9", 1);
	setenv("OTEL_SDK_DISABLED", "true", 1);
	cr_assert_eq(gb_trace_init("all", err, sizeof(err)), 0);
	cr_assert_not(gb_trace_on);
	unsetenv("OTEL_SDK_DISABLED");
	setenv("OTEL_TRACES_EXPORTER", "none", 1);
	cr_assert_eq(gb_trace_init("all", err, sizeof(err)), 0);
	cr_assert_not(gb_trace_on);
	unsetenv("OTEL_TRACES_EXPORTER");
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	cr_assert_eq(gb_trace_init("all", err, sizeof(err)), 0);
	cr_assert_not(gb_trace_on, "no endpoint: tracing off");
	char tid[33], sid[17];

	gb_trace_request_begin("00-0af7651916cd43dd8448eb211c80319c-"
			       "b7ad6b7169203331-01",
			       NULL);
	cr_assert_not(gb_trace_ids(tid, sid));
	cr_assert_str_eq(tid, "");
}
