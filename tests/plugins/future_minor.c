/* A plugin built for a newer minor ABI than the host: it may call host
 * slots this host lacks, so the loader must refuse it. */
#include "guestbook/plugin.h"

static int future_init(struct gb_plugin *self, const struct gb_host_api *api)
{
	(void)self;
	(void)api;
	return 0;
}

GB_EXPORT const struct gb_plugin_descriptor gb_plugin_descriptor = {
    .magic = GB_PLUGIN_MAGIC,
    .abi_major = GB_ABI_MAJOR,
    .abi_minor = GB_ABI_MINOR + 1,
    .size = sizeof(struct gb_plugin_descriptor),
    .kind = GB_PLUGIN_ROUTE,
    .name = "future_minor",
    .version = "1.0.0",
    .description = "built for a newer minor ABI",
    .init = future_init,
};
