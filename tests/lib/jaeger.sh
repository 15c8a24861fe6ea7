#!/usr/bin/env bash
# Jaeger helpers for the tracing tests and benchmarks.
#
# Jaeger is the trace collector of the deploy stack; the tests run the same
# program on loopback (in-memory storage, OTLP/HTTP receiver, query API) so
# the exporter is tested against a real collector, never a fake one.
#
# Usage (as a command):
#   tests/lib/jaeger.sh build        build (or reuse) the cached binary,
#                                    print its path
#   tests/lib/jaeger.sh start DIR    start a collector with its config and
#                                    log in DIR on free ports, print
#                                    "OTLP_PORT QUERY_PORT PID" once both
#                                    accept connections
#   tests/lib/jaeger.sh stop DIR     stop the collector started in DIR
#   tests/lib/jaeger.sh path         print the binary's path
# Or source it and call jaeger_build / jaeger_start / jaeger_stop.
#
# OTLP_PORT takes OTLP/HTTP (POST /v1/traces); QUERY_PORT serves the query
# API (GET /api/traces/ID, /api/services) and the UI.
#
# Environment: JAEGER_BIN (use this binary, skip the build), GO (the go
# command), GB_CACHE_DIR (default ~/.cache/guestbook), JAEGER_WATCH_PID
# (start: stop the collector when this process is gone).

JAEGER_VERSION=v1.76.0
# shellcheck source=tests/lib/gotool.sh
. "$(dirname "${BASH_SOURCE[0]}")/gotool.sh"
JAEGER_DIR=$GB_CACHE_DIR/jaeger-$JAEGER_VERSION
GOTOOL_NAME=jaeger.sh

# jaeger_compile GO WORKDIR: builds WORKDIR/jaeger from the Go module proxy
# through a wrapper module that pins the version (go get -tool).
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
	gotool_build jaeger "$JAEGER_VERSION" jaeger_compile \
	    "install Go >= 1.24 to build Jaeger, or set JAEGER_BIN to a Jaeger $JAEGER_VERSION binary" \
	    JAEGER_BIN
}

# jaeger_config OTLP QUERY GRPC: the collector's configuration on loopback:
# OTLP/HTTP in, the in-memory store, the query API out, no own metrics
# listener (its default port would clash between parallel tests).
jaeger_config() {
	cat <<YAML
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:$2
    grpc:
      endpoint: 127.0.0.1:$3
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$1
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
YAML
}

# jaeger_launch: one try of jaeger_start (its bin, dir, otlp, query and
# grpc): the ports of DIR/jaeger.ports when present, else free ones.
jaeger_launch() {
	if [ -f "$dir/jaeger.ports" ]; then
		read -r otlp query grpc <"$dir/jaeger.ports"
	else
		if ! otlp=$(gotool_free_port) || ! query=$(gotool_free_port) ||
		    ! grpc=$(gotool_free_port); then
			gotool_log "no free port found"
			return 1
		fi
	fi
	jaeger_config "$otlp" "$query" "$grpc" >"$dir/jaeger.yaml"
	GOTOOL_PORTS="$otlp $query"
	"$bin" --config "file:$dir/jaeger.yaml" >>"$dir/jaeger.log" 2>&1 </dev/null &
}

# jaeger_start DIR: starts Jaeger with its config and log in DIR, waits
# until the OTLP and query ports accept and prints "OTLP QUERY PID" (the
# pid is also kept in DIR/jaeger.pid, the ports in DIR/jaeger.ports).
# With DIR/jaeger.ports present (a stopped collector), reuses its ports.
jaeger_start() {
	local dir=$1
	if [ -z "$dir" ]; then
		gotool_log "usage: jaeger_start DIR"
		return 1
	fi
	local bin
	bin=$(jaeger_build) || return 1
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd)
	local otlp query grpc fixed=0
	[ -f "$dir/jaeger.ports" ] && fixed=1
	gotool_start Jaeger jaeger_launch 600 "$fixed" "$dir/jaeger.log" \
	    "$dir/jaeger.pid" "${JAEGER_WATCH_PID:-}" || return 1
	printf '%s %s %s\n' "$otlp" "$query" "$grpc" >"$dir/jaeger.ports"
	printf '%s %s %s\n' "$otlp" "$query" "$GOTOOL_PID"
}

# jaeger_stop DIR: stops the Jaeger started in DIR and waits for it. The
# ports stay in DIR/jaeger.ports for a restart.
jaeger_stop() {
	gotool_stop "$1/jaeger.pid"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cmd=${1:-}
	shift || true
	case $cmd in
	build) jaeger_build ;;
	path) printf '%s\n' "$JAEGER_DIR/jaeger" ;;
	start) jaeger_start "$@" ;;
	stop) jaeger_stop "$@" ;;
	*)
		echo "usage: $0 build | path | start DIR | stop DIR" >&2
		exit 2
		;;
	esac
fi
