#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "guestbook/plugin.h"

/* The types of the host's table are those of struct gb_setting. */
enum setting_type {
	T_STR = GB_SETTING_STRING,
	T_INT = GB_SETTING_INT,
	T_BOOL = GB_SETTING_BOOL,
	T_ENUM = GB_SETTING_ENUM,
};

struct setting {
	const char *key;
	const char *env;
	enum setting_type type;
	const char *def;
	long min, max;	     /* T_INT */
	const char *choices; /* T_ENUM: "a|b|c" */
	const char *help;
};

/*
 * The host's own settings. Plugins declare theirs in their descriptors
 * (struct gb_setting); to move a setting to a plugin, move its row there:
 * the key loses the plugin prefix and keeps its old spelling as `legacy`.
 */
static const struct setting settings[] = {
    {"config", "GUESTBOOK_CONFIG", T_STR, NULL, 0, 0, NULL,
     "config file of `key = value` lines"},
    {"listen", "GUESTBOOK_LISTEN", T_STR, NULL, 0, 0, NULL,
     "host:port to listen on (default 0.0.0.0:$PORT)"},
    {"port", "PORT", T_INT, "8080", 0, 65535, NULL, "listen port (legacy)"},
    {"role", "GUESTBOOK_ROLE", T_ENUM, "all", 0, 0, "all|backend|frontend",
     "default set of plugins and storage"},
    {"plugins", "GUESTBOOK_PLUGINS", T_STR, NULL, 0, 0, NULL,
     "comma list of plugins to load (overrides the role's set)"},
    {"plugin_dir", "GUESTBOOK_PLUGIN_DIR", T_STR, GB_PLUGIN_DIR, 0, 0, NULL,
     "directory of the plugin .so files"},
    {"storage", "GUESTBOOK_STORAGE", T_STR, NULL, 0, 0, NULL,
     "storage back end: sqlite, mongo, http (default by role)"},
    {"threads", "GUESTBOOK_THREADS", T_INT, "256", 2, 1024, NULL,
     "worker threads (one per open connection)"},
    {"keepalive_ms", "GUESTBOOK_KEEPALIVE_MS", T_INT, "1000", 0, 60000, NULL,
     "idle keep-alive timeout; 0 turns keep-alive off"},
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
    {"rate_limit", "GUESTBOOK_RATE_LIMIT", T_INT, "60", 0, 1000000, NULL,
     "posts per minute per client, bursts of half a minute; 0 off"},
    {"trust_proxy", "GUESTBOOK_TRUST_PROXY", T_BOOL, "off", 0, 0, NULL,
     "take the client address from X-Forwarded-For"},
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

/*
 * Keys of the host's table that moved to a plugin (which declares them as
 * its legacy names). A config file or flags shared by every role keep
 * working: when the plugin is not loaded, the key is accepted and unused.
 * Moving a row out of the table above adds its key here.
 */
static const char *const moved_to_plugins[] = {
    "sqlite_path",	"mongo_uri",
    "db_addr",		"mongo_write_concern",
    "mongo_timeout_ms", "api_addr",
    "backend_url",	"backend_timeout_ms",
    "admin_token",	"admin_token_file",
    "legacy_list_max",	"list_cache_ms",
    "www_dir",		"backend_api",
    "backend_max_body",
};

static int moved_key(const char *key)
{
	size_t n = sizeof moved_to_plugins / sizeof *moved_to_plugins;
	for (size_t i = 0; i < n; i++)
		if (strcmp(moved_to_plugins[i], key) == 0)
			return 1;
	return 0;
}
#define NAME_MAX_LEN	80
#define SECRET_FILE_MAX 4096

/* One setting as the host resolves it: a row of the host's table or a
 * plugin's declared setting, with every spelling written out. */
struct entry {
	const char *plugin; /* NULL for the host's own */
	const char *name;   /* as declared: "greeting" (plugins), "threads" */
	char key[NAME_MAX_LEN], env[NAME_MAX_LEN + 16];
	char legacy[NAME_MAX_LEN], legacy_env[NAME_MAX_LEN + 16];
	struct gb_setting spec; /* type, default, range, help, flags */
	char *value;
	/* The value came from the legacy spelling (for error messages). */
	int from_legacy;
	/* A flag gave the value: 0 no, 1 the own key, 2 the legacy name. */
	int from_flag;
};

/* A `key = value` line of the config file or a --flag, kept until a
 * setting claims it; what nobody claims is an unknown setting. */
struct item {
	char *name; /* key spelling: "sqlite_path" (flags: dashes to _) */
	char *value;
	int line; /* config-file line, 0 for flags */
	int used;
};

static struct entry *entries;
static size_t nentries, entries_cap, core_count;
static struct item *items_file, *items_flag;
static size_t nfile, nflag;
static char *config_path;
static int help_requested;

static struct entry *find_entry(const char *key)
{
	for (size_t i = 0; i < nentries; i++)
		if (strcmp(entries[i].key, key) == 0)
			return &entries[i];
	for (size_t i = 0; i < nentries; i++)
		if (entries[i].legacy[0] && strcmp(entries[i].legacy, key) == 0)
			return &entries[i];
	return NULL;
}

static struct entry *find_core(const char *key)
{
	for (size_t i = 0; i < core_count; i++)
		if (strcmp(entries[i].key, key) == 0)
			return &entries[i];
	return NULL;
}

static void env_spelling(char *out, size_t len, const char *key)
{
	size_t n = (size_t)snprintf(out, len, "GUESTBOOK_");
	for (const char *p = key; *p && n + 1 < len; p++)
		out[n++] = (char)toupper((unsigned char)*p);
	out[n] = '\0';
}

static void flag_spelling(char *out, size_t len, const char *key)
{
	snprintf(out, len, "--%s", key);
	for (char *p = out + 2; *p; p++)
		if (*p == '_')
			*p = '-';
}

static struct entry *new_entry(char *err, size_t errlen)
{
	if (nentries == entries_cap) {
		size_t cap = entries_cap ? entries_cap * 2 : 64;
		struct entry *e = realloc(entries, cap * sizeof *e);
		if (!e) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		entries = e;
		entries_cap = cap;
	}
	struct entry *e = &entries[nentries++];
	memset(e, 0, sizeof *e);
	return e;
}

static int set_value(struct entry *e, const char *v, char *err, size_t errlen)
{
	char *copy = v ? strdup(v) : NULL;
	if (v && !copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(e->value);
	e->value = copy;
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

static int add_item(struct item **list, size_t *n, const char *name,
		    size_t name_len, const char *value, int line, char *err,
		    size_t errlen)
{
	struct item *l = realloc(*list, (*n + 1) * sizeof *l);
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*list = l;
	struct item *it = &l[*n];
	it->name = strndup(name, name_len);
	it->value = strdup(value);
	it->line = line;
	it->used = 0;
	if (!it->name || !it->value) {
		free(it->name);
		free(it->value);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (char *p = it->name; *p; p++)
		if (*p == '-')
			*p = '_';
	(*n)++;
	return 0;
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
			snprintf(err, errlen,
				 "config %s:%d: expected key = value", path,
				 lineno);
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
		if (strcmp(key, "config") == 0 || strchr(key, '-')) {
			snprintf(err, errlen,
				 "config %s:%d: unknown setting '%s'", path,
				 lineno, key);
			rc = -1;
			break;
		}
		if (add_item(&items_file, &nfile, key, strlen(key), val, lineno,
			     err, errlen) < 0) {
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

/* NULL when `v` is a valid value of `spec`, else what is wrong with it. */
static const char *invalid(const struct gb_setting *spec, const char *v,
			   char *why, size_t len)
{
	switch (spec->type) {
	case GB_SETTING_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (*v == '\0' || *end || errno || n < spec->min ||
		    n > spec->max) {
			snprintf(why, len, "is not a number from %ld to %ld",
				 spec->min, spec->max);
			return why;
		}
		return NULL;
	}
	case GB_SETTING_BOOL:
		return parse_bool(v) < 0 ? "is not on or off" : NULL;
	case GB_SETTING_ENUM:
		if (!enum_has(spec->choices, v)) {
			snprintf(why, len, "is not one of %s", spec->choices);
			return why;
		}
		return NULL;
	case GB_SETTING_STRING: return NULL;
	}
	return NULL;
}

static void describe(const struct entry *e, char *out, size_t len)
{
	if (e->plugin)
		snprintf(out, len, "plugin %s: setting %s (%s)", e->plugin,
			 e->from_legacy ? e->legacy : e->key,
			 e->from_legacy ? e->legacy_env : e->env);
	else
		snprintf(out, len, "setting %s (%s)", e->key, e->env);
}

static int validate(const struct entry *e, char *err, size_t errlen)
{
	char why[128], what[256];
	const char *bad =
	    e->value ? invalid(&e->spec, e->value, why, sizeof why) : NULL;
	if (!bad)
		return 0;
	describe(e, what, sizeof what);
	if (e->spec.flags & GB_SETTING_SECRET)
		snprintf(err, errlen, "%s: the value %s", what, bad);
	else
		snprintf(err, errlen, "%s: '%s' %s", what, e->value, bad);
	return -1;
}

/* The value of a secret's _FILE variant: the file's content, trimmed. */
static char *read_secret_file(const struct entry *e, const char *path,
			      const char *spelling, char *err, size_t errlen)
{
	char buf[SECRET_FILE_MAX + 1];
	FILE *f = fopen(path, "r");
	const char *who = e->plugin ? e->plugin : NULL;
	if (!f) {
		snprintf(err, errlen, "%s%s%ssetting %s: cannot read %s: %s",
			 who ? "plugin " : "", who ? who : "", who ? ": " : "",
			 spelling, path, strerror(errno));
		return NULL;
	}
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	const char *why = n > SECRET_FILE_MAX	 ? "is longer than 4096 bytes"
			  : memchr(buf, '\0', n) ? "holds a NUL byte, expected "
						   "text"
						 : NULL;
	buf[n > SECRET_FILE_MAX ? SECRET_FILE_MAX : n] = '\0';
	char *v = why ? NULL : trim(buf);
	if (v && !*v)
		why = "is empty";
	if (why) {
		snprintf(err, errlen, "%s%s%ssetting %s: %s %s",
			 who ? "plugin " : "", who ? who : "", who ? ": " : "",
			 spelling, path, why);
		return NULL;
	}
	char *copy = strdup(v);
	if (!copy)
		snprintf(err, errlen, "out of memory");
	return copy;
}

/* The best candidate of one source: the entry's own key beats its legacy
 * name; a later line or flag beats an earlier one. */
struct pick {
	const char *value; /* a direct value */
	const char *path;  /* a _FILE variant */
	const char *key;   /* the key spelling it came from */
	int rank;
};

static void consider(struct pick *p, const struct entry *e, const char *name,
		     const char *value, int *used)
{
	char file_key[NAME_MAX_LEN + 8];
	for (int legacy = 0; legacy < 2; legacy++) {
		const char *k = legacy ? e->legacy : e->key;
		if (!*k)
			continue;
		/* own value 4, own file 3, legacy value 2, legacy file 1 */
		int rank = legacy ? 1 : 3;
		snprintf(file_key, sizeof file_key, "%s_file", k);
		if (strcmp(name, k) == 0) {
			*used = 1;
			if (rank + 1 >= p->rank)
				*p = (struct pick){value, NULL, k, rank + 1};
		} else if ((e->spec.flags & GB_SETTING_SECRET) &&
			   strcmp(name, file_key) == 0) {
			*used = 1;
			if (rank >= p->rank)
				*p = (struct pick){NULL, value, k, rank};
		}
	}
}

static void consider_items(struct pick *p, const struct entry *e,
			   struct item *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		consider(p, e, list[i].name, list[i].value, &list[i].used);
}

static void consider_env(struct pick *p, const struct entry *e)
{
	char name[NAME_MAX_LEN + 24];
	int unused = 0;
	for (int legacy = 1; legacy >= 0; legacy--) {
		const char *k = legacy ? e->legacy : e->key;
		const char *env = legacy ? e->legacy_env : e->env;
		if (!*k)
			continue;
		const char *v = getenv(env);
		if (v)
			consider(p, e, k, v, &unused);
		if (e->spec.flags & GB_SETTING_SECRET) {
			snprintf(name, sizeof name, "%s_FILE", env);
			char file_key[NAME_MAX_LEN + 8];
			snprintf(file_key, sizeof file_key, "%s_file", k);
			v = getenv(name);
			if (v)
				consider(p, e, file_key, v, &unused);
		}
	}
}

/* defaults < config file < environment < flags, for one entry. */
static int resolve(struct entry *e, char *err, size_t errlen)
{
	struct pick levels[3] = {{0}, {0}, {0}};
	e->from_flag = 0;
	consider_items(&levels[0], e, items_file, nfile);
	consider_env(&levels[1], e);
	consider_items(&levels[2], e, items_flag, nflag);
	for (int l = 2; l >= 0; l--) {
		struct pick *p = &levels[l];
		if (!p->value && !p->path)
			continue;
		e->from_legacy = p->key == e->legacy;
		e->from_flag = l == 2 && p->value ? 1 + e->from_legacy : 0;
		if (p->value)
			return set_value(e, p->value, err, errlen);
		char spelling[NAME_MAX_LEN + 8];
		snprintf(spelling, sizeof spelling, "%s_file", p->key);
		char *v = read_secret_file(e, p->path, spelling, err, errlen);
		if (!v)
			return -1;
		free(e->value);
		e->value = v;
		return 0;
	}
	return set_value(e, e->spec.def, err, errlen);
}

static void print_row(const struct entry *e)
{
	char flag[NAME_MAX_LEN + 8];
	const char *def = e->spec.def ? e->spec.def : "-";
	if (e->spec.def && (e->spec.flags & GB_SETTING_SECRET))
		def = "****";
	flag_spelling(flag, sizeof flag, e->key);
	printf("%-30s %-38s %-20s %s", flag, e->env, def, e->spec.help);
	if (e->spec.type == GB_SETTING_ENUM)
		printf(" (%s)", e->spec.choices);
	if (e->spec.flags & GB_SETTING_SECRET)
		printf(" [secret; also %s_FILE]", e->env);
	if (e->legacy[0]) {
		flag_spelling(flag, sizeof flag, e->legacy);
		printf(" [also %s, %s]", flag, e->legacy_env);
	}
	printf("\n");
}

void gb_config_print_help(void)
{
	printf("%-30s %-38s %-20s %s\n", "flag", "environment", "default",
	       "meaning");
	for (size_t i = 0; i < core_count; i++)
		print_row(&entries[i]);
}

void gb_config_print_plugin_help(const char *plugin, const char *version,
				 const char *description)
{
	printf("\nplugin %s %s: %s\n", plugin, version,
	       description ? description : "");
	int any = 0;
	for (size_t i = core_count; i < nentries; i++)
		if (strcmp(entries[i].plugin, plugin) == 0) {
			print_row(&entries[i]);
			any = 1;
		}
	if (!any)
		printf("  (no settings)\n");
}

static void print_usage(void)
{
	printf(
	    "usage: guestbookd [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n"
	    "       guestbookd export [SETTINGS] > FILE   "
	    "messages of the store as JSON Lines\n"
	    "       guestbookd import [SETTINGS] < FILE   "
	    "add an export's messages to the store\n"
	    "       guestbookd backup FILE [SETTINGS]     "
	    "consistent copy of the SQLite database\n"
	    "       guestbookd --probe [PATH] | --probe-url URL\n"
	    "       guestbookd --help | --version\n\n"
	    "Every setting has three spellings: config-file key, "
	    "environment variable, flag.\n"
	    "Precedence: defaults < config file < environment < flags.\n"
	    "A plugin NAME's setting KEY is NAME_KEY, GUESTBOOK_NAME_KEY, "
	    "--NAME-KEY.\n\n");
	gb_config_print_help();
}

/* Collects the flags; --help and --version stop at once. */
static int read_flags(int argc, char **argv, char *err, size_t errlen,
		      int *version)
{
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			help_requested = 1;
			continue;
		}
		if (strcmp(arg, "--version") == 0) {
			*version = 1;
			return 0;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen,
				 "unexpected argument '%s' "
				 "(see --help)",
				 arg);
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
		if (len == 0 || len >= NAME_MAX_LEN) {
			snprintf(err, errlen,
				 "unknown option '--%.*s' "
				 "(see --help)",
				 (int)len, name);
			return -1;
		}
		if (!val) {
			if (a + 1 >= argc) {
				snprintf(err, errlen,
					 "option '--%.*s' needs a "
					 "value",
					 (int)len, name);
				return -1;
			}
			val = argv[++a];
		}
		if (add_item(&items_flag, &nflag, name, len, val, 0, err,
			     errlen) < 0)
			return -1;
	}
	return 0;
}

/* True when a source names `key` (or its _file form) before any plugin
 * declared it: the legacy wiring looks at storage settings this way. */
static int raw_given(const char *key)
{
	char env[NAME_MAX_LEN + 24], file_key[NAME_MAX_LEN + 8];
	snprintf(file_key, sizeof file_key, "%s_file", key);
	for (int pass = 0; pass < 2; pass++) {
		struct item *l = pass ? items_flag : items_file;
		size_t n = pass ? nflag : nfile;
		for (size_t i = 0; i < n; i++)
			if ((strcmp(l[i].name, key) == 0 ||
			     strcmp(l[i].name, file_key) == 0) &&
			    *l[i].value)
				return 1;
	}
	env_spelling(env, sizeof env, key);
	const char *v = getenv(env);
	if (v && *v)
		return 1;
	strcat(env, "_FILE");
	v = getenv(env);
	return v && *v;
}

static int role_default_is_backend(void)
{
	return raw_given("db_addr") || raw_given("mongo_uri") ||
	       raw_given("mongo_addr");
}

static int role_default_is_frontend(void)
{
	return raw_given("api_addr") || raw_given("backend_url") ||
	       raw_given("http_url") || raw_given("http_addr");
}

/* "+a,+b" or "+a,b": the role's set followed by these. */
static int plugins_setting(const char *role_set, char *err, size_t errlen)
{
	struct entry *e = find_core("plugins");
	if (!e->value)
		return set_value(e, role_set, err, errlen);
	if (e->value[0] != '+')
		return 0;
	char *joined = malloc(strlen(role_set) + strlen(e->value) + 2);
	if (!joined) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t n = (size_t)sprintf(joined, "%s", role_set);
	for (const char *p = e->value; *p;) {
		size_t len = strcspn(p, ",");
		const char *tok = p;
		while (len > 0 && (*tok == '+' || *tok == ' ')) {
			tok++;
			len--;
		}
		if (len > 0)
			n +=
			    (size_t)sprintf(joined + n, ",%.*s", (int)len, tok);
		p = tok + len + (tok[len] == ',' ? 1 : 0);
	}
	free(e->value);
	e->value = joined;
	return 0;
}

/* Role defaults and the legacy wiring. Explicit settings always win. */
static int derive(int role_explicit, char *err, size_t errlen)
{
	struct entry *role_e = find_core("role");
	if (!role_explicit) {
		const char *role = role_default_is_backend()	? "backend"
				   : role_default_is_frontend() ? "frontend"
								: "all";
		if (set_value(role_e, role, err, errlen) < 0)
			return -1;
	}
	const char *role = role_e->value;
	const char *plugins = "api,web,metrics", *storage = "sqlite";
	if (strcmp(role, "backend") == 0) {
		plugins = "api,metrics";
		storage = role_default_is_backend() ? "mongo" : "sqlite";
	} else if (strcmp(role, "frontend") == 0) {
		plugins = "web,api,metrics";
		storage = "http";
	}
	struct entry *st = find_core("storage");
	if (plugins_setting(plugins, err, errlen) < 0 ||
	    (!st->value && set_value(st, storage, err, errlen) < 0))
		return -1;

	char buf[512];
	struct entry *listen = find_core("listen");
	if (!listen->value) {
		snprintf(buf, sizeof buf, "0.0.0.0:%s", gb_config_get("port"));
		if (set_value(listen, buf, err, errlen) < 0)
			return -1;
	}
	struct entry *lf = find_core("log_format");
	if (!lf->value)
		return set_value(lf, isatty(STDOUT_FILENO) ? "text" : "json",
				 err, errlen);
	return 0;
}

static int add_core_entries(char *err, size_t errlen)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		struct entry *e = new_entry(err, errlen);
		if (!e)
			return -1;
		e->name = s->key;
		snprintf(e->key, sizeof e->key, "%s", s->key);
		snprintf(e->env, sizeof e->env, "%s", s->env);
		e->spec =
		    (struct gb_setting){s->key,	 (enum gb_setting_type)s->type,
					s->def,	 s->min,
					s->max,	 s->choices,
					s->help, 0,
					NULL};
	}
	core_count = nentries;
	return 0;
}

enum gb_config_result gb_config_load(int argc, char **argv, char *err,
				     size_t errlen)
{
	int version = 0;
	gb_config_free();
	if (add_core_entries(err, errlen) < 0 ||
	    read_flags(argc, argv, err, errlen, &version) < 0)
		return GB_CONFIG_ERROR;
	if (version) {
		printf("guestbookd %s (%s)\n", GB_VERSION, GB_REVISION);
		return GB_CONFIG_EXIT;
	}
	const char *cfg = getenv("GUESTBOOK_CONFIG");
	for (size_t i = 0; i < nflag; i++)
		if (strcmp(items_flag[i].name, "config") == 0)
			cfg = items_flag[i].value;
	if (cfg && (!(config_path = strdup(cfg)) ||
		    load_file(config_path, err, errlen) < 0)) {
		if (!config_path)
			snprintf(err, errlen, "out of memory");
		return GB_CONFIG_ERROR;
	}
	for (size_t i = 0; i < core_count; i++)
		if (resolve(&entries[i], err, errlen) < 0)
			return GB_CONFIG_ERROR;
	/* The role is explicit when any source other than the default set it.
	 */
	struct entry *role = find_core("role");
	int role_explicit =
	    strcmp(role->value, "all") != 0 || getenv("GUESTBOOK_ROLE") != NULL;
	for (size_t i = 0; i < nflag; i++)
		if (strcmp(items_flag[i].name, "role") == 0)
			role_explicit = 1;
	for (size_t i = 0; i < core_count; i++)
		if (validate(&entries[i], err, errlen) < 0)
			return GB_CONFIG_ERROR;
	if (derive(role_explicit, err, errlen) < 0)
		return GB_CONFIG_ERROR;
	if (help_requested) {
		print_usage();
		return GB_CONFIG_HELP;
	}
	return GB_CONFIG_OK;
}

static int check_declared(const char *plugin, const struct gb_setting *s,
			  const char *full_key, char *err, size_t errlen)
{
	char why[128];
	if (!gb_is_name(s->key, 32) ||
	    strlen(plugin) + 1 + strlen(s->key) >= NAME_MAX_LEN - 6) {
		snprintf(err, errlen,
			 "plugin %s: setting key '%s' must "
			 "match [a-z][a-z0-9_]{0,31}",
			 plugin, s->key ? s->key : "(null)");
		return -1;
	}
	if (s->type < GB_SETTING_STRING || s->type > GB_SETTING_ENUM ||
	    (s->type == GB_SETTING_INT && s->min > s->max) ||
	    (s->type == GB_SETTING_ENUM && (!s->choices || !*s->choices)) ||
	    !s->help || (s->flags & ~GB_SETTING_SECRET) ||
	    (s->legacy && !gb_is_name(s->legacy, NAME_MAX_LEN - 7))) {
		snprintf(err, errlen,
			 "plugin %s: setting %s is malformed "
			 "(type, range, choices, help, flags or legacy name)",
			 plugin, s->key);
		return -1;
	}
	if (s->def && invalid(s, s->def, why, sizeof why)) {
		snprintf(err, errlen,
			 "plugin %s: the default of setting %s "
			 "%s",
			 plugin, s->key, why);
		return -1;
	}
	for (size_t i = 0; i < nentries; i++) {
		const struct entry *o = &entries[i];
		const char *clash = NULL;
		if (strcmp(o->key, full_key) == 0 ||
		    (o->legacy[0] && strcmp(o->legacy, full_key) == 0))
			clash = full_key;
		else if (s->legacy && strcmp(o->key, s->legacy) == 0)
			clash = s->legacy;
		else if (s->legacy && o->legacy[0] &&
			 strcmp(o->legacy, s->legacy) == 0 &&
			 (o->spec.type != s->type ||
			  (o->spec.flags ^ s->flags) & GB_SETTING_SECRET))
			clash = s->legacy;
		if (clash) {
			snprintf(err, errlen,
				 "plugin %s: setting %s: '%s' is "
				 "already a setting of %s",
				 plugin, s->key, clash,
				 o->plugin ? o->plugin : "guestbookd");
			return -1;
		}
	}
	return 0;
}

int gb_config_add_plugin(const char *plugin, const struct gb_setting *table,
			 char *err, size_t errlen)
{
	size_t n = 0;
	while (table && table[n].key) {
		if (++n > GB_SETTINGS_MAX) {
			snprintf(err, errlen,
				 "plugin %s: more than %d settings", plugin,
				 GB_SETTINGS_MAX);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct gb_setting *s = &table[i];
		char full[NAME_MAX_LEN];
		snprintf(full, sizeof full, "%s_%s", plugin,
			 gb_is_name(s->key, 32) ? s->key : "");
		if (check_declared(plugin, s, full, err, errlen) < 0)
			return -1;
		struct entry *e = new_entry(err, errlen);
		if (!e)
			return -1;
		e->plugin = plugin;
		e->name = s->key;
		snprintf(e->key, sizeof e->key, "%s", full);
		env_spelling(e->env, sizeof e->env, e->key);
		if (s->legacy) {
			snprintf(e->legacy, sizeof e->legacy, "%s", s->legacy);
			env_spelling(e->legacy_env, sizeof e->legacy_env,
				     e->legacy);
		}
		e->spec = *s;
	}
	return 0;
}

int gb_config_finish(char *err, size_t errlen)
{
	for (size_t i = core_count; i < nentries; i++)
		if (resolve(&entries[i], err, errlen) < 0 ||
		    validate(&entries[i], err, errlen) < 0)
			return -1;
	/* Each item a setting claimed while it resolved is marked used. */
	for (size_t i = 0; i < nflag; i++)
		if (strcmp(items_flag[i].name, "config") == 0)
			items_flag[i].used = 1;
	for (size_t i = 0; i < nfile; i++)
		if (!items_file[i].used && !moved_key(items_file[i].name)) {
			snprintf(err, errlen,
				 "config %s:%d: unknown setting "
				 "'%s'",
				 config_path, items_file[i].line,
				 items_file[i].name);
			return -1;
		}
	for (size_t i = 0; i < nflag; i++)
		if (!items_flag[i].used && !moved_key(items_flag[i].name)) {
			char flag[NAME_MAX_LEN + 8];
			flag_spelling(flag, sizeof flag, items_flag[i].name);
			snprintf(err, errlen,
				 "unknown option '%s' (see --help)", flag);
			return -1;
		}
	return 0;
}

static int has_password(const char *uri)
{
	const char *at = strrchr(uri, '@'), *p = strstr(uri, "://");
	p = p ? p + 3 : uri;
	return at && memchr(p, ':', (size_t)(at - p > 0 ? at - p : 0)) != NULL;
}

/*
 * A secret written as an address (a URI, or user:password@host) is secret
 * only for its password: an address without one may stay a flag.
 */
static int exposes_secret(const char *v)
{
	if (strstr(v, "://") || strchr(v, '@'))
		return has_password(v);
	return *v != '\0';
}

const char *gb_config_secret_flag(void)
{
	static char advice[4 * NAME_MAX_LEN + 128];
	for (size_t i = 0; i < nentries; i++) {
		const struct entry *e = &entries[i];
		if (!(e->spec.flags & GB_SETTING_SECRET) || !e->from_flag ||
		    !e->value || !exposes_secret(e->value))
			continue;
		char flag[NAME_MAX_LEN + 8];
		int legacy = e->from_flag == 2;
		flag_spelling(flag, sizeof flag, legacy ? e->legacy : e->key);
		const char *env = legacy ? e->legacy_env : e->env;
		snprintf(advice, sizeof advice,
			 "%s: use %s-file (or %s_FILE) with a file only "
			 "guestbookd reads, or put it in %s",
			 flag, flag, env, env);
		return advice;
	}
	return NULL;
}

const char *gb_config_get(const char *key)
{
	const struct entry *e = key ? find_entry(key) : NULL;
	return e ? e->value : NULL;
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

static const struct entry *find_plugin_entry(const char *plugin,
					     const char *name)
{
	for (size_t i = core_count; i < nentries; i++)
		if (strcmp(entries[i].plugin, plugin) == 0 &&
		    strcmp(entries[i].name, name) == 0)
			return &entries[i];
	return NULL;
}

const char *gb_config_plugin_get(const char *plugin, const char *name)
{
	const struct entry *e =
	    plugin && name ? find_plugin_entry(plugin, name) : NULL;
	return e ? e->value : NULL;
}

long gb_config_plugin_int(const char *plugin, const char *name)
{
	const char *v = gb_config_plugin_get(plugin, name);
	return v ? strtol(v, NULL, 10) : 0;
}

int gb_config_plugin_bool(const char *plugin, const char *name)
{
	const char *v = gb_config_plugin_get(plugin, name);
	return v ? parse_bool(v) == 1 : 0;
}

size_t gb_config_describe(char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < nentries && n < len; i++) {
		const struct entry *e = &entries[i];
		if (!e->value)
			continue;
		int w = snprintf(
		    buf + n, len - n, "%s%s=%s", n ? " " : "", e->key,
		    (e->spec.flags & GB_SETTING_SECRET) ? "****" : e->value);
		if (w < 0 || (size_t)w >= len - n) {
			buf[n] = '\0';
			break;
		}
		n += (size_t)w;
	}
	return n;
}

static void free_items(struct item **list, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*list)[i].name);
		free((*list)[i].value);
	}
	free(*list);
	*list = NULL;
	*n = 0;
}

void gb_config_free(void)
{
	for (size_t i = 0; i < nentries; i++)
		free(entries[i].value);
	free(entries);
	entries = NULL;
	nentries = entries_cap = core_count = 0;
	free_items(&items_file, &nfile);
	free_items(&items_flag, &nflag);
	free(config_path);
	config_path = NULL;
	help_requested = 0;
}
