#include "response_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long past its expiry an entry may still be served while one request
 * rebuilds it, and how long that request holds the rebuild. */
#define REFRESH_GRACE_MS 1000
#define NO_CLAIM	 (-(1LL << 60))

struct slot {
	struct gb_cached_response *resp; /* NULL: empty */
	double built;			 /* monotonic seconds */
	uint64_t generation;
	/* When a request claimed the rebuild of this expired entry (ms);
	 * others keep serving the stale copy meanwhile, so an expiry under
	 * load costs one rebuild, not one per waiting request. */
	atomic_llong refresh_ms;
};

struct gb_response_cache {
	pthread_rwlock_t lock;
	uint64_t (*generation)(void);
	double ttl; /* seconds; 0: off */
	size_t n;
	struct slot slots[];
};

struct gb_response_cache *gb_response_cache_new(size_t slots, long ttl_ms,
						uint64_t (*generation)(void))
{
	struct gb_response_cache *c;

	c = calloc(1, sizeof(*c) + slots * sizeof(c->slots[0]));
	if (!c)
		return NULL;
	if (pthread_rwlock_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	c->generation = generation;
	c->ttl = ttl_ms > 0 && generation ? (double)ttl_ms / 1000.0 : 0.0;
	c->n = slots;
	for (size_t i = 0; i < slots; i++)
		atomic_init(&c->slots[i].refresh_ms, NO_CLAIM);
	return c;
}

void gb_response_cache_free(struct gb_response_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		gb_response_cache_release(c->slots[i].resp);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

int gb_response_cache_enabled(const struct gb_response_cache *c)
{
	return c && c->ttl > 0;
}

uint64_t gb_response_cache_generation(const struct gb_response_cache *c)
{
	return c && c->generation ? c->generation() : 0;
}

/* Whether an entry of age `age` may be served (under the read lock). */
static int servable(const struct gb_response_cache *c, struct slot *s,
		    double now)
{
	double age = now - s->built;
	long long now_ms, since;

	if (age < c->ttl)
		return 1;
	if (age >= c->ttl + REFRESH_GRACE_MS / 1000.0)
		return 0;
	/* Expired: claim the rebuild (miss) unless another request holds
	 * it, in which case the stale copy is served meanwhile. */
	now_ms = (long long)(now * 1000.0);
	since = atomic_load(&s->refresh_ms);
	if (now_ms - since >= REFRESH_GRACE_MS &&
	    atomic_compare_exchange_strong(&s->refresh_ms, &since, now_ms))
		return 0;
	return 1;
}

struct gb_cached_response *gb_response_cache_get(struct gb_response_cache *c,
						 size_t slot, double now)
{
	struct gb_cached_response *r = NULL;
	struct slot *s;

	if (!gb_response_cache_enabled(c) || slot >= c->n)
		return NULL;
	pthread_rwlock_rdlock(&c->lock);
	s = &c->slots[slot];
	if (s->resp && s->generation == c->generation() &&
	    servable(c, s, now)) {
		r = s->resp;
		atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	}
	pthread_rwlock_unlock(&c->lock);
	return r;
}

void gb_response_cache_release(struct gb_cached_response *r)
{
	if (r &&
	    atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
		free(r);
}

void gb_response_cache_put(struct gb_response_cache *c, size_t slot,
			   uint64_t generation, double now, const char *body,
			   size_t len, const char *etag)
{
	struct gb_cached_response *r, *old;
	struct slot *s;

	if (!gb_response_cache_enabled(c) || slot >= c->n ||
	    generation != c->generation())
		return;
	r = malloc(sizeof(*r) + len + 1);
	if (!r)
		return;
	atomic_init(&r->refs, 1); /* the cache's own reference */
	r->len = len;
	snprintf(r->etag, sizeof(r->etag), "%s", etag ? etag : "");
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	pthread_rwlock_wrlock(&c->lock);
	s = &c->slots[slot];
	old = s->resp;
	s->resp = r;
	s->built = now;
	s->generation = generation;
	atomic_store(&s->refresh_ms, NO_CLAIM);
	pthread_rwlock_unlock(&c->lock);
	gb_response_cache_release(old);
}
