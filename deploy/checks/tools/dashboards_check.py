#!/usr/bin/env python3
"""Checks the Grafana dashboards in deploy/dashboards/.

  dashboards_check.py extract DASHBOARD_DIR OUT.json
      Structure (valid JSON, unique uid, no numeric dashboard id, every
      panel and query on the ${datasource} or ${loki} variable, no
      undefined template variable), metric names against the README's "Metrics"
      section 6, LogQL through a small parser (see logql_errors). Writes
      every PromQL expression, variables substituted, to OUT.json.
  dashboards_check.py query URL OUT.json
      Sends each expression to a running Prometheus' /api/v1/query; any
      error (a parse error above all) fails.

LogQL is not checked by Loki itself (no Loki here): the parser below
knows stream selectors, line filters, json/logfmt/line_format/label
filter stages and one range aggregation inside an optional vector
aggregation, which is what the dashboards use.
"""
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

# The README's "Metrics" section, plus what the platform adds.
APP_METRICS = {
    "http_requests_total", "http_requests_in_flight",
    "http_request_duration_seconds_bucket", "http_request_duration_seconds_count",
    "http_request_duration_seconds_sum", "guestbook_messages_created_total",
    "guestbook_storage_operations_total",
    "guestbook_storage_operation_duration_seconds_bucket",
    "guestbook_storage_operation_duration_seconds_count",
    "guestbook_storage_operation_duration_seconds_sum", "guestbook_storage_up",
    "guestbook_rate_limited_total", "guestbook_build_info", "guestbook_plugin_info",
    "guestbook_uptime_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes",
    "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
    "process_start_time_seconds",
}
APP_PREFIXES = ("http_request", "guestbook_", "process_")
BUILTIN = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__auto": "1m",
           "__interval_ms": "60000", "__range_s": "3600"}
VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")

errors = []


def substitute(expr, variables, where):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTIN:
            return BUILTIN[name]
        if name in variables:
            return variables[name]
        errors.append(f"{where}: undefined variable ${name}")
        return "x"
    return VAR_RE.sub(repl, expr)


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def check_metric_names(expr, where, recorded):
    for name in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b", strip_strings(expr)):
        if name.startswith(APP_PREFIXES) and name not in APP_METRICS:
            errors.append(f"{where}: unknown metric {name} (see the README's \"Metrics\" section)")
        if ":" in name and name not in recorded:
            errors.append(f"{where}: {name} is recorded by no rule in deploy/alert_rules")


STRING = r'"(?:[^"\\]|\\.)*"'
MATCHER = rf'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*{STRING}\s*'
SELECTOR = re.compile(rf"\{{(?:{MATCHER})(?:,{MATCHER})*\}}")
STAGES = [
    re.compile(rf"\s*(?:\|=|!=|\|~|!~)\s*{STRING}"),
    re.compile(r"\s*\|\s*json(?:\s+[a-zA-Z_][a-zA-Z0-9_]*(?:\s*=\s*" + STRING + r")?"
               r"(?:\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*(?:\s*=\s*" + STRING + r")?)*)?(?=\s*(?:\||\[|\)|$))"),
    re.compile(r"\s*\|\s*logfmt(?=\s*(?:\||\[|\)|$))"),
    re.compile(rf"\s*\|\s*line_format\s+{STRING}"),
    re.compile(rf"\s*\|\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|==|=|>=|<=|>|<)\s*(?:{STRING}|[0-9.]+[a-z]*)"),
]
RANGE_FUNCS = r"(?:count_over_time|rate|bytes_over_time|bytes_rate)"
AGG = r"(?:sum|min|max|avg|count|topk|bottomk)"


def log_pipeline_rest(q):
    """Consumes a log query (selector + stages); returns what follows."""
    m = SELECTOR.match(q)
    if not m:
        return None
    rest = q[m.end():]
    while rest.strip() and not rest.lstrip().startswith(("[", ")")):
        for st in STAGES:
            sm = st.match(rest)
            if sm:
                rest = rest[sm.end():]
                break
        else:
            return None
    return rest.strip()


def logql_errors(q):
    q = q.strip()
    if not q:
        return "empty query"
    depth = 0
    for ch in strip_strings(q):
        depth += ch in "({[" and 1 or 0
        depth -= ch in ")}]" and 1 or 0
        if depth < 0:
            return "unbalanced brackets"
    if depth:
        return "unbalanced brackets"
    if q.startswith("{"):
        rest = log_pipeline_rest(q)
        return None if rest == "" else "not a stream selector followed by pipeline stages"
    m = re.match(rf"{AGG}\s*(?:by|without)\s*\(\s*\w+(?:\s*,\s*\w+)*\s*\)\s*\((.*)\)$", q, re.S) or \
        re.match(rf"{AGG}\s*\((.*)\)\s*(?:(?:by|without)\s*\(\s*\w+(?:\s*,\s*\w+)*\s*\))?$", q, re.S)
    inner = m.group(1).strip() if m else q
    m = re.match(rf"{RANGE_FUNCS}\s*\((.*)\)$", inner, re.S)
    if not m:
        return "neither a log query nor a range aggregation of one"
    rest = log_pipeline_rest(m.group(1).strip())
    if rest is None or not re.fullmatch(r"\[\s*[0-9]+(?:ms|s|m|h|d)\s*\]", rest):
        return "range aggregation needs a log query and a [duration]"
    return None


