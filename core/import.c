/* import.c - `guestbookd import`: an export's messages from stdin. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "message.h"
#include "message_line.h"
#include "progress.h"
#include "storage.h"
#include "transfer.h"

/* Room for the longest line and one read beyond it. */
#define READER_SIZE (4 * GB_LINE_MAX)
/* A batch the store cannot take now is retried this often, 1 s apart
 * then doubling: safe, since a repeated batch stores nothing twice. */
#define IMPORT_TRIES 5

/* Lines of stdin, read in large blocks; a line stays valid until the
 * next call. */
struct reader {
	char buf[READER_SIZE];
	size_t start, end;
	int eof;
};

enum read_result { READ_LINE, READ_EOF, READ_TOO_LONG, READ_ERROR };

static enum read_result read_line(struct reader *r, const char **line,
				  size_t *len)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);

		if (nl) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			r->start += *len + 1;
			break;
		}
		if (r->end - r->start > GB_LINE_MAX)
			return READ_TOO_LONG;
		if (r->eof) {
			if (r->start == r->end)
				return READ_EOF;
			*line = r->buf + r->start;
			*len = r->end - r->start;
			r->start = r->end;
			break;
		}
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		ssize_t n =
		    read(STDIN_FILENO, r->buf + r->end, sizeof r->buf - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return READ_ERROR;
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
	if (*len > GB_LINE_MAX)
		return READ_TOO_LONG;
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	return READ_LINE;
}

static int blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

struct import_state {
	struct gb_progress progress;
	cJSON *batch[GB_IMPORT_BATCH];
	size_t pending;
	uint64_t stored_through; /* the last line whose batch is stored */
	uint64_t read, added;
};

static void drop_pending(struct import_state *im)
{
	for (size_t i = 0; i < im->pending; i++)
		cJSON_Delete(im->batch[i]);
	im->pending = 0;
}

/* Where the store stands, and how to go on: after any stop. */
static void tell_resume(const struct import_state *im, uint64_t line)
{
	if (im->stored_through <= 1) {
		fprintf(stderr,
			"guestbookd import: stopped; nothing was "
			"written. %s\n",
			line > 1 ? "Fix that line and run the import again."
			: line	 ? ""
				 : "Run it again once the store "
				   "is back.");
		return;
	}
	fprintf(stderr,
		"guestbookd import: stopped; lines 1 to %llu are stored "
		"(%llu messages, %llu of them new); nothing after line "
		"%llu was written.\n"
		"guestbookd import: %s and run the same import again: "
		"messages already stored are skipped.\n",
		(unsigned long long)im->stored_through,
		(unsigned long long)(im->read - im->pending),
		(unsigned long long)im->added,
		(unsigned long long)im->stored_through,
		line ? "fix that line" : "once the store is back,");
}

static int bad_line(struct import_state *im, uint64_t line, const char *field,
		    const char *why)
{
	if (im->progress.shown)
		fputs("\n", stderr);
	fprintf(stderr, "guestbookd import: line %llu: %s%s%s\n",
		(unsigned long long)line, field ? field : "", field ? ": " : "",
		why);
	tell_resume(im, line);
	drop_pending(im);
	return GB_EXIT_BAD_INPUT;
}

static void sleep_seconds(unsigned s)
{
	struct timespec ts = {(time_t)s, 0};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Stores the pending batch, which ends at `line`. */
static int flush(struct import_state *im, uint64_t line)
{
	struct gb_error err = {0};
	enum gb_status st = GB_OK;
	char detail[48];
	size_t added = 0;

	for (unsigned t = 0; t < IMPORT_TRIES; t++) {
		memset(&err, 0, sizeof err);
		st = gb_store_import(GB_MESSAGES_COLLECTION,
				     (const cJSON *const *)im->batch,
				     im->pending, &added, &err);
		if (st != GB_ERR_UNAVAILABLE || t + 1 == IMPORT_TRIES)
			break;
		fprintf(stderr, "guestbookd import: %s; trying again in %u s\n",
			err.message, 1u << t);
		sleep_seconds(1u << t);
	}
	if (st != GB_OK) {
		if (im->progress.shown)
			fputs("\n", stderr);
		fprintf(stderr,
			"guestbookd import: storing lines %llu to "
			"%llu: %s\n",
			(unsigned long long)im->stored_through + 1,
			(unsigned long long)line, err.message);
		tell_resume(im, 0);
		drop_pending(im);
		/* a store that cannot import at all: a settings problem */
		return st == GB_ERR_INVALID ? GB_EXIT_BAD_INPUT
					    : GB_EXIT_FAILED;
	}
	im->added += added;
	im->stored_through = line;
	drop_pending(im);
	snprintf(detail, sizeof detail, "%llu new",
		 (unsigned long long)im->added);
	gb_progress_tick(&im->progress, im->read, detail);
	return GB_EXIT_OK;
}

static int import_lines(struct import_state *im, struct reader *r)
{
	struct gb_input_error ierr;
	const char *line, *why;
	size_t len;
	uint64_t n = 1;
	enum read_result rr = read_line(r, &line, &len);
	int rc;

	if (rr == READ_EOF)
		return bad_line(im, 1, NULL,
				"the input is empty; expected "
				"the header line of an export");
	if (rr == READ_TOO_LONG)
		return bad_line(im, 1, NULL, "longer than 65536 bytes");
	if (rr == READ_LINE && gb_line_check_header(line, len, &why) != 0)
		return bad_line(im, 1, NULL, why);
	if (rr == READ_LINE)
		im->stored_through = 1;
	while (rr == READ_LINE &&
	       (rr = read_line(r, &line, &len)) == READ_LINE) {
		cJSON *doc;

		n++;
		if (blank(line, len))
			continue;
		doc = gb_line_to_doc(line, len, &ierr);
		if (!doc)
			return bad_line(im, n, ierr.field, ierr.message);
		im->batch[im->pending++] = doc;
		im->read++;
		if (im->pending == GB_IMPORT_BATCH &&
		    (rc = flush(im, n)) != GB_EXIT_OK)
			return rc;
	}
	if (rr == READ_TOO_LONG)
		return bad_line(im, n + 1, NULL, "longer than 65536 bytes");
	if (rr == READ_ERROR) {
		fprintf(stderr, "guestbookd import: reading stdin: %s\n",
			strerror(errno));
		tell_resume(im, 0);
		drop_pending(im);
		return GB_EXIT_FAILED;
	}
	return im->pending ? flush(im, n) : GB_EXIT_OK;
}

int gb_import_run(void)
{
	struct import_state *im = calloc(1, sizeof *im);
	struct reader *r = calloc(1, sizeof *r);
	char summary[160];
	int rc = GB_EXIT_FAILED;

	if (!im || !r) {
		fprintf(stderr, "guestbookd import: out of memory\n");
		goto out;
	}
	/* a forgotten "< FILE" would wait for typing, silently */
	if (isatty(STDIN_FILENO)) {
		fprintf(stderr,
			"guestbookd import: stdin is a terminal; give "
			"the export on stdin: guestbookd import < FILE\n");
		rc = GB_EXIT_BAD_INPUT;
		goto out;
	}
	gb_progress_start(&im->progress, "import");
	rc = import_lines(im, r);
	if (rc == GB_EXIT_OK) {
		snprintf(summary, sizeof summary,
			 "%llu messages read, %llu new, %llu already stored",
			 (unsigned long long)im->read,
			 (unsigned long long)im->added,
			 (unsigned long long)(im->read - im->added));
		gb_progress_end(&im->progress, im->read, summary);
	}
out:
	free(r);
	free(im);
	return rc;
}
