#!/usr/bin/env bash
# Rewrites deploy/checks/golden/: the app charts rendered with each golden
# value set (lib.sh golden_renders says which). 30-helm fails when the
# charts render anything else, so run this only when a change is meant to
# change the manifests, and review `git diff deploy/checks/golden` before
# committing it:
#
#   deploy/checks/golden.sh
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

helm=$(need_helm)
rm -rf "$GOLDEN_DIR.new"
on_exit "rm -rf '$GOLDEN_DIR.new'"
golden_renders "$helm" "$GOLDEN_DIR.new"
rm -rf "$GOLDEN_DIR"
mv "$GOLDEN_DIR.new" "$GOLDEN_DIR"
log "wrote $(find "$GOLDEN_DIR" -name '*.yaml' | wc -l) renders into ${GOLDEN_DIR#"$REPO_DIR"/}"
