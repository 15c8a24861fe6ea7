/*
 * review_storage_mongo.c - the mongo store when its connection pool is
 * exhausted: a URI may bound the wait for a pooled connection
 * (waitQueueTimeoutMS), and a wait that runs out is an unavailable store,
 * never a crash of the process.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
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

static struct gbt_server server;

static void stop_server(void)
{
	if (server.pid > 0)
		gbt_server_stop(&server, SIGKILL);
}

struct poster {
	int ok, unavailable, other;
};

static void *post_many(void *arg)
{
	static const char body[] = "{\"author\":\"a\",\"message\":\"pool\"}";
	const char *hdr[] = {"Content-Type: application/json", NULL};
	struct poster *p = arg;

	for (int i = 0; i < 25; i++) {
		struct gbt_response r;

		if (gbt_http(server.port, "POST", "/api/v1/messages", hdr, body,
			     strlen(body), &r) != 0) {
			p->other++;
			continue;
		}
		if (r.status == 201)
			p->ok++;
		else if (r.status == 503)
			p->unavailable++;
		else
			p->other++;
		gbt_response_free(&r);
	}
	return NULL;
}

Test(review_storage_mongo,
     pool_wait_that_runs_out_is_503_and_the_server_lives_on,
     .fini = stop_server, .timeout = 60)
{
	enum { T = 8 };
	char uri[300];
	struct poster p[T];
	pthread_t th[T];
	int ok = 0, unavailable = 0, other = 0;

	snprintf(uri, sizeof(uri), "%s?maxPoolSize=1&waitQueueTimeoutMS=1",
		 gbt_mongo_shared_uri("guestbook_pool"));
	const char *args[] = {"--role",	      "backend", "--mongo-uri", uri,
			      "--rate-limit", "0",	 NULL};
	cr_assert_eq(gbt_server_start(&server, args, NULL), 0);
	memset(p, 0, sizeof(p));
	for (int i = 0; i < T; i++)
		pthread_create(&th[i], NULL, post_many, &p[i]);
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		ok += p[i].ok;
		unavailable += p[i].unavailable;
		other += p[i].other;
	}
	cr_assert_eq(other, 0,
		     "every post is 201 or 503 (%d ok, %d unavailable, %d "
		     "other: the server died?)",
		     ok, unavailable, other);
	cr_assert_gt(ok, 0);
	cr_assert_gt(unavailable, 0, "the pool never ran out: %d ok", ok);

	struct gbt_response r;
	cr_assert_eq(gbt_http(server.port, "GET", "/health", NULL, NULL, 0, &r),
		     0, "the server is gone");
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
}
