/*
 * web_form.c - the web plugin's form decoding (plugins/web/form.c):
 * application/x-www-form-urlencoded fields as an HTML form posts them.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

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
