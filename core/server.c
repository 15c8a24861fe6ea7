#include "server.h"

#include <civetweb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "clock.h"
#include "config.h"
#include "intake.h"
#include "log.h"
#include "probes.h"
#include "request.h"
#include "request_metrics.h"
#include "router.h"
#include "trace.h"

static struct mg_context *ctx;
static atomic_int shutting_down;
static int bound_port;
static size_t default_max_body;
static long keepalive_ms;
static long header_timeout_ms;
static long keepalive_requests;
static struct gb_body_limits body_limits;
static int listen_fd = -1;
static atomic_int connections;
/* When the request being read on this worker's connection began: the
 * connection's start, then the end of each response. */
static _Thread_local double request_began;

int gb_server_prepare(char *err, size_t errlen)
{
	if (gb_request_metrics_prepare(err, errlen) < 0)
		return -1;
	if (gb_probes_register() < 0) {
		snprintf(err, errlen, "cannot register /health and /ready");
		return -1;
	}
	atomic_store(&shutting_down, 0);
	gb_access_log_prepare();
	gb_intake_configure(gb_config_bool("trust_proxy"));
	default_max_body = (size_t)gb_config_int("max_body");
	keepalive_ms = gb_config_int("keepalive_ms");
	header_timeout_ms = gb_config_int("header_timeout_ms");
	keepalive_requests = gb_config_int("keepalive_requests");
	body_limits.timeout = (double)gb_config_int("body_timeout_ms") / 1000.0;
	body_limits.min_rate = (double)gb_config_int("body_min_rate");
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

/* Answers a refusal that leaves the body unread: the connection closes
 * when one is pending. */
static const char *refuse(struct gb_request *req, const struct gb_intake *in,
			  int *keep, const struct gb_intake_error *e,
			  const char *route)
{
	*keep &= !(in->content_length > 0);
	gb_respond_error(req, e->status, e->code, e->message, NULL);
	return route;
}

/* Routes the request and runs its handler, or answers the error that
 * stops it. Clears *keep when the body is left unread. Returns the
 * route template (the metric and log label). */
static const char *serve(struct gb_request *req, const struct gb_intake *in,
			 int *keep)
{
	static const struct gb_intake_error not_found = {404, "not_found",
							 "no such resource"};
	static const struct gb_intake_error not_allowed = {
	    405, "method_not_allowed", "method not allowed for this resource"};
	static const struct gb_intake_error cross_site = {
	    403, "cross_site", "cross-site requests may not change anything"};
	unsigned allow = 0;
	int m = gb_router_match(req->path, req->method, &req->match, &allow);
	if (m == 0)
		return refuse(req, in, keep, &not_found, "other");
	const char *route =
	    req->match.route ? req->match.route->pattern : "other";
	if (m < 0) {
		char methods[128];
		gb_methods_format(allow, methods, sizeof methods);
		gb_res_header(req, "Allow", methods);
		return refuse(req, in, keep, &not_allowed, route);
	}
	if (gb_intake_cross_site(req->method, in))
		return refuse(req, in, keep, &cross_site, route);
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

/* A request on `conn`, before the host reads anything of it. */
static void request_init(struct gb_request *req, struct mg_connection *conn)
{
	memset(req, 0, offsetof(struct gb_request, headers));
	req->headers[0] = '\0';
	req->conn = conn;
	req->ri = mg_get_request_info(conn);
}

/*
 * Sends the answer and accounts for it, with one elapsed time since t0:
 * the metrics before it leaves, the access log and the end of the trace
 * after. `in` is NULL for an error civetweb found itself.
 */
static void finish(struct gb_request *req, const char *route, double t0,
		   int keep, const struct gb_intake *in)
{
	/* civetweb keeps the connection by its own reading of the request;
	 * a response that says close must close it, without draining. */
	if (!keep)
		mg_disable_connection_keep_alive(req->conn);
	double now = gb_now_monotonic(), elapsed = now - t0;
	int counted = req->ri && req->ri->request_method;
	const char *user_agent = in ? in->user_agent : NULL;
	if (counted)
		gb_request_metrics_count(req, route, elapsed);
	size_t bytes = gb_response_send(req, keep);
	if (counted)
		gb_access_log_request(req, route, elapsed, bytes, user_agent);
	if (in && gb_trace_on)
		gb_trace_request_end(req->ri->request_method,
				     req->match.route ? route : NULL, req->path,
				     req->status, req->client, user_agent);
	gb_request_release(req);
	request_began = now;
}

static int dispatch(struct mg_connection *conn, void *cbdata)
{
	(void)cbdata;
	double t0 = gb_now_monotonic();
	gb_request_metrics_in_flight(1);
	struct gb_request req;
	request_init(&req, conn);
	uintptr_t served = (uintptr_t)mg_get_user_connection_data(conn) + 1;
	mg_set_user_connection_data(conn, (void *)served);
	struct gb_intake in;
	struct gb_intake_error err;
	int refused = gb_intake_request(&req, &in, &err);
	if (gb_trace_on)
		gb_trace_request_begin(mg_get_header(conn, "traceparent"),
				       mg_get_header(conn, "tracestate"));
	int keep = refused >= 0 && wants_keep_alive(&in, served);
	const char *route = "other";
	if (refused < 0) /* the header block: nothing after it is trusted */
		gb_respond_error(&req, err.status, err.code, err.message, NULL);
	else if (refused > 0)
		refuse(&req, &in, &keep, &err, route);
	else
		route = serve(&req, &in, &keep);
	/* the fields of a refused header block are not logged */
	if (refused < 0)
		in.user_agent = NULL;
	finish(&req, route, t0, keep, &in);
	gb_request_metrics_in_flight(-1);
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
	request_init(&req, conn);
	req.path = req.ri && req.ri->local_uri ? req.ri->local_uri : "";
	if (req.ri && req.ri->request_method)
		req.method = gb_method_bit(req.ri->request_method);
	gb_intake_new_request_id(req.request_id);
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
	finish(&req, "other", gb_now_monotonic(), 0, NULL);
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

/* Every request is authorized here: plugins check their own tokens. */
static int authorize_all(struct mg_connection *conn, void *cbdata)
{
	(void)conn;
	(void)cbdata;
	return 1;
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
	/* Without an authorization handler civetweb looks for a .htpasswd
	 * file on every request (two stat(2) calls in 1.15); the host has
	 * no password files. */
	mg_set_auth_handler(ctx, "/", authorize_all, NULL);
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

int gb_server_shutting_down(void)
{
	return atomic_load(&shutting_down);
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
