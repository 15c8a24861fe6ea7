/*
 * message.c - validation, storage shape and JSON shapes of a guestbook
 * message. See message.h for the rules.
 */
#include "message.h"

#include "guestbook/utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Static sentences for each field and failure. */
struct field_texts {
	const char *name;
	size_t max_chars;
	int allows_newline_and_tab;
	const char *bad_utf8;
	const char *control;
	const char *length;
	const char *required;
	const char *not_string;
};

static const struct field_texts author_texts = {
    .name = "author",
    .max_chars = GB_AUTHOR_MAX_CHARS,
    .allows_newline_and_tab = 0,
    .bad_utf8 = "author must be valid UTF-8",
    .control = "author must not contain control characters",
    .length = "author must be 1 to 64 characters",
    .required = "author is required",
    .not_string = "author must be a string",
};

static const struct field_texts message_texts = {
    .name = "message",
    .max_chars = GB_MESSAGE_MAX_CHARS,
    .allows_newline_and_tab = 1,
    .bad_utf8 = "message must be valid UTF-8",
    .control = "message must not contain control characters other than "
	       "newline and tab",
    .length = "message must be 1 to 1000 characters",
    .required = "message is required",
    .not_string = "message must be a string",
};

static void set_error(struct gb_input_error *err, enum gb_input_status status,
		      const char *field, const char *message)
{
	if (!err)
		return;
	err->status = status;
	err->field = field;
	err->message = message;
}

/*
 * Decodes one code point at s[*i] (strict RFC 3629) and advances *i.
 * Returns 0, or -1 on an invalid or truncated sequence.
 */
static int utf8_next(const unsigned char *s, size_t len, size_t *i,
		     uint32_t *cp)
{
	size_t n = gb_utf8_decode(s + *i, len - *i, cp);

	if (n == 0)
		return -1;
	*i += n;
	return 0;
}

/* The Unicode White_Space property. */
static int is_white_space(uint32_t cp)
{
	if (cp == ' ' || (cp >= 0x09 && cp <= 0x0d))
		return 1;
	switch (cp) {
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000: return 1;
	default: return cp >= 0x2000 && cp <= 0x200a;
	}
}

static int is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/*
 * Finds the trimmed range [*start, *end) of valid UTF-8 text.
 * Returns 0 (an empty range when all is whitespace), -1 on bad UTF-8.
 */
static int trim_bounds(const unsigned char *s, size_t len, size_t *start,
		       size_t *end)
{
	size_t i = 0;

	*start = len;
	*end = len;
	while (i < len) {
		size_t at = i;
		uint32_t cp;

		if (utf8_next(s, len, &i, &cp) != 0)
			return -1;
		if (is_white_space(cp))
			continue;
		if (*start == len)
			*start = at;
		*end = i;
	}
	return 0;
}

static int validate_with(const struct field_texts *t, const char *text,
			 size_t len, char **out, struct gb_input_error *err)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t start, end, i, chars = 0;
	char *copy, *w;

	*out = NULL;
	if (trim_bounds(s, len, &start, &end) != 0) {
		set_error(err, GB_INPUT_INVALID_FIELD, t->name, t->bad_utf8);
		return -1;
	}
	for (i = start; i < end;) {
		uint32_t cp;

		if (utf8_next(s, end, &i, &cp) != 0) {
			set_error(err, GB_INPUT_INVALID_FIELD, t->name,
				  t->bad_utf8);
			return -1;
		}
		if (cp == '\r' && t->allows_newline_and_tab && i < end &&
		    s[i] == '\n')
			continue; /* CR LF counts once, as the LF */
		if (is_control(cp) && !(t->allows_newline_and_tab &&
					(cp == '\n' || cp == '\t'))) {
			set_error(err, GB_INPUT_INVALID_FIELD, t->name,
				  t->control);
			return -1;
		}
		chars++;
	}
	if (chars < 1 || chars > t->max_chars) {
		set_error(err, GB_INPUT_INVALID_FIELD, t->name, t->length);
		return -1;
	}
	copy = malloc(end - start + 1);
	if (!copy) {
		set_error(err, GB_INPUT_NO_MEMORY, NULL, "out of memory");
		return -1;
	}
	w = copy;
	for (i = start; i < end; i++) {
		if (s[i] == '\r' && i + 1 < end && s[i + 1] == '\n')
			continue;
		*w++ = (char)s[i];
	}
	*w = '\0';
	*out = copy;
	set_error(err, GB_INPUT_OK, NULL, NULL);
	return 0;
}

static const struct field_texts *texts_for(const char *field)
{
	if (field && strcmp(field, "author") == 0)
		return &author_texts;
	return &message_texts;
}

int gb_message_validate_field(const char *field, const char *text, size_t len,
			      char **out, struct gb_input_error *err)
{
	return validate_with(texts_for(field), text, len, out, err);
}

int gb_message_validate(const char *author, size_t author_len,
			const char *message, size_t message_len,
			struct gb_message_input *out,
			struct gb_input_error *err)
{
	out->author = NULL;
	out->message = NULL;
	if (validate_with(&author_texts, author, author_len, &out->author,
			  err) != 0)
		return -1;
	if (validate_with(&message_texts, message, message_len, &out->message,
			  err) != 0) {
		gb_message_input_free(out);
		return -1;
	}
	return 0;
}

