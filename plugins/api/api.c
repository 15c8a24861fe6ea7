/*
 * api.c - the "api" route plugin: the guestbook's JSON API.
 *
 *   GET    /messages                 legacy list: 201, array newest first
 *   POST   /messages                 legacy post: 201 {}
 *   GET    /api/v1/messages          v1 page: limit, cursor, ETag
 *   POST   /api/v1/messages          v1 post: 201, Location, the message
 *   POST   /api/v1/messages/batch    several v1 posts at once (batch.c)
 *   GET    /api/v1/messages/{id}     v1 message
 *   DELETE /api/v1/messages/{id}     moderation, with the admin token
 *
 * Both POSTs honour an Idempotency-Key header: a repeat of a key within
 * GB_IDEMPOTENCY_WINDOW_S (10 minutes) answers the first post's 201 (with
 * Idempotent-Replayed: true) and stores nothing; the same key with another
 * message is 422 idempotency_key_reused.
 *
 * Settings (declared in api_settings, at the end): legacy_list_max
 * (default 1000), admin_token or admin_token_file (unset: moderation off,
 * DELETE always answers 401), list_cache_ms (how long rendered lists are
 * reused; see plugins/common/response_cache.h). Each keeps its old
 * spelling (GUESTBOOK_ADMIN_TOKEN) next to the plugin's (GUESTBOOK_API_*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "batch.h"
#include "guestbook/plugin.h"
#include "http_headers.h"
#include "message.h"
#include "post.h"
#include "response_cache.h"

#define V1_LIMIT_DEFAULT 20
#define V1_LIMIT_MAX	 100
#define LEGACY_PAGE	 100
#define CURSOR_MAX	 256

/* List cache slots: 0 is the legacy list, 1..100 the v1 first page by
 * limit. */
#define LIST_CACHE_SLOTS (V1_LIMIT_MAX + 1)
#define V1_PREFIX	 "/api/v1/messages/"

static const struct gb_host_api *api;
static struct gb_plugin *plugin;
static long legacy_list_max;		     /* setting legacy_list_max */
static char *admin_token;		     /* NULL: moderation is off */
static struct gb_response_cache *list_cache; /* rendered first pages */

/* ---- responses ------------------------------------------------------- */

/* Answers a failed store call: 503 when the store is down, else 500. */
static void respond_store_error(struct gb_request *req, const char *op,
				enum gb_status status,
				const struct gb_error *err)
{
	if (status == GB_ERR_UNAVAILABLE) {
		api->log(plugin, GB_LOG_WARN,
			 "storage %s unavailable: %s (request %s)", op,
			 err->message, api->req_id(req));
		api->res_header(req, "Retry-After", GB_STORAGE_RETRY_AFTER);
		api->respond_error(req, 503, "storage_unavailable",
				   "the message store is unavailable; try "
				   "again shortly",
				   NULL);
		return;
	}
	api->log(plugin, GB_LOG_ERROR,
		 "storage %s failed (status %d): %s "
		 "(request %s)",
		 op, (int)status, err->message, api->req_id(req));
	api->respond_error(req, 500, "internal", "internal error", NULL);
}

static void respond_out_of_memory(struct gb_request *req)
{
	api->log(plugin, GB_LOG_ERROR, "out of memory (request %s)",
		 api->req_id(req));
	api->respond_error(req, 500, "internal", "internal error", NULL);
}

/* Prints `json` compactly and answers with it; takes ownership. */
static void respond_owned_json(struct gb_request *req, int status, cJSON *json)
{
	char *text = json ? cJSON_PrintUnformatted(json) : NULL;

	cJSON_Delete(json);
	if (!text) {
		respond_out_of_memory(req);
		return;
	}
	api->respond(req, status, "application/json", text, strlen(text));
	cJSON_free(text);
}

/*
 * Answers 200 with `text`, its strong ETag and Cache-Control: no-cache, or
 * 304 when If-None-Match matches the ETag.
 */
static void respond_tagged(struct gb_request *req, const char *text, size_t len,
			   const char *etag)
{
	api->res_header(req, "ETag", etag);
	api->res_header(req, "Cache-Control", "no-cache");
	if (gb_if_none_match(api->req_header(req, "If-None-Match"), etag))
		api->respond(req, 304, "application/json", NULL, 0);
	else
		api->respond(req, 200, "application/json", text, len);
}

