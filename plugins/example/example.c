/*
 * example: the smallest complete route plugin, to copy.
 *
 *   GET /api/v1/hello?name=Ada  ->  200 {"message":"Hello, Ada!","count":N}
 *
 * It shows the whole plugin API in use: the descriptor (GB_PLUGIN), init
 * with error reporting, a route with method dispatch done by the host,
 * query parameters, a JSON answer, a JSON error, a setting read through
 * config_get, a metric of its own, logging, and fini.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "guestbook/plugin.h"

/* The host table: valid from init until fini returns. */
static const struct gb_host_api *api;
static struct gb_plugin *self_plugin;
static struct gb_series *greetings;
static atomic_ulong served;

static void hello(struct gb_request *req, void *userdata)
{
	(void)userdata;
	char name[65];
	int n = api->req_query(req, "name", name, sizeof name);
	if (n == -2) {
		api->respond_error(req, 400, "invalid_parameter",
				   "name must be at most 64 bytes", "name");
		return;
	}
	if (n <= 0)
		snprintf(name, sizeof name, "world");

	char text[96];
	snprintf(text, sizeof text, "Hello, %s!", name);
	cJSON *body = cJSON_CreateObject();
	if (!body) {
		api->respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	cJSON_AddStringToObject(body, "message", text);
	cJSON_AddNumberToObject(body, "count", (double)++served);
	api->counter_add(greetings, 1);
	api->respond_json(req, 200, body);
	cJSON_Delete(body);
}

static int example_init(struct gb_plugin *self, const struct gb_host_api *host,
			char **err, int *err_static)
{
	/* Refuse a host older than the API this file was written for. */
	if (host->abi_major != GB_ABI_MAJOR) {
		*err = "host speaks another ABI major";
		*err_static = 1;
		return 1;
	}
	api = host;
	self_plugin = self;

	struct gb_metric *m = api->metric_register(
		self, GB_METRIC_COUNTER, "guestbook_example_greetings_total",
		"Greetings served by the example plugin.", NULL, NULL, 0);
	greetings = m ? api->metric_series(m, NULL) : NULL;
	if (!greetings) {
		*err = "cannot register guestbook_example_greetings_total";
		*err_static = 1;
		return 1;
	}
	if (api->route_add(self, GB_GET, "/api/v1/hello", hello, NULL, 0) !=
	    GB_OK) {
		*err = api->strdup("cannot register GET /api/v1/hello (taken?)");
		return 1;
	}
	api->log(self, GB_LOG_DEBUG, "example plugin ready");
	return 0;
}

static void example_fini(struct gb_plugin *self)
{
	api->log(self, GB_LOG_DEBUG, "example plugin served %lu greetings",
		 (unsigned long)served);
}

GB_PLUGIN(GB_PLUGIN_ROUTE, "example", "1.0.0",
	  "GET /api/v1/hello: a complete plugin to copy", example_init,
	  example_fini);
