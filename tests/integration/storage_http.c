/*
 * storage_http.c - the "http" storage back end through the real host
 * (gb_host_start, the plugin loader and the host's store_* wrappers)
 * against a live backend guestbookd (--role backend --storage sqlite)
 * started by the harness, plus a tiny civetweb fake backend for the
 * answers a healthy backend never gives (500, non-JSON, wrong shape,
 * too slow).
 *
 * The shared storage conformance suite runs against this store in
 * storage_http_conformance.c; the tests here add what only a remote store
 * has: the backend's own date, its limits and error answers, keep-alive,
 * a backend that goes away or misbehaves, and what is forwarded to it.
 */
#include <criterion/criterion.h>
#include <civetweb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"
#include "harness.h"
#include "host.h"
#include "storage.h"

#define MSGS "messages"

static struct gbt_server backend;
static char backend_url[64];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void start_backend(void)
{
	static const char *const args[] = {
	    "--role", "backend",       "--storage",    "sqlite", "--rate-limit",
	    "0",      "--admin-token", "s3cret-token", NULL};

	cr_assert_eq(gbt_server_start(&backend, args, NULL), 0,
		     "backend guestbookd did not start");
	snprintf(backend_url, sizeof(backend_url), "http://127.0.0.1:%d",
		 backend.port);
}

/* `contract`: the backend_api setting (the fakes speak only v1). */
static void start_host_speaking(const char *url, const char *timeout_ms,
				const char *contract)
{
	const char *args[] = {"--storage",
			      "http",
			      "--backend-url",
			      url,
			      "--admin-token",
			      "s3cret-token",
			      "--backend-timeout-ms",
			      timeout_ms,
			      "--backend-api",
			      contract,
			      NULL};

	gb_conformance_host_start(args);
}

static void start_host(const char *url, const char *timeout_ms)
{
	start_host_speaking(url, timeout_ms, "auto");
}

static void setup(void)
{
	start_backend();
	start_host(backend_url, "3000");
}

static void teardown(void)
{
	gb_host_stop();
	if (backend.pid > 0)
		gbt_server_stop(&backend, SIGKILL);
}

TestSuite(storage_http, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ------------------------------------------------------------ */

static const struct gb_host_api *host(void)
{
	return gb_host_api_table();
}

static cJSON *message(const char *author, const char *text)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "author", author);
	cJSON_AddStringToObject(doc, "message", text);
	cJSON_AddNumberToObject(doc, "date", 1764136800.5);
	return doc;
}

static void insert(const char *author, const char *text, char id[GB_ID_MAX])
{
	cJSON *doc = message(author, text);
	struct gb_error err = {0};
	enum gb_status st = host()->store_insert(NULL, MSGS, doc, id, &err);

	cr_assert_eq(st, GB_OK, "insert: %d %s", st, err.message);
	cr_assert(id[0] != '\0');
	cJSON_Delete(doc);
}

static cJSON *get(const char *id)
{
	struct gb_error err = {0};
	cJSON *doc = NULL;
	enum gb_status st = host()->store_get(NULL, MSGS, id, &doc, &err);

	cr_assert_eq(st, GB_OK, "get %s: %d %s", id, st, err.message);
	return doc;
}

static cJSON *list(int limit, const char *cursor, char **next)
{
	struct gb_error err = {0};
	cJSON *docs = NULL;
	enum gb_status st =
	    host()->store_list(NULL, MSGS, limit, cursor, &docs, next, &err);

	cr_assert_eq(st, GB_OK, "list: %d %s", st, err.message);
	cr_assert(cJSON_IsArray(docs));
	cr_assert_leq(cJSON_GetArraySize(docs), limit);
	return docs;
}

static const char *field(const cJSON *doc, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);

	cr_assert(cJSON_IsString(v), "no string %s", name);
	return v->valuestring;
}

/* ---- behaviour shared with every store ---------------------------------- */

Test(storage_http, insert_then_get_returns_the_message_and_its_id)
{
	char id[GB_ID_MAX];
	cJSON *doc;

	insert("Ada", "Hello, guestbook!", id);
	doc = get(id);
	cr_assert_str_eq(field(doc, "author"), "Ada");
	cr_assert_str_eq(field(doc, "message"), "Hello, guestbook!");
	cr_assert_str_eq(field(doc, "id"), id);
	cr_assert_eq(cJSON_GetArraySize(doc), 4, "author, message, date, id");
	cJSON_Delete(doc);
}