/*
 * Answers from the list cache's `slot` if it holds a fresh response
 * (1), else 0. Slot 0 (legacy) answers 201 without an ETag.
 */
static int respond_from_cache(struct gb_request *req, int slot)
{
	struct gb_cached_response *c;

	c = gb_response_cache_get(list_cache, (size_t)slot,
				  api->now_monotonic());
	if (!c)
		return 0;
	if (slot == 0)
		api->respond(req, 201, "application/json", c->body, c->len);
	else
		respond_tagged(req, c->body, c->len, c->etag);
	gb_response_cache_release(c);
	return 1;
}

/*
 * Prints `json` (taken) and answers it like respond_tagged (or 201 for
 * the legacy slot 0); keeps a copy in the list cache when `slot` >= 0
 * (-1: not cacheable, e.g. a single message or a later page).
 */
static void respond_list(struct gb_request *req, cJSON *json, int slot,
			 uint64_t generation)
{
	char *text = json ? cJSON_PrintUnformatted(json) : NULL;
	char etag[GB_ETAG_MAX];
	size_t len;

	cJSON_Delete(json);
	if (!text) {
		respond_out_of_memory(req);
		return;
	}
	len = strlen(text);
	gb_etag_of(text, len, etag);
	if (slot >= 0)
		gb_response_cache_put(list_cache, (size_t)slot, generation,
				      api->now_monotonic(), text, len, etag);
	if (slot == 0)
		api->respond(req, 201, "application/json", text, len);
	else
		respond_tagged(req, text, len, etag);
	cJSON_free(text);
}

/* The JSON body's state while it is decoded: the parsed value. */
struct json_post {
	cJSON *root;
};

int api_json_fields(const cJSON *root, struct gb_post_fields *fields,
		    struct gb_input_error *err)
{
	struct gb_post_field *f[] = {&fields->author, &fields->message};
	const char *names[] = {"author", "message"};

	if (gb_message_check_object(root, err) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		struct gb_input_error shape;

		if (gb_message_member(root, names[i], &f[i]->text, &shape) != 0)
			f[i]->shape_error = shape.message;
		else
			f[i]->len = strlen(f[i]->text);
	}
	return 0;
}

/* post.h's decode step for a JSON body {"author": .., "message": ..}. */
static int decode_json(void *state, const char *body, size_t len,
		       struct gb_post_fields *fields,
		       struct gb_input_error *err)
{
	struct json_post *jp = state;

	jp->root = gb_json_parse_body(body, len, err);
	if (!jp->root)
		return -1;
	return api_json_fields(jp->root, fields, err);
}

/*
 * A browser sends text/plain, form and multipart bodies, or none declared,
 * cross site without a CORS preflight; a JSON body it sends only after
 * one. So a post must declare application/json.
 */
static const struct gb_post_format json_post_format = {
    .media_type = "application/json",
    .media_type_optional = 0,
    .honours_idempotency = 1,
    .decode = decode_json,
};

void api_post_error(const struct gb_post_result *res, int field_status,
		    const char *key_field, struct api_error *out)
{
	*out = (struct api_error){500, "internal", "internal error", NULL};
	switch (res->outcome) {
	case GB_POST_STORED:
	case GB_POST_NO_MEMORY: break;
	case GB_POST_RATE_LIMITED:
		*out = (struct api_error){429, "rate_limited",
					  "too many messages; try again later",
					  NULL};
		break;
	case GB_POST_MEDIA_TYPE:
		*out = (struct api_error){
		    415, "unsupported_media_type",
		    "Content-Type must be application/json", NULL};
		break;
	case GB_POST_BAD_KEY:
		*out = (struct api_error){
		    400, "invalid_parameter",
		    "the idempotency key must be 1 to 128 characters of A-Z "
		    "a-z 0-9 _ . : -",
		    key_field};
		break;
	case GB_POST_INVALID:
		if (res->input.status == GB_INPUT_INVALID_JSON)
			*out = (struct api_error){400, "invalid_json",
						  res->input.message, NULL};
		else
			*out = (struct api_error){field_status, "invalid_field",
						  res->input.message,
						  res->input.field};
		break;
	case GB_POST_STORE_FAILED:
		if (res->status == GB_ERR_UNAVAILABLE)
			*out = (struct api_error){
			    503, "storage_unavailable",
			    "the message store is unavailable; try again "
			    "shortly",
			    NULL};
		break;
	case GB_POST_KEY_GONE:
		*out = (struct api_error){409, "idempotency_conflict",
					  "the message first posted with this "
					  "idempotency key has been deleted",
					  NULL};
		break;
	case GB_POST_KEY_REUSED:
		*out = (struct api_error){
		    422, "idempotency_key_reused",
		    "this idempotency key was used for another message "
		    "within the last 10 minutes",
		    key_field};
		break;
	}
}

