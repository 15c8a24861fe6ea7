/*
 * mongo_server.c - FerretDB (or mongod) processes for the mongo tests.
 */
#include "mongo_server.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void read_file_tail(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	char buf[8192];
	size_t n;

	if (!len)
		return;
	out[0] = '\0';
	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);

		if (size > (long)sizeof(buf) - 1)
			fseek(f, size - (long)sizeof(buf) + 1, SEEK_SET);
		else
			fseek(f, 0, SEEK_SET);
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* the last `len` bytes, where the reason is */
	snprintf(out, len, "%s", n >= len ? buf + n - len + 1 : buf);
}

static int make_tmpdir(struct gbt_mongo_server *s, const char *prefix)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(s->dir, sizeof(s->dir), "%s/%s-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", prefix);
	return mkdtemp(s->dir) ? 0 : -1;
}

/* Runs ferretdb.sh start DIR [PORT]; parses "PORT PID". */
static int run_start_script(struct gbt_mongo_server *s, int port, char *why,
			    size_t whylen)
{
	char cmd[2048], errpath[300], line[128];
	FILE *p;
	int got_port = 0, got_pid = 0, rc;

	snprintf(errpath, sizeof(errpath), "%s/start.err", s->dir);
	/* the server goes when this process does, even if a test crashes */
	if (port > 0)
		snprintf(cmd, sizeof(cmd),
			 "FERRETDB_WATCH_PID=%d bash '%s' start '%s' %d 2>'%s'",
			 (int)getpid(), gbt_src_path("tests/lib/ferretdb.sh"),
			 s->dir, port, errpath);
	else
		snprintf(cmd, sizeof(cmd),
			 "FERRETDB_WATCH_PID=%d bash '%s' start '%s' 2>'%s'",
			 (int)getpid(), gbt_src_path("tests/lib/ferretdb.sh"),
			 s->dir, errpath);
	p = popen(cmd, "r");
	if (!p) {
		snprintf(why, whylen, "cannot run %s: %s", cmd,
			 strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), p))
		sscanf(line, "%d %d", &got_port, &got_pid);
	rc = pclose(p);
	if (rc != 0 || got_port <= 0 || got_pid <= 0) {
		char tail[1024];

		read_file_tail(errpath, tail, sizeof(tail));
		snprintf(why, whylen,
			 "FerretDB could not be built or started "
			 "(tests/lib/ferretdb.sh start): %s",
			 tail[0] ? tail : "no output");
		return -1;
	}
	s->port = got_port;
	s->pid = got_pid;
	return 0;
}

int gbt_ferretdb_start(struct gbt_mongo_server *s, char *why, size_t whylen)
{
	memset(s, 0, sizeof(*s));
	if (make_tmpdir(s, "gbferretdb") < 0) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	return run_start_script(s, 0, why, whylen);
}

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int port_open(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int spawn_mongod(struct gbt_mongo_server *s, char *why, size_t whylen)
{
	char dbpath[300], logpath[300], portstr[16];
	pid_t pid;

	snprintf(dbpath, sizeof(dbpath), "%s/db", s->dir);
	snprintf(logpath, sizeof(logpath), "%s/mongod.log", s->dir);
	snprintf(portstr, sizeof(portstr), "%d", s->port);
	mkdir(dbpath, 0700);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execlp("mongod", "mongod", "--bind_ip", "127.0.0.1", "--port",
		       portstr, "--dbpath", dbpath, (char *)NULL);
		_exit(127);
	}
	for (double end = mono_now() + 30; mono_now() < end;) {
		if (port_open(s->port)) {
			s->pid = pid;
			return 0;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	read_file_tail(logpath, why, whylen);
	return -1;
}

int gbt_mongod_start(struct gbt_mongo_server *s, char *why, size_t whylen)
{
	if (system("command -v mongod >/dev/null 2>&1") != 0)
		return 1;
	memset(s, 0, sizeof(*s));
	s->is_mongod = 1;
	if (make_tmpdir(s, "gbmongod") < 0) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	s->port = free_port();
	return spawn_mongod(s, why, whylen);
}

void gbt_mongo_server_stop(struct gbt_mongo_server *s)
{
	char pidfile[300];

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	for (double end = mono_now() + 10; mono_now() < end;) {
		/* our child (mongod) or the script's (FerretDB) */
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid ||
		    kill(s->pid, 0) != 0)
			break;
		usleep(20000);
	}
	if (kill(s->pid, 0) == 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, WNOHANG);
		usleep(50000);
	}
	s->pid = 0;
	snprintf(pidfile, sizeof(pidfile), "%s/ferretdb.pid", s->dir);
	unlink(pidfile);
}

int gbt_mongo_server_restart(struct gbt_mongo_server *s, char *why,
			     size_t whylen)
{
	gbt_mongo_server_stop(s);
	if (s->is_mongod)
		return spawn_mongod(s, why, whylen);
	return run_start_script(s, s->port, why, whylen);
}

void gbt_mongo_server_remove(struct gbt_mongo_server *s)
{
	char cmd[400];

	gbt_mongo_server_stop(s);
	if (!s->dir[0] || strncmp(s->dir, "/", 1))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", s->dir);
	s->dir[0] = '\0';
}

const char *gbt_mongo_uri(const struct gbt_mongo_server *s, const char *db)
{
	static _Thread_local char buf[300];

	snprintf(buf, sizeof(buf), "mongodb://127.0.0.1:%d/%s", s->port,
		 db ? db : "");
	return buf;
}

/* --- the shared server of one test binary ------------------------------- */

static struct gbt_mongo_server shared;

int gbt_mongo_server_start(struct gbt_mongo_server *s, char *why, size_t whylen)
{
	const char *want_mongod = getenv("GB_TEST_MONGOD");
	int rc;

	if (!want_mongod || strcmp(want_mongod, "1"))
		return gbt_ferretdb_start(s, why, whylen);
	rc = gbt_mongod_start(s, why, whylen);
	if (rc == 1)
		snprintf(why, whylen, "GB_TEST_MONGOD=1 but no mongod on PATH");
	return rc == 0 ? 0 : -1;
}

void gbt_mongo_shared_setup(void)
{
	char why[1024] = "";
	char port[16];

	if (gbt_mongo_server_start(&shared, why, sizeof(why)) != 0) {
		setenv("GBT_MONGO_ERROR", why, 1);
		fprintf(stderr, "mongo tests: %s\n", why);
		return;
	}
	snprintf(port, sizeof(port), "%d", shared.port);
	setenv("GBT_MONGO_PORT", port, 1);
}

void gbt_mongo_shared_teardown(void)
{
	if (shared.dir[0])
		gbt_mongo_server_remove(&shared);
}

int gbt_mongo_shared_port(void)
{
	const char *port = getenv("GBT_MONGO_PORT");
	const char *err = getenv("GBT_MONGO_ERROR");

	if (!port || atoi(port) <= 0)
		cr_assert_fail("no MongoDB server for this test: %s",
			       err ? err
				   : "gbt_mongo_shared_setup() did not run "
				     "(ReportHook(PRE_ALL) missing?)");
	return atoi(port);
}

const char *gbt_mongo_shared_uri(const char *db)
{
	static _Thread_local char buf[300];

	snprintf(buf, sizeof(buf), "mongodb://127.0.0.1:%d/%s",
		 gbt_mongo_shared_port(), db ? db : "");
	return buf;
}
