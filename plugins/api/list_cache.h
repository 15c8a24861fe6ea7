/*
 * list_cache.h - a micro-cache of rendered list responses (the v1 first
 * page per limit, and the legacy list). An entry is served while it is
 * younger than `list_cache_ms` and no post or delete went through this
 * process since it was built; so a client always reads its own writes
 * here, and writes made by other processes (other replicas on the same
 * MongoDB) show within list_cache_ms (plus one rebuild: when an entry
 * expires, one request rebuilds it while the others are still served the
 * expired copy, for at most a second).
 */
#ifndef GB_API_LIST_CACHE_H
#define GB_API_LIST_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "http_headers.h"

/* Slots: 0 is the legacy list, 1..100 the v1 first page by limit. */
#define GB_LIST_CACHE_SLOTS 101

/* A copy of one cached response; free body with free(). */
struct gb_cached_response {
	char *body;
	size_t len;
	char etag[GB_ETAG_MAX];
};

/* Sets the time to live (0 turns the cache off) and the host's store
 * generation function (api->store_generation). Call from init. */
void gb_list_cache_init(long ttl_ms, uint64_t (*store_generation)(void));

/* Frees every entry. Call from fini. */
void gb_list_cache_fini(void);

/* Returns the generation to pass to gb_list_cache_put after rendering. */
uint64_t gb_list_cache_generation(void);

/*
 * Copies a fresh entry of `slot` into out (1) or returns 0 when there is
 * none. `now` is monotonic seconds.
 */
int gb_list_cache_get(int slot, double now, struct gb_cached_response *out);

/*
 * Stores a rendered body for `slot`, built from data read at `generation`
 * (an entry built before an invalidation is dropped).
 */
void gb_list_cache_put(int slot, uint64_t generation, double now,
		       const char *body, size_t len, const char *etag);

#endif
