/*
 * mongo_client.c - direct MongoDB access for the tests (libmongoc).
 */
#include "mongo_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libbson's inline atomics cast away const; our warnings refuse that. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <mongoc/mongoc.h>
#pragma GCC diagnostic pop

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/*
 * Driver warnings to stderr (its default is stdout, mixed into Criterion's
 * output), except the endSessions refusal of servers without sessions.
 */
static void test_log(mongoc_log_level_t level, const char *domain,
		     const char *message, void *ud)
{
	(void)ud;
	if (level > MONGOC_LOG_LEVEL_WARNING || strstr(message, "endSessions"))
		return;
	fprintf(stderr, "test mongo client: driver %s: %s\n", domain, message);
}

static void init_driver(void)
{
	mongoc_log_set_handler(test_log, NULL);
	mongoc_init();
}

/* A client with short timeouts; the database from the URI in *db. */
static mongoc_client_t *connect_uri(const char *uri_text, char **db)
{
	bson_error_t e;
	mongoc_uri_t *uri;
	mongoc_client_t *c;

	pthread_once(&init_once, init_driver);
	uri = mongoc_uri_new_with_error(uri_text, &e);
	if (!uri) {
		fprintf(stderr, "test mongo client: %s: %s\n", uri_text,
			e.message);
		return NULL;
	}
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
				       3000);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, 3000);
	c = mongoc_client_new_from_uri_with_error(uri, &e);
	if (!c)
		fprintf(stderr, "test mongo client: %s\n", e.message);
	else
		mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
	/* a copy: the name must outlive the URI */
	*db = bson_strdup(mongoc_uri_get_database(uri)
			      ? mongoc_uri_get_database(uri)
			      : "guestbook");
	mongoc_uri_destroy(uri);
	if (!c) {
		bson_free(*db);
		*db = NULL;
	}
	return c;
}

static void disconnect(mongoc_client_t *c, char *db)
{
	mongoc_client_destroy(c);
	bson_free(db);
}

int gbt_mongo_insert_legacy(const char *uri, const char *coll,
			    const char *author, const char *message,
			    double date, char id_out[25])
{
	char *db;
	mongoc_client_t *c = connect_uri(uri, &db);
	mongoc_collection_t *col;
	bson_t doc = BSON_INITIALIZER;
	bson_error_t e;
	bson_oid_t oid;
	int rc = 0;

	if (!c)
		return -1;
	bson_oid_init(&oid, NULL);
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "author", author);
	BSON_APPEND_UTF8(&doc, "message", message);
	BSON_APPEND_DOUBLE(&doc, "date", date);
	col = mongoc_client_get_collection(c, db, coll);
	if (!mongoc_collection_insert_one(col, &doc, NULL, NULL, &e)) {
		fprintf(stderr, "test mongo client: insert: %s\n", e.message);
		rc = -1;
	} else {
		bson_oid_to_string(&oid, id_out);
	}
	bson_destroy(&doc);
	mongoc_collection_destroy(col);
	disconnect(c, db);
	return rc;
}

char *gbt_mongo_find_json(const char *uri, const char *coll, const char *id_hex)
{
	char *db;
	mongoc_client_t *c;
	mongoc_collection_t *col;
	mongoc_cursor_t *cur;
	const bson_t *found;
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	bson_oid_t oid;
	char *out = NULL;

	if (!bson_oid_is_valid(id_hex, strlen(id_hex)))
		return NULL;
	c = connect_uri(uri, &db);
	if (!c)
		return NULL;
	bson_oid_init_from_string(&oid, id_hex);
	BSON_APPEND_OID(&filter, "_id", &oid);
	col = mongoc_client_get_collection(c, db, coll);
	cur = mongoc_collection_find_with_opts(col, &filter, NULL, NULL);
	if (mongoc_cursor_next(cur, &found)) {
		char *json = bson_as_canonical_extended_json(found, NULL);

		out = json ? strdup(json) : NULL;
		bson_free(json);
	} else if (mongoc_cursor_error(cur, &e)) {
		fprintf(stderr, "test mongo client: find: %s\n", e.message);
	}
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(&filter);
	disconnect(c, db);
	return out;
}

long gbt_mongo_count(const char *uri, const char *coll)
{
	char *db;
	mongoc_client_t *c = connect_uri(uri, &db);
	mongoc_collection_t *col;
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	int64_t n;

	if (!c)
		return -1;
	col = mongoc_client_get_collection(c, db, coll);
	n = mongoc_collection_count_documents(col, &filter, NULL, NULL, NULL,
					      &e);
	if (n < 0)
		fprintf(stderr, "test mongo client: count: %s\n", e.message);
	mongoc_collection_destroy(col);
	bson_destroy(&filter);
	disconnect(c, db);
	return (long)n;
}

int gbt_mongo_drop_database(const char *uri)
{
	char *db;
	mongoc_client_t *c = connect_uri(uri, &db);
	mongoc_database_t *d;
	bson_error_t e;
	int rc = 0;

	if (!c)
		return -1;
	d = mongoc_client_get_database(c, db);
	if (!mongoc_database_drop(d, &e)) {
		fprintf(stderr, "test mongo client: drop %s: %s\n", db,
			e.message);
		rc = -1;
	}
	mongoc_database_destroy(d);
	disconnect(c, db);
	return rc;
}
