/*
 * mongo_store.c - the "mongo" storage back end: MongoDB through libmongoc's
 * thread-safe client pool, in the legacy guestbook layout.
 *
 * Layout: the database named in the URI (default "guestbook"), one MongoDB
 * collection per storage collection ("messages"), documents
 * {_id: ObjectId, author, message, date: double}. Ids and cursors are the
 * ObjectId as 24 hex digits; lists are newest first by _id, as the legacy
 * backend sorted them, so data written by either side reads back on the
 * other.
 *
 * Settings: mongo_uri, or legacy db_addr ("mongodb://" + db_addr +
 * "/guestbook", so user:pass@host:port works); mongo_timeout_ms (server
 * selection and connect timeout, default 2000); mongo_write_concern
 * (default "majority", always with journal); threads (pool size).
 *
 * Idempotency keys (insert_once): collection "idempotency_keys", documents
 * {_id: "<collection>:<key>", document_id: ObjectId, created: double}. The
 * key is written first, then the message with the ObjectId the key names;
 * a repeat re-inserts the message under that same _id, which either fails
 * as a duplicate (the message is there: a repeat) or completes an insert a
 * crash had cut short. No transaction is needed and no message is stored
 * twice. Keys older than the window are replaced, and purged at most once
 * a minute. insert_many does the same for a whole batch in two ordered
 * insert_many calls, the keys and then the messages (mongo_insert_many).
 *
 * Indexes: none are created. Every query is by _id (get, remove) or
 * sorted and bounded by _id (list), which MongoDB's built-in _id index
 * serves; nothing reads by date or author, so another index would only
 * slow writes. (FerretDB, used by the tests, also wants a name on every
 * index: one added later must be created with an explicit name through
 * the createIndexes command, as libmongoc 1.23 has no
 * mongoc_collection_create_indexes_with_opts.)
 *
 * Start-up: a malformed URI, an option the driver does not know or a bad
 * setting fails open() with one line (the host exits 2). An unreachable
 * server does not: the driver connects lazily, the store opens, a warning
 * is logged and /ready answers 503 until the server answers its ping.
 * Requests during an outage fail with GB_ERR_UNAVAILABLE: at once while
 * the outage is known (see outage_check), else within about
 * mongo_timeout_ms; the pool reconnects by itself when the server is back.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mongo_driver.h"

#include "guestbook/plugin.h"
#include "mongo_convert.h"
#include "mongo_mask.h"

#define MONGO_DEFAULT_DB	 "guestbook"
#define MONGO_DEFAULT_TIMEOUT_MS 2000
#define MONGO_DEFAULT_POOL	 64
/* A readiness ping must answer within about a second. */
#define MONGO_PING_TIMEOUT_MS 1000
/* During an outage, requests try the database at most this often. */
#define MONGO_OUTAGE_RETRY_MS 1000

struct mongo_store {
	mongoc_uri_t *uri;
	mongoc_client_pool_t *pool;
	/* single-threaded client with short timeouts for ping, under lock */
	mongoc_client_t *ping_client;
	pthread_mutex_t ping_lock;
	char *db_name;
	char masked_uri[512];
	char *password; /* masked out of every driver message */
	int timeout_ms;
	/* the outage fast path (see outage_note) */
	_Atomic long long outage_until_ms;
	pthread_mutex_t outage_lock;
	char outage_reason[200];
	/* idempotency keys purged last (seconds, see keys_purge) */
	_Atomic long long keys_purged_at_s;
	/* the one client of export and import, under ms->bulk_lock */
	pthread_mutex_t bulk_lock;
	mongoc_client_t *bulk_client;
};

static const struct gb_host_api *api;
static struct gb_plugin *self;
/* The store registered by init, for fini to free. */
static struct mongo_store *registered;

/*
 * The driver's warnings while a URI is parsed ("Unsupported URI option")
 * are captured here so open() can refuse the URI instead of ignoring them.
 */
static _Thread_local int capture_uri_warnings;
static _Thread_local char captured_warning[256];

static void driver_log(mongoc_log_level_t level, const char *domain,
		       const char *message, void *ud)
{
	/*
	 * Not on the stack: the driver logs from deep inside its calls on
	 * civetweb's workers, whose stacks are 100 KiB (less room under
	 * ASan). A thread's log calls never nest.
	 */
	static _Thread_local char masked[1024];
	struct mongo_store *ms = ud;
	enum gb_log_level ours;

	/* a URI warning becomes open()'s error line instead of a log line */
	if (capture_uri_warnings && level <= MONGOC_LOG_LEVEL_WARNING &&
	    !strcasestr(message, "deprecated")) {
		if (!captured_warning[0])
			mongo_mask(message, ms->password, captured_warning,
				   sizeof(captured_warning));
		return;
	}
	switch (level) {
	case MONGOC_LOG_LEVEL_ERROR:
	case MONGOC_LOG_LEVEL_CRITICAL: ours = GB_LOG_ERROR; break;
	case MONGOC_LOG_LEVEL_WARNING: ours = GB_LOG_WARN; break;
	case MONGOC_LOG_LEVEL_MESSAGE:
	case MONGOC_LOG_LEVEL_INFO: ours = GB_LOG_INFO; break;
	default: ours = GB_LOG_DEBUG; break;
	}
	/*
	 * Servers without sessions (FerretDB, old MongoDB) refuse the
	 * endSessions the driver sends on disconnect: harmless, not a warning.
	 */
	if (strstr(message, "\"endSessions\""))
		ours = GB_LOG_DEBUG;
	if (!api)
		return;
	mongo_mask(message, ms->password, masked, sizeof(masked));
	masked[strcspn(masked, "\r\n")] = '\0';
	api->log(self, ours, "driver %s: %s", domain ? domain : "mongoc",
		 masked);
}

static enum gb_status set_err(struct mongo_store *ms, struct gb_error *err,
			      enum gb_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum gb_status set_err(struct mongo_store *ms, struct gb_error *err,
			      enum gb_status st, const char *fmt, ...)
{
	struct gb_error raw;
	va_list ap;

	/* Formatted as every store does, then with the password masked. */
	va_start(ap, fmt);
	gb_error_vset(&raw, st, fmt, ap);
	va_end(ap);
	err->status = st;
	mongo_mask(raw.message, ms->password, err->message,
		   sizeof(err->message));
	return st;
}

/*
 * Outage fast path. A request that waits for server selection holds a
 * worker thread for mongo_timeout_ms; during an outage every request would,
 * and /health and /ready would queue behind them. So once the database is
 * known to be unreachable (a failed ping or request), requests fail at once
 * with the last error for MONGO_OUTAGE_RETRY_MS; then the next one tries
 * again. The readiness ping always tries, and any success ends the outage.
 */

static long long now_ms(void)
{
	return (long long)(api->now_monotonic() * 1000.0);
}

static void outage_note(struct mongo_store *ms, const char *why)
{
	pthread_mutex_lock(&ms->outage_lock);
	snprintf(ms->outage_reason, sizeof(ms->outage_reason), "%s", why);
	pthread_mutex_unlock(&ms->outage_lock);
	atomic_store(&ms->outage_until_ms, now_ms() + MONGO_OUTAGE_RETRY_MS);
}

static void outage_clear(struct mongo_store *ms)
{
	if (atomic_load(&ms->outage_until_ms))
		atomic_store(&ms->outage_until_ms, 0);
}

/* GB_ERR_UNAVAILABLE at once while in an outage's retry window, else OK. */
static enum gb_status outage_check(struct mongo_store *ms, struct gb_error *err)
{
	char why[sizeof(ms->outage_reason)];
	long long until = atomic_load(&ms->outage_until_ms);

	if (!until || now_ms() >= until)
		return GB_OK;
	pthread_mutex_lock(&ms->outage_lock);
	snprintf(why, sizeof(why), "%s", ms->outage_reason);
	pthread_mutex_unlock(&ms->outage_lock);
	return set_err(ms, err, GB_ERR_UNAVAILABLE,
		       "%s (next try within %d ms)", why,
		       MONGO_OUTAGE_RETRY_MS);
}

/* Server error codes that mean "not now" rather than "never". */
static int is_transient_server_code(uint32_t code)
{
	static const uint32_t codes[] = {
	    6,	   /* HostUnreachable */
	    7,	   /* HostNotFound */
	    18,	   /* AuthenticationFailed */
	    64,	   /* WriteConcernFailed (wtimeout) */
	    89,	   /* NetworkTimeout */
	    91,	   /* ShutdownInProgress */
	    189,   /* PrimarySteppedDown */
	    262,   /* ExceededTimeLimit */
	    9001,  /* SocketException */
	    10107, /* NotWritablePrimary */
	    11600, /* InterruptedAtShutdown */
	    11602, /* InterruptedDueToReplStateChange */
	    13435, /* NotPrimaryNoSecondaryOk */
	    13436, /* NotPrimaryOrSecondary */
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i] == code)
			return 1;
	return 0;
}

