/*
 * mongo_api_tests.h - runs the api plugin's own integration tests
 * (tests/integration/api_*.c, written for SQLite) unchanged against the
 * mongo store on FerretDB. A file that does
 *
 *   #include "api_helpers.h"
 *   #include "mongo_api_tests.h"
 *   #include "api_v1.c"
 *
 * becomes a test binary whose guestbookd gets `--storage mongo --mongo-uri
 * mongodb://127.0.0.1:PORT/guestbook_api_PID` after the api tests' own
 * arguments (later flags win), one database per test process, and one
 * FerretDB for the binary (started before the first test, stopped after
 * the last). The suite keeps its name; the binary's name says "mongo".
 */
#ifndef GB_TEST_MONGO_API_TESTS_H
#define GB_TEST_MONGO_API_TESTS_H

#include <unistd.h>

#include "mongo_server.h"

#ifndef GB_TEST_API_HELPERS_H
#error "include api_helpers.h (tests/integration) before mongo_api_tests.h"
#endif

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	(void)set;
	gbt_mongo_shared_setup();
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	gbt_mongo_shared_teardown();
}

/* api_start with the mongo store appended to the test's arguments. */
static inline void mongo_api_start(const char *const *extra)
{
	static char uri[300];
	char db[64];
	const char *args[48];
	size_t n = 0;

	snprintf(db, sizeof(db), "guestbook_api_%d", (int)getpid());
	snprintf(uri, sizeof(uri), "%s", gbt_mongo_shared_uri(db));
	for (size_t i = 0; extra && extra[i]; i++) {
		cr_assert_lt(n, sizeof(args) / sizeof(args[0]) - 5);
		args[n++] = extra[i];
	}
	args[n++] = "--storage";
	args[n++] = "mongo";
	args[n++] = "--mongo-uri";
	args[n++] = uri;
	args[n] = NULL;
	api_start(args);
}

static inline void mongo_api_start_default(void)
{
	static const char *const extra[] = {"--rate-limit", "0", NULL};

	mongo_api_start(extra);
}

/* From here on, the api tests start guestbookd through the functions above. */
#define api_start	  mongo_api_start
#define api_start_default mongo_api_start_default

#endif
