/*
 * guestbook/plugin.h - the guestbookd plugin API.
 *
 * This header is the only interface between guestbookd (the host) and its
 * plugins. A plugin is a shared object that exports exactly one symbol, a
 * constant descriptor named `gb_plugin_descriptor`, defined with the
 * GB_PLUGIN() macro below. Everything a plugin does afterwards goes through
 * the table of host functions (`struct gb_host_api`) it receives in `init`.
 * Plugins never call core symbols directly and never write to a socket.
 *
 * Life cycle
 * ----------
 *   1. The host dlopen()s the file with RTLD_NOW | RTLD_LOCAL and looks up
 *      `gb_plugin_descriptor`. It checks the descriptor (magic, ABI major
 *      and minor, struct size, kind, name, version, settings table) BEFORE
 *      running any plugin code, and refuses a mismatch with one line naming
 *      the file, then exits with status 2.
 *   2. The host reads the plugin's settings (declared in the descriptor,
 *      see "Settings") from the config file, the environment and the flags
 *      and validates them. A bad value stops the start with one line naming
 *      the plugin and the setting; init never sees an invalid value.
 *   3. The host calls `init(self, api)`. Routes, metrics and storage back
 *      ends may be registered only during `init`; afterwards the
 *      registration functions fail with GB_ERR_STATE. On failure `init`
 *      calls api->init_error(self, fmt, ...) and returns non-zero; the host
 *      prints that message after the plugin's path and exits with status 2.
 *   4. Requests are served. Handlers run concurrently on civetweb's worker
 *      threads: everything a plugin shares between requests must be
 *      thread-safe.
 *   5. At shutdown the host calls `fini(self)` in reverse load order, after
 *      the last request has finished.
 *
 * Compatibility
 * -------------
 *   GB_ABI_MAJOR changes when an existing slot changes meaning: the host
 *   refuses plugins built for another major with one line ("built for ABI
 *   1.1, this guestbookd speaks 2.0"). GB_ABI_MINOR grows when slots are
 *   appended to `struct gb_host_api` or `struct gb_storage_ops`: structs
 *   only ever grow at the end, so a plugin built for an older minor keeps
 *   working in a newer host. A plugin built for a newer minor than the host
 *   is refused at load, so every slot named in the header a plugin was
 *   built with exists in the host that runs it: no run-time checks needed.
 *
 *   ABI 2.0 (this header) changed, from 1.x: init takes (self, api) and
 *   reports failure through api->init_error; the descriptor carries the
 *   plugin's settings (GB_PLUGIN takes a settings table, NULL for none);
 *   route_add takes exactly one method per handler; storage ops gained
 *   `count` (after `remove`); the kind GB_PLUGIN_METRICS is gone (an
 *   exporter is a route plugin); GB_HOST_HAS is gone (see above); new
 *   host slots init_error, setting_get, setting_int, setting_bool,
 *   store_count, format_time, store_insert_once (and the optional storage
 *   ops insert_once, scan, import, backup after close); store_generation
 *   moved next to store_name.
 *   Slots moved, so every 1.x plugin must be rebuilt against this header.
 *
 *   ABI 2.1 added the storage op insert_many (after backup) and the host
 *   slots store_insert_many and rate_limit_take_for (after
 *   trace_client_end), with struct gb_insert_item.
 *
 * Memory
 * ------
 *   Strings and cJSON values passed INTO host functions are borrowed: the
 *   host copies what it keeps. Values the host RETURNS are owned by the
 *   caller when the comment says "caller frees"; free them with api->free()
 *   (strings) or cJSON_Delete() (documents). Everything else returned stays
 *   owned by the host. Strings a storage back end hands to the host
 *   (next_cursor) are allocated with api->alloc or api->strdup.
 *
 * cJSON
 * -----
 *   cJSON values cross this interface, so host and plugins must use one
 *   cJSON: link the plugin with -lcjson (the shared libcjson.so.1 that
 *   guestbookd itself uses; the dynamic loader then resolves both to the
 *   same copy), never with a static or vendored copy, and never call
 *   cJSON_InitHooks (the host allocates documents that plugins free, and
 *   the other way round). The header requires cJSON 1.7 or newer in the
 *   1.x series (checked below at compile time); `struct cJSON` has kept its
 *   layout since 1.0, so a plugin built against any 1.7.x works with the
 *   host's.
 *
 * Limits
 * ------
 *   GB_ROUTE_PARAMS_MAX path parameters per pattern, GB_PATTERN_MAX bytes
 *   per pattern, GB_ROUTES_MAX routes (pattern and method pairs) in all
 *   (the host's GET /health and GET /ready among them),
 *   GB_PLUGINS_MAX plugins loaded (storage included), one storage back end
 *   opened (the `storage` setting chooses it among those registered),
 *   GB_SETTINGS_MAX settings per plugin, GB_STORE_LIST_MAX documents per
 *   list call, GB_ID_MAX bytes per id.
 *
 * Building
 * --------
 *   cc -std=c11 -fPIC -fvisibility=hidden -shared \
 *      $(pkg-config --cflags guestbook-plugin) -o myplugin.so myplugin.c \
 *      $(pkg-config --libs guestbook-plugin)
 *   Only the descriptor is exported (GB_PLUGIN marks it visible). Install
 *   the file in $(pkg-config --variable=plugindir guestbook-plugin).
 *   plugins/example/example.c in the source tree is a complete plugin.
 */
#ifndef GUESTBOOK_PLUGIN_H
#define GUESTBOOK_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#if !defined(CJSON_VERSION_MAJOR) || CJSON_VERSION_MAJOR != 1 ||               \
    CJSON_VERSION_MINOR < 7
