/*
 * mongo_convert.h - documents between cJSON (the storage API) and BSON
 * (MongoDB), in the legacy guestbook layout.
 */
#ifndef GB_MONGO_CONVERT_H
#define GB_MONGO_CONVERT_H

#include "mongo_driver.h"
#include <cjson/cJSON.h>

#include "guestbook/plugin.h"

/*
 * Appends `oid` as "_id", then every member of the JSON object `doc` except
 * "id" and "_id" to the initialised bson_t `out`, in the order of `doc`:
 * numbers become doubles (the legacy "date" is one), strings UTF-8, objects
 * and arrays nested documents. Returns GB_OK, or GB_ERR_INVALID with a
 * message in err (not an object, invalid UTF-8, a raw value, too large).
 */
enum gb_status mongo_bson_from_json(const cJSON *doc, const bson_oid_t *oid,
				    bson_t *out, struct gb_error *err);

/*
 * Converts a stored document to a new JSON object (caller frees with
 * cJSON_Delete): "_id" becomes "id" (the ObjectId as 24 lower-case hex
 * digits, or the string for a string _id), doubles and integers numbers,
 * BSON dates epoch seconds, nested documents objects and arrays. Types
 * with no JSON meaning (binary, regex, ...) are left out. NULL when out of
 * memory.
 */
cJSON *mongo_json_from_bson(const bson_t *b);

/* True when `s` is exactly 24 hexadecimal digits (an ObjectId). */
int mongo_is_oid_hex(const char *s);

#endif
