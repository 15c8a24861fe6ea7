/*
 * mongo_api_batch.c - POST /api/v1/messages/batch over the mongo store on
 * FerretDB, which has no insert_many: the batch is refused whole with 501
 * not_supported and stores nothing (one by one it would cost the sum of
 * its round trips; the front end then posts singly), while single posts
 * work as ever.
 */
#include "api_helpers.h"
#include "mongo_api_tests.h"

TestSuite(mongo_api_batch, .init = api_start_default, .fini = api_stop,
	  .timeout = 60);

Test(mongo_api_batch, a_batch_is_501_and_stores_nothing)
{
	struct gbt_response r = api_post_json(
	    "/api/v1/messages/batch",
	    "{\"messages\":[{\"author\":\"Ann\",\"message\":\"one\"},"
	    "{\"author\":\"Bob\",\"message\":\"two\"}]}");
	struct gbt_response list;
	cJSON *j;

	api_assert_error(&r, 501, "not_supported", NULL, NULL);
	gbt_response_free(&r);
	r = api_post_json("/api/v1/messages",
			  "{\"author\":\"Cy\",\"message\":\"single\"}");
	cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
	gbt_response_free(&r);
	list = api_get("/messages");
	j = api_json(&list);
	cr_assert_eq(cJSON_GetArraySize(j), 1, "%s", list.body);
	cJSON_Delete(j);
	gbt_response_free(&list);
}
