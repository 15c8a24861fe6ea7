#include "storage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "trace.h"

#define MAX_BACKENDS 8

enum op { OP_INSERT, OP_GET, OP_LIST, OP_REMOVE, OP_PING, OP_COUNT, NOPS };
static const char *const op_names[NOPS] = {"insert", "get",  "list",
					   "delete", "ping", "count"};
enum result {
	R_OK,
	R_NOT_FOUND,
	R_INVALID,
	R_UNAVAILABLE,
	R_UNSUPPORTED,
	R_ERROR,
	NRESULTS
};
static const char *const result_names[NRESULTS] = {
    "ok", "not_found", "invalid", "unavailable", "unsupported", "error"};

static struct {
	char name[32];
	const struct gb_storage_ops *ops;
	void *store;
} backends[MAX_BACKENDS];
static size_t nbackends;

static const struct gb_storage_ops *ops;
static void *store;
static const char *store_name = "none";

static struct gb_series *op_count[NOPS][NRESULTS];
static struct gb_series *op_duration[NOPS];
static struct gb_series *up_gauge, *writable_gauge;

static pthread_t pinger;
static int pinger_running;
static pthread_mutex_t ping_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ping_cond = PTHREAD_COND_INITIALIZER;
static int stopping;
static long ping_interval;
static _Atomic int ready_flag;
static _Atomic uint64_t generation = 1;
static char ready_detail[256] = "not checked yet";
/* Whether the last write failed as unavailable, and why (under ping_lock). */
static _Atomic int writes_failing;
static char write_detail[256];

enum gb_status gb_storage_register(const char *name,
				   const struct gb_storage_ops *o, void *s)
{
	if (!name || !*name || strlen(name) >= sizeof backends[0].name || !o ||
	    o->size < offsetof(struct gb_storage_ops, close) || !o->open ||
	    !o->insert || !o->get || !o->list || !o->remove || !o->ping)
		return GB_ERR_INVALID;
	for (size_t i = 0; i < nbackends; i++)
		if (strcmp(backends[i].name, name) == 0)
			return GB_ERR_EXISTS;
	if (nbackends == MAX_BACKENDS)
		return GB_ERR_NOMEM;
	snprintf(backends[nbackends].name, sizeof backends[0].name, "%s", name);
	backends[nbackends].ops = o;
	backends[nbackends].store = s;
	nbackends++;
	return GB_OK;
}

static int register_metrics(char *err, size_t errlen)
{
	static const char *const op_labels[] = {"backend", "operation",
						"result", NULL};
	static const char *const dur_labels[] = {"backend", "operation", NULL};
	static const char *const up_labels[] = {"backend", NULL};
	struct gb_metric *count = gb_metric_register(
	    GB_METRIC_COUNTER, "guestbook_storage_operations_total",
	    "Storage operations by back end, operation and result.", op_labels,
	    NULL, 0, err, errlen);
	struct gb_metric *dur = gb_metric_register(
	    GB_METRIC_HISTOGRAM, "guestbook_storage_operation_duration_seconds",
	    "Duration of storage operations in seconds.", dur_labels, NULL, 0,
	    err, errlen);
	struct gb_metric *up = gb_metric_register(
	    GB_METRIC_GAUGE, "guestbook_storage_up",
	    "1 when the last storage ping succeeded, else 0.", up_labels, NULL,
	    0, err, errlen);
	struct gb_metric *writable = gb_metric_register(
	    GB_METRIC_GAUGE, "guestbook_storage_writable",
	    "0 while the last write failed as unavailable (disk full, "
	    "read-only), else 1.",
	    up_labels, NULL, 0, err, errlen);
	if (!count || !dur || !up || !writable)
		return -1;
	for (int o = 0; o < NOPS; o++) {
		const char *dl[] = {store_name, op_names[o]};
		op_duration[o] = gb_metric_series(dur, dl);
		for (int r = 0; r < NRESULTS; r++) {
			const char *l[] = {store_name, op_names[o],
					   result_names[r]};
			op_count[o][r] = gb_metric_series(count, l);
		}
	}
	const char *ul[] = {store_name};
	up_gauge = gb_metric_series(up, ul);
	writable_gauge = gb_metric_series(writable, ul);
	gb_gauge_set(writable_gauge, 1.0);
	return 0;
}

