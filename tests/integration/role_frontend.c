/*
 * role_frontend.c - a front end guestbookd (web + api over the http store)
 * in front of a backend guestbookd, wired the new way (--role frontend
 * --backend-url) and the legacy way (only PORT and GUESTBOOK_API_ADDR in
 * the environment), and what a visitor sees when the backend is down.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct gbt_server backend, front;

static void start_backend(void)
{
	static const char *const args[] = {
	    "--role",	    "backend", "--storage", "sqlite",
	    "--rate-limit", "0",       NULL};

	cr_assert_eq(gbt_server_start(&backend, args, NULL), 0,
		     "backend did not start");
}

static void start_front(void)
{
	char url[64];
	const char *args[] = {"--role", "frontend",	"--backend-url",
			      url,	"--rate-limit", "0",
			      NULL};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", backend.port);
	cr_assert_eq(gbt_server_start(&front, args, NULL), 0,
		     "frontend did not start");
}

static void setup(void)
{
	start_backend();
	start_front();
}

static void teardown(void)
{
	if (front.pid > 0)
		gbt_server_stop(&front, SIGKILL);
	if (backend.pid > 0)
		gbt_server_stop(&backend, SIGKILL);
}

TestSuite(role_frontend, .init = setup, .fini = teardown, .timeout = 60);

static struct gbt_response request(int port, const char *method,
				   const char *path, const char *ctype,
				   const char *body)
{
	struct gbt_response r;
	char h[128];
	const char *headers[] = {h, NULL};

	snprintf(h, sizeof(h), "Content-Type: %s",
		 ctype ? ctype : "text/plain");
	cr_assert_eq(gbt_http(port, method, path, ctype ? headers : NULL, body,
			      body ? strlen(body) : 0, &r),
		     0, "%s %s on port %d: no answer", method, path, port);
	return r;
}

static struct gbt_response get(int port, const char *path)
{
	return request(port, "GET", path, NULL, NULL);
}

Test(role_frontend, form_post_on_the_frontend_lands_in_the_backend)
{
	struct gbt_response r;

	r = request(front.port, "POST", "/post",
		    "application/x-www-form-urlencoded",
		    "name=Ann&message=via+the+front+end");
	cr_assert_eq(r.status, 303, "%d %s", r.status, r.body);
	gbt_response_free(&r);

	r = get(backend.port, "/api/v1/messages");
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "\"message\":\"via the front end\""),
			   "%s", r.body);
	gbt_response_free(&r);

	r = get(front.port, "/");
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, ">via the front end</p>"), "%s",
			   r.body);
	cr_assert_not_null(strstr(r.body, "<h3 class=\"author\">Ann</h3>"));
	gbt_response_free(&r);
}

Test(role_frontend, backend_messages_show_on_the_frontend_page_and_api)
{
	struct gbt_response r;

	r = request(backend.port, "POST", "/api/v1/messages",
		    "application/json",
		    "{\"author\":\"Bob\",\"message\":\"posted at the back\"}");
	cr_assert_eq(r.status, 201);
	gbt_response_free(&r);

	r = get(front.port, "/");
	cr_assert_not_null(strstr(r.body, ">posted at the back</p>"));
	gbt_response_free(&r);

	/* the page's script polls the v1 API on its own origin */
	r = get(front.port, "/api/v1/messages?limit=20");
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_not_null(strstr(r.body, "\"author\":\"Bob\""), "%s", r.body);
	cr_assert_not_null(gbt_header(&r, "ETag"));
	gbt_response_free(&r);

	/* and the legacy list */
	r = get(front.port, "/messages");
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	cr_assert_not_null(
	    strstr(r.body, "\"message\":\"posted at the back\""));
	gbt_response_free(&r);
}

Test(role_frontend, json_post_on_the_frontend_is_stored_by_the_backend)
{
	struct gbt_response r;

	r = request(front.port, "POST", "/api/v1/messages", "application/json",
		    "{\"author\":\"Cy\",\"message\":\"fetch post\"}");
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	gbt_response_free(&r);
	r = request(front.port, "POST", "/api/v1/messages", "application/json",
		    "{\"author\":\"\",\"message\":\"x\"}");
	cr_assert_eq(r.status, 422, "%d %s", r.status, r.body);
	gbt_response_free(&r);
	r = get(backend.port, "/api/v1/messages");
	cr_assert_not_null(strstr(r.body, "\"message\":\"fetch post\""));
	gbt_response_free(&r);
}

