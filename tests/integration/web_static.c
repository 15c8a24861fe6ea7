/*
 * web_static.c - GET /static/... of the web plugin against the real
 * guestbookd: content types, validators and 304s, cache headers, and
 * paths that try to leave www/static (never answered with a file).
 */
#include "web_helpers.h"

TestSuite(web_static, .init = web_start_default, .fini = web_stop,
	  .timeout = 60);

/* Asserts no file content leaked: nothing from core/ or /etc. */
static void assert_no_leak(const char *path, const struct gbt_response *r)
{
	cr_assert(r->status == 400 || r->status == 404, "%s answered %d", path,
		  r->status);
	cr_assert_null(strstr(r->body, "#include"), "%s leaked C source", path);
	cr_assert_null(strstr(r->body, "root:"), "%s leaked /etc/passwd", path);
	cr_assert_null(strstr(r->body, "Index of"), "%s listed a directory",
		       path);
	cr_assert_null(strstr(r->body, "app.js"), "%s listed files", path);
}

Test(web_static, assets_have_their_content_types)
{
	static const struct {
		const char *path, *type;
	} want[] = {
	    {"/static/style.css", "text/css; charset=utf-8"},
	    {"/static/app.js", "text/javascript; charset=utf-8"},
	    {"/static/favicon.svg", "image/svg+xml"},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct gbt_response r = web_get(want[i].path);

		cr_assert_eq(r.status, 200, "%s: %d", want[i].path, r.status);
		cr_assert_str_eq(gbt_header(&r, "Content-Type"), want[i].type);
		cr_assert_str_eq(gbt_header(&r, "X-Content-Type-Options"),
				 "nosniff");
		cr_assert_gt(r.body_len, 100);
		gbt_response_free(&r);
	}
}

Test(web_static, served_file_is_the_file_on_disk)
{
	struct gbt_response r = web_get("/static/app.js");
	FILE *f = fopen(gbt_src_path("www/static/app.js"), "rb");
	char *disk = malloc(r.body_len + 1);

	cr_assert_not_null(f);
	cr_assert_eq(fread(disk, 1, r.body_len + 1, f), r.body_len);
	cr_assert_eq(memcmp(disk, r.body, r.body_len), 0);
	fclose(f);
	free(disk);
	gbt_response_free(&r);
}

Test(web_static, etag_revalidation_is_304_without_a_body)
{
	struct gbt_response r = web_get("/static/style.css");
	char etag[64], inm[100];
	const char *h[2] = {inm, NULL};

	cr_assert_not_null(gbt_header(&r, "ETag"));
	snprintf(etag, sizeof(etag), "%s", gbt_header(&r, "ETag"));
	cr_assert_eq(etag[0], '"');
	cr_assert_str_eq(gbt_header(&r, "Cache-Control"), "public, no-cache");
	gbt_response_free(&r);

	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	r = web_request("GET", "/static/style.css", h, NULL, 0);
	cr_assert_eq(r.status, 304);
	cr_assert_eq(r.body_len, 0);
	cr_assert_str_eq(gbt_header(&r, "ETag"), etag);
	gbt_response_free(&r);

	snprintf(inm, sizeof(inm), "If-None-Match: \"other\", W/%s", etag);
	r = web_request("GET", "/static/style.css", h, NULL, 0);
	cr_assert_eq(r.status, 304, "weak comparison in a list");
	gbt_response_free(&r);

	snprintf(inm, sizeof(inm), "If-None-Match: \"0000000000000000\"");
	r = web_request("GET", "/static/style.css", h, NULL, 0);
	cr_assert_eq(r.status, 200);
	cr_assert_gt(r.body_len, 0);
	gbt_response_free(&r);
}

