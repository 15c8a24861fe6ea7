#include "list_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *body;
	size_t len;
	char etag[GB_ETAG_MAX];
	double built;
	uint64_t generation;
	/* When one request started rebuilding this stale entry (ms); others
	 * keep serving the stale copy meanwhile, so an expiry under load
	 * costs one rebuild, not one per waiting request. */
	atomic_llong refresh_ms;
};

#define REFRESH_GRACE_MS 1000

static struct entry entries[GB_LIST_CACHE_SLOTS];
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static uint64_t (*generation)(void);
static double ttl; /* seconds; 0: off */

void gb_list_cache_init(long ttl_ms, uint64_t (*store_generation)(void))
{
	generation = store_generation;
	ttl = ttl_ms > 0 && generation ? (double)ttl_ms / 1000.0 : 0.0;
}

void gb_list_cache_fini(void)
{
	pthread_rwlock_wrlock(&lock);
	for (int i = 0; i < GB_LIST_CACHE_SLOTS; i++) {
		free(entries[i].body);
		entries[i].body = NULL;
		entries[i].len = 0;
		entries[i].generation = 0;
		atomic_store(&entries[i].refresh_ms, 0);
	}
	pthread_rwlock_unlock(&lock);
}

uint64_t gb_list_cache_generation(void)
{
	return generation ? generation() : 0;
}

int gb_list_cache_get(int slot, double now, struct gb_cached_response *out)
{
	if (ttl <= 0 || slot < 0 || slot >= GB_LIST_CACHE_SLOTS)
		return 0;
	int hit = 0;
	pthread_rwlock_rdlock(&lock);
	struct entry *e = &entries[slot];
	int usable = e->body && e->generation == generation();
	if (usable && now - e->built >= ttl) {
		long long now_ms = (long long)(now * 1000.0);
		long long since = atomic_load(&e->refresh_ms);
		/* Claim the rebuild (miss) unless another request has. */
		if (now_ms - since >= REFRESH_GRACE_MS &&
		    atomic_compare_exchange_strong(&e->refresh_ms, &since,
						   now_ms))
			usable = 0;
	}
	if (usable && (out->body = malloc(e->len + 1))) {
		memcpy(out->body, e->body, e->len + 1);
		out->len = e->len;
		memcpy(out->etag, e->etag, sizeof out->etag);
		hit = 1;
	}
	pthread_rwlock_unlock(&lock);
	return hit;
}

void gb_list_cache_put(int slot, uint64_t gen, double now,
		       const char *body, size_t len, const char *etag)
{
	if (ttl <= 0 || slot < 0 || slot >= GB_LIST_CACHE_SLOTS ||
	    gen != generation())
		return;
	char *copy = malloc(len + 1);
	if (!copy)
		return;
	memcpy(copy, body, len);
	copy[len] = '\0';
	pthread_rwlock_wrlock(&lock);
	struct entry *e = &entries[slot];
	free(e->body);
	e->body = copy;
	e->len = len;
	snprintf(e->etag, sizeof e->etag, "%s", etag ? etag : "");
	e->built = now;
	e->generation = gen;
	atomic_store(&e->refresh_ms, 0);
	pthread_rwlock_unlock(&lock);
}
