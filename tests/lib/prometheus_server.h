/*
 * prometheus_server.h - a real Prometheus (Debian package `prometheus`)
 * for the tests, scraping one guestbookd every second on a free loopback
 * port, with its configuration, TSDB and log in a directory of the test.
 */
#ifndef GB_TEST_PROMETHEUS_SERVER_H
#define GB_TEST_PROMETHEUS_SERVER_H

#include <sys/types.h>

struct gbt_prometheus {
	pid_t pid;
	int port;
	char log_path[400];
};

/*
 * Starts Prometheus in `dir` scraping 127.0.0.1:target every second;
 * `feature` is an --enable-feature value or NULL. Fails the test when
 * prometheus is not installed. It dies with the test process.
 */
void gbt_prometheus_start(struct gbt_prometheus *p, const char *dir, int target,
			  const char *feature);

/* Stops it and waits. */
void gbt_prometheus_stop(struct gbt_prometheus *p);

/* Copies its log to stderr (for a failing test). */
void gbt_prometheus_print_log(const struct gbt_prometheus *p);

/* A loopback TCP port nobody listens on right now. */
int gbt_free_port(void);

#endif
