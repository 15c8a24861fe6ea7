#include "server.h"

#include <civetweb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "intake.h"
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
static long header_timeout_ms;
static long keepalive_requests;
static struct gb_body_limits body_limits;
static int listen_fd = -1;
static atomic_int connections;
/* When the request being read on this worker's connection began: the
 * connection's start, then the end of each response. */
static _Thread_local double request_began;

static struct gb_metric *requests_total, *request_duration;
static struct gb_series *in_flight;

static const char *const method_labels[] = {"GET",    "HEAD",  "POST",	 "PUT",
					    "DELETE", "PATCH", "OPTIONS"};

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
	int writable = gb_storage_writable(detail, sizeof detail);
	cJSON *wr = cJSON_AddObjectToObject(st, "writes");
	cJSON_AddStringToObject(wr, "status", writable ? "ok" : "fail");
	if (!writable)
		cJSON_AddStringToObject(wr, "error", detail);
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
	    "HTTP requests by method, route template and status.", req_labels,
	    NULL, 0, err, errlen);
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
	header_timeout_ms = gb_config_int("header_timeout_ms");
	keepalive_requests = gb_config_int("keepalive_requests");
	body_limits.timeout = (double)gb_config_int("body_timeout_ms") / 1000.0;
	body_limits.min_rate = (double)gb_config_int("body_min_rate");
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
 * With trust_proxy, the client is the LAST X-Forwarded-For entry over all
 * X-Forwarded-For lines: the one the proxy in front of us appended. Earlier
 * entries and lines come from the client itself and could be anything (a
 * forged one must not pick a fresh rate limit bucket).
 */
static void client_address(struct gb_request *req, const struct gb_intake *in)
{
	const char *xff = trust_proxy ? in->forwarded_for : NULL;
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

/* 1 when the comma list `v` holds `token` (case-insensitive). */
static int has_token(const char *v, const char *token)
{
	size_t n = strlen(token);
	while (v && *v) {
		v += strspn(v, " ,");
		size_t len = strcspn(v, " ,");
		if (len == n && strncasecmp(v, token, n) == 0)
			return 1;
		v += len;
	}
	return 0;
}

static int wants_keep_alive(const struct gb_intake *in, uintptr_t served)
{
	if (atomic_load(&shutting_down) || keepalive_ms == 0 ||
	    (keepalive_requests > 0 && served >= (uintptr_t)keepalive_requests))
		return 0;
	if (has_token(in->connection, "close"))
		return 0;
	return in->http11 || has_token(in->connection, "keep-alive");
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
		       size_t bytes, const char *user_agent)
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
	    .user_agent = user_agent,
	    .trace_id = trace_id,
	    .span_id = span_id,
	};
	gb_log_access(&e);
}

/* Routes the request and runs its handler, or answers the error that
 * stops it. Clears *keep when the body is left unread. */
