/*
 * mongo_convert.c - cJSON <-> BSON for the mongo store.
 */
#include "mongo_convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum gb_status append_value(bson_t *out, const char *key, const cJSON *v,
				   struct gb_error *err);

static enum gb_status fail(struct gb_error *err, const char *key,
			   const char *what)
{
	err->status = GB_ERR_INVALID;
	snprintf(err->message, sizeof(err->message), "field \"%.64s\": %s", key,
		 what);
	return GB_ERR_INVALID;
}

static enum gb_status append_array(bson_t *out, const char *key,
				   const cJSON *arr, struct gb_error *err)
{
	bson_t child;
	const cJSON *item;
	uint32_t i = 0;

	if (!bson_append_array_begin(out, key, -1, &child))
		return fail(err, key, "document too large");
	cJSON_ArrayForEach(item, arr)
	{
		char buf[16];
		const char *ikey;
		enum gb_status st;

		bson_uint32_to_string(i++, &ikey, buf, sizeof(buf));
		st = append_value(&child, ikey, item, err);
		if (st != GB_OK) {
			bson_append_array_end(out, &child);
			return st;
		}
	}
	if (!bson_append_array_end(out, &child))
		return fail(err, key, "document too large");
	return GB_OK;
}

static enum gb_status append_object(bson_t *out, const char *key,
				    const cJSON *obj, struct gb_error *err)
{
	bson_t child;
	const cJSON *item;

	if (!bson_append_document_begin(out, key, -1, &child))
		return fail(err, key, "document too large");
	cJSON_ArrayForEach(item, obj)
	{
		enum gb_status st =
		    append_value(&child, item->string, item, err);

		if (st != GB_OK) {
			bson_append_document_end(out, &child);
			return st;
		}
	}
	if (!bson_append_document_end(out, &child))
		return fail(err, key, "document too large");
	return GB_OK;
}

static enum gb_status append_value(bson_t *out, const char *key, const cJSON *v,
				   struct gb_error *err)
{
	bool ok;

	if (!key || !bson_utf8_validate(key, strlen(key), false))
		return fail(err, key ? key : "?", "name is not valid UTF-8");
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;

		if (!bson_utf8_validate(s, strlen(s), false))
			return fail(err, key, "not valid UTF-8");
		ok = bson_append_utf8(out, key, -1, s, -1);
	} else if (cJSON_IsNumber(v)) {
		ok = bson_append_double(out, key, -1, v->valuedouble);
	} else if (cJSON_IsBool(v)) {
		ok = bson_append_bool(out, key, -1, cJSON_IsTrue(v));
	} else if (cJSON_IsNull(v)) {
		ok = bson_append_null(out, key, -1);
	} else if (cJSON_IsArray(v)) {
		return append_array(out, key, v, err);
	} else if (cJSON_IsObject(v)) {
		return append_object(out, key, v, err);
	} else {
		return fail(err, key, "unsupported JSON value");
	}
	if (!ok)
		return fail(err, key, "document too large");
	return GB_OK;
}

enum gb_status mongo_bson_from_json(const cJSON *doc, const bson_oid_t *oid,
				    bson_t *out, struct gb_error *err)
{
	const cJSON *item;

	if (!cJSON_IsObject(doc)) {
		err->status = GB_ERR_INVALID;
		snprintf(err->message, sizeof(err->message),
			 "document must be a JSON object");
		return GB_ERR_INVALID;
	}
	if (!bson_append_oid(out, "_id", 3, oid))
		return fail(err, "_id", "document too large");
	cJSON_ArrayForEach(item, doc)
	{
		enum gb_status st;

		if (item->string && (!strcmp(item->string, "id") ||
				     !strcmp(item->string, "_id")))
			continue;
		st = append_value(out, item->string, item, err);
		if (st != GB_OK)
			return st;
	}
	return GB_OK;
}

/*
 * BSON strings may hold NUL bytes, C strings cannot: replace each by
 * U+FFFD rather than cut the text short.
 */
