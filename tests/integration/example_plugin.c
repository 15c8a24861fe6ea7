/* plugins/example: the plugin authors copy must keep working, and its
 * declared setting `greeting` must work through each spelling. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	cr_assert_eq(
	    gbt_http(srv.port, "GET", "/api/v1/hello", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "{\"message\":\"Hello, world!\",\"count\":1}");
	gbt_response_free(&r);
}

Test(example, hello_uses_the_decoded_name)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/api/v1/hello?name=Ada%20L",
			      NULL, NULL, 0, &r),
		     0);
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
	cr_assert_eq(
	    gbt_http(srv.port, "POST", "/api/v1/hello", NULL, "x", 1, &r), 0);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(gbt_header(&r, "Allow"), "GET, HEAD");
	gbt_response_free(&r);
}

Test(example, its_metric_is_exported)
{
	struct gbt_response r;
	cr_assert_eq(
	    gbt_http(srv.port, "GET", "/api/v1/hello", NULL, NULL, 0, &r), 0);
	gbt_response_free(&r);
	cr_assert_eq(gbt_http(srv.port, "GET", "/metrics", NULL, NULL, 0, &r),
		     0);
	cr_assert(strstr(r.body, "guestbook_example_greetings_total 1"),
		  "metric missing");
	cr_assert(strstr(r.body, "guestbook_plugin_info{plugin=\"example\","
				 "kind=\"route\",version=\"2.0.0\"} 1"),
		  "plugin info missing");
	gbt_response_free(&r);
}

/* The plugin directory, copied out of gbt_build_path's static buffer. */
static const char *plugin_dir(void)
{
	static char buf[1024];
	snprintf(buf, sizeof buf, "%s", gbt_build_path("plugins"));
	return buf;
}

/* GET /api/v1/hello?name=Ada from a server started with args and env. */
static char *hello_with(const char *const *args, const char *const *env)
{
	struct gbt_server s;
	struct gbt_response r;
	cr_assert_eq(gbt_server_start(&s, args, env), 0);
	cr_assert_eq(gbt_http(s.port, "GET", "/api/v1/hello?name=Ada", NULL,
			      NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char *body = strdup(r.body);
	gbt_response_free(&r);
	gbt_server_stop(&s, SIGTERM);
	return body;
}

static void expect_greeting(const char *const *args, const char *const *env,
			    const char *want)
{
	char *body = hello_with(args, env);
	char expected[128];
	snprintf(expected, sizeof expected, "{\"message\":\"%s, Ada!\"", want);
	cr_assert(strncmp(body, expected, strlen(expected)) == 0, "%s", body);
	free(body);
}

Test(greeting, from_the_environment, .timeout = 30)
{
	const char *const args[] = {"--plugins", "+example", NULL};
	const char *const env[] = {"GUESTBOOK_EXAMPLE_GREETING=Bonjour", NULL};
	expect_greeting(args, env, "Bonjour");
}

Test(greeting, from_a_flag_over_the_environment, .timeout = 30)
{
	const char *const args[] = {"--plugins", "+example",
				    "--example-greeting", "Hola", NULL};
	const char *const env[] = {"GUESTBOOK_EXAMPLE_GREETING=Bonjour", NULL};
	expect_greeting(args, env, "Hola");
}

Test(greeting, from_the_config_file, .timeout = 30)
{
	char path[] = "/tmp/gbexample-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	dprintf(fd, "# the example plugin\nexample_greeting = Ciao\n");
	close(fd);
	const char *const args[] = {"--plugins", "example", "--config", path,
				    NULL};
	expect_greeting(args, NULL, "Ciao");
	const char *const env[] = {"GUESTBOOK_EXAMPLE_GREETING=Servus", NULL};
	expect_greeting(args, env, "Servus");
	unlink(path);
}

Test(greeting, unknown_example_setting_exits_2_naming_it, .timeout = 30)
{
	const char *const args[] = {
	    "--plugin-dir",	 plugin_dir(), "--plugins", "example",
	    "--example-greetin", "typo",       NULL};
	char *out = NULL;
	int rc = gbt_run(args, NULL, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "guestbookd: unknown option '--example-greetin' "
			      "(see --help)\n"),
		  "%s", out);
	free(out);
}

Test(greeting, help_lists_the_plugin_and_its_setting, .timeout = 30)
{
	const char *const args[] = {"--help",	 "--plugin-dir", plugin_dir(),
				    "--plugins", "+example",	 NULL};
	char *out = NULL;
	cr_assert_eq(gbt_run(args, NULL, &out), 0, "%s", out);
	cr_assert(strstr(out, "plugin example 2.0.0: GET /api/v1/hello: a "
			      "complete plugin to copy"),
		  "%s", out);
	const char *line = strstr(out, "--example-greeting");
	cr_assert_not_null(line, "%s", out);
	cr_assert(strstr(line, "GUESTBOOK_EXAMPLE_GREETING"), "%s", out);
	cr_assert(strstr(line, "Hello"), "the default is shown: %s", out);
	free(out);
}

/* A bad value for a plugin's setting stops the start: exit 2, one line
 * naming the plugin, the spelling used and the allowed range. */
Test(plugin_settings, bad_value_exits_2_naming_the_plugin, .timeout = 30)
{
	const char *const args[] = {"--plugin-dir", plugin_dir(), "--listen",
				    "127.0.0.1:0", NULL};
	const char *const env[] = {"GUESTBOOK_API_LEGACY_LIST_MAX=0", NULL};
	char *out = NULL;
	int rc = gbt_run(args, env, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "guestbookd: plugin api: setting "
			      "api_legacy_list_max "
			      "(GUESTBOOK_API_LEGACY_LIST_MAX): '0' is not a "
			      "number from 1 to 100000\n"),
		  "%s", out);
	free(out);
	const char *const old[] = {"GUESTBOOK_LIST_CACHE_MS=soon", NULL};
	rc = gbt_run(args, old, &out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "guestbookd: plugin "), "%s", out);
	cr_assert(strstr(out, "setting list_cache_ms (GUESTBOOK_LIST_CACHE_MS)"
			      ": 'soon' is not a number"),
		  "%s", out);
	free(out);
}

/* A secret's value never reaches the log or an error message. */
Test(plugin_settings, secrets_are_masked_in_the_debug_log, .timeout = 30)
{
	const char *const args[] = {"--log-level", "debug", NULL};
	const char *const env[] = {"GUESTBOOK_ADMIN_TOKEN=hunter2-token", NULL};
	struct gbt_server s;
	cr_assert_eq(gbt_server_start(&s, args, env), 0);
	char *log = gbt_server_log(&s);
	cr_assert(strstr(log, "api_admin_token=****"), "%s", log);
	cr_assert_null(strstr(log, "hunter2"), "%s", log);
	free(log);
	gbt_server_stop(&s, SIGTERM);
}