void api_log_post_failure(struct gb_request *req,
			  const struct gb_post_result *res)
{
	if (res->outcome == GB_POST_NO_MEMORY)
		api->log(plugin, GB_LOG_ERROR, "out of memory (request %s)",
			 api->req_id(req));
	else if (res->outcome == GB_POST_STORE_FAILED)
		api->log(plugin,
			 res->status == GB_ERR_UNAVAILABLE ? GB_LOG_WARN
							   : GB_LOG_ERROR,
			 "storage %s %s (status %d): %s (request %s)", res->op,
			 res->status == GB_ERR_UNAVAILABLE ? "unavailable"
							   : "failed",
			 (int)res->status, res->err.message, api->req_id(req));
}

/*
 * Runs the posting pipeline on a JSON post. Returns 0 when it stored (or
 * replayed) the message, with the stored document (with "id") in
 * *stored; otherwise it has answered: `field_status` for bad fields (422,
 * or 400 for legacy).
 */
static int post_json_message(struct gb_request *req, int field_status,
			     cJSON **stored)
{
	struct json_post state = {NULL};
	struct gb_post_result res;
	struct api_error e;
	char seconds[16];
	const char *retry;

	gb_post_message(api, req, &json_post_format, &state, &res);
	cJSON_Delete(state.root);
	*stored = res.stored;
	if (res.outcome == GB_POST_STORED) {
		if (res.replayed)
			api->res_header(req, "Idempotent-Replayed", "true");
		return 0;
	}
	api_log_post_failure(req, &res);
	retry = gb_post_retry_after(&res, seconds, sizeof(seconds));
	if (retry)
		api->res_header(req, "Retry-After", retry);
	api_post_error(&res, field_status, "Idempotency-Key", &e);
	api->respond_error(req, e.status, e.code, e.message, e.field);
	return -1;
}

/* Logs a stored document that cannot be served (it is skipped). */
static void log_malformed(const cJSON *doc)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");

	api->log(plugin, GB_LOG_WARN, "skipping malformed message %s",
		 cJSON_IsString(id) ? id->valuestring : "(without id)");
}

/* ---- legacy ---------------------------------------------------------- */

/* Appends the legacy form of each document to `out`; counts them. */
static long append_legacy(cJSON *out, const cJSON *docs, long room)
{
	const cJSON *doc;
	long added = 0;

	cJSON_ArrayForEach(doc, docs)
	{
		cJSON *item;

		if (added == room)
			break;
		item = gb_message_to_legacy(doc);
		if (!item) {
			log_malformed(doc);
			continue;
		}
		cJSON_AddItemToArray(out, item);
		added++;
	}
	return added;
}

static void legacy_list(struct gb_request *req, void *userdata)
{
	(void)userdata;
	uint64_t generation = gb_response_cache_generation(list_cache);
	cJSON *out;
	char *cursor = NULL;
	long remaining = legacy_list_max;

	if (respond_from_cache(req, 0))
		return;
	out = cJSON_CreateArray();
	if (!out) {
		respond_out_of_memory(req);
		return;
	}
	while (remaining > 0) {
		int limit =
		    remaining < LEGACY_PAGE ? (int)remaining : LEGACY_PAGE;
		struct gb_error err = {0};
		cJSON *docs = NULL;
		char *next = NULL;
		enum gb_status status;

		status = api->store_list(req, GB_MESSAGES_COLLECTION, limit,
					 cursor, &docs, &next, &err);
		free(cursor);
		cursor = NULL;
		if (status != GB_OK) {
			cJSON_Delete(out);
			respond_store_error(req, "list", status, &err);
			return;
		}
		remaining -= append_legacy(out, docs, remaining);
		if (cJSON_GetArraySize(docs) == 0) {
			free(next);
			next = NULL;
		}
		cJSON_Delete(docs);
		if (!next)
			break;
		cursor = next;
	}
	free(cursor);
	/* The original answers its list with 201; clients may expect it. */
	respond_list(req, out, 0, generation);
}