Test(role_frontend, frontend_is_ready_while_the_backend_is)
{
	struct gbt_response r = get(front.port, "/ready");

	cr_assert_eq(r.status, 200, "%s", r.body);
	gbt_response_free(&r);
}

/* Waits until GET /ready on port answers `status` (at most 5 s). */
static int wait_ready_status(int port, int status)
{
	for (int i = 0; i < 100; i++) {
		struct gbt_response r;
		int got = -1;

		if (gbt_http(port, "GET", "/ready", NULL, NULL, 0, &r) == 0) {
			got = r.status;
			gbt_response_free(&r);
		}
		if (got == status)
			return 1;
		usleep(50000);
	}
	return 0;
}

Test(role_frontend, backend_down_gives_a_friendly_503_page)
{
	struct gbt_response r;

	gbt_server_stop(&backend, SIGKILL);
	cr_assert(wait_ready_status(front.port, 503),
		  "frontend /ready never turned 503");

	r = get(front.port, "/");
	cr_assert_eq(r.status, 503);
	cr_assert_str_eq(gbt_header(&r, "Content-Type"),
			 "text/html; charset=utf-8");
	cr_assert_not_null(gbt_header(&r, "Retry-After"));
	cr_assert_not_null(gbt_header(&r, "Content-Security-Policy"));
	cr_assert_not_null(strstr(r.body, "<h1>My Guestbook</h1>"));
	cr_assert_not_null(strstr(r.body, "temporarily unavailable"));
	cr_assert_null(strstr(r.body, "127.0.0.1"), "internal address leaked");
	gbt_response_free(&r);

	r = request(front.port, "POST", "/post",
		    "application/x-www-form-urlencoded",
		    "name=Ann&message=kept+while+down");
	cr_assert_eq(r.status, 503);
	cr_assert_str_eq(gbt_header(&r, "Retry-After"), "2",
			 "one rule for a storage outage (post.h)");
	cr_assert_not_null(strstr(r.body, "could not be saved"));
	cr_assert_not_null(strstr(r.body, ">kept while down</textarea>"));
	gbt_response_free(&r);

	r = request(front.port, "POST", "/api/v1/messages", "application/json",
		    "{\"author\":\"a\",\"message\":\"b\"}");
	cr_assert_eq(r.status, 503);
	cr_assert_not_null(strstr(r.body, "storage_unavailable"), "%s", r.body);
	gbt_response_free(&r);

	r = get(front.port, "/health");
	cr_assert_eq(r.status, 200, "liveness does not depend on the backend");
	gbt_response_free(&r);

	/* the static assets do not need the backend either */
	r = get(front.port, "/static/style.css");
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
}

Test(role_frontend, frontend_recovers_when_the_backend_returns)
{
	char listen[32];
	const char *args[] = {"--role",	  "backend", "--storage", "sqlite",
			      "--listen", listen,    NULL};
	struct gbt_server again;
	struct gbt_response r;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", backend.port);
	gbt_server_stop(&backend, SIGKILL);
	cr_assert(wait_ready_status(front.port, 503));
	/* a new backend on the same port (its later --listen wins) */
	cr_assert_eq(gbt_server_start(&again, args, NULL), 0);
	cr_assert(wait_ready_status(front.port, 200),
		  "frontend /ready did not recover");
	r = get(front.port, "/");
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
	gbt_server_stop(&again, SIGKILL);
}

/* A store call that finds the store down turns /ready to 503 at once;
 * its body must then name the failure, not the "ok" of the last ping. */
