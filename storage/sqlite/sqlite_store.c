/*
 * sqlite_store.c - the "sqlite" storage back end: collections of JSON
 * documents in one SQLite file (the `sqlite_path` setting).
 *
 * Schema (PRAGMA user_version 2, PRAGMA application_id "GBKD"):
 *
 *   documents(id INTEGER PRIMARY KEY AUTOINCREMENT,
 *             collection TEXT NOT NULL, body TEXT NOT NULL)
 *   index documents_by_collection(collection, id DESC)
 *   idempotency_keys(collection, key, document_id, created), primary key
 *             (collection, key), index by created
 *
 * insert_once writes the document and its key in the same transaction, so
 * a repeat finds either both or neither. Keys older than the window are
 * ignored and purged by the writer at most once a minute.
 *
 * One table for every collection keeps migrations to one place and lets a
 * plugin author add a collection without DDL at run time. The id is the
 * rowid, so a get is one B-tree lookup and "newest first" is the reverse
 * rowid order of the (collection, id) index. AUTOINCREMENT costs one small
 * write per insert but guarantees an id is never reused after the newest
 * document was deleted: a stale link or cursor never lands on someone
 * else's message. The body is the compact cJSON text of the document
 * without "id"; "id" is added on read.
 *
 * Durability and throughput: the file is in WAL mode with
 * synchronous=FULL, so a commit is fsync'ed before insert or remove
 * returns. An fsync costs about a millisecond, so a commit per request
 * would cap writes near 1,000/s. Writes are therefore group-committed:
 * every writer queues its operation; the first thread to find the writer
 * connection idle becomes the leader, takes the whole queue, runs it as one
 * transaction (one fsync) and wakes the others; insert_many queues all its
 * writes at once, so they share one transaction. No background thread, no
 * added latency for a lone writer. Reads use a pool of connections (one per
 * concurrent reader, kept idle for reuse), which WAL lets run alongside the
 * writer; every connection caches its prepared statements. SQL is fixed
 * text with bound parameters only.
 *
 * A database is never silently replaced by an empty one. Beside the file
 * the store keeps a marker, `<sqlite_path>-created`, written when it
 * creates (or first opens) the database; with the marker present, or a
 * -wal file left behind, a missing or empty database refuses to start
 * rather than starting an empty guestbook. While running, every ping and
 * every write batch asks SQLite whether the file was deleted or replaced
 * under it (SQLITE_FCNTL_HAS_MOVED); once it was, every operation fails
 * as unavailable until a restart, since writes would only land in an
 * unlinked inode that disappears when guestbookd exits.
 *
 * The directory of `sqlite_path` is NOT created: a typo in the setting
 * should fail at start with the path in the message rather than silently
 * create a database somewhere unexpected, and the directory's owner and
 * mode are the operator's choice. `make run` creates the default ./data/
 * and the container image ships its data directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "guestbook/plugin.h"

#define SQ_SCHEMA_VERSION    2
#define SQ_APPLICATION_ID    0x47424b44 /* "GBKD" */
#define SQ_BUSY_TIMEOUT_MS   5000
#define SQ_PING_TIMEOUT_MS   800
#define SQ_IDLE_READERS_MAX  64
#define SQ_DEFAULT_PATH	     "./data/guestbook.db"
#define SQ_CURSOR_PREFIX     "sq"
#define SQ_PATH_MAX	     4096
#define SQ_KEY_PURGE_EVERY_S 60.0
#define SQ_MARKER_SUFFIX     "-created"

/*
 * Migration i takes the schema from version i to i + 1. Append only; never
 * edit a migration that has shipped.
 */
static const char *const sq_migrations[SQ_SCHEMA_VERSION] = {
    "CREATE TABLE documents ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " collection TEXT NOT NULL,"
    " body TEXT NOT NULL);"
    "CREATE INDEX documents_by_collection"
    " ON documents (collection, id DESC);",
    "CREATE TABLE idempotency_keys ("
    " collection TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " document_id INTEGER NOT NULL,"
    " created REAL NOT NULL,"
    " PRIMARY KEY (collection, key)) WITHOUT ROWID;"
    "CREATE INDEX idempotency_keys_by_created"
    " ON idempotency_keys (created);",
};

enum sq_stmt_id {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_INSERT,
	SQ_DELETE,
	SQ_GET,
	SQ_LIST_FIRST,
	SQ_LIST_AFTER,
	SQ_PING,
	SQ_KEY_FIND,
	SQ_KEY_PUT,
	SQ_KEY_PURGE,
	SQ_COUNT,
	SQ_STMT_COUNT
};

static const char *const sq_stmt_sql[SQ_STMT_COUNT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_INSERT] = "INSERT INTO documents (collection, body) VALUES (?1, ?2)",
    [SQ_DELETE] = "DELETE FROM documents WHERE collection = ?1 AND id = ?2",
    [SQ_GET] = "SELECT body FROM documents WHERE collection = ?1 AND id = ?2",
    [SQ_LIST_FIRST] = "SELECT id, body FROM documents WHERE collection = ?1"
		      " ORDER BY id DESC LIMIT ?2",
    [SQ_LIST_AFTER] = "SELECT id, body FROM documents WHERE collection = ?1"
		      " AND id < ?3 ORDER BY id DESC LIMIT ?2",
    [SQ_PING] = "SELECT id FROM documents LIMIT 1",
    [SQ_KEY_FIND] = "SELECT document_id FROM idempotency_keys"
		    " WHERE collection = ?1 AND key = ?2 AND created >= ?3",
    [SQ_KEY_PUT] = "INSERT OR REPLACE INTO idempotency_keys"
		   " (collection, key, document_id, created)"
		   " VALUES (?1, ?2, ?3, ?4)",
    [SQ_KEY_PURGE] = "DELETE FROM idempotency_keys WHERE created < ?1",
    [SQ_COUNT] = "SELECT count(*) FROM documents WHERE collection = ?1",
};

/* One connection and its prepared statements; used by one thread at once. */
struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ_STMT_COUNT];
	struct sq_conn *next; /* in the idle reader list */
};

enum sq_write_kind { SQ_WRITE_INSERT, SQ_WRITE_REMOVE };

/* One queued write, on the stack of the thread that waits for it. */
struct sq_write {
	enum sq_write_kind kind;
	const char *collection;
	const char *body;      /* insert */
	const char *key;       /* insert_once: the idempotency key, else NULL */
	double now;	       /* insert_once: wall clock of the call */
	bool repeated;	       /* insert_once: the key was known */
	sqlite3_int64 id;      /* insert: the new id; remove: the target */
	enum gb_status status; /* result, valid once done */
	struct gb_error *err;
	bool done;
	struct sq_write *next;
	struct gb_insert_item *item; /* insert_many: the caller's item */
};

