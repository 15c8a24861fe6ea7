#include "host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "plugin_loader.h"
#include "ratelimit.h"
#include "request.h"
#include "router.h"
#include "server.h"
#include "storage.h"
#include "trace.h"

static double started_wall;
static struct gb_series *uptime_gauge;

static const char *plugin_name(struct gb_plugin *p)
{
	return p && p->desc ? p->desc->name : "plugin";
}

static void api_log(struct gb_plugin *self, enum gb_log_level level,
		    const char *fmt, ...)
{
	if (!gb_log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	gb_logv(level, plugin_name(self), fmt, ap);
	va_end(ap);
}

static void api_init_error(struct gb_plugin *self, const char *fmt, ...)
{
	if (!self || self != gb_plugin_initializing())
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(self->init_error);
	self->init_error = strdup(buf);
}

static const char *api_setting_get(struct gb_plugin *self, const char *key)
{
	return gb_config_plugin_get(plugin_name(self), key);
}

static long api_setting_int(struct gb_plugin *self, const char *key)
{
	return gb_config_plugin_int(plugin_name(self), key);
}

static int api_setting_bool(struct gb_plugin *self, const char *key)
{
	return gb_config_plugin_bool(plugin_name(self), key);
}

static void *api_alloc(size_t n)
{
	return malloc(n);
}

static char *api_strdup(const char *s)
{
	return strdup(s);
}

static void api_free(void *p)
{
	free(p);
}

/* Registration is refused unless `self` is the plugin in init now. */
static int in_init(struct gb_plugin *self)
{
	return self && self == gb_plugin_initializing();
}

static enum gb_status api_route_add(struct gb_plugin *self, unsigned method,
				    const char *pattern,
				    gb_route_handler handler, void *userdata,
				    size_t max_body)
{
	if (!in_init(self))
		return GB_ERR_STATE;
	return gb_router_add(plugin_name(self), method, pattern, handler,
			     userdata, max_body);
}

static enum gb_status api_storage_register(struct gb_plugin *self,
					   const char *name,
					   const struct gb_storage_ops *ops,
					   void *store)
{
	if (!in_init(self))
		return GB_ERR_STATE;
	return gb_storage_register(name, ops, store);
}

static struct gb_metric *api_metric_register(struct gb_plugin *self,
					     enum gb_metric_type type,
					     const char *name, const char *help,
					     const char *const *labels,
					     const double *buckets,
					     size_t nbuckets)
{
	if (!in_init(self))
		return NULL;
	char err[256];
	struct gb_metric *m = gb_metric_register_shared(
	    type, name, help, labels, buckets, nbuckets, err, sizeof err);
	if (!m)
		gb_log(GB_LOG_ERROR, plugin_name(self), "metric %s: %s",
		       name ? name : "(null)", err);
	return m;
}

static struct gb_series *rate_limited;

static int api_rate_limit_take(struct gb_request *req)
{
	int wait = gb_ratelimit_take(req->client, gb_now_monotonic());
	if (wait > 0 && rate_limited)
		gb_counter_add(rate_limited, 1);
	return wait;
}

/*
 * rate_limit_take for `client`, a client address a trusted proxy names for
 * one message of the request (the front end's batches): believed exactly
 * when X-Forwarded-For is (trust_proxy), and only when it looks like an
 * address; else the request's own client pays.
 */
static int api_rate_limit_take_for(struct gb_request *req, const char *client)
{
	size_t n = client ? strspn(client, "0123456789abcdefABCDEF.:") : 0;

	if (!gb_config_bool("trust_proxy") || n == 0 || n > 45 || client[n])
		return api_rate_limit_take(req);
	int wait = gb_ratelimit_take(client, gb_now_monotonic());
	if (wait > 0 && rate_limited)
		gb_counter_add(rate_limited, 1);
	return wait;
}

static double api_now_monotonic(void)
{
	return gb_now_monotonic();
}

static double api_now_wall(void)
{
	return gb_now_wall();
}

static int api_format_time(double epoch, char out[GB_TIME_MAX])
{
	char buf[GB_RFC3339_MAX];
	int rc = gb_format_rfc3339_ms(epoch, buf);
	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" is 24 bytes: it always fits. */
	size_t n = rc == 0 ? strnlen(buf, GB_TIME_MAX - 1) : 0;
	memcpy(out, buf, n);
	out[n] = '\0';
	return rc;
}

static void api_metrics_visit(const struct gb_metrics_visitor *v, void *ud)
{
	if (uptime_gauge)
		gb_gauge_set(uptime_gauge, gb_now_wall() - started_wall);
	gb_metrics_visit(v, ud);
}

static const struct gb_host_api host_api = {
    .size = sizeof(struct gb_host_api),
    .abi_major = GB_ABI_MAJOR,
    .abi_minor = GB_ABI_MINOR,
    .log = api_log,
    .init_error = api_init_error,
    .setting_get = api_setting_get,
    .setting_int = api_setting_int,
    .setting_bool = api_setting_bool,
    .config_get = gb_config_get,
    .alloc = api_alloc,
    .strdup = api_strdup,
    .free = api_free,
    .route_add = api_route_add,
    .storage_register = api_storage_register,
    .metric_register = api_metric_register,
    .metric_series = gb_metric_series,
    .counter_add = gb_counter_add,
    .gauge_set = gb_gauge_set,
    .gauge_add = gb_gauge_add,
    .histogram_observe = gb_histogram_observe,
    .metrics_visit = api_metrics_visit,
    .req_method = gb_req_method,
    .req_path = gb_req_path,
    .req_param = gb_req_param,
    .req_query = gb_req_query,
    .req_header = gb_req_header,
    .req_body = gb_req_body,
    .req_client = gb_req_client,
    .req_id = gb_req_id,
    .res_header = gb_res_header,
    .respond = gb_respond,
    .respond_json = gb_respond_json,
    .respond_error = gb_respond_error,
    .redirect = gb_redirect,
    .store_insert = gb_store_insert,
    .store_get = gb_store_get,
    .store_list = gb_store_list,
    .store_remove = gb_store_remove,
    .store_count = gb_store_count,
    .store_name = gb_store_name,
    .store_generation = gb_store_generation,
    .rate_limit_take = api_rate_limit_take,
    .now_monotonic = api_now_monotonic,
    .now_wall = api_now_wall,
    .format_time = api_format_time,
    .store_insert_once = gb_store_insert_once,
    .trace_client_begin = gb_trace_client_begin,
    .trace_client_end = gb_trace_client_end,
    .store_insert_many = gb_store_insert_many,
    .rate_limit_take_for = api_rate_limit_take_for,
};

const struct gb_host_api *gb_host_api_table(void)
{
	return &host_api;
}

static int plugin_path(const char *name, char *out, size_t len, char *err,
		       size_t errlen)
{
	int n = strchr(name, '/') ? snprintf(out, len, "%s", name)
				  : snprintf(out, len, "%s/%s.so",
					     gb_config_get("plugin_dir"), name);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen,
			 "setting plugins: path of '%s' is too "
			 "long",
			 name);
		return -1;
	}
	return 0;
}

