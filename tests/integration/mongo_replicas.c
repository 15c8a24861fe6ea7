/*
 * mongo_replicas.c - several guestbookd --role backend replicas over one
 * MongoDB database, as Kubernetes runs them: they share every message,
 * see each other's writes within list_cache_ms, and concurrent posts to
 * all of them land once each.
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

#define TOKEN "replica-test-token"

static struct gbt_server replica[2];
static char uri[300];

static void start_replicas(void)
{
	char db[64];

	snprintf(db, sizeof(db), "guestbook_replicas_%d", (int)getpid());
	snprintf(uri, sizeof(uri), "%s", gbt_mongo_shared_uri(db));
	const char *args[] = {"--role",
			      "backend",
			      "--mongo-uri",
			      uri,
			      "--rate-limit",
			      "0",
			      "--list-cache-ms",
			      "500",
			      "--admin-token",
			      TOKEN,
			      NULL};
	for (int i = 0; i < 2; i++) {
		if (gbt_server_start(&replica[i], args, NULL) == 0)
			continue;
		/* a failed .init skips .fini: stop what did start */
		for (int k = 0; k < i; k++)
			gbt_server_stop(&replica[k], SIGKILL);
		cr_assert_fail("replica %d did not start", i);
	}
}

static void stop_replicas(void)
{
	for (int i = 0; i < 2; i++)
		if (replica[i].pid > 0)
			gbt_server_stop(&replica[i], SIGKILL);
	gbt_mongo_drop_database(uri);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* POSTs a message to `port`; returns the status, the id into id_out. */
static int post(int port, const char *text, char id_out[64])
{
	const char *hdr[] = {"Content-Type: application/json", NULL};
	char body[160];
	struct gbt_response r;
	int status;

	snprintf(body, sizeof(body),
		 "{\"author\":\"replica\",\"message\":\"%s\"}", text);
	if (gbt_http(port, "POST", "/api/v1/messages", hdr, body, strlen(body),
		     &r) != 0)
		return -1;
	status = r.status;
	if (status == 201 && id_out) {
		cJSON *j = cJSON_Parse(r.body);
		const char *id =
		    cJSON_GetStringValue(cJSON_GetObjectItem(j, "id"));

		snprintf(id_out, 64, "%s", id ? id : "");
		cJSON_Delete(j);
	}
	gbt_response_free(&r);
	return status;
}

static int first_page_has(int port, const char *text)
{
	struct gbt_response r;
	int found;

	cr_assert_eq(
	    gbt_http(port, "GET", "/api/v1/messages", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	found = strstr(r.body, text) != NULL;
	gbt_response_free(&r);
	return found;
}

static int status_of(int port, const char *method, const char *path,
		     const char *const *headers)
{
	struct gbt_response r;
	int status;

	cr_assert_eq(gbt_http(port, method, path, headers, NULL, 0, &r), 0);
	status = r.status;
	gbt_response_free(&r);
	return status;
}

Test(mongo_replicas, replicas_share_messages_and_see_writes_within_the_cache,
     .init = start_replicas, .fini = stop_replicas, .timeout = 60)
{
	int a = replica[0].port, b = replica[1].port;
	char id[64], path[128];

	/* A has a cached first page... */
	cr_assert_eq(post(a, "from a", id), 201);
	cr_assert(first_page_has(a, "from a"), "own write visible at once");
	/* ...B's post shows on A once that page is older than 500 ms */
	cr_assert_eq(post(b, "from b", id), 201);
	double t0 = now_s();
	while (!first_page_has(a, "from b")) {
		cr_assert_lt(now_s() - t0, 1.5,
			     "B's post never showed on A's list");
		usleep(50000);
	}
	/* single messages are read from the database every time */
	snprintf(path, sizeof(path), "/api/v1/messages/%s", id);
	cr_assert_eq(status_of(a, "GET", path, NULL), 200);

	/* moderation on A removes it for B too */
	const char *auth[] = {"Authorization: Bearer " TOKEN, NULL};
	cr_assert_eq(status_of(a, "DELETE", path, auth), 204);
	cr_assert_eq(status_of(b, "GET", path, NULL), 404);
	cr_assert_eq(status_of(b, "DELETE", path, auth), 404);
}

struct poster {
	int port;
	int index;
	int created;
	char ids[25][64];
};

static void *post_many(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < 25; i++) {
		char text[48];

		snprintf(text, sizeof(text), "concurrent %d-%d", p->index, i);
		if (post(p->port, text, p->ids[p->created]) == 201)
			p->created++;
	}
	return NULL;
}

Test(mongo_replicas, concurrent_posts_to_all_replicas_land_once_each,
     .init = start_replicas, .fini = stop_replicas, .timeout = 120)
{
	enum { THREADS = 4 };
	pthread_t th[THREADS];
	struct poster p[THREADS];

	for (int i = 0; i < THREADS; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].port = replica[i % 2].port;
		p[i].index = i;
		pthread_create(&th[i], NULL, post_many, &p[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(p[i].created, 25, "poster %d: %d of 25 created", i,
			     p[i].created);
	}
	cr_assert_eq(gbt_mongo_count(uri, "messages"), THREADS * 25);
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < 25; k++)
			for (int j = i; j < THREADS; j++)
				for (int m = (j == i ? k + 1 : 0); m < 25; m++)
					cr_assert_str_neq(p[i].ids[k],
							  p[j].ids[m],
							  "duplicate id");
}
