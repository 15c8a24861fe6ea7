/*
 * post.c - the posting pipeline of post.h: rate limit, content type,
 * idempotency key, decode, validate, store.
 */
#include "post.h"

#include <stdio.h>
#include <string.h>

#include "http_headers.h"

/* This plugin's series of guestbook_messages_created_total. */
static struct gb_series *messages_created;

int gb_post_init(const struct gb_host_api *api, struct gb_plugin *self)
{
	struct gb_metric *family = api->metric_register(
	    self, GB_METRIC_COUNTER, "guestbook_messages_created_total",
	    "Guestbook messages stored.", NULL, NULL, 0);

	messages_created = family ? api->metric_series(family, NULL) : NULL;
	if (!messages_created) {
		api->init_error(self, "cannot register the metric "
				      "guestbook_messages_created_total");
		return -1;
	}
	return 0;
}

static enum gb_post_outcome stop(struct gb_post_result *res,
				 enum gb_post_outcome outcome)
{
	res->outcome = outcome;
	return outcome;
}

/* Step 1: whether `client` (NULL: the request's own) is over its limit. */
static int over_limit(const struct gb_host_api *api, struct gb_request *req,
		      const char *client, struct gb_post_result *res)
{
	res->retry_after = client ? api->rate_limit_take_for(req, client)
				  : api->rate_limit_take(req);
	return res->retry_after > 0;
}

/* Step 3's rule: a key is 1 to GB_IDEMPOTENCY_KEY_MAX token characters. */
static int key_refused(const char *key)
{
	return !gb_is_word(key, GB_CHARSET_TOKEN, GB_IDEMPOTENCY_KEY_MAX);
}

/* Step 3: the Idempotency-Key header into *key (NULL when absent). */
static int read_key(const struct gb_host_api *api, struct gb_request *req,
		    const char **key)
{
	const char *k = api->req_header(req, "Idempotency-Key");

	*key = NULL;
	if (!k)
		return 0;
	if (key_refused(k))
		return -1;
	*key = k;
	return 0;
}

/* Step 5 for one field: its shape error, or message.h's rules. */
static int validate_field(const char *name, const struct gb_post_field *f,
			  char **out, struct gb_input_error *err)
{
	if (f->shape_error) {
		err->status = GB_INPUT_INVALID_FIELD;
		err->field = name;
		err->message = f->shape_error;
		return -1;
	}
	return gb_message_validate_field(name, f->text ? f->text : "",
					 f->text ? f->len : 0, out, err);
}

/* Step 5: author then message; res->input is the first failure. */
static int validate(const struct gb_post_fields *fields,
		    struct gb_message_input *in, struct gb_post_result *res)
{
	int bad_author = validate_field("author", &fields->author, &in->author,
					&res->author_error);
	int bad_message = validate_field("message", &fields->message,
					 &in->message, &res->message_error);

	if (!bad_author && !bad_message)
		return 0;
	res->input = bad_author ? res->author_error : res->message_error;
	if (res->author_error.status == GB_INPUT_NO_MEMORY ||
	    res->message_error.status == GB_INPUT_NO_MEMORY)
		res->input.status = GB_INPUT_NO_MEMORY;
	gb_message_input_free(in);
	return -1;
}

static int same_text(const cJSON *doc, const char *name, const char *text)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);

	return cJSON_IsString(v) && strcmp(v->valuestring, text) == 0;
}

/* A repeated key: the document its first post stored, if it is this one. */
static enum gb_post_outcome replay(const struct gb_host_api *api,
				   struct gb_request *req, const char *id,
				   const struct gb_message_input *in,
				   struct gb_post_result *res)
{
	cJSON *doc = NULL;

	res->op = "get";
	res->status =
	    api->store_get(req, GB_MESSAGES_COLLECTION, id, &doc, &res->err);
	if (res->status == GB_ERR_NOT_FOUND)
		return stop(res, GB_POST_KEY_GONE);
	if (res->status != GB_OK)
		return stop(res, GB_POST_STORE_FAILED);
	if (!same_text(doc, "author", in->author) ||
	    !same_text(doc, "message", in->message)) {
		cJSON_Delete(doc);
		return stop(res, GB_POST_KEY_REUSED);
	}
	res->stored = doc;
	res->replayed = 1;
	return stop(res, GB_POST_STORED);
}

