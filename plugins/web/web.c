/*
 * web.c - the guestbook's web front end (route plugin "web"):
 *   GET  /           the page: form and the newest 20 messages, paged
 *   POST /post       the form: 303 to / or the page again with the errors
 *   GET  /static/...  the assets under www_dir/static
 * Templates come from www_dir/templates and are read once at init. Every
 * HTML response carries the security headers (a CSP without inline script
 * or style, no referrer, no framing; nosniff is the host's). The page works
 * without JavaScript; static/app.js adds posting without reload and live
 * updates over the v1 API.
 *
 * The newest page of GET / (no cursor, no error) is rendered once and
 * reused while younger than `list_cache_ms` (default 500, 0: off) and no
 * post or delete went through this process (see response_cache.h): a
 * visitor sees their own post at once, a post made through another
 * process within list_cache_ms. The relative times on a reused page ("2
 * minutes ago") may be up to list_cache_ms old; the exact time is in each
 * card's datetime attribute. The page holds nothing per request (no token,
 * no nonce, no request id), so one copy serves every visitor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestbook/plugin.h"
#include "http_headers.h"
#include "message.h"
#include "post.h"
#include "response_cache.h"

#include "form.h"
#include "relative_time.h"
#include "static_files.h"
#include "template.h"

#define PAGE_SIZE  20
#define CURSOR_MAX 256

#define CSP                                                                    \
	"default-src 'self'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; "           \
	"form-action 'self'; frame-ancestors 'none'"

enum tpl_id {
	TPL_PAGE,
	TPL_CARD,
	TPL_CARD_NOID,
	TPL_CARD_BODY,
	TPL_EMPTY,
	TPL_NOTICE,
	TPL_OLDER,
	TPL_NEWEST,
	TPL_FIELD_ERROR,
	TPL_ALERT,
	TPL_COUNT
};

static const char *const tpl_files[TPL_COUNT] = {
    [TPL_PAGE] = "page.html",
    [TPL_CARD] = "card.html",
    [TPL_CARD_NOID] = "card_noid.html",
    [TPL_CARD_BODY] = "card_body.html",
    [TPL_EMPTY] = "empty.html",
    [TPL_NOTICE] = "notice.html",
    [TPL_OLDER] = "older.html",
    [TPL_NEWEST] = "newest.html",
    [TPL_FIELD_ERROR] = "field_error.html",
    [TPL_ALERT] = "alert.html",
};

static const struct gb_host_api *api;
static struct gb_plugin *self_plugin;
static struct web_template *templates[TPL_COUNT];
static struct static_files assets;
static struct gb_response_cache *page_cache; /* slot 0: the newest page */

/* What one rendering of the page shows. */
struct page {
	int status;
	const char *name, *message;		/* input kept, may be NULL */
	const char *name_error, *message_error; /* next to the fields */
	const char *alert;			/* above the form */
	const char *cursor;			/* NULL: the newest page */
	const char *retry_after;		/* for 429 and 503 */
	int cacheable; /* the plain newest page: kept if it renders 200 */
};

/* ---- responses ---------------------------------------------------------- */

static void security_headers(struct gb_request *req)
{
	/* X-Content-Type-Options: nosniff is the host's, on every answer. */
	api->res_header(req, "Content-Security-Policy", CSP);
	api->res_header(req, "Referrer-Policy", "no-referrer");
	api->res_header(req, "X-Frame-Options", "DENY");
}

static void respond_html(struct gb_request *req, int status, const char *body,
			 size_t len)
{
	security_headers(req);
	api->res_header(req, "Cache-Control", "no-store");
	api->respond(req, status, "text/html; charset=utf-8", body, len);
}

