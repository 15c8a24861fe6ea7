/*
 * mongo_mask.c - masking passwords in MongoDB URIs and messages.
 */
#include "mongo_mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct outbuf {
	char *p;
	size_t left;
};

static void put(struct outbuf *o, const char *s, size_t n)
{
	if (!o->left)
		return;
	if (n >= o->left)
		n = o->left - 1;
	memcpy(o->p, s, n);
	o->p += n;
	o->left -= n;
	*o->p = '\0';
}

/*
 * At `s`, just after "scheme://": copies the authority with the password
 * masked and returns how many input bytes it consumed.
 */
static size_t put_authority(struct outbuf *o, const char *s)
{
	size_t end = strcspn(s, "/?# \t\r\n\"'");
	const char *at = NULL;

	for (size_t i = 0; i < end; i++)
		if (s[i] == '@')
			at = s + i;
	if (!at) {
		put(o, s, end);
		return end;
	}
	const char *colon = memchr(s, ':', (size_t)(at - s));

	if (!colon) {
		put(o, s, (size_t)(at - s));
	} else {
		put(o, s, (size_t)(colon - s));
		put(o, ":****", 5);
	}
	put(o, at, (size_t)(s + end - at));
	return end;
}

/* Copies `in` with the password of every URI in it masked. */
static void mask_uris(const char *in, char *out, size_t len)
{
	struct outbuf o = {out, len};

	if (!len)
		return;
	out[0] = '\0';
	while (*in) {
		if (!strncmp(in, "mongodb://", 10) ||
		    !strncmp(in, "mongodb+srv://", 14)) {
			size_t scheme = in[7] == '+' ? 14 : 10;

			put(&o, in, scheme);
			in += scheme;
			in += put_authority(&o, in);
			continue;
		}
		put(&o, in, 1);
		in++;
	}
}

void mongo_mask(const char *in, const char *secret, char *out, size_t len)
{
	size_t secret_len = secret ? strlen(secret) : 0;
	struct outbuf o;
	char *tmp;

	if (!len)
		return;
	out[0] = '\0';
	if (!in)
		return;
	if (secret_len < 3) {
		mask_uris(in, out, len);
		return;
	}
	/*
	 * The secret first: a password with a character that ends a URI's
	 * authority ("pa?ss") would otherwise be cut in two by mask_uris.
	 * "****" grows a 3-byte secret by one byte per occurrence.
	 */
	tmp = malloc(strlen(in) + strlen(in) / 3 + 2);
	if (!tmp) {
		snprintf(out, len, "(message hidden: out of memory)");
		return;
	}
	o.p = tmp;
	o.left = strlen(in) + strlen(in) / 3 + 2;
	*o.p = '\0';
	while (*in) {
		if (!strncmp(in, secret, secret_len)) {
			put(&o, "****", 4);
			in += secret_len;
			continue;
		}
		put(&o, in, 1);
		in++;
	}
	mask_uris(tmp, out, len);
	free(tmp);
}

void mongo_mask_uri(const char *uri, char *out, size_t len)
{
	const char *at = strrchr(uri, '@');
	const char *sep = strstr(uri, "://");
	const char *colon;
	struct outbuf o = {out, len};

	if (!len)
		return;
	if (!at) {
		mongo_mask(uri, NULL, out, len);
		return;
	}
	out[0] = '\0';
	if (!sep || sep > at) {
		put(&o, "****", 4);
		put(&o, at, strlen(at));
		return;
	}
	/*
	 * The password runs from the first ':' after "scheme://" to the last
	 * '@', whatever it holds: the driver takes "pa?ss" or "pa ss" as they
	 * are, and quotes others ("pa:ss", "pa/ss") in its refusal.
	 */
	colon = memchr(sep + 3, ':', (size_t)(at - (sep + 3)));
	if (!colon) {
		put(&o, uri, (size_t)(at - uri));
	} else {
		put(&o, uri, (size_t)(colon - uri));
		put(&o, ":****", 5);
	}
	put(&o, at, strlen(at));
}

char *mongo_uri_password(const char *uri)
{
	const char *at = strrchr(uri, '@');
	const char *sep = strstr(uri, "://");
	const char *colon;

	if (!at || !sep || sep > at)
		return NULL;
	colon = memchr(sep + 3, ':', (size_t)(at - (sep + 3)));
	if (!colon)
		return NULL;
	return strndup(colon + 1, (size_t)(at - colon - 1));
}
