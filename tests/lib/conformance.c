/*
 * conformance.c - the storage conformance suite (see conformance.h).
 */
#include "conformance.h"

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage.h"

#define CONF_DATE 1764136800.5 /* exact in binary and in milliseconds */

/* ---- fixtures -------------------------------------------------------- */

static char conf_dir[PATH_MAX];

const char *gb_conformance_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (conf_dir[0])
		return conf_dir;
	if (!base || !base[0])
		base = "/tmp";
	snprintf(conf_dir, sizeof(conf_dir), "%s/gb-conformance-XXXXXX", base);
	cr_assert_not_null(mkdtemp(conf_dir), "cannot create a directory in %s",
			   base);
	return conf_dir;
}

static int conf_remove_entry(const char *path, const struct stat *st, int flag,
			     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void gb_conformance_tmpdir_remove(void)
{
	if (!conf_dir[0])
		return;
	nftw(conf_dir, conf_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	conf_dir[0] = '\0';
}

/* $GB_BUILD_DIR, or the build directory this test binary lives in. */
static const char *conf_build_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("GB_BUILD_DIR");
	ssize_t n;

	if (env && env[0])
		return env;
	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	cr_assert(n > 0, "GB_BUILD_DIR is not set and /proc/self/exe is "
			 "unreadable; run the tests through make");
	dir[n] = '\0';
	/* BUILD/tests/KIND/NAME -> BUILD */
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(dir, '/');
		cr_assert_not_null(slash, "cannot find the build directory");
		*slash = '\0';
	}
	return dir;
}

void gb_conformance_host_start(const char *const *args)
{
	char plugin_dir[PATH_MAX + 16];
	const char *fixed[] = {
	    "guestbookd",   "--role",	"all",	       "--plugins", "",
	    "--plugin-dir", plugin_dir, "--log-level", "warn"};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	char *argv[64];
	char err[512] = "";
	int argc = 0, rc;

	snprintf(plugin_dir, sizeof(plugin_dir), "%s/plugins",
		 conf_build_dir());
	for (size_t i = 0; i < nfixed; i++)
		argv[argc++] = strdup(fixed[i]);
	for (size_t i = 0; args && args[i] && argc < 63; i++)
		argv[argc++] = strdup(args[i]);
	argv[argc] = NULL;
	rc = gb_host_start(argc, argv, err, sizeof(err));
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	cr_assert_eq(rc, 0, "gb_host_start returned %d: %s", rc, err);
}

void gb_conformance_begin(const struct gb_conformance_backend *b)
{
	b->start();
}

void gb_conformance_end(const struct gb_conformance_backend *b)
{
	b->stop();
	if (b->cleanup)
		b->cleanup();
}

/* ---- helpers --------------------------------------------------------- */

static const char *coll(const struct gb_conformance_backend *b)
{
	return b->collection ? b->collection : "conformance";
}

static const char *other_coll(const struct gb_conformance_backend *b)
{
	return b->other_collection ? b->other_collection : "conformance_b";
}

static cJSON *conf_message(const char *author, const char *message, double date)
{
	cJSON *doc = cJSON_CreateObject();

	cr_assert_not_null(doc);
	cr_assert_not_null(cJSON_AddStringToObject(doc, "author", author));
	cr_assert_not_null(cJSON_AddStringToObject(doc, "message", message));
	cr_assert_not_null(cJSON_AddNumberToObject(doc, "date", date));
	return doc;
}

static void conf_insert(const struct gb_conformance_backend *b,
			const char *collection, const cJSON *doc,
			char id[GB_ID_MAX])
{
	struct gb_error err = {0};
	enum gb_status st;

	st = gb_host_api_table()->store_insert(NULL, collection, doc, id, &err);
	cr_assert_eq(st, GB_OK, "%s: insert into %s: status %d: %s", b->name,
		     collection, st, err.message);
	if (b->no_ids)
		cr_assert_str_eq(id, "",
				 "%s: a store without ids returned "
				 "an id",
				 b->name);
	else
		cr_assert(id[0] != '\0', "%s: insert returned an empty id",
			  b->name);
	cr_assert(memchr(id, '\0', GB_ID_MAX) != NULL,
		  "%s: insert returned an unterminated id", b->name);
}

/* Inserts a message "<prefix><i>" and returns its id. */
static void conf_insert_message(const struct gb_conformance_backend *b,
				const char *collection, const char *text,
				char id[GB_ID_MAX])
{
	cJSON *doc = conf_message("conformance", text, CONF_DATE);

	conf_insert(b, collection, doc, id);
	cJSON_Delete(doc);
}

static cJSON *conf_get(const struct gb_conformance_backend *b,
		       const char *collection, const char *id)
{
	struct gb_error err = {0};
	cJSON *doc = NULL;
	enum gb_status st;

	st = gb_host_api_table()->store_get(NULL, collection, id, &doc, &err);
	cr_assert_eq(st, GB_OK, "%s: get %s from %s: status %d: %s", b->name,
		     id, collection, st, err.message);
	cr_assert(cJSON_IsObject(doc), "%s: get %s gave no object", b->name,
		  id);
	return doc;
}

static cJSON *conf_list(const struct gb_conformance_backend *b,
			const char *collection, int limit, const char *cursor,
			char **next)
{
	struct gb_error err = {0};
	cJSON *docs = NULL;
	enum gb_status st;

	*next = NULL;
	st = gb_host_api_table()->store_list(NULL, collection, limit, cursor,
					     &docs, next, &err);
	cr_assert_eq(st, GB_OK, "%s: list %s limit %d cursor %s: status %d: %s",
		     b->name, collection, limit, cursor ? cursor : "(none)", st,
		     err.message);
	cr_assert(cJSON_IsArray(docs), "%s: list gave no array", b->name);
	cr_assert_leq(cJSON_GetArraySize(docs), limit,
		      "%s: list returned more than limit %d", b->name, limit);
	if (*next) {
		for (const char *p = *next; *p; p++)
			cr_assert(strchr("abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789_-",
					 *p),
				  "%s: cursor '%s' has a character outside "
				  "[A-Za-z0-9_-]",
				  b->name, *next);
		cr_assert(**next != '\0', "%s: empty next cursor", b->name);
	}
	return docs;
}

