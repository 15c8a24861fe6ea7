#!/usr/bin/env bash
# smoke-test.sh platform|backend|frontend
# Checks a deployed Kind cluster from outside, through the ingress on
# localhost, the way a user would. Every wait is bounded.
#   app (every mode): /ready, the page, posting a message and reading it back
#   backend/frontend: Prometheus scrapes that role (guestbook_build_info)
#   platform: also Grafana (datasources, dashboards, Loki logs), Prometheus
#             (our alert rules loaded), Alertmanager
set -euo pipefail

mode=${1:?usage: smoke-test.sh platform|backend|frontend}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APP=http://localhost
GRAFANA=http://grafana.localhost
PROMETHEUS=http://prometheus.localhost
ALERTMANAGER=http://alertmanager.localhost
NAMESPACE=${NAMESPACE:-guestbook}

fail() { echo "::error::smoke test: $*"; exit 1; }

# retry SECONDS CMD...: reruns CMD every 5 s until it succeeds.
retry() {
  local limit=$1 waited=0
  shift
  until "$@"; do
    [ "$waited" -lt "$limit" ] || return 1
    sleep 5
    waited=$((waited + 5))
  done
}

prom_query() {
  curl -fsS --get "$PROMETHEUS/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result | length'
}
has_series() { [ "$(prom_query "$1")" -gt 0 ]; }
page_shows() { curl -fsS "$APP/" | grep -qF "$1"; }
grafana() { curl -fsS -u "admin:${TF_VAR_grafana_admin_password:?}" "$@"; }
# dashboards_listed N: Grafana's Guestbook folder holds at least N dashboards.
dashboards_listed() {
  [ "$(grafana "$GRAFANA/api/search?type=dash-db" |
    jq '[.[] | select(.folderTitle == "Guestbook")] | length')" -ge "$1" ]
}
loki_has_level() {
  grafana "$GRAFANA/api/datasources/proxy/uid/loki/loki/api/v1/label/level/values" |
    jq -e --arg l "$1" '.data | index($l)' >/dev/null
}

echo "== app through the ingress ($APP)"
retry 300 curl -fsS -o /dev/null "$APP/ready" || fail "$APP/ready never answered 200"
curl -fsS -o /dev/null "$APP/health" || fail "$APP/health"
headers=$(curl -fsS -D - -o /dev/null "$APP/")
grep -qi '^x-request-id:' <<<"$headers" || fail "GET / has no X-Request-Id header"
message="smoke test $(date -u +%s)-$RANDOM"
status=$(curl -sS -o /dev/null -w '%{http_code}' \
  --data-urlencode "name=smoke-test" --data-urlencode "message=$message" "$APP/post")
[ "$status" = 303 ] || fail "POST /post answered $status, expected 303"
retry 30 page_shows "$message" ||
  fail "the posted message does not show on $APP/"
echo "posted and read back: $message"

case $mode in
  backend | frontend)
    echo "== Prometheus scrapes the $mode"
    retry 300 has_series "guestbook_build_info{role=\"$mode\"}" ||
      fail "no guestbook_build_info{role=\"$mode\"} in Prometheus"
    ;;
  platform)
    echo "== Prometheus, Alertmanager, Grafana"
    retry 120 curl -fsS -o /dev/null "$PROMETHEUS/-/ready" || fail "$PROMETHEUS/-/ready"
    retry 120 curl -fsS -o /dev/null "$ALERTMANAGER/-/ready" || fail "$ALERTMANAGER/-/ready"
    retry 120 curl -fsS -o /dev/null "$GRAFANA/api/health" || fail "$GRAFANA/api/health"

    for role in backend frontend; do
      retry 300 has_series "guestbook_build_info{role=\"$role\"}" ||
        fail "Prometheus does not scrape the $role (guestbook_build_info{role=\"$role\"})"
    done

    loaded=$(curl -fsS "$PROMETHEUS/api/v1/rules" | jq -r '.data.groups[].name')
    for file in "$ROOT"/deploy/alert_rules/*.yml; do
      while read -r group; do
        grep -qxF "$group" <<<"$loaded" || fail "rule group $group ($file) is not loaded in Prometheus"
      done < <(sed -n 's/^  - name: *//p' "$file" | tr -d '"')
    done
    firing=$(curl -fsS "$PROMETHEUS/api/v1/alerts" |
      jq -r '[.data.alerts[] | select(.state == "firing" and .labels.alertname != "Watchdog" and .labels.severity == "critical") | .labels.alertname] | unique | join(", ")')
    [ -z "$firing" ] || fail "critical alerts firing on a fresh cluster: $firing"

    types=$(grafana "$GRAFANA/api/datasources" | jq -r '.[].type')
    for t in prometheus loki alertmanager; do
      grep -qx "$t" <<<"$types" || fail "Grafana has no $t datasource"
    done
    want=$(find "$ROOT/deploy/dashboards" -maxdepth 1 -name '*.json' | wc -l)
    retry 120 dashboards_listed "$want" ||
      fail "Grafana's Guestbook folder does not hold the $want dashboards of deploy/dashboards"

    echo "== Loki has the app's logs, with level as a label"
    retry 300 loki_has_level info || fail "no level=\"info\" label in Loki"
    lines=$(grafana --get "$GRAFANA/api/datasources/proxy/uid/loki/loki/api/v1/query_range" \
      --data-urlencode "query={namespace=\"$NAMESPACE\"} | request_id != \"\"" --data-urlencode limit=5 |
      jq '[.data.result[].values[]] | length')
    [ "$lines" -gt 0 ] || fail "no log line with request_id structured metadata in Loki"
    ;;
  *) fail "unknown mode $mode" ;;
esac
echo "smoke test ($mode): OK"