Test(role_frontend_ready, ready_names_the_failure_a_request_found)
{
	static const char *const back_args[] = {"--role", "backend",
						"--storage", "sqlite", NULL};
	struct gbt_server back, frontend;
	char url[64];
	const char *front_args[] = {"--role",
				    "frontend",
				    "--backend-url",
				    url,
				    "--ready-cache-ms",
				    "60000",
				    "--list-cache-ms",
				    "0",
				    NULL};
	struct gbt_response r;

	cr_assert_eq(gbt_server_start(&back, back_args, NULL), 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", back.port);
	cr_assert_eq(gbt_server_start(&frontend, front_args, NULL), 0);
	cr_assert_eq(
	    gbt_http(frontend.port, "GET", "/ready", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	gbt_response_free(&r);

	gbt_server_stop(&back, SIGKILL);
	cr_assert_eq(gbt_http(frontend.port, "GET", "/api/v1/messages", NULL,
			      NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 503, "%s", r.body);
	gbt_response_free(&r);
	cr_assert_eq(
	    gbt_http(frontend.port, "GET", "/ready", NULL, NULL, 0, &r), 0);
	cr_assert_eq(r.status, 503, "%s", r.body);
	cJSON *root = cJSON_Parse(r.body);
	cJSON *st = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(root, "checks"), "storage"),
	    "error");
	cr_assert(cJSON_IsString(st), "%s", r.body);
	cr_assert_str_neq(st->valuestring, "ok", "%s", r.body);
	cJSON_Delete(root);
	gbt_response_free(&r);
	gbt_server_stop(&frontend, SIGKILL);
}

/* ---- bad wiring ---------------------------------------------------------- */

/* Runs guestbookd --role frontend with `extra` and returns its output. */
static int run_front(const char *const *extra, char **out)
{
	char plugins[1100], www[1100];
	const char *args[20] = {
	    "--role",	    "frontend", "--listen",  "127.0.0.1:0",
	    "--plugin-dir", plugins,	"--www-dir", www};
	size_t n = 8;

	snprintf(plugins, sizeof(plugins), "%s", gbt_build_path("plugins"));
	snprintf(www, sizeof(www), "%s", gbt_src_path("www"));
	for (size_t i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	return gbt_run(args, NULL, out);
}

Test(role_frontend, unusable_backend_urls_stop_start_up_with_status_2)
{
	static const char *const bad[][3] = {
	    {"--backend-url", "https://backend:8080", NULL},
	    {"--backend-url", "backend:8080", NULL},
	    {"--backend-url", "http://backend:99999", NULL},
	    {"--backend-url", "http://:8080", NULL},
	};
	char *out = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(run_front(bad[i], &out), 2, "%s: %s", bad[i][1],
			     out);
		cr_assert_not_null(strstr(out, "backend_url"), "%s", out);
		free(out);
		out = NULL;
	}
}

Test(role_frontend, password_in_the_backend_url_is_refused_and_not_logged)
{
	static const char *const args[] = {
	    "--backend-url", "http://admin:hunter2@backend:8080", NULL};
	char *out = NULL;

	cr_assert_eq(run_front(args, &out), 2, "%s", out);
	cr_assert_null(strstr(out, "hunter2"), "%s", out);
	free(out);
}

/* Whatever else is wrong with the URL, its password is never printed. */
Test(role_frontend, password_in_a_refused_backend_url_is_never_printed,
     .timeout = 30)
{
	static const char *const bad[][3] = {
	    {"--backend-url", "https://admin:hunter2@backend:8080", NULL},
	    {"--backend-url", "admin:hunter2@backend:8080", NULL},
	    {"--backend-url", "ftp://admin:hunter2@backend", NULL},
	    {"--backend-url", "http://admin:hunter2@backend:8080", NULL},
	};
	char *out = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(run_front(bad[i], &out), 2, "%s: %s", bad[i][1],
			     out);
		cr_assert_not_null(strstr(out, "backend_url"), "%s", out);
		cr_assert_null(strstr(out, "hunter2"), "%s leaked:\n%s",
			       bad[i][1], out);
		free(out);
		out = NULL;
	}
}

Test(role_frontend, frontend_without_a_backend_stops_with_status_2)
{
	char *out = NULL;

	cr_assert_eq(run_front(NULL, &out), 2, "%s", out);
	cr_assert_not_null(strstr(out, "backend_url"), "%s", out);
	free(out);
}

/* ---- legacy wiring ------------------------------------------------------- */

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * Starts guestbookd with no arguments at all and exactly `env` as its
 * environment, as the original frontend container was started.
 */
static pid_t spawn_env_only(char *const *env, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		FILE *f = freopen(log, "w", stdout);

		(void)f;
		dup2(1, 2);
		execle(gbt_build_path("guestbookd"), "guestbookd", (char *)NULL,
		       env);
		_exit(127);
	}
	return pid;
}

