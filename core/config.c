#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum setting_type { T_STR, T_INT, T_BOOL, T_ENUM };

struct setting {
	const char *key;
	const char *env;
	enum setting_type type;
	const char *def;
	long min, max;       /* T_INT */
	const char *choices; /* T_ENUM: "a|b|c" */
	const char *help;
};

/* The one table: README and --help are written from it. */
static const struct setting settings[] = {
	{"config", "GUESTBOOK_CONFIG", T_STR, NULL, 0, 0, NULL,
	 "config file of `key = value` lines"},
	{"listen", "GUESTBOOK_LISTEN", T_STR, NULL, 0, 0, NULL,
	 "host:port to listen on (default 0.0.0.0:$PORT)"},
	{"port", "PORT", T_INT, "8080", 0, 65535, NULL,
	 "listen port (legacy)"},
	{"role", "GUESTBOOK_ROLE", T_ENUM, "all", 0, 0, "all|backend|frontend",
	 "default set of plugins and storage"},
	{"plugins", "GUESTBOOK_PLUGINS", T_STR, NULL, 0, 0, NULL,
	 "comma list of plugins to load (overrides the role's set)"},
	{"plugin_dir", "GUESTBOOK_PLUGIN_DIR", T_STR, GB_PLUGIN_DIR, 0, 0, NULL,
	 "directory of the plugin .so files"},
	{"storage", "GUESTBOOK_STORAGE", T_STR, NULL, 0, 0, NULL,
	 "storage back end: sqlite, mongo, http (default by role)"},
	{"sqlite_path", "GUESTBOOK_SQLITE_PATH", T_STR, "./data/guestbook.db",
	 0, 0, NULL, "SQLite database file"},
	{"mongo_uri", "GUESTBOOK_MONGO_URI", T_STR, NULL, 0, 0, NULL,
	 "MongoDB URI (default from db_addr)"},
	{"db_addr", "GUESTBOOK_DB_ADDR", T_STR, NULL, 0, 0, NULL,
	 "legacy: [user:pass@]host:port of MongoDB, db guestbook"},
	{"mongo_write_concern", "GUESTBOOK_MONGO_WRITE_CONCERN", T_STR,
	 "majority", 0, 0, NULL, "write concern w: majority or a number"},
	{"mongo_timeout_ms", "GUESTBOOK_MONGO_TIMEOUT_MS", T_INT, "2000", 100,
	 60000, NULL, "MongoDB server selection and socket timeout"},
	{"api_addr", "GUESTBOOK_API_ADDR", T_STR, NULL, 0, 0, NULL,
	 "legacy: host:port of the backend for role frontend"},
	{"backend_url", "GUESTBOOK_BACKEND_URL", T_STR, NULL, 0, 0, NULL,
	 "backend base URL (overrides api_addr)"},
	{"backend_timeout_ms", "GUESTBOOK_BACKEND_TIMEOUT_MS", T_INT, "3000",
	 100, 60000, NULL, "connect and response timeout towards the backend"},
	{"threads", "GUESTBOOK_THREADS", T_INT, "256", 2, 1024, NULL,
	 "worker threads (one per open connection)"},
	{"keepalive_ms", "GUESTBOOK_KEEPALIVE_MS", T_INT, "1000", 0, 60000,
	 NULL, "idle keep-alive timeout; 0 turns keep-alive off"},
	{"keepalive_requests", "GUESTBOOK_KEEPALIVE_REQUESTS", T_INT, "1000", 0,
	 1000000, NULL, "requests per keep-alive connection, then close; 0 no cap"},
	{"header_timeout_ms", "GUESTBOOK_HEADER_TIMEOUT_MS", T_INT, "3000", 100,
	 60000, NULL, "request line and headers within this, else 408 or close"},
	{"body_timeout_ms", "GUESTBOOK_BODY_TIMEOUT_MS", T_INT, "10000", 100,
	 600000, NULL, "the whole request body within this, else 408"},
	{"body_min_rate", "GUESTBOOK_BODY_MIN_RATE", T_INT, "1024", 0, 1 << 30,
	 NULL, "bytes per second a body must keep up after 2 s, else 408"},
	{"log_level", "GUESTBOOK_LOG_LEVEL", T_ENUM, "info", 0, 0,
	 "debug|info|warn|error", "lowest level logged"},
	{"log_format", "GUESTBOOK_LOG_FORMAT", T_ENUM, NULL, 0, 0, "json|text",
	 "log format (default json, text on a TTY)"},
	{"access_log", "GUESTBOOK_ACCESS_LOG", T_BOOL, "on", 0, 0, NULL,
	 "one log line per request"},
	{"admin_token", "GUESTBOOK_ADMIN_TOKEN", T_STR, NULL, 0, 0, NULL,
	 "bearer token for DELETE (unset: moderation off)"},
	{"admin_token_file", "GUESTBOOK_ADMIN_TOKEN_FILE", T_STR, NULL, 0, 0,
	 NULL, "file holding the bearer token"},
	{"rate_limit", "GUESTBOOK_RATE_LIMIT", T_INT, "60", 0, 1000000, NULL,
	 "posts per minute per client, bursts of half a minute; 0 off"},
	{"trust_proxy", "GUESTBOOK_TRUST_PROXY", T_BOOL, "off", 0, 0, NULL,
	 "take the client address from X-Forwarded-For"},
	{"legacy_list_max", "GUESTBOOK_LEGACY_LIST_MAX", T_INT, "1000", 1,
	 100000, NULL, "most messages GET /messages returns"},
	{"list_cache_ms", "GUESTBOOK_LIST_CACHE_MS", T_INT, "500", 0, 60000,
	 NULL, "reuse rendered message lists this long (0: off)"},
	{"www_dir", "GUESTBOOK_WWW_DIR", T_STR, GB_WWW_DIR, 0, 0, NULL,
	 "templates and static files of the web page"},
	{"max_body", "GUESTBOOK_MAX_BODY", T_INT, "16384", 1, 16777216, NULL,
	 "largest request body in bytes"},
	{"drain_seconds", "GUESTBOOK_DRAIN_SECONDS", T_INT, "5", 0, 3600, NULL,
	 "after SIGTERM: seconds /ready is 503 while serving on"},
	{"shutdown_timeout", "GUESTBOOK_SHUTDOWN_TIMEOUT", T_INT, "20", 1, 3600,
	 NULL, "after SIGTERM: seconds until exit at the latest"},
	{"ready_cache_ms", "GUESTBOOK_READY_CACHE_MS", T_INT, "1000", 0, 60000,
	 NULL, "how long a storage ping result is reused"},
};

