#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

const char *gbt_build_path(const char *rel)
{
	static _Thread_local char buf[1024];
	snprintf(buf, sizeof buf, "%s/%s", env_or("GB_BUILD_DIR", "build"),
		 rel);
	return buf;
}

const char *gbt_src_path(const char *rel)
{
	static _Thread_local char buf[1024];
	snprintf(buf, sizeof buf, "%s/%s", env_or("GB_SRC_DIR", "."), rel);
	return buf;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- temporary directories, removed at exit ---------------------------- */

/*
 * Every directory gbt_server_start and gbt_run create, with the process
 * that uses it. At exit the directories of this process whose server is
 * no longer running are removed (see harness.h).
 */
struct test_dir {
	char path[256];
	pid_t owner;  /* the test process that created it */
	pid_t server; /* the guestbookd using it; 0 once it is known gone */
};

static pthread_mutex_t dirs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct test_dir *dirs;
static size_t dirs_n, dirs_cap;

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Whether child `pid` of this process still runs (reaps it if not). */
static int child_running(pid_t pid)
{
	int st;

	return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

static void remove_dirs_at_exit(void)
{
	const char *keep = getenv("GB_KEEP_TEST_DIRS");

	if (keep && strcmp(keep, "1") == 0)
		return;
	pthread_mutex_lock(&dirs_lock);
	for (size_t i = 0; i < dirs_n; i++) {
		struct test_dir *d = &dirs[i];

		/* A forked child inherits the list: not its directories. */
		if (d->owner != getpid() || child_running(d->server))
			continue;
		nftw(d->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	dirs_n = 0;
	pthread_mutex_unlock(&dirs_lock);
}

/* Remembers a directory just created; failures only leave it behind. */
static void dir_remember(const char *path)
{
	static int registered;

	pthread_mutex_lock(&dirs_lock);
	if (!registered)
		registered = atexit(remove_dirs_at_exit) == 0;
	if (dirs_n == dirs_cap) {
		size_t cap = dirs_cap ? dirs_cap * 2 : 16;
		struct test_dir *bigger = realloc(dirs, cap * sizeof(*dirs));

		if (!bigger) {
			pthread_mutex_unlock(&dirs_lock);
			return;
		}
		dirs = bigger;
		dirs_cap = cap;
	}
	dirs[dirs_n] = (struct test_dir){.owner = getpid()};
	snprintf(dirs[dirs_n].path, sizeof(dirs[dirs_n].path), "%s", path);
	dirs_n++;
	pthread_mutex_unlock(&dirs_lock);
}

/* Records which server uses `path` (0: none any more). */
static void dir_set_server(const char *path, pid_t server)
{
	pthread_mutex_lock(&dirs_lock);
	for (size_t i = 0; i < dirs_n; i++)
		if (dirs[i].owner == getpid() &&
		    strcmp(dirs[i].path, path) == 0)
			dirs[i].server = server;
	pthread_mutex_unlock(&dirs_lock);
}

char *gbt_server_log(const struct gbt_server *s)
{
	FILE *f = fopen(s->log_path, "r");
	if (!f)
		return strdup("");
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

char *gbt_server_log_wait(const struct gbt_server *s, const char *needle)
{
	double deadline = now() + 2.0;
	for (;;) {
		char *log = gbt_server_log(s);
		if (!log || strstr(log, needle) || now() > deadline)
			return log;
		free(log);
		usleep(10000);
	}
}

/* Builds argv: binary, default args, then extra args. */
static char **build_argv(const struct gbt_server *s, const char *const *args,
			 int defaults)
{
	char db[512], plugins[1024], www[1024];
	snprintf(db, sizeof db, "%s/guestbook.db", s->dir);
	snprintf(plugins, sizeof plugins, "%s", gbt_build_path("plugins"));
	snprintf(www, sizeof www, "%s", gbt_src_path("www"));
	const char *base[] = {
	    "--listen",	       "127.0.0.1:0", "--plugin-dir",  plugins,
	    "--www-dir",       www,	      "--sqlite-path", db,
	    "--drain-seconds", "0",	      "--log-format",  "json",
	};
	size_t nbase = defaults ? sizeof base / sizeof base[0] : 0, nargs = 0;
	while (args && args[nargs])
		nargs++;
	char **argv = calloc(nbase + nargs + 2, sizeof *argv);
	size_t k = 0;
	argv[k++] = strdup(gbt_build_path("guestbookd"));
	for (size_t i = 0; i < nbase; i++)
		argv[k++] = strdup(base[i]);
	for (size_t i = 0; i < nargs; i++)
		argv[k++] = strdup(args[i]);
	argv[k] = NULL;
	return argv;
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static pid_t spawn(char **argv, const char *const *env, const char *log_path)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* Die with the test: a test killed on timeout leaves no server. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	for (size_t i = 0; env && env[i]; i++)
		putenv(strdup(env[i]));
	execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int make_dir(struct gbt_server *s)
{
	snprintf(s->dir, sizeof s->dir, "%s/gbtest-XXXXXX",
		 env_or("TMPDIR", "/tmp"));
	if (!mkdtemp(s->dir))
		return -1;
	dir_remember(s->dir);
	snprintf(s->log_path, sizeof s->log_path, "%s/server.log", s->dir);
	return 0;
}

int gbt_server_start(struct gbt_server *s, const char *const *args,
		     const char *const *env)
{
	memset(s, 0, sizeof *s);
	if (make_dir(s) < 0)
		return -1;
	char **argv = build_argv(s, args, 1);
	s->pid = spawn(argv, env, s->log_path);
	free_argv(argv);
	if (s->pid < 0) {
		s->pid = 0;
		return -1;
	}
	dir_set_server(s->dir, s->pid);
	double deadline = now() + 10.0;
	while (now() < deadline) {
		char *log = gbt_server_log(s);
		const char *r = log ? strstr(log, "\"msg\":\"ready: ") : NULL;
		const char *l = r ? strstr(r, " listen=") : NULL;
		if (l) {
			const char *colon = strchr(l + 8, ':');
			s->port = colon ? atoi(colon + 1) : 0;
			free(log);
			if (s->port > 0)
				return 0;
		}
		free(log);
		int st;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			char *out = gbt_server_log(s);
			fprintf(stderr,
				"guestbookd exited during start-up:\n%s\n",
				out ? out : "");
			free(out);
			dir_set_server(s->dir, 0);
			s->pid = 0;
			return -1;
		}
		usleep(5000);
	}
	char *out = gbt_server_log(s);
	fprintf(stderr, "guestbookd never got ready:\n%s\n", out ? out : "");
	free(out);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	dir_set_server(s->dir, 0);
	s->pid = 0;
	return -1;
}

static int wait_exit(pid_t pid, double seconds)
{
	double deadline = now() + seconds;
	int st;
	while (now() < deadline) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r < 0)
			return -1;
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int gbt_run(const char *const *args, const char *const *env, char **out)
{
	struct gbt_server s;
	memset(&s, 0, sizeof s);
	if (make_dir(&s) < 0)
		return -1;
	char **argv = build_argv(&s, args, 0);
	pid_t pid = spawn(argv, env, s.log_path);
	free_argv(argv);
	if (pid < 0)
		return -1;
	int rc = wait_exit(pid, 10.0);
	if (out)
		*out = gbt_server_log(&s);
	return rc;
}

int gbt_run_command(const char *const *args, const char *const *env,
		    const int fds[3], double timeout_s, char **err_out,
		    long *maxrss_kb)
{
	struct gbt_server s;
	memset(&s, 0, sizeof s);
	if (make_dir(&s) < 0)
		return -1;
	char **argv = build_argv(&s, args, 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int null = open("/dev/null", O_RDWR);
		int err =
		    fds[2] >= 0
			? fds[2]
			: open(s.log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fds[0] >= 0 ? fds[0] : null, 0);
		dup2(fds[1] >= 0 ? fds[1] : null, 1);
		if (err >= 0)
			dup2(err, 2);
		for (size_t i = 0; env && env[i]; i++)
			putenv(strdup(env[i]));
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free_argv(argv);
	if (pid < 0)
		return -1;
	double deadline = now() + timeout_s;
	struct rusage ru;
	int st, rc = -1;
	for (;;) {
		pid_t r = wait4(pid, &st, WNOHANG, &ru);
		if (r == pid) {
			rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			break;
		}
		if (r < 0)
			break;
		if (now() > deadline) {
			kill(pid, SIGKILL);
			wait4(pid, &st, 0, &ru);
			fprintf(stderr, "guestbookd %s: killed after %.0f s\n",
				args && args[0] ? args[0] : "", timeout_s);
			break;
		}
		usleep(2000);
	}
	if (maxrss_kb)
		*maxrss_kb = ru.ru_maxrss;
	if (err_out)
		*err_out = gbt_server_log(&s);
	return rc;
}

int gbt_server_stop(struct gbt_server *s, int sig)
{
	if (s->pid <= 0)
		return -1;
	kill(s->pid, sig);
	int rc = wait_exit(s->pid, 30.0);
	dir_set_server(s->dir, 0);
	s->pid = 0;
	return rc;
}

static int connect_local(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* True once the head and Content-Length bytes of body have arrived (a
 * HEAD answer ends when the server closes instead). */
static int response_complete(char *resp, size_t len)
{
	resp[len] = '\0';
	char *sep = strstr(resp, "\r\n\r\n");
	if (!sep)
		return 0;
	*sep = '\0';
	const char *cl = strcasestr(resp, "\r\nContent-Length:");
	long want = cl ? atol(cl + 17) : -1;
	*sep = '\r';
	return want >= 0 && (size_t)(sep + 4 - resp) + (size_t)want <= len;
}

int gbt_http(int port, const char *method, const char *path,
	     const char *const *headers, const char *body, size_t body_len,
	     struct gbt_response *out)
{
	memset(out, 0, sizeof *out);
	int fd = connect_local(port);
	if (fd < 0)
		return -2;
	size_t cap = 4096 + body_len, len = 0;
	char *req = malloc(cap);
	len += (size_t)snprintf(req, cap,
				"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				"Connection: close\r\n",
				method, path);
	for (size_t i = 0; headers && headers[i]; i++) {
		size_t hl = strlen(headers[i]);
		if (len + hl + 64 > cap)
			break;
		memcpy(req + len, headers[i], hl);
		len += hl;
		memcpy(req + len, "\r\n", 2);
		len += 2;
	}
	if (body)
		len += (size_t)snprintf(req + len, cap - len,
					"Content-Length: %zu\r\n", body_len);
	memcpy(req + len, "\r\n", 2);
	len += 2;
	if (body && body_len) {
		memcpy(req + len, body, body_len);
		len += body_len;
	}
	/* A server may answer (413) and close before reading everything. */
	send_all(fd, req, len);
	free(req);

	size_t rcap = 16384, rlen = 0;
	char *resp = malloc(rcap + 1);
	double deadline = now() + 10.0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ms = (int)((deadline - now()) * 1000);
		if (ms <= 0 || poll(&p, 1, ms) <= 0) {
			free(resp);
			close(fd);
			return -1;
		}
		if (rlen == rcap) {
			char *nr = realloc(resp, (rcap *= 2) + 1);
			if (!nr) {
				free(resp);
				close(fd);
				return -1;
			}
			resp = nr;
		}
		ssize_t n = recv(fd, resp + rlen, rcap - rlen, 0);
		if (n < 0 && rlen == 0) {
			free(resp);
			close(fd);
			return -1;
		}
		if (n <= 0)
			break;
		rlen += (size_t)n;
		if (response_complete(resp, rlen))
			break;
	}
	close(fd);
	resp[rlen] = '\0';
	char *sep = strstr(resp, "\r\n\r\n");
	if (!sep || sscanf(resp, "HTTP/1.%*d %d", &out->status) != 1) {
		free(resp);
		return -1;
	}
	size_t hlen = (size_t)(sep - resp) + 2;
	out->head = malloc(hlen + 1);
	memcpy(out->head, resp, hlen);
	out->head[hlen] = '\0';
	out->body_len = rlen - hlen - 2;
	out->body = malloc(out->body_len + 1);
	memcpy(out->body, sep + 4, out->body_len);
	out->body[out->body_len] = '\0';
	free(resp);
	return 0;
}

const char *gbt_header(const struct gbt_response *r, const char *name)
{
	static _Thread_local char value[2048];
	size_t n = strlen(name);
	for (const char *line = r->head ? strstr(r->head, "\r\n") : NULL;
	     line && line[2]; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (strncasecmp(h, name, n) != 0 || h[n] != ':')
			continue;
		h += n + 1;
		while (*h == ' ')
			h++;
		size_t vl = strcspn(h, "\r\n");
		if (vl >= sizeof value)
			vl = sizeof value - 1;
		memcpy(value, h, vl);
		value[vl] = '\0';
		return value;
	}
	return NULL;
}

void gbt_response_free(struct gbt_response *r)
{
	free(r->head);
	free(r->body);
	r->head = r->body = NULL;
}