Test(storage_http, date_is_the_backend_time_of_the_insert)
{
	char id[GB_ID_MAX];
	double before = now_s(), after;
	const cJSON *date;
	cJSON *doc;

	insert("Ada", "when?", id);
	after = now_s();
	doc = get(id);
	date = cJSON_GetObjectItemCaseSensitive(doc, "date");
	cr_assert(cJSON_IsNumber(date));
	cr_assert(
	    date->valuedouble >= before - 1 && date->valuedouble <= after + 1,
	    "date %f not within [%f, %f]", date->valuedouble, before, after);
	cJSON_Delete(doc);
}

Test(storage_http, inserts_return_distinct_ids_and_caller_id_is_replaced)
{
	char a[GB_ID_MAX], b[GB_ID_MAX];
	cJSON *doc = message("Ada", "mine");
	struct gb_error err = {0};

	cJSON_AddStringToObject(doc, "id", "caller-chosen");
	cr_assert_eq(host()->store_insert(NULL, MSGS, doc, a, &err), GB_OK);
	cJSON_Delete(doc);
	insert("Ada", "two", b);
	cr_assert_str_neq(a, b);
	cr_assert_str_neq(a, "caller-chosen");
}

Test(storage_http, unicode_message_round_trips_exactly)
{
	static const char author[] = "Zoë 日本語 🎉";
	static const char text[] =
	    "Grüße aus Köln ☃\nline two\twith a tab, \"quotes\", "
	    "back\\slash, <script>alert(1)</script> & 😀 \xe2\x80\xa8 "
	    "Ελληνικά עברית العربية";
	char id[GB_ID_MAX], *next = NULL;
	cJSON *doc, *docs;

	insert(author, text, id);
	doc = get(id);
	cr_assert_str_eq(field(doc, "author"), author);
	cr_assert_str_eq(field(doc, "message"), text);
	cJSON_Delete(doc);
	docs = list(5, NULL, &next);
	cr_assert_str_eq(field(cJSON_GetArrayItem(docs, 0), "message"), text);
	cJSON_Delete(docs);
	free(next);
}

Test(storage_http, longest_message_round_trips_exactly)
{
	char text[1001], id[GB_ID_MAX];
	cJSON *doc;

	for (int i = 0; i < 1000; i++)
		text[i] = "abcdefghij0123456789 .,!?"[i % 25];
	text[999] = 'z';
	text[1000] = '\0';
	insert("large", text, id);
	doc = get(id);
	cr_assert_str_eq(field(doc, "message"), text);
	cJSON_Delete(doc);
}

Test(storage_http, list_is_newest_first_and_honours_the_limit)
{
	char ids[5][GB_ID_MAX], text[16], *next = NULL;
	cJSON *docs;

	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		insert("Ada", text, ids[i]);
	}
	docs = list(3, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_str_eq(field(cJSON_GetArrayItem(docs, i), "id"),
				 ids[4 - i]);
	cr_assert_not_null(next);
	cJSON_Delete(docs);
	free(next);
}

Test(storage_http, empty_store_lists_nothing)
{
	char *next = (char *)"x";
	cJSON *docs = list(10, NULL, &next);

	cr_assert_eq(cJSON_GetArraySize(docs), 0);
	cr_assert_null(next);
	cJSON_Delete(docs);
}

Test(storage_http, cursor_paging_visits_every_message_once)
{
	char ids[7][GB_ID_MAX], *next = NULL, *cursor = NULL;
	int seen = 0;

	for (int i = 0; i < 7; i++)
		insert("Ada", "paged", ids[i]);
	do {
		cJSON *docs = list(3, cursor, &next), *d;

		cJSON_ArrayForEach(d, docs)
		{
			cr_assert_lt(seen, 7);
			cr_assert_str_eq(field(d, "id"), ids[6 - seen]);
			seen++;
		}
		cJSON_Delete(docs);
		free(cursor);
		cursor = next;
	} while (cursor);
	cr_assert_eq(seen, 7);
}

