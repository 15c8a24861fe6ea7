/* Settings: precedence, validation, role defaults and the legacy wiring. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char err[512];

static enum gb_config_result load(int argc, char **argv)
{
	err[0] = '\0';
	return gb_config_load(argc, argv, err, sizeof err);
}

static void clean_env(void)
{
	const char *vars[] = {"PORT",
			      "GUESTBOOK_ROLE",
			      "GUESTBOOK_DB_ADDR",
			      "GUESTBOOK_API_ADDR",
			      "GUESTBOOK_THREADS",
			      "GUESTBOOK_MONGO_URI",
			      "GUESTBOOK_CONFIG",
			      "GUESTBOOK_STORAGE",
			      "GUESTBOOK_PLUGINS",
			      "GUESTBOOK_DEMO_GREETING",
			      "GUESTBOOK_DEMO_LIMIT",
			      "GUESTBOOK_OLD_LIMIT",
			      "GUESTBOOK_DEMO_TOKEN",
			      "GUESTBOOK_DEMO_TOKEN_FILE",
			      "GUESTBOOK_OLD_TOKEN",
			      "GUESTBOOK_OLD_TOKEN_FILE",
			      "GUESTBOOK_DEMO_FAST",
			      "GUESTBOOK_DEMO_MODE",
			      "GUESTBOOK_OTHER_LIMIT"};
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		unsetenv(vars[i]);
}

TestSuite(config, .init = clean_env);

Test(config, defaults_make_the_embedded_all_in_one)
{
	char *argv[] = {"guestbookd", NULL};
	cr_assert_eq(load(1, argv), GB_CONFIG_OK, "%s", err);
	cr_assert_str_eq(gb_config_get("role"), "all");
	cr_assert_str_eq(gb_config_get("plugins"), "api,web,metrics");
	cr_assert_str_eq(gb_config_get("storage"), "sqlite");
	cr_assert_str_eq(gb_config_get("listen"), "0.0.0.0:8080");
	cr_assert_eq(gb_config_int("rate_limit"), 60);
	cr_assert_eq(gb_config_bool("access_log"), 1);
}

Test(config, flag_beats_environment_beats_file)
{
	char path[] = "/tmp/gbunit-XXXXXX";
	int fd = mkstemp(path);
	dprintf(fd, "threads = 10\nrate_limit = 5\nlog_level = debug\n");
	close(fd);
	setenv("GUESTBOOK_THREADS", "12", 1);
	char *argv[] = {"guestbookd", "--config", path, "--threads=14", NULL};
	cr_assert_eq(load(4, argv), GB_CONFIG_OK, "%s", err);
	cr_assert_eq(gb_config_int("threads"), 14);
	cr_assert_eq(gb_config_int("rate_limit"), 5);
	cr_assert_str_eq(gb_config_get("log_level"), "debug");
	char *argv2[] = {"guestbookd", "--config", path, NULL};
	cr_assert_eq(load(3, argv2), GB_CONFIG_OK, "%s", err);
	cr_assert_eq(gb_config_int("threads"), 12);
	unsetenv("GUESTBOOK_THREADS");
	cr_assert_eq(load(3, argv2), GB_CONFIG_OK, "%s", err);
	cr_assert_eq(gb_config_int("threads"), 10);
	unlink(path);
}

Test(config, legacy_port_and_db_addr_make_a_mongo_backend)
{
	setenv("PORT", "9090", 1);
	setenv("GUESTBOOK_DB_ADDR", "user:pw@mongo:27017", 1);
	char *argv[] = {"guestbookd", NULL};
	cr_assert_eq(load(1, argv), GB_CONFIG_OK, "%s", err);
	cr_assert_str_eq(gb_config_get("role"), "backend");
	cr_assert_str_eq(gb_config_get("storage"), "mongo");
	cr_assert_str_eq(gb_config_get("plugins"), "api,metrics");
	cr_assert_str_eq(gb_config_get("listen"), "0.0.0.0:9090");
	/* The mongo plugin turns db_addr into its URI (storage_mongo). */
}

