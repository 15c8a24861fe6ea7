/*
 * http_headers.h - small, pure helpers for the request and response headers
 * the route plugins interpret themselves: entity tags (ETag and
 * If-None-Match), Content-Type media types and bearer tokens.
 * Thread-safe; no allocation.
 */
#ifndef GB_COMMON_HTTP_HEADERS_H
#define GB_COMMON_HTTP_HEADERS_H

#include <stddef.h>
#include <stdint.h>

/* Size of a buffer for gb_etag_of: a quoted 16-digit hex tag and NUL. */
#define GB_ETAG_MAX 19

/* FNV-1a, 64 bits, of `len` bytes. */
uint64_t gb_fnv1a64(const void *data, size_t len);

/*
 * Writes the strong entity tag of a representation, the quoted FNV-1a 64
 * hash of its bytes in lower-case hex: "\"cbf29ce484222325\"".
 */
void gb_etag_of(const void *body, size_t len, char out[GB_ETAG_MAX]);

/*
 * Whether an If-None-Match header value (may be NULL) matches `etag` (a
 * quoted tag as written by gb_etag_of) by the weak comparison RFC 9110
 * prescribes for If-None-Match: "*" matches, and so does any tag in the
 * comma-separated list equal to etag with or without a W/ prefix.
 * A malformed list matches nothing from the first malformed element on.
 */
int gb_if_none_match(const char *header, const char *etag);

/*
 * Whether a Content-Type header value (may be NULL) names `media_type`
 * ("application/json"), case-insensitively, ignoring parameters such as
 * "; charset=utf-8" and surrounding whitespace.
 */
int gb_media_type_is(const char *content_type, const char *media_type);

/*
 * Whether an Authorization header value (may be NULL) is "Bearer <token>"
 * (scheme case-insensitive, one or more spaces) with a token equal to
 * `expected`. The comparison takes the same time for every token of a
 * given length, whatever its content. An empty or NULL `expected` matches
 * nothing.
 */
int gb_bearer_matches(const char *authorization, const char *expected);

#endif
