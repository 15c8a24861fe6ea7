/*
 * api_batch.c - POST /api/v1/messages/batch over SQLite: every message
 * answered in order with what POST /api/v1/messages would answer, bad
 * members failing alone, idempotency keys per message, malformed bodies
 * refused whole; and a front end whose concurrent posts reach the backend
 * as batches, each stored exactly once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_helpers.h"

TestSuite(api_batch, .init = api_start_default, .fini = api_stop,
	  .timeout = 90);

static struct gbt_response post_batch(const char *body)
{
	return api_post_json("/api/v1/messages/batch", body);
}

/* results[i] of a 200 answer (the whole answer stays in *root). */
static cJSON *result(cJSON *root, int i)
{
	cJSON *r = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(root, "results"), i);

	cr_assert_not_null(r, "no result %d", i);
	return r;
}

static int result_status(cJSON *root, int i)
{
	return cJSON_GetObjectItemCaseSensitive(result(root, i), "status")
	    ->valueint;
}

static const char *result_text(cJSON *root, int i, const char *outer,
			       const char *name)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(result(root, i), outer);

	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* Messages stored, counted through the legacy list. */
static int stored_count(void)
{
	struct gbt_response r = api_get("/messages");
	cJSON *j = api_json(&r);
	int n = cJSON_GetArraySize(j);

	cJSON_Delete(j);
	gbt_response_free(&r);
	return n;
}

/* The id of the list's i-th message, newest first. */
static char *listed_id(int i)
{
	struct gbt_response r = api_get("/api/v1/messages");
	cJSON *j = api_json(&r);
	cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), i);
	char *id = strdup(cJSON_GetObjectItem(m, "id")->valuestring);

	cJSON_Delete(j);
	gbt_response_free(&r);
	return id;
}

Test(api_batch, every_message_is_stored_and_answered_in_order)
{
	struct gbt_response r = post_batch(
	    "{\"messages\":[{\"author\":\"Ann\",\"message\":\"one\"},"
	    "{\"author\":\"Bob\",\"message\":\"two\"},"
	    "{\"author\":\"Cy\",\"message\":\"three\"}]}");
	cJSON *root;
	char *newest, *oldest;

	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	root = api_json(&r);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "results")),
		     3);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(result_status(root, i), 201);
		cr_assert_not_null(result_text(root, i, "message", "id"));
		cr_assert_not_null(
		    result_text(root, i, "message", "created_at"));
		cr_assert_null(
		    cJSON_GetObjectItem(result(root, i), "replayed"));
	}
	cr_assert_str_eq(result_text(root, 1, "message", "author"), "Bob");
	cr_assert_str_eq(result_text(root, 2, "message", "message"), "three");
	/* stored in their order: the list shows the last one first */
	newest = listed_id(0);
	oldest = listed_id(2);
	cr_assert_str_eq(newest, result_text(root, 2, "message", "id"));
	cr_assert_str_eq(oldest, result_text(root, 0, "message", "id"));
	cr_assert_eq(stored_count(), 3);
	free(newest);
	free(oldest);
	cJSON_Delete(root);
	gbt_response_free(&r);
}

Test(api_batch, a_bad_member_fails_alone_with_the_single_post_error)
{
	struct gbt_response r = post_batch(
	    "{\"messages\":[{\"author\":\"Ann\",\"message\":\"kept\"},"
	    "{\"author\":\"   \",\"message\":\"no name\"},"
	    "{\"author\":\"Bob\"},"
	    "7,"
	    "{\"author\":\"Cy\",\"message\":\"kept too\"}]}");
	cJSON *root;

	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	root = api_json(&r);
	cr_assert_eq(result_status(root, 0), 201);
	cr_assert_eq(result_status(root, 1), 422);
	cr_assert_str_eq(result_text(root, 1, "error", "code"),
			 "invalid_field");
	cr_assert_str_eq(result_text(root, 1, "error", "field"), "author");
	cr_assert_eq(result_status(root, 2), 422);
	cr_assert_str_eq(result_text(root, 2, "error", "field"), "message");
	cr_assert_eq(result_status(root, 3), 422);
	cr_assert_null(result_text(root, 3, "error", "field"));
	cr_assert_eq(result_status(root, 4), 201);
	cr_assert_eq(stored_count(), 2);
	cJSON_Delete(root);
	gbt_response_free(&r);
}

