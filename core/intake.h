/*
 * intake.h - the host's checks on the request civetweb parsed, before any
 * handler runs: the header block as civetweb left it (its header limit,
 * obs-fold and other lines it stops at), the body framing, Host, Expect
 * and where a state-changing request comes from; what the host keeps of
 * the request (method, decoded path, request id, client address); and the
 * body read with its own deadline and minimum data rate.
 *
 * Every refusal of the header block or the body ends the connection:
 * after a framing error nothing that follows on the connection can be
 * trusted, and an unread body is never drained.
 */
#ifndef GB_CORE_INTAKE_H
#define GB_CORE_INTAKE_H

#include <stddef.h>

#include "request.h"

struct mg_connection;
struct mg_request_info;

/* A refusal: the status and the JSON error it is answered with. */
struct gb_intake_error {
	int status;
	const char *code;
	const char *message;
};

/* The headers the host itself reads, found in the one pass of the check. */
struct gb_intake {
	const char *host;
	const char *origin;
	const char *fetch_site; /* Sec-Fetch-Site */
	const char *expect;
	const char *connection;
	const char *request_id; /* X-Request-Id */
	const char *user_agent;
	const char *forwarded_for; /* the LAST X-Forwarded-For line */
	long long content_length;  /* -1: none */
	int http11;		   /* HTTP/1.1 (else 1.0) */
};

/*
 * Checks the header block and the framing of `ri` in one pass over its
 * headers and fills `in`. 0 when the request may go on; otherwise -1 with
 * `err` set (400, 411 or 431, 417 for an unknown expectation).
 */
int gb_intake_check(const struct mg_request_info *ri, struct gb_intake *in,
		    struct gb_intake_error *err);

/*
 * 1 when a state-changing request (`method`, an enum gb_method bit: POST,
 * PUT, PATCH, DELETE) comes from
 * another site: `Sec-Fetch-Site: cross-site`; or, unless Sec-Fetch-Site
 * says same-origin or none, an Origin (`null` included) whose host[:port]
 * is not the Host header.
 */
int gb_intake_cross_site(unsigned method, const struct gb_intake *in);

/*
 * Installs the handler of the signal that breaks a blocked body read at
 * each tick of the read deadline (see gb_intake_read_body). Once, before
 * the server starts. 0, or -1 when the signal cannot be used: bodies are
 * then read a byte per call.
 */
int gb_intake_init(void);

/* Deadlines of the body read, from the settings. */
struct gb_body_limits {
	size_t max;	 /* larger: 413 */
	double timeout;	 /* seconds for the whole body */
	double min_rate; /* bytes per second after the first 2 s */
};

/*
 * Reads the declared body (sending 100 Continue first when the client
 * asked for it). 0 and *body (malloc'd, NUL-terminated, the caller frees)
 * and *len on success; otherwise -1 with `err` set: 413 when it is larger
 * than the limit, 408 when it is too slow, 400 when the client went away
 * or sent less than it declared.
 */
int gb_intake_read_body(struct mg_connection *conn, const struct gb_intake *in,
			const struct gb_body_limits *lim, char **body,
			size_t *len, struct gb_intake_error *err);

/* Whether X-Forwarded-For names the client (the trust_proxy setting). */
void gb_intake_configure(int trust_forwarded_for);

/*
 * Takes in the request civetweb parsed into req->ri: checks it
 * (gb_intake_check), and fills req's method bit, HEAD flag, decoded
 * path, request id (the client's X-Request-Id when valid, else a new one)
 * and client address. 0 when the request may be routed; -1 when it is
 * refused and the connection must close; 1 when its path is refused
 * (400), which leaves the connection usable when no body is pending.
 * `err` says the answer of a refusal.
 */
int gb_intake_request(struct gb_request *req, struct gb_intake *in,
		      struct gb_intake_error *err);

/* A new random request id: 32 hex digits. */
void gb_intake_new_request_id(char out[GB_REQUEST_ID_MAX]);

#endif
