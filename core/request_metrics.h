/*
 * request_metrics.h - the host's HTTP metrics: http_requests_total (by
 * method, route template and status), http_request_duration_seconds (by
 * method and route) and http_requests_in_flight.
 */
#ifndef GB_CORE_REQUEST_METRICS_H
#define GB_CORE_REQUEST_METRICS_H

#include <stddef.h>

struct gb_request;

/* Registers the metrics. Before plugins. -1 and err on failure. */
int gb_request_metrics_prepare(char *err, size_t errlen);

/* A request began (+1) or ended (-1): http_requests_in_flight. */
void gb_request_metrics_in_flight(int delta);

/*
 * Counts the answered request under `route` (its template, or "other")
 * with its duration `elapsed` in seconds. Called before the response
 * leaves, so that a client that saw its answer also sees it counted in
 * the next scrape.
 */
void gb_request_metrics_count(const struct gb_request *req, const char *route,
			      double elapsed);

#endif
