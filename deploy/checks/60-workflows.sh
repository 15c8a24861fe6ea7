#!/usr/bin/env bash
# 60-workflows.sh: lint .github/ and build.sh with the tools that read them.
#   - actionlint (ACTIONLINT_VERSION, ../versions.env) on every workflow,
#     with Debian's shellcheck for the run: steps;
#   - shellcheck on build.sh and .github/scripts/*.sh;
#   - project rules actionlint does not know (.github/scripts/lint_workflows.py):
#     actions pinned to commit SHAs, permissions, concurrency, the gate's
#     path filters equal to the workflows' paths, CI never pages (no secrets,
#     no PagerDuty key, the plan asserted), tool versions from versions.env,
#     `!cancelled()` and `failure() || cancelled()` conditions;
#   - the backend and frontend path filters cover every input of the image
#     and of `make test`, derived from the Dockerfile, .dockerignore and
#     `make -n` (tools/build_inputs.py);
#   - the diagnostics script's not-ready-pods.awk on the pod table kubectl
#     prints, built from kubectl's sources (tools/pod_columns.py);
#   - the gate's wait-for-workflows.sh against a replayed GitHub API
#     (.github/scripts/tests/wait-for-workflows.sh).
# What only GitHub can run (the workflows themselves) is listed in
# deploy/QUICKSTART.md.
set -euo pipefail
# shellcheck source=/dev/null
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_apt shellcheck shellcheck
need_python_yaml
actionlint=$(need_go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION")
log "actionlint $("$actionlint" -version | head -n 1), $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"

cd "$REPO_DIR"
workflows=(.github/workflows/*.yml)
[ -e "${workflows[0]}" ] || die "no workflows in .github/workflows"
log "actionlint (${#workflows[@]} workflows)"
"$actionlint" -shellcheck "$(command -v shellcheck)" "${workflows[@]}" || die "actionlint failed"

scripts=(build.sh .github/scripts/*.sh .github/scripts/tests/*.sh)
log "shellcheck ${scripts[*]}"
shellcheck "${scripts[@]}" || die "shellcheck failed"

log "pinned actions, permissions, concurrency, gate path filters, no paging, tool versions from versions.env, conditions"
"$PY" .github/scripts/lint_workflows.py "$REPO_DIR" || die "workflow rules (above) failed"

need_apt jq jq
need_apt make make
need_apt git git
need_cmd awk
log "path filters against the inputs of the image and of make test"
"$PY" "$CHECKS_DIR/tools/build_inputs.py" "$REPO_DIR" || die "the path filters miss build inputs (above)"

# kubectl's pod table: its columns (k8s.io/kubernetes) and its header
# (k8s.io/cli-runtime, the same release as v0.MINOR.PATCH).
k8s=$(go_module_dir k8s.io/kubernetes "$KUBERNETES_MODULE_VERSION")
cli_runtime=$(go_module_dir k8s.io/cli-runtime "v0.${KUBERNETES_MODULE_VERSION#v1.}")
log "diagnostics: not-ready-pods.awk on kubectl $KUBERNETES_MODULE_VERSION's pod columns"
python3 "$CHECKS_DIR/tools/pod_columns.py" \
	"$k8s/pkg/printers/internalversion/printers.go" "$cli_runtime/pkg/printers/tableprinter.go" \
	.github/scripts/diagnostics.sh .github/scripts/not-ready-pods.awk ||
	die "the diagnostics script reads the wrong pod columns (above)"

log "the gate's wait-for-workflows.sh against a replayed GitHub API"
bash .github/scripts/tests/wait-for-workflows.sh || die "wait-for-workflows.sh failed its cases (above)"