Test(storage_http, lists_longer_than_a_backend_page_are_fetched_in_pages)
{
	enum { N = 130 };
	char ids[N][GB_ID_MAX], *next = NULL, *last = NULL;
	cJSON *docs;

	for (int i = 0; i < N; i++)
		insert("Ada", "many", ids[i]);
	/* the legacy GET /messages asks for up to 1000 at once */
	docs = list(1000, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), N);
	for (int i = 0; i < N; i++)
		cr_assert_str_eq(field(cJSON_GetArrayItem(docs, i), "id"),
				 ids[N - 1 - i]);
	cr_assert_null(next);
	cJSON_Delete(docs);
	docs = list(120, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 120);
	cr_assert_not_null(next, "10 older messages remain");
	cJSON_Delete(docs);
	docs = list(100, next, &last);
	cr_assert_eq(cJSON_GetArraySize(docs), 10);
	cr_assert_str_eq(field(cJSON_GetArrayItem(docs, 9), "id"), ids[0]);
	cr_assert_null(last, "the oldest message ends the list");
	cJSON_Delete(docs);
	free(next);
}

Test(storage_http, garbage_cursor_is_invalid)
{
	struct gb_error err = {0};
	cJSON *docs = NULL;
	char *next = NULL, id[GB_ID_MAX];

	insert("Ada", "x", id);
	cr_assert_eq(host()->store_list(NULL, MSGS, 5, "not-a-cursor", &docs,
					&next, &err),
		     GB_ERR_INVALID, "%s", err.message);
	cr_assert(err.message[0]);
	cr_assert_null(docs);
}

Test(storage_http, unknown_and_malformed_ids_are_not_found)
{
	static const char *const bad[] = {"999999", "abc", "../../ready",
					  "a b",    "%00", "?limit=1"};
	struct gb_error err = {0};
	cJSON *doc = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(host()->store_get(NULL, MSGS, bad[i], &doc, &err),
			     GB_ERR_NOT_FOUND, "get %s: %s", bad[i],
			     err.message);
		cr_assert_null(doc);
		cr_assert_eq(host()->store_remove(NULL, MSGS, bad[i], &err),
			     GB_ERR_NOT_FOUND, "remove %s: %s", bad[i],
			     err.message);
	}
}

Test(storage_http, removed_message_is_gone)
{
	char id[GB_ID_MAX], keep[GB_ID_MAX], *next = NULL;
	struct gb_error err = {0};
	cJSON *doc = NULL, *docs;

	insert("Ada", "keep", keep);
	insert("Ada", "remove me", id);
	cr_assert_eq(host()->store_remove(NULL, MSGS, id, &err), GB_OK, "%s",
		     err.message);
	cr_assert_eq(host()->store_get(NULL, MSGS, id, &doc, &err),
		     GB_ERR_NOT_FOUND);
	cr_assert_eq(host()->store_remove(NULL, MSGS, id, &err),
		     GB_ERR_NOT_FOUND);
	docs = list(10, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 1);
	cr_assert_str_eq(field(cJSON_GetArrayItem(docs, 0), "id"), keep);
	cJSON_Delete(docs);
}

Test(storage_http, other_collections_are_invalid_with_a_clear_message)
{
	cJSON *doc = message("Ada", "x");
	struct gb_error err = {0};
	char id[GB_ID_MAX], *next = NULL;
	cJSON *docs = NULL;

	cr_assert_eq(host()->store_insert(NULL, "notes", doc, id, &err),
		     GB_ERR_INVALID);
	cr_assert_not_null(strstr(err.message, "only the \"messages\""), "%s",
			   err.message);
	cr_assert_eq(
	    host()->store_list(NULL, "notes", 5, NULL, &docs, &next, &err),
	    GB_ERR_INVALID);
	cJSON_Delete(doc);
}

Test(storage_http, invalid_message_is_invalid_with_the_backend_reason)
{
	cJSON *doc = message("", "no author");
	struct gb_error err = {0};
	char id[GB_ID_MAX];

	cr_assert_eq(host()->store_insert(NULL, MSGS, doc, id, &err),
		     GB_ERR_INVALID);
	cr_assert_not_null(strstr(err.message, "author"), "%s", err.message);
	cJSON_Delete(doc);
}

struct worker {
	int failures;
	char ids[25][GB_ID_MAX];
};

static void *insert_many(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 25; i++) {
		cJSON *doc = message("thread", "concurrent");
		struct gb_error err = {0};

		if (host()->store_insert(NULL, MSGS, doc, w->ids[i], &err) !=
		    GB_OK)
			w->failures++;
		cJSON_Delete(doc);
	}
	return NULL;
}

