/*
 * web_helpers.h - shared helpers of the web plugin's integration tests (the
 * web_ files): start guestbookd role all over SQLite, fetch pages, post the
 * form, look into HTML. Header-only (static inline) because each
 * integration test file is its own binary.
 */
#ifndef GB_TEST_WEB_HELPERS_H
#define GB_TEST_WEB_HELPERS_H

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct gbt_server web_srv;

/* Starts guestbookd --role all over SQLite with `extra` args. */
static inline void web_start(const char *const *extra)
{
	const char *args[40] = {"--role", "all", "--storage", "sqlite"};
	size_t n = 4;

	for (size_t i = 0; extra && extra[i]; i++) {
		cr_assert_lt(n, sizeof(args) / sizeof(args[0]) - 1);
		args[n++] = extra[i];
	}
	args[n] = NULL;
	cr_assert_eq(gbt_server_start(&web_srv, args, NULL), 0,
		     "guestbookd did not start");
}

/* Default: no rate limit, so tests can post freely. */
static inline void web_start_default(void)
{
	static const char *const extra[] = {"--rate-limit", "0", NULL};

	web_start(extra);
}

static inline void web_stop(void)
{
	if (web_srv.pid > 0)
		gbt_server_stop(&web_srv, SIGKILL);
	web_srv.pid = 0;
}

static inline struct gbt_response web_request(const char *method,
					      const char *path,
					      const char *const *headers,
					      const char *body, size_t len)
{
	struct gbt_response r;

	cr_assert_eq(
	    gbt_http(web_srv.port, method, path, headers, body, len, &r), 0,
	    "%s %s: no answer", method, path);
	return r;
}

static inline struct gbt_response web_get(const char *path)
{
	return web_request("GET", path, NULL, NULL, 0);
}

/* POST /post with an already URL-encoded form body. */
static inline struct gbt_response web_post_form(const char *body)
{
	static const char *const h[] = {
	    "Content-Type: application/x-www-form-urlencoded", NULL};

	return web_request("POST", "/post", h, body, strlen(body));
}

/* Posts name/message (plain ASCII words, no encoding needed): 303. */
static inline void web_post_ok(const char *name, const char *message)
{
	char body[512];
	struct gbt_response r;

	snprintf(body, sizeof(body), "name=%s&message=%s", name, message);
	r = web_post_form(body);
	cr_assert_eq(r.status, 303, "POST /post %s: %d %s", body, r.status,
		     r.body);
	gbt_response_free(&r);
}

/* How often `needle` occurs in `hay`. */
static inline int web_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Asserts the security headers every HTML response must carry. */
static inline void web_assert_html_headers(const struct gbt_response *r)
{
	const char *csp;

	cr_assert_str_eq(gbt_header(r, "Content-Type"),
			 "text/html; charset=utf-8");
	csp = gbt_header(r, "Content-Security-Policy");
	cr_assert_not_null(csp, "no CSP on a %d page", r->status);
	cr_assert_str_eq(csp, "default-src 'self'; script-src 'self'; "
			      "style-src 'self'; img-src 'self' data:; "
			      "object-src 'none'; base-uri 'none'; "
			      "form-action 'self'; frame-ancestors 'none'");
	cr_assert_str_eq(gbt_header(r, "X-Content-Type-Options"), "nosniff");
	cr_assert_str_eq(gbt_header(r, "Referrer-Policy"), "no-referrer");
	cr_assert_str_eq(gbt_header(r, "X-Frame-Options"), "DENY");
}

/* Asserts the page has no inline script or style the CSP would block. */
static inline void web_assert_no_inline_code(const char *html)
{
	cr_assert_null(strstr(html, "<style"), "inline <style> in the page");
	cr_assert_null(strstr(html, " style="), "inline style attribute");
	cr_assert_null(strstr(html, " onclick="), "inline event handler");
	for (const char *p = html; (p = strstr(p, "<script")); p++)
		cr_assert(strncmp(p, "<script src=\"/static/", 21) == 0,
			  "inline or foreign script: %.60s", p);
}

#endif
