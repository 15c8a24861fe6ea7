/*
 * config.h - guestbookd's settings: the host's own table and the settings
 * each plugin declares in its descriptor, four sources. Precedence, lowest
 * to highest: built-in defaults, the config file (--config FILE or
 * GUESTBOOK_CONFIG, `key = value` lines), environment variables, flags.
 *
 * Two steps: gb_config_load reads every source and resolves the host's
 * settings (so the host knows which plugins to open); then, once the
 * plugins' descriptors are read, gb_config_add_plugin declares their
 * settings and gb_config_finish resolves them and refuses whatever no
 * setting claimed (unknown keys and flags).
 */
#ifndef GB_CORE_CONFIG_H
#define GB_CORE_CONFIG_H

#include <stddef.h>

#include "guestbook/plugin.h"

enum gb_config_result {
	GB_CONFIG_OK = 0,    /* ready to start */
	GB_CONFIG_EXIT = 1,  /* --help or --version printed: exit 0 */
	GB_CONFIG_ERROR = 2, /* err holds one line: exit 2 */
	GB_CONFIG_HELP = 3   /* --help: the host's part is printed; print the
				plugins' with gb_config_print_plugin_help */
};

/*
 * Loads and validates every setting from the four sources, applies the
 * role defaults and the legacy wiring (PORT + GUESTBOOK_DB_ADDR makes a
 * backend on mongo, PORT + GUESTBOOK_API_ADDR a frontend on http).
 * Replaces any earlier configuration.
 */
enum gb_config_result gb_config_load(int argc, char **argv, char *err,
				     size_t errlen);

/*
 * Declares the settings of `plugin` (the array ends with key NULL; NULL
 * for none). Refuses a malformed table or a spelling another setting has,
 * with one line naming the plugin. `plugin` and `table` must outlive the
 * configuration.
 */
int gb_config_add_plugin(const char *plugin, const struct gb_setting *table,
			 char *err, size_t errlen);

/*
 * Resolves and validates the plugins' settings, then refuses the first
 * config-file key or flag that no setting claimed. 0, or -1 with one line.
 */
int gb_config_finish(char *err, size_t errlen);

/*
 * The effective value of `key`, or NULL when unset or unknown: a host key
 * ("threads"), a plugin's file key ("api_admin_token") or a legacy name a
 * plugin setting carries ("admin_token").
 */
const char *gb_config_get(const char *key);

/* The value of an integer or boolean setting (validated at load). */
long gb_config_int(const char *key);
int gb_config_bool(const char *key);

/* The value of setting `name` as `plugin` declared it, or NULL / 0. */
const char *gb_config_plugin_get(const char *plugin, const char *name);
long gb_config_plugin_int(const char *plugin, const char *name);
int gb_config_plugin_bool(const char *plugin, const char *name);

/*
 * When the value of a GB_SETTING_SECRET setting (the host's or any loaded
 * plugin's: the admin token, a MongoDB URI with a password) came from a
 * flag, which every user on the machine can read in ps: the flag and what
 * to do instead, as a sentence. An address (a URI, user:password@host)
 * counts only when it holds a password. NULL when none did. Call after
 * gb_config_finish.
 */
const char *gb_config_secret_flag(void);

/* Prints the host's settings table (for --help) to stdout. */
void gb_config_print_help(void);

/* Prints the heading and settings of one plugin (for --help). */
void gb_config_print_plugin_help(const char *plugin, const char *version,
				 const char *description);

/*
 * Writes "key=value key=value ..." of every set setting into buf, secrets
 * as ****, for the start-up log. Returns the length written.
 */
size_t gb_config_describe(char *buf, size_t len);

/* Frees the configuration. */
void gb_config_free(void);

#endif
