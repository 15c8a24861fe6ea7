/*
 * conformance.h - the storage conformance suite: one set of Criterion tests
 * that every storage back end (sqlite, mongo, http) must pass, run through
 * the REAL host (gb_host_start, the plugin loader, the host's store_*
 * wrappers and its readiness pinger), not against the plugin alone.
 *
 * Instantiating it for a back end takes one file, for example
 * tests/integration/storage_sqlite.c:
 *
 *   #include "conformance.h"
 *
 *   static void sqlite_start(void)
 *   {
 *           char db[600];
 *           snprintf(db, sizeof db, "%s/guestbook.db",
 * gb_conformance_tmpdir()); const char *args[] = {"--storage", "sqlite",
 *                                 "--sqlite-path", db, NULL};
 *           gb_conformance_host_start(args);
 *   }
 *
 *   static const struct gb_conformance_backend sqlite_backend = {
 *           .name = "sqlite",
 *           .start = sqlite_start,
 *           .stop = gb_host_stop,
 *           .cleanup = gb_conformance_tmpdir_remove,
 *   };
 *
 *   GB_CONFORMANCE_SUITE(sqlite_conformance, sqlite_backend)
 *
 * Each Criterion test runs in its own process: `start` runs before the
 * test, `stop` and then `cleanup` after it. The persistence test calls
 * stop() and start() again in the middle, so start() must reopen THE SAME
 * data when called a second time in one process (create fresh data only on
 * the first call; gb_conformance_tmpdir() gives one directory per process).
 *
 * Documents are message-shaped ({"author","message","date"}) so that a
 * back end restricted to messages can run the suite too: it sets
 * .collection = "messages", .single_collection = 1, .large_doc_bytes to the
 * longest message its backend accepts and .store_set_fields to the fields
 * its backend stamps (e.g. {"date", NULL}).
 *
 * The tests (names as they appear in the Criterion output):
 *   insert_returns_distinct_ids, get_returns_stored_fields_and_id,
 *   caller_id_is_replaced_by_store_id, unicode_document_round_trips_exactly,
 *   large_document_round_trips_exactly, list_is_newest_first,
 *   list_honours_limit, empty_collection_lists_nothing,
 *   large_limit_returns_everything_in_one_page,
 *   cursor_paging_visits_every_document_once,
 *   paging_ends_with_null_cursor_when_count_is_a_multiple_of_limit,
 *   garbage_cursor_is_invalid, unknown_id_is_not_found,
 *   malformed_id_is_not_found, removed_document_is_gone,
 *   collections_are_isolated, concurrent_inserts_all_land_with_unique_ids,
 *   documents_survive_reopen, ping_reports_ready,
 *   insert_once_stores_a_repeated_key_once,
 *   insert_many_stores_each_key_once, count_follows_inserts_and_removes,
 *   list_limit_is_bounded_by_the_host, scan_is_oldest_first_and_complete,
 *   import_skips_known_keys.
 *
 * A store without ids (.no_ids: the http store over a legacy backend)
 * runs the tests that need no id one by one with GB_CONFORMANCE_TEST, as
 * tests/integration/storage_http_legacy.c does.
 */
#ifndef GB_TEST_CONFORMANCE_H
#define GB_TEST_CONFORMANCE_H

#include <stddef.h>

#include <criterion/criterion.h>

#include "guestbook/plugin.h"
#include "host.h"