Test(api_batch, keys_store_each_message_once_within_and_across_batches)
{
	const char *body =
	    "{\"messages\":[{\"author\":\"Ann\",\"message\":\"once\","
	    "\"idempotency_key\":\"b-1\"},"
	    "{\"author\":\"Ann\",\"message\":\"once\","
	    "\"idempotency_key\":\"b-1\"},"
	    "{\"author\":\"Ann\",\"message\":\"other\","
	    "\"idempotency_key\":\"b-1\"},"
	    "{\"author\":\"Ann\",\"message\":\"bad key\","
	    "\"idempotency_key\":\"has space\"}]}";
	struct gbt_response r = post_batch(body), again;
	cJSON *root, *root2;

	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	root = api_json(&r);
	cr_assert_eq(result_status(root, 0), 201);
	cr_assert_eq(result_status(root, 1), 201);
	cr_assert(
	    cJSON_IsTrue(cJSON_GetObjectItem(result(root, 1), "replayed")));
	cr_assert_str_eq(result_text(root, 1, "message", "id"),
			 result_text(root, 0, "message", "id"));
	cr_assert_eq(result_status(root, 2), 422);
	cr_assert_str_eq(result_text(root, 2, "error", "code"),
			 "idempotency_key_reused");
	cr_assert_eq(result_status(root, 3), 400);
	cr_assert_str_eq(result_text(root, 3, "error", "field"),
			 "idempotency_key");
	/* the whole batch again: nothing new is stored */
	again = post_batch(body);
	root2 = api_json(&again);
	cr_assert_eq(result_status(root2, 0), 201);
	cr_assert(
	    cJSON_IsTrue(cJSON_GetObjectItem(result(root2, 0), "replayed")));
	cr_assert_str_eq(result_text(root2, 0, "message", "id"),
			 result_text(root, 0, "message", "id"));
	cr_assert_eq(stored_count(), 1);
	cJSON_Delete(root);
	cJSON_Delete(root2);
	gbt_response_free(&r);
	gbt_response_free(&again);
}

Test(api_batch, a_key_from_a_single_post_is_replayed_in_a_batch)
{
	static const char *const headers[] = {"Content-Type: application/json",
					      "Idempotency-Key: s-1", NULL};
	const char *one = "{\"author\":\"Ann\",\"message\":\"single\"}";
	struct gbt_response s =
	    api_request("POST", "/api/v1/messages", headers, one, strlen(one));
	struct gbt_response r =
	    post_batch("{\"messages\":[{\"author\":\"Ann\",\"message\":"
		       "\"single\",\"idempotency_key\":\"s-1\"}]}");
	cJSON *single = api_json(&s), *root = api_json(&r);

	cr_assert_eq(s.status, 201);
	cr_assert_eq(result_status(root, 0), 201);
	cr_assert_str_eq(result_text(root, 0, "message", "id"),
			 cJSON_GetObjectItem(single, "id")->valuestring);
	cr_assert_eq(stored_count(), 1);
	cJSON_Delete(single);
	cJSON_Delete(root);
	gbt_response_free(&s);
	gbt_response_free(&r);
}

Test(api_batch, malformed_bodies_are_refused_whole)
{
	static const char *const bad[] = {
	    "not json", "[]", "{}", "{\"messages\":[]}",
	    "{\"messages\":{\"author\":\"a\",\"message\":\"m\"}}"};
	static const char *const text_plain[] = {"Content-Type: text/plain",
						 NULL};
	char *many = malloc(101 * 40 + 32);
	size_t n = 0;
	struct gbt_response r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = post_batch(bad[i]);
		api_assert_error(&r, 400,
				 i == 0 ? "invalid_json" : "invalid_parameter",
				 i == 0 ? NULL : "messages", NULL);
		gbt_response_free(&r);
	}
	n += (size_t)sprintf(many + n, "{\"messages\":[");
	for (int i = 0; i < 101; i++)
		n += (size_t)sprintf(many + n,
				     "%s{\"author\":\"a\",\"message\":\"%d\"}",
				     i ? "," : "", i);
	sprintf(many + n, "]}");
	r = post_batch(many);
	api_assert_error(&r, 400, "invalid_parameter", "messages", NULL);
	gbt_response_free(&r);
	r = api_request("POST", "/api/v1/messages/batch", text_plain, "{}", 2);
	api_assert_error(&r, 415, "unsupported_media_type", NULL, NULL);
	gbt_response_free(&r);
	cr_assert_eq(stored_count(), 0);
	free(many);
}

/* ---- through a front end ------------------------------------------------ */

#define POSTERS 12
#define POSTS	10

static int front_port;

static void *poster(void *arg)
{
	int t = (int)(long)arg, *failures = malloc(sizeof(int));
	static const char *const headers[] = {
	    "Content-Type: application/x-www-form-urlencoded", NULL};

	*failures = 0;
	for (int i = 0; i < POSTS; i++) {
		char body[100];
		struct gbt_response r;

		snprintf(body, sizeof(body),
			 "name=poster+%d&message=post+%d-%d", t, t, i);
		if (gbt_http(front_port, "POST", "/post", headers, body,
			     strlen(body), &r) != 0 ||
		    r.status != 303)
			(*failures)++;
		gbt_response_free(&r);
	}
	return failures;
}

