/*
 * server.h - the server's life cycle: civetweb's start-up and shutdown,
 * and the dispatch of each request through intake (intake.h), routing
 * (router.h), the handler, the response (response.h), the request
 * metrics (request_metrics.h) and the access log (access_log.h). The
 * built-in /health and /ready are in probes.h.
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

/* 1 once gb_server_begin_shutdown ran. */
int gb_server_shutting_down(void);

/* Stops civetweb, waiting for requests in flight to finish. */
void gb_server_stop(void);

#endif
