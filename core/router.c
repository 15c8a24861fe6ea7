#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES GB_ROUTES_MAX

static struct gb_route routes[MAX_ROUTES];
static size_t nroutes;

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
    {"GET", GB_GET},	     {"HEAD", GB_HEAD},	    {"POST", GB_POST},
    {"PUT", GB_PUT},	     {"DELETE", GB_DELETE}, {"PATCH", GB_PATCH},
    {"OPTIONS", GB_OPTIONS},
};

unsigned gb_method_bit(const char *method)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].bit;
	return 0;
}

const char *gb_method_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (bit == methods[i].bit)
			return methods[i].name;
	return NULL;
}

void gb_methods_format(unsigned bits, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (!(bits & methods[i].bit))
			continue;
		int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
				 methods[i].name);
		if (w < 0 || (size_t)w >= len - n)
			return;
		n += (size_t)w;
	}
}

static int method_index(unsigned bit)
{
	for (int i = 0; i < GB_ROUTE_METHODS; i++)
		if (bit == 1u << i)
			return i;
	return -1;
}

static int valid_pattern(const char *p)
{
	if (p[0] != '/' || strlen(p) > GB_PATTERN_MAX)
		return 0;
	int params = 0;
	for (const char *s = p; *s; s++) {
		if (*s == '*' && (s[-1] != '/' || s[1] != '\0'))
			return 0;
		if (*s == '{') {
			const char *e = strchr(s, '}');
			if (s[-1] != '/' || !e || e == s + 1 ||
			    (e[1] != '/' && e[1] != '\0') ||
			    ++params > GB_ROUTE_MAX_PARAMS)
				return 0;
			s = e;
		}
	}
	return 1;
}

static size_t nhandlers;

enum gb_status gb_router_add(const char *owner, unsigned method,
			     const char *pattern, gb_route_handler handler,
			     void *userdata, size_t max_body)
{
	int mi = method_index(method);
	if (!pattern || !handler || mi < 0 || method == GB_HEAD ||
	    !valid_pattern(pattern))
		return GB_ERR_INVALID;
	struct gb_route *r = NULL;
	for (size_t i = 0; i < nroutes && !r; i++)
		if (strcmp(routes[i].pattern, pattern) == 0)
			r = &routes[i];
	if (r && r->by_method[mi].handler)
		return GB_ERR_EXISTS;
	if (nhandlers == GB_ROUTES_MAX || (!r && nroutes == MAX_ROUTES))
		return GB_ERR_NOMEM;
	if (!r) {
		char *copy = strdup(pattern);
		if (!copy)
			return GB_ERR_NOMEM;
		r = &routes[nroutes++];
		memset(r, 0, sizeof *r);
		r->pattern = copy;
	}
	r->by_method[mi] = (struct gb_route_handler_slot){
	    .handler = handler,
	    .userdata = userdata,
	    .max_body = max_body,
	    .owner = owner,
	};
	r->methods |= method | (method == GB_GET ? GB_HEAD : 0);
	nhandlers++;
	return GB_OK;
}
/* Matches one pattern; params are copied into m->scratch. */
static int match_one(const char *pat, const char *path,
		     struct gb_route_match *m)
{
	size_t used = 0;
	m->nparams = 0;
	while (*pat && *path) {
		if (pat[0] == '*')
			return 1;
		if (pat[0] == '{') {
			const char *pe = strchr(pat, '}');
			size_t seg = strcspn(path, "/");
			if (seg == 0 || used + seg + 1 > sizeof m->scratch)
				return 0;
			int k = m->nparams++;
			m->names[k] = pat + 1; /* up to '}' : compared by len */
			m->values[k] = m->scratch + used;
			memcpy(m->scratch + used, path, seg);
			m->scratch[used + seg] = '\0';
			used += seg + 1;
			pat = pe + 1;
			path += seg;
			continue;
		}
		if (*pat != *path)
			return 0;
		pat++;
		path++;
	}
	return (*pat == '\0' && *path == '\0') || strcmp(pat, "*") == 0;
}

int gb_router_match(const char *path, unsigned method, struct gb_route_match *m,
		    unsigned *allow)
{
	const struct gb_route *first = NULL;
	unsigned seen = 0;
	int mi = method_index(method == GB_HEAD ? GB_GET : method);
	m->route = NULL;
	m->handler = NULL;
	for (size_t i = 0; i < nroutes; i++) {
		const struct gb_route *r = &routes[i];
		if (!match_one(r->pattern, path, m))
			continue;
		if (mi >= 0 && r->by_method[mi].handler) {
			m->route = r;
			m->handler = &r->by_method[mi];
			return 1;
		}
		if (!first)
			first = r;
		seen |= r->methods;
	}
	*allow = seen;
	m->route = first; /* for the route label of the 405 */
	return first ? -1 : 0;
}

void gb_router_clear(void)
{
	for (size_t i = 0; i < nroutes; i++)
		free(routes[i].pattern);
	nroutes = 0;
	nhandlers = 0;
}
