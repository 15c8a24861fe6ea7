/*
 * template.h - the web plugin's HTML templates: a growable output buffer and
 * a tiny {{placeholder}} substitution that escapes for the context.
 *
 * Syntax: {{name}} is replaced by an escaped string; {{{name}}} by HTML the
 * plugin built itself from other templates (never user text). The context
 * of each placeholder is found when the template is loaded: in element text
 * it is text-escaped (& < >), inside a quoted attribute value it is
 * attribute-escaped (& < > " '). A placeholder in a tag outside quotes, or
 * a raw one inside a tag, is refused at load time, so a template cannot
 * open an injection hole by accident. Names are [a-z0-9_]+.
 */
#ifndef GB_WEB_TEMPLATE_H
#define GB_WEB_TEMPLATE_H

#include <stddef.h>

/* A growable byte buffer; `failed` sticks once an allocation failed. */
struct web_buf {
	char *data; /* NUL-terminated when not failed; free() it */
	size_t len;
	size_t cap;
	int failed;
};

/* Appends n bytes / a C string. */
void web_buf_add(struct web_buf *b, const char *s, size_t n);
void web_buf_puts(struct web_buf *b, const char *s);

/* Appends s with & < > (and, for attributes, " ') as character refs. */
void web_buf_text(struct web_buf *b, const char *s);
void web_buf_attr(struct web_buf *b, const char *s);

/* Frees the buffer's memory and zeroes it. */
void web_buf_free(struct web_buf *b);

/* One substitution: `value` NULL renders as "". */
struct web_var {
	const char *name;
	const char *value;
};

struct web_template;

/*
 * Reads and parses `path`. Returns the template (free with
 * web_template_free) or NULL with a reason in err.
 */
struct web_template *web_template_load(const char *path, char *err,
				       size_t errlen);

/*
 * Parses a template from memory (`name` is used in error messages).
 */
struct web_template *web_template_parse(const char *name, const char *text,
					char *err, size_t errlen);

/*
 * Appends the template to out with the n vars substituted; placeholders
 * without a var render as "".
 */
void web_template_render(const struct web_template *t,
			 const struct web_var *vars, size_t n,
			 struct web_buf *out);

void web_template_free(struct web_template *t);

#endif
