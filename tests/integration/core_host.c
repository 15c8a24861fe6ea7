/*
 * The host: probes, routing errors, body limits, request ids, settings,
 * plugin loading failures and logs, against the real guestbookd.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct gbt_server srv;

static void start_with(const char *const *args)
{
	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0,
		     "guestbookd did not start");
}

static void start_default(void)
{
	static const char *const args[] = {"--plugins", "example", NULL};
	start_with(args);
}

static void stop(void)
{
	if (srv.pid > 0)
		gbt_server_stop(&srv, SIGKILL);
}

static cJSON *json_of(const struct gbt_response *r)
{
	cJSON *j = cJSON_Parse(r->body);
	cr_assert_not_null(j, "body is not JSON: %s", r->body);
	return j;
}

static const char *error_code(cJSON *j)
{
	cJSON *e = cJSON_GetObjectItem(j, "error");
	cJSON *c = e ? cJSON_GetObjectItem(e, "code") : NULL;
	return cJSON_IsString(c) ? c->valuestring : "";
}

TestSuite(core, .init = start_default, .fini = stop, .timeout = 30);

Test(core, health_is_200_json)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/health", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(gbt_header(&r, "Content-Type"), "application/json");
	cr_assert_str_eq(r.body, "{\"status\":\"ok\"}");
	gbt_response_free(&r);
}

Test(core, ready_names_the_storage_check)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/ready", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200);
	cJSON *j = json_of(&r);
	cJSON *st =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "checks"), "storage");
	cr_assert_str_eq(cJSON_GetObjectItem(st, "backend")->valuestring,
			 "sqlite");
	cr_assert_str_eq(cJSON_GetObjectItem(st, "status")->valuestring, "ok");
	cJSON *writes = cJSON_GetObjectItem(st, "writes");
	cr_assert_str_eq(cJSON_GetObjectItem(writes, "status")->valuestring,
			 "ok");
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(core, head_answers_without_body)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "HEAD", "/health", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	cr_assert_str_eq(gbt_header(&r, "Content-Length"), "15");
	gbt_response_free(&r);
}

Test(core, unknown_path_is_404_json)
{
	struct gbt_response r;
	cr_assert_eq(
	    gbt_http(srv.port, "GET", "/no/such/thing", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 404);
	cJSON *j = json_of(&r);
	cr_assert_str_eq(error_code(j), "not_found");
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(core, wrong_method_is_405_with_allow)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "DELETE", "/health", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(gbt_header(&r, "Allow"), "GET, HEAD");
	cJSON *j = json_of(&r);
	cr_assert_str_eq(error_code(j), "method_not_allowed");
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(core, garbage_method_is_400_json_and_server_keeps_serving)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "BREW", "/health", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 400);
	cJSON *j = json_of(&r);
	cr_assert_str_eq(error_code(j), "bad_request");
	cJSON_Delete(j);
	gbt_response_free(&r);
	cr_assert_eq(gbt_http(srv.port, "GET", "/health", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
}

Test(core, encoded_nul_in_path_is_400)
{
	struct gbt_response r;
	cr_assert_eq(
	    gbt_http(srv.port, "GET", "/health%00.txt", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 400);
	cJSON *j = json_of(&r);
	cr_assert_str_eq(error_code(j), "invalid_path");
	cJSON_Delete(j);
	gbt_response_free(&r);
}

Test(core, encoded_path_is_decoded_before_routing)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/heal%74h", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
}

Test(core, body_over_16k_is_413)
{
	size_t n = 16 * 1024 + 1;
	char *big = malloc(n);
	memset(big, 'x', n);
	struct gbt_response r;
	cr_assert_eq(
	    gbt_http(srv.port, "GET", "/api/v1/hello", NULL, big, n, &r), 0);
	cr_assert_eq(r.status, 413);
	cJSON *j = json_of(&r);
	cr_assert_str_eq(error_code(j), "payload_too_large");
	cJSON_Delete(j);
	gbt_response_free(&r);
	free(big);
}

Test(core, body_of_exactly_16k_is_accepted)
{
	size_t n = 16 * 1024;
	char *big = malloc(n);
	memset(big, 'x', n);
	struct gbt_response r;
	cr_assert_eq(
	    gbt_http(srv.port, "GET", "/api/v1/hello", NULL, big, n, &r), 0);
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
	free(big);
}

Test(core, huge_declared_length_is_413_before_reading)
{
	static const char *const h[] = {"Content-Length: 1073741824", NULL};
	struct gbt_response r;
	/* No body is sent: the answer must not wait for a gigabyte. */
	cr_assert_eq(gbt_http(srv.port, "GET", "/api/v1/hello", h, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 413);
	gbt_response_free(&r);
}