Test(web_static, if_modified_since_is_304_when_not_newer)
{
	struct gbt_response r = web_get("/static/app.js");
	char lm[64], ims[100];
	const char *h[2] = {ims, NULL};

	cr_assert_not_null(gbt_header(&r, "Last-Modified"));
	snprintf(lm, sizeof(lm), "%s", gbt_header(&r, "Last-Modified"));
	cr_assert(strstr(lm, " GMT") != NULL, "%s", lm);
	gbt_response_free(&r);

	snprintf(ims, sizeof(ims), "If-Modified-Since: %s", lm);
	r = web_request("GET", "/static/app.js", h, NULL, 0);
	cr_assert_eq(r.status, 304);
	gbt_response_free(&r);

	snprintf(ims, sizeof(ims),
		 "If-Modified-Since: Thu, 01 Jan 1998 00:00:00 GMT");
	r = web_request("GET", "/static/app.js", h, NULL, 0);
	cr_assert_eq(r.status, 200);
	gbt_response_free(&r);
}

Test(web_static, versioned_asset_urls_are_cached_for_good)
{
	struct gbt_response page = web_get("/");
	const char *v = strstr(page.body, "/static/app.js?v=");
	char url[128];

	cr_assert_not_null(v);
	snprintf(url, sizeof(url), "%.*s", (int)strcspn(v, "\""), v);
	gbt_response_free(&page);
	page = web_get(url);
	cr_assert_eq(page.status, 200);
	cr_assert_str_eq(gbt_header(&page, "Cache-Control"),
			 "public, max-age=31536000, immutable");
	gbt_response_free(&page);
	page = web_get("/static/app.js?v=stale");
	cr_assert_str_eq(gbt_header(&page, "Cache-Control"),
			 "public, no-cache");
	gbt_response_free(&page);
}

Test(web_static, paths_outside_static_are_never_served)
{
	static const char *const paths[] = {
	    "/static/../core/main.c",
	    "/static/..%2fcore%2fmain.c",
	    "/static/%2e%2e/core/main.c",
	    "/static/%2e%2e%2fcore%2fmain.c",
	    "/static/%2E%2E/%2E%2E/etc/passwd",
	    "/static/..%5c..%5cetc%5cpasswd",
	    "/static//etc/passwd",
	    "/static/%2fetc%2fpasswd",
	    "/static/./app.js/../../../etc/passwd",
	    "/static/",
	    "/static",
	    "/static/.",
	    "/static/.hidden",
	    "/static/nope.js",
	    "/static/templates",
	    "/static/../templates/page.html",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct gbt_response r = web_get(paths[i]);

		assert_no_leak(paths[i], &r);
		gbt_response_free(&r);
	}
}

/* The host refuses an encoded NUL before any plugin sees the path. */
Test(web_static, encoded_nul_is_refused_before_the_plugin)
{
	struct gbt_response r = web_get("/static/app.js%00.png");

	cr_assert_eq(r.status, 400);
	assert_no_leak("/static/app.js%00.png", &r);
	gbt_response_free(&r);
	/* Dot segments go first: this one is "/static/core/main.c", a 404. */
	r = web_get("/static/%00../../core/main.c");
	assert_no_leak("/static/%00../../core/main.c", &r);
	gbt_response_free(&r);
}

/* Dot segments are removed before routing: "/static/.." is "/". */
Test(web_static, dot_dot_out_of_static_is_the_page_not_a_listing)
{
	struct gbt_response r = web_get("/static/..");

	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "<title>Guestbook</title>"));
	cr_assert_null(strstr(r.body, "Index of"));
	gbt_response_free(&r);
}

Test(web_static, static_directory_has_no_listing)
{
	struct gbt_response r = web_get("/static/");

	cr_assert_eq(r.status, 404);
	assert_no_leak("/static/", &r);
	gbt_response_free(&r);
}

Test(web_static, head_has_the_headers_but_no_body)
{
	struct gbt_response r =
	    web_request("HEAD", "/static/style.css", NULL, NULL, 0);

	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body_len, 0);
	cr_assert_not_null(gbt_header(&r, "ETag"));
	cr_assert_str_eq(gbt_header(&r, "Content-Type"),
			 "text/css; charset=utf-8");
	gbt_response_free(&r);
}
