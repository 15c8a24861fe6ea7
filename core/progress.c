#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "clock.h"

#define PROGRESS_INTERVAL_S 0.5

void gb_progress_start(struct gb_progress *p, const char *command)
{
	p->command = command;
	p->tty = isatty(STDERR_FILENO);
	p->started = gb_now_monotonic();
	/* the first tick shows at once: a terminal never waits blank */
	p->last_shown = p->started - PROGRESS_INTERVAL_S;
	p->shown = 0;
}

double gb_progress_elapsed(const struct gb_progress *p)
{
	return gb_now_monotonic() - p->started;
}

static double rate(uint64_t count, double seconds)
{
	return seconds > 0 ? (double)count / seconds : 0.0;
}

void gb_progress_tick(struct gb_progress *p, uint64_t count, const char *detail)
{
	double now;

	if (!p->tty)
		return;
	now = gb_now_monotonic();
	if (now - p->last_shown < PROGRESS_INTERVAL_S)
		return;
	p->last_shown = now;
	p->shown = 1;
	/* \r and erase to the end of the line: the line is rewritten */
	fprintf(stderr, "\r\033[K%s: %llu messages%s%s, %.0f/s", p->command,
		(unsigned long long)count, detail ? ", " : "",
		detail ? detail : "", rate(count, now - p->started));
	fflush(stderr);
}

void gb_progress_end(struct gb_progress *p, uint64_t count, const char *summary)
{
	double secs = gb_progress_elapsed(p);

	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
	fprintf(stderr, "%s: %s in %.2f s (%.0f messages/s)\n", p->command,
		summary, secs, rate(count, secs));
	fflush(stderr);
}
