#!/usr/bin/env bash
# Jaeger helpers for the tracing tests and benchmarks.
#
# Jaeger is the trace collector of the deploy stack; the tests run the same
# program on loopback (in-memory storage, OTLP/HTTP receiver, query API) so
# the exporter is tested against a real collector.
#
# Usage (as a command):
#   tests/lib/jaeger.sh build           build (or reuse) the cached binary,
#                                       print its path
#   tests/lib/jaeger.sh start DIR       start a collector with its config and
#                                       log in DIR, print "OTLP_PORT QUERY_PORT
#                                       PID" once both ports accept
#   tests/lib/jaeger.sh stop DIR        stop the collector started in DIR
#   tests/lib/jaeger.sh path            print the binary's path
# Or source it and call jaeger_build / jaeger_start / jaeger_stop.
#
# Environment: JAEGER_BIN (use this binary, skip the build), GO (the go
# command), GB_CACHE_DIR (default ~/.cache/guestbook), JAEGER_WATCH_PID
# (start: stop the collector when this process is gone), JAEGER_OTLP_PORT
# and JAEGER_QUERY_PORT (start: use these ports instead of free ones).

JAEGER_VERSION=v1.76.0
GB_CACHE_DIR=${GB_CACHE_DIR:-$HOME/.cache/guestbook}
JAEGER_DIR=$GB_CACHE_DIR/jaeger-$JAEGER_VERSION

jaeger_log() { printf 'jaeger.sh: %s\n' "$*" >&2; }

# Prints the path of the go command, or fails with a clear message.
jaeger_find_go() {
	local g
	for g in "${GO:-}" "$(command -v go 2>/dev/null)" /usr/local/go/bin/go \
	    /usr/lib/go/bin/go; do
		if [ -n "$g" ] && [ -x "$g" ]; then
			printf '%s\n' "$g"
			return 0
		fi
	done
	jaeger_log "Go is not installed (looked for \$GO, go on PATH," \
	    "/usr/local/go/bin/go): install Go >= 1.24 to build Jaeger," \
	    "or set JAEGER_BIN to a Jaeger $JAEGER_VERSION binary"
	return 1
}

# jaeger_compile GO WORKDIR: builds WORKDIR/jaeger from the Go module proxy
# through a wrapper module (the version pinned by go get -tool).
jaeger_compile() {
	local go=$1 work=$2
	cd "$work" &&
	    "$go" mod init gbjaeger &&
	    "$go" get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" &&
	    "$go" build -o "$work/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger &&
	    "$work/jaeger" version
}

# Prints the path of the Jaeger binary, building it once into the cache
# (only a binary that ran "version" successfully is kept there).
jaeger_build() {
	if [ -n "${JAEGER_BIN:-}" ]; then
		if [ -x "$JAEGER_BIN" ]; then
			printf '%s\n' "$JAEGER_BIN"
			return 0
		fi
		jaeger_log "JAEGER_BIN=$JAEGER_BIN is not an executable"
		return 1
	fi
	if [ -x "$JAEGER_DIR/jaeger" ]; then
		printf '%s\n' "$JAEGER_DIR/jaeger"
		return 0
	fi
	local go
	go=$(jaeger_find_go) || return 1
	mkdir -p "$GB_CACHE_DIR" || return 1
	# One builder at a time: parallel test binaries may all ask at once.
	local lock=$GB_CACHE_DIR/jaeger-$JAEGER_VERSION.lock
	(
		flock -w 3600 9 || { jaeger_log "timed out waiting for $lock"; exit 1; }
		[ -x "$JAEGER_DIR/jaeger" ] && exit 0
		local work
		work=$(mktemp -d "$GB_CACHE_DIR/jaeger-build.XXXXXX") || exit 1
		local log=$GB_CACHE_DIR/jaeger-$JAEGER_VERSION.build.log
		jaeger_log "building Jaeger $JAEGER_VERSION (many minutes; log: $log)"
		if ! jaeger_compile "$go" "$work" >"$log" 2>&1; then
			jaeger_log "Jaeger build failed; last lines of $log:"
			tail -n 15 "$log" >&2
			rm -rf "$work"
			exit 1
		fi
		mkdir -p "$JAEGER_DIR" &&
		    mv "$work/jaeger" "$JAEGER_DIR/jaeger.tmp" &&
		    mv "$JAEGER_DIR/jaeger.tmp" "$JAEGER_DIR/jaeger"
		local rc=$?
		rm -rf "$work"
		exit $rc
	) 9>"$lock" || return 1
	printf '%s\n' "$JAEGER_DIR/jaeger"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case $cmd in
	build) jaeger_build ;;
	path) printf '%s\n' "$JAEGER_DIR/jaeger" ;;
	*)
		echo "usage: $0 build | path | start DIR | stop DIR" >&2
		exit 2
		;;
	esac
fi
