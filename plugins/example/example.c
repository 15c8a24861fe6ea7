/*
 * example: the smallest complete route plugin, to copy.
 *
 *   GET /api/v1/hello?name=Ada  ->  200 {"message":"Hello, Ada!","count":N}
 *
 * With GUESTBOOK_EXAMPLE_GREETING=Bonjour (or example_greeting = Bonjour in
 * the config file, or --example-greeting Bonjour) it answers
 * {"message":"Bonjour, Ada!",...}.
 *
 * What it shows: the descriptor (GB_PLUGIN) with a declared setting that
 * the host parses, validates and documents in --help; reading that setting
 * in init; init failures through api->init_error; one handler for one
 * method (the host answers HEAD from it and 405 with Allow for the other
 * methods); a query parameter; a JSON answer; a JSON error; a metric of
 * its own; logging; fini.
 *
 * Build it outside the source tree with the installed SDK:
 *
 *   cc -std=c11 -fPIC -fvisibility=hidden -shared \
 *      $(pkg-config --cflags guestbook-plugin) -o example.so example.c \
 *      $(pkg-config --libs guestbook-plugin)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "guestbook/plugin.h"

/* Longest name accepted in ?name=, in bytes. */
#define NAME_MAX_BYTES 64

/* The host table: valid from init until fini returns. */
static const struct gb_host_api *api;
static struct gb_series *greetings; /* guestbook_example_greetings_total */
static const char *greeting;	    /* the `greeting` setting */
static atomic_ulong served;

static void hello(struct gb_request *req, void *userdata)
{
	(void)userdata;
	char name[NAME_MAX_BYTES + 1];
	int n = api->req_query(req, "name", name, sizeof name);
	if (n == -2) {
		/* An error: the host writes the standard JSON error body. */
		api->respond_error(req, 400, "invalid_parameter",
				   "name must be at most 64 bytes", "name");
		return;
	}
	if (n <= 0)
		snprintf(name, sizeof name, "world");

	char text[sizeof name + 64];
	snprintf(text, sizeof text, "%s, %s!", greeting, name);
	cJSON *body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "message", text) ||
	    !cJSON_AddNumberToObject(body, "count", (double)++served)) {
		cJSON_Delete(body);
		api->respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	api->counter_add(greetings, 1);
	/* A JSON answer: respond_json borrows the document. */
	api->respond_json(req, 200, body);
	cJSON_Delete(body);
}

static int example_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	api = host;
	/* Validated by the host before init runs; never NULL: it has a
	 * default. The string stays valid until fini returns. */
	greeting = api->setting_get(self, "greeting");

	struct gb_metric *m = api->metric_register(
	    self, GB_METRIC_COUNTER, "guestbook_example_greetings_total",
	    "Greetings served by the example plugin.", NULL, NULL, 0);
	greetings = m ? api->metric_series(m, NULL) : NULL;
	if (!greetings) {
		api->init_error(self, "cannot register "
				      "guestbook_example_greetings_total");
		return 1;
	}
	enum gb_status st =
	    api->route_add(self, GB_GET, "/api/v1/hello", hello, NULL, 0);
	if (st != GB_OK) {
		api->init_error(self,
				"cannot register GET /api/v1/hello "
				"(status %d: taken?)",
				(int)st);
		return 1;
	}
	api->log(self, GB_LOG_DEBUG, "example plugin ready, greeting \"%s\"",
		 greeting);
	return 0;
}

static void example_fini(struct gb_plugin *self)
{
	api->log(self, GB_LOG_DEBUG, "example plugin served %lu greetings",
		 (unsigned long)served);
}

/*
 * The declared settings, ended by a NULL key. For the plugin "example" the
 * setting "greeting" is example_greeting in the config file,
 * GUESTBOOK_EXAMPLE_GREETING in the environment, --example-greeting as a
 * flag.
 */
static const struct gb_setting example_settings[] = {
    {"greeting", GB_SETTING_STRING, "Hello", 0, 0, NULL,
     "first word of the GET /api/v1/hello answer", 0, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

GB_PLUGIN(GB_PLUGIN_ROUTE, "example", "2.0.0",
	  "GET /api/v1/hello: a complete plugin to copy", example_settings,
	  example_init, example_fini);
