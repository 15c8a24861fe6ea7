/*
 * http_store.c - storage back end "http": the front end's view of a remote
 * guestbookd backend, spoken to over its v1 API with civetweb's HTTP
 * client. Only the "messages" collection exists there.
 *
 * Every call opens one connection (Connection: close), sends the request
 * with the caller's request id and client address, waits at most
 * backend_timeout_ms for the response head and reads the body. Anything
 * but a well-formed answer (no connection, timeout, 5xx, a body that is
 * not the JSON the v1 API promises) is GB_ERR_UNAVAILABLE, so the front
 * end shows its "try again" page instead of wrong data.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>

#include "guestbook/plugin.h"

#define HTTP_STORE_COLLECTION "messages"
#define HTTP_STORE_DEFAULT_TIMEOUT_MS 3000
#define HTTP_STORE_PING_TIMEOUT_MS 1000
#define HTTP_STORE_MAX_BODY (8u << 20) /* far above 100 full messages */
#define HTTP_STORE_PAGE_MAX 100        /* the v1 API's largest limit */

struct http_store {
	char url[512];        /* base URL as configured, for messages */
	char host[256];       /* without brackets for IPv6 */
	int port;
	char prefix[256];     /* path before /api/v1, no trailing slash */
	int timeout_ms;
	char auth_header[600]; /* "Authorization: Bearer ...\r\n" or "" */
	int library_ready;
};

/* A response read in full. */
struct http_reply {
	int status;
	char *body; /* NUL-terminated, malloc'd */
	size_t len;
};

static const struct gb_host_api *api;
static struct gb_plugin *self_plugin;
static struct http_store the_store;

static void pool_drain(void);

