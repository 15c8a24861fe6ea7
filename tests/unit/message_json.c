/*
 * message_json.c - reading a posted JSON body, building the stored
 * document and serving it as v1 and legacy JSON (including documents the
 * original Flask backend wrote).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

static int parse(const char *body, struct gb_message_input *in,
		 struct gb_input_error *err)
{
	return gb_message_from_json(body, strlen(body), in, err);
}

static void assert_bad_json(const char *body, size_t len)
{
	struct gb_message_input in;
	struct gb_input_error err = {0};

	cr_assert_eq(gb_message_from_json(body, len, &in, &err), -1,
		     "accepted: %s", body);
	cr_assert_eq(err.status, GB_INPUT_INVALID_JSON, "for %s", body);
	cr_assert_null(err.field);
	cr_assert_null(in.author);
}

static void assert_bad_field(const char *body, const char *field,
			     const char *why)
{
	struct gb_message_input in;
	struct gb_input_error err = {0};

	cr_assert_eq(parse(body, &in, &err), -1, "accepted: %s", body);
	cr_assert_eq(err.status, GB_INPUT_INVALID_FIELD, "for %s", body);
	if (field)
		cr_assert_str_eq(err.field, field, "for %s", body);
	else
		cr_assert_null(err.field, "for %s", body);
	cr_assert_str_eq(err.message, why, "for %s", body);
	cr_assert_null(in.author);
	cr_assert_null(in.message);
}

/* Prints `json` compactly, frees it and returns the text (caller frees). */
static char *print_and_free(cJSON *json)
{
	char *text;

	cr_assert_not_null(json);
	text = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	return text;
}

static void assert_prints(cJSON *json, const char *expected)
{
	char *text = print_and_free(json);

	cr_assert_str_eq(text, expected);
	cJSON_free(text);
}

Test(message_json, valid_body_yields_trimmed_fields)
{
	struct gb_message_input in;
	struct gb_input_error err = {0};

	cr_assert_eq(
	    parse("{\"author\":\" Ann \",\"message\":\"hi\\n\"}", &in, &err),
	    0);
	cr_assert_str_eq(in.author, "Ann");
	cr_assert_str_eq(in.message, "hi");
	gb_message_input_free(&in);
}

Test(message_json, html_is_kept_as_sent)
{
	struct gb_message_input in;
	struct gb_input_error err = {0};

	cr_assert_eq(parse("{\"author\":\"<b>Ann</b>\",\"message\":"
			   "\"<script>alert(1)</script> &amp;\"}",
			   &in, &err),
		     0);
	cr_assert_str_eq(in.author, "<b>Ann</b>");
	cr_assert_str_eq(in.message, "<script>alert(1)</script> &amp;");
	gb_message_input_free(&in);
}

Test(message_json, extra_members_are_ignored)
{
	struct gb_message_input in;
	struct gb_input_error err = {0};

	cr_assert_eq(parse("{\"id\":7,\"author\":\"A\",\"message\":\"m\","
			   "\"date\":1}",
			   &in, &err),
		     0);
	gb_message_input_free(&in);
}

Test(message_json, unicode_escapes_count_as_characters)
{
	char body[1024] = "{\"message\":\"m\",\"author\":\"";
	struct gb_message_input in;
	struct gb_input_error err = {0};

	for (int i = 0; i < 64; i++)
		strcat(body, "\\u00e9");
	strcat(body, "\"}");
	cr_assert_eq(parse(body, &in, &err), 0);
	cr_assert_eq(strlen(in.author), 128);
	gb_message_input_free(&in);

	body[strlen(body) - 2] = '\0';
	strcat(body, "\\u00e9\"}");
	assert_bad_field(body, "author", "author must be 1 to 64 characters");
}

Test(message_json, text_that_is_not_json_is_invalid_json)
{
	assert_bad_json("author=Ann&message=hi", 21);
	assert_bad_json("{\"author\":\"Ann\",", 16);
	assert_bad_json("{'author':'Ann'}", 16);
}

Test(message_json, empty_body_is_invalid_json)
{
	assert_bad_json("", 0);
	assert_bad_json("   ", 3);
}

Test(message_json, trailing_garbage_is_invalid_json)
{
	assert_bad_json("{\"author\":\"A\",\"message\":\"m\"} x", 30);
	assert_bad_json("{\"author\":\"A\",\"message\":\"m\"}{}", 30);
}

Test(message_json, raw_nul_byte_is_invalid_json)
{
	static const char body[] = "{\"author\":\"A\",\"message\":\"m\0x\"}";

	assert_bad_json(body, sizeof(body) - 1);
}