#define NSETTINGS (sizeof settings / sizeof settings[0])

static char *values[NSETTINGS];

static int find(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* Flag spelling "--sqlite-path" -> key "sqlite_path". */
static int find_flag(const char *flag, size_t len)
{
	char key[64];
	if (len == 0 || len >= sizeof key)
		return -1;
	for (size_t i = 0; i < len; i++)
		key[i] = flag[i] == '-' ? '_' : flag[i];
	key[len] = '\0';
	return find(key);
}

static int set_value(int i, const char *v, char *err, size_t errlen)
{
	char *copy = strdup(v);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(values[i]);
	values[i] = copy;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "config: cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "config %s:%d: expected key = value",
				 path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		int i = find(key);
		if (i < 0 || strcmp(key, "config") == 0) {
			snprintf(err, errlen, "config %s:%d: unknown setting '%s'",
				 path, lineno, key);
			rc = -1;
			break;
		}
		if (set_value(i, val, err, errlen) < 0) {
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

static int parse_bool(const char *v)
{
	static const char *const yes[] = {"1", "on", "true", "yes"};
	static const char *const no[] = {"0", "off", "false", "no"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		p += len + (bar ? 1 : 0);
	}
	return 0;
}

static int validate(int i, char *err, size_t errlen)
{
	const struct setting *s = &settings[i];
	const char *v = values[i];
	if (!v)
		return 0;
	switch (s->type) {
	case T_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (*v == '\0' || *end || errno || n < s->min || n > s->max) {
			snprintf(err, errlen,
				 "setting %s (%s): '%s' is not a number from "
				 "%ld to %ld", s->key, s->env, v, s->min,
				 s->max);
			return -1;
		}
		return 0;
	}
	case T_BOOL:
		if (parse_bool(v) < 0) {
			snprintf(err, errlen,
				 "setting %s (%s): '%s' is not on or off",
				 s->key, s->env, v);
			return -1;
		}
		return 0;
	case T_ENUM:
		if (!enum_has(s->choices, v)) {
			snprintf(err, errlen,
				 "setting %s (%s): '%s' is not one of %s",
				 s->key, s->env, v, s->choices);
			return -1;
		}
		return 0;
	case T_STR:
		return 0;
	}
	return 0;
}

static void print_usage(void)
{
	printf("usage: guestbookd [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n"
	       "       guestbookd --probe [PATH] | --probe-url URL\n"
	       "       guestbookd --help | --version\n\n"
	       "Every setting has three spellings: config-file key, "
	       "environment variable, flag.\n"
	       "Precedence: defaults < config file < environment < flags.\n\n");
	gb_config_print_help();
}

void gb_config_print_help(void)
{
	printf("%-22s %-32s %-22s %s\n", "flag", "environment", "default",
	       "meaning");
	for (size_t i = 0; i < NSETTINGS; i++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", settings[i].key);
		for (char *p = flag + 2; *p; p++)
			if (*p == '_')
				*p = '-';
		printf("%-22s %-32s %-22s %s", flag, settings[i].env,
		       settings[i].def ? settings[i].def : "-",
		       settings[i].help);
		if (settings[i].type == T_ENUM)
			printf(" (%s)", settings[i].choices);
		printf("\n");
	}
}

/* Applies flags; pass 0 only looks for --config, --help, --version. */
static int apply_flags(int argc, char **argv, int pass, char *err,
		       size_t errlen, int *exit_now)
{
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			if (pass == 0)
				print_usage();
			*exit_now = 1;
			return 0;
		}
		if (strcmp(arg, "--version") == 0) {
			if (pass == 0)
				printf("guestbookd %s (%s)\n", GB_VERSION,
				       GB_REVISION);
			*exit_now = 1;
			return 0;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s' "
				 "(see --help)", arg);
			return -1;
		}
		const char *name = arg + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const char *val = eq ? eq + 1 : NULL;
		if (len == 5 && strncmp(name, "probe", 5) == 0) {
			if (!eq && a + 1 < argc && argv[a + 1][0] == '/')
				a++;
			continue;
		}
		if (len == 9 && strncmp(name, "probe-url", 9) == 0) {
			if (!eq)
				a++;
			continue;
		}
		int i = find_flag(name, len);
		if (i < 0) {
			snprintf(err, errlen, "unknown option '--%.*s' "
				 "(see --help)", (int)len, name);
			return -1;
		}
		if (!val) {
			if (a + 1 >= argc) {
				snprintf(err, errlen, "option '--%.*s' needs a "
					 "value", (int)len, name);
				return -1;
			}
			val = argv[++a];
		}
		if ((pass == 0) == (strcmp(settings[i].key, "config") == 0) &&
		    set_value(i, val, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int set_if_unset(const char *key, const char *v, char *err,
			size_t errlen)
{
	int i = find(key);
	if (values[i] || !v)
		return 0;
	return set_value(i, v, err, errlen);
}

/* Role defaults and the legacy wiring. Explicit settings always win. */
static int derive(int role_explicit, char *err, size_t errlen)
{
	const char *role = values[find("role")];
	if (!role_explicit) {
		if (gb_config_get("db_addr") || gb_config_get("mongo_uri"))
			role = "backend";
		else if (gb_config_get("api_addr") ||
			 gb_config_get("backend_url"))
			role = "frontend";
		if (set_value(find("role"), role, err, errlen) < 0)
			return -1;
		role = values[find("role")]; /* the old string is freed */
	}
	const char *plugins = "api,web,metrics", *storage = "sqlite";
	if (strcmp(role, "backend") == 0) {
		plugins = "api,metrics";
		storage = (gb_config_get("mongo_uri") || gb_config_get("db_addr"))
				  ? "mongo"
				  : "sqlite";
	} else if (strcmp(role, "frontend") == 0) {
		plugins = "web,api,metrics";
		storage = "http";
	}
	if (set_if_unset("plugins", plugins, err, errlen) < 0 ||
	    set_if_unset("storage", storage, err, errlen) < 0)
		return -1;

	char buf[512];
	if (!gb_config_get("listen")) {
		snprintf(buf, sizeof buf, "0.0.0.0:%s", gb_config_get("port"));
		if (set_value(find("listen"), buf, err, errlen) < 0)
			return -1;
	}
	const char *addr = gb_config_get("db_addr");
	if (addr && !gb_config_get("mongo_uri")) {
		snprintf(buf, sizeof buf, "mongodb://%s/guestbook", addr);
		if (set_value(find("mongo_uri"), buf, err, errlen) < 0)
			return -1;
	}
	addr = gb_config_get("api_addr");
	if (addr && !gb_config_get("backend_url")) {
		snprintf(buf, sizeof buf, "http://%s", addr);
		if (set_value(find("backend_url"), buf, err, errlen) < 0)
			return -1;
	}
	if (!gb_config_get("log_format"))
		return set_value(find("log_format"),
				 isatty(STDOUT_FILENO) ? "text" : "json", err,
				 errlen);
	return 0;
}

enum gb_config_result gb_config_load(int argc, char **argv, char *err,
				     size_t errlen)
{
	int exit_now = 0;
	gb_config_free();
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].def && set_value((int)i, settings[i].def, err,
						 errlen) < 0)
			return GB_CONFIG_ERROR;

	if (apply_flags(argc, argv, 0, err, errlen, &exit_now) < 0)
		return GB_CONFIG_ERROR;
	if (exit_now)
		return GB_CONFIG_EXIT;
	const char *cfg = values[find("config")];
	if (!cfg)
		cfg = getenv("GUESTBOOK_CONFIG");
	if (cfg && load_file(cfg, err, errlen) < 0)
		return GB_CONFIG_ERROR;

	int role_explicit = 0;
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = getenv(settings[i].env);
		if (v && set_value((int)i, v, err, errlen) < 0)
			return GB_CONFIG_ERROR;
	}
	if (apply_flags(argc, argv, 1, err, errlen, &exit_now) < 0)
		return GB_CONFIG_ERROR;
	/* The role is explicit when any source other than the default set it. */
	role_explicit = strcmp(values[find("role")], "all") != 0 ||
			getenv("GUESTBOOK_ROLE") != NULL;
	for (int a = 1; a < argc; a++)
		if (strncmp(argv[a], "--role", 6) == 0)
			role_explicit = 1;

	for (size_t i = 0; i < NSETTINGS; i++)
		if (validate((int)i, err, errlen) < 0)
			return GB_CONFIG_ERROR;
	if (derive(role_explicit, err, errlen) < 0)
		return GB_CONFIG_ERROR;
	return GB_CONFIG_OK;
}

