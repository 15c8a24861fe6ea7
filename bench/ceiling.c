/*
 * ceiling.c - the reference "ceiling" server for the benchmarks: civetweb
 * configured like guestbookd (same worker threads, keep-alive, TCP_NODELAY)
 * answering every request with one fixed JSON body of a given size, status
 * line, headers and body in a single mg_write. Nothing guestbookd does can
 * be faster than this on the same machine, so bench/run.sh prints each
 * figure as a ratio to it.
 *
 *   ceiling PORT THREADS BODY_BYTES
 *
 * Listens on 127.0.0.1:PORT (0 picks a free port), prints
 * "ceiling ready on 127.0.0.1:PORT" once it serves, and stops on SIGINT or
 * SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

static char *response;
static size_t response_len;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int answer(struct mg_connection *conn)
{
	mg_write(conn, response, response_len);
	return 200; /* handled; the status for civetweb's bookkeeping */
}

/* A JSON object of exactly `size` bytes: {"pad":"xxx..."} or {} padded. */
static char *json_body(size_t size)
{
	char *body = malloc(size + 1);

	if (!body)
		return NULL;
	if (size >= 10) {
		memcpy(body, "{\"pad\":\"", 8);
		memset(body + 8, 'x', size - 10);
		memcpy(body + size - 2, "\"}", 2);
	} else {
		memset(body, ' ', size);
		memcpy(body, "{}", size < 2 ? size : 2);
	}
	body[size] = '\0';
	return body;
}

static int build_response(size_t body_size)
{
	char head[160];
	char *body = json_body(body_size);
	int n;

	if (!body)
		return -1;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 200 OK\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: keep-alive\r\n\r\n",
		     body_size);
	response_len = (size_t)n + body_size;
	response = malloc(response_len);
	if (!response) {
		free(body);
		return -1;
	}
	memcpy(response, head, (size_t)n);
	memcpy(response + n, body, body_size);
	free(body);
	return 0;
}

static long parse_arg(const char *s, long min, long max, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "ceiling: %s must be %ld..%ld, got \"%s\"\n",
			what, min, max, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	char listen[32], threads[16];
	struct mg_callbacks callbacks = {0};
	struct mg_server_port port;
	struct mg_context *ctx;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PORT THREADS BODY_BYTES\n", argv[0]);
		return 2;
	}
	long port_arg = parse_arg(argv[1], 0, 65535, "PORT");
	long threads_arg = parse_arg(argv[2], 1, 1024, "THREADS");
	long body = parse_arg(argv[3], 0, 64L << 20, "BODY_BYTES");

	if (build_response((size_t)body)) {
		fprintf(stderr, "ceiling: out of memory\n");
		return 1;
	}
	snprintf(listen, sizeof(listen), "127.0.0.1:%ld", port_arg);
	snprintf(threads, sizeof(threads), "%ld", threads_arg);

	const char *options[] = {
	    "listening_ports",
	    listen,
	    "num_threads",
	    threads,
	    "enable_keep_alive",
	    "yes",
	    "tcp_nodelay",
	    "1",
	    "keep_alive_timeout_ms",
	    "5000",
	    "request_timeout_ms",
	    "10000",
	    NULL,
	};

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	callbacks.begin_request = answer;
	mg_init_library(0);
	ctx = mg_start(&callbacks, NULL, options);
	if (!ctx || mg_get_server_ports(ctx, 1, &port) < 1) {
		fprintf(stderr, "ceiling: cannot listen on %s\n", listen);
		return 1;
	}
	printf("ceiling ready on 127.0.0.1:%d\n", port.port);
	fflush(stdout);
	while (!stopping)
		sleep(1); /* a signal cuts it short */
	mg_stop(ctx);
	mg_exit_library();
	free(response);
	return 0;
}