/* Maps a driver error to our status: outages are GB_ERR_UNAVAILABLE. */
static enum gb_status driver_status(const bson_error_t *e, const bson_t *reply)
{
	switch (e->domain) {
	case MONGOC_ERROR_SERVER_SELECTION:
	case MONGOC_ERROR_STREAM:
	case MONGOC_ERROR_WRITE_CONCERN: return GB_ERR_UNAVAILABLE;
	case MONGOC_ERROR_CLIENT:
		if (e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE ||
		    e->code == MONGOC_ERROR_CLIENT_NO_ACCEPTABLE_PEER)
			return GB_ERR_UNAVAILABLE;
		return GB_ERR_INTERNAL;
	case MONGOC_ERROR_COMMAND:
		if (e->code == MONGOC_ERROR_COMMAND_INVALID_ARG)
			return GB_ERR_INVALID;
		break;
	case MONGOC_ERROR_BSON: return GB_ERR_INVALID;
	default: break;
	}
	if (reply && (mongoc_error_has_label(reply, "RetryableWriteError") ||
		      mongoc_error_has_label(reply, "NetworkError")))
		return GB_ERR_UNAVAILABLE;
	if (is_transient_server_code(e->code))
		return GB_ERR_UNAVAILABLE;
	return GB_ERR_INTERNAL;
}

static enum gb_status driver_err(struct mongo_store *ms, struct gb_error *err,
				 const char *op, const bson_error_t *e,
				 const bson_t *reply)
{
	enum gb_status st = driver_status(e, reply);

	if (st == GB_ERR_UNAVAILABLE) {
		set_err(ms, err, st, "MongoDB unavailable (%s): %s", op,
			e->message);
		outage_note(ms, err->message);
		return st;
	}
	return set_err(ms, err, st, "MongoDB %s failed: %s", op, e->message);
}

/* --- settings ----------------------------------------------------------- */

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Builds the URI string from mongo_uri or the legacy db_addr (malloc'd). */
static char *configured_uri(struct mongo_store *ms, struct gb_error *err)
{
	const char *uri = api->config_get("mongo_uri");
	const char *addr = api->config_get("db_addr");
	char *out;

	if (uri && *uri)
		return strdup(uri);
	if (!addr || !*addr) {
		set_err(ms, err, GB_ERR_INVALID,
			"mongo_uri: not set: give mongo_uri "
			"(GUESTBOOK_MONGO_URI, e.g. mongodb://host:27017/"
			"guestbook) or db_addr (GUESTBOOK_DB_ADDR, host:port)");
		return NULL;
	}
	if (asprintf(&out, "mongodb://%s/" MONGO_DEFAULT_DB, addr) < 0)
		return NULL;
	return out;
}

static enum gb_status parse_uri(struct mongo_store *ms, const char *text,
				const char *key, struct gb_error *err)
{
	bson_error_t e;

	captured_warning[0] = '\0';
	capture_uri_warnings = 1;
	ms->uri = mongoc_uri_new_with_error(text, &e);
	capture_uri_warnings = 0;
	if (!ms->uri) {
		char *msg = e.message;

		msg[strcspn(msg, "\r\n")] = '\0';
		return set_err(ms, err, GB_ERR_INVALID,
			       "%s: invalid MongoDB URI %s: %s", key,
			       ms->masked_uri, msg);
	}
	if (captured_warning[0])
		return set_err(ms, err, GB_ERR_INVALID, "%s: %s: %s", key,
			       ms->masked_uri, captured_warning);
	return GB_OK;
}

/* Sets an integer URI option unless the URI already chose one. */
static void default_option(struct mongo_store *ms, const char *name,
			   int32_t value)
{
	if (!mongoc_uri_has_option(ms->uri, name))
		mongoc_uri_set_option_as_int32(ms->uri, name, value);
}

static enum gb_status apply_write_concern(struct mongo_store *ms,
					  struct gb_error *err)
{
	const char *w = api->config_get("mongo_write_concern");
	mongoc_write_concern_t *wc = mongoc_write_concern_new();
	long n;

	if (!wc)
		return set_err(ms, err, GB_ERR_NOMEM, "out of memory");
	if (!w || !*w || !strcmp(w, "majority")) {
		mongoc_write_concern_set_wmajority(wc, ms->timeout_ms);
	} else if (parse_int(w, 0, 1000, &n) == 0) {
		if (n == 0) {
			mongoc_write_concern_destroy(wc);
			return set_err(ms, err, GB_ERR_INVALID,
				       "mongo_write_concern: 0 would not "
				       "acknowledge writes; use majority or a "
				       "number of nodes >= 1");
		}
		mongoc_write_concern_set_w(wc, (int32_t)n);
		mongoc_write_concern_set_wtimeout_int64(wc, ms->timeout_ms);
	} else {
		/* a tag set name defined in the replica set configuration */
		mongoc_write_concern_set_wtag(wc, w);
		mongoc_write_concern_set_wtimeout_int64(wc, ms->timeout_ms);
	}
	mongoc_write_concern_set_journal(wc, true);
	mongoc_uri_set_write_concern(ms->uri, wc);
	mongoc_write_concern_destroy(wc);
	return GB_OK;
}

static enum gb_status read_settings(struct mongo_store *ms, long *pool_size,
				    struct gb_error *err)
{
	const char *t = api->config_get("mongo_timeout_ms");
	const char *threads = api->config_get("threads");
	long v = MONGO_DEFAULT_TIMEOUT_MS;

	if (t && *t && parse_int(t, 100, 60000, &v))
		return set_err(ms, err, GB_ERR_INVALID,
			       "mongo_timeout_ms: \"%.32s\" is not a number of "
			       "milliseconds from 100 to 60000",
			       t);
	ms->timeout_ms = (int)v;
	*pool_size = MONGO_DEFAULT_POOL;
	if (threads && *threads && parse_int(threads, 1, 100000, &v) == 0)
		*pool_size = v;
	return GB_OK;
}

/* --- connections ---------------------------------------------------------- */

static enum gb_status create_pool(struct mongo_store *ms, long pool_size,
				  struct gb_error *err)
{
	bson_error_t e;

	/*
	 * One client per worker thread so a request never waits for a
	 * connection; short timeouts so an outage answers in seconds.
	 */
	default_option(
	    ms, MONGOC_URI_MAXPOOLSIZE,
	    (int32_t)(pool_size > INT32_MAX ? INT32_MAX : pool_size));
	default_option(ms, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, ms->timeout_ms);
	default_option(ms, MONGOC_URI_CONNECTTIMEOUTMS, ms->timeout_ms);
	default_option(ms, MONGOC_URI_SOCKETTIMEOUTMS, 2 * ms->timeout_ms);
	if (!mongoc_uri_has_option(ms->uri, MONGOC_URI_APPNAME))
		mongoc_uri_set_option_as_utf8(ms->uri, MONGOC_URI_APPNAME,
					      "guestbookd");
	ms->pool = mongoc_client_pool_new_with_error(ms->uri, &e);
	if (!ms->pool)
		return set_err(ms, err, GB_ERR_INVALID, "mongo_uri: %s: %s",
			       ms->masked_uri, e.message);
	mongoc_client_pool_set_error_api(ms->pool, MONGOC_ERROR_API_VERSION_2);
	return GB_OK;
}

static enum gb_status create_ping_client(struct mongo_store *ms,
					 struct gb_error *err)
{
	int32_t t = ms->timeout_ms < MONGO_PING_TIMEOUT_MS
			? ms->timeout_ms
			: MONGO_PING_TIMEOUT_MS;
	mongoc_uri_t *uri = mongoc_uri_copy(ms->uri);
	bson_error_t e;

	if (!uri)
		return set_err(ms, err, GB_ERR_NOMEM, "out of memory");
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, t);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, t);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
				       t);
	ms->ping_client = mongoc_client_new_from_uri_with_error(uri, &e);
	mongoc_uri_destroy(uri);
	if (!ms->ping_client)
		return set_err(ms, err, GB_ERR_INVALID, "mongo_uri: %s: %s",
			       ms->masked_uri, e.message);
	mongoc_client_set_error_api(ms->ping_client,
				    MONGOC_ERROR_API_VERSION_2);
	return GB_OK;
}

