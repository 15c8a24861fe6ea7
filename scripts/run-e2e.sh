#!/usr/bin/env bash
# Browser tests (make e2e): installs Chromium and Node through
# install-deps.sh, installs playwright-core from the lock file (never a
# browser download), starts guestbookd role all on a free port with a
# temporary data directory, runs `node --test tests/e2e/*.test.mjs` against
# it with the system Chromium, stops the server and prints the summary.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${GB_BUILD_DIR:-$ROOT/build}
cd "$ROOT"

scripts/install-deps.sh test

[[ -x "$BUILD/guestbookd" ]] || { echo "run-e2e: $BUILD/guestbookd is missing: run make all first" >&2; exit 1; }
CHROMIUM=${GB_CHROMIUM:-$(command -v chromium || true)}
[[ -n "$CHROMIUM" ]] || { echo "run-e2e: chromium not found" >&2; exit 1; }

# playwright-core only: it has no install script and downloads nothing,
# and these variables make sure nothing ever tries to.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PLAYWRIGHT_BROWSERS_PATH=0
NPM_CACHE=${GB_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/guestbook/npm}
mkdir -p "$NPM_CACHE"
(cd tests/e2e && npm ci --no-audit --no-fund --ignore-scripts --prefer-offline \
  --loglevel=error --cache "$NPM_CACHE" >/dev/null)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/guestbook-e2e.XXXXXX")
PID=
cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

"$BUILD/guestbookd" --role all --listen 127.0.0.1:0 \
  --plugin-dir "$BUILD/plugins" --www-dir "$ROOT/www" \
  --sqlite-path "$TMP/guestbook.db" --drain-seconds 0 --log-format json \
  >"$TMP/server.log" 2>&1 &
PID=$!

PORT=
for _ in $(seq 200); do
  PORT=$(sed -nE 's/.*"msg":"ready: .* listen=[^ ]*:([0-9]+).*/\1/p' "$TMP/server.log" | head -1)
  [[ -n "$PORT" ]] && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.05
done
if [[ -z "$PORT" ]]; then
  echo "run-e2e: guestbookd did not get ready:" >&2
  cat "$TMP/server.log" >&2
  exit 1
fi

mkdir -p "$BUILD/artifacts"
echo "run-e2e: guestbookd on http://127.0.0.1:$PORT, Chromium $("$CHROMIUM" --version 2>/dev/null | head -1)"
rc=0
GB_E2E_URL="http://127.0.0.1:$PORT" GB_E2E_ARTIFACTS="$BUILD/artifacts" GB_CHROMIUM="$CHROMIUM" \
  node --test --test-reporter=spec tests/e2e/*.test.mjs >"$TMP/e2e.out" 2>&1 || rc=$?
cat "$TMP/e2e.out"
if [[ $rc -ne 0 ]]; then
  echo "run-e2e: server log:" >&2
  tail -30 "$TMP/server.log" >&2
fi
echo "run-e2e: screenshots in $BUILD/artifacts/"
exit $rc