static enum result classify(enum gb_status st)
{
	switch (st) {
	case GB_OK: return R_OK;
	case GB_ERR_NOT_FOUND: return R_NOT_FOUND;
	case GB_ERR_INVALID: return R_INVALID;
	case GB_ERR_UNAVAILABLE: return R_UNAVAILABLE;
	case GB_ERR_UNSUPPORTED: return R_UNSUPPORTED;
	default: return R_ERROR;
	}
}

static void account(enum op o, enum gb_status st, double started)
{
	gb_counter_add(op_count[o][classify(st)], 1);
	gb_histogram_observe(op_duration[o], gb_now_monotonic() - started);
}

static void do_ping(void)
{
	struct gb_error err = {0};
	double t0 = gb_now_monotonic();
	enum gb_status st = ops->ping(store, &err);
	account(OP_PING, st, t0);
	int ok = st == GB_OK;
	int was = atomic_exchange(&ready_flag, ok);
	pthread_mutex_lock(&ping_lock);
	snprintf(ready_detail, sizeof ready_detail, "%s",
		 ok ? "ok" : (err.message[0] ? err.message : "ping failed"));
	pthread_mutex_unlock(&ping_lock);
	gb_gauge_set(up_gauge, ok ? 1.0 : 0.0);
	if (was != ok)
		gb_log(ok ? GB_LOG_INFO : GB_LOG_WARN, "core",
		       "storage %s is %s%s%s", store_name,
		       ok ? "up" : "down: ", ok ? "" : ready_detail, "");
}

static void *pinger_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ping_lock);
	while (!stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ping_interval / 1000;
		until.tv_nsec += (ping_interval % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ping_cond, &ping_lock, &until);
		if (stopping)
			break;
		pthread_mutex_unlock(&ping_lock);
		do_ping();
		pthread_mutex_lock(&ping_lock);
	}
	pthread_mutex_unlock(&ping_lock);
	return NULL;
}

int gb_storage_open(const char *name, long ping_interval_ms, char *err,
		    size_t errlen)
{
	for (size_t i = 0; i < nbackends; i++) {
		if (strcmp(backends[i].name, name) != 0)
			continue;
		ops = backends[i].ops;
		store = backends[i].store;
		store_name = backends[i].name;
	}
	if (!ops) {
		snprintf(err, errlen,
			 "setting storage: no plugin registered "
			 "storage '%s'",
			 name);
		return -1;
	}
	if (register_metrics(err, errlen) < 0)
		return -1;
	struct gb_error e = {0};
	if (ops->open(store, &e) != GB_OK) {
		snprintf(err, errlen, "storage %s: %s", name,
			 e.message[0] ? e.message : "open failed");
		ops = NULL;
		return -1;
	}
	ping_interval = ping_interval_ms < 100 ? 100 : ping_interval_ms;
	stopping = 0;
	do_ping();
	if (pthread_create(&pinger, NULL, pinger_main, NULL) == 0)
		pinger_running = 1;
	return 0;
}

int gb_storage_writable(char *detail, size_t len)
{
	pthread_mutex_lock(&ping_lock);
	if (detail)
		snprintf(detail, len, "%s",
			 atomic_load(&writes_failing) ? write_detail : "ok");
	pthread_mutex_unlock(&ping_lock);
	return !atomic_load(&writes_failing);
}

int gb_storage_ready(char *detail, size_t len)
{
	pthread_mutex_lock(&ping_lock);
	if (detail)
		snprintf(detail, len, "%s", ops ? ready_detail : "no storage");
	pthread_mutex_unlock(&ping_lock);
	return ops && atomic_load(&ready_flag);
}

void gb_storage_close(void)
{
	if (pinger_running) {
		pthread_mutex_lock(&ping_lock);
		stopping = 1;
		pthread_cond_signal(&ping_cond);
		pthread_mutex_unlock(&ping_lock);
		pthread_join(pinger, NULL);
		pinger_running = 0;
	}
	if (ops &&
	    ops->size >=
		offsetof(struct gb_storage_ops, close) + sizeof ops->close &&
	    ops->close)
		ops->close(store);
	ops = NULL;
	store = NULL;
	store_name = "none";
	nbackends = 0;
	atomic_store(&ready_flag, 0);
	atomic_store(&writes_failing, 0);
}

