#!/usr/bin/env python3
"""Check the observability values exactly as Terraform renders them (the
JSON `tofu console` prints for the expression in 50-terraform.sh):

1. Grafana datasources under Grafana's own provisioning rule. Grafana
   expands environment variables in the strings of a provisioned
   datasource (pkg/services/provisioning/values/values.go): it splits each
   string on "$$", runs os.ExpandEnv on every piece and joins them with
   "$". A link template such as ${__value.raw} in a derived field is taken
   for a variable and becomes "" unless it arrives as $${__value.raw}. The
   check expands every string the same way (a reference to a variable
   that is not an UPPER_CASE environment name is an error) and requires
   the Loki derived fields and the Jaeger trace-to-logs query to keep
   their ${...} templates.
2. Alloy keeps its storagePath (loki.source.file's positions) on a hostPath
   volume, and sends trace_id and span_id to Loki as structured metadata.
3. Jaeger: OTLP/HTTP and the query API on the ports the apps, Grafana and
   the NetworkPolicies use, in-memory or badger storage, the Ingress host;
   Prometheus with exemplar storage on; Grafana's exemplar link to Jaeger.
   Writes Jaeger's configuration to OUTDIR/jaeger-config.yaml for
   `jaeger validate`.

Usage: observability_values.py CONSOLE_OUTPUT OUTDIR
"""
import json
import pathlib
import re
import sys

import yaml


# ---- Go's os.Expand, as Grafana calls it -------------------------------

def _special(c):
    return c in "*#$@!?-" or c.isdigit()


def _alnum(c):
    return c == "_" or c.isascii() and c.isalnum()


def _shell_name(s):
    """Go's getShellName: (name, width)."""
    if s[0] == "{":
        if len(s) > 2 and _special(s[1]) and s[2] == "}":
            return s[1:2], 3
        for i in range(1, len(s)):
            if s[i] == "}":
                if i == 1:
                    return "", 2  # "${}": bad syntax, eaten
                return s[1:i], i + 1
        return "", 1  # no closing brace: "${" eaten
    if _special(s[0]):
        return s[0:1], 1
    i = 0
    while i < len(s) and _alnum(s[i]):
        i += 1
    return s[:i], i


def go_expand(s, mapping):
    buf, i, j = [], 0, 0
    while j < len(s):
        if s[j] == "$" and j + 1 < len(s):
            buf.append(s[i:j])
            name, w = _shell_name(s[j + 1:])
            if name == "" and w > 0:
                pass  # bad syntax: the characters are dropped
            elif name == "":
                buf.append(s[j])
            else:
                buf.append(mapping(name))
            j += w
            i = j + 1
        j += 1
    return "".join(buf) + s[i:]


def grafana_interpolate(s, refs):
    """Grafana's interpolateValue; names looked up go into refs."""
    def lookup(name):
        refs.append(name)
        return ""  # what an unset variable gives
    return "$".join(go_expand(part, lookup) for part in s.split("$$"))


ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def strings(obj, path=""):
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from strings(v, f"{path}.{k}" if path else k)
    elif isinstance(obj, list):
        for n, v in enumerate(obj):
            yield from strings(v, f"{path}[{n}]")


def provisioned(ds):
    """The datasource as Grafana uses it after provisioning."""
    def walk(o, errs, where):
        if isinstance(o, str):
            refs = []
            out = grafana_interpolate(o, refs)
            for r in refs:
                if not ENV_NAME.match(r):
                    errs.append(
                        f"{where}: Grafana reads ${{{r}}} in {o!r} as an "
                        f"environment variable and replaces it (with \"\" "
                        f"here); write $$$${{{r}}} in HCL so it arrives as "
                        f"$${{{r}}}")
            return out
        if isinstance(o, dict):
            return {k: walk(v, errs, f"{where}.{k}") for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v, errs, f"{where}[{n}]") for n, v in enumerate(o)]
        return o
    errs = []
    out = walk(ds, errs, ds.get("name", "datasource"))
    return out, errs


def check_grafana(v, errs):
    by_uid = {}
    for ds in v["grafana_datasources"]:
        final, e = provisioned(ds)
        errs += e
        by_uid[ds.get("uid")] = final
    loki, jaeger = by_uid.get("loki"), by_uid.get("jaeger")
    if not loki or not jaeger:
        errs.append(f"Grafana needs datasources uid loki and jaeger, has {sorted(map(str, by_uid))}")
        return
    fields = {f["name"]: f for f in loki.get("jsonData", {}).get("derivedFields", [])}
    rid, tid = fields.get("request_id"), fields.get("trace_id")
    if not rid or "${__value.raw}" not in rid.get("url", ""):
        errs.append(f"Loki derived field request_id must link with ${{__value.raw}}, Grafana gets {rid and rid.get('url')!r}")
    if not tid or tid.get("url") != "${__value.raw}" or tid.get("datasourceUid") != "jaeger":
        errs.append(f"Loki derived field trace_id must open ${{__value.raw}} in datasource jaeger, Grafana gets {tid!r}")
    t2l = jaeger.get("jsonData", {}).get("tracesToLogsV2", {})
    if t2l.get("datasourceUid") != "loki" or "${__trace.traceId}" not in t2l.get("query", ""):
        errs.append(f"Jaeger tracesToLogsV2 must query Loki with ${{__trace.traceId}}, Grafana gets {t2l!r}")
    if not jaeger.get("url") == v["jaeger_query_url"]:
        errs.append(f"Jaeger datasource url {jaeger.get('url')!r} is not the query service {v['jaeger_query_url']!r}")
    ex = v["grafana_sidecar_datasources"].get("exemplarTraceIdDestinations") or {}
    if ex.get("datasourceUid") != "jaeger" or ex.get("traceIdLabelName") != "trace_id":
        errs.append(f"Prometheus datasource exemplars must link trace_id to jaeger, got {ex!r}")


