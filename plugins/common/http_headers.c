/*
 * http_headers.c - entity tags, media types and bearer tokens.
 */
#include "http_headers.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

uint64_t gb_fnv1a64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void gb_etag_of(const void *body, size_t len, char out[GB_ETAG_MAX])
{
	snprintf(out, GB_ETAG_MAX, "\"%016llx\"",
		 (unsigned long long)gb_fnv1a64(body, len));
}

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int gb_if_none_match(const char *header, const char *etag)
{
	const char *p = header;
	size_t etag_len = strlen(etag);

	if (!p)
		return 0;
	for (;;) {
		const char *open, *close;

		p = skip_spaces(p);
		while (*p == ',')
			p = skip_spaces(p + 1);
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return 0;
		open = p;
		close = strchr(open + 1, '"');
		if (!close)
			return 0;
		if ((size_t)(close - open + 1) == etag_len &&
		    memcmp(open, etag, etag_len) == 0)
			return 1;
		p = skip_spaces(close + 1);
		if (*p != ',' && *p != '\0')
			return 0;
	}
}

int gb_media_type_is(const char *content_type, const char *media_type)
{
	const char *p, *end;
	size_t n = strlen(media_type);

	if (!content_type)
		return 0;
	p = skip_spaces(content_type);
	end = p;
	while (*end && *end != ';' && *end != ' ' && *end != '\t')
		end++;
	if ((size_t)(end - p) != n || strncasecmp(p, media_type, n) != 0)
		return 0;
	end = skip_spaces(end);
	return *end == '\0' || *end == ';';
}

int gb_bearer_matches(const char *authorization, const char *expected)
{
	const char *given;
	size_t given_len, expected_len;
	unsigned char diff;

	if (!authorization || !expected || !*expected)
		return 0;
	if (strncasecmp(authorization, "Bearer ", 7) != 0)
		return 0;
	given = skip_spaces(authorization + 7);
	given_len = strlen(given);
	while (given_len > 0 &&
	       (given[given_len - 1] == ' ' || given[given_len - 1] == '\t'))
		given_len--;
	expected_len = strlen(expected);
	diff = given_len != expected_len;
	/* Time depends on the given length only, never on where it differs. */
	for (size_t i = 0; i < given_len; i++)
		diff |= (unsigned char)given[i] ^
			(unsigned char)expected[i % expected_len];
	return diff == 0;
}
