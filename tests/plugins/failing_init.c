/* A plugin whose init fails with a message given to api->init_error. */
#include "guestbook/plugin.h"

static int failing_init(struct gb_plugin *self, const struct gb_host_api *api)
{
	api->init_error(self, "the frobnicator is not %s", "configured");
	return 1;
}

GB_PLUGIN(GB_PLUGIN_ROUTE, "failing_init", "1.0.0", "init always fails", NULL,
	  failing_init, NULL);
