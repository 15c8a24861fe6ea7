#include "server.h"

#include <civetweb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "router.h"
#include "storage.h"
#include "trace.h"

static struct mg_context *ctx;
static atomic_int shutting_down;
static int bound_port;
static int access_log;
static size_t default_max_body;
static int trust_proxy;
static long keepalive_ms;

static struct gb_metric *requests_total, *request_duration;
static struct gb_series *in_flight;

static const char *const method_labels[] = {"GET",    "HEAD",  "POST",
					    "PUT",    "DELETE", "PATCH",
					    "OPTIONS"};

static const char *method_label(const char *m)
{
	for (size_t i = 0; i < sizeof method_labels / sizeof *method_labels;
	     i++)
		if (strcmp(m, method_labels[i]) == 0)
			return method_labels[i];
	return "OTHER";
}

static void health(struct gb_request *req, void *ud)
{
	(void)ud;
	static const char body[] = "{\"status\":\"ok\"}";
	gb_respond(req, 200, "application/json", body, sizeof body - 1);
}

static void ready(struct gb_request *req, void *ud)
{
	(void)ud;
	char detail[256];
	int ok = gb_storage_ready(detail, sizeof detail);
	int down = atomic_load(&shutting_down);
	cJSON *root = cJSON_CreateObject();
	cJSON *checks = cJSON_AddObjectToObject(root, "checks");
	cJSON *st = cJSON_AddObjectToObject(checks, "storage");
	cJSON_AddStringToObject(st, "backend", gb_store_name());
	cJSON_AddStringToObject(st, "status", ok ? "ok" : "fail");
	if (!ok)
		cJSON_AddStringToObject(st, "error", detail);
	cJSON *sd = cJSON_AddObjectToObject(checks, "shutdown");
	cJSON_AddStringToObject(sd, "status", down ? "fail" : "ok");
	cJSON_AddStringToObject(root, "status",
				ok && !down ? "ready" : "not ready");
	gb_res_header(req, "Cache-Control", "no-store");
	gb_respond_json(req, ok && !down ? 200 : 503, root);
	cJSON_Delete(root);
}

int gb_server_prepare(char *err, size_t errlen)
{
	static const char *const req_labels[] = {"method", "route", "status",
						 NULL};
	static const char *const dur_labels[] = {"method", "route", NULL};
	requests_total = gb_metric_register(
		GB_METRIC_COUNTER, "http_requests_total",
		"HTTP requests by method, route template and status.",
		req_labels, NULL, 0, err, errlen);
	request_duration = gb_metric_register(
		GB_METRIC_HISTOGRAM, "http_request_duration_seconds",
		"HTTP request duration in seconds, by method and route.",
		dur_labels, NULL, 0, err, errlen);
	struct gb_metric *inf = gb_metric_register(
		GB_METRIC_GAUGE, "http_requests_in_flight",
		"HTTP requests being served now.", NULL, NULL, 0, err, errlen);
	if (!requests_total || !request_duration || !inf)
		return -1;
	in_flight = gb_metric_series(inf, NULL);
	if (gb_router_add("core", GB_GET, "/health", health, NULL, 0) ||
	    gb_router_add("core", GB_GET, "/ready", ready, NULL, 0)) {
		snprintf(err, errlen, "cannot register /health and /ready");
		return -1;
	}
	atomic_store(&shutting_down, 0);
	access_log = gb_config_bool("access_log");
	default_max_body = (size_t)gb_config_int("max_body");
	trust_proxy = gb_config_bool("trust_proxy");
	keepalive_ms = gb_config_int("keepalive_ms");
	return 0;
}

static int valid_request_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == ':'))
			return 0;
	}
	return n >= 1 && n < GB_REQUEST_ID_MAX;
}

static void new_request_id(char out[GB_REQUEST_ID_MAX])
{
	static _Thread_local uint64_t state;
	static const char hex[] = "0123456789abcdef";
	if (state == 0 && getrandom(&state, sizeof state, 0) != sizeof state)
		state = (uint64_t)(uintptr_t)&state ^ (uint64_t)gb_now_wall();
	for (int half = 0; half < 2; half++) {
		/* xorshift64*: ids need uniqueness, not secrecy. */
		state ^= state >> 12;
		state ^= state << 25;
		state ^= state >> 27;
		uint64_t v = state * 2685821657736338717ULL;
		for (int i = 0; i < 16; i++)
			out[half * 16 + i] = hex[(v >> (i * 4)) & 15];
	}
	out[32] = '\0';
}

/*
 * With trust_proxy, the client is the LAST X-Forwarded-For entry: the one
 * the proxy in front of us appended. Earlier entries come from the client
 * itself and could be anything (a forged one must not pick a fresh rate
 * limit bucket).
 */
