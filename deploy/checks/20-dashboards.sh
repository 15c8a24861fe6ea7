#!/usr/bin/env bash
# Grafana dashboards: structure, datasource variables, metric names and
# LogQL checked by tools/dashboards_check.py; every PromQL expression (the
# variables substituted: $__rate_interval -> 5m, ...) sent to a real
# Prometheus started here on a free loopback port, which also loads the
# alert and recording rules of deploy/alert_rules/.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

need_apt prometheus prometheus
need_python_yaml
log "$(prometheus --version 2>&1 | head -n1)"
work=$(scratch_dir)

"$PY" "$CHECKS_DIR/tools/dashboards_check.py" extract "$DEPLOY_DIR/dashboards" "$work/exprs.json" ||
	die "dashboards are malformed (see above)"

cat >"$work/prometheus.yml" <<YML
global:
  evaluation_interval: 1m
rule_files:
  - $DEPLOY_DIR/alert_rules/*.yml
YML
port=$(free_port)
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
	--web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prometheus.log" 2>&1 &
on_exit "kill $!; wait $! 2>/dev/null"
url="http://127.0.0.1:$port"
ready=
for _ in $(seq 100); do
	if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url/-/ready" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.2
done
[[ -n $ready ]] || {
	cat "$work/prometheus.log" >&2
	die "Prometheus did not become ready on $url"
}
log "Prometheus ready on $url"

# The rule files load in a real server too.
groups=$(python3 -c "import json,urllib.request,sys; print(len(json.load(urllib.request.urlopen(sys.argv[1]))['data']['groups']))" "$url/api/v1/rules")
want=$(cat "$DEPLOY_DIR"/alert_rules/*.yml | grep -c '^  - name:')
[[ $groups -eq $want ]] || die "Prometheus loaded $groups rule groups, the files define $want"
log "$groups rule groups loaded"

"$PY" "$CHECKS_DIR/tools/dashboards_check.py" query "$url" "$work/exprs.json" ||
	die "Prometheus rejected dashboard queries (see above)"