Test(config, legacy_api_addr_makes_a_frontend)
{
	setenv("GUESTBOOK_API_ADDR", "backend:8080", 1);
	char *argv[] = {"guestbookd", NULL};
	cr_assert_eq(load(1, argv), GB_CONFIG_OK, "%s", err);
	cr_assert_str_eq(gb_config_get("role"), "frontend");
	cr_assert_str_eq(gb_config_get("storage"), "http");
	/* The http plugin turns api_addr into its URL (role_frontend). */
}

Test(config, explicit_role_and_storage_win_over_the_wiring)
{
	setenv("GUESTBOOK_DB_ADDR", "mongo:27017", 1);
	char *argv[] = {"guestbookd", "--role", "all",
			"--storage",  "sqlite", NULL};
	cr_assert_eq(load(5, argv), GB_CONFIG_OK, "%s", err);
	cr_assert_str_eq(gb_config_get("role"), "all");
	cr_assert_str_eq(gb_config_get("storage"), "sqlite");
}

Test(config, bad_values_are_refused_with_the_setting_named)
{
	char *a1[] = {"guestbookd", "--port", "70000", NULL};
	cr_assert_eq(load(3, a1), GB_CONFIG_ERROR);
	cr_assert(strstr(err, "setting port (PORT)"), "%s", err);
	char *a2[] = {"guestbookd", "--role", "sidecar", NULL};
	cr_assert_eq(load(3, a2), GB_CONFIG_ERROR);
	cr_assert(strstr(err, "all|backend|frontend"), "%s", err);
	char *a3[] = {"guestbookd", "--access-log", "maybe", NULL};
	cr_assert_eq(load(3, a3), GB_CONFIG_ERROR);
	char *a4[] = {"guestbookd", "--threads", NULL};
	cr_assert_eq(load(2, a4), GB_CONFIG_ERROR);
	cr_assert(strstr(err, "needs a value"), "%s", err);
	char *a5[] = {"guestbookd", "stray", NULL};
	cr_assert_eq(load(2, a5), GB_CONFIG_ERROR);
}

Test(config, missing_config_file_is_an_error)
{
	char *argv[] = {"guestbookd", "--config", "/nonexistent/gb.conf", NULL};
	cr_assert_eq(load(3, argv), GB_CONFIG_ERROR);
	cr_assert(strstr(err, "/nonexistent/gb.conf"), "%s", err);
}

/* ---- settings declared by plugins --------------------------------- */

static const struct gb_setting demo_settings[] = {
    {"greeting", GB_SETTING_STRING, "Hello", 0, 0, NULL, "first word", 0, NULL},
    {"limit", GB_SETTING_INT, "10", 1, 100, NULL, "how many", 0, "old_limit"},
    {"fast", GB_SETTING_BOOL, "off", 0, 0, NULL, "go fast", 0, NULL},
    {"mode", GB_SETTING_ENUM, "a", 0, 0, "a|b", "which mode", 0, NULL},
    {"token", GB_SETTING_STRING, NULL, 0, 0, NULL, "secret token",
     GB_SETTING_SECRET, "old_token"},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL},
};

/* Loads argv, declares plugin "demo" and finishes: the result of finish,
 * or -2 when the host's own settings already failed. */
static int load_demo(int argc, char **argv)
{
	if (load(argc, argv) != GB_CONFIG_OK)
		return -2;
	if (gb_config_add_plugin("demo", demo_settings, err, sizeof err) < 0)
		return -3;
	return gb_config_finish(err, sizeof err);
}

static char *temp_file(const char *text)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/gbunit-XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	dprintf(fd, "%s", text);
	close(fd);
	return path;
}