/*
 * Readiness uses its own single-threaded client with a one-second budget,
 * so /ready never waits for the pool's longer server selection.
 */
static enum gb_status mongo_ping(void *st, struct gb_error *err)
{
	struct mongo_store *ms = st;
	bson_t cmd = BSON_INITIALIZER;
	bson_error_t e;
	struct gb_error ignored;
	bool ok = false;

	BSON_APPEND_INT32(&cmd, "ping", 1);
	pthread_mutex_lock(&ms->ping_lock);
	if (!ms->ping_client)
		create_ping_client(ms, &ignored);
	if (ms->ping_client) {
		ok = mongoc_client_command_simple(ms->ping_client, "admin",
						  &cmd, NULL, NULL, &e);
		/*
		 * A single-threaded client waits out a 5 s cooldown after a
		 * failed connection; a fresh one tries again at once, so
		 * readiness returns as soon as the server does.
		 */
		if (!ok) {
			mongoc_client_destroy(ms->ping_client);
			ms->ping_client = NULL;
		}
	} else {
		bson_set_error(&e, MONGOC_ERROR_CLIENT, 0, "%s",
			       ignored.message);
	}
	pthread_mutex_unlock(&ms->ping_lock);
	bson_destroy(&cmd);
	if (!ok) {
		set_err(ms, err, GB_ERR_UNAVAILABLE, "MongoDB %s: %s",
			ms->masked_uri, e.message);
		outage_note(ms, err->message);
		return GB_ERR_UNAVAILABLE;
	}
	outage_clear(ms);
	return GB_OK;
}

static void bulk_client_destroy(struct mongo_store *ms);

static void mongo_close(void *st)
{
	struct mongo_store *ms = st;

	bulk_client_destroy(ms);
	if (ms->ping_client)
		mongoc_client_destroy(ms->ping_client);
	if (ms->pool)
		mongoc_client_pool_destroy(ms->pool);
	if (ms->uri)
		mongoc_uri_destroy(ms->uri);
	bson_free(ms->password);
	free(ms->db_name);
	ms->ping_client = NULL;
	ms->pool = NULL;
	ms->uri = NULL;
	ms->password = NULL;
	ms->db_name = NULL;
}

static enum gb_status open_store(struct mongo_store *ms, struct gb_error *err)
{
	const char *key =
	    api->config_get("mongo_uri") ? "mongo_uri" : "db_addr";
	const char *db;
	struct gb_error ping_err;
	enum gb_status st;
	long pool_size = MONGO_DEFAULT_POOL;
	char *text, *raw_password;

	st = read_settings(ms, &pool_size, err);
	if (st != GB_OK)
		return st;
	text = configured_uri(ms, err);
	if (!text)
		return err->status
			   ? err->status
			   : set_err(ms, err, GB_ERR_NOMEM, "out of memory");
	mongo_mask_uri(text, ms->masked_uri, sizeof(ms->masked_uri));
	/* the driver quotes a password it refuses: mask it as written */
	raw_password = mongo_uri_password(text);
	if (raw_password)
		ms->password = bson_strdup(raw_password);
	free(raw_password);
	st = parse_uri(ms, text, key, err);
	free(text);
	if (st != GB_OK)
		return st;
	/* from here on, the password as the driver understood it */
	bson_free(ms->password);
	ms->password = NULL;
	if (mongoc_uri_get_password(ms->uri))
		ms->password = bson_strdup(mongoc_uri_get_password(ms->uri));
	db = mongoc_uri_get_database(ms->uri);
	ms->db_name = strdup(db && *db ? db : MONGO_DEFAULT_DB);
	if (!ms->db_name)
		return set_err(ms, err, GB_ERR_NOMEM, "out of memory");
	st = apply_write_concern(ms, err);
	if (st == GB_OK)
		st = create_pool(ms, pool_size, err);
	if (st == GB_OK)
		st = create_ping_client(ms, err);
	if (st != GB_OK)
		return st;

	/*
	 * The driver connects lazily: an unreachable server is a not-ready
	 * backend, not a start-up failure, so a database that starts after
	 * us (or restarts) never needs guestbookd restarted.
	 */
	memset(&ping_err, 0, sizeof(ping_err));
	if (mongo_ping(ms, &ping_err) != GB_OK)
		api->log(
		    self, GB_LOG_WARN,
		    "cannot reach the database yet: %s; /ready answers 503 "
		    "until it answers",
		    ping_err.message);
	else
		api->log(self, GB_LOG_INFO,
			 "connected to %s (database %s, pool of %ld, timeout "
			 "%d ms)",
			 ms->masked_uri, ms->db_name, pool_size,
			 ms->timeout_ms);
	return GB_OK;
}

static enum gb_status mongo_open(void *st, struct gb_error *err)
{
	struct mongo_store *ms = st;
	enum gb_status rc;

	rc = open_store(ms, err);
	if (rc != GB_OK)
		mongo_close(ms);
	return rc;
}

/* --- operations -------------------------------------------------------------
 */

/*
 * A pooled client, or NULL with GB_ERR_UNAVAILABLE in err when the URI's
 * waitQueueTimeoutMS ran out with every client of the pool in use.
 */
static mongoc_client_t *client_pop(struct mongo_store *ms, struct gb_error *err)
{
	mongoc_client_t *client = mongoc_client_pool_pop(ms->pool);

	if (!client)
		set_err(ms, err, GB_ERR_UNAVAILABLE,
			"MongoDB: no free connection in the pool within "
			"waitQueueTimeoutMS (maxPoolSize too small?)");
	return client;
}

static mongoc_collection_t *
collection_of(struct mongo_store *ms, mongoc_client_t *client, const char *name)
{
	return mongoc_client_get_collection(client, ms->db_name, name);
}

/*
 * A pooled connection can be dead without the driver knowing yet (the
 * server restarted between two uses of it): its first use fails at once
 * with a stream error and the driver drops it. Such an operation is worth
 * one more try, on a fresh connection, if the failure was quick.
 */
static int worth_retrying(const bson_error_t *e, double started)
{
	return e->domain == MONGOC_ERROR_STREAM &&
	       api->now_monotonic() - started < 0.5;
}

/* Duplicate key: a retried insert whose first try had landed after all. */
#define MONGO_DUPLICATE_KEY	11000
#define MONGO_KEYS_COLLECTION	"idempotency_keys"
#define MONGO_KEY_PURGE_EVERY_S 60.0

/*
 * One try of an operation on a collection (`attempt` 0, then 1). It always
 * initializes *reply (the caller destroys it). Returns the operation's
 * status when the server answered, MONGO_TRY_AGAIN when the driver failed
 * (*e, *reply) and a second try may help, MONGO_TRY_FAILED when it failed
 * and must not be tried again (part of the answer was already read).
 */
typedef int (*mongo_try_fn)(struct mongo_store *ms, mongoc_collection_t *coll,
			    void *ud, int attempt, bson_t *reply,
			    bson_error_t *e, struct gb_error *err);

#define MONGO_TRY_AGAIN	 (-1)
#define MONGO_TRY_FAILED (-2)

/*
 * Runs `op` on `coll`, once more when the first try failed at once on a
 * dead pooled connection (worth_retrying). A driver failure ends as
 * driver_err(ms, what); an answer ends an outage.
 */
static enum gb_status retry_once(struct mongo_store *ms,
				 mongoc_collection_t *coll, const char *what,
				 mongo_try_fn op, void *ud,
				 struct gb_error *err)
{
	for (int attempt = 0;; attempt++) {
		double started = api->now_monotonic();
		bson_t reply;
		bson_error_t e;
		int rc = op(ms, coll, ud, attempt, &reply, &e, err);

		if (rc == MONGO_TRY_AGAIN && attempt == 0 &&
		    worth_retrying(&e, started)) {
			bson_destroy(&reply);
			continue;
		}
		if (rc < 0)
			rc = (int)driver_err(ms, err, what, &e, &reply);
		else
			outage_clear(ms);
		bson_destroy(&reply);
		return (enum gb_status)rc;
	}
}