static const char *serve(struct gb_request *req, const struct gb_intake *in,
			 int *keep)
{
	unsigned allow = 0;
	int m =
	    gb_router_match(req->path, gb_method_bit(req->ri->request_method),
			    &req->match, &allow);
	/* A body nobody reads is never drained: the connection closes. */
	int body_pending = in->content_length > 0;
	if (m == 0) {
		*keep &= !body_pending;
		gb_respond_error(req, 404, "not_found", "no such resource",
				 NULL);
		return "other";
	}
	const char *route =
	    req->match.route ? req->match.route->pattern : "other";
	if (m < 0) {
		char methods[128];
		gb_methods_format(allow, methods, sizeof methods);
		gb_res_header(req, "Allow", methods);
		*keep &= !body_pending;
		gb_respond_error(req, 405, "method_not_allowed",
				 "method not allowed for this resource", NULL);
		return route;
	}
	if (gb_intake_cross_site(req->ri->request_method, in)) {
		*keep &= !body_pending;
		gb_respond_error(req, 403, "cross_site",
				 "cross-site requests may not change anything",
				 NULL);
		return route;
	}
	const struct gb_route_handler_slot *h = req->match.handler;
	struct gb_body_limits lim = body_limits;
	lim.max = h->max_body ? h->max_body : default_max_body;
	struct gb_intake_error err;
	if (gb_intake_read_body(req->conn, in, &lim, &req->body, &req->body_len,
				&err) < 0) {
		*keep = 0;
		gb_respond_error(req, err.status, err.code, err.message, NULL);
		return route;
	}
	h->handler(req, h->userdata);
	if (!req->responded) {
		gb_log(GB_LOG_ERROR, h->owner,
		       "handler for %s answered nothing", route);
		gb_respond_error(req, 500, "internal", "internal error", NULL);
	}
	return route;
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
	uintptr_t served = (uintptr_t)mg_get_user_connection_data(conn) + 1;
	mg_set_user_connection_data(conn, (void *)served);
	struct gb_intake in;
	struct gb_intake_error err;
	int bad = gb_intake_check(req.ri, &in, &err);
	int bad_path = decode_path(&req);
	req.head = strcmp(req.ri->request_method, "HEAD") == 0;
	if (!bad && in.request_id && valid_request_id(in.request_id))
		snprintf(req.request_id, sizeof req.request_id, "%s",
			 in.request_id);
	else
		new_request_id(req.request_id);
	client_address(&req, &in);
	if (gb_trace_on)
		gb_trace_request_begin(mg_get_header(conn, "traceparent"),
				       mg_get_header(conn, "tracestate"));

	const char *route = "other";
	int keep = !bad && wants_keep_alive(&in, served);
	if (bad) {
		gb_respond_error(&req, err.status, err.code, err.message, NULL);
	} else if (bad_path) {
		keep &= in.content_length <= 0;
		gb_respond_error(&req, 400, "invalid_path",
				 "the path is not valid", NULL);
	} else {
		route = serve(&req, &in, &keep);
	}
	/* civetweb keeps the connection by its own reading of the request;
	 * a response that says close must close it, without draining. */
	if (!keep)
		mg_disable_connection_keep_alive(conn);
	count(&req, route, t0);
	size_t bytes = gb_response_send(&req, keep);
	log_access(&req, route, t0, bytes, bad ? NULL : in.user_agent);
	if (gb_trace_on)
		gb_trace_request_end(req.ri->request_method,
				     req.match.route ? route : NULL, req.path,
				     req.status, req.client,
				     bad ? NULL : in.user_agent);
	gb_request_release(&req);
	gb_gauge_add(in_flight, -1);
	request_began = gb_now_monotonic();
	return req.status;
}

/*
 * civetweb 1.15 answers "Malformed message" to a header block larger than
 * its buffer (max_request_size), to one that did not arrive within
 * request_timeout_ms (keep_alive_timeout_ms on a reused connection), and
 * to a control character in it. The time the read took tells the timeout
 * apart; the rest is taken for a block too large (431).
 */
static int malformed_status(const struct mg_connection *conn)
{
	uintptr_t served = (uintptr_t)mg_get_user_connection_data(conn);
	double limit = (double)(served ? keepalive_ms : header_timeout_ms);
	double waited = (gb_now_monotonic() - request_began) * 1000.0;
	return waited >= 0.9 * limit ? 408 : 431;
}

/* Errors civetweb answers itself (unknown method, malformed request):
 * the same JSON error shape as everything else, counted as route other.
 * civetweb closes the connection after each of them. */
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
	if (status == 400 && errmsg && strcmp(errmsg, "Malformed message") == 0)
		status = malformed_status(conn);
	const char *code = "http_error";
	switch (status) {
	case 400: code = "bad_request"; break;
	case 405: code = "method_not_allowed"; break;
	case 408:
		code = "request_timeout";
		errmsg = "the request header arrived too slowly";
		break;
	case 411: /* civetweb: a Content-Length it cannot read */
		status = 400;
		code = "bad_content_length";
		errmsg = "Content-Length is not a number";
		break;
	case 413: code = "payload_too_large"; break;
	case 431:
		code = "header_too_large";
		errmsg = "the request header block is too large";
		break;
	}
	gb_respond_error(&req, status, code,
			 errmsg && *errmsg ? errmsg : gb_status_text(status),
			 NULL);
	double t0 = gb_now_monotonic();
	if (req.ri && req.ri->request_method)
		count(&req, "other", t0);
	mg_disable_connection_keep_alive(conn);
	size_t bytes = gb_response_send(&req, 0);
	if (req.ri && req.ri->request_method)
		log_access(&req, "other", t0, bytes, NULL);
	gb_request_release(&req);
	request_began = gb_now_monotonic();
	return 0;
}

static int connection_opened(const struct mg_connection *conn, void **data)
{
	(void)conn;
	*data = NULL; /* the count of requests served on it */
	request_began = gb_now_monotonic();
	atomic_fetch_add(&connections, 1);
	return 0;
}

static void connection_closed(const struct mg_connection *conn)
{
	(void)conn;
	atomic_fetch_sub(&connections, 1);
}

