/*
 * sqlite_store_ops.c - the sqlite plugin on its own: loaded with dlopen()
 * and driven through the struct gb_storage_ops it registers, with a minimal
 * host table. Covers what the host never lets happen on purpose: calls
 * before open, the default path, and either order of fini and close.
 */
#include <dlfcn.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "guestbook/plugin.h"

/* The plugin handle the host would pass; opaque to the plugin. */
static char fake_plugin;
#define SELF ((struct gb_plugin *)&fake_plugin)

static const struct gb_storage_ops *ops;
static void *store;
static const struct gb_plugin_descriptor *desc;
static char sqlite_path[PATH_MAX];
static char dir[PATH_MAX - 64];

static void fake_log(struct gb_plugin *self, enum gb_log_level level,
		     const char *fmt, ...)
{
	(void)self;
	(void)level;
	(void)fmt;
}

static const char *fake_config_get(const char *key)
{
	if (strcmp(key, "sqlite_path") == 0 && sqlite_path[0])
		return sqlite_path;
	return NULL;
}

static char init_message[512];

static void fake_init_error(struct gb_plugin *self, const char *fmt, ...)
{
	va_list ap;

	(void)self;
	va_start(ap, fmt);
	vsnprintf(init_message, sizeof(init_message), fmt, ap);
	va_end(ap);
}

static char *fake_strdup(const char *s)
{
	return strdup(s);
}

static enum gb_status fake_storage_register(struct gb_plugin *self,
					    const char *name,
					    const struct gb_storage_ops *o,
					    void *s)
{
	(void)self;
	cr_assert_str_eq(name, "sqlite");
	ops = o;
	store = s;
	return GB_OK;
}

static const struct gb_host_api fake_host = {
    .size = sizeof(struct gb_host_api),
    .abi_major = GB_ABI_MAJOR,
    .abi_minor = GB_ABI_MINOR,
    .log = fake_log,
    .init_error = fake_init_error,
    .config_get = fake_config_get,
    .alloc = malloc,
    .strdup = fake_strdup,
    .free = free,
    .storage_register = fake_storage_register,
};

/* $GB_BUILD_DIR, or BUILD from this binary's path BUILD/tests/unit/NAME. */
static const char *build_dir(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("GB_BUILD_DIR");
	ssize_t n;

	if (env && env[0])
		return env;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	cr_assert(n > 0);
	path[n] = '\0';
	for (int i = 0; i < 3; i++)
		*strrchr(path, '/') = '\0';
	return path;
}

static void load_plugin(void)
{
	char so[PATH_MAX + 32];
	void *h;

	snprintf(so, sizeof(so), "%s/plugins/sqlite.so", build_dir());
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "dlopen %s: %s", so, dlerror());
	desc = dlsym(h, GB_PLUGIN_SYMBOL);
	cr_assert_not_null(desc);
	cr_assert_eq(desc->kind, GB_PLUGIN_STORAGE);
	cr_assert_eq(desc->init(SELF, &fake_host), 0, "init: %s", init_message);
	cr_assert_not_null(ops);
	cr_assert_eq(ops->size, sizeof(struct gb_storage_ops));
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/gb-sqlite-unit-XXXXXX",
		 tmp && tmp[0] ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sqlite_path, sizeof(sqlite_path), "%s/unit.db", dir);
	load_plugin();
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void teardown(void)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sqlite_ops, .init = setup, .fini = teardown, .timeout = 60);

static void open_store(void)
{
	struct gb_error err = {0};

	cr_assert_eq(ops->open(store, &err), GB_OK, "open: %s", err.message);
}

static cJSON *message(const char *text)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "author", "unit");
	cJSON_AddStringToObject(doc, "message", text);
	cJSON_AddNumberToObject(doc, "date", 1764136800.0);
	return doc;
}

Test(sqlite_ops, every_call_before_open_is_unavailable)
{
	struct gb_store_ctx ctx = {0};
	struct gb_error err = {0};
	char id[GB_ID_MAX], *next = NULL;
	cJSON *doc = message("early"), *out = NULL;

	cr_assert_eq(ops->insert(store, &ctx, "messages", doc, id, &err),
		     GB_ERR_UNAVAILABLE);
	cr_assert(strstr(err.message, "not open"), "%s", err.message);
	cr_assert_eq(ops->get(store, &ctx, "messages", "1", &out, &err),
		     GB_ERR_UNAVAILABLE);
	cr_assert_eq(
	    ops->list(store, &ctx, "messages", 5, NULL, &out, &next, &err),
	    GB_ERR_UNAVAILABLE);
	cr_assert_eq(ops->remove(store, &ctx, "messages", "1", &err),
		     GB_ERR_UNAVAILABLE);
	cr_assert_eq(ops->ping(store, &err), GB_ERR_UNAVAILABLE);
	cr_assert_null(out);
	cr_assert_null(next);
	cJSON_Delete(doc);
	desc->fini(SELF);
}

