/* Tries to register a route from a request handler, after init: the host
 * must refuse it (GB_ERR_STATE) and say so. */
#include <string.h>

#include "guestbook/plugin.h"

static const struct gb_host_api *api;
static struct gb_plugin *me;

static void late(struct gb_request *req, void *ud)
{
	(void)ud;
	enum gb_status st =
	    api->route_add(me, GB_GET, "/late/added", late, NULL, 0);
	const char *answer = st == GB_ERR_STATE ? "refused" : "accepted";
	api->respond(req, 200, "text/plain", answer, strlen(answer));
}

static int late_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	api = host;
	me = self;
	return api->route_add(self, GB_GET, "/late", late, NULL, 0) != GB_OK;
}

GB_PLUGIN(GB_PLUGIN_ROUTE, "late_register", "1.0.0",
	  "registers after init (must fail)", NULL, late_init, NULL);
