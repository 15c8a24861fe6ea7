#!/usr/bin/env bash
# FerretDB helpers for the MongoDB store's tests and benchmarks.
#
# FerretDB speaks the MongoDB wire protocol over SQLite, so the mongo store
# can be tested against a real server without installing MongoDB.
#
# Usage (as a command):
#   tests/lib/ferretdb.sh build            build (or reuse) the cached binary,
#                                          print its path
#   tests/lib/ferretdb.sh start DIR [PORT] start a server with its data and log
#                                          in DIR (PORT: free one if omitted),
#                                          print "PORT PID" once it accepts
#   tests/lib/ferretdb.sh stop DIR         stop the server started in DIR
#   tests/lib/ferretdb.sh path             print the binary's path
# Or source it and call ferretdb_build / ferretdb_start / ferretdb_stop.
#
# Environment: FERRETDB_BIN (use this binary, skip the build), GO (the go
# command), GB_CACHE_DIR (default ~/.cache/guestbook), FERRETDB_WATCH_PID
# (start: stop the server when this process is gone).

FERRETDB_VERSION=v1.24.2
# shellcheck source=tests/lib/gotool.sh
. "$(dirname "${BASH_SOURCE[0]}")/gotool.sh"
FERRETDB_DIR=$GB_CACHE_DIR/ferretdb-$FERRETDB_VERSION
GOTOOL_NAME=ferretdb.sh

# ferretdb_compile GO WORKDIR: builds WORKDIR/ferretdb from the Go module
# proxy. FerretDB reads its version from build/version/version.txt, which
# its releases generate and its module does not ship: a binary built
# straight from the module (go install, or go build from a wrapper module
# with recent Go, which records FerretDB as the main module) panics at
# start. So the module is fetched through a wrapper module, copied, given
# that file, and built in place.
ferretdb_compile() {
	local go=$1 work=$2 dir
	cd "$work" &&
	    "$go" mod init gbferretdb &&
	    "$go" get -tool "github.com/FerretDB/FerretDB/cmd/ferretdb@$FERRETDB_VERSION" &&
	    dir=$("$go" list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB) &&
	    [ -n "$dir" ] &&
	    cp -R "$dir" "$work/src" &&
	    chmod -R u+w "$work/src" &&
	    printf '%s\n' "$FERRETDB_VERSION" >"$work/src/build/version/version.txt" &&
	    cd "$work/src" &&
	    "$go" build -o "$work/ferretdb" ./cmd/ferretdb &&
	    "$work/ferretdb" --version
}

# Prints the path of the FerretDB binary, building it once into the cache
# (only a binary that ran --version successfully is kept there).
ferretdb_build() {
	gotool_build ferretdb "$FERRETDB_VERSION" ferretdb_compile \
	    "install Go >= 1.22 to build FerretDB, or set FERRETDB_BIN to a FerretDB $FERRETDB_VERSION binary" \
	    FERRETDB_BIN
}

ferretdb_free_port() { gotool_free_port; }

# ferretdb_launch: one try of ferretdb_start (its bin, dir and port):
# FerretDB on PORT, or on a free port when none was given.
ferretdb_launch() {
	GOTOOL_PORTS=$port
	[ -n "$GOTOOL_PORTS" ] || GOTOOL_PORTS=$(ferretdb_free_port) || {
		gotool_log "no free port found"
		return 1
	}
	"$bin" --handler=sqlite --sqlite-url="file:$dir/data/" \
	    --listen-addr="127.0.0.1:$GOTOOL_PORTS" --telemetry=disable \
	    --log-level=warn --state-dir="$dir" \
	    --debug-addr=- \
	    >>"$dir/ferretdb.log" 2>&1 </dev/null &
}

# ferretdb_start DIR [PORT]: starts FerretDB with SQLite data in DIR/data/
# and its log in DIR/ferretdb.log, waits until it accepts connections and
# prints "PORT PID". The pid is also kept in DIR/ferretdb.pid.
ferretdb_start() {
	local dir=$1 port=${2:-}
	if [ -z "$dir" ]; then
		gotool_log "usage: ferretdb_start DIR [PORT]"
		return 1
	fi
	local bin
	bin=$(ferretdb_build) || return 1
	mkdir -p "$dir/data" || return 1
	dir=$(cd "$dir" && pwd)
	local fixed=0
	[ -n "$port" ] && fixed=1
	gotool_start FerretDB ferretdb_launch 200 "$fixed" "$dir/ferretdb.log" \
	    "$dir/ferretdb.pid" "${FERRETDB_WATCH_PID:-}" || return 1
	printf '%s %s\n' "$GOTOOL_PORTS" "$GOTOOL_PID"
}

# ferretdb_stop DIR: stops the FerretDB started in DIR and waits for it.
ferretdb_stop() {
	gotool_stop "$1/ferretdb.pid"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case $cmd in
	build) ferretdb_build ;;
	path) printf '%s\n' "$FERRETDB_DIR/ferretdb" ;;
	start) ferretdb_start "$@" ;;
	stop) ferretdb_stop "$@" ;;
	free-port) ferretdb_free_port ;;
	*)
		echo "usage: $0 build | path | start DIR [PORT] | stop DIR | free-port" >&2
		exit 2
		;;
	esac
fi
