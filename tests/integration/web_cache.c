/*
 * The page cache of GET /: a visitor sees their own post at once; a post
 * made through another process (a second guestbookd on the same SQLite
 * file) shows within list_cache_ms; 0 turns it off. Also the shared
 * response cache itself (plugins/common/response_cache.c) with a fake
 * clock: expiry, one rebuild at a time, the stale copy for at most 1 s.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "response_cache.h"

static const char *const form_h[] = {
    "Content-Type: application/x-www-form-urlencoded", NULL};
static const char *const json_h[] = {"Content-Type: application/json", NULL};

/* Starts guestbookd role all with list_cache_ms `ttl`. */
static void start_all(struct gbt_server *s, const char *ttl)
{
	const char *const args[] = {"--role",
				    "all",
				    "--storage",
				    "sqlite",
				    "--rate-limit",
				    "0",
				    "--list-cache-ms",
				    ttl,
				    NULL};

	cr_assert_eq(gbt_server_start(s, args, NULL), 0,
		     "guestbookd did not start");
}

/* Starts a second guestbookd (api only) on the first one's database. */
static void start_second(struct gbt_server *s, const struct gbt_server *first)
{
	char db[512];

	snprintf(db, sizeof(db), "%s/guestbook.db", first->dir);
	const char *const args[] = {
	    "--plugins", "api", "--sqlite-path", db, "--rate-limit", "0", NULL};
	cr_assert_eq(gbt_server_start(s, args, NULL), 0,
		     "second guestbookd did not start");
}

