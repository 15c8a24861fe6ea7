/*
 * A real Prometheus server (Debian package `prometheus`) scrapes guestbookd
 * every second while the test sends traffic; its query API then shows the
 * target up, a request rate and a finite p99 latency: what the alert rules
 * and dashboards depend on.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "prometheus_server.h"

static struct gbt_server server;
static struct gbt_prometheus prometheus;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void start(void)
{
	static const char *const args[] = {"--plugins", "api,metrics",
					   "--rate-limit", "0", NULL};

	cr_assert_eq(gbt_server_start(&server, args, NULL), 0,
		     "guestbookd did not start");
	gbt_prometheus_start(&prometheus, server.dir, server.port, NULL);
}

static void stop(void)
{
	gbt_prometheus_stop(&prometheus);
	if (server.pid > 0)
		gbt_server_stop(&server, 15);
}

TestSuite(metrics_prometheus, .init = start, .fini = stop, .timeout = 60);

/* Percent-encodes a PromQL expression for a query string. */
static void url_encode(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s && n + 4 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.~", c)) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
}

/*
 * Runs an instant query; returns the value of its first sample, or NAN
 * when the result is empty (or Prometheus does not answer yet).
 */
static double query(const char *promql)
{
	char path[1024], enc[900];
	struct gbt_response r;
	double v = NAN;

	url_encode(promql, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/query?query=%s", enc);
	if (gbt_http(prometheus.port, "GET", path, NULL, NULL, 0, &r) != 0)
		return NAN;

	cJSON *doc = r.status == 200 ? cJSON_Parse(r.body) : NULL;
	cJSON *result =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "data"), "result");
	cJSON *value =
	    cJSON_GetObjectItem(cJSON_GetArrayItem(result, 0), "value");
	cJSON *text = cJSON_GetArrayItem(value, 1);

	if (cJSON_IsString(text))
		v = strtod(text->valuestring, NULL);
	cJSON_Delete(doc);
	gbt_response_free(&r);
	return v;
}

struct traffic {
	volatile int stop;
	int answered;
};

static void *send_traffic(void *arg)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	struct traffic *t = arg;
	struct gbt_response r;
	char body[96];

	for (int i = 0; !t->stop; i++) {
		snprintf(body, sizeof(body),
			 "{\"author\":\"prom\",\"message\":\"scraped %d\"}", i);
		if (gbt_http(server.port, "POST", "/api/v1/messages", json,
			     body, strlen(body), &r) == 0) {
			t->answered++;
			gbt_response_free(&r);
		}
		if (gbt_http(server.port, "GET", "/api/v1/messages", NULL, NULL,
			     0, &r) == 0) {
			t->answered++;
			gbt_response_free(&r);
		}
		usleep(5000);
	}
	return NULL;
}

/* Polls `promql` until it holds `want` or the deadline passes. */
static double wait_for(const char *promql, bool (*want)(double),
		       double deadline)
{
	double v;

	do {
		v = query(promql);
		if (want(v))
			return v;
		usleep(500000);
	} while (now() < deadline);
	return v;
}

static bool is_one(double v)
{
	return v == 1;
}

static bool is_finite_positive(double v)
{
	return isfinite(v) && v > 0;
}

Test(metrics_prometheus, prometheus_scrapes_rates_and_latency_quantiles)
{
	struct traffic t = {0};
	pthread_t thread[2];
	double started = now();

	for (int i = 0; i < 2; i++)
		pthread_create(&thread[i], NULL, send_traffic, &t);

	double up = wait_for("up{job=\"guestbookd\"}", is_one, started + 15);

	if (up != 1)
		gbt_prometheus_print_log(&prometheus);
	cr_assert_eq(up, 1, "target not up (got %g)", up);

	/* rate() needs two scrapes of traffic; let about 15 s accumulate. */
	while (now() < started + 15)
		usleep(200000);

	double rate = wait_for("sum(rate(http_requests_total[1m]))",
			       is_finite_positive, now() + 10);
	double p99 =
	    wait_for("histogram_quantile(0.99, sum by (le) "
		     "(rate(http_request_duration_seconds_bucket[1m])))",
		     is_finite_positive, now() + 5);
	double created = query("guestbook_messages_created_total");
	double scrapes = query("sum(http_requests_total{route=\"/metrics\"})");

	t.stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(thread[i], NULL);
	if (!is_finite_positive(rate) || !is_finite_positive(p99))
		gbt_prometheus_print_log(&prometheus);
	cr_log_info("Prometheus saw %g requests/s, p99 %g s, %g scrapes", rate,
		    p99, scrapes);
	cr_assert(is_finite_positive(rate), "request rate %g", rate);
	cr_assert(is_finite_positive(p99), "p99 latency %g", p99);
	cr_assert_lt(p99, 10, "p99 %g s is within the buckets", p99);
	cr_assert_gt(created, 0, "messages created: %g", created);
	/* rate() needs two samples; on a loaded machine Prometheus starts
	 * scraping late, so more than that is not required. */
	cr_assert_geq(scrapes, 2, "Prometheus scraped %g times", scrapes);
	cr_assert_gt(t.answered, 100, "traffic answered: %d", t.answered);
	cr_assert_lt(now() - started, 40, "the test stays under 40 s");
}
