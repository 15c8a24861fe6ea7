/*
 * api_helpers.h - shared helpers of the api plugin's integration tests
 * (the api_ files): start guestbookd with the api plugin over SQLite, send
 * requests, read JSON answers. Header-only (static inline) because each
 * integration test file is its own binary.
 */
#ifndef GB_TEST_API_HELPERS_H
#define GB_TEST_API_HELPERS_H

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct gbt_server srv;

/* Starts guestbookd with plugins api over sqlite, then `extra` args. */
static inline void api_start(const char *const *extra)
{
	const char *args[40] = {"--plugins", "api", "--storage", "sqlite"};
	size_t n = 4;

	for (size_t i = 0; extra && extra[i]; i++) {
		cr_assert_lt(n, sizeof(args) / sizeof(args[0]) - 1);
		args[n++] = extra[i];
	}
	args[n] = NULL;
	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0,
		     "guestbookd did not start");
}

/* Default: no rate limit, so tests can post freely. */
static inline void api_start_default(void)
{
	static const char *const extra[] = {"--rate-limit", "0", NULL};

	api_start(extra);
}

static inline void api_stop(void)
{
	if (srv.pid > 0)
		gbt_server_stop(&srv, SIGKILL);
	srv.pid = 0;
}

/* One request; asserts that an answer came back. */
static inline struct gbt_response api_request(const char *method,
					      const char *path,
					      const char *const *headers,
					      const char *body, size_t len)
{
	struct gbt_response r;

	cr_assert_eq(gbt_http(srv.port, method, path, headers, body, len, &r),
		     0, "%s %s: no answer", method, path);
	return r;
}

static inline struct gbt_response api_get(const char *path)
{
	return api_request("GET", path, NULL, NULL, 0);
}

/* POST with Content-Type: application/json. */
static inline struct gbt_response api_post_json(const char *path,
						const char *body)
{
	static const char *const headers[] = {"Content-Type: application/json",
					      NULL};

	return api_request("POST", path, headers, body, strlen(body));
}

/* The JSON {"author":author,"message":message}, malloc'd. */
static inline char *api_message_body(const char *author, const char *message)
{
	cJSON *j = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(j, "author", author);
	cJSON_AddStringToObject(j, "message", message);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return text;
}

/* Posts a message to `path`; returns the response. */
static inline struct gbt_response
api_post_message(const char *path, const char *author, const char *message)
{
	char *body = api_message_body(author, message);
	struct gbt_response r = api_post_json(path, body);

	cJSON_free(body);
	return r;
}

/* Posts through v1, asserts 201 and returns the new id (malloc'd). */
static inline char *api_create(const char *author, const char *message)
{
	struct gbt_response r =
	    api_post_message("/api/v1/messages", author, message);
	cJSON *j;
	char *id;

	cr_assert_eq(r.status, 201, "post failed: %d %s", r.status, r.body);
	j = cJSON_Parse(r.body);
	cr_assert_not_null(j);
	id = strdup(cJSON_GetObjectItem(j, "id")->valuestring);
	cJSON_Delete(j);
	gbt_response_free(&r);
	return id;
}

static inline cJSON *api_json(const struct gbt_response *r)
{
	cJSON *j = cJSON_Parse(r->body);

	cr_assert_not_null(j, "body is not JSON: %s", r->body);
	return j;
}

static inline const char *api_error_member(cJSON *j, const char *name)
{
	cJSON *e = cJSON_GetObjectItem(j, "error");
	cJSON *m = e ? cJSON_GetObjectItem(e, name) : NULL;

	return cJSON_IsString(m) ? m->valuestring : NULL;
}

/*
 * Asserts that r is the JSON error `status` / `code`, with `field` (NULL:
 * no field member) and, when `message` is not NULL, that message.
 */
static inline void api_assert_error(const struct gbt_response *r, int status,
				    const char *code, const char *field,
				    const char *message)
{
	cJSON *j;

	cr_assert_eq(r->status, status, "expected %d, got %d: %s", status,
		     r->status, r->body);
	cr_assert_str_eq(gbt_header(r, "Content-Type"), "application/json");
	j = api_json(r);
	cr_assert_str_eq(api_error_member(j, "code"), code, "body %s", r->body);
	if (field)
		cr_assert_str_eq(api_error_member(j, "field"), field, "body %s",
				 r->body);
	else
		cr_assert_null(api_error_member(j, "field"), "body %s",
			       r->body);
	if (message)
		cr_assert_str_eq(api_error_member(j, "message"), message);
	cJSON_Delete(j);
}

/* The body of GET path, asserting `status`; malloc'd. */
static inline char *api_body_of(const char *path, int status)
{
	struct gbt_response r = api_get(path);
	char *body;

	cr_assert_eq(r.status, status, "GET %s: %d %s", path, r.status, r.body);
	body = strdup(r.body);
	gbt_response_free(&r);
	return body;
}

#endif