static const char *conf_field(const cJSON *doc, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* got must be expected plus "id": id, nothing more or less. */
/* Drops the fields the store sets itself from both, after a type check. */
static void conf_drop_store_set_fields(const struct gb_conformance_backend *b,
				       cJSON *want, cJSON *got)
{
	for (size_t i = 0; b->store_set_fields && b->store_set_fields[i]; i++) {
		const char *name = b->store_set_fields[i];
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(want, name);
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, name);

		if (!w)
			continue;
		cr_assert_not_null(g, "%s: field %s is missing", b->name, name);
		cr_assert_eq(w->type & 0xff, g->type & 0xff,
			     "%s: field %s changed its JSON type", b->name,
			     name);
		cJSON_DeleteItemFromObjectCaseSensitive(want, name);
		cJSON_DeleteItemFromObjectCaseSensitive(got, name);
	}
}

/* got must be expected plus "id": id, nothing more or less. */
static void conf_assert_doc(const struct gb_conformance_backend *b,
			    const cJSON *expected, const char *id,
			    const cJSON *got)
{
	cJSON *want = cJSON_Duplicate(expected, 1);
	cJSON *have = cJSON_Duplicate(got, 1);
	char *want_text, *got_text;
	int same;

	cr_assert_not_null(want);
	cr_assert_not_null(have, "%s: no document", b->name);
	cJSON_DeleteItemFromObjectCaseSensitive(want, "id");
	if (b->no_ids)
		cJSON_AddNullToObject(want, "id");
	else
		cJSON_AddStringToObject(want, "id", id);
	conf_drop_store_set_fields(b, want, have);
	same = cJSON_Compare(want, have, 1);
	want_text = cJSON_PrintUnformatted(want);
	got_text = cJSON_PrintUnformatted(have);
	cr_assert(same, "%s: document differs\n want %.300s\n got  %.300s",
		  b->name, want_text, got_text);
	free(want_text);
	free(got_text);
	cJSON_Delete(want);
	cJSON_Delete(have);
}

static void conf_assert_status(const struct gb_conformance_backend *b,
			       enum gb_status st, enum gb_status want,
			       const struct gb_error *err, const char *what)
{
	cr_assert_eq(st, want, "%s: %s: status %d, want %d (%s)", b->name, what,
		     st, want, err->message);
	cr_assert(err->message[0] != '\0', "%s: %s failed without a message",
		  b->name, what);
}

static int conf_strcmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Fails if two of the n ids (GB_ID_MAX bytes each) are equal. */
static void conf_assert_unique(const struct gb_conformance_backend *b,
			       char (*ids)[GB_ID_MAX], size_t n)
{
	char(*sorted)[GB_ID_MAX] = malloc(n * GB_ID_MAX);

	cr_assert_not_null(sorted);
	memcpy(sorted, ids, n * GB_ID_MAX);
	qsort(sorted, n, GB_ID_MAX, conf_strcmp);
	for (size_t i = 1; i < n; i++)
		cr_assert_str_neq(sorted[i - 1], sorted[i],
				  "%s: id %s was returned twice", b->name,
				  sorted[i]);
	free(sorted);
}

/*
 * Pages through the whole collection with `limit` and returns the messages
 * in the order seen (a NULL-terminated array of strings, caller frees).
 */
static char **conf_list_all(const struct gb_conformance_backend *b,
			    const char *collection, int limit, size_t *count)
{
	size_t n = 0, cap = 64;
	char **texts = malloc(cap * sizeof(*texts));
	char *cursor = NULL, *next;
	int pages = 0;

	cr_assert_not_null(texts);
	do {
		cJSON *docs = conf_list(b, collection, limit, cursor, &next);
		const cJSON *doc;
		int size = cJSON_GetArraySize(docs);

		cr_assert(next == NULL || size == limit,
			  "%s: a page of %d (limit %d) has a next cursor",
			  b->name, size, limit);
		cr_assert(size > 0 || cursor == NULL,
			  "%s: a cursor led to an empty page", b->name);
		cJSON_ArrayForEach(doc, docs)
		{
			const char *m = conf_field(doc, "message");

			cr_assert_not_null(m, "%s: listed doc has no message",
					   b->name);
			if (n + 2 > cap) {
				cap *= 2;
				texts = realloc(texts, cap * sizeof(*texts));
				cr_assert_not_null(texts);
			}
			texts[n++] = strdup(m);
		}
		cJSON_Delete(docs);
		free(cursor);
		cursor = next;
		cr_assert_lt(++pages, 100000, "%s: paging never ends", b->name);
	} while (cursor);
	texts[n] = NULL;
	*count = n;
	return texts;
}

static void conf_free_texts(char **texts)
{
	for (size_t i = 0; texts[i]; i++)
		free(texts[i]);
	free(texts);
}

/* Inserts messages "m0".."m<n-1>" in order. */
static void conf_insert_numbered(const struct gb_conformance_backend *b,
				 const char *collection, int n)
{
	char id[GB_ID_MAX], text[32];

	for (int i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		conf_insert_message(b, collection, text, id);
	}
}