/*
 * retry_once on `collection` with a client of the pool, refused at once
 * while an outage's retry window is open.
 */
static enum gb_status with_collection(struct mongo_store *ms,
				      const char *collection, const char *what,
				      mongo_try_fn op, void *ud,
				      struct gb_error *err)
{
	mongoc_client_t *client;
	mongoc_collection_t *coll;
	enum gb_status rc = outage_check(ms, err);

	if (rc != GB_OK)
		return rc;
	client = client_pop(ms, err);
	if (!client)
		return GB_ERR_UNAVAILABLE;
	coll = collection_of(ms, client, collection);
	rc = retry_once(ms, coll, what, op, ud, err);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(ms->pool, client);
	return rc;
}

/*
 * insert_one. A duplicate _id counts as success on the second try (the
 * first had landed), and always when `dup_ok` (the caller chose the _id
 * and wants it stored once); `dup` tells whether the _id existed.
 */
struct insert_try {
	const bson_t *doc;
	bool dup_ok;
	bool dup;
};

static int try_insert(struct mongo_store *ms, mongoc_collection_t *coll,
		      void *ud, int attempt, bson_t *reply, bson_error_t *e,
		      struct gb_error *err)
{
	struct insert_try *t = ud;

	(void)ms;
	(void)err;
	t->dup = false;
	if (mongoc_collection_insert_one(coll, t->doc, NULL, reply, e))
		return GB_OK;
	if (e->code == MONGO_DUPLICATE_KEY && (attempt > 0 || t->dup_ok)) {
		t->dup = attempt == 0;
		return GB_OK;
	}
	return MONGO_TRY_AGAIN;
}

/* insert and insert_once: the message `doc` under the _id `oid`. */
static enum gb_status insert_message(struct mongo_store *ms,
				     const char *collection, const cJSON *doc,
				     const bson_oid_t *oid, bool dup_ok,
				     bool *dup, struct gb_error *err)
{
	bson_t bdoc = BSON_INITIALIZER;
	struct insert_try t = {&bdoc, dup_ok, false};
	enum gb_status rc;

	rc = mongo_bson_from_json(doc, oid, &bdoc, err);
	/* the _id is ours: a second try cannot insert the message twice */
	if (rc == GB_OK)
		rc = with_collection(ms, collection, "insert", try_insert, &t,
				     err);
	*dup = t.dup;
	bson_destroy(&bdoc);
	return rc;
}

static enum gb_status mongo_insert(void *st, const struct gb_store_ctx *ctx,
				   const char *collection, const cJSON *doc,
				   char id_out[GB_ID_MAX], struct gb_error *err)
{
	struct mongo_store *ms = st;
	bson_oid_t oid;
	bool dup;
	enum gb_status rc;

	(void)ctx;
	bson_oid_init(&oid, NULL);
	rc = insert_message(ms, collection, doc, &oid, false, &dup, err);
	if (rc == GB_OK)
		bson_oid_to_string(&oid, id_out);
	return rc;
}

/* Deletes keys older than the window, at most once a minute. */
static void keys_purge(struct mongo_store *ms, mongoc_collection_t *keys,
		       double now)
{
	long long last = atomic_load(&ms->keys_purged_at_s);
	bson_t filter = BSON_INITIALIZER, child;

	if (now - (double)last < MONGO_KEY_PURGE_EVERY_S ||
	    !atomic_compare_exchange_strong(&ms->keys_purged_at_s, &last,
					    (long long)now))
		return;
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "created", &child);
	BSON_APPEND_DOUBLE(&child, "$lt", now - GB_IDEMPOTENCY_WINDOW_S);
	bson_append_document_end(&filter, &child);
	mongoc_collection_delete_many(keys, &filter, NULL, NULL, NULL);
	bson_destroy(&filter);
}

/*
 * Claims `kid` for a new message `fresh`: *oid becomes `fresh` when the
 * key was unknown or expired, else the ObjectId the live key names.
 */
static enum gb_status key_claim(struct mongo_store *ms,
				mongoc_collection_t *keys, const char *kid,
				const bson_oid_t *fresh, double now,
				bson_oid_t *oid, struct gb_error *err)
{
	for (int round = 0; round < 3; round++) {
		bson_t kdoc = BSON_INITIALIZER, filter = BSON_INITIALIZER;
		bson_t child;
		bson_error_t e;
		bson_iter_t it;
		mongoc_cursor_t *cur;
		const bson_t *found;
		struct insert_try t = {NULL, true, false};
		enum gb_status rc;
		bool ok, live = false, known = false;
		double created = 0;

		BSON_APPEND_UTF8(&kdoc, "_id", kid);
		BSON_APPEND_OID(&kdoc, "document_id", fresh);
		BSON_APPEND_DOUBLE(&kdoc, "created", now);
		t.doc = &kdoc;
		rc = retry_once(ms, keys, "insert key", try_insert, &t, err);
		if (rc != GB_OK) {
			bson_destroy(&kdoc);
			return rc;
		}
		if (!t.dup) {
			bson_destroy(&kdoc);
			bson_oid_copy(fresh, oid);
			return GB_OK;
		}
		BSON_APPEND_UTF8(&filter, "_id", kid);
		cur =
		    mongoc_collection_find_with_opts(keys, &filter, NULL, NULL);
		if (mongoc_cursor_next(cur, &found)) {
			known = true;
			if (bson_iter_init_find(&it, found, "created") &&
			    BSON_ITER_HOLDS_NUMBER(&it))
				created = bson_iter_as_double(&it);
			if (bson_iter_init_find(&it, found, "document_id") &&
			    BSON_ITER_HOLDS_OID(&it)) {
				bson_oid_copy(bson_iter_oid(&it), oid);
				live = created >= now - GB_IDEMPOTENCY_WINDOW_S;
			}
		}
		ok = !mongoc_cursor_error(cur, &e);
		mongoc_cursor_destroy(cur);
		if (!ok) {
			bson_destroy(&filter);
			bson_destroy(&kdoc);
			return driver_err(ms, err, "find key", &e, NULL);
		}
		if (live) {
			bson_destroy(&filter);
			bson_destroy(&kdoc);
			return GB_OK;
		}
		/* expired (or unreadable): take it over if nobody else did */
		if (known) {
			BSON_APPEND_DOCUMENT_BEGIN(&filter, "created", &child);
			BSON_APPEND_DOUBLE(&child, "$lte", created);
			bson_append_document_end(&filter, &child);
			mongoc_collection_delete_one(keys, &filter, NULL, NULL,
						     NULL);
		}
		bson_destroy(&filter);
		bson_destroy(&kdoc);
	}
	return set_err(ms, err, GB_ERR_UNAVAILABLE,
		       "MongoDB: idempotency key %s keeps changing", kid);
}

static enum gb_status
mongo_insert_once(void *st, const struct gb_store_ctx *ctx,
		  const char *collection, const cJSON *doc, const char *key,
		  char id_out[GB_ID_MAX], int *repeated, struct gb_error *err)
{
	struct mongo_store *ms = st;
	char kid[40 + GB_IDEMPOTENCY_KEY_MAX];
	bson_oid_t fresh, oid;
	mongoc_client_t *client;
	mongoc_collection_t *keys;
	double now = api->now_wall();
	enum gb_status rc;
	bool dup;

	(void)ctx;
	snprintf(kid, sizeof(kid), "%s:%s", collection, key);
	rc = outage_check(ms, err);
	if (rc != GB_OK)
		return rc;
	client = client_pop(ms, err);
	if (!client)
		return GB_ERR_UNAVAILABLE;
	keys = collection_of(ms, client, MONGO_KEYS_COLLECTION);
	bson_oid_init(&fresh, NULL);
	rc = key_claim(ms, keys, kid, &fresh, now, &oid, err);
	if (rc == GB_OK)
		keys_purge(ms, keys, now);
	mongoc_collection_destroy(keys);
	mongoc_client_pool_push(ms->pool, client);
	if (rc != GB_OK)
		return rc;
	/* A repeat stores the message under the key's _id only if the
	 * first call died between the key and the message. */
	rc = insert_message(ms, collection, doc, &oid, true, &dup, err);
	if (rc != GB_OK)
		return rc;
	bson_oid_to_string(&oid, id_out);
	*repeated = dup;
	return GB_OK;
}

