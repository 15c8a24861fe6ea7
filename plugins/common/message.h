/*
 * message.h - the guestbook message: validation of what a client sends, the
 * stored document, and the JSON shapes it is served in (v1 and legacy).
 *
 * Shared by the api and web plugins (linked in with NAME_COMMON := 1) and by
 * the tests. Pure functions: no host calls, no global state, thread-safe.
 *
 * Rules (the README's "Validation"):
 *   - text is valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 *     nothing above U+10FFFF, no truncated sequences);
 *   - leading and trailing whitespace (the Unicode White_Space property:
 *     ASCII space, \t \n \v \f \r, U+0085, U+00A0, U+1680, U+2000..U+200A,
 *     U+2028, U+2029, U+202F, U+205F, U+3000) is trimmed;
 *   - a CR LF pair inside the text is read as one newline (browsers submit
 *     textarea line breaks as CR LF), so it is stored as LF;
 *   - after that, `author` has 1..64 and `message` 1..1000 code points;
 *   - no control characters (U+0000..U+001F, U+007F..U+009F), except
 *     newline and tab inside `message`.
 * Text is otherwise stored exactly as sent: never HTML-escaped here.
 */
#ifndef GB_COMMON_MESSAGE_H
#define GB_COMMON_MESSAGE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* The collection that holds the guestbook's messages. */
#define GB_MESSAGES_COLLECTION "messages"

/* Limits in Unicode code points, after trimming. */
#define GB_AUTHOR_MAX_CHARS  64
#define GB_MESSAGE_MAX_CHARS 1000

/* Size of a buffer for gb_format_rfc3339_ms ("2026-11-26T06:00:00.123Z"). */
#define GB_RFC3339_MAX 40

/* How client input failed. */
enum gb_input_status {
	GB_INPUT_OK = 0,
	GB_INPUT_INVALID_JSON = 1,  /* body is not JSON: 400 invalid_json */
	GB_INPUT_INVALID_FIELD = 2, /* wrong shape or a field breaks a rule:
				       422 invalid_field (legacy: 400) */
	GB_INPUT_NO_MEMORY = 3,	    /* out of memory: 500 internal */
};

/*
 * Why input was refused. `field` is "author" or "message", or NULL when the
 * body as a whole is wrong; `message` is a human sentence such as "author
 * must be 1 to 64 characters". Both are static strings.
 */
struct gb_input_error {
	enum gb_input_status status;
	const char *field;
	const char *message;
};

/* A valid, trimmed message as the client meant it. */
struct gb_message_input {
	char *author;  /* NUL-terminated, malloc'd; gb_message_input_free */
	char *message; /* NUL-terminated, malloc'd; gb_message_input_free */
};

/*
 * Checks `len` bytes of `text` (embedded NULs allowed: they are control
 * characters and refused) as the value of `field` ("author" or "message";
 * anything else is validated as "message"). On success returns 0 and sets
 * *out to the trimmed, CR LF-normalised text (malloc'd, caller frees with
 * free()). On failure returns -1, leaves *out NULL and fills *err with
 * status GB_INPUT_INVALID_FIELD (or GB_INPUT_NO_MEMORY, field NULL).
 */
int gb_message_validate_field(const char *field, const char *text, size_t len,
			      char **out, struct gb_input_error *err);

/*
 * Validates author and message (author first, so the first failing field
 * is reported). On success returns 0 and fills *out (free it with
 * gb_message_input_free); on failure returns -1, *out is zeroed and *err
 * says why.
 */
int gb_message_validate(const char *author, size_t author_len,
			const char *message, size_t message_len,
			struct gb_message_input *out,
			struct gb_input_error *err);

/* Deepest nesting of arrays and objects a request body may have. */
#define GB_JSON_MAX_DEPTH 32

/*
 * Reads a request body of `len` bytes (and a byte after them, which is
 * NUL in a body from req_body: then the body is parsed where it is,
 * without a copy) that should be the JSON object
 * {"author": string, "message": string} (other members are ignored) and
 * validates it. Trailing garbage or a NUL byte in the body is invalid JSON.
 * An escaped NUL (\u0000) would silently cut a C string short, so it is
 * read as U+0001, a control character that validation refuses where it
 * matters. Arrays and objects nested deeper than GB_JSON_MAX_DEPTH are
 * invalid JSON here: cJSON parses recursively, and civetweb's worker
 * threads have small stacks. Returns 0 and fills *out, or -1 with *err
 * (status GB_INPUT_INVALID_JSON, or GB_INPUT_INVALID_FIELD with field
 * NULL for a non-object, "author"/"message" for a missing, non-string or
 * invalid member, or GB_INPUT_NO_MEMORY).
 */
