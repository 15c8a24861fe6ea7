/*
 * metrics.c - the metrics registry: families of counters, gauges and
 * histograms, each with a fixed-capacity open-addressed table of series.
 *
 * The request path never takes a lock. Looking a series up reads atomic
 * slot pointers only; creating one allocates it, fills it, and publishes it
 * with a compare-and-swap into an empty slot (the loser of a race frees its
 * copy and uses the winner's). Series are never removed before shutdown,
 * so a pointer once published stays valid. Registration and visiting take
 * the registry mutex: they happen at start-up and at scrape time.
 */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Slots per family: twice the series limit keeps probe chains short. */
#define TABLE_SLOTS (2 * GB_METRIC_MAX_SERIES)
/* Most buckets a histogram may have, so a scrape needs no allocation. */
#define MAX_BUCKETS 64

static const double default_buckets[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,	    2.5,   5,	 10,
};

/* The last traced observation of one histogram bucket. `busy` is a
 * try-lock: an observer that finds it taken skips the exemplar. */
struct exemplar_slot {
	_Atomic int busy;
	int set;
	double value, ts;
	char trace_id[33], span_id[17];
};

struct gb_series {
	const struct gb_metric *family;
	struct exemplar_slot *exemplars; /* histogram: bucket_count + 1 */
	uint64_t hash;
	const char **label_values;  /* label_count strings, in this block */
	_Atomic uint64_t value;	    /* counter count, or gauge double bits */
	_Atomic uint64_t sum_bits;  /* histogram: sum as double bits */
	_Atomic uint64_t buckets[]; /* histogram: bucket_count + 1, +Inf last */
};

struct gb_metric {
	struct gb_metric_family_view view;
	char *name;
	char *help;
	char *label_names[GB_METRIC_MAX_LABELS + 1];
	double *bounds;
	_Atomic(struct gb_series *) slots[TABLE_SLOTS];
	/* Series in creation order, for a stable exposition. */
	_Atomic(struct gb_series *) order[GB_METRIC_MAX_SERIES];
	_Atomic size_t reserved; /* series counted against the limit */
	_Atomic size_t created;	 /* entries of `order` handed out */
	int shared;		 /* gb_metric_register_shared: may be reused */
	struct gb_metric *next;
};

static struct {
	pthread_mutex_t lock;
	struct gb_metric *head;
	struct gb_metric *tail;
} registry = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t double_bits(double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	return bits;
}