Test(storage_http, concurrent_inserts_all_land_with_unique_ids)
{
	enum { T = 8 };
	static struct worker w[T];
	pthread_t th[T];
	char *next = NULL;
	cJSON *docs;

	for (int i = 0; i < T; i++)
		pthread_create(&th[i], NULL, insert_many, &w[i]);
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].failures, 0);
	}
	for (int i = 0; i < T * 25; i++)
		for (int j = i + 1; j < T * 25; j++)
			cr_assert_str_neq(w[i / 25].ids[i % 25],
					  w[j / 25].ids[j % 25]);
	docs = list(1000, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), T * 25);
	cJSON_Delete(docs);
}

Test(storage_http, messages_survive_a_restart_of_the_frontend_host)
{
	char id[GB_ID_MAX];
	cJSON *doc;

	insert("Ada", "durable", id);
	gb_host_stop();
	start_host(backend_url, "3000");
	doc = get(id);
	cr_assert_str_eq(field(doc, "message"), "durable");
	cJSON_Delete(doc);
}

Test(storage_http, ping_reports_ready)
{
	char detail[256] = "";
	int ready = 0;

	for (int i = 0; i < 50 && !ready; i++) {
		ready = gb_storage_ready(detail, sizeof(detail));
		if (!ready)
			usleep(50000);
	}
	cr_assert(ready, "%s", detail);
	cr_assert_str_eq(host()->store_name(), "http");
}

/* A backend that closes idle kept-alive connections after 100 ms. */
static void setup_short_keepalive(void)
{
	static const char *const args[] = {
	    "--role", "backend",	"--storage", "sqlite", "--rate-limit",
	    "0",      "--keepalive-ms", "100",	     NULL};

	cr_assert_eq(gbt_server_start(&backend, args, NULL), 0);
	snprintf(backend_url, sizeof(backend_url), "http://127.0.0.1:%d",
		 backend.port);
	start_host(backend_url, "3000");
}

Test(storage_http_keepalive,
     kept_alive_connection_closed_by_the_backend_is_retried,
     .init = setup_short_keepalive, .fini = teardown, .timeout = 60)
{
	char id[GB_ID_MAX], *next = NULL;
	cJSON *docs;

	insert("Ada", "still here", id);
	for (int i = 0; i < 5; i++) {
		docs = list(5, NULL, &next);
		cr_assert_eq(cJSON_GetArraySize(docs), 1);
		cJSON_Delete(docs);
		cJSON_Delete(get(id));
		/* the backend has closed the pooled connection by now */
		usleep(250000);
	}
}

/* ---- the backend goes away ---------------------------------------------- */

Test(storage_http, stopped_backend_is_unavailable_quickly)
{
	struct gb_error err = {0};
	char id[GB_ID_MAX], detail[256] = "", *next = NULL;
	cJSON *doc = message("Ada", "nobody home"), *docs = NULL;
	double t0;
	int ready = 1;

	gbt_server_stop(&backend, SIGKILL);
	t0 = mono_s();
	cr_assert_eq(host()->store_insert(NULL, MSGS, doc, id, &err),
		     GB_ERR_UNAVAILABLE);
	cr_assert_not_null(strstr(err.message, backend_url), "%s", err.message);
	cr_assert_eq(
	    host()->store_list(NULL, MSGS, 20, NULL, &docs, &next, &err),
	    GB_ERR_UNAVAILABLE);
	cr_assert_eq(host()->store_get(NULL, MSGS, "1", &docs, &err),
		     GB_ERR_UNAVAILABLE);
	cr_assert_lt(mono_s() - t0, 1.0, "took %.2f s", mono_s() - t0);
	for (int i = 0; i < 60 && ready; i++) {
		ready = gb_storage_ready(detail, sizeof(detail));
		if (ready)
			usleep(50000);
	}
	cr_assert_not(ready, "readiness still ok with the backend gone");
	cJSON_Delete(doc);
}

/* ---- a misbehaving backend ---------------------------------------------- */

