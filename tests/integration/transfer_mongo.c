/*
 * transfer_mongo.c - moving a guestbook between stores: SQLite -> MongoDB
 * (FerretDB) -> SQLite with `guestbookd export | import`, 10,000 messages
 * (most imported, some posted through the API), byte-equal exports at
 * both SQLite ends; import idempotent on MongoDB too; the migrated store
 * served by the API.
 */
#include <signal.h>
#include <unistd.h>

#include "clock.h"
#include "mongo_server.h"
#include "transfer_helpers.h"

#define IMPORTED 9800
#define POSTED	 200

/* One FerretDB for the binary, started before the first test. */
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

TestSuite(transfer_mongo, .init = tr_setup, .fini = tr_cleanup, .timeout = 300);

/* Posts POSTED messages through the v1 API of a server on `db`. */
static void post_some(const char *db)
{
	static const char *const headers[] = {"Content-Type: application/json",
					      NULL};
	const char *args[] = {
	    "--plugins", "api", "--rate-limit", "0", "--sqlite-path", db, NULL};
	struct gbt_server srv;

	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0);
	for (int i = 0; i < POSTED; i++) {
		char author[128], message[4096];
		struct gbt_response r;
		cJSON *j = cJSON_CreateObject();
		char *body;

		/* the same shapes as the imported ones, with the API's
		 * own trimming and CR LF handling on the way in */
		tr_author_text(i, author, sizeof author);
		tr_message_text(i, message, sizeof message);
		cJSON_AddStringToObject(j, "author", author);
		cJSON_AddStringToObject(j, "message", message);
		body = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		cr_assert_eq(gbt_http(srv.port, "POST", "/api/v1/messages",
				      headers, body, strlen(body), &r),
			     0);
		cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
		gbt_response_free(&r);
		free(body);
	}
	gbt_server_stop(&srv, SIGTERM);
}

