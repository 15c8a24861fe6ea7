/*
 * The host: probes, routing errors, body limits, request ids, settings,
 * plugin loading failures and logs, against the real guestbookd; and the
 * HTTP details a client of the api and web plugins meets (lengths, HEAD,
 * CORS preflights, hostile bytes and bodies).
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

/* Restarts the server with tests/plugins/NAME.c as its only plugin. */
static void restart_with_test_plugin(const char *name)
{
	char path[1024], so[64];
	stop();
	snprintf(so, sizeof so, "test-plugins/%s.so", name);
	snprintf(path, sizeof path, "%s", gbt_build_path(so));
	const char *const args[] = {"--plugins", path, NULL};
	start_with(args);
}

Test(core, registration_after_init_is_refused)
{
	restart_with_test_plugin("late_register");
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/late", NULL, NULL, 0, &r), 0);
	cr_assert_str_eq(r.body, "refused");
	gbt_response_free(&r);
}

/* A plugin's own secret given as a flag is warned about like the host's
 * known ones: the warning follows GB_SETTING_SECRET, not a list of flags. */
Test(core, a_plugin_secret_given_as_a_flag_is_warned_about)
{
	stop();
	char path[1024];
	snprintf(path, sizeof path, "%s",
		 gbt_build_path("test-plugins/secret_setting.so"));
	const char *const args[] = {"--plugins", path, "--vault-key",
				    "s3cr3t-value", NULL};
	start_with(args);
	struct gbt_response r;
	cr_assert_eq(gbt_http(srv.port, "GET", "/vault", NULL, NULL, 0, &r), 0);
	cr_assert_str_eq(r.body, "set");
	gbt_response_free(&r);
	char *log = gbt_server_log_wait(&srv, "a secret was passed as a flag");
	cr_assert_not_null(strstr(log, "a secret was passed as a flag"), "%s",
			   log);
	cr_assert_not_null(strstr(log, "--vault-key: use --vault-key-file (or "
				       "GUESTBOOK_VAULT_KEY_FILE)"),
			   "%s", log);
	cr_assert_null(strstr(log, "s3cr3t-value"), "the secret leaked:\n%s",
		       log);
	free(log);
}

/* The head of a response goes into room in front of its body when it
 * fits, and is written apart when it does not: both arrive whole. */
Test(core, responses_arrive_whole_whatever_their_header_length)
{
	restart_with_test_plugin("long_headers");
	/* 0, 8 and 24 headers of 64 bytes: in the room, near it, beyond
	 */
	static const char *const paths[] = {
	    "/long-headers?n=0", "/long-headers?n=8", "/long-headers?n=24"};
	static const int headers[] = {0, 8, 24};
	for (int i = 0; i < 3; i++) {
		struct gbt_response r;
		cr_assert_eq(
		    gbt_http(srv.port, "GET", paths[i], NULL, NULL, 0, &r), 0);
		cr_assert_eq(r.status, 200, "%s", r.head);
		cr_assert_str_eq(r.body, "{\"whole\":true}");
		cr_assert_str_eq(gbt_header(&r, "Content-Length"), "14");
		cr_assert_not_null(gbt_header(&r, "X-Request-Id"));
		for (int k = 0; k < headers[i]; k++) {
			char name[24];
			snprintf(name, sizeof name, "X-Long-%02d", k);
			const char *v = gbt_header(&r, name);
			cr_assert(v && strlen(v) == 63, "%s missing in %s",
				  name, r.head);
		}
		gbt_response_free(&r);
		/* HEAD: the same head, no body */
		cr_assert_eq(
		    gbt_http(srv.port, "HEAD", paths[i], NULL, NULL, 0, &r), 0);
		cr_assert_eq(r.status, 200);
		cr_assert_str_eq(gbt_header(&r, "Content-Length"), "14");
		cr_assert_eq(r.body_len, 0);
		gbt_response_free(&r);
	}
}

/* ---- start-up failures: one line, exit status 2 --------------------
 */

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

/* A plugin built for ABI 1.x (init with the old signature, no
 * settings): refused by the loader in one line, its code never runs. */
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

/* defaults < file < environment < flags, read back from the ready line
 */
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

/* ---- HTTP details with the api and web plugins loaded: the lengths of
 * bodiless answers, HEAD, CORS preflights, hostile bytes and bodies
 * ---- */

static void start_api_and_web(void)
{
	static const char *const args[] = {
	    "--plugins",     "api,web",		 "--storage",
	    "sqlite",	     "--rate-limit",	 "0",
	    "--admin-token", "core-http-secret", NULL};

	start_with(args);
}

TestSuite(core_http, .init = start_api_and_web, .fini = stop, .timeout = 60);

static struct gbt_response request(const char *method, const char *path,
				   const char *const *headers, const char *body)
{
	struct gbt_response r;

	cr_assert_eq(gbt_http(srv.port, method, path, headers, body,
			      body ? strlen(body) : 0, &r),
		     0, "%s %s: no answer", method, path);
	return r;
}

/* RFC 9110 8.6: no Content-Length in a 204; in a 304 only the length
 * the 200 would have had, so none rather than a wrong 0. */