def check_alloy(v, errs):
    alloy = v["alloy"]["alloy"]
    storage = alloy.get("storagePath", "/tmp/alloy")
    mounts = {m["name"]: m["mountPath"] for m in alloy.get("mounts", {}).get("extra", [])}
    volumes = {x["name"]: x for x in v["alloy"].get("controller", {}).get("volumes", {}).get("extra", [])}
    on_host = [n for n, p in mounts.items()
               if (storage == p or storage.startswith(p.rstrip("/") + "/"))
               and "hostPath" in volumes.get(n, {})]
    if not on_host:
        errs.append(f"Alloy storagePath {storage!r} is on no hostPath volume: a new Alloy pod "
                    "would read every log file from the start and send it to Loki again")
    config = alloy.get("configMap", {}).get("content", "")
    m = re.search(r"stage\.structured_metadata\s*\{\s*values\s*=\s*\{([^}]*)\}", config)
    keys = set(re.findall(r"(\w+)\s*=", m.group(1))) if m else set()
    for k in ("request_id", "trace_id", "span_id"):
        if k not in keys:
            errs.append(f"Alloy does not send {k} as structured metadata (has {sorted(keys)})")


def port_of(endpoint):
    return int(str(endpoint).rsplit(":", 1)[1])


def check_jaeger(v, errs, outdir):
    values = v["jaeger"]
    cfg = values.get("userconfig") or {}
    exts = cfg.get("extensions", {})
    backends = exts.get("jaeger_storage", {}).get("backends", {})
    store = exts.get("jaeger_query", {}).get("storage", {}).get("traces")
    if store not in backends or not ({"memory", "badger"} & set(backends[store])):
        errs.append(f"Jaeger must keep traces in memory or badger, query storage {store!r} of {backends!r}")
    exporter = cfg.get("exporters", {}).get("jaeger_storage_exporter", {}).get("trace_storage")
    if exporter != store:
        errs.append(f"Jaeger stores into {exporter!r} but queries {store!r}")
    http = cfg.get("receivers", {}).get("otlp", {}).get("protocols", {}).get("http", {})
    otlp_port = port_of(v["jaeger_otlp_url"])
    if "endpoint" not in http or port_of(http["endpoint"]) != otlp_port or \
            not http["endpoint"].startswith("0.0.0.0:"):
        errs.append(f"Jaeger OTLP/HTTP receiver {http!r} is not 0.0.0.0:{otlp_port}")
    if "otlp" not in cfg.get("service", {}).get("pipelines", {}).get("traces", {}).get("receivers", []):
        errs.append("Jaeger's traces pipeline does not receive OTLP")
    qhttp = exts.get("jaeger_query", {}).get("http", {}).get("endpoint", "")
    if not qhttp or port_of(qhttp) != port_of(v["jaeger_query_url"]):
        errs.append(f"Jaeger query endpoint {qhttp!r} does not serve {v['jaeger_query_url']!r}")
    host = v["jaeger_otlp_url"].split("://", 1)[1].split(".", 1)[0]
    if values.get("fullnameOverride") != host:
        errs.append(f"the Jaeger Service is {values.get('fullnameOverride')!r}, the apps call {host!r}")
    ing = values.get("jaeger", {}).get("ingress", {})
    if not ing.get("enabled") or "jaeger.localhost" not in ing.get("hosts", []):
        errs.append(f"Jaeger Ingress must serve jaeger.localhost: {ing!r}")
    app = v["app"]
    if app.get("tracing", {}).get("otlpEndpoint") != v["jaeger_otlp_url"]:
        errs.append(f"the apps send spans to {app.get('tracing')!r}, not {v['jaeger_otlp_url']!r}")
    np = app.get("networkPolicy", {}).get("tracing", {})
    if np.get("port") != otlp_port:
        errs.append(f"the apps' egress to Jaeger allows port {np.get('port')!r}, OTLP is {otlp_port}")
    labels = np.get("podSelector", {}).get("matchLabels", {})
    chart_labels = {"app.kubernetes.io/name": "jaeger", "app.kubernetes.io/instance": "jaeger"}
    if not labels or any(chart_labels.get(k, labels[k]) != labels[k] for k in labels) or \
            not set(labels) <= set(chart_labels) | {"app.kubernetes.io/component"}:
        errs.append(f"the apps' egress selects pods {labels!r}, not the Jaeger chart's")
    ns = np.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
    if ns != v["monitoring_namespace"]:
        errs.append(f"the apps' egress to Jaeger selects namespace {ns!r}")
    (outdir / "jaeger-config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def check_prometheus(v, errs):
    spec = v["prometheus"].get("prometheusSpec", {})
    if "exemplar-storage" not in spec.get("enableFeatures", []):
        errs.append("Prometheus runs without --enable-feature=exemplar-storage")


def main(console, outdir):
    text = console.read_text().strip()
    # console prints the JSON as an HCL string literal, doubling "${".
    text = text.replace("$${", "${").replace("%%{", "%{")
    v = json.loads(json.loads(text))
    errs = []
    check_grafana(v, errs)
    check_alloy(v, errs)
    check_jaeger(v, errs, outdir)
    check_prometheus(v, errs)
    for e in errs:
        print(e, file=sys.stderr)
    if not errs:
        print("Grafana datasources survive Grafana's env expansion; Alloy state on a "
              "hostPath; Jaeger, Prometheus exemplars and the apps' tracing agree")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))