void gb_message_input_free(struct gb_message_input *in)
{
	if (!in)
		return;
	free(in->author);
	free(in->message);
	in->author = NULL;
	in->message = NULL;
}

/* Rewrites every escaped NUL (\u0000) inside JSON strings to \u0001. */
static void neutralise_nul_escapes(char *buf, size_t len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (!in_string) {
			in_string = c == '"';
			continue;
		}
		if (c == '"') {
			in_string = 0;
			continue;
		}
		if (c != '\\')
			continue;
		if (i + 5 < len && buf[i + 1] == 'u' &&
		    memcmp(buf + i + 2, "0000", 4) == 0)
			buf[i + 5] = '1';
		i++; /* the escaped character */
	}
}

/*
 * One pass over the JSON text: 1 when its arrays and objects nest deeper
 * than `max` (brackets inside strings do not count), else 0 with
 * *nul_escapes set when a string holds an escaped NUL (\u0000).
 */
static int scan_json(const char *text, size_t len, int max, int *nul_escapes)
{
	int depth = 0, in_string = 0;

	*nul_escapes = 0;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (in_string) {
			if (c == '\\') {
				if (i + 5 < len && text[i + 1] == 'u' &&
				    memcmp(text + i + 2, "0000", 4) == 0)
					*nul_escapes = 1;
				i++;
			} else if (c == '"') {
				in_string = 0;
			}
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return 1;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 0;
}

/* The string member t->name of `root` into *text: 0, or -1 with *err. */
static int member_text(const cJSON *root, const struct field_texts *t,
		       const char **text, struct gb_input_error *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, t->name);

	*text = NULL;
	if (!item || cJSON_IsNull(item)) {
		set_error(err, GB_INPUT_INVALID_FIELD, t->name, t->required);
		return -1;
	}
	if (!cJSON_IsString(item) || !item->valuestring) {
		set_error(err, GB_INPUT_INVALID_FIELD, t->name, t->not_string);
		return -1;
	}
	*text = item->valuestring;
	return 0;
}

static int take_member(const cJSON *root, const struct field_texts *t,
		       char **out, struct gb_input_error *err)
{
	const char *text;

	*out = NULL;
	if (member_text(root, t, &text, err) != 0)
		return -1;
	return validate_with(t, text, strlen(text), out, err);
}

int gb_message_member(const cJSON *root, const char *field, const char **text,
		      struct gb_input_error *err)
{
	return member_text(root, texts_for(field), text, err);
}

/* gb_json_parse_strict; `terminated`: body[len] is NUL, so that a body
 * without escaped NULs is parsed where it is, without a copy. */
static cJSON *parse_strict(const char *body, size_t len, int terminated,
			   struct gb_input_error *err)
{
	char *copy;
	cJSON *root;
	int nul_escapes;

	if (len == 0 || memchr(body, '\0', len)) {
		set_error(err, GB_INPUT_INVALID_JSON, NULL,
			  "request body is not valid JSON");
		return NULL;
	}
	if (scan_json(body, len, GB_JSON_MAX_DEPTH, &nul_escapes)) {
		set_error(err, GB_INPUT_INVALID_JSON, NULL,
			  "request body nests arrays or objects too deeply");
		return NULL;
	}
	if (terminated && !nul_escapes) {
		/* len + 1: cJSON checks the terminator for trailing garbage. */
		root = cJSON_ParseWithLengthOpts(body, len + 1, NULL, 1);
	} else {
		copy = malloc(len + 1);
		if (!copy) {
			set_error(err, GB_INPUT_NO_MEMORY, NULL,
				  "out of memory");
			return NULL;
		}
		memcpy(copy, body, len);
		copy[len] = '\0';
		neutralise_nul_escapes(copy, len);
		root = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1);
		free(copy);
	}
	if (!root)
		set_error(err, GB_INPUT_INVALID_JSON, NULL,
			  "request body is not valid JSON");
	return root;
}

cJSON *gb_json_parse_strict(const char *body, size_t len,
			    struct gb_input_error *err)
{
	return parse_strict(body, len, 0, err);
}

cJSON *gb_json_parse_body(const char *body, size_t len,
			  struct gb_input_error *err)
{
	return parse_strict(body, len, body[len] == '\0', err);
}

int gb_message_check_object(const cJSON *root, struct gb_input_error *err)
{
	if (cJSON_IsObject(root))
		return 0;
	set_error(err, GB_INPUT_INVALID_FIELD, NULL,
		  "request body must be a JSON object with author and "
		  "message");
	return -1;
}

int gb_message_from_object(const cJSON *root, struct gb_message_input *out,
			   struct gb_input_error *err)
{
	out->author = NULL;
	out->message = NULL;
	if (gb_message_check_object(root, err) != 0)
		return -1;
	if (take_member(root, &author_texts, &out->author, err) != 0)
		return -1;
	if (take_member(root, &message_texts, &out->message, err) != 0) {
		gb_message_input_free(out);
		return -1;
	}
	return 0;
}

