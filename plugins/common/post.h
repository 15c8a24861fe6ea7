/*
 * post.h - posting a guestbook message: the one pipeline behind the api's
 * POST /messages and POST /api/v1/messages and the web's POST /post.
 *
 * Every post takes the same steps in the same order, and stops at the
 * first that refuses it:
 *
 *   1. rate limit    api->rate_limit_take: a client posting too fast is
 *                    refused before anything of its request is read;
 *   2. content type  the format's media type (the api: application/json,
 *                    required; the web: application/x-www-form-urlencoded,
 *                    or none declared, as HTML forms may send);
 *   3. idempotency   the Idempotency-Key header, when the format honours
 *                    it (the api): a malformed key is refused;
 *   4. decode        the format's decoder reads the body into the two raw
 *                    fields (a JSON body that is not JSON is refused here);
 *   5. validate      author, then message, by message.h's rules (both are
 *                    checked, so a form can mark every bad field);
 *   6. store         store_insert, or store_insert_once under the key; a
 *                    repeated key replays the first post's document.
 *
 * The caller turns the result into its answer (JSON errors for the api, the
 * page with the errors next to the fields for the web). One rule for
 * Retry-After applies to both: the limiter's wait for a 429, and
 * GB_STORAGE_RETRY_AFTER for a store that is unavailable.
 *
 * The step counts guestbook_messages_created_total for every message it
 * stores (a replayed key counts once, on its first post). The api and web
 * plugins both link this file; gb_post_init registers the counter from
 * each, and the host gives both the same family.
 */
#ifndef GB_COMMON_POST_H
#define GB_COMMON_POST_H

#include <stddef.h>

#include "guestbook/plugin.h"
#include "message.h"

/* Retry-After of a 503 because the store is unavailable (posts and lists,
 * api and web alike): the host's one value, see plugin.h. */
#define GB_STORAGE_RETRY_AFTER GB_RETRY_AFTER_UNAVAILABLE

/* The two fields of a post as the decoder found them, before validation. */
struct gb_post_field {
	const char *text; /* NULL when absent */
	size_t len;
	/*
	 * A sentence when the body's shape is wrong for this field ("author
	 * is required", "author must be a string"): validation then reports
	 * it instead of checking `text`. NULL otherwise.
	 */
	const char *shape_error;
};

struct gb_post_fields {
	struct gb_post_field author, message;
};

/* How a format's body is read. */
struct gb_post_format {
	const char *media_type;	 /* "application/json" */
	int media_type_optional; /* 1: no Content-Type is read as it */
	int honours_idempotency; /* 1: Idempotency-Key is read and used */
	/*
	 * Decodes `len` bytes of `body` into *fields (strings stay owned by
	 * the decoder's `state`, which the caller frees after the post).
	 * Returns 0, or -1 with *err (GB_INPUT_INVALID_JSON or
	 * GB_INPUT_NO_MEMORY; GB_INPUT_INVALID_FIELD with field NULL when the
	 * body as a whole has the wrong shape).
	 */
	int (*decode)(void *state, const char *body, size_t len,
		      struct gb_post_fields *fields,
		      struct gb_input_error *err);
};

/* Where a post stopped. */
enum gb_post_outcome {
	GB_POST_STORED = 0,	  /* stored (or replayed): see `stored` */
	GB_POST_RATE_LIMITED = 1, /* 429: retry_after is the wait */
	GB_POST_MEDIA_TYPE = 2,	  /* 415: not the format's media type */
	GB_POST_BAD_KEY = 3,	  /* 400: malformed Idempotency-Key */
	GB_POST_INVALID = 4,	  /* decode or validation refused: `input` */
	GB_POST_NO_MEMORY = 5,	  /* 500 */
	GB_POST_STORE_FAILED = 6, /* `status` and `err` of the store */
	GB_POST_KEY_REUSED = 7,	  /* 422: the key holds another message */
	GB_POST_KEY_GONE = 8,	  /* 409: the key's message was deleted */
};

struct gb_post_result {
	enum gb_post_outcome outcome;
	/* GB_POST_RATE_LIMITED: seconds to wait (>= 1). */
	int retry_after;
	/*
	 * GB_POST_INVALID: the first failure (decode, then author, then
	 * message); author_error and message_error hold each field's own
	 * (status GB_INPUT_OK when that field is valid or was not reached).
	 */
	struct gb_input_error input, author_error, message_error;
	/* GB_POST_STORE_FAILED: the store's answer to `op` ("insert" or,
	 * reading a replayed key's message, "get"). */
	const char *op;
	enum gb_status status;
	struct gb_error err;
	/*
	 * GB_POST_STORED: the stored document, with its "id" when the store
	 * gives ids (caller frees with cJSON_Delete); `replayed` is 1 when
	 * an earlier post with the same key stored it.
	 */
	cJSON *stored;
	int replayed;
};

/*
 * Registers guestbook_messages_created_total for the calling plugin (call
 * from init). Returns 0, or -1 after api->init_error.
 */
int gb_post_init(const struct gb_host_api *api, struct gb_plugin *self);

/*
 * Runs the pipeline above on `req` with `format` (its decoder gets
 * `state`) and fills *res. Answers nothing and sets no header: the caller
 * does. Returns res->outcome.
 */
enum gb_post_outcome gb_post_message(const struct gb_host_api *api,
				     struct gb_request *req,
				     const struct gb_post_format *format,
				     void *state, struct gb_post_result *res);

/*
 * A batch (POST /api/v1/messages/batch) takes the same steps per message,
 * in the same order, after the request-level ones (its content type and
 * the decoding of the whole body, which the caller does):
 *
 * gb_post_check runs steps 1, 3, 4 and 5 for one message: the rate limit
 * of `client` (NULL: the request's own client), its idempotency key
 * (`key_given` nonzero when the message named one; `key` is NULL when
 * that was not a string), the caller's decoding of it (`fields`, or NULL
 * when the decoder refused the message for *decode_err) and the
 * validation of `fields` into *in. Returns 0 when the message may be
 * stored, else -1 with res->outcome.
 */
int gb_post_check(const struct gb_host_api *api, struct gb_request *req,
		  const char *client, int key_given, const char *key,
		  const struct gb_post_fields *fields,
		  const struct gb_input_error *decode_err,
		  struct gb_message_input *in, struct gb_post_result *res);

/*
 * Step 6's end for one message the caller stored (a store_insert_many
 * item): the store's `status` and `err`, the `id` it gave and whether the
 * key was `repeated`. `doc` is the document that was stored; it is taken
 * (freed, or moved to res->stored). A repeated key is replayed as
 * gb_post_message replays it, and a new message is counted. Returns
 * res->outcome.
 */
enum gb_post_outcome
gb_post_settle(const struct gb_host_api *api, struct gb_request *req,
	       enum gb_status status, const struct gb_error *err,
	       const char *id, int repeated, const struct gb_message_input *in,
	       cJSON *doc, struct gb_post_result *res);

/*
 * The Retry-After the caller sends with its answer to `res`: the wait for
 * GB_POST_RATE_LIMITED, GB_STORAGE_RETRY_AFTER for a store that is
 * unavailable, NULL for any other outcome. `buf` holds the number when
 * one is formatted.
 */
const char *gb_post_retry_after(const struct gb_post_result *res, char *buf,
				size_t len);

#endif
