#!/usr/bin/env bash
# 50-terraform.sh: check deploy/terraform offline with the real tools.
#
#   1. `tofu fmt -check -recursive` on deploy/terraform.
#   2. `tofu init` + `tofu validate` on a scratch copy, with the providers
#      built from the Go module proxy into a filesystem mirror (no registry is
#      reachable here). validate starts each provider and checks every block
#      and attribute against its real schema. The same with `terraform` when
#      it is installed.
#   3. `helm lint --strict` and `helm template` of the local charts
#      (deploy/helm/guestbook-*) with exactly the values Terraform passes:
#      `tofu console` evaluates local.app_chart_values in the scratch copy.
#   4. The rendered app pods against Pod Security "restricted" (the app
#      namespace enforces it) and the backend/frontend environment wiring
#      (deploy/terraform/tests/*.py); then `tofu plan` of the local charts'
#      releases, in which the helm provider loads the charts (and the app
#      charts' library dependency) as apply does.
#   5. The kind_cluster block against the schema of tehcyx/kind
#      TF_PROVIDER_KIND written down in deploy/terraform/tests/kind_schema.py
#      (the configuration read by hcl2json), always: the provider itself
#      cannot be built here, and the stand-in below would let a typo in
#      that block pass.
#   6. The recovery after the cluster was deleted by hand (deploy/QUICKSTART.md):
#      its `state rm` and stage-1 apply, on a state holding the stand-in.
#   7. The observability values as Terraform renders them
#      (tests/observability_values.py): Grafana's datasources after
#      Grafana's own environment expansion, Alloy's state on a hostPath,
#      Jaeger, Prometheus exemplars and the apps' tracing in agreement; then
#      `jaeger validate` (tests/lib/jaeger.sh's Jaeger) on Jaeger's config.
#
# Tools come from lib.sh (need_go_tool, need_go_build, need_helm), built
# once and cached in ~/.cache/guestbook-tools (GUESTBOOK_TOOLS_DIR), at the
# versions of deploy/versions.env. What needs a live cluster (the full plan,
# apply) runs in .github/workflows/infra-deploy.yml.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Providers: address, Go module, version asked of the Go module proxy
# (TF_PROVIDER_*_MODULE), and the version the binary is filed under in the
# mirror (TF_PROVIDER_*; it must satisfy deploy/terraform/versions.tf).
#
# The Go module proxy reachable here serves no tagged v3.x/v2.x release of
# the hashicorp providers (their tags lack the /vN module suffix, and
# by-commit lookups of the v3.1.2 and v2.38.0 commits answer "403 This module
# version is not available"). It serves one commit of each, which is what we
# build:
#   helm:       a4f1c1d8b008 (2026-06-29, after v3.2.0; its CHANGELOG tops at
#               3.2.0): filed as 3.2.0, the same v3 schema as 3.1.2.
#   kubernetes: 3a33fb6cc605 (2026-08-21, after v3.2.1): filed as 3.2.1.
PROVIDERS=(
  "hashicorp/helm github.com/hashicorp/terraform-provider-helm $TF_PROVIDER_HELM_MODULE $TF_PROVIDER_HELM"
  "hashicorp/kubernetes github.com/hashicorp/terraform-provider-kubernetes $TF_PROVIDER_KUBERNETES_MODULE $TF_PROVIDER_KUBERNETES"
  "tehcyx/kind github.com/tehcyx/terraform-provider-kind $TF_PROVIDER_KIND_MODULE $TF_PROVIDER_KIND"
)

# The local charts Terraform installs; local.app_chart_values in
# deploy/terraform has their values under the name without "guestbook-".
APP_CHARTS=(guestbook-mongodb guestbook-backend guestbook-frontend)

TF_DIR=$DEPLOY_DIR/terraform
say() { log "$@"; }

# Our own CLI configuration (the filesystem mirror, written below) whatever
# the environment points at.
TF_CLI_CONFIG=$TOOLS_DIR/tofu-offline.tfrc
export TF_CLI_CONFIG_FILE=$TF_CLI_CONFIG TF_IN_AUTOMATION=1 TF_INPUT=0
unset TF_PLUGIN_CACHE_DIR