int gb_message_from_json(const char *body, size_t len,
			 struct gb_message_input *out,
			 struct gb_input_error *err);

/*
 * The parse step of gb_message_from_json alone: `len` bytes of JSON with
 * its rules (no raw NUL, \u0000 read as U+0001, depth at most
 * GB_JSON_MAX_DEPTH, nothing after the value). Returns the value (caller
 * frees with cJSON_Delete), or NULL with *err (GB_INPUT_INVALID_JSON or
 * GB_INPUT_NO_MEMORY).
 */
cJSON *gb_json_parse_strict(const char *body, size_t len,
			    struct gb_input_error *err);

/* gb_json_parse_strict for a request body: the byte after the `len` bytes
 * must be readable, and where it is NUL (a body from req_body) the body is
 * parsed where it is, without a copy. */
cJSON *gb_json_parse_body(const char *body, size_t len,
			  struct gb_input_error *err);

/*
 * The validation step of gb_message_from_json alone, on a parsed value:
 * string members author and message of an object. Returns 0 and fills
 * *out, or -1 with *err as gb_message_from_json.
 */
int gb_message_from_object(const cJSON *root, struct gb_message_input *out,
			   struct gb_input_error *err);

/*
 * 0 when `root` is a JSON object, else -1 with *err (GB_INPUT_INVALID_FIELD,
 * field NULL): the shape gb_message_from_object requires.
 */
int gb_message_check_object(const cJSON *root, struct gb_input_error *err);

/*
 * The string member `field` ("author" or "message") of a parsed object,
 * not yet validated: 0 with *text (owned by root), or -1 with *err
 * (GB_INPUT_INVALID_FIELD: "author is required" for a missing or null
 * member, "author must be a string" for another type).
 */
int gb_message_member(const cJSON *root, const char *field, const char **text,
		      struct gb_input_error *err);

/* Frees the strings of *in and zeroes it. Safe on a zeroed struct. */
void gb_message_input_free(struct gb_message_input *in);

/*
 * Builds the document to store: {"author", "message", "date"} with `date`
 * in epoch seconds (pass api->now_wall()), rounded to the microsecond like
 * the original's time.time() values. Such a date survives a trip through
 * cJSON's printer unchanged (it writes 15 significant digits when they
 * read back "close enough"), so the created_at a POST answers is the one
 * later reads show. Caller frees with cJSON_Delete. NULL on out of memory.
 */
cJSON *gb_message_document(const struct gb_message_input *in, double date);

/*
 * Converts a stored document (with "id", as a store returns it) to the v1
 * JSON {"id","author","message","created_at"}. A document whose "id" is
 * JSON null (a store without ids: the http store over a legacy backend)
 * gets "id": null. Accepts documents written
 * by the original Flask backend: `date` a float or an integer, text that is
 * already HTML-escaped (kept as is). Returns NULL when the document lacks a
 * string id, author or message or a numeric date within years 0..9999
 * (malformed), or on out of memory. Caller frees with cJSON_Delete.
 */
cJSON *gb_message_to_v1(const cJSON *doc);

/*
 * Converts a stored document to the legacy JSON {"author","date","message"}
 * (keys in this sorted order; no id). `date` is a raw number node printed
 * as Python prints a float: the shortest decimal that reads back to the
 * same double, with ".0" when it is integral (1732600000.123456,
 * 1732600000.0). Returns NULL when author or message is not a string or
 * date is not a finite number, or on out of memory. Caller frees with
 * cJSON_Delete.
 */
cJSON *gb_message_to_legacy(const cJSON *doc);

/*
 * Writes `epoch` (seconds, may have a fraction) as RFC 3339 UTC with
 * milliseconds, rounded to the nearest millisecond (half away from zero):
 * "2026-11-26T06:00:00.123Z". Returns 0, or -1 (and writes "") when the
 * value is not finite or falls outside years 0000..9999.
 */
int gb_format_rfc3339_ms(double epoch, char out[GB_RFC3339_MAX]);

/*
 * The same with microseconds, "2026-11-26T06:00:00.123456Z" (the export
 * format's created_at: the stored date to the microsecond).
 */
int gb_format_rfc3339_us(double epoch, char out[GB_RFC3339_MAX]);

/*
 * Writes `value` as the shortest decimal (no exponent) that parses back to
 * the same double, with ".0" appended when it has no fraction. Returns the
 * length written, or -1 if it does not fit in `len` bytes or is not finite.
 */
int gb_format_double_shortest(double value, char *buf, size_t len);

#endif
