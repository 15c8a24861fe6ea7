/*
 * api_idempotency.c - Idempotency-Key on both POSTs of the api plugin over
 * SQLite: a repeat within the window answers the first 201 and stores
 * nothing, concurrent repeats store one message, a reused key with other
 * text is refused; and a front end whose pooled connection the backend
 * closed retries its post safely (exactly one message per post).
 */
#include <math.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "api_helpers.h"

TestSuite(api_idempotency, .init = api_start_default, .fini = api_stop,
	  .timeout = 60);

static struct gbt_response post_with_key(const char *path, const char *key,
					 const char *body)
{
	char h[200];
	const char *headers[] = {"Content-Type: application/json", h, NULL};

	snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
	return api_request("POST", path, headers, body, strlen(body));
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

Test(api_idempotency, a_repeat_answers_the_first_201_and_stores_nothing)
{
	const char *body = "{\"author\":\"Ann\",\"message\":\"once\"}";
	struct gbt_response first =
	    post_with_key("/api/v1/messages", "k-1", body);
	struct gbt_response again;
	char location[200];

	cr_assert_eq(first.status, 201, "%d %s", first.status, first.body);
	cr_assert_null(gbt_header(&first, "Idempotent-Replayed"));
	snprintf(location, sizeof(location), "%s",
		 gbt_header(&first, "Location"));
	again = post_with_key("/api/v1/messages", "k-1", body);
	cr_assert_eq(again.status, 201, "%d %s", again.status, again.body);
	cr_assert_str_eq(again.body, first.body, "not the first answer");
	cr_assert_str_eq(gbt_header(&again, "Location"), location);
	cr_assert_str_eq(gbt_header(&again, "Idempotent-Replayed"), "true");
	cr_assert_eq(stored_count(), 1);
	gbt_response_free(&first);
	gbt_response_free(&again);
}

Test(api_idempotency, a_key_reused_for_another_message_is_422)
{
	struct gbt_response r =
	    post_with_key("/api/v1/messages", "k-2",
			  "{\"author\":\"Ann\",\"message\":\"a\"}");

	cr_assert_eq(r.status, 201);
	gbt_response_free(&r);
	r = post_with_key("/api/v1/messages", "k-2",
			  "{\"author\":\"Ann\",\"message\":\"b\"}");
	api_assert_error(&r, 422, "idempotency_key_reused", "Idempotency-Key",
			 NULL);
	gbt_response_free(&r);
	cr_assert_eq(stored_count(), 1);
}

Test(api_idempotency, a_malformed_key_is_400)
{
	static const char *const bad[] = {"has space", "semi;colon", "x\"y",
					  ""};
	char long_key[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gbt_response r =
		    post_with_key("/api/v1/messages", bad[i],
				  "{\"author\":\"Ann\",\"message\":\"m\"}");

		api_assert_error(&r, 400, "invalid_parameter",
				 "Idempotency-Key", NULL);
		gbt_response_free(&r);
	}
	memset(long_key, 'k', 129);
	long_key[129] = '\0';
	struct gbt_response r =
	    post_with_key("/api/v1/messages", long_key,
			  "{\"author\":\"Ann\",\"message\":\"m\"}");
	api_assert_error(&r, 400, "invalid_parameter", "Idempotency-Key", NULL);
	gbt_response_free(&r);
	cr_assert_eq(stored_count(), 0);
}

Test(api_idempotency, the_legacy_post_honours_the_key_too)
{
	const char *body = "{\"author\":\"Ann\",\"message\":\"legacy\"}";

	for (int i = 0; i < 3; i++) {
		struct gbt_response r = post_with_key("/messages", "k-3", body);

		cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
		cr_assert_str_eq(r.body, "{}");
		gbt_response_free(&r);
	}
	cr_assert_eq(stored_count(), 1);
}

#define RACERS 8

static void *race(void *arg)
{
	int *status = arg;
	struct gbt_response r =
	    post_with_key("/api/v1/messages", "k-race",
			  "{\"author\":\"Ann\",\"message\":\"raced\"}");

	*status = r.status;
	gbt_response_free(&r);
	return NULL;
}

Test(api_idempotency, concurrent_repeats_store_one_message)
{
	pthread_t t[RACERS];
	int status[RACERS];

	for (int i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, race, &status[i]), 0);
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(status[i], 201, "racer %d: %d", i, status[i]);
	}
	cr_assert_eq(stored_count(), 1);
}

