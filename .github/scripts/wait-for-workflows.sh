#!/usr/bin/env bash
# wait-for-workflows.sh SHA EVENT [WORKFLOW_FILE...]
# Waits until the newest run of each workflow for commit SHA and event EVENT
# has completed; exits 1 if one did not succeed or never started. Needs gh
# with GH_TOKEN (actions: read) and GH_REPO.
#
# Environment:
#   POLL_SECONDS   seconds between two looks at a run (default 60; the gate
#                  waits up to 2 hours, so 60-120 s keeps it far below the
#                  token's API rate limit)
#   START_TIMEOUT  seconds a run may take to appear (default 600)
#   GH_ATTEMPTS    tries of each gh call before giving up (default 5): an API
#                  error or the rate limit is waited out, not fatal; the
#                  pause starts at GH_RETRY_PAUSE (15 s) and doubles, and is
#                  at least GH_RATE_LIMIT_PAUSE (120 s) after a rate limit
#   CHANGED_FILES  files the pull request changes. Above 300 GitHub does not
#                  evaluate `paths:` on all of them and may never start a
#                  workflow; a workflow_dispatch run of the same commit then
#                  counts too, and a run that never starts is reported so.
#   HEAD_REF       the pull request's branch (for the command printed then)
set -euo pipefail

sha=$1 event=$2
shift 2
if [ $# -eq 0 ]; then
  echo "No deploy workflow runs for this change."
  exit 0
fi

poll=${POLL_SECONDS:-60}
start_timeout=${START_TIMEOUT:-600}
attempts=${GH_ATTEMPTS:-5}
retry_pause=${GH_RETRY_PAUSE:-15}
rate_limit_pause=${GH_RATE_LIMIT_PAUSE:-120}
[ "$poll" -ge 1 ] || { echo "::error::POLL_SECONDS must be 1 or more" >&2; exit 2; }
changed_files=${CHANGED_FILES:-0}
case $changed_files in '' | *[!0-9]*) changed_files=0 ;; esac
head_ref=${HEAD_REF:-<branch>}
paths_limit=300

events=("$event")
if [ "$changed_files" -gt "$paths_limit" ]; then
  events+=(workflow_dispatch)
  echo "::warning::this pull request changes $changed_files files; GitHub evaluates path filters on the first $paths_limit only, so $* may not start. A workflow_dispatch run of the same commit counts instead."
fi
events_json=$(printf '%s\n' "${events[@]}" | jq -R . | jq -sc .)

# gh_retry ARGS...: runs gh, retrying failures (API errors, the rate limit)
# with a growing pause; prints its output, or fails after $attempts tries.
gh_retry() {
  local try=1 pause=$retry_pause out err
  err=$(mktemp)
  while :; do
    if out=$(gh "$@" 2>"$err"); then
      rm -f "$err"
      printf '%s\n' "$out"
      return 0
    fi
    if [ "$try" -ge "$attempts" ]; then
      echo "::error::gh $1 $2 failed $attempts times; last error: $(tr '\n' ' ' <"$err")" >&2
      rm -f "$err"
      return 1
    fi
    # The rate limit resets within the hour: wait longer for it.
    if grep -Eqi 'rate limit|HTTP 429|HTTP 403' "$err"; then
      pause=$((pause < rate_limit_pause ? rate_limit_pause : pause))
    fi
    echo "gh $1 $2 failed (try $try of $attempts): $(tr '\n' ' ' <"$err"); again in ${pause}s" >&2
    sleep "$pause"
    try=$((try + 1))
    pause=$((pause * 2))
  done
}

# newest_run WORKFLOW: "ID STATUS CONCLUSION EVENT URL" of the newest run of
# WORKFLOW for $sha whose event is one of $events (CONCLUSION "-" while it
# runs), or nothing.
newest_run() {
  gh_retry run list --workflow "$1" --commit "$sha" --limit 20 \
    --json databaseId,status,conclusion,event,url \
    --jq "[.[] | select(.event as \$e | $events_json | any(.[]; . == \$e))][0] // empty
          | \"\\(.databaseId) \\(.status) \\(if (.conclusion // \"\") == \"\" then \"-\" else .conclusion end) \\(.event) \\(.url)\""
}

failed=0
for wf in "$@"; do
  echo "::group::$wf"
  waited=0
  while :; do
    if ! run=$(newest_run "$wf"); then
      echo "::error::cannot read the runs of $wf from the GitHub API (see above)"
      failed=1
      break
    fi
    if [ -z "$run" ]; then
      if [ "$waited" -ge "$start_timeout" ]; then
        if [ "$changed_files" -gt "$paths_limit" ]; then
          echo "::error::$wf did not start for $sha within ${start_timeout}s: this pull request changes $changed_files files and GitHub evaluates path filters on the first $paths_limit only. Start it by hand, then re-run this gate: gh workflow run $wf --ref $head_ref"
        else
          echo "::error::$wf did not start for $sha within ${start_timeout}s"
        fi
        failed=1
        break
      fi
    else
      read -r id status conclusion run_event url <<<"$run"
      if [ "$status" = completed ]; then
        echo "$wf run $id ($run_event): $conclusion ($url)"
        if [ "$conclusion" != success ]; then
          echo "::error::$wf ended with '$conclusion': $url"
          failed=1
        fi
        break
      fi
      echo "$wf run $id ($run_event) is $status"
    fi
    sleep "$poll"
    waited=$((waited + poll))
  done
  echo "::endgroup::"
done
exit "$failed"
