#!/usr/bin/env python3
"""Serves Kubernetes' published OpenAPI v3 documents the way an API server
does (GET /openapi/v3 and /openapi/v3/<group-version>), on 127.0.0.1.

kubectl-validate v0.0.4, the newest release on the Go module proxy, embeds
schemas only up to Kubernetes 1.30 and fetches newer ones from GitHub. With
a kubeconfig pointing here, it reads the 1.33 documents shipped in the
k8s.io/kubernetes module (api/openapi-spec/v3) instead: offline, and
exactly the schemas of the release we validate against.

usage: openapi_server.py SPEC_DIR PORT_FILE
Writes the port it listens on to PORT_FILE, then serves until killed.
"""
import http.server
import json
import os
import re
import sys

SPEC_DIR = sys.argv[1]
DOCS = {}
for name in os.listdir(SPEC_DIR):
    # api__v1_openapi.json, apis__apps__v1_openapi.json
    m = re.fullmatch(r"(api|apis)__(.+)_openapi\.json", name)
    if not m or (m.group(1) == "apis" and "__" not in m.group(2)):
        continue
    DOCS[m.group(1) + "/" + m.group(2).replace("__", "/")] = os.path.join(SPEC_DIR, name)
if "api/v1" not in DOCS:
    sys.exit(f"no api__v1_openapi.json in {SPEC_DIR}")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_json(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/openapi/v3":
            paths = {gv: {"serverRelativeURL": "/openapi/v3/" + gv} for gv in DOCS}
            return self.send_json(json.dumps({"paths": paths}).encode())
        gv = path[len("/openapi/v3/"):] if path.startswith("/openapi/v3/") else None
        if gv in DOCS:
            with open(DOCS[gv], "rb") as f:
                return self.send_json(f.read())
        self.send_error(404)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
