/*
 * storage_mongo.c - the mongo store against a real MongoDB wire-protocol
 * server (FerretDB, built and started by tests/lib/ferretdb.sh; a real
 * mongod with GB_TEST_MONGOD=1): the shared storage conformance suite,
 * compatibility with data of the legacy Python backend in both directions,
 * and a connection pool that runs dry.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "conformance.h"
#include "harness.h"
#include "mongo_client.h"
#include "mongo_server.h"

/* One FerretDB for the whole binary, started before any test process. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	gbt_mongo_shared_setup();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	gbt_mongo_shared_teardown();
}

/* --- the conformance suite ----------------------------------------------- */

/* One database per test process, so tests never see each other's data. */
static const char *conformance_uri(void)
{
	static char db[64];

	snprintf(db, sizeof(db), "guestbook_conf_%d", (int)getpid());
	return gbt_mongo_shared_uri(db);
}

static void mongo_start(void)
{
	char uri[300];

	snprintf(uri, sizeof(uri), "%s", conformance_uri());
	const char *args[] = {"--storage", "mongo", "--mongo-uri", uri, NULL};
	gb_conformance_host_start(args);
}

static void mongo_cleanup(void)
{
	gbt_mongo_drop_database(conformance_uri());
	gb_conformance_tmpdir_remove();
}

static const struct gb_conformance_backend mongo_backend = {
    .name = "mongo",
    .start = mongo_start,
    .stop = gb_host_stop,
    .cleanup = mongo_cleanup,
};

GB_CONFORMANCE_SUITE(mongo_conformance, mongo_backend)

/* --- legacy data, through guestbookd --role backend --------------------- */

static struct gbt_server server;
static char legacy_uri[300];

static void backend_start(void)
{
	char db[64];

	snprintf(db, sizeof(db), "guestbook_legacy_%d", (int)getpid());
	snprintf(legacy_uri, sizeof(legacy_uri), "%s",
		 gbt_mongo_shared_uri(db));
	const char *args[] = {"--role",	      "backend",     "--storage",
			      "mongo",	      "--mongo-uri", legacy_uri,
			      "--rate-limit", "0",	     NULL};
	cr_assert_eq(gbt_server_start(&server, args, NULL), 0,
		     "guestbookd --role backend --storage mongo did not start");
}

static void backend_stop(void)
{
	gbt_server_stop(&server, SIGTERM);
	gbt_mongo_drop_database(legacy_uri);
}

static cJSON *get_json(const char *path, int want_status)
{
	struct gbt_response r;
	cJSON *json;

	cr_assert_eq(gbt_http(server.port, "GET", path, NULL, NULL, 0, &r), 0,
		     "GET %s failed", path);
	cr_assert_eq(r.status, want_status, "GET %s: %d %s", path, r.status,
		     r.body);
	json = cJSON_Parse(r.body);
	cr_assert_not_null(json, "GET %s: not JSON: %s", path, r.body);
	gbt_response_free(&r);
	return json;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert(cJSON_IsString(v), "\"%s\" is not a string", key);
	return v->valuestring;
}

/* The legacy backend stored escaped text; it is served back unchanged. */
#define LEGACY_AUTHOR  "Ann &amp; Bob"
#define LEGACY_MESSAGE "&lt;b&gt;hello&lt;/b&gt; from Python"
#define LEGACY_DATE    1732600000.123456

