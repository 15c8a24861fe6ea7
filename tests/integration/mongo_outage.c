/*
 * mongo_outage.c - guestbookd --role backend over a MongoDB server that
 * goes away and comes back (FerretDB, or mongod with GB_TEST_MONGOD=1,
 * stopped and restarted on the same port and data), or that is not there yet
 * when guestbookd starts: quick 503s, a live process, and recovery without a
 * restart.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "mongo_client.h"
#include "mongo_server.h"

/* Each test has its own FerretDB: these tests stop and restart it. */
static struct gbt_mongo_server db;
static struct gbt_server server;
static char uri[300];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void start_db(void)
{
	char why[1024];

	cr_assert_eq(gbt_mongo_server_start(&db, why, sizeof(why)), 0, "%s",
		     why);
	snprintf(uri, sizeof(uri), "%s",
		 gbt_mongo_uri(&db, "guestbook_outage"));
}

static void start_guestbookd(void)
{
	const char *args[] = {"--role",	      "backend",     "--storage",
			      "mongo",	      "--mongo-uri", uri,
			      "--rate-limit", "0",	     NULL};

	if (gbt_server_start(&server, args, NULL) != 0) {
		/* a failed .init skips .fini: do not leave FerretDB running */
		gbt_mongo_server_remove(&db);
		cr_assert_fail("guestbookd did not start");
	}
}

static void setup(void)
{
	start_db();
	start_guestbookd();
}

static void teardown(void)
{
	if (server.pid > 0)
		gbt_server_stop(&server, SIGKILL);
	gbt_mongo_server_remove(&db);
}

static int status_of(const char *method, const char *path)
{
	struct gbt_response r;
	int status;

	if (gbt_http(server.port, method, path, NULL, NULL, 0, &r) != 0)
		return -1;
	status = r.status;
	gbt_response_free(&r);
	return status;
}

/* Polls GET /ready until it answers `want`; returns the seconds it took. */
static double wait_ready(int want, double limit)
{
	double start = now_s();

	while (now_s() - start < limit) {
		if (status_of("GET", "/ready") == want)
			return now_s() - start;
		usleep(50000);
	}
	cr_assert_fail("/ready did not answer %d within %.1f s", want, limit);
	return limit;
}

