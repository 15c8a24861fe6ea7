/*
 * transfer_sqlite.c - `guestbookd export | import | backup` on the SQLite
 * store: an import run twice, a bad line in the middle and how to resume,
 * hostile input lines, a backup taken while 8 clients post, and the
 * export's memory at a million messages.
 */
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include "clock.h"
#include "transfer_helpers.h"

#define MESSAGES 10000

static const char *const *sqlite_store(const char *db)
{
	return tr_store("sqlite", "--sqlite-path", db);
}

TestSuite(transfer, .init = tr_setup, .fini = tr_cleanup, .timeout = 240);

Test(transfer, import_twice_stores_each_message_once)
{
	const char *const *db = sqlite_store(tr_path("guestbook.db"));
	char *file = tr_export_text(1, MESSAGES, 0, NULL);
	char *out;

	tr_write_file(tr_path("in.jsonl"), file, strlen(file));
	tr_import_ok(db, tr_path("in.jsonl"),
		     "10000 messages read, 10000 new, 0 already stored");
	/* ids, dates, text and order come back byte for byte */
	out = tr_export(db);
	cr_assert_str_eq(out, file, "the export differs from the import");
	free(out);

	tr_import_ok(db, tr_path("in.jsonl"),
		     "10000 messages read, 0 new, 10000 already stored");
	out = tr_export(db);
	cr_assert_str_eq(out, file, "a second import changed the store");
	free(out);
	free(file);
}

Test(transfer, served_newest_first_after_import)
{
	const char *db = tr_path("guestbook.db");
	char *file = tr_export_text(1, 300, 0, NULL);
	const char *args[] = {"--plugins", "api", "--sqlite-path", db, NULL};
	struct gbt_server srv;
	struct gbt_response r;
	cJSON *j, *msgs, *newest;
	char *want = tr_line(300, "300");
	cJSON *line = cJSON_Parse(want);
	char ms[GB_RFC3339_MAX];

	tr_write_file(tr_path("in.jsonl"), file, strlen(file));
	tr_import_ok(sqlite_store(db), tr_path("in.jsonl"), "300 new");
	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0);
	cr_assert_eq(gbt_http(srv.port, "GET", "/api/v1/messages?limit=2", NULL,
			      NULL, 0, &r),
		     0);
	cr_assert_eq(r.status, 200);
	j = cJSON_Parse(r.body);
	msgs = cJSON_GetObjectItem(j, "messages");
	cr_assert_eq(cJSON_GetArraySize(msgs), 2);
	newest = cJSON_GetArrayItem(msgs, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(newest, "id")->valuestring, "300");
	cr_assert_str_eq(cJSON_GetObjectItem(newest, "author")->valuestring,
			 cJSON_GetObjectItem(line, "author")->valuestring);
	cr_assert_str_eq(cJSON_GetObjectItem(newest, "message")->valuestring,
			 cJSON_GetObjectItem(line, "message")->valuestring);
	/* the API shows the imported date, to the millisecond */
	int64_t us;
	const char *ca = cJSON_GetObjectItem(line, "created_at")->valuestring;
	cr_assert_eq(gb_parse_rfc3339_us(ca, strlen(ca), &us), 0);
	gb_format_rfc3339_ms((double)us / 1e6, ms);
	cr_assert_str_eq(cJSON_GetObjectItem(newest, "created_at")->valuestring,
			 ms);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "id")->valuestring,
	    "299");
	cJSON_Delete(j);
	cJSON_Delete(line);
	gbt_response_free(&r);
	gbt_server_stop(&srv, SIGTERM);
	free(want);
	free(file);
}

