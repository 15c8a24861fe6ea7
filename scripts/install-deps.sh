#!/usr/bin/env bash
# Installs what the given groups need on Debian (apt-get; sudo when not root).
# Groups: build, test, bench. Fast no-op when everything is there.
set -euo pipefail

declare -A PKGS=(
  [build]="gcc make pkg-config libcivetweb-dev libsqlite3-dev libmongoc-dev libbson-dev libcjson-dev"
  [test]="libcriterion-dev curl prometheus chromium nodejs npm"
  [bench]="wrk"
)
# Commands whose presence proves a group-only package is there.
declare -A PROBE=([prometheus]=promtool [chromium]=chromium [nodejs]=node [npm]=npm [curl]=curl [wrk]=wrk [gcc]=gcc [make]=make [pkg-config]=pkg-config)

missing=()
for group in "$@"; do
  for p in ${PKGS[$group]:?unknown group $group}; do
    if [[ -n "${PROBE[$p]:-}" ]]; then
      command -v "${PROBE[$p]}" >/dev/null 2>&1 && continue
    elif dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
      continue
    fi
    missing+=("$p")
  done
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${missing[*]}; this script knows only Debian/Ubuntu (apt-get)." >&2
  echo "install-deps: install the equivalents with your package manager and rerun." >&2
  exit 1
fi
SUDO=()
[[ $(id -u) -ne 0 ]] && SUDO=(sudo)
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
