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
 *      and minor, struct size, kind, name, version) BEFORE running any plugin
 *      code, and refuses a mismatch with one log line naming the file.
 *   2. The host calls `init(plugin, api, &err)`. Routes, metrics and storage
 *      back ends may be registered only during `init`; afterwards the
 *      registration functions fail with GB_ERR_STATE. On failure `init`
 *      returns non-zero and sets `*err` to a message (allocated with
 *      api->strdup or a static string with GB_ERR_STATIC), which the host
 *      logs with the plugin's path before it exits with status 2.
 *   3. Requests are served. Handlers run concurrently on civetweb's worker
 *      threads: everything a plugin shares between requests must be
 *      thread-safe.
 *   4. At shutdown the host calls `fini(plugin)` in reverse load order, after
 *      the last request has finished.
 *
 * Compatibility
 * -------------
 *   GB_ABI_MAJOR changes when an existing slot changes meaning: the host
 *   refuses plugins built for another major. GB_ABI_MINOR grows when slots
 *   are appended to `struct gb_host_api` or `struct gb_storage_ops`: structs
 *   only ever grow at the end, so a plugin built for an older minor keeps
 *   working, and a plugin built for a newer minor than the host is refused.
 *   Check `api->size` before using a slot added after GB_ABI_MINOR 0.
 *
 * Memory
 * ------
 *   Strings and cJSON values passed INTO host functions are borrowed: the
 *   host copies what it keeps. Values the host RETURNS are owned by the
 *   caller when the comment says "caller frees"; free them with api->free()
 *   (strings) or cJSON_Delete() (documents). Everything else returned stays
 *   owned by the host.
 *
 * Building
 * --------
 *   cc -std=c11 -fPIC -fvisibility=hidden -shared -Icore/include \
 *      -o myplugin.so myplugin.c -lcjson
 *   Only the descriptor is exported (GB_PLUGIN marks it visible).
 *   See plugins/example/ for a complete plugin.
 */
#ifndef GUESTBOOK_PLUGIN_H
#define GUESTBOOK_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version this header describes. */
#define GB_ABI_MAJOR 1
#define GB_ABI_MINOR 2

/* First field of every descriptor: "GBPL" in ASCII. */
#define GB_PLUGIN_MAGIC 0x4742504cU

/* Name of the one symbol a plugin exports. */
#define GB_PLUGIN_SYMBOL "gb_plugin_descriptor"

/* Longest id a storage back end may return, including the NUL. */
#define GB_ID_MAX 64

/* Kinds of plugin. A plugin has exactly one kind. */
enum gb_plugin_kind {
	GB_PLUGIN_ROUTE = 1,   /* registers HTTP routes */
	GB_PLUGIN_STORAGE = 2, /* registers a storage back end */
	GB_PLUGIN_METRICS = 3, /* exports the metrics registry */
};

