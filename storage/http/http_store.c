/*
 * http_store.c - storage back end "http": the front end's view of a remote
 * backend, spoken to with civetweb's HTTP client. Only the "messages"
 * collection exists there. Two contracts (setting backend_api):
 *
 *   v1      a guestbookd backend's /api/v1/messages: ids, cursors, delete;
 *   legacy  the original Flask backend's GET/POST /messages: the whole
 *           list in one array, no ids (see legacy.c);
 *   auto    (default) whichever the backend speaks, detected at start and
 *           again on every readiness ping, so a backend upgraded in place
 *           is followed within ready_cache_ms.
 *
 * Every call sends the request with the caller's request id and client
 * address on a pooled keep-alive connection (or a new one), waits at most
 * backend_timeout_ms for the response head and reads at most
 * backend_max_body bytes of body. Anything but a well-formed answer (no
 * connection, timeout, 5xx, a body too large or not the JSON the contract
 * promises) is GB_ERR_UNAVAILABLE, so the front end shows its "try again"
 * page instead of wrong data.
 *
 * Posts carry an Idempotency-Key (the caller's, or a random one per
 * insert), so a post on a pooled connection the backend had closed is
 * retried once on a new connection without storing the message twice: a
 * v1 backend answers the repeat with the first 201. Legacy posts are not
 * retried (the original backend ignores the key). Concurrent v1 posts are
 * sent together as one POST /api/v1/messages/batch (post_batch.c).
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
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

#include "guestbook/plugin.h"
#include "http_store.h"

#define HTTP_STORE_DEFAULT_TIMEOUT_MS 3000
#define HTTP_STORE_PING_TIMEOUT_MS    1000
#define HTTP_STORE_DEFAULT_MAX_BODY   (8L << 20) /* 8 MiB */
#define HTTP_STORE_PAGE_MAX	      100 /* the v1 API's largest limit */

static const struct gb_host_api *api;
static struct gb_plugin *self_plugin;
/* The store registered by init, for fini to free. */
static struct http_store *registered;

static void pool_drain(void);

static enum gb_status fail(struct gb_error *err, enum gb_status status,
			   const char *what, const char *detail)
{
	return gb_error_set(err, status, "%s: %s", what, detail);
}

const struct gb_host_api *http_host(void)
{
	return api;
}

