/*
 * request.h - one request and its response, as handlers see it through
 * the host API. The response is built in memory; response.h writes it.
 */
#ifndef GB_CORE_REQUEST_H
#define GB_CORE_REQUEST_H

#include <stddef.h>

#include "guestbook/plugin.h"
#include "response.h"
#include "router.h"

struct mg_connection;
struct mg_request_info;

#define GB_REQUEST_ID_MAX	65
#define GB_RESPONSE_HEADERS_MAX 2048

struct gb_request {
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	struct gb_route_match match;
	const char *path;
	unsigned method; /* its enum gb_method bit; 0: another method */
	char *body;
	size_t body_len;
	char request_id[GB_REQUEST_ID_MAX];
	char client[64];
	int head; /* HEAD: answer without a body */

	int responded;
	int status;
	char content_type[96];
	char *resp_buf; /* gb_response_body_alloc's, or NULL: no body */
	size_t resp_len;
	size_t headers_len;
	int has_retry_after;
	/* last: not zeroed per request */
	char headers[GB_RESPONSE_HEADERS_MAX];
	char path_buf[2048]; /* the decoded path */
};

/* The request accessors and response builders of struct gb_host_api. */
const char *gb_req_method(struct gb_request *req);
const char *gb_req_path(struct gb_request *req);
const char *gb_req_param(struct gb_request *req, const char *name);
int gb_req_query(struct gb_request *req, const char *name, char *buf,
		 size_t len);
const char *gb_req_header(struct gb_request *req, const char *name);
const char *gb_req_body(struct gb_request *req, size_t *len);
const char *gb_req_client(struct gb_request *req);
const char *gb_req_id(struct gb_request *req);
enum gb_status gb_res_header(struct gb_request *req, const char *name,
			     const char *value);
enum gb_status gb_respond(struct gb_request *req, int status,
			  const char *content_type, const void *body,
			  size_t len);
enum gb_status gb_respond_json(struct gb_request *req, int status,
			       const cJSON *json);
enum gb_status gb_respond_error(struct gb_request *req, int status,
				const char *code, const char *message,
				const char *field);
enum gb_status gb_redirect(struct gb_request *req, int status,
			   const char *location);

/* Frees what the request allocated. */
void gb_request_release(struct gb_request *req);

#endif
