/*
 * message_http_headers.c - the header logic behind the message API:
 * ETag and If-None-Match, Content-Type, bearer tokens.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "http_headers.h"

Test(http_headers, fnv1a64_matches_the_reference_values)
{
	cr_assert_eq(gb_fnv1a64("", 0), 0xcbf29ce484222325ULL);
	cr_assert_eq(gb_fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
}

Test(http_headers, etag_is_quoted_hex_of_the_body)
{
	char etag[GB_ETAG_MAX];

	gb_etag_of("a", 1, etag);
	cr_assert_str_eq(etag, "\"af63dc4c8601ec8c\"");
}

Test(http_headers, etag_changes_with_the_body)
{
	char a[GB_ETAG_MAX], b[GB_ETAG_MAX];

	gb_etag_of("{\"messages\":[]}", 15, a);
	gb_etag_of("{\"messages\":[1]}", 16, b);
	cr_assert_str_neq(a, b);
}

#define TAG "\"af63dc4c8601ec8c\""

Test(http_headers, if_none_match_equal_tag_matches)
{
	cr_assert(gb_if_none_match(TAG, TAG));
}

Test(http_headers, if_none_match_weak_tag_matches)
{
	cr_assert(gb_if_none_match("W/" TAG, TAG));
}

Test(http_headers, if_none_match_list_matches_any_member)
{
	cr_assert(gb_if_none_match("\"x\", W/\"y\" ," TAG, TAG));
	cr_assert(gb_if_none_match(TAG ",\"x\"", TAG));
	cr_assert(gb_if_none_match(" , " TAG, TAG));
}

Test(http_headers, if_none_match_star_matches)
{
	cr_assert(gb_if_none_match("*", TAG));
	cr_assert(gb_if_none_match(" * ", TAG));
}

Test(http_headers, if_none_match_other_tags_do_not_match)
{
	cr_assert_not(gb_if_none_match(NULL, TAG));
	cr_assert_not(gb_if_none_match("", TAG));
	cr_assert_not(gb_if_none_match("\"af63dc4c8601ec8d\"", TAG));
	cr_assert_not(gb_if_none_match("\"x\", \"y\"", TAG));
	/* unquoted or prefixed differently: not our tag */
	cr_assert_not(gb_if_none_match("af63dc4c8601ec8c", TAG));
	cr_assert_not(gb_if_none_match("w/" TAG, TAG));
	cr_assert_not(gb_if_none_match("\"af63dc4c8601ec8c", TAG));
}

Test(http_headers, json_media_type_with_parameters_is_json)
{
	cr_assert(gb_media_type_is("application/json", "application/json"));
	cr_assert(gb_media_type_is("Application/JSON", "application/json"));
	cr_assert(gb_media_type_is("application/json; charset=utf-8",
				   "application/json"));
	cr_assert(gb_media_type_is(" application/json ;charset=UTF-8",
				   "application/json"));
}

Test(http_headers, other_media_types_are_not_json)
{
	cr_assert_not(gb_media_type_is(NULL, "application/json"));
	cr_assert_not(gb_media_type_is("", "application/json"));
	cr_assert_not(gb_media_type_is("text/plain", "application/json"));
	cr_assert_not(
	    gb_media_type_is("application/jsonp", "application/json"));
	cr_assert_not(gb_media_type_is("application/x-www-form-urlencoded",
				       "application/json"));
	cr_assert_not(
	    gb_media_type_is("application/json x", "application/json"));
}

Test(http_headers, bearer_with_the_right_token_matches)
{
	cr_assert(gb_bearer_matches("Bearer s3cret", "s3cret"));
	cr_assert(gb_bearer_matches("bearer s3cret", "s3cret"));
	cr_assert(gb_bearer_matches("Bearer   s3cret  ", "s3cret"));
}

Test(http_headers, bearer_with_another_token_does_not_match)
{
	cr_assert_not(gb_bearer_matches("Bearer s3cre", "s3cret"));
	cr_assert_not(gb_bearer_matches("Bearer s3cret2", "s3cret"));
	cr_assert_not(gb_bearer_matches("Bearer S3CRET", "s3cret"));
	cr_assert_not(gb_bearer_matches("Bearer ", "s3cret"));
	cr_assert_not(gb_bearer_matches("Bearers3cret", "s3cret"));
	cr_assert_not(gb_bearer_matches("Basic czNjcmV0", "s3cret"));
	cr_assert_not(gb_bearer_matches(NULL, "s3cret"));
}

Test(http_headers, no_expected_token_matches_nothing)
{
	cr_assert_not(gb_bearer_matches("Bearer ", ""));
	cr_assert_not(gb_bearer_matches("Bearer x", NULL));
}
