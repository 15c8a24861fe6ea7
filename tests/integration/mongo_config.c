/*
 * mongo_config.c - configuring the mongo store: what an operator sees for a
 * bad URI, a bad option or an absent database (one clear line and exit 2,
 * or a live process that is not ready: never a hang), the legacy
 * GUESTBOOK_DB_ADDR drop-in, write concerns, masked passwords and the
 * driver's log lines inside our JSON log.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "mongo_client.h"
#include "mongo_server.h"

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	gbt_mongo_shared_setup();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	gbt_mongo_shared_teardown();
}

static struct gbt_server server;

static void stop_server(void)
{
	if (server.pid > 0)
		gbt_server_stop(&server, SIGKILL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The last non-empty line of `out`, copied into a static buffer. */
static const char *last_line(const char *out)
{
	static char line[1024];
	size_t n = strlen(out);

	while (n && out[n - 1] == '\n')
		n--;
	size_t start = n;
	while (start && out[start - 1] != '\n')
		start--;
	snprintf(line, sizeof(line), "%.*s", (int)(n - start), out + start);
	return line;
}

/*
 * Runs guestbookd --role backend with `args` (after the harness defaults)
 * expecting it to refuse to start; returns its output (caller frees).
 */
static char *run_failing(const char *const *args)
{
	char plugins[512];
	/* a copy: gbt_build_path's buffer is reused by gbt_run */
	snprintf(plugins, sizeof(plugins), "%s", gbt_build_path("plugins"));
	const char *argv[32] = {"--listen",	"127.0.0.1:0", "--plugin-dir",
				plugins,	"--role",      "backend",
				"--log-format", "json"};
	size_t n = 8;
	char *out = NULL;

	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	double t0 = now_s();
	int rc = gbt_run(argv, NULL, &out);
	cr_assert_lt(now_s() - t0, 5.0, "refusing to start took too long");
	cr_assert_eq(rc, 2, "exit status %d, want 2; output:\n%s", rc,
		     out ? out : "");
	return out;
}

Test(mongo_config, malformed_uri_stops_the_start_with_one_line_and_status_2,
     .timeout = 30)
{
	const char *args[] = {"--mongo-uri", "mongodb//127.0.0.1/guestbook",
			      NULL};
	char *out = run_failing(args);
	const char *line = last_line(out);

	cr_assert_not_null(strstr(line, "mongo_uri"),
			   "the line names the setting: %s", line);
	cr_assert_not_null(strstr(line, "invalid MongoDB URI"), "%s", line);
	free(out);
}

Test(mongo_config, unknown_uri_option_stops_the_start_naming_it, .timeout = 30)
{
	const char *args[] = {
	    "--mongo-uri",
	    "mongodb://127.0.0.1:1/guestbook?serverSelectionTimeoutMS=500"
	    "&notAnOption=1",
	    NULL};
	char *out = run_failing(args);
	const char *line = last_line(out);

	cr_assert_not_null(strstr(line, "mongo_uri"), "%s", line);
	cr_assert_not_null(strstr(line, "notanoption"),
			   "the line names the option: %s", line);
	free(out);
}

Test(mongo_config, bad_option_value_stops_the_start, .timeout = 30)
{
	const char *args[] = {
	    "--mongo-uri",
	    "mongodb://127.0.0.1:1/guestbook?connectTimeoutMS=soon", NULL};
	char *out = run_failing(args);

	cr_assert_not_null(strstr(last_line(out), "connecttimeoutms"), "%s",
			   out);
	free(out);
}

Test(mongo_config, password_in_a_refused_uri_is_masked, .timeout = 30)
{
	const char *args[] = {
	    "--mongo-uri",
	    "mongodb://admin:hunter2secret@127.0.0.1:1/guestbook?nope=1", NULL};
	char *out = run_failing(args);

	cr_assert_null(strstr(out, "hunter2secret"), "the password leaked:\n%s",
		       out);
	cr_assert_not_null(strstr(out, "admin:****@127.0.0.1:1"), "%s", out);
	free(out);
}

