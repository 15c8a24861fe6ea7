/*
 * HTTP framing details of the request path and the access log under
 * hostile requests, against the real guestbookd (api and web over SQLite).
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct gbt_server srv;

static void start(void)
{
	static const char *const args[] = {
	    "--plugins",     "api,web",	      "--storage",
	    "sqlite",	     "--rate-limit",  "0",
	    "--admin-token", "review-secret", NULL};

	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0,
		     "guestbookd did not start");
}

static void stop(void)
{
	if (srv.pid > 0)
		gbt_server_stop(&srv, SIGKILL);
	srv.pid = 0;
}

TestSuite(review_http, .init = start, .fini = stop, .timeout = 60);

static struct gbt_response request(const char *method, const char *path,
				   const char *const *headers, const char *body)
{
	struct gbt_response r;

	cr_assert_eq(gbt_http(srv.port, method, path, headers, body,
			      body ? strlen(body) : 0, &r),
		     0, "%s %s: no answer", method, path);
	return r;
}

/* RFC 9110 8.6: no Content-Length in a 204; in a 304 only the length
 * the 200 would have had, so none rather than a wrong 0. */
Test(review_http, no_content_and_not_modified_carry_no_content_length)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	char inm[128], path[160], etag[64];
	struct gbt_response r;

	r = request("POST", "/api/v1/messages", json,
		    "{\"author\":\"Ann\",\"message\":\"hello\"}");
	cr_assert_eq(r.status, 201);
	snprintf(path, sizeof path, "%s", gbt_header(&r, "Location"));
	gbt_response_free(&r);

	r = request("GET", "/api/v1/messages", NULL, NULL);
	cr_assert_eq(r.status, 200);
	snprintf(etag, sizeof etag, "%s", gbt_header(&r, "ETag"));
	gbt_response_free(&r);
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	const char *const cond[] = {inm, NULL};
	r = request("GET", "/api/v1/messages", cond, NULL);
	cr_assert_eq(r.status, 304);
	cr_assert_null(gbt_header(&r, "Content-Length"),
		       "304 with Content-Length: %s",
		       gbt_header(&r, "Content-Length"));
	cr_assert_eq(r.body_len, 0);
	gbt_response_free(&r);

	r = request("GET", "/static/app.js", NULL, NULL);
	cr_assert_eq(r.status, 200);
	snprintf(inm, sizeof inm, "If-None-Match: %s", gbt_header(&r, "ETag"));
	gbt_response_free(&r);
	r = request("GET", "/static/app.js", cond, NULL);
	cr_assert_eq(r.status, 304);
	cr_assert_null(gbt_header(&r, "Content-Length"));
	gbt_response_free(&r);

	static const char *const auth[] = {
	    "Authorization: Bearer review-secret", NULL};
	r = request("DELETE", path, auth, NULL);
	cr_assert_eq(r.status, 204);
	cr_assert_null(gbt_header(&r, "Content-Length"),
		       "204 with Content-Length: %s",
		       gbt_header(&r, "Content-Length"));
	cr_assert_eq(r.body_len, 0);
	gbt_response_free(&r);
}

/* A HEAD answer announces the length of the GET body it leaves out. */
Test(review_http, head_announces_the_get_length)
{
	struct gbt_response get = request("GET", "/health", NULL, NULL);
	struct gbt_response head = request("HEAD", "/health", NULL, NULL);

	cr_assert_eq(head.status, 200);
	cr_assert_eq(head.body_len, 0);
	char want[32];
	snprintf(want, sizeof want, "%zu", get.body_len);
	cr_assert_str_eq(gbt_header(&head, "Content-Length"), want);
	gbt_response_free(&get);
	gbt_response_free(&head);
}

/* The access line of a request with bytes that are not UTF-8 in its
 * path and User-Agent is still valid JSON (Loki, jq). */
Test(review_http, access_line_of_a_non_utf8_request_is_valid_json)
{
	static const char *const headers[] = {
	    "X-Request-Id: review-hostile-1",
	    "User-Agent: agent-\xff\xfe-\xc0\xaf", NULL};
	struct gbt_response r =
	    request("GET", "/caf%e9/%ff%c0%af", headers, NULL);

	cr_assert_eq(r.status, 404);
	gbt_response_free(&r);
	char *log = gbt_server_log_wait(&srv, "review-hostile-1");
	char *line = strstr(log, "review-hostile-1");
	cr_assert_not_null(line, "no access line:\n%s", log);
	while (line > log && line[-1] != '\n')
		line--;
	*strchr(line, '\n') = '\0';
	for (const unsigned char *p = (const unsigned char *)line; *p; p++)
		cr_assert_lt(*p, 0x80, "raw non-ASCII byte in: %s", line);
	cJSON *root = cJSON_Parse(line);
	cr_assert_not_null(root, "not JSON: %s", line);
	cr_assert_eq(cJSON_GetObjectItem(root, "status")->valueint, 404);
	cJSON_Delete(root);
	free(log);
}

