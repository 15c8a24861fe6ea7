/*
 * web_template.c - the web plugin's templates (plugins/web/template.c):
 * escaping for the context of each placeholder, and templates refused
 * at load.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

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
