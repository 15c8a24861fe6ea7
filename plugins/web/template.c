/*
 * template.c - output buffer and {{placeholder}} templates (template.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define NAME_MAX_LEN 31

enum seg_kind { SEG_LITERAL, SEG_TEXT, SEG_ATTR, SEG_RAW };

struct seg {
	enum seg_kind kind;
	const char *s; /* literal: into the template's text */
	size_t len;
	char name[NAME_MAX_LEN + 1];
};

struct web_template {
	char *text;
	struct seg *segs;
	size_t n;
	size_t cap;
};

/* ---- buffer ------------------------------------------------------------- */

void web_buf_add(struct web_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void web_buf_puts(struct web_buf *b, const char *s)
{
	web_buf_add(b, s, strlen(s));
}

static void escape(struct web_buf *b, const char *s, const char *special)
{
	const char *run = s;

	for (; *s; s++) {
		const char *ref;

		if (!strchr(special, *s))
			continue;
		web_buf_add(b, run, (size_t)(s - run));
		switch (*s) {
		case '&': ref = "&amp;"; break;
		case '<': ref = "&lt;"; break;
		case '>': ref = "&gt;"; break;
		case '"': ref = "&quot;"; break;
		default: ref = "&#39;"; break;
		}
		web_buf_puts(b, ref);
		run = s + 1;
	}
	web_buf_add(b, run, (size_t)(s - run));
}

void web_buf_text(struct web_buf *b, const char *s)
{
	escape(b, s, "&<>");
}

void web_buf_attr(struct web_buf *b, const char *s)
{
	escape(b, s, "&<>\"'");
}

void web_buf_free(struct web_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- templates -------------------------------------------------------- */

static int push(struct web_template *t, enum seg_kind kind, const char *s,
		size_t len, const char *name, size_t name_len)
{
	struct seg *sg;

	if (kind == SEG_LITERAL && len == 0)
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct seg *p = realloc(t->segs, cap * sizeof(*p));

		if (!p)
			return -1;
		t->segs = p;
		t->cap = cap;
	}
	sg = &t->segs[t->n++];
	memset(sg, 0, sizeof(*sg));
	sg->kind = kind;
	sg->s = s;
	sg->len = len;
	if (name)
		memcpy(sg->name, name, name_len);
	return 0;
}

static int line_of(const char *text, const char *p)
{
	int line = 1;

	for (; text < p; text++)
		line += *text == '\n';
	return line;
}

enum scan_state { IN_TEXT, IN_TAG, IN_QUOTE };

/*
 * Reads the placeholder at p ("{{" already seen). Returns its length or 0
 * when malformed; fills name and *raw.
 */
static size_t placeholder(const char *p, const char **name, size_t *name_len,
			  int *raw)
{
	const char *q;

	*raw = p[2] == '{';
	q = p + (*raw ? 3 : 2);
	*name = q;
	while (islower((unsigned char)*q) || isdigit((unsigned char)*q) ||
	       *q == '_')
		q++;
	*name_len = (size_t)(q - *name);
	if (*name_len == 0 || *name_len > NAME_MAX_LEN)
		return 0;
	if (*raw ? strncmp(q, "}}}", 3) != 0 : strncmp(q, "}}", 2) != 0)
		return 0;
	return (size_t)(q - p) + (*raw ? 3 : 2);
}

struct web_template *web_template_parse(const char *tname, const char *src,
					char *err, size_t errlen)
{
	struct web_template *t = calloc(1, sizeof(*t));
	enum scan_state state = IN_TEXT;
	const char *p, *lit, *name;
	char quote = 0;
	size_t name_len, n;
	int raw;

	if (!t || !(t->text = strdup(src))) {
		free(t);
		snprintf(err, errlen, "%s: out of memory", tname);
		return NULL;
	}
	lit = p = t->text;
	while (*p) {
		if (p[0] == '{' && p[1] == '{') {
			enum seg_kind kind;

			n = placeholder(p, &name, &name_len, &raw);
			if (!n) {
				snprintf(err, errlen,
					 "%s:%d: malformed placeholder", tname,
					 line_of(t->text, p));
				goto fail;
			}
			if (state == IN_TAG || (raw && state != IN_TEXT)) {
				snprintf(
				    err, errlen,
				    "%s:%d: placeholder {{%.*s}} must be in "
				    "element text or a quoted attribute",
				    tname, line_of(t->text, p), (int)name_len,
				    name);
				goto fail;
			}
			kind = raw		   ? SEG_RAW
			       : state == IN_QUOTE ? SEG_ATTR
						   : SEG_TEXT;
			if (push(t, SEG_LITERAL, lit, (size_t)(p - lit), NULL,
				 0) < 0 ||
			    push(t, kind, NULL, 0, name, name_len) < 0)
				goto nomem;
			p += n;
			lit = p;
			continue;
		}
		switch (state) {
		case IN_TEXT:
			if (strncmp(p, "<!--", 4) == 0) {
				const char *end = strstr(p + 4, "-->");

				p = end ? end + 3 : p + strlen(p);
				continue;
			}
			if (*p == '<' && (isalpha((unsigned char)p[1]) ||
					  p[1] == '/' || p[1] == '!'))
				state = IN_TAG;
			break;
		case IN_TAG:
			if (*p == '"' || *p == '\'') {
				quote = *p;
				state = IN_QUOTE;
			} else if (*p == '>') {
				state = IN_TEXT;
			}
			break;
		case IN_QUOTE:
			if (*p == quote)
				state = IN_TAG;
			break;
		}
		p++;
	}
	if (push(t, SEG_LITERAL, lit, (size_t)(p - lit), NULL, 0) < 0)
		goto nomem;
	return t;
nomem:
	snprintf(err, errlen, "%s: out of memory", tname);
fail:
	web_template_free(t);
	return NULL;
}

struct web_template *web_template_load(const char *path, char *err,
				       size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct web_buf b = {0};
	struct web_template *t;
	char chunk[4096];
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot read template %s", path);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		web_buf_add(&b, chunk, n);
	if (ferror(f) || b.failed || !b.data || memchr(b.data, 0, b.len)) {
		fclose(f);
		web_buf_free(&b);
		snprintf(err, errlen,
			 "cannot read template %s (empty, "
			 "unreadable or binary)",
			 path);
		return NULL;
	}
	fclose(f);
	t = web_template_parse(path, b.data, err, errlen);
	web_buf_free(&b);
	return t;
}

static const char *lookup(const struct web_var *vars, size_t n,
			  const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(vars[i].name, name) == 0)
			return vars[i].value ? vars[i].value : "";
	return "";
}

void web_template_render(const struct web_template *t,
			 const struct web_var *vars, size_t n,
			 struct web_buf *out)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct seg *sg = &t->segs[i];

		switch (sg->kind) {
		case SEG_LITERAL: web_buf_add(out, sg->s, sg->len); break;
		case SEG_TEXT:
			web_buf_text(out, lookup(vars, n, sg->name));
			break;
		case SEG_ATTR:
			web_buf_attr(out, lookup(vars, n, sg->name));
			break;
		case SEG_RAW:
			web_buf_puts(out, lookup(vars, n, sg->name));
			break;
		}
	}
}

void web_template_free(struct web_template *t)
{
	if (!t)
		return;
	free(t->text);
	free(t->segs);
	free(t);
}