/* civetweb's worker threads have small stacks (100 KiB in the Debian
 * build); a body of nested arrays well inside cJSON's own nesting limit
 * of 1000 used to overflow it while parsing and kill the server. */
Test(review_http, deeply_nested_json_body_is_400_not_a_crash)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	static const char *const paths[] = {"/api/v1/messages", "/messages"};
	size_t depth = 900;
	char *body = malloc(2 * depth + 1);

	memset(body, '[', depth);
	memset(body + depth, ']', depth);
	body[2 * depth] = '\0';
	for (size_t i = 0; i < 2; i++) {
		struct gbt_response r = request("POST", paths[i], json, body);

		cr_assert_eq(r.status, 400, "POST %s: %d", paths[i], r.status);
		cr_assert_not_null(strstr(r.body, "\"invalid_json\""), "%s",
				   r.body);
		gbt_response_free(&r);
	}
	struct gbt_response r = request("GET", "/health", NULL, NULL);
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
	free(body);
}

/* civetweb answers CORS preflights itself by default, with
 * "Access-Control-Allow-Origin: *" and whatever method and headers were
 * asked for: any web site could then send JSON posts (and Authorization
 * headers) cross-origin, and those answers skip the host (no request id,
 * no log line, no metrics). The page talks to the API on its own origin,
 * so the host answers OPTIONS like any other method: 405 with Allow. */
Test(review_http, cors_preflight_is_not_granted)
{
	static const char *const preflight[] = {
	    "Origin: https://elsewhere.example",
	    "Access-Control-Request-Method: DELETE",
	    "Access-Control-Request-Headers: authorization", NULL};
	static const char *const paths[] = {"/api/v1/messages/1",
					    "/api/v1/messages", "/post"};

	for (size_t i = 0; i < 3; i++) {
		struct gbt_response r =
		    request("OPTIONS", paths[i], preflight, NULL);

		cr_assert_eq(r.status, 405, "OPTIONS %s: %d", paths[i],
			     r.status);
		cr_assert_null(gbt_header(&r, "Access-Control-Allow-Origin"),
			       "OPTIONS %s granted CORS", paths[i]);
		cr_assert_null(gbt_header(&r, "Access-Control-Allow-Methods"));
		cr_assert_not_null(gbt_header(&r, "X-Request-Id"));
		cr_assert_not_null(gbt_header(&r, "Allow"));
		cr_assert_not_null(strstr(r.body, "method_not_allowed"));
		gbt_response_free(&r);
	}
}

/* A store call that finds the store down turns /ready to 503 at once;
 * its body must then name the failure, not the "ok" of the last ping. */
Test(review_ready, ready_names_the_failure_a_request_found)
{
	static const char *const back_args[] = {"--role", "backend",
						"--storage", "sqlite", NULL};
	struct gbt_server back, front;
	char url[64];
	const char *front_args[] = {"--role",
				    "frontend",
				    "--backend-url",
				    url,
				    "--ready-cache-ms",
				    "60000",
				    "--list-cache-ms",
				    "0",
				    NULL};
	struct gbt_response r;

	cr_assert_eq(gbt_server_start(&back, back_args, NULL), 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", back.port);
	cr_assert_eq(gbt_server_start(&front, front_args, NULL), 0);
	cr_assert_eq(gbt_http(front.port, "GET", "/ready", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	gbt_response_free(&r);

	gbt_server_stop(&back, SIGKILL);
	cr_assert_eq(
	    gbt_http(front.port, "GET", "/api/v1/messages", NULL, NULL, 0, &r),
	    0);
	cr_assert_eq(r.status, 503, "%s", r.body);
	gbt_response_free(&r);
	cr_assert_eq(gbt_http(front.port, "GET", "/ready", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 503, "%s", r.body);
	cJSON *root = cJSON_Parse(r.body);
	cJSON *st = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(root, "checks"), "storage"),
	    "error");
	cr_assert(cJSON_IsString(st), "%s", r.body);
	cr_assert_str_neq(st->valuestring, "ok", "%s", r.body);
	cJSON_Delete(root);
	gbt_response_free(&r);
	gbt_server_stop(&front, SIGKILL);
}
