/* A plugin built for ABI 1.0, before store_generation was appended: it
 * must keep loading and serving in every 1.x host. */
#include <string.h>

#include "guestbook/plugin.h"

static const struct gb_host_api *api;

static void hello(struct gb_request *req, void *ud)
{
	(void)ud;
	api->respond(req, 200, "text/plain", "old", 3);
}

static int old_init(struct gb_plugin *self, const struct gb_host_api *host,
		    char **err, int *err_static)
{
	(void)err;
	(void)err_static;
	api = host;
	return api->route_add(self, GB_GET, "/old", hello, NULL, 0) != GB_OK;
}

GB_EXPORT const struct gb_plugin_descriptor gb_plugin_descriptor = {
	.magic = GB_PLUGIN_MAGIC,
	.abi_major = GB_ABI_MAJOR,
	.abi_minor = 0,
	.size = sizeof(struct gb_plugin_descriptor),
	.kind = GB_PLUGIN_ROUTE,
	.name = "old_minor",
	.version = "1.0.0",
	.description = "built for ABI 1.0",
	.init = old_init,
};