need_cmd go
need_python_yaml
GOARCH_OS=$(go env GOOS)_$(go env GOARCH)

ensure_tofu() {
  TOFU=$(need_go_tool tofu github.com/opentofu/opentofu/cmd/tofu "$OPENTOFU_VERSION")
  # The whole output first: `tofu version | head | grep -q` under pipefail
  # fails now and then (tofu dies of SIGPIPE when the reader is gone).
  local version
  version=$("$TOFU" version 2>/dev/null) || die "$TOFU version failed"
  [[ ${version%%$'\n'*} == *"${OPENTOFU_VERSION#v}"* ]] || die "$TOFU is not OpenTofu $OPENTOFU_VERSION"
}

# Fills the filesystem mirror. Sets KIND_PROVIDER=yes when the kind provider
# could be built; the others are required.
ensure_providers() {
  MIRROR=$TOOLS_DIR/tf-mirror
  KIND_PROVIDER=yes
  local entry addr mod ver label type bin dir
  for entry in "${PROVIDERS[@]}"; do
    read -r addr mod ver label <<<"$entry"
    type=${addr#*/}
    bin=$TOOLS_DIR/tf-providers/$addr/$ver/terraform-provider-$type
    if ! need_go_build "terraform-provider-$type" "$mod" "$ver" "$mod" "$bin"; then
      if [ "$addr" = tehcyx/kind ]; then
        KIND_PROVIDER_ERROR=$(go_build_error "terraform-provider-$type")
        KIND_PROVIDER=no
        continue
      fi
      die "cannot build provider $addr ($mod@$ver): $(go_build_error "terraform-provider-$type")"
    fi
    for host in registry.opentofu.org registry.terraform.io; do
      dir=$MIRROR/$host/$addr/$label/$GOARCH_OS
      mkdir -p "$dir"
      ln -sf "$bin" "$dir/terraform-provider-${type}_v$label"
    done
  done
  cat >"$TF_CLI_CONFIG" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["*/*"]
  }
}
EOF
}

