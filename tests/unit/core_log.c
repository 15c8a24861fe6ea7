/*
 * core_log.c - the log (core/log.c): in JSON, one valid JSON object of
 * valid UTF-8 per line; in text, one line a client cannot forge or fill
 * with terminal escapes; whatever clients put in the path, the headers or
 * a message.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access_log.h"
#include "log.h"

/* Strict RFC 3629: no overlongs, surrogates or code points past U+10FFFF. */
static int valid_utf8(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else {
			return 0;
		}
		if (len - i - 1 < need)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			unsigned char b = s[i + k];

			if (b < (k == 1 ? lo : 0x80) ||
			    b > (k == 1 ? hi : 0xbf))
				return 0;
		}
		i += need + 1;
	}
	return 1;
}

/* Points stdout at a temporary file; returns it for capture_read. */
static FILE *capture_start(void)
{
	FILE *f = tmpfile();

	cr_assert_not_null(f);
	fflush(stdout);
	cr_assert_geq(dup2(fileno(f), STDOUT_FILENO), 0);
	gb_log_configure(GB_LOG_INFO, GB_LOG_JSON);
	return f;
}

static char *capture_read(FILE *f, size_t *len)
{
	gb_log_flush();
	long size = lseek(fileno(f), 0, SEEK_END);
	cr_assert_gt(size, 0, "nothing was logged");
	char *text = malloc((size_t)size + 1);
	cr_assert_eq(pread(fileno(f), text, (size_t)size, 0), size);
	text[size] = '\0';
	*len = (size_t)size;
	return text;
}

/* Asserts the capture is exactly one line of valid UTF-8 JSON. */
static cJSON *one_json_line(FILE *f)
{
	size_t len;
	char *text = capture_read(f, &len);

	cr_assert_eq(text[len - 1], '\n');
	cr_assert_null(memchr(text, '\n', len - 1), "more than one line");
	cr_assert(valid_utf8(text, len), "the line is not valid UTF-8");
	cJSON *root = cJSON_ParseWithLength(text, len);
	cr_assert_not_null(root, "the line is not JSON: %.300s", text);
	free(text);
	return root;
}

static const char *str_field(const cJSON *root, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	cr_assert(cJSON_IsString(v), "field %s missing", key);
	return v->valuestring;
}

Test(log_json, escape_replaces_invalid_utf8)
{
	char buf[256];
	size_t len = 0;

	buf[0] = '\0';
	/* a lone continuation byte, an overlong '/', a cut 3-byte sequence,
	 * a surrogate, 0xff and a valid "é" */
	gb_json_escape_append(buf, sizeof buf, &len,
			      "a\x80"
			      "b\xc0\xaf"
			      "c\xe2\x82"
			      "d\xed\xa0\x80"
			      "e\xff"
			      "f\xc3\xa9");
	cr_assert(valid_utf8(buf, len), "escaped text: %s", buf);
	cr_assert_not_null(strstr(buf, "\\ufffd"));
	cr_assert_not_null(strstr(buf, "f\xc3\xa9"), "valid text was changed");
}