Test(core, valid_request_id_is_echoed_and_logged)
{
	static const char *const h[] = {"X-Request-Id: abc-123", NULL};
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/api/v1/hello", h, NULL, 0, &r),
		     0);
	cr_assert_str_eq(gbt_header(&r, "X-Request-Id"), "abc-123");
	gbt_response_free(&r);
	char *log = gbt_server_log_wait(&srv, "\"request_id\":\"abc-123\"");
	cr_assert_not_null(strstr(log, "\"request_id\":\"abc-123\""),
			   "request id not in the access log");
	free(log);
}

Test(core, forged_or_oversized_request_id_is_replaced)
{
	char longid[200];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	char hdr[256];
	snprintf(hdr, sizeof hdr, "X-Request-Id: %s", longid);
	const char *cases[] = {"X-Request-Id: evil\"},{\"level\":\"error",
			       "X-Request-Id: has spaces", hdr};
	for (size_t i = 0; i < 3; i++) {
		const char *h[] = {cases[i], NULL};
		struct gbt_response r;
		cr_assert_eq(
		    gbt_http(srv.port, "GET", "/health", h, NULL, 0, &r), 0);
		const char *id = gbt_header(&r, "X-Request-Id");
		cr_assert_not_null(id);
		cr_assert_eq(strlen(id), 32, "generated id expected, got %s",
			     id);
		gbt_response_free(&r);
	}
}

Test(core, every_log_line_is_json_with_the_required_fields)
{
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/api/v1/hello?name=x", NULL,
			      NULL, 0, &r),
		     0);
	gbt_response_free(&r);
	char *log = gbt_server_log_wait(&srv, "\"route\":\"/api/v1/hello\"");
	int access = 0;
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
		cJSON *j = cJSON_Parse(line);
		cr_assert_not_null(j, "log line is not JSON: %s", line);
		const char *req[] = {"ts", "level", "logger", "msg"};
		for (int i = 0; i < 4; i++)
			cr_assert(
			    cJSON_IsString(cJSON_GetObjectItem(j, req[i])),
			    "missing %s in %s", req[i], line);
		if (strcmp(cJSON_GetObjectItem(j, "logger")->valuestring,
			   "access") == 0) {
			const char *af[] = {"method",	  "route",
					    "path",	  "remote",
					    "request_id", "user_agent"};
			for (int i = 0; i < 6; i++)
				cr_assert(cJSON_IsString(
					      cJSON_GetObjectItem(j, af[i])),
					  "missing %s in %s", af[i], line);
			const char *nf[] = {"status", "duration_ms", "bytes"};
			for (int i = 0; i < 3; i++)
				cr_assert(cJSON_IsNumber(
					      cJSON_GetObjectItem(j, nf[i])),
					  "missing %s in %s", nf[i], line);
			if (strcmp(cJSON_GetObjectItem(j, "route")->valuestring,
				   "/api/v1/hello") == 0)
				access++;
		}
		cJSON_Delete(j);
	}
	cr_assert_eq(access, 1);
	free(log);
}

Test(core, registration_after_init_is_refused)
{
	stop();
	char path[1024];
	snprintf(path, sizeof path, "%s",
		 gbt_build_path("test-plugins/late_register.so"));
	const char *const args[] = {"--plugins", path, NULL};
	start_with(args);
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/late", NULL, NULL, 0, &r), 0);
	cr_assert_str_eq(r.body, "refused");
	gbt_response_free(&r);
}

/* ---- start-up failures: one line, exit status 2 -------------------- */

