/*
 * mongo_mask.h - keep MongoDB passwords out of logs and error messages.
 */
#ifndef GB_MONGO_MASK_H
#define GB_MONGO_MASK_H

#include <stddef.h>

/*
 * Copies `in` into `out` (`len` bytes, always NUL-terminated) with the
 * password of every "mongodb://user:password@" or "mongodb+srv://..."
 * replaced by "****", and every occurrence of `secret` (when it is not NULL
 * and has at least 3 characters) too.
 */
void mongo_mask(const char *in, const char *secret, char *out, size_t len);

/*
 * Like mongo_mask for a text that should be one MongoDB URI but may be
 * malformed ("mongodb:/user:pw@host"): when it is not a well-formed
 * "mongodb[+srv]://" URI but has an '@', everything before the last '@'
 * (after an optional "scheme://") becomes "****".
 */
void mongo_mask_uri(const char *uri, char *out, size_t len);

#endif
