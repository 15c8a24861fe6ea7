/*
 * mongo_api_batch.c - POST /api/v1/messages/batch over the mongo store on
 * FerretDB: the batch goes to the store's insert_many (one ordered write
 * of the keys and one of the messages), every message answered as a
 * single post would be, each key storing its message once, within a batch
 * and across batches, and the messages stored in the batch's order (so
 * the lists, newest first, show them reversed).
 */
#include "api_helpers.h"
#include "mongo_api_tests.h"

TestSuite(mongo_api_batch, .init = api_start_default, .fini = api_stop,
	  .timeout = 60);

static const cJSON *result(const cJSON *root, int i)
{
	const cJSON *r = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(root, "results"), i);

	cr_assert_not_null(r, "no result %d", i);
	return r;
}

static int result_status(const cJSON *root, int i)
{
	return cJSON_GetObjectItemCaseSensitive(result(root, i), "status")
	    ->valueint;
}

static int result_replayed(const cJSON *root, int i)
{
	return cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(result(root, i), "replayed"));
}

static const char *result_id(const cJSON *root, int i)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(result(root, i), "message"),
	    "id"));
}

/* The legacy list (every message, newest first). */
static cJSON *all_messages(void)
{
	struct gbt_response r = api_get("/messages");
	cJSON *j = api_json(&r);

	gbt_response_free(&r);
	return j;
}

Test(mongo_api_batch, a_batch_stores_each_key_once_in_its_order)
{
	const char *body =
	    "{\"messages\":[{\"author\":\"Ann\",\"message\":\"one\","
	    "\"idempotency_key\":\"mb-1\"},"
	    "{\"author\":\"Bob\",\"message\":\"two\","
	    "\"idempotency_key\":\"mb-2\"},"
	    "{\"author\":\"Ann\",\"message\":\"one\","
	    "\"idempotency_key\":\"mb-1\"},"
	    "{\"author\":\"Cy\",\"message\":\"three\"}]}";
	struct gbt_response r = api_post_json("/api/v1/messages/batch", body);
	struct gbt_response again;
	cJSON *root, *root2, *all;

	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	root = api_json(&r);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(result_status(root, i), 201, "result %d: %s", i,
			     r.body);
	cr_assert(!result_replayed(root, 0) && !result_replayed(root, 1) &&
		      !result_replayed(root, 3),
		  "a new key counted as a repeat: %s", r.body);
	cr_assert(result_replayed(root, 2), "a repeated key: %s", r.body);
	cr_assert_str_eq(result_id(root, 2), result_id(root, 0));
	cr_assert_str_neq(result_id(root, 0), result_id(root, 1));
	all = all_messages();
	cr_assert_eq(cJSON_GetArraySize(all), 3, "%d stored",
		     cJSON_GetArraySize(all));
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(all, 0), "message")
		->valuestring,
	    "three");
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(all, 2), "message")
		->valuestring,
	    "one");
	cJSON_Delete(all);
	/* the same batch again (a front end's retry): the keyed messages
	 * are replays, only the keyless one is new */
	again = api_post_json("/api/v1/messages/batch", body);
	cr_assert_eq(again.status, 200, "%d %s", again.status, again.body);
	root2 = api_json(&again);
	cr_assert(result_replayed(root2, 0) && result_replayed(root2, 1) &&
		      result_replayed(root2, 2),
		  "%s", again.body);
	cr_assert_str_eq(result_id(root2, 1), result_id(root, 1));
	all = all_messages();
	cr_assert_eq(cJSON_GetArraySize(all), 4, "%d stored",
		     cJSON_GetArraySize(all));
	cJSON_Delete(all);
	cJSON_Delete(root);
	cJSON_Delete(root2);
	gbt_response_free(&r);
	gbt_response_free(&again);
}

Test(mongo_api_batch, single_posts_and_batches_share_their_keys)
{
	static const char *const headers[] = {"Content-Type: application/json",
					      "Idempotency-Key: shared-1",
					      NULL};
	const char *one = "{\"author\":\"Dee\",\"message\":\"single\"}";
	struct gbt_response r;
	cJSON *root, *all;
	char id[64];

	r = api_request("POST", "/api/v1/messages", headers, one, strlen(one));
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	root = api_json(&r);
	snprintf(id, sizeof(id), "%s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(root, "id")));
	cJSON_Delete(root);
	gbt_response_free(&r);
	r = api_post_json("/api/v1/messages/batch",
			  "{\"messages\":[{\"author\":\"Dee\",\"message\":"
			  "\"single\",\"idempotency_key\":\"shared-1\"}]}");
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	root = api_json(&r);
	cr_assert_eq(result_status(root, 0), 201, "%s", r.body);
	cr_assert(result_replayed(root, 0), "%s", r.body);
	cr_assert_str_eq(result_id(root, 0), id);
	cJSON_Delete(root);
	gbt_response_free(&r);
	all = all_messages();
	cr_assert_eq(cJSON_GetArraySize(all), 1, "%d stored",
		     cJSON_GetArraySize(all));
	cJSON_Delete(all);
}
