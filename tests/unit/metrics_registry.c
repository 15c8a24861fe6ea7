/*
 * The metrics registry: exact counts under concurrency, histogram bucket
 * placement, limits, validation and consistent snapshots.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

static char err[256];

static void setup(void)
{
	cr_assert_eq(gb_metrics_init(), 0);
}

static void teardown(void)
{
	gb_metrics_shutdown();
}

TestSuite(metrics_registry, .init = setup, .fini = teardown);

static struct gb_metric *reg(enum gb_metric_type type, const char *name,
			     const char *const *labels)
{
	return gb_metric_register(type, name, "help text", labels, NULL, 0, err,
				  sizeof(err));
}

/* ---- what a scrape sees, collected through gb_metrics_visit ---------- */

#define MAX_SEEN 4096

struct seen_series {
	char family[64];
	char labels[128]; /* values joined by "|" */
	double value;
	uint64_t count;
	double sum;
	uint64_t buckets[32];
	size_t nbuckets;
};

struct scrape {
	char families[64][64];
	enum gb_metric_type types[64];
	size_t nfamilies;
	struct seen_series *series;
	size_t nseries;
	int torn; /* histogram snapshots that were not consistent */
};

static void on_family(void *ud, const struct gb_metric_family_view *f)
{
	struct scrape *sc = ud;

	if (sc->nfamilies < 64) {
		snprintf(sc->families[sc->nfamilies], 64, "%s", f->name);
		sc->types[sc->nfamilies] = f->type;
		sc->nfamilies++;
	}
}

static void on_series(void *ud, const struct gb_metric_family_view *f,
		      const struct gb_series_view *s)
{
	struct scrape *sc = ud;

	if (f->type == GB_METRIC_HISTOGRAM) {
		for (size_t i = 1; i <= f->bucket_count; i++) {
			if (s->bucket_counts[i] < s->bucket_counts[i - 1])
				sc->torn++;
		}
		if (s->count != s->bucket_counts[f->bucket_count])
			sc->torn++;
	}
	if (sc->nseries == MAX_SEEN)
		return;

	struct seen_series *o = &sc->series[sc->nseries++];

	snprintf(o->family, sizeof(o->family), "%s", f->name);
	o->labels[0] = '\0';
	for (size_t i = 0; i < f->label_count; i++) {
		if (i)
			strcat(o->labels, "|");
		strncat(o->labels, s->label_values[i],
			sizeof(o->labels) - strlen(o->labels) - 2);
	}
	o->value = s->value;
	o->count = s->count;
	o->sum = s->sum;
	o->nbuckets = 0;
	if (f->type == GB_METRIC_HISTOGRAM) {
		o->nbuckets = f->bucket_count + 1;
		for (size_t i = 0; i < o->nbuckets && i < 32; i++)
			o->buckets[i] = s->bucket_counts[i];
	}
}

static const struct gb_metrics_visitor visitor = {on_family, on_series};

static void scrape(struct scrape *sc)
{
	static struct seen_series storage[MAX_SEEN];

	memset(sc, 0, sizeof(*sc));
	sc->series = storage;
	gb_metrics_visit(&visitor, sc);
}

static const struct seen_series *find(const struct scrape *sc,
				      const char *family, const char *labels)
{
	for (size_t i = 0; i < sc->nseries; i++) {
		if (strcmp(sc->series[i].family, family) == 0 &&
		    strcmp(sc->series[i].labels, labels) == 0)
			return &sc->series[i];
	}
	return NULL;
}

/* ---- counters --------------------------------------------------------- */

#define THREADS	   8
#define INCREMENTS 100000

struct counter_job {
	struct gb_metric *family;
	const char *route;
};

static void *count_up(void *arg)
{
	struct counter_job *job = arg;

	for (int i = 0; i < INCREMENTS; i++) {
		/* Look the series up every time, as the request path does. */
		const char *values[] = {"GET", job->route, "200"};

		gb_counter_add(gb_metric_series(job->family, values), 1);
	}
	return NULL;
}