/* How the suite reaches one back end. */
struct gb_conformance_backend {
	/* The back end's name, for failure messages ("sqlite"). */
	const char *name;
	/*
	 * Starts the host with this back end configured (usually through
	 * gb_conformance_host_start) and fails the test (cr_assert) if it
	 * cannot. A second call after stop() in the same process must
	 * reopen the same data.
	 */
	void (*start)(void);
	/* Stops the host: gb_host_stop() or a wrapper around it. */
	void (*stop)(void);
	/* Removes the test's data after the last stop(); may be NULL. */
	void (*cleanup)(void);
	/* Collection most tests use; NULL: "conformance". */
	const char *collection;
	/* Second collection for the isolation test; NULL: "conformance_b". */
	const char *other_collection;
	/* Bytes of the "message" of the large document; 0: 16384. */
	size_t large_doc_bytes;
	/*
	 * Fields the store sets itself instead of keeping the caller's value
	 * (a backend behind the http store stamps its own "date"). The suite
	 * checks they come back with the caller's JSON type and ignores
	 * their values. NULL-terminated; NULL: none.
	 */
	const char *const *store_set_fields;
	/*
	 * Non-zero when the store serves only `collection`: the isolation
	 * test then checks that every operation on another collection is
	 * GB_ERR_INVALID with a message and leaves `collection` untouched.
	 */
	int single_collection;
	/*
	 * Non-zero when the store has no ids: insert writes "" and listed
	 * documents carry "id": null.
	 */
	int no_ids;
	/*
	 * Non-zero when the back end offers no count (its ops.count is NULL):
	 * the count test then expects GB_ERR_UNSUPPORTED.
	 */
	int cannot_count;
};

/*
 * Starts the real host with
 *   guestbookd --role all --plugins "" --plugin-dir $GB_BUILD_DIR/plugins
 *              --log-level warn ARGS...
 * (`args` NULL-terminated, may be NULL) and fails the test with the host's
 * error line if gb_host_start does not return 0.
 */
void gb_conformance_host_start(const char *const *args);

/*
 * A temporary directory private to this process, created on the first
 * call (under $TMPDIR or /tmp); the same path afterwards. Static storage.
 */
const char *gb_conformance_tmpdir(void);

/* Removes the directory of gb_conformance_tmpdir() and its contents. */
void gb_conformance_tmpdir_remove(void);

/* The fixtures the macro uses: start, and stop + cleanup. */
void gb_conformance_begin(const struct gb_conformance_backend *b);
void gb_conformance_end(const struct gb_conformance_backend *b);

/* The tests themselves; each asserts through Criterion. */
void gb_conf_insert_returns_distinct_ids(
    const struct gb_conformance_backend *b);
void gb_conf_get_returns_stored_fields_and_id(
    const struct gb_conformance_backend *b);
void gb_conf_caller_id_is_replaced_by_store_id(
    const struct gb_conformance_backend *b);
void gb_conf_unicode_document_round_trips_exactly(
    const struct gb_conformance_backend *b);
void gb_conf_large_document_round_trips_exactly(
    const struct gb_conformance_backend *b);
void gb_conf_list_is_newest_first(const struct gb_conformance_backend *b);
void gb_conf_list_honours_limit(const struct gb_conformance_backend *b);
void gb_conf_large_limit_returns_everything_in_one_page(
    const struct gb_conformance_backend *b);
void gb_conf_empty_collection_lists_nothing(
    const struct gb_conformance_backend *b);
void gb_conf_cursor_paging_visits_every_document_once(
    const struct gb_conformance_backend *b);
void gb_conf_paging_ends_with_null_cursor_when_count_is_a_multiple_of_limit(
    const struct gb_conformance_backend *b);
void gb_conf_garbage_cursor_is_invalid(const struct gb_conformance_backend *b);
void gb_conf_unknown_id_is_not_found(const struct gb_conformance_backend *b);
void gb_conf_malformed_id_is_not_found(const struct gb_conformance_backend *b);
void gb_conf_removed_document_is_gone(const struct gb_conformance_backend *b);
void gb_conf_collections_are_isolated(const struct gb_conformance_backend *b);
void gb_conf_concurrent_inserts_all_land_with_unique_ids(
    const struct gb_conformance_backend *b);
void gb_conf_documents_survive_reopen(const struct gb_conformance_backend *b);
void gb_conf_ping_reports_ready(const struct gb_conformance_backend *b);
void gb_conf_insert_once_stores_a_repeated_key_once(
    const struct gb_conformance_backend *b);
void gb_conf_insert_many_stores_each_key_once(
    const struct gb_conformance_backend *b);
void gb_conf_count_follows_inserts_and_removes(
    const struct gb_conformance_backend *b);
void gb_conf_list_limit_is_bounded_by_the_host(
    const struct gb_conformance_backend *b);
