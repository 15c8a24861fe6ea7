/*
 * response.h - the response on the wire: the status line and headers the
 * host writes in front of a handler's body, and the one write that sends
 * them together.
 *
 * A body lives in a buffer with GB_RESPONSE_HEAD_ROOM free bytes in front
 * of it (gb_response_body_alloc). The status line and headers are written
 * into that room when the response is sent, so that status, headers and
 * body leave in one mg_write (one send(2)) without copying the body again.
 */
#ifndef GB_CORE_RESPONSE_H
#define GB_CORE_RESPONSE_H

#include <stddef.h>

struct gb_request;

/* Room for the status line and headers in front of each body. Larger
 * headers (a plugin may add up to GB_RESPONSE_HEADERS_MAX) are sent with
 * a write of their own. */
#define GB_RESPONSE_HEAD_ROOM 1024

/*
 * A buffer for a body of `len` bytes, with the head room in front:
 * gb_response_body(buf) is where the body goes. NULL when out of memory.
 * Freed with free().
 */
char *gb_response_body_alloc(size_t len);

/* Where the body starts in a buffer from gb_response_body_alloc. */
static inline char *gb_response_body(char *buf)
{
	return buf + GB_RESPONSE_HEAD_ROOM;
}

/* The reason phrase of an HTTP status. */
const char *gb_status_text(int status);

/*
 * Writes the response (status line, headers, body) with one mg_write
 * when the headers fit the head room. `keep_alive` chooses the
 * Connection header. Returns the bytes of body sent.
 */
size_t gb_response_send(struct gb_request *req, int keep_alive);

#endif
