#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 128

static struct gb_route routes[MAX_ROUTES];
static size_t nroutes;

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
	{"GET", GB_GET},       {"HEAD", GB_HEAD},     {"POST", GB_POST},
	{"PUT", GB_PUT},       {"DELETE", GB_DELETE}, {"PATCH", GB_PATCH},
	{"OPTIONS", GB_OPTIONS},
};

unsigned gb_method_bit(const char *method)
{
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].bit;
	return 0;
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

static int valid_pattern(const char *p)
{
	if (p[0] != '/' || strlen(p) > 256)
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

enum gb_status gb_router_add(const char *owner, unsigned methods_bits,
			     const char *pattern, gb_route_handler handler,
			     void *userdata, size_t max_body)
{
	if (!pattern || !handler || !methods_bits || !valid_pattern(pattern))
		return GB_ERR_INVALID;
	if (methods_bits & GB_GET)
		methods_bits |= GB_HEAD;
	for (size_t i = 0; i < nroutes; i++)
		if (strcmp(routes[i].pattern, pattern) == 0 &&
		    (routes[i].methods & methods_bits))
			return GB_ERR_EXISTS;
	if (nroutes == MAX_ROUTES)
		return GB_ERR_NOMEM;
	char *copy = strdup(pattern);
	if (!copy)
		return GB_ERR_NOMEM;
	routes[nroutes++] = (struct gb_route){
		.pattern = copy,
		.methods = methods_bits,
		.handler = handler,
		.userdata = userdata,
		.max_body = max_body,
		.owner = owner,
	};
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

int gb_router_match(const char *path, unsigned method,
		    struct gb_route_match *m, unsigned *allow)
{
	unsigned seen = 0;
	const struct gb_route *first = NULL;
	m->route = NULL;
	for (size_t i = 0; i < nroutes; i++) {
		if (!match_one(routes[i].pattern, path, m))
			continue;
		if (!first)
			first = &routes[i];
		if (routes[i].methods & method) {
			m->route = &routes[i];
			return 1;
		}
		seen |= routes[i].methods;
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
}
