/*
 * web_page.c - the guestbook page and the form post of the web plugin
 * against the real guestbookd (role all, SQLite): the original's contract,
 * empty state, order, paging, validation errors, escaping, rate limiting
 * and the security headers.
 */
#include "web_helpers.h"

TestSuite(web_page, .init = web_start_default, .fini = web_stop, .timeout = 60);

Test(web_page, page_keeps_the_original_contract)
{
	struct gbt_response r = web_get("/");

	cr_assert_eq(r.status, 200);
	web_assert_html_headers(&r);
	cr_assert_not_null(strstr(r.body, "<title>Guestbook</title>"));
	cr_assert_not_null(strstr(r.body, "<h1>My Guestbook</h1>"));
	cr_assert_not_null(strstr(r.body,
				  "<form id=\"post-form\" method=\"POST\" "
				  "action=\"/post\">"),
			   "%s", r.body);
	cr_assert_not_null(strstr(r.body, "<label for=\"name\">"));
	cr_assert_not_null(strstr(r.body, "<label for=\"message\">"));
	cr_assert_not_null(
	    strstr(r.body, "<input id=\"name\" name=\"name\" type=\"text\" "
			   "required"));
	cr_assert_not_null(strstr(r.body,
				  "<textarea id=\"message\" name=\"message\" "
				  "required"));
	cr_assert_not_null(strstr(r.body, ">Post to Guestbook</button>"));
	web_assert_no_inline_code(r.body);
	gbt_response_free(&r);
}

Test(web_page, empty_guestbook_shows_the_empty_state)
{
	struct gbt_response r = web_get("/");

	cr_assert_eq(r.status, 200);
	cr_assert_not_null(strstr(r.body, "No messages are logged to the "
					  "guestbook yet."));
	cr_assert_eq(web_count(r.body, "class=\"card\""), 0);
	cr_assert_null(strstr(r.body, "Older messages"));
	gbt_response_free(&r);
}

Test(web_page, post_redirects_303_to_the_page_which_shows_the_message)
{
	struct gbt_response r = web_post_form("name=Ann+Lee&message=Hello%2C+"
					      "world%21%0D%0ASecond+line");

	cr_assert_eq(r.status, 303, "%d %s", r.status, r.body);
	cr_assert_str_eq(gbt_header(&r, "Location"), "/");
	gbt_response_free(&r);
	r = web_get("/");
	cr_assert_not_null(strstr(r.body, "<h3 class=\"author\">Ann Lee</h3>"),
			   "%s", r.body);
	cr_assert_not_null(strstr(r.body, "<p class=\"text\">Hello, world!\n"
					  "Second line</p>"));
	cr_assert_null(strstr(r.body, "No messages are logged"));
	gbt_response_free(&r);
}

Test(web_page, card_has_a_relative_time_in_a_time_element)
{
	struct gbt_response r;
	const char *t;
	int y, mo, d, h, mi, s, ms;

	web_post_ok("Ann", "hi");
	r = web_get("/");
	t = strstr(r.body, "<time class=\"when\" datetime=\"");
	cr_assert_not_null(t, "%s", r.body);
	cr_assert_eq(sscanf(t + 29, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ\"", &y, &mo,
			    &d, &h, &mi, &s, &ms),
		     7, "%.80s", t);
	cr_assert_not_null(strstr(t, ">just now</time>"), "%.160s", t);
	gbt_response_free(&r);
}

Test(web_page, messages_are_shown_newest_first)
{
	struct gbt_response r;
	const char *a, *b, *c;

	web_post_ok("Ann", "first");
	web_post_ok("Bob", "second");
	web_post_ok("Cy", "third");
	r = web_get("/");
	a = strstr(r.body, ">first</p>");
	b = strstr(r.body, ">second</p>");
	c = strstr(r.body, ">third</p>");
	cr_assert(a && b && c, "%s", r.body);
	cr_assert(c < b && b < a, "not newest first");
	cr_assert_eq(web_count(r.body, "class=\"card\""), 3);
	gbt_response_free(&r);
}

/* The href of the "Older messages" link, or "" (static buffer). */
static const char *older_link(const char *html)
{
	static char href[300];
	const char *p = strstr(html, "<a class=\"older\" href=\"");
	size_t n;

	href[0] = '\0';
	if (!p)
		return href;
	p += strlen("<a class=\"older\" href=\"");
	n = strcspn(p, "\"");
	if (n < sizeof(href))
		snprintf(href, sizeof(href), "%.*s", (int)n, p);
	return href;
}