Test(api_batch, concurrent_front_end_posts_are_batched_and_stored_once)
{
	struct gbt_server back, front;
	const char *back_args[] = {"--role",	   "backend",	   "--storage",
				   "sqlite",	   "--rate-limit", "0",
				   "--log-format", "json",	   NULL};
	char url[64], *log;
	const char *front_args[] = {"--role", "frontend",     "--backend-url",
				    url,      "--rate-limit", "0",
				    NULL};
	pthread_t th[POSTERS];
	struct gbt_response r;
	cJSON *all;
	int failures = 0;

	cr_assert_eq(gbt_server_start(&back, back_args, NULL), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", back.port);
	cr_assert_eq(gbt_server_start(&front, front_args, NULL), 0);
	front_port = front.port;
	for (long i = 0; i < POSTERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, poster, (void *)i),
			     0);
	for (int i = 0; i < POSTERS; i++) {
		void *f;

		pthread_join(th[i], &f);
		failures += *(int *)f;
		free(f);
	}
	cr_assert_eq(failures, 0, "%d posts failed", failures);
	/* every post once, none twice */
	cr_assert_eq(gbt_http(back.port, "GET", "/messages", NULL, NULL, 0, &r),
		     0);
	all = cJSON_Parse(r.body);
	cr_assert_eq(cJSON_GetArraySize(all), POSTERS * POSTS, "%d stored",
		     cJSON_GetArraySize(all));
	for (int t = 0; t < POSTERS; t++)
		for (int i = 0; i < POSTS; i++) {
			char text[40];
			int seen = 0;
			cJSON *m;

			snprintf(text, sizeof(text), "post %d-%d", t, i);
			cJSON_ArrayForEach(m, all) seen +=
			    strcmp(
				cJSON_GetObjectItem(m, "message")->valuestring,
				text) == 0;
			cr_assert_eq(seen, 1, "\"%s\" stored %d times", text,
				     seen);
		}
	cJSON_Delete(all);
	gbt_response_free(&r);
	/* twelve posters, at most two requests in flight: batches formed */
	/* (the access log is written after the answer: wait for it) */
	log = gbt_server_log_wait(&back, "\"path\":\"/api/v1/messages/batch\"");
	cr_assert_not_null(strstr(log, "\"path\":\"/api/v1/messages/batch\""),
			   "no batch reached the backend:\n%s", log);
	free(log);
	gbt_server_stop(&front, SIGTERM);
	gbt_server_stop(&back, SIGTERM);
}

/* Statuses of a batch posted to PORT, as a string such as "201 429". */
static void batch_statuses(int port, const char *body, char *out, size_t len)
{
	static const char *const headers[] = {"Content-Type: application/json",
					      NULL};
	struct gbt_response r;
	cJSON *root;
	size_t n = 0;

	cr_assert_eq(gbt_http(port, "POST", "/api/v1/messages/batch", headers,
			      body, strlen(body), &r),
		     0);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	root = api_json(&r);
	out[0] = '\0';
	for (int i = 0;
	     i < cJSON_GetArraySize(cJSON_GetObjectItem(root, "results")); i++)
		n += (size_t)snprintf(out + n, len - n, "%s%d", i ? " " : "",
				      result_status(root, i));
	cJSON_Delete(root);
	gbt_response_free(&r);
}

/* burst: half the per-minute limit, 2 of 4 */
#define CLIENT_BATCH                                                           \
	"{\"messages\":["                                                      \
	"{\"author\":\"a\",\"message\":\"1\",\"client\":\"192.0.2.1\"},"       \
	"{\"author\":\"a\",\"message\":\"2\",\"client\":\"192.0.2.1\"},"       \
	"{\"author\":\"a\",\"message\":\"3\",\"client\":\"192.0.2.1\"},"       \
	"{\"author\":\"b\",\"message\":\"4\",\"client\":\"192.0.2.2\"}]}"

Test(api_batch, each_message_pays_its_clients_rate_limit_behind_a_trusted_proxy)
{
	struct gbt_server s;
	const char *args[] = {"--role",	       "backend",      "--storage",
			      "sqlite",	       "--rate-limit", "4",
			      "--trust-proxy", "on",	       NULL};
	char got[64];

	cr_assert_eq(gbt_server_start(&s, args, NULL), 0);
	batch_statuses(s.port, CLIENT_BATCH, got, sizeof(got));
	cr_assert_str_eq(got, "201 201 429 201");
	gbt_server_stop(&s, SIGTERM);
}

Test(api_batch, without_a_trusted_proxy_the_requester_pays_for_every_message)
{
	struct gbt_server s;
	const char *args[] = {"--role",	      "backend", "--storage", "sqlite",
			      "--rate-limit", "4",	 NULL};
	char got[64];

	cr_assert_eq(gbt_server_start(&s, args, NULL), 0);
	batch_statuses(s.port, CLIENT_BATCH, got, sizeof(got));
	cr_assert_str_eq(got, "201 201 429 429");
	gbt_server_stop(&s, SIGTERM);
}
