/*
 * batch.c - POST /api/v1/messages/batch: up to API_BATCH_MAX posts in one
 * request, each checked as POST /api/v1/messages checks one, all stored
 * in one store call (store_insert_many: one commit on SQLite).
 *
 *   request   {"messages":[{"author","message","idempotency_key"?,
 *             "client"?}, ...]}
 *   200       {"results":[R, ...]}, one R per message, in order:
 *               {"status":201,"message":{id,author,message,created_at}}
 *               (with "replayed":true for a repeated idempotency_key),
 *               or {"status":S,"error":{"code","message","field"?}} with
 *               the status and error POST /api/v1/messages would answer
 *               (422 invalid_field, 422 idempotency_key_reused, 409
 *               idempotency_conflict, 429 rate_limited, 503
 *               storage_unavailable, 500 internal)
 *   503       storage_unavailable when the store failed every message
 *   501       not_supported when the store has no insert_many (a
 *             third-party store; SQLite and MongoDB have it): stored one
 *             by one, a batch would cost the sum of its round trips, so
 *             the client posts singly and concurrently
 *   400 / 415 a body that is not such an object / not application/json
 *
 * The front end's http store sends its concurrent posts here (see
 * storage/http/post_batch.c). Each message counts against the rate
 * limit of its "client" (the address the front end posts it for, believed
 * as X-Forwarded-For is: with trust_proxy), else of the request's client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "batch.h"
#include "http_headers.h"
#include "message.h"
#include "post.h"

static const struct gb_host_api *api;
static struct gb_plugin *plugin;

void api_batch_init(const struct gb_host_api *host, struct gb_plugin *self)
{
	api = host;
	plugin = self;
}

/* One message of the batch on its way through. */
struct batch_entry {
	struct gb_message_input input;
	cJSON *doc;    /* the document to store; NULL once answered */
	cJSON *result; /* the result object, once known */
};

static cJSON *error_result(int status, const char *code, const char *message,
			   const char *field)
{
	cJSON *r = cJSON_CreateObject(), *e;

	if (!r || !cJSON_AddNumberToObject(r, "status", status) ||
	    !(e = cJSON_AddObjectToObject(r, "error")) ||
	    !cJSON_AddStringToObject(e, "code", code) ||
	    !cJSON_AddStringToObject(e, "message", message) ||
	    (field && !cJSON_AddStringToObject(e, "field", field))) {
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

/* {"status":201,"message":...} for the stored document `doc`. */
static cJSON *stored_result(const cJSON *doc, int replayed)
{
	cJSON *r = cJSON_CreateObject(), *m = gb_message_to_v1(doc);

	if (!r || !m || !cJSON_AddNumberToObject(r, "status", 201)) {
		cJSON_Delete(r);
		cJSON_Delete(m);
		return NULL;
	}
	if (!cJSON_AddItemToObject(r, "message", m)) {
		cJSON_Delete(m);
		cJSON_Delete(r);
		return NULL;
	}
	if (replayed && !cJSON_AddTrueToObject(r, "replayed")) {
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

/* The result object of a message the pipeline stopped. */
static cJSON *stopped_result(struct gb_request *req,
			     const struct gb_post_result *res)
{
	struct api_error e;

	api_log_post_failure(req, res);
	api_post_error(res, 422, "idempotency_key", &e);
	return error_result(e.status, e.code, e.message, e.field);
}

/*
 * Checks one member of "messages" through the posting pipeline's steps
 * (post.h: rate limit, key, decode, validate) into e (e->result set when
 * refused); *key is its idempotency_key or NULL. Returns -1 when out of
 * memory.
 */
static int check_entry(struct gb_request *req, const cJSON *m,
		       struct batch_entry *e, const char **key)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(m, "idempotency_key");
	const char *client =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "client"));
	struct gb_post_fields fields = {{NULL, 0, NULL}, {NULL, 0, NULL}};
	struct gb_input_error derr;
	struct gb_post_result res;
	int decoded = api_json_fields(m, &fields, &derr) == 0;

	*key = cJSON_GetStringValue(k);
	if (gb_post_check(api, req, client, k != NULL, *key,
			  decoded ? &fields : NULL, &derr, &e->input,
			  &res) != 0) {
		if (res.outcome == GB_POST_NO_MEMORY)
			return -1;
		e->result = stopped_result(req, &res);
		return e->result ? 0 : -1;
	}
	e->doc = gb_message_document(&e->input, api->now_wall());
	return e->doc ? 0 : -1;
}

/* Stores the checked entries in one call and fills their results. */
static int store_entries(struct gb_request *req, struct batch_entry *entries,
			 const char **keys, size_t n, int *unavailable)
{
	struct gb_insert_item *items = calloc(n, sizeof(*items));
	size_t map[API_BATCH_MAX], todo = 0, down = 0;
	struct gb_error err = {0};
	enum gb_status st;
	int rc = 0;

	*unavailable = 0;
	if (!items)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!entries[i].doc)
			continue;
		items[todo].doc = entries[i].doc;
		items[todo].key = keys[i];
		map[todo++] = i;
	}
	st = todo ? api->store_insert_many(req, GB_MESSAGES_COLLECTION, items,
					   todo, &err)
		  : GB_OK;
	for (size_t j = 0; j < todo; j++) {
		struct batch_entry *e = &entries[map[j]];
		struct gb_insert_item *it = &items[j];
		struct gb_post_result res = {0};
		cJSON *doc = e->doc;

		if (st != GB_OK) {
			it->status = st;
			it->err = err;
		}
		e->doc = NULL; /* gb_post_settle takes it */
		gb_post_settle(api, req, it->status, &it->err, it->id,
			       it->repeated, &e->input, doc, &res);
		if (res.outcome == GB_POST_STORED)
			e->result = stored_result(res.stored, res.replayed);
		else if (res.outcome != GB_POST_NO_MEMORY)
			e->result = stopped_result(req, &res);
		cJSON_Delete(res.stored);
		if (!e->result)
			rc = -1;
		if (it->status == GB_ERR_UNAVAILABLE)
			down++;
	}
	/* the store failed every message: the request is unavailable */
	*unavailable = todo == n && down == n;
	free(items);
	return rc;
}

