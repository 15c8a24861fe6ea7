#!/usr/bin/env bash
# The hostile-client suite (make hostile): tests/hostile/test_*.py, Python's
# unittest on Debian's python3 (standard library only), against the real
# guestbookd in $GB_BUILD_DIR and, for the edge scenarios, Debian's nginx
# running deploy/edge/nginx.conf.template. Each file runs in its own
# process under a time limit, so a hung scenario fails instead of hanging.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export GB_BUILD_DIR=${GB_BUILD_DIR:-$ROOT/build} GB_SRC_DIR=${GB_SRC_DIR:-$ROOT}
cd "$ROOT/tests/hostile" || exit 1
"$ROOT/scripts/install-deps.sh" test || exit 1
[[ -x $GB_BUILD_DIR/guestbookd ]] || { echo "run-hostile: $GB_BUILD_DIR/guestbookd is missing: run make all first" >&2; exit 1; }

failed=()
files=(test_*.py)
[[ $# -gt 0 ]] && files=("$@")
for f in "${files[@]}"; do
  t0=$(date +%s)
  timeout -k 5 "${GB_HOSTILE_FILE_TIMEOUT:-600}" /usr/bin/python3 -m unittest -v "${f%.py}" 2>&1
  rc=$?
  echo "run-hostile: $f exit $rc in $(($(date +%s) - t0)) s"
  [[ $rc -eq 0 ]] || failed+=("$f")
done
[[ ${#failed[@]} -eq 0 ]] || { echo "run-hostile: failing: ${failed[*]}"; exit 1; }
echo "run-hostile: ${#files[@]} files passed"
