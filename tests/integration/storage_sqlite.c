/*
 * storage_sqlite.c - the storage conformance suite against the "sqlite"
 * back end through the real host, plus what only SQLite promises: the
 * schema version, refusing newer or foreign databases, clear errors for
 * unusable paths, and writes on disk when insert returns.
 *
 * The checks from outside use a second, independent SQLite connection,
 * loaded with dlopen() so the test binary needs no extra link library.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "conformance.h"
#include "host.h"

/* ---- the conformance suite ------------------------------------------- */

static char db_path[600];

static void sqlite_start(void)
{
	if (!db_path[0])
		snprintf(db_path, sizeof(db_path), "%s/guestbook.db",
			 gb_conformance_tmpdir());
	const char *args[] = {"--storage", "sqlite", "--sqlite-path", db_path,
			      NULL};
	gb_conformance_host_start(args);
}

static void sqlite_cleanup(void)
{
	gb_conformance_tmpdir_remove();
	db_path[0] = '\0';
}

static const struct gb_conformance_backend sqlite_backend = {
    .name = "sqlite",
    .start = sqlite_start,
    .stop = gb_host_stop,
    .cleanup = sqlite_cleanup,
};

GB_CONFORMANCE_SUITE(sqlite_conformance, sqlite_backend)

/* ---- a second connection, from outside the store --------------------- */

/* The few libsqlite3 functions the checks need, resolved at run time. */
struct outside_sqlite {
	void *lib;
	int (*open_v2)(const char *, void **, int, const char *);
	int (*exec)(void *, const char *, void *, void *, char **);
	int (*prepare_v2)(void *, const char *, int, void **, const char **);
	int (*bind_int64)(void *, int, long long);
	int (*step)(void *);
	long long (*column_int64)(void *, int);
	const unsigned char *(*column_text)(void *, int);
	int (*finalize)(void *);
	int (*close)(void *);
	const char *(*errmsg)(void *);
};

#define OUT_OPEN_READWRITE 0x02
#define OUT_OPEN_CREATE	   0x04
#define OUT_ROW		   100

static struct outside_sqlite out;

static void outside_load(void)
{
	if (out.lib)
		return;
	out.lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(out.lib, "cannot load libsqlite3: %s", dlerror());
#define OUT_SYM(field, name)                                                   \
	do {                                                                   \
		*(void **)&out.field = dlsym(out.lib, name);                   \
		cr_assert_not_null(out.field, "libsqlite3 lacks %s", name);    \
	} while (0)
	OUT_SYM(open_v2, "sqlite3_open_v2");
	OUT_SYM(exec, "sqlite3_exec");
	OUT_SYM(prepare_v2, "sqlite3_prepare_v2");
	OUT_SYM(bind_int64, "sqlite3_bind_int64");
	OUT_SYM(step, "sqlite3_step");
	OUT_SYM(column_int64, "sqlite3_column_int64");
	OUT_SYM(column_text, "sqlite3_column_text");
	OUT_SYM(finalize, "sqlite3_finalize");
	OUT_SYM(close, "sqlite3_close");
	OUT_SYM(errmsg, "sqlite3_errmsg");
#undef OUT_SYM
}

static void *outside_open(const char *path)
{
	void *db = NULL;

	outside_load();
	cr_assert_eq(
	    out.open_v2(path, &db, OUT_OPEN_READWRITE | OUT_OPEN_CREATE, NULL),
	    0, "cannot open %s from outside", path);
	return db;
}

static void outside_exec(void *db, const char *sql)
{
	char *msg = NULL;

	cr_assert_eq(out.exec(db, sql, NULL, NULL, &msg), 0, "%s: %s", sql,
		     msg ? msg : "?");
}

static long long outside_int(void *db, const char *sql)
{
	void *st = NULL;
	long long v;

	cr_assert_eq(out.prepare_v2(db, sql, -1, &st, NULL), 0, "%s: %s", sql,
		     out.errmsg(db));
	cr_assert_eq(out.step(st), OUT_ROW, "%s: no row", sql);
	v = out.column_int64(st, 0);
	out.finalize(st);
	return v;
}