#error "guestbook/plugin.h needs cJSON 1.7 or newer in the 1.x series"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version this header describes. */
#define GB_ABI_MAJOR 2
#define GB_ABI_MINOR 1

/* First field of every descriptor: "GBPL" in ASCII. */
#define GB_PLUGIN_MAGIC 0x4742504cU

/* Name of the one symbol a plugin exports. */
#define GB_PLUGIN_SYMBOL "gb_plugin_descriptor"

/* Longest id a storage back end may return, including the NUL. */
#define GB_ID_MAX 64

/* Limits of the host (see "Limits" above). */
#define GB_ROUTE_PARAMS_MAX 4	 /* "{name}" segments per pattern */
#define GB_PATTERN_MAX	    256	 /* bytes per route pattern */
#define GB_ROUTES_MAX	    128	 /* pattern and method pairs, all plugins */
#define GB_PLUGINS_MAX	    32	 /* plugins loaded, storage included */
#define GB_SETTINGS_MAX	    32	 /* settings one plugin declares */
#define GB_STORE_LIST_MAX   1000 /* largest `limit` of a list call */

/*
 * Character sets of the words guestbookd checks, for plugins to check
 * them the same way: names of plugins, settings and collections
 * ([a-z][a-z0-9_]*), list cursors (next_cursor: [A-Za-z0-9_-]) and
 * tokens (X-Request-Id and Idempotency-Key: [A-Za-z0-9_.:-]).
 */
#define GB_CHARSET_NAME "abcdefghijklmnopqrstuvwxyz0123456789_"
#define GB_CHARSET_CURSOR                                                      \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#define GB_CHARSET_TOKEN GB_CHARSET_CURSOR ".:"

/*
 * 1 when `s` (may be NULL) is 1 to `max` bytes, each of them in `charset`,
 * else 0. Inline: no host call.
 */
static inline int gb_is_word(const char *s, const char *charset, size_t max)
{
	size_t n = s ? strspn(s, charset) : 0;

	return n > 0 && n <= max && s[n] == '\0';
}

/* 1 when `s` is a name of 1 to `max` bytes: [a-z][a-z0-9_]*. Inline. */
static inline int gb_is_name(const char *s, size_t max)
{
	return s && s[0] >= 'a' && s[0] <= 'z' &&
	       gb_is_word(s, GB_CHARSET_NAME, max);
}

/*
 * Seconds a client is told to wait (Retry-After) after a 503 for
 * something unavailable, a store or the server itself: long enough for a
 * store's one-second outage window and a restarting backend's next
 * readiness ping, short enough that a person resubmitting a form does not
 * wait noticeably longer than the outage. respond_error's default for a
 * 503; the bundled plugins send it on every storage 503.
 */
#define GB_RETRY_AFTER_UNAVAILABLE "2"

/* Size of a buffer for api->format_time ("2026-11-26T06:00:00.123Z"). */
#define GB_TIME_MAX 32

/*
 * Kinds of plugin. A plugin has exactly one kind: route plugins are listed
 * in the `plugins` setting, a storage plugin is chosen by `storage`. (ABI
 * 1.x had a third kind for exporters, loaded exactly like a route plugin;
 * an exporter is a route plugin that calls metrics_visit.)
 */
enum gb_plugin_kind {
	GB_PLUGIN_ROUTE = 1,   /* registers HTTP routes and metrics */
	GB_PLUGIN_STORAGE = 2, /* registers a storage back end */
};

/* Result codes of host and storage functions. 0 is success. */
enum gb_status {
	GB_OK = 0,
	GB_ERR_INVALID = 1,	/* bad argument: bad id, bad cursor, bad doc */
	GB_ERR_NOT_FOUND = 2,	/* no such document */
	GB_ERR_UNAVAILABLE = 3, /* storage or backend cannot be reached now */
	GB_ERR_EXISTS = 4,	/* a route or name is already registered */
	GB_ERR_STATE = 5,	/* call not allowed now (e.g. after init) */
	GB_ERR_NOMEM = 6,	/* out of memory */
	GB_ERR_INTERNAL = 7,	/* anything else; see the error message */
	GB_ERR_UNSUPPORTED = 8, /* the back end does not offer this call
				   (count on the http store, delete on a
				   backend that has no ids) */
};

/* Log levels, lowest to highest. */
enum gb_log_level {
	GB_LOG_DEBUG = 0,
	GB_LOG_INFO = 1,
	GB_LOG_WARN = 2,
	GB_LOG_ERROR = 3,
};

/* Metric types of the registry. */
enum gb_metric_type {
	GB_METRIC_COUNTER = 1,
	GB_METRIC_GAUGE = 2,
	GB_METRIC_HISTOGRAM = 3,
};

/* HTTP methods; route_add takes exactly one. */
enum gb_method {
	GB_GET = 1 << 0,
	GB_HEAD = 1 << 1, /* not registered: the GET handler answers HEAD */
	GB_POST = 1 << 2,
	GB_PUT = 1 << 3,
	GB_DELETE = 1 << 4,
	GB_PATCH = 1 << 5,
	GB_OPTIONS = 1 << 6,
};

struct gb_plugin;  /* opaque: one loaded plugin */
struct gb_request; /* opaque: one request and its response */
struct gb_metric;  /* opaque: one metric family */
struct gb_series;  /* opaque: one labelled series of a family */
struct gb_span;	   /* opaque: one open trace span */
struct gb_host_api;

/*
 * An error returned by a storage function: a status and a message for the
 * log or the client. `message` is a fixed buffer, always NUL-terminated.
 */
