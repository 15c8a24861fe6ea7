/* Route patterns, parameters and one handler per method. */
#include <criterion/criterion.h>
#include <string.h>

#include "router.h"

static void noop(struct gb_request *req, void *ud)
{
	(void)req;
	(void)ud;
}

static void other(struct gb_request *req, void *ud)
{
	(void)req;
	(void)ud;
}

static void setup(void)
{
	gb_router_clear();
	cr_assert_eq(gb_router_add("t", GB_GET, "/messages", noop, NULL, 0),
		     GB_OK);
	cr_assert_eq(
	    gb_router_add("t", GB_POST, "/messages", other, NULL, 4096), GB_OK);
	cr_assert_eq(
	    gb_router_add("t", GB_GET, "/api/v1/messages/{id}", noop, NULL, 0),
	    GB_OK);
	cr_assert_eq(gb_router_add("t", GB_DELETE, "/api/v1/messages/{id}",
				   other, NULL, 0),
		     GB_OK);
	cr_assert_eq(gb_router_add("t", GB_GET, "/static/*", noop, NULL, 0),
		     GB_OK);
}

TestSuite(router, .init = setup);

Test(router, exact_path_matches_only_itself)
{
	struct gb_route_match m;
	unsigned allow;
	cr_assert_eq(gb_router_match("/messages", GB_GET, &m, &allow), 1);
	cr_assert_str_eq(m.route->pattern, "/messages");
	cr_assert_eq(gb_router_match("/messages/", GB_GET, &m, &allow), 0);
	cr_assert_eq(gb_router_match("/messagesx", GB_GET, &m, &allow), 0);
}

Test(router, parameter_captures_one_segment)
{
	struct gb_route_match m;
	unsigned allow;
	cr_assert_eq(gb_router_match("/api/v1/messages/42", GB_GET, &m, &allow),
		     1);
	cr_assert_eq(m.nparams, 1);
	cr_assert_str_eq(m.values[0], "42");
	cr_assert_eq(gb_router_match("/api/v1/messages/", GB_GET, &m, &allow),
		     0);
	cr_assert_eq(
	    gb_router_match("/api/v1/messages/4/2", GB_GET, &m, &allow), 0);
}

Test(router, star_matches_the_rest)
{
	struct gb_route_match m;
	unsigned allow;
	cr_assert_eq(gb_router_match("/static/css/app.css", GB_GET, &m, &allow),
		     1);
	cr_assert_eq(gb_router_match("/static/", GB_GET, &m, &allow), 1);
	cr_assert_eq(gb_router_match("/staticx", GB_GET, &m, &allow), 0);
}

Test(router, wrong_method_reports_allow_and_get_implies_head)
{
	struct gb_route_match m;
	unsigned allow = 0;
	cr_assert_eq(gb_router_match("/messages", GB_PUT, &m, &allow), -1);
	cr_assert_eq(allow, GB_GET | GB_HEAD | GB_POST);
	char buf[64];
	gb_methods_format(allow, buf, sizeof buf);
	cr_assert_str_eq(buf, "GET, HEAD, POST");
	cr_assert_eq(gb_router_match("/messages", GB_HEAD, &m, &allow), 1);
	cr_assert_eq(gb_router_match("/messages", 0, &m, &allow), -1);
}

Test(router, each_method_runs_its_own_handler)
{
	struct gb_route_match m;
	unsigned allow = 0;
	cr_assert_eq(gb_router_match("/messages", GB_GET, &m, &allow), 1);
	cr_assert_eq(m.handler->handler, noop);
	cr_assert_eq(m.handler->max_body, 0);
	cr_assert_eq(gb_router_match("/messages", GB_HEAD, &m, &allow), 1);
	cr_assert_eq(m.handler->handler, noop, "HEAD runs the GET handler");
	cr_assert_eq(gb_router_match("/messages", GB_POST, &m, &allow), 1);
	cr_assert_eq(m.handler->handler, other);
	cr_assert_eq(m.handler->max_body, 4096);
	cr_assert_eq(
	    gb_router_match("/api/v1/messages/7", GB_DELETE, &m, &allow), 1);
	cr_assert_eq(m.handler->handler, other);
	cr_assert_eq(gb_router_match("/api/v1/messages/7", GB_POST, &m, &allow),
		     -1);
	cr_assert_eq(allow, GB_GET | GB_HEAD | GB_DELETE);
	cr_assert_str_eq(m.route->pattern, "/api/v1/messages/{id}");
}

Test(router, one_method_per_registration)
{
	cr_assert_eq(
	    gb_router_add("t", GB_GET | GB_POST, "/two", noop, NULL, 0),
	    GB_ERR_INVALID);
	cr_assert_eq(gb_router_add("t", 0, "/none", noop, NULL, 0),
		     GB_ERR_INVALID);
	cr_assert_eq(gb_router_add("t", GB_HEAD, "/head", noop, NULL, 0),
		     GB_ERR_INVALID, "HEAD is answered by the GET handler");
	cr_assert_eq(gb_router_add("t", GB_GET, "/messages", other, NULL, 0),
		     GB_ERR_EXISTS);
}

Test(router, duplicates_and_malformed_patterns_are_refused)
{
	cr_assert_eq(gb_router_add("t", GB_POST, "/messages", noop, NULL, 0),
		     GB_ERR_EXISTS);
	cr_assert_eq(gb_router_add("t", GB_PUT, "/messages", noop, NULL, 0),
		     GB_OK);
	cr_assert_eq(gb_router_add("t", GB_GET, "nope", noop, NULL, 0),
		     GB_ERR_INVALID);
	cr_assert_eq(gb_router_add("t", GB_GET, "/a/*/b", noop, NULL, 0),
		     GB_ERR_INVALID);
	cr_assert_eq(gb_router_add("t", GB_GET, "/a/{}", noop, NULL, 0),
		     GB_ERR_INVALID);
	cr_assert_eq(gb_router_add("t", GB_GET, "/a/{x", noop, NULL, 0),
		     GB_ERR_INVALID);
}