static int open_storage_plugin(char *err, size_t errlen)
{
	char path[1024];
	const char *storage = gb_config_get("storage");
	if (plugin_path(storage, path, sizeof path, err, errlen) < 0 ||
	    gb_plugin_open(path, GB_PLUGIN_STORAGE, err, errlen) < 0)
		return -1;
	return 0;
}

/* Opens the storage plugin and every route plugin (no plugin code runs)
 * and declares their settings. */
static int open_plugins(char *err, size_t errlen)
{
	char path[1024];
	if (open_storage_plugin(err, errlen) < 0)
		return -1;
	char *list = strdup(gb_config_get("plugins"));
	if (!list) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(list, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (plugin_path(tok, path, sizeof path, err, errlen) < 0 ||
		    gb_plugin_open(path, GB_PLUGIN_ROUTE, err, errlen) < 0) {
			rc = -1;
			break;
		}
	}
	free(list);
	for (size_t i = 0; rc == 0 && gb_plugin_at(i); i++) {
		const struct gb_plugin_descriptor *d = gb_plugin_at(i)->desc;
		if (gb_config_add_plugin(d->name, d->settings, err, errlen) < 0)
			rc = -1;
	}
	return rc;
}

/* --help: the host's settings, then each plugin that would be loaded. */
static int print_help(char *err, size_t errlen)
{
	fflush(stdout);
	if (open_plugins(err, errlen) < 0) {
		printf("\nThe plugins' settings cannot be listed: %s\n", err);
		fflush(stdout);
		return 1;
	}
	printf("\nPlugins that would be loaded (storage first) and their "
	       "settings:\n");
	for (size_t i = 0; gb_plugin_at(i); i++) {
		const struct gb_plugin_descriptor *d = gb_plugin_at(i)->desc;
		gb_config_print_plugin_help(d->name, d->version,
					    d->description);
	}
	fflush(stdout);
	return 1;
}