static double bits_double(uint64_t bits)
{
	double v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

int gb_metrics_init(void)
{
	pthread_mutex_lock(&registry.lock);
	registry.head = NULL;
	registry.tail = NULL;
	pthread_mutex_unlock(&registry.lock);
	return 0;
}

static void family_free(struct gb_metric *f)
{
	for (size_t i = 0; i < TABLE_SLOTS; i++)
		free(atomic_load_explicit(&f->slots[i], memory_order_relaxed));
	for (size_t i = 0; i < f->view.label_count; i++)
		free(f->label_names[i]);
	free(f->bounds);
	free(f->help);
	free(f->name);
	free(f);
}

void gb_metrics_shutdown(void)
{
	pthread_mutex_lock(&registry.lock);
	struct gb_metric *f = registry.head;

	while (f) {
		struct gb_metric *next = f->next;

		family_free(f);
		f = next;
	}
	registry.head = NULL;
	registry.tail = NULL;
	pthread_mutex_unlock(&registry.lock);
}

/* ---- validation ------------------------------------------------------ */

static bool valid_metric_name(const char *s)
{
	static const char first[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:";

	if (!s || !*s || !strchr(first, *s))
		return false;
	for (s++; *s; s++) {
		if (!strchr(first, *s) && !(*s >= '0' && *s <= '9'))
			return false;
	}
	return true;
}

static bool valid_label_name(const char *s)
{
	if (!s || !*s || strchr(s, ':'))
		return false;
	return valid_metric_name(s);
}

/* Writes the first problem with the label names into err; 0 if none. */
static int check_labels(enum gb_metric_type type, const char *const *names,
			size_t *count, char *err, size_t errlen)
{
	size_t n = 0;

	for (; names && names[n]; n++) {
		const char *l = names[n];

		if (n == GB_METRIC_MAX_LABELS) {
			snprintf(err, errlen, "more than %d labels",
				 GB_METRIC_MAX_LABELS);
			return -1;
		}
		if (!valid_label_name(l)) {
			snprintf(err, errlen,
				 "label name \"%s\" must match "
				 "[a-zA-Z_][a-zA-Z0-9_]*",
				 l);
			return -1;
		}
		if (strncmp(l, "__", 2) == 0) {
			snprintf(err, errlen,
				 "label name \"%s\": names starting with __ "
				 "are reserved",
				 l);
			return -1;
		}
		if (type == GB_METRIC_HISTOGRAM && strcmp(l, "le") == 0) {
			snprintf(err, errlen,
				 "label name \"le\" is reserved for buckets");
			return -1;
		}
		for (size_t j = 0; j < n; j++) {
			if (strcmp(names[j], l) == 0) {
				snprintf(err, errlen, "label \"%s\" repeated",
					 l);
				return -1;
			}
		}
	}
	*count = n;
	return 0;
}

static int check_buckets(enum gb_metric_type type, const double *b, size_t n,
			 char *err, size_t errlen)
{
	if (type != GB_METRIC_HISTOGRAM) {
		if (b || n) {
			snprintf(err, errlen, "only histograms take buckets");
			return -1;
		}
		return 0;
	}
	if (!b && n) {
		snprintf(err, errlen, "bucket_count %zu without buckets", n);
		return -1;
	}
	if (b && !n) {
		snprintf(err, errlen, "buckets given with a bucket_count of 0");
		return -1;
	}
	if (n > MAX_BUCKETS) {
		snprintf(err, errlen, "%zu buckets, at most %d", n,
			 MAX_BUCKETS);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(b[i])) {
			snprintf(err, errlen,
				 "bucket %zu is not finite (+Inf is implicit)",
				 i);
			return -1;
		}
		if (i > 0 && !(b[i] > b[i - 1])) {
			snprintf(err, errlen,
				 "buckets must be strictly ascending (bucket "
				 "%zu: %g after %g)",
				 i, b[i], b[i - 1]);
			return -1;
		}
	}
	return 0;
}

/*
 * True if `name` is taken by a family or by a sample name a histogram
 * family exposes (NAME_bucket, NAME_sum, NAME_count). Registry locked.
 */
static bool name_taken(const char *name, enum gb_metric_type type)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	size_t len = strlen(name);

	for (struct gb_metric *f = registry.head; f; f = f->next) {
		size_t flen = strlen(f->name);

		if (strcmp(f->name, name) == 0)
			return true;
		for (size_t i = 0; i < 3; i++) {
			size_t slen = strlen(suffixes[i]);

			if (f->view.type == GB_METRIC_HISTOGRAM &&
			    len == flen + slen &&
			    strncmp(name, f->name, flen) == 0 &&
			    strcmp(name + flen, suffixes[i]) == 0)
				return true;
			if (type == GB_METRIC_HISTOGRAM && flen == len + slen &&
			    strncmp(f->name, name, len) == 0 &&
			    strcmp(f->name + len, suffixes[i]) == 0)
				return true;
		}
	}
	return false;
}

/* ---- registration ---------------------------------------------------- */

static struct gb_metric *family_new(enum gb_metric_type type, const char *name,
				    const char *help, const char *const *labels,
				    size_t label_count, const double *buckets,
				    size_t bucket_count)
{
	struct gb_metric *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	f->bounds = malloc((bucket_count ? bucket_count : 1) * sizeof(double));
	if (!f->name || !f->help || !f->bounds)
		goto fail;
	if (bucket_count)
		memcpy(f->bounds, buckets, bucket_count * sizeof(double));
	for (size_t i = 0; i < label_count; i++) {
		f->label_names[i] = strdup(labels[i]);
		if (!f->label_names[i])
			goto fail;
		f->view.label_count = i + 1;
	}
	f->view.name = f->name;
	f->view.help = f->help;
	f->view.type = type;
	f->view.label_names = (const char *const *)f->label_names;
	f->view.bucket_count = bucket_count;
	f->view.bucket_bounds = f->bounds;
	return f;
fail:
	family_free(f);
	return NULL;
}

/* Whether family `f` was registered shared with exactly this definition. */
static bool same_shared_family(const struct gb_metric *f,
			       enum gb_metric_type type, const char *help,
			       const char *const *labels, size_t label_count,
			       const double *buckets, size_t bucket_count)
{
	if (!f->shared || f->view.type != type ||
	    strcmp(f->help, help ? help : "") != 0 ||
	    f->view.label_count != label_count ||
	    f->view.bucket_count != bucket_count)
		return false;
	for (size_t i = 0; i < label_count; i++)
		if (strcmp(f->label_names[i], labels[i]) != 0)
			return false;
	for (size_t i = 0; i < bucket_count; i++)
		if (double_bits(f->bounds[i]) != double_bits(buckets[i]))
			return false;
	return true;
}

