/*
 * api_guards.c - what protects the message API: moderation by bearer token
 * (DELETE), the post rate limit, and the checks of the admin settings at
 * start-up.
 */
#include <unistd.h>

#include "api_helpers.h"

#define TOKEN "s3cret-Token_42"

static void start_with_token(void)
{
	static const char *const extra[] = {"--rate-limit", "0",
					    "--admin-token", TOKEN, NULL};

	api_start(extra);
}

/* DELETE /api/v1/messages/{id} with an optional Authorization value. */
static struct gbt_response delete_message(const char *id,
					  const char *authorization)
{
	char path[128], line[256];
	const char *headers[] = {line, NULL};

	snprintf(path, sizeof(path), "/api/v1/messages/%s", id);
	snprintf(line, sizeof(line), "Authorization: %s",
		 authorization ? authorization : "");
	return api_request("DELETE", path, authorization ? headers : NULL, NULL,
			   0);
}

static void assert_unauthorized(const struct gbt_response *r)
{
	api_assert_error(r, 401, "unauthorized", NULL, NULL);
	cr_assert_not_null(gbt_header(r, "WWW-Authenticate"));
	cr_assert_eq(strncmp(gbt_header(r, "WWW-Authenticate"), "Bearer", 6),
		     0);
}

static void assert_status_of_get(const char *id, int status)
{
	char path[128];
	struct gbt_response r;

	snprintf(path, sizeof(path), "/api/v1/messages/%s", id);
	r = api_get(path);
	cr_assert_eq(r.status, status, "GET %s: %d", path, r.status);
	gbt_response_free(&r);
}

Test(api_guards, delete_with_the_admin_token_is_204_and_removes,
     .init = start_with_token, .fini = api_stop, .timeout = 30)
{
	char *keep = api_create("A", "keep me");
	char *drop = api_create("B", "drop me");
	struct gbt_response r = delete_message(drop, "Bearer " TOKEN);

	cr_assert_eq(r.status, 204, "%s", r.body);
	cr_assert_eq(r.body_len, 0);
	gbt_response_free(&r);
	assert_status_of_get(drop, 404);
	assert_status_of_get(keep, 200);
	r = api_get("/messages");
	cr_assert_null(strstr(r.body, "drop me"));
	cr_assert_neq(strstr(r.body, "keep me"), NULL);
	gbt_response_free(&r);
	free(keep);
	free(drop);
}

Test(api_guards, delete_twice_is_404_the_second_time, .init = start_with_token,
     .fini = api_stop, .timeout = 30)
{
	char *id = api_create("A", "m");
	struct gbt_response r = delete_message(id, "Bearer " TOKEN);

	cr_assert_eq(r.status, 204);
	gbt_response_free(&r);
	r = delete_message(id, "Bearer " TOKEN);
	api_assert_error(&r, 404, "not_found", NULL, NULL);
	gbt_response_free(&r);
	r = delete_message("424242", "Bearer " TOKEN);
	api_assert_error(&r, 404, "not_found", NULL, NULL);
	gbt_response_free(&r);
	free(id);
}

Test(api_guards, delete_without_or_with_a_wrong_token_is_401,
     .init = start_with_token, .fini = api_stop, .timeout = 30)
{
	static const char *const wrong[] = {
	    NULL,
	    "Bearer wrong",
	    "Bearer " TOKEN "x",
	    "Bearer s3cret-Token_4",
	    "Basic czNjcmV0",
	    TOKEN,
	};
	char *id = api_create("A", "m");

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		struct gbt_response r = delete_message(id, wrong[i]);

		assert_unauthorized(&r);
		gbt_response_free(&r);
	}
	assert_status_of_get(id, 200);
	free(id);
}

Test(api_guards, unauthorized_delete_does_not_reveal_existence,
     .init = start_with_token, .fini = api_stop, .timeout = 30)
{
	struct gbt_response r = delete_message("424242", NULL);

	assert_unauthorized(&r);
	gbt_response_free(&r);
}

Test(api_guards, without_admin_token_moderation_is_off_and_delete_is_401,
     .init = api_start_default, .fini = api_stop, .timeout = 30)
{
	char *id = api_create("A", "m");
	struct gbt_response r = delete_message(id, "Bearer anything");

	assert_unauthorized(&r);
	cr_assert_neq(strstr(r.body, "moderation is disabled"), NULL, "%s",
		      r.body);
	gbt_response_free(&r);
	r = delete_message(id, "Bearer ");
	assert_unauthorized(&r);
	gbt_response_free(&r);
	assert_status_of_get(id, 200);
	free(id);
}

