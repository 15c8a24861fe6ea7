/*
 * process.c - the process collector, from /proc/self (Linux).
 */
#include "process.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double clock_ticks = 100;
static double page_size = 4096;
static double boot_time = -1; /* seconds since the epoch; -1: unknown */

void process_stats_init(void)
{
	long ticks = sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/stat", "re");
	char line[256];

	if (ticks > 0)
		clock_ticks = (double)ticks;
	if (page > 0)
		page_size = (double)page;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long btime;

		if (sscanf(line, "btime %llu", &btime) == 1) {
			boot_time = (double)btime;
			break;
		}
	}
	fclose(f);
}

/*
 * Fields of /proc/self/stat after the command name, which is in parentheses
 * and may itself hold spaces and parentheses: parse from the last ')'.
 * Field 3 (state) is the first after it.
 */
static void read_stat(struct process_stats *out)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';

	char *p = strrchr(buf, ')');
	unsigned long long utime, stime, start, vsize;
	long long threads, rss;

	if (!p)
		return;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice num_threads
	 * itrealvalue starttime vsize rss */
	if (sscanf(p + 1,
		   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
		   "%*d %*d %*d %*d %lld %*d %llu %llu %lld",
		   &utime, &stime, &threads, &start, &vsize, &rss) != 6)
		return;
	out->has_stat = true;
	out->cpu_seconds = (double)(utime + stime) / clock_ticks;
	out->threads = (double)threads;
	out->virtual_bytes = (double)vsize;
	out->resident_bytes = (double)rss * page_size;
	if (boot_time >= 0) {
		out->has_start_time = true;
		out->start_time = boot_time + (double)start / clock_ticks;
	}
}

static void read_fds(struct process_stats *out)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long count = 0;

	if (!d)
		return;
	while ((e = readdir(d)))
		count += e->d_name[0] != '.';
	closedir(d);
	out->has_open_fds = true;
	out->open_fds = (double)(count - 1); /* not the directory's own fd */
}

void process_stats_read(struct process_stats *out)
{
	struct rlimit lim;

	memset(out, 0, sizeof(*out));
	read_stat(out);
	read_fds(out);
	if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
		out->has_max_fds = true;
		out->max_fds = lim.rlim_cur == RLIM_INFINITY
				   ? 1.8446744073709552e19
				   : (double)lim.rlim_cur;
	}
}