static void client_address(struct gb_request *req)
{
	const char *xff = trust_proxy ? mg_get_header(req->conn,
						      "X-Forwarded-For")
				      : NULL;
	if (xff) {
		const char *last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		last += strspn(last, " \t");
		size_t n = strcspn(last, " \t");
		if (n > 0 && n < sizeof req->client) {
			memcpy(req->client, last, n);
			req->client[n] = '\0';
			return;
		}
	}
	snprintf(req->client, sizeof req->client, "%s", req->ri->remote_addr);
}

/* Reads the body up to max; 1 if it is larger, -1 on a read error. */
static int read_body(struct gb_request *req, size_t max)
{
	long long declared = req->ri->content_length;
	if (declared > (long long)max)
		return 1;
	size_t cap = declared > 0 ? (size_t)declared + 1 : 1024;
	if (cap > max + 1)
		cap = max + 1;
	char *buf = malloc(cap + 1);
	if (!buf)
		return -1;
	size_t len = 0;
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				free(buf);
				return 1;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		int n = mg_read(req->conn, buf + len, cap - len);
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		return 1;
	}
	buf[len] = '\0';
	req->body = buf;
	req->body_len = len;
	return 0;
}

/*
 * civetweb runs with decode_url off so that the host decodes the path
 * itself and can refuse what a C string cannot carry: an encoded NUL
 * (%00) would otherwise cut the path short behind every plugin's back.
 * Returns 1 for a path to refuse (req->path is then the raw path).
 */
static int decode_path(struct gb_request *req)
{
	const char *raw = req->ri->local_uri ? req->ri->local_uri : "/";
	size_t len = strlen(raw);
	req->path = raw;
	if (len >= sizeof req->path_buf)
		return 1;
	int n = mg_url_decode(raw, (int)len, req->path_buf,
			      (int)sizeof req->path_buf, 0);
	if (n < 0 || strlen(req->path_buf) != (size_t)n)
		return 1;
	req->path = req->path_buf;
	return 0;
}

static int wants_keep_alive(const struct gb_request *req)
{
	if (atomic_load(&shutting_down) || keepalive_ms == 0)
		return 0;
	const char *c = mg_get_header(req->conn, "Connection");
	if (c)
		return strcasecmp(c, "keep-alive") == 0;
	return strcmp(req->ri->http_version, "1.1") == 0;
}

/* Request metrics, counted before the response leaves so that a client
 * that saw its answer also sees it counted in the next scrape. */
static void count(struct gb_request *req, const char *route, double t0)
{
	double dt = gb_now_monotonic() - t0;
	const char *method = method_label(req->ri->request_method);
	char status[8];
	snprintf(status, sizeof status, "%d", req->status);
	const char *rl[] = {method, route, status};
	const char *dl[] = {method, route};
	gb_counter_add(gb_metric_series(requests_total, rl), 1);
	struct gb_series *d = gb_metric_series(request_duration, dl);
	gb_histogram_observe(d, dt);
	if (gb_trace_on)
		gb_trace_exemplar(d, dt);
}

static void log_access(struct gb_request *req, const char *route, double t0,
		       size_t bytes)
{
	if (!access_log)
		return;
	double dt = gb_now_monotonic() - t0;
	char trace_id[33], span_id[17];
	gb_trace_ids(trace_id, span_id);
	struct gb_access_entry e = {
		.method = req->ri->request_method,
		.route = route,
		.path = req->path,
		.status = req->status,
		.duration_ms = dt * 1000.0,
		.bytes = bytes,
		.remote = req->client,
		.request_id = req->request_id,
		.user_agent = mg_get_header(req->conn, "User-Agent"),
		.trace_id = trace_id,
		.span_id = span_id,
	};
	gb_log_access(&e);
}

static int dispatch(struct mg_connection *conn, void *cbdata)
{
	(void)cbdata;
	double t0 = gb_now_monotonic();
	gb_gauge_add(in_flight, 1);
	struct gb_request req;
	memset(&req, 0, offsetof(struct gb_request, headers));
	req.headers[0] = '\0';
	req.conn = conn;
	req.ri = mg_get_request_info(conn);
	int bad_path = decode_path(&req);
	req.head = strcmp(req.ri->request_method, "HEAD") == 0;
	const char *rid = mg_get_header(conn, "X-Request-Id");
	if (rid && valid_request_id(rid))
		snprintf(req.request_id, sizeof req.request_id, "%s", rid);
	else
		new_request_id(req.request_id);
	client_address(&req);
	if (gb_trace_on)
		gb_trace_request_begin(mg_get_header(conn, "traceparent"),
				       mg_get_header(conn, "tracestate"));

	const char *route = "other";
	unsigned allow = 0;
	int keep = wants_keep_alive(&req);
	int m = bad_path ? 0
			 : gb_router_match(req.path,
					   gb_method_bit(req.ri->request_method),
					   &req.match, &allow);
	if (bad_path) {
		gb_respond_error(&req, 400, "invalid_path",
				 "the path is not valid", NULL);
	} else if (m == 0) {
		gb_respond_error(&req, 404, "not_found", "no such resource",
				 NULL);
	} else if (m < 0) {
		char methods[128];
		gb_methods_format(allow, methods, sizeof methods);
		gb_res_header(&req, "Allow", methods);
		gb_respond_error(&req, 405, "method_not_allowed",
				 "method not allowed for this resource", NULL);
		route = req.match.route ? req.match.route->pattern : "other";
	} else {
		const struct gb_route *r = req.match.route;
		route = r->pattern;
		int b = read_body(&req, r->max_body ? r->max_body
						    : default_max_body);
		if (b > 0) {
			keep = 0; /* the unread rest of the body is dropped */
			gb_respond_error(&req, 413, "payload_too_large",
					 "request body is too large", NULL);
		} else if (b < 0) {
			keep = 0;
			gb_respond_error(&req, 400, "invalid_body",
					 "could not read the request body",
					 NULL);
		} else {
			r->handler(&req, r->userdata);
			if (!req.responded) {
				gb_log(GB_LOG_ERROR, r->owner,
				       "handler for %s answered nothing",
				       r->pattern);
				gb_respond_error(&req, 500, "internal",
						 "internal error", NULL);
			}
		}
	}
	count(&req, route, t0);
	size_t bytes = gb_response_send(&req, keep);
	log_access(&req, route, t0, bytes);
	if (gb_trace_on)
		gb_trace_request_end(req.ri->request_method,
				     m > 0 || req.match.route ? route : NULL,
				     req.path, req.status, req.client,
				     mg_get_header(conn, "User-Agent"));
	gb_request_release(&req);
	gb_gauge_add(in_flight, -1);
	return req.status;
}

