/*
 * api_v1.c - the v1 message API of the api plugin against the real
 * guestbookd over SQLite: statuses, bodies, headers, paging, caching and
 * validation as a client sees them.
 */
#include "api_helpers.h"

TestSuite(api_v1, .init = api_start_default, .fini = api_stop, .timeout = 60);

static int is_rfc3339_ms(const char *s)
{
	int y, mo, d, h, mi, sec, ms;
	char z;

	return strlen(s) == 24 &&
	       sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi,
		      &sec, &ms, &z) == 8 &&
	       z == 'Z' && s[4] == '-' && s[10] == 'T' && s[19] == '.';
}

/* Asserts the keys of a v1 message, in order. */
static void assert_v1_shape(cJSON *m)
{
	static const char *const keys[] = {"id", "author", "message",
					   "created_at"};
	cJSON *item = m->child;

	for (size_t i = 0; i < 4; i++, item = item->next) {
		cr_assert_not_null(item, "missing %s", keys[i]);
		cr_assert_str_eq(item->string, keys[i]);
		cr_assert(cJSON_IsString(item));
	}
	cr_assert_null(item, "extra member %s", item ? item->string : "");
	cr_assert(
	    is_rfc3339_ms(cJSON_GetObjectItem(m, "created_at")->valuestring));
}

Test(api_v1, post_is_201_with_location_and_the_stored_message)
{
	struct gbt_response r =
	    api_post_message("/api/v1/messages", "  Ann  ", "hello\n");
	char location[128];
	cJSON *j;

	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(gbt_header(&r, "Content-Type"), "application/json");
	j = api_json(&r);
	assert_v1_shape(j);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "author")->valuestring, "Ann");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "message")->valuestring,
			 "hello");
	snprintf(location, sizeof(location), "/api/v1/messages/%s",
		 cJSON_GetObjectItem(j, "id")->valuestring);
	cr_assert_str_eq(gbt_header(&r, "Location"), location);
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(api_v1, location_answers_the_same_message)
{
	struct gbt_response post =
	    api_post_message("/api/v1/messages", "Ann", "hi");
	struct gbt_response get;

	cr_assert_eq(post.status, 201);
	get = api_get(gbt_header(&post, "Location"));
	cr_assert_eq(get.status, 200, "%s", get.body);
	cr_assert_str_eq(get.body, post.body);
	cr_assert_str_eq(gbt_header(&get, "Cache-Control"), "no-cache");
	cr_assert_not_null(gbt_header(&get, "ETag"));
	gbt_response_free(&get);
	gbt_response_free(&post);
}

Test(api_v1, unknown_id_is_404_not_found)
{
	struct gbt_response r = api_get("/api/v1/messages/999999");

	api_assert_error(&r, 404, "not_found", NULL, "message not found");
	gbt_response_free(&r);
	r = api_get("/api/v1/messages/not-an-id");
	api_assert_error(&r, 404, "not_found", NULL, NULL);
	gbt_response_free(&r);
}

Test(api_v1, empty_list_has_no_messages_and_null_cursor)
{
	char *body = api_body_of("/api/v1/messages", 200);

	cr_assert_str_eq(body, "{\"messages\":[],\"next_cursor\":null}");
	free(body);
}

Test(api_v1, list_is_newest_first)
{
	char *a = api_create("A", "first");
	char *b = api_create("B", "second");
	char *c = api_create("C", "third");
	struct gbt_response r = api_get("/api/v1/messages");
	cJSON *j, *msgs;

	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(gbt_header(&r, "Content-Type"), "application/json");
	j = api_json(&r);
	msgs = cJSON_GetObjectItem(j, "messages");
	cr_assert_eq(cJSON_GetArraySize(msgs), 3);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "id")->valuestring,
	    c);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "id")->valuestring,
	    b);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "id")->valuestring,
	    a);
	assert_v1_shape(cJSON_GetArrayItem(msgs, 0));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "next_cursor")));
	cJSON_Delete(j);
	gbt_response_free(&r);
	free(a);
	free(b);
	free(c);
}

