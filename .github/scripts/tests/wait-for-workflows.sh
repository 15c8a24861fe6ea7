#!/usr/bin/env bash
# tests/wait-for-workflows.sh: the gate's wait-for-workflows.sh against a
# replayed GitHub API. GitHub cannot run here, so `gh` on PATH is a script
# that answers each call with the next recorded answer (the JSON `gh run
# list --json ...` returns, put through the caller's --jq with the real jq,
# or an API error). Prints one line per case and "N passed, N failed".
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT=$HERE/../wait-for-workflows.sh
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0 failed=0

mkdir -p "$WORK/bin"
cat >"$WORK/bin/gh" <<'EOF'
#!/usr/bin/env bash
# Replays $GH_REPLAY/N (N = 1, 2, ...; the last one repeats): a first line
# "error MESSAGE" fails the call with MESSAGE, anything else is the JSON.
dir=$GH_REPLAY
n=$(($(cat "$dir/calls" 2>/dev/null || echo 0) + 1))
echo "$n" >"$dir/calls"
last=$(cat "$dir/answers")
answer=$dir/$((n < last ? n : last))
first=$(head -n 1 "$answer")
if [[ $first == error* ]]; then
  echo "${first#error }" >&2
  exit 1
fi
query=.
while [ $# -gt 0 ]; do
  if [ "$1" = --jq ]; then query=$2; fi
  shift
done
jq -r "$query" "$answer"
EOF
chmod +x "$WORK/bin/gh"

# run_case NAME WANT_STATUS WANT_OUTPUT_REGEX ENV... -- ANSWER...
run_case() {
  local name=$1 want=$2 pattern=$3 i=1 envs=()
  shift 3
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local dir=$WORK/$name
  mkdir -p "$dir"
  for a in "$@"; do printf '%s\n' "$a" >"$dir/$i"; i=$((i + 1)); done
  echo $# >"$dir/answers"
  local out status
  out=$(env PATH="$WORK/bin:$PATH" GH_REPLAY="$dir" POLL_SECONDS=1 START_TIMEOUT=2 \
    GH_RETRY_PAUSE=0 GH_RATE_LIMIT_PAUSE=1 "${envs[@]}" \
    bash "$SCRIPT" 0123abcd pull_request backend-deploy.yml 2>&1)
  status=$?
  if [ "$status" = "$want" ] && grep -Eq -- "$pattern" <<<"$out"; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name: exit $status (want $want), output does not match /$pattern/:"
    printf '    %s\n' "$out"
    failed=$((failed + 1))
  fi
}

run() { printf '{"databaseId":%s,"status":"%s","conclusion":"%s","event":"%s","url":"https://example.invalid/run/%s"}' "$1" "$2" "$3" "$4" "$1"; }

run_case success 0 'backend-deploy.yml run 7 \(pull_request\): success' -- \
  "[$(run 7 queued "" pull_request)]" \
  "[$(run 7 in_progress "" pull_request)]" \
  "[$(run 7 completed success pull_request)]"

run_case failure-fails-the-gate 1 "ended with 'failure'" -- \
  "[$(run 8 completed failure pull_request)]"

run_case rate-limit-is-retried 0 'try 1 of 5\): HTTP 403: API rate limit exceeded for installation ; again in 1s' -- \
  "error HTTP 403: API rate limit exceeded for installation" \
  "error HTTP 502: Bad Gateway" \
  "[$(run 9 completed success pull_request)]"

run_case api-down-fails-clearly 1 'cannot read the runs of backend-deploy.yml' GH_ATTEMPTS=3 -- \
  "error HTTP 500: Internal Server Error"

run_case other-events-do-not-count 1 'did not start for 0123abcd within 2s$' -- \
  "[$(run 10 completed success push),$(run 11 completed success workflow_dispatch)]"

run_case over-300-files-says-so 1 'changes 301 files.*first 300 only.*gh workflow run backend-deploy.yml --ref feature/big' \
  CHANGED_FILES=301 HEAD_REF=feature/big -- "[]"

run_case over-300-files-takes-a-dispatch-run 0 'run 12 \(workflow_dispatch\): success' CHANGED_FILES=450 -- \
  "[$(run 12 completed success workflow_dispatch),$(run 3 completed failure push)]"

run_case running-conclusion-is-not-shifted 0 'run 13 \(pull_request\) is in_progress' -- \
  "[$(run 13 in_progress "" pull_request)]" \
  "[$(run 13 completed success pull_request)]"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
