#!/usr/bin/env bash
# 60-workflows.sh: lint .github/ and build.sh with the tools that read them.
#   - actionlint v1.7.12 on every workflow, with Debian's shellcheck for the
#     run: steps;
#   - shellcheck on build.sh and .github/scripts/*.sh;
#   - project rules actionlint does not know (.github/scripts/lint_workflows.py):
#     actions pinned to commit SHAs, permissions, concurrency, and the gate's
#     path filters equal to the workflows' paths.
# What only GitHub can run (the workflows themselves) is listed in
# deploy/QUICKSTART.md.
set -euo pipefail
# shellcheck source=/dev/null
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ACTIONLINT_VERSION=v1.7.12

need_apt shellcheck shellcheck
need_python_yaml
actionlint=$(need_go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_VERSION")
log "actionlint $("$actionlint" -version | head -n 1), $(shellcheck --version | sed -n 's/^version: /shellcheck /p')"

cd "$REPO_DIR"
workflows=(.github/workflows/*.yml)
[ -e "${workflows[0]}" ] || die "no workflows in .github/workflows"
log "actionlint (${#workflows[@]} workflows)"
"$actionlint" -shellcheck "$(command -v shellcheck)" "${workflows[@]}" || die "actionlint failed"

scripts=(build.sh .github/scripts/*.sh)
log "shellcheck ${scripts[*]}"
shellcheck "${scripts[@]}" || die "shellcheck failed"

log "pinned actions, permissions, concurrency, gate path filters"
"$PY" .github/scripts/lint_workflows.py "$REPO_DIR" || die "workflow rules (above) failed"