/* A front end (http store) in front of a backend with these extra args. */
static void start_pair(struct gbt_server *back, struct gbt_server *front,
		       const char *keepalive_ms)
{
	const char *back_args[] = {
	    "--role", "backend",	"--storage",  "sqlite", "--rate-limit",
	    "0",      "--keepalive-ms", keepalive_ms, NULL};
	char url[64];
	const char *front_args[] = {"--role", "frontend",     "--backend-url",
				    url,      "--rate-limit", "0",
				    NULL};

	cr_assert_eq(gbt_server_start(back, back_args, NULL), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", back->port);
	cr_assert_eq(gbt_server_start(front, front_args, NULL), 0);
}

/* The messages the backend at `port` holds. */
static int backend_count(int port)
{
	struct gbt_response r;
	cJSON *j;
	int n;

	cr_assert_eq(gbt_http(port, "GET", "/messages", NULL, NULL, 0, &r), 0);
	j = cJSON_Parse(r.body);
	n = cJSON_GetArraySize(j);
	cJSON_Delete(j);
	gbt_response_free(&r);
	return n;
}

/* Seconds of "YYYY-MM-DDTHH:MM:SS.mmmZ", or -1. */
static double created_at_seconds(const char *s)
{
	struct tm tm = {0};
	int ms = 0;

	if (!s ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + ms / 1000.0;
}

/*
 * The front end answers a first post with its own clock and a replay with
 * the backend's stored time (README: "Idempotent writes"): the same id and
 * text, and times at most one hop apart.
 */
static void assert_same_message_but_clock(const char *first, const char *again)
{
	cJSON *a = cJSON_Parse(first), *b = cJSON_Parse(again);
	const char *fields[] = {"id", "author", "message"};
	double ta, tb;

	cr_assert(a && b, "%s / %s", first, again);
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		cr_assert_str_eq(cJSON_GetObjectItem(b, fields[i])->valuestring,
				 cJSON_GetObjectItem(a, fields[i])->valuestring,
				 "%s", fields[i]);
	ta = created_at_seconds(
	    cJSON_GetObjectItem(a, "created_at")->valuestring);
	tb = created_at_seconds(
	    cJSON_GetObjectItem(b, "created_at")->valuestring);
	cr_assert(ta > 0 && tb > 0 && fabs(ta - tb) < 1.0, "%s / %s", first,
		  again);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

/* The browser's key reaches the backend through the front end. */
Test(api_idempotency, a_repeat_through_the_front_end_is_replayed)
{
	struct gbt_server back, front;
	const char *body = "{\"author\":\"Ann\",\"message\":\"via front\"}";
	char h[] = "Idempotency-Key: front-1";
	const char *headers[] = {"Content-Type: application/json", h, NULL};
	struct gbt_response a, b;

	start_pair(&back, &front, "1000");
	cr_assert_eq(gbt_http(front.port, "POST", "/api/v1/messages", headers,
			      body, strlen(body), &a),
		     0);
	cr_assert_eq(a.status, 201, "%d %s", a.status, a.body);
	cr_assert_eq(gbt_http(front.port, "POST", "/api/v1/messages", headers,
			      body, strlen(body), &b),
		     0);
	cr_assert_eq(b.status, 201, "%d %s", b.status, b.body);
	assert_same_message_but_clock(a.body, b.body);
	cr_assert_str_eq(gbt_header(&b, "Idempotent-Replayed"), "true");
	cr_assert_eq(backend_count(back.port), 1);
	gbt_response_free(&a);
	gbt_response_free(&b);
	gbt_server_stop(&front, SIGKILL);
	gbt_server_stop(&back, SIGKILL);
}

/*
 * The backend closes idle keep-alive connections after 100 ms; the front
 * end keeps them pooled up to 500 ms. A post 300 ms after the last one
 * meets a closed connection, is retried with the same key, and every post
 * lands exactly once.
 */
Test(api_idempotency, front_end_retries_posts_on_closed_connections_once)
{
	struct gbt_server back, front;
	char body[80];
	struct gbt_response r;

	start_pair(&back, &front, "100");
	for (int i = 0; i < 6; i++) {
		const char *h[] = {"Content-Type: "
				   "application/x-www-form-urlencoded",
				   NULL};

		snprintf(body, sizeof(body), "name=Ann&message=post+%d", i);
		cr_assert_eq(gbt_http(front.port, "POST", "/post", h, body,
				      strlen(body), &r),
			     0);
		cr_assert_eq(r.status, 303, "post %d: %d %s", i, r.status,
			     r.body);
		gbt_response_free(&r);
		usleep(300000);
	}
	cr_assert_eq(backend_count(back.port), 6);
	gbt_server_stop(&front, SIGKILL);
	gbt_server_stop(&back, SIGKILL);
}
