#!/usr/bin/env bash
# Runs Criterion test binaries one after another and prints one total line.
set -u
pass=0 fail=0 failed=()
for t in "$@"; do
  out=$("$t" --jobs 1 2>&1); rc=$?
  echo "$out" | grep -vE '^\[====\] Synthesis' | grep -E '^\[(----|FAIL|ERR|WARN)\]|Assertion|fail' | head -50
  line=$(echo "$out" | grep -E 'Synthesis: Tested: ' | tail -1)
  echo "$(basename "$t"): ${line#*Synthesis: }"
  p=$(echo "$line" | sed -nE 's/.*Passing: ([0-9]+).*/\1/p'); f=$(echo "$line" | sed -nE 's/.*Failing: ([0-9]+).*/\1/p')
  c=$(echo "$line" | sed -nE 's/.*Crashing: ([0-9]+).*/\1/p')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0} + ${c:-0}))
  if [[ $rc -ne 0 || -z "$line" ]]; then failed+=("$(basename "$t")"); [[ -z "$line" ]] && { echo "$out" | tail -20; fail=$((fail + 1)); }; fi
done
echo "$pass passed, $fail failed"
[[ ${#failed[@]} -eq 0 ]] || { echo "failing: ${failed[*]}"; exit 1; }
