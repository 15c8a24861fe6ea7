#!/usr/bin/env bash
# Installs what the given groups need on Debian (apt-get; sudo when not root).
# Groups: build, test, bench, edge. Fast no-op when everything is there.
#
# A package counts as present only when dpkg has it installed, and each
# program the tests run is then checked to be the one the package ships
# (a machine image may carry its own `docker`, `node` or `chromium`; a green
# run on such a machine must not hide a missing install). Node.js is the one
# program taken from wherever it is installed, provided its major version
# is at least NODE_MIN_MAJOR: the machine image ships a newer one than
# Debian's and either works.
set -euo pipefail

declare -A PKGS=(
  [build]="gcc make pkg-config libcivetweb-dev libsqlite3-dev libmongoc-dev libbson-dev libcjson-dev"
  [test]="libcriterion-dev curl prometheus chromium nodejs python3 nginx gettext-base groff-base man-db systemd e2fsprogs clang-format"
  [bench]="wrk nginx gettext-base"
  [edge]="nginx gettext-base"
)
# The programs the tests run, by the package that must provide them.
declare -A PROGRAMS=(
  [gcc]=gcc [make]=make [pkg-config]=pkg-config [curl]=curl
  [prometheus]="prometheus promtool" [chromium]=/usr/bin/chromium
  [wrk]=wrk [python3]=/usr/bin/python3 [nginx]=/usr/sbin/nginx [gettext-base]=envsubst
  [groff-base]=groff [man-db]=man [systemd]=systemd-analyze
  [e2fsprogs]=chattr [clang-format]=clang-format
)
NODE_MIN_MAJOR=18

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
  [[ $major -ge $NODE_MIN_MAJOR ]]
}

missing=()
for group in "$@"; do
  for p in ${PKGS[$group]:?unknown group $group}; do
    if [[ $p == nodejs ]]; then
      node_ok || missing+=(nodejs npm)
      continue
    fi
    installed "$p" || missing+=("$p")
  done
done

if [[ ${#missing[@]} -gt 0 ]]; then
  # A name can come from two groups (nginx).
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
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
  for p in "${missing[@]}"; do
    echo "install-deps: installed $p $(dpkg-query -W -f='${Version}' "$p")" >&2
  done
  # nginx's package starts a server on port 80; the tests start their own.
  if [[ " ${missing[*]} " == *" nginx "* ]] && command -v systemctl >/dev/null 2>&1; then
    "${SUDO[@]}" systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
  if [[ " ${missing[*]} " == *" nginx "* ]] && [[ -f /run/nginx.pid ]]; then
    "${SUDO[@]}" nginx -s quit >/dev/null 2>&1 || true
  fi
fi

# Every program the tests run: on PATH, and a file of a Debian package
# (not a binary the machine image put in /usr/local).
bad=0
for group in "$@"; do
  for p in ${PKGS[$group]}; do
    if [[ $p == nodejs ]]; then
      node_ok || { echo "install-deps: node >= $NODE_MIN_MAJOR with npm is required (have: $(node --version 2>/dev/null || echo none))" >&2; bad=1; }
      continue
    fi
    for prog in ${PROGRAMS[$p]:-}; do
      path=$(command -v "$prog" 2>/dev/null || true)
      if [[ -z $path ]]; then
        echo "install-deps: $p is installed but $prog is not on PATH" >&2
        bad=1
      elif ! dpkg -S "$(readlink -f "$path")" >/dev/null 2>&1 && ! dpkg -S "$path" >/dev/null 2>&1; then
        echo "install-deps: $prog on PATH is $path, which no Debian package ships (want the one from $p)" >&2
        bad=1
      fi
    done
  done
done
exit "$bad"