/* --- insert_many -------------------------------------------------------- */

/* The index and code of the first of the reply's writeErrors; false when
 * it has none (the whole call failed). */
static bool first_write_error(const bson_t *reply, uint32_t *index,
			      int32_t *code)
{
	bson_iter_t it, errs, one;

	if (!bson_iter_init_find(&it, reply, "writeErrors") ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &errs) ||
	    !bson_iter_next(&errs) || !BSON_ITER_HOLDS_DOCUMENT(&errs) ||
	    !bson_iter_recurse(&errs, &one))
		return false;
	*index = UINT32_MAX;
	*code = 0;
	while (bson_iter_next(&one)) {
		if (strcmp(bson_iter_key(&one), "index") == 0 &&
		    BSON_ITER_HOLDS_NUMBER(&one))
			*index = (uint32_t)bson_iter_as_int64(&one);
		else if (strcmp(bson_iter_key(&one), "code") == 0 &&
			 BSON_ITER_HOLDS_NUMBER(&one))
			*code = (int32_t)bson_iter_as_int64(&one);
	}
	return *index != UINT32_MAX;
}

/* One document of an insert_in_order call and its result. */
struct ordered_doc {
	const bson_t *doc; /* NULL: skipped */
	bool dup;	   /* its _id existed: nothing stored */
	enum gb_status status;
	struct gb_error err;
};

/*
 * Inserts the documents in their order with as few ordered insert_many
 * calls as the write errors allow: a write error ends a call at its
 * document, which takes that error (or dup, for a duplicate _id, with
 * GB_OK), and the next call starts after it. A whole call that fails, or
 * whose writes missed the write concern, fails every document not
 * answered yet (a client's retry then finds them), after one more try
 * when the pooled connection was dead (documents of the first try that
 * landed then come back as dup: every _id here is chosen by the caller).
 */
static void insert_in_order(struct mongo_store *ms, mongoc_collection_t *coll,
			    const char *what, struct ordered_doc *d, size_t n)
{
	const bson_t *ptrs[GB_INSERT_MANY_MAX];
	size_t at[GB_INSERT_MANY_MAX], next = 0;
	bool retried = false;

	while (next < n) {
		size_t m = 0;
		bson_t reply;
		bson_error_t e;
		uint32_t k;
		int32_t code;
		double started = api->now_monotonic();

		for (size_t i = next; i < n && m < GB_INSERT_MANY_MAX; i++) {
			if (d[i].doc) {
				ptrs[m] = d[i].doc;
				at[m++] = i;
			}
		}
		if (m == 0)
			return;
		if (mongoc_collection_insert_many(coll, ptrs, m, NULL, &reply,
						  &e)) {
			for (size_t j = 0; j < m; j++)
				d[at[j]].status = GB_OK;
			next = at[m - 1] + 1;
			outage_clear(ms);
		} else if (!bson_has_field(&reply, "writeConcernErrors") &&
			   first_write_error(&reply, &k, &code) && k < m) {
			for (size_t j = 0; j < k; j++)
				d[at[j]].status = GB_OK;
			if (code == MONGO_DUPLICATE_KEY) {
				d[at[k]].dup = true;
				d[at[k]].status = GB_OK;
			} else {
				d[at[k]].status = driver_err(ms, &d[at[k]].err,
							     what, &e, &reply);
			}
			next = at[k] + 1;
			outage_clear(ms);
		} else if (!retried && worth_retrying(&e, started)) {
			retried = true;
		} else {
			struct gb_error fail;
			enum gb_status st =
			    driver_err(ms, &fail, what, &e, &reply);

			for (size_t j = 0; j < m; j++) {
				d[at[j]].status = st;
				d[at[j]].err = fail;
			}
			next = n;
		}
		bson_destroy(&reply);
	}
}

/* What mongo_insert_many keeps of one item. */
struct many_item {
	char kid[40 + GB_IDEMPOTENCY_KEY_MAX];
	bson_oid_t fresh, oid;
	bson_t key, msg;
	bool has_key, has_msg;
};

/* Every item fails with err (the call could not start). */
static void many_fail(struct gb_insert_item *items, size_t n,
		      const struct gb_error *err)
{
	for (size_t i = 0; i < n; i++) {
		items[i].status = err->status;
		items[i].err = *err;
	}
}

/*
 * insert_once for every item in two ordered insert_many calls, one for
 * the keys and one for the messages, instead of two round trips an item.
 * The keys are written first, as insert_once does; a key that exists
 * (repeated, also within this call) takes insert_once's path for it alone,
 * and its message goes under the _id the key names, so a repeat stores
 * nothing and a message a crash had left out is completed.
 */
static void mongo_insert_many(void *st, const struct gb_store_ctx *ctx,
			      const char *collection,
			      struct gb_insert_item *items, size_t n)
{
	struct mongo_store *ms = st;
	/* on the heap: 200 results with their messages would crowd a
	 * worker's stack */
	struct many_item *w = calloc(n, sizeof(*w));
	struct ordered_doc *kd = calloc(n, sizeof(*kd));
	struct ordered_doc *md = calloc(n, sizeof(*md));
	struct gb_error err = {GB_OK, ""};
	mongoc_client_t *client = NULL;
	mongoc_collection_t *keys = NULL, *coll = NULL;
	double now = api->now_wall();
	bool any_key = false;

	(void)ctx;
	if (!w || !kd || !md)
		set_err(ms, &err, GB_ERR_NOMEM, "out of memory");
	else if (outage_check(ms, &err) == GB_OK)
		client = client_pop(ms, &err);
	if (!client) {
		many_fail(items, n, &err);
		free(w);
		free(kd);
		free(md);
		return;
	}
	keys = collection_of(ms, client, MONGO_KEYS_COLLECTION);
	coll = collection_of(ms, client, collection);
	for (size_t i = 0; i < n; i++) {
		bson_oid_init(&w[i].fresh, NULL);
		bson_oid_copy(&w[i].fresh, &w[i].oid);
		w[i].has_key = items[i].key && *items[i].key;
		if (w[i].has_key) {
			snprintf(w[i].kid, sizeof(w[i].kid), "%s:%s",
				 collection, items[i].key);
			bson_init(&w[i].key);
			BSON_APPEND_UTF8(&w[i].key, "_id", w[i].kid);
			BSON_APPEND_OID(&w[i].key, "document_id", &w[i].fresh);
			BSON_APPEND_DOUBLE(&w[i].key, "created", now);
			any_key = true;
		}
		kd[i] = (struct ordered_doc){
		    .doc = w[i].has_key ? &w[i].key : NULL, .status = GB_OK};
	}
	if (any_key)
		insert_in_order(ms, keys, "insert keys", kd, n);
	for (size_t i = 0; i < n; i++) {
		enum gb_status rc = kd[i].status;

		err = kd[i].err;
		if (rc == GB_OK && kd[i].dup)
			rc = key_claim(ms, keys, w[i].kid, &w[i].fresh, now,
				       &w[i].oid, &err);
		if (rc == GB_OK) {
			bson_init(&w[i].msg);
			w[i].has_msg = true;
			rc = mongo_bson_from_json(items[i].doc, &w[i].oid,
						  &w[i].msg, &err);
		}
		items[i].status = rc;
		if (rc != GB_OK)
			items[i].err = err;
		md[i] = (struct ordered_doc){
		    .doc = rc == GB_OK ? &w[i].msg : NULL, .status = rc};
	}
	if (any_key)
		keys_purge(ms, keys, now);
	insert_in_order(ms, coll, "insert", md, n);
	for (size_t i = 0; i < n; i++) {
		if (!md[i].doc)
			continue;
		items[i].status = md[i].status;
		if (md[i].status != GB_OK) {
			items[i].err = md[i].err;
			continue;
		}
		/* the message was there: a repeat of the key's first call,
		 * or (under our fresh _id) our own first try that landed */
		items[i].repeated =
		    md[i].dup && !bson_oid_equal(&w[i].oid, &w[i].fresh);
		bson_oid_to_string(&w[i].oid, items[i].id);
	}
	for (size_t i = 0; i < n; i++) {
		if (w[i].has_key)
			bson_destroy(&w[i].key);
		if (w[i].has_msg)
			bson_destroy(&w[i].msg);
	}
	mongoc_collection_destroy(coll);
	mongoc_collection_destroy(keys);
	mongoc_client_pool_push(ms->pool, client);
	free(w);
	free(kd);
	free(md);
}

