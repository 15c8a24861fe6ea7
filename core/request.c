#include "request.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *gb_req_method(struct gb_request *req)
{
	return req->ri->request_method;
}

const char *gb_req_path(struct gb_request *req)
{
	return req->path;
}

const char *gb_req_param(struct gb_request *req, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < req->match.nparams; i++)
		if (strncmp(req->match.names[i], name, n) == 0 &&
		    req->match.names[i][n] == '}')
			return req->match.values[i];
	return NULL;
}

int gb_req_query(struct gb_request *req, const char *name, char *buf,
		 size_t len)
{
	const char *qs = req->ri->query_string;
	if (!qs || len == 0)
		return -1;
	int n = mg_get_var(qs, strlen(qs), name, buf, len);
	return n >= 0 ? n : n == -1 ? -1 : -2;
}

const char *gb_req_header(struct gb_request *req, const char *name)
{
	return mg_get_header(req->conn, name);
}

const char *gb_req_body(struct gb_request *req, size_t *len)
{
	if (len)
		*len = req->body_len;
	return req->body ? req->body : "";
}

const char *gb_req_client(struct gb_request *req)
{
	return req->client;
}

const char *gb_req_id(struct gb_request *req)
{
	return req->request_id;
}

static int has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

enum gb_status gb_res_header(struct gb_request *req, const char *name,
			     const char *value)
{
	if (!name || !value || !*name || has_crlf(name) || has_crlf(value) ||
	    strchr(name, ':'))
		return GB_ERR_INVALID;
	size_t nl = strlen(name), vl = strlen(value);
	size_t room = sizeof req->headers - req->headers_len;
	/* "name: value\r\n" and the NUL after it */
	if (nl + vl + 5 > room)
		return GB_ERR_NOMEM;
	char *p = req->headers + req->headers_len;
	memcpy(p, name, nl);
	memcpy(p + nl, ": ", 2);
	memcpy(p + nl + 2, value, vl);
	memcpy(p + nl + 2 + vl, "\r\n", 3);
	req->headers_len += nl + vl + 4;
	if (strcasecmp(name, "Retry-After") == 0)
		req->has_retry_after = 1;
	return GB_OK;
}

/* The checks of every answer; 0 when `status` may answer. */
static enum gb_status may_answer(const struct gb_request *req, int status)
{
	if (req->responded)
		return GB_ERR_STATE;
	if (status < 200 || status > 599) /* 1xx: never a final answer */
		return GB_ERR_INVALID;
	return GB_OK;
}

/* Takes `buf` (from gb_response_body_alloc, or NULL for no body). */
static void answer(struct gb_request *req, int status, const char *content_type,
		   char *buf, size_t len)
{
	req->responded = 1;
	req->status = status;
	const char *ct =
	    content_type && !has_crlf(content_type) ? content_type : "";
	size_t n = strnlen(ct, sizeof req->content_type - 1);
	memcpy(req->content_type, ct, n);
	req->content_type[n] = '\0';
	req->resp_buf = buf;
	req->resp_len = len;
}

enum gb_status gb_respond(struct gb_request *req, int status,
			  const char *content_type, const void *body,
			  size_t len)
{
	enum gb_status st = may_answer(req, status);
	if (st != GB_OK)
		return st;
	char *buf = NULL;
	if (len > 0) {
		/* The one copy: the handler's buffer may go away before the
		 * response is sent. */
		buf = gb_response_body_alloc(len);
		if (!buf)
			return GB_ERR_NOMEM;
		memcpy(gb_response_body(buf), body, len);
	}
	answer(req, status, content_type, buf, len);
	return GB_OK;
}

/* Most JSON answers (errors, probes) are small: printed straight into a
 * response buffer of this size, they are never copied. */
#define JSON_PRINT_ROOM 2048

enum gb_status gb_respond_json(struct gb_request *req, int status,
			       const cJSON *json)
{
	enum gb_status st = may_answer(req, status);
	if (st != GB_OK)
		return st;
	char *buf = gb_response_body_alloc(JSON_PRINT_ROOM);
	if (!buf)
		return GB_ERR_NOMEM;
	/* cJSON prints without changing the document; its prototype lacks
	 * the const. */
	if (cJSON_PrintPreallocated((cJSON *)(uintptr_t)json,
				    gb_response_body(buf), JSON_PRINT_ROOM,
				    0)) {
		answer(req, status, "application/json", buf,
		       strlen(gb_response_body(buf)));
		return GB_OK;
	}
	free(buf);
	char *text = cJSON_PrintUnformatted(json);
	if (!text)
		return GB_ERR_NOMEM;
	st = gb_respond(req, status, "application/json", text, strlen(text));
	cJSON_free(text);
	return st;
}

enum gb_status gb_respond_error(struct gb_request *req, int status,
				const char *code, const char *message,
				const char *field)
{
	if (req->responded)
		return GB_ERR_STATE;
	if ((status == 429 || status == 503) && !req->has_retry_after)
		gb_res_header(req, "Retry-After",
			      status == 429 ? "60"
					    : GB_RETRY_AFTER_UNAVAILABLE);
	cJSON *root = cJSON_CreateObject(), *err = cJSON_CreateObject();
	if (!root || !err) {
		cJSON_Delete(root);
		cJSON_Delete(err);
		return GB_ERR_NOMEM;
	}
	cJSON_AddItemToObject(root, "error", err);
	cJSON_AddStringToObject(err, "code", code ? code : "internal");
	cJSON_AddStringToObject(err, "message", message ? message : "");
	if (field)
		cJSON_AddStringToObject(err, "field", field);
	enum gb_status st = gb_respond_json(req, status, root);
	cJSON_Delete(root);
	return st;
}

enum gb_status gb_redirect(struct gb_request *req, int status,
			   const char *location)
{
	if (req->responded)
		return GB_ERR_STATE;
	if (status != 301 && status != 302 && status != 303 && status != 307 &&
	    status != 308)
		return GB_ERR_INVALID;
	enum gb_status st = gb_res_header(req, "Location", location);
	if (st != GB_OK)
		return st;
	return gb_respond(req, status, "text/plain; charset=utf-8", "", 0);
}

void gb_request_release(struct gb_request *req)
{
	free(req->body);
	free(req->resp_buf);
	req->body = req->resp_buf = NULL;
}
