/*
 * progress.h - what a long data command (export, import) tells the person
 * watching: a progress line on stderr, rewritten in place at most twice a
 * second while stderr is a terminal, and the totals with the rate at the
 * end (always, so logs of a Kubernetes Job keep them too).
 */
#ifndef GB_CORE_PROGRESS_H
#define GB_CORE_PROGRESS_H

#include <stdint.h>

struct gb_progress {
	const char *command; /* "export", "import" */
	int tty;	     /* stderr is a terminal */
	double started;	     /* monotonic seconds */
	double last_shown;
	int shown; /* a progress line is on screen */
};

/* Starts the clock for `command` (a static string). */
void gb_progress_start(struct gb_progress *p, const char *command);

/*
 * Shows `count` messages so far (and `detail`, e.g. "1200 new", or NULL)
 * when stderr is a terminal: the first time at once, then when the last
 * update is 0.5 s old.
 */
void gb_progress_tick(struct gb_progress *p, uint64_t count,
		      const char *detail);

/* Seconds since gb_progress_start. */
double gb_progress_elapsed(const struct gb_progress *p);

/*
 * Clears the progress line and prints "COMMAND: SUMMARY in S s (R
 * messages/s)" on stderr, the rate of `count` messages.
 */
void gb_progress_end(struct gb_progress *p, uint64_t count,
		     const char *summary);

#endif
