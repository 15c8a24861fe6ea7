/*
 * storage_http_conformance.c - the shared storage conformance suite
 * (tests/lib/conformance.h) against the "http" back end: the real host
 * with --storage http in this process, over a live backend guestbookd
 * (--role backend --storage sqlite) started through the harness. It is
 * also the contract test between the two roles: every store operation of
 * a front end goes through the backend's v1 API and back.
 *
 * The backend serves only "messages", stamps its own "date" and accepts
 * messages of up to GB_MESSAGE_MAX_CHARS (1000) characters; the suite's
 * options say so.
 *
 * One backend per test process (Criterion runs each test in its own):
 * the first start() launches it, later start() calls (the persistence
 * test restarts the host) reach the same backend and so the same data,
 * and cleanup stops it. An atexit handler stops it too when a test
 * aborts before its cleanup runs, so no backend outlives its test.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "conformance.h"
#include "harness.h"
#include "host.h"
#include "message.h"

#define ADMIN_TOKEN "conformance-token"

static struct gbt_server backend;
static char backend_url[64];

/* Stops the backend of this process, if it runs. */
static void backend_stop(void)
{
	if (backend.pid > 0)
		gbt_server_stop(&backend, SIGTERM);
}

static void backend_start(void)
{
	static const char *const args[] = {
	    "--role", "backend",       "--storage", "sqlite", "--rate-limit",
	    "0",      "--admin-token", ADMIN_TOKEN, NULL};
	static int stop_registered;

	if (!stop_registered) {
		cr_assert_eq(atexit(backend_stop), 0);
		stop_registered = 1;
	}
	cr_assert_eq(gbt_server_start(&backend, args, NULL), 0,
		     "backend guestbookd (--role backend --storage sqlite) "
		     "did not start");
	snprintf(backend_url, sizeof(backend_url), "http://127.0.0.1:%d",
		 backend.port);
}

static void http_start(void)
{
	if (backend.pid <= 0)
		backend_start();
	const char *args[] = {"--storage", "http",	    "--backend-url",
			      backend_url, "--admin-token", ADMIN_TOKEN,
			      NULL};
	gb_conformance_host_start(args);
}

static const char *const backend_stamped_fields[] = {"date", NULL};

static const struct gb_conformance_backend http_backend = {
    .name = "http",
    .start = http_start,
    .stop = gb_host_stop,
    .cleanup = backend_stop,
    .collection = GB_MESSAGES_COLLECTION,
    .single_collection = 1,
    .cannot_count = 1,
    .store_set_fields = backend_stamped_fields,
    /* the backend's longest message (ASCII: one byte a character) */
    .large_doc_bytes = GB_MESSAGE_MAX_CHARS,
};

GB_CONFORMANCE_SUITE(http_conformance, http_backend)