static void expect_exit2(const char *const *args, const char *const *env,
			 const char *needle)
{
	char *out = NULL;
	int rc = gbt_run(args, env, &out);
	cr_assert_eq(rc, 2, "exit status %d, output:\n%s", rc, out);
	cr_assert_not_null(strstr(out, needle), "'%s' not in:\n%s", needle,
			   out);
	free(out);
}

static const char *plugin_dir(void)
{
	static char buf[1024];
	snprintf(buf, sizeof buf, "%s", gbt_build_path("plugins"));
	return buf;
}

Test(startup, unknown_option_exits_2)
{
	const char *const a[] = {"--plugin-dir", plugin_dir(),
				 "--no-such-option", "1", NULL};
	expect_exit2(a, NULL, "unknown option '--no-such-option'");
}

Test(startup, bad_value_names_the_setting)
{
	const char *const a[] = {"--threads", "lots", NULL};
	expect_exit2(a, NULL, "setting threads (GUESTBOOK_THREADS)");
}

Test(startup, bad_environment_value_names_the_variable)
{
	const char *const a[] = {"--plugin-dir", plugin_dir(), NULL};
	const char *const e[] = {"GUESTBOOK_RATE_LIMIT=-5", NULL};
	expect_exit2(a, e, "GUESTBOOK_RATE_LIMIT");
}

Test(startup, unknown_key_in_config_file_exits_2)
{
	char path[] = "/tmp/gbcfg-XXXXXX";
	int fd = mkstemp(path);
	dprintf(fd, "# comment\nthreads = 8\nfrobnicate = yes\n");
	close(fd);
	const char *const a[] = {"--config", path, "--plugin-dir", plugin_dir(),
				 NULL};
	expect_exit2(a, NULL, "unknown setting 'frobnicate'");
	unlink(path);
}

Test(startup, missing_plugin_file_names_it)
{
	const char *const a[] = {
	    "--plugin-dir", plugin_dir(),  "--plugins", "nosuch",
	    "--listen",	    "127.0.0.1:0", NULL};
	expect_exit2(a, NULL, "nosuch.so: cannot load");
}

/* Loads tests/plugins/NAME.c's .so as the one route plugin: exit 2 with
 * `needle` in the output. */
static void expect_test_plugin_refused(const char *name, const char *needle)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s.so", gbt_build_path("test-plugins"), name);
	const char *const a[] = {"--plugin-dir", plugin_dir(), "--plugins", p,
				 NULL};
	expect_exit2(a, NULL, needle);
}

Test(startup, file_that_is_not_a_plugin_is_refused)
{
	expect_test_plugin_refused("no_descriptor", "not a guestbookd plugin");
}

Test(startup, abi_mismatch_is_refused_before_init)
{
	expect_test_plugin_refused("bad_abi", "built for ABI 3.0, this "
					      "guestbookd speaks 2.1");
}

/* A plugin built for ABI 1.x (init with the old signature, no settings):
 * refused by the loader in one line, its code never runs. */
Test(startup, plugin_built_for_the_old_major_is_refused_in_one_line)
{
	char p[1024];
	snprintf(p, sizeof p, "%s",
		 gbt_build_path("test-plugins/old_major.so"));
	const char *const a[] = {"--plugin-dir", plugin_dir(), "--plugins", p,
				 NULL};
	char *out = NULL;
	int rc = gbt_run(a, NULL, &out);
	cr_assert_eq(rc, 2, "exit status %d, output:\n%s", rc, out);
	char want[1200];
	snprintf(want, sizeof want,
		 "guestbookd: plugin %s: built for ABI 1.1, this guestbookd "
		 "speaks 2.1; rebuild it against guestbook/plugin.h 2.1\n",
		 p);
	cr_assert_not_null(strstr(out, want), "'%s' not in:\n%s", want, out);
	cr_assert_null(strstr(out, "must never run"), "its init ran:\n%s", out);
	free(out);
}

Test(startup, newer_minor_abi_is_refused)
{
	expect_test_plugin_refused("future_minor",
				   "future_minor.so: built for ABI 2.2, this "
				   "guestbookd speaks 2.1");
}