/* The text of column 0 of the first row, or NULL (caller frees). */
static char *outside_text(void *db, const char *sql, long long param)
{
	void *st = NULL;
	char *text = NULL;

	cr_assert_eq(out.prepare_v2(db, sql, -1, &st, NULL), 0, "%s: %s", sql,
		     out.errmsg(db));
	out.bind_int64(st, 1, param);
	if (out.step(st) == OUT_ROW)
		text = strdup((const char *)out.column_text(st, 0));
	out.finalize(st);
	return text;
}

/* ---- helpers for the sqlite tests ------------------------------------ */

static void sqlite_fini(void)
{
	gb_conformance_tmpdir_remove();
	db_path[0] = '\0';
}

/* A database path in this test's own directory. */
static const char *test_db(void)
{
	if (!db_path[0])
		snprintf(db_path, sizeof(db_path), "%s/guestbook.db",
			 gb_conformance_tmpdir());
	return db_path;
}

/* Runs gb_host_start on `path`; returns its status, error in err. */
static int start_on(const char *path, char *err, size_t errlen)
{
	char plugin_dir[700];
	const char *build = getenv("GB_BUILD_DIR");
	char *argv[] = {"guestbookd", "--role",
			"all",	      "--plugins",
			"",	      "--plugin-dir",
			plugin_dir,   "--log-level",
			"error",      "--storage",
			"sqlite",     "--sqlite-path",
			(char *)0,    NULL};

	cr_assert_not_null(build, "GB_BUILD_DIR is not set; run through make");
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/plugins", build);
	argv[12] = strdup(path);
	err[0] = '\0';
	int rc = gb_host_start(13, argv, err, errlen);
	free(argv[12]);
	return rc;
}

static void insert_one(const char *message, char id[GB_ID_MAX])
{
	struct gb_error err = {0};
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "author", "sqlite");
	cJSON_AddStringToObject(doc, "message", message);
	cJSON_AddNumberToObject(doc, "date", 1764136800.25);
	cr_assert_eq(
	    gb_host_api_table()->store_insert(NULL, "messages", doc, id, &err),
	    GB_OK, "insert: %s", err.message);
	cJSON_Delete(doc);
}

/* ---- sqlite-specific tests ------------------------------------------- */

TestSuite(sqlite_store, .fini = sqlite_fini, .timeout = 60);

Test(sqlite_store, new_database_gets_schema_version_and_wal)
{
	char err[512];
	void *db;
	char *mode;

	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	gb_host_stop();
	db = outside_open(test_db());
	cr_assert_eq(outside_int(db, "PRAGMA user_version"), 2);
	cr_assert_eq(outside_int(db, "PRAGMA application_id"), 0x47424b44);
	cr_assert_eq(outside_int(db, "SELECT count(*) FROM sqlite_master "
				     "WHERE name IN ('documents', "
				     "'idempotency_keys')"),
		     2);
	mode = outside_text(db, "PRAGMA journal_mode", 0);
	cr_assert_str_eq(mode, "wal");
	free(mode);
	out.close(db);
}

Test(sqlite_store, existing_database_opens_again_without_migrating)
{
	char err[512], id[GB_ID_MAX];

	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	insert_one("first run", id);
	gb_host_stop();
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	cJSON *doc = NULL;
	struct gb_error e = {0};
	cr_assert_eq(
	    gb_host_api_table()->store_get(NULL, "messages", id, &doc, &e),
	    GB_OK, "%s", e.message);
	cJSON_Delete(doc);
	gb_host_stop();
}

/* A database of schema version 1 (before idempotency keys) keeps its
 * messages and gets the key table. */