struct sq_store {
	struct gb_plugin *self;
	char path[SQ_PATH_MAX];
	bool open;
	/* The file at path was deleted or replaced while open: every
	 * operation fails until a restart. */
	atomic_bool gone;
	bool finished; /* fini ran while open: close() frees the store */

	/* Group commit: the queue, who leads, and the wake-up. */
	pthread_mutex_t write_lock;
	pthread_cond_t written;
	struct sq_write *queue_head, *queue_tail;
	bool writer_busy;
	struct sq_conn *writer;
	double keys_purged_at; /* wall clock; touched by the leader only */

	/* Idle read connections. */
	pthread_mutex_t pool_lock;
	struct sq_conn *idle_readers;
	int idle_count;
};

static const struct gb_host_api *host;

/* ---- errors ---------------------------------------------------------- */

/* Busy, locked, I/O and space problems are worth a retry: unavailable. */
static enum gb_status sq_status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PROTOCOL:
	case SQLITE_PERM: return GB_ERR_UNAVAILABLE;
	case SQLITE_NOMEM: return GB_ERR_NOMEM;
	default: return GB_ERR_INTERNAL;
	}
}

static enum gb_status sq_db_fail(struct gb_error *err, sqlite3 *db, int rc,
				 const char *what)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	return gb_error_set(err, sq_status_of(rc), "sqlite %s: %s", what, msg);
}

/* ---- ids and cursors ------------------------------------------------- */

/* Parses a canonical positive decimal int64 ("1".."9223372036854775807"). */
static bool sq_parse_id(const char *s, sqlite3_int64 *out)
{
	size_t len;
	char *end;
	long long v;

	if (!s)
		return false;
	len = strlen(s);
	if (len == 0 || len > 19 || s[0] < '1' || s[0] > '9')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0)
		return false;
	*out = v;
	return true;
}

static bool sq_parse_cursor(const char *s, sqlite3_int64 *out)
{
	size_t plen = strlen(SQ_CURSOR_PREFIX);

	if (strncmp(s, SQ_CURSOR_PREFIX, plen) != 0)
		return false;
	return sq_parse_id(s + plen, out);
}

static char *sq_make_cursor(sqlite3_int64 id)
{
	char buf[40];

	snprintf(buf, sizeof(buf), SQ_CURSOR_PREFIX "%lld", (long long)id);
	return strdup(buf);
}

/* ---- connections ----------------------------------------------------- */

static void sq_conn_close(struct sq_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < SQ_STMT_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

/* The cached statement `id` of c, prepared on first use; NULL on error. */
static sqlite3_stmt *sq_stmt(struct sq_conn *c, enum sq_stmt_id id, int *rc)
{
	if (!c->stmt[id]) {
		*rc = sqlite3_prepare_v3(c->db, sq_stmt_sql[id], -1,
					 SQLITE_PREPARE_PERSISTENT,
					 &c->stmt[id], NULL);
		if (*rc != SQLITE_OK)
			return NULL;
	}
	*rc = SQLITE_OK;
	return c->stmt[id];
}

static void sq_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement without parameters or rows; returns SQLITE_DONE or rc. */
static int sq_run(struct sq_conn *c, enum sq_stmt_id id)
{
	int rc;
	sqlite3_stmt *st = sq_stmt(c, id, &rc);

	if (!st)
		return rc;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc;
}

/*
 * Opens a connection to path with the per-connection settings. The writer
 * may create the file; readers open what the writer made.
 */
static struct sq_conn *sq_conn_open(const char *path, bool writer,
				    struct gb_error *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	struct sq_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		gb_error_set(err, GB_ERR_NOMEM, "sqlite: out of memory");
		return NULL;
	}
	if (writer)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(c->db,
			  "PRAGMA synchronous = FULL;"
			  "PRAGMA foreign_keys = ON;",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK && !writer)
		rc = sqlite3_exec(c->db, "PRAGMA query_only = ON;", NULL, NULL,
				  NULL);
	if (rc != SQLITE_OK)
		goto fail;
	return c;
fail:
	gb_error_set(err, sq_status_of(rc), "sqlite_path %s: cannot open: %s",
		     path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	sq_conn_close(c);
	return NULL;
}

/* Reads one integer PRAGMA (or any single-integer query). */
static int sq_query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static enum gb_status sq_enable_wal(struct sq_store *s, sqlite3 *db,
				    struct gb_error *err)
{
	sqlite3_stmt *st;
	const char *mode;
	enum gb_status status = GB_OK;
	int rc =
	    sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		status = gb_error_set(err, sq_status_of(rc),
				      "sqlite_path %s: cannot use it as a "
				      "database: %s",
				      s->path, sqlite3_errmsg(db));
	} else {
		mode = (const char *)sqlite3_column_text(st, 0);
		if (!mode || strcmp(mode, "wal") != 0)
			status =
			    gb_error_set(err, GB_ERR_UNAVAILABLE,
					 "sqlite_path %s: cannot switch to "
					 "WAL mode (journal mode stays %s)",
					 s->path, mode ? mode : "unknown");
	}
	sqlite3_finalize(st);
	if (status == GB_OK)
		sqlite3_exec(db, "PRAGMA journal_size_limit = 67108864;", NULL,
			     NULL, NULL);
	return status;
}

/* Checks the file belongs to us and brings its schema up to date. */
static enum gb_status sq_migrate_locked(struct sq_store *s, sqlite3 *db,
					struct gb_error *err)
{
	sqlite3_int64 app = 0, version = 0;
	char sql[64];
	int rc;

	rc = sq_query_int(db, "PRAGMA application_id", &app);
	if (rc == SQLITE_OK)
		rc = sq_query_int(db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK)
		return gb_error_set(
		    err, sq_status_of(rc),
		    "sqlite_path %s: cannot read the schema: %s", s->path,
		    sqlite3_errmsg(db));
	if (app != 0 && app != SQ_APPLICATION_ID)
		return gb_error_set(err, GB_ERR_INVALID,
				    "sqlite_path %s: not a guestbookd database "
				    "(application_id 0x%08llx)",
				    s->path, (unsigned long long)app);
	if (version > SQ_SCHEMA_VERSION)
		return gb_error_set(
		    err, GB_ERR_INVALID,
		    "sqlite_path %s: schema version %lld is newer "
		    "than this guestbookd supports (%d); run a newer "
		    "guestbookd or point sqlite_path at another file",
		    s->path, (long long)version, SQ_SCHEMA_VERSION);
	if (version < 0)
		return gb_error_set(err, GB_ERR_INVALID,
				    "sqlite_path %s: bad schema version %lld",
				    s->path, (long long)version);
	for (sqlite3_int64 v = version; v < SQ_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, sq_migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return gb_error_set(
			    err, sq_status_of(rc),
			    "sqlite_path %s: migration to schema "
			    "version %lld failed: %s",
			    s->path, (long long)v + 1, sqlite3_errmsg(db));
	}
	if (version == SQ_SCHEMA_VERSION)
		return GB_OK;
	snprintf(sql, sizeof(sql),
		 "PRAGMA application_id = %d; PRAGMA user_version = %d;",
		 SQ_APPLICATION_ID, SQ_SCHEMA_VERSION);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return gb_error_set(err, sq_status_of(rc),
				    "sqlite_path %s: cannot record the schema "
				    "version: %s",
				    s->path, sqlite3_errmsg(db));
	return GB_OK;
}

