/*
 * bench/mongo/direct.c - mongo_direct (built by bench/mongo.sh): the
 * queries guestbookd's mongo store makes, run straight through libmongoc
 * in a loop, with the same concurrency as the HTTP benchmark: the rate
 * MongoDB (or FerretDB) itself sustains, to set beside guestbookd's
 * figures over the same database.
 *
 *   mongo_direct URI COLLECTION MODE CONNECTIONS SECONDS [LIMIT]
 *
 * MODE "list": find {} sorted by _id descending, LIMIT+1 documents (the
 * store's list of LIMIT, default 20), reading every document; "insert":
 * insert one {_id, author, message, date} with the URI's write concern.
 * Each of CONNECTIONS threads has its own client from one pool. Prints one
 * line in the format of bench/wrk_report.lua:
 *   WRK requests=N duration_us=D p50_us=P p99_us=Q socket_errors=0
 *   status_errors=E
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* libbson's inline atomics cast away const; our warnings refuse that. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <mongoc/mongoc.h>
#pragma GCC diagnostic pop

struct worker {
	pthread_t thread;
	int id;
	uint64_t *lat_us; /* one latency per operation */
	size_t n, cap;
	uint64_t errors;
};

static mongoc_client_pool_t *pool;
static const char *db_name;
static const char *coll_name;
static int list_mode;
static int limit = 20;
static double deadline;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_list(mongoc_collection_t *coll)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
	const bson_t *doc;
	mongoc_cursor_t *cur;
	bson_error_t e;
	int ok;

	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", -1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT64(&opts, "limit", limit + 1);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	while (mongoc_cursor_next(cur, &doc))
		;
	ok = !mongoc_cursor_error(cur, &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return ok;
}

static int one_insert(mongoc_collection_t *coll, int thread, uint64_t seq)
{
	bson_t doc = BSON_INITIALIZER;
	bson_oid_t oid;
	bson_error_t e;
	char text[64];
	int ok;

	snprintf(text, sizeof(text), "direct %d-%llu", thread,
		 (unsigned long long)seq);
	bson_oid_init(&oid, NULL);
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "author", "bench");
	BSON_APPEND_UTF8(&doc, "message", text);
	BSON_APPEND_DOUBLE(&doc, "date", (double)time(NULL));
	ok = mongoc_collection_insert_one(coll, &doc, NULL, NULL, &e);
	bson_destroy(&doc);
	return ok;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	mongoc_client_t *client = mongoc_client_pool_pop(pool);
	mongoc_collection_t *coll =
	    mongoc_client_get_collection(client, db_name, coll_name);
	uint64_t seq = 0;

	for (double t = now_s(); t < deadline; seq++) {
		int ok =
		    list_mode ? one_list(coll) : one_insert(coll, w->id, seq);
		double t2 = now_s();

		if (!ok)
			w->errors++;
		if (w->n == w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 4096;
			uint64_t *p = realloc(w->lat_us, cap * sizeof(*p));

			if (!p)
				break;
			w->lat_us = p;
			w->cap = cap;
		}
		w->lat_us[w->n++] = (uint64_t)((t2 - t) * 1e6);
		t = t2;
	}
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(pool, client);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void quiet_log(mongoc_log_level_t level, const char *domain,
		      const char *message, void *ud)
{
	(void)ud;
	if (level <= MONGOC_LOG_LEVEL_WARNING &&
	    !strstr(message, "endSessions"))
		fprintf(stderr, "mongo_direct: %s: %s\n", domain, message);
}

int main(int argc, char **argv)
{
	mongoc_uri_t *uri;
	bson_error_t e;
	struct worker *w;
	int conns, seconds;
	size_t total = 0;
	uint64_t errors = 0, *all;
	double start, took;

	if (argc < 6) {
		fprintf(stderr,
			"usage: %s URI COLLECTION list|insert "
			"CONNECTIONS SECONDS [LIMIT]\n",
			argv[0]);
		return 2;
	}
	coll_name = argv[2];
	list_mode = !strcmp(argv[3], "list");
	conns = atoi(argv[4]);
	seconds = atoi(argv[5]);
	if (argc > 6)
		limit = atoi(argv[6]);
	if (conns < 1 || seconds < 1 || limit < 1 ||
	    (!list_mode && strcmp(argv[3], "insert"))) {
		fprintf(stderr, "mongo_direct: bad arguments\n");
		return 2;
	}
	mongoc_log_set_handler(quiet_log, NULL);
	mongoc_init();
	uri = mongoc_uri_new_with_error(argv[1], &e);
	if (!uri) {
		fprintf(stderr, "mongo_direct: %s\n", e.message);
		return 2;
	}
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, conns);
	db_name = mongoc_uri_get_database(uri) ? mongoc_uri_get_database(uri)
					       : "guestbook";
	pool = mongoc_client_pool_new_with_error(uri, &e);
	if (!pool) {
		fprintf(stderr, "mongo_direct: %s\n", e.message);
		return 2;
	}
	mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
	w = calloc((size_t)conns, sizeof(*w));
	if (!w)
		return 1;
	start = now_s();
	deadline = start + seconds;
	for (int i = 0; i < conns; i++) {
		w[i].id = i;
		pthread_create(&w[i].thread, NULL, run, &w[i]);
	}
	for (int i = 0; i < conns; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	took = now_s() - start;
	all = malloc((total ? total : 1) * sizeof(*all));
	if (!all)
		return 1;
	for (int i = 0, k = 0; i < conns; i++) {
		memcpy(all + k, w[i].lat_us, w[i].n * sizeof(*all));
		k += (int)w[i].n;
		free(w[i].lat_us);
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	printf("WRK requests=%zu duration_us=%.0f p50_us=%llu p99_us=%llu "
	       "socket_errors=0 status_errors=%llu\n",
	       total, took * 1e6,
	       (unsigned long long)(total ? all[total / 2] : 0),
	       (unsigned long long)(total ? all[total * 99 / 100] : 0),
	       (unsigned long long)errors);
	free(all);
	free(w);
	mongoc_client_pool_destroy(pool);
	mongoc_uri_destroy(uri);
	return errors ? 1 : 0;
}
