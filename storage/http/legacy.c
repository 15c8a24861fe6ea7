/*
 * legacy.c - the http store over the original Flask backend's contract:
 *
 *   GET  /messages   201 (sic), every message newest first, each
 *                    {"author","date","message"}: no ids, no paging
 *   POST /messages   {"author","message"} -> 201 {}
 *
 * Paging happens here: a list fetches the whole array (at most
 * backend_max_body bytes) and cuts the page out of it. The fetched list
 * (the readiness ping's included) is kept for list_cache_ms, so the older
 * pages of one visit and the concurrent requests of many visitors share
 * one fetch; a post through this process drops it at once, and a fetch
 * that began before that post is not kept.
 *
 * Cursors are "lg<date in microseconds>_<n>": the last message shown, as
 * the n-th (from 0) message of the list with that exact date. The next
 * page starts after it, or, when it is gone, at the first message older
 * than its date, so messages posted meanwhile never shift a page.
 *
 * Text: the original backend stored what it was sent through bleach, which
 * turns < > & into character references. Those are decoded once here, so
 * the page (which escapes on output) shows the text as it was typed and
 * never a visible "&lt;".
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_store.h"

#define LEGACY_LIST	"/messages"
#define LEGACY_DATE_MAX 253402300800.0 /* 10000-01-01T00:00:00Z */

static void snapshot_drop(struct http_store *st)
{
	cJSON *old;

	pthread_mutex_lock(&st->legacy.lock);
	old = st->legacy.docs;
	st->legacy.docs = NULL;
	st->legacy.generation++;
	pthread_mutex_unlock(&st->legacy.lock);
	cJSON_Delete(old);
}

/* The snapshot's generation: a fetch started now may replace it. */
static unsigned long snapshot_generation(struct http_store *st)
{
	unsigned long g;

	pthread_mutex_lock(&st->legacy.lock);
	g = st->legacy.generation;
	pthread_mutex_unlock(&st->legacy.lock);
	return g;
}

int http_legacy_open(struct http_store *st)
{
	const char *ttl = http_host()->config_get("list_cache_ms");

	if (pthread_mutex_init(&st->legacy.lock, NULL) != 0)
		return -1;
	st->legacy.docs = NULL;
	st->legacy.generation = 0;
	st->legacy.ttl_s = ttl ? strtol(ttl, NULL, 10) / 1000.0 : 0.0;
	return 0;
}

void http_legacy_close(struct http_store *st)
{
	snapshot_drop(st);
	pthread_mutex_destroy(&st->legacy.lock);
}

/* ---- text --------------------------------------------------------------- */

/* Writes code point c as UTF-8 at out; its length, 0 if not a scalar. */
static size_t put_utf8(unsigned long c, char *out)
{
	if (c == 0 || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * The reference starting at s ("&...;") decoded into out; returns the
 * length of the reference consumed and sets *outlen, or 0 if s does not
 * start a reference this decodes.
 */
static size_t decode_ref(const char *s, char out[4], size_t *outlen)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"&amp;", '&'},
		     {"&lt;", '<'},
		     {"&gt;", '>'},
		     {"&quot;", '"'},
		     {"&apos;", '\''}};
	unsigned long c = 0;
	const char *p = s + 2;
	int base = 10, digits = 0;

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		size_t n = strlen(named[i].name);

		if (strncmp(s, named[i].name, n) == 0) {
			out[0] = named[i].c;
			*outlen = 1;
			return n;
		}
	}
	if (s[1] != '#')
		return 0;
	if (*p == 'x' || *p == 'X') {
		base = 16;
		p++;
	}
	for (; digits < 8; p++, digits++) {
		int d = *p >= '0' && *p <= '9'		       ? *p - '0'
			: base == 16 && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
			: base == 16 && *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
							       : -1;

		if (d < 0)
			break;
		c = c * (unsigned long)base + (unsigned long)d;
	}
	if (digits == 0 || *p != ';')
		return 0;
	/* control characters (C0 but newline and tab, DEL, C1) stay
	 * encoded: the message rules never let them into a page */
	if ((c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c <= 0x9f))
		return 0;
	*outlen = put_utf8(c, out);
	return *outlen ? (size_t)(p + 1 - s) : 0;
}