/* GET / on port: 200, and whether the page shows `text`. */
static int page_shows(int port, const char *text)
{
	struct gbt_response r;
	int found;

	cr_assert_eq(gbt_http(port, "GET", "/", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "GET / answered %d", r.status);
	found = strstr(r.body, text) != NULL;
	gbt_response_free(&r);
	return found;
}

static void post_form(int port, const char *message)
{
	struct gbt_response r;
	char body[256];

	snprintf(body, sizeof(body), "name=Ann&message=%s", message);
	cr_assert_eq(
	    gbt_http(port, "POST", "/post", form_h, body, strlen(body), &r), 0);
	cr_assert_eq(r.status, 303, "form post answered %d", r.status);
	gbt_response_free(&r);
}

static void post_json(int port, const char *message)
{
	struct gbt_response r;
	char body[256];

	snprintf(body, sizeof(body), "{\"author\":\"Bo\",\"message\":\"%s\"}",
		 message);
	cr_assert_eq(gbt_http(port, "POST", "/api/v1/messages", json_h, body,
			      strlen(body), &r),
		     0);
	cr_assert_eq(r.status, 201, "JSON post answered %d", r.status);
	gbt_response_free(&r);
}

/* ---- through the server ------------------------------------------------ */

Test(web_cache, own_form_post_shows_on_the_next_page_at_once, .timeout = 30)
{
	struct gbt_server a;

	/* A long TTL: only the write itself can refresh the page. */
	start_all(&a, "60000");
	cr_assert_not(page_shows(a.port, "first-note"));
	post_form(a.port, "first-note");
	cr_assert(page_shows(a.port, "first-note"),
		  "own form post not on the page at once");
	/* a post through the JSON API of the same process too */
	post_json(a.port, "second-note");
	cr_assert(page_shows(a.port, "second-note"),
		  "own API post not on the page at once");
	gbt_server_stop(&a, SIGTERM);
}

Test(web_cache, another_process_write_shows_after_the_ttl, .timeout = 30)
{
	struct gbt_server a, b;

	start_all(&a, "1500");
	start_second(&b, &a);
	post_form(a.port, "from-a");
	cr_assert(page_shows(a.port, "from-a"));

	post_json(b.port, "from-b");
	cr_assert_not(page_shows(a.port, "from-b"),
		      "expected the cached page within list_cache_ms");
	usleep(1600000);
	cr_assert(page_shows(a.port, "from-b"),
		  "another process's write must show after list_cache_ms");
	gbt_server_stop(&b, SIGTERM);
	gbt_server_stop(&a, SIGTERM);
}

Test(web_cache, zero_turns_it_off, .timeout = 30)
{
	struct gbt_server a, b;

	start_all(&a, "0");
	start_second(&b, &a);
	cr_assert_not(page_shows(a.port, "from-b"));
	post_json(b.port, "from-b");
	cr_assert(page_shows(a.port, "from-b"),
		  "with list_cache_ms 0 every page reads the store");
	gbt_server_stop(&b, SIGTERM);
	gbt_server_stop(&a, SIGTERM);
}

Test(web_cache, cached_page_has_the_same_body_and_every_header, .timeout = 30)
{
	static const char *const names[] = {
	    "Content-Security-Policy", "X-Content-Type-Options",
	    "Referrer-Policy", "X-Frame-Options", "Cache-Control"};
	struct gbt_server a;
	struct gbt_response first, again, head;
	char first_id[128];

	start_all(&a, "60000");
	post_form(a.port, "cached-note");
	cr_assert_eq(gbt_http(a.port, "GET", "/", NULL, NULL, 0, &first), 0);
	cr_assert_eq(gbt_http(a.port, "GET", "/", NULL, NULL, 0, &again), 0);
	cr_assert_eq(gbt_http(a.port, "HEAD", "/", NULL, NULL, 0, &head), 0);
	cr_assert_eq(again.status, 200);
	cr_assert_str_eq(again.body, first.body);
	cr_assert_not_null(strstr(again.body, "cached-note"));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[512];

		cr_assert_not_null(gbt_header(&first, names[i]), "%s",
				   names[i]);
		snprintf(want, sizeof(want), "%s",
			 gbt_header(&first, names[i]));
		cr_assert_str_eq(gbt_header(&again, names[i]), want, "%s",
				 names[i]);
		cr_assert_str_eq(gbt_header(&head, names[i]), want, "%s",
				 names[i]);
	}
	cr_assert_str_eq(gbt_header(&again, "Cache-Control"), "no-store");
	cr_assert_str_eq(gbt_header(&again, "Content-Type"),
			 "text/html; charset=utf-8");
	cr_assert_eq(head.status, 200);
	cr_assert_eq(head.body_len, 0, "HEAD must have no body");
	/* per-request values stay per request */
	snprintf(first_id, sizeof(first_id), "%s",
		 gbt_header(&first, "X-Request-Id"));
	cr_assert_str_neq(gbt_header(&again, "X-Request-Id"), first_id);
	gbt_response_free(&first);
	gbt_response_free(&again);
	gbt_response_free(&head);
	gbt_server_stop(&a, SIGTERM);
}

