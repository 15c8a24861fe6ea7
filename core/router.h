/*
 * router.h - the route table: patterns with {param} segments and a
 * trailing "*", matched segment by segment; one handler per method of a
 * pattern, chosen once per request; 405 with Allow for the others.
 */
#ifndef GB_CORE_ROUTER_H
#define GB_CORE_ROUTER_H

#include <stddef.h>

#include "guestbook/plugin.h"

#define GB_ROUTE_MAX_PARAMS GB_ROUTE_PARAMS_MAX
#define GB_ROUTE_METHODS    7 /* the bits of enum gb_method */

/* What one method of a pattern runs. */
struct gb_route_handler_slot {
	gb_route_handler handler; /* NULL: method not registered */
	void *userdata;
	size_t max_body;
	const char *owner; /* plugin name or "core" */
};

/* One pattern and its handlers, by method bit index. */
struct gb_route {
	char *pattern;	  /* also the `route` metric label */
	unsigned methods; /* enum gb_method bits with a handler (HEAD: GET's) */
	struct gb_route_handler_slot by_method[GB_ROUTE_METHODS];
};

/* One match: the route, the handler for the method and the parameters
 * (pointers into `scratch`). */
struct gb_route_match {
	const struct gb_route *route;
	const struct gb_route_handler_slot *handler;
	int nparams;
	const char *names[GB_ROUTE_MAX_PARAMS];
	char *values[GB_ROUTE_MAX_PARAMS];
	char scratch[1024];
};

/* Adds the handler of one method; see gb_host_api.route_add. */
enum gb_status gb_router_add(const char *owner, unsigned method,
			     const char *pattern, gb_route_handler handler,
			     void *userdata, size_t max_body);

/*
 * Finds the route for `path` (decoded) and `method` (enum gb_method bit,
 * 0 for an unknown method). Returns 1 and fills m (route and handler) on a
 * match; 0 when no pattern matches; -1 when a pattern matches but has no
 * handler for the method, with m->route set and its methods in *allow.
 */
int gb_router_match(const char *path, unsigned method, struct gb_route_match *m,
		    unsigned *allow);

/* Maps "GET" to GB_GET etc.; 0 for anything else. */
unsigned gb_method_bit(const char *method);

/* Maps GB_GET to "GET" etc.; NULL for anything but one known bit. */
const char *gb_method_name(unsigned bit);

/* Writes "GET, HEAD, POST" for the bits into buf. */
void gb_methods_format(unsigned bits, char *buf, size_t len);

/* Removes every route. */
void gb_router_clear(void);

#endif
