/* Request bodies that nest too deeply are refused before cJSON parses
 * them (it recurses once per level, on civetweb's small thread stacks). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 1);

	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

Test(review_message_json, body_nested_past_the_limit_is_invalid_json)
{
	struct gb_message_input in;
	struct gb_input_error err;
	char *body = nested(GB_JSON_MAX_DEPTH + 1);

	cr_assert_eq(gb_message_from_json(body, strlen(body), &in, &err), -1);
	cr_assert_eq(err.status, GB_INPUT_INVALID_JSON);
	cr_assert_not_null(strstr(err.message, "deeply"), "%s", err.message);
	free(body);
}

Test(review_message_json, nesting_within_the_limit_still_parses)
{
	static const char body[] = "{\"author\":\"Ann\",\"message\":\"[[[{{{\","
				   "\"extra\":[[{\"a\":[1]}]]}";
	struct gb_message_input in;
	struct gb_input_error err;

	cr_assert_eq(gb_message_from_json(body, strlen(body), &in, &err), 0,
		     "%s", err.message);
	cr_assert_str_eq(in.author, "Ann");
	cr_assert_str_eq(in.message, "[[[{{{");
	gb_message_input_free(&in);
}

Test(review_message_json, brackets_inside_strings_do_not_count)
{
	char body[400];
	struct gb_message_input in;
	struct gb_input_error err;
	char deep[100];

	memset(deep, '[', sizeof deep - 1);
	deep[sizeof deep - 1] = '\0';
	snprintf(body, sizeof body, "{\"author\":\"x\",\"message\":\"\\\"%s\"}",
		 deep);
	cr_assert_eq(gb_message_from_json(body, strlen(body), &in, &err), 0,
		     "%s", err.message);
	gb_message_input_free(&in);
}
