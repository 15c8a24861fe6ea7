#!/usr/bin/env python3
"""Check the guestbookd environment in the rendered backend and frontend
Deployments against the roles and settings in the README ("Roles",
"Settings") and deploy/README.md:

backend:  GUESTBOOK_ROLE=backend, GUESTBOOK_STORAGE=mongo, and
          GUESTBOOK_MONGO_URI from a Secret or GUESTBOOK_DB_ADDR;
frontend: GUESTBOOK_ROLE=frontend and GUESTBOOK_API_ADDR=<backend Service>:8080
          (or GUESTBOOK_BACKEND_URL), where the backend Service is the one the
          backend chart renders;
both:     OTEL_EXPORTER_OTLP_ENDPOINT on the same collector, and an egress
          NetworkPolicy rule to the collector's port.

Usage: app_wiring.py BACKEND.yaml FRONTEND.yaml
"""
import sys

import yaml


def objects(path):
    with open(path) as f:
        return [o for o in yaml.safe_load_all(f) if isinstance(o, dict)]


def guestbook_env(objs):
    for o in objs:
        if o.get("kind") != "Deployment":
            continue
        for c in o["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e for e in c.get("env") or []}
            if "GUESTBOOK_ROLE" in env:
                return o["metadata"]["name"], env
    raise SystemExit("no Deployment with GUESTBOOK_ROLE")


def value(env, name):
    return (env.get(name) or {}).get("value")


def tracing_errors(label, objs, env):
    """Spans leave for OTLP_ENDPOINT's port, and a policy lets them."""
    endpoint = value(env, "OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return [f"{label}: no OTEL_EXPORTER_OTLP_ENDPOINT (tracing off)"]
    hostport = endpoint.split("://", 1)[-1].split("/", 1)[0]
    port = int(hostport.rsplit(":", 1)[1]) if ":" in hostport else 80
    ports = {
        p.get("port")
        for o in objs if o.get("kind") == "NetworkPolicy"
        for rule in o["spec"].get("egress") or []
        for p in rule.get("ports") or []
    }
    if port not in ports:
        return [f"{label}: no egress NetworkPolicy rule for the collector's port {port} ({sorted(map(str, ports))})"]
    return []


def main(backend_path, frontend_path):
    errs = []
    backend = objects(backend_path)
    name, env = guestbook_env(backend)
    if value(env, "GUESTBOOK_ROLE") != "backend":
        errs.append(f"backend {name}: GUESTBOOK_ROLE={value(env, 'GUESTBOOK_ROLE')!r}")
    if value(env, "GUESTBOOK_STORAGE") != "mongo":
        errs.append(f"backend {name}: GUESTBOOK_STORAGE={value(env, 'GUESTBOOK_STORAGE')!r}")
    uri = env.get("GUESTBOOK_MONGO_URI", {}).get("valueFrom", {}).get("secretKeyRef")
    if not uri and not value(env, "GUESTBOOK_DB_ADDR"):
        errs.append(f"backend {name}: neither GUESTBOOK_MONGO_URI from a Secret nor GUESTBOOK_DB_ADDR")
    if "GUESTBOOK_MONGO_URI" in env and not uri:
        errs.append(f"backend {name}: GUESTBOOK_MONGO_URI must come from a Secret, not a literal")
    services = {
        f"{o['metadata']['name']}:{p['port']}"
        for o in backend if o.get("kind") == "Service"
        for p in o["spec"].get("ports") or []
    }

    fname, fenv = guestbook_env(objects(frontend_path))
    if value(fenv, "GUESTBOOK_ROLE") != "frontend":
        errs.append(f"frontend {fname}: GUESTBOOK_ROLE={value(fenv, 'GUESTBOOK_ROLE')!r}")
    api = value(fenv, "GUESTBOOK_API_ADDR")
    url = value(fenv, "GUESTBOOK_BACKEND_URL")
    if url:
        target = url.split("://", 1)[-1].split("/", 1)[0]
    else:
        target = api
    if target not in services or not str(target).endswith(":8080"):
        errs.append(f"frontend {fname}: backend address {target!r} is not a backend Service port 8080 {sorted(services)}")

    for label, objs, env_ in (("backend", backend, env),
                              ("frontend", objects(frontend_path), fenv)):
        errs += tracing_errors(label, objs, env_)
    if value(env, "OTEL_EXPORTER_OTLP_ENDPOINT") != value(fenv, "OTEL_EXPORTER_OTLP_ENDPOINT"):
        errs.append("backend and frontend send spans to different collectors")

    for e in errs:
        print(e, file=sys.stderr)
    if not errs:
        print(f"backend {name} and frontend {fname} wired: frontend -> {target}")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