static enum gb_status precheck(const char *collection, struct gb_error *err)
{
	if (!ops)
		return gb_error_set(err, GB_ERR_UNAVAILABLE, "no storage open");
	if (!gb_is_name(collection, 32))
		return gb_error_set(err, GB_ERR_INVALID,
				    "invalid collection name");
	return GB_OK;
}

static struct gb_store_ctx ctx_of(struct gb_request *req)
{
	struct gb_store_ctx c = {NULL, NULL};
	if (req) {
		c.request_id = req->request_id;
		c.client_addr = req->client;
	}
	return c;
}

/*
 * A store that reads but cannot write (disk full, read-only) still serves
 * the page and the lists: readiness follows pings and reads, and a write
 * failure shows on its own, in /ready's detail and the writable gauge,
 * until a write succeeds.
 */
static void note_write(enum gb_status st, const struct gb_error *err)
{
	int failed = st == GB_ERR_UNAVAILABLE;

	if (!failed && !atomic_load(&writes_failing))
		return;
	pthread_mutex_lock(&ping_lock);
	if (failed)
		snprintf(write_detail, sizeof write_detail, "%s",
			 err->message[0] ? err->message : "write failed");
	int was = atomic_exchange(&writes_failing, failed);
	gb_gauge_set(writable_gauge, failed ? 0.0 : 1.0);
	pthread_mutex_unlock(&ping_lock);
	if (was != failed)
		gb_log(failed ? GB_LOG_WARN : GB_LOG_INFO, "core",
		       "storage %s: writes %s%s", store_name,
		       failed ? "fail: " : "work again",
		       failed ? err->message : "");
}

/* One call into the store: its context, trace span and start time. */
struct call {
	struct gb_store_ctx ctx;
	int span;
	double t0;
};

static struct call call_begin(struct gb_request *req)
{
	struct call c = {ctx_of(req), gb_trace_on ? gb_trace_op_begin() : -1,
			 gb_now_monotonic()};

	return c;
}

static enum gb_status finish(enum op o, enum gb_status st,
			     const struct call *call, const char *collection,
			     struct gb_error *err)
{
	account(o, st, call->t0);
	if (call->span >= 0)
		gb_trace_op_end(call->span, store_name, op_names[o], collection,
				st, err->message);
	err->status = st;
	if (o == OP_INSERT || o == OP_REMOVE) {
		note_write(st, err);
	} else if (st == GB_ERR_UNAVAILABLE) {
		/* Reflect an outage in readiness at once, not at next ping,
		 * and say why: /ready shows this detail. */
		pthread_mutex_lock(&ping_lock);
		snprintf(ready_detail, sizeof ready_detail, "%s",
			 err->message[0] ? err->message
					 : "storage unavailable");
		atomic_store(&ready_flag, 0);
		pthread_mutex_unlock(&ping_lock);
		gb_gauge_set(up_gauge, 0.0);
	}
	return st;
}

/* Whether the store was built with the insert_once slot and fills it. */
static int store_has_insert_once(void)
{
	return ops->size >= offsetof(struct gb_storage_ops, insert_once) +
				sizeof ops->insert_once &&
	       ops->insert_once;
}

int gb_idempotency_key_valid(const char *key)
{
	return gb_is_word(key, GB_CHARSET_TOKEN, GB_IDEMPOTENCY_KEY_MAX);
}

/* Why the host refuses a document before a store sees it, or NULL:
 * `key` NULL or "" for none. */
static const char *doc_refusal(const cJSON *doc, const char *key)
{
	if (!cJSON_IsObject(doc))
		return "a document must be a JSON object";
	if (key && *key && !gb_idempotency_key_valid(key))
		return "an idempotency key must be 1 to 128 characters of "
		       "A-Z a-z 0-9 _ . : -";
	return NULL;
}

/* insert and insert_once: `key` NULL for a plain insert. */
static enum gb_status insert_doc(struct gb_request *req, const char *collection,
				 const cJSON *doc, const char *key,
				 char id_out[GB_ID_MAX], int *repeated,
				 struct gb_error *err)
{
	enum gb_status st = precheck(collection, err);
	if (st != GB_OK)
		return st;
	const char *why = doc_refusal(doc, key);
	if (why) {
		err->status = GB_ERR_INVALID;
		snprintf(err->message, sizeof err->message, "%s", why);
		return GB_ERR_INVALID;
	}
	struct call call = call_begin(req);
	id_out[0] = '\0';
	*repeated = 0;
	if (key && store_has_insert_once())
		st = ops->insert_once(store, &call.ctx, collection, doc, key,
				      id_out, repeated, err);
	else
		st =
		    ops->insert(store, &call.ctx, collection, doc, id_out, err);
	if (st == GB_OK && !*repeated)
		atomic_fetch_add(&generation, 1);
	return finish(OP_INSERT, st, &call, collection, err);
}

