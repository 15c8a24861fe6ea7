#!/usr/bin/env bash
# wait-for-workflows.sh SHA EVENT [WORKFLOW_FILE...]
# Waits until the newest run of each workflow for commit SHA and event EVENT
# has completed; exits 1 if one did not succeed or never started. Needs gh
# with GH_TOKEN (actions: read) and GH_REPO.
set -euo pipefail

sha=$1 event=$2
shift 2
if [ $# -eq 0 ]; then
  echo "No deploy workflow runs for this change."
  exit 0
fi

start_timeout=${START_TIMEOUT:-600}  # seconds for a run to appear
poll=${POLL_SECONDS:-30}
failed=0
for wf in "$@"; do
  echo "::group::$wf"
  waited=0
  while :; do
    run=$(gh run list --workflow "$wf" --commit "$sha" --event "$event" \
      --limit 1 --json databaseId,status,conclusion,url \
      --jq '.[0] // empty | "\(.databaseId) \(.status) \(.conclusion) \(.url)"')
    if [ -z "$run" ]; then
      if [ "$waited" -ge "$start_timeout" ]; then
        echo "::error::$wf did not start for $sha within ${start_timeout}s"
        failed=1
        break
      fi
    else
      read -r id status conclusion url <<<"$run"
      if [ "$status" = completed ]; then
        echo "$wf run $id: $conclusion ($url)"
        if [ "$conclusion" != success ]; then
          echo "::error::$wf ended with '$conclusion': $url"
          failed=1
        fi
        break
      fi
      echo "$wf run $id is $status"
    fi
    sleep "$poll"
    waited=$((waited + poll))
  done
  echo "::endgroup::"
done
exit "$failed"