static void legacy_post(struct gb_request *req, void *userdata)
{
	(void)userdata;
	cJSON *stored;

	if (post_json_message(req, 400, &stored) != 0)
		return;
	cJSON_Delete(stored);
	api->respond(req, 201, "application/json", "{}", 2);
}

/* ---- v1 -------------------------------------------------------------- */

/* Reads ?limit= into *limit: 0, or -1 after answering 400. */
static int read_limit(struct gb_request *req, int *limit)
{
	char buf[16];
	int n = api->req_query(req, "limit", buf, sizeof(buf));
	long value = 0;

	*limit = V1_LIMIT_DEFAULT;
	if (n == -1)
		return 0;
	for (int i = 0; n > 0 && i < n; i++) {
		if (buf[i] < '0' || buf[i] > '9') {
			n = -2;
			break;
		}
		value = value * 10 + (buf[i] - '0');
	}
	if (n <= 0 || value < 1 || value > V1_LIMIT_MAX) {
		api->respond_error(req, 400, "invalid_parameter",
				   "limit must be an integer from 1 to 100",
				   "limit");
		return -1;
	}
	*limit = (int)value;
	return 0;
}

static void respond_bad_cursor(struct gb_request *req)
{
	api->respond_error(req, 400, "invalid_parameter",
			   "cursor is not valid; use next_cursor from a "
			   "previous page",
			   "cursor");
}

/* Reads ?cursor= into buf ("" for none): 0, or -1 after answering 400. */
static int read_cursor(struct gb_request *req, char *buf, size_t len)
{
	int n = api->req_query(req, "cursor", buf, len);

	if (n == -1) {
		buf[0] = '\0';
		return 0;
	}
	/* An empty ?cursor= is the first page, as no cursor. */
	if (n < 0 || (n > 0 && !gb_is_word(buf, GB_CHARSET_CURSOR, len))) {
		respond_bad_cursor(req);
		return -1;
	}
	return 0;
}

/* {"messages":[v1...],"next_cursor":..} from a store page; NULL on OOM. */
static cJSON *v1_page(const cJSON *docs, const char *next)
{
	cJSON *page = cJSON_CreateObject();
	cJSON *messages = cJSON_AddArrayToObject(page, "messages");
	const cJSON *doc;

	if (!page || !messages) {
		cJSON_Delete(page);
		return NULL;
	}
	cJSON_ArrayForEach(doc, docs)
	{
		cJSON *item = gb_message_to_v1(doc);

		if (!item) {
			log_malformed(doc);
			continue;
		}
		cJSON_AddItemToArray(messages, item);
	}
	if (!(next ? cJSON_AddStringToObject(page, "next_cursor", next)
		   : cJSON_AddNullToObject(page, "next_cursor"))) {
		cJSON_Delete(page);
		return NULL;
	}
	return page;
}

static void v1_list(struct gb_request *req, void *userdata)
{
	(void)userdata;
	char cursor[CURSOR_MAX];
	struct gb_error err = {0};
	cJSON *docs = NULL, *page;
	char *next = NULL;
	enum gb_status status;
	uint64_t generation;
	int limit, slot;

	if (read_limit(req, &limit) != 0 ||
	    read_cursor(req, cursor, sizeof(cursor)) != 0)
		return;
	/* Only first pages are cached: they are what pollers ask for. */
	slot = cursor[0] ? -1 : limit;
	if (slot > 0 && respond_from_cache(req, slot))
		return;
	generation = gb_response_cache_generation(list_cache);
	status = api->store_list(req, GB_MESSAGES_COLLECTION, limit,
				 cursor[0] ? cursor : NULL, &docs, &next, &err);
	if (status == GB_ERR_INVALID) {
		respond_bad_cursor(req);
		return;
	}
	if (status != GB_OK) {
		respond_store_error(req, "list", status, &err);
		return;
	}
	page = v1_page(docs, next);
	cJSON_Delete(docs);
	free(next);
	if (!page) {
		respond_out_of_memory(req);
		return;
	}
	respond_list(req, page, slot, generation);
}

