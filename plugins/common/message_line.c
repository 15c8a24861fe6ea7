#include "message_line.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sha256.h"

#define US_PER_S 1000000LL

static const char header[] = "{\"format\":\"" GB_EXPORT_FORMAT
			     "\",\"version\":1,\"collection\":\"messages\"}";

const char *gb_line_header(void)
{
	return header;
}

int gb_line_check_header(const char *line, size_t len, const char **why)
{
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
	const cJSON *version =
	    cJSON_GetObjectItemCaseSensitive(root, "version");
	const cJSON *coll =
	    cJSON_GetObjectItemCaseSensitive(root, "collection");
	int rc = -1;

	if (!cJSON_IsObject(root) || !cJSON_IsString(format) ||
	    strcmp(format->valuestring, GB_EXPORT_FORMAT) != 0)
		*why =
		    "the first line is not a guestbookd export header "
		    "({\"format\":\"" GB_EXPORT_FORMAT "\",\"version\":1,...})";
	else if (!cJSON_IsNumber(version) || version->valuedouble < 1 ||
		 version->valuedouble != floor(version->valuedouble))
		*why = "the header's version is not a positive integer";
	else if (version->valuedouble > GB_EXPORT_VERSION)
		*why = "the file was written by a newer guestbookd (format "
		       "version above 1): import it with that version";
	else if (coll && (!cJSON_IsString(coll) ||
			  strcmp(coll->valuestring, "messages") != 0))
		*why = "the header names a collection other than \"messages\"";
	else
		rc = 0;
	cJSON_Delete(root);
	return rc;
}

/* ---- times ----------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The first and one past the last microsecond of years 0000..9999. */
#define RFC3339_MIN_US (days_from_civil(0, 1, 1) * 86400 * US_PER_S)
#define RFC3339_END_US (days_from_civil(10000, 1, 1) * 86400 * US_PER_S)

