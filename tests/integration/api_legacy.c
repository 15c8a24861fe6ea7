/*
 * api_legacy.c - the original backend's contract (GET and POST /messages),
 * kept by the api plugin so existing clients keep working: 201 for both,
 * the exact JSON shape, newest first, the cap, and 400 for bad input.
 */
#include <math.h>
#include <time.h>

#include "api_helpers.h"

TestSuite(api_legacy, .init = api_start_default, .fini = api_stop,
	  .timeout = 60);

/* POST /messages with a JSON body built from author and message. */
static void legacy_post(const char *author, const char *message)
{
	struct gbt_response r = api_post_message("/messages", author, message);

	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	gbt_response_free(&r);
}

Test(api_legacy, empty_list_is_201_and_an_empty_array)
{
	struct gbt_response r = api_get("/messages");

	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(gbt_header(&r, "Content-Type"), "application/json");
	cr_assert_str_eq(r.body, "[]");
	gbt_response_free(&r);
}

Test(api_legacy, post_is_201_with_an_empty_object)
{
	struct gbt_response r = api_post_message("/messages", "Ann", "hi");

	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(gbt_header(&r, "Content-Type"), "application/json");
	cr_assert_str_eq(r.body, "{}");
	gbt_response_free(&r);
}

/* Bodies a browser sends cross site without a CORS preflight. */
Test(api_legacy, post_not_declared_json_is_415_and_not_stored)
{
	static const char body[] = "{\"author\":\"A\",\"message\":\"m\"}";
	static const char *const types[] = {
	    "Content-Type: text/plain",
	    "Content-Type: text/plain;charset=UTF-8",
	    "Content-Type: application/x-www-form-urlencoded",
	    "Content-Type: multipart/form-data; boundary=x", NULL};
	const char *one[2] = {NULL, NULL};
	struct gbt_response r;

	for (int i = 0; i <= 4; i++) {
		one[0] = types[i];
		r = api_request("POST", "/messages", types[i] ? one : NULL,
				body, sizeof(body) - 1);
		api_assert_error(&r, 415, "unsupported_media_type", NULL, NULL);
		gbt_response_free(&r);
	}
	r = api_get("/messages");
	cr_assert_str_eq(r.body, "[]");
	gbt_response_free(&r);
}

Test(api_legacy, post_with_json_parameters_is_201)
{
	static const char body[] = "{\"author\":\"A\",\"message\":\"m\"}";
	static const char *const hdr[] = {
	    "Content-Type: application/json; charset=utf-8", NULL};
	struct gbt_response r =
	    api_request("POST", "/messages", hdr, body, sizeof(body) - 1);

	cr_assert_eq(r.status, 201, "%s", r.body);
	gbt_response_free(&r);
}

Test(api_legacy, items_have_exactly_sorted_keys_compact)
{
	double before = (double)time(NULL);
	struct gbt_response r;
	cJSON *j, *item, *date;
	const char *prefix = "[{\"author\":\"Ann\",\"date\":";
	const char *suffix = ",\"message\":\"hi there\"}]";
	size_t len;

	legacy_post(" Ann ", "hi there");
	r = api_get("/messages");
	len = strlen(r.body);
	cr_assert_eq(strncmp(r.body, prefix, strlen(prefix)), 0, "%s", r.body);
	cr_assert_str_eq(r.body + len - strlen(suffix), suffix);
	j = api_json(&r);
	item = cJSON_GetArrayItem(j, 0);
	cr_assert_eq(cJSON_GetArraySize(item), 3);
	date = cJSON_GetObjectItem(item, "date");
	cr_assert(cJSON_IsNumber(date));
	cr_assert(fabs(date->valuedouble - before) < 60, "date %f",
		  date->valuedouble);
	/* the date keeps its fraction: written as a float, not an integer */
	cr_assert_neq(strchr(r.body + strlen(prefix), '.'), NULL);
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(api_legacy, list_is_newest_first)
{
	struct gbt_response r;
	cJSON *j;

	legacy_post("A", "first");
	legacy_post("B", "second");
	legacy_post("C", "third");
	r = api_get("/messages");
	j = api_json(&r);
	cr_assert_eq(cJSON_GetArraySize(j), 3);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "message")
		->valuestring,
	    "third");
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 2), "message")
		->valuestring,
	    "first");
	cr_assert(cJSON_GetArrayItem(j, 0)->child->next->valuedouble >=
		  cJSON_GetArrayItem(j, 2)->child->next->valuedouble);
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(api_legacy, list_pages_through_more_than_one_store_page)
{
	struct gbt_response r;
	cJSON *j;

	for (int i = 0; i < 130; i++) {
		char text[32];

		snprintf(text, sizeof(text), "m%d", i);
		legacy_post("A", text);
	}
	r = api_get("/messages");
	cr_assert_eq(r.status, 201);
	j = api_json(&r);
	cr_assert_eq(cJSON_GetArraySize(j), 130);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "message")
		->valuestring,
	    "m129");
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 129), "message")
		->valuestring,
	    "m0");
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(api_legacy, legacy_and_v1_share_the_messages)
{
	struct gbt_response r;
	cJSON *j;

	legacy_post("Legacy", "from the old client");
	free(api_create("Modern", "from v1"));
	r = api_get("/api/v1/messages");
	j = api_json(&r);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 2);
	cr_assert_neq(strstr(r.body, "from the old client"), NULL);
	cJSON_Delete(j);
	gbt_response_free(&r);
	r = api_get("/messages");
	cr_assert_neq(strstr(r.body, "from v1"), NULL);
	gbt_response_free(&r);
}

