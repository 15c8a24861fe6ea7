#include "intake.h"

#include <civetweb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "request.h"
#include "router.h"

static int refuse(struct gb_intake_error *err, int status, const char *code,
		  const char *message)
{
	err->status = status;
	err->code = code;
	err->message = message;
	return -1;
}

/*
 * civetweb 1.15 parses the header block in place: the CR and LF ending
 * each line become NUL, and so does the LF ending the block. It stops
 * without an error at the first line it does not take for a field (an
 * obs-fold continuation, a line starting with ':' or a byte above 126, a
 * bare CR) and after MG_MAX_HEADERS fields, and drops the rest of the
 * block, Content-Length included. A block it read to its end with CRLF
 * lines has each field name exactly two bytes after the end of the line
 * before it, and "\0\0\r\0" after the last value. Anything else is a
 * line it skipped or a bare LF, and the request is refused.
 *
 * The bytes after the last value are read in order and the test stops at
 * the first that differs, so it stays inside the block, but for one
 * layout: a last line ending in a bare LF and a bare LF ending the block
 * ("\0\0" then the end), whose NULs look like a CRLF line. Then the next
 * byte is the body, or, when the block filled civetweb's whole buffer
 * (max_request_size), up to two bytes past it: civetweb does not say
 * where its buffer ends. Such a block was parsed to its end, so taking it
 * when those bytes happen to read "\r\0" smuggles nothing.
 */
static int line_follows(const char *prev_end, const char *name)
{
	return name == prev_end + 2 && prev_end[0] == '\0' &&
	       prev_end[1] == '\0';
}

static int block_ends(const char *p, int fields)
{
	if (fields == 0) /* the version line ends the block: CR LF CR LF */
		return p[0] == '\0' && p[1] == '\0' && p[2] == '\0' &&
		       p[3] == '\0';
	return p[0] == '\0' && p[1] == '\0' && p[2] == '\r' && p[3] == '\0';
}

/* No whitespace between a field name and its colon (RFC 9112 5.1): the
 * colon civetweb replaced is the byte right after the name. */
static int space_before_colon(const char *name, size_t n, const char *value)
{
	return value > name + n + 1 && name[n + 1] == '\0';
}

