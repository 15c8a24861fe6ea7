/*
 * core_ratelimit.c - the post rate limiter (core/ratelimit.c): per-client
 * token buckets of half a minute's worth (at least one), refilled at
 * `rate_limit` a minute, the wait it announces, 0 for off, and its fixed
 * table, where the least recently seen client gives way. Time is passed
 * in, so nothing here sleeps.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"

static void shutdown_limiter(void)
{
	gb_ratelimit_shutdown();
}

TestSuite(ratelimit, .fini = shutdown_limiter);

/* Takes tokens for `client` at `now` until one is refused; returns how
 * many were granted (at most `most`). */
static int drain(const char *client, double now, int most)
{
	int granted = 0;

	while (granted < most && gb_ratelimit_take(client, now) == 0)
		granted++;
	return granted;
}

Test(ratelimit, burst_then_refusal_then_refill)
{
	cr_assert_eq(gb_ratelimit_init(60), 0); /* 1/s, burst 30 */
	for (int i = 0; i < 30; i++)
		cr_assert_eq(gb_ratelimit_take("10.0.0.1", 100.0), 0);
	int wait = gb_ratelimit_take("10.0.0.1", 100.0);
	cr_assert_eq(wait, 1);
	cr_assert_eq(gb_ratelimit_take("10.0.0.2", 100.0), 0,
		     "clients are limited separately");
	cr_assert_eq(gb_ratelimit_take("10.0.0.1", 101.01), 0);
}

Test(ratelimit, zero_turns_it_off)
{
	cr_assert_eq(gb_ratelimit_init(0), 0);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(gb_ratelimit_take("10.0.0.1", 1.0), 0);
}

Test(ratelimit, burst_is_half_a_minutes_worth_and_at_least_one)
{
	static const struct {
		long per_minute;
		int burst;
	} cases[] = {{1, 1}, {2, 1}, {3, 1}, {7, 3}, {60, 30}, {1000, 500}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(gb_ratelimit_init(cases[i].per_minute), 0);
		cr_assert_eq(drain("10.0.0.1", 50.0, 10000), cases[i].burst,
			     "rate_limit %ld", cases[i].per_minute);
	}
}

Test(ratelimit, tokens_come_back_at_the_rate_and_stop_at_the_burst)
{
	cr_assert_eq(gb_ratelimit_init(120), 0); /* 2/s, burst 60 */
	cr_assert_eq(drain("10.0.0.1", 100.0, 1000), 60);
	cr_assert_eq(drain("10.0.0.1", 100.5, 1000), 1, "half a second");
	cr_assert_eq(drain("10.0.0.1", 110.5, 1000), 20, "ten seconds");
	cr_assert_eq(drain("10.0.0.1", 4000.0, 1000), 60,
		     "an idle hour refills the burst, no more");
}

/* The wait is the whole seconds until the next token: asking again that
 * much later succeeds, asking a second earlier does not. */
Test(ratelimit, wait_is_the_whole_seconds_until_the_next_token)
{
	static const long rates[] = {1, 6, 7, 45, 60, 61, 119, 1000};

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		const double t0 = 500.0;
		int burst, wait, expect;

		cr_assert_eq(gb_ratelimit_init(rates[i]), 0);
		burst = drain("10.0.0.1", t0, 10000);
		cr_assert_gt(burst, 0);
		wait = gb_ratelimit_take("10.0.0.1", t0);
		expect = (int)((60 + rates[i] - 1) / rates[i]); /* ceil */
		cr_assert_eq(wait, expect > 0 ? expect : 1, "rate_limit %ld",
			     rates[i]);
		if (wait > 1)
			cr_assert_geq(
			    gb_ratelimit_take("10.0.0.1", t0 + wait - 1), 1,
			    "rate_limit %ld: a token came early", rates[i]);
		cr_assert_eq(gb_ratelimit_take("10.0.0.1", t0 + wait), 0,
			     "rate_limit %ld: no token after %d s", rates[i],
			     wait);
	}
}

Test(ratelimit, refused_takes_do_not_push_the_next_token_back)
{
	cr_assert_eq(gb_ratelimit_init(60), 0); /* 1/s, burst 30 */
	cr_assert_eq(drain("10.0.0.1", 10.0, 100), 30);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(gb_ratelimit_take("10.0.0.1", 10.0 + i * 0.01), 1);
	cr_assert_eq(gb_ratelimit_take("10.0.0.1", 11.05), 0);
}

