#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS	16384
#define STRIPES 64
#define PROBE	8

/* A client name is kept to its first KEY_MAX bytes: longer names that
 * share those bytes share a bucket (stricter, never looser). */
#define KEY_MAX 63

struct bucket {
	char client[KEY_MAX + 1];
	double tokens;
	double last;
};

static struct bucket *table;
static pthread_mutex_t locks[STRIPES];
static double rate, burst; /* tokens per second, bucket size */

int gb_ratelimit_init(long per_minute)
{
	gb_ratelimit_shutdown();
	rate = (double)per_minute / 60.0;
	burst = per_minute / 2 > 0 ? (double)(per_minute / 2) : 1.0;
	if (per_minute <= 0)
		return 0;
	table = calloc(SLOTS, sizeof *table);
	if (!table)
		return -1;
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&locks[i], NULL);
	return 0;
}

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < KEY_MAX && s[i]; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

int gb_ratelimit_take(const char *client, double now)
{
	if (!table)
		return 0;
	/* Probe windows never cross a stripe: SLOTS/STRIPES is a multiple
	 * of PROBE and the window is aligned. */
	uint32_t start = (hash(client) % SLOTS) & ~(uint32_t)(PROBE - 1);
	pthread_mutex_t *lock = &locks[start / (SLOTS / STRIPES)];
	int wait = 0;

	pthread_mutex_lock(lock);
	struct bucket *b = NULL, *oldest = &table[start];
	for (uint32_t i = start; i < start + PROBE; i++) {
		if (strncmp(table[i].client, client, KEY_MAX) == 0) {
			b = &table[i];
			break;
		}
		if (table[i].last < oldest->last)
			oldest = &table[i];
	}
	if (!b) {
		b = oldest;
		strncpy(b->client, client, KEY_MAX);
		b->client[KEY_MAX] = '\0';
		b->tokens = burst;
		b->last = now;
	}
	b->tokens = fmin(burst, b->tokens + (now - b->last) * rate);
	b->last = now;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else
		wait = (int)ceil((1.0 - b->tokens) / rate);
	pthread_mutex_unlock(lock);
	return wait < 0 ? 1 : wait;
}

void gb_ratelimit_shutdown(void)
{
	if (!table)
		return;
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&locks[i]);
	free(table);
	table = NULL;
}