static struct gb_metric *
register_family(enum gb_metric_type type, const char *name, const char *help,
		const char *const *label_names, const double *buckets,
		size_t bucket_count, int shared, char *err, size_t errlen)
{
	size_t label_count = 0;
	struct gb_metric *f;

	if (type != GB_METRIC_COUNTER && type != GB_METRIC_GAUGE &&
	    type != GB_METRIC_HISTOGRAM) {
		snprintf(err, errlen, "metric %s: unknown type %d",
			 name ? name : "(null)", (int)type);
		return NULL;
	}
	if (!valid_metric_name(name)) {
		snprintf(err, errlen,
			 "metric name \"%s\" must match "
			 "[a-zA-Z_:][a-zA-Z0-9_:]*",
			 name ? name : "(null)");
		return NULL;
	}
	char why[160];

	if (check_labels(type, label_names, &label_count, why, sizeof(why)) ||
	    check_buckets(type, buckets, bucket_count, why, sizeof(why))) {
		snprintf(err, errlen, "metric %s: %s", name, why);
		return NULL;
	}
	if (type == GB_METRIC_HISTOGRAM && !buckets) {
		buckets = default_buckets;
		bucket_count = sizeof(default_buckets) / sizeof(double);
	}
	pthread_mutex_lock(&registry.lock);
	if (name_taken(name, type)) {
		for (f = registry.head; shared && f; f = f->next) {
			if (strcmp(f->name, name) != 0)
				continue;
			if (!same_shared_family(f, type, help, label_names,
						label_count, buckets,
						bucket_count))
				break;
			pthread_mutex_unlock(&registry.lock);
			return f;
		}
		pthread_mutex_unlock(&registry.lock);
		snprintf(err, errlen, "metric %s is already registered", name);
		return NULL;
	}
	f = family_new(type, name, help, label_names, label_count, buckets,
		       bucket_count);
	if (!f) {
		pthread_mutex_unlock(&registry.lock);
		snprintf(err, errlen, "metric %s: out of memory", name);
		return NULL;
	}
	f->shared = shared;
	if (registry.tail)
		registry.tail->next = f;
	else
		registry.head = f;
	registry.tail = f;
	pthread_mutex_unlock(&registry.lock);
	return f;
}

struct gb_metric *gb_metric_register(enum gb_metric_type type, const char *name,
				     const char *help,
				     const char *const *label_names,
				     const double *buckets, size_t bucket_count,
				     char *err, size_t errlen)
{
	return register_family(type, name, help, label_names, buckets,
			       bucket_count, 0, err, errlen);
}

struct gb_metric *gb_metric_register_shared(enum gb_metric_type type,
					    const char *name, const char *help,
					    const char *const *label_names,
					    const double *buckets,
					    size_t bucket_count, char *err,
					    size_t errlen)
{
	return register_family(type, name, help, label_names, buckets,
			       bucket_count, 1, err, errlen);
}

/* ---- series ---------------------------------------------------------- */

/* FNV-1a over the values, each followed by a 0xff byte (never in UTF-8). */
static uint64_t labels_hash(const char *const *values, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i];
		     *p; p++) {
			h ^= *p;
			h *= 1099511628211ULL;
		}
		h ^= 0xff;
		h *= 1099511628211ULL;
	}
	return h;
}

static bool series_matches(const struct gb_series *s, uint64_t hash,
			   const char *const *values, size_t n)
{
	if (s->hash != hash)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s->label_values[i], values[i]) != 0)
			return false;
	}
	return true;
}

/*
 * One allocation: the series, its buckets, the value pointers, the text,
 * then (histograms) one exemplar slot per bucket.
 */
static struct gb_series *series_new(const struct gb_metric *f, uint64_t hash,
				    const char *const *values)
{
	size_t n = f->view.label_count;
	size_t nbuckets =
	    f->view.type == GB_METRIC_HISTOGRAM ? f->view.bucket_count + 1 : 0;
	size_t head =
	    sizeof(struct gb_series) + nbuckets * sizeof(_Atomic uint64_t);
	size_t text = 0;

	head = (head + sizeof(char *) - 1) / sizeof(char *) * sizeof(char *);
	for (size_t i = 0; i < n; i++)
		text += strlen(values[i]) + 1;

	size_t ex = head + n * sizeof(char *) + text;

	ex = (ex + _Alignof(struct exemplar_slot) - 1) /
	     _Alignof(struct exemplar_slot) * _Alignof(struct exemplar_slot);

	struct gb_series *s =
	    malloc(ex + nbuckets * sizeof(struct exemplar_slot));

	if (!s)
		return NULL;
	s->family = f;
	s->hash = hash;
	s->exemplars =
	    nbuckets ? (struct exemplar_slot *)((char *)s + ex) : NULL;
	for (size_t i = 0; i < nbuckets; i++) {
		atomic_init(&s->exemplars[i].busy, 0);
		s->exemplars[i].set = 0;
	}
	s->label_values = (const char **)((char *)s + head);
	char *p = (char *)s + head + n * sizeof(char *);

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(values[i]) + 1;

		memcpy(p, values[i], len);
		s->label_values[i] = p;
		p += len;
	}
	atomic_init(&s->value,
		    f->view.type == GB_METRIC_GAUGE ? double_bits(0.0) : 0);
	atomic_init(&s->sum_bits, double_bits(0.0));
	for (size_t i = 0; i < nbuckets; i++)
		atomic_init(&s->buckets[i], 0);
	return s;
}

