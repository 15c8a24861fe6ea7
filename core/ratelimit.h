/*
 * ratelimit.h - per-client token buckets for posts: `rate_limit` tokens a
 * minute, bursts of half a minute's worth. Fixed memory: a bounded table
 * where the least recently seen client gives way. A client is named by at
 * most its first 63 bytes.
 */
#ifndef GB_CORE_RATELIMIT_H
#define GB_CORE_RATELIMIT_H

/* Sets the rate (posts per minute, 0 = off) and clears every bucket. */
int gb_ratelimit_init(long per_minute);

/* Takes a token for `client` at time `now` (monotonic seconds). Returns 0
 * if allowed, else the whole seconds until a token is available (>= 1). */
int gb_ratelimit_take(const char *client, double now);

/* Frees the table; every client is allowed until the next init. */
void gb_ratelimit_shutdown(void);

#endif
