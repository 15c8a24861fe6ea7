/*
 * probes.h - the host's own routes for the orchestrator: GET /health (the
 * process answers) and GET /ready (the storage answers and the server is
 * not shutting down; the write check is reported but does not fail it).
 */
#ifndef GB_CORE_PROBES_H
#define GB_CORE_PROBES_H

/* Registers /health and /ready. 0, or -1 when the routes are taken. */
int gb_probes_register(void);

#endif