Test(message_json, lone_surrogate_escape_is_invalid_json)
{
	const char *body = "{\"author\":\"A\",\"message\":\"\\ud800\"}";

	assert_bad_json(body, strlen(body));
}

Test(message_json, non_object_is_invalid_field_without_field)
{
	const char *why =
	    "request body must be a JSON object with author and message";

	assert_bad_field("[]", NULL, why);
	assert_bad_field("\"Ann\"", NULL, why);
	assert_bad_field("42", NULL, why);
	assert_bad_field("null", NULL, why);
}

Test(message_json, missing_members_are_named)
{
	assert_bad_field("{}", "author", "author is required");
	assert_bad_field("{\"author\":\"A\"}", "message",
			 "message is required");
	assert_bad_field("{\"author\":null,\"message\":\"m\"}", "author",
			 "author is required");
}

Test(message_json, members_of_wrong_type_are_named)
{
	assert_bad_field("{\"author\":7,\"message\":\"m\"}", "author",
			 "author must be a string");
	assert_bad_field("{\"author\":\"A\",\"message\":[\"m\"]}", "message",
			 "message must be a string");
	assert_bad_field("{\"author\":true,\"message\":{}}", "author",
			 "author must be a string");
}

Test(message_json, member_names_are_case_sensitive)
{
	assert_bad_field("{\"Author\":\"A\",\"message\":\"m\"}", "author",
			 "author is required");
}

Test(message_json, escaped_nul_is_a_control_character_not_a_cut)
{
	assert_bad_field("{\"author\":\"Ann\\u0000Evil\",\"message\":\"m\"}",
			 "author",
			 "author must not contain control characters");
	assert_bad_field("{\"author\":\"A\",\"message\":\"m\\u0000\"}",
			 "message",
			 "message must not contain control characters other "
			 "than newline and tab");
}

Test(message_json, escaped_nul_in_a_member_name_does_not_match_it)
{
	assert_bad_field("{\"author\\u0000x\":\"A\",\"message\":\"m\"}",
			 "author", "author is required");
}

Test(message_json, escaped_backslash_before_u0000_is_plain_text)
{
	struct gb_message_input in;
	struct gb_input_error err = {0};

	cr_assert_eq(
	    parse("{\"author\":\"a\\\\u0000\",\"message\":\"m\"}", &in, &err),
	    0);
	cr_assert_str_eq(in.author, "a\\u0000");
	gb_message_input_free(&in);
}

Test(message_json, invalid_utf8_in_a_member_is_invalid_field)
{
	assert_bad_field("{\"author\":\"A\",\"message\":\"caf\xe9\"}",
			 "message", "message must be valid UTF-8");
}

/* Bodies that nest too deeply are refused before cJSON parses them (it
 * recurses once per level, on civetweb's small thread stacks). */
static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 1);

	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

Test(message_json, body_nested_past_the_limit_is_invalid_json)
{
	struct gb_message_input in;
	struct gb_input_error err;
	char *body = nested(GB_JSON_MAX_DEPTH + 1);

	cr_assert_eq(gb_message_from_json(body, strlen(body), &in, &err), -1);
	cr_assert_eq(err.status, GB_INPUT_INVALID_JSON);
	cr_assert_not_null(strstr(err.message, "deeply"), "%s", err.message);
	free(body);
}

Test(message_json, nesting_within_the_limit_still_parses)
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

Test(message_json, brackets_inside_strings_do_not_count)
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

Test(message_json, document_has_exactly_the_legacy_fields)
{
	struct gb_message_input in = {.author = "Ann", .message = "hi <b>"};

	assert_prints(gb_message_document(&in, 1732600000.5),
		      "{\"author\":\"Ann\",\"message\":\"hi <b>\","
		      "\"date\":1732600000.5}");
}

Test(message_json, document_date_is_kept_to_the_microsecond)
{
	struct gb_message_input in = {.author = "A", .message = "m"};

	assert_prints(gb_message_document(&in, 1732600000.1234567),
		      "{\"author\":\"A\",\"message\":\"m\","
		      "\"date\":1732600000.123457}");
}