Test(role_frontend, legacy_port_and_api_addr_make_a_working_frontend)
{
	char port_env[32], api_env[64], plugin_env[1100], www_env[1100];
	char log[300];
	int port = free_port(), up = 0;
	char *const env[] = {port_env,
			     api_env,
			     plugin_env,
			     www_env,
			     (char *)"GUESTBOOK_LOG_FORMAT=json",
			     NULL};
	struct gbt_response r;
	pid_t pid;

	snprintf(port_env, sizeof(port_env), "PORT=%d", port);
	snprintf(api_env, sizeof(api_env), "GUESTBOOK_API_ADDR=127.0.0.1:%d",
		 backend.port);
	snprintf(plugin_env, sizeof(plugin_env), "GUESTBOOK_PLUGIN_DIR=%s",
		 gbt_build_path("plugins"));
	snprintf(www_env, sizeof(www_env), "GUESTBOOK_WWW_DIR=%s",
		 gbt_src_path("www"));
	snprintf(log, sizeof(log), "%s/legacy-frontend.log", backend.dir);
	pid = spawn_env_only(env, log);
	cr_assert_gt(pid, 0);
	for (int i = 0; i < 200 && !up; i++) {
		if (gbt_http(port, "GET", "/health", NULL, NULL, 0, &r) == 0) {
			up = r.status == 200;
			gbt_response_free(&r);
		}
		if (!up)
			usleep(50000);
	}
	cr_assert(up, "legacy frontend never answered on PORT %d", port);

	r = request(port, "POST", "/post", "application/x-www-form-urlencoded",
		    "name=Legacy&message=drop-in");
	cr_assert_eq(r.status, 303, "%d %s", r.status, r.body);
	gbt_response_free(&r);
	r = get(port, "/");
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, ">drop-in</p>"));
	gbt_response_free(&r);
	r = get(backend.port, "/messages");
	cr_assert_not_null(strstr(r.body, "\"message\":\"drop-in\""));
	gbt_response_free(&r);

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- in front of the original backend's contract ------------------------- */

/*
 * The backend is guestbookd serving ONLY the legacy contract (the test
 * plugin tests/plugins/legacy_backend.c: GET/POST /messages, text stored
 * escaped as the original's bleach did, no /api/v1), optionally on a
 * fixed port so it can be replaced by a v1 backend on the same address.
 */
static void start_legacy_backend(int port)
{
	char plugin[600], listen[64];
	const char *args[] = {"--plugins",
			      plugin,
			      "--storage",
			      "sqlite",
			      "--rate-limit",
			      "0",
			      port ? "--listen" : NULL,
			      listen,
			      NULL};

	/* a copy: the harness reuses gbt_build_path's buffer */
	snprintf(plugin, sizeof(plugin), "%s",
		 gbt_build_path("test-plugins/legacy_backend.so"));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	cr_assert_eq(gbt_server_start(&backend, args, NULL), 0,
		     "legacy-only backend did not start");
}

static void legacy_teardown(void)
{
	teardown();
}

TestSuite(role_frontend_legacy, .fini = legacy_teardown, .timeout = 90);