Test(api_v1, default_page_is_20_messages)
{
	struct gbt_response r;
	cJSON *j;

	for (int i = 0; i < 21; i++)
		free(api_create("A", "m"));
	r = api_get("/api/v1/messages");
	j = api_json(&r);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")),
		     20);
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(j, "next_cursor")));
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(api_v1, cursor_paging_visits_45_messages_once_newest_first)
{
	char *ids[45];
	char path[512] = "/api/v1/messages?limit=10";
	int seen = 0, pages = 0;

	for (int i = 0; i < 45; i++) {
		char text[32];

		snprintf(text, sizeof(text), "message %d", i);
		ids[i] = api_create("pager", text);
	}
	for (;;) {
		struct gbt_response r = api_get(path);
		cJSON *j = api_json(&r), *m, *next;

		cr_assert_eq(r.status, 200, "%s", r.body);
		pages++;
		cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "messages"))
		{
			cr_assert_lt(seen, 45, "more than 45 messages");
			/* newest first: the ids in reverse creation order */
			cr_assert_str_eq(
			    cJSON_GetObjectItem(m, "id")->valuestring,
			    ids[44 - seen], "message %d out of place", seen);
			seen++;
		}
		next = cJSON_GetObjectItem(j, "next_cursor");
		if (cJSON_IsNull(next)) {
			cJSON_Delete(j);
			gbt_response_free(&r);
			break;
		}
		cr_assert(cJSON_IsString(next));
		snprintf(path, sizeof(path),
			 "/api/v1/messages?limit=10&cursor=%s",
			 next->valuestring);
		cJSON_Delete(j);
		gbt_response_free(&r);
		cr_assert_lt(pages, 10, "paging does not end");
	}
	cr_assert_eq(seen, 45);
	cr_assert_eq(pages, 5);
	for (int i = 0; i < 45; i++)
		free(ids[i]);
}

Test(api_v1, limits_1_and_100_are_accepted)
{
	struct gbt_response r;
	cJSON *j;

	free(api_create("A", "one"));
	free(api_create("B", "two"));
	r = api_get("/api/v1/messages?limit=1");
	cr_assert_eq(r.status, 200);
	j = api_json(&r);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")), 1);
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(j, "next_cursor")));
	cJSON_Delete(j);
	gbt_response_free(&r);
	r = api_get("/api/v1/messages?limit=100");
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
}

Test(api_v1, bad_limit_is_400_invalid_parameter)
{
	static const char *const bad[] = {
	    "0", "101", "abc", "-1", "", "1.5", "99999999999999999999", "10x"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[128];
		struct gbt_response r;

		snprintf(path, sizeof(path), "/api/v1/messages?limit=%s",
			 bad[i]);
		r = api_get(path);
		api_assert_error(&r, 400, "invalid_parameter", "limit",
				 "limit must be an integer from 1 to 100");
		gbt_response_free(&r);
	}
}