/* 1*DIGIT, optional trailing spaces; at most 18 digits. */
static long long parse_length(const char *v)
{
	long long n = 0;
	size_t i = 0;
	for (; v[i] >= '0' && v[i] <= '9'; i++) {
		if (i >= 18)
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	if (i == 0)
		return -1;
	while (v[i] == ' ')
		i++;
	return v[i] == '\0' ? n : -1;
}

static int token_is(const char *v, const char *word)
{
	size_t n = strlen(word);
	if (strncasecmp(v, word, n) != 0)
		return 0;
	while (v[n] == ' ')
		n++;
	return v[n] == '\0';
}

enum field {
	F_OTHER,
	F_HOST,
	F_CONTENT_LENGTH,
	F_TRANSFER_ENCODING,
	F_ORIGIN,
	F_FETCH_SITE,
	F_EXPECT,
	F_CONNECTION,
	F_REQUEST_ID,
	F_USER_AGENT,
	F_FORWARDED_FOR,
};

static enum field field_of(const char *name, size_t n)
{
	switch (n) {
	case 4: return strcasecmp(name, "Host") == 0 ? F_HOST : F_OTHER;
	case 6:
		if (strcasecmp(name, "Origin") == 0)
			return F_ORIGIN;
		return strcasecmp(name, "Expect") == 0 ? F_EXPECT : F_OTHER;
	case 10:
		if (strcasecmp(name, "Connection") == 0)
			return F_CONNECTION;
		return strcasecmp(name, "User-Agent") == 0 ? F_USER_AGENT
							   : F_OTHER;
	case 12:
		return strcasecmp(name, "X-Request-Id") == 0 ? F_REQUEST_ID
							     : F_OTHER;
	case 14:
		if (strcasecmp(name, "Content-Length") == 0)
			return F_CONTENT_LENGTH;
		return strcasecmp(name, "Sec-Fetch-Site") == 0 ? F_FETCH_SITE
							       : F_OTHER;
	case 15:
		return strcasecmp(name, "X-Forwarded-For") == 0
			   ? F_FORWARDED_FOR
			   : F_OTHER;
	case 17:
		return strcasecmp(name, "Transfer-Encoding") == 0
			   ? F_TRANSFER_ENCODING
			   : F_OTHER;
	default: return F_OTHER;
	}
}

int gb_intake_check(const struct mg_request_info *ri, struct gb_intake *in,
		    struct gb_intake_error *err)
{
	memset(in, 0, sizeof *in);
	in->content_length = -1;
	in->http11 = strcmp(ri->http_version, "1.1") == 0;
	if (ri->num_headers >= MG_MAX_HEADERS)
		return refuse(err, 431, "too_many_headers",
			      "more than 63 request header fields");
	int hosts = 0, lengths = 0, encodings = 0;
	const char *end = ri->http_version + strlen(ri->http_version);
	for (int i = 0; i < ri->num_headers; i++) {
		const char *name = ri->http_headers[i].name;
		const char *value = ri->http_headers[i].value;
		size_t n = strlen(name);
		if (!line_follows(end, name) ||
		    space_before_colon(name, n, value))
			return refuse(err, 400, "bad_header",
				      "malformed request header line");
		end = value + strlen(value);
		switch (field_of(name, n)) {
		case F_HOST:
			hosts++;
			in->host = value;
			break;
		case F_CONTENT_LENGTH:
			lengths++;
			in->content_length = parse_length(value);
			if (in->content_length < 0)
				return refuse(err, 400, "bad_content_length",
					      "Content-Length is not a number");
			break;
		case F_TRANSFER_ENCODING:
			encodings++;
			if (!token_is(value, "chunked"))
				return refuse(err, 400, "bad_transfer_encoding",
					      "unsupported Transfer-Encoding");
			break;
		case F_ORIGIN: in->origin = value; break;
		case F_FETCH_SITE: in->fetch_site = value; break;
		case F_EXPECT: in->expect = value; break;
		case F_CONNECTION: in->connection = value; break;
		case F_REQUEST_ID: in->request_id = value; break;
		case F_USER_AGENT: in->user_agent = value; break;
		case F_FORWARDED_FOR: in->forwarded_for = value; break;
		case F_OTHER: break;
		}
	}
	if (!block_ends(end, ri->num_headers))
		return refuse(err, 400, "bad_header",
			      "malformed request header block");
	if (hosts > 1 || (hosts == 0 && in->http11))
		return refuse(err, 400, "bad_host",
			      "exactly one Host header is required");
	if (lengths > 1)
		return refuse(err, 400, "bad_content_length",
			      "more than one Content-Length");
	if (encodings > 0 && (lengths > 0 || encodings > 1 || !in->http11))
		return refuse(err, 400, "bad_framing",
			      "conflicting body framing");
	if (encodings > 0)
		return refuse(err, 411, "length_required",
			      "request bodies need a Content-Length");
	if (in->expect && !token_is(in->expect, "100-continue"))
		return refuse(err, 417, "expectation_failed",
			      "only Expect: 100-continue is supported");
	return 0;
}

/* The authority of an Origin ("scheme://host[:port]"), compared with the
 * Host header; a default port written in only one of them still matches. */
static int same_authority(const char *origin, const char *host)
{
	const char *a = strstr(origin, "://");
	if (!a || !host)
		return 0;
	size_t scheme = (size_t)(a - origin);
	a += 3;
	size_t an = strcspn(a, " /"), hn = strcspn(host, " ");
	if (an == hn && strncasecmp(a, host, an) == 0)
		return 1;
	const char *dflt = scheme == 5 && strncasecmp(origin, "https", 5) == 0
			       ? ":443"
			       : ":80";
	size_t dn = strlen(dflt);
	if (an + dn == hn && strncasecmp(a, host, an) == 0 &&
	    strncmp(host + an, dflt, dn) == 0)
		return 1;
	return hn + dn == an && strncasecmp(a, host, hn) == 0 &&
	       strncmp(a + hn, dflt, dn) == 0;
}

int gb_intake_cross_site(unsigned method, const struct gb_intake *in)
{
	if (!(method & (GB_POST | GB_PUT | GB_PATCH | GB_DELETE)))
		return 0;
	if (in->fetch_site && token_is(in->fetch_site, "cross-site"))
		return 1;
	/* The browser vouches for its own page (or a typed URL): a page
	 * served with Referrer-Policy: no-referrer posts its forms with
	 * Origin: null, so the Origin says nothing then. */
	if (in->fetch_site && (token_is(in->fetch_site, "same-origin") ||
			       token_is(in->fetch_site, "none")))
		return 0;
	if (!in->origin)
		return 0;
	return !same_authority(in->origin, in->host);
}

/*
 * civetweb's mg_read(n) returns only when it has all n bytes, or when no
 * byte came for request_timeout_ms: a client sending a byte a little
 * faster than that holds one call for n times as long. So while a body is
 * read, a timer on the worker thread ticks every READ_TICK_NS with a
 * signal whose handler does nothing and is installed without SA_RESTART:
 * the tick breaks civetweb's poll (it returns what it has read), and the
 * deadline and the rate are checked at each tick.
 */
#define READ_TICK_NS 250000000L

static _Thread_local volatile sig_atomic_t tick_count; /* ticks seen */
static int tick_signal;
static _Thread_local timer_t read_timer;
static _Thread_local int read_timer_state; /* 0 none yet, 1 ok, -1 failed */

static void on_read_tick(int sig)
{
	(void)sig;
	tick_count = tick_count + 1;
}

int gb_intake_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_read_tick;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL) < 0)
		return -1;
	tick_signal = SIGRTMIN;
	return 0;
}

