/*
 * plugin_loader.h - loads plugins in two steps: open (dlopen and the
 * descriptor checks, before any plugin code runs) and, once the settings
 * are read, init with the host table; fini in reverse order.
 */
#ifndef GB_CORE_PLUGIN_LOADER_H
#define GB_CORE_PLUGIN_LOADER_H

#include <stddef.h>

#include "guestbook/plugin.h"

/* The host's view of one loaded plugin (opaque to plugins). */
struct gb_plugin {
	const struct gb_plugin_descriptor *desc;
	void *handle;
	char *path;
	int initialized;
	char *init_error; /* set by api->init_error during init */
};

/*
 * Opens `path` and checks its descriptor without running plugin code.
 * With want_kind GB_PLUGIN_STORAGE the plugin must be a storage plugin;
 * otherwise it must not be one. On failure fills err with one line naming
 * the file and the reason and returns -1.
 */
int gb_plugin_open(const char *path, unsigned want_kind, char *err,
		   size_t errlen);

/*
 * Runs init of every opened plugin of kind `only_kind` (0: every kind), in
 * the order they were opened; the others stay opened, never initialized.
 * On failure fills err with one line naming the file and returns -1.
 */
int gb_plugins_init(const struct gb_host_api *api, unsigned only_kind,
		    char *err, size_t errlen);

/* The plugin whose init is running now, or NULL outside init. */
struct gb_plugin *gb_plugin_initializing(void);

/* Calls fini of every loaded plugin in reverse order and unloads them. */
void gb_plugins_unload(void);

/* Iterates the opened plugins in order; NULL past the end. */
const struct gb_plugin *gb_plugin_at(size_t i);

#endif