Test(legacy_data, documents_written_by_the_legacy_backend_are_listed,
     .init = backend_start, .fini = backend_stop, .timeout = 60)
{
	char older[25], newer[25];

	cr_assert_eq(gbt_mongo_insert_legacy(legacy_uri, "messages", "first",
					     "one", 1732500000.5, older),
		     0);
	cr_assert_eq(gbt_mongo_insert_legacy(legacy_uri, "messages",
					     LEGACY_AUTHOR, LEGACY_MESSAGE,
					     LEGACY_DATE, newer),
		     0);

	cJSON *list = get_json("/messages", 201);
	cr_assert(cJSON_IsArray(list));
	cr_assert_eq(cJSON_GetArraySize(list), 2);
	const cJSON *first = cJSON_GetArrayItem(list, 0);
	cr_assert_eq(cJSON_GetArraySize(first), 3,
		     "legacy objects have exactly author, date, message");
	cr_assert_str_eq(str_of(first, "author"), LEGACY_AUTHOR);
	cr_assert_str_eq(str_of(first, "message"), LEGACY_MESSAGE);
	const cJSON *date = cJSON_GetObjectItemCaseSensitive(first, "date");
	cr_assert(cJSON_IsNumber(date));
	cr_assert(fabs(date->valuedouble - LEGACY_DATE) < 1e-6, "date %.6f",
		  date->valuedouble);
	cr_assert_str_eq(str_of(cJSON_GetArrayItem(list, 1), "author"),
			 "first");
	cJSON_Delete(list);

	cJSON *page = get_json("/api/v1/messages", 200);
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(page, "messages");
	cr_assert_eq(cJSON_GetArraySize(msgs), 2);
	const cJSON *m = cJSON_GetArrayItem(msgs, 0);
	cr_assert_str_eq(str_of(m, "id"), newer);
	cr_assert_str_eq(str_of(m, "author"), LEGACY_AUTHOR);
	cr_assert_str_eq(str_of(m, "message"), LEGACY_MESSAGE);
	cr_assert_str_eq(str_of(m, "created_at"), "2024-11-26T05:46:40.123Z");
	cr_assert_str_eq(str_of(cJSON_GetArrayItem(msgs, 1), "id"), older);
	cJSON_Delete(page);

	char path[100];
	snprintf(path, sizeof(path), "/api/v1/messages/%s", older);
	cJSON *one = get_json(path, 200);
	cr_assert_str_eq(str_of(one, "message"), "one");
	cr_assert_str_eq(str_of(one, "created_at"), "2024-11-25T02:00:00.500Z");
	cJSON_Delete(one);
}

/* Checks the stored document is exactly the legacy shape. */
static void assert_legacy_document(const char *id, const char *author,
				   const char *message)
{
	char *json = gbt_mongo_find_json(legacy_uri, "messages", id);
	cr_assert_not_null(json, "document %s is not in MongoDB", id);
	cJSON *doc = cJSON_Parse(json);
	cr_assert_not_null(doc, "%s", json);
	cr_assert_eq(cJSON_GetArraySize(doc), 4,
		     "exactly _id, author, message, date: %s", json);
	const cJSON *oid = cJSON_GetObjectItemCaseSensitive(doc, "_id");
	cr_assert_str_eq(str_of(oid, "$oid"), id, "_id is an ObjectId: %s",
			 json);
	cr_assert_str_eq(str_of(doc, "author"), author);
	cr_assert_str_eq(str_of(doc, "message"), message);
	const cJSON *date = cJSON_GetObjectItemCaseSensitive(doc, "date");
	const char *d = str_of(date, "$numberDouble");
	double now = (double)time(NULL);
	cr_assert(fabs(strtod(d, NULL) - now) < 60,
		  "date is a double of epoch seconds: %s", json);
	cJSON_Delete(doc);
	free(json);
}