Test(api_v1, bad_cursor_is_400_invalid_parameter)
{
	static const char *const bad[] = {"%21%21", "zzzz", "a.b", "-5"};

	free(api_create("A", "m"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[128];
		struct gbt_response r;

		snprintf(path, sizeof(path), "/api/v1/messages?cursor=%s",
			 bad[i]);
		r = api_get(path);
		api_assert_error(&r, 400, "invalid_parameter", "cursor", NULL);
		gbt_response_free(&r);
	}
}

Test(api_v1, list_has_strong_etag_and_no_cache)
{
	struct gbt_response r = api_get("/api/v1/messages");
	const char *etag = gbt_header(&r, "ETag");

	cr_assert_not_null(etag);
	cr_assert_eq(etag[0], '"', "not a strong tag: %s", etag);
	cr_assert_eq(etag[strlen(etag) - 1], '"');
	cr_assert_str_eq(gbt_header(&r, "Cache-Control"), "no-cache");
	gbt_response_free(&r);
}

/* GET /api/v1/messages with If-None-Match: value. */
static struct gbt_response get_if_none_match(const char *value)
{
	char line[300];
	const char *headers[] = {line, NULL};

	snprintf(line, sizeof(line), "If-None-Match: %s", value);
	return api_request("GET", "/api/v1/messages", headers, NULL, 0);
}

/* The current ETag of the list (malloc'd). */
static char *list_etag(void)
{
	struct gbt_response r = api_get("/api/v1/messages");
	char *etag;

	cr_assert_eq(r.status, 200);
	etag = strdup(gbt_header(&r, "ETag"));
	gbt_response_free(&r);
	return etag;
}

Test(api_v1, matching_etag_gives_304_without_body)
{
	char *etag, value[256];
	struct gbt_response r;

	free(api_create("A", "m"));
	etag = list_etag();
	r = get_if_none_match(etag);
	cr_assert_eq(r.status, 304, "%s", r.body);
	cr_assert_eq(r.body_len, 0);
	cr_assert_str_eq(gbt_header(&r, "ETag"), etag);
	gbt_response_free(&r);

	snprintf(value, sizeof(value), "W/%s", etag);
	r = get_if_none_match(value);
	cr_assert_eq(r.status, 304, "weak form of the tag");
	gbt_response_free(&r);

	snprintf(value, sizeof(value), "\"other\", %s", etag);
	r = get_if_none_match(value);
	cr_assert_eq(r.status, 304, "tag in a list");
	gbt_response_free(&r);

	r = get_if_none_match("*");
	cr_assert_eq(r.status, 304, "star");
	gbt_response_free(&r);
	free(etag);
}

Test(api_v1, other_etag_gives_200_with_body)
{
	struct gbt_response r = get_if_none_match("\"0000000000000000\"");

	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"messages\":[],\"next_cursor\":null}");
	gbt_response_free(&r);
}

Test(api_v1, etag_changes_after_a_post)
{
	char *before, *after;
	struct gbt_response r;

	free(api_create("A", "first"));
	before = list_etag();
	free(api_create("B", "second"));
	r = get_if_none_match(before);
	cr_assert_eq(r.status, 200, "a stale tag must not give 304");
	cr_assert_neq(strstr(r.body, "second"), NULL);
	after = strdup(gbt_header(&r, "ETag"));
	cr_assert_str_neq(before, after);
	gbt_response_free(&r);
	free(before);
	free(after);
}

Test(api_v1, single_message_answers_304_to_its_etag)
{
	char *id = api_create("A", "m");
	char path[128], line[128];
	const char *headers[] = {line, NULL};
	struct gbt_response r;

	snprintf(path, sizeof(path), "/api/v1/messages/%s", id);
	r = api_get(path);
	snprintf(line, sizeof(line), "If-None-Match: %s",
		 gbt_header(&r, "ETag"));
	gbt_response_free(&r);
	r = api_request("GET", path, headers, NULL, 0);
	cr_assert_eq(r.status, 304);
	gbt_response_free(&r);
	free(id);
}

Test(api_v1, head_of_list_has_etag_and_no_body)
{
	struct gbt_response r =
	    api_request("HEAD", "/api/v1/messages", NULL, NULL, 0);

	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	cr_assert_not_null(gbt_header(&r, "ETag"));
	gbt_response_free(&r);
}

Test(api_v1, post_without_json_content_type_is_415)
{
	static const char body[] = "{\"author\":\"A\",\"message\":\"m\"}";
	static const char *const plain[] = {"Content-Type: text/plain", NULL};
	static const char *const form[] = {
	    "Content-Type: application/x-www-form-urlencoded", NULL};
	struct gbt_response r;

	r = api_request("POST", "/api/v1/messages", NULL, body,
			sizeof(body) - 1);
	api_assert_error(&r, 415, "unsupported_media_type", NULL, NULL);
	gbt_response_free(&r);
	r = api_request("POST", "/api/v1/messages", plain, body,
			sizeof(body) - 1);
	api_assert_error(&r, 415, "unsupported_media_type", NULL, NULL);
	gbt_response_free(&r);
	r = api_request("POST", "/api/v1/messages", form, body,
			sizeof(body) - 1);
	api_assert_error(&r, 415, "unsupported_media_type", NULL, NULL);
	gbt_response_free(&r);
}

