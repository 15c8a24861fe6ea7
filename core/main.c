/*
 * guestbookd: start-up, the ready line, signals and graceful shutdown,
 * the --probe mode used by container health checks, and the data commands
 * (export, import, backup: transfer.h).
 */
#include <civetweb.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "host.h"
#include "access_log.h"
#include "log.h"
#include "server.h"
#include "transfer.h"

/* GET http://127.0.0.1:PORT/PATH or URL; exit 0 on 2xx, 1 otherwise. */
static int probe(const char *url, const char *path)
{
	char host[256] = "127.0.0.1", err[256] = "";
	int port = 8080;
	const char *p = getenv("PORT");
	if (p)
		port = atoi(p);
	if (url) {
		if (sscanf(url, "http://%255[^:/]:%d%*s", host, &port) < 1) {
			fprintf(stderr, "probe: bad URL %s\n", url);
			return 1;
		}
		const char *slash = strchr(url + 7, '/');
		path = slash ? slash : "/health";
	}
	struct mg_connection *c =
	    mg_connect_client(host, port, 0, err, sizeof err);
	if (!c) {
		fprintf(stderr, "probe: %s:%d: %s\n", host, port, err);
		return 1;
	}
	mg_printf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		  path, host);
	int rc = 1;
	if (mg_get_response(c, err, sizeof err, 5000) >= 0) {
		const struct mg_response_info *ri = mg_get_response_info(c);
		rc = ri && ri->status_code >= 200 && ri->status_code < 300 ? 0
									   : 1;
		if (rc)
			fprintf(stderr, "probe: %s answered %d\n", path,
				ri ? ri->status_code : 0);
	} else {
		fprintf(stderr, "probe: %s: %s\n", path, err);
	}
	mg_close_connection(c);
	return rc;
}

static int probe_mode(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--probe") == 0)
			return probe(NULL, i + 1 < argc && argv[i + 1][0] == '/'
					       ? argv[i + 1]
					       : "/health");
		if (strncmp(argv[i], "--probe=", 8) == 0)
			return probe(NULL, argv[i] + 8);
		if (strcmp(argv[i], "--probe-url") == 0 && i + 1 < argc)
			return probe(argv[i + 1], NULL);
		if (strncmp(argv[i], "--probe-url=", 12) == 0)
			return probe(argv[i] + 12, NULL);
	}
	return -1;
}

static void *second_signal(void *arg)
{
	sigset_t *set = arg;
	int sig;
	sigwait(set, &sig);
	gb_log(GB_LOG_WARN, "core", "second signal %d: exiting now", sig);
	_exit(1);
}

static void *shutdown_watchdog(void *arg)
{
	long secs = *(long *)arg;
	sleep((unsigned)secs);
	gb_log(GB_LOG_ERROR, "core",
	       "shutdown took longer than %lds: exiting now", secs);
	_exit(1);
}

static void sleep_seconds(long s)
{
	struct timespec ts = {s, 0};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Keeps the mask so signals reach only sigwait. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * glibc gives each thread that allocates its own malloc arena, up to 8 per
 * core, and an arena keeps what its threads freed: with 256 worker threads
 * the process held about 50 MiB where 2 arenas hold under 32 MiB, at the
 * same throughput on 2 cores (a worker spends its time in the kernel, not
 * in malloc). MALLOC_ARENA_MAX or GLIBC_TUNABLES in the environment win.
 */
static void limit_malloc_arenas(void)
{
	const char *tunables = getenv("GLIBC_TUNABLES");
	if (!getenv("MALLOC_ARENA_MAX") &&
	    !(tunables && strstr(tunables, "arena_max")))
		mallopt(M_ARENA_MAX, 2);
}

int main(int argc, char **argv)
{
	double t0 = gb_now_monotonic();
	int pr = probe_mode(argc, argv);
	if (pr >= 0)
		return pr;
	int tr = gb_transfer_main(argc, argv);
	if (tr >= 0)
		return tr;

	limit_malloc_arenas();
	static sigset_t set;
	block_signals(&set);
	mg_init_library(0);

	char err[1024] = "";
	int rc = gb_host_start(argc, argv, err, sizeof err);
	if (rc == 1)
		return 0;
	if (rc != 0) {
		gb_log(GB_LOG_ERROR, "core", "%s", err);
		fprintf(stderr, "guestbookd: %s\n", err);
		gb_host_stop();
		return 2;
	}
	const char *advice = gb_config_secret_flag();
	if (advice)
		gb_log(GB_LOG_WARN, "core",
		       "a secret was passed as a flag, "
		       "visible to every user in ps: %s",
		       advice);
	if (gb_server_start(err, sizeof err) < 0) {
		gb_log(GB_LOG_ERROR, "core", "%s", err);
		fprintf(stderr, "guestbookd: %s\n", err);
		gb_host_stop();
		return 2;
	}
	char listen[300];
	const char *l = gb_config_get("listen");
	const char *colon = strrchr(l, ':');
	snprintf(listen, sizeof listen, "%.*s:%d", colon ? (int)(colon - l) : 0,
		 l, gb_server_port());
	/* The address actually bound (port 0 picks one) is also a field. */
	const char *const fields[] = {"listen",	 listen,
				      "role",	 gb_config_get("role"),
				      "storage", gb_config_get("storage"),
				      NULL};
	gb_log_fields(GB_LOG_INFO, "core", fields,
		      "ready: guestbookd %s role=%s storage=%s plugins=%s "
		      "listen=%s threads=%ld startup_ms=%.1f",
		      GB_VERSION, gb_config_get("role"),
		      gb_config_get("storage"), gb_config_get("plugins"),
		      listen, gb_config_int("threads"),
		      (gb_now_monotonic() - t0) * 1000.0);

	int sig;
	sigwait(&set, &sig);
	pthread_t t;
	pthread_create(&t, NULL, second_signal, &set);
	static long timeout;
	timeout = gb_config_int("shutdown_timeout");
	pthread_create(&t, NULL, shutdown_watchdog, &timeout);

	long drain = gb_config_int("drain_seconds");
	gb_server_begin_shutdown();
	gb_log(GB_LOG_INFO, "core",
	       "signal %d: shutting down (draining %lds, at most %lds)", sig,
	       drain, timeout);
	if (drain > 0)
		sleep_seconds(drain < timeout ? drain : timeout);
	gb_server_stop();
	gb_log_flush();
	gb_host_stop();
	gb_log(GB_LOG_INFO, "core", "stopped cleanly");
	mg_exit_library();
	return 0;
}