Test(metrics_registry, counter_is_exact_with_8_threads_of_100k_increments)
{
	const char *labels[] = {"method", "route", "status", NULL};
	struct gb_metric *f = reg(GB_METRIC_COUNTER, "requests_total", labels);
	pthread_t t[THREADS];
	struct counter_job jobs[THREADS];

	cr_assert_not_null(f, "%s", err);
	for (int i = 0; i < THREADS; i++) {
		/* Two routes: threads race to create and to bump each. */
		jobs[i] = (struct counter_job){f, i % 2 ? "/a" : "/b"};
		pthread_create(&t[i], NULL, count_up, &jobs[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	struct scrape sc;

	scrape(&sc);
	cr_assert_eq(sc.nseries, 2, "one series per label set, got %zu",
		     sc.nseries);
	cr_assert_eq(find(&sc, "requests_total", "GET|/a|200")->value,
		     THREADS / 2 * INCREMENTS);
	cr_assert_eq(find(&sc, "requests_total", "GET|/b|200")->value,
		     THREADS / 2 * INCREMENTS);
}

Test(metrics_registry, same_labels_return_the_same_series)
{
	const char *labels[] = {"a", "b", NULL};
	struct gb_metric *f = reg(GB_METRIC_COUNTER, "pairs_total", labels);
	const char *ab_c[] = {"ab", "c"};
	const char *a_bc[] = {"a", "bc"};
	char copy[] = "ab";
	const char *ab_c_copy[] = {copy, "c"};

	cr_assert_not_null(f, "%s", err);
	struct gb_series *s1 = gb_metric_series(f, ab_c);
	struct gb_series *s2 = gb_metric_series(f, a_bc);

	cr_assert_not_null(s1);
	cr_assert_not_null(s2);
	cr_assert_neq(s1, s2, "values split differently are other series");
	cr_assert_eq(gb_metric_series(f, ab_c_copy), s1,
		     "label values are compared by content");
}

Test(metrics_registry, family_without_labels_has_one_series)
{
	struct gb_metric *f = reg(GB_METRIC_COUNTER, "created_total", NULL);

	cr_assert_not_null(f, "%s", err);
	struct gb_series *s = gb_metric_series(f, NULL);

	cr_assert_not_null(s);
	cr_assert_eq(gb_metric_series(f, NULL), s);
	gb_counter_add(s, 5);
	gb_counter_add(s, 0);

	struct scrape sc;

	scrape(&sc);
	cr_assert_eq(sc.nseries, 1);
	cr_assert_eq(sc.series[0].value, 5);
}

Test(metrics_registry, missing_label_values_get_no_series)
{
	const char *labels[] = {"a", "b", NULL};
	struct gb_metric *f = reg(GB_METRIC_COUNTER, "pairs_total", labels);
	const char *half[] = {"x", NULL};

	cr_assert_not_null(f, "%s", err);
	cr_assert_null(gb_metric_series(f, NULL));
	cr_assert_null(gb_metric_series(f, half));
	cr_assert_null(gb_metric_series(NULL, half));
	gb_counter_add(NULL, 1); /* a NULL series is ignored, not a crash */
	gb_gauge_set(NULL, 1);
	gb_gauge_add(NULL, 1);
	gb_histogram_observe(NULL, 1);
}

/* ---- gauges ----------------------------------------------------------- */

static void *gauge_up_down(void *arg)
{
	struct gb_series *s = arg;

	for (int i = 0; i < INCREMENTS; i++) {
		gb_gauge_add(s, 1);
		gb_gauge_add(s, -1);
		gb_gauge_add(s, 0.5);
	}
	return NULL;
}

Test(metrics_registry, gauge_set_and_concurrent_add_are_exact)
{
	struct gb_metric *f = reg(GB_METRIC_GAUGE, "in_flight", NULL);
	struct gb_series *s;
	pthread_t t[THREADS];
	struct scrape sc;

	cr_assert_not_null(f, "%s", err);
	s = gb_metric_series(f, NULL);
	scrape(&sc);
	cr_assert_eq(sc.series[0].value, 0.0, "a new gauge reads 0");

	gb_gauge_set(s, -2.5);
	scrape(&sc);
	cr_assert_eq(sc.series[0].value, -2.5);

	gb_gauge_set(s, 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, gauge_up_down, s);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	scrape(&sc);
	cr_assert_eq(sc.series[0].value, THREADS * INCREMENTS * 0.5,
		     "got %.17g", sc.series[0].value);
}

/* ---- histograms ------------------------------------------------------- */

Test(metrics_registry, histogram_le_is_inclusive_and_buckets_cumulative)
{
	const double bounds[] = {0.005, 0.01, 1};
	const char *labels[] = {"route", NULL};
	const char *values[] = {"/x"};
	struct gb_metric *f =
	    gb_metric_register(GB_METRIC_HISTOGRAM, "latency_seconds", "h",
			       labels, bounds, 3, err, sizeof(err));
	struct scrape sc;

	cr_assert_not_null(f, "%s", err);
	struct gb_series *s = gb_metric_series(f, values);

	gb_histogram_observe(s, -1);	    /* below everything: first */
	gb_histogram_observe(s, 0);	    /* first */
	gb_histogram_observe(s, 0.005);	    /* exactly on a bound: that one */
	gb_histogram_observe(s, 0.0050001); /* just above: the next */
	gb_histogram_observe(s, 0.01);	    /* on the second bound */
	gb_histogram_observe(s, 1);	    /* on the last finite bound */
	gb_histogram_observe(s, 1.0000001); /* +Inf */
	gb_histogram_observe(s, INFINITY);  /* +Inf */
	gb_histogram_observe(s, NAN);	    /* dropped */

	scrape(&sc);
	const struct seen_series *o = find(&sc, "latency_seconds", "/x");

	cr_assert_not_null(o);
	cr_assert_eq(o->nbuckets, 4);
	cr_assert_eq(o->buckets[0], 3, "le=0.005 got %lu",
		     (unsigned long)o->buckets[0]);
	cr_assert_eq(o->buckets[1], 5, "le=0.01 got %lu",
		     (unsigned long)o->buckets[1]);
	cr_assert_eq(o->buckets[2], 6, "le=1 got %lu",
		     (unsigned long)o->buckets[2]);
	cr_assert_eq(o->buckets[3], 8, "le=+Inf got %lu",
		     (unsigned long)o->buckets[3]);
	cr_assert_eq(o->count, 8);
	cr_assert(isinf(o->sum) && o->sum > 0, "sum includes +Inf");
}

Test(metrics_registry, histogram_sum_adds_observations)
{
	struct gb_metric *f = reg(GB_METRIC_HISTOGRAM, "size_bytes", NULL);
	struct gb_series *s;
	struct scrape sc;

	cr_assert_not_null(f, "%s", err);
	s = gb_metric_series(f, NULL);
	gb_histogram_observe(s, 0.25);
	gb_histogram_observe(s, 0.5);
	gb_histogram_observe(s, 2);
	scrape(&sc);
	cr_assert_eq(sc.series[0].sum, 2.75);
	cr_assert_eq(sc.series[0].count, 3);
}

Test(metrics_registry, default_buckets_span_100us_to_10s)
{
	struct gb_metric *f = reg(GB_METRIC_HISTOGRAM, "d_seconds", NULL);
	struct gb_series *s;
	struct scrape sc;

	cr_assert_not_null(f, "%s", err);
	s = gb_metric_series(f, NULL);
	gb_histogram_observe(s, 0.00005); /* 50 us */
	gb_histogram_observe(s, 0.0003);  /* 300 us */
	gb_histogram_observe(s, 7);
	scrape(&sc);
	cr_assert_eq(sc.series[0].nbuckets, 17, "16 bounds and +Inf");
	cr_assert_eq(sc.series[0].buckets[0], 1, "le=0.0001");
	cr_assert_eq(sc.series[0].buckets[1], 1, "le=0.00025");
	cr_assert_eq(sc.series[0].buckets[2], 2, "le=0.0005");
	cr_assert_eq(sc.series[0].buckets[14], 2, "le=5");
	cr_assert_eq(sc.series[0].buckets[15], 3, "le=10");
}

static void keep_view(void *ud, const struct gb_metric_family_view *f)
{
	*(struct gb_metric_family_view *)ud = *f;
}

Test(metrics_registry, family_view_describes_name_help_and_buckets)
{
	const char *labels[] = {"method", "route", NULL};
	const struct gb_metrics_visitor only_families = {keep_view, NULL};
	struct gb_metric_family_view seen = {0};

	cr_assert_not_null(reg(GB_METRIC_HISTOGRAM, "d_seconds", labels), "%s",
			   err);
	gb_metrics_visit(&only_families, &seen);
	cr_assert_str_eq(seen.name, "d_seconds");
	cr_assert_str_eq(seen.help, "help text");
	cr_assert_eq(seen.type, GB_METRIC_HISTOGRAM);
	cr_assert_eq(seen.label_count, 2);
	cr_assert_str_eq(seen.label_names[1], "route");
	cr_assert_eq(seen.bucket_count, 16);
	cr_assert_eq(seen.bucket_bounds[0], 0.0001);
	cr_assert_eq(seen.bucket_bounds[15], 10);
}

/* ---- limits and validation -------------------------------------------- */

Test(metrics_registry, series_limit_returns_null_and_keeps_old_series)
{
	const char *labels[] = {"path", NULL};
	struct gb_metric *f = reg(GB_METRIC_COUNTER, "paths_total", labels);
	char buf[32];
	const char *values[] = {buf};
	struct gb_series *first = NULL;

	cr_assert_not_null(f, "%s", err);
	for (int i = 0; i < GB_METRIC_MAX_SERIES; i++) {
		snprintf(buf, sizeof(buf), "/p%d", i);
		struct gb_series *s = gb_metric_series(f, values);

		cr_assert_not_null(s, "series %d of %d refused", i,
				   GB_METRIC_MAX_SERIES);
		if (i == 0)
			first = s;
	}
	snprintf(buf, sizeof(buf), "/one-too-many");
	cr_assert_null(gb_metric_series(f, values));
	snprintf(buf, sizeof(buf), "/p0");
	cr_assert_eq(gb_metric_series(f, values), first,
		     "existing series still found at the limit");

	struct scrape sc;

	scrape(&sc);
	cr_assert_eq(sc.nseries, GB_METRIC_MAX_SERIES);
	cr_assert_str_eq(sc.series[0].labels, "/p0", "creation order");
	cr_assert_str_eq(sc.series[1].labels, "/p1", "creation order");
}

Test(metrics_registry, bad_metric_names_are_refused)
{
	const char *bad[] = {"", "1abc", "a-b", "a b", "é", "a.b", "x{}"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_assert_null(reg(GB_METRIC_COUNTER, bad[i], NULL),
			       "\"%s\" accepted", bad[i]);
		cr_assert(strstr(err, "must match"), "error: %s", err);
	}
	cr_assert_null(reg(GB_METRIC_COUNTER, NULL, NULL));
	cr_assert_null(reg((enum gb_metric_type)9, "ok_name", NULL));
	cr_assert_not_null(reg(GB_METRIC_COUNTER, "ns:sub_total", NULL), "%s",
			   err);
	cr_assert_not_null(reg(GB_METRIC_GAUGE, "_x9", NULL), "%s", err);
}

Test(metrics_registry, bad_label_names_are_refused)
{
	const char *reserved[] = {"__name", NULL};
	const char *twice[] = {"route", "method", "route", NULL};
	const char *colon[] = {"a:b", NULL};
	const char *digit[] = {"1a", NULL};
	const char *empty[] = {"", NULL};
	const char *le[] = {"le", NULL};
	const char *nine[] = {"a", "b", "c", "d", "e",
			      "f", "g", "h", "i", NULL};
	const char *eight[] = {"a", "b", "c", "d", "e", "f", "g", "h", NULL};

	cr_assert_null(reg(GB_METRIC_COUNTER, "m1", reserved));
	cr_assert(strstr(err, "reserved"), "error: %s", err);
	cr_assert_null(reg(GB_METRIC_COUNTER, "m2", twice));
	cr_assert(strstr(err, "repeated"), "error: %s", err);
	cr_assert_null(reg(GB_METRIC_COUNTER, "m3", colon));
	cr_assert_null(reg(GB_METRIC_COUNTER, "m4", digit));
	cr_assert_null(reg(GB_METRIC_COUNTER, "m5", empty));
	cr_assert_null(reg(GB_METRIC_HISTOGRAM, "m6", le));
	cr_assert_not_null(reg(GB_METRIC_COUNTER, "m7", le),
			   "le is only reserved in histograms: %s", err);
	cr_assert_null(reg(GB_METRIC_COUNTER, "m8", nine));
	cr_assert(strstr(err, "more than 8"), "error: %s", err);
	cr_assert_not_null(reg(GB_METRIC_COUNTER, "m9", eight), "%s", err);
}

Test(metrics_registry, bad_buckets_are_refused)
{
	const double descending[] = {1, 0.5};
	const double equal[] = {1, 1};
	const double inf[] = {1, INFINITY};
	const double nan[] = {NAN};
	const double one[] = {1};
	double many[65];

	for (int i = 0; i < 65; i++)
		many[i] = i;
#define REG_B(name, b, n)                                                      \
	gb_metric_register(GB_METRIC_HISTOGRAM, name, "h", NULL, b, n, err,    \
			   sizeof(err))
	cr_assert_null(REG_B("h1", descending, 2));
	cr_assert(strstr(err, "ascending"), "error: %s", err);
	cr_assert_null(REG_B("h2", equal, 2));
	cr_assert_null(REG_B("h3", inf, 2));
	cr_assert(strstr(err, "finite"), "error: %s", err);
	cr_assert_null(REG_B("h4", nan, 1));
	cr_assert_null(REG_B("h5", NULL, 3));
	cr_assert_null(REG_B("h6", many, 65));
	cr_assert_not_null(REG_B("h7", many, 64), "%s", err);
	cr_assert_not_null(REG_B("h8", one, 1), "%s", err);
#undef REG_B
	cr_assert_null(gb_metric_register(GB_METRIC_COUNTER, "c1", "h", NULL,
					  one, 1, err, sizeof(err)),
		       "a counter with buckets");
}

Test(metrics_registry, duplicate_names_are_refused)
{
	cr_assert_not_null(reg(GB_METRIC_COUNTER, "dup_total", NULL));
	cr_assert_null(reg(GB_METRIC_COUNTER, "dup_total", NULL));
	cr_assert(strstr(err, "already registered"), "error: %s", err);
	cr_assert_null(reg(GB_METRIC_GAUGE, "dup_total", NULL));

	/* A histogram's samples take NAME_bucket, NAME_sum, NAME_count. */
	cr_assert_not_null(reg(GB_METRIC_HISTOGRAM, "lat", NULL));
	cr_assert_null(reg(GB_METRIC_COUNTER, "lat_count", NULL));
	cr_assert_null(reg(GB_METRIC_GAUGE, "lat_sum", NULL));
	cr_assert_null(reg(GB_METRIC_GAUGE, "lat_bucket", NULL));
	cr_assert_not_null(reg(GB_METRIC_GAUGE, "lat_total", NULL));
	cr_assert_not_null(reg(GB_METRIC_GAUGE, "size_count", NULL));
	cr_assert_null(reg(GB_METRIC_HISTOGRAM, "size", NULL));
}

/* Plugins counting one thing (api and web: messages created) share it. */
Test(metrics_registry, shared_families_are_returned_to_the_same_definition)
{
	static const char *const labels[] = {"route", NULL};
	static const char *const other[] = {"path", NULL};
	struct gb_metric *first, *again;

	first = gb_metric_register_shared(GB_METRIC_COUNTER, "posts_total",
					  "Posts.", labels, NULL, 0, err,
					  sizeof(err));
	cr_assert_not_null(first, "%s", err);
	again = gb_metric_register_shared(GB_METRIC_COUNTER, "posts_total",
					  "Posts.", labels, NULL, 0, err,
					  sizeof(err));
	cr_assert_eq(again, first, "the same family, not a second one");
	cr_assert_null(gb_metric_register_shared(
	    GB_METRIC_COUNTER, "posts_total", "Other help.", labels, NULL, 0,
	    err, sizeof(err)));
	cr_assert(strstr(err, "already registered"), "error: %s", err);
	cr_assert_null(gb_metric_register_shared(GB_METRIC_COUNTER,
						 "posts_total", "Posts.", other,
						 NULL, 0, err, sizeof(err)));
	cr_assert_null(gb_metric_register_shared(GB_METRIC_GAUGE, "posts_total",
						 "Posts.", labels, NULL, 0, err,
						 sizeof(err)));

	/* A family registered unshared (the host's) is never handed out. */
	cr_assert_not_null(reg(GB_METRIC_COUNTER, "host_total", NULL));
	cr_assert_null(gb_metric_register_shared(
	    GB_METRIC_COUNTER, "host_total", "help text", NULL, NULL, 0, err,
	    sizeof(err)));
}

Test(metrics_registry, visit_follows_registration_order)
{
	const char *names[] = {"zeta", "alpha", "mid_total", "beta_seconds"};
	const enum gb_metric_type types[] = {GB_METRIC_GAUGE, GB_METRIC_COUNTER,
					     GB_METRIC_COUNTER,
					     GB_METRIC_HISTOGRAM};
	struct scrape sc;

	for (int i = 0; i < 4; i++)
		cr_assert_not_null(reg(types[i], names[i], NULL), "%s", err);
	scrape(&sc);
	cr_assert_eq(sc.nfamilies, 4);
	for (int i = 0; i < 4; i++) {
		cr_assert_str_eq(sc.families[i], names[i]);
		cr_assert_eq(sc.types[i], types[i]);
	}
	cr_assert_eq(sc.nseries, 0, "no series until one is used");
}

/* ---- snapshots while writers run -------------------------------------- */

struct writer {
	struct gb_metric *hist;
	struct gb_metric *counter;
	atomic_int *stop;
	atomic_uint done; /* observations made so far */
	int id;
};

static void *write_until_stopped(void *arg)
{
	struct writer *w = arg;
	char route[16];
	const char *values[] = {route};
	unsigned x = (unsigned)w->id * 2654435761u + 1;

	for (unsigned i = 0; !atomic_load(w->stop); i++) {
		snprintf(route, sizeof(route), "/r%u", i % 50);
		x = x * 1103515245u + 12345u;
		gb_histogram_observe(gb_metric_series(w->hist, values),
				     (x >> 8) % 20000 / 1000.0);
		gb_counter_add(gb_metric_series(w->counter, values), 1);
		atomic_store(&w->done, i + 1);
	}
	return NULL;
}

Test(metrics_registry, visit_snapshots_are_consistent_while_writers_run)
{
	const char *labels[] = {"route", NULL};
	atomic_int stop = 0;
	struct writer w[4];
	pthread_t t[4];
	double last_total = 0;

	w[0].hist = reg(GB_METRIC_HISTOGRAM, "op_seconds", labels);
	w[0].counter = reg(GB_METRIC_COUNTER, "op_total", labels);
	cr_assert_not_null(w[0].hist, "%s", err);
	cr_assert_not_null(w[0].counter, "%s", err);
	for (int i = 0; i < 4; i++) {
		w[i].hist = w[0].hist;
		w[i].counter = w[0].counter;
		w[i].stop = &stop;
		atomic_init(&w[i].done, 0);
		w[i].id = i;
		pthread_create(&t[i], NULL, write_until_stopped, &w[i]);
	}
	for (int round = 0; round < 200; round++) {
		struct scrape sc;
		double total = 0;

		scrape(&sc);
		cr_assert_eq(sc.torn, 0, "round %d: torn histogram", round);
		for (size_t i = 0; i < sc.nseries; i++) {
			if (strcmp(sc.series[i].family, "op_total") == 0)
				total += sc.series[i].value;
		}
		cr_assert_geq(total, last_total, "counters went backwards");
		last_total = total;
	}
	/* Let every writer cover all 50 routes, however slow the build. */
	for (int i = 0; i < 4; i++) {
		while (atomic_load(&w[i].done) < 1000)
			sched_yield();
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);

	/* Quiet now: every histogram count equals its counter twin. */
	struct scrape sc;

	scrape(&sc);
	cr_assert_eq(sc.nseries, 100, "50 routes in 2 families");
	for (size_t i = 0; i < sc.nseries; i++) {
		const struct seen_series *h = &sc.series[i];

		if (strcmp(h->family, "op_seconds") != 0)
			continue;
		const struct seen_series *c = find(&sc, "op_total", h->labels);

		cr_assert_not_null(c);
		cr_assert_eq((double)h->count, c->value, "route %s", h->labels);
	}
}
