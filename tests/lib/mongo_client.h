/*
 * mongo_client.h - direct MongoDB access for the tests, through the C
 * driver and around guestbookd: write documents as the legacy Python
 * backend did, and read what guestbookd wrote. Plain C types only, so a
 * test that uses these needs no driver headers.
 */
#ifndef GB_TEST_MONGO_CLIENT_H
#define GB_TEST_MONGO_CLIENT_H

#include <stddef.h>

/*
 * Inserts {_id: new ObjectId, author, message, date} into collection
 * `coll` of the database named in `uri` exactly as the legacy backend did
 * (date a double). Writes the ObjectId's 24 hex digits into id_out.
 * Returns 0, or -1 with the driver's message on stderr.
 */
int gbt_mongo_insert_legacy(const char *uri, const char *coll,
			    const char *author, const char *message,
			    double date, char id_out[25]);

/*
 * Reads the document with ObjectId `id_hex` as canonical extended JSON
 * ({"_id":{"$oid":..},"date":{"$numberDouble":..},...}), malloc'd (caller
 * frees), or NULL when there is none or on error.
 */
char *gbt_mongo_find_json(const char *uri, const char *coll,
			  const char *id_hex);

/* Number of documents in `coll`, or -1 on error. */
long gbt_mongo_count(const char *uri, const char *coll);

/* Drops the database named in `uri`. Returns 0 or -1. */
int gbt_mongo_drop_database(const char *uri);

#endif
