/* Reason phrases of the statuses civetweb itself may answer with
 * (through the host's http_error callback). */
#include <criterion/criterion.h>

#include "request.h"

Test(review_request, statuses_civetweb_answers_have_their_reason_phrase)
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
