/*
 * server.h - the HTTP side: civetweb, request dispatch (routing, 405,
 * 413, request ids, timing, access log, request metrics) and the
 * built-in /health and /ready.
 */
#ifndef GB_CORE_SERVER_H
#define GB_CORE_SERVER_H

#include <stddef.h>

/* Registers /health, /ready and the request metrics. Before plugins. */
int gb_server_prepare(char *err, size_t errlen);

/* Starts listening on the `listen` setting. -1 and one line on failure. */
int gb_server_start(char *err, size_t errlen);

/* The port actually bound (useful with port 0). */
int gb_server_port(void);

/* From now on /ready answers 503 and responses close the connection. */
void gb_server_begin_shutdown(void);

/* Stops civetweb, waiting for requests in flight to finish. */
void gb_server_stop(void);

#endif