void http_log(enum gb_log_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	api->log(self_plugin, level, "%s", buf);
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
		gb_error_set(err, GB_ERR_INVALID, "backend_url is too long");
		return -1;
	}
	snprintf(st->url, sizeof(st->url), "%s", url);
	/* before any message that echoes the URL, whatever its scheme */
	p = strstr(url, "://");
	p = p ? p + 3 : url;
	if (memchr(p, '@', strcspn(p, "/?#"))) {
		/* never echo it: it would print a password into the log */
		gb_error_set(err, GB_ERR_INVALID,
			     "backend_url must not contain user:password@");
		return -1;
	}
	if (strncmp(url, "http://", 7) != 0) {
		gb_error_set(err, GB_ERR_INVALID,
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
		st->port =
		    parse_port(host_end + 1, (size_t)(path - host_end - 1));
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
	gb_error_set(err, GB_ERR_INVALID,
		     "backend_url \"%s\" is not http://HOST[:PORT][/PATH]",
		     url);
	return -1;
}

/*
 * The integer setting `key` (unset: `def`) into *out, checked against
 * lo..hi. Returns 0, or -1 with a reason in err.
 */
static int read_long_setting(const char *key, long def, long lo, long hi,
			     long *out, struct gb_error *err)
{
	const char *s = api->config_get(key);
	char *end;
	long v;

	if (!s || !*s) {
		*out = def;
		return 0;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		gb_error_set(err, GB_ERR_INVALID,
			     "%s \"%s\" must be %ld to %ld", key, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int header_safe(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

static int parse_backend_api(const char *s, enum http_api *out,
			     struct gb_error *err)
{
	if (!s || !*s || strcmp(s, "auto") == 0)
		*out = HTTP_API_AUTO;
	else if (strcmp(s, "v1") == 0)
		*out = HTTP_API_V1;
	else if (strcmp(s, "legacy") == 0)
		*out = HTTP_API_LEGACY;
	else {
		gb_error_set(err, GB_ERR_INVALID,
			     "backend_api \"%s\" must be auto, v1 or legacy",
			     s);
		return -1;
	}
	return 0;
}

static enum gb_status http_open(void *store, struct gb_error *err)
{
	struct http_store *st = store;
	const char *url = api->config_get("backend_url");
	const char *addr = api->config_get("api_addr");
	const char *token = api->config_get("admin_token");
	char legacy[300];
	long timeout_ms, max_body;

	if ((!url || !*url) && addr && *addr) {
		if (strlen(addr) > 250) {
			gb_error_set(err, GB_ERR_INVALID,
				     "api_addr is too long");
			return GB_ERR_INVALID;
		}
		snprintf(legacy, sizeof(legacy), "http://%s", addr);
		url = legacy;
	}
	if (!url || !*url) {
		gb_error_set(err, GB_ERR_INVALID,
			     "storage http needs backend_url "
			     "(GUESTBOOK_BACKEND_URL) or api_addr "
			     "(GUESTBOOK_API_ADDR)");
		return GB_ERR_INVALID;
	}
	if (parse_backend_url(st, url, err) < 0)
		return GB_ERR_INVALID;
	if (read_long_setting("backend_timeout_ms",
			      HTTP_STORE_DEFAULT_TIMEOUT_MS, 1, 600000,
			      &timeout_ms, err) < 0 ||
	    read_long_setting("backend_max_body", HTTP_STORE_DEFAULT_MAX_BODY,
			      1024, 1L << 30, &max_body, err) < 0 ||
	    parse_backend_api(api->config_get("backend_api"), &st->api_setting,
			      err) < 0)
		return GB_ERR_INVALID;
	st->timeout_ms = (int)timeout_ms;
	st->max_body = (size_t)max_body;
	atomic_store(&st->mode, st->api_setting == HTTP_API_AUTO
				    ? HTTP_API_AUTO
				    : st->api_setting);
	st->auth_header[0] = '\0';
	if (token && *token) {
		if (!header_safe(token) ||
		    strlen(token) > sizeof(st->auth_header) - 40) {
			gb_error_set(err, GB_ERR_INVALID,
				     "admin_token is not usable in a header");
			return GB_ERR_INVALID;
		}
		snprintf(st->auth_header, sizeof(st->auth_header),
			 "Authorization: Bearer %s\r\n", token);
	}
	mg_init_library(0);
	st->library_ready = 1;
	if (http_legacy_open(st) < 0) {
		gb_error_set(err, GB_ERR_NOMEM, "out of memory");
		return GB_ERR_NOMEM;
	}
	api->log(self_plugin, GB_LOG_INFO,
		 "backend %s (contract %s, timeout %d ms, bodies up to %zu "
		 "bytes)",
		 st->url, http_api_name(st->api_setting), st->timeout_ms,
		 st->max_body);
	return GB_OK;
}

static void http_close(void *store)
{
	struct http_store *st = store;

	if (st->library_ready) {
		pool_drain();
		http_legacy_close(st);
		mg_exit_library();
		st->library_ready = 0;
	}
}

/* ---- reading responses -------------------------------------------------- */

void http_reply_free(struct http_reply *r)
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

	if (ri->content_length > (long long)st->max_body)
		goto too_large;
	if (ri->content_length >= 0)
		cap = (size_t)ri->content_length + 1;
	buf = malloc(cap);
	if (!buf)
		return fail(err, GB_ERR_NOMEM, "backend", "out of memory");
	for (;;) {
		if (len > st->max_body) {
			free(buf);
			goto too_large;
		}
		if (len + 1 >= cap) {
			/* room for one byte past the limit, to see it */
			size_t want = cap * 2 < st->max_body + 2
					  ? cap * 2
					  : st->max_body + 2;
			char *bigger = realloc(buf, want);

			if (!bigger) {
				free(buf);
				return fail(err, GB_ERR_NOMEM, "backend",
					    "out of memory");
			}
			buf = bigger;
			cap = want;
		}
		n = mg_read(conn, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len > st->max_body) {
		free(buf);
		goto too_large;
	}
	if (ri->content_length >= 0 && len != (size_t)ri->content_length) {
		free(buf);
		gb_error_set(err, GB_ERR_UNAVAILABLE,
			     "backend %s: response body cut short (%zu of %lld "
			     "bytes)",
			     st->url, len, ri->content_length);
		return GB_ERR_UNAVAILABLE;
	}
	buf[len] = '\0';
	out->body = buf;
	out->len = len;
	return GB_OK;
too_large:
	gb_error_set(err, GB_ERR_UNAVAILABLE,
		     "backend %s: response larger than backend_max_body (%zu "
		     "bytes); raise backend_max_body",
		     st->url, st->max_body);
	return GB_ERR_UNAVAILABLE;
}

/* ---- keep-alive pool ----------------------------------------------------- */

/*
 * Idle connections to the backend, reused by every request. A request that
 * is safe to repeat (GET, DELETE, a v1 POST with its Idempotency-Key) and
 * fails at once on a pooled connection the backend closed meanwhile is
 * retried once on a new one. At most 32 (as many as 32 concurrent posts
 * need without a new connection each) and short-lived on purpose:
 * civetweb gives every open connection a worker thread of the backend (64
 * by default), and the backend closes idle ones after keepalive_ms (1 s by
 * default).
 */
#define POOL_MAX	32
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
			return strcasecmp(ri->http_headers[i].value, "close") !=
			       0;
	return ri->http_version && strcmp(ri->http_version, "1.1") == 0;
}

/* ---- one HTTP exchange -------------------------------------------------- */

/* The W3C Trace Context headers of the call this thread is making. */
static _Thread_local char trace_headers[1024];

/*
 * Writes the whole request in one write: several small writes on a kept-
 * alive connection would meet Nagle's algorithm and the peer's delayed ACK
 * (40 ms each time).
 */

static int send_request(struct http_store *st, struct mg_connection *conn,
			const struct gb_store_ctx *ctx, const char *method,
			const char *target, const char *json,
			const char *extra_headers)
{
	size_t len = json ? strlen(json) : 0;
	char head[4096], *buf; /* room for a 512-byte tracestate */
	int n, ok;

	n = snprintf(
	    head, sizeof(head),
	    "%s %s%s HTTP/1.1\r\n"
	    "Host: %s:%d\r\n"
	    "Accept: application/json\r\n"
	    "User-Agent: guestbookd-http-store\r\n"
	    "%s%s%s%s%s%s%s%s%s",
	    method, st->prefix, target, st->host, st->port, trace_headers,
	    extra_headers ? extra_headers : "",
	    strcmp(method, "DELETE") == 0 ? st->auth_header : "",
	    ctx && header_safe(ctx->request_id) ? "X-Request-Id: " : "",
	    ctx && header_safe(ctx->request_id) ? ctx->request_id : "",
	    ctx && header_safe(ctx->request_id) ? "\r\n" : "",
	    ctx && header_safe(ctx->client_addr) ? "X-Forwarded-For: " : "",
	    ctx && header_safe(ctx->client_addr) ? ctx->client_addr : "",
	    ctx && header_safe(ctx->client_addr) ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head) - 80)
		return 0;
	n += snprintf(head + n, sizeof(head) - (size_t)n,
		      json ? "Content-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n"
			   : "\r\n",
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

/* Whether the response has `name: value` (value case-insensitive). */
static int response_has(const struct mg_response_info *ri, const char *name,
			const char *value)
{
	for (int i = 0; i < ri->num_headers; i++)
		if (strcasecmp(ri->http_headers[i].name, name) == 0)
			return strcasecmp(ri->http_headers[i].value, value) ==
			       0;
	return 0;
}

/*
 * Sends `method target` (target starts with "/") with an optional JSON
 * body and reads the whole response into out (caller frees with
 * reply_free). Any transport problem is GB_ERR_UNAVAILABLE.
 */
static enum gb_status
http_exchange(struct http_store *st, const struct gb_store_ctx *ctx,
	      const char *method, const char *target, const char *json,
	      const char *extra_headers, int retry_safe, int timeout_ms,
	      struct http_reply *out, struct gb_error *err)
{
	memset(out, 0, sizeof(*out));
	for (int attempt = 0; attempt < 2; attempt++) {
		/* An unsafe request goes on a new connection, which fails
		 * only if the backend really is away; the retry always
		 * opens a new one. */
		struct mg_connection *conn =
		    retry_safe && attempt == 0 ? pool_take() : NULL;
		const struct mg_response_info *ri;
		int reused = conn != NULL;
		double t0 = api->now_monotonic();
		char ebuf[256] = "";
		enum gb_status rc;

		if (!conn)
			conn = mg_connect_client(st->host, st->port, 0, ebuf,
						 sizeof(ebuf));
		if (!conn) {
			gb_error_set(err, GB_ERR_UNAVAILABLE,
				     "backend %s unreachable: %s", st->url,
				     *ebuf ? ebuf : "connection failed");
			return GB_ERR_UNAVAILABLE;
		}
		if (!send_request(st, conn, ctx, method, target, json,
				  extra_headers) ||
		    mg_get_response(conn, ebuf, sizeof(ebuf), timeout_ms) < 0) {
			mg_close_connection(conn);
			/* A pooled connection the backend had closed fails
			 * at once: try again on a new one. */
			if (reused &&
			    api->now_monotonic() - t0 < timeout_ms / 2000.0)
				continue;
			gb_error_set(
			    err, GB_ERR_UNAVAILABLE,
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
		out->retried = attempt > 0;
		out->replayed = response_has(ri, "Idempotent-Replayed", "true");
		rc = read_body(st, conn, ri, out, err);
		if (rc == GB_OK && ri->content_length >= 0 &&
		    response_keeps_alive(ri))
			pool_put(conn);
		else
			mg_close_connection(conn);
		return rc;
	}
	gb_error_set(err, GB_ERR_UNAVAILABLE,
		     "backend %s: connection lost twice", st->url);
	return GB_ERR_UNAVAILABLE;
}

/* http_exchange inside a client span, with the trace context sent. */
enum gb_status http_call(struct http_store *st, const struct gb_store_ctx *ctx,
			 const char *method, const char *target,
			 const char *json, const char *extra_headers,
			 int retry_safe, int timeout_ms, struct http_reply *out,
			 struct gb_error *err)
{
	struct gb_span *span = NULL;
	char url[1300];
	enum gb_status rc;

	trace_headers[0] = '\0';
	if (ctx) {
		snprintf(url, sizeof(url), "%s%s", st->url, target);
		span = api->trace_client_begin(method, st->host, st->port, url,
					       trace_headers,
					       sizeof(trace_headers));
	}
	rc = http_exchange(st, ctx, method, target, json, extra_headers,
			   retry_safe, timeout_ms, out, err);
	if (ctx)
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

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &n) != 6 ||
	    n != 19)
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

const char *http_string_member(const cJSON *obj, const char *name)
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
	const char *id = http_string_member(m, "id");
	const char *author = http_string_member(m, "author");
	const char *text = http_string_member(m, "message");
	const char *created = http_string_member(m, "created_at");
	double date;
	cJSON *doc;

	*missing = !cJSON_IsObject(m)			    ? "an object"
		   : !id || !*id || strlen(id) >= GB_ID_MAX ? "\"id\""
		   : !author				    ? "\"author\""
		   : !text				    ? "\"message\""
		   : !created				    ? "\"created_at\""
							    : NULL;
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
	const char *msg = http_string_member(e, "message");

	snprintf(buf, len, "%s", msg ? msg : "no error message");
	cJSON_Delete(root);
}

enum gb_status http_unexpected(struct http_store *st,
			       const struct http_reply *r, const char *op,
			       struct gb_error *err)
{
	char msg[200];

	backend_error(r, msg, sizeof(msg));
	switch (r->status) {
	case 404:
		gb_error_set(err, GB_ERR_NOT_FOUND, "not found");
		return GB_ERR_NOT_FOUND;
	case 400:
	case 413:
	case 422:
		gb_error_set(err, GB_ERR_INVALID, "%s", msg);
		return GB_ERR_INVALID;
	case 401:
	case 403:
		gb_error_set(err, GB_ERR_INTERNAL,
			     "backend %s refused %s (HTTP %d): set the same "
			     "admin_token on front end and backend",
			     st->url, op, r->status);
		return GB_ERR_INTERNAL;
	default:
		gb_error_set(err, GB_ERR_UNAVAILABLE,
			     "backend %s answered %s with HTTP %d: %s", st->url,
			     op, r->status, msg);
		return GB_ERR_UNAVAILABLE;
	}
}

enum gb_status http_garbage(struct http_store *st, const char *op,
			    const char *what, struct gb_error *err)
{
	gb_error_set(err, GB_ERR_UNAVAILABLE,
		     "backend %s answered %s with an invalid body: expected %s",
		     st->url, op, what);
	return GB_ERR_UNAVAILABLE;
}

static int check_collection(const char *collection, struct gb_error *err)
{
	if (collection && strcmp(collection, HTTP_STORE_COLLECTION) == 0)
		return 0;
	gb_error_set(
	    err, GB_ERR_INVALID,
	    "the http store serves only the \"messages\" collection of "
	    "the backend, not \"%s\"",
	    collection ? collection : "(null)");
	return -1;
}

/* ---- the operations ---------------------------------------------------- */

int http_v1_message_valid(const cJSON *m)
{
	const char *missing;
	cJSON *doc = message_to_doc(m, &missing);

	cJSON_Delete(doc);
	return doc != NULL;
}

/*
 * A v1 call answered with JSON; `what` names it in errors ("GET
 * /api/v1/messages"). On the status `want`, *root is the parsed body (NULL
 * when it is not JSON: the caller's shape check reports that) and, when
 * `repeated` is given, it says whether the backend replayed our first try
 * (lost with its connection: the message is this call's, not an earlier
 * one). Any other status ends as http_unexpected's error.
 */
static enum gb_status v1_call_json(struct http_store *st,
				   const struct gb_store_ctx *ctx,
				   const char *method, const char *target,
				   const char *json, const char *headers,
				   int want, const char *what, cJSON **root,
				   int *repeated, struct gb_error *err)
{
	struct http_reply r;
	enum gb_status rc = http_call(st, ctx, method, target, json, headers, 1,
				      st->timeout_ms, &r, err);

	*root = NULL;
	if (rc != GB_OK)
		return rc;
	if (r.status != want) {
		rc = http_unexpected(st, &r, what, err);
	} else {
		if (repeated)
			*repeated = r.replayed && !r.retried;
		*root = cJSON_ParseWithLength(r.body, r.len);
	}
	http_reply_free(&r);
	return rc;
}

enum gb_status http_v1_insert(struct http_store *st,
			      const struct gb_store_ctx *ctx,
			      const char *author, const char *text,
			      const char *key, char id_out[GB_ID_MAX],
			      int *repeated, struct gb_error *err)
{
	char key_header[40 + GB_IDEMPOTENCY_KEY_MAX];
	cJSON *body, *root;
	const char *id, *missing;
	char *json;
	enum gb_status rc;

	snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s\r\n",
		 key);
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "author", author) ||
	    !cJSON_AddStringToObject(body, "message", text) ||
	    !(json = cJSON_PrintUnformatted(body))) {
		cJSON_Delete(body);
		return fail(err, GB_ERR_NOMEM, "insert", "out of memory");
	}
	cJSON_Delete(body);
	/* the key makes the retry on a closed pooled connection safe */
	rc = v1_call_json(st, ctx, "POST", "/api/v1/messages", json, key_header,
			  201, "POST /api/v1/messages", &root, repeated, err);
	cJSON_free(json);
	if (rc != GB_OK)
		return rc;
	id = http_string_member(root, "id");
	if (!id || !*id || strlen(id) >= GB_ID_MAX) {
		cJSON_Delete(root);
		return http_garbage(st, "POST /api/v1/messages",
				    "the stored message with an \"id\"", err);
	}
	/* The backend's answer must be a whole message, not just an id. */
	cJSON_Delete(message_to_doc(root, &missing));
	if (missing) {
		cJSON_Delete(root);
		return http_garbage(st, "POST /api/v1/messages", missing, err);
	}
	snprintf(id_out, GB_ID_MAX, "%s", id);
	cJSON_Delete(root);
	return GB_OK;
}

static enum gb_status v1_get(struct http_store *st,
			     const struct gb_store_ctx *ctx, const char *id,
			     cJSON **doc_out, struct gb_error *err)
{
	char target[64 + 3 * GB_ID_MAX], enc[3 * GB_ID_MAX + 1];
	cJSON *root;
	const char *missing;
	enum gb_status rc;

	if (!id || !*id || strlen(id) >= GB_ID_MAX ||
	    mg_url_encode(id, enc, sizeof(enc)) < 0)
		return fail(err, GB_ERR_NOT_FOUND, "get", "no such id");
	snprintf(target, sizeof(target), "/api/v1/messages/%s", enc);
	rc = v1_call_json(st, ctx, "GET", target, NULL, NULL, 200,
			  "GET /api/v1/messages/{id}", &root, NULL, err);
	/* A malformed id is "not found" for every store. */
	if (rc == GB_ERR_INVALID)
		rc = err->status = GB_ERR_NOT_FOUND;
	if (rc != GB_OK)
		return rc;
	*doc_out = message_to_doc(root, &missing);
	cJSON_Delete(root);
	if (!*doc_out)
		return http_garbage(st, "GET /api/v1/messages/{id}", missing,
				    err);
	return GB_OK;
}

/* A cursor as the storage API promises them: 1 to 200 of [A-Za-z0-9_-]. */
static int cursor_valid(const char *c)
{
	return gb_is_word(c, GB_CHARSET_CURSOR, 200);
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
	rc = v1_call_json(st, ctx, "GET", target, NULL, NULL, 200,
			  "GET /api/v1/messages", &root, NULL, err);
	if (rc != GB_OK)
		return rc;
	msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	nc = cJSON_GetObjectItemCaseSensitive(root, "next_cursor");
	if (!cJSON_IsArray(msgs) || !(cJSON_IsNull(nc) || cJSON_IsString(nc))) {
		cJSON_Delete(root);
		return http_garbage(st, "GET /api/v1/messages",
				    "{\"messages\":[...],\"next_cursor\":...}",
				    err);
	}
	/* http_list pages on from here: a page must make progress. */
	if (cJSON_GetArraySize(msgs) > limit) {
		cJSON_Delete(root);
		return http_garbage(st, "GET /api/v1/messages",
				    "at most \"limit\" messages", err);
	}
	if (cJSON_IsString(nc) && *nc->valuestring &&
	    (!cursor_valid(nc->valuestring) || cJSON_GetArraySize(msgs) == 0)) {
		cJSON_Delete(root);
		return http_garbage(
		    st, "GET /api/v1/messages",
		    "a next_cursor of 1 to 200 [A-Za-z0-9_-] after "
		    "at least one message",
		    err);
	}
	cJSON_ArrayForEach(m, msgs)
	{
		cJSON *doc = message_to_doc(m, &missing);

		if (!doc) {
			cJSON_Delete(root);
			return http_garbage(st, "GET /api/v1/messages", missing,
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

static enum gb_status v1_list(struct http_store *st,
			      const struct gb_store_ctx *ctx, int limit,
			      const char *cursor, cJSON **docs_out,
			      char **next_cursor, struct gb_error *err)
{
	cJSON *docs;
	char *next = NULL;
	enum gb_status rc = GB_OK;
	int want;

	docs = cJSON_CreateArray();
	if (!docs)
		return fail(err, GB_ERR_NOMEM, "list", "out of memory");
	/* Larger lists (the legacy GET /messages) are fetched page by
	 * page; each page ends where the backend's cursor starts. */
	for (;;) {
		want = limit - cJSON_GetArraySize(docs);
		if (want > HTTP_STORE_PAGE_MAX)
			want = HTTP_STORE_PAGE_MAX;
		rc = list_page(st, ctx, want, next ? next : cursor, docs, &next,
			       err);
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

static enum gb_status v1_remove(struct http_store *st,
				const struct gb_store_ctx *ctx, const char *id,
				struct gb_error *err)
{
	char target[64 + 3 * GB_ID_MAX], enc[3 * GB_ID_MAX + 1];
	struct http_reply r;
	enum gb_status rc;

	if (!id || !*id || strlen(id) >= GB_ID_MAX ||
	    mg_url_encode(id, enc, sizeof(enc)) < 0)
		return fail(err, GB_ERR_NOT_FOUND, "remove", "no such id");
	snprintf(target, sizeof(target), "/api/v1/messages/%s", enc);
	rc = http_call(st, ctx, "DELETE", target, NULL, NULL, 1, st->timeout_ms,
		       &r, err);
	if (rc != GB_OK)
		return rc;
	if (r.status == 204 || r.status == 200)
		rc = GB_OK;
	else if ((rc = http_unexpected(st, &r, "DELETE /api/v1/messages/{id}",
				       err)) == GB_ERR_INVALID)
		rc = err->status = GB_ERR_NOT_FOUND;
	http_reply_free(&r);
	return rc;
}

static enum gb_status v1_ping(struct http_store *st, int timeout_ms,
			      struct gb_error *err)
{
	struct http_reply r;
	enum gb_status rc;

	rc = http_call(st, NULL, "GET", "/ready", NULL, NULL, 1, timeout_ms, &r,
		       err);
	if (rc != GB_OK)
		return rc;
	if (r.status != 200) {
		gb_error_set(err, GB_ERR_UNAVAILABLE,
			     "backend %s is not ready (GET /ready answered %d)",
			     st->url, r.status);
		rc = GB_ERR_UNAVAILABLE;
	}
	http_reply_free(&r);
	return rc;
}

/* ---- which contract ---------------------------------------------------- */

const char *http_api_name(enum http_api a)
{
	return a == HTTP_API_V1	      ? "v1"
	       : a == HTTP_API_LEGACY ? "legacy"
				      : "auto";
}

/*
 * GET /api/v1/messages?limit=1: 1 when it is the v1 API (a page, or one
 * of its JSON errors such as 503 storage_unavailable), 0 when it is not
 * (404, or a body of another shape), -1 when the backend is unreachable.
 */
static int v1_probe(struct http_store *st, int timeout_ms, struct gb_error *err)
{
	struct http_reply r;
	cJSON *root;
	int v1;

	if (http_call(st, NULL, "GET", "/api/v1/messages?limit=1", NULL, NULL,
		      1, timeout_ms, &r, err) != GB_OK)
		return -1;
	root = cJSON_ParseWithLength(r.body, r.len);
	if (r.status == 200)
		v1 = cJSON_IsArray(
		    cJSON_GetObjectItemCaseSensitive(root, "messages"));
	else
		v1 = r.status != 404 &&
		     cJSON_IsObject(
			 cJSON_GetObjectItemCaseSensitive(root, "error"));
	cJSON_Delete(root);
	http_reply_free(&r);
	return v1;
}

/*
 * Finds out which contract the backend speaks and remembers it. Returns
 * the mode, or HTTP_API_AUTO with err filled when the backend is away or
 * speaks neither (the last mode found stays in use then).
 */
static enum http_api detect(struct http_store *st, int timeout_ms,
			    struct gb_error *err)
{
	enum http_api found;
	int v1 = v1_probe(st, timeout_ms, err), legacy;

	if (v1 < 0)
		return HTTP_API_AUTO;
	found = HTTP_API_V1;
	if (!v1) {
		legacy = http_legacy_probe(st, timeout_ms, err);
		if (legacy < 0)
			return HTTP_API_AUTO;
		if (!legacy) {
			gb_error_set(
			    err, GB_ERR_UNAVAILABLE,
			    "backend %s speaks neither contract: GET "
			    "/api/v1/messages and GET /messages do not "
			    "answer as a guestbook backend does",
			    st->url);
			return HTTP_API_AUTO;
		}
		found = HTTP_API_LEGACY;
	}
	if (atomic_exchange(&st->mode, (int)found) != (int)found)
		http_log(GB_LOG_INFO, "backend %s speaks the %s contract",
			 st->url, http_api_name(found));
	return found;
}

/* The contract to use now; HTTP_API_AUTO (err filled) if unknown. */
static enum http_api mode_of(struct http_store *st, struct gb_error *err)
{
	enum http_api m = (enum http_api)atomic_load(&st->mode);

	return m != HTTP_API_AUTO ? m : detect(st, st->timeout_ms, err);
}

static enum gb_status mode_unknown(struct gb_error *err)
{
	if (err && err->status == GB_OK)
		gb_error_set(err, GB_ERR_UNAVAILABLE,
			     "backend contract unknown");
	return GB_ERR_UNAVAILABLE;
}

/* Checks the collection and finds the contract for one operation. */
static enum gb_status op_mode(struct http_store *st, const char *collection,
			      enum http_api *m, struct gb_error *err)
{
	if (check_collection(collection, err) < 0)
		return GB_ERR_INVALID;
	*m = mode_of(st, err);
	return *m == HTTP_API_AUTO ? mode_unknown(err) : GB_OK;
}

/*
 * A 404 from the v1 collection: under auto the backend was replaced by
 * one without /api/v1, so the contract is detected again.
 */
static enum gb_status v1_route_gone(struct http_store *st, enum gb_status rc,
				    struct gb_error *err)
{
	if (rc != GB_ERR_NOT_FOUND || st->api_setting != HTTP_API_AUTO)
		return rc;
	atomic_store(&st->mode, HTTP_API_AUTO);
	gb_error_set(
	    err, GB_ERR_UNAVAILABLE,
	    "backend %s no longer serves /api/v1/messages; detecting its "
	    "contract again",
	    st->url);
	return GB_ERR_UNAVAILABLE;
}

/*
 * 32 hex digits: the wall clock in microseconds (14 digits), then 18
 * random ones (unique within this process even without an entropy
 * source). Keys that grow with time land at the end of the backend's key
 * index, so a commit of many posts writes one or two index pages instead
 * of one page per key.
 */
static void new_idempotency_key(char out[33])
{
	static _Atomic unsigned long counter;
	static const char hex[] = "0123456789abcdef";
	unsigned long long us = (unsigned long long)(api->now_wall() * 1e6);
	unsigned char b[9];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		unsigned long c = atomic_fetch_add(&counter, 1) ^
				  ((unsigned long)getpid() << 40);

		memcpy(b, &c, 8);
		b[8] = 0;
	}
	for (int i = 0; i < 14; i++)
		out[i] = hex[(us >> (4 * (13 - i))) & 15];
	for (int i = 0; i < 9; i++) {
		out[14 + 2 * i] = hex[b[i] >> 4];
		out[14 + 2 * i + 1] = hex[b[i] & 15];
	}
	out[32] = '\0';
}

/* ---- the storage operations -------------------------------------------- */

static enum gb_status http_insert_once(void *store,
				       const struct gb_store_ctx *ctx,
				       const char *collection, const cJSON *doc,
				       const char *key, char id_out[GB_ID_MAX],
				       int *repeated, struct gb_error *err)
{
	struct http_store *st = store;
	const char *author = http_string_member(doc, "author");
	const char *text = http_string_member(doc, "message");
	char fresh[33];
	enum http_api m;
	enum gb_status rc;

	*repeated = 0;
	id_out[0] = '\0';
	if (check_collection(collection, err) < 0)
		return GB_ERR_INVALID;
	if (!author || !text)
		return fail(err, GB_ERR_INVALID, "document",
			    "a message needs string \"author\" and "
			    "\"message\"");
	if (!key || !*key) {
		new_idempotency_key(fresh);
		key = fresh;
	}
	if ((rc = op_mode(st, collection, &m, err)) != GB_OK)
		return rc;
	if (m == HTTP_API_LEGACY)
		return http_legacy_insert(st, ctx, author, text, key, err);
	return v1_route_gone(
	    st, http_v1_post(st, ctx, author, text, key, id_out, repeated, err),
	    err);
}

static enum gb_status http_insert(void *store, const struct gb_store_ctx *ctx,
				  const char *collection, const cJSON *doc,
				  char id_out[GB_ID_MAX], struct gb_error *err)
{
	int repeated;

	return http_insert_once(store, ctx, collection, doc, NULL, id_out,
				&repeated, err);
}

static enum gb_status http_get(void *store, const struct gb_store_ctx *ctx,
			       const char *collection, const char *id,
			       cJSON **doc_out, struct gb_error *err)
{
	struct http_store *st = store;
	enum http_api m;
	enum gb_status rc;

	*doc_out = NULL;
	if ((rc = op_mode(st, collection, &m, err)) != GB_OK)
		return rc;
	if (m == HTTP_API_LEGACY)
		return fail(err, GB_ERR_NOT_FOUND, "get",
			    "the backend speaks the legacy contract, whose "
			    "messages have no ids");
	return v1_get(st, ctx, id, doc_out, err);
}

static enum gb_status http_list(void *store, const struct gb_store_ctx *ctx,
				const char *collection, int limit,
				const char *cursor, cJSON **docs_out,
				char **next_cursor, struct gb_error *err)
{
	struct http_store *st = store;
	enum http_api m;
	enum gb_status rc;

	*docs_out = NULL;
	*next_cursor = NULL;
	if ((rc = op_mode(st, collection, &m, err)) != GB_OK)
		return rc;
	if (m == HTTP_API_LEGACY)
		return http_legacy_list(st, ctx, limit, cursor, docs_out,
					next_cursor, err);
	return v1_route_gone(
	    st, v1_list(st, ctx, limit, cursor, docs_out, next_cursor, err),
	    err);
}

static enum gb_status http_remove(void *store, const struct gb_store_ctx *ctx,
				  const char *collection, const char *id,
				  struct gb_error *err)
{
	struct http_store *st = store;
	enum http_api m;
	enum gb_status rc;

	if ((rc = op_mode(st, collection, &m, err)) != GB_OK)
		return rc;
	if (m == HTTP_API_LEGACY) {
		gb_error_set(
		    err, GB_ERR_UNSUPPORTED,
		    "the backend speaks the legacy contract (GET/POST "
		    "/messages), whose messages have no ids: they cannot "
		    "be deleted through this front end; delete them in "
		    "the backend's database");
		return GB_ERR_UNSUPPORTED;
	}
	return v1_remove(st, ctx, id, err);
}

/*
 * Readiness. Under auto every ping detects the contract again (one
 * request to /api/v1/messages, and for a legacy backend GET /messages),
 * so an upgraded or replaced backend is followed within ready_cache_ms.
 */
static enum gb_status http_ping(void *store, struct gb_error *err)
{
	struct http_store *st = store;
	int timeout = st->timeout_ms < HTTP_STORE_PING_TIMEOUT_MS
			  ? st->timeout_ms
			  : HTTP_STORE_PING_TIMEOUT_MS;

	switch (st->api_setting) {
	case HTTP_API_V1: return v1_ping(st, timeout, err);
	case HTTP_API_LEGACY: return http_legacy_ping(st, timeout, err);
	default: break;
	}
	switch (detect(st, timeout, err)) {
	case HTTP_API_V1: return v1_ping(st, timeout, err);
	case HTTP_API_LEGACY:
		return GB_OK; /* the probe was GET /messages answering 201 */
	default: return mode_unknown(err);
	}
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
    .insert_once = http_insert_once,
};

/*
 * The store's state is allocated here and registered as the `store`
 * argument of every operation; open fills it, close empties it, fini
 * frees it (the host closes the store before any plugin's fini).
 */
static int http_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	struct http_store *st = calloc(1, sizeof(*st));

	api = host;
	self_plugin = self;
	if (!st) {
		api->init_error(self, "out of memory");
		return 1;
	}
	if (api->storage_register(self, "http", &http_ops, st) != GB_OK) {
		free(st);
		api->init_error(self, "cannot register storage \"http\"");
		return 1;
	}
	registered = st;
	return 0;
}

static void http_fini(struct gb_plugin *self)
{
	(void)self;
	if (registered)
		http_close(registered);
	free(registered);
	registered = NULL;
}

/*
 * Read through config_get by their legacy names (backend_url, ...), the
 * spellings they always had; http_url etc. are the plugin's own. The api
 * plugin carries admin_token too: one value reaches both.
 */
static const struct gb_setting http_settings[] = {
    {"url", GB_SETTING_STRING, NULL, 0, 0, NULL,
     "backend base URL (overrides api_addr)", 0, "backend_url"},
    {"addr", GB_SETTING_STRING, NULL, 0, 0, NULL,
     "legacy: host:port of the backend for role frontend", 0, "api_addr"},
    {"timeout_ms", GB_SETTING_INT, "3000", 100, 60000, NULL,
     "connect and response timeout towards the backend", 0,
     "backend_timeout_ms"},
    {"admin_token", GB_SETTING_STRING, NULL, 0, 0, NULL,
     "bearer token sent with DELETE to the backend", GB_SETTING_SECRET,
     "admin_token"},
    {"api", GB_SETTING_ENUM, "auto", 0, 0, "auto|v1|legacy",
     "backend contract: v1, legacy (GET/POST /messages), auto-detected", 0,
     "backend_api"},
    {"max_body", GB_SETTING_INT, "8388608", 1024, 1073741824, NULL,
     "largest backend response body in bytes (503 above)", 0,
     "backend_max_body"},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

GB_PLUGIN(GB_PLUGIN_STORAGE, "http", "2.0.0",
	  "Storage over a remote backend: guestbookd's v1 API or the "
	  "original legacy contract",
	  http_settings, http_init, http_fini);
