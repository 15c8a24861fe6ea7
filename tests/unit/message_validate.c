/*
 * message_validate.c - the validation rules of the README ("Validation") as a
 * client meets them: lengths in characters, trimming, control characters
 * and UTF-8.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

/* `unit` repeated n times, in a static buffer. */
static const char *repeat(const char *unit, size_t n)
{
	static char buf[8192];
	size_t len = strlen(unit);

	cr_assert_lt(len * n, sizeof(buf));
	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * len, unit, len);
	buf[len * n] = '\0';
	return buf;
}

/* Validates NUL-terminated text as `field`; returns 0 or -1, *out set. */
static int check(const char *field, const char *text, char **out,
		 struct gb_input_error *err)
{
	return gb_message_validate_field(field, text, strlen(text), out, err);
}

static void assert_accepted(const char *field, const char *text,
			    const char *stored)
{
	struct gb_input_error err = {0};
	char *out = NULL;

	cr_assert_eq(check(field, text, &out, &err), 0, "%s \"%s\" refused: %s",
		     field, text, err.message ? err.message : "?");
	cr_assert_str_eq(out, stored);
	free(out);
}

static void assert_refused(const char *field, const char *text, const char *why)
{
	struct gb_input_error err = {0};
	char *out = NULL;

	cr_assert_eq(check(field, text, &out, &err), -1, "%s \"%s\" accepted",
		     field, text);
	cr_assert_null(out);
	cr_assert_eq(err.status, GB_INPUT_INVALID_FIELD);
	cr_assert_str_eq(err.field, field);
	cr_assert_str_eq(err.message, why);
}

#define AUTHOR_LENGTH  "author must be 1 to 64 characters"
#define MESSAGE_LENGTH "message must be 1 to 1000 characters"
#define AUTHOR_UTF8    "author must be valid UTF-8"
#define MESSAGE_UTF8   "message must be valid UTF-8"
#define AUTHOR_CONTROL "author must not contain control characters"
#define MESSAGE_CONTROL                                                        \
	"message must not contain control characters other than newline and "  \
	"tab"

Test(message_validate, plain_author_is_accepted_as_sent)
{
	assert_accepted("author", "Ann", "Ann");
	assert_accepted("author", "<b>Ann</b> & co", "<b>Ann</b> & co");
}

Test(message_validate, surrounding_whitespace_is_trimmed)
{
	assert_accepted("author", "  \t Ann Lee \r\n", "Ann Lee");
	assert_accepted("message", "\n\n hello\n world \t\n", "hello\n world");
}

Test(message_validate, unicode_spaces_are_trimmed)
{
	/* NO-BREAK SPACE, IDEOGRAPHIC SPACE, EN QUAD, LINE SEPARATOR */
	assert_accepted("author",
			"\xc2\xa0"
			"Ann\xe3\x80\x80",
			"Ann");
	assert_accepted("message", "\xe2\x80\x80hi\xe2\x80\xa8", "hi");
}

Test(message_validate, interior_spaces_are_kept)
{
	assert_accepted("author", "Ann \xc2\xa0 Lee", "Ann \xc2\xa0 Lee");
}

Test(message_validate, empty_author_is_refused)
{
	assert_refused("author", "", AUTHOR_LENGTH);
}

Test(message_validate, whitespace_only_author_is_refused)
{
	assert_refused("author", "  \t\n ", AUTHOR_LENGTH);
	assert_refused("author", "\xc2\xa0\xe3\x80\x80", AUTHOR_LENGTH);
}

Test(message_validate, whitespace_only_message_is_refused)
{
	assert_refused("message", "\n\n\t ", MESSAGE_LENGTH);
}

Test(message_validate, author_of_64_two_byte_characters_is_accepted)
{
	const char *text = repeat("\xc3\xa9", 64); /* é: 128 bytes */

	assert_accepted("author", text, text);
}

Test(message_validate, author_of_65_two_byte_characters_is_refused)
{
	assert_refused("author", repeat("\xc3\xa9", 65), AUTHOR_LENGTH);
}

