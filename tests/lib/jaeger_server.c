/*
 * jaeger_server.c - Jaeger for the tracing tests (see jaeger_server.h).
 */
#include "jaeger_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs jaeger.sh start DIR; parses "OTLP QUERY PID". */
static int run_start(struct gbt_jaeger *j, char *why, size_t whylen)
{
	char cmd[1200], errpath[300], line[128], tail[1024] = "";
	FILE *p;
	int otlp = 0, query = 0, pid = 0, rc;

	snprintf(errpath, sizeof(errpath), "%s/start.err", j->dir);
	/* the collector goes when this process does, even on a crash */
	snprintf(cmd, sizeof(cmd),
		 "JAEGER_WATCH_PID=%d bash '%s' start '%s' 2>'%s'",
		 (int)getpid(), gbt_src_path("tests/lib/jaeger.sh"), j->dir,
		 errpath);
	p = popen(cmd, "r");
	if (!p) {
		snprintf(why, whylen, "cannot run %s: %s", cmd,
			 strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), p))
		sscanf(line, "%d %d %d", &otlp, &query, &pid);
	rc = pclose(p);
	if (rc != 0 || otlp <= 0 || query <= 0 || pid <= 0) {
		FILE *f = fopen(errpath, "r");

		if (f) {
			size_t n = fread(tail, 1, sizeof(tail) - 1, f);

			tail[n] = '\0';
			fclose(f);
		}
		snprintf(why, whylen,
			 "Jaeger could not be built or started "
			 "(tests/lib/jaeger.sh start): %s",
			 tail[0] ? tail : "no output");
		return -1;
	}
	j->otlp_port = otlp;
	j->query_port = query;
	j->pid = pid;
	return 0;
}

void gbt_jaeger_build(void)
{
	char cmd[800], path[1024] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "bash '%s' build",
		 gbt_src_path("tests/lib/jaeger.sh"));
	p = popen(cmd, "r");
	if (p && fgets(path, sizeof(path), p))
		path[strcspn(path, "\n")] = '\0';
	if (!p || pclose(p) != 0 || !path[0]) {
		setenv("GBT_JAEGER_ERROR",
		       "tests/lib/jaeger.sh build failed (its messages are "
		       "above; Go and the Go module proxy are needed)",
		       1);
		return;
	}
	setenv("JAEGER_BIN", path, 1);
}