static void send_html(struct gb_request *req, int status, struct web_buf *b)
{
	if (b->failed || !b->data) {
		api->respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	respond_html(req, status, b->data, b->len);
}

/* Answers the newest page from the cache if it holds a usable copy. */
static int respond_cached_page(struct gb_request *req)
{
	struct gb_cached_response *c;

	c = gb_response_cache_get(page_cache, 0, api->now_monotonic());
	if (!c)
		return 0;
	respond_html(req, 200, c->body, c->len);
	gb_response_cache_release(c);
	return 1;
}

/* ---- rendering ---------------------------------------------------------- */

static void render(enum tpl_id id, const struct web_var *vars, size_t n,
		   struct web_buf *out)
{
	web_template_render(templates[id], vars, n, out);
}

/* The first character of a name, upper-cased if ASCII, for the avatar. */
static void initial_of(const char *name, char out[8])
{
	const unsigned char c = (unsigned char)*name;
	size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

	out[0] = '\0';
	if (!c || strnlen(name, n) < n)
		return;
	memcpy(out, name, n);
	out[n] = '\0';
	if (c >= 'a' && c <= 'z')
		out[0] = (char)(c - 'a' + 'A');
}

static void render_card(const cJSON *doc, double now, struct web_buf *out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
	const cJSON *author = cJSON_GetObjectItemCaseSensitive(doc, "author");
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(doc, "message");
	const cJSON *date = cJSON_GetObjectItemCaseSensitive(doc, "date");
	char when[GB_RFC3339_MAX], ago[64], initial[8], *key;
	struct web_buf body = {0};

	/* A stored document the original services could not have written
	 * is skipped rather than shown half. */
	if (!cJSON_IsString(author) || !cJSON_IsString(text) ||
	    !cJSON_IsNumber(date) ||
	    gb_format_rfc3339_ms(date->valuedouble, when) < 0)
		return;
	web_relative_time(now, date->valuedouble, ago, sizeof(ago));
	initial_of(author->valuestring, initial);
	/* Without an id (a legacy backend) a card has no anchor; the
	 * script tells cards apart by time and author instead. */
	key = malloc(strlen(when) + strlen(author->valuestring) + 2);
	if (!key) {
		out->failed = 1;
		return;
	}
	sprintf(key, "%s|%s", when, author->valuestring);
	const struct web_var inner[] = {
	    {"initial", initial},
	    {"author", author->valuestring},
	    {"message", text->valuestring},
	    {"datetime", when},
	    {"ago", ago},
	};
	render(TPL_CARD_BODY, inner, sizeof(inner) / sizeof(inner[0]), &body);
	const struct web_var outer[] = {
	    {"id", cJSON_IsString(id) ? id->valuestring : ""},
	    {"key", key},
	    {"body", body.data},
	};
	render(cJSON_IsString(id) ? TPL_CARD : TPL_CARD_NOID, outer,
	       sizeof(outer) / sizeof(outer[0]), out);
	if (body.failed)
		out->failed = 1;
	web_buf_free(&body);
	free(key);
}

static void render_field_error(const char *field, const char *text,
			       struct web_buf *out)
{
	const struct web_var vars[] = {{"field", field}, {"text", text}};

	if (text)
		render(TPL_FIELD_ERROR, vars, 2, out);
}

/*
 * Lists the page's messages into `cards` and the paging links into
 * `pager`. On a storage failure it renders a notice instead and may raise
 * the page's status (400 for a bad cursor, 503 when storage is down).
 */
static void render_messages(struct gb_request *req, struct page *pg,
			    struct web_buf *cards, struct web_buf *pager)
{
	cJSON *docs = NULL, *doc;
	char *next = NULL;
	struct gb_error err = {0};
	enum gb_status rc;
	double now = api->now_wall();

	rc = api->store_list(req, GB_MESSAGES_COLLECTION, PAGE_SIZE, pg->cursor,
			     &docs, &next, &err);
	if (pg->cursor)
		render(TPL_NEWEST, NULL, 0, pager);
	if (rc == GB_ERR_INVALID) {
		const struct web_var v[] = {
		    {"text", "This link to older messages is not valid "
			     "(any more). Start again from the newest."}};

		render(TPL_NOTICE, v, 1, cards);
		if (pg->status == 200)
			pg->status = 400;
		return;
	}
	if (rc != GB_OK) {
		const struct web_var v[] = {
		    {"text", "Messages cannot be shown right now. "
			     "Please try again in a few seconds."}};

		api->log(self_plugin, GB_LOG_WARN, "listing messages: %s",
			 err.message);
		render(TPL_NOTICE, v, 1, cards);
		if (pg->status == 200) {
			pg->status = 503;
			pg->retry_after = GB_STORAGE_RETRY_AFTER;
			pg->alert = "The guestbook is temporarily "
				    "unavailable. Please try again in a few "
				    "seconds.";
		}
		return;
	}
	cJSON_ArrayForEach(doc, docs) render_card(doc, now, cards);
	if (cJSON_GetArraySize(docs) == 0)
		render(TPL_EMPTY, NULL, 0, cards);
	if (next) {
		const struct web_var v[] = {{"cursor", next}};

		render(TPL_OLDER, v, 1, pager);
	}
	cJSON_Delete(docs);
	free(next);
}

static void send_page(struct gb_request *req, struct page *pg)
{
	struct web_buf cards = {0}, pager = {0}, alert = {0};
	struct web_buf name_err = {0}, msg_err = {0}, out = {0};
	/* Read before the store: a write racing the rendering drops it. */
	uint64_t generation = gb_response_cache_generation(page_cache);

	render_messages(req, pg, &cards, &pager);
	if (pg->alert) {
		const struct web_var v[] = {{"text", pg->alert}};

		render(TPL_ALERT, v, 1, &alert);
	}
	render_field_error("name", pg->name_error, &name_err);
	render_field_error("message", pg->message_error, &msg_err);
	const struct web_var vars[] = {
	    {"asset_version", assets.version},
	    {"live", pg->cursor ? "false" : "true"},
	    {"alert", alert.data},
	    {"name", pg->name},
	    {"message", pg->message},
	    {"name_invalid", pg->name_error ? "true" : "false"},
	    {"message_invalid", pg->message_error ? "true" : "false"},
	    {"name_error", name_err.data},
	    {"message_error", msg_err.data},
	    {"messages", cards.data},
	    {"pager", pager.data},
	};
	render(TPL_PAGE, vars, sizeof(vars) / sizeof(vars[0]), &out);
	if (cards.failed || pager.failed || alert.failed || name_err.failed ||
	    msg_err.failed)
		out.failed = 1;
	if (pg->retry_after)
		api->res_header(req, "Retry-After", pg->retry_after);
	if (pg->cacheable && pg->status == 200 && !pg->alert && !out.failed &&
	    out.data)
		gb_response_cache_put(page_cache, 0, generation,
				      api->now_monotonic(), out.data, out.len,
				      NULL);
	send_html(req, pg->status, &out);
	web_buf_free(&cards);
	web_buf_free(&pager);
	web_buf_free(&alert);
	web_buf_free(&name_err);
	web_buf_free(&msg_err);
	web_buf_free(&out);
}

/* ---- GET / -------------------------------------------------------------- */

static void handle_index(struct gb_request *req, void *userdata)
{
	struct page pg = {.status = 200};
	char cursor[CURSOR_MAX];
	int n;

	(void)userdata;
	n = api->req_query(req, "before", cursor, sizeof(cursor));
	if (n == -1)
		n = api->req_query(req, "cursor", cursor, sizeof(cursor));
	if (n > 0)
		pg.cursor = cursor;
	if (n == -2 ||
	    (n > 0 && !gb_is_word(cursor, GB_CHARSET_CURSOR, sizeof(cursor)))) {
		/* Let the listing report it like any unknown cursor. */
		pg.cursor = "!";
	}
	if (!pg.cursor) {
		if (respond_cached_page(req))
			return;
		pg.cacheable = 1;
	}
	send_page(req, &pg);
}

/* ---- POST /post --------------------------------------------------------- */

static int is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* The shared rule's sentence, addressed to a person filling the form. */
static const char *field_message(const char *field, const char *value,
				 size_t len, const struct gb_input_error *e,
				 char *buf, size_t buflen)
{
	int is_author = strcmp(field, "author") == 0;
	const char *rest = e->message;

	if (!value || is_blank(value, len))
		return is_author ? "Please enter your name."
				 : "Please write a message.";
	if (strncmp(rest, field, strlen(field)) == 0)
		rest += strlen(field);
	snprintf(buf, buflen, "Your %s%s", is_author ? "name" : "message",
		 rest);
	return buf;
}

/* The form's state while it is decoded: the raw fields, shown again. */
struct form_post {
	char *name, *message;
	size_t name_len, message_len;
};

/* post.h's decode step for the form's fields `name` and `message`. */
static int decode_form(void *state, const char *body, size_t len,
		       struct gb_post_fields *fields,
		       struct gb_input_error *err)
{
	struct form_post *fp = state;
	int nomem1 = 0, nomem2 = 0;

	fp->name = form_field(body, len, "name", &fp->name_len, &nomem1);
	fp->message =
	    form_field(body, len, "message", &fp->message_len, &nomem2);
	if (nomem1 || nomem2) {
		err->status = GB_INPUT_NO_MEMORY;
		err->field = NULL;
		err->message = "out of memory";
		return -1;
	}
	/* An absent field is an empty one: "Please enter your name." */
	fields->author.text = fp->name;
	fields->author.len = fp->name_len;
	fields->message.text = fp->message;
	fields->message.len = fp->message_len;
	return 0;
}

/* Decodes the form into *fp only to show it again (nothing on failure). */
static void keep_form_input(struct gb_request *req, struct form_post *fp)
{
	struct gb_post_fields fields;
	struct gb_input_error err;
	size_t len;
	const char *body = api->req_body(req, &len);

	if (decode_form(fp, body, len, &fields, &err) != 0) {
		free(fp->name);
		free(fp->message);
		fp->name = fp->message = NULL;
	}
}

/* HTML forms may send no Content-Type: that is read as a form too. */
static const struct gb_post_format form_post_format = {
    .media_type = "application/x-www-form-urlencoded",
    .media_type_optional = 1,
    .honours_idempotency = 0,
    .decode = decode_form,
};

static void handle_post(struct gb_request *req, void *userdata)
{
	struct page pg = {.status = 400};
	struct form_post form = {NULL, NULL, 0, 0};
	struct gb_post_result res;
	char m1[160], m2[160], alert[400], retry[16];

	(void)userdata;
	gb_post_message(api, req, &form_post_format, &form, &res);
	pg.name = form.name;
	pg.message = form.message;
	pg.retry_after = gb_post_retry_after(&res, retry, sizeof(retry));
	switch (res.outcome) {
	case GB_POST_STORED: api->redirect(req, 303, "/"); goto out;
	case GB_POST_RATE_LIMITED:
		/* Refused before the body was read: read it now, so the page
		 * keeps what the person wrote for their next try. */
		keep_form_input(req, &form);
		pg.name = form.name;
		pg.message = form.message;
		snprintf(alert, sizeof(alert),
			 "You are posting too quickly. Please wait %d "
			 "second%s and try again.",
			 res.retry_after, res.retry_after == 1 ? "" : "s");
		pg.status = 429;
		pg.alert = alert;
		break;
	case GB_POST_MEDIA_TYPE:
		pg.status = 415;
		pg.alert = "The form must be sent as "
			   "application/x-www-form-urlencoded.";
		break;
	case GB_POST_INVALID:
		if (res.author_error.status != GB_INPUT_OK)
			pg.name_error =
			    field_message("author", form.name, form.name_len,
					  &res.author_error, m1, sizeof(m1));
		if (res.message_error.status != GB_INPUT_OK)
			pg.message_error = field_message(
			    "message", form.message, form.message_len,
			    &res.message_error, m2, sizeof(m2));
		pg.alert = "Your message was not posted. Please correct the "
			   "marked fields.";
		break;
	case GB_POST_STORE_FAILED:
		if (res.status == GB_ERR_INVALID) {
			snprintf(alert, sizeof(alert),
				 "Your message was not posted: %s",
				 res.err.message);
			pg.alert = alert;
			break;
		}
		api->log(self_plugin, GB_LOG_WARN, "storing a message: %s",
			 res.err.message);
		pg.status = 503;
		pg.retry_after = GB_STORAGE_RETRY_AFTER;
		pg.alert = "Your message could not be saved because the "
			   "guestbook is temporarily unavailable. Please try "
			   "again in a few seconds.";
		break;
	default:
		/* Out of memory; the form has no idempotency key. */
		api->respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	send_page(req, &pg);
out:
	cJSON_Delete(res.stored);
	free(form.name);
	free(form.message);
}

/* ---- GET /static/... ---------------------------------------------------- */

static void handle_static(struct gb_request *req, void *userdata)
{
	const char *path = api->req_path(req);
	const char *name = path + strlen("/static/");
	const struct static_file *f;
	char v[32];
	int immutable;

	(void)userdata;
	if (strncmp(path, "/static/", 8) != 0 || !static_name_is_safe(name)) {
		int bad = strstr(path, "..") || strchr(path, '%') ||
			  strchr(path, '\\');

		api->respond_error(req, bad ? 400 : 404,
				   bad ? "invalid_parameter" : "not_found",
				   bad ? "invalid static file path"
				       : "no such static file",
				   NULL);
		return;
	}
	f = static_files_find(&assets, name);
	if (!f) {
		api->respond_error(req, 404, "not_found", "no such static file",
				   NULL);
		return;
	}
	/* Asset URLs in the page carry ?v=<version of all assets>: those
	 * may be cached for good; anything else is revalidated. */
	immutable = api->req_query(req, "v", v, sizeof(v)) > 0 &&
		    strcmp(v, assets.version) == 0;
	api->res_header(req, "Cache-Control",
			immutable ? "public, max-age=31536000, immutable"
				  : "public, no-cache");
	api->res_header(req, "ETag", f->etag);
	api->res_header(req, "Last-Modified", f->last_modified);
	if (static_not_modified(f, api->req_header(req, "If-None-Match"),
				api->req_header(req, "If-Modified-Since"))) {
		api->respond(req, 304, f->content_type, "", 0);
		return;
	}
	api->respond(req, 200, f->content_type, f->data, f->size);
}

/* ---- life cycle --------------------------------------------------------- */

static void web_fini(struct gb_plugin *self)
{
	(void)self;
	for (int i = 0; i < TPL_COUNT; i++) {
		web_template_free(templates[i]);
		templates[i] = NULL;
	}
	static_files_free(&assets);
	gb_response_cache_free(page_cache);
	page_cache = NULL;
}

static int init_fail(const char *msg)
{
	api->init_error(self_plugin, "%s", msg);
	web_fini(self_plugin);
	return 1;
}

static int web_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	const char *dir;
	char path[4096], msg[600];

	api = host;
	self_plugin = self;
	dir = api->setting_get(self, "www_dir");
	if (!dir || !*dir)
		return init_fail("www_dir: not set");
	for (int i = 0; i < TPL_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/templates/%s", dir,
			 tpl_files[i]);
		templates[i] = web_template_load(path, msg, sizeof(msg));
		if (!templates[i])
			return init_fail(msg);
	}
	snprintf(path, sizeof(path), "%s/static", dir);
	if (static_files_load(&assets, path, msg, sizeof(msg)) < 0)
		return init_fail(msg);
	page_cache = gb_response_cache_new(
	    1, api->setting_int(self, "list_cache_ms"), api->store_generation);
	if (!page_cache)
		return init_fail("out of memory for the page cache");
	if (gb_post_init(api, self) != 0) {
		web_fini(self);
		return 1;
	}
	if (api->route_add(self, GB_GET, "/", handle_index, NULL, 0) ||
	    api->route_add(self, GB_POST, "/post", handle_post, NULL, 0) ||
	    api->route_add(self, GB_GET, "/static/*", handle_static, NULL, 0))
		return init_fail("cannot register the web routes "
				 "(/, /post, /static/*)");
	api->log(self, GB_LOG_INFO, "serving %s (%zu static files)", dir,
		 assets.n);
	return 0;
}

#ifndef GB_WWW_DIR
#define GB_WWW_DIR "www"
#endif

/* The settings keep the spellings of the host table they came from. */
static const struct gb_setting web_settings[] = {
    {"www_dir", GB_SETTING_STRING, GB_WWW_DIR, 0, 0, NULL,
     "templates and static files of the web page", 0, "www_dir"},
    {"list_cache_ms", GB_SETTING_INT, "500", 0, 60000, NULL,
     "reuse the rendered page this long (0: off)", 0, "list_cache_ms"},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

GB_PLUGIN(GB_PLUGIN_ROUTE, "web", "2.0.0",
	  "The guestbook web page, form posts and static assets", web_settings,
	  web_init, web_fini);