Test(api_v1, json_content_type_with_charset_is_accepted)
{
	static const char body[] = "{\"author\":\"A\",\"message\":\"m\"}";
	static const char *const headers[] = {
	    "Content-Type: application/json; charset=UTF-8", NULL};
	struct gbt_response r = api_request("POST", "/api/v1/messages", headers,
					    body, sizeof(body) - 1);

	cr_assert_eq(r.status, 201, "%s", r.body);
	gbt_response_free(&r);
}

Test(api_v1, post_with_invalid_json_is_400_invalid_json)
{
	static const char *const bad[] = {
	    "", "{", "author=A&message=m", "{\"author\":\"A\",}",
	    "{\"author\":\"A\",\"message\":\"m\"}x"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gbt_response r =
		    api_post_json("/api/v1/messages", bad[i]);

		api_assert_error(&r, 400, "invalid_json", NULL, NULL);
		gbt_response_free(&r);
	}
}

Test(api_v1, post_of_non_object_is_422_invalid_field)
{
	static const char *const bad[] = {"[]", "\"hi\"", "42", "null"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gbt_response r =
		    api_post_json("/api/v1/messages", bad[i]);

		api_assert_error(&r, 422, "invalid_field", NULL, NULL);
		gbt_response_free(&r);
	}
}

Test(api_v1, post_with_missing_or_mistyped_fields_is_422_naming_them)
{
	struct gbt_response r;

	r = api_post_json("/api/v1/messages", "{\"message\":\"m\"}");
	api_assert_error(&r, 422, "invalid_field", "author",
			 "author is required");
	gbt_response_free(&r);
	r = api_post_json("/api/v1/messages", "{\"author\":\"A\"}");
	api_assert_error(&r, 422, "invalid_field", "message",
			 "message is required");
	gbt_response_free(&r);
	r = api_post_json("/api/v1/messages",
			  "{\"author\":1,\"message\":\"m\"}");
	api_assert_error(&r, 422, "invalid_field", "author",
			 "author must be a string");
	gbt_response_free(&r);
	r = api_post_json("/api/v1/messages",
			  "{\"author\":\"A\",\"message\":[]}");
	api_assert_error(&r, 422, "invalid_field", "message",
			 "message must be a string");
	gbt_response_free(&r);
}

/* `unit` repeated n times (malloc'd). */
static char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = malloc(len * n + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

static void assert_post_refused(const char *author, const char *message,
				const char *field, const char *why)
{
	struct gbt_response r =
	    api_post_message("/api/v1/messages", author, message);

	api_assert_error(&r, 422, "invalid_field", field, why);
	gbt_response_free(&r);
}

Test(api_v1, empty_or_blank_fields_are_422)
{
	assert_post_refused("", "m", "author",
			    "author must be 1 to 64 characters");
	assert_post_refused("   ", "m", "author",
			    "author must be 1 to 64 characters");
	assert_post_refused("A", " \n\t ", "message",
			    "message must be 1 to 1000 characters");
}

Test(api_v1, author_of_65_multibyte_characters_is_422)
{
	char *author = repeat("\xc3\xa9", 65);

	assert_post_refused(author, "m", "author",
			    "author must be 1 to 64 characters");
	free(author);
}

Test(api_v1, message_of_1001_characters_is_422)
{
	char *message = repeat("\xe6\x97\xa5", 1001);

	assert_post_refused("A", message, "message",
			    "message must be 1 to 1000 characters");
	free(message);
}

Test(api_v1, longest_fields_are_stored_whole)
{
	char *author = repeat("\xf0\x9f\x98\x80", 64);
	char *message = repeat("\xe6\x97\xa5", 1000);
	struct gbt_response r =
	    api_post_message("/api/v1/messages", author, message);
	cJSON *j;

	cr_assert_eq(r.status, 201, "%s", r.body);
	gbt_response_free(&r);
	r = api_get("/api/v1/messages");
	j = api_json(&r);
	cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(m, "author")->valuestring, author);
	cr_assert_str_eq(cJSON_GetObjectItem(m, "message")->valuestring,
			 message);
	cJSON_Delete(j);
	gbt_response_free(&r);
	free(author);
	free(message);
}