int gb_message_from_json(const char *body, size_t len,
			 struct gb_message_input *out,
			 struct gb_input_error *err)
{
	cJSON *root;
	int rc;

	out->author = NULL;
	out->message = NULL;
	root = gb_json_parse_body(body, len, err);
	if (!root)
		return -1;
	rc = gb_message_from_object(root, out, err);
	cJSON_Delete(root);
	return rc;
}

cJSON *gb_message_document(const struct gb_message_input *in, double date)
{
	cJSON *doc = cJSON_CreateObject();

	if (!doc)
		return NULL;
	/* Microseconds: a double that cJSON's printer writes back exactly. */
	if (isfinite(date))
		date = round(date * 1e6) / 1e6;
	if (!cJSON_AddStringToObject(doc, "author", in->author) ||
	    !cJSON_AddStringToObject(doc, "message", in->message) ||
	    !cJSON_AddNumberToObject(doc, "date", date)) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* The string value of member `name`, or NULL. */
static const char *string_member(const cJSON *doc, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* The finite number value of member "date" into *date: 0, or -1. */
static int date_member(const cJSON *doc, double *date)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, "date");

	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
		return -1;
	*date = item->valuedouble;
	return 0;
}

cJSON *gb_message_to_v1(const cJSON *doc)
{
	const char *id = string_member(doc, "id");
	/* "id": null: a message of a store without ids (legacy backend) */
	int no_id = cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, "id"));
	const char *author = string_member(doc, "author");
	const char *message = string_member(doc, "message");
	char created_at[GB_RFC3339_MAX];
	double date;
	cJSON *out;

	if ((!id && !no_id) || !author || !message ||
	    date_member(doc, &date) != 0 ||
	    gb_format_rfc3339_ms(date, created_at) != 0)
		return NULL;
	out = cJSON_CreateObject();
	if (!out)
		return NULL;
	if (!(id ? cJSON_AddStringToObject(out, "id", id)
		 : cJSON_AddNullToObject(out, "id")) ||
	    !cJSON_AddStringToObject(out, "author", author) ||
	    !cJSON_AddStringToObject(out, "message", message) ||
	    !cJSON_AddStringToObject(out, "created_at", created_at)) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

cJSON *gb_message_to_legacy(const cJSON *doc)
{
	const char *author = string_member(doc, "author");
	const char *message = string_member(doc, "message");
	char number[400];
	double date;
	cJSON *out;

	if (!author || !message || date_member(doc, &date) != 0 ||
	    gb_format_double_shortest(date, number, sizeof(number)) < 0)
		return NULL;
	out = cJSON_CreateObject();
	if (!out)
		return NULL;
	if (!cJSON_AddStringToObject(out, "author", author) ||
	    !cJSON_AddRawToObject(out, "date", number) ||
	    !cJSON_AddStringToObject(out, "message", message)) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

/* Seconds of 0000-01-01T00:00:00Z and of 10000-01-01T00:00:00Z. */
#define RFC3339_MIN_S (-62167219200LL)
#define RFC3339_END_S 253402300800LL

/* `epoch` with `digits` (3 or 6) fraction digits, rounded to the nearest
 * unit (half away from zero). */
static int format_rfc3339(double epoch, int digits, char out[GB_RFC3339_MAX])
{
	long long scale = digits == 3 ? 1000 : 1000000;
	double units;
	long long total, secs, frac;
	time_t t;
	struct tm tm;

	out[0] = '\0';
	if (!isfinite(epoch))
		return -1;
	units = round(epoch * (double)scale);
	if (units < (double)(RFC3339_MIN_S * scale) ||
	    units >= (double)(RFC3339_END_S * scale))
		return -1;
	total = (long long)units;
	secs = total / scale;
	frac = total % scale;
	if (frac < 0) {
		frac += scale;
		secs -= 1;
	}
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm))
		return -1;
	snprintf(out, GB_RFC3339_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%0*dZ",
		 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
		 tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, digits, (int)(frac % 1000000));
	return 0;
}

int gb_format_rfc3339_ms(double epoch, char out[GB_RFC3339_MAX])
{
	return format_rfc3339(epoch, 3, out);
}

int gb_format_rfc3339_us(double epoch, char out[GB_RFC3339_MAX])
{
	return format_rfc3339(epoch, 6, out);
}

int gb_format_double_shortest(double value, char *buf, size_t len)
{
	char tmp[700];

	if (!isfinite(value) || len == 0)
		return -1;
	/* Any double reads back exactly with at most ~330 fraction digits. */
	for (int digits = 0; digits <= 340; digits++) {
		int n = snprintf(tmp, sizeof(tmp), "%.*f", digits, value);

		if (n < 0 || (size_t)n >= sizeof(tmp))
			return -1;
		if (strtod(tmp, NULL) != value)
			continue;
		if (digits == 0) {
			tmp[n++] = '.';
			tmp[n++] = '0';
			tmp[n] = '\0';
		}
		if ((size_t)n >= len)
			return -1;
		memcpy(buf, tmp, (size_t)n + 1);
		return n;
	}
	return -1;
}
