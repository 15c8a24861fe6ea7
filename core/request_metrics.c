#include "request_metrics.h"

#include "metrics.h"
#include "request.h"
#include "router.h"
#include "trace.h"

static struct gb_metric *requests_total, *request_duration;
static struct gb_series *in_flight;

int gb_request_metrics_prepare(char *err, size_t errlen)
{
	static const char *const req_labels[] = {"method", "route", "status",
						 NULL};
	static const char *const dur_labels[] = {"method", "route", NULL};
	requests_total = gb_metric_register(
	    GB_METRIC_COUNTER, "http_requests_total",
	    "HTTP requests by method, route template and status.", req_labels,
	    NULL, 0, err, errlen);
	request_duration = gb_metric_register(
	    GB_METRIC_HISTOGRAM, "http_request_duration_seconds",
	    "HTTP request duration in seconds, by method and route.",
	    dur_labels, NULL, 0, err, errlen);
	struct gb_metric *inf = gb_metric_register(
	    GB_METRIC_GAUGE, "http_requests_in_flight",
	    "HTTP requests being served now.", NULL, NULL, 0, err, errlen);
	if (!requests_total || !request_duration || !inf)
		return -1;
	in_flight = gb_metric_series(inf, NULL);
	return 0;
}

void gb_request_metrics_in_flight(int delta)
{
	gb_gauge_add(in_flight, delta);
}

void gb_request_metrics_count(const struct gb_request *req, const char *route,
			      double elapsed)
{
	const char *method = gb_method_name(req->method);
	char status[4] = "000";
	int s = req->status;
	if (s >= 100 && s <= 999) {
		status[0] = (char)('0' + s / 100);
		status[1] = (char)('0' + s / 10 % 10);
		status[2] = (char)('0' + s % 10);
	}
	const char *rl[] = {method ? method : "OTHER", route, status};
	const char *dl[] = {rl[0], route};
	gb_counter_add(gb_metric_series(requests_total, rl), 1);
	struct gb_series *d = gb_metric_series(request_duration, dl);
	gb_histogram_observe(d, elapsed);
	if (gb_trace_on)
		gb_trace_exemplar(d, elapsed);
}
