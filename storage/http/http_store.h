/*
 * http_store.h - what the two halves of the http store share: the store's
 * state and one HTTP exchange with the backend (http_store.c), and the
 * legacy contract of the original Flask backend (legacy.c).
 */
#ifndef GB_HTTP_STORE_H
#define GB_HTTP_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "guestbook/plugin.h"

#define HTTP_STORE_COLLECTION "messages"

/* The contract spoken with the backend (setting backend_api). */
enum http_api {
	HTTP_API_AUTO = 0, /* as a mode: not detected (yet, or again) */
	HTTP_API_V1 = 1,
	HTTP_API_LEGACY = 2,
};

/* The legacy list as last fetched, reused for paging (legacy.c). */
struct http_legacy_snapshot {
	pthread_mutex_t lock;
	cJSON *docs;  /* array of documents, newest first; NULL: none */
	double at;    /* monotonic time of the fetch */
	double ttl_s; /* list_cache_ms; 0: every list fetches */
	unsigned long generation; /* grows when a post drops the snapshot */
};

struct http_store {
	char url[512];	/* base URL as configured, for messages */
	char host[256]; /* without brackets for IPv6 */
	int port;
	char prefix[256]; /* path before /api/v1, no trailing slash */
	int timeout_ms;
	size_t max_body;       /* backend_max_body */
	char auth_header[600]; /* "Authorization: Bearer ...\r\n" or "" */
	int library_ready;
	enum http_api api_setting; /* as configured */
	_Atomic int mode;	   /* enum http_api in use; AUTO: detect */
	struct http_legacy_snapshot legacy;
};

/* A response read in full. */
struct http_reply {
	int status;
	int replayed; /* Idempotent-Replayed: true */
	int retried;  /* the answer came on the second try */
	char *body;   /* NUL-terminated, malloc'd */
	size_t len;
};

/* The host table, for the legacy half. */
const struct gb_host_api *http_host(void);

/* Logs with the plugin's name. */
void http_log(enum gb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Sends `method target` (target starts with "/", the backend_url's path
 * is put in front) with an optional JSON body and extra header lines
 * (each ending in CRLF; may be NULL), and reads the whole response into
 * out (free it with http_reply_free). `retry_safe`: the request may go on
 * a pooled connection and be repeated once on a new one when that fails
 * at once. Any transport problem, and a body over backend_max_body, is
 * GB_ERR_UNAVAILABLE.
 */
enum gb_status http_call(struct http_store *st, const struct gb_store_ctx *ctx,
			 const char *method, const char *target,
			 const char *json, const char *extra_headers,
			 int retry_safe, int timeout_ms, struct http_reply *out,
			 struct gb_error *err);

void http_reply_free(struct http_reply *r);

/* The string member `name` of obj, or NULL. */
const char *http_string_member(const cJSON *obj, const char *name);

/*
 * Maps a status the operation did not expect to an error: 404 not found,
 * 400/413/422 invalid (with the backend's message), 401/403 internal,
 * everything else unavailable.
 */
enum gb_status http_unexpected(struct http_store *st,
			       const struct http_reply *r, const char *op,
			       struct gb_error *err);

/* GB_ERR_UNAVAILABLE: the backend answered `op` with a body that is not
 * `what`. */
enum gb_status http_garbage(struct http_store *st, const char *op,
			    const char *what, struct gb_error *err);

/* Whether `m` is a whole v1 message (id, author, message, created_at). */
int http_v1_message_valid(const cJSON *m);

/*
 * One POST /api/v1/messages under idempotency `key`: the stored id into
 * id_out, *repeated 1 when the backend replayed an earlier post's answer.
 */
enum gb_status http_v1_insert(struct http_store *st,
			      const struct gb_store_ctx *ctx,
			      const char *author, const char *text,
			      const char *key, char id_out[GB_ID_MAX],
			      int *repeated, struct gb_error *err);

/*
 * http_v1_insert, coalesced with the posts other threads make at the same
 * time into POST /api/v1/messages/batch (post_batch.c).
 */
enum gb_status http_v1_post(struct http_store *st,
			    const struct gb_store_ctx *ctx, const char *author,
			    const char *text, const char *key,
			    char id_out[GB_ID_MAX], int *repeated,
			    struct gb_error *err);

/* "auto", "v1" or "legacy". */
const char *http_api_name(enum http_api api);

/* ---- legacy.c: GET/POST /messages ------------------------------------ */

/* Sets up the snapshot (list_cache_ms). -1 on failure. */
int http_legacy_open(struct http_store *st);
void http_legacy_close(struct http_store *st);

/*
 * GET /messages once: 1 when it answers 201 with a JSON array (the legacy
 * contract), 0 when it answers anything else, -1 (err filled) when the
 * backend cannot be reached.
 */
int http_legacy_probe(struct http_store *st, int timeout_ms,
		      struct gb_error *err);

/* The storage operations on the legacy contract. `key` may be NULL. */
enum gb_status http_legacy_insert(struct http_store *st,
				  const struct gb_store_ctx *ctx,
				  const char *author, const char *text,
				  const char *key, struct gb_error *err);
enum gb_status http_legacy_list(struct http_store *st,
				const struct gb_store_ctx *ctx, int limit,
				const char *cursor, cJSON **docs_out,
				char **next_cursor, struct gb_error *err);
enum gb_status http_legacy_ping(struct http_store *st, int timeout_ms,
				struct gb_error *err);

/*
 * Decodes the character references the original backend's sanitizer
 * (bleach) writes: &amp; &lt; &gt; &quot; &apos; and numeric ones, once,
 * in place. Anything else stays as it is.
 */
void http_legacy_unescape(char *s);

#endif
