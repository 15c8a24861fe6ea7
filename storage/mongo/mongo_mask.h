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
 * Masks a text that should be one MongoDB URI (the configured setting),
 * well-formed or not: with "scheme://", everything from the first ':'
 * after it to the last '@' becomes "****" (the password may hold any
 * character, "pa?ss" and "pa/ss" included); without "scheme://" but with
 * an '@', everything before the last '@' does. A text without '@' is
 * copied as mongo_mask copies it.
 */
void mongo_mask_uri(const char *uri, char *out, size_t len);

/*
 * The password of a URI text as written (not percent-decoded), by the
 * same rule as mongo_mask_uri, to mask it in the driver's messages before
 * the driver has parsed the URI; NULL when there is none. Caller frees.
 */
char *mongo_uri_password(const char *uri);

#endif
