/*
 * message_line.h - the export format: guestbook messages as JSON Lines,
 * what `guestbookd export` writes and `guestbookd import` reads.
 *
 *   {"format":"guestbookd-export","version":1,"collection":"messages"}
 *   {"id":"1","author":"Ada","message":"Hello","created_at":"2026-11-26T06:00:00.123456Z"}
 *   ...
 *
 * The first line is the header; then one message per line, oldest first,
 * members in this order, compact, UTF-8, each line ending in "\n". The
 * header names no store and no time, so two exports of the same messages
 * are byte-equal when their ids are (a SQLite store exported, imported
 * into an empty one and exported again gives the same file).
 * `created_at` is RFC 3339 UTC with microseconds: the stored date to the
 * microsecond, the precision the API stores (legacy dates with more
 * digits are rounded to it; a date is a double of seconds, exact to the
 * microsecond from about 1685 to 2255). `id` is the id in the store exported
 * from; import does not keep it: an id means nothing in another store.
 *
 * Import validates author and message with the API's rules (message.h),
 * and gives every message a content key, "import_key": created_at (to the
 * microsecond) as 16 hex digits, then 128 bits of the SHA-256 of author,
 * message and created_at after validation (48 hex digits in all).
 * A store keeps the key with the message and skips a message whose key it
 * already has, so importing the same lines twice, or an export of an
 * import, stores each message once. Two posts with the same author and
 * text at the same microsecond are one message to import.
 */
#ifndef GB_COMMON_MESSAGE_LINE_H
#define GB_COMMON_MESSAGE_LINE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "message.h"

#define GB_EXPORT_FORMAT  "guestbookd-export"
#define GB_EXPORT_VERSION 1

/* Longest line import accepts, newline excluded (a valid message line is
 * at most about 15 KB even with every character escaped). */
#define GB_LINE_MAX 65536

/* Size of an import_key with its NUL. */
#define GB_IMPORT_KEY_MAX 49

/* The header line, without the newline (a static string). */
const char *gb_line_header(void);

/*
 * Checks that `len` bytes of `line` are a header this version reads.
 * Returns 0, or -1 with a sentence in *why (static).
 */
int gb_line_check_header(const char *line, size_t len, const char **why);

/*
 * The export line of a stored document (with "id", as a store returns
 * it), without the newline; malloc'd, caller frees. NULL when the
 * document lacks a string id, author or message or a date within years
 * 0..9999 (*why says which), or out of memory (*why "out of memory").
 */
char *gb_line_from_doc(const cJSON *doc, const char **why);

/*
 * Reads one message line: validates it and returns the document to import
 * {"author","message","date","import_key"} (caller frees with
 * cJSON_Delete), or NULL with *err (field "author", "message",
 * "created_at" or NULL, and a sentence).
 */
cJSON *gb_line_to_doc(const char *line, size_t len, struct gb_input_error *err);

/*
 * Parses an RFC 3339 time ("2026-11-26T06:00:00Z", up to 9 fraction
 * digits, "Z" or an offset such as "+02:00"; years 0000..9999) of `len`
 * bytes into microseconds since the epoch, rounded half up. Returns 0 or
 * -1.
 */
int gb_parse_rfc3339_us(const char *s, size_t len, int64_t *us);

#endif