/* Writes `text` into a file in a fresh temporary directory; static path. */
static const char *write_temp_file(const char *text)
{
	static char path[128];
	char dir[] = "/tmp/gb-api-token-XXXXXX";
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/token", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

Test(api_guards, admin_token_file_is_read_and_trimmed, .fini = api_stop,
     .timeout = 30)
{
	const char *path = write_temp_file("  " TOKEN "\n");
	const char *extra[] = {"--rate-limit", "0", "--admin-token-file", path,
			       NULL};
	char dir[128];
	char *id;
	struct gbt_response r;

	api_start(extra);
	id = api_create("A", "m");
	r = delete_message(id, "Bearer " TOKEN);
	cr_assert_eq(r.status, 204, "%s", r.body);
	gbt_response_free(&r);
	free(id);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	unlink(path);
	rmdir(dir);
}

Test(api_guards, unreadable_admin_token_file_stops_the_start, .timeout = 30)
{
	char dir[512], plugins[512];
	const char *args[16];
	char *out = NULL;
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/gb-api-missing-%d.db", (int)getpid());
	snprintf(plugins, sizeof(plugins), "%s", gbt_build_path("plugins"));
	args[0] = "--listen";
	args[1] = "127.0.0.1:0";
	args[2] = "--plugin-dir";
	args[3] = plugins;
	args[4] = "--plugins";
	args[5] = "api";
	args[6] = "--storage";
	args[7] = "sqlite";
	args[8] = "--sqlite-path";
	args[9] = dir;
	args[10] = "--admin-token-file";
	args[11] = "/nonexistent/gb-admin-token";
	args[12] = NULL;
	rc = gbt_run(args, NULL, &out);
	cr_assert_eq(rc, 2, "exit status %d, output: %s", rc, out ? out : "");
	cr_assert_neq(strstr(out, "admin_token_file"), NULL, "%s", out);
	free(out);
	unlink(dir);
}

static void start_rate_limited(void)
{
	static const char *const extra[] = {"--rate-limit", "2", NULL};

	api_start(extra);
}

/* Posts until refused (at most 10 tries); returns the accepted count. */
static int post_until_refused(const char *path, struct gbt_response *refused)
{
	for (int i = 0; i < 10; i++) {
		struct gbt_response r = api_post_message(path, "A", "rate me");

		if (r.status == 429) {
			*refused = r;
			return i;
		}
		cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
		gbt_response_free(&r);
	}
	cr_assert_fail("never rate limited");
	return -1;
}

static void assert_rate_limited(const struct gbt_response *r)
{
	const char *retry;
	char *end;
	long seconds;

	api_assert_error(r, 429, "rate_limited", NULL, NULL);
	retry = gbt_header(r, "Retry-After");
	cr_assert_not_null(retry, "no Retry-After");
	seconds = strtol(retry, &end, 10);
	cr_assert_eq(*end, '\0', "Retry-After %s", retry);
	cr_assert(seconds >= 1 && seconds <= 60, "Retry-After %ld", seconds);
}

Test(api_guards, posting_too_fast_is_429_with_retry_after,
     .init = start_rate_limited, .fini = api_stop, .timeout = 30)
{
	struct gbt_response r;
	int accepted = post_until_refused("/api/v1/messages", &r);
	char *list;
	cJSON *j;

	cr_assert_geq(accepted, 1, "the first post must pass");
	assert_rate_limited(&r);
	gbt_response_free(&r);

	/* the legacy route shares the limit; refused posts store nothing */
	r = api_post_message("/messages", "A", "legacy too fast");
	assert_rate_limited(&r);
	gbt_response_free(&r);
	list = api_body_of("/api/v1/messages", 200);
	j = cJSON_Parse(list);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "messages")),
		     accepted);
	cJSON_Delete(j);
	free(list);
}

Test(api_guards, reads_are_not_rate_limited, .init = start_rate_limited,
     .fini = api_stop, .timeout = 30)
{
	for (int i = 0; i < 20; i++) {
		struct gbt_response r = api_get("/api/v1/messages");

		cr_assert_eq(r.status, 200);
		gbt_response_free(&r);
	}
}
