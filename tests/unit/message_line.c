/*
 * message_line.c - the export format: SHA-256, RFC 3339 with
 * microseconds both ways, message lines and their content keys.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "message_line.h"
#include "sha256.h"

static void assert_sha256(const char *data, size_t len, const char *want)
{
	struct gb_sha256 c;
	char hex[65];

	gb_sha256_init(&c);
	/* in two pieces: update must not care where the cuts are */
	gb_sha256_update(&c, data, len / 3);
	gb_sha256_update(&c, data + len / 3, len - len / 3);
	gb_sha256_hex(&c, hex);
	cr_assert_str_eq(hex, want, "for %zu bytes", len);
}

Test(sha256, fips_180_vectors)
{
	static char million[1000000];

	assert_sha256("", 0,
		      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b93"
		      "4ca495991b7852b855");
	assert_sha256("abc", 3,
		      "ba7816bf8f01cfea414140de5dae2223b00361a39617"
		      "7a9cb410ff61f20015ad");
	/* 56 bytes: the length no longer fits in the first block */
	assert_sha256(
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6"
	    "ecedd419db06c1");
	memset(million, 'a', sizeof million);
	assert_sha256(million, sizeof million,
		      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d"
		      "39ccc7112cd0");
}

static int64_t parse(const char *s)
{
	int64_t us = 0;

	cr_assert_eq(gb_parse_rfc3339_us(s, strlen(s), &us), 0, "%s", s);
	return us;
}

static void assert_unparsable(const char *s)
{
	int64_t us;

	cr_assert_eq(gb_parse_rfc3339_us(s, strlen(s), &us), -1, "%s", s);
}

Test(rfc3339_us, parses_utc_offsets_and_fractions)
{
	cr_assert_eq(parse("1970-01-01T00:00:00Z"), 0);
	cr_assert_eq(parse("1970-01-01t00:00:01z"), 1000000);
	cr_assert_eq(parse("2026-11-26T06:00:00.123456Z"),
		     1795672800LL * 1000000 + 123456);
	cr_assert_eq(parse("2026-11-26T07:00:00.123456+01:00"),
		     parse("2026-11-26T06:00:00.123456Z"));
	cr_assert_eq(parse("2026-11-26T05:30:00-00:30"),
		     parse("2026-11-26T06:00:00Z"));
	cr_assert_eq(parse("2026-11-26T06:00:00.1Z"),
		     parse("2026-11-26T06:00:00Z") + 100000);
	/* more than microseconds: rounded half up */
	cr_assert_eq(parse("2026-11-26T06:00:00.0000004Z"),
		     parse("2026-11-26T06:00:00Z"));
	cr_assert_eq(parse("2026-11-26T06:00:00.0000005Z"),
		     parse("2026-11-26T06:00:00Z") + 1);
	cr_assert_eq(parse("2024-02-29T00:00:00Z"),
		     parse("2024-03-01T00:00:00Z") - 86400000000LL);
	cr_assert_eq(parse("1969-12-31T23:59:59.5Z"), -500000);
	cr_assert_eq(parse("0000-01-01T00:00:00Z"), -62167219200000000LL);
	cr_assert_eq(parse("9999-12-31T23:59:59.999999Z"),
		     253402300799999999LL);
}

Test(rfc3339_us, refuses_what_is_not_a_time)
{
	static const char *const bad[] = {
	    "",
	    "2026-11-26",
	    "2026-11-26T06:00:00",
	    "2026-11-26 06:00:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-02-29T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-11-26T24:00:00Z",
	    "2026-11-26T06:60:00Z",
	    "2026-11-26T06:00:61Z",
	    "2026-11-26T06:00:00.Z",
	    "2026-11-26T06:00:00.1234567890Z",
	    "2026-11-26T06:00:00Zjunk",
	    "2026-11-26T06:00:00+0100",
	    "2026-11-26T06:00:00+24:00",
	    "+2026-11-26T06:00:00Z",
	    "20261-11-26T06:00:00Z",
	    "0000-01-01T00:00:00+00:01",
	    "9999-12-31T23:59:59-00:01",
	};

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_unparsable(bad[i]);
}

Test(rfc3339_us, format_and_parse_agree_to_the_microsecond)
{
	static const int64_t samples[] = {0,
					  1,
					  999999,
					  1764136800123456LL,
					  -1,
					  7258118400123456LL /* 2200 */,
					  -5000000000123456LL /* 1811 */};
	char out[GB_RFC3339_MAX];

	for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
		cr_assert_eq(
		    gb_format_rfc3339_us((double)samples[i] / 1e6, out), 0);
		cr_assert_eq(parse(out), samples[i], "%s", out);
	}
	cr_assert_eq(gb_format_rfc3339_us(1764136800.1234567, out), 0);
	cr_assert_str_eq(out, "2025-11-26T06:00:00.123457Z");
}

