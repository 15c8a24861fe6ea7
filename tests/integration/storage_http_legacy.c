/*
 * storage_http_legacy.c - the "http" store speaking the original Flask
 * backend's contract (backend_api legacy, and auto detecting it), through
 * the real host in this process, against a guestbookd that serves ONLY
 * that contract: the test plugin tests/plugins/legacy_backend.c (GET/POST
 * /messages, text stored escaped as the original's bleach did, no
 * /api/v1) over SQLite, started by the harness.
 *
 * The storage conformance suite runs where its operations exist (lists,
 * paging, cursors, collections, readiness; not get or remove by id: the
 * contract has no ids). A civetweb fake in this process gives the answers
 * a real backend never gives (not JSON, the wrong shape, too large).
 */
#include <criterion/criterion.h>
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "harness.h"
#include "host.h"
#include "message.h"
#include "storage.h"

#define MSGS GB_MESSAGES_COLLECTION

static struct gbt_server backend;
static char backend_url[64];

static void backend_stop(void)
{
	if (backend.pid > 0)
		gbt_server_stop(&backend, SIGTERM);
}

/* The legacy-only backend of this test process. */
static void legacy_backend_start(void)
{
	static int stop_registered;
	char plugin[600];
	const char *args[] = {"--plugins",    plugin, "--storage", "sqlite",
			      "--rate-limit", "0",    NULL};

	/* a copy: the harness reuses gbt_build_path's buffer */
	snprintf(plugin, sizeof(plugin), "%s",
		 gbt_build_path("test-plugins/legacy_backend.so"));

	if (!stop_registered) {
		cr_assert_eq(atexit(backend_stop), 0);
		stop_registered = 1;
	}
	cr_assert_eq(gbt_server_start(&backend, args, NULL), 0,
		     "legacy-only backend did not start");
	snprintf(backend_url, sizeof(backend_url), "http://127.0.0.1:%d",
		 backend.port);
}

static void host_start(const char *url, const char *contract,
		       const char *max_body)
{
	const char *args[] = {"--storage",
			      "http",
			      "--backend-url",
			      url,
			      "--backend-api",
			      contract,
			      "--backend-max-body",
			      max_body,
			      NULL};

	gb_conformance_host_start(args);
}

static void legacy_start(void)
{
	if (backend.pid <= 0)
		legacy_backend_start();
	host_start(backend_url, "legacy", "8388608");
}

static const struct gb_host_api *host(void)
{
	return gb_host_api_table();
}

/* ---- the conformance suite, where the legacy contract has the operation */

static const char *const backend_stamped_fields[] = {"date", NULL};

static const struct gb_conformance_backend legacy_backend = {
    .name = "http",
    .start = legacy_start,
    .stop = gb_host_stop,
    .cleanup = backend_stop,
    .collection = MSGS,
    .single_collection = 1,
    .store_set_fields = backend_stamped_fields,
    .no_ids = 1,
};

static void legacy_conformance_init(void)
{
	gb_conformance_begin(&legacy_backend);
}

static void legacy_conformance_fini(void)
{
	gb_conformance_end(&legacy_backend);
}

#define LEGACY_CONFORMANCE_TEST(name)                                          \
	Test(legacy_conformance, name, .init = legacy_conformance_init,        \
	     .fini = legacy_conformance_fini, .timeout = 120)                  \
	{                                                                      \
		gb_conf_##name(&legacy_backend);                               \
	}

LEGACY_CONFORMANCE_TEST(list_is_newest_first)
LEGACY_CONFORMANCE_TEST(list_honours_limit)
LEGACY_CONFORMANCE_TEST(empty_collection_lists_nothing)
LEGACY_CONFORMANCE_TEST(large_limit_returns_everything_in_one_page)
LEGACY_CONFORMANCE_TEST(cursor_paging_visits_every_document_once)
LEGACY_CONFORMANCE_TEST(
    paging_ends_with_null_cursor_when_count_is_a_multiple_of_limit)
LEGACY_CONFORMANCE_TEST(garbage_cursor_is_invalid)
LEGACY_CONFORMANCE_TEST(collections_are_isolated)
LEGACY_CONFORMANCE_TEST(ping_reports_ready)

/* ---- what only the legacy contract has ---------------------------------- */

static void insert(const char *author, const char *text)
{
	struct gb_error err = {0};
	char id[GB_ID_MAX];
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "author", author);
	cJSON_AddStringToObject(doc, "message", text);
	cJSON_AddNumberToObject(doc, "date", 1);
	cr_assert_eq(host()->store_insert(NULL, MSGS, doc, id, &err), GB_OK,
		     "insert: %s", err.message);
	cr_assert_str_eq(id, "", "a legacy insert has no id");
	cJSON_Delete(doc);
}