static void set_err(struct gb_error *err, enum gb_status status,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(struct gb_error *err, enum gb_status status,
		    const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static enum gb_status fail(struct gb_error *err, enum gb_status status,
			   const char *what, const char *detail)
{
	set_err(err, status, "%s: %s", what, detail);
	return status;
}

/* ---- configuration ---------------------------------------------------- */

static int parse_port(const char *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return (v >= 1 && v <= 65535) ? (int)v : -1;
}

/*
 * Splits "http://host[:port][/prefix]" into st. Returns 0 or -1 with a
 * reason in err.
 */
static int parse_backend_url(struct http_store *st, const char *url,
			     struct gb_error *err)
{
	const char *p, *host_end, *path;
	size_t hlen;

	if (strlen(url) >= sizeof(st->url)) {
		set_err(err, GB_ERR_INVALID, "backend_url is too long");
		return -1;
	}
	snprintf(st->url, sizeof(st->url), "%s", url);
	/* before any message that echoes the URL, whatever its scheme */
	p = strstr(url, "://");
	p = p ? p + 3 : url;
	if (memchr(p, '@', strcspn(p, "/?#"))) {
		/* never echo it: it would print a password into the log */
		set_err(err, GB_ERR_INVALID,
			"backend_url must not contain user:password@");
		return -1;
	}
	if (strncmp(url, "http://", 7) != 0) {
		set_err(err, GB_ERR_INVALID,
			"backend_url \"%s\" must start with http:// "
			"(https is not supported; terminate TLS in front)",
			url);
		return -1;
	}
	p = url + 7;
	path = p + strcspn(p, "/?#");
	if (*p == '[') {
		host_end = memchr(p, ']', (size_t)(path - p));
		if (!host_end)
			goto bad;
		p++;
		hlen = (size_t)(host_end - p);
		host_end++;
	} else {
		host_end = memchr(p, ':', (size_t)(path - p));
		if (!host_end)
			host_end = path;
		hlen = (size_t)(host_end - p);
	}
	if (hlen == 0 || hlen >= sizeof(st->host))
		goto bad;
	memcpy(st->host, p, hlen);
	st->host[hlen] = '\0';
	st->port = 80;
	if (*host_end == ':') {
		st->port = parse_port(host_end + 1,
				      (size_t)(path - host_end - 1));
		if (st->port < 0)
			goto bad;
	} else if (host_end != path) {
		goto bad;
	}
	if (*path == '?' || *path == '#')
		goto bad;
	snprintf(st->prefix, sizeof(st->prefix), "%s", path);
	hlen = strlen(st->prefix);
	while (hlen > 0 && st->prefix[hlen - 1] == '/')
		st->prefix[--hlen] = '\0';
	return 0;
bad:
	set_err(err, GB_ERR_INVALID,
		"backend_url \"%s\" is not http://HOST[:PORT][/PATH]", url);
	return -1;
}

static int parse_timeout(const char *s, int *out, struct gb_error *err)
{
	char *end;
	long v;

	if (!s || !*s) {
		*out = HTTP_STORE_DEFAULT_TIMEOUT_MS;
		return 0;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 600000) {
		set_err(err, GB_ERR_INVALID,
			"backend_timeout_ms \"%s\" must be 1 to 600000", s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int header_safe(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

static enum gb_status http_open(void *store, struct gb_error *err)
{
	struct http_store *st = store;
	const char *url = api->config_get("backend_url");
	const char *addr = api->config_get("api_addr");
	const char *token = api->config_get("admin_token");
	char legacy[300];

	if ((!url || !*url) && addr && *addr) {
		if (strlen(addr) > 250) {
			set_err(err, GB_ERR_INVALID, "api_addr is too long");
			return GB_ERR_INVALID;
		}
		snprintf(legacy, sizeof(legacy), "http://%s", addr);
		url = legacy;
	}
	if (!url || !*url) {
		set_err(err, GB_ERR_INVALID,
			"storage http needs backend_url "
			"(GUESTBOOK_BACKEND_URL) or api_addr "
			"(GUESTBOOK_API_ADDR)");
		return GB_ERR_INVALID;
	}
	if (parse_backend_url(st, url, err) < 0)
		return GB_ERR_INVALID;
	if (parse_timeout(api->config_get("backend_timeout_ms"),
			  &st->timeout_ms, err) < 0)
		return GB_ERR_INVALID;
	st->auth_header[0] = '\0';
	if (token && *token) {
		if (!header_safe(token) ||
		    strlen(token) > sizeof(st->auth_header) - 40) {
			set_err(err, GB_ERR_INVALID,
				"admin_token is not usable in a header");
			return GB_ERR_INVALID;
		}
		snprintf(st->auth_header, sizeof(st->auth_header),
			 "Authorization: Bearer %s\r\n", token);
	}
	mg_init_library(0);
	st->library_ready = 1;
	api->log(self_plugin, GB_LOG_INFO,
		 "backend %s (timeout %d ms)", st->url, st->timeout_ms);
	return GB_OK;
}

static void http_close(void *store)
{
	struct http_store *st = store;

	if (st->library_ready) {
		pool_drain();
		mg_exit_library();
		st->library_ready = 0;
	}
}

/* ---- reading responses -------------------------------------------------- */

static void reply_free(struct http_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static enum gb_status read_body(struct http_store *st,
				struct mg_connection *conn,
				const struct mg_response_info *ri,
				struct http_reply *out, struct gb_error *err)
{
	size_t cap = 4096, len = 0;
	char *buf;
	int n;

	if (ri->content_length > (long long)HTTP_STORE_MAX_BODY)
		goto too_large;
	if (ri->content_length >= 0)
		cap = (size_t)ri->content_length + 1;
	buf = malloc(cap);
	if (!buf)
		return fail(err, GB_ERR_NOMEM, "backend", "out of memory");
	for (;;) {
		if (len + 1 >= cap) {
			char *bigger;

			if (cap > HTTP_STORE_MAX_BODY) {
				free(buf);
				goto too_large;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return fail(err, GB_ERR_NOMEM, "backend",
					    "out of memory");
			}
			buf = bigger;
			cap *= 2;
		}
		n = mg_read(conn, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (ri->content_length >= 0 && len != (size_t)ri->content_length) {
		free(buf);
		set_err(err, GB_ERR_UNAVAILABLE,
			"backend %s: response body cut short (%zu of %lld "
			"bytes)", st->url, len, ri->content_length);
		return GB_ERR_UNAVAILABLE;
	}
	buf[len] = '\0';
	out->body = buf;
	out->len = len;
	return GB_OK;
too_large:
	set_err(err, GB_ERR_UNAVAILABLE,
		"backend %s: response larger than %u bytes", st->url,
		HTTP_STORE_MAX_BODY);
	return GB_ERR_UNAVAILABLE;
}

/* ---- keep-alive pool ----------------------------------------------------- */

/*
 * Idle connections to the backend, reused by GET and DELETE (idempotent,
 * so a request on a connection the backend closed meanwhile is retried
 * once on a new one). Few and short-lived on purpose: civetweb gives every
 * open connection a worker thread of the backend, and the backend closes
 * idle ones after keepalive_ms (1 s by default).
 */
#define POOL_MAX 8
#define POOL_IDLE_MAX_S 0.5

struct pooled {
	struct mg_connection *conn;
	double since;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pooled pool[POOL_MAX];
static int pool_n;

/* A fresh enough idle connection, or NULL. */
static struct mg_connection *pool_take(void)
{
	struct mg_connection *stale[POOL_MAX], *conn = NULL;
	double now = api->now_monotonic();
	int nstale = 0;

	pthread_mutex_lock(&pool_lock);
	while (pool_n > 0 && !conn) {
		struct pooled *p = &pool[--pool_n];

		if (now - p->since <= POOL_IDLE_MAX_S)
			conn = p->conn;
		else
			stale[nstale++] = p->conn;
	}
	pthread_mutex_unlock(&pool_lock);
	while (nstale > 0)
		mg_close_connection(stale[--nstale]);
	return conn;
}

static void pool_put(struct mg_connection *conn)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_n < POOL_MAX) {
		pool[pool_n].conn = conn;
		pool[pool_n].since = api->now_monotonic();
		pool_n++;
		conn = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (conn)
		mg_close_connection(conn);
}

static void pool_drain(void)
{
	pthread_mutex_lock(&pool_lock);
	while (pool_n > 0)
		mg_close_connection(pool[--pool_n].conn);
	pthread_mutex_unlock(&pool_lock);
}

/* Whether the backend lets the connection stay open after `ri`. */
static int response_keeps_alive(const struct mg_response_info *ri)
{
	for (int i = 0; i < ri->num_headers; i++)
		if (strcasecmp(ri->http_headers[i].name, "Connection") == 0)
			return strcasecmp(ri->http_headers[i].value,
					  "close") != 0;
	return ri->http_version && strcmp(ri->http_version, "1.1") == 0;
}

/* ---- one HTTP exchange -------------------------------------------------- */

/*
 * Writes the whole request in one write: several small writes on a kept-
 * alive connection would meet Nagle's algorithm and the peer's delayed ACK
 * (40 ms each time).
 */
/* The W3C Trace Context headers of the call this thread is making. */
static _Thread_local char trace_headers[1024];

static int send_request(struct http_store *st, struct mg_connection *conn,
			const struct gb_store_ctx *ctx, const char *method,
			const char *target, const char *json)
{
	size_t len = json ? strlen(json) : 0;
	char head[4096], *buf; /* room for a 512-byte tracestate */
	int n, ok;

	n = snprintf(head, sizeof(head),
		     "%s %s%s HTTP/1.1\r\n"
		     "Host: %s:%d\r\n"
		     "Accept: application/json\r\n"
		     "User-Agent: guestbookd-http-store\r\n"
		     "%s%s%s%s%s%s%s%s",
		     method, st->prefix, target, st->host, st->port,
		     trace_headers,
		     strcmp(method, "DELETE") == 0 ? st->auth_header : "",
		     ctx && header_safe(ctx->request_id) ? "X-Request-Id: " : "",
		     ctx && header_safe(ctx->request_id) ? ctx->request_id : "",
		     ctx && header_safe(ctx->request_id) ? "\r\n" : "",
		     ctx && header_safe(ctx->client_addr) ? "X-Forwarded-For: " :
							    "",
		     ctx && header_safe(ctx->client_addr) ? ctx->client_addr :
							    "",
		     ctx && header_safe(ctx->client_addr) ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head) - 80)
		return 0;
	n += snprintf(head + n, sizeof(head) - (size_t)n,
		      json ? "Content-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n" :
			     "\r\n",
		      len);
	buf = malloc((size_t)n + len);
	if (!buf)
		return 0;
	memcpy(buf, head, (size_t)n);
	if (len)
		memcpy(buf + n, json, len);
	ok = mg_write(conn, buf, (size_t)n + len) == (int)((size_t)n + len);
	free(buf);
	return ok;
}

/*
 * Sends `method target` (target starts with "/") with an optional JSON
 * body and reads the whole response into out (caller frees with
 * reply_free). Any transport problem is GB_ERR_UNAVAILABLE.
 */
static enum gb_status http_exchange(struct http_store *st,
				    const struct gb_store_ctx *ctx,
				    const char *method, const char *target,
				    const char *json, int timeout_ms,
				    struct http_reply *out, struct gb_error *err)
{
	int idempotent = strcmp(method, "POST") != 0;

	memset(out, 0, sizeof(*out));
	for (int attempt = 0; attempt < 2; attempt++) {
		/* The retry always opens a new connection. */
		struct mg_connection *conn =
			idempotent && attempt == 0 ? pool_take() : NULL;
		const struct mg_response_info *ri;
		int reused = conn != NULL;
		double t0 = api->now_monotonic();
		char ebuf[256] = "";
		enum gb_status rc;

		if (!conn)
			conn = mg_connect_client(st->host, st->port, 0, ebuf,
						 sizeof(ebuf));
		if (!conn) {
			set_err(err, GB_ERR_UNAVAILABLE,
				"backend %s unreachable: %s", st->url,
				*ebuf ? ebuf : "connection failed");
			return GB_ERR_UNAVAILABLE;
		}
		if (!send_request(st, conn, ctx, method, target, json) ||
		    mg_get_response(conn, ebuf, sizeof(ebuf), timeout_ms) < 0) {
			mg_close_connection(conn);
			/* A pooled connection the backend had closed fails
			 * at once: try again on a new one. */
			if (reused && api->now_monotonic() - t0 <
					      timeout_ms / 2000.0)
				continue;
			set_err(err, GB_ERR_UNAVAILABLE,
				"backend %s: no valid response within %d ms "
				"(%s)",
				st->url, timeout_ms,
				*ebuf ? ebuf : "connection lost");
			return GB_ERR_UNAVAILABLE;
		}
		ri = mg_get_response_info(conn);
		if (!ri) {
			mg_close_connection(conn);
			return fail(err, GB_ERR_UNAVAILABLE, "backend",
				    "no response information");
		}
		out->status = ri->status_code;
		rc = read_body(st, conn, ri, out, err);
		if (rc == GB_OK && ri->content_length >= 0 &&
		    response_keeps_alive(ri))
			pool_put(conn);
		else
			mg_close_connection(conn);
		return rc;
	}
	set_err(err, GB_ERR_UNAVAILABLE, "backend %s: connection lost twice",
		st->url);
	return GB_ERR_UNAVAILABLE;
}

/* http_exchange inside a client span, with the trace context sent. */
static enum gb_status http_call(struct http_store *st,
				const struct gb_store_ctx *ctx,
				const char *method, const char *target,
				const char *json, int timeout_ms,
				struct http_reply *out, struct gb_error *err)
{
	struct gb_span *span = NULL;
	char url[1300];
	enum gb_status rc;

	trace_headers[0] = '\0';
	if (ctx && GB_HOST_HAS(api, trace_client_end)) {
		snprintf(url, sizeof(url), "%s%s", st->url, target);
		span = api->trace_client_begin(method, st->host, st->port, url,
					       trace_headers,
					       sizeof(trace_headers));
	}
	rc = http_exchange(st, ctx, method, target, json, timeout_ms, out,
			   err);
	if (ctx && GB_HOST_HAS(api, trace_client_end))
		api->trace_client_end(span, rc == GB_OK ? out->status : 0,
				      rc == GB_OK ? NULL : err->message);
	trace_headers[0] = '\0';
	return rc;
}

/* ---- v1 JSON <-> documents --------------------------------------------- */

/* "2026-11-26T06:00:00.123Z" -> epoch seconds; -1 when malformed. */
static int parse_rfc3339(const char *s, double *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0;
	double frac = 0.0;
	const char *p;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
		   &sec, &n) != 6 || n != 19)
		return -1;
	p = s + n;
	if (*p == '.') {
		double scale = 0.1;

		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			frac += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (strcmp(p, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (double)t + frac;
	return 0;
}

static const char *string_member(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * Turns one v1 message into a document {id, author, message, date}.
 * Returns NULL when the object does not have the v1 shape.
 */
static cJSON *message_to_doc(const cJSON *m, const char **missing)
{
	const char *id = string_member(m, "id");
	const char *author = string_member(m, "author");
	const char *text = string_member(m, "message");
	const char *created = string_member(m, "created_at");
	double date;
	cJSON *doc;

	*missing = !cJSON_IsObject(m) ? "an object" :
		   !id || !*id || strlen(id) >= GB_ID_MAX ? "\"id\"" :
		   !author ? "\"author\"" :
		   !text ? "\"message\"" :
		   !created ? "\"created_at\"" : NULL;
	if (*missing)
		return NULL;
	if (parse_rfc3339(created, &date) < 0) {
		*missing = "an RFC 3339 \"created_at\"";
		return NULL;
	}
	doc = cJSON_CreateObject();
	if (!doc || !cJSON_AddStringToObject(doc, "author", author) ||
	    !cJSON_AddStringToObject(doc, "message", text) ||
	    !cJSON_AddNumberToObject(doc, "date", date) ||
	    !cJSON_AddStringToObject(doc, "id", id)) {
		cJSON_Delete(doc);
		*missing = "memory";
		return NULL;
	}
	return doc;
}

/* The backend's error message from a v1 error body, or a fallback. */
static void backend_error(const struct http_reply *r, char *buf, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(r->body, r->len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const char *msg = string_member(e, "message");

	snprintf(buf, len, "%s", msg ? msg : "no error message");
	cJSON_Delete(root);
}

/*
 * Maps a status the operation did not expect to an error: 404 not found,
 * 400/413/422 invalid (with the backend's message), everything else
 * unavailable.
 */
static enum gb_status unexpected(struct http_store *st,
				 const struct http_reply *r, const char *op,
				 struct gb_error *err)
{
	char msg[200];

	backend_error(r, msg, sizeof(msg));
	switch (r->status) {
	case 404:
		set_err(err, GB_ERR_NOT_FOUND, "not found");
		return GB_ERR_NOT_FOUND;
	case 400:
	case 413:
	case 422:
		set_err(err, GB_ERR_INVALID, "%s", msg);
		return GB_ERR_INVALID;
	case 401:
	case 403:
		set_err(err, GB_ERR_INTERNAL,
			"backend %s refused %s (HTTP %d): set the same "
			"admin_token on front end and backend",
			st->url, op, r->status);
		return GB_ERR_INTERNAL;
	default:
		set_err(err, GB_ERR_UNAVAILABLE,
			"backend %s answered %s with HTTP %d: %s", st->url, op,
			r->status, msg);
		return GB_ERR_UNAVAILABLE;
	}
}

static enum gb_status garbage(struct http_store *st, const char *op,
			      const char *what, struct gb_error *err)
{
	set_err(err, GB_ERR_UNAVAILABLE,
		"backend %s answered %s with an invalid body: expected %s",
		st->url, op, what);
	return GB_ERR_UNAVAILABLE;
}

static int check_collection(const char *collection, struct gb_error *err)
{
	if (collection && strcmp(collection, HTTP_STORE_COLLECTION) == 0)
		return 0;
	set_err(err, GB_ERR_INVALID,
		"the http store serves only the \"messages\" collection of "
		"the backend, not \"%s\"",
		collection ? collection : "(null)");
	return -1;
}

/* ---- the operations ---------------------------------------------------- */

static enum gb_status http_insert(void *store, const struct gb_store_ctx *ctx,
				  const char *collection, const cJSON *doc,
				  char id_out[GB_ID_MAX], struct gb_error *err)
{
	struct http_store *st = store;
	const char *author = string_member(doc, "author");
	const char *text = string_member(doc, "message");
	struct http_reply r;
	cJSON *body, *root;
	const char *id, *missing;
	char *json;
	enum gb_status rc;

	if (check_collection(collection, err) < 0)
		return GB_ERR_INVALID;
	if (!author || !text)
		return fail(err, GB_ERR_INVALID, "document",
			    "a message needs string \"author\" and "
			    "\"message\"");
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "author", author) ||
	    !cJSON_AddStringToObject(body, "message", text) ||
	    !(json = cJSON_PrintUnformatted(body))) {
		cJSON_Delete(body);
		return fail(err, GB_ERR_NOMEM, "insert", "out of memory");
	}
	cJSON_Delete(body);
	rc = http_call(st, ctx, "POST", "/api/v1/messages", json,
		       st->timeout_ms, &r, err);
	cJSON_free(json);
	if (rc != GB_OK)
		return rc;
	if (r.status != 201) {
		rc = unexpected(st, &r, "POST /api/v1/messages", err);
		reply_free(&r);
		return rc;
	}
	root = cJSON_ParseWithLength(r.body, r.len);
	reply_free(&r);
	id = string_member(root, "id");
	if (!id || !*id || strlen(id) >= GB_ID_MAX) {
		cJSON_Delete(root);
		return garbage(st, "POST /api/v1/messages",
			       "the stored message with an \"id\"", err);
	}
	/* The backend's answer must be a whole message, not just an id. */
	cJSON_Delete(message_to_doc(root, &missing));
	if (missing) {
		cJSON_Delete(root);
		return garbage(st, "POST /api/v1/messages", missing, err);
	}
	snprintf(id_out, GB_ID_MAX, "%s", id);
	cJSON_Delete(root);
	return GB_OK;
}

static enum gb_status http_get(void *store, const struct gb_store_ctx *ctx,
			       const char *collection, const char *id,
			       cJSON **doc_out, struct gb_error *err)
{
	struct http_store *st = store;
	char target[64 + 3 * GB_ID_MAX], enc[3 * GB_ID_MAX + 1];
	struct http_reply r;
	cJSON *root;
	const char *missing;
	enum gb_status rc;

	*doc_out = NULL;
	if (check_collection(collection, err) < 0)
		return GB_ERR_INVALID;
	if (!id || !*id || strlen(id) >= GB_ID_MAX ||
	    mg_url_encode(id, enc, sizeof(enc)) < 0)
		return fail(err, GB_ERR_NOT_FOUND, "get", "no such id");
	snprintf(target, sizeof(target), "/api/v1/messages/%s", enc);
	rc = http_call(st, ctx, "GET", target, NULL, st->timeout_ms, &r, err);
	if (rc != GB_OK)
		return rc;
	if (r.status != 200) {
		rc = unexpected(st, &r, "GET /api/v1/messages/{id}", err);
		/* A malformed id is "not found" for every store. */
		if (rc == GB_ERR_INVALID)
			rc = err->status = GB_ERR_NOT_FOUND;
		reply_free(&r);
		return rc;
	}
	root = cJSON_ParseWithLength(r.body, r.len);
	reply_free(&r);
	*doc_out = message_to_doc(root, &missing);
	cJSON_Delete(root);
	if (!*doc_out)
		return garbage(st, "GET /api/v1/messages/{id}", missing, err);
	return GB_OK;
}

/* A cursor as the storage API promises them: 1 to 200 of [A-Za-z0-9_-]. */
static int cursor_valid(const char *c)
{
	size_t n = strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_-");

	return n > 0 && n <= 200 && c[n] == '\0';
}

/*
 * One page of at most 100: appends the documents to `docs` and replaces
 * *next with the backend's next cursor (NULL at the end).
 */
static enum gb_status list_page(struct http_store *st,
				const struct gb_store_ctx *ctx, int limit,
				const char *cursor, cJSON *docs, char **next,
				struct gb_error *err)
{
	char target[700], enc[3 * 200 + 1];
	struct http_reply r;
	cJSON *root, *m;
	const cJSON *msgs, *nc;
	const char *missing;
	enum gb_status rc;

	if (cursor && *cursor) {
		if (strlen(cursor) > 200 ||
		    mg_url_encode(cursor, enc, sizeof(enc)) < 0)
			return fail(err, GB_ERR_INVALID, "cursor",
				    "cursor is not valid");
		snprintf(target, sizeof(target),
			 "/api/v1/messages?limit=%d&cursor=%s", limit, enc);
	} else {
		snprintf(target, sizeof(target), "/api/v1/messages?limit=%d",
			 limit);
	}
	rc = http_call(st, ctx, "GET", target, NULL, st->timeout_ms, &r, err);
	if (rc != GB_OK)
		return rc;
	if (r.status != 200) {
		rc = unexpected(st, &r, "GET /api/v1/messages", err);
		reply_free(&r);
		return rc;
	}
	root = cJSON_ParseWithLength(r.body, r.len);
	reply_free(&r);
	msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	nc = cJSON_GetObjectItemCaseSensitive(root, "next_cursor");
	if (!cJSON_IsArray(msgs) || !(cJSON_IsNull(nc) || cJSON_IsString(nc))) {
		cJSON_Delete(root);
		return garbage(st, "GET /api/v1/messages",
			       "{\"messages\":[...],\"next_cursor\":...}", err);
	}
	/* http_list pages on from here: a page must make progress. */
	if (cJSON_GetArraySize(msgs) > limit) {
		cJSON_Delete(root);
		return garbage(st, "GET /api/v1/messages",
			       "at most \"limit\" messages", err);
	}
	if (cJSON_IsString(nc) && *nc->valuestring &&
	    (!cursor_valid(nc->valuestring) ||
	     cJSON_GetArraySize(msgs) == 0)) {
		cJSON_Delete(root);
		return garbage(st, "GET /api/v1/messages",
			       "a next_cursor of 1 to 200 [A-Za-z0-9_-] after "
			       "at least one message",
			       err);
	}
	cJSON_ArrayForEach(m, msgs) {
		cJSON *doc = message_to_doc(m, &missing);

		if (!doc) {
			cJSON_Delete(root);
			return garbage(st, "GET /api/v1/messages", missing,
				       err);
		}
		cJSON_AddItemToArray(docs, doc);
	}
	free(*next);
	*next = NULL;
	if (cJSON_IsString(nc) && *nc->valuestring) {
		*next = strdup(nc->valuestring);
		if (!*next) {
			cJSON_Delete(root);
			return fail(err, GB_ERR_NOMEM, "list", "out of memory");
		}
	}
	cJSON_Delete(root);
	return GB_OK;
}

static enum gb_status http_list(void *store, const struct gb_store_ctx *ctx,
				const char *collection, int limit,
				const char *cursor, cJSON **docs_out,
				char **next_cursor, struct gb_error *err)
{
	struct http_store *st = store;
	cJSON *docs;
	char *next = NULL;
	enum gb_status rc = GB_OK;
	int want;

	*docs_out = NULL;
	*next_cursor = NULL;
	if (check_collection(collection, err) < 0)
		return GB_ERR_INVALID;
	if (limit < 1)
		return fail(err, GB_ERR_INVALID, "list", "limit must be >= 1");
	docs = cJSON_CreateArray();
	if (!docs)
		return fail(err, GB_ERR_NOMEM, "list", "out of memory");
	/* Larger lists (the legacy GET /messages) are fetched page by
	 * page; each page ends where the backend's cursor starts. */
	for (;;) {
		want = limit - cJSON_GetArraySize(docs);
		if (want > HTTP_STORE_PAGE_MAX)
			want = HTTP_STORE_PAGE_MAX;
		rc = list_page(st, ctx, want, next ? next : cursor, docs,
			       &next, err);
		if (rc != GB_OK || !next || cJSON_GetArraySize(docs) >= limit)
			break;
	}
	if (rc != GB_OK) {
		cJSON_Delete(docs);
		free(next);
		return rc;
	}
	*docs_out = docs;
	*next_cursor = next;
	return GB_OK;
}

static enum gb_status http_remove(void *store, const struct gb_store_ctx *ctx,
				  const char *collection, const char *id,
				  struct gb_error *err)
{
	struct http_store *st = store;
	char target[64 + 3 * GB_ID_MAX], enc[3 * GB_ID_MAX + 1];
	struct http_reply r;
	enum gb_status rc;

	if (check_collection(collection, err) < 0)
		return GB_ERR_INVALID;
	if (!id || !*id || strlen(id) >= GB_ID_MAX ||
	    mg_url_encode(id, enc, sizeof(enc)) < 0)
		return fail(err, GB_ERR_NOT_FOUND, "remove", "no such id");
	snprintf(target, sizeof(target), "/api/v1/messages/%s", enc);
	rc = http_call(st, ctx, "DELETE", target, NULL, st->timeout_ms, &r,
		       err);
	if (rc != GB_OK)
		return rc;
	if (r.status == 204 || r.status == 200)
		rc = GB_OK;
	else if ((rc = unexpected(st, &r, "DELETE /api/v1/messages/{id}",
				  err)) == GB_ERR_INVALID)
		rc = err->status = GB_ERR_NOT_FOUND;
	reply_free(&r);
	return rc;
}

static enum gb_status http_ping(void *store, struct gb_error *err)
{
	struct http_store *st = store;
	int timeout = st->timeout_ms < HTTP_STORE_PING_TIMEOUT_MS ?
			      st->timeout_ms :
			      HTTP_STORE_PING_TIMEOUT_MS;
	struct http_reply r;
	enum gb_status rc;

	rc = http_call(st, NULL, "GET", "/ready", NULL, timeout, &r, err);
	if (rc != GB_OK)
		return rc;
	if (r.status != 200) {
		set_err(err, GB_ERR_UNAVAILABLE,
			"backend %s is not ready (GET /ready answered %d)",
			st->url, r.status);
		rc = GB_ERR_UNAVAILABLE;
	}
	reply_free(&r);
	return rc;
}

static const struct gb_storage_ops http_ops = {
	.size = sizeof(struct gb_storage_ops),
	.open = http_open,
	.insert = http_insert,
	.get = http_get,
	.list = http_list,
	.remove = http_remove,
	.ping = http_ping,
	.close = http_close,
};

static int http_init(struct gb_plugin *self, const struct gb_host_api *host,
		     char **err, int *err_static)
{
	api = host;
	self_plugin = self;
	if (api->storage_register(self, "http", &http_ops, &the_store) !=
	    GB_OK) {
		*err = "cannot register storage \"http\"";
		*err_static = 1;
		return 1;
	}
	return 0;
}

GB_PLUGIN(GB_PLUGIN_STORAGE, "http", "1.0.0",
	  "Storage over a remote guestbookd backend's v1 API", http_init,
	  NULL);
