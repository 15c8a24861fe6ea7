/*
 * transfer_helpers.h - shared helpers of the data command tests
 * (transfer_*.c): export files with varied content, running
 * `guestbookd export | import | backup` against a store, and reading
 * files. Header-only (static inline): each test file is its own binary.
 */
#ifndef GB_TEST_TRANSFER_HELPERS_H
#define GB_TEST_TRANSFER_HELPERS_H

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "message.h"
#include "message_line.h"

/* Generous: the commands run under ASan on a loaded 2-core machine. */
#define TR_TIMEOUT_S 120.0

/* gbt_run_command's fds: /dev/null in and out, stderr captured. */
#define TR_NO_FDS ((const int[3]){-1, -1, -1})

/* A temporary directory for databases and files, removed by tr_cleanup. */
static char tr_dir[256];

/* DIR/name in one of 64 buffers used in turn: a test keeps a few. */
static inline const char *tr_path(const char *name)
{
	static _Thread_local char buf[64][512];
	static _Thread_local int next;
	char *p = buf[next++ % 64];

	snprintf(p, sizeof buf[0], "%s/%s", tr_dir, name);
	return p;
}

/* --plugin-dir's value (a copy: gbt_build_path reuses its buffer). */
static inline const char *tr_plugin_dir(void)
{
	static _Thread_local char dir[1024];

	snprintf(dir, sizeof dir, "%s", gbt_build_path("plugins"));
	return dir;
}

static inline void tr_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(tr_dir, sizeof tr_dir, "%s/gbtransfer-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(tr_dir));
}

static inline int tr_remove(const char *path, const struct stat *st, int flag,
			    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void tr_cleanup(void)
{
	const char *keep = getenv("GB_KEEP_TEST_DIRS");

	if (tr_dir[0] && !(keep && strcmp(keep, "1") == 0))
		nftw(tr_dir, tr_remove, 16, FTW_DEPTH | FTW_PHYS);
}

/* The text of message i: quotes, escapes, scripts, Unicode, limits. */
static inline void tr_message_text(int i, char *out, size_t len)
{
	switch (i % 8) {
	case 0:
		snprintf(out, len,
			 "quote \" backslash \\ literal \\u0000 "
			 "</script><b>&amp; #%d",
			 i);
		break;
	case 1:
		snprintf(out, len,
			 "caf\xc3\xa9 \xf0\x9f\x98\x80 "
			 "\xe4\xb8\xad\xe6\x96\x87 \xd7\xa2\xd7\x91 #%d",
			 i);
		break;
	case 2:
		snprintf(out, len, "line one\nline\ttwo\n\nthree #%d", i);
		break;
	case 3: { /* exactly 1000 code points: the longest allowed */
		size_t n = 0;
		int k = snprintf(out, len, "#%d ", i);

		n = (size_t)k;
		for (int c = k; c < 1000 && n + 3 < len; c++) {
			memcpy(out + n, "\xd0\xb6", 2); /* U+0436 */
			n += 2;
		}
		out[n] = '\0';
		break;
	}
	default: snprintf(out, len, "message number %d, nothing special", i);
	}
}

static inline void tr_author_text(int i, char *out, size_t len)
{
	if (i % 8 == 4) { /* exactly 64 code points */
		int k = snprintf(out, len, "%d", i);

		for (; k < 64 && (size_t)k + 1 < len; k++)
			out[k] = 'a';
		out[k] = '\0';
	} else {
		snprintf(out, len, "author %d", i % 97);
	}
}

/* The export line of message i with id `id`, as export writes it. */
static inline char *tr_line(int i, const char *id)
{
	char author[128], message[4096], created_at[GB_RFC3339_MAX];
	long long us = 1764136800000000LL + (long long)i * 1234567 + i % 3;
	cJSON *j = cJSON_CreateObject();
	char *text;

	tr_author_text(i, author, sizeof author);
	tr_message_text(i, message, sizeof message);
	cr_assert_eq(gb_format_rfc3339_us((double)us / 1e6, created_at), 0);
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "author", author);
	cJSON_AddStringToObject(j, "message", message);
	cJSON_AddStringToObject(j, "created_at", created_at);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return text;
}