Test(mongo_config, password_in_a_malformed_uri_is_masked, .timeout = 30)
{
	const char *args[] = {
	    "--mongo-uri", "mongodb:/admin:hunter2secret@127.0.0.1:1/x", NULL};
	char *out = run_failing(args);

	cr_assert_null(strstr(out, "hunter2secret"), "the password leaked:\n%s",
		       out);
	free(out);
}

Test(mongo_config, unacknowledged_write_concern_is_refused, .timeout = 30)
{
	const char *args[] = {"--mongo-uri", "mongodb://127.0.0.1:1/guestbook",
			      "--mongo-write-concern", "0", NULL};
	char *out = run_failing(args);

	cr_assert_not_null(strstr(last_line(out), "mongo_write_concern"), "%s",
			   out);
	free(out);
}

static int http_status(const char *method, const char *path, const char *body)
{
	const char *hdr[] = {"Content-Type: application/json", NULL};
	struct gbt_response r;
	int status;

	cr_assert_eq(gbt_http(server.port, method, path, hdr, body,
			      body ? strlen(body) : 0, &r),
		     0, "%s %s: no answer", method, path);
	status = r.status;
	gbt_response_free(&r);
	return status;
}

Test(mongo_config, unreachable_database_starts_not_ready_with_masked_uri,
     .fini = stop_server, .timeout = 30)
{
	/* legacy spelling with credentials; nothing listens on port 1 */
	const char *args[] = {"--role", "backend", "--db-addr",
			      "bob:hunter2secret@127.0.0.1:1", NULL};
	double t0 = now_s();

	cr_assert_eq(gbt_server_start(&server, args, NULL), 0);
	cr_assert_lt(now_s() - t0, 5.0, "start-up must not hang");
	cr_assert_eq(http_status("GET", "/ready", NULL), 503);
	cr_assert_eq(http_status("GET", "/health", NULL), 200);
	t0 = now_s();
	cr_assert_eq(http_status("GET", "/api/v1/messages", NULL), 503);
	cr_assert_lt(now_s() - t0, 3.0);

	char *log = gbt_server_log(&server);
	cr_assert_null(strstr(log, "hunter2secret"), "the password leaked:\n%s",
		       log);
	cr_assert_not_null(
	    strstr(log, "mongodb://bob:****@127.0.0.1:1/guestbook"),
	    "the log names the masked URI:\n%s", log);
	free(log);
}

/*
 * Passwords with characters RFC 3986 wants percent-encoded: the driver
 * refuses some of them with a message that quotes the password, and takes
 * others as they are. Neither may reach the output.
 */
Test(mongo_config, password_with_an_unescaped_slash_is_masked, .timeout = 30)
{
	const char *args[] = {"--mongo-uri",
			      "mongodb://admin:hunter2/secret@127.0.0.1:1/x",
			      NULL};
	char *out = run_failing(args);

	cr_assert_null(strstr(out, "hunter2"), "the password leaked:\n%s", out);
	cr_assert_not_null(strstr(last_line(out), "mongo_uri"), "%s", out);
	free(out);
}

Test(mongo_config, password_with_an_unescaped_colon_is_masked, .timeout = 30)
{
	const char *args[] = {"--mongo-uri",
			      "mongodb://admin:hunter2:secret@127.0.0.1:1/x",
			      NULL};
	char *out = run_failing(args);

	cr_assert_null(strstr(out, "hunter2"), "the password leaked:\n%s", out);
	cr_assert_null(strstr(out, "secret"), "the password leaked:\n%s", out);
	free(out);
}

Test(mongo_config, password_with_a_question_mark_is_masked_in_the_log,
     .fini = stop_server, .timeout = 30)
{
	/* the driver accepts it; nothing listens on port 1 */
	const char *args[] = {
	    "--role", "backend", "--mongo-uri",
	    "mongodb://bob:hunter2?secret@127.0.0.1:1/guestbook", NULL};

	cr_assert_eq(gbt_server_start(&server, args, NULL), 0);
	cr_assert_eq(http_status("GET", "/api/v1/messages", NULL), 503);

	char *log = gbt_server_log(&server);
	cr_assert_null(strstr(log, "hunter2"), "the password leaked:\n%s", log);
	cr_assert_not_null(strstr(log, "mongodb://bob:****@127.0.0.1:1"),
			   "the log names the masked URI:\n%s", log);
	free(log);
}