Test(config, plugin_settings_have_their_defaults_and_types)
{
	char *argv[] = {"guestbookd", NULL};
	cr_assert_eq(load_demo(1, argv), 0, "%s", err);
	cr_assert_str_eq(gb_config_plugin_get("demo", "greeting"), "Hello");
	cr_assert_eq(gb_config_plugin_int("demo", "limit"), 10);
	cr_assert_eq(gb_config_plugin_bool("demo", "fast"), 0);
	cr_assert_str_eq(gb_config_plugin_get("demo", "mode"), "a");
	cr_assert_null(gb_config_plugin_get("demo", "token"));
	cr_assert_null(gb_config_plugin_get("demo", "nosuch"));
	cr_assert_null(gb_config_plugin_get("other", "greeting"));
	/* the old accessor finds them by file key and legacy name */
	cr_assert_str_eq(gb_config_get("demo_greeting"), "Hello");
	cr_assert_str_eq(gb_config_get("old_limit"), "10");
}

Test(config, plugin_setting_three_spellings_and_precedence)
{
	char *path = temp_file("demo_greeting = Salut\ndemo_limit = 20\n"
			       "demo_fast = yes\n");
	char *a1[] = {"guestbookd", "--config", path, NULL};
	cr_assert_eq(load_demo(3, a1), 0, "%s", err);
	cr_assert_str_eq(gb_config_plugin_get("demo", "greeting"), "Salut");
	cr_assert_eq(gb_config_plugin_int("demo", "limit"), 20);
	cr_assert_eq(gb_config_plugin_bool("demo", "fast"), 1);

	setenv("GUESTBOOK_DEMO_GREETING", "Bonjour", 1);
	cr_assert_eq(load_demo(3, a1), 0, "%s", err);
	cr_assert_str_eq(gb_config_plugin_get("demo", "greeting"), "Bonjour",
			 "environment beats file");

	char *a2[] = {"guestbookd", "--config", path, "--demo-greeting=Hallo",
		      NULL};
	cr_assert_eq(load_demo(4, a2), 0, "%s", err);
	cr_assert_str_eq(gb_config_plugin_get("demo", "greeting"), "Hallo",
			 "flag beats environment");
	unsetenv("GUESTBOOK_DEMO_GREETING");
	unlink(path);
}

Test(config, legacy_spelling_works_and_the_new_one_wins)
{
	setenv("GUESTBOOK_OLD_LIMIT", "30", 1);
	char *a1[] = {"guestbookd", NULL};
	cr_assert_eq(load_demo(1, a1), 0, "%s", err);
	cr_assert_eq(gb_config_plugin_int("demo", "limit"), 30);
	setenv("GUESTBOOK_DEMO_LIMIT", "40", 1);
	cr_assert_eq(load_demo(1, a1), 0, "%s", err);
	cr_assert_eq(gb_config_plugin_int("demo", "limit"), 40,
		     "NAME_KEY beats the legacy name at one level");
	char *a2[] = {"guestbookd", "--old-limit", "50", NULL};
	cr_assert_eq(load_demo(3, a2), 0, "%s", err);
	cr_assert_eq(gb_config_plugin_int("demo", "limit"), 50,
		     "a legacy flag beats the environment");
	unsetenv("GUESTBOOK_OLD_LIMIT");
	unsetenv("GUESTBOOK_DEMO_LIMIT");
}

Test(config, bad_plugin_values_name_the_plugin_and_spelling)
{
	char *a1[] = {"guestbookd", "--demo-limit", "101", NULL};
	cr_assert_eq(load_demo(3, a1), -1);
	cr_assert(strstr(err, "plugin demo: setting demo_limit "
			      "(GUESTBOOK_DEMO_LIMIT): '101' is not a number "
			      "from 1 to 100"),
		  "%s", err);
	setenv("GUESTBOOK_OLD_LIMIT", "0x10", 1);
	char *a2[] = {"guestbookd", NULL};
	cr_assert_eq(load_demo(1, a2), -1);
	cr_assert(strstr(err, "plugin demo: setting old_limit "
			      "(GUESTBOOK_OLD_LIMIT)"),
		  "%s", err);
	unsetenv("GUESTBOOK_OLD_LIMIT");
	char *a3[] = {"guestbookd", "--demo-fast", "maybe", NULL};
	cr_assert_eq(load_demo(3, a3), -1);
	cr_assert(strstr(err, "is not on or off"), "%s", err);
	char *a4[] = {"guestbookd", "--demo-mode", "c", NULL};
	cr_assert_eq(load_demo(3, a4), -1);
	cr_assert(strstr(err, "is not one of a|b"), "%s", err);
	char *a5[] = {"guestbookd", "--demo-limit", "", NULL};
	cr_assert_eq(load_demo(3, a5), -1, "empty is not a number");
	char *a6[] = {"guestbookd", "--demo-limit", "99999999999999999999999",
		      NULL};
	cr_assert_eq(load_demo(3, a6), -1, "overflow is refused");
}

