/*
 * guestbook/utf8.h - strict UTF-8 decoding, header-only, for the host and
 * for plugins (no symbol crosses the plugin boundary).
 */
#ifndef GUESTBOOK_UTF8_H
#define GUESTBOOK_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the code point at s (at most `len` bytes available) under
 * RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
 * Returns the sequence's length (1 to 4) and sets *cp, or 0 when s does
 * not start a valid, complete sequence (*cp is then unchanged). Reads
 * bytes in order and stops at the first bad one, so a NUL-terminated
 * string may be passed with len = strlen + 1.
 */
static inline size_t gb_utf8_decode(const unsigned char *s, size_t len,
				    uint32_t *cp)
{
	unsigned char c, lo = 0x80, hi = 0xbf; /* range of the second byte */
	size_t need;
	uint32_t v;

	if (len == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong */
		hi = c == 0xed ? 0x9f : 0xbf; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		lo = c == 0xf0 ? 0x90 : 0x80; /* overlong */
		hi = c == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
	} else {
		return 0; /* continuation byte, C0, C1 lead or F5..FF */
	}
	for (size_t k = 1; k <= need; k++) {
		if (k >= len)
			return 0;
		unsigned char b = s[k];
		if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
			return 0;
		v = (v << 6) | (b & 0x3f);
	}
	*cp = v;
	return need + 1;
}

#endif