Test(startup, failing_init_is_reported_with_the_path)
{
	expect_test_plugin_refused("failing_init",
				   "failing_init.so: error during "
				   "initialization: the frobnicator is not "
				   "configured");
}

Test(startup, malformed_settings_table_is_refused_before_init)
{
	expect_test_plugin_refused("bad_settings",
				   "guestbookd: plugin bad_settings: the "
				   "default of setting workers is not a "
				   "number from 1 to 8\n");
}

Test(startup, storage_plugin_in_plugins_list_is_refused)
{
	const char *const a[] = {"--plugin-dir", plugin_dir(), "--plugins",
				 "sqlite", NULL};
	expect_exit2(a, NULL, "is a storage plugin");
}

Test(startup, unusable_database_path_exits_2)
{
	const char *const a[] = {"--plugin-dir",
				 plugin_dir(),
				 "--plugins",
				 "",
				 "--sqlite-path",
				 "/proc/nonexistent/x.db",
				 NULL};
	expect_exit2(a, NULL, "/proc/nonexistent/x.db");
}

Test(startup, version_and_help_exit_0)
{
	const char *const v[] = {"--version", NULL};
	char *out = NULL;
	cr_assert_eq(gbt_run(v, NULL, &out), 0);
	cr_assert_not_null(strstr(out, "guestbookd "));
	free(out);
	const char *const h[] = {"--help", "--plugin-dir", plugin_dir(), NULL};
	cr_assert_eq(gbt_run(h, NULL, &out), 0, "%s", out);
	const char *vars[] = {
	    "PORT",	     "GUESTBOOK_LISTEN",      "GUESTBOOK_RATE_LIMIT",
	    "--sqlite-path", "GUESTBOOK_ADMIN_TOKEN", "plugin api ",
	    "plugin web ",   "plugin metrics ",	      "plugin sqlite "};
	for (int i = 0; i < 9; i++)
		cr_assert_not_null(strstr(out, vars[i]), "--help lacks %s",
				   vars[i]);
	free(out);
	/* the settings of the plugins of another role and store */
	const char *const hb[] = {"--help", "--plugin-dir", plugin_dir(),
				  "--role", "frontend",	    NULL};
	cr_assert_eq(gbt_run(hb, NULL, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "GUESTBOOK_API_ADDR"), "%s", out);
	cr_assert_not_null(strstr(out, "--backend-url"), "%s", out);
	free(out);
	const char *const hm[] = {"--help",    "--plugin-dir", plugin_dir(),
				  "--storage", "mongo",	       NULL};
	cr_assert_eq(gbt_run(hm, NULL, &out), 0, "%s", out);
	cr_assert_not_null(strstr(out, "GUESTBOOK_DB_ADDR"), "%s", out);
	cr_assert_not_null(strstr(out, "GUESTBOOK_MONGO_URI_FILE"), "%s", out);
	free(out);
}

/* defaults < file < environment < flags, read back from the ready line */
static int started_threads(const char *const *args, const char *const *env)
{
	struct gbt_server s;
	cr_assert_eq(gbt_server_start(&s, args, env), 0);
	char *log = gbt_server_log(&s);
	const char *t = strstr(log, "threads=");
	int n = t ? atoi(t + 8) : -1;
	free(log);
	gbt_server_stop(&s, SIGKILL);
	return n;
}

Test(startup, config_precedence_is_file_env_flag, .timeout = 30)
{
	char path[] = "/tmp/gbcfg-XXXXXX";
	int fd = mkstemp(path);
	dprintf(fd, "threads = 10\nplugins = \"\"\n");
	close(fd);
	const char *const file_only[] = {"--config", path, NULL};
	const char *const with_flag[] = {"--config", path, "--threads", "14",
					 NULL};
	const char *const env[] = {"GUESTBOOK_THREADS=12", NULL};
	cr_assert_eq(started_threads(file_only, NULL), 10);
	cr_assert_eq(started_threads(file_only, env), 12);
	cr_assert_eq(started_threads(with_flag, env), 14);
	unlink(path);
}