struct find_try {
	const bson_t *filter, *opts;
	int limit;
	cJSON *out;
	int more;
};

static int try_find(struct mongo_store *ms, mongoc_collection_t *coll, void *ud,
		    int attempt, bson_t *reply, bson_error_t *e,
		    struct gb_error *err)
{
	struct find_try *t = ud;
	mongoc_cursor_t *cur;
	const bson_t *b, *error_reply = NULL;
	int rc = GB_OK, n = 0;

	(void)attempt;
	t->more = 0;
	cur = mongoc_collection_find_with_opts(coll, t->filter, t->opts, NULL);
	while (mongoc_cursor_next(cur, &b)) {
		cJSON *doc;

		if (n == t->limit) {
			t->more = 1;
			break;
		}
		doc = mongo_json_from_bson(b);
		if (!doc) {
			rc = set_err(ms, err, GB_ERR_NOMEM, "out of memory");
			break;
		}
		cJSON_AddItemToArray(t->out, doc);
		n++;
	}
	if (rc == GB_OK && mongoc_cursor_error_document(cur, e, &error_reply)) {
		if (error_reply)
			bson_copy_to(error_reply, reply);
		else
			bson_init(reply);
		/* documents already appended: a second try would repeat them */
		rc = n > 0 ? MONGO_TRY_FAILED : MONGO_TRY_AGAIN;
	} else {
		bson_init(reply);
	}
	mongoc_cursor_destroy(cur);
	return rc;
}

/*
 * Runs find on `collection` and appends each document, converted, to the
 * JSON array `out`; at most `limit` of them. *more is set when the cursor
 * had a document beyond the limit.
 */
static enum gb_status find_docs(struct mongo_store *ms, const char *collection,
				const bson_t *filter, const bson_t *opts,
				int limit, cJSON *out, int *more,
				struct gb_error *err)
{
	struct find_try t = {filter, opts, limit, out, 0};
	enum gb_status rc =
	    with_collection(ms, collection, "find", try_find, &t, err);

	*more = t.more;
	return rc;
}

static enum gb_status mongo_get(void *st, const struct gb_store_ctx *ctx,
				const char *collection, const char *id,
				cJSON **doc_out, struct gb_error *err)
{
	struct mongo_store *ms = st;
	bson_t filter = BSON_INITIALIZER;
	bson_t opts = BSON_INITIALIZER;
	bson_oid_t oid;
	cJSON *docs;
	enum gb_status rc;
	int more;

	(void)ctx;
	if (!mongo_is_oid_hex(id))
		return set_err(ms, err, GB_ERR_NOT_FOUND,
			       "no document with id %.64s", id ? id : "");
	docs = cJSON_CreateArray();
	if (!docs)
		return set_err(ms, err, GB_ERR_NOMEM, "out of memory");
	bson_oid_init_from_string(&oid, id);
	BSON_APPEND_OID(&filter, "_id", &oid);
	BSON_APPEND_INT64(&opts, "limit", 1);
	rc = find_docs(ms, collection, &filter, &opts, 1, docs, &more, err);
	bson_destroy(&filter);
	bson_destroy(&opts);
	if (rc == GB_OK && cJSON_GetArraySize(docs) == 0)
		rc = set_err(ms, err, GB_ERR_NOT_FOUND,
			     "no document with id %s", id);
	if (rc == GB_OK)
		*doc_out = cJSON_DetachItemFromArray(docs, 0);
	cJSON_Delete(docs);
	return rc;
}

static enum gb_status mongo_list(void *st, const struct gb_store_ctx *ctx,
				 const char *collection, int limit,
				 const char *cursor, cJSON **docs_out,
				 char **next_cursor, struct gb_error *err)
{
	struct mongo_store *ms = st;
	bson_t filter = BSON_INITIALIZER;
	bson_t opts = BSON_INITIALIZER;
	bson_t child;
	cJSON *docs;
	enum gb_status rc;
	int more;

	(void)ctx;
	*next_cursor = NULL;
	if (cursor && *cursor) {
		bson_oid_t oid;

		if (!mongo_is_oid_hex(cursor))
			return set_err(ms, err, GB_ERR_INVALID,
				       "invalid cursor \"%.64s\"", cursor);
		bson_oid_init_from_string(&oid, cursor);
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &child);
		BSON_APPEND_OID(&child, "$lt", &oid);
		bson_append_document_end(&filter, &child);
	}
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &child);
	BSON_APPEND_INT32(&child, "_id", -1);
	bson_append_document_end(&opts, &child);
	/* one more than asked, to know whether there is an older page */
	BSON_APPEND_INT64(&opts, "limit", (int64_t)limit + 1);
	docs = cJSON_CreateArray();
	if (!docs) {
		bson_destroy(&filter);
		bson_destroy(&opts);
		return set_err(ms, err, GB_ERR_NOMEM, "out of memory");
	}
	rc = find_docs(ms, collection, &filter, &opts, limit, docs, &more, err);
	bson_destroy(&filter);
	bson_destroy(&opts);
	if (rc != GB_OK) {
		cJSON_Delete(docs);
		return rc;
	}
	if (more) {
		int n = cJSON_GetArraySize(docs);
		const cJSON *last = cJSON_GetArrayItem(docs, n - 1);
		const char *id = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(last, "id"));

		/* a page ending on a document without an ObjectId cannot go on
		 */
		if (id && mongo_is_oid_hex(id)) {
			*next_cursor = strdup(id);
			if (!*next_cursor) {
				cJSON_Delete(docs);
				return set_err(ms, err, GB_ERR_NOMEM,
					       "out of memory");
			}
		}
	}
	*docs_out = docs;
	return GB_OK;
}

struct remove_try {
	const bson_t *filter;
	const char *id;
};

static int try_remove(struct mongo_store *ms, mongoc_collection_t *coll,
		      void *ud, int attempt, bson_t *reply, bson_error_t *e,
		      struct gb_error *err)
{
	struct remove_try *t = ud;
	bson_iter_t it;

	(void)attempt;
	if (!mongoc_collection_delete_one(coll, t->filter, NULL, reply, e))
		return MONGO_TRY_AGAIN;
	if (!bson_iter_init_find(&it, reply, "deletedCount") ||
	    bson_iter_as_int64(&it) < 1)
		return set_err(ms, err, GB_ERR_NOT_FOUND,
			       "no document with id %s", t->id);
	return GB_OK;
}

static enum gb_status mongo_remove(void *st, const struct gb_store_ctx *ctx,
				   const char *collection, const char *id,
				   struct gb_error *err)
{
	struct mongo_store *ms = st;
	bson_t filter = BSON_INITIALIZER;
	struct remove_try t = {&filter, id};
	bson_oid_t oid;
	enum gb_status rc;

	(void)ctx;
	if (!mongo_is_oid_hex(id))
		return set_err(ms, err, GB_ERR_NOT_FOUND,
			       "no document with id %.64s", id ? id : "");
	bson_oid_init_from_string(&oid, id);
	BSON_APPEND_OID(&filter, "_id", &oid);
	rc = with_collection(ms, collection, "delete", try_remove, &t, err);
	bson_destroy(&filter);
	return rc;
}

struct count_try {
	const bson_t *filter;
	uint64_t count;
};

static int try_count(struct mongo_store *ms, mongoc_collection_t *coll,
		     void *ud, int attempt, bson_t *reply, bson_error_t *e,
		     struct gb_error *err)
{
	struct count_try *t = ud;
	int64_t n;

	(void)ms;
	(void)attempt;
	(void)err;
	bson_init(reply);
	n = mongoc_collection_count_documents(coll, t->filter, NULL, NULL, NULL,
					      e);
	if (n < 0)
		return MONGO_TRY_AGAIN;
	t->count = (uint64_t)n;
	return GB_OK;
}

