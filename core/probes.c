#include "probes.h"

#include "request.h"
#include "router.h"
#include "server.h"
#include "storage.h"

static void health(struct gb_request *req, void *ud)
{
	(void)ud;
	static const char body[] = "{\"status\":\"ok\"}";
	gb_respond(req, 200, "application/json", body, sizeof body - 1);
}

static void ready(struct gb_request *req, void *ud)
{
	(void)ud;
	char detail[256];
	int ok = gb_storage_ready(detail, sizeof detail);
	int down = gb_server_shutting_down();
	cJSON *root = cJSON_CreateObject();
	cJSON *checks = cJSON_AddObjectToObject(root, "checks");
	cJSON *st = cJSON_AddObjectToObject(checks, "storage");
	cJSON_AddStringToObject(st, "backend", gb_store_name());
	cJSON_AddStringToObject(st, "status", ok ? "ok" : "fail");
	if (!ok)
		cJSON_AddStringToObject(st, "error", detail);
	int writable = gb_storage_writable(detail, sizeof detail);
	cJSON *wr = cJSON_AddObjectToObject(st, "writes");
	cJSON_AddStringToObject(wr, "status", writable ? "ok" : "fail");
	if (!writable)
		cJSON_AddStringToObject(wr, "error", detail);
	cJSON *sd = cJSON_AddObjectToObject(checks, "shutdown");
	cJSON_AddStringToObject(sd, "status", down ? "fail" : "ok");
	cJSON_AddStringToObject(root, "status",
				ok && !down ? "ready" : "not ready");
	gb_res_header(req, "Cache-Control", "no-store");
	gb_respond_json(req, ok && !down ? 200 : 503, root);
	cJSON_Delete(root);
}

int gb_probes_register(void)
{
	if (gb_router_add("core", GB_GET, "/health", health, NULL, 0) ||
	    gb_router_add("core", GB_GET, "/ready", ready, NULL, 0))
		return -1;
	return 0;
}
