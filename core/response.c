#include "response.h"

#include <civetweb.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "request.h"

const char *gb_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:
		return status < 300   ? "OK"
		       : status < 500 ? "Error"
				      : "Server Error";
	}
}

char *gb_response_body_alloc(size_t len)
{
	return malloc(GB_RESPONSE_HEAD_ROOM + len);
}

/* The head of a response, built without printf: the hot path builds one
 * per request. */
struct head {
	char *p, *end;
};

static void put(struct head *h, const char *s, size_t n)
{
	if (h->p > h->end || (size_t)(h->end - h->p) < n) {
		h->p = h->end + 1; /* marks the head as too long */
		return;
	}
	memcpy(h->p, s, n);
	h->p += n;
}

static void put_str(struct head *h, const char *s)
{
	put(h, s, strlen(s));
}

static void put_uint(struct head *h, unsigned long long v)
{
	char buf[GB_DECIMAL_MAX];
	char *digits = gb_decimal(buf, v);
	put(h, digits, (size_t)(buf + GB_DECIMAL_MAX - digits));
}

#define PUT_LIT(h, s) put(h, s, sizeof(s) - 1)

/* Writes the status line and headers into buf; their length, or 0 when
 * they do not fit. */
static size_t format_head(const struct gb_request *req, int keep_alive,
			  char *buf, size_t cap)
{
	struct head h = {buf, buf + cap};
	PUT_LIT(&h, "HTTP/1.1 ");
	put_uint(&h, (size_t)req->status);
	PUT_LIT(&h, " ");
	put_str(&h, gb_status_text(req->status));
	PUT_LIT(&h, "\r\n");
	if (req->content_type[0]) {
		PUT_LIT(&h, "Content-Type: ");
		put_str(&h, req->content_type);
		PUT_LIT(&h, "\r\n");
	}
	/* RFC 9110 8.6: never in a 1xx or 204; in a 304 only the length of
	 * the 200 it stands for, which the handler did not give. HEAD gets
	 * the length of the body it leaves out. */
	if (req->status >= 200 && req->status != 204 && req->status != 304) {
		PUT_LIT(&h, "Content-Length: ");
		put_uint(&h, req->resp_len);
		PUT_LIT(&h, "\r\n");
	}
	PUT_LIT(&h, "X-Request-Id: ");
	put_str(&h, req->request_id);
	PUT_LIT(&h, "\r\nX-Content-Type-Options: nosniff\r\nConnection: ");
	if (keep_alive)
		PUT_LIT(&h, "keep-alive\r\n");
	else
		PUT_LIT(&h, "close\r\n");
	put(&h, req->headers, req->headers_len);
	PUT_LIT(&h, "\r\n");
	return h.p > h.end ? 0 : (size_t)(h.p - buf);
}

/* Headers longer than the head room (or no body to put them before): a
 * write of their own. Not inlined: the worker threads' small stacks only
 * hold `head` on this path. */
static __attribute__((noinline)) size_t
send_apart(struct gb_request *req, int keep_alive, size_t body_len)
{
	char head[GB_RESPONSE_HEADERS_MAX + 512];
	size_t hl = format_head(req, keep_alive, head, sizeof head);
	if (hl == 0)
		return 0;
	mg_write(req->conn, head, hl);
	if (body_len > 0)
		mg_write(req->conn, gb_response_body(req->resp_buf), body_len);
	return body_len;
}

size_t gb_response_send(struct gb_request *req, int keep_alive)
{
	int no_body = req->head || req->status == 204 || req->status == 304 ||
		      req->status < 200;
	size_t body_len = no_body || !req->resp_buf ? 0 : req->resp_len;
	/* The head room first: one write for status, headers and body. */
	if (body_len > 0) {
		char *room = req->resp_buf;
		size_t hl =
		    format_head(req, keep_alive, room, GB_RESPONSE_HEAD_ROOM);
		if (hl > 0) {
			char *start = room + GB_RESPONSE_HEAD_ROOM - hl;
			memmove(start, room, hl);
			mg_write(req->conn, start, hl + body_len);
			return body_len;
		}
	}
	return send_apart(req, keep_alive, body_len);
}
