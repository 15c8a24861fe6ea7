#!/usr/bin/env bash
# Helm charts: helm lint --strict and helm template with the default values
# and every deploy/helm/ci-values/CHART--CASE.yaml; the rendered manifests
# (and the alert rules wrapped as PrometheusRule objects) validated by
# kubectl-validate against Kubernetes 1.33 and the Prometheus Operator's
# CRDs; then the platform's own rules (tools/chart_policy.py), and the app
# charts' renders against the golden ones in checks/golden/.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Versions: ../versions.env (KUBE_VERSION, KUBECTL_VALIDATE_VERSION, the
# OpenAPI documents of KUBERNETES_MODULE_VERSION, PROMETHEUS_OPERATOR_VERSION).
NAMESPACE=guestbook

need_cmd go python3
need_python_yaml
helm=$(need_helm)
kv=$(need_go_tool kubectl-validate sigs.k8s.io/kubectl-validate "$KUBECTL_VALIDATE_VERSION")
log "helm $("$helm" version --short 2>/dev/null) (built from $HELM_VERSION), kubectl-validate $KUBECTL_VALIDATE_VERSION"

work=$(scratch_dir)
mkdir -p "$work/rendered" "$work/crds"

log "CRDs from github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
pod=$(go_module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
for crd in servicemonitors prometheusrules; do
	f="$pod/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml"
	[[ -f $f ]] || die "CRD $f not found in the module"
	cp "$f" "$work/crds/"
done

log "Kubernetes $KUBE_VERSION OpenAPI from k8s.io/kubernetes@$KUBERNETES_MODULE_VERSION"
k8s=$(go_module_dir k8s.io/kubernetes "$KUBERNETES_MODULE_VERSION")
spec="$k8s/api/openapi-spec/v3"
[[ -f $spec/api__v1_openapi.json ]] || die "no OpenAPI v3 documents in $spec"
python3 "$CHECKS_DIR/tools/openapi_server.py" "$spec" "$work/openapi.port" &
on_exit "kill $!"
for _ in $(seq 50); do [[ -s $work/openapi.port ]] && break; sleep 0.1; done
[[ -s $work/openapi.port ]] || die "the OpenAPI server did not start"
cat >"$work/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
  - name: openapi-$KUBE_VERSION
    cluster:
      server: http://127.0.0.1:$(cat "$work/openapi.port")
contexts:
  - name: openapi-$KUBE_VERSION
    context:
      cluster: openapi-$KUBE_VERSION
      user: none
users:
  - name: none
    user: {}
current-context: openapi-$KUBE_VERSION
KC

# The installable charts, and the library chart guestbook-app that the two
# app charts take every template from.
LIBRARY=guestbook-app
charts=()
for chart in "$DEPLOY_DIR"/helm/guestbook-*/; do
	[[ $(basename "$chart") == "$LIBRARY" ]] || charts+=("$chart")
done
[[ ${#charts[@]} -eq 3 ]] || die "expected 3 charts in deploy/helm besides $LIBRARY, found ${#charts[@]}"
grep -qx 'type: library' "$DEPLOY_DIR/helm/$LIBRARY/Chart.yaml" ||
	die "deploy/helm/$LIBRARY/Chart.yaml must say type: library"
"$helm" lint --strict --quiet "$DEPLOY_DIR/helm/$LIBRARY" >"$work/lint.log" 2>&1 || {
	cat "$work/lint.log" >&2
	die "helm lint --strict $LIBRARY failed"
}
# A chart that depends on the library gets it through a committed symbolic
# link, never a copy: charts/ holds the link and nothing else (no packaged
# .tgz that could go stale). The app charts (GOLDEN_CHARTS) must be users.
users=()
for chart in "${charts[@]}"; do
	name=$(basename "$chart") dir=${chart%/}/charts
	if ! grep -q "^  - name: $LIBRARY$" "$chart/Chart.yaml"; then
		[[ ! -e $dir ]] || die "deploy/helm/$name/charts/ exists, but $name depends on no chart"
		continue
	fi
	[[ -L $dir/$LIBRARY && $(readlink "$dir/$LIBRARY") == "../../$LIBRARY" ]] ||
		die "deploy/helm/$name/charts/$LIBRARY must be a symbolic link to ../../$LIBRARY"
	extra=$(find "$dir" -mindepth 1 -maxdepth 1 ! -name "$LIBRARY")
	[[ -z $extra ]] || die "deploy/helm/$name/charts/ holds more than the $LIBRARY link: $extra"
	users+=("$name")
done
[[ ${users[*]} == "${GOLDEN_CHARTS[*]}" ]] ||
	die "the charts using $LIBRARY are '${users[*]}', expected '${GOLDEN_CHARTS[*]}'"
log "  $LIBRARY: library chart, lint OK, linked from ${users[*]}"

# render CHART CASE [VALUES]: lint --strict and template one combination.
render() {
	local chart=$1 case=$2 values=${3:-} name
	name=$(basename "$chart")
	local args=(--kube-version "$KUBE_VERSION.0" --namespace "$NAMESPACE")
	[[ -n $values ]] && args+=(-f "$values")
	"$helm" lint --strict --quiet "${args[@]}" "$chart" >"$work/lint.log" 2>&1 || {
		cat "$work/lint.log" >&2
		die "helm lint --strict $name ($case) failed"
	}
	"$helm" template gb "$chart" "${args[@]}" >"$work/rendered/$name--$case.yaml" 2>"$work/template.log" || {
		cat "$work/template.log" >&2
		die "helm template $name ($case) failed"
	}
	local policy=("$PY" "$CHECKS_DIR/tools/chart_policy.py")
	[[ $case == default ]] && policy+=(--defaults)
	"${policy[@]}" "$name" "$work/rendered/$name--$case.yaml" ||
		die "$name ($case) breaks the platform rules above"
	log "  $name ($case): lint, template, policy OK"
}

n=0
for chart in "${charts[@]}"; do
	chart=${chart%/}
	name=$(basename "$chart")
	[[ -f $chart/values.schema.json ]] || die "$name has no values.schema.json"
	render "$chart" default
	n=$((n + 1))
	for values in "$DEPLOY_DIR"/helm/ci-values/"$name"--*.yaml; do
		[[ -e $values ]] || continue
		case=$(basename "$values" .yaml)
		render "$chart" "${case#*--}" "$values"
		n=$((n + 1))
	done
done
for values in "$DEPLOY_DIR"/helm/ci-values/*.yaml; do
	[[ -d $DEPLOY_DIR/helm/$(basename "${values%%--*}") ]] ||
		die "$(basename "$values"): name it CHART--CASE.yaml after one of the charts"
done

# The app charts render exactly the golden manifests (lib.sh
# golden_renders; checks/golden.sh rewrites them when a change means to
# change what the charts render).
log "golden renders (${GOLDEN_DIR#"$REPO_DIR"/})"
golden_renders "$helm" "$work/golden"
diff -ru "$GOLDEN_DIR" "$work/golden" >"$work/golden.diff" || {
	head -n 200 "$work/golden.diff" >&2
	die "the charts render other manifests than ${GOLDEN_DIR#"$REPO_DIR"/} (diff above): fix the charts, or run deploy/checks/golden.sh if the change is meant and commit the new renders"
}
log "  $(find "$work/golden" -name '*.yaml' | wc -l) renders equal to the golden ones"

# The schema must refuse what the charts do not know.
if "$helm" template gb "$DEPLOY_DIR/helm/guestbook-backend" --set no.such.value=1 >/dev/null 2>&1; then
	die "guestbook-backend accepted an unknown value: values.schema.json is not strict"
fi

# The charts refuse Ingress paths that would route /metrics or the probes.
for chart in guestbook-backend guestbook-frontend; do
	for bad in "/:Prefix" "/metrics:Exact" "/ready:Prefix" "/heal:ImplementationSpecific"; do
		if out=$("$helm" template gb "$DEPLOY_DIR/helm/$chart" --kube-version "$KUBE_VERSION.0" --set ingress.enabled=true \
			--set "ingress.hosts[0].host=x.example" --set "ingress.hosts[0].paths[0].path=${bad%%:*}" \
			--set "ingress.hosts[0].paths[0].pathType=${bad#*:}" 2>&1); then
			die "$chart rendered an Ingress path ${bad%%:*} (${bad#*:}) that routes internal endpoints"
		fi
		[[ $out == *"to the public"* ]] || {
			printf '%s\n' "$out" >&2
			die "$chart refused the Ingress path ${bad%%:*} (${bad#*:}) for another reason"
		}
	done
done
# The alert rules as PrometheusRule objects (how kube-prometheus-stack
# loads them), validated against the CRD too.
"$PY" - "$DEPLOY_DIR/alert_rules" "$work/rendered/prometheusrules.yaml" <<'PY'
import glob, os, sys, yaml
docs = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.yml"))):
    name = "guestbook-" + os.path.basename(path)[:-4].replace("_", "-")
    docs.append({"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                 "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "guestbook"}},
                 "spec": yaml.safe_load(open(path))})
yaml.safe_dump_all(docs, open(sys.argv[2], "w"), sort_keys=False)
PY

log "kubectl-validate --version $KUBE_VERSION ($n renders + PrometheusRules)"
KUBECONFIG="$work/kubeconfig" "$kv" --version "$KUBE_VERSION" --local-crds "$work/crds" \
	"$work/rendered" >"$work/validate.log" 2>&1 || {
	sed 's/\x1b\[[0-9;]*m//g' "$work/validate.log" >&2
	die "kubectl-validate found invalid manifests"
}
sed 's/\x1b\[[0-9;]*m//g' "$work/validate.log" | grep -c '\.\.\.OK' | xargs -I{} echo "[${CHECK_NAME}] {} manifest files valid" >&2