Test(web_page, newest_twenty_then_an_older_messages_link_pages_on)
{
	struct gbt_response r;
	char text[32], href[300];

	for (int i = 1; i <= 21; i++) {
		snprintf(text, sizeof(text), "m%02d", i);
		web_post_ok("Ann", text);
	}
	r = web_get("/");
	cr_assert_eq(web_count(r.body, "class=\"card\""), 20);
	cr_assert_not_null(strstr(r.body, ">m21</p>"));
	cr_assert_not_null(strstr(r.body, ">m02</p>"));
	cr_assert_null(strstr(r.body, ">m01</p>"));
	snprintf(href, sizeof(href), "%s", older_link(r.body));
	cr_assert(strncmp(href, "/?before=", 9) == 0, "href \"%s\"", href);
	cr_assert_not_null(strstr(r.body, ">Older messages</a>"));
	gbt_response_free(&r);

	r = web_get(href);
	cr_assert_eq(r.status, 200);
	web_assert_html_headers(&r);
	cr_assert_eq(web_count(r.body, "class=\"card\""), 1);
	cr_assert_not_null(strstr(r.body, ">m01</p>"));
	cr_assert_str_eq(older_link(r.body), "");
	cr_assert_not_null(strstr(r.body, "<a class=\"newest\" href=\"/\">"));
	/* Older pages do not live-update: only the newest one does. */
	cr_assert_not_null(strstr(r.body, "data-live=\"false\""));
	gbt_response_free(&r);

	/* ?cursor= is the same as ?before= */
	memcpy(href + 2, "cursor", 6);
	r = web_get(href);
	cr_assert_eq(r.status, 200, "%s", href);
	cr_assert_not_null(strstr(r.body, ">m01</p>"));
	gbt_response_free(&r);
}

Test(web_page, unknown_cursor_is_a_400_page_with_a_way_back)
{
	struct gbt_response r = web_get("/?before=not-a-cursor");

	cr_assert_eq(r.status, 400);
	web_assert_html_headers(&r);
	cr_assert_not_null(strstr(r.body, "is not valid"));
	cr_assert_not_null(strstr(r.body, "<a class=\"newest\" href=\"/\">"));
	gbt_response_free(&r);
	r = web_get("/?before=%3Cscript%3E");
	cr_assert_eq(r.status, 400);
	cr_assert_null(strstr(r.body, "<script>"));
	gbt_response_free(&r);
}

Test(web_page, invalid_post_is_400_with_the_error_and_the_input_kept)
{
	struct gbt_response r =
	    web_post_form("name=+++&message=I+was+here+%26+typed+this");

	cr_assert_eq(r.status, 400);
	web_assert_html_headers(&r);
	cr_assert_not_null(strstr(r.body, "Please enter your name."), "%s",
			   r.body);
	cr_assert_not_null(strstr(r.body, "aria-describedby=\"name-error\""));
	cr_assert_not_null(
	    strstr(r.body, "value=\"   \" aria-invalid=\"true\""), "%s",
	    r.body);
	/* the message the person typed is still in the textarea */
	cr_assert_not_null(strstr(r.body, ">I was here &amp; typed this"
					  "</textarea>"),
			   "%s", r.body);
	gbt_response_free(&r);

	r = web_get("/");
	cr_assert_not_null(strstr(r.body, "No messages are logged"),
			   "an invalid post was stored");
	gbt_response_free(&r);
}

Test(web_page, too_long_message_is_400_next_to_the_message_field)
{
	char body[1200] = "name=Ann&message=";
	struct gbt_response r;

	memset(body + strlen(body), 'x', 1001);
	r = web_post_form(body);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(r.body, "Your message must be 1 to 1000 "
					  "characters"),
			   "%s", r.body);
	cr_assert_not_null(strstr(r.body, "rows=\"4\" aria-invalid=\"true\""));
	cr_assert_not_null(strstr(r.body, "aria-invalid=\"false\" "
					  "aria-describedby=\"name-error\""));
	gbt_response_free(&r);
}

Test(web_page, missing_fields_are_400_with_both_errors)
{
	struct gbt_response r = web_post_form("");

	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(r.body, "Please enter your name."));
	cr_assert_not_null(strstr(r.body, "Please write a message."));
	gbt_response_free(&r);
}