/* Pages with `limit` and checks the order is m<n-1> .. m0, each once. */
static void conf_assert_pages(const struct gb_conformance_backend *b,
			      const char *collection, int n, int limit)
{
	size_t count;
	char **texts = conf_list_all(b, collection, limit, &count);
	char want[32];

	cr_assert_eq(count, (size_t)n, "%s: paging with limit %d saw %zu of %d",
		     b->name, limit, count, n);
	for (int i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "m%d", n - 1 - i);
		cr_assert_str_eq(texts[i], want,
				 "%s: position %d of the paged list", b->name,
				 i);
	}
	conf_free_texts(texts);
}

/* ---- the tests ------------------------------------------------------- */

void gb_conf_insert_returns_distinct_ids(const struct gb_conformance_backend *b)
{
	char ids[20][GB_ID_MAX];

	for (int i = 0; i < 20; i++) {
		conf_insert_message(b, coll(b), "distinct", ids[i]);
		for (const char *p = ids[i]; *p; p++)
			cr_assert(*p > ' ' && *p < 127 && *p != '/' &&
				      *p != '?' && *p != '#' && *p != '%',
				  "%s: id '%s' is not safe in a URL path",
				  b->name, ids[i]);
	}
	conf_assert_unique(b, ids, 20);
}

void gb_conf_get_returns_stored_fields_and_id(
    const struct gb_conformance_backend *b)
{
	cJSON *doc = conf_message("Ada", "Hello, guestbook!", CONF_DATE);
	char id[GB_ID_MAX];
	cJSON *got;

	conf_insert(b, coll(b), doc, id);
	got = conf_get(b, coll(b), id);
	conf_assert_doc(b, doc, id, got);
	cJSON_Delete(got);
	cJSON_Delete(doc);
}

void gb_conf_caller_id_is_replaced_by_store_id(
    const struct gb_conformance_backend *b)
{
	cJSON *doc = conf_message("Ada", "my own id", CONF_DATE);
	char id[GB_ID_MAX];
	cJSON *got;

	cJSON_AddStringToObject(doc, "id", "caller-chosen");
	conf_insert(b, coll(b), doc, id);
	cr_assert_str_neq(id, "caller-chosen");
	got = conf_get(b, coll(b), id);
	conf_assert_doc(b, doc, id, got);
	cJSON_Delete(got);
	cJSON_Delete(doc);
}

void gb_conf_unicode_document_round_trips_exactly(
    const struct gb_conformance_backend *b)
{
	static const char author[] = "Zoë 日本語 🎉";
	static const char message[] =
	    "Grüße aus Köln ☃\nline two\twith a tab, \"quotes\", "
	    "back\\slash, <script>alert(1)</script> & 😀 \xe2\x80\xa8 "
	    "Ελληνικά עברית العربية";
	cJSON *doc = conf_message(author, message, CONF_DATE);
	char id[GB_ID_MAX], *next;
	cJSON *got, *docs;

	conf_insert(b, coll(b), doc, id);
	got = conf_get(b, coll(b), id);
	cr_assert_str_eq(conf_field(got, "author"), author);
	cr_assert_str_eq(conf_field(got, "message"), message);
	conf_assert_doc(b, doc, id, got);
	cJSON_Delete(got);
	docs = conf_list(b, coll(b), 5, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 1);
	conf_assert_doc(b, doc, id, cJSON_GetArrayItem(docs, 0));
	cJSON_Delete(docs);
	free(next);
	cJSON_Delete(doc);
}

void gb_conf_large_document_round_trips_exactly(
    const struct gb_conformance_backend *b)
{
	static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?\n";
	size_t len = b->large_doc_bytes ? b->large_doc_bytes : 16384;
	char *message = malloc(len + 1), id[GB_ID_MAX], *next;
	cJSON *doc, *got, *docs;

	cr_assert_not_null(message);
	for (size_t i = 0; i < len; i++)
		message[i] = pattern[(i * 7 + i / 61) % (sizeof(pattern) - 1)];
	message[len] = '\0';
	doc = conf_message("large", message, CONF_DATE);
	conf_insert(b, coll(b), doc, id);
	got = conf_get(b, coll(b), id);
	cr_assert_eq(strlen(conf_field(got, "message")), len,
		     "%s: a %zu-byte message came back with %zu bytes", b->name,
		     len, strlen(conf_field(got, "message")));
	conf_assert_doc(b, doc, id, got);
	cJSON_Delete(got);
	docs = conf_list(b, coll(b), 1, NULL, &next);
	conf_assert_doc(b, doc, id, cJSON_GetArrayItem(docs, 0));
	cJSON_Delete(docs);
	free(next);
	cJSON_Delete(doc);
	free(message);
}

void gb_conf_list_is_newest_first(const struct gb_conformance_backend *b)
{
	char ids[5][GB_ID_MAX], text[32], *next;
	cJSON *docs;

	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		conf_insert_message(b, coll(b), text, ids[i]);
	}
	docs = conf_list(b, coll(b), 10, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 5);
	cr_assert_null(next, "%s: next cursor %s with nothing older", b->name,
		       next);
	for (int i = 0; i < 5; i++) {
		const cJSON *doc = cJSON_GetArrayItem(docs, i);

		snprintf(text, sizeof(text), "m%d", 4 - i);
		cr_assert_str_eq(conf_field(doc, "message"), text,
				 "%s: position %d", b->name, i);
		if (b->no_ids)
			cr_assert(cJSON_IsNull(
			    cJSON_GetObjectItemCaseSensitive(doc, "id")));
		else
			cr_assert_str_eq(conf_field(doc, "id"), ids[4 - i]);
	}
	cJSON_Delete(docs);
}

void gb_conf_list_honours_limit(const struct gb_conformance_backend *b)
{
	char *next;
	cJSON *docs;

	conf_insert_numbered(b, coll(b), 5);
	docs = conf_list(b, coll(b), 3, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 3);
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 0), "message"),
			 "m4");
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 2), "message"),
			 "m2");
	cr_assert_not_null(next, "%s: no next cursor with 2 older documents",
			   b->name);
	cJSON_Delete(docs);
	free(next);
	docs = conf_list(b, coll(b), 1, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 1);
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 0), "message"),
			 "m4");
	cJSON_Delete(docs);
	free(next);
}