enum gb_status gb_store_insert(struct gb_request *req, const char *collection,
			       const cJSON *doc, char id_out[GB_ID_MAX],
			       struct gb_error *err)
{
	int repeated;

	return insert_doc(req, collection, doc, NULL, id_out, &repeated, err);
}

enum gb_status gb_store_insert_once(struct gb_request *req,
				    const char *collection, const cJSON *doc,
				    const char *key, char id_out[GB_ID_MAX],
				    int *repeated, struct gb_error *err)
{
	return insert_doc(req, collection, doc, key ? key : "", id_out,
			  repeated, err);
}

static int store_has_insert_many(void)
{
	return ops->size >= offsetof(struct gb_storage_ops, insert_many) +
				sizeof ops->insert_many &&
	       ops->insert_many;
}

/* An item the host refuses before the store sees it. */
static int item_refused(struct gb_insert_item *it)
{
	const char *why = doc_refusal(it->doc, it->key);

	it->id[0] = '\0';
	it->repeated = 0;
	it->err.status = GB_OK;
	it->err.message[0] = '\0';
	it->status = why ? GB_ERR_INVALID : GB_OK;
	if (why)
		snprintf(it->err.message, sizeof it->err.message, "%s", why);
	it->err.status = it->status;
	return why != NULL;
}

enum gb_status gb_store_insert_many(struct gb_request *req,
				    const char *collection,
				    struct gb_insert_item *items, size_t n,
				    struct gb_error *err)
{
	enum gb_status st = precheck(collection, err);
	struct gb_insert_item *todo[GB_INSERT_MANY_MAX];
	size_t ntodo = 0, stored = 0;

	if (st != GB_OK)
		return st;
	if (!store_has_insert_many()) {
		/* one by one here would serialise the whole batch's round
		 * trips: the caller does better posting them concurrently */
		err->status = GB_ERR_UNSUPPORTED;
		snprintf(err->message, sizeof err->message,
			 "storage %s cannot store a batch in one call",
			 store_name);
		return GB_ERR_UNSUPPORTED;
	}
	if (n < 1 || n > GB_INSERT_MANY_MAX) {
		err->status = GB_ERR_INVALID;
		snprintf(err->message, sizeof err->message,
			 "insert_many takes 1 to %d documents, not %zu",
			 GB_INSERT_MANY_MAX, n);
		return GB_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++)
		if (!item_refused(&items[i]))
			todo[ntodo++] = &items[i];
	if (ntodo == 0)
		return GB_OK;
	/* the store sees only the items the host let through */
	struct gb_insert_item *batch =
	    ntodo == n ? items : malloc(ntodo * sizeof *batch);
	if (!batch) {
		err->status = GB_ERR_NOMEM;
		snprintf(err->message, sizeof err->message, "out of memory");
		return GB_ERR_NOMEM;
	}
	struct call call = call_begin(req);
	for (size_t i = 0; batch != items && i < ntodo; i++)
		batch[i] = *todo[i];
	ops->insert_many(store, &call.ctx, collection, batch, ntodo);
	for (size_t i = 0; batch != items && i < ntodo; i++)
		*todo[i] = batch[i];
	if (batch != items)
		free(batch);
	/* err: the first failure (unavailable first), for the span and
	 * the write health that the last item's finish reports */
	st = GB_OK;
	err->message[0] = '\0';
	for (size_t i = 0; i < ntodo; i++) {
		struct gb_insert_item *it = todo[i];

		it->err.status = it->status;
		if (it->status == GB_OK && !it->repeated)
			stored++;
		if (it->status != GB_OK &&
		    (st == GB_OK || (it->status == GB_ERR_UNAVAILABLE &&
				     st != GB_ERR_UNAVAILABLE))) {
			st = it->status;
			*err = it->err;
		}
		if (i + 1 < ntodo)
			account(OP_INSERT, it->status, call.t0);
	}
	if (stored > 0)
		atomic_fetch_add(&generation, 1);
	finish(OP_INSERT, st, &call, collection, err);
	return GB_OK;
}