Test(sqlite_ops, ping_answers_once_open_and_not_after_close)
{
	struct gb_error err = {0};

	open_store();
	cr_assert_eq(ops->ping(store, &err), GB_OK, "%s", err.message);
	ops->close(store);
	cr_assert_eq(ops->ping(store, &err), GB_ERR_UNAVAILABLE);
	desc->fini(SELF);
}

Test(sqlite_ops, unset_path_means_data_guestbook_db_in_the_working_dir)
{
	struct gb_error err = {0};
	char data[PATH_MAX + 8];
	struct stat st;

	sqlite_path[0] = '\0';
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(ops->open(store, &err), GB_ERR_UNAVAILABLE);
	cr_assert(strstr(err.message, "./data/guestbook.db"), "%s",
		  err.message);
	cr_assert(strstr(err.message, "create it"), "%s", err.message);
	snprintf(data, sizeof(data), "%s/data", dir);
	cr_assert_eq(mkdir(data, 0700), 0);
	open_store();
	cr_assert_eq(stat("data/guestbook.db", &st), 0);
	ops->close(store);
	desc->fini(SELF);
}

Test(sqlite_ops, memory_database_is_refused)
{
	struct gb_error err = {0};

	strcpy(sqlite_path, ":memory:");
	cr_assert_eq(ops->open(store, &err), GB_ERR_INVALID);
	cr_assert(strstr(err.message, ":memory:"), "%s", err.message);
	desc->fini(SELF);
}

Test(sqlite_ops, fini_before_close_leaves_the_store_usable_until_close)
{
	struct gb_store_ctx ctx = {0};
	struct gb_error err = {0};
	char id[GB_ID_MAX];
	cJSON *doc = message("late");

	open_store();
	desc->fini(SELF);
	cr_assert_eq(ops->ping(store, &err), GB_OK, "%s", err.message);
	cr_assert_eq(ops->insert(store, &ctx, "messages", doc, id, &err), GB_OK,
		     "%s", err.message);
	ops->close(store);
	cJSON_Delete(doc);
}

struct mixed_worker {
	int index;
	int failures;
};

/* Each thread inserts two documents and removes one of them, 100 times. */
static void *mixed_writes(void *arg)
{
	struct mixed_worker *w = arg;
	struct gb_store_ctx ctx = {0};

	for (int i = 0; i < 100; i++) {
		struct gb_error err = {0};
		char keep[GB_ID_MAX], drop[GB_ID_MAX];
		cJSON *doc = message("mixed");

		if (ops->insert(store, &ctx, "mixed", doc, keep, &err) !=
			GB_OK ||
		    ops->insert(store, &ctx, "mixed", doc, drop, &err) !=
			GB_OK ||
		    ops->remove(store, &ctx, "mixed", drop, &err) != GB_OK ||
		    ops->remove(store, &ctx, "mixed", drop, &err) !=
			GB_ERR_NOT_FOUND)
			w->failures++;
		cJSON_Delete(doc);
	}
	return NULL;
}

Test(sqlite_ops, concurrent_inserts_and_removes_each_get_their_own_result)
{
	struct mixed_worker workers[12];
	pthread_t threads[12];
	struct gb_store_ctx ctx = {0};
	struct gb_error err = {0};
	cJSON *docs = NULL;
	char *next = NULL;

	open_store();
	for (int i = 0; i < 12; i++) {
		workers[i] = (struct mixed_worker){.index = i};
		pthread_create(&threads[i], NULL, mixed_writes, &workers[i]);
	}
	for (int i = 0; i < 12; i++) {
		pthread_join(threads[i], NULL);
		cr_assert_eq(workers[i].failures, 0, "thread %d: %d failures",
			     i, workers[i].failures);
	}
	cr_assert_eq(
	    ops->list(store, &ctx, "mixed", 2000, NULL, &docs, &next, &err),
	    GB_OK, "%s", err.message);
	cr_assert_eq(cJSON_GetArraySize(docs), 1200);
	cr_assert_null(next);
	cJSON_Delete(docs);
	ops->close(store);
	desc->fini(SELF);
}
