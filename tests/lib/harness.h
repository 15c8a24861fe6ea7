/*
 * harness.h - helpers for integration tests: start the real guestbookd
 * (from $GB_BUILD_DIR) on 127.0.0.1:0 with a temporary data directory, and
 * talk HTTP/1.1 to it.
 *
 * Temporary directories: gbt_server_start and gbt_run each create one
 * ($TMPDIR or /tmp)/gbtest-XXXXXX. The harness remembers them and removes
 * them recursively when the test process exits (atexit), but only those
 * whose server no longer runs (stopped with gbt_server_stop, exited, or
 * reaped by the test); a server still running at exit (usually a test
 * that failed before stopping it) keeps its directory, log included. Nothing is
 * removed on gbt_server_stop itself: a test may start a new server on the
 * stopped one's database or read its log. Set GB_KEEP_TEST_DIRS=1 to keep every
 * directory for inspection.
 *
 * Every process the harness spawns gets SIGKILL when the thread that
 * started it exits (PR_SET_PDEATHSIG), so a test killed on timeout leaves
 * no server behind. Start servers from the test's main thread (or a
 * thread that outlives them).
 */
#ifndef GB_TEST_HARNESS_H
#define GB_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

struct gbt_server {
	pid_t pid;
	int port;
	char dir[256];	    /* temporary directory: data, logs */
	char log_path[300]; /* the server's stdout+stderr */
};

/*
 * Starts guestbookd with `--listen 127.0.0.1:0 --plugin-dir
 * $GB_BUILD_DIR/plugins
 * --www-dir $GB_SRC_DIR/www --sqlite-path DIR/guestbook.db --drain-seconds 0`,
 * then `args` (NULL-terminated, may be NULL); `env` is a NULL-terminated
 * list of "KEY=VALUE" added to the environment (may be NULL). Waits up to
 * 10 s for the "ready" log line and reads the port from it. Returns 0, or
 * -1 if the process exited or never got ready (its log is printed).
 */
int gbt_server_start(struct gbt_server *s, const char *const *args,
		     const char *const *env);

/*
 * Like gbt_server_start with no readiness wait: runs guestbookd with
 * exactly `args` and `env`, waits for it to exit (at most 10 s) and returns
 * its exit status (or -1); its combined output goes into `out` (malloc'd,
 * caller frees; may be NULL).
 */
int gbt_run(const char *const *args, const char *const *env, char **out);

/*
 * Runs a guestbookd command (export, import, backup) with exactly `args`
 * and `env` (NULL-terminated, may be NULL), stdin from `fds[0]`, stdout
 * into `fds[1]` (-1: /dev/null for either) and stderr into `fds[2]`, or
 * when that is -1 into *err_out (malloc'd, caller frees; may be NULL).
 * Waits at most `timeout_s` seconds (then SIGKILL) and returns the exit
 * status, or -1 (timeout or a signal). *maxrss_kb (may be NULL) receives
 * the command's peak resident memory in KiB, from wait4.
 */
int gbt_run_command(const char *const *args, const char *const *env,
		    const int fds[3], double timeout_s, char **err_out,
		    long *maxrss_kb);

/* Sends `sig`, waits up to 30 s (then SIGKILL), returns the exit status
 * (-1 on timeout or signal death). Removes nothing: the directory stays
 * until the test process exits (see above). */
int gbt_server_stop(struct gbt_server *s, int sig);

/* The server's log so far (malloc'd, caller frees). */
char *gbt_server_log(const struct gbt_server *s);

/*
 * The server's log once it contains `needle`, waiting up to 2 s (access
 * lines are buffered for up to 200 ms); the log as it is after the wait
 * otherwise. Caller frees.
 */
char *gbt_server_log_wait(const struct gbt_server *s, const char *needle);

struct gbt_response {
	int status;
	char *head; /* status line and headers, NUL-terminated */
	char *body; /* NUL-terminated */
	size_t body_len;
};

/*
 * One request on a new connection (Connection: close). `headers` is a
 * NULL-terminated list of "Name: value" lines (may be NULL). A body adds
 * Content-Length. Returns 0; -2 when the connection is refused; -1 when
 * the exchange fails after connecting or times out (10 s).
 */
int gbt_http(int port, const char *method, const char *path,
	     const char *const *headers, const char *body, size_t body_len,
	     struct gbt_response *out);

/* Value of response header `name` (case-insensitive) copied into a static
 * thread-local buffer, or NULL. */
const char *gbt_header(const struct gbt_response *r, const char *name);

void gbt_response_free(struct gbt_response *r);

/* Path of a file under $GB_BUILD_DIR / $GB_SRC_DIR (static buffer). */
const char *gbt_build_path(const char *rel);
const char *gbt_src_path(const char *rel);

#endif
