/*
 * static_files.h - the assets under www_dir/static, read into memory once
 * at init and served with validators (ETag, Last-Modified) and 304s.
 *
 * Only regular files whose real path lies inside the static directory are
 * loaded (symbolic links pointing elsewhere are skipped), so a request can
 * only ever name one of them: there is no path on disk to traverse.
 */
#ifndef GB_WEB_STATIC_FILES_H
#define GB_WEB_STATIC_FILES_H

#include <stddef.h>
#include <time.h>

#include "http_headers.h"

struct static_file {
	char *name; /* relative to the static dir: "app.js" */
	char *data;
	size_t size;
	const char *content_type;
	char etag[GB_ETAG_MAX]; /* hash of the content */
	char last_modified[40]; /* IMF-fixdate of the file's mtime */
	time_t mtime;
};

struct static_files {
	struct static_file *files;
	size_t n;
	char version[17]; /* hash of every file: the ?v= of asset URLs */
};

/*
 * Loads every regular file under `dir` (three levels deep at most, names
 * starting with "." skipped). Returns 0, or -1 with a reason in err.
 */
int static_files_load(struct static_files *sf, const char *dir, char *err,
		      size_t errlen);

/* The file named `name` ("app.js", "img/logo.svg"), or NULL. */
const struct static_file *static_files_find(const struct static_files *sf,
					    const char *name);

/*
 * Whether a request path below /static/ is well-formed: non-empty, no
 * "..", ".", empty or hidden segments, no backslash, no "%" (an encoded
 * byte that survived decoding), no control characters, not absolute.
 */
int static_name_is_safe(const char *name);

/* Content-Type for a file name by its extension. */
const char *static_content_type(const char *name);

/*
 * Whether a conditional request may be answered 304: If-None-Match when
 * present (weak comparison), otherwise If-Modified-Since (an IMF-fixdate
 * not earlier than the file's mtime). Either header may be NULL.
 */
int static_not_modified(const struct static_file *f, const char *if_none_match,
			const char *if_modified_since);

void static_files_free(struct static_files *sf);

#endif