/* Only PORT and GUESTBOOK_API_ADDR, as the original frontend was run. */
Test(role_frontend_legacy, legacy_env_frontend_works_with_a_legacy_backend)
{
	char port_env[32], api_env[64], plugin_env[1100], www_env[1100];
	char log[300];
	int port = free_port();
	char *const env[] = {port_env,
			     api_env,
			     plugin_env,
			     www_env,
			     (char *)"GUESTBOOK_LOG_FORMAT=json",
			     (char *)"GUESTBOOK_RATE_LIMIT=0",
			     (char *)"GUESTBOOK_ADMIN_TOKEN=tok",
			     NULL};
	const char *auth[] = {"Authorization: Bearer tok", NULL};
	struct gbt_response r;
	pid_t pid;

	start_legacy_backend(0);
	snprintf(port_env, sizeof(port_env), "PORT=%d", port);
	snprintf(api_env, sizeof(api_env), "GUESTBOOK_API_ADDR=127.0.0.1:%d",
		 backend.port);
	snprintf(plugin_env, sizeof(plugin_env), "GUESTBOOK_PLUGIN_DIR=%s",
		 gbt_build_path("plugins"));
	snprintf(www_env, sizeof(www_env), "GUESTBOOK_WWW_DIR=%s",
		 gbt_src_path("www"));
	snprintf(log, sizeof(log), "%s/legacy-frontend.log", backend.dir);
	pid = spawn_env_only(env, log);
	cr_assert_gt(pid, 0);
	/* readiness: GET /messages on the backend answers 201 [..] */
	cr_assert(wait_ready_status(port, 200),
		  "legacy frontend never got ready on PORT %d", port);

	r = request(port, "POST", "/post", "application/x-www-form-urlencoded",
		    "name=%3CAnn%3E&message=%3Cb%3Ebold%3C%2Fb%3E+%26+co");
	cr_assert_eq(r.status, 303, "%d %s", r.status, r.body);
	gbt_response_free(&r);
	/* stored as the original stored it */
	r = get(backend.port, "/messages");
	cr_assert_eq(r.status, 201);
	cr_assert_not_null(strstr(r.body, "&lt;b&gt;bold&lt;/b&gt; &amp; co"),
			   "%s", r.body);
	gbt_response_free(&r);
	/* shown as typed: escaped once in the HTML, never "&amp;lt;" */
	r = get(port, "/");
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(
	    strstr(r.body, ">&lt;b&gt;bold&lt;/b&gt; &amp; co</p>"), "%s",
	    r.body);
	cr_assert_not_null(strstr(r.body, ">&lt;Ann&gt;</h3>"));
	cr_assert_null(strstr(r.body, "&amp;lt;"), "double-escaped");
	cr_assert_null(strstr(r.body, "data-id="), "a link without an id");
	cr_assert_null(strstr(r.body, "id=\"m-"));
	gbt_response_free(&r);
	/* the page's script reads the same through /api/v1 */
	r = get(port, "/api/v1/messages");
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "\"id\":null"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "<b>bold</b> & co"), "%s", r.body);
	gbt_response_free(&r);
	/* the contract cannot delete */
	cr_assert_eq(
	    gbt_http(port, "DELETE", "/api/v1/messages/1", auth, NULL, 0, &r),
	    0);
	cr_assert_eq(r.status, 501, "%d %s", r.status, r.body);
	cr_assert_not_null(strstr(r.body, "legacy contract"), "%s", r.body);
	gbt_response_free(&r);

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Paging in the front end: 20 a page, "Older messages" to the rest. */
Test(role_frontend_legacy, the_page_pages_the_legacy_list)
{
	struct gbt_response r;
	char body[64], path[300];
	const char *older, *end;

	start_legacy_backend(0);
	for (int i = 0; i < 23; i++) {
		snprintf(body, sizeof(body),
			 "{\"author\":\"A\",\"message\":\"n%02d\"}", i);
		r = request(backend.port, "POST", "/messages",
			    "application/json", body);
		cr_assert_eq(r.status, 201);
		gbt_response_free(&r);
	}
	start_front();
	r = get(front.port, "/");
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, ">n22</p>"));
	cr_assert_not_null(strstr(r.body, ">n03</p>"));
	cr_assert_null(strstr(r.body, ">n02</p>"));
	older = strstr(r.body, "href=\"/?before=");
	cr_assert_not_null(older, "no link to older messages: %s", r.body);
	older += strlen("href=\"");
	end = strchr(older, '"');
	snprintf(path, sizeof(path), "%.*s", (int)(end - older), older);
	gbt_response_free(&r);
	r = get(front.port, path);
	cr_assert_eq(r.status, 200, "%s: %d", path, r.status);
	cr_assert_not_null(strstr(r.body, ">n02</p>"));
	cr_assert_not_null(strstr(r.body, ">n00</p>"));
	cr_assert_null(strstr(r.body, ">n03</p>"));
	cr_assert_null(strstr(r.body, "href=\"/?before="));
	gbt_response_free(&r);
}