Test(transfer, bad_line_in_the_middle_stops_and_resumes)
{
	const char *const *db = sqlite_store(tr_path("guestbook.db"));
	/* line 5502 is message 5501; batches of 1000 end at lines 1001,
	 * 2001, ... so lines 1 to 5001 (5000 messages) get stored */
	const char *bad =
	    "{\"id\":\"5501\",\"author\":\"   \",\"message\":\"x\","
	    "\"created_at\":\"2026-01-01T00:00:00Z\"}";
	char *broken = tr_export_text(1, MESSAGES, 5502, bad);
	char *good = tr_export_text(1, MESSAGES, 0, NULL);
	char *err = NULL, *out;
	size_t prefix;
	int rc;

	tr_write_file(tr_path("broken.jsonl"), broken, strlen(broken));
	rc = tr_run("import", db, tr_path("broken.jsonl"), NULL, &err);
	cr_assert_eq(rc, 2, "exit %d:\n%s", rc, err);
	cr_assert(strstr(err, "line 5502: author: author must be"), "%s", err);
	cr_assert(strstr(err, "lines 1 to 5001 are stored (5000 messages"),
		  "%s", err);
	cr_assert(strstr(err, "nothing after line 5001 was written"), "%s",
		  err);
	cr_assert(strstr(err, "fix that line and run the same import again"),
		  "%s", err);
	free(err);

	/* exactly the good batches, nothing of the one with the bad line */
	out = tr_export(db);
	cr_assert_eq(tr_count_lines(out), 5001);
	prefix = strlen(out);
	cr_assert_eq(strncmp(out, good, prefix), 0);
	free(out);

	/* resume: the fixed file, run again */
	tr_write_file(tr_path("fixed.jsonl"), good, strlen(good));
	tr_import_ok(db, tr_path("fixed.jsonl"),
		     "10000 messages read, 5000 new, 5000 already stored");
	out = tr_export(db);
	cr_assert_str_eq(out, good);
	free(out);
	free(good);
	free(broken);
}

/* Every hostile line stops the import at its line and stores nothing. */
/* A raw NUL byte after a valid object. */
static const char nul_line[] =
    "{\"format\":\"guestbookd-export\",\"version\":1}\n"
    "{\"author\":\"a\",\"message\":\"b\",\"created_at\":"
    "\"2026-01-01T00:00:00Z\"}\0junk\n";