Test(api_legacy, text_is_stored_as_sent)
{
	struct gbt_response r;
	cJSON *j;

	legacy_post("<b>Ann</b>", "<script>alert(1)</script>");
	r = api_get("/messages");
	j = api_json(&r);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "author")
			     ->valuestring,
			 "<b>Ann</b>");
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "message")
		->valuestring,
	    "<script>alert(1)</script>");
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(api_legacy, invalid_json_is_400_not_500)
{
	static const char *const bad[] = {"", "not json", "{\"author\":"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gbt_response r = api_post_json("/messages", bad[i]);

		api_assert_error(&r, 400, "invalid_json", NULL, NULL);
		gbt_response_free(&r);
	}
}

Test(api_legacy, missing_or_invalid_fields_are_400_invalid_field)
{
	struct gbt_response r;

	r = api_post_json("/messages", "{\"message\":\"m\"}");
	api_assert_error(&r, 400, "invalid_field", "author",
			 "author is required");
	gbt_response_free(&r);
	r = api_post_json("/messages", "[1,2]");
	api_assert_error(&r, 400, "invalid_field", NULL, NULL);
	gbt_response_free(&r);
	r = api_post_message("/messages", "A", "");
	api_assert_error(&r, 400, "invalid_field", "message",
			 "message must be 1 to 1000 characters");
	gbt_response_free(&r);
	r = api_post_message("/messages", "A\x01", "m");
	api_assert_error(&r, 400, "invalid_field", "author",
			 "author must not contain control characters");
	gbt_response_free(&r);
	r = api_get("/messages");
	cr_assert_str_eq(r.body, "[]", "bad posts stored something");
	gbt_response_free(&r);
}

Test(api_legacy, other_methods_are_405_with_allow)
{
	struct gbt_response r = api_request("PUT", "/messages", NULL, NULL, 0);
	const char *allow;

	api_assert_error(&r, 405, "method_not_allowed", NULL, NULL);
	allow = gbt_header(&r, "Allow");
	cr_assert_not_null(allow);
	cr_assert_neq(strstr(allow, "GET"), NULL);
	cr_assert_neq(strstr(allow, "POST"), NULL);
	gbt_response_free(&r);
}

Test(api_legacy, body_over_16_kib_is_413)
{
	size_t len = 16 * 1024 + 100;
	char *body = malloc(len);
	struct gbt_response r;

	memset(body, 'x', len);
	r = api_request("POST", "/messages", NULL, body, len);
	api_assert_error(&r, 413, "payload_too_large", NULL, NULL);
	gbt_response_free(&r);
	free(body);
}

static void start_capped(void)
{
	static const char *const extra[] = {"--rate-limit", "0",
					    "--legacy-list-max", "5", NULL};

	api_start(extra);
}

Test(api_legacy_settings, list_is_capped_at_legacy_list_max_newest_kept,
     .init = start_capped, .fini = api_stop)
{
	struct gbt_response r;
	cJSON *j;

	for (int i = 0; i < 7; i++) {
		char text[32];

		snprintf(text, sizeof(text), "m%d", i);
		legacy_post("A", text);
	}
	r = api_get("/messages");
	cr_assert_eq(r.status, 201);
	j = api_json(&r);
	cr_assert_eq(cJSON_GetArraySize(j), 5);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "message")
		->valuestring,
	    "m6");
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 4), "message")
		->valuestring,
	    "m2");
	cJSON_Delete(j);
	gbt_response_free(&r);
}

static void start_role_all(void)
{
	static const char *const args[] = {"--role", "all", NULL};

	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0,
		     "guestbookd did not start");
}

Test(api_legacy_settings, role_all_serves_both_apis_beside_the_page,
     .init = start_role_all, .fini = api_stop)
{
	struct gbt_response r;

	free(api_create("Ann", "hello from v1"));
	r = api_get("/messages");
	cr_assert_eq(r.status, 201);
	cr_assert_neq(strstr(r.body, "hello from v1"), NULL, "%s", r.body);
	gbt_response_free(&r);
	r = api_get("/");
	cr_assert_eq(r.status, 200, "the web page is served too");
	gbt_response_free(&r);
}
