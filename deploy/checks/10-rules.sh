#!/usr/bin/env bash
# Alert rules and Alertmanager configuration, checked by the tools that
# load them: promtool (check rules, test rules) and amtool (check-config,
# config routes test), plus the conventions promtool cannot see (labels,
# annotations, runbook links, a firing and a silent test per alert).
. "$(dirname "$0")/lib.sh"

need_apt promtool prometheus
need_apt amtool prometheus-alertmanager
need_python_yaml
log "$(promtool --version 2>&1 | head -n1)"
log "$(amtool --version 2>&1 | head -n1)"

rules=("$DEPLOY_DIR"/alert_rules/*.yml)
tests=("$DEPLOY_DIR"/alert_rules/tests/*.yml)
[[ -e ${rules[0]} ]] || die "no rule files in deploy/alert_rules/"
[[ -e ${tests[0]} ]] || die "no rule tests in deploy/alert_rules/tests/"

log "promtool check rules (${#rules[@]} files)"
promtool check rules "${rules[@]}" || die "promtool check rules failed"

log "promtool test rules (${#tests[@]} files)"
(cd "$DEPLOY_DIR/alert_rules/tests" && promtool test rules "${tests[@]##*/}") ||
	die "promtool test rules failed"

log "alert conventions and test coverage"
"$PY" "$CHECKS_DIR/tools/rules_meta.py" "$DEPLOY_DIR/alert_rules" "$DEPLOY_DIR/RUNBOOK.md" ||
	die "alert rules break the conventions above"

am="$DEPLOY_DIR/alertmanager/alertmanager.yml"
log "amtool check-config"
amtool check-config "$am" || die "amtool check-config failed"

# Never a key in the file: PagerDuty must use routing_key_file.
if grep -Eq '^[[:space:]]*(routing_key|service_key)[[:space:]]*:' "$am"; then
	die "alertmanager.yml contains a PagerDuty key; use routing_key_file"
fi

log "amtool config routes test"
n=0
while IFS='|' read -r expected labels; do
	expected=$(echo "$expected" | tr -d '[:space:]')
	[[ -z $expected || $expected == \#* ]] && continue
	# shellcheck disable=SC2086 # labels are separate words on purpose
	if ! out=$(amtool config routes test --config.file="$am" \
		--verify.receivers="$expected" $labels 2>/dev/null); then
		die "routes test: {$labels} went to '$out', expected '$expected'"
	fi
	n=$((n + 1))
done <"$DEPLOY_DIR/alertmanager/tests/routes.txt"
[[ $n -gt 0 ]] || die "no routes test cases in deploy/alertmanager/tests/routes.txt"
log "$n routing cases OK"
