/*
 * response_cache.h - a micro-cache of rendered responses, in numbered
 * slots (the api plugin's first pages by limit, the web plugin's page).
 *
 * An entry is served while it is younger than the time to live (the
 * `list_cache_ms` setting) and no insert or remove went through this
 * process's store since it was built (api->store_generation): so a client
 * always reads its own writes here, and writes made by other processes
 * (other replicas on the same store) show within the time to live. When an
 * entry expires, one request rebuilds it while the others are still served
 * the expired copy, for at most REFRESH_GRACE (1 s) past its expiry.
 *
 * Entries are immutable and reference-counted: a reader holds one without
 * a lock while it answers. Thread-safe.
 */
#ifndef GB_COMMON_RESPONSE_CACHE_H
#define GB_COMMON_RESPONSE_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "http_headers.h"

/* One cached response. Read-only for callers; release it when done. */
struct gb_cached_response {
	atomic_size_t refs;
	size_t len;
	char etag[GB_ETAG_MAX]; /* "" when it was stored without one */
	char body[];		/* len bytes and a NUL */
};

struct gb_response_cache;

/*
 * Creates a cache of `slots` slots with a time to live of ttl_ms (<= 0, or
 * a NULL generation function: a cache that never hits). `generation` is
 * the host's api->store_generation. Returns NULL when out of memory.
 */
struct gb_response_cache *gb_response_cache_new(size_t slots, long ttl_ms,
						uint64_t (*generation)(void));

/* Frees the cache and its entries (NULL is fine). No reader may remain. */
void gb_response_cache_free(struct gb_response_cache *c);

/* Whether the cache can hit at all (ttl > 0). */
int gb_response_cache_enabled(const struct gb_response_cache *c);

/*
 * The current store generation: read it BEFORE reading the store for a
 * rendering, and pass it to gb_response_cache_put afterwards.
 */
uint64_t gb_response_cache_generation(const struct gb_response_cache *c);

/*
 * Returns the entry of `slot` if it may be served at `now` (monotonic
 * seconds), or NULL when the caller must render (and put) it: no entry, a
 * write since it was built, or it expired and this caller won the rebuild
 * (or it is more than the grace past expiry). Release a returned entry.
 */
struct gb_cached_response *gb_response_cache_get(struct gb_response_cache *c,
						 size_t slot, double now);

/* Gives back an entry returned by gb_response_cache_get (NULL is fine). */
void gb_response_cache_release(struct gb_cached_response *r);

/*
 * Stores a rendered body (and its ETag, may be NULL) for `slot`, built from
 * data read at `generation` at time `now`. Dropped when the store changed
 * since (the data may predate a write) or when out of memory.
 */
void gb_response_cache_put(struct gb_response_cache *c, size_t slot,
			   uint64_t generation, double now, const char *body,
			   size_t len, const char *etag);

#endif