/* Result codes of host and storage functions. 0 is success. */
enum gb_status {
	GB_OK = 0,
	GB_ERR_INVALID = 1,     /* bad argument: bad id, bad cursor, bad doc */
	GB_ERR_NOT_FOUND = 2,   /* no such document */
	GB_ERR_UNAVAILABLE = 3, /* storage or backend cannot be reached now */
	GB_ERR_EXISTS = 4,      /* a route or name is already registered */
	GB_ERR_STATE = 5,       /* call not allowed now (e.g. after init) */
	GB_ERR_NOMEM = 6,       /* out of memory */
	GB_ERR_INTERNAL = 7,    /* anything else; see the error message */
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

/* HTTP methods a route may accept; combine with |. */
enum gb_method {
	GB_GET = 1 << 0,
	GB_HEAD = 1 << 1, /* GET routes answer HEAD automatically */
	GB_POST = 1 << 2,
	GB_PUT = 1 << 3,
	GB_DELETE = 1 << 4,
	GB_PATCH = 1 << 5,
	GB_OPTIONS = 1 << 6,
};

struct gb_plugin;      /* opaque: one loaded plugin */
struct gb_request;     /* opaque: one request and its response */
struct gb_metric;      /* opaque: one metric family */
struct gb_series;      /* opaque: one labelled series of a family */
struct gb_span;        /* opaque: one open trace span */
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
 * Per-call context handed to storage back ends: the id of the request that
 * caused the call (to propagate to a remote backend) and the client address.
 * Both may be NULL (calls made outside a request, e.g. readiness pings).
 */
struct gb_store_ctx {
	const char *request_id;
	const char *client_addr;
};

/* ---------------------------------------------------------------------- */
/* The descriptor                                                          */
/* ---------------------------------------------------------------------- */

/*
 * init: called once after the descriptor checks passed. `self` identifies
 * the plugin in every host call that takes one. Return 0 on success; on
 * failure return non-zero and point *err at a message the host may free
 * with api->free() (use api->strdup), or at a string literal if the plugin
 * sets *err_static to 1.
 */
typedef int (*gb_plugin_init_fn)(struct gb_plugin *self,
				 const struct gb_host_api *api, char **err,
				 int *err_static);

/* fini: called once at shutdown, after the last request. May be NULL. */
typedef void (*gb_plugin_fini_fn)(struct gb_plugin *self);

/*
 * The exported descriptor. Pure data: the host reads it before it runs any
 * code of the plugin. Fill it with GB_PLUGIN(); never by hand.
 */
struct gb_plugin_descriptor {
	uint32_t magic;          /* GB_PLUGIN_MAGIC */
	uint16_t abi_major;      /* GB_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;      /* GB_ABI_MINOR the plugin was built with */
	uint32_t size;           /* sizeof(struct gb_plugin_descriptor) */
	uint32_t kind;           /* enum gb_plugin_kind */
	const char *name;        /* [a-z0-9_]{1,32}; unique among plugins */
	const char *version;     /* the plugin's own version, e.g. "1.0.0" */
	const char *description; /* one line for logs and --help */
	gb_plugin_init_fn init;  /* required */
	gb_plugin_fini_fn fini;  /* optional */
	void *reserved[4];       /* zero; room to grow without a new major */
};

#define GB_EXPORT __attribute__((visibility("default")))

/*
 * GB_PLUGIN(kind, name, version, description, init, fini)
 * Defines the plugin's descriptor. Use exactly once per plugin, at file
 * scope:
 *
 *   GB_PLUGIN(GB_PLUGIN_ROUTE, "example", "1.0.0", "Says hello",
 *             example_init, example_fini);
 */
#define GB_PLUGIN(kind_, name_, version_, desc_, init_, fini_)               \
	GB_EXPORT const struct gb_plugin_descriptor gb_plugin_descriptor = {   \
		.magic = GB_PLUGIN_MAGIC,                                      \
		.abi_major = GB_ABI_MAJOR,                                     \
		.abi_minor = GB_ABI_MINOR,                                     \
		.size = sizeof(struct gb_plugin_descriptor),                   \
		.kind = (kind_),                                               \
		.name = (name_),                                               \
		.version = (version_),                                         \
		.description = (desc_),                                        \
		.init = (init_),                                               \
		.fini = (fini_),                                               \
		.reserved = {0},                                               \
	}

/* ---------------------------------------------------------------------- */
/* Routes                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * A route handler. Runs on a worker thread. It must answer exactly once
 * through one of the api->respond* functions before it returns; a handler
 * that returns without answering produces a 500 `internal` JSON error.
 * The host writes the response (status, headers and body in one write),
 * logs the access line and updates the request metrics afterwards.
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
 * Every function receives the back end's state (`store`, as registered),
 * a context and an error to fill on failure, and returns enum gb_status.
 * All functions may be called concurrently from many threads.
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
	 * Inserts `doc` (a JSON object) into `collection` and writes the new
	 * id into id_out (GB_ID_MAX bytes). When it returns GB_OK the
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
	 * Lists up to `limit` (>= 1) documents, newest first, starting after
	 * the position `cursor` (NULL or "" for the newest). On GB_OK
	 * *docs_out is a new array (caller frees with cJSON_Delete) and
	 * *next_cursor is NULL when there is nothing older, else an opaque
	 * string of [A-Za-z0-9_-] (caller frees with free()). A cursor this
	 * back end did not produce: GB_ERR_INVALID.
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
	 * Checks that the store can serve requests now (readiness). Must
	 * answer within about one second; GB_ERR_UNAVAILABLE otherwise.
	 */
	enum gb_status (*ping)(void *store, struct gb_error *err);

