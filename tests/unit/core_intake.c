/* Request intake: where a write comes from, the framing rules, and which
 * flags hold secrets. The header block civetweb really parses is tested
 * against the running server in tests/hostile/test_direct_headers.py. */
#include <civetweb.h>
#include <criterion/criterion.h>
#include <string.h>

#include "intake.h"

static struct gb_intake with_origin(const char *host, const char *origin,
				    const char *site)
{
	struct gb_intake in;
	memset(&in, 0, sizeof in);
	in.host = host;
	in.origin = origin;
	in.fetch_site = site;
	return in;
}

Test(cross_site, origin_must_name_the_host)
{
	struct gb_intake in =
	    with_origin("gb.example", "https://evil.example", NULL);
	cr_assert(gb_intake_cross_site(GB_POST, &in));
	in = with_origin("gb.example", "https://gb.example.evil.example", NULL);
	cr_assert(gb_intake_cross_site(GB_POST, &in));
	in = with_origin("gb.example:8080", "http://gb.example:9090", NULL);
	cr_assert(gb_intake_cross_site(GB_DELETE, &in));
	in = with_origin("gb.example", "null", NULL);
	cr_assert(gb_intake_cross_site(GB_POST, &in));
	in = with_origin(NULL, "https://gb.example", NULL);
	cr_assert(gb_intake_cross_site(GB_POST, &in), "no Host: no match");
}

/* Chromium posts a form of a page served with Referrer-Policy:
 * no-referrer with Origin: null and Sec-Fetch-Site: same-origin. */
Test(cross_site, the_browser_vouching_for_its_own_page_wins)
{
	struct gb_intake in = with_origin("gb.example", "null", "same-origin");
	cr_assert_not(gb_intake_cross_site(GB_POST, &in));
	in = with_origin("gb.example", "null", "none");
	cr_assert_not(gb_intake_cross_site(GB_POST, &in));
	in = with_origin("gb.example", "null", "same-site");
	cr_assert(gb_intake_cross_site(GB_POST, &in));
	in = with_origin("gb.example", "https://gb.example", "cross-site");
	cr_assert(gb_intake_cross_site(GB_POST, &in));
}

Test(cross_site, same_origin_matches_case_and_default_ports)
{
	struct gb_intake in =
	    with_origin("GB.example:8080", "http://gb.EXAMPLE:8080", NULL);
	cr_assert_not(gb_intake_cross_site(GB_POST, &in));
	in = with_origin("gb.example:80", "http://gb.example", NULL);
	cr_assert_not(gb_intake_cross_site(GB_POST, &in));
	in = with_origin("gb.example", "https://gb.example:443", NULL);
	cr_assert_not(gb_intake_cross_site(GB_PUT, &in));
	in = with_origin("gb.example", "http://gb.example:443", NULL);
	cr_assert(gb_intake_cross_site(GB_PUT, &in), "443 is not http's");
	in = with_origin("gb.example", NULL, NULL);
	cr_assert_not(gb_intake_cross_site(GB_POST, &in), "curl sends none");
}

Test(cross_site, fetch_site_and_methods)
{
	struct gb_intake in = with_origin("gb.example", NULL, "cross-site");
	cr_assert(gb_intake_cross_site(GB_PATCH, &in));
	cr_assert_not(gb_intake_cross_site(GB_GET, &in));
	cr_assert_not(gb_intake_cross_site(GB_HEAD, &in));
	in = with_origin("gb.example", "https://gb.example", "same-site");
	cr_assert_not(gb_intake_cross_site(GB_POST, &in));
}

/* A request info laid out as civetweb 1.15 leaves it: each CR and LF of
 * the block turned into NUL, the final LF too. */
static char block[4096];

