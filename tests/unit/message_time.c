/*
 * message_time.c - created_at (RFC 3339 UTC with milliseconds) and the
 * legacy date number. Every case also goes through the host's
 * api->format_time, which plugins use to show times as the api does.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "host.h"
#include "message.h"

static void assert_rfc3339(double epoch, const char *expected)
{
	char out[GB_RFC3339_MAX];

	cr_assert_eq(gb_format_rfc3339_ms(epoch, out), 0, "for %.6f", epoch);
	cr_assert_str_eq(out, expected, "for %.6f", epoch);
	char host[GB_TIME_MAX];
	cr_assert_eq(gb_host_api_table()->format_time(epoch, host), 0);
	cr_assert_str_eq(host, expected, "host format_time for %.6f", epoch);
}

static void assert_no_rfc3339(double epoch)
{
	char out[GB_RFC3339_MAX];

	cr_assert_eq(gb_format_rfc3339_ms(epoch, out), -1, "for %g", epoch);
	cr_assert_str_eq(out, "");
	char host[GB_TIME_MAX];
	cr_assert_eq(gb_host_api_table()->format_time(epoch, host), -1);
	cr_assert_str_eq(host, "");
}

Test(message_time, epoch_zero)
{
	assert_rfc3339(0, "1970-01-01T00:00:00.000Z");
}

Test(message_time, milliseconds_are_kept)
{
	assert_rfc3339(1732600000.123, "2024-11-26T05:46:40.123Z");
	assert_rfc3339(1764136800.5, "2025-11-26T06:00:00.500Z");
}

Test(message_time, sub_millisecond_fractions_round_to_nearest)
{
	assert_rfc3339(1732600000.1234, "2024-11-26T05:46:40.123Z");
	assert_rfc3339(1732600000.1236, "2024-11-26T05:46:40.124Z");
	assert_rfc3339(1732600000.0004, "2024-11-26T05:46:40.000Z");
	assert_rfc3339(1732600000.0006, "2024-11-26T05:46:40.001Z");
}

Test(message_time, rounding_up_carries_into_the_next_second_and_minute)
{
	assert_rfc3339(1732600019.9996, "2024-11-26T05:47:00.000Z");
}

Test(message_time, rounding_up_carries_into_the_next_year)
{
	/* 2026-12-31T23:59:59 is 1798761599 */
	assert_rfc3339(1798761599.999, "2026-12-31T23:59:59.999Z");
	assert_rfc3339(1798761599.9996, "2027-01-01T00:00:00.000Z");
	assert_rfc3339(1798761600, "2027-01-01T00:00:00.000Z");
}

Test(message_time, leap_day)
{
	assert_rfc3339(1709164800.5, "2024-02-29T00:00:00.500Z");
}

Test(message_time, before_1970)
{
	assert_rfc3339(-1.5, "1969-12-31T23:59:58.500Z");
	assert_rfc3339(-0.0004, "1970-01-01T00:00:00.000Z");
	assert_rfc3339(-0.0006, "1969-12-31T23:59:59.999Z");
}

Test(message_time, four_digit_year_limits)
{
	assert_rfc3339(-62167219200.0, "0000-01-01T00:00:00.000Z");
	assert_rfc3339(253402300799.999, "9999-12-31T23:59:59.999Z");
	assert_no_rfc3339(253402300800.0);
	assert_no_rfc3339(-62167219200.001);
}

Test(message_time, non_finite_dates_have_no_rfc3339)
{
	assert_no_rfc3339(NAN);
	assert_no_rfc3339(INFINITY);
	assert_no_rfc3339(-INFINITY);
}

static void assert_shortest(double value, const char *expected)
{
	char buf[64];
	int n = gb_format_double_shortest(value, buf, sizeof(buf));

	cr_assert_eq(n, (int)strlen(expected), "for %.17g: %s", value, buf);
	cr_assert_str_eq(buf, expected);
}

Test(message_time, legacy_date_prints_like_python_repr)
{
	assert_shortest(1732600000.123456, "1732600000.123456");
	assert_shortest(1732600000.5, "1732600000.5");
	assert_shortest(1732600000.0, "1732600000.0");
	assert_shortest(0.1, "0.1");
	assert_shortest(0, "0.0");
	assert_shortest(-1.25, "-1.25");
	assert_shortest(1e9, "1000000000.0");
}

Test(message_time, legacy_date_never_truncates)
{
	char buf[8];

	cr_assert_eq(gb_format_double_shortest(1732600000.5, buf, sizeof(buf)),
		     -1);
	cr_assert_eq(gb_format_double_shortest(NAN, buf, sizeof(buf)), -1);
}
