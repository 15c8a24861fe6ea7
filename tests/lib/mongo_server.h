/*
 * mongo_server.h - a real MongoDB wire-protocol server for the tests:
 * FerretDB (over SQLite), built and started through tests/lib/ferretdb.sh
 * on a free loopback port with a temporary data directory. If a real
 * `mongod` is on PATH, gbt_mongod_start() starts one the same way.
 */
#ifndef GB_TEST_MONGO_SERVER_H
#define GB_TEST_MONGO_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct gbt_mongo_server {
	char dir[256]; /* data and log; removed by gbt_mongo_server_remove */
	int port;      /* 127.0.0.1:port */
	pid_t pid;     /* 0 while stopped */
	int is_mongod; /* 1: a real mongod, 0: FerretDB */
};

/*
 * Builds FerretDB if needed (minutes, the first time on a machine; cached
 * in ~/.cache/guestbook) and starts it in a new temporary directory on a
 * free port. Returns 0, or -1 with the reason (e.g. "Go is not installed")
 * in `why` (`whylen` bytes).
 */
int gbt_ferretdb_start(struct gbt_mongo_server *s, char *why, size_t whylen);

/*
 * Starts `mongod` from PATH the same way (own dbpath, free port). Returns
 * 0, 1 when there is no mongod on PATH, -1 with the reason when it is
 * there but does not start.
 */
int gbt_mongod_start(struct gbt_mongo_server *s, char *why, size_t whylen);

/*
 * The server the mongo tests use: mongod when GB_TEST_MONGOD=1 (failing
 * with the reason when there is none), FerretDB otherwise. Returns 0 or -1
 * with the reason in `why`.
 */
int gbt_mongo_server_start(struct gbt_mongo_server *s, char *why,
			   size_t whylen);

/* Stops the server (SIGTERM, then SIGKILL) and waits for it; keeps data. */
void gbt_mongo_server_stop(struct gbt_mongo_server *s);

/*
 * Starts the stopped server again on the same port with the same data.
 * Returns 0 or -1 with the reason in `why`.
 */
int gbt_mongo_server_restart(struct gbt_mongo_server *s, char *why,
			     size_t whylen);

/* Stops the server if running and removes its directory. */
void gbt_mongo_server_remove(struct gbt_mongo_server *s);

/*
 * "mongodb://127.0.0.1:PORT/DB" in a thread-local static buffer. `db` may
 * be NULL for no database path.
 */
const char *gbt_mongo_uri(const struct gbt_mongo_server *s, const char *db);

/*
 * The server a test binary shares between its tests: gbt_mongo_shared_setup
 * (call it from a Criterion ReportHook(PRE_ALL), i.e. in the runner before
 * any test process starts) starts gbt_mongo_server_start's server and
 * publishes its port in the environment the test
 * processes inherit; gbt_mongo_shared_teardown (ReportHook(POST_ALL))
 * stops and removes it. gbt_mongo_shared_port() returns that port, or
 * fails the calling test with the reason the server could not start.
 */
void gbt_mongo_shared_setup(void);
void gbt_mongo_shared_teardown(void);
int gbt_mongo_shared_port(void);

/* "mongodb://127.0.0.1:PORT/DB" of the shared server (thread-local). */
const char *gbt_mongo_shared_uri(const char *db);

#endif