enum fake_mode {
	FAKE_500,
	FAKE_NOT_JSON,
	FAKE_WRONG_SHAPE,
	FAKE_BAD_DATE,
	FAKE_SLOW,
	FAKE_EMPTY_LIST,
	FAKE_EMPTY_PAGE_WITH_CURSOR,
	FAKE_BAD_CURSOR,
	FAKE_OVERFULL_PAGE,
	FAKE_NO_BATCH,	    /* a v1 backend from before the batch route */
	FAKE_BATCH_GARBAGE, /* single posts fine, batches answered wrong */
	FAKE_BATCH_501,	    /* a backend whose store takes no batch */
};

#define FAKE_MESSAGE                                                           \
	"{\"id\":\"1\",\"author\":\"a\",\"message\":\"m\","                    \
	"\"created_at\":\"2026-11-26T06:00:00.123Z\"}"

static struct mg_context *fake;
static int fake_port;
static enum fake_mode fake_mode;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static char fake_request_id[128], fake_forwarded[128], fake_auth[128];
static int fake_batches, fake_singles; /* POSTs seen, under fake_lock */

static void fake_reply(struct mg_connection *c, int status, const char *body)
{
	mg_printf(c,
		  "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		  "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		  status, strlen(body), body);
}

/*
 * POST in the batch modes: a single post is answered after 300 ms (so
 * that concurrent posts queue up behind the ones in flight and form a
 * batch), a batch at once with 404 or a wrong number of results.
 */
static int fake_post(struct mg_connection *c)
{
	int batch = strstr(mg_get_request_info(c)->local_uri, "/batch") != NULL;
	char body[300];
	int n;

	pthread_mutex_lock(&fake_lock);
	n = batch ? ++fake_batches : ++fake_singles;
	pthread_mutex_unlock(&fake_lock);
	if (batch && fake_mode == FAKE_NO_BATCH)
		fake_reply(c, 404,
			   "{\"error\":{\"code\":\"not_found\","
			   "\"message\":\"no such route\"}}");
	else if (batch && fake_mode == FAKE_BATCH_501)
		fake_reply(c, 501,
			   "{\"error\":{\"code\":\"not_supported\","
			   "\"message\":\"no batch here\"}}");
	else if (batch)
		fake_reply(c, 200, "{\"results\":[]}");
	if (batch)
		return 200;
	usleep(300 * 1000);
	snprintf(body, sizeof(body),
		 "{\"id\":\"%d\",\"author\":\"a\",\"message\":\"m\","
		 "\"created_at\":\"2026-11-26T06:00:00.123Z\"}",
		 n);
	fake_reply(c, 201, body);
	return 201;
}

static int fake_handler(struct mg_connection *c, void *ud)
{
	const char *rid = mg_get_header(c, "X-Request-Id");
	const char *xff = mg_get_header(c, "X-Forwarded-For");
	const char *auth = mg_get_header(c, "Authorization");

	(void)ud;
	pthread_mutex_lock(&fake_lock);
	snprintf(fake_request_id, sizeof(fake_request_id), "%s",
		 rid ? rid : "");
	snprintf(fake_forwarded, sizeof(fake_forwarded), "%s", xff ? xff : "");
	snprintf(fake_auth, sizeof(fake_auth), "%s", auth ? auth : "");
	pthread_mutex_unlock(&fake_lock);
	if ((fake_mode == FAKE_NO_BATCH || fake_mode == FAKE_BATCH_GARBAGE ||
	     fake_mode == FAKE_BATCH_501) &&
	    strcmp(mg_get_request_info(c)->request_method, "POST") == 0)
		return fake_post(c);
	switch (fake_mode) {
	case FAKE_NO_BATCH:
	case FAKE_BATCH_GARBAGE:
	case FAKE_BATCH_501:
		fake_reply(c, 200, "{\"messages\":[],\"next_cursor\":null}");
		break;
	case FAKE_500:
		fake_reply(c, 500,
			   "{\"error\":{\"code\":\"internal\","
			   "\"message\":\"boom\"}}");
		break;
	case FAKE_NOT_JSON: fake_reply(c, 200, "<html>not json</html>"); break;
	case FAKE_WRONG_SHAPE:
		fake_reply(
		    c,
		    strcmp(mg_get_request_info(c)->request_method, "POST") == 0
			? 201
			: 200,
		    "{\"messages\":[{\"id\":\"1\",\"author\":7}],"
		    "\"next_cursor\":null,\"id\":\"1\"}");
		break;
	case FAKE_BAD_DATE:
		fake_reply(c, 200,
			   "{\"id\":\"1\",\"author\":\"a\",\"message\":\"m\","
			   "\"created_at\":\"yesterday\"}");
		break;
	case FAKE_SLOW:
		sleep(2);
		fake_reply(c, 200, "{}");
		break;
	case FAKE_EMPTY_LIST:
		fake_reply(c, 200, "{\"messages\":[],\"next_cursor\":null}");
		break;
	case FAKE_EMPTY_PAGE_WITH_CURSOR:
		/* a page that never ends: no messages, always "older" */
		fake_reply(c, 200, "{\"messages\":[],\"next_cursor\":\"abc\"}");
		break;
	case FAKE_BAD_CURSOR:
		fake_reply(
		    c, 200,
		    "{\"messages\":[" FAKE_MESSAGE "],"
		    "\"next_cursor\":\"x\\\"><script>alert(1)</script>\"}");
		break;
	case FAKE_OVERFULL_PAGE:
		/* three messages whatever the limit asked */
		fake_reply(c, 200,
			   "{\"messages\":[" FAKE_MESSAGE "," FAKE_MESSAGE
			   "," FAKE_MESSAGE "],\"next_cursor\":null}");
		break;
	}
	return 200;
}