static void respond_results(struct gb_request *req, struct batch_entry *entries,
			    size_t n)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *results = root ? cJSON_AddArrayToObject(root, "results") : NULL;
	char *text;

	for (size_t i = 0; results && i < n; i++) {
		cJSON_AddItemToArray(results, entries[i].result);
		entries[i].result = NULL;
	}
	text = results ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (!text) {
		api->respond_error(req, 500, "internal", "internal error",
				   NULL);
		return;
	}
	api->respond(req, 200, "application/json", text, strlen(text));
	cJSON_free(text);
}

void api_batch_post(struct gb_request *req, void *userdata)
{
	struct batch_entry entries[API_BATCH_MAX];
	const char *keys[API_BATCH_MAX];
	struct gb_input_error ierr;
	struct gb_error serr = {0};
	const cJSON *msgs, *m;
	const char *body;
	size_t len, n = 0;
	int unavailable = 0, rc = 0;
	cJSON *root;

	(void)userdata;
	if (!gb_media_type_is(api->req_header(req, "Content-Type"),
			      "application/json")) {
		api->respond_error(req, 415, "unsupported_media_type",
				   "Content-Type must be application/json",
				   NULL);
		return;
	}
	body = api->req_body(req, &len);
	root = gb_json_parse_strict(body, len, &ierr);
	if (!root) {
		if (ierr.status == GB_INPUT_NO_MEMORY)
			api->respond_error(req, 500, "internal",
					   "internal error", NULL);
		else
			api->respond_error(req, 400, "invalid_json",
					   ierr.message, NULL);
		return;
	}
	msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) < 1 ||
	    cJSON_GetArraySize(msgs) > API_BATCH_MAX) {
		cJSON_Delete(root);
		api->respond_error(req, 400, "invalid_parameter",
				   "the body must be {\"messages\":[...]} with "
				   "1 to 100 messages",
				   "messages");
		return;
	}
	/* a store that cannot take a batch in one call: before any member
	 * takes a rate-limit token, since the client posts them again */
	if (api->store_insert_many(req, GB_MESSAGES_COLLECTION, NULL, 0,
				   &serr) == GB_ERR_UNSUPPORTED) {
		cJSON_Delete(root);
		api->respond_error(req, 501, "not_supported",
				   "this backend's store cannot take a batch; "
				   "post the messages one by one",
				   NULL);
		return;
	}
	memset(entries, 0, sizeof(entries));
	cJSON_ArrayForEach(m, msgs)
	{
		if (rc == 0)
			rc = check_entry(req, m, &entries[n], &keys[n]);
		n++;
	}
	if (rc == 0)
		rc = store_entries(req, entries, keys, n, &unavailable);
	if (rc != 0) {
		api->log(plugin, GB_LOG_ERROR, "out of memory (request %s)",
			 api->req_id(req));
		api->respond_error(req, 500, "internal", "internal error",
				   NULL);
	} else if (unavailable) {
		api->log(plugin, GB_LOG_WARN,
			 "storage insert unavailable (request %s)",
			 api->req_id(req));
		api->res_header(req, "Retry-After", GB_STORAGE_RETRY_AFTER);
		api->respond_error(req, 503, "storage_unavailable",
				   "the message store is unavailable; try "
				   "again shortly",
				   NULL);
	} else {
		respond_results(req, entries, n);
	}
	for (size_t i = 0; i < n; i++) {
		gb_message_input_free(&entries[i].input);
		cJSON_Delete(entries[i].doc);
		cJSON_Delete(entries[i].result);
	}
	cJSON_Delete(root);
}
