#!/usr/bin/env python3
"""Checks rendered chart manifests for what the schemas cannot see: the
platform's own rules (Pod Security "restricted" plus a read-only root
filesystem, resources, probes, recommended labels, grace period matched to
the drain settings, default-deny NetworkPolicies, Ingresses that carry the
edge limits and route no internal endpoint) and, for the default
values, the names and ports the original platform used.

usage: chart_policy.py [--defaults] CHART RENDERED.yaml
"""
import sys

import yaml

LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance",
          "app.kubernetes.io/version", "app.kubernetes.io/component",
          "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
          "helm.sh/chart"]

errors = []


def err(obj, msg):
    errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {msg}")


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def check_pod(obj, spec, app):
    psc = spec.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        err(obj, "pod securityContext.runAsNonRoot must be true")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        err(obj, "pod seccompProfile must be RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        err(obj, "automountServiceAccountToken must be false")
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            err(obj, f"container {c['name']}: allowPrivilegeEscalation must be false")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            err(obj, f"container {c['name']}: capabilities must drop ALL")
        if sc.get("capabilities", {}).get("add"):
            err(obj, f"container {c['name']}: adds capabilities")
        if sc.get("readOnlyRootFilesystem") is not True:
            err(obj, f"container {c['name']}: readOnlyRootFilesystem must be true")
        if sc.get("privileged"):
            err(obj, f"container {c['name']}: privileged")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    err(obj, f"container {c['name']}: resources.{kind}.{r} missing")
        if ":latest" in c["image"] or (":" not in c["image"].split("/")[-1] and "@" not in c["image"]):
            err(obj, f"container {c['name']}: image {c['image']} has no fixed tag")
    if obj["kind"] == "Pod":
        return
    main = spec["containers"][0]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if probe not in main:
            err(obj, f"{probe} missing")
    if app:
        if main["livenessProbe"].get("httpGet", {}).get("path") != "/health":
            err(obj, "livenessProbe must GET /health")
        if main["readinessProbe"].get("httpGet", {}).get("path") != "/ready":
            err(obj, "readinessProbe must GET /ready")
        if main["startupProbe"].get("httpGet", {}).get("path") != "/health":
            err(obj, "startupProbe must GET /health")
        env = env_of(main)
        need = int(env.get("GUESTBOOK_DRAIN_SECONDS") or 0) + int(env.get("GUESTBOOK_SHUTDOWN_TIMEOUT") or 0)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace <= need:
            err(obj, f"terminationGracePeriodSeconds {grace} leaves no time after drain + shutdown ({need}s)")
        for name in ("PORT", "GUESTBOOK_ROLE", "GUESTBOOK_LOG_FORMAT", "GUESTBOOK_DRAIN_SECONDS",
                     "GUESTBOOK_SHUTDOWN_TIMEOUT"):
            if name not in env:
                err(obj, f"env {name} missing")
        mounts = {m["mountPath"] for m in main.get("volumeMounts", [])}
        for m in ("/var/lib/guestbook", "/tmp"):
            if m not in mounts:
                err(obj, f"no writable volume at {m} (the root filesystem is read-only)")
        ports = {p["name"]: p["containerPort"] for p in main.get("ports", [])}
        if "http-server" not in ports:
            err(obj, "container port http-server missing")


# guestbookd's endpoints for the cluster alone: Prometheus scrapes
# /metrics, the kubelet probes /ready and /health.
INTERNAL_PATHS = ["/metrics", "/ready", "/health"]
# The ingress-nginx settings every Ingress carries (deploy/edge/ has the
# same limits for a single host).
INGRESS_ANNOTATIONS = ["proxy-body-size", "proxy-read-timeout", "limit-connections"]


def ingress_routes(path, path_type, target):
    """Whether an Ingress path of path_type sends a request for target to
    the Service: Exact by equality, Prefix by whole segments,
    ImplementationSpecific as ingress-nginx does (a string prefix)."""
    if path_type == "Exact":
        return path == target
    if path_type == "Prefix":
        return (target + "/").startswith(path.rstrip("/") + "/")
    return target.startswith(path)


def check_ingress(obj):
    ann = obj["metadata"].get("annotations") or {}
    for a in INGRESS_ANNOTATIONS:
        if "nginx.ingress.kubernetes.io/" + a not in ann:
            err(obj, f"annotation nginx.ingress.kubernetes.io/{a} missing")
    for rule in obj["spec"].get("rules", []):
        for p in rule.get("http", {}).get("paths", []):
            for target in INTERNAL_PATHS:
                if ingress_routes(p["path"], p["pathType"], target):
                    err(obj, f"path {p['path']} ({p['pathType']}) routes {target} "
                             "to the public")


def main():
    args = sys.argv[1:]
    defaults = args[0] == "--defaults"
    if defaults:
        args = args[1:]
    chart, path = args
    app = chart in ("guestbook-backend", "guestbook-frontend")
    role = chart.split("-", 1)[1]
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    kinds = {}
    for obj in docs:
        kinds.setdefault(obj["kind"], []).append(obj)
        labels = obj["metadata"].get("labels", {})
        for l in LABELS:
            if l not in labels:
                err(obj, f"label {l} missing")
        if obj["kind"] in ("Deployment", "StatefulSet"):
            tl = obj["spec"]["template"]["metadata"].get("labels", {})
            for l in LABELS:
                if l not in tl:
                    err(obj, f"pod template label {l} missing")
            check_pod(obj, obj["spec"]["template"]["spec"], app)
        elif obj["kind"] == "Ingress":
            check_ingress(obj)
        elif obj["kind"] == "Pod":
            check_pod(obj, obj["spec"], app)
            hook = obj["metadata"].get("annotations", {}).get("helm.sh/hook")
            if hook != "test":
                err(obj, "a bare Pod must be a helm test hook")

    workload = "Deployment" if app else "StatefulSet"
    if len(kinds.get(workload, [])) != 1:
        errors.append(f"expected one {workload}, found {len(kinds.get(workload, []))}")
    if kinds.get("NetworkPolicy"):
        deny = [np for np in kinds["NetworkPolicy"]
                if set(np["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                and not np["spec"].get("ingress") and not np["spec"].get("egress")]
        if not deny:
            errors.append("NetworkPolicies without a default-deny policy")
        dns = [np for np in kinds["NetworkPolicy"]
               if any(p.get("port") == 53 for e in np["spec"].get("egress", []) for p in e.get("ports", []))]
        if not dns:
            errors.append("NetworkPolicies without DNS egress")

    if defaults:
        names = {"backend": "python-guestbook-backend", "frontend": "python-guestbook-frontend",
                 "mongodb": "python-guestbook-mongodb"}
        svcs = kinds.get("Service", [])
        if [s["metadata"]["name"] for s in svcs] != [names[role]]:
            errors.append(f"default Service must be {names[role]}, got {[s['metadata']['name'] for s in svcs]}")
        for kind in ["NetworkPolicy", "ServiceAccount"] + (
                ["ServiceMonitor", "PodDisruptionBudget", "Pod"] if app else ["Secret", "Pod"]):
            if not kinds.get(kind):
                errors.append(f"default values render no {kind}")
        if app:
            ports = svcs[0]["spec"]["ports"] if svcs else []
            if not any(p["name"] == "http-server" and p["port"] == 8080 for p in ports):
                errors.append("Service needs port http-server 8080")
            sm = kinds.get("ServiceMonitor", [{}])[0]
            eps = sm.get("spec", {}).get("endpoints", [])
            if not any(e.get("path") == "/metrics" and e.get("port") == "http-server" for e in eps):
                errors.append("ServiceMonitor must scrape /metrics on port http-server")
            env = env_of(kinds["Deployment"][0]["spec"]["template"]["spec"]["containers"][0])
            if env.get("GUESTBOOK_ROLE") != role:
                errors.append(f"GUESTBOOK_ROLE must be {role}")
        if role == "frontend":
            ing = kinds.get("Ingress", [])
            hosts = [r.get("host") for i in ing for r in i["spec"]["rules"]]
            if hosts != ["localhost"]:
                errors.append(f"frontend Ingress host must be localhost, got {hosts}")
        if role == "mongodb":
            sts = kinds["StatefulSet"][0]["spec"]
            if not sts.get("volumeClaimTemplates"):
                errors.append("MongoDB StatefulSet needs a volumeClaimTemplate")
            if not any(s["spec"].get("clusterIP") == "None" for s in svcs):
                errors.append("MongoDB Service must be headless")

    for e in errors:
        print(f"{path}: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