static cJSON *list(int limit, const char *cursor, char **next)
{
	struct gb_error err = {0};
	cJSON *docs = NULL;

	cr_assert_eq(
	    host()->store_list(NULL, MSGS, limit, cursor, &docs, next, &err),
	    GB_OK, "list: %s", err.message);
	return docs;
}

static const char *text_of(const cJSON *doc, const char *field)
{
	return cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(doc, field));
}

static void legacy_only(void)
{
	legacy_start();
}

static void teardown(void)
{
	gb_host_stop();
	backend_stop();
}

TestSuite(storage_http_legacy, .init = legacy_only, .fini = teardown,
	  .timeout = 60);

/* The backend stores "&lt;b&gt;"; the store hands back "<b>" once. */
Test(storage_http_legacy, escaped_text_is_decoded_exactly_once)
{
	struct gbt_response r;
	char *next;
	cJSON *docs;

	insert("<Ann & Bob>", "<b>bold</b> &lt; \"q\" 'a'");
	cr_assert_eq(
	    gbt_http(backend.port, "GET", "/messages", NULL, NULL, 0, &r), 0);
	/* what the backend stored, as the original would have */
	cr_assert_not_null(strstr(r.body, "&lt;b&gt;bold&lt;/b&gt; &amp;lt;"),
			   "%s", r.body);
	gbt_response_free(&r);
	docs = list(20, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 1);
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 0), "author"),
			 "<Ann & Bob>");
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 0), "message"),
			 "<b>bold</b> &lt; \"q\" 'a'");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(docs, 0), "id")));
	cJSON_Delete(docs);
}

Test(storage_http_legacy, get_is_not_found_and_remove_is_refused)
{
	struct gb_error err = {0};
	cJSON *doc = NULL;

	insert("Ann", "no id");
	cr_assert_eq(host()->store_get(NULL, MSGS, "1", &doc, &err),
		     GB_ERR_NOT_FOUND);
	cr_assert_null(doc);
	cr_assert_eq(host()->store_remove(NULL, MSGS, "1", &err),
		     GB_ERR_UNSUPPORTED);
	cr_assert_not_null(strstr(err.message, "legacy contract"), "%s",
			   err.message);
}

/* Messages posted between two pages never shift the next page. */
Test(storage_http_legacy, a_cursor_survives_newer_posts)
{
	char *next = NULL, *next2 = NULL, text[16];
	cJSON *docs;

	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		insert("Ann", text);
	}
	docs = list(3, NULL, &next);
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 2), "message"), "m3");
	cr_assert_not_null(next);
	cJSON_Delete(docs);
	insert("Ann", "newer");
	insert("Ann", "newest");
	docs = list(3, next, &next2);
	cr_assert_eq(cJSON_GetArraySize(docs), 3);
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 0), "message"), "m2");
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 2), "message"), "m0");
	cr_assert_null(next2);
	cJSON_Delete(docs);
	free(next);
}

Test(storage_http_legacy, backend_down_is_unavailable_and_not_ready)
{
	struct gb_error err = {0};
	char detail[256], *next = NULL;
	cJSON *docs = NULL;

	cr_assert(gb_storage_ready(detail, sizeof(detail)), "%s", detail);
	backend_stop();
	cr_assert_eq(
	    host()->store_list(NULL, MSGS, 20, NULL, &docs, &next, &err),
	    GB_ERR_UNAVAILABLE);
	cr_assert(err.message[0]);
	for (int i = 0; i < 60 && gb_storage_ready(detail, sizeof(detail)); i++)
		usleep(50000);
	cr_assert_not(gb_storage_ready(detail, sizeof(detail)),
		      "still ready with the backend gone");
}

TestSuite(storage_http_legacy_modes, .fini = teardown, .timeout = 60);

/* auto finds the legacy contract on a backend without /api/v1. */
Test(storage_http_legacy_modes, auto_detects_the_legacy_contract)
{
	char *next;
	cJSON *docs;

	legacy_backend_start();
	host_start(backend_url, "auto", "8388608");
	insert("Ann", "found by auto");
	docs = list(20, NULL, &next);
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 0), "message"),
			 "found by auto");
	cJSON_Delete(docs);
}

/* A list larger than backend_max_body is refused, naming the setting. */
Test(storage_http_legacy_modes, a_list_over_backend_max_body_is_unavailable)
{
	struct gb_error err = {0};
	char *next = NULL, text[64];
	cJSON *docs = NULL;

	legacy_backend_start();
	host_start(backend_url, "legacy", "1024");
	for (int i = 0; i < 20; i++) {
		snprintf(text, sizeof(text), "message number %d, to fill", i);
		insert("Ann", text);
	}
	cr_assert_eq(
	    host()->store_list(NULL, MSGS, 20, NULL, &docs, &next, &err),
	    GB_ERR_UNAVAILABLE);
	cr_assert_null(docs);
	cr_assert_not_null(strstr(err.message, "backend_max_body"), "%s",
			   err.message);
}