/*
 * Publishes a new series into the empty slot `slot` (found by the probe).
 * Returns the series now in the slot: ours, or a racing winner's with the
 * same labels; NULL when the slot went to other labels (the caller probes
 * on) or when out of memory / over the limit (*stop set).
 */
static struct gb_series *series_insert(struct gb_metric *f, size_t slot,
				       uint64_t hash, const char *const *values,
				       bool *stop)
{
	size_t n = f->view.label_count;

	if (atomic_fetch_add(&f->reserved, 1) >= GB_METRIC_MAX_SERIES) {
		atomic_fetch_sub(&f->reserved, 1);
		*stop = true;
		return NULL;
	}
	struct gb_series *mine = series_new(f, hash, values);

	if (!mine) {
		atomic_fetch_sub(&f->reserved, 1);
		*stop = true;
		return NULL;
	}
	struct gb_series *expected = NULL;

	if (atomic_compare_exchange_strong_explicit(&f->slots[slot], &expected,
						    mine, memory_order_acq_rel,
						    memory_order_acquire)) {
		size_t idx = atomic_fetch_add(&f->created, 1);

		atomic_store_explicit(&f->order[idx], mine,
				      memory_order_release);
		return mine;
	}
	free(mine);
	atomic_fetch_sub(&f->reserved, 1);
	return series_matches(expected, hash, values, n) ? expected : NULL;
}

struct gb_series *gb_metric_series(struct gb_metric *f,
				   const char *const *values)
{
	size_t n;

	if (!f)
		return NULL;
	n = f->view.label_count;
	if (n && !values)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!values[i])
			return NULL;
	}

	uint64_t hash = labels_hash(values, n);
	size_t slot = hash % TABLE_SLOTS;

	for (size_t probes = 0; probes < TABLE_SLOTS; probes++) {
		struct gb_series *s =
		    atomic_load_explicit(&f->slots[slot], memory_order_acquire);
		bool stop = false;

		if (!s)
			s = series_insert(f, slot, hash, values, &stop);
		else if (!series_matches(s, hash, values, n))
			s = NULL;
		if (s || stop)
			return s;
		/* Other labels hold the slot; slots never empty again, so
		 * every thread looking for our labels walks the same chain
		 * and meets at the first empty slot. */
		slot = (slot + 1) % TABLE_SLOTS;
	}
	return NULL;
}

/* ---- updates --------------------------------------------------------- */

void gb_counter_add(struct gb_series *s, uint64_t n)
{
	if (s)
		atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

void gb_gauge_set(struct gb_series *s, double v)
{
	if (s)
		atomic_store_explicit(&s->value, double_bits(v),
				      memory_order_relaxed);
}

static void add_double(_Atomic uint64_t *bits, double delta)
{
	uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(
	    bits, &old, double_bits(bits_double(old) + delta),
	    memory_order_relaxed, memory_order_relaxed))
		;
}

void gb_gauge_add(struct gb_series *s, double delta)
{
	if (s)
		add_double(&s->value, delta);
}

