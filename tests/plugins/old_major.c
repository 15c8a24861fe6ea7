/*
 * A plugin built for ABI 1.1, the last 1.x: its descriptor is laid out by
 * hand as the 1.x header defined it (init took an error string and a
 * static flag, no settings table). The 2.x loader must refuse it with one
 * line before it reads anything past the version or runs any of its code.
 */
#include <stdint.h>

#include "guestbook/plugin.h"

struct descriptor_v1 {
	uint32_t magic;
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t size;
	uint32_t kind;
	const char *name;
	const char *version;
	const char *description;
	int (*init)(void *self, const void *api, char **err, int *err_static);
	void (*fini)(void *self);
	void *reserved[4];
};

static int old_init(void *self, const void *api, char **err, int *err_static)
{
	(void)self;
	(void)api;
	*err = "a 1.x init must never run in a 2.x host";
	*err_static = 1;
	return 1;
}

GB_EXPORT const struct descriptor_v1 gb_plugin_descriptor = {
    .magic = GB_PLUGIN_MAGIC,
    .abi_major = 1,
    .abi_minor = 1,
    .size = sizeof(struct descriptor_v1),
    .kind = GB_PLUGIN_ROUTE,
    .name = "old_major",
    .version = "1.0.0",
    .description = "built for ABI 1.1",
    .init = old_init,
};
