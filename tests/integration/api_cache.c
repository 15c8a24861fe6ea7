/*
 * The list micro-cache: a process reads its own writes at once; writes
 * made by another process (another replica on the same store) show
 * within list_cache_ms.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const json_h[] = {"Content-Type: application/json", NULL};

static int post(int port, const char *text)
{
	char body[128];
	snprintf(body, sizeof body, "{\"author\":\"c\",\"message\":\"%s\"}",
		 text);
	struct gbt_response r;
	cr_assert_eq(gbt_http(port, "POST", "/api/v1/messages", json_h, body,
			      strlen(body), &r),
		     0);
	int st = r.status;
	gbt_response_free(&r);
	return st;
}

static int first_page_has(int port, const char *text)
{
	struct gbt_response r;
	cr_assert_eq(
	    gbt_http(port, "GET", "/api/v1/messages", NULL, NULL, 0, &r), 0);
	int found = strstr(r.body, text) != NULL;
	gbt_response_free(&r);
	return found;
}

Test(list_cache, own_post_is_visible_at_once_and_others_within_ttl,
     .timeout = 30)
{
	static const char *const a_args[] = {"--plugins", "api",
					     "--list-cache-ms", "1500", NULL};
	struct gbt_server a, b;
	cr_assert_eq(gbt_server_start(&a, a_args, NULL), 0);
	char db[512];
	snprintf(db, sizeof db, "%s/guestbook.db", a.dir);
	const char *const b_args[] = {"--plugins", "api", "--sqlite-path", db,
				      NULL};
	cr_assert_eq(gbt_server_start(&b, b_args, NULL), 0);

	cr_assert_eq(post(a.port, "first"), 201);
	cr_assert(first_page_has(a.port, "first"), "own write not visible");

	cr_assert_eq(post(b.port, "from-b"), 201);
	cr_assert_not(first_page_has(a.port, "from-b"),
		      "expected the cached page within the TTL");
	usleep(1600000);
	cr_assert(first_page_has(a.port, "from-b"),
		  "another process's write must show after the TTL");

	gbt_server_stop(&b, SIGTERM);
	gbt_server_stop(&a, SIGTERM);
}

Test(list_cache, zero_turns_it_off, .timeout = 30)
{
	static const char *const a_args[] = {"--plugins", "api",
					     "--list-cache-ms", "0", NULL};
	struct gbt_server a, b;
	cr_assert_eq(gbt_server_start(&a, a_args, NULL), 0);
	char db[512];
	snprintf(db, sizeof db, "%s/guestbook.db", a.dir);
	const char *const b_args[] = {"--plugins", "api", "--sqlite-path", db,
				      NULL};
	cr_assert_eq(gbt_server_start(&b, b_args, NULL), 0);
	cr_assert_not(first_page_has(a.port, "from-b"));
	cr_assert_eq(post(b.port, "from-b"), 201);
	cr_assert(first_page_has(a.port, "from-b"));
	gbt_server_stop(&b, SIGTERM);
	gbt_server_stop(&a, SIGTERM);
}