Test(web_page, script_payload_is_shown_as_text)
{
	static const char payload[] =
	    "<script>alert(1)</script><img src=x onerror=alert(2)>";
	struct gbt_response r;

	r = web_post_form("name=%3Cscript%3Ealert(1)%3C%2Fscript%3E%3Cimg+"
			  "src%3Dx+onerror%3Dalert(2)%3E&message=%3Cscript%3E"
			  "alert(1)%3C%2Fscript%3E%3Cimg+src%3Dx+onerror%3D"
			  "alert(2)%3E");
	cr_assert_eq(r.status, 303, "%d %s", r.status, r.body);
	gbt_response_free(&r);
	r = web_get("/");
	cr_assert_null(strstr(r.body, payload), "payload rendered as HTML");
	cr_assert_null(strstr(r.body, "<img src=x"));
	cr_assert_null(strstr(r.body, "<script>alert"));
	cr_assert_not_null(
	    strstr(r.body, "<h3 class=\"author\">&lt;script&gt;alert(1)"
			   "&lt;/script&gt;&lt;img src=x onerror=alert(2)"
			   "&gt;</h3>"),
	    "%s", r.body);
	cr_assert_not_null(
	    strstr(r.body, "<p class=\"text\">&lt;script&gt;alert(1)"
			   "&lt;/script&gt;&lt;img src=x onerror=alert(2)"
			   "&gt;</p>"));
	gbt_response_free(&r);
}

Test(web_page, kept_input_is_escaped_inside_the_attribute)
{
	/* name "><script>x</script> with an invalid (empty) message */
	struct gbt_response r =
	    web_post_form("name=%22%3E%3Cscript%3Ex%3C%2Fscript%3E%27&"
			  "message=");

	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(r.body, "value=\"&quot;&gt;&lt;script&gt;x"
					  "&lt;/script&gt;&#39;\""),
			   "%s", r.body);
	cr_assert_null(strstr(r.body, "<script>x"));
	gbt_response_free(&r);
}

Test(web_page, form_post_of_another_media_type_is_415_page)
{
	static const char *const h[] = {"Content-Type: application/json", NULL};
	struct gbt_response r = web_request("POST", "/post", h, "{}", 2);

	cr_assert_eq(r.status, 415);
	web_assert_html_headers(&r);
	gbt_response_free(&r);
}

Test(web_page, security_headers_are_on_every_html_response)
{
	struct gbt_response r;
	char body[1100] = "name=Ann&message=";

	r = web_get("/");
	web_assert_html_headers(&r);
	cr_assert_str_eq(gbt_header(&r, "Cache-Control"), "no-store");
	gbt_response_free(&r);
	r = web_post_form("name=&message=");
	cr_assert_eq(r.status, 400);
	web_assert_html_headers(&r);
	gbt_response_free(&r);
	memset(body + strlen(body), 'y', 1001);
	r = web_post_form(body);
	web_assert_html_headers(&r);
	web_assert_no_inline_code(r.body);
	gbt_response_free(&r);
	r = web_get("/?before=zzz");
	web_assert_html_headers(&r);
	gbt_response_free(&r);
	r = web_request("HEAD", "/", NULL, NULL, 0);
	cr_assert_eq(r.status, 200);
	web_assert_html_headers(&r);
	cr_assert_eq(r.body_len, 0);
	gbt_response_free(&r);
}

Test(web_page, asset_urls_are_versioned_and_same_origin)
{
	struct gbt_response r = web_get("/");

	cr_assert_not_null(strstr(r.body, "<link rel=\"stylesheet\" "
					  "href=\"/static/style.css?v="));
	cr_assert_not_null(strstr(r.body, "<script src=\"/static/app.js?v="));
	cr_assert_null(strstr(r.body, "http://"), "absolute URL in the page");
	cr_assert_null(strstr(r.body, "https://"), "absolute URL in the page");
	gbt_response_free(&r);
}

/* A server allowing one post a minute: the second is refused. */
static void start_limited(void)
{
	static const char *const extra[] = {"--rate-limit", "1", NULL};

	web_start(extra);
}

Test(web_rate_limit, posting_too_fast_is_a_429_page_with_retry_after,
     .init = start_limited, .fini = web_stop, .timeout = 60)
{
	struct gbt_response r;
	int retry;

	web_post_ok("Ann", "one");
	r = web_post_form("name=Ann&message=two");
	cr_assert_eq(r.status, 429, "%d", r.status);
	web_assert_html_headers(&r);
	cr_assert_not_null(gbt_header(&r, "Retry-After"));
	retry = atoi(gbt_header(&r, "Retry-After"));
	cr_assert_geq(retry, 1);
	cr_assert_not_null(strstr(r.body, "You are posting too quickly"));
	cr_assert_not_null(strstr(r.body, ">two</textarea>"), "input kept");
	gbt_response_free(&r);

	/* The limit comes first, as for the api: a bad form over the limit
	 * is refused as too fast, not checked. */
	r = web_post_form("name=&message=");
	cr_assert_eq(r.status, 429, "%d", r.status);
	cr_assert_null(strstr(r.body, "Please enter your name"));
	gbt_response_free(&r);
}
