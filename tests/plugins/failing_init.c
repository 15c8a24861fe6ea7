/* A plugin whose init fails with a message. */
#include "guestbook/plugin.h"

static int failing_init(struct gb_plugin *self, const struct gb_host_api *api,
			char **err, int *err_static)
{
	(void)self;
	(void)api;
	*err = "the frobnicator is not configured";
	*err_static = 1;
	return 1;
}

GB_PLUGIN(GB_PLUGIN_ROUTE, "failing_init", "1.0.0", "init always fails",
	  failing_init, NULL);
