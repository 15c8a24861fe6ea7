/* A plugin built for a future ABI major: the loader must refuse it. */
#include "guestbook/plugin.h"

static int bad_init(struct gb_plugin *self, const struct gb_host_api *api)
{
	(void)self;
	(void)api;
	return 0;
}

GB_EXPORT const struct gb_plugin_descriptor gb_plugin_descriptor = {
    .magic = GB_PLUGIN_MAGIC,
    .abi_major = GB_ABI_MAJOR + 1,
    .abi_minor = 0,
    .size = sizeof(struct gb_plugin_descriptor),
    .kind = GB_PLUGIN_ROUTE,
    .name = "bad_abi",
    .version = "1.0.0",
    .description = "built for another ABI",
    .init = bad_init,
};
