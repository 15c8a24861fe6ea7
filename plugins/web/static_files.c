/*
 * static_files.c - in-memory static assets with validators
 * (static_files.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "static_files.h"

#define STATIC_MAX_DEPTH     3
#define STATIC_MAX_FILES     256
#define STATIC_MAX_FILE_SIZE (4u << 20)

const char *static_content_type(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
	    {".css", "text/css; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".html", "text/html; charset=utf-8"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".json", "application/json"},
	    {".webmanifest", "application/manifest+json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".jpg", "image/jpeg"},
	    {".jpeg", "image/jpeg"},
	    {".gif", "image/gif"},
	    {".webp", "image/webp"},
	    {".ico", "image/x-icon"},
	    {".woff2", "font/woff2"},
	    {".woff", "font/woff"},
	};
	const char *dot = strrchr(name, '.');

	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

static int read_file(const char *path, size_t size, char **out)
{
	FILE *f = fopen(path, "rb");
	char *data;

	if (!f)
		return -1;
	data = malloc(size + 1);
	if (!data || fread(data, 1, size, f) != size) {
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	data[size] = '\0';
	*out = data;
	return 0;
}

static int add_file(struct static_files *sf, const char *root_real,
		    const char *path, const char *name, char *err,
		    size_t errlen)
{
	char real[PATH_MAX];
	size_t rl = strlen(root_real);
	struct static_file *f, *grown;
	struct stat st;
	struct tm tm;

	/* The real path must lie inside the static directory. */
	if (!realpath(path, real) || strncmp(real, root_real, rl) != 0 ||
	    real[rl] != '/' || stat(real, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if (sf->n >= STATIC_MAX_FILES ||
	    (size_t)st.st_size > STATIC_MAX_FILE_SIZE) {
		snprintf(err, errlen,
			 "%s: too many or too large static files (limits: %d "
			 "files, %u bytes each)",
			 path, STATIC_MAX_FILES, STATIC_MAX_FILE_SIZE);
		return -1;
	}
	grown = realloc(sf->files, (sf->n + 1) * sizeof(*grown));
	if (!grown)
		goto nomem;
	sf->files = grown;
	f = &sf->files[sf->n];
	memset(f, 0, sizeof(*f));
	f->size = (size_t)st.st_size;
	if (!(f->name = strdup(name)))
		goto nomem;
	if (read_file(real, f->size, &f->data) < 0) {
		free(f->name);
		snprintf(err, errlen, "cannot read static file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	f->content_type = static_content_type(name);
	f->mtime = st.st_mtime;
	gb_etag_of(f->data, f->size, f->etag);
	gmtime_r(&f->mtime, &tm);
	strftime(f->last_modified, sizeof(f->last_modified),
		 "%a, %d %b %Y %H:%M:%S GMT", &tm);
	sf->n++;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory loading %s", path);
	return -1;
}

static int load_dir(struct static_files *sf, const char *root_real,
		    const char *dir, const char *prefix, int depth, char *err,
		    size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		snprintf(err, errlen, "cannot open static directory %s: %s",
			 dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d))) {
		char path[PATH_MAX], name[PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
			(int)sizeof(path) ||
		    snprintf(name, sizeof(name), "%s%s", prefix, e->d_name) >=
			(int)sizeof(name) ||
		    stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			char sub[PATH_MAX];

			if (depth + 1 >= STATIC_MAX_DEPTH)
				continue;
			if (snprintf(sub, sizeof(sub), "%s/", name) >=
			    (int)sizeof(sub))
				continue;
			rc = load_dir(sf, root_real, path, sub, depth + 1, err,
				      errlen);
		} else if (static_name_is_safe(name)) {
			rc = add_file(sf, root_real, path, name, err, errlen);
		}
	}
	closedir(d);
	return rc;
}

int static_files_load(struct static_files *sf, const char *dir, char *err,
		      size_t errlen)
{
	char root_real[PATH_MAX];
	uint64_t h = 0;

	memset(sf, 0, sizeof(*sf));
	if (!realpath(dir, root_real)) {
		snprintf(err, errlen, "static directory %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (load_dir(sf, root_real, root_real, "", 0, err, errlen) < 0) {
		static_files_free(sf);
		return -1;
	}
	for (size_t i = 0; i < sf->n; i++)
		h ^= gb_fnv1a64(sf->files[i].etag, strlen(sf->files[i].etag)) +
		     gb_fnv1a64(sf->files[i].name, strlen(sf->files[i].name));
	snprintf(sf->version, sizeof(sf->version), "%016llx",
		 (unsigned long long)h);
	return 0;
}

const struct static_file *static_files_find(const struct static_files *sf,
					    const char *name)
{
	for (size_t i = 0; i < sf->n; i++)
		if (strcmp(sf->files[i].name, name) == 0)
			return &sf->files[i];
	return NULL;
}

int static_name_is_safe(const char *name)
{
	const char *seg = name;

	if (!*name || *name == '/')
		return 0;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\' ||
		    *p == '%')
			return 0;
	for (;;) {
		size_t len = strcspn(seg, "/");

		/* empty, ".", ".." and hidden segments */
		if (len == 0 || seg[0] == '.')
			return 0;
		if (!seg[len])
			return 1;
		seg += len + 1;
	}
}

static int parse_http_date(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

int static_not_modified(const struct static_file *f, const char *if_none_match,
			const char *if_modified_since)
{
	time_t since;

	if (if_none_match)
		return gb_if_none_match(if_none_match, f->etag);
	if (if_modified_since &&
	    parse_http_date(if_modified_since, &since) == 0)
		return f->mtime <= since;
	return 0;
}

void static_files_free(struct static_files *sf)
{
	for (size_t i = 0; i < sf->n; i++) {
		free(sf->files[i].name);
		free(sf->files[i].data);
	}
	free(sf->files);
	memset(sf, 0, sizeof(*sf));
}