int gbt_jaeger_start(struct gbt_jaeger *j, char *why, size_t whylen)
{
	const char *tmp = getenv("TMPDIR");
	const char *build_error = getenv("GBT_JAEGER_ERROR");

	if (build_error) {
		snprintf(why, whylen, "%s", build_error);
		return -1;
	}
	memset(j, 0, sizeof(*j));
	snprintf(j->dir, sizeof(j->dir), "%s/gbjaeger-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(j->dir)) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	return run_start(j, why, whylen);
}

void gbt_jaeger_stop(struct gbt_jaeger *j)
{
	char cmd[800];

	if (j->pid <= 0)
		return;
	snprintf(cmd, sizeof(cmd), "bash '%s' stop '%s'",
		 gbt_src_path("tests/lib/jaeger.sh"), j->dir);
	if (system(cmd) != 0)
		kill(j->pid, SIGKILL);
	j->pid = 0;
}

int gbt_jaeger_restart(struct gbt_jaeger *j, char *why, size_t whylen)
{
	gbt_jaeger_stop(j);
	return run_start(j, why, whylen);
}

const char *gbt_jaeger_endpoint_env(const struct gbt_jaeger *j)
{
	static _Thread_local char buf[96];

	snprintf(buf, sizeof(buf),
		 "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d",
		 j->otlp_port);
	return buf;
}

/*
 * Joins a chunked body in place (Jaeger's Go server chunks the bigger
 * answers; the harness returns the body as sent). 0, or -1 if malformed.
 */
static int dechunk(char *body)
{
	char *in = body, *out = body;

	for (;;) {
		char *end;
		unsigned long n = strtoul(in, &end, 16);

		if (end == in)
			return -1;
		in = strstr(end, "\r\n");
		if (!in)
			return -1;
		in += 2;
		if (n == 0)
			break;
		if (strlen(in) < n + 2)
			return -1;
		memmove(out, in, n);
		out += n;
		in += n + 2;
	}
	*out = '\0';
	return 0;
}

static cJSON *query(const struct gbt_jaeger *j, const char *path)
{
	struct gbt_response r;
	cJSON *doc = NULL;

	if (gbt_http(j->query_port, "GET", path, NULL, NULL, 0, &r) != 0)
		return NULL;
	const char *te = gbt_header(&r, "Transfer-Encoding");

	if (r.status == 200 &&
	    (!te || strcasecmp(te, "chunked") != 0 || dechunk(r.body) == 0))
		doc = cJSON_Parse(r.body);
	gbt_response_free(&r);
	return doc;
}

cJSON *gbt_jaeger_trace(const struct gbt_jaeger *j, const char *trace_id,
			int min_spans, double timeout_s)
{
	char path[128];
	double end = mono() + timeout_s;

	snprintf(path, sizeof(path), "/api/traces/%s", trace_id);
	do {
		cJSON *doc = query(j, path);
		cJSON *data = cJSON_GetObjectItem(doc, "data");
		cJSON *t = cJSON_GetArrayItem(data, 0);
		cJSON *spans = cJSON_GetObjectItem(t, "spans");

		if (cJSON_GetArraySize(spans) >= min_spans) {
			cJSON *out = cJSON_DetachItemFromArray(data, 0);

			cJSON_Delete(doc);
			return out;
		}
		cJSON_Delete(doc);
		usleep(100000);
	} while (mono() < end);
	return NULL;
}

int gbt_jaeger_has_service(const struct gbt_jaeger *j, const char *service)
{
	cJSON *doc = query(j, "/api/services"), *s;
	int found = 0;

	cJSON_ArrayForEach(
	    s, cJSON_GetObjectItem(doc, "data")) if (cJSON_IsString(s) &&
						     strcmp(s->valuestring,
							    service) == 0)
	    found = 1;
	cJSON_Delete(doc);
	return found;
}

static const char *service_of(const cJSON *trace, const cJSON *span)
{
	const cJSON *pid = cJSON_GetObjectItem(span, "processID");
	const cJSON *procs = cJSON_GetObjectItem(trace, "processes");
	const cJSON *p = cJSON_IsString(pid)
			     ? cJSON_GetObjectItem(procs, pid->valuestring)
			     : NULL;
	const cJSON *name = cJSON_GetObjectItem(p, "serviceName");

	return cJSON_IsString(name) ? name->valuestring : "";
}

const cJSON *gbt_jaeger_span(const cJSON *trace, const char *operation,
			     const char *service)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItem(trace, "spans"))
	{
		const cJSON *op = cJSON_GetObjectItem(s, "operationName");

		if (cJSON_IsString(op) &&
		    strcmp(op->valuestring, operation) == 0 &&
		    strcmp(service_of(trace, s), service) == 0)
			return s;
	}
	return NULL;
}

const char *gbt_jaeger_tag(const cJSON *span, const char *key)
{
	static _Thread_local char buf[1024];
	const cJSON *t;

	buf[0] = '\0';
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(span, "tags"))
	{
		const cJSON *k = cJSON_GetObjectItem(t, "key");
		const cJSON *v = cJSON_GetObjectItem(t, "value");

		if (!cJSON_IsString(k) || strcmp(k->valuestring, key) != 0)
			continue;
		if (cJSON_IsString(v))
			snprintf(buf, sizeof(buf), "%s", v->valuestring);
		else if (cJSON_IsNumber(v))
			snprintf(buf, sizeof(buf), "%.0f", v->valuedouble);
		else if (cJSON_IsBool(v))
			snprintf(buf, sizeof(buf), "%s",
				 cJSON_IsTrue(v) ? "true" : "false");
	}
	return buf;
}

const char *gbt_jaeger_parent(const cJSON *span)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItem(span, "references"))
	{
		const cJSON *type = cJSON_GetObjectItem(r, "refType");
		const cJSON *id = cJSON_GetObjectItem(r, "spanID");

		if (cJSON_IsString(type) &&
		    strcmp(type->valuestring, "CHILD_OF") == 0 &&
		    cJSON_IsString(id))
			return id->valuestring;
	}
	return "";
}