static enum gb_status mongo_count(void *st, const struct gb_store_ctx *ctx,
				  const char *collection, uint64_t *count,
				  struct gb_error *err)
{
	struct mongo_store *ms = st;
	bson_t filter = BSON_INITIALIZER;
	struct count_try t = {&filter, 0};
	enum gb_status rc;

	(void)ctx;
	rc = with_collection(ms, collection, "count", try_count, &t, err);
	*count = rc == GB_OK ? t.count : 0;
	bson_destroy(&filter);
	return rc;
}

/* --- moving data: scan and import ---------------------------------------- */

/*
 * Export and import run one long operation after another, never for a
 * waiting visitor, and one find or insert of theirs may take long (a
 * server sorting a whole collection, a batch of 1,000 documents with
 * majority write concern). So they use their own client, on a copy of the
 * URI whose socket timeout is minutes instead of the requests' seconds.
 * One at a time (the import contract), kept until close.
 */
#define MONGO_BULK_SOCKET_TIMEOUT_MS (5 * 60 * 1000)

static mongoc_client_t *bulk_client_take(struct mongo_store *ms,
					 struct gb_error *err)
{
	mongoc_uri_t *uri;
	bson_error_t e;

	pthread_mutex_lock(&ms->bulk_lock);
	if (ms->bulk_client)
		return ms->bulk_client;
	uri = mongoc_uri_copy(ms->uri);
	if (!uri) {
		pthread_mutex_unlock(&ms->bulk_lock);
		set_err(ms, err, GB_ERR_NOMEM, "out of memory");
		return NULL;
	}
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS,
				       MONGO_BULK_SOCKET_TIMEOUT_MS);
	ms->bulk_client = mongoc_client_new_from_uri_with_error(uri, &e);
	mongoc_uri_destroy(uri);
	if (!ms->bulk_client) {
		pthread_mutex_unlock(&ms->bulk_lock);
		set_err(ms, err, GB_ERR_INVALID, "mongo_uri: %s: %s",
			ms->masked_uri, e.message);
		return NULL;
	}
	mongoc_client_set_error_api(ms->bulk_client,
				    MONGOC_ERROR_API_VERSION_2);
	return ms->bulk_client;
}

static void bulk_client_give(struct mongo_store *ms)
{
	pthread_mutex_unlock(&ms->bulk_lock);
}

static void bulk_client_destroy(struct mongo_store *ms)
{
	pthread_mutex_lock(&ms->bulk_lock);
	if (ms->bulk_client)
		mongoc_client_destroy(ms->bulk_client);
	ms->bulk_client = NULL;
	pthread_mutex_unlock(&ms->bulk_lock);
}

/* Oldest first by _id, one driver batch in memory at a time. */
static enum gb_status mongo_scan(void *st, const char *collection,
				 int (*each)(void *ud, const cJSON *doc),
				 void *ud, struct gb_error *err)
{
	struct mongo_store *ms = st;
	bson_t filter = BSON_INITIALIZER;
	bson_t opts = BSON_INITIALIZER;
	bson_t child;
	const bson_t *b, *reply = NULL;
	bson_error_t e;
	mongoc_client_t *client;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	enum gb_status rc = GB_OK;

	client = bulk_client_take(ms, err);
	if (!client)
		return err->status;
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &child);
	BSON_APPEND_INT32(&child, "_id", 1);
	bson_append_document_end(&opts, &child);
	coll = collection_of(ms, client, collection);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	while (mongoc_cursor_next(cur, &b)) {
		cJSON *doc = mongo_json_from_bson(b);
		int stop;

		if (!doc) {
			rc = set_err(ms, err, GB_ERR_NOMEM, "out of memory");
			break;
		}
		stop = each(ud, doc);
		cJSON_Delete(doc);
		if (stop)
			break;
	}
	if (rc == GB_OK && mongoc_cursor_error_document(cur, &e, &reply))
		rc = driver_err(ms, err, "find", &e, reply);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	bulk_client_give(ms);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

/*
 * Ids of imported documents: the time, then a 64-bit sequence that starts
 * at the driver's process-random bytes and counter and only ever grows.
 * The driver's own ids wrap their 3-byte counter every 16.7 million; these
 * never do, so documents of one import keep their order by _id (the order
 * lists use) however many there are and however fast they arrive.
 */
static pthread_mutex_t import_oid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t import_seq;
static uint32_t import_last_time;

static void import_oid_next(bson_oid_t *oid)
{
	uint32_t t = (uint32_t)time(NULL);

	pthread_mutex_lock(&import_oid_lock);
	if (!import_seq) {
		bson_oid_t seed;

		bson_oid_init(&seed, NULL);
		for (int i = 4; i < 12; i++)
			import_seq = import_seq << 8 | seed.bytes[i];
	}
	if (t < import_last_time)
		t = import_last_time;
	import_last_time = t;
	import_seq++;
	for (int i = 0; i < 4; i++)
		oid->bytes[i] = (uint8_t)(t >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		oid->bytes[4 + i] = (uint8_t)(import_seq >> (56 - 8 * i));
	pthread_mutex_unlock(&import_oid_lock);
}

/*
 * The index import looks keys up in, created once per process (a no-op
 * when it exists). Sparse: documents without a key, every one the API
 * wrote, cost it nothing.
 */
static enum gb_status ensure_import_index(struct mongo_store *ms,
					  mongoc_client_t *client,
					  const char *collection,
					  struct gb_error *err)
{
	static _Atomic int done;
	bson_t cmd = BSON_INITIALIZER;
	bson_t indexes, index, key;
	bson_t reply;
	bson_error_t e;
	enum gb_status rc = GB_OK;

	if (atomic_load(&done))
		return GB_OK;
	BSON_APPEND_UTF8(&cmd, "createIndexes", collection);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes);
	BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
	BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
	BSON_APPEND_INT32(&key, "import_key", 1);
	bson_append_document_end(&index, &key);
	BSON_APPEND_UTF8(&index, "name", "import_key");
	/* documents the API wrote have no key: keep them out of it */
	BSON_APPEND_BOOL(&index, "sparse", true);
	bson_append_document_end(&indexes, &index);
	bson_append_array_end(&cmd, &indexes);
	if (mongoc_client_write_command_with_opts(client, ms->db_name, &cmd,
						  NULL, &reply, &e))
		atomic_store(&done, 1);
	else
		rc =
		    driver_err(ms, err, "createIndexes import_key", &e, &reply);
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return rc;
}

struct import_entry {
	const char *key;
	size_t index;
	int skip;
};

static int entry_by_key(const void *a, const void *b)
{
	const struct import_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Marks entries whose key is in `existing` (sorted) or repeats an earlier
 * entry's; `entries` is sorted by key, then position.
 */
static void mark_known(struct import_entry *entries, size_t n,
		       const char **existing, size_t nexisting)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !strcmp(entries[i].key, entries[i - 1].key))
			entries[i].skip = 1;
		else if (nexisting &&
			 bsearch(&entries[i].key, existing, nexisting,
				 sizeof(*existing), key_cmp))
			entries[i].skip = 1;
	}
}

/* The keys of `entries` already stored, into `out` (sorted strings). */
static enum gb_status find_existing_keys(struct mongo_store *ms,
					 mongoc_collection_t *coll,
					 const struct import_entry *entries,
					 size_t n, cJSON *out,
					 struct gb_error *err)
{
	bson_t filter = BSON_INITIALIZER;
	bson_t opts = BSON_INITIALIZER;
	bson_t child, in, proj;
	const bson_t *b, *reply = NULL;
	bson_error_t e;
	mongoc_cursor_t *cur;
	enum gb_status rc = GB_OK;

	BSON_APPEND_DOCUMENT_BEGIN(&filter, "import_key", &child);
	BSON_APPEND_ARRAY_BEGIN(&child, "$in", &in);
	for (size_t i = 0; i < n; i++) {
		char buf[16];
		const char *ikey;

		bson_uint32_to_string((uint32_t)i, &ikey, buf, sizeof(buf));
		BSON_APPEND_UTF8(&in, ikey, entries[i].key);
	}
	bson_append_array_end(&child, &in);
	bson_append_document_end(&filter, &child);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "import_key", 1);
	bson_append_document_end(&opts, &proj);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	while (mongoc_cursor_next(cur, &b)) {
		bson_iter_t it;

		if (bson_iter_init_find(&it, b, "import_key") &&
		    BSON_ITER_HOLDS_UTF8(&it) &&
		    !cJSON_AddItemToArray(
			out, cJSON_CreateString(bson_iter_utf8(&it, NULL)))) {
			rc = set_err(ms, err, GB_ERR_NOMEM, "out of memory");
			break;
		}
	}
	if (rc == GB_OK && mongoc_cursor_error_document(cur, &e, &reply))
		rc = driver_err(ms, err, "find import_key", &e, reply);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

