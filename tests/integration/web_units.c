/*
 * web_units.c - the web plugin's pure parts, compiled in directly (the
 * plugin's objects are not linked into test binaries): template context
 * escaping, form decoding, relative times.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/web/form.c"
#include "../../plugins/web/relative_time.c"
#include "../../plugins/web/template.c"

static char *render1(const char *tpl, const char *name, const char *value)
{
	char err[200] = "";
	struct web_template *t = web_template_parse("t", tpl, err, sizeof(err));
	struct web_var v = {name, value};
	struct web_buf out = {0};

	cr_assert_not_null(t, "%s", err);
	web_template_render(t, &v, 1, &out);
	web_template_free(t);
	cr_assert(!out.failed);
	return out.data ? out.data : strdup("");
}

Test(web_template, text_placeholders_escape_markup)
{
	char *s = render1("<p>{{x}}</p>", "x", "<b>&\"'</b>");

	cr_assert_str_eq(s, "<p>&lt;b&gt;&amp;\"'&lt;/b&gt;</p>");
	free(s);
}

Test(web_template, attribute_placeholders_escape_quotes_too)
{
	char *s = render1("<input value=\"{{x}}\" title='{{x}}'>", "x",
			  "\"'><script>");

	cr_assert_str_eq(s, "<input value=\"&quot;&#39;&gt;&lt;script&gt;\" "
			    "title='&quot;&#39;&gt;&lt;script&gt;'>");
	free(s);
}

Test(web_template, raw_placeholders_insert_html_as_is)
{
	char *s = render1("<div>{{{x}}}</div>", "x", "<p>ok</p>");

	cr_assert_str_eq(s, "<div><p>ok</p></div>");
	free(s);
}

Test(web_template, missing_values_render_empty)
{
	char *s = render1("<p>{{x}}{{y}}</p>", "x", NULL);

	cr_assert_str_eq(s, "<p></p>");
	free(s);
}

Test(web_template, unquoted_attribute_placeholder_is_refused_at_load)
{
	char err[200] = "";

	cr_assert_null(
	    web_template_parse("t.html", "<a href={{x}}>", err, sizeof(err)));
	cr_assert_not_null(strstr(err, "t.html:1"), "%s", err);
	cr_assert_null(
	    web_template_parse("t.html", "<p>\n<a {{x}}>", err, sizeof(err)));
	cr_assert_not_null(strstr(err, "t.html:2"), "%s", err);
	cr_assert_null(web_template_parse("t.html", "<a title=\"{{{x}}}\">",
					  err, sizeof(err)),
		       "raw HTML inside an attribute");
	cr_assert_null(
	    web_template_parse("t.html", "<p>{{X-1}}</p>", err, sizeof(err)));
	cr_assert_null(
	    web_template_parse("t.html", "<p>{{x</p>", err, sizeof(err)));
}

Test(web_template, comments_are_kept_and_do_not_confuse_the_context)
{
	char *s = render1("<!-- <a href= --><p>{{x}}</p>", "x", "<");

	cr_assert_str_eq(s, "<!-- <a href= --><p>&lt;</p>");
	free(s);
}

static char *field(const char *body, const char *name, size_t *len)
{
	int nomem = 0;
	char *v = form_field(body, strlen(body), name, len, &nomem);

	cr_assert_eq(nomem, 0);
	return v;
}

Test(web_form, fields_are_decoded)
{
	size_t len;
	char *v = field("name=Ann+Lee&message=a%26b%3Dc%0D%0A%E2%98%83",
			"message", &len);

	cr_assert_str_eq(v, "a&b=c\r\n\xe2\x98\x83");
	cr_assert_eq(len, strlen(v));
	free(v);
	v = field("name=Ann+Lee&message=x", "name", &len);
	cr_assert_str_eq(v, "Ann Lee");
	free(v);
}

Test(web_form, absent_field_is_null_and_empty_field_is_empty)
{
	size_t len = 99;
	char *v;

	cr_assert_null(field("name=Ann", "message", &len));
	cr_assert_null(field("", "message", &len));
	v = field("message=&name=x", "message", &len);
	cr_assert_str_eq(v, "");
	cr_assert_eq(len, 0);
	free(v);
	v = field("message", "message", &len);
	cr_assert_str_eq(v, "");
	free(v);
}

Test(web_form, first_of_repeated_fields_wins_and_keys_are_decoded)
{
	size_t len;
	char *v = field("m%65ssage=one&message=two", "message", &len);

	cr_assert_str_eq(v, "one");
	free(v);
}

Test(web_form, bad_percent_escapes_stay_literal_and_nul_is_kept)
{
	size_t len;
	char *v = field("message=100%25+%zz%4", "message", &len);

	cr_assert_str_eq(v, "100% %zz%4");
	free(v);
	v = field("message=a%00b", "message", &len);
	cr_assert_eq(len, 3);
	cr_assert_eq(memcmp(v, "a\0b", 3), 0);
	free(v);
}

static const char *ago(double seconds)
{
	static char buf[64];
	const double now = 1764136800.0;

	web_relative_time(now, now - seconds, buf, sizeof(buf));
	return buf;
}

Test(web_relative_time, counts_minutes_hours_days_months_years)
{
	cr_assert_str_eq(ago(0), "just now");
	cr_assert_str_eq(ago(59.9), "just now");
	cr_assert_str_eq(ago(-30), "just now", "clock skew: future dates");
	cr_assert_str_eq(ago(60), "1 minute ago");
	cr_assert_str_eq(ago(119), "1 minute ago");
	cr_assert_str_eq(ago(120), "2 minutes ago");
	cr_assert_str_eq(ago(59 * 60), "59 minutes ago");
	cr_assert_str_eq(ago(3600), "1 hour ago");
	cr_assert_str_eq(ago(23 * 3600), "23 hours ago");
	cr_assert_str_eq(ago(86400), "1 day ago");
	cr_assert_str_eq(ago(9 * 86400), "9 days ago");
	cr_assert_str_eq(ago(29 * 86400), "29 days ago");
	cr_assert_str_eq(ago(30 * 86400), "1 month ago");
	cr_assert_str_eq(ago(40 * 86400), "1 month ago");
	cr_assert_str_eq(ago(61 * 86400), "2 months ago");
	cr_assert_str_eq(ago(364 * 86400), "12 months ago");
	cr_assert_str_eq(ago(365 * 86400), "1 year ago");
	cr_assert_str_eq(ago(3 * 365 * 86400 + 5), "3 years ago");
}