void gb_conf_large_limit_returns_everything_in_one_page(
    const struct gb_conformance_backend *b)
{
	char *next;
	cJSON *docs;

	conf_insert_numbered(b, coll(b), 150);
	docs = conf_list(b, coll(b), 1000, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 150,
		     "%s: limit 1000 over 150 documents listed %d", b->name,
		     cJSON_GetArraySize(docs));
	cr_assert_null(next, "%s: cursor %s after the whole collection",
		       b->name, next);
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 0), "message"),
			 "m149");
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 149), "message"),
			 "m0");
	cJSON_Delete(docs);
}

void gb_conf_empty_collection_lists_nothing(
    const struct gb_conformance_backend *b)
{
	char *next;
	cJSON *docs = conf_list(b, coll(b), 20, NULL, &next);

	cr_assert_eq(cJSON_GetArraySize(docs), 0);
	cr_assert_null(next, "%s: next cursor %s on an empty collection",
		       b->name, next);
	cJSON_Delete(docs);
}

void gb_conf_cursor_paging_visits_every_document_once(
    const struct gb_conformance_backend *b)
{
	conf_insert_numbered(b, coll(b), 25);
	conf_assert_pages(b, coll(b), 25, 7);
	conf_assert_pages(b, coll(b), 25, 1);
	conf_assert_pages(b, coll(b), 25, 100);
}

void gb_conf_paging_ends_with_null_cursor_when_count_is_a_multiple_of_limit(
    const struct gb_conformance_backend *b)
{
	char *next, *next2;
	cJSON *docs;

	conf_insert_numbered(b, coll(b), 6);
	conf_assert_pages(b, coll(b), 6, 3);
	conf_assert_pages(b, coll(b), 6, 6);
	docs = conf_list(b, coll(b), 6, NULL, &next);
	cr_assert_null(next, "%s: limit equal to the count gave a cursor",
		       b->name);
	cJSON_Delete(docs);
	docs = conf_list(b, coll(b), 3, NULL, &next);
	cJSON_Delete(docs);
	cr_assert_not_null(next);
	docs = conf_list(b, coll(b), 3, next, &next2);
	cr_assert_eq(cJSON_GetArraySize(docs), 3);
	cr_assert_null(next2, "%s: the last full page gave a cursor", b->name);
	cJSON_Delete(docs);
	free(next);
}

void gb_conf_garbage_cursor_is_invalid(const struct gb_conformance_backend *b)
{
	static const char *const garbage[] = {
	    "not a cursor",
	    "../../etc/passwd",
	    "%00",
	    "\xc3\xa9t\xc3\xa9",
	    "{\"$gt\":\"\"}",
	    "' OR 1=1 --",
	    "zzzzzzzzzzzzzzzzzzzzzzzz",
	    "Zm9yZWlnbg",
	    "-",
	};
	char *next;

	conf_insert_numbered(b, coll(b), 3);
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		struct gb_error err = {0};
		cJSON *docs = NULL;
		enum gb_status st;

		next = NULL;
		st = gb_host_api_table()->store_list(
		    NULL, coll(b), 2, garbage[i], &docs, &next, &err);
		cr_assert_eq(st, GB_ERR_INVALID,
			     "%s: cursor '%s': status %d, want invalid (%s)",
			     b->name, garbage[i], st, err.message);
		cr_assert(err.message[0], "%s: no message for a bad cursor",
			  b->name);
		cJSON_Delete(docs);
		free(next);
	}
}

void gb_conf_unknown_id_is_not_found(const struct gb_conformance_backend *b)
{
	const struct gb_host_api *api = gb_host_api_table();
	struct gb_error err = {0};
	char id[GB_ID_MAX];
	cJSON *doc = NULL;
	enum gb_status st;

	/* An id of the back end's own format that no longer exists. */
	conf_insert_message(b, coll(b), "short-lived", id);
	st = api->store_remove(NULL, coll(b), id, &err);
	cr_assert_eq(st, GB_OK, "%s: remove %s: %s", b->name, id, err.message);
	st = api->store_get(NULL, coll(b), id, &doc, &err);
	conf_assert_status(b, st, GB_ERR_NOT_FOUND, &err,
			   "get of a removed id");
	cr_assert_null(doc);
	memset(&err, 0, sizeof(err));
	st = api->store_remove(NULL, coll(b), id, &err);
	conf_assert_status(b, st, GB_ERR_NOT_FOUND, &err,
			   "second remove of an id");
}

void gb_conf_malformed_id_is_not_found(const struct gb_conformance_backend *b)
{
	static const char *const bad[] = {
	    "",
	    "not-an-id",
	    "../1",
	    "1 OR 1=1",
	    "' OR ''='",
	    "-1",
	    "0",
	    "1.5",
	    " 1",
	    "%",
	    "\xff\xfe",
	    "{\"$ne\":null}",
	    "99999999999999999999999999999999999999999999999999999999999",
	};
	const struct gb_host_api *api = gb_host_api_table();
	char id[GB_ID_MAX];

	conf_insert_message(b, coll(b), "only one", id);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gb_error err = {0};
		cJSON *doc = NULL;
		enum gb_status st;
		char what[160];

		snprintf(what, sizeof(what), "get of id '%s'", bad[i]);
		st = api->store_get(NULL, coll(b), bad[i], &doc, &err);
		conf_assert_status(b, st, GB_ERR_NOT_FOUND, &err, what);
		cr_assert_null(doc);
		memset(&err, 0, sizeof(err));
		snprintf(what, sizeof(what), "remove of id '%s'", bad[i]);
		st = api->store_remove(NULL, coll(b), bad[i], &err);
		conf_assert_status(b, st, GB_ERR_NOT_FOUND, &err, what);
	}
	cJSON_Delete(conf_get(b, coll(b), id));
}

