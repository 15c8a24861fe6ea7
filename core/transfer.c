/*
 * transfer.c - `guestbookd export | import | backup FILE`: the data
 * commands' entry point and the backup command. They take the server's
 * settings (flags, environment, config file), log to stderr and open the
 * configured store without serving HTTP.
 */
#include "transfer.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "host.h"
#include "log.h"
#include "storage.h"

int gb_backup_run(const char *path)
{
	struct gb_error err = {0};

	if (gb_store_backup(path, &err) != GB_OK) {
		fprintf(stderr, "guestbookd backup: %s\n", err.message);
		return err.status == GB_ERR_INVALID ? GB_EXIT_BAD_INPUT
						    : GB_EXIT_FAILED;
	}
	fprintf(stderr, "backup: %s written and checked\n", path);
	return GB_EXIT_OK;
}

/*
 * Export and backup read a database that exists: opening a mistyped
 * SQLite path would create an empty one and export nothing, silently.
 */
static int sqlite_database_missing(const char *command)
{
	const char *path = gb_config_get("sqlite_path");

	if (strcmp(gb_config_get("storage"), "sqlite") != 0 || !path ||
	    access(path, F_OK) == 0)
		return 0;
	fprintf(stderr,
		"guestbookd %s: sqlite_path %s: no such database "
		"(check --sqlite-path / GUESTBOOK_SQLITE_PATH)\n",
		command, path);
	return 1;
}

static int run(const char *command, const char *file)
{
	char err[1024] = "";
	int rc;

	if (gb_host_load_settings(err, sizeof err) != 0) {
		fprintf(stderr, "guestbookd %s: %s\n", command, err);
		gb_host_stop();
		return GB_EXIT_BAD_INPUT;
	}
	if (strcmp(command, "import") != 0 &&
	    sqlite_database_missing(command)) {
		gb_host_stop();
		return GB_EXIT_BAD_INPUT;
	}
	if (gb_host_open_store(err, sizeof err) != 0) {
		fprintf(stderr, "guestbookd %s: %s\n", command, err);
		gb_host_stop();
		return GB_EXIT_BAD_INPUT;
	}
	if (strcmp(command, "export") == 0)
		rc = gb_export_run();
	else if (strcmp(command, "import") == 0)
		rc = gb_import_run();
	else
		rc = gb_backup_run(file);
	gb_host_stop();
	return rc;
}

static int flag_given(int argc, char **argv, const char *flag)
{
	size_t n = strlen(flag);

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], flag, n) == 0 &&
		    (argv[i][n] == '\0' || argv[i][n] == '='))
			return 1;
	return 0;
}

int gb_transfer_main(int argc, char **argv)
{
	static const char *const commands[] = {"export", "import", "backup"};
	const char *command = NULL, *file = NULL;
	char err[1024] = "";
	int skip = 2;

	for (size_t i = 0; argc > 1 && i < sizeof commands / sizeof *commands;
	     i++)
		if (strcmp(argv[1], commands[i]) == 0)
			command = commands[i];
	if (!command)
		return -1;
	if (strcmp(command, "backup") == 0) {
		if (argc < 3 || argv[2][0] == '-' || !argv[2][0]) {
			fprintf(stderr, "guestbookd backup: give the file to "
					"write first: guestbookd backup FILE "
					"[SETTINGS]\n");
			return GB_EXIT_BAD_INPUT;
		}
		file = argv[2];
		skip = 3;
	}
	/* A reader that goes away (export | head) is an error, not a kill. */
	signal(SIGPIPE, SIG_IGN);
	gb_log_set_fd(STDERR_FILENO);

	/* The settings parser sees the program name and the flags only. */
	char **rest = calloc((size_t)argc, sizeof *rest);
	if (!rest) {
		fprintf(stderr, "guestbookd %s: out of memory\n", command);
		return GB_EXIT_FAILED;
	}
	int n = 0;
	rest[n++] = argv[0];
	for (int i = skip; i < argc; i++)
		rest[n++] = argv[i];
	enum gb_config_result cr = gb_config_load(n, rest, err, sizeof err);
	free(rest);
	if (cr == GB_CONFIG_EXIT)
		return GB_EXIT_OK;
	if (cr != GB_CONFIG_OK) {
		fprintf(stderr, "guestbookd %s: %s\n", command, err);
		gb_config_free();
		return GB_EXIT_BAD_INPUT;
	}
	/* Logs share stderr with the command's own lines: text for a person
	 * at a terminal unless a format was asked for. */
	const char *format = getenv("GUESTBOOK_LOG_FORMAT");
	enum gb_log_format lf =
	    gb_log_format_parse(gb_config_get("log_format"));
	if (!format && isatty(STDERR_FILENO))
		lf = GB_LOG_TEXT;
	/* Warnings and errors only, unless a level was asked for: the
	 * command's own lines say what happened. */
	int level = gb_log_level_parse(gb_config_get("log_level"));
	if (!getenv("GUESTBOOK_LOG_LEVEL") &&
	    !flag_given(argc, argv, "--log-level") && level < GB_LOG_WARN)
		level = GB_LOG_WARN;
	gb_log_configure((enum gb_log_level)level, lf);
	int rc = run(command, file);
	gb_config_free();
	return rc;
}
