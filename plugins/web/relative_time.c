/*
 * relative_time.c - "5 minutes ago" (relative_time.h).
 */
#include <stdio.h>

#include "relative_time.h"

void web_relative_time(double now, double then, char *out, size_t len)
{
	static const struct {
		double seconds;
		const char *unit;
	} units[] = {
	    {365.0 * 86400, "year"}, {30.0 * 86400, "month"}, {86400, "day"},
	    {3600, "hour"},	     {60, "minute"},
	};
	double diff = now - then;

	if (diff > 1e15) /* absurd dates stay printable */
		diff = 1e15;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		long n;

		if (!(diff >= units[i].seconds))
			continue;
		n = (long)(diff / units[i].seconds);
		snprintf(out, len, "%ld %s%s ago", n, units[i].unit,
			 n == 1 ? "" : "s");
		return;
	}
	snprintf(out, len, "just now");
}