/* Converts and inserts the entries not skipped, in their order. */
static enum gb_status insert_new(struct mongo_store *ms,
				 mongoc_collection_t *coll,
				 const cJSON *const *docs, size_t n,
				 const int *skip, size_t *added,
				 struct gb_error *err)
{
	bson_t *bdocs = calloc(n, sizeof(*bdocs));
	const bson_t **ptrs = calloc(n, sizeof(*ptrs));
	size_t count = 0;
	enum gb_status rc = GB_OK;
	bson_t reply;
	bson_error_t e;
	bson_iter_t it;

	if (!bdocs || !ptrs) {
		free(bdocs);
		free(ptrs);
		return set_err(ms, err, GB_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n && rc == GB_OK; i++) {
		bson_oid_t oid;

		if (skip[i])
			continue;
		bson_init(&bdocs[count]);
		import_oid_next(&oid);
		rc = mongo_bson_from_json(docs[i], &oid, &bdocs[count], err);
		ptrs[count] = &bdocs[count];
		count++;
	}
	if (rc == GB_OK && count > 0) {
		if (mongoc_collection_insert_many(coll, ptrs, count, NULL,
						  &reply, &e)) {
			*added = count;
			if (bson_iter_init_find(&it, &reply, "insertedCount"))
				*added = (size_t)bson_iter_as_int64(&it);
			outage_clear(ms);
		} else {
			rc = driver_err(ms, err, "insert", &e, &reply);
		}
		bson_destroy(&reply);
	}
	for (size_t i = 0; i < count; i++)
		bson_destroy(&bdocs[i]);
	free(bdocs);
	free(ptrs);
	return rc;
}

/*
 * One lookup of the batch's keys (served by the import_key index), then
 * one ordered insert of the new documents. Not atomic: a failure part way
 * leaves a prefix stored, which the next import of the same lines skips.
 */
static enum gb_status mongo_import(void *st, const char *collection,
				   const cJSON *const *docs, size_t n,
				   size_t *added, struct gb_error *err)
{
	struct mongo_store *ms = st;
	struct import_entry *entries = calloc(n, sizeof(*entries));
	int *skip = calloc(n, sizeof(*skip));
	cJSON *existing = cJSON_CreateArray();
	const char **known = NULL;
	size_t nknown = 0;
	mongoc_client_t *client = NULL;
	mongoc_collection_t *coll = NULL;
	enum gb_status rc = GB_OK;

	*added = 0;
	if (!entries || !skip || !existing) {
		rc = set_err(ms, err, GB_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		entries[i].key = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(docs[i], "import_key"));
		entries[i].index = i;
		if (!entries[i].key || !*entries[i].key) {
			rc = set_err(ms, err, GB_ERR_INVALID,
				     "import: document %zu has no import_key",
				     i + 1);
			goto out;
		}
	}
	client = bulk_client_take(ms, err);
	if (!client) {
		rc = err->status;
		goto out;
	}
	rc = ensure_import_index(ms, client, collection, err);
	if (rc != GB_OK)
		goto out;
	coll = collection_of(ms, client, collection);
	qsort(entries, n, sizeof(*entries), entry_by_key);
	rc = find_existing_keys(ms, coll, entries, n, existing, err);
	if (rc != GB_OK)
		goto out;
	nknown = (size_t)cJSON_GetArraySize(existing);
	known = calloc(nknown ? nknown : 1, sizeof(*known));
	if (!known) {
		rc = set_err(ms, err, GB_ERR_NOMEM, "out of memory");
		goto out;
	}
	nknown = 0;
	for (const cJSON *k = existing->child; k; k = k->next)
		known[nknown++] = k->valuestring;
	qsort(known, nknown, sizeof(*known), key_cmp);
	mark_known(entries, n, known, nknown);
	for (size_t i = 0; i < n; i++)
		skip[entries[i].index] = entries[i].skip;
	rc = insert_new(ms, coll, docs, n, skip, added, err);
out:
	if (coll)
		mongoc_collection_destroy(coll);
	if (client)
		bulk_client_give(ms);
	free(known);
	cJSON_Delete(existing);
	free(skip);
	free(entries);
	return rc;
}

static const struct gb_storage_ops mongo_ops = {
    .size = sizeof(struct gb_storage_ops),
    .open = mongo_open,
    .insert = mongo_insert,
    .get = mongo_get,
    .list = mongo_list,
    .remove = mongo_remove,
    .count = mongo_count,
    .ping = mongo_ping,
    .close = mongo_close,
    .insert_once = mongo_insert_once,
    .scan = mongo_scan,
    .import = mongo_import,
    .insert_many = mongo_insert_many,
};

/* --- plugin ------------------------------------------------------------------
 */

static void mongo_store_free(struct mongo_store *ms)
{
	pthread_mutex_destroy(&ms->ping_lock);
	pthread_mutex_destroy(&ms->outage_lock);
	pthread_mutex_destroy(&ms->bulk_lock);
	free(ms);
}

/*
 * The store's state is allocated here and registered as the `store`
 * argument of every operation; open fills it, close empties it, fini
 * frees it (the host closes the store before any plugin's fini).
 */
static int mongo_init(struct gb_plugin *plugin, const struct gb_host_api *host)
{
	struct mongo_store *ms = calloc(1, sizeof(*ms));

	api = host;
	self = plugin;
	if (!ms) {
		api->init_error(plugin, "out of memory");
		return 1;
	}
	if (pthread_mutex_init(&ms->ping_lock, NULL) ||
	    pthread_mutex_init(&ms->outage_lock, NULL) ||
	    pthread_mutex_init(&ms->bulk_lock, NULL)) {
		free(ms);
		api->init_error(plugin, "cannot create a mutex");
		return 1;
	}
	/* before mongoc_init: the driver prints to stdout otherwise */
	mongoc_log_set_handler(driver_log, ms);
	mongoc_log_trace_disable();
	mongoc_init();
	if (api->storage_register(plugin, "mongo", &mongo_ops, ms) != GB_OK) {
		mongoc_log_set_handler(NULL, NULL);
		mongo_store_free(ms);
		api->init_error(plugin, "cannot register the storage back "
					"end \"mongo\"");
		return 1;
	}
	registered = ms;
	return 0;
}

/*
 * mongoc_cleanup() is deliberately not called: the driver can be
 * initialised only once per process, and a process that embeds the host
 * (the tests) may load this plugin again.
 */
static void mongo_fini(struct gb_plugin *plugin)
{
	struct mongo_store *ms = registered;

	(void)plugin;
	registered = NULL;
	/* the handler lives in this object, which may be unloaded now */
	mongoc_log_set_handler(NULL, NULL);
	if (ms) {
		mongo_close(ms);
		mongo_store_free(ms);
	}
	api = NULL;
}

static const struct gb_setting mongo_settings[] = {
    {"uri", GB_SETTING_STRING, NULL, 0, 0, NULL,
     "MongoDB URI (default from db_addr)", GB_SETTING_SECRET, NULL},
    {"addr", GB_SETTING_STRING, NULL, 0, 0, NULL,
     "legacy: [user:pass@]host:port of MongoDB, db guestbook",
     GB_SETTING_SECRET, "db_addr"},
    {"write_concern", GB_SETTING_STRING, "majority", 0, 0, NULL,
     "write concern w: majority or a number", 0, NULL},
    {"timeout_ms", GB_SETTING_INT, "2000", 100, 60000, NULL,
     "MongoDB server selection and socket timeout", 0, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

GB_PLUGIN(GB_PLUGIN_STORAGE, "mongo", "2.0.0",
	  "MongoDB store (libmongoc pool, legacy guestbook layout)",
	  mongo_settings, mongo_init, mongo_fini);