enum gb_post_outcome
gb_post_settle(const struct gb_host_api *api, struct gb_request *req,
	       enum gb_status status, const struct gb_error *err,
	       const char *id, int repeated, const struct gb_message_input *in,
	       cJSON *doc, struct gb_post_result *res)
{
	res->op = "insert";
	res->status = status;
	if (err)
		res->err = *err;
	if (status != GB_OK) {
		cJSON_Delete(doc);
		return stop(res, GB_POST_STORE_FAILED);
	}
	if (repeated) {
		cJSON_Delete(doc);
		return replay(api, req, id, in, res);
	}
	api->counter_add(messages_created, 1);
	/* A store without ids (http over a legacy backend) answers "". */
	if (*id && !cJSON_AddStringToObject(doc, "id", id)) {
		cJSON_Delete(doc);
		return stop(res, GB_POST_NO_MEMORY);
	}
	res->stored = doc;
	return stop(res, GB_POST_STORED);
}

/* Step 6. */
static enum gb_post_outcome store(const struct gb_host_api *api,
				  struct gb_request *req, const char *key,
				  const struct gb_message_input *in,
				  struct gb_post_result *res)
{
	char id[GB_ID_MAX] = "";
	int repeated = 0;
	struct gb_error err = {0};
	enum gb_status st;
	cJSON *doc = gb_message_document(in, api->now_wall());

	if (!doc)
		return stop(res, GB_POST_NO_MEMORY);
	if (key)
		st = api->store_insert_once(req, GB_MESSAGES_COLLECTION, doc,
					    key, id, &repeated, &err);
	else
		st = api->store_insert(req, GB_MESSAGES_COLLECTION, doc, id,
				       &err);
	return gb_post_settle(api, req, st, &err, id, repeated, in, doc, res);
}

int gb_post_check(const struct gb_host_api *api, struct gb_request *req,
		  const char *client, int key_given, const char *key,
		  const struct gb_post_fields *fields,
		  const struct gb_input_error *decode_err,
		  struct gb_message_input *in, struct gb_post_result *res)
{
	memset(res, 0, sizeof(*res));
	in->author = in->message = NULL;
	if (over_limit(api, req, client, res)) {
		stop(res, GB_POST_RATE_LIMITED);
		return -1;
	}
	if (key_given && (!key || key_refused(key))) {
		stop(res, GB_POST_BAD_KEY);
		return -1;
	}
	if (!fields)
		res->input = *decode_err;
	if (!fields || validate(fields, in, res) != 0) {
		stop(res, res->input.status == GB_INPUT_NO_MEMORY
			      ? GB_POST_NO_MEMORY
			      : GB_POST_INVALID);
		return -1;
	}
	return 0;
}

enum gb_post_outcome gb_post_message(const struct gb_host_api *api,
				     struct gb_request *req,
				     const struct gb_post_format *format,
				     void *state, struct gb_post_result *res)
{
	struct gb_post_fields fields = {{NULL, 0, NULL}, {NULL, 0, NULL}};
	struct gb_message_input in = {NULL, NULL};
	const char *content_type, *body, *key = NULL;
	enum gb_post_outcome outcome;
	size_t len;

	memset(res, 0, sizeof(*res));
	if (over_limit(api, req, NULL, res))
		return stop(res, GB_POST_RATE_LIMITED);
	content_type = api->req_header(req, "Content-Type");
	if (!(format->media_type_optional && !content_type) &&
	    !gb_media_type_is(content_type, format->media_type))
		return stop(res, GB_POST_MEDIA_TYPE);
	if (format->honours_idempotency && read_key(api, req, &key) != 0)
		return stop(res, GB_POST_BAD_KEY);
	body = api->req_body(req, &len);
	if (format->decode(state, body, len, &fields, &res->input) != 0)
		return stop(res, res->input.status == GB_INPUT_NO_MEMORY
				     ? GB_POST_NO_MEMORY
				     : GB_POST_INVALID);
	if (validate(&fields, &in, res) != 0)
		return stop(res, res->input.status == GB_INPUT_NO_MEMORY
				     ? GB_POST_NO_MEMORY
				     : GB_POST_INVALID);
	outcome = store(api, req, key, &in, res);
	gb_message_input_free(&in);
	return outcome;
}

const char *gb_post_retry_after(const struct gb_post_result *res, char *buf,
				size_t len)
{
	if (res->outcome == GB_POST_RATE_LIMITED) {
		snprintf(buf, len, "%d", res->retry_after);
		return buf;
	}
	if (res->outcome == GB_POST_STORE_FAILED &&
	    res->status == GB_ERR_UNAVAILABLE)
		return GB_STORAGE_RETRY_AFTER;
	return NULL;
}
