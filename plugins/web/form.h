/*
 * form.h - application/x-www-form-urlencoded bodies (HTML form posts).
 */
#ifndef GB_WEB_FORM_H
#define GB_WEB_FORM_H

#include <stddef.h>

/*
 * Finds the first field called `name` in `len` bytes of `body` and returns
 * its decoded value ("+" is a space, %XX a byte; a "%" not followed by two
 * hex digits stays as it is), NUL-terminated, with its length in *out_len
 * (the value may contain NUL bytes: validation refuses them). Returns NULL
 * when the field is absent or memory ran out (*nomem then 1). Caller frees
 * with free().
 */
char *form_field(const char *body, size_t len, const char *name,
		 size_t *out_len, int *nomem);

#endif