static enum gb_status sq_migrate(struct sq_store *s, sqlite3 *db,
				 struct gb_error *err)
{
	enum gb_status status;
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return gb_error_set(
		    err, sq_status_of(rc),
		    "sqlite_path %s: cannot lock the database to "
		    "check its schema: %s",
		    s->path, sqlite3_errmsg(db));
	status = sq_migrate_locked(s, db, err);
	if (status != GB_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return status;
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return gb_error_set(
		    err, sq_status_of(rc),
		    "sqlite_path %s: cannot commit the schema: %s", s->path,
		    sqlite3_errmsg(db));
	}
	return GB_OK;
}

/* The directory part of path (shorter than SQ_PATH_MAX) into dir: "."
 * if none. */
static void sq_dir_of(const char *path, char dir[SQ_PATH_MAX])
{
	char *slash;

	snprintf(dir, SQ_PATH_MAX, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
}

/* The size of the file at path, or -1 when there is none. */
static long long sq_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/*
 * Refuses to create a database where one was: the file at path is missing
 * or empty while its marker, or a -wal file with content, says a database
 * lived there. Sets *creating when the open will create a new database.
 */
static enum gb_status sq_check_not_lost(const char *path, bool *creating,
					struct gb_error *err)
{
	char marker[SQ_PATH_MAX + sizeof(SQ_MARKER_SUFFIX)];
	char wal[SQ_PATH_MAX + 8];
	long long size = sq_file_size(path);
	const char *name = strrchr(path, '/');
	const char *evidence;

	*creating = size <= 0;
	if (!*creating)
		return GB_OK;
	name = name ? name + 1 : path;
	snprintf(marker, sizeof(marker), "%s" SQ_MARKER_SUFFIX, path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (sq_file_size(marker) >= 0)
		evidence = SQ_MARKER_SUFFIX;
	else if (sq_file_size(wal) > 0)
		evidence = "-wal";
	else
		return GB_OK;
	/* Paths can be long and the message is one line of 255 bytes:
	 * the siblings are named relative to the database. */
	return gb_error_set(
	    err, GB_ERR_INVALID,
	    "sqlite_path %s is %s, but its %s file says a database "
	    "was there: restore it from a backup, or delete %s%s, "
	    "%s-wal and %s-shm to start empty",
	    path, size < 0 ? "missing" : "empty", evidence, name,
	    SQ_MARKER_SUFFIX, name, name);
}

/* fsync of the directory holding path, so a new name in it is durable. */
static int sq_sync_dir(const char *path)
{
	char dir[SQ_PATH_MAX];
	int fd, rc;

	sq_dir_of(path, dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Writes the marker `<path>-created` unless it exists. `created`: this
 * open made the database (else an existing one gets its first marker).
 */
static enum gb_status sq_write_marker(struct sq_store *s, bool created,
				      struct gb_error *err)
{
	char marker[SQ_PATH_MAX + sizeof(SQ_MARKER_SUFFIX)];
	char text[1024], when[32];
	const char *name = strrchr(s->path, '/');
	time_t now = time(NULL);
	struct tm tm;
	int fd, n;
	bool ok;

	name = name ? name + 1 : s->path;
	snprintf(marker, sizeof(marker), "%s" SQ_MARKER_SUFFIX, s->path);
	fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		return GB_OK;
	if (fd < 0)
		return gb_error_set(err, GB_ERR_UNAVAILABLE,
				    "sqlite_path %s: cannot write %s: %s",
				    s->path, marker, strerror(errno));
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(text, sizeof(text),
		     "guestbookd %s the SQLite database %s in this directory "
		     "at %s.\nWhile this file exists, guestbookd refuses to "
		     "start when %s is missing or empty, so a lost database\n"
		     "is noticed instead of being replaced by an empty one. "
		     "Delete this file only to start an empty guestbook.\n",
		     created ? "created" : "found", name, when, name);
	ok = n > 0 && (size_t)n < sizeof(text) &&
	     write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	if (close(fd) != 0 || !ok || sq_sync_dir(marker) != 0) {
		unlink(marker);
		return gb_error_set(err, GB_ERR_UNAVAILABLE,
				    "sqlite_path %s: cannot write %s: %s",
				    s->path, marker, strerror(errno));
	}
	return GB_OK;
}

/*
 * Whether the file c has open is no longer the one at s->path (deleted,
 * renamed or replaced). Logged once; from then on s->gone holds.
 */
static bool sq_file_gone(struct sq_store *s, struct sq_conn *c)
{
	int moved = 0;

	if (atomic_load(&s->gone))
		return true;
	if (sqlite3_file_control(c->db, "main", SQLITE_FCNTL_HAS_MOVED,
				 &moved) != SQLITE_OK ||
	    !moved)
		return false;
	if (!atomic_exchange(&s->gone, true))
		host->log(s->self, GB_LOG_ERROR,
			  "%s was deleted or replaced while guestbookd had it "
			  "open: every read and write fails from now on (a "
			  "write would land in a file that vanishes when "
			  "guestbookd exits); stop guestbookd, restore the "
			  "database, start it again",
			  s->path);
	return true;
}

static enum gb_status sq_gone_fail(struct sq_store *s, struct gb_error *err)
{
	return gb_error_set(
	    err, GB_ERR_UNAVAILABLE,
	    "sqlite_path %s was deleted or replaced while open; "
	    "restart guestbookd once it is restored",
	    s->path);
}

/*
 * Turns the usual mistakes into messages that name the path before SQLite
 * answers with a bare "unable to open database file".
 */
static enum gb_status sq_check_path(const char *path, struct gb_error *err)
{
	char dir[SQ_PATH_MAX];
	struct stat st;

	if (path[0] == '\0')
		return gb_error_set(err, GB_ERR_INVALID,
				    "sqlite_path is empty");
	if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
		return gb_error_set(
		    err, GB_ERR_INVALID,
		    "sqlite_path %s: give a file path (in-memory "
		    "and URI databases are not supported)",
		    path);
	if (strlen(path) >= sizeof(dir))
		return gb_error_set(err, GB_ERR_INVALID,
				    "sqlite_path is too long");
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return gb_error_set(err, GB_ERR_INVALID,
				    "sqlite_path %s is a directory; give a "
				    "database file inside it",
				    path);
	sq_dir_of(path, dir);
	if (stat(dir, &st) != 0)
		return gb_error_set(
		    err, GB_ERR_UNAVAILABLE,
		    "sqlite_path %s: directory %s: %s (create it "
		    "or set sqlite_path elsewhere)",
		    path, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return gb_error_set(err, GB_ERR_INVALID,
				    "sqlite_path %s: %s is not a directory",
				    path, dir);
	if (access(dir, W_OK | X_OK) != 0)
		return gb_error_set(
		    err, GB_ERR_UNAVAILABLE,
		    "sqlite_path %s: directory %s is not writable "
		    "(SQLite keeps its -wal and -shm files next to "
		    "the database)",
		    path, dir);
	return GB_OK;
}

/* ---- the reader pool ------------------------------------------------- */

static struct sq_conn *sq_reader_acquire(struct sq_store *s,
					 struct gb_error *err)
{
	struct sq_conn *c;

	if (!s->open) {
		gb_error_set(err, GB_ERR_UNAVAILABLE,
			     "sqlite store is not open");
		return NULL;
	}
	if (atomic_load(&s->gone)) {
		sq_gone_fail(s, err);
		return NULL;
	}
	pthread_mutex_lock(&s->pool_lock);
	c = s->idle_readers;
	if (c) {
		s->idle_readers = c->next;
		s->idle_count--;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (c)
		return c;
	c = sq_conn_open(s->path, false, err);
	if (!c && err)
		err->status = GB_ERR_UNAVAILABLE;
	return c;
}

static void sq_reader_release(struct sq_store *s, struct sq_conn *c)
{
	pthread_mutex_lock(&s->pool_lock);
	if (s->idle_count < SQ_IDLE_READERS_MAX) {
		c->next = s->idle_readers;
		s->idle_readers = c;
		s->idle_count++;
		c = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	sq_conn_close(c);
}

/* ---- group commit ---------------------------------------------------- */

/* Errors that fail one statement but leave the transaction usable. */
static bool sq_statement_only_error(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE: return true;
	default: return false;
	}
}

/*
 * For insert_once: the id stored with w->key within the window, into
 * w->id. SQLITE_ROW when found, SQLITE_DONE when not, else an error.
 */
static int sq_key_find(struct sq_conn *c, struct sq_write *w)
{
	int rc;
	sqlite3_stmt *st = sq_stmt(c, SQ_KEY_FIND, &rc);

	if (!st)
		return rc;
	sqlite3_bind_text(st, 1, w->collection, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, w->now - GB_IDEMPOTENCY_WINDOW_S);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		w->id = sqlite3_column_int64(st, 0);
	sq_stmt_done(st);
	return rc;
}

/*
 * Records w->key for the document just inserted. Any failure is reported
 * as SQLITE_ERROR, which aborts the whole batch: the document must not be
 * committed without its key.
 */
static int sq_key_put(struct sq_conn *c, const struct sq_write *w)
{
	int rc;
	sqlite3_stmt *st = sq_stmt(c, SQ_KEY_PUT, &rc);

	if (!st)
		return rc;
	sqlite3_bind_text(st, 1, w->collection, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, w->id);
	sqlite3_bind_double(st, 4, w->now);
	rc = sqlite3_step(st);
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? rc : SQLITE_ERROR;
}

/* Forgets keys older than the window, at most once a minute. */
static void sq_keys_purge(struct sq_store *s, struct sq_conn *c, double now)
{
	sqlite3_stmt *st;
	int rc;

	if (now - s->keys_purged_at < SQ_KEY_PURGE_EVERY_S)
		return;
	s->keys_purged_at = now;
	st = sq_stmt(c, SQ_KEY_PURGE, &rc);
	if (!st)
		return;
	sqlite3_bind_double(st, 1, now - GB_IDEMPOTENCY_WINDOW_S);
	sqlite3_step(st);
	sq_stmt_done(st);
}

/* Runs one queued write inside the batch transaction. */
static int sq_write_one(struct sq_conn *c, struct sq_write *w)
{
	enum sq_stmt_id id = w->kind == SQ_WRITE_INSERT ? SQ_INSERT : SQ_DELETE;
	int rc;
	sqlite3_stmt *st = sq_stmt(c, id, &rc);

	if (!st)
		return rc;
	if (w->key) {
		rc = sq_key_find(c, w);
		if (rc == SQLITE_ROW) {
			w->repeated = true;
			w->status = GB_OK;
			return SQLITE_DONE;
		}
		if (rc != SQLITE_DONE)
			return rc;
	}
	sqlite3_bind_text(st, 1, w->collection, -1, SQLITE_STATIC);
	if (w->kind == SQ_WRITE_INSERT)
		sqlite3_bind_text(st, 2, w->body, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 2, w->id);
	rc = sqlite3_step(st);
	sq_stmt_done(st);
	if (rc != SQLITE_DONE)
		return rc;
	if (w->kind == SQ_WRITE_INSERT) {
		w->id = sqlite3_last_insert_rowid(c->db);
		if (w->key && (rc = sq_key_put(c, w)) != SQLITE_DONE)
			return rc;
		w->status = GB_OK;
	} else if (sqlite3_changes(c->db) == 0) {
		w->status = gb_error_set(w->err, GB_ERR_NOT_FOUND,
					 "no document %lld in collection %s",
					 (long long)w->id, w->collection);
	} else {
		w->status = GB_OK;
	}
	return rc;
}

static void sq_fail_batch(struct sq_write *batch, sqlite3 *db, int rc,
			  const char *what)
{
	for (struct sq_write *w = batch; w; w = w->next)
		w->status = sq_db_fail(w->err, db, rc, what);
}

/* One transaction, one fsync, for every write in the batch. */
static void sq_write_batch(struct sq_store *s, struct sq_write *batch)
{
	struct sq_conn *c = s->writer;
	double key_time = 0.0; /* the clock of a write with a key, if any */
	int rc;

	if (sq_file_gone(s, c)) {
		for (struct sq_write *w = batch; w; w = w->next)
			w->status = sq_gone_fail(s, w->err);
		return;
	}
	rc = sq_run(c, SQ_BEGIN);
	if (rc != SQLITE_DONE) {
		sq_fail_batch(batch, c->db, rc, "begin");
		return;
	}
	for (struct sq_write *w = batch; w; w = w->next) {
		if (w->key)
			key_time = w->now;
		rc = sq_write_one(c, w);
		if (rc == SQLITE_DONE)
			continue;
		if (!sq_statement_only_error(rc))
			goto abort;
		w->status = sq_db_fail(w->err, c->db, rc, "write");
	}
	if (key_time > 0.0)
		sq_keys_purge(s, c, key_time);
	rc = sq_run(c, SQ_COMMIT);
	if (rc == SQLITE_DONE)
		return;
abort:
	sq_fail_batch(batch, c->db, rc, "write");
	if (!sqlite3_get_autocommit(c->db))
		sq_run(c, SQ_ROLLBACK);
}

static void sq_write_submit_many(struct sq_store *s, struct sq_write *ws,
				 size_t n);

/*
 * Queues w and returns when it is committed (or failed). The caller that
 * finds the writer idle commits everything queued so far, its own write
 * included; the others sleep until a leader has done theirs.
 */
static void sq_write_submit(struct sq_store *s, struct sq_write *w)
{
	sq_write_submit_many(s, w, 1);
}

/* sq_write_submit for the n writes of ws at once: one batch for all. */
static void sq_write_submit_many(struct sq_store *s, struct sq_write *ws,
				 size_t n)
{
	struct sq_write *batch, *next, *last = &ws[n - 1];

	for (size_t i = 0; i < n; i++) {
		ws[i].status = GB_ERR_INTERNAL;
		ws[i].done = false;
		ws[i].next = i + 1 < n ? &ws[i + 1] : NULL;
	}
	pthread_mutex_lock(&s->write_lock);
	if (s->queue_tail)
		s->queue_tail->next = ws;
	else
		s->queue_head = ws;
	s->queue_tail = last;
	/* The leader takes the whole queue, so all n share one batch. */
	while (!last->done) {
		if (s->writer_busy) {
			pthread_cond_wait(&s->written, &s->write_lock);
			continue;
		}
		s->writer_busy = true;
		batch = s->queue_head;
		s->queue_head = s->queue_tail = NULL;
		pthread_mutex_unlock(&s->write_lock);
		sq_write_batch(s, batch);
		pthread_mutex_lock(&s->write_lock);
		for (; batch; batch = next) {
			next = batch->next;
			batch->done = true;
		}
		s->writer_busy = false;
		pthread_cond_broadcast(&s->written);
	}
	pthread_mutex_unlock(&s->write_lock);
}

/* ---- documents ------------------------------------------------------- */

/* The stored text of doc: compact JSON without any "id" member. */
static char *sq_doc_text(const cJSON *doc)
{
	cJSON *copy;
	char *text;

	if (!cJSON_GetObjectItemCaseSensitive(doc, "id"))
		return cJSON_PrintUnformatted(doc);
	copy = cJSON_Duplicate(doc, 1);
	if (!copy)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	return text;
}

/* Parses a stored body and adds "id"; NULL (with err) if it is not JSON. */
static cJSON *sq_doc_from_row(const char *collection, sqlite3_int64 id,
			      const unsigned char *body, int len,
			      struct gb_error *err)
{
	char ids[GB_ID_MAX];
	cJSON *doc;

	doc = cJSON_ParseWithLength((const char *)body, (size_t)len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		gb_error_set(
		    err, GB_ERR_INTERNAL,
		    "document %lld in collection %s is not a JSON object "
		    "in the database",
		    (long long)id, collection);
		return NULL;
	}
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "id");
	if (!cJSON_AddStringToObject(doc, "id", ids)) {
		cJSON_Delete(doc);
		gb_error_set(err, GB_ERR_NOMEM, "sqlite: out of memory");
		return NULL;
	}
	return doc;
}

/* ---- the storage operations ------------------------------------------ */

static enum gb_status sq_open(void *store, struct gb_error *err)
{
	struct sq_store *s = store;
	const char *path = host->config_get("sqlite_path");
	enum gb_status status;
	struct sq_conn *reader;
	bool creating = false;

	if (s->open)
		return GB_OK;
	if (!path)
		path = SQ_DEFAULT_PATH;
	status = sq_check_path(path, err);
	if (status == GB_OK)
		status = sq_check_not_lost(path, &creating, err);
	if (status != GB_OK)
		return status;
	snprintf(s->path, sizeof(s->path), "%s", path);
	atomic_store(&s->gone, false);
	s->writer = sq_conn_open(s->path, true, err);
	if (!s->writer)
		return err ? err->status : GB_ERR_UNAVAILABLE;
	status = sq_enable_wal(s, s->writer->db, err);
	if (status == GB_OK)
		status = sq_migrate(s, s->writer->db, err);
	if (status == GB_OK)
		status = sq_write_marker(s, creating, err);
	if (status != GB_OK) {
		sq_conn_close(s->writer);
		s->writer = NULL;
		return status;
	}
	s->open = true;
	reader = sq_reader_acquire(s, err);
	if (!reader) {
		s->open = false;
		sq_conn_close(s->writer);
		s->writer = NULL;
		return err ? err->status : GB_ERR_UNAVAILABLE;
	}
	sq_reader_release(s, reader);
	host->log(s->self, GB_LOG_INFO,
		  "%s %s (schema version %d, WAL, synchronous=FULL)",
		  creating ? "created a new, empty database" : "opened",
		  s->path, SQ_SCHEMA_VERSION);
	return GB_OK;
}

/* insert and insert_once (`key` NULL for a plain insert). */
static enum gb_status sq_insert_doc(struct sq_store *s, const char *collection,
				    const cJSON *doc, const char *key,
				    char id_out[GB_ID_MAX], int *repeated,
				    struct gb_error *err)
{
	struct sq_write w = {.kind = SQ_WRITE_INSERT,
			     .collection = collection,
			     .key = key,
			     .now = key ? host->now_wall() : 0.0,
			     .err = err};
	char *body;

	if (!s->open)
		return gb_error_set(err, GB_ERR_UNAVAILABLE,
				    "sqlite store is not open");
	body = sq_doc_text(doc);
	if (!body)
		return gb_error_set(err, GB_ERR_NOMEM, "sqlite: out of memory");
	w.body = body;
	sq_write_submit(s, &w);
	free(body);
	if (w.status == GB_OK)
		snprintf(id_out, GB_ID_MAX, "%lld", (long long)w.id);
	*repeated = w.repeated;
	return w.status;
}

static enum gb_status sq_insert(void *store, const struct gb_store_ctx *ctx,
				const char *collection, const cJSON *doc,
				char id_out[GB_ID_MAX], struct gb_error *err)
{
	int repeated;

	(void)ctx;
	return sq_insert_doc(store, collection, doc, NULL, id_out, &repeated,
			     err);
}

static enum gb_status sq_insert_once(void *store,
				     const struct gb_store_ctx *ctx,
				     const char *collection, const cJSON *doc,
				     const char *key, char id_out[GB_ID_MAX],
				     int *repeated, struct gb_error *err)
{
	(void)ctx;
	return sq_insert_doc(store, collection, doc, key, id_out, repeated,
			     err);
}

/* Every item in one group commit: one transaction, one fsync. */
static void sq_insert_many(void *store, const struct gb_store_ctx *ctx,
			   const char *collection, struct gb_insert_item *items,
			   size_t n)
{
	struct sq_store *s = store;
	struct sq_write *ws = calloc(n, sizeof(*ws));
	char **bodies = calloc(n, sizeof(*bodies));
	double now = host->now_wall();
	size_t i, queued = 0;

	(void)ctx;
	for (i = 0; i < n; i++) {
		struct gb_insert_item *it = &items[i];

		it->id[0] = '\0';
		it->repeated = 0;
		it->status = GB_OK;
		if (!ws || !bodies)
			it->status = gb_error_set(&it->err, GB_ERR_NOMEM,
						  "sqlite: out of memory");
		else if (!s->open)
			it->status = gb_error_set(&it->err, GB_ERR_UNAVAILABLE,
						  "sqlite store is not open");
		else if (!(bodies[queued] = sq_doc_text(it->doc)))
			it->status = gb_error_set(&it->err, GB_ERR_NOMEM,
						  "sqlite: out of memory");
		if (it->status != GB_OK)
			continue;
		ws[queued] = (struct sq_write){
		    .kind = SQ_WRITE_INSERT,
		    .collection = collection,
		    .body = bodies[queued],
		    .key = it->key && *it->key ? it->key : NULL,
		    .now = now,
		    .err = &it->err,
		    .item = it};
		queued++;
	}
	if (queued > 0)
		sq_write_submit_many(s, ws, queued);
	for (i = 0; i < queued; i++) {
		struct gb_insert_item *it = ws[i].item;

		it->status = ws[i].status;
		it->repeated = ws[i].repeated;
		if (it->status == GB_OK)
			snprintf(it->id, GB_ID_MAX, "%lld",
				 (long long)ws[i].id);
		free(bodies[i]);
	}
	free(bodies);
	free(ws);
}

static enum gb_status sq_get(void *store, const struct gb_store_ctx *ctx,
			     const char *collection, const char *id,
			     cJSON **doc_out, struct gb_error *err)
{
	struct sq_store *s = store;
	struct sq_conn *c;
	sqlite3_stmt *st;
	sqlite3_int64 key;
	enum gb_status status;
	int rc;

	(void)ctx;
	*doc_out = NULL;
	if (!sq_parse_id(id, &key))
		return gb_error_set(err, GB_ERR_NOT_FOUND,
				    "no document %.64s in collection %s",
				    id ? id : "(null)", collection);
	c = sq_reader_acquire(s, err);
	if (!c)
		return err ? err->status : GB_ERR_UNAVAILABLE;
	st = sq_stmt(c, SQ_GET, &rc);
	if (!st) {
		status = sq_db_fail(err, c->db, rc, "get");
		goto out;
	}
	sqlite3_bind_text(st, 1, collection, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*doc_out =
		    sq_doc_from_row(collection, key, sqlite3_column_text(st, 0),
				    sqlite3_column_bytes(st, 0), err);
		status = *doc_out ? GB_OK : err->status;
	} else if (rc == SQLITE_DONE) {
		status = gb_error_set(err, GB_ERR_NOT_FOUND,
				      "no document %lld in collection %s",
				      (long long)key, collection);
	} else {
		status = sq_db_fail(err, c->db, rc, "get");
	}
	sq_stmt_done(st);
out:
	sq_reader_release(s, c);
	return status;
}

/* Steps through up to limit + 1 rows of a bound list statement. */
static enum gb_status sq_list_rows(sqlite3_stmt *st, sqlite3 *db,
				   const char *collection, int limit,
				   cJSON *docs, char **next_cursor,
				   struct gb_error *err)
{
	sqlite3_int64 id = 0;
	cJSON *doc;
	int n = 0, rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			*next_cursor = sq_make_cursor(id);
			if (!*next_cursor)
				return gb_error_set(err, GB_ERR_NOMEM,
						    "sqlite: out of memory");
			return GB_OK;
		}
		id = sqlite3_column_int64(st, 0);
		doc =
		    sq_doc_from_row(collection, id, sqlite3_column_text(st, 1),
				    sqlite3_column_bytes(st, 1), err);
		if (!doc)
			return err->status;
		cJSON_AddItemToArray(docs, doc);
		n++;
	}
	if (rc != SQLITE_DONE)
		return sq_db_fail(err, db, rc, "list");
	return GB_OK;
}

static enum gb_status sq_list(void *store, const struct gb_store_ctx *ctx,
			      const char *collection, int limit,
			      const char *cursor, cJSON **docs_out,
			      char **next_cursor, struct gb_error *err)
{
	struct sq_store *s = store;
	bool after = cursor && cursor[0];
	sqlite3_int64 before = 0;
	struct sq_conn *c;
	sqlite3_stmt *st;
	enum gb_status status;
	cJSON *docs;
	int rc;

	(void)ctx;
	*docs_out = NULL;
	*next_cursor = NULL;
	if (after && !sq_parse_cursor(cursor, &before))
		return gb_error_set(
		    err, GB_ERR_INVALID,
		    "cursor %.64s is not a cursor of this store", cursor);
	docs = cJSON_CreateArray();
	if (!docs)
		return gb_error_set(err, GB_ERR_NOMEM, "sqlite: out of memory");
	c = sq_reader_acquire(s, err);
	if (!c) {
		cJSON_Delete(docs);
		return err ? err->status : GB_ERR_UNAVAILABLE;
	}
	st = sq_stmt(c, after ? SQ_LIST_AFTER : SQ_LIST_FIRST, &rc);
	if (!st) {
		status = sq_db_fail(err, c->db, rc, "list");
	} else {
		sqlite3_bind_text(st, 1, collection, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)limit + 1);
		if (after)
			sqlite3_bind_int64(st, 3, before);
		status = sq_list_rows(st, c->db, collection, limit, docs,
				      next_cursor, err);
		sq_stmt_done(st);
	}
	sq_reader_release(s, c);
	if (status != GB_OK) {
		cJSON_Delete(docs);
		free(*next_cursor);
		*next_cursor = NULL;
		return status;
	}
	*docs_out = docs;
	return GB_OK;
}

static enum gb_status sq_count(void *store, const struct gb_store_ctx *ctx,
			       const char *collection, uint64_t *count,
			       struct gb_error *err)
{
	struct sq_store *s = store;
	enum gb_status status = GB_OK;
	struct sq_conn *c;
	sqlite3_stmt *st;
	int rc;

	(void)ctx;
	*count = 0;
	c = sq_reader_acquire(s, err);
	if (!c)
		return err ? err->status : GB_ERR_UNAVAILABLE;
	st = sq_stmt(c, SQ_COUNT, &rc);
	if (!st) {
		status = sq_db_fail(err, c->db, rc, "count");
	} else {
		sqlite3_bind_text(st, 1, collection, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*count = (uint64_t)sqlite3_column_int64(st, 0);
		else
			status = sq_db_fail(err, c->db, rc, "count");
		sq_stmt_done(st);
	}
	sq_reader_release(s, c);
	return status;
}

static enum gb_status sq_remove(void *store, const struct gb_store_ctx *ctx,
				const char *collection, const char *id,
				struct gb_error *err)
{
	struct sq_store *s = store;
	struct sq_write w = {
	    .kind = SQ_WRITE_REMOVE, .collection = collection, .err = err};

	(void)ctx;
	if (!sq_parse_id(id, &w.id))
		return gb_error_set(err, GB_ERR_NOT_FOUND,
				    "no document %.64s in collection %s",
				    id ? id : "(null)", collection);
	if (!s->open)
		return gb_error_set(err, GB_ERR_UNAVAILABLE,
				    "sqlite store is not open");
	sq_write_submit(s, &w);
	return w.status;
}

static enum gb_status sq_ping(void *store, struct gb_error *err)
{
	struct sq_store *s = store;
	struct sq_conn *c = sq_reader_acquire(s, err);
	enum gb_status status = GB_OK;
	sqlite3_stmt *st;
	int rc;

	if (!c)
		return GB_ERR_UNAVAILABLE;
	if (sq_file_gone(s, c)) {
		status = sq_gone_fail(s, err);
		sq_reader_release(s, c);
		return status;
	}
	/* Readiness must answer within about a second, lock or not. */
	sqlite3_busy_timeout(c->db, SQ_PING_TIMEOUT_MS);
	st = sq_stmt(c, SQ_PING, &rc);
	if (st) {
		rc = sqlite3_step(st);
		sq_stmt_done(st);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		status = gb_error_set(err, GB_ERR_UNAVAILABLE,
				      "sqlite ping: %s", sqlite3_errmsg(c->db));
	sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
	sq_reader_release(s, c);
	return status;
}

static void sq_store_free(struct sq_store *s)
{
	pthread_mutex_destroy(&s->write_lock);
	pthread_cond_destroy(&s->written);
	pthread_mutex_destroy(&s->pool_lock);
	free(s);
}

static void sq_close(void *store)
{
	struct sq_store *s = store;
	struct sq_conn *c;

	s->open = false;
	while ((c = s->idle_readers)) {
		s->idle_readers = c->next;
		sq_conn_close(c);
	}
	s->idle_count = 0;
	/* The last connection to close checkpoints and removes the WAL. */
	sq_conn_close(s->writer);
	s->writer = NULL;
	if (s->finished)
		sq_store_free(s);
}

/* ---- moving data: scan, import, backup -------------------------------- */

/*
 * Imported documents carry "import_key". The index that finds them is
 * created by the first import (partial: documents without a key, every
 * document the API wrote, are not in it and cost it nothing), so a
 * database that never imported has no such index at all.
 */
#define SQ_IMPORT_KEY_EXPR "json_extract(body, '$.import_key')"
static const char sq_import_index_sql[] =
    "CREATE INDEX IF NOT EXISTS documents_by_import_key"
    " ON documents (collection, " SQ_IMPORT_KEY_EXPR ")"
    " WHERE " SQ_IMPORT_KEY_EXPR " IS NOT NULL";
static const char sq_import_insert_sql[] =
    "INSERT INTO documents (collection, body) SELECT ?1, ?2"
    " WHERE NOT EXISTS (SELECT 1 FROM documents WHERE collection = ?1"
    " AND " SQ_IMPORT_KEY_EXPR " = ?3)";
static const char sq_scan_sql[] =
    "SELECT id, body FROM documents WHERE collection = ?1 ORDER BY id";

/*
 * One statement, one read transaction: the scan sees one snapshot of the
 * database however long it runs (WAL lets writers go on meanwhile), and
 * holds one row at a time.
 */
static enum gb_status sq_scan(void *store, const char *collection,
			      int (*each)(void *ud, const cJSON *doc), void *ud,
			      struct gb_error *err)
{
	struct sq_store *s = store;
	struct sq_conn *c = sq_reader_acquire(s, err);
	enum gb_status status = GB_OK;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!c)
		return err ? err->status : GB_ERR_UNAVAILABLE;
	rc = sqlite3_prepare_v2(c->db, sq_scan_sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		status = sq_db_fail(err, c->db, rc, "scan");
		goto out;
	}
	sqlite3_bind_text(st, 1, collection, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 id = sqlite3_column_int64(st, 0);
		cJSON *doc =
		    sq_doc_from_row(collection, id, sqlite3_column_text(st, 1),
				    sqlite3_column_bytes(st, 1), err);
		int stop;

		if (!doc) {
			status = err->status;
			goto out;
		}
		stop = each(ud, doc);
		cJSON_Delete(doc);
		if (stop)
			goto out;
	}
	if (rc != SQLITE_DONE)
		status = sq_db_fail(err, c->db, rc, "scan");
out:
	sqlite3_finalize(st);
	sq_reader_release(s, c);
	return status;
}

/* The writer connection for one caller alone, between group commits. */
static void sq_writer_take(struct sq_store *s)
{
	pthread_mutex_lock(&s->write_lock);
	while (s->writer_busy)
		pthread_cond_wait(&s->written, &s->write_lock);
	s->writer_busy = true;
	pthread_mutex_unlock(&s->write_lock);
}

static void sq_writer_give(struct sq_store *s)
{
	pthread_mutex_lock(&s->write_lock);
	s->writer_busy = false;
	pthread_cond_broadcast(&s->written);
	pthread_mutex_unlock(&s->write_lock);
}

/* Inserts each document whose key is new; runs inside a transaction. */
static enum gb_status sq_import_rows(sqlite3 *db, sqlite3_stmt *st,
				     const char *collection,
				     const cJSON *const *docs, size_t n,
				     size_t *added, struct gb_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *key = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(docs[i], "import_key"));
		char *body;
		int rc;

		if (!cJSON_IsObject(docs[i]) || !key || !*key)
			return gb_error_set(err, GB_ERR_INVALID,
					    "import: document %zu has no "
					    "import_key",
					    i + 1);
		body = sq_doc_text(docs[i]);
		if (!body)
			return gb_error_set(err, GB_ERR_NOMEM,
					    "sqlite: out of memory");
		sqlite3_bind_text(st, 1, collection, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sq_stmt_done(st);
		free(body);
		if (rc != SQLITE_DONE)
			return sq_db_fail(err, db, rc, "import");
		*added += (size_t)sqlite3_changes(db);
	}
	return GB_OK;
}

static enum gb_status sq_import(void *store, const char *collection,
				const cJSON *const *docs, size_t n,
				size_t *added, struct gb_error *err)
{
	struct sq_store *s = store;
	enum gb_status status;
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	int rc;

	*added = 0;
	if (!s->open)
		return gb_error_set(err, GB_ERR_UNAVAILABLE,
				    "sqlite store is not open");
	sq_writer_take(s);
	db = s->writer->db;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		status = sq_db_fail(err, db, rc, "import: begin");
		goto out;
	}
	rc = sqlite3_exec(db, sq_import_index_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc =
		    sqlite3_prepare_v2(db, sq_import_insert_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		status = sq_db_fail(err, db, rc, "import");
	else
		status =
		    sq_import_rows(db, st, collection, docs, n, added, err);
	sqlite3_finalize(st);
	if (status == GB_OK) {
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			status = sq_db_fail(err, db, rc, "import: commit");
	}
	if (status != GB_OK) {
		*added = 0;
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
out:
	sq_writer_give(s);
	return status;
}

/* "ok" from PRAGMA quick_check, or the first problem in msg. */
static int sq_quick_check(sqlite3 *db, char *msg, size_t len)
{
	sqlite3_stmt *st;
	const char *r;
	int ok = 0;

	snprintf(msg, len, "%s", "quick_check did not run");
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(msg, len, "%s", sqlite3_errmsg(db));
		return 0;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		r = (const char *)sqlite3_column_text(st, 0);
		ok = r && strcmp(r, "ok") == 0;
		snprintf(msg, len, "%s", r ? r : "no answer");
	}
	sqlite3_finalize(st);
	return ok;
}

/* Copies src into the new file tmp with one backup step; verifies it. */
static enum gb_status sq_backup_copy(sqlite3 *src, const char *tmp,
				     struct gb_error *err)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	char check[256];
	int rc = sqlite3_open_v2(
	    tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	enum gb_status status = GB_OK;

	if (rc != SQLITE_OK) {
		status = gb_error_set(
		    err, sq_status_of(rc), "backup %s: %s", tmp,
		    dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto out;
	}
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		status = sq_db_fail(err, dst, sqlite3_errcode(dst), "backup");
		goto out;
	}
	/*
	 * All pages in one step, inside one read transaction of the source:
	 * a consistent snapshot that WAL lets writers work beside. (Copying
	 * in slices would restart whenever another process writes.)
	 */
	for (int tries = 0;; tries++) {
		rc = sqlite3_backup_step(b, -1);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
		    tries * 20 >= SQ_BUSY_TIMEOUT_MS)
			break;
		usleep(20 * 1000);
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		status = sq_db_fail(err, dst, rc, "backup");
		goto out;
	}
	if (!sq_quick_check(dst, check, sizeof(check)))
		status = gb_error_set(
		    err, GB_ERR_INTERNAL,
		    "backup %s: the copy fails quick_check: %s", tmp, check);
out:
	if (sqlite3_close(dst) != SQLITE_OK && status == GB_OK)
		status =
		    gb_error_set(err, GB_ERR_INTERNAL, "backup %s: close: %s",
				 tmp, sqlite3_errmsg(dst));
	return status;
}

static enum gb_status sq_backup(void *store, const char *path,
				struct gb_error *err)
{
	struct sq_store *s = store;
	char tmp[SQ_PATH_MAX + 32];
	struct stat a, b;
	struct sq_conn *c;
	enum gb_status status;

	if (!path || !*path)
		return gb_error_set(err, GB_ERR_INVALID,
				    "backup: no file given");
	if (stat(path, &a) == 0 && stat(s->path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return gb_error_set(err, GB_ERR_INVALID,
				    "backup %s: that is the database itself",
				    path);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return gb_error_set(err, GB_ERR_INVALID,
				    "backup: path too long");
	c = sq_reader_acquire(s, err);
	if (!c)
		return err ? err->status : GB_ERR_UNAVAILABLE;
	unlink(tmp);
	status = sq_backup_copy(c->db, tmp, err);
	sq_reader_release(s, c);
	if (status == GB_OK && rename(tmp, path) != 0)
		status = gb_error_set(err, GB_ERR_UNAVAILABLE, "backup %s: %s",
				      path, strerror(errno));
	if (status != GB_OK) {
		unlink(tmp);
		return status;
	}
	if (sq_sync_dir(path) != 0)
		return gb_error_set(err, GB_ERR_UNAVAILABLE,
				    "backup %s: cannot sync its directory: %s",
				    path, strerror(errno));
	return GB_OK;
}

static const struct gb_storage_ops sq_ops = {
    .size = sizeof(struct gb_storage_ops),
    .open = sq_open,
    .insert = sq_insert,
    .get = sq_get,
    .list = sq_list,
    .remove = sq_remove,
    .count = sq_count,
    .ping = sq_ping,
    .close = sq_close,
    .insert_once = sq_insert_once,
    .insert_many = sq_insert_many,
    .scan = sq_scan,
    .import = sq_import,
    .backup = sq_backup,
};

/* ---- plugin ---------------------------------------------------------- */

static struct sq_store *sq_state;

static int sq_plugin_init(struct gb_plugin *self, const struct gb_host_api *api)
{
	struct sq_store *s;

	host = api;
	if (!sqlite3_threadsafe()) {
		api->init_error(self, "the SQLite library was built without "
				      "thread support");
		return 1;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		api->init_error(self, "out of memory");
		return 1;
	}
	s->self = self;
	pthread_mutex_init(&s->write_lock, NULL);
	pthread_cond_init(&s->written, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	if (api->storage_register(self, "sqlite", &sq_ops, s) != GB_OK) {
		api->init_error(self, "cannot register storage \"sqlite\" "
				      "(already taken?)");
		sq_store_free(s);
		return 1;
	}
	sq_state = s;
	return 0;
}

/*
 * The store outlives fini when the host still has it open (its readiness
 * pinger may be running): close() then releases it. Either order works.
 */
static void sq_plugin_fini(struct gb_plugin *self)
{
	struct sq_store *s = sq_state;

	(void)self;
	sq_state = NULL;
	if (!s)
		return;
	if (s->open)
		s->finished = true;
	else
		sq_store_free(s);
}

/* sqlite_path is both the plugin's spelling and the old one. */
static const struct gb_setting sq_settings[] = {
    {"path", GB_SETTING_STRING, SQ_DEFAULT_PATH, 0, 0, NULL,
     "SQLite database file", 0, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

GB_PLUGIN(GB_PLUGIN_STORAGE, "sqlite", "2.0.0",
	  "Documents in an SQLite file (WAL, synchronous=FULL)", sq_settings,
	  sq_plugin_init, sq_plugin_fini);