# Replaces the kind cluster by a terraform_data stand-in with the same
# attributes, in the scratch copy only. Used when the kind provider cannot be
# built here, so that everything else is still validated against the real
# helm and kubernetes providers.
stand_in_for_kind() {
  local d=$1 f
  for f in "$d"/*.tf; do
    awk '
      /^resource "kind_cluster" "this" \{/ {skip=1}
      /^provider "kind" \{\}$/ {next}
      /^    kind = \{$/ {req=1}
      !skip && !req {print}
      skip && /^\}/ {skip=0}
      req && /^    \}$/ {req=0}
    ' "$f" | sed 's/kind_cluster\.this\./terraform_data.kind_cluster_standin.output./g' >"$f.new"
    mv "$f.new" "$f"
  done
  cat >"$d/zz_check_kind_standin.tf" <<'EOF'
# Written by deploy/checks/50-terraform.sh: the kind provider could not be
# built here, so the cluster's attributes come from this stand-in.
resource "terraform_data" "kind_cluster_standin" {
  input = {
    name                   = var.cluster_name
    endpoint               = "https://127.0.0.1:6443"
    client_certificate     = "client-certificate"
    client_key             = "client-key"
    cluster_ca_certificate = "cluster-ca-certificate"
    kubeconfig_path        = "/dev/null"
  }
}
EOF
  if grep -n 'kind_cluster\.\|"tehcyx/kind"' "$d"/*.tf | grep -v -e zz_check_kind_standin -e '^[^:]*:[0-9]*:[[:space:]]*#'; then
    die "stand-in for kind_cluster left references behind (see above)"
  fi
}

ensure_providers
ensure_tofu
HELM=$(need_helm)
say "tools: $("$TOFU" version | head -n 1), helm $("$HELM" version --template '{{.Version}}')"

say "tofu fmt -check -recursive deploy/terraform"
"$TOFU" fmt -check -recursive -diff "$TF_DIR" || die "tofu fmt: run 'tofu fmt -recursive deploy/terraform'"

SCRATCH=$(scratch_dir)
mkdir -p "$SCRATCH/deploy/terraform"
# The configuration without local state, caches or the real-registry lock
# file (init here records the hashes of our local builds).
tar -C "$TF_DIR" --exclude=.terraform --exclude=.terraform.lock.hcl \
  --exclude='*.tfstate*' --exclude='*-kubeconfig' --exclude=secrets.tfvars -cf - . |
  tar -C "$SCRATCH/deploy/terraform" -xf -
for sibling in alert_rules alertmanager dashboards helm; do
  if [ -e "$DEPLOY_DIR/$sibling" ]; then ln -s "$DEPLOY_DIR/$sibling" "$SCRATCH/deploy/$sibling"; fi
done
WORK=$SCRATCH/deploy/terraform

if [ "$KIND_PROVIDER" = no ]; then
  warn "provider tehcyx/kind cannot be built here:"
  printf '%s\n' "$KIND_PROVIDER_ERROR" | sed 's/^/    /'
  warn "validating with a terraform_data stand-in for kind_cluster.this (its block is checked against the $TF_PROVIDER_KIND schema in tests/kind_schema.py below; CI's terraform validate runs the real provider)"
  stand_in_for_kind "$WORK"
fi

# A second copy for Terraform (made before init fills .terraform/).
TFW=$SCRATCH/terraform-cli/deploy
mkdir -p "$TFW"
cp -r "$WORK" "$TFW/terraform"
for sibling in "$SCRATCH"/deploy/*; do
  if [ -L "$sibling" ]; then ln -s "$(readlink "$sibling")" "$TFW/$(basename "$sibling")"; fi
done

say "tofu init (offline, filesystem mirror $MIRROR)"
(cd "$WORK" && "$TOFU" init -backend=false -input=false -no-color >"$SCRATCH/init.log" 2>&1) ||
  { cat "$SCRATCH/init.log" >&2; die "tofu init failed"; }
say "tofu validate"
(cd "$WORK" && "$TOFU" validate -no-color) || die "tofu validate failed"

# Terraform reads the same configuration; validate with it too when it is
# installed (same mirror, under registry.terraform.io).
if command -v terraform >/dev/null 2>&1; then
  say "$(terraform version | head -n 1): init + validate"
  (cd "$TFW/terraform" && terraform init -backend=false -input=false -no-color >"$SCRATCH/tf-init.log" 2>&1) ||
    { cat "$SCRATCH/tf-init.log" >&2; die "terraform init failed"; }
  (cd "$TFW/terraform" && terraform validate -no-color) || die "terraform validate failed"
else
  say "terraform is not installed: validated with OpenTofu only"
fi

# The values Terraform passes to the local charts, evaluated by tofu itself.
say "rendering the local charts with the values Terraform passes"
(cd "$WORK" && echo 'jsonencode(local.app_chart_values)' |
  "$TOFU" console -var grafana_admin_password=offline-check >"$SCRATCH/app_chart_values.console" 2>&1) ||
  { cat "$SCRATCH/app_chart_values.console" >&2; die "tofu console could not evaluate local.app_chart_values"; }
"$PY" "$TF_DIR/tests/render_values.py" "$SCRATCH/app_chart_values.console" "$SCRATCH" >/dev/null ||
  die "cannot read local.app_chart_values from tofu console"
for chart in "${APP_CHARTS[@]}"; do
  release=${chart#guestbook-}
  [ -d "$DEPLOY_DIR/helm/$chart" ] || die "chart deploy/helm/$chart is missing (Terraform installs it)"
  [ -f "$SCRATCH/$release.args" ] || die "local.app_chart_values has no \"$release\""
  mapfile -t values_args <"$SCRATCH/$release.args"
  "$HELM" lint --strict "$DEPLOY_DIR/helm/$chart" "${values_args[@]}" --namespace guestbook --kube-version "$KUBE_VERSION.0" >"$SCRATCH/$chart.lint" 2>&1 ||
    { cat "$SCRATCH/$chart.lint" >&2; die "helm lint --strict $chart with Terraform's values failed"; }
  "$HELM" template "$chart" "$DEPLOY_DIR/helm/$chart" "${values_args[@]}" --namespace guestbook --kube-version "$KUBE_VERSION.0" >"$SCRATCH/$chart.yaml" 2>"$SCRATCH/$chart.err" ||
    { cat "$SCRATCH/$chart.err" >&2; die "helm template $chart with Terraform's values failed"; }
  say "  $chart: $(grep -c '^kind:' "$SCRATCH/$chart.yaml") objects"
done

# The app namespace enforces Pod Security "restricted": a pod that violates it
# would be rejected and helm --wait would time out, so check the rendered pods.
say "Pod Security 'restricted' on the rendered app pods"
(cd "$SCRATCH" && "$PY" "$TF_DIR/tests/pod_security.py" "${APP_CHARTS[@]/%/.yaml}") ||
  die "a rendered pod would be rejected in the restricted app namespace"

say "Terraform environment with the backend/frontend wiring"
"$PY" "$TF_DIR/tests/app_wiring.py" "$SCRATCH/guestbook-backend.yaml" "$SCRATCH/guestbook-frontend.yaml" ||
  die "backend/frontend environment wiring is wrong"

# 3b. The helm provider's own view of the local charts: `tofu plan` of their
# three releases. The provider loads each chart at plan time as `apply`
# would, with its dependencies (the app charts' charts/guestbook-app link to
# the library chart) and the values above, with no cluster. Their
# depends_on names releases of remote charts, which cannot be fetched
# offline: that copy of the configuration drops it.
say "tofu plan of the local chart releases (the helm provider loads the charts)"
PLAN=$SCRATCH/plan-local-charts/deploy/terraform
mkdir -p "$(dirname "$PLAN")"
cp -a "$WORK" "$PLAN"
for sibling in "$SCRATCH"/deploy/*; do
  if [ -L "$sibling" ]; then ln -s "$(readlink "$sibling")" "$(dirname "$PLAN")/$(basename "$sibling")"; fi
done
sed -i '/^  depends_on = \[helm_release\./d' "$PLAN/backend.tf" "$PLAN/frontend.tf"
if grep -n 'depends_on' "$PLAN/backend.tf" "$PLAN/frontend.tf" "$PLAN/mongodb.tf"; then
  die "the local chart releases depend on more than the one-line depends_on this step drops (above)"
fi
targets=()
for chart in "${APP_CHARTS[@]}"; do targets+=(-target="helm_release.${chart#guestbook-}"); done
(cd "$PLAN" && "$TOFU" plan -input=false -no-color -var grafana_admin_password=offline-check \
  "${targets[@]}" -out=local-charts.tfplan) >"$SCRATCH/plan.log" 2>&1 ||
  { cat "$SCRATCH/plan.log" >&2; die "tofu plan of the local chart releases failed"; }
(cd "$PLAN" && "$TOFU" show -json local-charts.tfplan) >"$SCRATCH/plan.json" ||
  die "tofu show -json of the plan failed"
"$PY" - "$SCRATCH/plan.json" "${APP_CHARTS[@]}" <<'PY' || die "the plan does not create the local chart releases (above)"
import json, sys
plan = json.load(open(sys.argv[1]))
planned = {r["name"]: r["change"] for r in plan.get("resource_changes", []) if r["type"] == "helm_release"}
bad = 0
for chart in sys.argv[2:]:
    release = chart.removeprefix("guestbook-")
    change = planned.get(release)
    if not change or change["actions"] != ["create"] or not change["after"].get("version"):
        print(f"helm_release.{release}: {change and change['actions']}, chart version {change and change['after'].get('version')}", file=sys.stderr)
        bad = 1
    else:
        print(f"  helm_release.{release}: create, chart {chart} {change['after']['version']}", file=sys.stderr)
sys.exit(bad)
PY

# 5. The kind_cluster block against the schema of the pinned provider, read
# by hcl2json. The pin is written three times, in files that cannot read
# each other: versions.tf, the schema in kind_schema.py and versions.env
# (the build above). They must agree.
kind_pin=$(grep -A2 '^ *source *= *"tehcyx/kind"' "$TF_DIR/versions.tf" || true)
grep -q "^ *version *= *\"$TF_PROVIDER_KIND\"" <<<"$kind_pin" ||
  die "deploy/terraform/versions.tf does not require tehcyx/kind $TF_PROVIDER_KIND (TF_PROVIDER_KIND in deploy/versions.env)"
grep -qx "PROVIDER = \"tehcyx/kind $TF_PROVIDER_KIND\"" "$TF_DIR/tests/kind_schema.py" ||
  die "deploy/terraform/tests/kind_schema.py is not the schema of tehcyx/kind $TF_PROVIDER_KIND (TF_PROVIDER_KIND in deploy/versions.env)"
HCL2JSON=$(need_go_tool hcl2json github.com/tmccombs/hcl2json "$HCL2JSON_VERSION")
# kind_schema DIR OUT: checks the .tf files of DIR (their JSON goes to OUT).
kind_schema() {
  local dir=$1 out=$2 f jsons=()
  mkdir -p "$out"
  for f in "$dir"/*.tf; do
    "$HCL2JSON" "$f" >"$out/$(basename "$f").json" || die "hcl2json cannot read $f"
    jsons+=("$out/$(basename "$f").json")
  done
  "$PY" "$TF_DIR/tests/kind_schema.py" "${jsons[@]}" -- "$dir"/*.tf
}
say "kind_cluster against the tehcyx/kind $TF_PROVIDER_KIND schema (hcl2json $HCL2JSON_VERSION)"
kind_schema "$TF_DIR" "$SCRATCH/kind-schema" ||
  die "the kind_cluster block does not fit the tehcyx/kind $TF_PROVIDER_KIND schema (above)"
# The same configuration with one nested block misspelt must fail.
mkdir -p "$SCRATCH/kind-typo"
cp "$TF_DIR"/*.tf "$SCRATCH/kind-typo/"
sed -i 's/^\( *\)extra_port_mappings {/\1extra_port_mapping {/' "$SCRATCH/kind-typo/cluster_management.tf"
grep 'extra_port_mapping {' "$SCRATCH/kind-typo/cluster_management.tf" >/dev/null ||
  die "cannot make the misspelt copy of cluster_management.tf (no extra_port_mappings block?)"
if kind_schema "$SCRATCH/kind-typo" "$SCRATCH/kind-typo-json" 2>/dev/null; then
  die "kind_schema.py accepted kind_config.node.extra_port_mapping (a typo)"
fi

# 6. The recovery documented in QUICKSTART.md ("The cluster was deleted by
# hand"), with the stand-in: its `state rm` must drop the cluster from a state
# that holds one, and its stage-1 apply must create a new one. (The refresh
# failure it recovers from needs the real provider and a deleted cluster.)
if [ "$KIND_PROVIDER" = no ]; then
  say "recovery after the cluster was deleted by hand (QUICKSTART.md), on the stand-in"
  grep -F 'resource "kind_cluster" "this"' "$TF_DIR/cluster_management.tf" >/dev/null ||
    die "QUICKSTART.md's recovery names kind_cluster.this, which cluster_management.tf does not declare"
  recovery=$(awk '/^### The cluster was deleted by hand/ {sec=1} sec && /^```bash/ {blk=1; next}
    blk && /^```/ {exit} blk {print}' "$DEPLOY_DIR/QUICKSTART.md")
  grep -Fx 'terraform state rm kind_cluster.this' <<<"$recovery" >/dev/null ||
    die "QUICKSTART.md's recovery has no 'terraform state rm kind_cluster.this'"
  standin=terraform_data.kind_cluster_standin
  run_documented() { # runs the recovery's lines that touch the cluster, on the stand-in
    local line args
    while read -r line; do
      [[ $line == terraform* && $line == *kind_cluster.this* ]] || continue
      line=${line//kind_cluster.this/$standin}
      line=${line//-var-file=secrets.tfvars/-var grafana_admin_password=offline-check}
      read -r -a args <<<"${line#terraform }"
      if [ "${args[0]}" = apply ]; then args+=(-auto-approve -input=false); fi
      say "  tofu ${args[*]}"
      (cd "$WORK" && "$TOFU" "${args[@]}" -no-color) >>"$SCRATCH/recovery.log" 2>&1 ||
        { cat "$SCRATCH/recovery.log" >&2; die "tofu ${args[*]} failed"; }
    done <<<"$recovery"
  }
  (cd "$WORK" && "$TOFU" apply -auto-approve -input=false -no-color -target="$standin" \
    -var grafana_admin_password=offline-check) >"$SCRATCH/stage1.log" 2>&1 ||
    { cat "$SCRATCH/stage1.log" >&2; die "stage 1 with the stand-in failed"; }
  before=$(cd "$WORK" && "$TOFU" state show -no-color "$standin" | sed -n 's/^ *id *= *"\(.*\)"$/\1/p')
  [ -n "$before" ] || die "stage 1 left no $standin in the state"
  run_documented
  after=$(cd "$WORK" && "$TOFU" state show -no-color "$standin" | sed -n 's/^ *id *= *"\(.*\)"$/\1/p')
  if [ -z "$after" ] || [ "$after" = "$before" ]; then
    die "after the documented recovery the state should hold a new cluster (before: $before, after: ${after:-none})"
  fi
  grep -E 'Apply complete! Resources: 1 added' "$SCRATCH/recovery.log" >/dev/null ||
    die "the documented stage-1 apply did not create the cluster again: $(tail -n 3 "$SCRATCH/recovery.log")"
  say "  state rm dropped cluster $before, stage 1 created $after"
fi

# 7. Grafana expands environment variables in provisioned datasources, Alloy
# must keep its positions across pods, Jaeger must listen where the apps,
# Grafana and the NetworkPolicies expect it: check the values as Terraform
# renders them, then Jaeger's configuration with the real Jaeger.
say "observability values (Grafana datasources, Alloy, Jaeger, Prometheus)"
(cd "$WORK" && echo 'jsonencode({grafana_datasources = local.grafana_values.additionalDataSources, grafana_sidecar_datasources = local.grafana_values.sidecar.datasources, alloy = local.alloy_values, jaeger = local.jaeger_values, jaeger_otlp_url = local.jaeger_otlp_url, jaeger_query_url = local.jaeger_query_url, monitoring_namespace = var.monitoring_namespace, app = local.app_overrides, prometheus = local.kube_prometheus_stack_values.prometheus})' | "$TOFU" console -var grafana_admin_password=offline-check >"$SCRATCH/observability.console" 2>&1) ||
  { cat "$SCRATCH/observability.console" >&2; die "tofu console could not evaluate the observability values"; }
"$PY" "$TF_DIR/tests/observability_values.py" "$SCRATCH/observability.console" "$SCRATCH" ||
  die "the observability values are wrong (see above)"
JAEGER_BIN_PATH=$("$DEPLOY_DIR/../tests/lib/jaeger.sh" build) ||
  die "cannot build Jaeger to validate its configuration (tests/lib/jaeger.sh build)"
"$JAEGER_BIN_PATH" validate --config "file:$SCRATCH/jaeger-config.yaml" >"$SCRATCH/jaeger-validate.log" 2>&1 ||
  { cat "$SCRATCH/jaeger-validate.log" >&2; die "jaeger validate refused the Jaeger release's configuration"; }
say "  jaeger validate: the release's configuration is accepted"

if [ "$KIND_PROVIDER" = no ]; then
  say "OK (with the kind stand-in: see WARNING above)"
else
  say "OK"
fi