static int has_password(const char *uri)
{
	const char *at = strrchr(uri, '@'), *p = strstr(uri, "://");
	p = p ? p + 3 : uri;
	return at && memchr(p, ':', (size_t)(at - p > 0 ? at - p : 0)) != NULL;
}

const char *gb_config_secret_flag(int argc, char **argv)
{
	static const struct {
		const char *flag, *advice;
		int uri;
	} secrets[] = {
		{"--admin-token", "use --admin-token-file (or "
		 "GUESTBOOK_ADMIN_TOKEN_FILE) with a file only guestbookd reads",
		 0},
		{"--mongo-uri", "put the URI in GUESTBOOK_MONGO_URI instead", 1},
		{"--db-addr", "put it in GUESTBOOK_DB_ADDR instead", 1},
	};
	for (int a = 1; a < argc; a++)
		for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++) {
			size_t n = strlen(secrets[i].flag);
			const char *arg = argv[a];
			if (strncmp(arg, secrets[i].flag, n) != 0 ||
			    (arg[n] != '\0' && arg[n] != '='))
				continue;
			const char *v = arg[n] == '=' ? arg + n + 1
				      : a + 1 < argc ? argv[a + 1] : "";
			if (!secrets[i].uri || has_password(v))
				return secrets[i].advice;
		}
	return NULL;
}

const char *gb_config_get(const char *key)
{
	int i = find(key);
	return i < 0 ? NULL : values[i];
}

long gb_config_int(const char *key)
{
	const char *v = gb_config_get(key);
	return v ? strtol(v, NULL, 10) : 0;
}

int gb_config_bool(const char *key)
{
	const char *v = gb_config_get(key);
	return v ? parse_bool(v) == 1 : 0;
}

void gb_config_free(void)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		free(values[i]);
		values[i] = NULL;
	}
}
