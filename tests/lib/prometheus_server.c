/*
 * prometheus_server.c - Prometheus for the tests (see prometheus_server.h).
 */
#include "prometheus_server.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int gbt_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

void gbt_prometheus_print_log(const struct gbt_prometheus *p)
{
	char line[512];
	FILE *f = fopen(p->log_path, "r");

	if (!f)
		return;
	fprintf(stderr, "---- prometheus log ----\n");
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

void gbt_prometheus_start(struct gbt_prometheus *p, const char *dir, int target,
			  const char *feature)
{
	char config[300], flag_config[340], flag_storage[340], flag_listen[100],
	    flag_feature[160];
	FILE *f;

	cr_assert_eq(system("command -v prometheus >/dev/null 2>&1"), 0,
		     "prometheus is missing: run scripts/install-deps.sh "
		     "test (Debian package prometheus)");
	snprintf(config, sizeof(config), "%s/prometheus.yml", dir);
	snprintf(p->log_path, sizeof(p->log_path), "%s/prometheus.log", dir);
	f = fopen(config, "w");
	cr_assert_not_null(f);
	fprintf(f,
		"global:\n"
		"  scrape_interval: 1s\n"
		"  scrape_timeout: 1s\n"
		"  evaluation_interval: 1s\n"
		"scrape_configs:\n"
		"  - job_name: guestbookd\n"
		"    static_configs:\n"
		"      - targets: ['127.0.0.1:%d']\n",
		target);
	fclose(f);
	p->port = gbt_free_port();
	snprintf(flag_config, sizeof(flag_config), "--config.file=%s", config);
	snprintf(flag_storage, sizeof(flag_storage),
		 "--storage.tsdb.path=%s/tsdb", dir);
	snprintf(flag_listen, sizeof(flag_listen),
		 "--web.listen-address=127.0.0.1:%d", p->port);
	snprintf(flag_feature, sizeof(flag_feature), "--enable-feature=%s",
		 feature ? feature : "");
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		/* Never outlive the test, even when it is killed. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (!freopen(p->log_path, "w", stdout) ||
		    !freopen(p->log_path, "a", stderr))
			_exit(126);
		execlp("prometheus", "prometheus", flag_config, flag_storage,
		       flag_listen, "--log.level=warn",
		       feature ? flag_feature : (char *)NULL, (char *)NULL);
		_exit(127);
	}
}

void gbt_prometheus_stop(struct gbt_prometheus *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGTERM);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}
