/*
 * host.h - guestbookd as a library: everything but the HTTP listener.
 * main.c and the tests (e.g. the storage conformance suite) use it.
 */
#ifndef GB_CORE_HOST_H
#define GB_CORE_HOST_H

#include "guestbook/plugin.h"

/*
 * Reads the configuration from defaults, --config FILE, the environment
 * and argv (in that precedence), sets up logging and metrics, loads the
 * plugins and opens the storage. On failure writes one line into err
 * (naming the setting or file and the reason) and returns 2; returns 1
 * after printing --help or --version (exit 0 then), 0 when ready to serve.
 */
int gb_host_start(int argc, char **argv, char *err, size_t errlen);

/*
 * For the data commands (export, import, backup), with the configuration
 * already loaded (gb_config_load) and logging set up: opens every plugin's
 * descriptor, so every server setting is known and checked, without
 * running plugin code. Returns 0, or 2 with one line in err.
 */
int gb_host_load_settings(char *err, size_t errlen);

/*
 * After gb_host_load_settings: initializes the storage plugin alone and
 * opens the store. Returns 0, or 2 with one line in err. gb_host_stop
 * undoes both.
 */
int gb_host_open_store(char *err, size_t errlen);

/* The host function table handed to plugins. */
const struct gb_host_api *gb_host_api_table(void);

/* Calls every plugin's fini, closes the storage, frees the registry. */
void gb_host_stop(void);

#endif