/* Errors civetweb answers itself (unknown method, malformed request):
 * the same JSON error shape as everything else, counted as route other. */
static int http_error(struct mg_connection *conn, int status,
		      const char *errmsg)
{
	struct gb_request req;
	memset(&req, 0, offsetof(struct gb_request, headers));
	req.headers[0] = '\0';
	req.conn = conn;
	req.ri = mg_get_request_info(conn);
	req.path = req.ri && req.ri->local_uri ? req.ri->local_uri : "";
	new_request_id(req.request_id);
	snprintf(req.client, sizeof req.client, "%s",
		 req.ri ? req.ri->remote_addr : "");
	const char *code = status == 400 ? "bad_request"
			   : status == 405 ? "method_not_allowed"
			   : status == 413 ? "payload_too_large"
					   : "http_error";
	gb_respond_error(&req, status, code,
			 errmsg && *errmsg ? errmsg : gb_status_text(status),
			 NULL);
	double t0 = gb_now_monotonic();
	if (req.ri && req.ri->request_method)
		count(&req, "other", t0);
	size_t bytes = gb_response_send(&req, 0);
	if (req.ri && req.ri->request_method)
		log_access(&req, "other", t0, bytes);
	gb_request_release(&req);
	return 0;
}

static int log_message(const struct mg_connection *conn, const char *msg)
{
	(void)conn;
	gb_log(GB_LOG_WARN, "civetweb", "%s", msg);
	return 1;
}

int gb_server_start(char *err, size_t errlen)
{
	char threads[16], keepalive_text[16];
	snprintf(threads, sizeof threads, "%ld", gb_config_int("threads"));
	snprintf(keepalive_text, sizeof keepalive_text, "%ld", keepalive_ms);
	const char *options[] = {
		"listening_ports", gb_config_get("listen"),
		"num_threads", threads,
		"enable_keep_alive", keepalive_ms ? "yes" : "no",
		"keep_alive_timeout_ms", keepalive_text,
		"tcp_nodelay", "1",
		"request_timeout_ms", "10000",
		"decode_url", "no",
		"linger_timeout_ms", "500",
		/* civetweb would answer CORS preflights itself, granting any
		 * origin any method and header; the page uses the API on its
		 * own origin, so OPTIONS goes to dispatch (405 with Allow). */
		"access_control_allow_origin", "",
		"access_control_allow_methods", "",
		NULL,
	};
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof cb);
	cb.log_message = log_message;
	cb.http_error = http_error;
	struct mg_init_data init = {.callbacks = &cb, .configuration_options =
							      options};
	struct mg_error_data error;
	char text[256] = "";
	memset(&error, 0, sizeof error);
	error.text = text;
	error.text_buffer_size = sizeof text;
	ctx = mg_start2(&init, &error);
	if (!ctx) {
		snprintf(err, errlen, "setting listen (%s): cannot start the "
			 "HTTP server: %s", gb_config_get("listen"),
			 text[0] ? text : "unknown error");
		return -1;
	}
	mg_set_request_handler(ctx, "/", dispatch, NULL);
	struct mg_server_port ports[4];
	int n = mg_get_server_ports(ctx, 4, ports);
	bound_port = n > 0 ? ports[0].port : 0;
	return 0;
}

int gb_server_port(void)
{
	return bound_port;
}

void gb_server_begin_shutdown(void)
{
	atomic_store(&shutting_down, 1);
}

void gb_server_stop(void)
{
	if (ctx)
		mg_stop(ctx);
	ctx = NULL;
}