static int arm_read_timer(long ns)
{
	if (read_timer_state == 0) {
		struct sigevent ev;
		memset(&ev, 0, sizeof ev);
		ev.sigev_notify = SIGEV_THREAD_ID;
		ev.sigev_signo = tick_signal;
		ev._sigev_un._tid = gettid();
		read_timer_state =
		    tick_signal &&
			    timer_create(CLOCK_MONOTONIC, &ev, &read_timer) == 0
			? 1
			: -1;
	}
	if (read_timer_state < 0)
		return -1;
	struct itimerspec its = {{0, ns}, {0, ns}};
	return timer_settime(read_timer, 0, &its, NULL);
}

static void disarm_read_timer(void)
{
	struct itimerspec off;
	memset(&off, 0, sizeof off);
	if (read_timer_state > 0)
		timer_settime(read_timer, 0, &off, NULL);
}

/* The rate counts from the start of the body, after a grace that lets a
 * lost packet or two be sent again. */
#define BODY_RATE_GRACE 2.0

static int too_slow(const struct gb_body_limits *lim, double t0, size_t got)
{
	double dt = gb_now_monotonic() - t0;
	return dt >= lim->timeout ||
	       (dt > BODY_RATE_GRACE &&
		(double)got < lim->min_rate * (dt - BODY_RATE_GRACE));
}

int gb_intake_read_body(struct mg_connection *conn, const struct gb_intake *in,
			const struct gb_body_limits *lim, char **body,
			size_t *len, struct gb_intake_error *err)
{
	*body = NULL;
	*len = 0;
	long long declared = in->content_length > 0 ? in->content_length : 0;
	if ((unsigned long long)declared > lim->max)
		return refuse(err, 413, "payload_too_large",
			      "request body is too large");
	char *buf = malloc((size_t)declared + 1);
	if (!buf)
		return refuse(err, 503, "out_of_memory",
			      "cannot take the request body now");
	if (in->expect && in->http11 && declared > 0)
		mg_write(conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	/* Without the timer, one byte per call bounds each call instead
	 * (bytes that came with the header are copied from civetweb's
	 * buffer; the rest costs a poll and a recv each). */
	int ticking = declared > 0 && arm_read_timer(READ_TICK_NS) == 0;
	double t0 = gb_now_monotonic();
	size_t got = 0;
	int rc = 0;
	while (got < (size_t)declared) {
		sig_atomic_t ticks = tick_count;
		size_t want = ticking ? (size_t)declared - got : 1;
		int n = mg_read(conn, buf + got, want);
		if (n > 0)
			got += (size_t)n;
		if (got == (size_t)declared)
			break;
		if (n < 0 && (!ticking || ticks == tick_count)) {
			rc = refuse(err, 400, "invalid_body",
				    "the client closed before the whole body "
				    "arrived");
			break;
		}
		if (too_slow(lim, t0, got)) {
			rc = refuse(err, 408, "request_timeout",
				    "the request body arrived too slowly");
			break;
		}
	}
	if (ticking)
		disarm_read_timer();
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[got] = '\0';
	*body = buf;
	*len = got;
	return 0;
}

/* ---- the request as the host keeps it ----------------------------------- */

/* Copies s into out (cut to fit; out stays NUL-terminated). */
static void copy_string(char *out, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);
	memcpy(out, s, n);
	out[n] = '\0';
}

static int trust_proxy;

void gb_intake_configure(int trust_forwarded_for)
{
	trust_proxy = trust_forwarded_for;
}

void gb_intake_new_request_id(char out[GB_REQUEST_ID_MAX])
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
	copy_string(req->client, sizeof req->client, req->ri->remote_addr);
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

int gb_intake_request(struct gb_request *req, struct gb_intake *in,
		      struct gb_intake_error *err)
{
	const struct mg_request_info *ri = req->ri;
	int bad = gb_intake_check(ri, in, err);
	int bad_path = decode_path(req);
	req->method = gb_method_bit(ri->request_method);
	req->head = req->method == GB_HEAD;
	if (!bad &&
	    gb_is_word(in->request_id, GB_CHARSET_TOKEN, GB_REQUEST_ID_MAX - 1))
		copy_string(req->request_id, sizeof req->request_id,
			    in->request_id);
	else
		gb_intake_new_request_id(req->request_id);
	client_address(req, in);
	if (bad)
		return -1;
	if (bad_path) {
		refuse(err, 400, "invalid_path", "the path is not valid");
		return 1;
	}
	return 0;
}