Test(transfer, hostile_lines_are_refused_with_their_line_number)
{
	static const struct {
		const char *input;
		size_t len; /* 0: strlen */
		const char *expect;
	} cases[] = {
	    {"", 0, "line 1: the input is empty"},
	    {"{\"author\":\"a\",\"message\":\"b\"}\n", 0,
	     "line 1: the first line is not a guestbookd export header"},
	    {"{\"format\":\"guestbookd-export\",\"version\":2}\n", 0,
	     "line 1: the file was written by a newer guestbookd"},
	    {"{\"format\":\"guestbookd-export\",\"version\":1}\nnot json\n", 0,
	     "line 2: not valid JSON"},
	    {nul_line, sizeof nul_line - 1, "line 2: not valid JSON"},
	    {"{\"format\":\"guestbookd-export\",\"version\":1}\n[1,2]\n", 0,
	     "line 2: not a JSON object"},
	    {"{\"format\":\"guestbookd-export\",\"version\":1}\n"
	     "{\"author\":\"a\",\"message\":\"b\"}\n",
	     0, "line 2: created_at: created_at must be a string"},
	    {"{\"format\":\"guestbookd-export\",\"version\":1}\n"
	     "{\"author\":\"a\",\"message\":\"b\",\"created_at\":"
	     "\"2026-02-30T00:00:00Z\"}\n",
	     0, "line 2: created_at: created_at must be an RFC 3339"},
	    {"{\"format\":\"guestbookd-export\",\"version\":1}\n"
	     "{\"author\":\"a\\u0001\",\"message\":\"b\",\"created_at\":"
	     "\"2026-01-01T00:00:00Z\"}\n",
	     0, "line 2: author:"},
	    {"{\"format\":\"guestbookd-export\",\"version\":1}\n"
	     "{\"author\":\"a\",\"message\":\"b\\u0000\",\"created_at\":"
	     "\"2026-01-01T00:00:00Z\"}\n",
	     0, "line 2: message:"},
	    {"{\"format\":\"guestbookd-export\",\"version\":1}\n"
	     "{\"id\":7,\"author\":\"a\",\"message\":\"b\",\"created_at\":"
	     "\"2026-01-01T00:00:00Z\"}\n",
	     0, "line 2: id: id must be a string"},
	};
	const char *const *db = sqlite_store(tr_path("guestbook.db"));

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t len =
		    cases[i].len ? cases[i].len : strlen(cases[i].input);
		char *err = NULL;
		int rc;

		tr_write_file(tr_path("in.jsonl"), cases[i].input, len);
		rc = tr_run("import", db, tr_path("in.jsonl"), NULL, &err);
		cr_assert_eq(rc, 2, "case %zu: exit %d:\n%s", i, rc, err);
		cr_assert(strstr(err, cases[i].expect), "case %zu: %s", i, err);
		free(err);
	}
	/* a line longer than the limit, in the middle of good ones */
	size_t big = GB_LINE_MAX + 10;
	char *file = tr_export_text(1, 10, 0, NULL);
	size_t flen = strlen(file);
	char *longer = malloc(flen + big + 2);
	memcpy(longer, file, flen);
	memset(longer + flen, 'x', big);
	longer[flen + big] = '\n';
	tr_write_file(tr_path("in.jsonl"), longer, flen + big + 1);
	char *err = NULL;
	int rc = tr_run("import", db, tr_path("in.jsonl"), NULL, &err);
	cr_assert_eq(rc, 2, "exit %d:\n%s", rc, err);
	cr_assert(strstr(err, "line 12: longer than 65536 bytes"), "%s", err);
	free(err);
	free(longer);
	free(file);

	char *out = tr_export(db);
	cr_assert_eq(tr_count_lines(out), 1, "something was stored:\n%s", out);
	free(out);
}

struct pty_reader {
	int fd;
	char buf[65536];
	size_t len;
};

static void *read_pty(void *arg)
{
	struct pty_reader *r = arg;
	ssize_t n;

	/* until EIO: the command closed its end */
	while (r->len + 1 < sizeof r->buf &&
	       (n = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len)) >
		   0)
		r->len += (size_t)n;
	r->buf[r->len] = '\0';
	return NULL;
}

Test(transfer, progress_on_a_terminal_only)
{
	const char *db = tr_path("guestbook.db");
	char *file = tr_export_text(1, 2500, 0, NULL);
	const char *args[] = {
	    "import", "--plugin-dir", tr_plugin_dir(), "--sqlite-path", db,
	    NULL};
	static struct pty_reader r;
	pthread_t t;
	int master, slave, in, rc;
	char *err = NULL;

	tr_write_file(tr_path("in.jsonl"), file, strlen(file));
	cr_assert_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
	r.fd = master;
	pthread_create(&t, NULL, read_pty, &r);
	in = open(tr_path("in.jsonl"), O_RDONLY);
	rc = gbt_run_command(args, NULL, (const int[3]){in, -1, slave},
			     TR_TIMEOUT_S, NULL, NULL);
	close(slave);
	close(in);
	pthread_join(t, NULL);
	close(master);
	cr_assert_eq(rc, 0, "%s", r.buf);
	/* a line rewritten in place: count, new ones, rate */
	cr_assert(strstr(r.buf, "\r\033[Kimport: 1000 messages, 1000 new, "),
		  "%s", r.buf);
	cr_assert(strstr(r.buf, "/s"), "%s", r.buf);
	cr_assert(strstr(r.buf, "\r\033[Kimport: 2500 messages read, 2500 "
				"new, 0 already stored in "),
		  "%s", r.buf);

	/* not a terminal: the totals only */
	in = open(tr_path("in.jsonl"), O_RDONLY);
	rc = gbt_run_command(args, NULL, (const int[3]){in, -1, -1},
			     TR_TIMEOUT_S, &err, NULL);
	close(in);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_null(strchr(err, '\r'), "%s", err);
	cr_assert(strstr(err, "import: 2500 messages read, 0 new, 2500 "
			      "already stored in "),
		  "%s", err);
	free(err);
	free(file);
}