Test(sqlite_store, version_1_database_is_migrated_to_version_2)
{
	char err[512], id[GB_ID_MAX];
	int repeated = -1;
	struct gb_error e = {0};
	cJSON *doc = NULL;
	void *db = outside_open(test_db());

	outside_exec(db, "CREATE TABLE documents ("
			 " id INTEGER PRIMARY KEY AUTOINCREMENT,"
			 " collection TEXT NOT NULL, body TEXT NOT NULL);"
			 "CREATE INDEX documents_by_collection"
			 " ON documents (collection, id DESC);"
			 "INSERT INTO documents (collection, body) VALUES"
			 " ('messages', '{\"author\":\"old\","
			 "\"message\":\"v1\",\"date\":1}');"
			 "PRAGMA application_id = 1195526980;"
			 "PRAGMA user_version = 1;");
	out.close(db);
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(
	    gb_host_api_table()->store_get(NULL, "messages", "1", &doc, &e),
	    GB_OK, "%s", e.message);
	cJSON_Delete(doc);
	doc = cJSON_Parse("{\"author\":\"new\",\"message\":\"v2\","
			  "\"date\":2}");
	cr_assert_eq(gb_host_api_table()->store_insert_once(
			 NULL, "messages", doc, "k", id, &repeated, &e),
		     GB_OK, "%s", e.message);
	cr_assert_eq(repeated, 0);
	cJSON_Delete(doc);
	gb_host_stop();
	db = outside_open(test_db());
	cr_assert_eq(outside_int(db, "PRAGMA user_version"), 2);
	cr_assert_eq(outside_int(db, "SELECT count(*) FROM idempotency_keys"),
		     1);
	out.close(db);
}

/* An idempotency key older than the window stores a new message. */
Test(sqlite_store, idempotency_key_expires_after_the_window)
{
	char err[512], first[GB_ID_MAX], again[GB_ID_MAX];
	int repeated = -1;
	struct gb_error e = {0};
	cJSON *doc = cJSON_Parse("{\"author\":\"a\",\"message\":\"m\","
				 "\"date\":1}");
	void *db;

	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(
	    gb_host_api_table()->store_insert_once(
		NULL, "messages", doc, "old-key", first, &repeated, &e),
	    GB_OK, "%s", e.message);
	gb_host_stop();
	db = outside_open(test_db());
	outside_exec(db, "UPDATE idempotency_keys SET created = created - 601");
	out.close(db);
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(
	    gb_host_api_table()->store_insert_once(
		NULL, "messages", doc, "old-key", again, &repeated, &e),
	    GB_OK, "%s", e.message);
	cr_assert_eq(repeated, 0, "a key older than 10 minutes was a repeat");
	cr_assert_str_neq(again, first);
	cJSON_Delete(doc);
	gb_host_stop();
}

Test(sqlite_store, newer_schema_version_is_refused_with_a_clear_message)
{
	char err[512];
	void *db = outside_open(test_db());

	outside_exec(db, "PRAGMA user_version = 7");
	out.close(db);
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 2);
	cr_assert(strstr(err, test_db()), "message lacks the path: %s", err);
	cr_assert(strstr(err, "schema version 7 is newer"),
		  "message does not say why: %s", err);
	gb_host_stop();
	/* The file was left as it was. */
	db = outside_open(test_db());
	cr_assert_eq(outside_int(db, "PRAGMA user_version"), 7);
	out.close(db);
}

Test(sqlite_store, database_of_another_application_is_refused)
{
	char err[512];
	void *db = outside_open(test_db());

	outside_exec(db, "PRAGMA application_id = 1234; "
			 "CREATE TABLE theirs (x INTEGER)");
	out.close(db);
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 2);
	cr_assert(strstr(err, test_db()), "message lacks the path: %s", err);
	cr_assert(strstr(err, "not a guestbookd database"), "%s", err);
	gb_host_stop();
}

Test(sqlite_store, missing_directory_fails_naming_the_path)
{
	char err[512], path[700];

	snprintf(path, sizeof(path), "%s/no/such/dir/guestbook.db",
		 gb_conformance_tmpdir());
	cr_assert_eq(start_on(path, err, sizeof(err)), 2);
	cr_assert(strstr(err, path), "message lacks the path: %s", err);
	cr_assert(strstr(err, "No such file or directory"), "%s", err);
	gb_host_stop();
}

Test(sqlite_store, directory_as_path_fails_naming_it)
{
	char err[512];

	cr_assert_eq(start_on(gb_conformance_tmpdir(), err, sizeof(err)), 2);
	cr_assert(strstr(err, gb_conformance_tmpdir()), "%s", err);
	cr_assert(strstr(err, "is a directory"), "%s", err);
	gb_host_stop();
}