Test(message_validate, author_of_64_four_byte_characters_is_accepted)
{
	const char *text = repeat("\xf0\x9f\x98\x80", 64); /* 256 bytes */

	assert_accepted("author", text, text);
}

Test(message_validate, author_of_65_four_byte_characters_is_refused)
{
	assert_refused("author", repeat("\xf0\x9f\x98\x80", 65), AUTHOR_LENGTH);
}

Test(message_validate, author_of_65_ascii_characters_is_refused)
{
	assert_refused("author", repeat("a", 65), AUTHOR_LENGTH);
}

Test(message_validate, padding_does_not_count_against_the_limit)
{
	char text[200];

	snprintf(text, sizeof(text), "   %s   ", repeat("a", 64));
	assert_accepted("author", text, repeat("a", 64));
}

Test(message_validate, message_of_1000_three_byte_characters_is_accepted)
{
	const char *text = repeat("\xe6\x97\xa5", 1000); /* 日 */

	assert_accepted("message", text, text);
}

Test(message_validate, message_of_1001_three_byte_characters_is_refused)
{
	assert_refused("message", repeat("\xe6\x97\xa5", 1001), MESSAGE_LENGTH);
}

Test(message_validate, newline_and_tab_are_allowed_in_message)
{
	assert_accepted("message", "line one\nline\ttwo",
			"line one\nline\ttwo");
}

Test(message_validate, crlf_in_message_is_stored_as_lf)
{
	assert_accepted("message", "one\r\ntwo\r\n\r\nthree",
			"one\ntwo\n\nthree");
}

Test(message_validate, crlf_counts_as_one_character)
{
	char text[1100];
	char *out = NULL;
	struct gb_input_error err = {0};

	/* 998 + CR LF + 1: 1001 code points sent, 1000 characters meant. */
	snprintf(text, sizeof(text), "%s\r\ny", repeat("x", 998));
	cr_assert_eq(check("message", text, &out, &err), 0, "%s",
		     err.message ? err.message : "?");
	cr_assert_eq(strlen(out), 1000);
	cr_assert_eq(out[998], '\n');
	free(out);
}

Test(message_validate, lone_carriage_return_in_message_is_refused)
{
	assert_refused("message", "one\rtwo", MESSAGE_CONTROL);
}

Test(message_validate, newline_tab_or_crlf_in_author_is_refused)
{
	assert_refused("author", "Ann\nLee", AUTHOR_CONTROL);
	assert_refused("author", "Ann\tLee", AUTHOR_CONTROL);
	assert_refused("author", "Ann\r\nLee", AUTHOR_CONTROL);
}

Test(message_validate, control_characters_are_refused)
{
	assert_refused("message", "bell\x07", MESSAGE_CONTROL);
	assert_refused("message", "esc\x1b[31m", MESSAGE_CONTROL);
	assert_refused("message", "del\x7f", MESSAGE_CONTROL);
	assert_refused("author", "a\x01", AUTHOR_CONTROL);
}

Test(message_validate, c1_control_characters_are_refused)
{
	assert_refused("message", "a\xc2\x80z", MESSAGE_CONTROL); /* U+0080 */
	assert_refused("message", "a\xc2\x85z", MESSAGE_CONTROL); /* NEL */
	assert_refused("author", "a\xc2\x9fz", AUTHOR_CONTROL);	  /* U+009F */
}

Test(message_validate, embedded_nul_is_refused)
{
	struct gb_input_error err = {0};
	char *out = NULL;

	cr_assert_eq(
	    gb_message_validate_field("message", "ab\0cd", 5, &out, &err), -1);
	cr_assert_null(out);
	cr_assert_str_eq(err.message, MESSAGE_CONTROL);
}

Test(message_validate, overlong_encodings_are_refused)
{
	assert_refused("author", "a\xc0\xaf", AUTHOR_UTF8);
	assert_refused("author", "a\xc1\xbf", AUTHOR_UTF8);
	assert_refused("author", "a\xe0\x80\xaf", AUTHOR_UTF8);
	assert_refused("author", "a\xe0\x9f\xbf", AUTHOR_UTF8);
	assert_refused("author", "a\xf0\x80\x80\xaf", AUTHOR_UTF8);
	assert_refused("author", "a\xf0\x8f\xbf\xbf", AUTHOR_UTF8);
}