/* Reads n digits at s[*i]; -1 if any is not a digit. */
static int digits(const char *s, size_t len, size_t *i, int n)
{
	int v = 0;

	if (*i + (size_t)n > len)
		return -1;
	for (int k = 0; k < n; k++) {
		char c = s[(*i)++];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	return v;
}

static int expect(const char *s, size_t len, size_t *i, const char *one_of)
{
	if (*i >= len || !strchr(one_of, s[*i]) || s[*i] == '\0')
		return -1;
	(*i)++;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* The fraction after '.': microseconds, rounded half up on digit 7. */
static int fraction_us(const char *s, size_t len, size_t *i, int64_t *us)
{
	int n = 0, round_up = 0;

	*us = 0;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		if (n < 6)
			*us = *us * 10 + (s[*i] - '0');
		else if (n == 6)
			round_up = s[*i] >= '5';
		n++;
		(*i)++;
	}
	if (n == 0 || n > 9)
		return -1;
	for (int k = n; k < 6; k++)
		*us *= 10;
	*us += round_up;
	return 0;
}

int gb_parse_rfc3339_us(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t us = 0, total;

	y = digits(s, len, &i, 4);
	if (y < 0 || expect(s, len, &i, "-") ||
	    (mo = digits(s, len, &i, 2)) < 1 || mo > 12 ||
	    expect(s, len, &i, "-") || (d = digits(s, len, &i, 2)) < 1 ||
	    d > days_in_month(y, mo) || expect(s, len, &i, "Tt") ||
	    (h = digits(s, len, &i, 2)) < 0 || h > 23 ||
	    expect(s, len, &i, ":") || (mi = digits(s, len, &i, 2)) < 0 ||
	    mi > 59 || expect(s, len, &i, ":") ||
	    (sec = digits(s, len, &i, 2)) < 0 || sec > 60)
		return -1;
	if (i < len && s[i] == '.') {
		i++;
		if (fraction_us(s, len, &i, &us) < 0)
			return -1;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i++] == '+' ? 1 : -1;
		if ((oh = digits(s, len, &i, 2)) < 0 || oh > 23 ||
		    expect(s, len, &i, ":") ||
		    (om = digits(s, len, &i, 2)) < 0 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	total = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
	total -= sign * (oh * 3600 + om * 60);
	total = total * US_PER_S + us;
	if (total < RFC3339_MIN_US || total >= RFC3339_END_US)
		return -1;
	*out = total;
	return 0;
}

/* ---- lines ----------------------------------------------------------- */

char *gb_line_from_doc(const cJSON *doc, const char **why)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	const cJSON *author = cJSON_GetObjectItemCaseSensitive(doc, "author");
	const cJSON *message = cJSON_GetObjectItemCaseSensitive(doc, "message");
	const cJSON *date = cJSON_GetObjectItemCaseSensitive(doc, "date");
	char created_at[GB_RFC3339_MAX];
	cJSON *line;
	char *text;

	if (!cJSON_IsString(id) || !cJSON_IsString(author) ||
	    !cJSON_IsString(message)) {
		*why = "it lacks a string id, author or message";
		return NULL;
	}
	if (!cJSON_IsNumber(date) ||
	    gb_format_rfc3339_us(date->valuedouble, created_at) != 0) {
		*why = "its date is not a number of seconds within years "
		       "0..9999";
		return NULL;
	}
	*why = "out of memory";
	line = cJSON_CreateObject();
	if (!line || !cJSON_AddStringToObject(line, "id", id->valuestring) ||
	    !cJSON_AddStringToObject(line, "author", author->valuestring) ||
	    !cJSON_AddStringToObject(line, "message", message->valuestring) ||
	    !cJSON_AddStringToObject(line, "created_at", created_at)) {
		cJSON_Delete(line);
		return NULL;
	}
	text = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	return text;
}

static void line_error(struct gb_input_error *err, const char *field,
		       const char *message)
{
	err->status = GB_INPUT_INVALID_FIELD;
	err->field = field;
	err->message = message;
}

/*
 * The time as 16 hex digits (microseconds from year 0, so it sorts), then
 * the first 128 bits of the SHA-256 of a version tag, author, message and
 * the microsecond. The time first keeps a store's index of keys in
 * roughly the order messages arrive: an import appends to it instead of
 * touching a random page per message.
 */
static void content_key(const char *author, const char *message, int64_t us,
			char key[GB_IMPORT_KEY_MAX])
{
	static const char tag[] = "guestbookd import key 1";
	struct gb_sha256 c;
	char when[24], hex[65];
	int n = snprintf(when, sizeof(when), "%lld", (long long)us);

	gb_sha256_init(&c);
	/* the NULs separate: validated text holds no control characters */
	gb_sha256_update(&c, tag, sizeof(tag));
	gb_sha256_update(&c, author, strlen(author) + 1);
	gb_sha256_update(&c, message, strlen(message) + 1);
	gb_sha256_update(&c, when, (size_t)n);
	gb_sha256_hex(&c, hex);
	snprintf(key, GB_IMPORT_KEY_MAX, "%016llx%.32s",
		 (unsigned long long)(us - RFC3339_MIN_US), hex);
}

cJSON *gb_line_to_doc(const char *line, size_t len, struct gb_input_error *err)
{
	struct gb_message_input in = {NULL, NULL};
	const cJSON *created_at, *id;
	cJSON *root, *doc = NULL;
	char key[GB_IMPORT_KEY_MAX];
	int64_t us;

	root = gb_json_parse_strict(line, len, err);
	if (!root) {
		if (err->status == GB_INPUT_INVALID_JSON)
			err->message = "not valid JSON";
		return NULL;
	}
	if (gb_message_from_object(root, &in, err) != 0) {
		if (err->status == GB_INPUT_INVALID_FIELD && !err->field)
			err->message = "not a JSON object with author, "
				       "message and created_at";
		cJSON_Delete(root);
		return NULL;
	}
	created_at = cJSON_GetObjectItemCaseSensitive(root, "created_at");
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (id && !cJSON_IsString(id)) {
		line_error(err, "id", "id must be a string");
	} else if (!cJSON_IsString(created_at)) {
		line_error(err, "created_at", "created_at must be a string");
	} else if (gb_parse_rfc3339_us(created_at->valuestring,
				       strlen(created_at->valuestring),
				       &us) != 0) {
		line_error(err, "created_at",
			   "created_at must be an RFC 3339 time in years "
			   "0000..9999, e.g. 2026-11-26T06:00:00.123456Z");
	} else {
		doc = gb_message_document(&in, (double)us / 1e6);
		content_key(in.author, in.message, us, key);
		if (!doc || !cJSON_AddStringToObject(doc, "import_key", key)) {
			cJSON_Delete(doc);
			doc = NULL;
			err->status = GB_INPUT_NO_MEMORY;
			err->field = NULL;
			err->message = "out of memory";
		}
	}
	cJSON_Delete(root);
	gb_message_input_free(&in);
	return doc;
}