static int log_message(const struct mg_connection *conn, const char *msg)
{
	(void)conn;
	gb_log(GB_LOG_WARN, "civetweb", "%s", msg);
	return 1;
}

/* civetweb keeps its listening socket to itself; the shutdown needs it
 * to stop accepting before the last requests are served. */
static int find_listener(int port)
{
	for (int fd = 0; fd < 1024; fd++) {
		int on = 0;
		socklen_t len = sizeof on;
		struct sockaddr_storage sa;
		socklen_t salen = sizeof sa;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 ||
		    !on || getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
			continue;
		int p = sa.ss_family == AF_INET
			    ? ntohs(((struct sockaddr_in *)&sa)->sin_port)
			: sa.ss_family == AF_INET6
			    ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
			    : -1;
		if (p == port)
			return fd;
	}
	return -1;
}

/*
 * Closes the listening socket under civetweb's accept loop by putting a
 * non-blocking listener nobody knows in its place: the port is released
 * (new connections are refused), while every connection civetweb already
 * accepted is still served.
 */
static void stop_accepting(void)
{
	if (listen_fd < 0)
		return;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(s, 1) < 0 || dup3(s, listen_fd, O_CLOEXEC) < 0)
		gb_log(GB_LOG_WARN, "core",
		       "cannot stop accepting: the last "
		       "queued connections may be cut");
	if (s >= 0)
		close(s);
	listen_fd = -1;
}

/* Waits until no connection has been open for 50 ms, at most `secs`. */
static void wait_idle(double secs)
{
	double end = gb_now_monotonic() + secs;
	int quiet = 0;
	while (quiet < 5 && gb_now_monotonic() < end) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		quiet = atomic_load(&connections) == 0 ? quiet + 1 : 0;
	}
}

int gb_server_start(char *err, size_t errlen)
{
	char threads[16], keepalive_text[16], header_text[16];
	snprintf(threads, sizeof threads, "%ld", gb_config_int("threads"));
	snprintf(keepalive_text, sizeof keepalive_text, "%ld", keepalive_ms);
	snprintf(header_text, sizeof header_text, "%ld", header_timeout_ms);
	const char *options[] = {
	    "listening_ports",
	    gb_config_get("listen"),
	    "num_threads",
	    threads,
	    "enable_keep_alive",
	    keepalive_ms ? "yes" : "no",
	    "keep_alive_timeout_ms",
	    keepalive_text,
	    "tcp_nodelay",
	    "1",
	    /* the whole header block, and every blocking read or write */
	    "request_timeout_ms",
	    header_text,
	    "decode_url",
	    "no",
	    "linger_timeout_ms",
	    "500",
	    /* civetweb would answer CORS preflights itself, granting any
	     * origin any method and header; the page uses the API on its
	     * own origin, so OPTIONS goes to dispatch (405 with Allow). */
	    "access_control_allow_origin",
	    "",
	    "access_control_allow_methods",
	    "",
	    NULL,
	};
	if (gb_intake_init() < 0)
		gb_log(GB_LOG_WARN, "core",
		       "no signal for body deadlines: "
		       "bodies are read a byte per call");
	struct mg_callbacks cb;
	memset(&cb, 0, sizeof cb);
	cb.log_message = log_message;
	cb.http_error = http_error;
	cb.init_connection = connection_opened;
	cb.connection_close = connection_closed;
	struct mg_init_data init = {.callbacks = &cb,
				    .configuration_options = options};
	struct mg_error_data error;
	char text[256] = "";
	memset(&error, 0, sizeof error);
	error.text = text;
	error.text_buffer_size = sizeof text;
	ctx = mg_start2(&init, &error);
	if (!ctx) {
		snprintf(err, errlen,
			 "setting listen (%s): cannot start the "
			 "HTTP server: %s",
			 gb_config_get("listen"),
			 text[0] ? text : "unknown error");
		return -1;
	}
	mg_set_request_handler(ctx, "/", dispatch, NULL);
	struct mg_server_port ports[4];
	int n = mg_get_server_ports(ctx, 4, ports);
	bound_port = n > 0 ? ports[0].port : 0;
	listen_fd = find_listener(bound_port);
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
	if (!ctx)
		return;
	/* Every connection still open ends within these deadlines. */
	stop_accepting();
	wait_idle((double)header_timeout_ms / 1000.0 + body_limits.timeout +
		  1.0);
	mg_stop(ctx);
	ctx = NULL;
}
