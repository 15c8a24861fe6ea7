/*
 * config.h - guestbookd's settings: one table, four sources. Precedence,
 * lowest to highest: built-in defaults, the config file (--config FILE or
 * GUESTBOOK_CONFIG, `key = value` lines), environment variables, flags.
 */
#ifndef GB_CORE_CONFIG_H
#define GB_CORE_CONFIG_H

#include <stddef.h>

enum gb_config_result {
	GB_CONFIG_OK = 0,   /* ready to start */
	GB_CONFIG_EXIT = 1, /* --help or --version printed: exit 0 */
	GB_CONFIG_ERROR = 2 /* err holds one line: exit 2 */
};

/*
 * Loads and validates every setting from the four sources, applies the
 * role defaults and the legacy wiring (PORT + GUESTBOOK_DB_ADDR makes a
 * backend on mongo, PORT + GUESTBOOK_API_ADDR a frontend on http).
 * Replaces any earlier configuration.
 */
enum gb_config_result gb_config_load(int argc, char **argv, char *err,
				     size_t errlen);

/* The effective value of `key`, or NULL when unset. Unknown key: NULL. */
const char *gb_config_get(const char *key);

/* The value of an integer or boolean setting (validated at load). */
long gb_config_int(const char *key);
int gb_config_bool(const char *key);

/*
 * When a secret (the admin token, a MongoDB URI with a password) was given
 * as a flag, which every user on the machine can read in ps: what to do
 * instead, as a sentence. NULL when none was.
 */
const char *gb_config_secret_flag(int argc, char **argv);

/* Prints the settings table (for --help) to stdout. */
void gb_config_print_help(void);

/* Frees the configuration. */
void gb_config_free(void);

#endif