Test(log_json, escape_never_cuts_a_character_in_half)
{
	/* "éééé": 2 bytes each; every capacity must end on a boundary. */
	for (size_t cap = 1; cap < 12; cap++) {
		char buf[16];
		size_t len = 0;

		buf[0] = '\0';
		gb_json_escape_append(buf, cap, &len,
				      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
		cr_assert_lt(len, cap);
		cr_assert(valid_utf8(buf, len), "cap %zu cut a character", cap);
	}
}

Test(log_json, access_line_with_invalid_utf8_is_valid_json)
{
	FILE *f = capture_start();
	struct gb_access_entry e = {
	    .method = "GET",
	    .route = "other",
	    .path = "/caf\xe9/\xff\xfe",
	    .status = 404,
	    .remote = "127.0.0.1",
	    .request_id = "abc",
	    .user_agent = "agent \xc0\x80 \"quoted\"",
	};

	gb_log_access(&e);
	cJSON *root = one_json_line(f);
	cr_assert_str_eq(str_field(root, "method"), "GET");
	cr_assert_not_null(strstr(str_field(root, "path"), "/caf"));
	cJSON_Delete(root);
}

Test(log_json, access_line_with_huge_fields_keeps_every_field)
{
	FILE *f = capture_start();
	size_t n = 12000;
	char *agent = malloc(n + 1), *path = malloc(n + 1);

	memset(agent, 'a', n);
	agent[n] = '\0';
	/* control characters escape to six bytes each */
	path[0] = '/';
	memset(path + 1, '\x01', n - 1);
	path[n] = '\0';
	struct gb_access_entry e = {
	    .method = "GET",
	    .route = "other",
	    .path = path,
	    .status = 400,
	    .duration_ms = 1.5,
	    .bytes = 42,
	    .remote = "10.0.0.1",
	    .request_id = "rid-1",
	    .user_agent = agent,
	};

	gb_log_access(&e);
	cJSON *root = one_json_line(f);
	cr_assert_eq(cJSON_GetObjectItem(root, "status")->valueint, 400);
	cr_assert_eq(cJSON_GetObjectItem(root, "bytes")->valueint, 42);
	cr_assert_str_eq(str_field(root, "remote"), "10.0.0.1");
	cr_assert_str_eq(str_field(root, "request_id"), "rid-1");
	/* shortened, and visibly so */
	const char *ua = str_field(root, "user_agent");
	cr_assert_lt(strlen(ua), n);
	cr_assert_not_null(strstr(ua, "..."), "truncation is not marked");
	cJSON_Delete(root);
	free(agent);
	free(path);
}

Test(log_json, event_line_with_invalid_utf8_is_valid_json)
{
	FILE *f = capture_start();
	char big[5000];

	/* a message cut by the formatter inside a 3-byte character */
	for (size_t i = 0; i + 3 < sizeof big; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[sizeof big - 2] = '\0';
	gb_log(GB_LOG_WARN, "api", "id %s %s", "\xff\xfe", big);
	cJSON *root = one_json_line(f);
	cr_assert_str_eq(str_field(root, "logger"), "api");
	cJSON_Delete(root);
}

/* Asserts the capture is one line without escape sequences. */
static char *one_text_line(FILE *f)
{
	size_t len;
	char *text = capture_read(f, &len);

	cr_assert_eq(text[len - 1], '\n');
	cr_assert_null(memchr(text, '\n', len - 1), "forged line: %s", text);
	cr_assert_null(memchr(text, '\r', len), "carriage return: %s", text);
	cr_assert_null(memchr(text, '\x1b', len), "terminal escape: %s", text);
	cr_assert_null(strstr(text, "\xc2\x9b"), "C1 CSI: %s", text);
	cr_assert(valid_utf8(text, len), "not UTF-8: %s", text);
	return text;
}

/* Text format is for a terminal: a client must not be able to forge a
 * log line or send escape sequences to the operator's terminal. */
Test(log_text, access_line_cannot_forge_lines_or_escapes)
{
	FILE *f = capture_start();
	struct gb_access_entry e = {
	    .method = "GET",
	    .route = "other",
	    .path = "/x\n2026-11-26T00:00:00.000Z info  [access] forged\r"
		    "\x1b]0;owned\x07\x1b[2J\xff\xc2\x9b"
		    "31m",
	    .status = 404,
	    .remote = "127.0.0.1",
	    .request_id = "abc",
	};

	gb_log_configure(GB_LOG_INFO, GB_LOG_TEXT);
	gb_log_access(&e);
	char *line = one_text_line(f);
	cr_assert_not_null(strstr(line, "forged"), "%s", line);
	free(line);
}

Test(log_text, event_line_cannot_forge_lines)
{
	FILE *f = capture_start();

	gb_log_configure(GB_LOG_INFO, GB_LOG_TEXT);
	gb_log(GB_LOG_WARN, "api", "message %s deleted \"quoted\"",
	       "1\nforged\x1b[0m");
	char *line = one_text_line(f);
	cr_assert_not_null(strstr(line, "\"quoted\""), "quotes changed: %s",
			   line);
	free(line);
}

/* The access line's bytes after its timestamp, for an exact comparison. */
static char *access_line_after_ts(const struct gb_access_entry *e)
{
	FILE *f = capture_start();
	size_t len;

	gb_log_access(e);
	char *text = capture_read(f, &len);
	const char *ts_end = strstr(text, "Z\",");
	cr_assert_not_null(ts_end, "no timestamp: %s", text);
	cr_assert_eq(strncmp(text, "{\"ts\":\"", 7), 0, "%s", text);
	char *rest = strdup(ts_end + 3);
	free(text);
	return rest;
}

/* Loki queries and dashboards parse these lines: the field order, the
 * number formats and the escapes are a contract. */
Test(log_json, access_line_has_the_documented_bytes)
{
	struct gb_access_entry e = {
	    .method = "GET",
	    .route = "/api/v1/messages",
	    .path = "/api/v1/messages",
	    .status = 200,
	    .duration_ms = 1.5,
	    .bytes = 2235,
	    .remote = "127.0.0.1",
	    .request_id = "3f2a",
	    .user_agent = "wrk",
	};
	char *line = access_line_after_ts(&e);
	cr_assert_str_eq(
	    line,
	    "\"level\":\"info\",\"logger\":\"access\",\"msg\":\"request\","
	    "\"method\":\"GET\",\"route\":\"/api/v1/messages\","
	    "\"path\":\"/api/v1/messages\",\"status\":200,"
	    "\"duration_ms\":1.500,\"bytes\":2235,"
	    "\"remote\":\"127.0.0.1\",\"request_id\":\"3f2a\","
	    "\"user_agent\":\"wrk\"}\n");
	free(line);

	e.path = "/a\"b\\c\x01\xff";
	e.user_agent = NULL;
	e.trace_id = "0af7651916cd43dd8448eb211c80319c";
	e.span_id = "b7ad6b7169203331";
	line = access_line_after_ts(&e);
	cr_assert_str_eq(
	    line,
	    "\"level\":\"info\",\"logger\":\"access\",\"msg\":\"request\","
	    "\"method\":\"GET\",\"route\":\"/api/v1/messages\","
	    "\"path\":\"/a\\\"b\\\\c\\u0001\\ufffd\",\"status\":200,"
	    "\"duration_ms\":1.500,\"bytes\":2235,"
	    "\"remote\":\"127.0.0.1\",\"request_id\":\"3f2a\","
	    "\"user_agent\":\"\","
	    "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\","
	    "\"span_id\":\"b7ad6b7169203331\"}\n");
	free(line);
}

/* duration_ms reads as printf's "%.3f" of the duration would. */
Test(log_json, access_line_duration_has_three_decimals)
{
	static const double ms[] = {0.0,    0.0004,	 0.0006,  0.1234,
				    0.9999, 1.0,	 12.3456, 999.9996,
				    1000.0, 65535.125001};
	for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
		struct gb_access_entry e = {
		    .method = "GET", .status = 200, .duration_ms = ms[i]};
		char *line = access_line_after_ts(&e);
		char want[64];
		snprintf(want, sizeof want, "\"duration_ms\":%.3f,", ms[i]);
		cr_assert_not_null(strstr(line, want), "%s not in %s", want,
				   line);
		free(line);
	}
}