Test(transfer, export_of_a_missing_database_fails)
{
	char *err = NULL;
	int rc = tr_run("export", sqlite_store(tr_path("typo.db")), NULL, NULL,
			&err);

	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "no such database"), "%s", err);
	cr_assert_neq(access(tr_path("typo.db"), F_OK), 0,
		      "export created the file");
	free(err);
}

/* ---- backup while 8 clients post ------------------------------------- */

#define CLIENTS	  8
#define POSTS_MAX 65536 /* per client */

struct poster {
	int port, id;
	_Atomic int *stop;
	pthread_mutex_t *lock;
	int *acked; /* per client: how many of its posts got a 201 */
	int failures;
};

static void *post_loop(void *arg)
{
	struct poster *p = arg;
	static const char *const headers[] = {"Content-Type: application/json",
					      NULL};

	for (int k = 0; !*p->stop && k < POSTS_MAX; k++) {
		char body[128];
		struct gbt_response r;
		int n = snprintf(body, sizeof body,
				 "{\"author\":\"client %d\",\"message\":"
				 "\"client %d post %d\"}",
				 p->id, p->id, k);

		if (gbt_http(p->port, "POST", "/api/v1/messages", headers, body,
			     (size_t)n, &r) != 0) {
			p->failures++;
			k--;
			continue;
		}
		if (r.status == 201) {
			/* posts of one client are acknowledged in order */
			pthread_mutex_lock(p->lock);
			p->acked[p->id] = k + 1;
			pthread_mutex_unlock(p->lock);
		} else {
			p->failures++;
			k--;
		}
		gbt_response_free(&r);
	}
	return NULL;
}

static int total(const int *acked)
{
	int n = 0;

	for (int c = 0; c < CLIENTS; c++)
		n += acked[c];
	return n;
}