Test(api_v1, control_characters_are_422)
{
	assert_post_refused("A\tB", "m", "author",
			    "author must not contain control characters");
	assert_post_refused("A", "bell \x07", "message",
			    "message must not contain control characters "
			    "other than newline and tab");
	/* an escaped NUL must not cut the text short */
	struct gbt_response r = api_post_json(
	    "/api/v1/messages", "{\"author\":\"A\\u0000B\",\"message\":\"m\"}");
	api_assert_error(&r, 422, "invalid_field", "author", NULL);
	gbt_response_free(&r);
}

Test(api_v1, newlines_and_tabs_are_kept_in_message)
{
	struct gbt_response r =
	    api_post_message("/api/v1/messages", "A", "line 1\n\tline 2");
	cJSON *j = api_json(&r);

	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "message")->valuestring,
			 "line 1\n\tline 2");
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(api_v1, post_with_invalid_utf8_is_422)
{
	static const char *const bodies[] = {
	    "{\"author\":\"caf\xe9\",\"message\":\"m\"}",      /* latin-1 */
	    "{\"author\":\"A\",\"message\":\"\xc0\xaf\"}",     /* overlong */
	    "{\"author\":\"A\",\"message\":\"\xed\xa0\x80\"}", /* surrogate */
	    "{\"author\":\"A\",\"message\":\"\xf4\x90\x80\x80\"}", /* > 10FFFF
								    */
	    "{\"author\":\"A\",\"message\":\"\xe2\x82\"}", /* truncated */
	};
	static const char *const fields[] = {"author", "message", "message",
					     "message", "message"};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct gbt_response r =
		    api_post_json("/api/v1/messages", bodies[i]);

		api_assert_error(&r, 422, "invalid_field", fields[i], NULL);
		cr_assert_neq(strstr(r.body, "valid UTF-8"), NULL, "%s",
			      r.body);
		gbt_response_free(&r);
	}
}

Test(api_v1, text_is_stored_as_sent_not_html_escaped)
{
	static const char *const html = "<b>bold</b> & \"quoted\" <script>";
	char *id = api_create("<i>Ann</i>", html);
	char path[128];
	struct gbt_response r;
	cJSON *j;

	snprintf(path, sizeof(path), "/api/v1/messages/%s", id);
	r = api_get(path);
	j = api_json(&r);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "author")->valuestring,
			 "<i>Ann</i>");
	cr_assert_str_eq(cJSON_GetObjectItem(j, "message")->valuestring, html);
	cr_assert_null(strstr(r.body, "&lt;"));
	cr_assert_null(strstr(r.body, "&amp;"));
	cJSON_Delete(j);
	gbt_response_free(&r);
	free(id);
}

Test(api_v1, bad_input_never_alters_stored_data)
{
	static const char *const garbage[] = {
	    "",
	    "{",
	    "[]",
	    "null",
	    "{\"author\":\"A\"}",
	    "{\"author\":\"\",\"message\":\"m\"}",
	    "{\"author\":\"A\",\"message\":\"\x01\"}",
	    "{\"author\":\"A\",\"message\":\"\xff\"}",
	    "{\"author\":7,\"message\":\"m\"}",
	};
	char *before, *after;
	struct gbt_response r;

	free(api_create("A", "one"));
	free(api_create("B", "two"));
	before = api_body_of("/api/v1/messages", 200);
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		r = api_post_json("/api/v1/messages", garbage[i]);
		cr_assert(r.status == 400 || r.status == 422, "%d for %s",
			  r.status, garbage[i]);
		gbt_response_free(&r);
		r = api_post_json("/messages", garbage[i]);
		cr_assert_eq(r.status, 400, "legacy %d for %s", r.status,
			     garbage[i]);
		gbt_response_free(&r);
	}
	r = api_request("POST", "/api/v1/messages", NULL,
			"{\"author\":\"A\",\"message\":\"m\"}", 29);
	cr_assert_eq(r.status, 415);
	gbt_response_free(&r);
	after = api_body_of("/api/v1/messages", 200);
	cr_assert_str_eq(after, before);
	free(before);
	free(after);
}

