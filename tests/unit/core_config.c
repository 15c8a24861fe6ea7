/* Settings: precedence, validation, role defaults and the legacy wiring. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
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
	const char *vars[] = {"PORT", "GUESTBOOK_ROLE", "GUESTBOOK_DB_ADDR",
			      "GUESTBOOK_API_ADDR", "GUESTBOOK_THREADS",
			      "GUESTBOOK_MONGO_URI", "GUESTBOOK_CONFIG",
			      "GUESTBOOK_STORAGE", "GUESTBOOK_PLUGINS"};
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
	cr_assert_str_eq(gb_config_get("mongo_uri"),
			 "mongodb://user:pw@mongo:27017/guestbook");
}

Test(config, legacy_api_addr_makes_a_frontend)
{
	setenv("GUESTBOOK_API_ADDR", "backend:8080", 1);
	char *argv[] = {"guestbookd", NULL};
	cr_assert_eq(load(1, argv), GB_CONFIG_OK, "%s", err);
	cr_assert_str_eq(gb_config_get("role"), "frontend");
	cr_assert_str_eq(gb_config_get("storage"), "http");
	cr_assert_str_eq(gb_config_get("backend_url"), "http://backend:8080");
}

Test(config, explicit_role_and_storage_win_over_the_wiring)
{
	setenv("GUESTBOOK_DB_ADDR", "mongo:27017", 1);
	char *argv[] = {"guestbookd", "--role", "all", "--storage", "sqlite",
			NULL};
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