void http_legacy_unescape(char *s)
{
	char *w = s;
	const char *r = s;

	while (*r) {
		char buf[4];
		size_t n, len;

		if (*r == '&' && (n = decode_ref(r, buf, &len)) > 0) {
			/* a reference is never shorter than what it encodes */
			memcpy(w, buf, len);
			w += len;
			r += n;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}

/* ---- the list ----------------------------------------------------------- */

/* One legacy message as a document {author, message, date, id: null}. */
static cJSON *legacy_to_doc(const cJSON *m)
{
	const char *author = http_string_member(m, "author");
	const char *text = http_string_member(m, "message");
	const cJSON *date = cJSON_GetObjectItemCaseSensitive(m, "date");
	cJSON *doc, *a, *t;

	/* |date| before year 10000: microseconds stay exact in a cursor */
	if (!author || !text || !cJSON_IsNumber(date) ||
	    !(fabs(date->valuedouble) < LEGACY_DATE_MAX))
		return NULL;
	doc = cJSON_CreateObject();
	a = cJSON_AddStringToObject(doc, "author", author);
	t = cJSON_AddStringToObject(doc, "message", text);
	if (!doc || !a || !t ||
	    !cJSON_AddNumberToObject(doc, "date", date->valuedouble) ||
	    !cJSON_AddNullToObject(doc, "id")) {
		cJSON_Delete(doc);
		return NULL;
	}
	http_legacy_unescape(a->valuestring);
	http_legacy_unescape(t->valuestring);
	return doc;
}

/* Logs skipped messages when their number changes (not every ping). */
static void note_skipped(struct http_store *st, int skipped)
{
	static _Atomic int last_skipped;

	if (atomic_exchange(&last_skipped, skipped) != skipped && skipped)
		http_log(GB_LOG_WARN,
			 "backend %s: skipping %d message(s) of GET /messages "
			 "without string author and message and a numeric "
			 "date",
			 st->url, skipped);
}

/*
 * GET /messages into *docs (documents, newest first). 1 on success; 0
 * when the backend answered, but not by the contract (err says how);
 * -1 when it could not be asked (err filled).
 */
static int fetch(struct http_store *st, const struct gb_store_ctx *ctx,
		 int timeout_ms, cJSON **docs, struct gb_error *err)
{
	struct http_reply r;
	cJSON *root, *m;
	int skipped = 0;

	*docs = NULL;
	if (http_call(st, ctx, "GET", LEGACY_LIST, NULL, NULL, 1, timeout_ms,
		      &r, err) != GB_OK)
		return -1;
	if (r.status != 201) {
		gb_error_set(err, GB_ERR_UNAVAILABLE,
			     "backend %s answered GET /messages with HTTP %d, "
			     "not the legacy contract's 201",
			     st->url, r.status);
		http_reply_free(&r);
		return 0;
	}
	root = cJSON_ParseWithLength(r.body, r.len);
	http_reply_free(&r);
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		http_garbage(st, "GET /messages", "a JSON array", err);
		return 0;
	}
	*docs = cJSON_CreateArray();
	if (!*docs) {
		cJSON_Delete(root);
		gb_error_set(err, GB_ERR_NOMEM, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(m, root)
	{
		cJSON *doc = legacy_to_doc(m);

		if (doc)
			cJSON_AddItemToArray(*docs, doc);
		else
			skipped++;
	}
	cJSON_Delete(root);
	note_skipped(st, skipped);
	return 1;
}

/*
 * Keeps docs (taken), fetched at `at` in snapshot generation `gen`, as the
 * snapshot (when list_cache_ms is on), unless a post dropped the snapshot
 * since the fetch began: the list may predate that post.
 */
static void snapshot_keep(struct http_store *st, cJSON *docs, double at,
			  unsigned long gen)
{
	cJSON *old = docs;

	if (st->legacy.ttl_s > 0) {
		pthread_mutex_lock(&st->legacy.lock);
		if (st->legacy.generation == gen) {
			old = st->legacy.docs;
			st->legacy.docs = docs;
			st->legacy.at = at;
		}
		pthread_mutex_unlock(&st->legacy.lock);
	}
	cJSON_Delete(old);
}

/* The readiness probe's list serves the pages too: one fetch, not two. */
int http_legacy_probe(struct http_store *st, int timeout_ms,
		      struct gb_error *err)
{
	double at = http_host()->now_monotonic();
	unsigned long gen = snapshot_generation(st);
	cJSON *docs;
	int rc = fetch(st, NULL, timeout_ms, &docs, err);

	if (rc == 1)
		snapshot_keep(st, docs, at, gen);
	else
		cJSON_Delete(docs);
	return rc;
}

enum gb_status http_legacy_ping(struct http_store *st, int timeout_ms,
				struct gb_error *err)
{
	int rc = http_legacy_probe(st, timeout_ms, err);

	if (rc == 1)
		return GB_OK;
	if (rc == 0)
		gb_error_set(err, GB_ERR_UNAVAILABLE,
			     "backend %s is not ready: GET /messages must "
			     "answer 201 with a JSON array",
			     st->url);
	return err && err->status != GB_OK ? err->status : GB_ERR_UNAVAILABLE;
}

static long long date_us(const cJSON *doc)
{
	return llround(
	    cJSON_GetObjectItemCaseSensitive(doc, "date")->valuedouble * 1e6);
}

/* "lg<us>_<n>" (a minus sign is written "m"); -1 when malformed. */
static int parse_cursor(const char *c, long long *us, int *nth)
{
	int neg = 0;
	unsigned long long v;
	long n;
	char *end;

	if (strncmp(c, "lg", 2) != 0)
		return -1;
	c += 2;
	if (*c == 'm') {
		neg = 1;
		c++;
	}
	if (*c < '0' || *c > '9')
		return -1;
	errno = 0;
	v = strtoull(c, &end, 10);
	if (errno || *end != '_' || v > (unsigned long long)LLONG_MAX)
		return -1;
	c = end + 1;
	if (*c < '0' || *c > '9')
		return -1;
	n = strtol(c, &end, 10);
	if (errno || *end || n > 1000000000L)
		return -1;
	*us = neg ? -(long long)v : (long long)v;
	*nth = (int)n;
	return 0;
}

/* The cursor naming docs[idx]. */
static char *make_cursor(const cJSON *docs, int idx)
{
	long long us = date_us(cJSON_GetArrayItem(docs, idx));
	int nth = 0, i = 0;
	const cJSON *d;
	char buf[64];

	cJSON_ArrayForEach(d, docs)
	{
		if (i++ == idx)
			break;
		nth += date_us(d) == us;
	}
	snprintf(buf, sizeof(buf), "lg%s%llu_%d", us < 0 ? "m" : "",
		 us < 0 ? -(unsigned long long)us : (unsigned long long)us,
		 nth);
	return strdup(buf);
}

/* Index of the first document after the cursor's message. */
static int page_start(const cJSON *docs, long long us, int nth)
{
	const cJSON *d;
	int i = 0, seen = 0, first_older = -1;

	cJSON_ArrayForEach(d, docs)
	{
		long long t = date_us(d);

		if (t == us && seen++ == nth)
			return i + 1;
		if (t < us && first_older < 0)
			first_older = i;
		i++;
	}
	return first_older < 0 ? i : first_older;
}

/*
 * Copies the page of `all` after the cursor (us, nth; `from_cursor` 0:
 * the newest) into *page, at most `limit` documents, and sets *next to
 * the cursor of its last one when older ones follow. One pass.
 */
static enum gb_status cut_page(const cJSON *all, int limit, int from_cursor,
			       long long us, int nth, cJSON **page, char **next,
			       struct gb_error *err)
{
	int start = from_cursor ? page_start(all, us, nth) : 0, i = 0;
	int last = -1;
	const cJSON *d;

	*next = NULL;
	*page = cJSON_CreateArray();
	if (!*page)
		goto nomem;
	cJSON_ArrayForEach(d, all)
	{
		if (i >= start + limit) {
			*next = make_cursor(all, last);
			if (!*next)
				goto nomem;
			break;
		}
		if (i >= start) {
			cJSON *copy = cJSON_Duplicate(d, 1);

			if (!copy)
				goto nomem;
			cJSON_AddItemToArray(*page, copy);
			last = i;
		}
		i++;
	}
	return GB_OK;
nomem:
	cJSON_Delete(*page);
	*page = NULL;
	gb_error_set(err, GB_ERR_NOMEM, "out of memory");
	return GB_ERR_NOMEM;
}

enum gb_status http_legacy_list(struct http_store *st,
				const struct gb_store_ctx *ctx, int limit,
				const char *cursor, cJSON **docs_out,
				char **next_cursor, struct gb_error *err)
{
	int from_cursor = cursor && *cursor, nth = 0, served = 0;
	double now = http_host()->now_monotonic();
	unsigned long gen = 0;
	enum gb_status rc = GB_OK;
	long long us = 0;
	cJSON *all;

	if (from_cursor && parse_cursor(cursor, &us, &nth) < 0) {
		gb_error_set(err, GB_ERR_INVALID, "cursor is not valid");
		return GB_ERR_INVALID;
	}
	/* a fresh snapshot: only the page is copied, under the lock */
	if (st->legacy.ttl_s > 0) {
		pthread_mutex_lock(&st->legacy.lock);
		if (st->legacy.docs && now - st->legacy.at < st->legacy.ttl_s) {
			rc = cut_page(st->legacy.docs, limit, from_cursor, us,
				      nth, docs_out, next_cursor, err);
			served = 1;
		}
		gen = st->legacy.generation;
		pthread_mutex_unlock(&st->legacy.lock);
		if (served)
			return rc;
	}
	if (fetch(st, ctx, st->timeout_ms, &all, err) != 1)
		return err && err->status == GB_ERR_NOMEM ? GB_ERR_NOMEM
							  : GB_ERR_UNAVAILABLE;
	rc = cut_page(all, limit, from_cursor, us, nth, docs_out, next_cursor,
		      err);
	snapshot_keep(st, all, now, gen);
	return rc;
}

enum gb_status http_legacy_insert(struct http_store *st,
				  const struct gb_store_ctx *ctx,
				  const char *author, const char *text,
				  const char *key, struct gb_error *err)
{
	char key_header[40 + GB_IDEMPOTENCY_KEY_MAX] = "";
	struct http_reply r;
	cJSON *body = cJSON_CreateObject();
	char *json = NULL;
	enum gb_status rc;

	if (!body || !cJSON_AddStringToObject(body, "author", author) ||
	    !cJSON_AddStringToObject(body, "message", text) ||
	    !(json = cJSON_PrintUnformatted(body))) {
		cJSON_Delete(body);
		gb_error_set(err, GB_ERR_NOMEM, "out of memory");
		return GB_ERR_NOMEM;
	}
	cJSON_Delete(body);
	if (key)
		snprintf(key_header, sizeof(key_header),
			 "Idempotency-Key: %s\r\n", key);
	/* never repeated: the original backend ignores the key */
	rc = http_call(st, ctx, "POST", LEGACY_LIST, json, key_header, 0,
		       st->timeout_ms, &r, err);
	cJSON_free(json);
	if (rc != GB_OK)
		return rc;
	snapshot_drop(st);
	if (r.status == 201)
		rc = GB_OK;
	else if (r.status == 400 || r.status == 422)
		rc = http_unexpected(st, &r, "POST /messages", err);
	else if ((rc = http_unexpected(st, &r, "POST /messages", err)) !=
		 GB_ERR_INTERNAL)
		rc = GB_ERR_UNAVAILABLE;
	if (r.status == 404 && st->api_setting == HTTP_API_AUTO)
		atomic_store(&st->mode, HTTP_API_AUTO);
	http_reply_free(&r);
	return rc;
}
