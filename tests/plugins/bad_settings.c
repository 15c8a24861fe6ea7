/* A plugin whose declared default is outside its own range: the host must
 * refuse the table before the plugin's init runs. */
#include "guestbook/plugin.h"

static int bad_settings_init(struct gb_plugin *self,
			     const struct gb_host_api *api)
{
	api->init_error(self, "init must not run with a bad settings table");
	return 1;
}

static const struct gb_setting bad_settings[] = {
    {"workers", GB_SETTING_INT, "0", 1, 8, NULL, "how many workers", 0, NULL},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

GB_PLUGIN(GB_PLUGIN_ROUTE, "bad_settings", "1.0.0",
	  "declares a default outside its range", bad_settings,
	  bad_settings_init, NULL);