Test(role_frontend_legacy, backend_down_gives_the_503_page)
{
	struct gbt_response r;

	start_legacy_backend(0);
	start_front();
	cr_assert(wait_ready_status(front.port, 200));
	gbt_server_stop(&backend, SIGKILL);
	cr_assert(wait_ready_status(front.port, 503),
		  "still ready without a backend");
	r = get(front.port, "/");
	cr_assert_eq(r.status, 503);
	cr_assert_not_null(gbt_header(&r, "Retry-After"));
	cr_assert_not_null(strstr(r.body, "temporarily unavailable"));
	gbt_response_free(&r);
	r = get(front.port, "/health");
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
}

/* More than backend_max_body: the friendly 503 page, the limit in the log. */
Test(role_frontend_legacy, a_list_over_the_body_limit_gives_the_503_page)
{
	char url[64];
	const char *args[] = {"--role", "frontend",	      "--backend-url",
			      url,	"--backend-max-body", "1024",
			      NULL};
	struct gbt_response r;
	char *log;

	start_legacy_backend(0);
	for (int i = 0; i < 30; i++) {
		r = request(backend.port, "POST", "/messages",
			    "application/json",
			    "{\"author\":\"A\",\"message\":\"filling the "
			    "list beyond a kilobyte\"}");
		gbt_response_free(&r);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", backend.port);
	cr_assert_eq(gbt_server_start(&front, args, NULL), 0);
	r = get(front.port, "/");
	cr_assert_eq(r.status, 503);
	cr_assert_not_null(strstr(r.body, "temporarily unavailable"));
	gbt_response_free(&r);
	log = gbt_server_log_wait(&front, "backend_max_body");
	cr_assert_not_null(strstr(log, "raise backend_max_body"), "%s", log);
	free(log);
}

/* auto follows the backend when the legacy one is replaced by ours. */
Test(role_frontend_legacy, auto_switches_from_legacy_to_v1)
{
	static const char *const v1_args[] = {
	    "--role", "backend",  "--storage", "sqlite", "--rate-limit",
	    "0",      "--listen", NULL,	       NULL};
	const char *args[9];
	char listen[64];
	struct gbt_response r;
	int port = free_port(), switched = 0;

	start_legacy_backend(port);
	start_front();
	r = request(front.port, "POST", "/post",
		    "application/x-www-form-urlencoded",
		    "name=Old&message=to+the+legacy+backend");
	cr_assert_eq(r.status, 303);
	gbt_response_free(&r);
	r = get(front.port, "/");
	cr_assert_not_null(strstr(r.body, ">to the legacy backend</p>"));
	cr_assert_null(strstr(r.body, "data-id="));
	gbt_response_free(&r);

	/* the rolling upgrade: same address, now a v1 backend */
	gbt_server_stop(&backend, SIGTERM);
	memcpy(args, v1_args, sizeof(v1_args));
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	args[7] = listen;
	args[8] = NULL;
	cr_assert_eq(gbt_server_start(&backend, args, NULL), 0);
	r = request(backend.port, "POST", "/api/v1/messages",
		    "application/json",
		    "{\"author\":\"New\",\"message\":\"from v1\"}");
	cr_assert_eq(r.status, 201);
	gbt_response_free(&r);
	for (int i = 0; i < 100 && !switched; i++) {
		r = get(front.port, "/");
		switched = r.status == 200 && strstr(r.body, "data-id=") &&
			   strstr(r.body, ">from v1</p>");
		gbt_response_free(&r);
		if (!switched)
			usleep(100000);
	}
	cr_assert(switched, "the front end still speaks legacy after 10 s");
	/* and ids work again: the v1 message can be fetched by id */
	r = get(front.port, "/api/v1/messages");
	cr_assert_null(strstr(r.body, "\"id\":null"), "%s", r.body);
	gbt_response_free(&r);
}