Test(api_v1, other_methods_are_405_with_allow)
{
	struct gbt_response r;

	r = api_request("PUT", "/api/v1/messages", NULL, NULL, 0);
	api_assert_error(&r, 405, "method_not_allowed", NULL, NULL);
	cr_assert_neq(strstr(gbt_header(&r, "Allow"), "GET"), NULL);
	cr_assert_neq(strstr(gbt_header(&r, "Allow"), "POST"), NULL);
	cr_assert_null(strstr(gbt_header(&r, "Allow"), "DELETE"));
	gbt_response_free(&r);

	r = api_request("PATCH", "/api/v1/messages/1", NULL, NULL, 0);
	api_assert_error(&r, 405, "method_not_allowed", NULL, NULL);
	cr_assert_neq(strstr(gbt_header(&r, "Allow"), "GET"), NULL);
	cr_assert_neq(strstr(gbt_header(&r, "Allow"), "DELETE"), NULL);
	cr_assert_null(strstr(gbt_header(&r, "Allow"), "POST"));
	gbt_response_free(&r);

	r = api_request("DELETE", "/api/v1/messages", NULL, NULL, 0);
	cr_assert_eq(r.status, 405);
	gbt_response_free(&r);
}

/* The api registers one handler per method: the host's Allow lists
 * exactly those (HEAD from GET), and HEAD runs the GET handler. */
Test(api_v1, per_method_routes_give_exact_allow_and_head)
{
	struct gbt_response r;

	r = api_request("PUT", "/api/v1/messages", NULL, NULL, 0);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(gbt_header(&r, "Allow"), "GET, HEAD, POST");
	gbt_response_free(&r);
	r = api_request("POST", "/api/v1/messages/1", NULL, "{}", 2);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(gbt_header(&r, "Allow"), "GET, HEAD, DELETE");
	gbt_response_free(&r);
	r = api_request("OPTIONS", "/messages", NULL, NULL, 0);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(gbt_header(&r, "Allow"), "GET, HEAD, POST");
	gbt_response_free(&r);
	r = api_request("HEAD", "/api/v1/messages", NULL, NULL, 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	cr_assert_not_null(gbt_header(&r, "ETag"), "the GET handler ran");
	gbt_response_free(&r);
}

Test(api_v1, body_over_16_kib_is_413)
{
	static const char *const headers[] = {"Content-Type: application/json",
					      NULL};
	size_t len = 16 * 1024 + 1;
	char *body = malloc(len);
	struct gbt_response r;

	memset(body, ' ', len);
	body[0] = '{';
	body[len - 1] = '}';
	r = api_request("POST", "/api/v1/messages", headers, body, len);
	api_assert_error(&r, 413, "payload_too_large", NULL, NULL);
	gbt_response_free(&r);
	free(body);
}

Test(api_v1, body_of_exactly_16_kib_is_read)
{
	size_t len = 16 * 1024;
	char *body = malloc(len + 1);
	struct gbt_response r;

	/* {"author":"A","message":"xxxx..."}: read, then refused as too long */
	int head = snprintf(body, len + 1, "{\"author\":\"A\",\"message\":\"");
	memset(body + head, 'x', len - (size_t)head - 2);
	memcpy(body + len - 2, "\"}", 2);
	body[len] = '\0';
	r = api_post_json("/api/v1/messages", body);
	api_assert_error(&r, 422, "invalid_field", "message", NULL);
	gbt_response_free(&r);
	free(body);
}