static void fake_start(enum fake_mode mode, const char *timeout_ms)
{
	const char *options[] = {"listening_ports", "127.0.0.1:0",
				 "num_threads", "16", NULL};
	struct mg_callbacks cb;
	struct mg_server_port ports[2];
	char url[64];

	memset(&cb, 0, sizeof(cb));
	fake_mode = mode;
	fake_batches = fake_singles = 0;
	fake = mg_start(&cb, NULL, options);
	cr_assert_not_null(fake, "fake backend did not start");
	mg_set_request_handler(fake, "/", fake_handler, NULL);
	cr_assert_geq(mg_get_server_ports(fake, 2, ports), 1);
	fake_port = ports[0].port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", fake_port);
	start_host_speaking(url, timeout_ms, "v1");
}

static void fake_stop(void)
{
	gb_host_stop();
	if (fake)
		mg_stop(fake);
	fake = NULL;
}

static void assert_all_unavailable(const char *why)
{
	struct gb_error err = {0};
	char id[GB_ID_MAX], *next = NULL;
	cJSON *doc = message("Ada", "x"), *out = NULL;

	cr_assert_eq(host()->store_insert(NULL, MSGS, doc, id, &err),
		     GB_ERR_UNAVAILABLE, "%s: insert: %s", why, err.message);
	cr_assert(err.message[0]);
	cr_assert_eq(
	    host()->store_list(NULL, MSGS, 20, NULL, &out, &next, &err),
	    GB_ERR_UNAVAILABLE, "%s: list: %s", why, err.message);
	cr_assert_null(out);
	cr_assert_eq(host()->store_get(NULL, MSGS, "1", &out, &err),
		     GB_ERR_UNAVAILABLE, "%s: get: %s", why, err.message);
	cr_assert_null(out);
	cJSON_Delete(doc);
}

static void fake_500(void)
{
	fake_start(FAKE_500, "3000");
}
static void fake_not_json(void)
{
	fake_start(FAKE_NOT_JSON, "3000");
}
static void fake_shape(void)
{
	fake_start(FAKE_WRONG_SHAPE, "3000");
}
static void fake_date(void)
{
	fake_start(FAKE_BAD_DATE, "3000");
}
static void fake_slow(void)
{
	fake_start(FAKE_SLOW, "300");
}
static void fake_ok(void)
{
	fake_start(FAKE_EMPTY_LIST, "3000");
}
static void fake_endless(void)
{
	fake_start(FAKE_EMPTY_PAGE_WITH_CURSOR, "3000");
}
static void fake_bad_cursor(void)
{
	fake_start(FAKE_BAD_CURSOR, "3000");
}
static void fake_overfull(void)
{
	fake_start(FAKE_OVERFULL_PAGE, "3000");
}

static void fake_no_batch(void)
{
	fake_start(FAKE_NO_BATCH, "3000");
}
static void fake_batch_garbage(void)
{
	fake_start(FAKE_BATCH_GARBAGE, "3000");
}

TestSuite(storage_http_fake, .fini = fake_stop, .timeout = 60);

#define BATCH_POSTERS 6

struct batch_poster {
	enum gb_status status;
	struct gb_error err;
};

