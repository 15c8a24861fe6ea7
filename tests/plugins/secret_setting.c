/*
 * A plugin with a secret setting of its own, "vault_key": the host must
 * warn when its value comes from a flag (visible in ps), as it does for
 * the admin token, without a list of flag names that would miss this one.
 * GET /vault answers "set" or "unset", never the value.
 */
#include <string.h>

#include "guestbook/plugin.h"

static const struct gb_host_api *api;
static struct gb_plugin *me;

static void vault(struct gb_request *req, void *ud)
{
	const char *key = api->setting_get(me, "key");
	const char *answer = key && *key ? "set" : "unset";

	(void)ud;
	api->respond(req, 200, "text/plain", answer, strlen(answer));
}

static int vault_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	api = host;
	me = self;
	return api->route_add(self, GB_GET, "/vault", vault, NULL, 0) != GB_OK;
}

static const struct gb_setting vault_settings[] = {
    {"key", GB_SETTING_STRING, NULL, 0, 0, NULL, "the vault's key",
     GB_SETTING_SECRET, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

GB_PLUGIN(GB_PLUGIN_ROUTE, "vault", "1.0.0", "holds a secret setting",
	  vault_settings, vault_init, NULL);