Test(sqlite_store, file_that_is_not_a_database_fails_naming_it)
{
	char err[512];
	FILE *f = fopen(test_db(), "w");

	cr_assert_not_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", f);
	fclose(f);
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 2);
	cr_assert(strstr(err, test_db()), "message lacks the path: %s", err);
	cr_assert(strstr(err, "not a database"), "%s", err);
	gb_host_stop();
}

Test(sqlite_store, read_only_directory_fails_naming_it)
{
	char err[512], dir[700], path[760];

	if (geteuid() == 0) {
		/* root ignores permissions; test an unopenable path instead */
		snprintf(path, sizeof(path), "/proc/guestbook.db");
	} else {
		snprintf(dir, sizeof(dir), "%s/ro", gb_conformance_tmpdir());
		cr_assert_eq(mkdir(dir, 0555), 0);
		snprintf(path, sizeof(path), "%s/guestbook.db", dir);
	}
	cr_assert_eq(start_on(path, err, sizeof(err)), 2);
	cr_assert(strstr(err, path), "message lacks the path: %s", err);
	gb_host_stop();
}

Test(sqlite_store, insert_is_on_disk_when_it_returns)
{
	char err[512], id[GB_ID_MAX];
	void *db;
	char *body;

	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	insert_one("durable", id);
	/* Read it through an independent connection while the store runs. */
	db = outside_open(test_db());
	body = outside_text(db, "SELECT body FROM documents WHERE id = ?1",
			    atoll(id));
	cr_assert_not_null(body, "row %s is not in the file", id);
	cr_assert(strstr(body, "\"message\":\"durable\""), "%s", body);
	cr_assert_null(strstr(body, "\"id\""), "id stored in body: %s", body);
	free(body);
	out.close(db);
	gb_host_stop();
}

Test(sqlite_store, acknowledged_insert_survives_a_crash)
{
	char err[512], id[GB_ID_MAX] = "";
	int fds[2], status;
	pid_t pid;

	test_db(); /* create the directory before the child uses it */
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(fds[0]);
		if (start_on(test_db(), err, sizeof(err)) != 0)
			_exit(3);
		insert_one("before the crash", id);
		if (write(fds[1], id, sizeof(id)) != (ssize_t)sizeof(id))
			_exit(4);
		_exit(0); /* no stop, no close: like a crash */
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], id, sizeof(id)), (ssize_t)sizeof(id),
		     "the child did not report an id");
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	cJSON *doc = NULL;
	struct gb_error e = {0};
	cr_assert_eq(
	    gb_host_api_table()->store_get(NULL, "messages", id, &doc, &e),
	    GB_OK, "%s", e.message);
	cr_assert_str_eq(cJSON_GetObjectItem(doc, "message")->valuestring,
			 "before the crash");
	cJSON_Delete(doc);
	gb_host_stop();
}

Test(sqlite_store, cursors_of_the_wrong_shape_are_invalid)
{
	static const char *const bad[] = {
	    "sq",    "sq0",   "sq-1",  "sq01",
	    "12",    "SQ12",  "sq12x", "sq99999999999999999999",
	    "sq 12", "sq+12",
	};
	char err[512], id[GB_ID_MAX];

	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	insert_one("one", id);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gb_error e = {0};
		cJSON *docs = NULL;
		char *next = NULL;

		cr_assert_eq(gb_host_api_table()->store_list(
				 NULL, "messages", 5, bad[i], &docs, &next, &e),
			     GB_ERR_INVALID, "cursor '%s' was accepted",
			     bad[i]);
	}
	gb_host_stop();
}

Test(sqlite_store, ids_are_never_reused_after_deleting_the_newest)
{
	char err[512], a[GB_ID_MAX], b[GB_ID_MAX], c[GB_ID_MAX];
	struct gb_error e = {0};

	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	insert_one("a", a);
	insert_one("b", b);
	cr_assert_eq(gb_host_api_table()->store_remove(NULL, "messages", b, &e),
		     GB_OK, "%s", e.message);
	gb_host_stop();
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	insert_one("c", c);
	cr_assert_gt(atoll(c), atoll(b), "id %s reused after removing %s", c,
		     b);
	gb_host_stop();
}