static void *batch_poster(void *arg)
{
	struct batch_poster *p = arg;
	cJSON *doc = message("Ada", "m");
	char id[GB_ID_MAX];

	p->status = host()->store_insert(NULL, MSGS, doc, id, &p->err);
	cJSON_Delete(doc);
	return NULL;
}

/* Six concurrent inserts; their results in p. */
static void post_concurrently(struct batch_poster p[BATCH_POSTERS])
{
	pthread_t th[BATCH_POSTERS];

	for (int i = 0; i < BATCH_POSTERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, batch_poster, &p[i]),
			     0);
	for (int i = 0; i < BATCH_POSTERS; i++)
		pthread_join(th[i], NULL);
}

static void fake_batch_501(void)
{
	fake_start(FAKE_BATCH_501, "3000");
}

/* Posts twice six at once: the first batch refused, then all singles. */
static void assert_single_posts_after_a_refused_batch(void)
{
	struct batch_poster p[BATCH_POSTERS];
	int batches, singles;

	post_concurrently(p);
	for (int i = 0; i < BATCH_POSTERS; i++)
		cr_assert_eq(p[i].status, GB_OK, "post %d: %s", i,
			     p[i].err.message);
	pthread_mutex_lock(&fake_lock);
	batches = fake_batches;
	singles = fake_singles;
	pthread_mutex_unlock(&fake_lock);
	/* one or two go out at once; those behind them tried a batch */
	cr_assert_geq(batches, 1, "no batch was tried");
	cr_assert_leq(batches, 2, "the 404 was not remembered");
	cr_assert_eq(singles, BATCH_POSTERS);
	/* remembered: the next posts go out alone at once */
	post_concurrently(p);
	pthread_mutex_lock(&fake_lock);
	cr_assert_eq(fake_batches, batches);
	cr_assert_eq(fake_singles, 2 * BATCH_POSTERS);
	pthread_mutex_unlock(&fake_lock);
}

Test(storage_http_fake, a_backend_without_the_batch_route_gets_single_posts,
     .init = fake_no_batch)
{
	assert_single_posts_after_a_refused_batch();
}

Test(storage_http_fake, a_backend_whose_store_takes_no_batch_gets_single_posts,
     .init = fake_batch_501)
{
	assert_single_posts_after_a_refused_batch();
}

Test(storage_http_fake, a_batch_answered_wrong_fails_its_posts_unavailable,
     .init = fake_batch_garbage)
{
	struct batch_poster p[BATCH_POSTERS];
	int ok = 0, failed = 0;

	post_concurrently(p);
	for (int i = 0; i < BATCH_POSTERS; i++) {
		if (p[i].status == GB_OK) {
			ok++;
			continue;
		}
		failed++;
		cr_assert_eq(p[i].status, GB_ERR_UNAVAILABLE);
		cr_assert(strstr(p[i].err.message,
				 "POST /api/v1/messages/batch with an invalid "
				 "body"),
			  "%s", p[i].err.message);
	}
	cr_assert_geq(failed, 1, "no batch was sent");
	cr_assert_eq(ok + failed, BATCH_POSTERS);
}

Test(storage_http_fake, backend_500_is_unavailable, .init = fake_500)
{
	char detail[256];

	assert_all_unavailable("HTTP 500");
	for (int i = 0; i < 40 && gb_storage_ready(detail, sizeof(detail)); i++)
		usleep(50000);
	cr_assert_not(gb_storage_ready(detail, sizeof(detail)),
		      "ready while /ready answers 500");
}

Test(storage_http_fake, non_json_answer_is_unavailable, .init = fake_not_json)
{
	assert_all_unavailable("HTML body");
}

Test(storage_http_fake, json_of_the_wrong_shape_is_unavailable,
     .init = fake_shape)
{
	struct gb_error err = {0};
	cJSON *out = NULL;
	char *next = NULL;

	assert_all_unavailable("wrong shape");
	host()->store_list(NULL, MSGS, 20, NULL, &out, &next, &err);
	cr_assert_not_null(strstr(err.message, "\"author\""), "%s",
			   err.message);
}

Test(storage_http_fake, unparseable_created_at_is_unavailable,
     .init = fake_date)
{
	struct gb_error err = {0};
	cJSON *out = NULL;

	cr_assert_eq(host()->store_get(NULL, MSGS, "1", &out, &err),
		     GB_ERR_UNAVAILABLE);
	cr_assert_not_null(strstr(err.message, "created_at"), "%s",
			   err.message);
}