enum gb_status gb_store_get(struct gb_request *req, const char *collection,
			    const char *id, cJSON **doc_out,
			    struct gb_error *err)
{
	enum gb_status st = precheck(collection, err);
	if (st != GB_OK)
		return st;
	struct call call = call_begin(req);
	*doc_out = NULL;
	st = ops->get(store, &call.ctx, collection, id ? id : "", doc_out, err);
	return finish(OP_GET, st, &call, collection, err);
}

enum gb_status gb_store_list(struct gb_request *req, const char *collection,
			     int limit, const char *cursor, cJSON **docs_out,
			     char **next_cursor, struct gb_error *err)
{
	enum gb_status st = precheck(collection, err);
	if (st != GB_OK)
		return st;
	if (limit < 1 || limit > GB_STORE_LIST_MAX) {
		err->status = GB_ERR_INVALID;
		snprintf(err->message, sizeof err->message,
			 "limit must be from 1 to %d", GB_STORE_LIST_MAX);
		return GB_ERR_INVALID;
	}
	struct call call = call_begin(req);
	*docs_out = NULL;
	*next_cursor = NULL;
	st = ops->list(store, &call.ctx, collection, limit,
		       cursor && *cursor ? cursor : NULL, docs_out, next_cursor,
		       err);
	return finish(OP_LIST, st, &call, collection, err);
}

enum gb_status gb_store_remove(struct gb_request *req, const char *collection,
			       const char *id, struct gb_error *err)
{
	enum gb_status st = precheck(collection, err);
	if (st != GB_OK)
		return st;
	struct call call = call_begin(req);
	st = ops->remove(store, &call.ctx, collection, id ? id : "", err);
	if (st == GB_OK)
		atomic_fetch_add(&generation, 1);
	return finish(OP_REMOVE, st, &call, collection, err);
}

enum gb_status gb_store_count(struct gb_request *req, const char *collection,
			      uint64_t *count, struct gb_error *err)
{
	enum gb_status st = precheck(collection, err);
	*count = 0;
	if (st != GB_OK)
		return st;
	if (!ops->count)
		return gb_error_set(err, GB_ERR_UNSUPPORTED,
				    "storage %s cannot count", store_name);
	struct call call = call_begin(req);
	st = ops->count(store, &call.ctx, collection, count, err);
	return finish(OP_COUNT, st, &call, collection, err);
}

const char *gb_store_name(void)
{
	return store_name;
}

uint64_t gb_store_generation(void)
{
	return atomic_load(&generation);
}

/* ---- moving data: export, import, backup (optional slots) ------------ */

static enum gb_status lacks(const char *what, struct gb_error *err)
{
	return gb_error_set(err, GB_ERR_INVALID, "storage %s cannot %s",
			    store_name, what);
}

enum gb_status gb_store_scan(const char *collection,
			     int (*each)(void *ud, const cJSON *doc), void *ud,
			     struct gb_error *err)
{
	enum gb_status st = precheck(collection, err);
	if (st != GB_OK)
		return st;
	if (!GB_STORAGE_HAS(ops, scan))
		return lacks("export (it has no scan operation)", err);
	return ops->scan(store, collection, each, ud, err);
}

enum gb_status gb_store_import(const char *collection, const cJSON *const *docs,
			       size_t n, size_t *added, struct gb_error *err)
{
	enum gb_status st = precheck(collection, err);
	*added = 0;
	if (st != GB_OK)
		return st;
	if (!GB_STORAGE_HAS(ops, import))
		return lacks("import (it has no import operation)", err);
	if (n == 0)
		return GB_OK;
	st = ops->import(store, collection, docs, n, added, err);
	if (st == GB_OK && *added > 0)
		atomic_fetch_add(&generation, 1);
	return st;
}

enum gb_status gb_store_backup(const char *path, struct gb_error *err)
{
	if (!ops)
		return gb_error_set(err, GB_ERR_UNAVAILABLE, "no storage open");
	if (!GB_STORAGE_HAS(ops, backup))
		return lacks("make a backup itself; use the database's own "
			     "tool (MongoDB: mongodump)",
			     err);
	return ops->backup(store, path, err);
}