def recorded_names(rules_dir):
    import yaml
    names = set()
    for f in os.listdir(rules_dir):
        if f.endswith(".yml"):
            for g in yaml.safe_load(open(os.path.join(rules_dir, f))).get("groups", []):
                names.update(r["record"] for r in g["rules"] if "record" in r)
    return names


def panels_of(d):
    for p in d.get("panels", []):
        yield p
        yield from p.get("panels", [])


def extract(dash_dir, out):
    rules_dir = os.path.join(dash_dir, "..", "alert_rules")
    recorded = recorded_names(rules_dir)
    exprs, uids, n_logql = [], {}, 0
    files = sorted(f for f in os.listdir(dash_dir) if f.endswith(".json"))
    if not files:
        errors.append(f"no dashboards in {dash_dir}")
    for f in files:
        try:
            d = json.load(open(os.path.join(dash_dir, f)))
        except ValueError as e:
            errors.append(f"{f}: not JSON: {e}")
            continue
        if not d.get("uid") or not d.get("title"):
            errors.append(f"{f}: uid and title required")
        if d.get("uid") in uids:
            errors.append(f"{f}: uid {d['uid']} also in {uids[d['uid']]}")
        uids[d.get("uid")] = f
        if d.get("id") is not None:
            errors.append(f"{f}: dashboard id must be null (Grafana assigns it)")
        tvars = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        for name, kind in (("datasource", "prometheus"), ("loki", "loki")):
            v = tvars.get(name)
            if not v or v.get("type") != "datasource" or v.get("query") != kind:
                errors.append(f"{f}: needs a datasource variable ${name} of type {kind}")
        values = {n: ".+" for n in tvars}
        for name, v in tvars.items():
            if v.get("type") == "query":
                if v.get("datasource", {}).get("uid") != "${datasource}":
                    errors.append(f"{f}: variable {name} must query ${{datasource}}")
                q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
                m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*", q, re.S)
                if not m:
                    errors.append(f"{f}: variable {name}: only label_values(selector, label) is used here")
                    continue
                where = f"{f}: variable {name}"
                check_metric_names(m.group(1), where, recorded)
                exprs.append({"where": where, "expr": substitute(m.group(1), values, where)})
        ids = set()
        for p in panels_of(d):
            where = f"{f}: panel {p.get('title')!r}"
            if p.get("id") in ids:
                errors.append(f"{where}: duplicate panel id {p.get('id')}")
            ids.add(p.get("id"))
            if p.get("type") == "row":
                continue
            pds = p.get("datasource", {})
            if pds.get("uid") not in ("${datasource}", "${loki}"):
                errors.append(f"{where}: datasource must be ${{datasource}} or ${{loki}}, not {pds}")
            if not p.get("targets"):
                errors.append(f"{where}: no queries")
            for t in p.get("targets", []):
                tw = f"{where} query {t.get('refId')}"
                ds = t.get("datasource", pds)
                expr = t.get("expr", "")
                if ds.get("uid") == "${loki}":
                    n_logql += 1
                    msg = logql_errors(substitute(expr, values, tw))
                    if msg:
                        errors.append(f"{tw}: LogQL: {msg}: {expr}")
                elif ds.get("uid") == "${datasource}":
                    if not expr.strip():
                        errors.append(f"{tw}: empty PromQL")
                        continue
                    check_metric_names(expr, tw, recorded)
                    exprs.append({"where": tw, "expr": substitute(expr, values, tw)})
                else:
                    errors.append(f"{tw}: datasource must be ${{datasource}} or ${{loki}}, not {ds}")
    json.dump(exprs, open(out, "w"), indent=1)
    print(f"{len(files)} dashboards: {len(exprs)} PromQL expressions extracted, "
          f"{n_logql} LogQL queries parsed")


def query(url, out):
    exprs = json.load(open(out))
    for e in exprs:
        data = urllib.parse.urlencode({"query": e["expr"]}).encode()
        try:
            with urllib.request.urlopen(url + "/api/v1/query", data, timeout=30) as r:
                body = json.load(r)
        except urllib.error.HTTPError as err:
            body = json.load(err)
        if body.get("status") != "success":
            errors.append(f"{e['where']}: Prometheus: {body.get('errorType')}: {body.get('error')}\n    {e['expr']}")
    print(f"{len(exprs)} PromQL expressions accepted by Prometheus"
          if not errors else f"{len(errors)} of {len(exprs)} PromQL expressions rejected")


if __name__ == "__main__":
    {"extract": extract, "query": query}[sys.argv[1]](sys.argv[2], sys.argv[3])
    for e in errors:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)