void gb_conf_removed_document_is_gone(const struct gb_conformance_backend *b)
{
	const struct gb_host_api *api = gb_host_api_table();
	char ids[3][GB_ID_MAX], *next;
	struct gb_error err = {0};
	cJSON *doc = NULL, *docs;
	enum gb_status st;

	conf_insert_message(b, coll(b), "m0", ids[0]);
	conf_insert_message(b, coll(b), "m1", ids[1]);
	conf_insert_message(b, coll(b), "m2", ids[2]);
	st = api->store_remove(NULL, coll(b), ids[1], &err);
	cr_assert_eq(st, GB_OK, "%s: remove: %s", b->name, err.message);
	st = api->store_get(NULL, coll(b), ids[1], &doc, &err);
	conf_assert_status(b, st, GB_ERR_NOT_FOUND, &err, "get after remove");
	docs = conf_list(b, coll(b), 10, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 2);
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 0), "id"), ids[2]);
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 1), "id"), ids[0]);
	cr_assert_null(next);
	cJSON_Delete(docs);
	/* Paging across the hole still visits the rest once. */
	docs = conf_list(b, coll(b), 1, NULL, &next);
	cJSON_Delete(docs);
	cr_assert_not_null(next);
	{
		char *next2;

		docs = conf_list(b, coll(b), 1, next, &next2);
		cr_assert_eq(cJSON_GetArraySize(docs), 1);
		cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 0), "id"),
				 ids[0]);
		cr_assert_null(next2);
		cJSON_Delete(docs);
		free(next);
	}
}

/* A store of one collection refuses every other one, touching nothing. */
static void
conf_other_collection_refused(const struct gb_conformance_backend *b,
			      const char *a)
{
	const struct gb_host_api *api = gb_host_api_table();
	cJSON *doc = conf_message("conformance", "elsewhere", CONF_DATE);
	char id[GB_ID_MAX], *next = NULL;
	cJSON *out = NULL;
	struct gb_error err = {0};
	enum gb_status st;

	st = api->store_insert(NULL, other_coll(b), doc, id, &err);
	conf_assert_status(b, st, GB_ERR_INVALID, &err,
			   "insert into another collection");
	cJSON_Delete(doc);
	memset(&err, 0, sizeof(err));
	st = api->store_list(NULL, other_coll(b), 10, NULL, &out, &next, &err);
	conf_assert_status(b, st, GB_ERR_INVALID, &err,
			   "list of another collection");
	cr_assert_null(out);
	memset(&err, 0, sizeof(err));
	st = api->store_get(NULL, other_coll(b), a, &out, &err);
	conf_assert_status(b, st, GB_ERR_INVALID, &err,
			   "get from another collection");
	memset(&err, 0, sizeof(err));
	st = api->store_remove(NULL, other_coll(b), a, &err);
	conf_assert_status(b, st, GB_ERR_INVALID, &err,
			   "remove from another collection");
}

void gb_conf_collections_are_isolated(const struct gb_conformance_backend *b)
{
	const struct gb_host_api *api = gb_host_api_table();
	char a[GB_ID_MAX], other[GB_ID_MAX], *next;
	struct gb_error err = {0};
	cJSON *doc = NULL, *docs;
	enum gb_status st;

	conf_insert_message(b, coll(b), "in a", a);
	if (b->single_collection) {
		conf_other_collection_refused(b, a);
	} else {
		conf_insert_message(b, other_coll(b), "in b", other);
		docs = conf_list(b, other_coll(b), 10, NULL, &next);
		cr_assert_eq(cJSON_GetArraySize(docs), 1);
		cr_assert_str_eq(
		    conf_field(cJSON_GetArrayItem(docs, 0), "message"), "in b");
		cJSON_Delete(docs);
		st = api->store_get(NULL, other_coll(b), a, &doc, &err);
		conf_assert_status(b, st, GB_ERR_NOT_FOUND, &err,
				   "get of an id from another collection");
		st = api->store_remove(NULL, other_coll(b), a, &err);
		conf_assert_status(b, st, GB_ERR_NOT_FOUND, &err,
				   "remove of an id from another collection");
		cJSON_Delete(conf_get(b, other_coll(b), other));
	}
	docs = conf_list(b, coll(b), 10, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 1);
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(docs, 0), "message"),
			 "in a");
	cJSON_Delete(docs);
	if (!b->no_ids)
		cJSON_Delete(conf_get(b, coll(b), a));
}

#define CONF_THREADS	8
#define CONF_PER_THREAD 200

struct conf_worker {
	const char *collection;
	int index;
	char (*ids)[GB_ID_MAX]; /* CONF_PER_THREAD slots */
	int failures;
	char first_error[256];
};

static void *conf_insert_worker(void *arg)
{
	struct conf_worker *w = arg;
	const struct gb_host_api *api = gb_host_api_table();

	for (int i = 0; i < CONF_PER_THREAD; i++) {
		char text[32];
		struct gb_error err = {0};
		cJSON *doc = cJSON_CreateObject();
		enum gb_status st;

		snprintf(text, sizeof(text), "t%d-%d", w->index, i);
		cJSON_AddStringToObject(doc, "author", "worker");
		cJSON_AddStringToObject(doc, "message", text);
		cJSON_AddNumberToObject(doc, "date", CONF_DATE);
		st = api->store_insert(NULL, w->collection, doc, w->ids[i],
				       &err);
		cJSON_Delete(doc);
		if (st != GB_OK && w->failures++ == 0)
			snprintf(w->first_error, sizeof(w->first_error),
				 "status %d: %.200s", st, err.message);
	}
	return NULL;
}

