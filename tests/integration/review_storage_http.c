/*
 * review_storage_http.c - the http store never prints a password given in
 * backend_url or api_addr, whatever else is wrong with the URL.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Runs guestbookd --role frontend with `extra`; returns its exit status. */
static int run_front(const char *const *extra, char **out)
{
	char plugins[1100], www[1100];
	const char *args[20] = {
	    "--role",	    "frontend", "--listen",  "127.0.0.1:0",
	    "--plugin-dir", plugins,	"--www-dir", www};
	size_t n = 8;

	snprintf(plugins, sizeof(plugins), "%s", gbt_build_path("plugins"));
	snprintf(www, sizeof(www), "%s", gbt_src_path("www"));
	for (size_t i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	return gbt_run(args, NULL, out);
}

Test(review_storage_http, password_in_a_refused_backend_url_is_never_printed,
     .timeout = 30)
{
	static const char *const bad[][3] = {
	    {"--backend-url", "https://admin:hunter2@backend:8080", NULL},
	    {"--backend-url", "admin:hunter2@backend:8080", NULL},
	    {"--backend-url", "ftp://admin:hunter2@backend", NULL},
	    {"--backend-url", "http://admin:hunter2@backend:8080", NULL},
	};
	char *out = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(run_front(bad[i], &out), 2, "%s: %s", bad[i][1],
			     out);
		cr_assert_not_null(strstr(out, "backend_url"), "%s", out);
		cr_assert_null(strstr(out, "hunter2"), "%s leaked:\n%s",
			       bad[i][1], out);
		free(out);
		out = NULL;
	}
}