static int register_info(char *err, size_t errlen)
{
	static const char *const build_labels[] = {"version", "revision",
						   "role", NULL};
	static const char *const plugin_labels[] = {"plugin", "kind", "version",
						    NULL};
	static const char *const kinds[] = {"", "route", "storage"};
	struct gb_metric *build =
	    gb_metric_register(GB_METRIC_GAUGE, "guestbook_build_info",
			       "Always 1; labels carry the build.",
			       build_labels, NULL, 0, err, errlen);
	struct gb_metric *plugin = gb_metric_register(
	    GB_METRIC_GAUGE, "guestbook_plugin_info",
	    "Always 1 per loaded plugin.", plugin_labels, NULL, 0, err, errlen);
	struct gb_metric *uptime = gb_metric_register(
	    GB_METRIC_GAUGE, "guestbook_uptime_seconds",
	    "Seconds since the process started.", NULL, NULL, 0, err, errlen);
	if (!build || !plugin || !uptime)
		return -1;
	const char *bl[] = {GB_VERSION, GB_REVISION, gb_config_get("role")};
	gb_gauge_set(gb_metric_series(build, bl), 1);
	for (size_t i = 0; gb_plugin_at(i); i++) {
		const struct gb_plugin_descriptor *d = gb_plugin_at(i)->desc;
		const char *pl[] = {d->name, kinds[d->kind], d->version};
		gb_gauge_set(gb_metric_series(plugin, pl), 1);
	}
	uptime_gauge = gb_metric_series(uptime, NULL);
	return 0;
}

static struct gb_series *rate_limited_series(char *err, size_t errlen)
{
	struct gb_metric *m = gb_metric_register(
	    GB_METRIC_COUNTER, "guestbook_rate_limited_total",
	    "Posts refused by the per-client rate limit.", NULL, NULL, 0, err,
	    errlen);
	return m ? gb_metric_series(m, NULL) : NULL;
}

int gb_host_start(int argc, char **argv, char *err, size_t errlen)
{
	started_wall = gb_now_wall();
	enum gb_config_result cr = gb_config_load(argc, argv, err, errlen);
	if (cr == GB_CONFIG_HELP)
		return print_help(err, errlen);
	if (cr != GB_CONFIG_OK)
		return cr == GB_CONFIG_EXIT ? 1 : 2;
	gb_log_configure(gb_log_level_parse(gb_config_get("log_level")),
			 gb_log_format_parse(gb_config_get("log_format")));
	if (open_plugins(err, errlen) < 0 || gb_config_finish(err, errlen) < 0)
		return 2;
	if (gb_log_enabled(GB_LOG_DEBUG)) {
		char all[4096];
		gb_config_describe(all, sizeof all);
		gb_log(GB_LOG_DEBUG, "core", "settings: %s", all);
	}
	if (gb_metrics_init() != 0) {
		snprintf(err, errlen, "cannot create the metrics registry");
		return 2;
	}
	if (gb_ratelimit_init(gb_config_int("rate_limit")) != 0) {
		snprintf(err, errlen, "setting rate_limit: out of memory");
		return 2;
	}
	if (gb_trace_init(gb_config_get("role"), err, errlen) < 0)
		return 2;
	if (gb_server_prepare(err, errlen) < 0 ||
	    !(rate_limited = rate_limited_series(err, errlen)) ||
	    gb_plugins_init(&host_api, 0, err, errlen) < 0 ||
	    register_info(err, errlen) < 0 ||
	    gb_storage_open(gb_config_get("storage"),
			    gb_config_int("ready_cache_ms"), err, errlen) < 0)
		return 2;
	return 0;
}

int gb_host_load_settings(char *err, size_t errlen)
{
	started_wall = gb_now_wall();
	/* Every plugin's settings are known (the server's flags and config
	 * file work unchanged), but no plugin code runs. */
	if (open_plugins(err, errlen) < 0 || gb_config_finish(err, errlen) < 0)
		return 2;
	return 0;
}

int gb_host_open_store(char *err, size_t errlen)
{
	if (gb_metrics_init() != 0) {
		snprintf(err, errlen, "cannot create the metrics registry");
		return 2;
	}
	if (gb_plugins_init(&host_api, GB_PLUGIN_STORAGE, err, errlen) < 0 ||
	    gb_storage_open(gb_config_get("storage"),
			    gb_config_int("ready_cache_ms"), err, errlen) < 0)
		return 2;
	return 0;
}

/* The spans still queued at shutdown get what the shutdown timeout
 * leaves after the drain, less a second for the rest of the stop. */
static double trace_flush_budget(void)
{
	double b = (double)(gb_config_int("shutdown_timeout") -
			    gb_config_int("drain_seconds")) -
		   1.0;
	return b < 0.5 ? 0.5 : b;
}

void gb_host_stop(void)
{
	/* The pinger and the store's close run before any plugin's fini:
	 * a storage plugin may free its state in fini. */
	gb_storage_close();
	if (gb_trace_on)
		gb_trace_shutdown(trace_flush_budget());
	gb_plugins_unload();
	gb_router_clear();
	gb_ratelimit_shutdown();
	gb_metrics_shutdown();
	uptime_gauge = NULL;
	rate_limited = NULL;
}