/* Writes "/api/v1/messages/" and the percent-encoded id into buf. */
static void message_location(const char *id, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t w = strlen(V1_PREFIX);

	memcpy(buf, V1_PREFIX, w + 1);
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' ||
			    *p == '_' || *p == '.' || *p == '~';

		if (w + (plain ? 1 : 3) >= len)
			break;
		if (plain) {
			buf[w++] = (char)*p;
			continue;
		}
		buf[w++] = '%';
		buf[w++] = hex[*p >> 4];
		buf[w++] = hex[*p & 15];
	}
	buf[w] = '\0';
}

static void v1_post(struct gb_request *req, void *userdata)
{
	(void)userdata;
	char location[sizeof(V1_PREFIX) + 3 * GB_ID_MAX];
	cJSON *stored, *message;
	const char *id;

	if (post_json_message(req, 422, &stored) != 0)
		return;
	id = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(stored, "id"));
	if (id) {
		message_location(id, location, sizeof(location));
		api->res_header(req, "Location", location);
	}
	message = gb_message_to_v1(stored);
	cJSON_Delete(stored);
	if (!message) {
		respond_out_of_memory(req);
		return;
	}
	respond_owned_json(req, 201, message);
}

static void respond_not_found(struct gb_request *req)
{
	api->respond_error(req, 404, "not_found", "message not found", NULL);
}

static void v1_get(struct gb_request *req, const char *id)
{
	struct gb_error err = {0};
	cJSON *doc = NULL, *message;
	enum gb_status status;

	status = api->store_get(req, GB_MESSAGES_COLLECTION, id, &doc, &err);
	if (status == GB_ERR_NOT_FOUND || status == GB_ERR_INVALID) {
		respond_not_found(req);
		return;
	}
	if (status != GB_OK) {
		respond_store_error(req, "get", status, &err);
		return;
	}
	message = gb_message_to_v1(doc);
	cJSON_Delete(doc);
	if (!message) {
		api->log(plugin, GB_LOG_ERROR,
			 "message %s is malformed in the store (request %s)",
			 id, api->req_id(req));
		api->respond_error(req, 500, "internal", "internal error",
				   NULL);
		return;
	}
	respond_list(req, message, -1, 0);
}

/* 401 with a Bearer challenge. */
static void respond_unauthorized(struct gb_request *req, const char *why)
{
	api->res_header(req, "WWW-Authenticate", "Bearer realm=\"guestbook\"");
	api->respond_error(req, 401, "unauthorized", why, NULL);
}

static void v1_delete(struct gb_request *req, const char *id)
{
	struct gb_error err = {0};
	enum gb_status status;

	if (!admin_token) {
		respond_unauthorized(req, "moderation is disabled: no admin "
					  "token is configured");
		return;
	}
	if (!gb_bearer_matches(api->req_header(req, "Authorization"),
			       admin_token)) {
		respond_unauthorized(req, "a valid bearer token is required");
		return;
	}
	status = api->store_remove(req, GB_MESSAGES_COLLECTION, id, &err);
	if (status == GB_ERR_NOT_FOUND || status == GB_ERR_INVALID) {
		respond_not_found(req);
		return;
	}
	if (status == GB_ERR_UNSUPPORTED) {
		api->respond_error(req, 501, "not_supported", err.message,
				   NULL);
		return;
	}
	if (status != GB_OK) {
		respond_store_error(req, "remove", status, &err);
		return;
	}
	api->log(plugin, GB_LOG_INFO, "message %s deleted (request %s)", id,
		 api->req_id(req));
	api->respond(req, 204, "application/json", NULL, 0);
}