/*
 * The export of messages first..last (ids "first".."last"): what an empty
 * SQLite store gives back after importing it. `bad_line` (0: none) is
 * the file line (the header is line 1) replaced by `bad`. malloc'd.
 */
static inline char *tr_export_text(int first, int last, int bad_line,
				   const char *bad)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	int line = 1;

	cr_assert_not_null(buf);
	len = (size_t)snprintf(buf, cap, "%s\n", gb_line_header());
	for (int i = first; i <= last; i++) {
		char id[24];
		char *l;

		line++;
		snprintf(id, sizeof id, "%d", i);
		l = line == bad_line ? strdup(bad) : tr_line(i, id);
		size_t n = strlen(l);
		if (len + n + 2 > cap) {
			buf = realloc(buf, cap = cap * 2 + n);
			cr_assert_not_null(buf);
		}
		memcpy(buf + len, l, n);
		len += n;
		buf[len++] = '\n';
		buf[len] = '\0';
		free(l);
	}
	return buf;
}

static inline void tr_write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot write %s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static inline char *tr_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	char *buf;

	cr_assert_not_null(f, "cannot read %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * The settings of one store: "--storage", storage, flag, value (value
 * copied; 8 sets used in turn, so a test can hold a few at once).
 */
static inline const char *const *tr_store(const char *storage, const char *flag,
					  const char *value)
{
	static _Thread_local char copy[8][512];
	static _Thread_local const char *args[8][5];
	static _Thread_local int next;
	int i = next++ % 8;

	snprintf(copy[i], sizeof copy[i], "%s", value);
	args[i][0] = "--storage";
	args[i][1] = storage;
	args[i][2] = flag;
	args[i][3] = copy[i];
	args[i][4] = NULL;
	return args[i];
}

/*
 * Runs `guestbookd COMMAND` with the store settings `store` (NULL-
 * terminated "--flag", "value" pairs), stdin from the file `in` and stdout
 * into the file `out` (NULL: /dev/null). Returns the exit status; *err
 * (may be NULL) gets stderr, caller frees.
 */
static inline int tr_run(const char *command, const char *const *store,
			 const char *in, const char *out, char **err)
{
	const char *args[32] = {command, "--plugin-dir", tr_plugin_dir()};
	size_t n = 3;
	int in_fd = -1, out_fd = -1, rc;
	char *stderr_text = NULL;

	for (size_t i = 0; store && store[i]; i++) {
		cr_assert_lt(n, sizeof args / sizeof *args - 1);
		args[n++] = store[i];
	}
	args[n] = NULL;
	if (in)
		cr_assert_geq(in_fd = open(in, O_RDONLY), 0, "open %s", in);
	if (out)
		cr_assert_geq(out_fd =
				  open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644),
			      0, "open %s", out);
	rc = gbt_run_command(args, NULL, (const int[3]){in_fd, out_fd, -1},
			     TR_TIMEOUT_S, &stderr_text, NULL);
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err)
		*err = stderr_text;
	else
		free(stderr_text);
	return rc;
}

/* Imports the file `in`; asserts exit 0 and that `expect` is on stderr. */
static inline void tr_import_ok(const char *const *store, const char *in,
				const char *expect)
{
	char *err = NULL;
	int rc = tr_run("import", store, in, NULL, &err);

	cr_assert_eq(rc, 0, "import exited %d:\n%s", rc, err);
	cr_assert(strstr(err, expect), "import said:\n%s\nnot: %s", err,
		  expect);
	free(err);
}

/* Exports the store; asserts exit 0 and returns the output (malloc'd). */
static inline char *tr_export(const char *const *store)
{
	const char *out = tr_path("export.jsonl");
	char *err = NULL;
	int rc = tr_run("export", store, NULL, out, &err);

	cr_assert_eq(rc, 0, "export exited %d:\n%s", rc, err);
	free(err);
	return tr_read_file(out);
}

/* Lines of text (each ends in \n). */
static inline size_t tr_count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

#endif