Test(transfer, backup_while_clients_post_is_consistent_and_complete)
{
	const char *db = tr_path("guestbook.db");
	const char *copy = tr_path("backup.db");
	const char *args[] = {"--plugins", "api", "--rate-limit",  "0",
			      "--threads", "32",  "--sqlite-path", db,
			      NULL};
	struct gbt_server srv;
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int acked[CLIENTS] = {0}, before[CLIENTS];
	_Atomic int stop = 0;
	struct poster posters[CLIENTS];
	pthread_t threads[CLIENTS];

	cr_assert_eq(gbt_server_start(&srv, args, NULL), 0);
	for (int c = 0; c < CLIENTS; c++) {
		posters[c] =
		    (struct poster){srv.port, c, &stop, &lock, acked, 0};
		pthread_create(&threads[c], NULL, post_loop, &posters[c]);
	}
	double until = gb_now_monotonic() + 60;
	for (;;) {
		pthread_mutex_lock(&lock);
		int n = total(acked);
		pthread_mutex_unlock(&lock);
		if (n >= 400 || gb_now_monotonic() > until)
			break;
		usleep(20000);
	}
	/* every post acknowledged now must be in the backup */
	pthread_mutex_lock(&lock);
	memcpy(before, acked, sizeof before);
	pthread_mutex_unlock(&lock);
	cr_assert_geq(total(before), 400, "the clients posted too slowly");

	const char *bargs[] = {
	    "backup", copy, "--plugin-dir", tr_plugin_dir(), "--sqlite-path",
	    db,	      NULL};
	char *err = NULL;
	double t0 = gb_now_monotonic();
	int rc =
	    gbt_run_command(bargs, NULL, TR_NO_FDS, TR_TIMEOUT_S, &err, NULL);
	double took = gb_now_monotonic() - t0;
	cr_assert_eq(rc, 0, "backup exited %d:\n%s", rc, err);
	free(err);
	pthread_mutex_lock(&lock);
	int during = total(acked) - total(before);
	pthread_mutex_unlock(&lock);
	usleep(200000);
	stop = 1;
	for (int c = 0; c < CLIENTS; c++)
		pthread_join(threads[c], NULL);
	int after = total(acked);
	gbt_server_stop(&srv, SIGTERM);
	cr_assert_gt(during, 0,
		     "no post was acknowledged while the backup "
		     "ran: not an online backup test");

	sqlite3 *b;
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_open_v2(copy, &b, SQLITE_OPEN_READONLY, NULL),
		     SQLITE_OK);
	cr_assert_eq(
	    sqlite3_prepare_v2(b, "PRAGMA integrity_check", -1, &st, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);

	int rows = 0;
	cr_assert_eq(
	    sqlite3_prepare_v2(b,
			       "SELECT json_extract(body, '$.message') FROM "
			       "documents WHERE collection = 'messages'",
			       -1, &st, NULL),
	    SQLITE_OK);
	char(*seen)[POSTS_MAX] = calloc(CLIENTS, POSTS_MAX);
	cr_assert_not_null(seen);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int c, k;
		const char *m = (const char *)sqlite3_column_text(st, 0);
		cr_assert_eq(sscanf(m, "client %d post %d", &c, &k), 2, "%s",
			     m);
		cr_assert(c >= 0 && c < CLIENTS && k >= 0 && k < POSTS_MAX);
		cr_assert_eq(seen[c][k], 0, "post %s is in the copy twice", m);
		seen[c][k] = 1;
		rows++;
	}
	sqlite3_finalize(st);
	sqlite3_close(b);
	for (int c = 0; c < CLIENTS; c++) {
		for (int k = 0; k < before[c]; k++)
			cr_assert(seen[c][k],
				  "client %d post %d was acknowledged before "
				  "the backup started but is not in it",
				  c, k);
	}
	free(seen);
	cr_assert_leq(rows, after);
	cr_log_info("backup under load: %d posts acknowledged before it, %d "
		    "during its %.2f s, %d messages in the copy",
		    total(before), during, took, rows);

	/* the copy is a guestbookd database */
	char *out = tr_export(sqlite_store(copy));
	cr_assert_eq(tr_count_lines(out), (size_t)rows + 1);
	free(out);
}

Test(transfer, backup_refuses_the_database_itself)
{
	const char *db = tr_path("guestbook.db");
	char *file = tr_export_text(1, 3, 0, NULL);
	const char *bargs[] = {
	    "backup", db,  "--plugin-dir", tr_plugin_dir(), "--sqlite-path",
	    db,	      NULL};
	char *err = NULL;

	tr_write_file(tr_path("in.jsonl"), file, strlen(file));
	tr_import_ok(sqlite_store(db), tr_path("in.jsonl"), "3 new");
	cr_assert_eq(
	    gbt_run_command(bargs, NULL, TR_NO_FDS, TR_TIMEOUT_S, &err, NULL),
	    2, "%s", err);
	cr_assert(strstr(err, "that is the database itself"), "%s", err);
	free(err);
	free(file);
	/* and the database is untouched */
	char *out = tr_export(sqlite_store(db));
	cr_assert_eq(tr_count_lines(out), 4);
	free(out);
}

/* ---- export memory ---------------------------------------------------- */

/*
 * Fills the store with `n` messages straight through SQLite (an import of
 * a million lines would take longer than this test may), in guestbookd's
 * own schema, created by an import of an empty export.
 */
