/*
 * router.h - the route table: patterns with {param} segments and a
 * trailing "*", matched segment by segment; method dispatch with Allow.
 */
#ifndef GB_CORE_ROUTER_H
#define GB_CORE_ROUTER_H

#include <stddef.h>

#include "guestbook/plugin.h"

#define GB_ROUTE_MAX_PARAMS 4

struct gb_route {
	char *pattern;     /* also the `route` metric label */
	unsigned methods;  /* enum gb_method bits */
	gb_route_handler handler;
	void *userdata;
	size_t max_body;
	const char *owner; /* plugin name or "core" */
};

/* One match: the route and its parameters (pointers into `scratch`). */
struct gb_route_match {
	const struct gb_route *route;
	int nparams;
	const char *names[GB_ROUTE_MAX_PARAMS];
	char *values[GB_ROUTE_MAX_PARAMS];
	char scratch[1024];
};

/* Adds a route; see gb_host_api.route_add for the rules. */
enum gb_status gb_router_add(const char *owner, unsigned methods,
			     const char *pattern, gb_route_handler handler,
			     void *userdata, size_t max_body);

/*
 * Finds the route for `path` (decoded) and `method` (enum gb_method bit,
 * 0 for an unknown method). Returns 1 and fills m on a match; 0 when no
 * pattern matches; -1 when patterns match but not the method, with the
 * accepted methods in *allow.
 */
int gb_router_match(const char *path, unsigned method,
		    struct gb_route_match *m, unsigned *allow);

/* Maps "GET" to GB_GET etc.; 0 for anything else. */
unsigned gb_method_bit(const char *method);

/* Writes "GET, HEAD, POST" for the bits into buf. */
void gb_methods_format(unsigned bits, char *buf, size_t len);

/* Removes every route. */
void gb_router_clear(void);

#endif
