#include "request.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	size_t room = sizeof req->headers - req->headers_len;
	int n = snprintf(req->headers + req->headers_len, room, "%s: %s\r\n",
			 name, value);
	if (n < 0 || (size_t)n >= room) {
		req->headers[req->headers_len] = '\0';
		return GB_ERR_NOMEM;
	}
	req->headers_len += (size_t)n;
	if (strcasecmp(name, "Retry-After") == 0)
		req->has_retry_after = 1;
	return GB_OK;
}

enum gb_status gb_respond(struct gb_request *req, int status,
			  const char *content_type, const void *body,
			  size_t len)
{
	if (req->responded)
		return GB_ERR_STATE;
	if (status < 200 || status > 599) /* 1xx: never a final answer */
		return GB_ERR_INVALID;
	char *copy = NULL;
	if (len > 0) {
		copy = malloc(len);
		if (!copy)
			return GB_ERR_NOMEM;
		memcpy(copy, body, len);
	}
	req->responded = 1;
	req->status = status;
	snprintf(req->content_type, sizeof req->content_type, "%s",
		 content_type && !has_crlf(content_type) ? content_type : "");
	req->resp_body = copy;
	req->resp_len = len;
	return GB_OK;
}

enum gb_status gb_respond_json(struct gb_request *req, int status,
			       const cJSON *json)
{
	char *text = cJSON_PrintUnformatted(json);
	if (!text)
		return GB_ERR_NOMEM;
	enum gb_status st =
	    gb_respond(req, status, "application/json", text, strlen(text));
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
		gb_res_header(req, "Retry-After", status == 429 ? "60" : "5");
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

size_t gb_response_send(struct gb_request *req, int keep_alive)
{
	int no_body = req->head || req->status == 204 || req->status == 304 ||
		      req->status < 200;
	size_t body_len = no_body ? 0 : req->resp_len;
	/* RFC 9110 8.6: never in a 1xx or 204; in a 304 only the length of
	 * the 200 it stands for, which the handler did not give. HEAD gets
	 * the length of the body it leaves out. */
	char length[48] = "";
	if (req->status >= 200 && req->status != 204 && req->status != 304)
		snprintf(length, sizeof length, "Content-Length: %zu\r\n",
			 req->resp_len);
	char head[GB_RESPONSE_HEADERS_MAX + 512];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d %s\r\n"
			 "%s%s%s"
			 "%s"
			 "X-Request-Id: %s\r\n"
			 "X-Content-Type-Options: nosniff\r\n"
			 "Connection: %s\r\n"
			 "%s\r\n",
			 req->status, gb_status_text(req->status),
			 req->content_type[0] ? "Content-Type: " : "",
			 req->content_type, req->content_type[0] ? "\r\n" : "",
			 length, req->request_id,
			 keep_alive ? "keep-alive" : "close", req->headers);
	if (n < 0 || (size_t)n >= sizeof head)
		return 0;
	size_t hl = (size_t)n;
	/* One write for status, headers and body when it fits the per-thread
	 * buffer: no allocation on the hot path. */
	static _Thread_local char out[32768];
	if (body_len > 0 && hl + body_len <= sizeof out) {
		memcpy(out, head, hl);
		memcpy(out + hl, req->resp_body, body_len);
		mg_write(req->conn, out, hl + body_len);
		return body_len;
	}
	mg_write(req->conn, head, hl);
	if (body_len > 0)
		mg_write(req->conn, req->resp_body, body_len);
	return body_len;
}

void gb_request_release(struct gb_request *req)
{
	free(req->body);
	free(req->resp_body);
	req->body = req->resp_body = NULL;
}