static void fill(const char *db, long n)
{
	char sql[1024];
	sqlite3 *h;

	tr_write_file(tr_path("empty.jsonl"), gb_line_header(),
		      strlen(gb_line_header()));
	tr_import_ok(sqlite_store(db), tr_path("empty.jsonl"),
		     "0 messages read");
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	snprintf(sql, sizeof sql,
		 "INSERT INTO documents (collection, body) "
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		 "FROM c WHERE i < %ld) "
		 "SELECT 'messages', json_object('author', 'author ' || "
		 "(i %% 97), 'message', 'message number ' || i || ' ' || "
		 "printf('%%.150c', 'x'), 'date', 1764136800.0 + i / 1000.0) "
		 "FROM c",
		 n);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
		     sqlite3_errmsg(h));
	sqlite3_close(h);
}

struct counter {
	int fd;
	size_t lines, bytes;
};

static void *count_lines(void *arg)
{
	struct counter *c = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof buf)) > 0) {
		c->bytes += (size_t)n;
		for (ssize_t i = 0; i < n; i++)
			c->lines += buf[i] == '\n';
	}
	return NULL;
}

/* Exports `db` into a pipe; returns the peak RSS in KiB. */
static long export_rss(const char *db, long n, double *seconds)
{
	const char *args[] = {
	    "export", "--plugin-dir", tr_plugin_dir(), "--sqlite-path", db,
	    NULL};
	/* ASan keeps freed memory in quarantine: keep it small so RSS
	 * measures what the export holds, not what ASan delays freeing */
	char asan[512];
	const char *prev = getenv("ASAN_OPTIONS");
	snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%squarantine_size_mb=4",
		 prev ? prev : "", prev && *prev ? ":" : "");
	const char *env[] = {asan, NULL};
	struct counter c = {0};
	pthread_t t;
	int fds[2];
	long rss = 0;
	char *err = NULL;

	cr_assert_eq(pipe(fds), 0);
	c.fd = fds[0];
	pthread_create(&t, NULL, count_lines, &c);
	double t0 = gb_now_monotonic();
	int rc = gbt_run_command(args, env, (const int[3]){-1, fds[1], -1},
				 TR_TIMEOUT_S, &err, &rss);
	*seconds = gb_now_monotonic() - t0;
	close(fds[1]);
	pthread_join(t, NULL);
	close(fds[0]);
	cr_assert_eq(rc, 0, "export exited %d:\n%s", rc, err);
	free(err);
	cr_assert_eq(c.lines, (size_t)n + 1, "export wrote %zu lines", c.lines);
	return rss;
}

/* A million messages (a quarter of that under ASan, which is slower). */
#ifdef __SANITIZE_ADDRESS__
#define BIG_EXPORT   250000L
#define RSS_SLACK_KB (32L * 1024)
#else
#define BIG_EXPORT   1000000L
#define RSS_SLACK_KB (8L * 1024)
#endif

Test(transfer, export_streams_in_constant_memory, .timeout = 400)
{
	const char *small = tr_path("small.db"), *big = tr_path("big.db");
	double small_s, big_s;
	long small_rss, big_rss;

	fill(small, 10000);
	fill(big, BIG_EXPORT);
	small_rss = export_rss(small, 10000, &small_s);
	big_rss = export_rss(big, BIG_EXPORT, &big_s);
	cr_log_info("export: 10,000 messages peak RSS %.1f MiB; %ld messages "
		    "peak RSS %.1f MiB in %.1f s (%.0f messages/s)",
		    small_rss / 1024.0, BIG_EXPORT, big_rss / 1024.0, big_s,
		    BIG_EXPORT / big_s);
	/* constant memory: 100 times the messages, (almost) the same RSS */
	cr_assert_lt(big_rss, small_rss + RSS_SLACK_KB,
		     "peak RSS grew from %ld KiB (10,000 messages) to %ld KiB "
		     "(%ld)",
		     small_rss, big_rss, BIG_EXPORT);
}
