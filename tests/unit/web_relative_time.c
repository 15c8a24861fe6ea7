/*
 * web_relative_time.c - "5 minutes ago" on the message cards
 * (plugins/web/relative_time.c).
 */
#include <criterion/criterion.h>

#include "relative_time.h"

static const char *ago(double seconds)
{
	static char buf[64];
	const double now = 1764136800.0;

	web_relative_time(now, now - seconds, buf, sizeof(buf));
	return buf;
}

Test(web_relative_time, counts_minutes_hours_days_months_years)
{
	cr_assert_str_eq(ago(0), "just now");
	cr_assert_str_eq(ago(59.9), "just now");
	cr_assert_str_eq(ago(-30), "just now", "clock skew: future dates");
	cr_assert_str_eq(ago(60), "1 minute ago");
	cr_assert_str_eq(ago(119), "1 minute ago");
	cr_assert_str_eq(ago(120), "2 minutes ago");
	cr_assert_str_eq(ago(59 * 60), "59 minutes ago");
	cr_assert_str_eq(ago(3600), "1 hour ago");
	cr_assert_str_eq(ago(23 * 3600), "23 hours ago");
	cr_assert_str_eq(ago(86400), "1 day ago");
	cr_assert_str_eq(ago(9 * 86400), "9 days ago");
	cr_assert_str_eq(ago(29 * 86400), "29 days ago");
	cr_assert_str_eq(ago(30 * 86400), "1 month ago");
	cr_assert_str_eq(ago(40 * 86400), "1 month ago");
	cr_assert_str_eq(ago(61 * 86400), "2 months ago");
	cr_assert_str_eq(ago(364 * 86400), "12 months ago");
	cr_assert_str_eq(ago(365 * 86400), "1 year ago");
	cr_assert_str_eq(ago(3 * 365 * 86400 + 5), "3 years ago");
}
