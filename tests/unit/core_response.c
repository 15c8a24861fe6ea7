/*
 * core_response.c - the answer a handler gives: one final answer per
 * request, the reason phrases, and the statuses a handler may use.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "request.h"

/* Reason phrases of the statuses civetweb itself may answer with
 * (through the host's http_error callback). */
Test(response, statuses_civetweb_answers_have_their_reason_phrase)
{
	cr_assert_str_eq(gb_status_text(408), "Request Timeout");
	cr_assert_str_eq(gb_status_text(411), "Length Required");
	cr_assert_str_eq(gb_status_text(414), "URI Too Long");
	cr_assert_str_eq(gb_status_text(416), "Range Not Satisfiable");
	cr_assert_str_eq(gb_status_text(417), "Expectation Failed");
	cr_assert_str_eq(gb_status_text(431),
			 "Request Header Fields Too Large");
	cr_assert_str_eq(gb_status_text(501), "Not Implemented");
	cr_assert_str_eq(gb_status_text(505), "HTTP Version Not Supported");
}

/* A handler that answers twice keeps its first answer untouched: the
 * second error must not slip a Retry-After into the first response. */
Test(response, error_after_an_answer_changes_nothing)
{
	static struct gb_request req; /* large: not on the stack */

	memset(&req, 0, sizeof req);
	cr_assert_eq(gb_respond(&req, 200, "text/plain", "hi", 2), GB_OK);
	cr_assert_eq(
	    gb_respond_error(&req, 503, "storage_unavailable", "down", NULL),
	    GB_ERR_STATE);
	cr_assert_eq(req.status, 200);
	cr_assert_null(strstr(req.headers, "Retry-After"), "%s", req.headers);
	gb_request_release(&req);
}

Test(response, redirect_after_an_answer_changes_nothing)
{
	static struct gb_request req;

	memset(&req, 0, sizeof req);
	cr_assert_eq(gb_respond(&req, 200, "text/plain", "hi", 2), GB_OK);
	cr_assert_eq(gb_redirect(&req, 303, "/"), GB_ERR_STATE);
	cr_assert_eq(req.status, 200);
	cr_assert_null(strstr(req.headers, "Location"), "%s", req.headers);
	gb_request_release(&req);
}

/* A 1xx is not a final answer: the client would wait for the real one
 * until it times out. The handler's mistake becomes the host's 500. */
Test(response, informational_status_is_not_a_final_answer)
{
	static struct gb_request req;

	memset(&req, 0, sizeof req);
	cr_assert_eq(gb_respond(&req, 100, "text/plain", "", 0),
		     GB_ERR_INVALID);
	cr_assert_eq(gb_respond(&req, 199, "text/plain", "", 0),
		     GB_ERR_INVALID);
	cr_assert_eq(req.responded, 0);
	cr_assert_eq(gb_respond(&req, 200, "text/plain", "", 0), GB_OK);
	gb_request_release(&req);
}