void gb_conf_concurrent_inserts_all_land_with_unique_ids(
    const struct gb_conformance_backend *b)
{
	enum { TOTAL = CONF_THREADS * CONF_PER_THREAD };
	char(*ids)[GB_ID_MAX] = calloc(TOTAL, GB_ID_MAX);
	struct conf_worker workers[CONF_THREADS];
	pthread_t threads[CONF_THREADS];
	size_t count;
	char **texts;
	int seen[CONF_THREADS][CONF_PER_THREAD] = {{0}};

	cr_assert_not_null(ids);
	for (int t = 0; t < CONF_THREADS; t++) {
		workers[t] = (struct conf_worker){
		    .collection = coll(b),
		    .index = t,
		    .ids = ids + t * CONF_PER_THREAD,
		};
		cr_assert_eq(pthread_create(&threads[t], NULL,
					    conf_insert_worker, &workers[t]),
			     0);
	}
	for (int t = 0; t < CONF_THREADS; t++)
		pthread_join(threads[t], NULL);
	for (int t = 0; t < CONF_THREADS; t++)
		cr_assert_eq(workers[t].failures, 0,
			     "%s: thread %d: %d inserts failed, first: %s",
			     b->name, t, workers[t].failures,
			     workers[t].first_error);
	conf_assert_unique(b, ids, TOTAL);
	texts = conf_list_all(b, coll(b), 100, &count);
	cr_assert_eq(count, (size_t)TOTAL, "%s: listed %zu of %d", b->name,
		     count, TOTAL);
	for (size_t i = 0; i < count; i++) {
		int t, n;

		cr_assert_eq(sscanf(texts[i], "t%d-%d", &t, &n), 2);
		cr_assert(t >= 0 && t < CONF_THREADS && n >= 0 &&
			  n < CONF_PER_THREAD);
		cr_assert_eq(seen[t][n]++, 0, "%s: %s listed twice", b->name,
			     texts[i]);
	}
	conf_free_texts(texts);
	free(ids);
}

void gb_conf_documents_survive_reopen(const struct gb_conformance_backend *b)
{
	const struct gb_host_api *api = gb_host_api_table();
	char ids[5][GB_ID_MAX], text[32], *next;
	cJSON *docs[5], *listed;
	struct gb_error err = {0};
	cJSON *gone = NULL;

	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "kept %d", i);
		docs[i] = conf_message("persistent", text, CONF_DATE + i);
		conf_insert(b, coll(b), docs[i], ids[i]);
	}
	cr_assert_eq(api->store_remove(NULL, coll(b), ids[2], &err), GB_OK,
		     "%s: remove: %s", b->name, err.message);
	b->stop();
	b->start();
	api = gb_host_api_table();
	for (int i = 0; i < 5; i++) {
		if (i == 2) {
			cr_assert_eq(
			    api->store_get(NULL, coll(b), ids[2], &gone, &err),
			    GB_ERR_NOT_FOUND,
			    "%s: a removed document came back", b->name);
			continue;
		}
		cJSON *got = conf_get(b, coll(b), ids[i]);

		conf_assert_doc(b, docs[i], ids[i], got);
		cJSON_Delete(got);
	}
	listed = conf_list(b, coll(b), 10, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(listed), 4);
	cr_assert_str_eq(conf_field(cJSON_GetArrayItem(listed, 0), "id"),
			 ids[4]);
	cJSON_Delete(listed);
	/* New ids after a reopen never repeat old ones. */
	{
		char all[6][GB_ID_MAX];

		memcpy(all, ids, sizeof(ids));
		conf_insert_message(b, coll(b), "after reopen", all[5]);
		conf_assert_unique(b, all, 6);
	}
	for (int i = 0; i < 5; i++)
		cJSON_Delete(docs[i]);
}

void gb_conf_ping_reports_ready(const struct gb_conformance_backend *b)
{
	char detail[256] = "";
	int ready = 0;

	/* The host pings at open and then every ready_cache_ms. */
	for (int i = 0; i < 50 && !ready; i++) {
		ready = gb_storage_ready(detail, sizeof(detail));
		if (!ready)
			nanosleep(&(struct timespec){0, 50 * 1000 * 1000},
				  NULL);
	}
	cr_assert(ready, "%s: storage not ready: %s", b->name, detail);
	cr_assert_str_eq(detail, "ok");
	cr_assert_str_eq(gb_host_api_table()->store_name(), b->name);
}

void gb_conf_insert_once_stores_a_repeated_key_once(
    const struct gb_conformance_backend *b)
{
	const struct gb_host_api *api = gb_host_api_table();
	cJSON *doc = conf_message("Ada", "sent twice", CONF_DATE), *docs;
	char first[GB_ID_MAX], again[GB_ID_MAX], other[GB_ID_MAX], *next;
	struct gb_error err = {0};
	int repeated = -1;
	enum gb_status st;

	st = api->store_insert_once(NULL, coll(b), doc, "key-1", first,
				    &repeated, &err);
	cr_assert_eq(st, GB_OK, "%s: insert_once: %s", b->name, err.message);
	cr_assert_eq(repeated, 0, "%s: a new key counted as a repeat", b->name);
	st = api->store_insert_once(NULL, coll(b), doc, "key-1", again,
				    &repeated, &err);
	cr_assert_eq(st, GB_OK, "%s: repeat: %s", b->name, err.message);
	cr_assert_eq(repeated, 1, "%s: a repeated key stored again", b->name);
	cr_assert_str_eq(again, first, "%s: the repeat names another id",
			 b->name);
	st = api->store_insert_once(NULL, coll(b), doc, "key-2", other,
				    &repeated, &err);
	cr_assert_eq(st, GB_OK, "%s: second key: %s", b->name, err.message);
	cr_assert_eq(repeated, 0);
	cr_assert_str_neq(other, first);
	st = api->store_insert_once(NULL, coll(b), doc, "bad key!", other,
				    &repeated, &err);
	conf_assert_status(b, st, GB_ERR_INVALID, &err, "a malformed key");
	docs = conf_list(b, coll(b), 10, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 2,
		     "%s: two keys must store two documents, not %d", b->name,
		     cJSON_GetArraySize(docs));
	cJSON_Delete(docs);
	cJSON_Delete(doc);
}