/* The {id} of /api/v1/messages/{id}; NULL after answering 404. */
static const char *message_id(struct gb_request *req)
{
	const char *id = api->req_param(req, "id");

	if (!id || !*id) {
		respond_not_found(req);
		return NULL;
	}
	return id;
}

static void handle_v1_get(struct gb_request *req, void *userdata)
{
	const char *id = message_id(req);

	(void)userdata;
	if (id)
		v1_get(req, id);
}

static void handle_v1_delete(struct gb_request *req, void *userdata)
{
	const char *id = message_id(req);

	(void)userdata;
	if (id)
		v1_delete(req, id);
}

/* ---- set-up ---------------------------------------------------------- */

/* Copies `s` without surrounding whitespace into a new string. */
static char *trimmed_copy(const char *s)
{
	size_t len = strlen(s);
	char *copy;

	while (len > 0 && strchr(" \t\r\n", s[0])) {
		s++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n", s[len - 1]))
		len--;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

/* The token from admin_token (or admin_token_file, read by the host). */
static int read_admin_token(void)
{
	const char *token = api->setting_get(plugin, "admin_token");

	if (!token || !*token)
		return 0; /* moderation off */
	admin_token = trimmed_copy(token);
	if (!admin_token) {
		api->init_error(plugin, "admin_token: out of memory");
		return -1;
	}
	if (!*admin_token) {
		api->init_error(plugin, "admin_token: empty after trimming");
		return -1;
	}
	return 0;
}

static int add_route(unsigned method, const char *pattern,
		     gb_route_handler handler)
{
	enum gb_status status =
	    api->route_add(plugin, method, pattern, handler, NULL, 0);

	if (status != GB_OK) {
		api->init_error(plugin, "cannot register %s (status %d)",
				pattern, (int)status);
		return -1;
	}
	return 0;
}

static int api_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	api = host;
	plugin = self;
	api_batch_init(host, self);
	legacy_list_max = api->setting_int(plugin, "legacy_list_max");
	if (read_admin_token() != 0)
		return -1;
	list_cache = gb_response_cache_new(
	    LIST_CACHE_SLOTS, api->setting_int(plugin, "list_cache_ms"),
	    api->store_generation);
	if (!list_cache) {
		api->init_error(plugin, "out of memory for the list cache");
		return -1;
	}
	if (gb_post_init(api, plugin) != 0)
		return -1;
	if (!admin_token)
		api->log(plugin, GB_LOG_INFO,
			 "moderation is off: set admin_token or "
			 "admin_token_file to allow DELETE");
	if (add_route(GB_GET, "/messages", legacy_list) ||
	    add_route(GB_POST, "/messages", legacy_post) ||
	    add_route(GB_GET, "/api/v1/messages", v1_list) ||
	    add_route(GB_POST, "/api/v1/messages", v1_post) ||
	    add_route(GB_POST, "/api/v1/messages/batch", api_batch_post) ||
	    add_route(GB_GET, "/api/v1/messages/{id}", handle_v1_get) ||
	    add_route(GB_DELETE, "/api/v1/messages/{id}", handle_v1_delete))
		return -1;
	return 0;
}

static void api_fini(struct gb_plugin *self)
{
	(void)self;
	free(admin_token);
	admin_token = NULL;
	gb_response_cache_free(list_cache);
	list_cache = NULL;
}

/* The settings keep the spellings of the host table they came from. */
static const struct gb_setting api_settings[] = {
    {"legacy_list_max", GB_SETTING_INT, "1000", 1, 100000, NULL,
     "most messages GET /messages returns", 0, "legacy_list_max"},
    {"admin_token", GB_SETTING_STRING, NULL, 0, 0, NULL,
     "bearer token for DELETE (unset: moderation off)", GB_SETTING_SECRET,
     "admin_token"},
    {"list_cache_ms", GB_SETTING_INT, "500", 0, 60000, NULL,
     "reuse rendered message lists this long (0: off)", 0, "list_cache_ms"},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

GB_PLUGIN(GB_PLUGIN_ROUTE, "api", "2.0.0",
	  "Guestbook JSON API: legacy /messages and /api/v1/messages",
	  api_settings, api_init, api_fini);