Test(mongo_config, legacy_db_addr_alone_makes_the_legacy_backend,
     .fini = stop_server, .timeout = 60)
{
	char addr[64], env_addr[96];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", gbt_mongo_shared_port());
	snprintf(env_addr, sizeof(env_addr), "GUESTBOOK_DB_ADDR=%s", addr);
	const char *env[] = {env_addr, "GUESTBOOK_RATE_LIMIT=0", NULL};
	char marker[64];
	snprintf(marker, sizeof(marker), "legacy drop-in %d", (int)getpid());
	char body[160];
	snprintf(body, sizeof(body), "{\"author\":\"py\",\"message\":\"%s\"}",
		 marker);

	cr_assert_eq(gbt_server_start(&server, NULL, env), 0);
	cr_assert_eq(http_status("POST", "/messages", body), 201);

	/* it went to database guestbook, collection messages */
	struct gbt_response r;
	cr_assert_eq(
	    gbt_http(server.port, "GET", "/messages", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 201);
	cr_assert_not_null(strstr(r.body, marker), "%s", r.body);
	gbt_response_free(&r);
	cr_assert_gt(
	    gbt_mongo_count(gbt_mongo_shared_uri("guestbook"), "messages"), 0);
	char *log = gbt_server_log(&server);
	cr_assert_not_null(strstr(log, "storage=mongo"), "%s", log);
	free(log);
}

static void start_with_write_concern(const char *wc)
{
	char db[64];

	snprintf(db, sizeof(db), "guestbook_wc_%d", (int)getpid());
	const char *args[] = {"--role",
			      "backend",
			      "--mongo-uri",
			      gbt_mongo_shared_uri(db),
			      "--mongo-write-concern",
			      wc,
			      "--rate-limit",
			      "0",
			      NULL};
	cr_assert_eq(gbt_server_start(&server, args, NULL), 0);
}

Test(mongo_config, write_concern_one_acknowledges_posts, .fini = stop_server,
     .timeout = 30)
{
	start_with_write_concern("1");
	cr_assert_eq(http_status("POST", "/api/v1/messages",
				 "{\"author\":\"a\",\"message\":\"w1\"}"),
		     201);
}

Test(mongo_config, driver_messages_are_json_lines_of_our_log,
     .fini = stop_server, .timeout = 60)
{
	char uri[300];

	/* an old-style boolean makes the driver warn, and start anyway */
	snprintf(uri, sizeof(uri), "%s?retryWrites=1",
		 gbt_mongo_shared_uri("guestbook_log"));
	const char *args[] = {"--role",	      "backend", "--mongo-uri", uri,
			      "--rate-limit", "0",	 NULL};
	cr_assert_eq(gbt_server_start(&server, args, NULL), 0);
	cr_assert_eq(http_status("POST", "/api/v1/messages",
				 "{\"author\":\"a\",\"message\":\"m\"}"),
		     201);
	/* a clean shutdown closes the pool: the driver talks then too */
	cr_assert_eq(gbt_server_stop(&server, SIGTERM), 0);

	char *log = gbt_server_log(&server);
	int driver_lines = 0;
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
		cJSON *j = cJSON_Parse(line);

		cr_assert_not_null(j, "not a JSON log line: %s", line);
		const char *logger =
		    cJSON_GetStringValue(cJSON_GetObjectItem(j, "logger"));
		const char *msg =
		    cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg"));
		if (logger && msg && !strcmp(logger, "mongo") &&
		    strstr(msg, "driver") && strstr(msg, "retrywrites"))
			driver_lines++;
		cJSON_Delete(j);
	}
	cr_assert_eq(driver_lines, 1,
		     "the driver's warning is one line of our JSON log");
	free(log);
}