static cJSON *string_from_utf8(const char *s, uint32_t len)
{
	static const char replacement[] = "\xef\xbf\xbd";
	size_t nuls = 0, j = 0;
	cJSON *str;
	char *copy;

	for (uint32_t i = 0; i < len; i++)
		nuls += s[i] == '\0';
	if (!nuls)
		return cJSON_CreateString(s);
	copy = malloc(len + nuls * 2 + 1);
	if (!copy)
		return NULL;
	for (uint32_t i = 0; i < len; i++) {
		if (s[i] == '\0') {
			memcpy(copy + j, replacement, 3);
			j += 3;
		} else {
			copy[j++] = s[i];
		}
	}
	copy[j] = '\0';
	str = cJSON_CreateString(copy);
	free(copy);
	return str;
}

static cJSON *json_from_iter(bson_iter_t *it, int as_array);

/* The JSON value of the element under `it`, or NULL to leave it out. */
static cJSON *value_from_iter(bson_iter_t *it, int *oom)
{
	bson_iter_t child;
	uint32_t len;
	const char *s;
	char hex[25];

	switch (bson_iter_type(it)) {
	case BSON_TYPE_DOUBLE: return cJSON_CreateNumber(bson_iter_double(it));
	case BSON_TYPE_INT32: return cJSON_CreateNumber(bson_iter_int32(it));
	case BSON_TYPE_INT64:
		return cJSON_CreateNumber((double)bson_iter_int64(it));
	case BSON_TYPE_DATE_TIME:
		return cJSON_CreateNumber((double)bson_iter_date_time(it) /
					  1000.0);
	case BSON_TYPE_UTF8:
		s = bson_iter_utf8(it, &len);
		return string_from_utf8(s, len);
	case BSON_TYPE_BOOL: return cJSON_CreateBool(bson_iter_bool(it));
	case BSON_TYPE_NULL:
	case BSON_TYPE_UNDEFINED: return cJSON_CreateNull();
	case BSON_TYPE_OID:
		bson_oid_to_string(bson_iter_oid(it), hex);
		return cJSON_CreateString(hex);
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		if (!bson_iter_recurse(it, &child))
			return NULL;
		{
			cJSON *v = json_from_iter(&child, bson_iter_type(it) ==
							      BSON_TYPE_ARRAY);

			if (!v)
				*oom = 1;
			return v;
		}
	default: return NULL;
	}
}

static cJSON *json_from_iter(bson_iter_t *it, int as_array)
{
	cJSON *out = as_array ? cJSON_CreateArray() : cJSON_CreateObject();

	if (!out)
		return NULL;
	while (bson_iter_next(it)) {
		int oom = 0;
		cJSON *v = value_from_iter(it, &oom);

		if (oom) {
			cJSON_Delete(out);
			return NULL;
		}
		if (!v)
			continue;
		if (as_array)
			cJSON_AddItemToArray(out, v);
		else
			cJSON_AddItemToObject(out, bson_iter_key(it), v);
	}
	return out;
}

cJSON *mongo_json_from_bson(const bson_t *b)
{
	bson_iter_t it;
	cJSON *out = cJSON_CreateObject();

	if (!out || !bson_iter_init(&it, b)) {
		cJSON_Delete(out);
		return NULL;
	}
	/* "id" first, from _id; any stored "id" member is replaced by it. */
	if (bson_iter_find(&it, "_id")) {
		cJSON *id = NULL;

		if (BSON_ITER_HOLDS_OID(&it)) {
			char hex[25];

			bson_oid_to_string(bson_iter_oid(&it), hex);
			id = cJSON_CreateString(hex);
		} else if (BSON_ITER_HOLDS_UTF8(&it)) {
			id = cJSON_CreateString(bson_iter_utf8(&it, NULL));
		}
		if (id)
			cJSON_AddItemToObject(out, "id", id);
	}
	bson_iter_init(&it, b);
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);
		int oom = 0;
		cJSON *v;

		if (!strcmp(key, "_id") || !strcmp(key, "id"))
			continue;
		v = value_from_iter(&it, &oom);
		if (oom) {
			cJSON_Delete(out);
			return NULL;
		}
		if (v)
			cJSON_AddItemToObject(out, key, v);
	}
	return out;
}

int mongo_is_oid_hex(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return 0;
		if (n >= 24)
			return 0;
	}
	return n == 24;
}