Test(storage_http_fake, slow_backend_times_out_as_configured, .init = fake_slow)
{
	struct gb_error err = {0};
	cJSON *out = NULL;
	char *next = NULL;
	double t0 = mono_s();

	cr_assert_eq(
	    host()->store_list(NULL, MSGS, 20, NULL, &out, &next, &err),
	    GB_ERR_UNAVAILABLE);
	cr_assert_lt(mono_s() - t0, 1.5, "took %.2f s with a 300 ms timeout",
		     mono_s() - t0);
	cr_assert_not_null(strstr(err.message, "300 ms"), "%s", err.message);
}

Test(storage_http_fake, empty_list_answer_is_an_empty_list, .init = fake_ok)
{
	char *next = NULL;
	cJSON *docs = list(20, NULL, &next);

	cr_assert_eq(cJSON_GetArraySize(docs), 0);
	cr_assert_null(next);
	cJSON_Delete(docs);
}

Test(storage_http_fake, delete_carries_the_admin_token, .init = fake_ok)
{
	struct gb_error err = {0};

	host()->store_remove(NULL, MSGS, "1", &err);
	pthread_mutex_lock(&fake_lock);
	cr_assert_str_eq(fake_auth, "Bearer s3cret-token");
	pthread_mutex_unlock(&fake_lock);
}

/*
 * A front end guestbookd over the fake backend passes the request id and
 * the client address of the page request on to the backend.
 */
Test(storage_http_fake, request_id_and_client_address_are_propagated,
     .init = fake_ok)
{
	struct gbt_server front;
	struct gbt_response r;
	char url[64];
	const char *args[] = {"--role", "frontend", "--backend-url", url, NULL};
	static const char *const h[] = {"X-Request-Id: trace-abc-123", NULL};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", fake_port);
	cr_assert_eq(gbt_server_start(&front, args, NULL), 0);
	cr_assert_eq(gbt_http(front.port, "GET", "/", h, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	gbt_response_free(&r);
	gbt_server_stop(&front, SIGKILL);
	pthread_mutex_lock(&fake_lock);
	cr_assert_str_eq(fake_request_id, "trace-abc-123");
	cr_assert_str_eq(fake_forwarded, "127.0.0.1");
	pthread_mutex_unlock(&fake_lock);
}

/* ---- a backend whose pages break the v1 contract ------------------------ */

/*
 * An empty page that still names an older one would make the front end
 * fetch pages for ever (a worker thread lost, the backend hammered).
 */
Test(storage_http_fake, empty_page_with_a_cursor_is_unavailable_not_a_loop,
     .init = fake_endless, .timeout = 20)
{
	struct gb_error err = {0};
	cJSON *out = NULL;
	char *next = NULL;
	double t0 = mono_s();

	cr_assert_eq(
	    host()->store_list(NULL, MSGS, 1000, NULL, &out, &next, &err),
	    GB_ERR_UNAVAILABLE, "%s", err.message);
	cr_assert_null(out);
	cr_assert_null(next);
	cr_assert_lt(mono_s() - t0, 2.0, "took %.2f s", mono_s() - t0);
	cr_assert(err.message[0]);
}

/* Cursors are [A-Za-z0-9_-] by contract; the page and API embed them. */
Test(storage_http_fake, cursor_outside_the_contract_is_unavailable,
     .init = fake_bad_cursor)
{
	struct gb_error err = {0};
	cJSON *out = NULL;
	char *next = NULL;

	cr_assert_eq(
	    host()->store_list(NULL, MSGS, 20, NULL, &out, &next, &err),
	    GB_ERR_UNAVAILABLE, "%s", err.message);
	cr_assert_null(out);
	cr_assert_null(next);
	cr_assert_not_null(strstr(err.message, "cursor"), "%s", err.message);
}

Test(storage_http_fake, page_longer_than_asked_is_unavailable,
     .init = fake_overfull)
{
	struct gb_error err = {0};
	cJSON *out = NULL;
	char *next = NULL;

	cr_assert_eq(host()->store_list(NULL, MSGS, 2, NULL, &out, &next, &err),
		     GB_ERR_UNAVAILABLE, "%s", err.message);
	cr_assert_null(out);
	cr_assert_null(next);
}
