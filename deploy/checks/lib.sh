# shellcheck shell=bash disable=SC2034
# Shared helpers for deploy/checks/*.sh. Source it first:
#   . "$(dirname "$0")/lib.sh"
#
# Gives: DEPLOY_DIR, REPO_DIR, TOOLS_DIR (the tool cache outside the
# checkout), CHECK_NAME, the versions of ../versions.env, log/warn/die,
# need_cmd, need_apt, need_python_yaml, need_go_tool, need_go_build,
# go_build_error, go_module_dir, need_helm, golden_renders, on_exit (cleanup
# stack), scratch_dir and free_port.
set -euo pipefail

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Every tool version, in one file (see its header).
# shellcheck source=../versions.env
. "$DEPLOY_DIR/versions.env"
REPO_DIR=$(cd "$DEPLOY_DIR/.." && pwd)
CHECKS_DIR="$DEPLOY_DIR/checks"
# Built tools live here, keyed by name and version, so a fresh clone (CI)
# on the same machine reuses them.
TOOLS_DIR=${GUESTBOOK_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/guestbook-tools}
CHECK_NAME=${CHECK_NAME:-$(basename "${0%.sh}")}
CHECK_START=$(date +%s)
mkdir -p "$TOOLS_DIR"

log() { printf '[%s] %s\n' "$CHECK_NAME" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$CHECK_NAME" "$*" >&2; }
die() {
	printf '[%s] FAIL: %s\n' "$CHECK_NAME" "$*" >&2
	exit 1
}

# Cleanup stack: on_exit CMD... runs CMD when the check exits, last
# registered first. The final line is printed here too, so a check that
# dies still reports.
_ON_EXIT=()
on_exit() { _ON_EXIT+=("$*"); }
_run_exit() {
	local rc=$? i
	for ((i = ${#_ON_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_ON_EXIT[$i]}" >/dev/null 2>&1 || true
	done
	local secs=$(($(date +%s) - CHECK_START))
	if [[ $rc -eq 0 ]]; then
		printf '== %s: PASS (%ss)\n' "$CHECK_NAME" "$secs"
	else
		printf '== %s: FAIL (exit %s, %ss)\n' "$CHECK_NAME" "$rc" "$secs"
	fi
	exit "$rc"
}
trap _run_exit EXIT
trap 'exit 130' INT TERM

# scratch_dir: a temporary directory removed when the check exits.
scratch_dir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/gb-${CHECK_NAME}.XXXXXX")
	on_exit "rm -rf '$d'"
	printf '%s\n' "$d"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			die "'$c' is not installed; this check cannot run without it"
	done
}

# need_apt CMD PACKAGE: makes sure CMD is the program Debian's PACKAGE
# installs. CMD must name the program the check runs (dockerd for the
# daemon, not the docker client, which a machine may carry on its own).
# When PACKAGE is not installed it is installed, whatever else answers to
# CMD on PATH; afterwards CMD on PATH must be a file of a Debian package, so a
# wrong pairing fails here rather than passing on a machine that happened
# to have the command.
need_apt() {
	local cmd=$1 pkg=$2
	if ! apt_installed "$pkg"; then
		command -v apt-get >/dev/null 2>&1 ||
			die "'$cmd' is needed and apt-get is not available: install $pkg"
		local sudo=()
		[[ $(id -u) -eq 0 ]] || sudo=(sudo)
		log "installing $pkg (for $cmd)"
		export DEBIAN_FRONTEND=noninteractive
		"${sudo[@]}" apt-get update -qq >/dev/null ||
			die "apt-get update failed; cannot install $pkg"
		"${sudo[@]}" apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null ||
			die "apt-get install $pkg failed"
		log "installed $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
	fi
	local path
	path=$(command -v "$cmd" 2>/dev/null) || die "$pkg is installed but '$cmd' is not on PATH"
	dpkg -S "$(readlink -f "$path")" >/dev/null 2>&1 || dpkg -S "$path" >/dev/null 2>&1 ||
		die "'$cmd' on PATH is $path, which no Debian package ships (want the one from $pkg)"
}

# apt_installed PACKAGE: true when dpkg has PACKAGE installed.
apt_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# need_python_yaml: sets PY to a python3 that can import yaml.
need_python_yaml() {
	local p
	for p in python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then
			PY=$(command -v "$p")
			return 0
		fi
	done
	need_apt /usr/bin/python3 python3
	command -v apt-get >/dev/null 2>&1 || die "python3 with PyYAML is required"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null ||
		die "cannot install python3-yaml"
	PY=/usr/bin/python3
}

# need_go_tool NAME PACKAGE VERSION: prints the path of NAME built by
# `go install PACKAGE@VERSION`, building it into the cache once. The build
# goes to a temporary directory first so an interrupted build never counts.
need_go_tool() {
	local name=$1 pkg=$2 version=$3
	local dir="$TOOLS_DIR/bin/$name-$version"
	if [[ -x "$dir/$name" ]]; then
		printf '%s\n' "$dir/$name"
		return 0
	fi
	command -v go >/dev/null 2>&1 ||
		die "$name $version is not cached in $dir and Go is not installed to build it"
	log "building $name $version (go install $pkg@$version; once, cached in $dir)"
	local tmp
	tmp=$(mktemp -d "$TOOLS_DIR/.build-$name.XXXXXX")
	if ! GOBIN="$tmp" GOFLAGS=-mod=mod go install "$pkg@$version" >"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		die "go install $pkg@$version failed"
	fi
	mkdir -p "$dir"
	mv "$tmp/$name" "$dir/$name"
	rm -rf "$tmp" "$tmp.log"
	printf '%s\n' "$dir/$name"
}

# need_go_build NAME MODULE VERSION PACKAGE OUT: makes OUT the binary of
# PACKAGE built from MODULE@VERSION, once (OUT names the version; an
# existing OUT is used as it is). For modules `go install` refuses because
# their go.mod has replace or exclude directives (the Terraform providers):
# a throwaway wrapper module carries those directives verbatim and builds
# the package. go's output, and the module proxy's answer when the download
# fails, go to $TOOLS_DIR/logs/build-NAME.log; returns 1 on failure so the
# caller decides whether that is fatal (go_build_error NAME says why).
need_go_build() {
	local name=$1 mod=$2 ver=$3 pkg=$4 out=$5 w gomod
	[[ -x $out ]] && return 0
	command -v go >/dev/null 2>&1 || {
		printf 'Go is not installed to build %s\n' "$pkg@$ver" >"$(go_build_log "$name")"
		return 1
	}
	local buildlog
	buildlog=$(go_build_log "$name")
	mkdir -p "$(dirname "$out")"
	w=$(mktemp -d "$TOOLS_DIR/.build-$name.XXXXXX")
	log "building $pkg@$ver into $out (log: $buildlog)"
	if ! (cd "$w" && go mod download -json "$mod@$ver") >"$w/download.json" 2>"$buildlog"; then
		# The proxy's answer, unquoted.
		sed -n 's/^[[:space:]]*"Error": "\(.*\)"$/\1/p' "$w/download.json" |
			sed 's/\\n\\t/ /g; s/\\"/"/g' >>"$buildlog"
		rm -rf "$w"
		return 1
	fi
	gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' "$w/download.json")
	if ! (
		cd "$w" &&
			go mod init local/wrapper &&
			awk '/^(replace|exclude)[[:space:]]*\($/ {blk=1} blk {print} blk && /^\)/ {blk=0; next}
			     !blk && /^(replace|exclude)[[:space:]]/ {print}' "$gomod" >>go.mod &&
			go get -tool "$pkg@$ver" &&
			go build -trimpath -o "$w/$name.bin" "$pkg"
	) >>"$buildlog" 2>&1; then
		rm -rf "$w"
		return 1
	fi
	mv "$w/$name.bin" "$out"
	rm -rf "$w"
}

# go_build_log NAME: the log file of need_go_build NAME.
go_build_log() {
	mkdir -p "$TOOLS_DIR/logs"
	printf '%s\n' "$TOOLS_DIR/logs/build-$1.log"
}

# go_build_error NAME: the last lines of need_go_build NAME's log, without
# go's "downloading" chatter.
go_build_error() {
	grep -v '^go: downloading' "$(go_build_log "$1")" | tail -n 5
}

# need_helm: prints the path of helm $HELM_VERSION (go install, cached).
# A helm built so reports only "v3.22" and a default Kubernetes of 1.20:
# give every call --kube-version "$KUBE_VERSION.0".
need_helm() {
	need_go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
}

# The app charts' golden renders: deploy/checks/golden/CHART--CASE.yaml is
# `helm template gb CHART` in namespace guestbook for Kubernetes
# $KUBE_VERSION with the value set CASE: "default" (the chart's own
# values), each helm/ci-values/CHART--CASE.yaml, and "terraform"
# (terraform/values/ROLE.yaml, which Terraform and build.sh pass).
# 30-helm diffs the charts' renders against them; checks/golden.sh
# rewrites them.
GOLDEN_DIR=$CHECKS_DIR/golden
GOLDEN_CHARTS=(guestbook-backend guestbook-frontend)

# golden_renders HELM DIR: writes every golden case into DIR.
golden_renders() {
	local helm=$1 out=$2 chart values case
	mkdir -p "$out"
	for chart in "${GOLDEN_CHARTS[@]}"; do
		local sets=("default=")
		for values in "$DEPLOY_DIR/helm/ci-values/$chart"--*.yaml; do
			[[ -e $values ]] || continue
			case=$(basename "$values" .yaml)
			sets+=("${case#*--}=$values")
		done
		sets+=("terraform=$DEPLOY_DIR/terraform/values/${chart#guestbook-}.yaml")
		local set
		for set in "${sets[@]}"; do
			case=${set%%=*} values=${set#*=}
			local args=(template gb "$DEPLOY_DIR/helm/$chart" --namespace guestbook
				--kube-version "$KUBE_VERSION.0")
			[[ -n $values ]] && args+=(-f "$values")
			"$helm" "${args[@]}" >"$out/$chart--$case.yaml" 2>"$out/.err" || {
				cat "$out/.err" >&2
				die "helm template $chart ($case) failed"
			}
		done
	done
	rm -f "$out/.err"
}

# go_module_dir MODULE VERSION: downloads a module (source only) through
# the module proxy and prints its directory in the module cache.
go_module_dir() {
	local mod=$1 version=$2 out
	command -v go >/dev/null 2>&1 || die "Go is needed to download $mod@$version"
	out=$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "$mod@$version") ||
		die "go mod download $mod@$version failed"
	printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}