Test(ratelimit, each_client_has_its_own_bucket)
{
	cr_assert_eq(gb_ratelimit_init(60), 0);
	cr_assert_eq(drain("10.0.0.1", 100.0, 100), 30);
	cr_assert_eq(drain("10.0.0.2", 100.0, 100), 30,
		     "another client has its whole burst");
	cr_assert_eq(drain("2001:db8::1", 100.0, 100), 30);
	cr_assert_eq(drain("10.0.0.10", 100.0, 100), 30,
		     "a client whose name starts like another's");
	cr_assert_eq(drain("10.0.0.1", 102.0, 100), 2,
		     "the first refills on its own clock");
}

Test(ratelimit, init_clears_every_bucket)
{
	cr_assert_eq(gb_ratelimit_init(60), 0);
	cr_assert_eq(drain("10.0.0.1", 100.0, 100), 30);
	cr_assert_eq(gb_ratelimit_init(60), 0);
	cr_assert_eq(drain("10.0.0.1", 100.0, 100), 30);
	cr_assert_eq(gb_ratelimit_init(10), 0);
	cr_assert_eq(drain("10.0.0.1", 100.0, 100), 5, "the new rate holds");
}

/* Far more clients than the table has buckets (16384): memory stays
 * fixed, so somebody is forgotten; it is the least recently seen. */
#define FLOOD 200000

static void client_name(char *out, size_t len, int i)
{
	snprintf(out, len, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255,
		 i & 255);
}

Test(ratelimit, a_flood_of_clients_forgets_the_least_recently_seen)
{
	char name[32];

	cr_assert_eq(gb_ratelimit_init(1), 0); /* burst 1, 1/min */
	cr_assert_eq(gb_ratelimit_take("192.0.2.1", 100.0), 0);
	cr_assert_geq(gb_ratelimit_take("192.0.2.1", 100.0), 1);
	for (int i = 0; i < FLOOD; i++) {
		client_name(name, sizeof name, i);
		gb_ratelimit_take(name, 100.0 + (i + 1) * 1e-6);
	}
	cr_assert_eq(gb_ratelimit_take("192.0.2.1", 101.0), 0,
		     "its bucket is gone: it starts again with a full one");
}

Test(ratelimit, a_client_that_keeps_coming_keeps_its_bucket)
{
	char name[32];

	cr_assert_eq(gb_ratelimit_init(1), 0);
	cr_assert_eq(gb_ratelimit_take("192.0.2.1", 100.0), 0);
	for (int i = 0; i < FLOOD; i++) {
		double now = 100.0 + (i + 1) * 1e-6;

		client_name(name, sizeof name, i);
		gb_ratelimit_take(name, now);
		cr_assert_geq(gb_ratelimit_take("192.0.2.1", now), 1,
			      "forgotten after %d other clients", i + 1);
	}
}

/* Worker threads take tokens at once: the burst is granted exactly,
 * never once more. */
struct taker {
	const char *client;
	int granted;
};

static void *take_many(void *arg)
{
	struct taker *t = arg;

	for (int i = 0; i < 2000; i++)
		if (gb_ratelimit_take(t->client, 100.0) == 0)
			t->granted++;
	return NULL;
}

Test(ratelimit, concurrent_takes_grant_the_burst_exactly)
{
	enum { THREADS = 8 };
	static const char *const clients[] = {"10.0.0.1", "10.0.0.2"};
	struct taker takers[THREADS];
	pthread_t th[THREADS];
	int granted[2] = {0, 0};

	cr_assert_eq(gb_ratelimit_init(600), 0); /* burst 300 */
	for (int i = 0; i < THREADS; i++) {
		takers[i] = (struct taker){clients[i % 2], 0};
		cr_assert_eq(
		    pthread_create(&th[i], NULL, take_many, &takers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		granted[i % 2] += takers[i].granted;
	}
	cr_assert_eq(granted[0], 300);
	cr_assert_eq(granted[1], 300);
}

Test(ratelimit, a_long_client_name_is_limited_by_its_first_63_bytes)
{
	cr_assert_eq(gb_ratelimit_init(2), 0);
	char name[200];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	cr_assert_eq(gb_ratelimit_take(name, 100.0), 0);
	cr_assert_gt(gb_ratelimit_take(name, 100.0), 0,
		     "a name longer than the key is limited");
	name[100] = 'b';
	cr_assert_gt(gb_ratelimit_take(name, 100.0), 0,
		     "names that share the first 63 bytes share a bucket");
}
