/*
 * metrics.h - the core's metrics registry (counters, gauges, histograms
 * with labels). Lock-free on the request path: series lookup reads atomic
 * slots of an open-addressed table, updates are atomic adds. The host
 * offers it to plugins through struct gb_host_api; the exporter is the
 * `metrics` plugin.
 */
#ifndef GB_CORE_METRICS_H
#define GB_CORE_METRICS_H

#include "guestbook/plugin.h"

/* Most series one family may hold; lookups past it return NULL. */
#define GB_METRIC_MAX_SERIES 2048
#define GB_METRIC_MAX_LABELS 8

/* Creates the global registry. Call once at start-up. 0 on success. */
int gb_metrics_init(void);

/* Frees the registry and every family. */
void gb_metrics_shutdown(void);

/*
 * Registers a family (see gb_host_api.metric_register). `owner` names the
 * registering plugin or "core" in error messages. Returns NULL and fills
 * err on a bad or duplicate name, bad labels or bad buckets.
 */
struct gb_metric *gb_metric_register(enum gb_metric_type type, const char *name,
				     const char *help,
				     const char *const *label_names,
				     const double *buckets, size_t bucket_count,
				     char *err, size_t errlen);

/*
 * The same for a plugin's family: a family registered this way with the
 * same name, type, help, labels and buckets is returned again, so plugins
 * that count one thing share it. A name the host took, or another
 * definition, is refused as a duplicate.
 */
struct gb_metric *gb_metric_register_shared(enum gb_metric_type type,
					    const char *name, const char *help,
					    const char *const *label_names,
					    const double *buckets,
					    size_t bucket_count, char *err,
					    size_t errlen);

/* See gb_host_api: metric_series, counter_add, gauge_set, gauge_add,
 * histogram_observe, metrics_visit. */
struct gb_series *gb_metric_series(struct gb_metric *family,
				   const char *const *label_values);
void gb_counter_add(struct gb_series *s, uint64_t n);
void gb_gauge_set(struct gb_series *s, double v);
void gb_gauge_add(struct gb_series *s, double delta);
void gb_histogram_observe(struct gb_series *s, double v);
/*
 * Keeps (trace_id, span_id, v, now) as the exemplar of the bucket v falls
 * into; skipped while a scrape or another observer holds that bucket's.
 */
void gb_histogram_exemplar(struct gb_series *s, double v, const char *trace_id,
			   const char *span_id);
void gb_metrics_visit(const struct gb_metrics_visitor *v, void *ud);

#endif
