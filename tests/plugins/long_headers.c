/* Answers with more header bytes than the host keeps free in front of a
 * body (GB_RESPONSE_HEAD_ROOM, 1 KiB), so that the host sends the head
 * and the body apart: GET /long-headers?n=N adds N headers of 64 bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestbook/plugin.h"

static const struct gb_host_api *api;

static void long_headers(struct gb_request *req, void *ud)
{
	static const char body[] = "{\"whole\":true}";
	char buf[8], name[24], value[64];
	int n = api->req_query(req, "n", buf, sizeof buf) > 0 ? atoi(buf) : 0;

	(void)ud;
	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = '\0';
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "X-Long-%02d", i);
		if (api->res_header(req, name, value) != GB_OK)
			break;
	}
	api->respond(req, 200, "application/json", body, sizeof body - 1);
}

static int long_init(struct gb_plugin *self, const struct gb_host_api *host)
{
	api = host;
	return api->route_add(self, GB_GET, "/long-headers", long_headers, NULL,
			      0) != GB_OK;
}

GB_PLUGIN(GB_PLUGIN_ROUTE, "long_headers", "1.0.0",
	  "answers with headers longer than the head room", NULL, long_init,
	  NULL);