Test(message_validate, surrogates_are_refused)
{
	assert_refused("message", "a\xed\xa0\x80z", MESSAGE_UTF8); /* D800 */
	assert_refused("message", "a\xed\xbf\xbfz", MESSAGE_UTF8); /* DFFF */
	/* a CESU-8 pair for U+1F600 */
	assert_refused("message", "\xed\xa0\xbd\xed\xb8\x80", MESSAGE_UTF8);
}

Test(message_validate, code_points_above_10ffff_are_refused)
{
	assert_refused("message", "\xf4\x90\x80\x80", MESSAGE_UTF8);
	assert_refused("message", "\xf5\x80\x80\x80", MESSAGE_UTF8);
	assert_refused("message", "\xf7\xbf\xbf\xbf", MESSAGE_UTF8);
}

Test(message_validate, truncated_sequences_are_refused)
{
	assert_refused("message", "euro \xe2\x82", MESSAGE_UTF8);
	assert_refused("message", "euro \xe2\x82 sign", MESSAGE_UTF8);
	assert_refused("message", "\xf0\x9f\x98", MESSAGE_UTF8);
	assert_refused("message", "\xc3", MESSAGE_UTF8);
}

Test(message_validate, stray_bytes_are_refused)
{
	assert_refused("message", "a\x80z", MESSAGE_UTF8); /* continuation */
	assert_refused("message", "a\xbfz", MESSAGE_UTF8);
	assert_refused("message", "a\xfez", MESSAGE_UTF8);
	assert_refused("message", "a\xffz", MESSAGE_UTF8);
	assert_refused("message", "latin1 caf\xe9", MESSAGE_UTF8);
}

Test(message_validate, invalid_utf8_in_trimmed_padding_is_still_refused)
{
	assert_refused("author", "Ann \xff", AUTHOR_UTF8);
}

Test(message_validate, boundary_code_points_are_accepted)
{
	assert_accepted("message", "\xed\x9f\xbf", "\xed\x9f\xbf"); /* D7FF */
	assert_accepted("message", "\xee\x80\x80", "\xee\x80\x80"); /* E000 */
	assert_accepted("message", "\xef\xbf\xbd", "\xef\xbf\xbd"); /* FFFD */
	assert_accepted("message", "\xf0\x90\x80\x80",
			"\xf0\x90\x80\x80"); /* 10000 */
	assert_accepted("message", "\xf4\x8f\xbf\xbf",
			"\xf4\x8f\xbf\xbf");		    /* 10FFFF */
	assert_accepted("message", "\xc2\xa1", "\xc2\xa1"); /* first after C1 */
}

Test(message_validate, both_fields_are_checked_author_first)
{
	struct gb_message_input in;
	struct gb_input_error err = {0};

	cr_assert_eq(gb_message_validate("", 0, "", 0, &in, &err), -1);
	cr_assert_str_eq(err.field, "author");
	cr_assert_null(in.author);
	cr_assert_null(in.message);

	cr_assert_eq(gb_message_validate("Ann", 3, "a\x01", 2, &in, &err), -1);
	cr_assert_str_eq(err.field, "message");
	cr_assert_str_eq(err.message, MESSAGE_CONTROL);
	cr_assert_null(in.author);
}

Test(message_validate, valid_pair_is_returned_trimmed)
{
	struct gb_message_input in;
	struct gb_input_error err = {0};

	cr_assert_eq(gb_message_validate(" Ann ", 5, " hi\n", 4, &in, &err), 0);
	cr_assert_str_eq(in.author, "Ann");
	cr_assert_str_eq(in.message, "hi");
	gb_message_input_free(&in);
	cr_assert_null(in.author);
	gb_message_input_free(&in); /* twice is harmless */
}