Test(config, unknown_keys_and_flags_are_refused_after_the_plugins)
{
	char *path = temp_file("threads = 8\ndemo_greeting = Hi\n"
			       "demo_nosuch = 1\n");
	char *a1[] = {"guestbookd", "--config", path, NULL};
	cr_assert_eq(load_demo(3, a1), -1);
	cr_assert(strstr(err, ":3: unknown setting 'demo_nosuch'"), "%s", err);
	unlink(path);
	char *a2[] = {
	    "guestbookd", "--demo-greeting", "x", "--demo-nosuch", "1", NULL};
	cr_assert_eq(load_demo(5, a2), -1);
	cr_assert_str_eq(err, "unknown option '--demo-nosuch' (see --help)");
	/* without the plugin, its settings are unknown too */
	char *a3[] = {"guestbookd", "--demo-greeting", "x", NULL};
	cr_assert_eq(load(3, a3), GB_CONFIG_OK, "%s", err);
	cr_assert_eq(gb_config_finish(err, sizeof err), -1);
	cr_assert(strstr(err, "'--demo-greeting'"), "%s", err);
	/* a secret's _FILE form exists only for secrets */
	char *a4[] = {"guestbookd", "--demo-greeting-file", "/etc/hostname",
		      NULL};
	cr_assert_eq(load_demo(3, a4), -1);
	cr_assert(strstr(err, "'--demo-greeting-file'"), "%s", err);
	/* underscores in a flag work as dashes, as they always did */
	char *a5[] = {"guestbookd", "--demo_greeting", "x", NULL};
	cr_assert_eq(load_demo(3, a5), 0, "%s", err);
	cr_assert_str_eq(gb_config_plugin_get("demo", "greeting"), "x");
}

Test(config, secrets_come_from_a_file_and_are_never_printed)
{
	char *path = temp_file("  s3cret-token \n\n");
	char file[64];
	snprintf(file, sizeof file, "%s", path);
	setenv("GUESTBOOK_DEMO_TOKEN_FILE", file, 1);
	char *a1[] = {"guestbookd", NULL};
	cr_assert_eq(load_demo(1, a1), 0, "%s", err);
	cr_assert_str_eq(gb_config_plugin_get("demo", "token"), "s3cret-token");
	char all[2048];
	gb_config_describe(all, sizeof all);
	cr_assert(strstr(all, "demo_token=****"), "%s", all);
	cr_assert_null(strstr(all, "s3cret"), "%s", all);

	setenv("GUESTBOOK_DEMO_TOKEN", "direct", 1);
	cr_assert_eq(load_demo(1, a1), 0, "%s", err);
	cr_assert_str_eq(gb_config_plugin_get("demo", "token"), "direct",
			 "a value beats a file at one level");
	char *a2[] = {"guestbookd", "--old-token-file", file, NULL};
	cr_assert_eq(load_demo(3, a2), 0, "%s", err);
	cr_assert_str_eq(gb_config_plugin_get("demo", "token"), "s3cret-token",
			 "a legacy _FILE flag beats the environment");
	unsetenv("GUESTBOOK_DEMO_TOKEN");
	unsetenv("GUESTBOOK_DEMO_TOKEN_FILE");
	unlink(path);
}

