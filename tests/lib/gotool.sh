#!/usr/bin/env bash
# Shared by the helpers that build a Go program from the module proxy and
# run it for the tests (tests/lib/ferretdb.sh, tests/lib/jaeger.sh). Source
# it; it defines functions only.
#
# The cache: $GB_CACHE_DIR (default ~/.cache/guestbook)/NAME-VERSION/NAME,
# built once in a temporary directory under the cache, kept only after it
# ran its version check, and moved into place, under a lock so parallel
# test binaries build it once.

GB_CACHE_DIR=${GB_CACHE_DIR:-$HOME/.cache/guestbook}

gotool_log() { printf '%s: %s\n' "$GOTOOL_NAME" "$*" >&2; }

# gotool_find_go HINT: prints the path of the go command, or fails with a
# clear message ending in HINT (what to install or set instead).
gotool_find_go() {
	local g
	for g in "${GO:-}" "$(command -v go 2>/dev/null)" /usr/local/go/bin/go \
	    /usr/lib/go/bin/go; do
		if [ -n "$g" ] && [ -x "$g" ]; then
			printf '%s\n' "$g"
			return 0
		fi
	done
	gotool_log "Go is not installed (looked for \$GO, go on PATH," \
	    "/usr/local/go/bin/go): $1"
	return 1
}

# gotool_build NAME VERSION COMPILE GO_HINT BINVAR: prints the path of the
# cached binary NAME, building it first when missing. COMPILE is a
# function called as `COMPILE GO WORKDIR` that leaves WORKDIR/NAME (its
# output goes to the build log). BINVAR names the environment variable
# (e.g. FERRETDB_BIN) that, when set, gives a binary to use instead, with
# no build. GOTOOL_NAME names the caller in messages.
gotool_build() {
	local name=$1 version=$2 compile=$3 hint=$4 binvar=$5
	local dir=$GB_CACHE_DIR/$name-$version
	if [ -n "${!binvar:-}" ]; then
		if [ -x "${!binvar}" ]; then
			printf '%s\n' "${!binvar}"
			return 0
		fi
		gotool_log "$binvar=${!binvar} is not an executable"
		return 1
	fi
	if [ -x "$dir/$name" ]; then
		printf '%s\n' "$dir/$name"
		return 0
	fi
	local go
	go=$(gotool_find_go "$hint") || return 1
	mkdir -p "$GB_CACHE_DIR" || return 1
	local lock=$GB_CACHE_DIR/$name-$version.lock
	(
		flock -w 3600 9 || { gotool_log "timed out waiting for $lock"; exit 1; }
		[ -x "$dir/$name" ] && exit 0
		local work
		work=$(mktemp -d "$GB_CACHE_DIR/$name-build.XXXXXX") || exit 1
		local log=$GB_CACHE_DIR/$name-$version.build.log
		gotool_log "building $name $version (minutes; log: $log)"
		if ! (cd "$work" && "$compile" "$go" "$work") >"$log" 2>&1; then
			gotool_log "$name build failed; last lines of $log:"
			tail -n 15 "$log" >&2
			rm -rf "$work"
			exit 1
		fi
		mkdir -p "$dir" &&
		    mv "$work/$name" "$dir/$name.tmp" &&
		    mv "$dir/$name.tmp" "$dir/$name"
		local rc=$?
		rm -rf "$work"
		exit $rc
	) 9>"$lock" || return 1
	printf '%s\n' "$dir/$name"
}

# Prints a TCP port on 127.0.0.1 that nobody listens on right now.
gotool_free_port() {
	python3 - <<'PY' 2>/dev/null && return 0
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	return 1
}

# True when something accepts TCP connections on 127.0.0.1:$1.
gotool_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# gotool_watch PID WATCH: when WATCH names a process (the test that
# started PID), stops PID once that process is gone, so a test that
# crashes or times out leaves no server behind.
gotool_watch() {
	local pid=$1 watch=${2:-}
	[ -n "$watch" ] || return 0
	(
		while kill -0 "$watch" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
			sleep 1
		done
		kill "$pid" 2>/dev/null
	) >/dev/null 2>&1 </dev/null &
}

# gotool_await PID STEPS PORT...: waits (STEPS x 50 ms at most) until
# every PORT on 127.0.0.1 accepts; 0 then. Otherwise (PID exited, or time
# is up) stops PID, waits for it and returns 1.
gotool_await() {
	local pid=$1 steps=$2 _ p ready
	shift 2
	for _ in $(seq "$steps"); do
		kill -0 "$pid" 2>/dev/null || break
		ready=1
		for p in "$@"; do
			gotool_port_open "$p" || { ready=0; break; }
		done
		[ "$ready" = 1 ] && return 0
		sleep 0.05
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 1
}

# gotool_start WHAT LAUNCH STEPS FIXED LOG PIDFILE WATCH: starts a server,
# waits until it accepts and tries again, five times at most. LAUNCH is a function,
# run in this shell, that picks the ports, starts the server in the
# background (output appended to LOG) and sets GOTOOL_PORTS to the ports
# to wait for; it returns non-zero when it cannot (no free port), which
# ends the tries. A try that fails (the server exited, or STEPS x 50 ms
# passed) stops the server; with FIXED=1 (ports a restart reuses, which
# may race the old sockets' release) the next try waits 0.5 s, otherwise
# LAUNCH picks new ports. On success the server's pid is in GOTOOL_PID
# and PIDFILE, and it is stopped once the process WATCH is gone (see
# gotool_watch); after the last try WHAT and the last lines of LOG go to
# stderr.
gotool_start() {
	local what=$1 launch=$2 steps=$3 fixed=$4 log=$5 pidfile=$6 watch=$7
	local tries=0
	while :; do
		"$launch" || return 1
		GOTOOL_PID=$!
		# shellcheck disable=SC2086 # GOTOOL_PORTS is a list of ports
		if gotool_await "$GOTOOL_PID" "$steps" $GOTOOL_PORTS; then
			gotool_watch "$GOTOOL_PID" "$watch"
			printf '%s\n' "$GOTOOL_PID" >"$pidfile"
			return 0
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 5 ]; then
			gotool_log "$what did not start on 127.0.0.1 port(s)" \
			    "$GOTOOL_PORTS; last lines of $log:"
			tail -n 10 "$log" >&2
			return 1
		fi
		[ "$fixed" = 1 ] && sleep 0.5
	done
}

# gotool_stop PIDFILE: stops the process whose pid PIDFILE holds (SIGTERM,
# SIGKILL after 5 s) and removes the file.
gotool_stop() {
	local file=$1 pid
	[ -f "$file" ] || return 0
	pid=$(cat "$file")
	rm -f "$file"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	local _
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}
