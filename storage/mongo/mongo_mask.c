/*
 * mongo_mask.c - masking passwords in MongoDB URIs and messages.
 */
#include "mongo_mask.h"

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

void mongo_mask(const char *in, const char *secret, char *out, size_t len)
{
	struct outbuf o = {out, len};
	size_t secret_len = secret ? strlen(secret) : 0;

	if (!len)
		return;
	out[0] = '\0';
	if (!in)
		return;
	while (*in) {
		if (!strncmp(in, "mongodb://", 10) ||
		    !strncmp(in, "mongodb+srv://", 14)) {
			size_t scheme = in[7] == '+' ? 14 : 10;

			put(&o, in, scheme);
			in += scheme;
			in += put_authority(&o, in);
			continue;
		}
		if (secret_len >= 3 && !strncmp(in, secret, secret_len)) {
			put(&o, "****", 4);
			in += secret_len;
			continue;
		}
		put(&o, in, 1);
		in++;
	}
}

void mongo_mask_uri(const char *uri, char *out, size_t len)
{
	const char *at = strrchr(uri, '@');
	const char *sep = strstr(uri, "://");
	struct outbuf o = {out, len};

	if (!len)
		return;
	if (!at || !strncmp(uri, "mongodb://", 10) ||
	    !strncmp(uri, "mongodb+srv://", 14)) {
		mongo_mask(uri, NULL, out, len);
		return;
	}
	out[0] = '\0';
	if (sep && sep < at)
		put(&o, uri, (size_t)(sep + 3 - uri));
	put(&o, "****", 4);
	put(&o, at, strlen(at));
}