static void parsed(struct mg_request_info *ri, const char *version,
		   const char *const *fields, int n)
{
	memset(ri, 0, sizeof *ri);
	memset(block, 0, sizeof block);
	char *p = block;
	strcpy(p, "POST");
	ri->request_method = p;
	p += 5;
	strcpy(p, "/api/v1/messages");
	p += strlen(p) + 1;
	memcpy(p, "HTTP/", 5);
	p += 5;
	strcpy(p, version);
	ri->http_version = p;
	p += strlen(p) + 2;
	for (int i = 0; i < n; i++) {
		const char *colon = strchr(fields[i], ':');
		size_t len = (size_t)(colon - fields[i]);
		memcpy(p, fields[i], len);
		ri->http_headers[i].name = p;
		p += len + 1;
		*p++ = ' ';
		strcpy(p, colon + 2);
		ri->http_headers[i].value = p;
		p += strlen(p) + 2;
	}
	*p = n ? '\r' : '\0';
	ri->num_headers = n;
}

static int check(const char *version, const char *const *fields, int n,
		 struct gb_intake *in, struct gb_intake_error *err)
{
	struct mg_request_info ri;
	parsed(&ri, version, fields, n);
	return gb_intake_check(&ri, in, err);
}

Test(framing, one_plain_length_is_read)
{
	const char *const f[] = {"Host: x", "Content-Length: 36",
				 "X-Forwarded-For: 1.2.3.4",
				 "X-Forwarded-For: 10.0.0.1"};
	struct gb_intake in;
	struct gb_intake_error err;
	cr_assert_eq(check("1.1", f, 4, &in, &err), 0);
	cr_assert_eq(in.content_length, 36);
	cr_assert_str_eq(in.host, "x");
	cr_assert_str_eq(in.forwarded_for, "10.0.0.1", "the last line");
}

Test(framing, doubtful_lengths_are_400)
{
	const char *const bad[] = {
	    "+36", "-36", "0x24", "36abc", "36, 36", "", "1234567890123456789"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char cl[64];
		snprintf(cl, sizeof cl, "Content-Length: %s", bad[i]);
		const char *const f[] = {"Host: x", cl};
		struct gb_intake in;
		struct gb_intake_error err;
		cr_assert_eq(check("1.1", f, 2, &in, &err), -1, "%s", bad[i]);
		cr_assert_eq(err.status, 400, "%s", bad[i]);
	}
}

Test(framing, transfer_encoding_rules)
{
	struct gb_intake in;
	struct gb_intake_error err;
	const char *const both[] = {"Host: x", "Transfer-Encoding: chunked",
				    "Content-Length: 5"};
	cr_assert_eq(check("1.1", both, 3, &in, &err), -1);
	cr_assert_eq(err.status, 400);
	const char *const chunked[] = {"Host: x", "Transfer-Encoding: chunked"};
	cr_assert_eq(check("1.1", chunked, 2, &in, &err), -1);
	cr_assert_eq(err.status, 411);
	cr_assert_eq(check("1.0", chunked, 2, &in, &err), -1);
	cr_assert_eq(err.status, 400, "no transfer coding in HTTP/1.0");
}

Test(framing, host_and_expect)
{
	struct gb_intake in;
	struct gb_intake_error err;
	cr_assert_eq(check("1.1", NULL, 0, &in, &err), -1);
	cr_assert_eq(err.status, 400);
	cr_assert_eq(check("1.0", NULL, 0, &in, &err), 0);
	const char *const two[] = {"Host: a", "Host: b"};
	cr_assert_eq(check("1.0", two, 2, &in, &err), -1);
	const char *const expect[] = {"Host: a", "Expect: 200-ok"};
	cr_assert_eq(check("1.1", expect, 2, &in, &err), -1);
	cr_assert_eq(err.status, 417);
}

Test(framing, a_gap_in_the_block_is_400)
{
	/* the block civetweb leaves when it stopped at an obs-fold line */
	const char *const f[] = {"Host: x", "X-A: a"};
	struct mg_request_info ri;
	parsed(&ri, "1.1", f, 2);
	char *end = block + (ri.http_headers[1].value - block) + 1;
	end[2] = ' ';
	struct gb_intake in;
	struct gb_intake_error err;
	cr_assert_eq(gb_intake_check(&ri, &in, &err), -1);
	cr_assert_eq(err.status, 400);
	ri.num_headers = MG_MAX_HEADERS;
	cr_assert_eq(gb_intake_check(&ri, &in, &err), -1);
	cr_assert_eq(err.status, 431);
}