Test(sqlite_store, damaged_row_is_an_error_not_a_crash)
{
	char err[512], id[GB_ID_MAX], sql[128];
	struct gb_error e = {0};
	cJSON *doc = NULL, *docs = NULL;
	char *next = NULL;
	void *db;

	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	insert_one("to be damaged", id);
	db = outside_open(test_db());
	snprintf(sql, sizeof(sql),
		 "UPDATE documents SET body = '{not json' WHERE id = %lld",
		 atoll(id));
	outside_exec(db, sql);
	out.close(db);
	cr_assert_eq(
	    gb_host_api_table()->store_get(NULL, "messages", id, &doc, &e),
	    GB_ERR_INTERNAL);
	cr_assert(strstr(e.message, id), "message lacks the id: %s", e.message);
	cr_assert_null(doc);
	cr_assert_eq(gb_host_api_table()->store_list(NULL, "messages", 5, NULL,
						     &docs, &next, &e),
		     GB_ERR_INTERNAL);
	cr_assert_null(docs);
	cr_assert_null(next);
	gb_host_stop();
}

Test(sqlite_store, write_lock_held_elsewhere_makes_insert_unavailable)
{
	char err[512], id[GB_ID_MAX], *next = NULL;
	const struct gb_host_api *api;
	struct gb_error e = {0};
	cJSON *doc, *docs = NULL;
	void *db;

	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	api = gb_host_api_table();
	insert_one("before the lock", id);
	db = outside_open(test_db());
	outside_exec(db, "BEGIN IMMEDIATE");
	/* Readers are not blocked by a writer in WAL mode. */
	cr_assert_eq(
	    api->store_list(NULL, "messages", 5, NULL, &docs, &next, &e), GB_OK,
	    "%s", e.message);
	cr_assert_eq(cJSON_GetArraySize(docs), 1);
	cJSON_Delete(docs);
	/* A writer gives up after the busy timeout with a clear status. */
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "author", "sqlite");
	cJSON_AddStringToObject(doc, "message", "while locked");
	cr_assert_eq(api->store_insert(NULL, "messages", doc, id, &e),
		     GB_ERR_UNAVAILABLE);
	cr_assert(strstr(e.message, "locked"), "%s", e.message);
	outside_exec(db, "ROLLBACK");
	out.close(db);
	cr_assert_eq(api->store_insert(NULL, "messages", doc, id, &e), GB_OK,
		     "%s", e.message);
	cJSON_Delete(doc);
	gb_host_stop();
}

Test(sqlite_store, any_json_object_round_trips)
{
	static const char text[] =
	    "{\"n\":{\"deep\":[1,2,{\"x\":null}]},\"t\":true,\"f\":false,"
	    "\"z\":null,\"i\":-42,\"big\":9007199254740992,\"r\":0.1,"
	    "\"e\":1e-300,\"s\":\"tab\\t and \\\"quotes\\\"\","
	    "\"\u00fcnicode key\":\"v\",\"empty\":{},\"list\":[]}";
	char err[512], id[GB_ID_MAX];
	const struct gb_host_api *api;
	struct gb_error e = {0};
	cJSON *doc = cJSON_Parse(text), *got = NULL;

	cr_assert_not_null(doc);
	cr_assert_eq(start_on(test_db(), err, sizeof(err)), 0, "%s", err);
	api = gb_host_api_table();
	cr_assert_eq(api->store_insert(NULL, "plugin_data", doc, id, &e), GB_OK,
		     "%s", e.message);
	cr_assert_eq(api->store_get(NULL, "plugin_data", id, &got, &e), GB_OK,
		     "%s", e.message);
	cJSON_AddStringToObject(doc, "id", id);
	cr_assert(cJSON_Compare(doc, got, 1), "stored %s, got %s", text,
		  cJSON_PrintUnformatted(got));
	cJSON_Delete(got);
	cJSON_Delete(doc);
	gb_host_stop();
}