	/* Releases everything. Called once at shutdown. May be NULL. */
	void (*close)(void *store);
};

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
	size_t bucket_count;          /* histograms: upper bounds, no +Inf */
	const double *bucket_bounds;  /* ascending */
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
	 * Added in ABI 1.2 (read it only when api->abi_minor >= 2):
	 * histograms, bucket_count + 1 entries (the last is +Inf), the
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
		    const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/*
	 * Returns the value of a setting by its key (the config-file
	 * spelling of the settings table, e.g. "rate_limit",
	 * "sqlite_path"), after defaults, file, environment and flags were
	 * applied, or NULL when it is unset. Unknown keys return NULL.
	 * Owned by the host; valid for the process lifetime.
	 */
	const char *(*config_get)(const char *key);

	/* malloc-compatible allocation helpers, for values the host frees. */
	void *(*alloc)(size_t n);
	char *(*strdup)(const char *s);
	void (*free)(void *p);

	/* --- Registration (only during init) ------------------------- */

	/*
	 * Registers `handler` for the methods in `methods` (enum gb_method
	 * bits) on `pattern`. Patterns are absolute paths where a segment
	 * may be a parameter "{name}" (matches one non-empty segment), and
	 * the last segment may be "*" (matches the rest, possibly empty):
	 *   "/messages", "/api/v1/messages/{id}", "/static/" followed by "*".
	 * The pattern is also the `route` label of the request metrics.
	 * A request whose path matches a pattern but not its methods gets a
	 * 405 with `Allow`; one that matches nothing gets a 404 JSON error.
	 * `max_body` is the largest request body accepted (0: the host's
	 * default, 16 KiB); a larger one gets a 413 before it is read.
	 * Returns GB_ERR_EXISTS if pattern and a method are taken,
	 * GB_ERR_INVALID for a malformed pattern, GB_ERR_STATE after init.
	 */
	enum gb_status (*route_add)(struct gb_plugin *self, unsigned methods,
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
	 * 10 s). Returns NULL on a bad name, a duplicate name, or after
	 * init. The family lives until the process exits.
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
	 * The client address: the peer IP, or the last X-Forwarded-For
	 * entry when the `trust_proxy` setting is on.
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
	 * handler set none.
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

	/* Name of the configured store ("sqlite"), for logs and labels. */
	const char *(*store_name)(void);

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

	/* --- Added in ABI 1.1 (check api->size before use) ------------ */

	/*
	 * A number that changes whenever an insert or remove through this
	 * process's store_* functions succeeds. Plugins that cache rendered
	 * views of the store compare it to drop stale entries at once;
	 * writes made by other processes are not seen here.
	 */
	uint64_t (*store_generation)(void);

	/* --- Added in ABI 1.2 (check api->size before use) ------------ */

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
};

/* True when the host table has `slot` (a plugin built for a newer minor
 * than the host it runs in must not call slots the host lacks). */
#define GB_HOST_HAS(api, slot)                                                 \
	((api)->size >= offsetof(struct gb_host_api, slot) +                   \
				sizeof(((struct gb_host_api *)0)->slot))

#ifdef __cplusplus
}
#endif

#endif /* GUESTBOOK_PLUGIN_H */
