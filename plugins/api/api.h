/*
 * api.h - what the api plugin's JSON posting shares between its single
 * post (api.c) and its batch (batch.c): reading the two fields of a JSON
 * object, and the error answered for a post the pipeline stopped.
 */
#ifndef GB_API_API_H
#define GB_API_API_H

#include "post.h"

/* The error of an answer: status, code, message and field (or NULL). */
struct api_error {
	int status;
	const char *code, *message, *field;
};

/*
 * post.h's decode step on a parsed JSON value: the string members author
 * and message of an object into *fields (borrowed from root). Returns 0,
 * or -1 with *err when `root` is not an object.
 */
int api_json_fields(const cJSON *root, struct gb_post_fields *fields,
		    struct gb_input_error *err);

/*
 * The error answered for a post the pipeline stopped at res->outcome:
 * `field_status` for a bad field (422; 400 for the legacy route),
 * `key_field` the name the client gave the idempotency key under.
 */
void api_post_error(const struct gb_post_result *res, int field_status,
		    const char *key_field, struct api_error *out);

/* Logs what an operator must see of a stopped post: memory and stores. */
void api_log_post_failure(struct gb_request *req,
			  const struct gb_post_result *res);

#endif