Test(core_http, no_content_and_not_modified_carry_no_content_length)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	char inm[128], path[160], etag[64];
	struct gbt_response r;

	r = request("POST", "/api/v1/messages", json,
		    "{\"author\":\"Ann\",\"message\":\"hello\"}");
	cr_assert_eq(r.status, 201);
	snprintf(path, sizeof path, "%s", gbt_header(&r, "Location"));
	gbt_response_free(&r);

	r = request("GET", "/api/v1/messages", NULL, NULL);
	cr_assert_eq(r.status, 200);
	snprintf(etag, sizeof etag, "%s", gbt_header(&r, "ETag"));
	gbt_response_free(&r);
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	const char *const cond[] = {inm, NULL};
	r = request("GET", "/api/v1/messages", cond, NULL);
	cr_assert_eq(r.status, 304);
	cr_assert_null(gbt_header(&r, "Content-Length"),
		       "304 with Content-Length: %s",
		       gbt_header(&r, "Content-Length"));
	cr_assert_eq(r.body_len, 0);
	gbt_response_free(&r);

	r = request("GET", "/static/app.js", NULL, NULL);
	cr_assert_eq(r.status, 200);
	snprintf(inm, sizeof inm, "If-None-Match: %s", gbt_header(&r, "ETag"));
	gbt_response_free(&r);
	r = request("GET", "/static/app.js", cond, NULL);
	cr_assert_eq(r.status, 304);
	cr_assert_null(gbt_header(&r, "Content-Length"));
	gbt_response_free(&r);

	static const char *const auth[] = {
	    "Authorization: Bearer core-http-secret", NULL};
	r = request("DELETE", path, auth, NULL);
	cr_assert_eq(r.status, 204);
	cr_assert_null(gbt_header(&r, "Content-Length"),
		       "204 with Content-Length: %s",
		       gbt_header(&r, "Content-Length"));
	cr_assert_eq(r.body_len, 0);
	gbt_response_free(&r);
}

/* A HEAD answer announces the length of the GET body it leaves out. */
Test(core_http, head_announces_the_get_length)
{
	struct gbt_response get = request("GET", "/health", NULL, NULL);
	struct gbt_response head = request("HEAD", "/health", NULL, NULL);

	cr_assert_eq(head.status, 200);
	cr_assert_eq(head.body_len, 0);
	char want[32];
	snprintf(want, sizeof want, "%zu", get.body_len);
	cr_assert_str_eq(gbt_header(&head, "Content-Length"), want);
	gbt_response_free(&get);
	gbt_response_free(&head);
}

/* The access line of a request with bytes that are not UTF-8 in its
 * path and User-Agent is still valid JSON (Loki, jq). */
Test(core_http, access_line_of_a_non_utf8_request_is_valid_json)
{
	static const char *const headers[] = {
	    "X-Request-Id: hostile-bytes-1",
	    "User-Agent: agent-\xff\xfe-\xc0\xaf", NULL};
	struct gbt_response r =
	    request("GET", "/caf%e9/%ff%c0%af", headers, NULL);

	cr_assert_eq(r.status, 404);
	gbt_response_free(&r);
	char *log = gbt_server_log_wait(&srv, "hostile-bytes-1");
	char *line = strstr(log, "hostile-bytes-1");
	cr_assert_not_null(line, "no access line:\n%s", log);
	while (line > log && line[-1] != '\n')
		line--;
	*strchr(line, '\n') = '\0';
	for (const unsigned char *p = (const unsigned char *)line; *p; p++)
		cr_assert_lt(*p, 0x80, "raw non-ASCII byte in: %s", line);
	cJSON *root = cJSON_Parse(line);
	cr_assert_not_null(root, "not JSON: %s", line);
	cr_assert_eq(cJSON_GetObjectItem(root, "status")->valueint, 404);
	cJSON_Delete(root);
	free(log);
}

/* civetweb's worker threads have small stacks (100 KiB in the Debian
 * build); a body of nested arrays well inside cJSON's own nesting limit
 * of 1000 used to overflow it while parsing and kill the server. */
Test(core_http, deeply_nested_json_body_is_400_not_a_crash)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	static const char *const paths[] = {"/api/v1/messages", "/messages"};
	size_t depth = 900;
	char *body = malloc(2 * depth + 1);

	memset(body, '[', depth);
	memset(body + depth, ']', depth);
	body[2 * depth] = '\0';
	for (size_t i = 0; i < 2; i++) {
		struct gbt_response r = request("POST", paths[i], json, body);

		cr_assert_eq(r.status, 400, "POST %s: %d", paths[i], r.status);
		cr_assert_not_null(strstr(r.body, "\"invalid_json\""), "%s",
				   r.body);
		gbt_response_free(&r);
	}
	struct gbt_response r = request("GET", "/health", NULL, NULL);
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
	free(body);
}

/* civetweb answers CORS preflights itself by default, with
 * "Access-Control-Allow-Origin: *" and whatever method and headers were
 * asked for: any web site could then send JSON posts (and Authorization
 * headers) cross-origin, and those answers skip the host (no request
 * id, no log line, no metrics). The page talks to the API on its own
 * origin, so the host answers OPTIONS like any other method: 405 with
 * Allow. */
Test(core_http, cors_preflight_is_not_granted)
{
	static const char *const preflight[] = {
	    "Origin: https://elsewhere.example",
	    "Access-Control-Request-Method: DELETE",
	    "Access-Control-Request-Headers: authorization", NULL};
	static const char *const paths[] = {"/api/v1/messages/1",
					    "/api/v1/messages", "/post"};

	for (size_t i = 0; i < 3; i++) {
		struct gbt_response r =
		    request("OPTIONS", paths[i], preflight, NULL);

		cr_assert_eq(r.status, 405, "OPTIONS %s: %d", paths[i],
			     r.status);
		cr_assert_null(gbt_header(&r, "Access-Control-Allow-Origin"),
			       "OPTIONS %s granted CORS", paths[i]);
		cr_assert_null(gbt_header(&r, "Access-Control-Allow-Methods"));
		cr_assert_not_null(gbt_header(&r, "X-Request-Id"));
		cr_assert_not_null(gbt_header(&r, "Allow"));
		cr_assert_not_null(strstr(r.body, "method_not_allowed"));
		gbt_response_free(&r);
	}
}