Test(config, unusable_secret_files_stop_the_start)
{
	char *a1[] = {"guestbookd", "--demo-token-file", "/nonexistent/tok",
		      NULL};
	cr_assert_eq(load_demo(3, a1), -1);
	cr_assert(strstr(err, "plugin demo: setting demo_token_file: cannot "
			      "read /nonexistent/tok"),
		  "%s", err);
	char *empty = temp_file(" \n");
	char e[64];
	snprintf(e, sizeof e, "%s", empty);
	char *a2[] = {"guestbookd", "--demo-token-file", e, NULL};
	cr_assert_eq(load_demo(3, a2), -1);
	cr_assert(strstr(err, "is empty"), "%s", err);
	unlink(e);
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	char *large = temp_file(big);
	snprintf(e, sizeof e, "%s", large);
	char *a3[] = {"guestbookd", "--demo-token-file", e, NULL};
	cr_assert_eq(load_demo(3, a3), -1);
	cr_assert(strstr(err, "longer than 4096 bytes"), "%s", err);
	unlink(e);
	char path[] = "/tmp/gbunit-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_eq(write(fd, "ab\0cd", 5), 5);
	close(fd);
	char *a4[] = {"guestbookd", "--demo-token-file", path, NULL};
	cr_assert_eq(load_demo(3, a4), -1);
	cr_assert(strstr(err, "NUL"), "%s", err);
	unlink(path);
}