Test(web_cache, older_pages_and_error_pages_are_not_cached, .timeout = 30)
{
	struct gbt_server a;
	struct gbt_response r;

	start_all(&a, "60000");
	cr_assert(page_shows(a.port, "empty"), "expected the empty state");
	/* an invalid form post shows the page with the errors... */
	cr_assert_eq(
	    gbt_http(a.port, "POST", "/post", form_h, "name=Ann", 8, &r), 0);
	cr_assert_eq(r.status, 400);
	gbt_response_free(&r);
	/* ...which the next GET / does not repeat */
	cr_assert_eq(gbt_http(a.port, "GET", "/", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, "was not posted"), "%s", r.body);
	gbt_response_free(&r);
	/* a bad cursor is still a 400, not the cached newest page */
	cr_assert_eq(
	    gbt_http(a.port, "GET", "/?before=nope", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 400);
	gbt_response_free(&r);
	gbt_server_stop(&a, SIGTERM);
}

/* ---- the shared cache, with a fake clock and generation ----------------- */

static uint64_t fake_generation;

static uint64_t current_generation(void)
{
	return fake_generation;
}

/* Whether slot 0 is served at `now`, and with `body` if so. */
static int hit(struct gb_response_cache *c, double now, const char *body)
{
	struct gb_cached_response *r = gb_response_cache_get(c, 0, now);

	if (!r)
		return 0;
	cr_assert_str_eq(r->body, body);
	gb_response_cache_release(r);
	return 1;
}

Test(response_cache, entry_is_served_until_it_expires)
{
	struct gb_response_cache *c;

	fake_generation = 1;
	c = gb_response_cache_new(2, 500, current_generation);
	cr_assert_not_null(c);
	cr_assert_not(hit(c, 100.0, "page"), "empty cache hit");
	gb_response_cache_put(c, 0, 1, 100.0, "page", 4, NULL);
	cr_assert(hit(c, 100.0, "page"));
	cr_assert(hit(c, 100.49, "page"));
	cr_assert_null(gb_response_cache_get(c, 1, 100.1), "other slot");
	cr_assert_null(gb_response_cache_get(c, 7, 100.1), "no such slot");
	gb_response_cache_free(c);
}

Test(response_cache, a_write_drops_the_entry_at_once)
{
	struct gb_response_cache *c;

	fake_generation = 5;
	c = gb_response_cache_new(1, 60000, current_generation);
	cr_assert_not_null(c);
	gb_response_cache_put(c, 0, 5, 10.0, "old", 3, "\"e\"");
	cr_assert(hit(c, 10.1, "old"));
	fake_generation = 6;
	cr_assert_not(hit(c, 10.2, "old"), "served a page older than a write");
	/* a rendering that read the store before the write is not kept */
	gb_response_cache_put(c, 0, 5, 10.3, "old", 3, NULL);
	cr_assert_not(hit(c, 10.4, "old"));
	gb_response_cache_put(c, 0, 6, 10.5, "new", 3, "\"f\"");
	struct gb_cached_response *r = gb_response_cache_get(c, 0, 10.6);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->body, "new");
	cr_assert_str_eq(r->etag, "\"f\"");
	gb_response_cache_release(r);
	gb_response_cache_free(c);
}

Test(response_cache, one_request_rebuilds_while_others_get_the_stale_copy)
{
	struct gb_response_cache *c;

	fake_generation = 1;
	c = gb_response_cache_new(1, 500, current_generation);
	cr_assert_not_null(c);
	gb_response_cache_put(c, 0, 1, 100.0, "page", 4, NULL);
	/* expired: the first request rebuilds, the next ones do not */
	cr_assert_not(hit(c, 100.6, "page"), "first after expiry rebuilds");
	cr_assert(hit(c, 100.7, "page"), "others get the stale copy");
	cr_assert(hit(c, 101.4, "page"));
	/* never more than a second past expiry, even if no rebuild landed */
	cr_assert_not(hit(c, 101.5, "page"));
	cr_assert_not(hit(c, 101.6, "page"));
	/* a landed rebuild is fresh again */
	gb_response_cache_put(c, 0, 1, 101.7, "page", 4, NULL);
	cr_assert(hit(c, 101.8, "page"));
	gb_response_cache_free(c);
}

Test(response_cache, an_entry_in_use_survives_its_replacement)
{
	struct gb_response_cache *c;
	struct gb_cached_response *held;

	fake_generation = 1;
	c = gb_response_cache_new(1, 500, current_generation);
	cr_assert_not_null(c);
	gb_response_cache_put(c, 0, 1, 1.0, "first", 5, NULL);
	held = gb_response_cache_get(c, 0, 1.1);
	cr_assert_not_null(held);
	gb_response_cache_put(c, 0, 1, 1.2, "second", 6, NULL);
	cr_assert_str_eq(held->body, "first");
	cr_assert_eq(held->len, 5);
	cr_assert(hit(c, 1.3, "second"));
	gb_response_cache_release(held);
	gb_response_cache_free(c);
}

Test(response_cache, zero_ttl_never_hits)
{
	struct gb_response_cache *c;

	fake_generation = 1;
	c = gb_response_cache_new(1, 0, current_generation);
	cr_assert_not_null(c);
	cr_assert_not(gb_response_cache_enabled(c));
	gb_response_cache_put(c, 0, 1, 1.0, "page", 4, NULL);
	cr_assert_not(hit(c, 1.0, "page"));
	gb_response_cache_free(c);
}
