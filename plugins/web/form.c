/*
 * form.c - application/x-www-form-urlencoded decoding (form.h).
 */
#include <stdlib.h>
#include <string.h>

#include "form.h"

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n bytes of s into out (room for n + 1); returns the length. */
static size_t decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 &&
			   hex(s[i + 2]) >= 0) {
			out[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}

char *form_field(const char *body, size_t len, const char *name,
		 size_t *out_len, int *nomem)
{
	const char *p = body, *end = body + len;
	size_t name_len = strlen(name);

	*nomem = 0;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pair_end = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pair_end - p));
		const char *key_end = eq ? eq : pair_end;
		size_t klen = (size_t)(key_end - p);
		char *key = malloc(klen + 1);
		int match;

		if (!key) {
			*nomem = 1;
			return NULL;
		}
		match = decode(p, klen, key) == name_len &&
			memcmp(key, name, name_len) == 0;
		free(key);
		if (match) {
			const char *v = eq ? eq + 1 : pair_end;
			size_t vlen = (size_t)(pair_end - v);
			char *value = malloc(vlen + 1);

			if (!value) {
				*nomem = 1;
				return NULL;
			}
			*out_len = decode(v, vlen, value);
			return value;
		}
		p = pair_end + 1;
	}
	return NULL;
}