/* legacy also works against our own backend, which serves /messages. */
Test(storage_http_legacy_modes, legacy_mode_works_against_a_v1_backend_too)
{
	static const char *const args[] = {
	    "--role",	    "backend", "--storage", "sqlite",
	    "--rate-limit", "0",       NULL};
	char *next;
	cJSON *docs;

	cr_assert_eq(gbt_server_start(&backend, args, NULL), 0);
	snprintf(backend_url, sizeof(backend_url), "http://127.0.0.1:%d",
		 backend.port);
	host_start(backend_url, "legacy", "8388608");
	insert("Ann", "through /messages");
	docs = list(20, NULL, &next);
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 0), "message"),
			 "through /messages");
	cJSON_Delete(docs);
}

/* ---- garbage ------------------------------------------------------------ */

static struct mg_context *fake;
static const char *fake_body;

static int fake_handler(struct mg_connection *c, void *ud)
{
	(void)ud;
	mg_printf(c,
		  "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		  "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		  strcmp(mg_get_request_info(c)->local_uri, "/messages") == 0
		      ? 201
		      : 404,
		  strlen(fake_body), fake_body);
	return 201;
}

static void fake_start(const char *body)
{
	const char *options[] = {"listening_ports", "127.0.0.1:0",
				 "num_threads", "4", NULL};
	struct mg_callbacks cb;
	struct mg_server_port ports[2];
	char url[64];

	memset(&cb, 0, sizeof(cb));
	fake_body = body;
	fake = mg_start(&cb, NULL, options);
	cr_assert_not_null(fake);
	mg_set_request_handler(fake, "/", fake_handler, NULL);
	cr_assert_geq(mg_get_server_ports(fake, 2, ports), 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ports[0].port);
	host_start(url, "legacy", "8388608");
}

static void fake_stop(void)
{
	gb_host_stop();
	if (fake)
		mg_stop(fake);
	fake = NULL;
}

static void assert_list_unavailable(const char *why)
{
	struct gb_error err = {0};
	char *next = NULL, detail[256];
	cJSON *docs = NULL;

	cr_assert_eq(
	    host()->store_list(NULL, MSGS, 20, NULL, &docs, &next, &err),
	    GB_ERR_UNAVAILABLE, "%s: %s", why, err.message);
	cr_assert_null(docs);
	cr_assert(err.message[0]);
	cr_assert_not(gb_storage_ready(detail, sizeof(detail)), "%s: ready",
		      why);
}

static void fake_html(void)
{
	fake_start("<html>oops</html>");
}
static void fake_object(void)
{
	fake_start("{\"messages\":[]}");
}
static void fake_deep(void)
{
	static char deep[4096];

	memset(deep, '[', sizeof(deep) - 1);
	fake_start(deep);
}

TestSuite(storage_http_legacy_garbage, .fini = fake_stop, .timeout = 60);

Test(storage_http_legacy_garbage, html_is_unavailable, .init = fake_html)
{
	assert_list_unavailable("HTML");
}

Test(storage_http_legacy_garbage, an_object_is_unavailable, .init = fake_object)
{
	assert_list_unavailable("an object instead of the array");
}

Test(storage_http_legacy_garbage, unclosed_nesting_is_unavailable,
     .init = fake_deep)
{
	assert_list_unavailable("4095 unclosed [");
}

/* Elements without the legacy shape are skipped, the rest is shown. */
static void fake_mixed(void)
{
	fake_start(
	    "[{\"author\":\"a\",\"date\":1732600000.5,\"message\":\"ok\"},"
	    "{\"author\":7},\"x\",null,"
	    "{\"author\":\"b\",\"date\":\"today\",\"message\":\"m\"}]");
}

Test(storage_http_legacy_garbage, malformed_elements_are_skipped,
     .init = fake_mixed)
{
	char *next;
	cJSON *docs = list(20, NULL, &next);

	cr_assert_eq(cJSON_GetArraySize(docs), 1);
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 0), "message"), "ok");
	cJSON_Delete(docs);
}

/* References decode once; control characters stay encoded. */
static void fake_refs(void)
{
	fake_start("[{\"author\":\"&amp;lt;\",\"date\":1732600000.5,"
		   "\"message\":\"a&#1;b&#x85;c&#10;d&#128512;e&#xD800;f&bogus;"
		   "g&#;\"}]");
}

Test(storage_http_legacy_garbage, character_references_decode_once,
     .init = fake_refs)
{
	char *next;
	cJSON *docs = list(20, NULL, &next);

	cr_assert_eq(cJSON_GetArraySize(docs), 1);
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 0), "author"),
			 "&lt;");
	cr_assert_str_eq(text_of(cJSON_GetArrayItem(docs, 0), "message"),
			 "a&#1;b&#x85;c\nd\xf0\x9f\x98\x80"
			 "e&#xD800;f&bogus;g&#;");
	cJSON_Delete(docs);
}