Test(legacy_data, a_v1_post_is_stored_in_the_legacy_shape,
     .init = backend_start, .fini = backend_stop, .timeout = 60)
{
	const char *body = "{\"author\":\"Zoë\",\"message\":\"<b>raw</b> & "
			   "kept as sent\"}";
	const char *hdr[] = {"Content-Type: application/json", NULL};
	struct gbt_response r;

	cr_assert_eq(gbt_http(server.port, "POST", "/api/v1/messages", hdr,
			      body, strlen(body), &r),
		     0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cJSON *msg = cJSON_Parse(r.body);
	gbt_response_free(&r);
	char id[64];
	snprintf(id, sizeof(id), "%s", str_of(msg, "id"));
	cJSON_Delete(msg);
	cr_assert_eq(strlen(id), 24, "the id is an ObjectId in hex: %s", id);
	assert_legacy_document(id, "Zoë", "<b>raw</b> & kept as sent");
}

Test(legacy_data, a_legacy_post_is_stored_in_the_legacy_shape,
     .init = backend_start, .fini = backend_stop, .timeout = 60)
{
	const char *body = "{\"author\":\"old client\",\"message\":\"hi\"}";
	const char *hdr[] = {"Content-Type: application/json", NULL};
	struct gbt_response r;

	cr_assert_eq(gbt_http(server.port, "POST", "/messages", hdr, body,
			      strlen(body), &r),
		     0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(r.body, "{}");
	gbt_response_free(&r);

	cJSON *page = get_json("/api/v1/messages", 200);
	const cJSON *m = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(page, "messages"), 0);
	cr_assert_not_null(m, "the post is listed");
	char id[64];
	snprintf(id, sizeof(id), "%s", str_of(m, "id"));
	cJSON_Delete(page);
	assert_legacy_document(id, "old client", "hi");
	cr_assert_eq(gbt_mongo_count(legacy_uri, "messages"), 1);
}

Test(legacy_data, pages_of_legacy_data_follow_id_order_to_the_end,
     .init = backend_start, .fini = backend_stop, .timeout = 60)
{
	char ids[5][25];

	/* dates out of order on purpose: the legacy order is by _id */
	for (int i = 0; i < 5; i++) {
		char author[32];

		snprintf(author, sizeof(author), "author %d", i);
		cr_assert_eq(
		    gbt_mongo_insert_legacy(legacy_uri, "messages", author, "m",
					    1732600000.0 - i * 10, ids[i]),
		    0);
	}
	char path[200] = "/api/v1/messages?limit=2";
	int seen = 0;
	for (int page_no = 0; page_no < 5; page_no++) {
		cJSON *page = get_json(path, 200);
		const cJSON *m;
		cJSON_ArrayForEach(
		    m, cJSON_GetObjectItemCaseSensitive(page, "messages"))
		{
			cr_assert_lt(seen, 5);
			cr_assert_str_eq(str_of(m, "id"), ids[4 - seen]);
			seen++;
		}
		const cJSON *next =
		    cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
		if (cJSON_IsNull(next)) {
			cJSON_Delete(page);
			break;
		}
		snprintf(path, sizeof(path),
			 "/api/v1/messages?limit=2&cursor=%s",
			 str_of(page, "next_cursor"));
		cJSON_Delete(page);
	}
	cr_assert_eq(seen, 5, "every legacy message listed once");
}

/* --- a connection pool that runs dry ------------------------------------ */

/* A URI may bound the wait for a pooled connection (waitQueueTimeoutMS);
 * a wait that runs out is an unavailable store, never a crash. */
static void pool_server_stop(void)
{
	if (server.pid > 0)
		gbt_server_stop(&server, SIGKILL);
}

struct poster {
	int ok, unavailable, other;
};

static void *post_many(void *arg)
{
	static const char body[] = "{\"author\":\"a\",\"message\":\"pool\"}";
	const char *hdr[] = {"Content-Type: application/json", NULL};
	struct poster *p = arg;

	for (int i = 0; i < 25; i++) {
		struct gbt_response r;

		if (gbt_http(server.port, "POST", "/api/v1/messages", hdr, body,
			     strlen(body), &r) != 0) {
			p->other++;
			continue;
		}
		if (r.status == 201)
			p->ok++;
		else if (r.status == 503)
			p->unavailable++;
		else
			p->other++;
		gbt_response_free(&r);
	}
	return NULL;
}

Test(mongo_pool, pool_wait_that_runs_out_is_503_and_the_server_lives_on,
     .fini = pool_server_stop, .timeout = 60)
{
	enum { T = 8 };
	char uri[300];
	struct poster p[T];
	pthread_t th[T];
	int ok = 0, unavailable = 0, other = 0;

	snprintf(uri, sizeof(uri), "%s?maxPoolSize=1&waitQueueTimeoutMS=1",
		 gbt_mongo_shared_uri("guestbook_pool"));
	const char *args[] = {"--role",	      "backend", "--mongo-uri", uri,
			      "--rate-limit", "0",	 NULL};
	cr_assert_eq(gbt_server_start(&server, args, NULL), 0);
	memset(p, 0, sizeof(p));
	for (int i = 0; i < T; i++)
		pthread_create(&th[i], NULL, post_many, &p[i]);
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		ok += p[i].ok;
		unavailable += p[i].unavailable;
		other += p[i].other;
	}
	cr_assert_eq(other, 0,
		     "every post is 201 or 503 (%d ok, %d unavailable, %d "
		     "other: the server died?)",
		     ok, unavailable, other);
	cr_assert_gt(ok, 0);
	cr_assert_gt(unavailable, 0, "the pool never ran out: %d ok", ok);

	struct gbt_response r;
	cr_assert_eq(gbt_http(server.port, "GET", "/health", NULL, NULL, 0, &r),
		     0, "the server is gone");
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
}
