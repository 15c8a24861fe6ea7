/* plugins/example: the plugin authors copy must keep working. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "harness.h"

static struct gbt_server srv;

static void start(void)
{
	static const char *const args[] = {"--plugins", "example,metrics",
					   NULL};
	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0);
}

static void stop(void)
{
	gbt_server_stop(&srv, SIGTERM);
}

TestSuite(example, .init = start, .fini = stop, .timeout = 30);

Test(example, hello_greets_the_world_by_default)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/api/v1/hello", NULL, NULL, 0,
			      &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"message\":\"Hello, world!\",\"count\":1}");
	gbt_response_free(&r);
}

Test(example, hello_uses_the_decoded_name)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/api/v1/hello?name=Ada%20L", NULL,
			      NULL, 0, &r), 0);
	cr_assert(strstr(r.body, "\"Hello, Ada L!\""), "%s", r.body);
	gbt_response_free(&r);
}

Test(example, too_long_name_is_400_invalid_parameter)
{
	char path[200] = "/api/v1/hello?name=";
	memset(path + strlen(path), 'n', 100);
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", path, NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 400);
	cr_assert(strstr(r.body, "\"field\":\"name\""), "%s", r.body);
	gbt_response_free(&r);
}

Test(example, post_is_405)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "POST", "/api/v1/hello", NULL, "x", 1,
			      &r), 0);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(gbt_header(&r, "Allow"), "GET, HEAD");
	gbt_response_free(&r);
}

Test(example, its_metric_is_exported)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/api/v1/hello", NULL, NULL, 0,
			      &r), 0);
	gbt_response_free(&r);
	cr_assert_eq(gbt_http(srv.port, "GET", "/metrics", NULL, NULL, 0, &r),
		     0);
	cr_assert(strstr(r.body, "guestbook_example_greetings_total 1"),
		  "metric missing");
	cr_assert(strstr(r.body, "guestbook_plugin_info{plugin=\"example\","
				 "kind=\"route\",version=\"1.0.0\"} 1"),
		  "plugin info missing");
	gbt_response_free(&r);
}