struct gb_error {
	enum gb_status status;
	char message[256];
};

/*
 * Fills *err (may be NULL) with `status` and a printf-like message, cut to
 * fit `message` and always NUL-terminated, and returns `status`, so a
 * storage operation can end with
 *   return gb_error_set(err, GB_ERR_INVALID, "bad id %s", id);
 * gb_error_vset takes a va_list. Both are inline: no host call.
 */
static inline enum gb_status gb_error_vset(struct gb_error *err,
					   enum gb_status status,
					   const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static inline enum gb_status
gb_error_set(struct gb_error *err, enum gb_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline enum gb_status gb_error_vset(struct gb_error *err,
					   enum gb_status status,
					   const char *fmt, va_list ap)
{
	if (err) {
		err->status = status;
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
	}
	return status;
}

static inline enum gb_status
gb_error_set(struct gb_error *err, enum gb_status status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gb_error_vset(err, status, fmt, ap);
	va_end(ap);
	return status;
}

/*
 * Per-call context handed to storage back ends: the id of the request that
 * caused the call (to propagate to a remote backend) and the client address.
 * Both may be NULL (calls made outside a request, e.g. readiness pings).
 */
struct gb_store_ctx {
	const char *request_id;
	const char *client_addr;
};

/* Most documents in one insert_many / store_insert_many call. */
#define GB_INSERT_MANY_MAX 100

/*
 * One document of insert_many: doc and key are the caller's (borrowed),
 * the rest is filled by the store (or the host).
 */
struct gb_insert_item {
	const cJSON *doc; /* a JSON object */
	const char *key;  /* idempotency key; NULL or "": none */
	char id[GB_ID_MAX];
	int repeated; /* 1: the key was known, id is the first document's */
	enum gb_status status;
	struct gb_error err; /* the reason when status is not GB_OK */
};

/* ---------------------------------------------------------------------- */
/* Settings                                                                */
/* ---------------------------------------------------------------------- */

/*
 * A plugin declares its settings in its descriptor: an array of struct
 * gb_setting ended by an entry whose key is NULL. For a plugin named NAME
 * and a setting KEY the host accepts three spellings, with the same
 * precedence as its own settings (defaults < config file < environment <
 * flags):
 *
 *   config-file key  NAME_KEY            e.g. example_greeting = Bonjour
 *   environment      GUESTBOOK_NAME_KEY  e.g. GUESTBOOK_EXAMPLE_GREETING
 *   flag             --NAME-KEY          e.g. --example-greeting Bonjour
 *
 * `legacy` names an older file key the setting also answers to, with its
 * environment (GUESTBOOK_ and the key in capitals) and flag spellings
 * (e.g. "list_cache_ms": GUESTBOOK_LIST_CACHE_MS, --list-cache-ms).
 * Several plugins may carry the same legacy name if they give it the same
 * type and secrecy (the value then reaches each of them); when both
 * spellings are given at one level, the NAME_KEY one wins. A NAME_KEY or
 * legacy name may not be a key of the host's own or another plugin's.
 *
 * The host never prints the value of a GB_SETTING_SECRET setting: --help
 * shows its default as ****, so does the debug log of the settings, and
 * errors about it do not quote the value (the plugin must not log it
 * either). Each secret also has a _FILE variant (NAME_KEY_file,
 * GUESTBOOK_NAME_KEY_FILE, --NAME-KEY-file, and the same for its legacy
 * name) naming a file whose content is the value, with surrounding
 * whitespace removed (at most 4096 bytes, no NUL bytes, not empty). A
 * value and a file given at one level: the value wins. An unusable file
 * stops the start with one line naming it.
 *
 * The host validates every value before init runs: integers in [min, max]
 * (decimal), booleans (on/off, true/false, yes/no, 1/0), enums among
 * `choices`. Unknown keys in the config file and unknown flags stop the
 * start (exit 2); a bad value stops it with one line naming the plugin
 * and the setting. Read the values with api->setting_get / setting_int /
 * setting_bool.
 */
enum gb_setting_type {
	GB_SETTING_STRING = 1,
	GB_SETTING_INT = 2,  /* a long in [min, max] */
	GB_SETTING_BOOL = 3, /* on/off */
	GB_SETTING_ENUM = 4, /* one of `choices` */
};

/* Flags of a setting. */
#define GB_SETTING_SECRET 1u /* masked in --help and logs; has a _FILE form */

struct gb_setting {
	const char *key; /* [a-z][a-z0-9_]{0,31}, without NAME_ */
	enum gb_setting_type type;
	const char *def;     /* default as text, NULL for unset */
	long min, max;	     /* GB_SETTING_INT: inclusive range */
	const char *choices; /* GB_SETTING_ENUM: "a|b|c" */
	const char *help;    /* one line for --help */
	unsigned flags;	     /* GB_SETTING_SECRET or 0 */
	const char *legacy;  /* older file key it answers to, or NULL */
};

/* ---------------------------------------------------------------------- */
/* The descriptor                                                          */
/* ---------------------------------------------------------------------- */

/*
 * init: called once, after the descriptor checks passed and the plugin's
 * settings were read and validated. `self` identifies the plugin in every
 * host call that takes one. Return 0 on success. On failure call
 * api->init_error(self, fmt, ...) with the reason and return non-zero; the
 * host prints "plugin PATH: error during initialization: REASON" and exits
 * with status 2.
 */
typedef int (*gb_plugin_init_fn)(struct gb_plugin *self,
				 const struct gb_host_api *api);

/* fini: called once at shutdown, after the last request. May be NULL. */
typedef void (*gb_plugin_fini_fn)(struct gb_plugin *self);

/*
 * The exported descriptor. Pure data: the host reads it before it runs any
 * code of the plugin. Fill it with GB_PLUGIN(); never by hand.
 */
struct gb_plugin_descriptor {
	uint32_t magic;		 /* GB_PLUGIN_MAGIC */
	uint16_t abi_major;	 /* GB_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;	 /* GB_ABI_MINOR the plugin was built with */
	uint32_t size;		 /* sizeof(struct gb_plugin_descriptor) */
	uint32_t kind;		 /* enum gb_plugin_kind */
	const char *name;	 /* [a-z][a-z0-9_]{0,31}; unique */
	const char *version;	 /* the plugin's own version, e.g. "1.0.0" */
	const char *description; /* one line for --help */
	const struct gb_setting *settings; /* ended by key NULL; may be NULL */
	gb_plugin_init_fn init;		   /* required */
	gb_plugin_fini_fn fini;		   /* optional */
	void *reserved[4]; /* zero; room to grow without a new major */
};

#define GB_EXPORT __attribute__((visibility("default")))

/*
 * GB_PLUGIN(kind, name, version, description, settings, init, fini)
 * Defines the plugin's descriptor. Use exactly once per plugin, at file
 * scope; `settings` may be NULL:
 *
 *   GB_PLUGIN(GB_PLUGIN_ROUTE, "example", "1.0.0", "Says hello",
 *             example_settings, example_init, example_fini);
 */
#define GB_PLUGIN(kind_, name_, version_, desc_, settings_, init_, fini_)      \
	GB_EXPORT const struct gb_plugin_descriptor gb_plugin_descriptor = {   \
	    .magic = GB_PLUGIN_MAGIC,                                          \
	    .abi_major = GB_ABI_MAJOR,                                         \
	    .abi_minor = GB_ABI_MINOR,                                         \
	    .size = sizeof(struct gb_plugin_descriptor),                       \
	    .kind = (kind_),                                                   \
	    .name = (name_),                                                   \
	    .version = (version_),                                             \
	    .description = (desc_),                                            \
	    .settings = (settings_),                                           \
	    .init = (init_),                                                   \
	    .fini = (fini_),                                                   \
	    .reserved = {0},                                                   \
	}

/* ---------------------------------------------------------------------- */
/* Routes                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * A route handler. Runs on a worker thread. It must answer exactly once
 * through one of the api->respond* functions before it returns; a handler
 * that returns without answering produces a 500 `internal` JSON error.
 * After it returns, the host counts the request in the request metrics,
 * writes the response (status, headers and body in one write, unless the
 * headers need more than 1 KiB) and logs the access line.
 * A handler runs only for a request whose header block and body framing
 * the host accepted, and whose body arrived in full within the body
 * deadline; a POST, PUT, PATCH or DELETE that the browser marks as coming
 * from another site (Origin, Sec-Fetch-Site) gets a 403 instead.
 */
typedef void (*gb_route_handler)(struct gb_request *req, void *userdata);

/* ---------------------------------------------------------------------- */
/* Storage back ends                                                       */
/* ---------------------------------------------------------------------- */

/*
 * The storage interface: collections of JSON documents.
 *
 * A document is a cJSON object of the caller's fields. The back end assigns
 * an id on insert, orders a collection by insertion (newest first for list)
 * and adds the id to documents it returns as the string member "id"
 * (replacing any "id" the caller stored). Collection names match
 * [a-z][a-z0-9_]{0,31}; the host checks them before calling the back end.
 *
 * One exception: a back end over a remote that has no ids (the http store
 * speaking the original backend's legacy contract) returns documents whose
 * "id" is JSON null, writes "" as the id of an insert, finds nothing by id,
 * answers remove with GB_ERR_UNSUPPORTED, and cannot keep insert_once's
 * promise (it passes the key on; the original backend ignores it).
 *
 * Every function receives the back end's state (`store`, as registered),
 * a context and an error to fill on failure, and returns enum gb_status.
 * All functions may be called concurrently from many threads.
 *
 * The guestbook's messages live in collection "messages", one document
 * per message (the layout of the original MongoDB backend):
 *
 *   {"author": "Ada", "message": "Hello", "date": 1764136800.123}
 *
 * `author` and `message` are the text as posted (valid UTF-8, checked by
 * the api and web plugins before the insert); `date` is the time of the
 * post in seconds since the Unix epoch as a double, fraction included.
 * The v1 API's `created_at` is derived from `date` by api->format_time;
 * use the same call, so that every plugin shows the same millisecond.
 * Documents from older writers may lack fields or hold other types:
 * check before use.
 */
struct gb_storage_ops {
	/* sizeof(struct gb_storage_ops) as the plugin was built. */
	uint32_t size;

	/*
	 * Opens the store with the host's configuration, creating and
	 * migrating the schema as needed. Called once, after every plugin's
	 * init, before the first request. A failure stops start-up.
	 */
	enum gb_status (*open)(void *store, struct gb_error *err);

	/*
	 * Inserts `doc` (a JSON object: the host refuses anything else with
	 * GB_ERR_INVALID before calling, here as in insert_once and
	 * insert_many) into `collection` and writes the new id into id_out
	 * (GB_ID_MAX bytes). When it returns GB_OK the
	 * document is durable (on disk or acknowledged by the database's
	 * configured write concern).
	 */
	enum gb_status (*insert)(void *store, const struct gb_store_ctx *ctx,
				 const char *collection, const cJSON *doc,
				 char id_out[GB_ID_MAX], struct gb_error *err);

	/*
	 * Reads one document. On GB_OK *doc_out is a new object with "id";
	 * caller frees with cJSON_Delete. Unknown or malformed id:
	 * GB_ERR_NOT_FOUND.
	 */
	enum gb_status (*get)(void *store, const struct gb_store_ctx *ctx,
			      const char *collection, const char *id,
			      cJSON **doc_out, struct gb_error *err);

	/*
	 * Lists up to `limit` (1 to GB_STORE_LIST_MAX; the host refuses
	 * others with GB_ERR_INVALID before calling) documents, newest
	 * first, starting after the position `cursor` (NULL or "" for the
	 * newest). On GB_OK *docs_out is a new array (caller frees with
	 * cJSON_Delete) and *next_cursor is NULL when there is nothing
	 * older, else an opaque string of [A-Za-z0-9_-] allocated with
	 * api->alloc or api->strdup (caller frees with api->free). A cursor
	 * this back end did not produce: GB_ERR_INVALID.
	 */
	enum gb_status (*list)(void *store, const struct gb_store_ctx *ctx,
			       const char *collection, int limit,
			       const char *cursor, cJSON **docs_out,
			       char **next_cursor, struct gb_error *err);

	/* Deletes one document. Unknown id: GB_ERR_NOT_FOUND. */
	enum gb_status (*remove)(void *store, const struct gb_store_ctx *ctx,
				 const char *collection, const char *id,
				 struct gb_error *err);

	/*
	 * Counts the documents of `collection` into *count without reading
	 * them (0 for a collection never written). May be NULL: the host
	 * then answers store_count with GB_ERR_UNSUPPORTED.
	 */
	enum gb_status (*count)(void *store, const struct gb_store_ctx *ctx,
				const char *collection, uint64_t *count,
				struct gb_error *err);

	/*
	 * Checks that the store can serve requests now (readiness). Must
	 * answer within about one second; GB_ERR_UNAVAILABLE otherwise.
	 */
	enum gb_status (*ping)(void *store, struct gb_error *err);

	/* Releases everything. Called once at shutdown. May be NULL. */
	void (*close)(void *store);

	/*
	 * Like insert, but at most once per `key` (1 to GB_IDEMPOTENCY_KEY_MAX
	 * bytes of [A-Za-z0-9_.:-], checked by the host) and collection
	 * within GB_IDEMPOTENCY_WINDOW_S seconds: the first call stores doc
	 * and the key together (atomically, or so that a crash in between
	 * cannot store doc twice) and sets *repeated to 0; a later call with
	 * the same key stores nothing, writes the first call's id into
	 * id_out and sets *repeated to 1. After the window the key may be
	 * forgotten, and the same key stores a new document. May be NULL:
	 * the host then inserts every time.
	 */
	enum gb_status (*insert_once)(void *store,
				      const struct gb_store_ctx *ctx,
				      const char *collection, const cJSON *doc,
				      const char *key, char id_out[GB_ID_MAX],
				      int *repeated, struct gb_error *err);

	/*
	 * Moving data (`guestbookd export`, `import` and `backup`). A back
	 * end may leave any of the three NULL: the command then tells the
	 * user this store cannot do it.
	 */

	/*
	 * Calls `each` with every document of `collection`, oldest first
	 * (the reverse of list), each as get returns it (with "id"; borrowed
	 * for the call). Streams: memory stays constant whatever the size
	 * of the collection. Stops at the first non-zero return of `each`
	 * and returns GB_OK then too (the caller knows why it stopped).
	 */
	enum gb_status (*scan)(void *store, const char *collection,
			       int (*each)(void *ud, const cJSON *doc),
			       void *ud, struct gb_error *err);

	/*
	 * Inserts the `n` documents of `docs` in their order, each after
	 * every document already stored (so they list newest first in
	 * reverse order of `docs`), skipping each whose string member
	 * "import_key" (which every document has) equals that of a document
	 * already in `collection` or earlier in `docs`. The key is stored
	 * with the document. *added receives how many were inserted. All
	 * or nothing where the database allows it (SQLite: one
	 * transaction); elsewhere a failure may leave a prefix stored, which
	 * a repeated call completes without duplicates. Callers run one
	 * import at a time per collection.
	 */
	enum gb_status (*import)(void *store, const char *collection,
				 const cJSON *const *docs, size_t n,
				 size_t *added, struct gb_error *err);

	/*
	 * Writes a consistent copy of the whole store to the new file
	 * `path` while other processes keep reading and writing it; the
	 * copy is a store this back end can open. A file already at `path`
	 * is replaced only once the copy is complete and verified.
	 */
	enum gb_status (*backup)(void *store, const char *path,
				 struct gb_error *err);

	/*
	 * insert_once for the `n` items at once (1 to GB_INSERT_MANY_MAX),
	 * stored in their order: item i stores items[i].doc under
	 * items[i].key (NULL or "": a plain insert) exactly as insert_once
	 * would, and fills its id, repeated and status (err when not
	 * GB_OK); a failure that stops them all is written into each. One
	 * failed item does not fail the others. When it returns, every
	 * item with status GB_OK is as durable as insert promises, after
	 * one commit for all of them where the database allows. May be
	 * NULL: the host's store_insert_many then answers
	 * GB_ERR_UNSUPPORTED (one by one, a batch would cost the sum of
	 * its round trips; its caller posts concurrently instead).
	 */
	void (*insert_many)(void *store, const struct gb_store_ctx *ctx,
			    const char *collection,
			    struct gb_insert_item *items, size_t n);
};

/* Longest idempotency key, without the NUL (insert_once). */
#define GB_IDEMPOTENCY_KEY_MAX 128

/* How long stores remember an idempotency key: 10 minutes. */
#define GB_IDEMPOTENCY_WINDOW_S 600

/* True when `ops` (a registered back end) has the optional slot `slot`
 * (set, and inside the struct the plugin was built with). */
#define GB_STORAGE_HAS(ops, slot)                                              \
	((ops)->size >= offsetof(struct gb_storage_ops, slot) +                \
			    sizeof(((struct gb_storage_ops *)0)->slot) &&      \
	 (ops)->slot != NULL)

/* ---------------------------------------------------------------------- */
/* Metrics                                                                 */
/* ---------------------------------------------------------------------- */

/* Read-only view of a family, handed to exporters by metrics_visit. */
struct gb_metric_family_view {
	const char *name;
	const char *help;
	enum gb_metric_type type;
	size_t label_count;
	const char *const *label_names;
	size_t bucket_count;	     /* histograms: upper bounds, no +Inf */
	const double *bucket_bounds; /* ascending */
};

/*
 * Read-only snapshot of one series, handed to exporters by metrics_visit.
 * For histograms, bucket_counts are cumulative (bucket_count + 1 entries,
 * the last is +Inf) and `count` equals the +Inf bucket, so a scrape never
 * shows a torn histogram. For counters and gauges only `value` is set.
 */
struct gb_series_view {
	const char *const *label_values; /* label_count entries */
	double value;
	const uint64_t *bucket_counts;
	uint64_t count;
	double sum;
	/*
	 * Histograms: bucket_count + 1 entries (the last is +Inf), the
	 * traced observation each bucket saw last; NULL otherwise.
	 */
	const struct gb_exemplar *exemplars;
};

/*
 * An exemplar: one observation of a histogram bucket and the trace of the
 * request that made it. trace_id is NULL when the bucket has none yet.
 */
struct gb_exemplar {
	const char *trace_id; /* 32 lowercase hex digits */
	const char *span_id;  /* 16 lowercase hex digits */
	double value;
	double timestamp; /* Unix seconds */
};

/* Callbacks for metrics_visit: one family, then each of its series. */
struct gb_metrics_visitor {
	void (*family)(void *ud, const struct gb_metric_family_view *f);
	void (*series)(void *ud, const struct gb_metric_family_view *f,
		       const struct gb_series_view *s);
};

/* ---------------------------------------------------------------------- */
/* The host API table                                                      */
/* ---------------------------------------------------------------------- */

/*
 * The functions the host offers to plugins, passed to init. The pointer is
 * valid until fini returns; keep it in a static.
 */
struct gb_host_api {
	/* sizeof(struct gb_host_api) as the host was built. */
	uint32_t size;
	/* ABI of the host. */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* --- General ------------------------------------------------- */

	/*
	 * Logs a message at `level` with the plugin's name as logger. The
	 * format is printf-like. Messages below the configured level cost
	 * nothing but the call.
	 */
	void (*log)(struct gb_plugin *self, enum gb_log_level level,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

	/*
	 * Records why init failed (printf-like), for the host's one-line
	 * start-up error. Call it from init before returning non-zero; a
	 * later call replaces the message. Ignored outside init.
	 */
	void (*init_error)(struct gb_plugin *self, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

	/*
	 * The value of the calling plugin's own setting `key` (as declared,
	 * without the NAME_ prefix), after defaults, file, environment and
	 * flags, or NULL when it is unset. setting_int and setting_bool
	 * return the validated number (0 when unset); use them only for
	 * settings declared GB_SETTING_INT or GB_SETTING_BOOL. An undeclared
	 * key returns NULL or 0. Owned by the host; valid until fini returns.
	 */
	const char *(*setting_get)(struct gb_plugin *self, const char *key);
	long (*setting_int)(struct gb_plugin *self, const char *key);
	int (*setting_bool)(struct gb_plugin *self, const char *key);

	/*
	 * The value of any setting by its config-file key: the host's own
	 * ("threads", "rate_limit", "trust_proxy", ... as `guestbookd
	 * --help` lists them) or a loaded plugin's ("sqlite_path", or its
	 * legacy name), or NULL when unset or unknown. For a plugin's own
	 * settings prefer setting_get. Owned by the host; valid until fini.
	 */
	const char *(*config_get)(const char *key);

	/* malloc-compatible allocation helpers, for values the host frees. */
	void *(*alloc)(size_t n);
	char *(*strdup)(const char *s);
	void (*free)(void *p);

	/* --- Registration (only during init) ------------------------- */

	/*
	 * Registers `handler` for `method` (exactly one enum gb_method bit,
	 * not GB_HEAD: a GET handler also answers HEAD, without the body) on
	 * `pattern`; register each method of a pattern with its own handler.
	 * Patterns are absolute paths where a segment
	 * may be a parameter "{name}" (matches one non-empty segment), and
	 * the last segment may be "*" (matches the rest, possibly empty):
	 *   "/messages", "/api/v1/messages/{id}", "/static/" followed by "*".
	 * The pattern is also the `route` label of the request metrics.
	 * At most GB_ROUTE_PARAMS_MAX parameters and GB_PATTERN_MAX bytes.
	 * A request whose path matches a pattern but not its methods gets a
	 * 405 with `Allow` listing the registered methods; one that matches
	 * nothing gets a 404 JSON error. The host matches the path and the
	 * method once per request and calls the one handler.
	 * `max_body` is the largest request body accepted (0: the host's
	 * default, the `max_body` setting); a larger one gets a 413 before it
	 * is read. Returns GB_ERR_EXISTS if pattern and method are taken,
	 * GB_ERR_INVALID for a malformed pattern or not exactly one method,
	 * GB_ERR_NOMEM beyond GB_ROUTES_MAX, GB_ERR_STATE after init.
	 */
	enum gb_status (*route_add)(struct gb_plugin *self, unsigned method,
				    const char *pattern,
				    gb_route_handler handler, void *userdata,
				    size_t max_body);

	/*
	 * Registers a storage back end named `name` ("sqlite", "mongo",
	 * ...): `ops` and `store` (its state) must stay valid until fini.
	 * The configured `storage` setting chooses which registered back end
	 * the host opens and offers through the store_* functions below.
	 */
	enum gb_status (*storage_register)(struct gb_plugin *self,
					   const char *name,
					   const struct gb_storage_ops *ops,
					   void *store);

	/*
	 * Registers a metric family. `label_names` is NULL-terminated (NULL
	 * for none). Histograms take `buckets` ascending upper bounds (no
	 * +Inf), or NULL and 0 for the default latency buckets (100 us to
	 * 10 s). A family that a plugin registered before with the same
	 * name, type, help, labels and buckets is returned again: plugins
	 * counting one thing share it (the api and web plugins both count
	 * guestbook_messages_created_total). Returns NULL on a bad name, on
	 * a name the host took, on a name registered before with another
	 * definition, or after init. The family lives until the process
	 * exits.
	 */
	struct gb_metric *(*metric_register)(struct gb_plugin *self,
					     enum gb_metric_type type,
					     const char *name, const char *help,
					     const char *const *label_names,
					     const double *buckets,
					     size_t bucket_count);

	/* --- Metrics (any time, any thread; lock-free) --------------- */

	/*
	 * Returns the series of `family` with these label values (one per
	 * label name, in order; NULL for a family without labels), creating
	 * it on first use. Lock-free; cache the result for fixed label sets.
	 * Returns NULL when the family's series limit is reached.
	 */
	struct gb_series *(*metric_series)(struct gb_metric *family,
					   const char *const *label_values);

	/* Adds n to a counter series. Exact under concurrency. */
	void (*counter_add)(struct gb_series *s, uint64_t n);

	/* Sets or adds to a gauge series. */
	void (*gauge_set)(struct gb_series *s, double v);
	void (*gauge_add)(struct gb_series *s, double delta);

	/* Records one observation in a histogram series. */
	void (*histogram_observe)(struct gb_series *s, double v);

	/*
	 * Calls the visitor for every family (in registration order) and
	 * every series with a consistent snapshot of its values. For
	 * exporters. Series created while it runs may or may not be seen.
	 */
	void (*metrics_visit)(const struct gb_metrics_visitor *v, void *ud);

	/* --- Requests ------------------------------------------------- */

	/*
	 * The request method as sent ("GET"), and the path without the
	 * query, URL-decoded and with dot segments removed (a path with an
	 * encoded NUL never reaches a handler: the host answers 400).
	 * Owned by the request.
	 */
	const char *(*req_method)(struct gb_request *req);
	const char *(*req_path)(struct gb_request *req);

	/*
	 * The value of path parameter `name` ("{id}" in the pattern), URL-
	 * decoded, or NULL. Owned by the request.
	 */
	const char *(*req_param)(struct gb_request *req, const char *name);

	/*
	 * Copies the URL-decoded value of query parameter `name` into buf
	 * (NUL-terminated). Returns its length, -1 if absent, -2 if it does
	 * not fit in `len` bytes.
	 */
	int (*req_query)(struct gb_request *req, const char *name, char *buf,
			 size_t len);

	/* The value of request header `name` (case-insensitive), or NULL. */
	const char *(*req_header)(struct gb_request *req, const char *name);

	/*
	 * The request body, read in full by the host before the handler
	 * runs (never more than the route's max_body), NUL-terminated.
	 * *len receives its length. Empty body: "" and 0.
	 */
	const char *(*req_body)(struct gb_request *req, size_t *len);

	/*
	 * The client address: the peer IP, or the last entry of the last
	 * X-Forwarded-For line when the `trust_proxy` setting is on.
	 */
	const char *(*req_client)(struct gb_request *req);

	/* The request id (from a valid X-Request-Id, or generated). */
	const char *(*req_id)(struct gb_request *req);

	/*
	 * Adds a response header. Names and values with CR or LF are
	 * refused (GB_ERR_INVALID). The host sets Content-Type,
	 * Content-Length, X-Request-Id and Connection itself.
	 */
	enum gb_status (*res_header)(struct gb_request *req, const char *name,
				     const char *value);

	/*
	 * Answers with `status` (200 to 599), `content_type` and `len`
	 * bytes of `body` (copied). The body is omitted automatically for
	 * HEAD and for 204 and 304 responses.
	 */
	enum gb_status (*respond)(struct gb_request *req, int status,
				  const char *content_type, const void *body,
				  size_t len);

	/* Answers with `status` and `json` printed compactly (borrowed). */
	enum gb_status (*respond_json)(struct gb_request *req, int status,
				       const cJSON *json);

	/*
	 * Answers with the standard JSON error
	 *   {"error":{"code":code,"message":message[,"field":field]}}
	 * `field` may be NULL. 429 and 503 also get `Retry-After` if the
	 * handler set none: 60 for a 429, GB_RETRY_AFTER_UNAVAILABLE for a
	 * 503.
	 */
	enum gb_status (*respond_error)(struct gb_request *req, int status,
					const char *code, const char *message,
					const char *field);

	/* Answers with a redirect (301, 302, 303, 307, 308) to location. */
	enum gb_status (*redirect)(struct gb_request *req, int status,
				   const char *location);

	/* --- Storage (through the host: timed, counted, checked) ------ */

	/*
	 * The same operations as struct gb_storage_ops, on the configured
	 * store. The host times and counts each call in the storage
	 * metrics, fills the context from `req` (may be NULL) and turns a
	 * missing store into GB_ERR_UNAVAILABLE.
	 */
	enum gb_status (*store_insert)(struct gb_request *req,
				       const char *collection, const cJSON *doc,
				       char id_out[GB_ID_MAX],
				       struct gb_error *err);
	enum gb_status (*store_get)(struct gb_request *req,
				    const char *collection, const char *id,
				    cJSON **doc_out, struct gb_error *err);
	enum gb_status (*store_list)(struct gb_request *req,
				     const char *collection, int limit,
				     const char *cursor, cJSON **docs_out,
				     char **next_cursor, struct gb_error *err);
	enum gb_status (*store_remove)(struct gb_request *req,
				       const char *collection, const char *id,
				       struct gb_error *err);

	/*
	 * Counts the documents of `collection` (see gb_storage_ops.count)
	 * without reading them. GB_ERR_UNSUPPORTED when the back end has no
	 * count (the http store).
	 */
	enum gb_status (*store_count)(struct gb_request *req,
				      const char *collection, uint64_t *count,
				      struct gb_error *err);

	/* Name of the configured store ("sqlite"), for logs and labels. */
	const char *(*store_name)(void);

	/*
	 * A number that changes whenever an insert or remove through this
	 * process's store_* functions succeeds. Plugins that cache rendered
	 * views of the store compare it to drop stale entries at once;
	 * writes made by other processes are not seen here.
	 */
	uint64_t (*store_generation)(void);

	/* --- Guestbook services --------------------------------------- */

	/*
	 * Takes one token from the post rate limiter for the request's
	 * client. Returns 0 if allowed, else the seconds to wait (>= 1);
	 * counts guestbook_rate_limited_total when refused. Always 0 when
	 * the `rate_limit` setting is 0.
	 */
	int (*rate_limit_take)(struct gb_request *req);

	/* Monotonic and wall clock, in seconds. */
	double (*now_monotonic)(void);
	double (*now_wall)(void);

	/*
	 * Formats `epoch` (seconds, e.g. a message's `date`) as RFC 3339 UTC
	 * with milliseconds, "2026-11-26T06:00:00.123Z", rounded to the
	 * nearest millisecond exactly as the v1 API's created_at. Returns 0,
	 * or -1 (out empty) for a time outside the years 0000 to 9999 or not
	 * finite.
	 */
	int (*format_time)(double epoch, char out[GB_TIME_MAX]);

	/*
	 * store_insert at most once per idempotency `key` (see insert_once
	 * in struct gb_storage_ops): *repeated is 1 when an earlier call
	 * with this key stored the document whose id is written to id_out.
	 * A malformed key is GB_ERR_INVALID. A store without insert_once
	 * inserts every time (*repeated 0): it offers no protection.
	 */
	enum gb_status (*store_insert_once)(struct gb_request *req,
					    const char *collection,
					    const cJSON *doc, const char *key,
					    char id_out[GB_ID_MAX],
					    int *repeated,
					    struct gb_error *err);

	/*
	 * Tracing an outgoing HTTP call the plugin makes on the worker
	 * thread serving a request (a storage back end's call to a remote
	 * service). Writes the W3C Trace Context headers to send with the
	 * call into `headers` ("traceparent: ...\r\n", then "tracestate:
	 * ...\r\n" when the request carried one; "" without a trace, or
	 * when `len` is too small) and opens a client span, a child of the
	 * storage operation's span. `url` is the full URL called. Returns
	 * the span for trace_client_end, or NULL when there is none to end
	 * (tracing off, or the trace is not sampled).
	 */
	struct gb_span *(*trace_client_begin)(const char *method,
					      const char *server_address,
					      int server_port, const char *url,
					      char *headers, size_t len);

	/*
	 * Ends the span: `status` is the HTTP status of the answer (0 when
	 * none arrived), `error` a reason when the call failed, else NULL.
	 * The span is an error on `error` or a 5xx. NULL span: no-op.
	 */
	void (*trace_client_end)(struct gb_span *span, int status,
				 const char *error);

	/*
	 * store_insert_once for `n` documents of `collection` at once (1 to
	 * GB_INSERT_MANY_MAX; see insert_many in struct gb_storage_ops):
	 * the caller fills doc and key of each item, the host fills id,
	 * repeated, status and err. Returns GB_OK when every item has its
	 * own status, or the error that refused the whole call: a store
	 * without insert_many is GB_ERR_UNSUPPORTED (checked first, so a
	 * call with n 0 asks whether the store can: GB_ERR_INVALID when it
	 * can), a bad collection or n out of range GB_ERR_INVALID.
	 * Malformed keys fail their items alone with GB_ERR_INVALID.
	 */
	enum gb_status (*store_insert_many)(struct gb_request *req,
					    const char *collection,
					    struct gb_insert_item *items,
					    size_t n, struct gb_error *err);

	/*
	 * rate_limit_take for one message a request carries on behalf of
	 * `client` (an IP address, e.g. each member of a front end's batch).
	 * The host believes `client` exactly when it believes
	 * X-Forwarded-For (the trust_proxy setting); otherwise, or when
	 * `client` is NULL or not an address, the request's own client
	 * pays, as with rate_limit_take.
	 */
	int (*rate_limit_take_for)(struct gb_request *req, const char *client);

	/* --- Slots added in later minors go here, at the end. ---------- */
};

#ifdef __cplusplus
}
#endif

#endif /* GUESTBOOK_PLUGIN_H */
