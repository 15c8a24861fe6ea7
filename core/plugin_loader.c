#include "plugin_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLUGINS GB_PLUGINS_MAX

static struct gb_plugin *loaded[MAX_PLUGINS];
static size_t nloaded;
static struct gb_plugin *initializing;

static const char *check_descriptor(const struct gb_plugin_descriptor *d,
				    unsigned want_kind, char *why,
				    size_t whylen)
{
	/* magic, abi_major and abi_minor sit at the same offsets in every
	 * ABI: nothing past them is read before the major matches. */
	if (d->magic != GB_PLUGIN_MAGIC)
		return "descriptor has a bad magic number (not a guestbookd "
		       "plugin)";
	if (d->abi_major != GB_ABI_MAJOR || d->abi_minor > GB_ABI_MINOR) {
		snprintf(why, whylen,
			 "built for ABI %u.%u, this guestbookd speaks %d.%d; "
			 "rebuild it against guestbook/plugin.h %d.%d",
			 d->abi_major, d->abi_minor, GB_ABI_MAJOR, GB_ABI_MINOR,
			 GB_ABI_MAJOR, GB_ABI_MINOR);
		return why;
	}
	if (d->size < offsetof(struct gb_plugin_descriptor, reserved)) {
		snprintf(why, whylen, "descriptor size %u is too small",
			 d->size);
		return why;
	}
	if (d->kind != GB_PLUGIN_ROUTE && d->kind != GB_PLUGIN_STORAGE)
		return "descriptor has an unknown kind";
	if (want_kind == GB_PLUGIN_STORAGE && d->kind != GB_PLUGIN_STORAGE)
		return "is not a storage plugin (list it in plugins, not "
		       "storage)";
	if (want_kind != GB_PLUGIN_STORAGE && d->kind == GB_PLUGIN_STORAGE)
		return "is a storage plugin (choose it with the storage "
		       "setting, not plugins)";
	if (!d->name || !gb_is_name(d->name, 32))
		return "descriptor name must match [a-z][a-z0-9_]{0,31}";
	if (!d->version || !*d->version)
		return "descriptor has no version";
	if (!d->init)
		return "descriptor has no init function";
	for (size_t i = 0; i < nloaded; i++)
		if (strcmp(loaded[i]->desc->name, d->name) == 0) {
			snprintf(why, whylen,
				 "a plugin named '%s' is already "
				 "loaded from %s",
				 d->name, loaded[i]->path);
			return why;
		}
	return NULL;
}

int gb_plugin_open(const char *path, unsigned want_kind, char *err,
		   size_t errlen)
{
	char why[256];
	if (nloaded == MAX_PLUGINS) {
		snprintf(err, errlen, "plugin %s: more than %d plugins", path,
			 MAX_PLUGINS);
		return -1;
	}
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "plugin %s: cannot load: %s", path,
			 dlerror());
		return -1;
	}
	const struct gb_plugin_descriptor *d = dlsym(h, GB_PLUGIN_SYMBOL);
	if (!d) {
		snprintf(err, errlen,
			 "plugin %s: no symbol %s: not a "
			 "guestbookd plugin",
			 path, GB_PLUGIN_SYMBOL);
		dlclose(h);
		return -1;
	}
	const char *bad = check_descriptor(d, want_kind, why, sizeof why);
	if (bad) {
		snprintf(err, errlen, "plugin %s: %s", path, bad);
		dlclose(h);
		return -1;
	}
	struct gb_plugin *p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(path))) {
		free(p);
		dlclose(h);
		snprintf(err, errlen, "plugin %s: out of memory", path);
		return -1;
	}
	p->desc = d;
	p->handle = h;
	loaded[nloaded++] = p;
	return 0;
}

int gb_plugins_init(const struct gb_host_api *api, unsigned only_kind,
		    char *err, size_t errlen)
{
	size_t opened = nloaded;
	for (size_t i = 0; i < opened; i++) {
		struct gb_plugin *p = loaded[i];
		if (only_kind && p->desc->kind != only_kind)
			continue;
		initializing = p;
		int rc = p->desc->init(p, api);
		initializing = NULL;
		if (rc != 0) {
			snprintf(err, errlen,
				 "plugin %s: error during "
				 "initialization: %s",
				 p->path,
				 p->init_error ? p->init_error
					       : "init failed (no message)");
			/* Registrations made before the failure point into
			 * the object: keep it mapped; the process exits. The
			 * plugins after it never ran: no fini for them. */
			nloaded = i;
			loaded[i] = NULL;
			free(p->init_error);
			free(p->path);
			free(p);
			for (size_t j = i + 1; j < opened; j++) {
				free(loaded[j]->path);
				free(loaded[j]);
				loaded[j] = NULL;
			}
			return -1;
		}
		p->initialized = 1;
	}
	return 0;
}

struct gb_plugin *gb_plugin_initializing(void)
{
	return initializing;
}

const struct gb_plugin *gb_plugin_at(size_t i)
{
	return i < nloaded ? loaded[i] : NULL;
}

void gb_plugins_unload(void)
{
	while (nloaded > 0) {
		struct gb_plugin *p = loaded[--nloaded];
		loaded[nloaded] = NULL;
		if (p->initialized && p->desc->fini)
			p->desc->fini(p);
		free(p->init_error);
		/* Not dlclose()d: metric families and strings registered by
		 * the plugin may still be read by the exit path. */
		free(p->path);
		free(p);
	}
}