static cJSON *line_doc(const char *line)
{
	struct gb_input_error err = {0};
	cJSON *doc = gb_line_to_doc(line, strlen(line), &err);

	cr_assert_not_null(doc, "%s: %s", line, err.message);
	return doc;
}

static const char *key_of(const cJSON *doc)
{
	return cJSON_GetObjectItem(doc, "import_key")->valuestring;
}

Test(message_line, a_line_becomes_the_document_the_api_would_store)
{
	cJSON *doc =
	    line_doc("{\"id\":\"42\",\"author\":\"  Ada \",\"message\":"
		     "\"a\\r\\nb\",\"created_at\":"
		     "\"2026-11-26T06:00:00.123456Z\"}");

	cr_assert_str_eq(cJSON_GetObjectItem(doc, "author")->valuestring,
			 "Ada");
	cr_assert_str_eq(cJSON_GetObjectItem(doc, "message")->valuestring,
			 "a\nb");
	cr_assert_eq(cJSON_GetObjectItem(doc, "date")->valuedouble,
		     1795672800.123456);
	cr_assert_null(cJSON_GetObjectItem(doc, "id"));
	cr_assert_eq(strlen(key_of(doc)), GB_IMPORT_KEY_MAX - 1);
	cJSON_Delete(doc);
}

Test(message_line, content_keys_follow_the_content_not_the_id)
{
	cJSON *a =
	    line_doc("{\"id\":\"1\",\"author\":\"Ada\",\"message\":\"hi\","
		     "\"created_at\":\"2026-11-26T06:00:00Z\"}");
	/* another store's id, spaces the API trims, the same instant */
	cJSON *b = line_doc("{\"id\":\"65a1b2c3d4e5f60718293a4b\",\"author\":"
			    "\" Ada\",\"message\":\"hi \",\"created_at\":"
			    "\"2026-11-26T07:00:00+01:00\"}");
	cJSON *c = line_doc("{\"author\":\"Ada\",\"message\":\"hi\","
			    "\"created_at\":\"2026-11-26T06:00:00.000001Z\"}");
	cJSON *d = line_doc("{\"author\":\"Ada\",\"message\":\"hi!\","
			    "\"created_at\":\"2026-11-26T06:00:00Z\"}");

	cr_assert_str_eq(key_of(a), key_of(b));
	cr_assert_str_neq(key_of(a), key_of(c));
	cr_assert_str_neq(key_of(a), key_of(d));
	/* keys sort by time: an import appends to a store's index */
	cr_assert_lt(strcmp(key_of(a), key_of(c)), 0);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
}

Test(message_line, export_line_of_a_stored_document)
{
	cJSON *doc =
	    cJSON_Parse("{\"id\":\"7\",\"date\":1764136800.5,\"author\":"
			"\"Bob\",\"message\":\"\\\"q\\\" \\u00e9\","
			"\"import_key\":\"x\"}");
	const char *why = NULL;
	char *line = gb_line_from_doc(doc, &why);

	cr_assert_str_eq(line, "{\"id\":\"7\",\"author\":\"Bob\",\"message\":"
			       "\"\\\"q\\\" \xc3\xa9\",\"created_at\":"
			       "\"2025-11-26T06:00:00.500000Z\"}");
	free(line);
	cJSON_Delete(doc);

	doc = cJSON_Parse("{\"id\":\"8\",\"author\":\"Bob\",\"message\":\"m\","
			  "\"date\":1e300}");
	cr_assert_null(gb_line_from_doc(doc, &why));
	cr_assert(strstr(why, "date"));
	cJSON_Delete(doc);
}

Test(message_line, header)
{
	const char *why = NULL;
	const char *h = gb_line_header();

	cr_assert_eq(gb_line_check_header(h, strlen(h), &why), 0);
	const char *frac = "{\"format\":\"guestbookd-export\",\"version\":1.5}";
	const char *other = "{\"format\":\"guestbookd-export\",\"version\":1,"
			    "\"collection\":\"x\"}";

	cr_assert_eq(gb_line_check_header(frac, strlen(frac), &why), -1);
	cr_assert(strstr(why, "version"));
	cr_assert_eq(gb_line_check_header(other, strlen(other), &why), -1);
	cr_assert(strstr(why, "collection"));
}