/*
 * The data commands' slots : a store that has them must do what
 * struct gb_storage_ops says; one that lacks them must say so ("storage
 * NAME cannot ...", GB_ERR_INVALID).
 */
void gb_conf_scan_is_oldest_first_and_complete(
    const struct gb_conformance_backend *b);
void gb_conf_import_skips_known_keys(const struct gb_conformance_backend *b);

/* One Criterion test of the suite; used by GB_CONFORMANCE_SUITE. */
#define GB_CONFORMANCE_TEST(suite, backend, name)                              \
	Test(suite, name, .init = suite##_conformance_init,                    \
	     .fini = suite##_conformance_fini, .timeout = 120)                 \
	{                                                                      \
		gb_conf_##name(&(backend));                                    \
	}

/*
 * GB_CONFORMANCE_SUITE(suite, backend)
 * Defines the whole suite as Criterion tests of suite `suite` against
 * `backend` (a struct gb_conformance_backend object, not a pointer).
 * Use once per back end, at file scope, after `backend` is defined.
 */
#define GB_CONFORMANCE_SUITE(suite, backend)                                   \
	static void suite##_conformance_init(void)                             \
	{                                                                      \
		gb_conformance_begin(&(backend));                              \
	}                                                                      \
	static void suite##_conformance_fini(void)                             \
	{                                                                      \
		gb_conformance_end(&(backend));                                \
	}                                                                      \
	GB_CONFORMANCE_TEST(suite, backend, insert_returns_distinct_ids)       \
	GB_CONFORMANCE_TEST(suite, backend, get_returns_stored_fields_and_id)  \
	GB_CONFORMANCE_TEST(suite, backend, caller_id_is_replaced_by_store_id) \
	GB_CONFORMANCE_TEST(suite, backend,                                    \
			    unicode_document_round_trips_exactly)              \
	GB_CONFORMANCE_TEST(suite, backend,                                    \
			    large_document_round_trips_exactly)                \
	GB_CONFORMANCE_TEST(suite, backend, list_is_newest_first)              \
	GB_CONFORMANCE_TEST(suite, backend, list_honours_limit)                \
	GB_CONFORMANCE_TEST(suite, backend, empty_collection_lists_nothing)    \
	GB_CONFORMANCE_TEST(suite, backend,                                    \
			    large_limit_returns_everything_in_one_page)        \
	GB_CONFORMANCE_TEST(suite, backend,                                    \
			    cursor_paging_visits_every_document_once)          \
	GB_CONFORMANCE_TEST(                                                   \
	    suite, backend,                                                    \
	    paging_ends_with_null_cursor_when_count_is_a_multiple_of_limit)    \
	GB_CONFORMANCE_TEST(suite, backend, garbage_cursor_is_invalid)         \
	GB_CONFORMANCE_TEST(suite, backend, unknown_id_is_not_found)           \
	GB_CONFORMANCE_TEST(suite, backend, malformed_id_is_not_found)         \
	GB_CONFORMANCE_TEST(suite, backend, removed_document_is_gone)          \
	GB_CONFORMANCE_TEST(suite, backend, collections_are_isolated)          \
	GB_CONFORMANCE_TEST(suite, backend,                                    \
			    concurrent_inserts_all_land_with_unique_ids)       \
	GB_CONFORMANCE_TEST(suite, backend, documents_survive_reopen)          \
	GB_CONFORMANCE_TEST(suite, backend, ping_reports_ready)                \
	GB_CONFORMANCE_TEST(suite, backend,                                    \
			    insert_once_stores_a_repeated_key_once)            \
	GB_CONFORMANCE_TEST(suite, backend, insert_many_stores_each_key_once)  \
	GB_CONFORMANCE_TEST(suite, backend, count_follows_inserts_and_removes) \
	GB_CONFORMANCE_TEST(suite, backend, list_limit_is_bounded_by_the_host) \
	GB_CONFORMANCE_TEST(suite, backend, scan_is_oldest_first_and_complete) \
	GB_CONFORMANCE_TEST(suite, backend, import_skips_known_keys)

#endif
