/*
 * api_unavailable.c - when the store cannot be reached every route of the
 * api plugin answers 503 storage_unavailable with Retry-After, quickly,
 * and never a 500. The store here is the http back end pointed at a port
 * where nothing listens.
 */
#include "api_helpers.h"

static void start_without_backend(void)
{
	static const char *const args[] = {"--plugins",
					   "api",
					   "--storage",
					   "http",
					   "--backend-url",
					   "http://127.0.0.1:1",
					   "--rate-limit",
					   "0",
					   "--admin-token",
					   "tok",
					   NULL};

	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0,
		     "guestbookd did not start");
}

TestSuite(api_unavailable, .init = start_without_backend, .fini = api_stop,
	  .timeout = 30);

static void assert_unavailable(const struct gbt_response *r)
{
	const char *retry;

	api_assert_error(r, 503, "storage_unavailable", NULL, NULL);
	retry = gbt_header(r, "Retry-After");
	cr_assert_not_null(retry);
	cr_assert(atoi(retry) >= 1 && atoi(retry) <= 5, "Retry-After %s",
		  retry);
}

Test(api_unavailable, v1_list_and_get_are_503)
{
	struct gbt_response r = api_get("/api/v1/messages");

	assert_unavailable(&r);
	gbt_response_free(&r);
	r = api_get("/api/v1/messages/1");
	assert_unavailable(&r);
	gbt_response_free(&r);
}

Test(api_unavailable, posts_are_503)
{
	struct gbt_response r = api_post_message("/api/v1/messages", "A", "m");

	assert_unavailable(&r);
	gbt_response_free(&r);
	r = api_post_message("/messages", "A", "m");
	assert_unavailable(&r);
	gbt_response_free(&r);
}

Test(api_unavailable, legacy_list_is_503)
{
	struct gbt_response r = api_get("/messages");

	assert_unavailable(&r);
	gbt_response_free(&r);
}

Test(api_unavailable, authorised_delete_is_503)
{
	static const char *const headers[] = {"Authorization: Bearer tok",
					      NULL};
	struct gbt_response r =
	    api_request("DELETE", "/api/v1/messages/1", headers, NULL, 0);

	assert_unavailable(&r);
	gbt_response_free(&r);
}

Test(api_unavailable, bad_input_is_still_refused_before_the_store)
{
	struct gbt_response r = api_post_json("/api/v1/messages", "{");

	api_assert_error(&r, 400, "invalid_json", NULL, NULL);
	gbt_response_free(&r);
	r = api_get("/api/v1/messages?limit=0");
	api_assert_error(&r, 400, "invalid_parameter", "limit", NULL);
	gbt_response_free(&r);
}
