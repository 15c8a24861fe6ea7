/*
 * relative_time.h - "5 minutes ago" for the message cards.
 */
#ifndef GB_WEB_RELATIVE_TIME_H
#define GB_WEB_RELATIVE_TIME_H

#include <stddef.h>

/*
 * Writes how long before `now` the moment `then` was (both epoch seconds):
 * "just now" under a minute (and for moments in the future), then
 * "1 minute ago", "N minutes ago", hours, days, months of 30 days (40 days
 * is "1 month ago") and years of 365 days. static/app.js mirrors it.
 */
void web_relative_time(double now, double then, char *out, size_t len);

#endif