/*
 * store_insert_many: with the back end's insert_many, insert_once's
 * answers for every item in one call; without it, GB_ERR_UNSUPPORTED
 * and nothing stored.
 */
void gb_conf_insert_many_stores_each_key_once(
    const struct gb_conformance_backend *b)
{
	const struct gb_host_api *api = gb_host_api_table();
	cJSON *d1 = conf_message("Ada", "first of three", CONF_DATE);
	cJSON *d2 = conf_message("Bob", "second of three", CONF_DATE + 1);
	cJSON *d3 = conf_message("Cy", "third of three", CONF_DATE + 2);
	struct gb_insert_item items[5] = {
	    {.doc = d1, .key = "many-1"},
	    {.doc = d2, .key = "many-2"},
	    {.doc = d1, .key = "many-1"}, /* a repeat within the call */
	    {.doc = d3, .key = NULL},	  /* no key: a plain insert */
	    {.doc = d2, .key = "bad key!"}};
	struct gb_error err = {0};
	cJSON *docs;
	char *next;
	enum gb_status st;

	st = api->store_insert_many(NULL, coll(b), items, 5, &err);
	if (st == GB_ERR_UNSUPPORTED) {
		/* no insert_many: refused whole, nothing stored */
		docs = conf_list(b, coll(b), 10, NULL, &next);
		cr_assert_eq(cJSON_GetArraySize(docs), 0,
			     "%s: a refused batch stored %d documents", b->name,
			     cJSON_GetArraySize(docs));
		goto out;
	}
	cr_assert_eq(st, GB_OK, "%s: insert_many: %s", b->name, err.message);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(items[i].status, GB_OK, "%s: item %d: %s", b->name,
			     i, items[i].err.message);
	cr_assert_eq(items[0].repeated + items[1].repeated + items[3].repeated,
		     0, "%s: a new key counted as a repeat", b->name);
	cr_assert_eq(items[2].repeated, 1, "%s: a repeated key stored again",
		     b->name);
	cr_assert_str_eq(items[2].id, items[0].id,
			 "%s: the repeat names another id", b->name);
	cr_assert_str_neq(items[0].id, items[1].id);
	cr_assert_str_neq(items[1].id, items[3].id);
	conf_assert_status(b, items[4].status, GB_ERR_INVALID, &items[4].err,
			   "a malformed key");
	/* a later call: the key is known, nothing is stored */
	items[0] = (struct gb_insert_item){.doc = d2, .key = "many-2"};
	st = api->store_insert_many(NULL, coll(b), items, 1, &err);
	cr_assert_eq(st, GB_OK, "%s: insert_many: %s", b->name, err.message);
	cr_assert_eq(items[0].status, GB_OK);
	cr_assert_eq(items[0].repeated, 1, "%s: a known key stored again",
		     b->name);
	cr_assert_str_eq(items[0].id, items[1].id);
	st = api->store_insert_many(NULL, coll(b), items, 0, &err);
	conf_assert_status(b, st, GB_ERR_INVALID, &err, "an empty call");
	/* stored in their order: newest first lists them reversed */
	docs = conf_list(b, coll(b), 10, NULL, &next);
	cr_assert_eq(cJSON_GetArraySize(docs), 3,
		     "%s: three documents expected, not %d", b->name,
		     cJSON_GetArraySize(docs));
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(docs, 0), "message")
		->valuestring,
	    "third of three");
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(docs, 2), "message")
		->valuestring,
	    "first of three");
out:
	cJSON_Delete(docs);
	cJSON_Delete(d1);
	cJSON_Delete(d2);
	cJSON_Delete(d3);
}

/* The number of documents in `collection`, asserting success. */
static uint64_t conf_count(const struct gb_conformance_backend *b,
			   const char *collection)
{
	const struct gb_host_api *api = gb_host_api_table();
	struct gb_error err = {0};
	uint64_t n = 99;
	enum gb_status st = api->store_count(NULL, collection, &n, &err);

	cr_assert_eq(st, GB_OK, "%s: count: status %d (%s)", b->name, st,
		     err.message);
	return n;
}

void gb_conf_count_follows_inserts_and_removes(
    const struct gb_conformance_backend *b)
{
	const struct gb_host_api *api = gb_host_api_table();
	struct gb_error err = {0};
	char first[GB_ID_MAX], id[GB_ID_MAX];
	uint64_t n = 99;

	if (b->cannot_count) {
		enum gb_status st = api->store_count(NULL, coll(b), &n, &err);
		conf_assert_status(b, st, GB_ERR_UNSUPPORTED, &err,
				   "count on a store without count");
		cr_assert_eq(n, 0, "%s: count left %llu", b->name,
			     (unsigned long long)n);
		return;
	}
	cr_assert_eq(conf_count(b, coll(b)), 0, "%s: empty collection",
		     b->name);
	conf_insert_message(b, coll(b), "one", first);
	for (int i = 0; i < 4; i++)
		conf_insert_message(b, coll(b), "more", id);
	cr_assert_eq(conf_count(b, coll(b)), 5, "%s: after 5 inserts", b->name);
	cr_assert_eq(api->store_remove(NULL, coll(b), first, &err), GB_OK,
		     "%s: remove: %s", b->name, err.message);
	cr_assert_eq(conf_count(b, coll(b)), 4, "%s: after a remove", b->name);
	if (!b->single_collection)
		cr_assert_eq(conf_count(b, other_coll(b)), 0,
			     "%s: another collection counts apart", b->name);
}

