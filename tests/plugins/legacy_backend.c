/*
 * legacy_backend.c - a test-only route plugin that serves exactly the
 * original Flask backend's contract over the configured store, for the
 * front end's legacy tests (tests/integration/storage_http_legacy.c):
 *
 *   GET  /messages  201, every message newest first, {"author","date",
 *                   "message"} with sorted keys; no ids, no paging
 *   POST /messages  {"author","message"} -> 201 {}; stores the text the
 *                   way the original's sanitizer (bleach) did, with < > &
 *                   turned into character references; a missing field is
 *                   a 500 as in the original; Idempotency-Key is ignored
 *
 * Load it alone (--plugins PATH/legacy_backend.so): no /api/v1 exists.
 */
#include <stdlib.h>
#include <string.h>

#include "guestbook/plugin.h"

static const struct gb_host_api *api;

/* s with & < > as &amp; &lt; &gt; (malloc'd), as bleach.clean stores it. */
static char *bleach_escape(const char *s)
{
	char *out = malloc(strlen(s) * 5 + 1), *w = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		const char *ref = *s == '&'   ? "&amp;"
				  : *s == '<' ? "&lt;"
				  : *s == '>' ? "&gt;"
					      : NULL;

		if (ref) {
			strcpy(w, ref);
			w += strlen(ref);
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return out;
}

static void list_all(struct gb_request *req)
{
	cJSON *out = cJSON_CreateArray();
	char *cursor = NULL, *text;

	for (;;) {
		struct gb_error err = {0};
		cJSON *docs = NULL, *doc;
		char *next = NULL;

		if (api->store_list(req, "messages", 100, cursor, &docs, &next,
				    &err) != GB_OK) {
			free(cursor);
			cJSON_Delete(out);
			api->respond(req, 500, "text/html",
				     "<h1>Internal Server Error</h1>", 30);
			return;
		}
		free(cursor);
		cJSON_ArrayForEach(doc, docs)
		{
			cJSON *m = cJSON_CreateObject();

			cJSON_AddItemToObject(
			    m, "author",
			    cJSON_Duplicate(cJSON_GetObjectItem(doc, "author"),
					    1));
			cJSON_AddItemToObject(
			    m, "date",
			    cJSON_Duplicate(cJSON_GetObjectItem(doc, "date"),
					    1));
			cJSON_AddItemToObject(
			    m, "message",
			    cJSON_Duplicate(cJSON_GetObjectItem(doc, "message"),
					    1));
			cJSON_AddItemToArray(out, m);
		}
		cJSON_Delete(docs);
		if (!next)
			break;
		cursor = next;
	}
	text = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	api->respond(req, 201, "application/json", text, strlen(text));
	cJSON_free(text);
}

static void post_one(struct gb_request *req)
{
	size_t len;
	const char *body = api->req_body(req, &len);
	cJSON *in = cJSON_ParseWithLength(body, len), *doc;
	const cJSON *author = cJSON_GetObjectItem(in, "author");
	const cJSON *message = cJSON_GetObjectItem(in, "message");
	struct gb_error err = {0};
	char id[GB_ID_MAX], *a, *m;

	if (!cJSON_IsString(author) || !cJSON_IsString(message)) {
		cJSON_Delete(in);
		api->respond(req, 500, "text/html",
			     "<h1>Internal Server Error</h1>", 30);
		return;
	}
	a = bleach_escape(author->valuestring);
	m = bleach_escape(message->valuestring);
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "author", a ? a : "");
	cJSON_AddStringToObject(doc, "message", m ? m : "");
	cJSON_AddNumberToObject(doc, "date", api->now_wall());
	free(a);
	free(m);
	cJSON_Delete(in);
	if (api->store_insert(req, "messages", doc, id, &err) != GB_OK)
		api->respond(req, 500, "text/html",
			     "<h1>Internal Server Error</h1>", 30);
	else
		api->respond(req, 201, "application/json", "{}", 2);
	cJSON_Delete(doc);
}

static void handle_post(struct gb_request *req, void *userdata)
{
	(void)userdata;
	post_one(req);
}

static void handle_list(struct gb_request *req, void *userdata)
{
	(void)userdata;
	list_all(req);
}

static int legacy_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	api = host;
	if (api->route_add(self, GB_GET, "/messages", handle_list, NULL, 0) !=
		GB_OK ||
	    api->route_add(self, GB_POST, "/messages", handle_post, NULL, 0) !=
		GB_OK) {
		api->init_error(self, "cannot register /messages");
		return 1;
	}
	return 0;
}

GB_PLUGIN(GB_PLUGIN_ROUTE, "legacy_backend", "2.0.0",
	  "test only: the original backend's GET/POST /messages", NULL,
	  legacy_init, NULL);