/* POSTs a message; returns the status and copies the new id when 201. */
static int post(const char *text, char id[64], struct gbt_response *keep)
{
	const char *hdr[] = {"Content-Type: application/json", NULL};
	char body[256];
	struct gbt_response r;
	int status;

	snprintf(body, sizeof(body),
		 "{\"author\":\"outage\",\"message\":\"%s\"}", text);
	cr_assert_eq(gbt_http(server.port, "POST", "/api/v1/messages", hdr,
			      body, strlen(body), &r),
		     0, "POST got no answer: the process must keep serving");
	status = r.status;
	if (status == 201 && id) {
		cJSON *j = cJSON_Parse(r.body);

		cr_assert_not_null(j);
		snprintf(id, 64, "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
		cJSON_Delete(j);
	}
	if (keep)
		*keep = r;
	else
		gbt_response_free(&r);
	return status;
}

Test(mongo_outage, outage_answers_503_quickly_and_recovers_without_restart,
     .init = setup, .fini = teardown, .timeout = 120)
{
	char ids[10][64];
	int n = 0;
	char why[1024];

	for (int i = 0; i < 5; i++, n++) {
		char text[32];

		snprintf(text, sizeof(text), "before %d", i);
		cr_assert_eq(post(text, ids[n], NULL), 201);
	}
	wait_ready(200, 5);

	gbt_mongo_server_stop(&db);
	double waited = wait_ready(503, 2.0);
	cr_log_info("/ready turned 503 after %.2f s", waited);

	struct gbt_response r;
	double t0 = now_s();
	int status = post("while down", NULL, &r);
	double took = now_s() - t0;
	cr_assert_eq(status, 503, "%s", r.body);
	cr_assert_lt(took, 3.0, "the 503 took %.2f s", took);
	cr_assert_not_null(strstr(r.body, "\"storage_unavailable\""), "%s",
			   r.body);
	cr_assert_not_null(gbt_header(&r, "Retry-After"),
			   "a 503 tells the client when to retry");
	gbt_response_free(&r);

	/* a batch (insert_many) fails whole and as fast */
	{
		const char *hdr[] = {"Content-Type: application/json", NULL};
		const char *batch =
		    "{\"messages\":[{\"author\":\"outage\",\"message\":"
		    "\"batch 1\",\"idempotency_key\":\"ob-1\"},"
		    "{\"author\":\"outage\",\"message\":\"batch 2\"}]}";

		t0 = now_s();
		cr_assert_eq(gbt_http(server.port, "POST",
				      "/api/v1/messages/batch", hdr, batch,
				      strlen(batch), &r),
			     0);
		cr_assert_eq(r.status, 503, "%d %s", r.status, r.body);
		cr_assert_lt(now_s() - t0, 3.0, "the batch's 503 took %.2f s",
			     now_s() - t0);
		gbt_response_free(&r);
	}

	t0 = now_s();
	cr_assert_eq(status_of("GET", "/api/v1/messages"), 503);
	cr_assert_lt(now_s() - t0, 3.0);
	cr_assert_eq(status_of("GET", "/health"), 200,
		     "liveness does not depend on the database");
	cr_assert_eq(status_of("GET", "/metrics"), 200);

	cr_assert_eq(gbt_mongo_server_restart(&db, why, sizeof(why)), 0, "%s",
		     why);
	waited = wait_ready(200, 5.0);
	cr_log_info("/ready back to 200 after %.2f s", waited);

	for (int i = 0; i < 5; i++, n++) {
		char text[32];

		snprintf(text, sizeof(text), "after %d", i);
		cr_assert_eq(post(text, ids[n], &r), 201,
			     "posts succeed again without restarting: %s",
			     r.body);
		gbt_response_free(&r);
	}

	/* every acknowledged post, before and after, is in the database */
	for (int i = 0; i < n; i++) {
		char *doc = gbt_mongo_find_json(uri, "messages", ids[i]);

		cr_assert_not_null(
		    doc, "post %d (%s) was acknowledged but lost", i, ids[i]);
		free(doc);
	}
	cr_assert_eq(gbt_mongo_count(uri, "messages"), n,
		     "the failed post left nothing behind");
	cr_assert_eq(status_of("GET", "/api/v1/messages?limit=100"), 200);
	cr_assert_eq(gbt_server_stop(&server, SIGTERM), 0,
		     "the same process served throughout and exits cleanly");
}

struct concurrent_post {
	int port;
	int status;
	double seconds;
};

static void *post_thread(void *arg)
{
	struct concurrent_post *p = arg;
	const char *hdr[] = {"Content-Type: application/json", NULL};
	const char *body = "{\"author\":\"a\",\"message\":\"m\"}";
	struct gbt_response r;
	double t0 = now_s();

	p->status = -1;
	if (gbt_http(p->port, "POST", "/api/v1/messages", hdr, body,
		     strlen(body), &r) == 0) {
		p->status = r.status;
		gbt_response_free(&r);
	}
	p->seconds = now_s() - t0;
	return NULL;
}

Test(mongo_outage, concurrent_requests_during_an_outage_all_fail_fast,
     .init = setup, .fini = teardown, .timeout = 60)
{
	enum { N = 8 };
	pthread_t th[N];
	struct concurrent_post p[N];

	gbt_mongo_server_stop(&db);
	for (int i = 0; i < N; i++) {
		p[i].port = server.port;
		pthread_create(&th[i], NULL, post_thread, &p[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(p[i].status, 503, "request %d: %d", i,
			     p[i].status);
		cr_assert_lt(p[i].seconds, 3.0,
			     "request %d waited %.2f s: the outage must not "
			     "queue requests behind each other",
			     i, p[i].seconds);
	}
	cr_assert_eq(status_of("GET", "/health"), 200);
}

Test(mongo_outage, unreachable_server_at_start_is_not_ready_until_it_appears,
     .fini = teardown, .timeout = 60)
{
	char why[1024];

	/* reserve a port and data directory, then leave nothing listening */
	start_db();
	gbt_mongo_server_stop(&db);

	double t0 = now_s();
	start_guestbookd();
	cr_assert_lt(now_s() - t0, 5.0,
		     "start-up does not hang on an absent database");
	cr_assert_eq(status_of("GET", "/ready"), 503);
	cr_assert_eq(status_of("GET", "/health"), 200);
	char *log = gbt_server_log(&server);
	cr_assert_not_null(strstr(log, "cannot reach"),
			   "the log says why it is not ready: %s", log);
	free(log);

	cr_assert_eq(gbt_mongo_server_restart(&db, why, sizeof(why)), 0, "%s",
		     why);
	double waited = wait_ready(200, 5.0);
	cr_log_info("ready %.2f s after the database appeared", waited);
	char id[64];
	cr_assert_eq(post("late database", id, NULL), 201);
	char *doc = gbt_mongo_find_json(uri, "messages", id);
	cr_assert_not_null(doc);
	free(doc);
}

Test(mongo_outage, an_outage_does_not_hold_worker_threads, .init = setup,
     .fini = teardown, .timeout = 60)
{
	gbt_mongo_server_stop(&db);
	wait_ready(503, 2.0);

	/* without the fast path each would wait for server selection (2 s) */
	double t0 = now_s();
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(status_of("GET", "/api/v1/messages"), 503);
		cr_assert_eq(post("fast", NULL, NULL), 503);
	}
	double took = now_s() - t0;
	cr_log_info("20 requests during the outage took %.2f s", took);
	cr_assert_lt(took, 6.0, "requests queue behind server selection");

	double h0 = now_s();
	cr_assert_eq(status_of("GET", "/health"), 200);
	cr_assert_lt(now_s() - h0, 0.5);
}