Test(message_json, document_date_survives_printing_and_parsing)
{
	struct gb_message_input in = {.author = "A", .message = "m"};

	/* Values near a 5-decimal number: cJSON prints 15 digits for them. */
	for (int i = 0; i < 2000; i++) {
		double date = 1795676530.29350 + i * 0.0000001;
		cJSON *doc = gb_message_document(&in, date);
		double kept = cJSON_GetObjectItem(doc, "date")->valuedouble;
		char *text = cJSON_PrintUnformatted(doc);
		cJSON *back = cJSON_Parse(text);

		cr_assert_eq(cJSON_GetObjectItem(back, "date")->valuedouble,
			     kept, "%s lost precision", text);
		cJSON_free(text);
		cJSON_Delete(back);
		cJSON_Delete(doc);
	}
}

static cJSON *stored(const char *json)
{
	cJSON *doc = cJSON_Parse(json);

	cr_assert_not_null(doc, "bad fixture %s", json);
	return doc;
}

Test(message_json, v1_form_has_id_author_message_created_at)
{
	cJSON *doc = stored("{\"author\":\"Ann\",\"message\":\"hi\","
			    "\"date\":1732600000.123,\"id\":\"42\"}");

	assert_prints(gb_message_to_v1(doc),
		      "{\"id\":\"42\",\"author\":\"Ann\",\"message\":\"hi\","
		      "\"created_at\":\"2024-11-26T05:46:40.123Z\"}");
	cJSON_Delete(doc);
}

Test(message_json, v1_form_of_flask_document_keeps_escaped_text)
{
	/* The original sanitised on input and stored an integer-valued date
	 * when the clock was at a whole second. */
	cJSON *doc = stored("{\"author\":\"&lt;b&gt;Ann\",\"message\":"
			    "\"a &amp; b\",\"date\":1732600000,"
			    "\"id\":\"674560c0aa\"}");

	assert_prints(gb_message_to_v1(doc),
		      "{\"id\":\"674560c0aa\",\"author\":\"&lt;b&gt;Ann\","
		      "\"message\":\"a &amp; b\","
		      "\"created_at\":\"2024-11-26T05:46:40.000Z\"}");
	cJSON_Delete(doc);
}

Test(message_json, malformed_documents_have_no_v1_form)
{
	const char *bad[] = {
	    "{\"author\":\"A\",\"message\":\"m\",\"date\":1}",
	    "{\"id\":1,\"author\":\"A\",\"message\":\"m\",\"date\":1}",
	    "{\"id\":\"1\",\"message\":\"m\",\"date\":1}",
	    "{\"id\":\"1\",\"author\":\"A\",\"date\":1}",
	    "{\"id\":\"1\",\"author\":\"A\",\"message\":\"m\"}",
	    "{\"id\":\"1\",\"author\":\"A\",\"message\":\"m\","
	    "\"date\":\"yesterday\"}",
	    "{\"id\":\"1\",\"author\":\"A\",\"message\":\"m\",\"date\":1e300}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *doc = stored(bad[i]);

		cr_assert_null(gb_message_to_v1(doc), "converted %s", bad[i]);
		cJSON_Delete(doc);
	}
}

Test(message_json, legacy_form_has_sorted_keys_and_no_id)
{
	cJSON *doc =
	    stored("{\"message\":\"hi\",\"id\":\"9\",\"author\":\"Ann\","
		   "\"date\":1732600000.123456}");

	assert_prints(gb_message_to_legacy(doc),
		      "{\"author\":\"Ann\",\"date\":1732600000.123456,"
		      "\"message\":\"hi\"}");
	cJSON_Delete(doc);
}

Test(message_json, legacy_form_keeps_the_date_fraction)
{
	cJSON *doc = stored("{\"author\":\"A\",\"message\":\"m\","
			    "\"date\":1764136800.0001}");

	assert_prints(gb_message_to_legacy(doc),
		      "{\"author\":\"A\",\"date\":1764136800.0001,"
		      "\"message\":\"m\"}");
	cJSON_Delete(doc);
}

Test(message_json, legacy_form_of_integer_date_prints_as_python_float)
{
	cJSON *doc = stored("{\"author\":\"A\",\"message\":\"m\","
			    "\"date\":1732600000}");

	assert_prints(gb_message_to_legacy(doc),
		      "{\"author\":\"A\",\"date\":1732600000.0,"
		      "\"message\":\"m\"}");
	cJSON_Delete(doc);
}

Test(message_json, legacy_form_needs_strings_and_a_numeric_date)
{
	cJSON *doc = stored("{\"author\":\"A\",\"message\":\"m\"}");

	cr_assert_null(gb_message_to_legacy(doc));
	cJSON_Delete(doc);
	doc = stored("{\"author\":1,\"message\":\"m\",\"date\":1}");
	cr_assert_null(gb_message_to_legacy(doc));
	cJSON_Delete(doc);
}