/* Each line of `text` with its "id" member taken out, one per line. */
static char *without_ids(const char *text)
{
	size_t len = strlen(text), out = 0;
	char *res = malloc(len + 1);
	const char *p = text;

	cr_assert_not_null(res);
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *id = strstr(p, "{\"id\":\"");

		cr_assert_not_null(nl);
		if (id == p) { /* {"id":"...", -> { */
			const char *end = strchr(p + 7, '"');
			res[out++] = '{';
			p = end + 2;
		}
		memcpy(res + out, p, (size_t)(nl + 1 - p));
		out += (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	res[out] = '\0';
	return res;
}

static const char *const *mongo_store(const char *uri)
{
	return tr_store("mongo", "--mongo-uri", uri);
}

static const char *const *sqlite_at(const char *db)
{
	return tr_store("sqlite", "--sqlite-path", db);
}

Test(transfer_mongo, sqlite_to_mongo_to_sqlite_round_trip)
{
	char dbname[64], uri[512];
	const char *a = tr_path("a.db"), *c = tr_path("c.db");
	char *file = tr_export_text(1, IMPORTED, 0, NULL);
	char *export_a, *export_b, *export_c, *plain_a, *plain_b;
	double t0;

	snprintf(dbname, sizeof dbname, "guestbook_transfer_%d", (int)getpid());
	snprintf(uri, sizeof uri, "%s", gbt_mongo_shared_uri(dbname));

	/* A: SQLite with 9,800 imported and 200 posted messages */
	tr_write_file(tr_path("in.jsonl"), file, strlen(file));
	tr_import_ok(sqlite_at(a), tr_path("in.jsonl"), "9800 new");
	post_some(a);
	export_a = tr_export(sqlite_at(a));
	cr_assert_eq(tr_count_lines(export_a), IMPORTED + POSTED + 1);
	tr_write_file(tr_path("a.jsonl"), export_a, strlen(export_a));

	/* B: MongoDB (FerretDB), imported from A's export */
	t0 = gb_now_monotonic();
	tr_import_ok(mongo_store(uri), tr_path("a.jsonl"),
		     "10000 messages read, 10000 new, 0 already stored");
	double import_s = gb_now_monotonic() - t0;
	t0 = gb_now_monotonic();
	export_b = tr_export(mongo_store(uri));
	double export_s = gb_now_monotonic() - t0;
	plain_a = without_ids(export_a);
	plain_b = without_ids(export_b);
	cr_assert_str_eq(plain_b, plain_a,
			 "MongoDB's export differs from SQLite's beyond ids");
	/* ids are ObjectIds there, ascending in the order of the lines */
	const char *p = export_b;
	char last[25] = "";
	p = strchr(p, '\n') + 1;
	for (int n = 0; *p; n++) {
		char id[25];
		cr_assert_eq(sscanf(p, "{\"id\":\"%24[0-9a-f]\"", id), 1,
			     "line %d: %.60s", n + 2, p);
		cr_assert_gt(strcmp(id, last), 0, "ids out of order at line %d",
			     n + 2);
		memcpy(last, id, sizeof last);
		p = strchr(p, '\n') + 1;
	}

	/* importing lines again stores nothing twice (a part of the file:
	 * FerretDB looks keys up by scanning, which the test pays for) */
	size_t head = 0;
	for (int n = 0; n < 1501; n++)
		head = (size_t)(strchr(export_a + head, '\n') - export_a) + 1;
	tr_write_file(tr_path("head.jsonl"), export_a, head);
	t0 = gb_now_monotonic();
	tr_import_ok(mongo_store(uri), tr_path("head.jsonl"),
		     "1500 messages read, 0 new, 1500 already stored");
	double again_s = gb_now_monotonic() - t0;
	char *again = tr_export(mongo_store(uri));
	cr_assert_str_eq(again, export_b);
	free(again);

	/* C: back into an empty SQLite: the same bytes as A */
	tr_write_file(tr_path("b.jsonl"), export_b, strlen(export_b));
	tr_import_ok(sqlite_at(c), tr_path("b.jsonl"), "10000 new");
	export_c = tr_export(sqlite_at(c));
	cr_assert_str_eq(export_c, export_a,
			 "SQLite -> MongoDB -> SQLite changed the export");
	cr_log_info("round trip of %d messages: FerretDB import %.1f s "
		    "(%.0f messages/s), export %.1f s, 1500 again %.1f s",
		    IMPORTED + POSTED, import_s, (IMPORTED + POSTED) / import_s,
		    export_s, again_s);

	free(export_a);
	free(export_b);
	free(export_c);
	free(plain_a);
	free(plain_b);
	free(file);
}

Test(transfer_mongo, migrated_store_is_served_newest_first)
{
	char dbname[64], uri[512];
	char *file = tr_export_text(1, 50, 0, NULL);
	const char *args[5];
	struct gbt_server srv;
	struct gbt_response r;

	snprintf(dbname, sizeof dbname, "guestbook_served_%d", (int)getpid());
	snprintf(uri, sizeof uri, "%s", gbt_mongo_shared_uri(dbname));
	tr_write_file(tr_path("in.jsonl"), file, strlen(file));
	tr_import_ok(mongo_store(uri), tr_path("in.jsonl"), "50 new");

	args[0] = "--mongo-uri";
	args[1] = uri;
	args[2] = "--plugins";
	args[3] = "api";
	args[4] = NULL;
	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0);
	/* the legacy list: newest first, dates as stored */
	cr_assert_eq(gbt_http(srv.port, "GET", "/messages", NULL, NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 201);
	cJSON *list = cJSON_Parse(r.body);
	cr_assert_eq(cJSON_GetArraySize(list), 50);
	for (int i = 0; i < 50; i++) {
		char id[8];
		snprintf(id, sizeof id, "%d", 50 - i);
		char *line = tr_line(50 - i, id);
		cJSON *want = cJSON_Parse(line);
		free(line);
		cJSON *got = cJSON_GetArrayItem(list, i);
		const char *ca =
		    cJSON_GetObjectItem(want, "created_at")->valuestring;
		int64_t us;
		cr_assert_eq(gb_parse_rfc3339_us(ca, strlen(ca), &us), 0);
		cr_assert_str_eq(
		    cJSON_GetObjectItem(got, "message")->valuestring,
		    cJSON_GetObjectItem(want, "message")->valuestring,
		    "position %d", i);
		cr_assert_float_eq(
		    cJSON_GetObjectItem(got, "date")->valuedouble,
		    (double)us / 1e6, 1e-7, "position %d", i);
		cJSON_Delete(want);
	}
	cJSON_Delete(list);
	gbt_response_free(&r);
	gbt_server_stop(&srv, SIGTERM);
	free(file);
}

Test(transfer_mongo, backup_on_mongo_points_to_mongodump)
{
	char dbname[64], uri[512];
	const char *args[] = {"backup",
			      tr_path("x.archive"),
			      "--plugin-dir",
			      tr_plugin_dir(),
			      "--mongo-uri",
			      uri,
			      NULL};
	char *err = NULL;

	snprintf(dbname, sizeof dbname, "guestbook_backup_%d", (int)getpid());
	snprintf(uri, sizeof uri, "%s", gbt_mongo_shared_uri(dbname));
	cr_assert_eq(
	    gbt_run_command(args, NULL, TR_NO_FDS, TR_TIMEOUT_S, &err, NULL), 2,
	    "%s", err);
	cr_assert(strstr(err, "mongodump"), "%s", err);
	free(err);
}
