#!/usr/bin/env bash
# Checks every artifact under deploy/ with the tool that consumes it.
# Runs deploy/checks/NN-*.sh in order (each one a separate process), prints
# one line per check and fails when any check fails.
#
#   deploy/check.sh              all checks
#   deploy/check.sh 10 30        only the checks whose names start so
#
# Tools are built once into ${GUESTBOOK_TOOLS_DIR:-~/.cache/guestbook-tools}.
set -uo pipefail
cd "$(dirname "$0")/checks" || exit 1

shopt -s nullglob
checks=([0-9]*.sh)
if [[ $# -gt 0 ]]; then
	selected=()
	for c in "${checks[@]}"; do
		for p in "$@"; do
			[[ $c == "$p"* ]] && selected+=("$c") && break
		done
	done
	checks=("${selected[@]}")
fi
[[ ${#checks[@]} -gt 0 ]] || { echo "deploy/check.sh: no check matches: $*" >&2; exit 1; }

results=()
failed=0
start=$(date +%s)
for c in "${checks[@]}"; do
	name=${c%.sh}
	echo "=== ${name}" >&2
	t0=$(date +%s)
	CHECK_NAME=$name bash "./$c"
	rc=$?
	secs=$(($(date +%s) - t0))
	if [[ $rc -eq 0 ]]; then
		results+=("PASS  ${name} (${secs}s)")
	else
		results+=("FAIL  ${name} (exit ${rc}, ${secs}s)")
		failed=$((failed + 1))
	fi
done

echo
echo "deploy-check summary:"
printf '  %s\n' "${results[@]}"
echo "deploy-check took $(($(date +%s) - start))s"
echo "deploy-check: $((${#checks[@]} - failed)) passed, ${failed} failed"
[[ $failed -eq 0 ]]