void gb_conf_list_limit_is_bounded_by_the_host(
    const struct gb_conformance_backend *b)
{
	const struct gb_host_api *api = gb_host_api_table();
	struct gb_error err = {0};
	cJSON *docs = NULL;
	char *next = NULL, id[GB_ID_MAX];
	enum gb_status st;

	conf_insert_message(b, coll(b), "one", id);
	st = api->store_list(NULL, coll(b), GB_STORE_LIST_MAX + 1, NULL, &docs,
			     &next, &err);
	conf_assert_status(b, st, GB_ERR_INVALID, &err,
			   "list above GB_STORE_LIST_MAX");
	cr_assert_null(docs);
	cJSON_Delete(conf_list(b, coll(b), GB_STORE_LIST_MAX, NULL, &next));
	free(next);
}

/* ---- moving data (optional slots) ---------------------------------- */

struct conf_scan {
	char **texts;
	size_t n, cap, stop_after;
};

static int conf_scan_one(void *ud, const cJSON *doc)
{
	struct conf_scan *s = ud;
	const char *m = conf_field(doc, "message");

	cr_assert_not_null(m, "scanned document has no message");
	cr_assert_not_null(conf_field(doc, "id"), "scanned document has no id");
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->texts = realloc(s->texts, s->cap * sizeof(*s->texts));
		cr_assert_not_null(s->texts);
	}
	s->texts[s->n++] = strdup(m);
	s->texts[s->n] = NULL;
	return s->stop_after && s->n == s->stop_after;
}

/* A store without the slot answers the command with a clear "cannot". */
static int conf_lacks(const struct gb_conformance_backend *b, enum gb_status st,
		      const struct gb_error *err)
{
	if (st != GB_ERR_INVALID || !strstr(err->message, "cannot"))
		return 0;
	cr_assert(strstr(err->message, b->name), "%s: '%s' names no store",
		  b->name, err->message);
	return 1;
}

void gb_conf_scan_is_oldest_first_and_complete(
    const struct gb_conformance_backend *b)
{
	struct conf_scan s = {0};
	struct gb_error err = {0};
	enum gb_status st;
	char id[GB_ID_MAX], text[32];

	for (int i = 0; i < 25; i++) {
		snprintf(text, sizeof text, "scan %02d", i);
		conf_insert_message(b, coll(b), text, id);
	}
	st = gb_store_scan(coll(b), conf_scan_one, &s, &err);
	if (conf_lacks(b, st, &err))
		return;
	cr_assert_eq(st, GB_OK, "%s: scan: status %d: %s", b->name, st,
		     err.message);
	cr_assert_eq(s.n, 25, "%s: scan saw %zu of 25", b->name, s.n);
	for (int i = 0; i < 25; i++) {
		snprintf(text, sizeof text, "scan %02d", i);
		cr_assert_str_eq(s.texts[i], text, "%s: scan order at %d",
				 b->name, i);
	}
	conf_free_texts(s.texts);

	/* a non-zero return stops it, and that is no error */
	memset(&s, 0, sizeof s);
	s.stop_after = 3;
	st = gb_store_scan(coll(b), conf_scan_one, &s, &err);
	cr_assert_eq(st, GB_OK, "%s: stopped scan: %s", b->name, err.message);
	cr_assert_eq(s.n, 3, "%s: scan went on after the stop", b->name);
	conf_free_texts(s.texts);
}

static cJSON *conf_keyed(const char *text, const char *key)
{
	cJSON *doc = conf_message("imported", text, CONF_DATE);

	cr_assert_not_null(cJSON_AddStringToObject(doc, "import_key", key));
	return doc;
}

void gb_conf_import_skips_known_keys(const struct gb_conformance_backend *b)
{
	static const char *const first[][2] = {{"one", "k1"},
					       {"two", "k2"},
					       {"three", "k3"},
					       {"three again", "k3"},
					       {"four", "k4"}};
	static const char *const second[][2] = {{"one again", "k1"},
						{"five", "k5"}};
	cJSON *docs[5];
	struct gb_error err = {0};
	enum gb_status st;
	size_t added = 0, n;
	char id[GB_ID_MAX];
	char **texts;

	conf_insert_message(b, coll(b), "posted before", id);
	for (int i = 0; i < 5; i++)
		docs[i] = conf_keyed(first[i][0], first[i][1]);
	st = gb_store_import(coll(b), (const cJSON *const *)docs, 5, &added,
			     &err);
	for (int i = 0; i < 5; i++)
		cJSON_Delete(docs[i]);
	if (conf_lacks(b, st, &err))
		return;
	cr_assert_eq(st, GB_OK, "%s: import: status %d: %s", b->name, st,
		     err.message);
	cr_assert_eq(added, 4, "%s: import added %zu of 4 new keys", b->name,
		     added);
	for (int i = 0; i < 2; i++)
		docs[i] = conf_keyed(second[i][0], second[i][1]);
	st = gb_store_import(coll(b), (const cJSON *const *)docs, 2, &added,
			     &err);
	for (int i = 0; i < 2; i++)
		cJSON_Delete(docs[i]);
	cr_assert_eq(st, GB_OK, "%s: second import: %s", b->name, err.message);
	cr_assert_eq(added, 1, "%s: a stored key was imported again", b->name);

	/* after what was there, in the order given, newest first */
	texts = conf_list_all(b, coll(b), 100, &n);
	cr_assert_eq(n, 6, "%s: %zu documents, not 6", b->name, n);
	static const char *const want[] = {"five", "four", "three",
					   "two",  "one",  "posted before"};
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(texts[i], want[i], "%s: position %zu", b->name,
				 i);
	conf_free_texts(texts);
}