/* Index of the first bound >= v (le is inclusive); n means +Inf. */
static size_t bucket_index(const double *bounds, size_t n, double v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v <= bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Counts the observation in its bucket, then adds it to the sum. A NaN is
 * dropped: it would turn the sum into NaN for the life of the process.
 */
void gb_histogram_observe(struct gb_series *s, double v)
{
	if (!s || isnan(v) || s->family->view.type != GB_METRIC_HISTOGRAM)
		return;

	const struct gb_metric_family_view *fv = &s->family->view;
	size_t i = bucket_index(fv->bucket_bounds, fv->bucket_count, v);

	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	add_double(&s->sum_bits, v);
}

void gb_histogram_exemplar(struct gb_series *s, double v, const char *trace_id,
			   const char *span_id)
{
	if (!s || !s->exemplars || isnan(v))
		return;

	const struct gb_metric_family_view *fv = &s->family->view;
	struct exemplar_slot *e =
	    &s->exemplars[bucket_index(fv->bucket_bounds, fv->bucket_count, v)];
	struct timespec ts;

	if (atomic_exchange_explicit(&e->busy, 1, memory_order_acquire))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	e->value = v;
	e->ts = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	strncpy(e->trace_id, trace_id, sizeof(e->trace_id) - 1);
	e->trace_id[sizeof(e->trace_id) - 1] = '\0';
	strncpy(e->span_id, span_id, sizeof(e->span_id) - 1);
	e->span_id[sizeof(e->span_id) - 1] = '\0';
	e->set = 1;
	atomic_store_explicit(&e->busy, 0, memory_order_release);
}

/* ---- visiting -------------------------------------------------------- */

/* A scrape's copy of the exemplars of one series. */
struct exemplar_copy {
	struct gb_exemplar view;
	char trace_id[33], span_id[17];
};

static void snapshot_exemplars(struct gb_series *s, size_t nbounds,
			       struct exemplar_copy *copy,
			       struct gb_exemplar *views,
			       struct gb_series_view *sv)
{
	for (size_t i = 0; i <= nbounds; i++) {
		struct exemplar_slot *e = &s->exemplars[i];

		while (
		    atomic_exchange_explicit(&e->busy, 1, memory_order_acquire))
			sched_yield();
		memset(&views[i], 0, sizeof(views[i]));
		if (e->set) {
			memcpy(copy[i].trace_id, e->trace_id, 33);
			memcpy(copy[i].span_id, e->span_id, 17);
			views[i].trace_id = copy[i].trace_id;
			views[i].span_id = copy[i].span_id;
			views[i].value = e->value;
			views[i].timestamp = e->ts;
		}
		atomic_store_explicit(&e->busy, 0, memory_order_release);
	}
	sv->exemplars = views;
}

/*
 * A histogram's snapshot: each bucket is read once and accumulated, so the
 * cumulative counts never decrease along le and count equals +Inf even
 * while observations land.
 */
static void snapshot_histogram(const struct gb_series *s, size_t nbounds,
			       uint64_t *cumulative, struct gb_series_view *sv)
{
	uint64_t total = 0;

	for (size_t i = 0; i <= nbounds; i++) {
		total +=
		    atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		cumulative[i] = total;
	}
	sv->bucket_counts = cumulative;
	sv->count = total;
	sv->sum = bits_double(
	    atomic_load_explicit(&s->sum_bits, memory_order_relaxed));
}

static void visit_family(struct gb_metric *f,
			 const struct gb_metrics_visitor *v, void *ud,
			 uint64_t *cumulative)
{
	struct exemplar_copy copy[MAX_BUCKETS + 1];
	struct gb_exemplar views[MAX_BUCKETS + 1];

	size_t created =
	    atomic_load_explicit(&f->created, memory_order_acquire);

	if (v->family)
		v->family(ud, &f->view);
	if (!v->series)
		return;
	for (size_t i = 0; i < created && i < GB_METRIC_MAX_SERIES; i++) {
		struct gb_series *s =
		    atomic_load_explicit(&f->order[i], memory_order_acquire);
		struct gb_series_view sv = {0};

		if (!s) /* won its slot, not yet in the order list */
			continue;
		sv.label_values = (const char *const *)s->label_values;
		uint64_t raw =
		    atomic_load_explicit(&s->value, memory_order_relaxed);

		switch (f->view.type) {
		case GB_METRIC_COUNTER: sv.value = (double)raw; break;
		case GB_METRIC_GAUGE: sv.value = bits_double(raw); break;
		case GB_METRIC_HISTOGRAM:
			snapshot_histogram(s, f->view.bucket_count, cumulative,
					   &sv);
			snapshot_exemplars(s, f->view.bucket_count, copy, views,
					   &sv);
			sv.value = (double)sv.count;
			break;
		}
		v->series(ud, &f->view, &sv);
	}
}

void gb_metrics_visit(const struct gb_metrics_visitor *v, void *ud)
{
	if (!v)
		return;
	uint64_t cumulative[MAX_BUCKETS + 1];

	pthread_mutex_lock(&registry.lock);
	for (struct gb_metric *f = registry.head; f; f = f->next)
		visit_family(f, v, ud, cumulative);
	pthread_mutex_unlock(&registry.lock);
}
