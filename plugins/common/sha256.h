/*
 * sha256.h - SHA-256 (FIPS 180-4) of a byte string, for keys that must not
 * collide even when someone tries (the content key of imported messages).
 */
#ifndef GB_COMMON_SHA256_H
#define GB_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct gb_sha256 {
	uint32_t h[8];
	uint64_t total;	       /* bytes hashed so far */
	unsigned char buf[64]; /* a partial block */
	size_t used;
};

/* Starts a new hash. */
void gb_sha256_init(struct gb_sha256 *c);

/* Adds `len` bytes of `data`. */
void gb_sha256_update(struct gb_sha256 *c, const void *data, size_t len);

/* Finishes: the digest as 64 lower-case hex digits and a NUL in `hex`. */
void gb_sha256_hex(struct gb_sha256 *c, char hex[65]);

#endif
