/*
 * Life cycle: graceful shutdown under load loses no request and exits 0;
 * readiness turns 503 during the drain; kill -9 during concurrent posts
 * loses no acknowledged post.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define WRITERS 4
#define MAX_IDS 20000

struct load {
	int port;
	atomic_int stop;
	atomic_int ok, failed_midway, refused;
	pthread_mutex_t lock;
	char (*ids)[32];
	int nids;
};

static void *poster(void *arg)
{
	struct load *l = arg;
	static const char *const h[] = {"Content-Type: application/json", NULL};
	int i = 0;
	while (!atomic_load(&l->stop)) {
		char body[128];
		snprintf(body, sizeof body,
			 "{\"author\":\"load\",\"message\":\"post %lu-%d\"}",
			 (unsigned long)pthread_self() % 1000, i++);
		struct gbt_response r;
		int rc = gbt_http(l->port, "POST", "/api/v1/messages", h, body,
				  strlen(body), &r);
		if (rc == -2) {
			atomic_fetch_add(&l->refused, 1);
			usleep(1000);
			continue;
		}
		if (rc != 0 || r.status != 201) {
			atomic_fetch_add(&l->failed_midway, 1);
			if (rc == 0)
				gbt_response_free(&r);
			continue;
		}
		atomic_fetch_add(&l->ok, 1);
		cJSON *j = cJSON_Parse(r.body);
		cJSON *id = j ? cJSON_GetObjectItem(j, "id") : NULL;
		pthread_mutex_lock(&l->lock);
		if (cJSON_IsString(id) && l->nids < MAX_IDS)
			snprintf(l->ids[l->nids++], 32, "%s", id->valuestring);
		pthread_mutex_unlock(&l->lock);
		cJSON_Delete(j);
		gbt_response_free(&r);
	}
	return NULL;
}

static void load_start(struct load *l, int port, pthread_t *t)
{
	memset(l, 0, sizeof *l);
	l->port = port;
	l->ids = calloc(MAX_IDS, sizeof *l->ids);
	pthread_mutex_init(&l->lock, NULL);
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&t[i], NULL, poster, l);
}

static void load_stop(struct load *l, pthread_t *t)
{
	atomic_store(&l->stop, 1);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
}

static const char *const base_args[] = {
    "--plugins", "api", "--rate-limit", "0", "--access-log", "off", NULL};

Test(lifecycle, sigterm_drains_then_exits_0_without_failing_requests,
     .timeout = 60)
{
	static const char *const args[] = {
	    "--plugins", "api",		 "--rate-limit", "0", "--drain-seconds",
	    "1",	 "--access-log", "off",		 NULL};
	struct gbt_server s;
	cr_assert_eq(gbt_server_start(&s, args, NULL), 0);
	struct load l;
	pthread_t t[WRITERS];
	load_start(&l, s.port, t);
	usleep(300000);

	kill(s.pid, SIGTERM);
	usleep(200000);
	struct gbt_response r;
	cr_assert_eq(gbt_http(s.port, "GET", "/ready", NULL, NULL, 0, &r), 0,
		     "not serving during the drain");
	cr_assert_eq(r.status, 503);
	gbt_response_free(&r);
	cr_assert_eq(gbt_http(s.port, "GET", "/health", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);

	/* Like a load balancer that saw /ready fail: stop sending new
	 * requests within the drain; everything sent until then must work. */
	usleep(300000);
	load_stop(&l, t);
	int rc = gbt_server_stop(&s, 0); /* signal 0: just wait */
	cr_assert_eq(rc, 0, "exit status %d", rc);
	cr_assert_gt(atomic_load(&l.ok), 10);
	cr_assert_eq(atomic_load(&l.failed_midway), 0,
		     "%d requests failed during the shutdown",
		     atomic_load(&l.failed_midway));
	free(l.ids);
}

Test(lifecycle, kill_9_loses_no_acknowledged_post, .timeout = 90)
{
	struct gbt_server s;
	cr_assert_eq(gbt_server_start(&s, base_args, NULL), 0);
	struct load l;
	pthread_t t[WRITERS];
	load_start(&l, s.port, t);
	usleep(700000);
	kill(s.pid, SIGKILL);
	gbt_server_stop(&s, SIGKILL);
	load_stop(&l, t);
	cr_assert_gt(l.nids, 10, "too few posts before the kill");

	char db[512];
	snprintf(db, sizeof db, "%s/guestbook.db", s.dir);
	const char *const again[] = {"--plugins", "api", "--sqlite-path", db,
				     NULL};
	struct gbt_server s2;
	cr_assert_eq(gbt_server_start(&s2, again, NULL), 0);
	for (int i = 0; i < l.nids; i++) {
		char path[96];
		snprintf(path, sizeof path, "/api/v1/messages/%s", l.ids[i]);
		struct gbt_response r;
		cr_assert_eq(gbt_http(s2.port, "GET", path, NULL, NULL, 0, &r),
			     0);
		cr_assert_eq(r.status, 200, "acknowledged post %s is lost",
			     l.ids[i]);
		gbt_response_free(&r);
	}
	gbt_server_stop(&s2, SIGTERM);
	free(l.ids);
}

Test(lifecycle, second_signal_exits_at_once, .timeout = 30)
{
	static const char *const args[] = {"--plugins", "", "--drain-seconds",
					   "20", NULL};
	struct gbt_server s;
	cr_assert_eq(gbt_server_start(&s, args, NULL), 0);
	kill(s.pid, SIGTERM);
	usleep(200000);
	int rc = gbt_server_stop(&s, SIGTERM);
	cr_assert_eq(rc, 1, "a second signal must exit at once (status 1)");
}
