/* export.c - `guestbookd export`: the store as JSON Lines on stdout. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "message_line.h"
#include "progress.h"
#include "storage.h"
#include "transfer.h"

/* Documents named on stderr when skipped; beyond that only counted. */
#define EXPORT_SKIPS_SHOWN 10
#define EXPORT_BUFFER	   (1 << 20)

struct export_state {
	struct gb_progress progress;
	int header_written;
	uint64_t written, skipped;
	int write_errno; /* stdout failed */
	int out_of_memory;
};

/* The header goes out with the first message (or at the end), so a
 * store that cannot export writes nothing to stdout. */
static int write_header(struct export_state *x)
{
	x->header_written = 1;
	errno = 0;
	if (fputs(gb_line_header(), stdout) == EOF || putchar('\n') == EOF) {
		x->write_errno = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

static int export_one(void *ud, const cJSON *doc)
{
	struct export_state *x = ud;
	const char *why;
	char *line;

	if (!x->header_written && write_header(x) < 0)
		return 1;
	line = gb_line_from_doc(doc, &why);

	if (!line) {
		const char *id = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(doc, "id"));

		if (strcmp(why, "out of memory") == 0) {
			x->out_of_memory = 1;
			return 1;
		}
		if (x->skipped++ < EXPORT_SKIPS_SHOWN)
			fprintf(stderr,
				"guestbookd export: skipping document %s: %s\n",
				id ? id : "without id", why);
		return 0;
	}
	if (fputs(line, stdout) == EOF || putchar('\n') == EOF) {
		x->write_errno = errno ? errno : EIO;
		free(line);
		return 1;
	}
	free(line);
	x->written++;
	gb_progress_tick(&x->progress, x->written, NULL);
	return 0;
}

int gb_export_run(void)
{
	struct export_state x = {0};
	struct gb_error err = {0};
	char summary[160];
	enum gb_status st;

	/* One big buffer: a write(2) per MiB, not per line. */
	setvbuf(stdout, NULL, _IOFBF, EXPORT_BUFFER);
	gb_progress_start(&x.progress, "export");
	st = gb_store_scan(GB_MESSAGES_COLLECTION, export_one, &x, &err);
	if (st == GB_OK && !x.out_of_memory && !x.header_written)
		write_header(&x);
	errno = 0;
	if (fflush(stdout) != 0 && !x.write_errno)
		x.write_errno = errno ? errno : EIO;
	if (x.write_errno) {
		fprintf(stderr,
			"guestbookd export: writing stdout: %s "
			"(after %llu messages)\n",
			strerror(x.write_errno), (unsigned long long)x.written);
		return GB_EXIT_FAILED;
	}
	if (x.out_of_memory || st != GB_OK) {
		fprintf(stderr, "guestbookd export: %s (after %llu messages)\n",
			x.out_of_memory ? "out of memory" : err.message,
			(unsigned long long)x.written);
		/* a store that cannot export at all: a settings problem */
		return st == GB_ERR_INVALID ? GB_EXIT_BAD_INPUT
					    : GB_EXIT_FAILED;
	}
	if (x.skipped)
		snprintf(summary, sizeof summary,
			 "%llu messages written, %llu documents skipped "
			 "(not messages: see above)",
			 (unsigned long long)x.written,
			 (unsigned long long)x.skipped);
	else
		snprintf(summary, sizeof summary, "%llu messages written",
			 (unsigned long long)x.written);
	gb_progress_end(&x.progress, x.written, summary);
	return GB_EXIT_OK;
}
