/* trust_proxy: the client is the last X-Forwarded-For entry, so a forged
 * first entry cannot buy a fresh rate-limit bucket. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static int post_as(int port, const char *xff)
{
	char h1[128];
	snprintf(h1, sizeof h1, "X-Forwarded-For: %s", xff);
	const char *h[] = {"Content-Type: application/json", h1, NULL};
	static const char body[] = "{\"author\":\"p\",\"message\":\"m\"}";
	struct gbt_response r;
	cr_assert_eq(gbt_http(port, "POST", "/api/v1/messages", h, body,
			      sizeof body - 1, &r),
		     0);
	int st = r.status;
	gbt_response_free(&r);
	return st;
}

Test(proxy, forged_first_entry_shares_the_proxy_appended_bucket, .timeout = 30)
{
	/* 2 a minute: a burst of 1, then 429. */
	static const char *const args[] = {
	    "--plugins", "api", "--rate-limit", "2", "--trust-proxy",
	    "on",	 NULL};
	struct gbt_server s;
	cr_assert_eq(gbt_server_start(&s, args, NULL), 0);
	cr_assert_eq(post_as(s.port, "1.1.1.1, 10.0.0.7"), 201);
	cr_assert_eq(post_as(s.port, "2.2.2.2, 10.0.0.7"), 429,
		     "a forged first entry must not reset the limit");
	cr_assert_eq(post_as(s.port, "10.0.0.8"), 201,
		     "another client has its own bucket");
	gbt_server_stop(&s, SIGTERM);
}

Test(proxy, without_trust_the_header_is_ignored, .timeout = 30)
{
	static const char *const args[] = {"--plugins", "api", "--rate-limit",
					   "2", NULL};
	struct gbt_server s;
	cr_assert_eq(gbt_server_start(&s, args, NULL), 0);
	cr_assert_eq(post_as(s.port, "10.0.0.7"), 201);
	cr_assert_eq(post_as(s.port, "10.0.0.8"), 429,
		     "all from 127.0.0.1: one bucket");
	gbt_server_stop(&s, SIGTERM);
}