Test(config, malformed_or_clashing_tables_are_refused)
{
	char *argv[] = {"guestbookd", NULL};
	static const struct gb_setting bad_default[] = {
	    {"n", GB_SETTING_INT, "0", 1, 5, NULL, "n", 0, NULL},
	    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
	static const struct gb_setting bad_key[] = {
	    {"Upper", GB_SETTING_STRING, NULL, 0, 0, NULL, "x", 0, NULL},
	    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
	static const struct gb_setting takes_core[] = {
	    {"x", GB_SETTING_INT, "1", 0, 9, NULL, "x", 0, "threads"},
	    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
	static const struct gb_setting shares_legacy[] = {
	    {"limit", GB_SETTING_INT, "1", 1, 9, NULL, "x", 0, "old_limit"},
	    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
	static const struct gb_setting clashing_legacy[] = {
	    {"limit", GB_SETTING_STRING, NULL, 0, 0, NULL, "x", 0, "old_limit"},
	    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
	cr_assert_eq(load(1, argv), GB_CONFIG_OK, "%s", err);
	cr_assert_eq(gb_config_add_plugin("p", bad_default, err, sizeof err),
		     -1);
	cr_assert(strstr(err, "plugin p: the default of setting n"), "%s", err);
	cr_assert_eq(gb_config_add_plugin("p", bad_key, err, sizeof err), -1);
	cr_assert_eq(gb_config_add_plugin("p", takes_core, err, sizeof err),
		     -1);
	cr_assert(strstr(err, "'threads' is already a setting of guestbookd"),
		  "%s", err);
	cr_assert_eq(
	    gb_config_add_plugin("demo", demo_settings, err, sizeof err), 0,
	    "%s", err);
	cr_assert_eq(
	    gb_config_add_plugin("demo", demo_settings, err, sizeof err), -1,
	    "declared twice");
	cr_assert_eq(
	    gb_config_add_plugin("other", shares_legacy, err, sizeof err), 0,
	    "two plugins may carry one legacy name: %s", err);
	cr_assert_eq(
	    gb_config_add_plugin("third", clashing_legacy, err, sizeof err), -1,
	    "but not with another type");
}

Test(config, a_shared_legacy_name_reaches_every_plugin)
{
	static const struct gb_setting other[] = {
	    {"limit", GB_SETTING_INT, "5", 1, 9, NULL, "x", 0, "old_limit"},
	    {NULL, 0, NULL, 0, 0, NULL, NULL, 0, NULL}};
	char *argv[] = {"guestbookd", "--old-limit", "7", NULL};
	cr_assert_eq(load(3, argv), GB_CONFIG_OK, "%s", err);
	cr_assert_eq(
	    gb_config_add_plugin("demo", demo_settings, err, sizeof err), 0,
	    "%s", err);
	cr_assert_eq(gb_config_add_plugin("other", other, err, sizeof err), 0,
		     "%s", err);
	setenv("GUESTBOOK_OTHER_LIMIT", "8", 1);
	cr_assert_eq(gb_config_finish(err, sizeof err), 0, "%s", err);
	cr_assert_eq(gb_config_plugin_int("demo", "limit"), 7);
	cr_assert_eq(gb_config_plugin_int("other", "limit"), 7,
		     "the legacy flag beats other's own environment");
	unsetenv("GUESTBOOK_OTHER_LIMIT");
}

Test(config, plus_adds_plugins_to_the_roles_set)
{
	char *a1[] = {"guestbookd", "--plugins", "+example", NULL};
	cr_assert_eq(load(3, a1), GB_CONFIG_OK, "%s", err);
	cr_assert_str_eq(gb_config_get("plugins"), "api,web,metrics,example");
	char *a2[] = {"guestbookd", "--role",		"backend",
		      "--plugins",  "+stats, +example", NULL};
	cr_assert_eq(load(5, a2), GB_CONFIG_OK, "%s", err);
	cr_assert_str_eq(gb_config_get("plugins"), "api,metrics,stats,example");
	char *a3[] = {"guestbookd", "--plugins", "api", NULL};
	cr_assert_eq(load(3, a3), GB_CONFIG_OK, "%s", err);
	cr_assert_str_eq(gb_config_get("plugins"), "api",
			 "a plain list "
			 "replaces the role's set");
}

/* ---- secrets given as flags --------------------------------------- */

/* The warning for a secret passed as a flag, after loading argv. */
static const char *secret_advice(int argc, char **argv)
{
	cr_assert_eq(load_demo(argc, argv), 0, "%s", err);
	return gb_config_secret_flag();
}

Test(config, a_plugin_secret_given_as_a_flag_is_named_with_the_way_out)
{
	char *a1[] = {"guestbookd", "--demo-token", "t0ken", NULL};
	const char *advice = secret_advice(3, a1);
	cr_assert_not_null(advice);
	cr_assert(strstr(advice, "--demo-token: use --demo-token-file (or "
				 "GUESTBOOK_DEMO_TOKEN_FILE)"),
		  "%s", advice);
	cr_assert_null(strstr(advice, "t0ken"), "the value leaked: %s", advice);

	char *a2[] = {"guestbookd", "--old-token=t0ken", NULL};
	advice = secret_advice(2, a2);
	cr_assert_not_null(advice);
	cr_assert(
	    strstr(advice, "--old-token-file (or GUESTBOOK_OLD_TOKEN_FILE)"),
	    "the legacy spelling used is the one named: %s", advice);
}

Test(config, secrets_from_files_and_the_environment_are_not_flags)
{
	char *path = temp_file("t0ken\n");
	char *a1[] = {"guestbookd", "--demo-token-file", path, NULL};
	cr_assert_null(secret_advice(3, a1));
	setenv("GUESTBOOK_DEMO_TOKEN", "t0ken", 1);
	char *a2[] = {"guestbookd", NULL};
	cr_assert_null(secret_advice(1, a2));
	unlink(path);

	/* Other settings given as flags are no secret. */
	char *a3[] = {"guestbookd", "--demo-greeting", "Hi", NULL};
	cr_assert_null(secret_advice(3, a3));
}

Test(config, a_secret_address_counts_only_with_a_password)
{
	char *a1[] = {"guestbookd", "--demo-token", "mongodb://db/x", NULL};
	cr_assert_null(secret_advice(3, a1));
	char *a2[] = {"guestbookd", "--demo-token", "mongodb://u:pw@db/x",
		      NULL};
	cr_assert_not_null(secret_advice(3, a2));
	char *a3[] = {"guestbookd", "--demo-token=u:pw@db:27017", NULL};
	cr_assert_not_null(secret_advice(2, a3));
}
