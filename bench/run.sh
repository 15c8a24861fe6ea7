#!/usr/bin/env bash
# bench/run.sh - load benchmarks of guestbookd against the ceiling server.
#
# Run through `make bench` (which builds first and sets GB_BUILD_DIR and
# GB_SRC_DIR). Starts guestbookd (role all, SQLite in a temporary
# directory, access log on, rate limit off), seeds 10,000 messages, and
# measures each scenario with wrk (2 threads, 32 connections): the list,
# the ceiling server (a body the size of the real list response) and the
# page in rounds back to back (the goals take the median of the rounds'
# ratios: the neighbours' load moves one 10 s figure more than the costs
# the goals are about), the
# cost of the access log, of the metrics exporter and of tracing (every
# request sampled and exported to a real Jaeger, tests/lib/jaeger.sh, whose
# cached build it uses or makes; with guestbookd's CPU time per request on
# and off and Jaeger's, which shares the cores), the list and the page
# through the nginx edge (deploy/edge/), and the front end topology
# (bench/topology.sh: POST
# /post through a front end against role all, and duplicates when the
# backend restarts under load). Prints a table, the
# goals, and one machine-readable JSON line starting with BENCH_JSON.
#
# Knobs (environment): BENCH_DURATION (seconds per scenario, 10),
# BENCH_CONNECTIONS (32), BENCH_WRK_THREADS (2), BENCH_THREADS (worker
# threads of both servers, 256: guestbookd's default), BENCH_SEED (10000).
#
# Adding a scenario: write a function that calls `measure NAME PID PORT
# PATH [SCRIPT [ARGS]]` against a server started with `start_guestbookd`
# (see bench_v1_list and bench_observability), and call it from main.
set -euo pipefail

BUILD=${GB_BUILD_DIR:-build}
SRC=${GB_SRC_DIR:-.}
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
THREADS=${BENCH_THREADS:-256}
SEED=${BENCH_SEED:-10000}
export BENCH_DIR
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gbbench-XXXXXX")
PIDS=() # "PID:START", START the process's start time (field 22 of its stat)

# Remembers a process to stop on exit. Its start time goes with it: once a
# process has ended its PID may be reused, and cleanup must not kill the
# stranger that got it.
track() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	PIDS+=("$1:$(awk '{ print $20 }' <<<"$stat")")
}

cleanup() {
	local entry pid start stat
	for entry in "${PIDS[@]}"; do
		pid=${entry%%:*} start=${entry#*:}
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		[[ $(awk '{ print $20 }' <<<"$stat") == "$start" ]] || continue
		kill "$pid" 2>/dev/null || continue
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

die() {
	echo "bench: $*" >&2
	exit 1
}

for tool in wrk curl; do
	command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh bench"
done
[[ -x $BUILD/guestbookd ]] || die "no $BUILD/guestbookd: run make bench (or make all)"
[[ -x $BUILD/bench/ceiling ]] || die "no $BUILD/bench/ceiling: run make bench"

# ---- results -------------------------------------------------------------
declare -A RPS P50 P99 RSS NOTE
ORDER=()
READY_MS=n/a         # exec to the ready line, fresh database
HEALTH_MS=n/a        # exec to the first 200 of /health, fresh database
READY_RESTART_MS=n/a # exec to the ready line, existing database
OBS_ROUNDS=${BENCH_OBS_ROUNDS:-6}
TRACE_ROUNDS=${BENCH_TRACE_ROUNDS:-3}
# Rounds of the ratio goals (list and page against the ceiling, the front
# end topology): each round measures both sides back to back, and the goal
# takes the median of the rounds' ratios, so that a neighbour's burst in
# one round moves one ratio, not the verdict.
RATIO_ROUNDS=${BENCH_RATIO_ROUNDS:-6}
RATIO_DURATION=${BENCH_RATIO_DURATION:-4}
# Seconds of unmeasured load on the server right before each row.
WARMUP=${BENCH_WARMUP:-1}
LIST_RATIOS=() # list / ceiling, per round
PAGE_RATIOS=() # page / ceiling, per round
OBS_FULL="v1 list, log+metrics"
OBS_NOLOG="v1 list, access log off"
OBS_NOMETRICS="v1 list, no metrics plugin"
OBS_TRACE="v1 list, tracing 100% to Jaeger"
TRACE_EXPORTED=n/a # spans Jaeger accepted / spans ended, tracing row
JAEGER_OTLP=""
JAEGER_PID=""
# CPU time per request (user + system, µs) of guestbookd with tracing off
# (the log+metrics rows) and on, and of Jaeger in the tracing rows: the
# least of the rounds (the one least disturbed by neighbours). Jaeger runs
# on the same cores, so its ingest shows in the tracing row's req/s.
SERVER_US_OFF=n/a
SERVER_US_ON=n/a
# The costs per round, each from the rows of its own round; the goals
# take their median. OBS_NOISE: how far the log+metrics rounds (one
# configuration, fresh servers) lie apart, the noise floor of the run.
LOG_COSTS=()
METRICS_COSTS=()
TRACE_COSTS=()
TRACE_CPU_COSTS=()
OBS_NOISE=n/a
JAEGER_US=n/a
LIST_BYTES=0

# A loopback port nothing listens on (bash's /dev/tcp: refused means free),
# below the kernel's ephemeral range that wrk's client sockets use: a port
# picked there can be taken by the time guestbookd binds it.
free_port() {
	local port low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	while :; do
		port=$((10000 + RANDOM % (low - 10000)))
		if ! { exec 9<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
			echo "$port"
			return
		fi
		exec 9>&-
	done
}

# Peak resident set (VmHWM) in MiB since the last reset_peak of PID.
peak_rss() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# Writing 5 to clear_refs resets VmHWM, so each scenario has its own peak.
reset_peak() {
	echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true
}

# One GET with bash builtins only (no fork, so polling is fine-grained):
# sets STATUS to the status code, or to "" when nothing answers.
http_status() {
	local port=$1 path=$2
	STATUS=""
	{ exec 8<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 0
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&8
	read -r _ STATUS _ <&8 || true
	exec 8>&-
}

now_us() {
	NOW_US=${EPOCHREALTIME/./}
}

# start_guestbookd NAME ARGS... -> sets GB_PID and GB_PORT, and
# START_READY_MS / START_HEALTH_MS: the time from exec to the ready log
# line and to the first 200 of /health.
start_guestbookd() {
	local name=$1
	shift
	local log=$TMP/$name.log port t0 lines ready_at="" health_at=""
	port=$(free_port)
	mkdir -p "$TMP/data"
	: >"$log"
	now_us
	t0=$NOW_US
	"$BUILD/guestbookd" --listen "127.0.0.1:$port" \
		--plugin-dir "$BUILD/plugins" --www-dir "$SRC/www" \
		--sqlite-path "$TMP/data/guestbook.db" --threads "$THREADS" \
		--rate-limit 0 --drain-seconds 0 "$@" >"$log" 2>&1 &
	GB_PID=$!
	track "$GB_PID"
	GB_PORT=$port
	while [[ -z $ready_at || -z $health_at ]]; do
		if [[ -z $ready_at ]]; then
			mapfile -t lines <"$log"
			if [[ ${lines[*]} == *'"msg":"ready: '* ]]; then
				now_us
				ready_at=$NOW_US
			fi
		fi
		if [[ -z $health_at ]]; then
			http_status "$port" /health
			if [[ $STATUS == 200 ]]; then
				now_us
				health_at=$NOW_US
			fi
		fi
		if ! kill -0 "$GB_PID" 2>/dev/null; then
			cat "$log" >&2
			die "guestbookd ($name) exited during start-up"
		fi
		now_us
		if ((NOW_US - t0 > 10000000)); then
			cat "$log" >&2
			die "guestbookd ($name) not ready after 10 s"
		fi
	done
	START_READY_MS=$(awk -v d=$((ready_at - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
	START_HEALTH_MS=$(awk -v d=$((health_at - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
}

stop_guestbookd() {
	kill "$GB_PID" 2>/dev/null || true
	wait "$GB_PID" 2>/dev/null || true
}

# measure NAME PID PORT PATH [SCRIPT [SCRIPT ARGS...]]
measure() {
	local name=$1 pid=$2 port=$3 path=$4 script=${5:-$BENCH_DIR/wrk_report.lua}
	shift 4
	(($# > 0)) && shift
	local out line
	# Unmeasured: the server's threads and the connections come up to
	# speed first. Without it the first run after a switch of server is
	# the slow one (an A/A test measured the same server 9% apart by its
	# place in the order).
	if ((WARMUP > 0)); then
		wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 5s \
			-s "$script" "http://127.0.0.1:$port$path" ${1:+-- "$@"} \
			>/dev/null 2>&1 || die "wrk failed warming up for $name"
	fi
	reset_peak "$pid"
	out=$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
		--timeout 5s -s "$script" "http://127.0.0.1:$port$path" \
		${1:+-- "$@"} 2>&1) || die "wrk failed for $name: $out"
	line=$(grep '^WRK ' <<<"$out") || die "no wrk summary for $name: $out"
	ORDER+=("$name")
	RSS[$name]=$(peak_rss "$pid")
	eval "local ${line#WRK }"
	# shellcheck disable=SC2154 # set by the eval above
	RPS[$name]=$(awk -v n="$requests" -v us="$duration_us" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
	# shellcheck disable=SC2154
	P50[$name]=$(awk -v us="$p50_us" 'BEGIN { printf "%.2f", us / 1000 }')
	# shellcheck disable=SC2154
	P99[$name]=$(awk -v us="$p99_us" 'BEGIN { printf "%.2f", us / 1000 }')
	NOTE[$name]=""
	# shellcheck disable=SC2154
	if ((socket_errors + status_errors > 0)); then
		NOTE[$name]="errors: $socket_errors socket, $status_errors status>399"
	fi
	printf '  %-28s %8s req/s  p50 %6s ms  p99 %6s ms  rss %5s MiB %s\n' \
		"$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" \
		"${RSS[$name]}" "${NOTE[$name]}"
}

# A scenario that could not run: a row saying why.
not_measured() {
	ORDER+=("$1")
	NOTE[$1]=$2
	printf '  %-28s n/a (%s)\n' "$1" "$2"
}

# CPU time (user + system) of PID so far, in clock ticks.
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# cpu_us_per_request TICKS NAME: TICKS of CPU, taken around `measure` of
# row NAME, over its requests, in µs a request. The ticks span the warm-up
# and the row, so the requests are the row's req/s times both durations.
cpu_us_per_request() {
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v rps="${RPS[$2]:-0}" \
		-v d="$((DURATION + WARMUP))" 'BEGIN {
		if (rps > 0) printf "%.1f", t / hz * 1e6 / (rps * d)
		else printf "n/a" }'
}

# The least of the figures given ("n/a" ignored).
least() {
	printf '%s\n' "$@" | awk '$1 != "n/a" && (m == "" || $1 + 0 < m + 0) { m = $1 }
		END { print (m == "" ? "n/a" : m) }'
}

# The median of the figures given ("n/a" ignored; of an even count, the
# mean of the middle two).
median() {
	printf '%s\n' "$@" | awk '$1 != "n/a"' | sort -g | awk '{ v[NR] = $1 }
		END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# How far apart the figures given are: (max - min) / max, in percent.
spread_pct() {
	printf '%s\n' "$@" | awk '$1 != "n/a" && $1 > 0 {
		if (!n++ || $1 > hi) hi = $1; if (n == 1 || $1 < lo) lo = $1 }
		END { if (n > 1) printf "%.1f", (hi - lo) / hi * 100; else printf "n/a" }'
}

metric_value() {
	curl -s "http://127.0.0.1:$1/metrics" |
		awk -v m="$2" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}

# ---- scenarios -----------------------------------------------------------

# Seeds SEED messages through the API: wrk with unique bodies and a quota
# per thread, stopped once the server has counted them all.
seed_messages() {
	local port=$1 per_thread=$(((SEED + WRK_THREADS - 1) / WRK_THREADS))
	local wrk_pid n=0 t0 t1
	now_us
	t0=$NOW_US
	wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d120s --timeout 5s \
		-s "$BENCH_DIR/wrk_post.lua" "http://127.0.0.1:$port" \
		-- "$per_thread" >"$TMP/seed.out" 2>&1 &
	wrk_pid=$!
	track "$wrk_pid"
	while kill -0 "$wrk_pid" 2>/dev/null; do
		n=$(metric_value "$port" guestbook_messages_created_total)
		((${n%.*} >= SEED)) && break
		sleep 0.2
	done
	kill -INT "$wrk_pid" 2>/dev/null || true
	wait "$wrk_pid" 2>/dev/null || true
	n=$(metric_value "$port" guestbook_messages_created_total)
	((${n%.*} >= SEED)) || die "seeding stopped at $n messages: $(cat "$TMP/seed.out")"
	now_us
	t1=$NOW_US
	echo "  seeded ${n%.*} messages in $(((t1 - t0) / 1000)) ms"
}


bench_legacy_list() {
	measure "GET /messages (1000)" "$GB_PID" "$GB_PORT" /messages
}


bench_post() {
	measure "POST /api/v1/messages" "$GB_PID" "$GB_PORT" /api/v1/messages \
		"$BENCH_DIR/wrk_post.lua"
}

# The same reads through the nginx edge (deploy/edge/nginx.conf.template,
# rendered as its header says) in front of the running server: the cost of
# the edge, next to the direct rows of the same run.
EDGE_LIST="GET /api/v1/messages (edge)"
EDGE_PAGE="GET / (edge)"
bench_edge() {
	local dir=$TMP/edge port tries
	if ! command -v nginx >/dev/null || ! command -v envsubst >/dev/null; then
		not_measured "$EDGE_LIST" "nginx or envsubst missing"
		not_measured "$EDGE_PAGE" "nginx or envsubst missing"
		return
	fi
	mkdir -p "$dir"
	chmod 0711 "$dir" # nginx's workers (nobody when started as root)
	port=$(free_port)
	# shellcheck disable=SC2016 # envsubst gets the variable names, unexpanded
	LISTEN=127.0.0.1:$port UPSTREAM=127.0.0.1:$GB_PORT EDGE_DIR=$dir \
		envsubst '${LISTEN} ${UPSTREAM} ${EDGE_DIR}' \
		<"$SRC/deploy/edge/nginx.conf.template" >"$dir/nginx.conf"
	nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
		-g 'daemon off;' >"$dir/stderr" 2>&1 &
	EDGE_PID=$!
	track "$EDGE_PID"
	for ((tries = 0; tries < 100; tries++)); do
		http_status "$port" /health
		[[ $STATUS == 200 ]] && break
		sleep 0.05
	done
	[[ $STATUS == 200 ]] || die "the nginx edge did not start: $(cat "$dir/stderr" "$dir/error.log" 2>/dev/null)"
	measure "$EDGE_LIST" "$GB_PID" "$port" /api/v1/messages
	measure "$EDGE_PAGE" "$GB_PID" "$port" /
	kill -QUIT "$EDGE_PID"
	wait "$EDGE_PID" 2>/dev/null || true
}

# The list and the page against the ceiling server (started beside the
# running guestbookd with a body the size of the list's) and a second copy
# of it (the A/A ratio: the noise of a ratio of equals), RATIO_ROUNDS
# rounds of the four back to back: the table keeps each row's best round,
# the goals the median of the rounds' ratios (LIST_RATIOS, PAGE_RATIOS).
LIST_ROW="GET /api/v1/messages"
PAGE_ROW="GET / (page)"
AA_ROW="ceiling, second copy"
AA_RATIOS=() # the second ceiling / the first, per round: the ratios' noise
bench_reads_vs_ceiling() {
	local DURATION=$RATIO_DURATION # the rows of these rounds
	local pid port pid2 port2 round page=1 status order key
	local lists=() ceilings=() pages=() copies=() l c g a
	LIST_BYTES=$(curl -s "http://127.0.0.1:$GB_PORT/api/v1/messages" | wc -c)
	CEILING_NAME="ceiling ($LIST_BYTES B)"
	start_ceiling first
	pid=$CEILING_PID port=$CEILING_PORT
	start_ceiling second
	pid2=$CEILING_PID port2=$CEILING_PORT
	status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GB_PORT/")
	[[ $status == 200 ]] || page=""
	for ((round = 1; round <= RATIO_ROUNDS; round++)); do
		l="$LIST_ROW #$round" c="$CEILING_NAME #$round"
		g="$PAGE_ROW #$round" a="$AA_ROW #$round"
		# Odd rounds run the rows in one order, even rounds in the
		# other, so that what follows what cancels out over rounds.
		order="list ceiling page copy"
		((round % 2)) || order="copy page ceiling list"
		for key in $order; do
			case $key in
			list) measure "$l" "$GB_PID" "$GB_PORT" /api/v1/messages ;;
			ceiling) measure "$c" "$pid" "$port" /api/v1/messages ;;
			copy) measure "$a" "$pid2" "$port2" /api/v1/messages ;;
			page) [[ -z $page ]] || measure "$g" "$GB_PID" "$GB_PORT" / ;;
			esac
		done
		lists+=("$l") ceilings+=("$c") copies+=("$a")
		LIST_RATIOS+=("$(ratio "${RPS[$l]}" "${RPS[$c]}")")
		AA_RATIOS+=("$(ratio "${RPS[$a]}" "${RPS[$c]}")")
		[[ -n $page ]] || continue
		pages+=("$g")
		PAGE_RATIOS+=("$(ratio "${RPS[$g]}" "${RPS[$c]}")")
	done
	kill "$pid" "$pid2"
	wait "$pid" "$pid2" 2>/dev/null || true
	best_of "$LIST_ROW" "${lists[@]}"
	best_of "$CEILING_NAME" "${ceilings[@]}"
	best_of "$AA_ROW" "${copies[@]}"
	best_of_or_na "$PAGE_ROW" "answers $status" "${pages[@]}"
}

# start_ceiling NAME: a ceiling server with a body the size of the list's;
# sets CEILING_PID and CEILING_PORT.
start_ceiling() {
	local log=$TMP/ceiling-$1.log tries port=""
	"$BUILD/bench/ceiling" 0 "$THREADS" "$LIST_BYTES" >"$log" 2>&1 &
	CEILING_PID=$!
	track "$CEILING_PID"
	for ((tries = 0; tries < 200; tries++)); do
		port=$(sed -n 's/^ceiling ready on 127.0.0.1:\([0-9]*\)$/\1/p' "$log")
		[[ -n $port ]] && break
		sleep 0.05
	done
	[[ -n $port ]] || die "ceiling server did not start: $(cat "$log")"
	CEILING_PORT=$port
}

# The cost of observability: the v1 list with everything on, with the
# access log off, and without the metrics exporter, three servers running
# side by side (same database), measured in turn over OBS_ROUNDS rounds,
# the order rotated each round, so that neighbours' load hits every
# configuration alike; each cost is taken from the rows of one round.
# Then tracing: a fourth server against the everything-on one, in pairs,
# each followed by one export interval (Jaeger's CPU includes the ingest
# that goes on after the load).
bench_observability() {
	local DURATION=$RATIO_DURATION # the rows of these rounds
	local round names_full=() names_nolog=() names_nometrics=() names_trace=()
	local jaeger_out exported dropped t0 j0 name key i off
	local cpu_off=() cpu_on=() cpu_jaeger=() full_rps=() keys=()
	local -A pid=() port=() label=()
	label[full]=$OBS_FULL label[nolog]=$OBS_NOLOG label[nometrics]=$OBS_NOMETRICS
	start_guestbookd obs_full --plugins "$PLUGINS_BASE,metrics"
	READY_RESTART_MS=$START_READY_MS
	pid[full]=$GB_PID port[full]=$GB_PORT
	start_guestbookd obs_nolog --plugins "$PLUGINS_BASE,metrics" --access-log off
	pid[nolog]=$GB_PID port[nolog]=$GB_PORT
	start_guestbookd obs_nometrics --plugins "$PLUGINS_BASE"
	pid[nometrics]=$GB_PID port[nometrics]=$GB_PORT
	keys=(full nolog nometrics)
	for ((round = 1; round <= OBS_ROUNDS; round++)); do
		for ((i = 0; i < 3; i++)); do
			key=${keys[(i + round - 1) % 3]}
			name="${label[$key]} #$round"
			t0=$(cpu_ticks "${pid[$key]}")
			measure "$name" "${pid[$key]}" "${port[$key]}" /api/v1/messages
			if [[ $key == full ]]; then
				cpu_off+=("$(cpu_us_per_request $(($(cpu_ticks "${pid[$key]}") - t0)) "$name")")
				names_full+=("$name")
				full_rps+=("${RPS[$name]}")
			fi
		done
		names_nolog+=("$OBS_NOLOG #$round")
		names_nometrics+=("$OBS_NOMETRICS #$round")
		LOG_COSTS+=("$(cost_pct "${RPS["$OBS_FULL #$round"]}" "${RPS["$OBS_NOLOG #$round"]}")")
		METRICS_COSTS+=("$(cost_pct "${RPS["$OBS_FULL #$round"]}" "${RPS["$OBS_NOMETRICS #$round"]}")")
	done
	OBS_NOISE=$(spread_pct "${full_rps[@]}")
	kill "${pid[nolog]}" "${pid[nometrics]}" 2>/dev/null || true
	wait "${pid[nolog]}" "${pid[nometrics]}" 2>/dev/null || true

	if jaeger_out=$(JAEGER_WATCH_PID=$$ "$SRC/tests/lib/jaeger.sh" start "$TMP/jaeger"); then
		read -r JAEGER_OTLP _ JAEGER_PID <<<"$jaeger_out"
		track "$JAEGER_PID"
		OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$JAEGER_OTLP \
			OTEL_TRACES_SAMPLER=always_on \
			start_guestbookd obs_trace --plugins "$PLUGINS_BASE,metrics"
	else
		echo "  (no Jaeger: the tracing row is not measured)"
	fi
	for ((round = 1; round <= TRACE_ROUNDS && ${#JAEGER_OTLP}; round++)); do
		name="$OBS_FULL, tracing pair #$round"
		t0=$(cpu_ticks "${pid[full]}")
		measure "$name" "${pid[full]}" "${port[full]}" /api/v1/messages
		off=$(cpu_us_per_request $(($(cpu_ticks "${pid[full]}") - t0)) "$name")
		names_full+=("$name") cpu_off+=("$off")
		name="$OBS_TRACE #$round"
		t0=$(cpu_ticks "$GB_PID")
		j0=$(cpu_ticks "$JAEGER_PID")
		measure "$name" "$GB_PID" "$GB_PORT" /api/v1/messages
		cpu_on+=("$(cpu_us_per_request $(($(cpu_ticks "$GB_PID") - t0)) "$name")")
		names_trace+=("$name")
		TRACE_COSTS+=("$(cost_pct "${RPS[$name]}" "${RPS["$OBS_FULL, tracing pair #$round"]}")")
		TRACE_CPU_COSTS+=("$(awk -v on="${cpu_on[-1]}" -v off="$off" 'BEGIN {
			if (on != "n/a" && off != "n/a" && off > 0) printf "%+.1f", (on - off) / off * 100
			else printf "n/a" }')")
		sleep 6 # one export interval: what was queued goes out
		cpu_jaeger+=("$(cpu_us_per_request $(($(cpu_ticks "$JAEGER_PID") - j0)) "$name")")
		exported=$(metric_value "$GB_PORT" guestbook_trace_spans_exported_total)
		dropped=$(metric_value "$GB_PORT" guestbook_trace_spans_dropped_total)
		TRACE_EXPORTED="$exported exported, $dropped dropped"
	done
	[[ -z $JAEGER_OTLP ]] || stop_guestbookd
	kill "${pid[full]}" 2>/dev/null || true
	wait "${pid[full]}" 2>/dev/null || true
	SERVER_US_OFF=$(least "${cpu_off[@]}")
	SERVER_US_ON=$(least "${cpu_on[@]}")
	JAEGER_US=$(least "${cpu_jaeger[@]}")
	best_of "$OBS_FULL" "${names_full[@]}"
	best_of "$OBS_NOLOG" "${names_nolog[@]}"
	best_of "$OBS_NOMETRICS" "${names_nometrics[@]}"
	best_of_or_na "$OBS_TRACE" "Jaeger could not be built or started" \
		"${names_trace[@]}"
}

# best_of TARGET NAMES...: TARGET gets the figures of the run with the most
# requests/s; the individual runs leave the table.
best_of() {
	local target=$1 name best="" keep=()
	local -A drop=()
	shift
	for name in "$@"; do
		drop[$name]=1
		if [[ -z $best ]] || ((RPS[$name] > RPS[$best])); then
			best=$name
		fi
	done
	RPS[$target]=${RPS[$best]}
	P50[$target]=${P50[$best]}
	P99[$target]=${P99[$best]}
	RSS[$target]=${RSS[$best]}
	NOTE[$target]="best of $#${NOTE[$best]:+; ${NOTE[$best]}}"
	for name in "${ORDER[@]}"; do
		[[ -n ${drop[$name]:-} ]] || keep+=("$name")
	done
	ORDER=("${keep[@]}" "$target")
}

# best_of_or_na TARGET WHY NAMES...: best_of, or a row saying WHY when
# no run was made.
best_of_or_na() {
	local target=$1 why=$2
	shift 2
	if (($# > 0)); then
		best_of "$target" "$@"
	else
		not_measured "$target" "$why"
	fi
}

# ---- report ----------------------------------------------------------------

ratio() {
	awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'
}

# Relative throughput lost: (without - with) / without, in percent.
cost_pct() {
	awk -v with="${1:-0}" -v without="${2:-0}" 'BEGIN {
		if (with > 0 && without > 0) printf "%.1f", (without - with) / without * 100
		else printf "n/a" }'
}

goal() {
	local text=$1 ok=$2
	printf '  %-50s %s\n' "$text" "$([[ $ok == 1 ]] && echo met || echo MISSED)"
}

report() {
	local ceiling=${RPS[$CEILING_NAME]:-0} name max_rss=0
	echo
	printf '%-30s %9s %9s %9s %10s %8s  %s\n' scenario "req/s" "p50 ms" \
		"p99 ms" "peak MiB" "ceiling" note
	for name in "${ORDER[@]}"; do
		printf '%-30s %9s %9s %9s %10s %8s  %s\n' "$name" \
			"${RPS[$name]:-n/a}" "${P50[$name]:-n/a}" "${P99[$name]:-n/a}" \
			"${RSS[$name]:-n/a}" "$(ratio "${RPS[$name]:-0}" "$ceiling")" \
			"${NOTE[$name]}"
		if [[ $name != ceiling* && -n ${RSS[$name]:-} ]]; then
			max_rss=$(awk -v a="$max_rss" -v b="${RSS[$name]}" 'BEGIN { print (b > a ? b : a) }')
		fi
	done
	local list="GET /api/v1/messages" post="POST /api/v1/messages"
	local log_cost metrics_cost list_ratio page_ratio trace_cost trace_cpu_cost
	# Each from the rows of one round, the median over the rounds.
	log_cost=$(median "${LOG_COSTS[@]}")
	# Tracing off is the "log+metrics" row: the same server, no OTEL_*.
	trace_cost=$(median "${TRACE_COSTS[@]}")
	trace_cpu_cost=$(median "${TRACE_CPU_COSTS[@]}")
	metrics_cost=$(median "${METRICS_COSTS[@]}")
	list_ratio=$(median "${LIST_RATIOS[@]}")
	page_ratio=$(median "${PAGE_RATIOS[@]}")
	echo
	echo "exec to ready log line: $READY_MS ms with a new database" \
		"(first 200 of /health: $HEALTH_MS ms), $READY_RESTART_MS ms" \
		"with an existing one"
	echo "list / ceiling per round: ${LIST_RATIOS[*]:-n/a}; page / ceiling: ${PAGE_RATIOS[*]:-n/a}" \
		"(goals: the median)"
	echo "access log cost: $log_cost% (rounds: ${LOG_COSTS[*]:-n/a});" \
		"metrics exporter cost: $metrics_cost% (rounds: ${METRICS_COSTS[*]:-n/a})"
	echo "noise floor: the log+metrics rounds, one configuration, lie ${OBS_NOISE/%[0-9]/&%} apart;" \
		"a second ceiling against the first, the same server twice: ${AA_RATIOS[*]:-n/a}" \
		"(median $(median "${AA_RATIOS[@]}"): how far a ratio of equals lands from 1)"
	echo "through the nginx edge: list $(ratio "${RPS[$EDGE_LIST]:-0}" "${RPS[$list]:-0}")," \
		"page $(ratio "${RPS[$EDGE_PAGE]:-0}" "${RPS["GET / (page)"]:-0}") of the direct figure"
	echo "tracing cost (every request sampled, exported to Jaeger): $trace_cost%" \
		"(rounds: ${TRACE_COSTS[*]:-n/a}; last round: $TRACE_EXPORTED spans)"
	echo "tracing CPU: guestbookd $SERVER_US_ON µs/request on, $SERVER_US_OFF off" \
		"(least of the rounds; median of the rounds' changes $trace_cpu_cost%);" \
		"Jaeger, on the same cores, $JAEGER_US µs/request"
	echo
	echo "goals:"
	local ge='BEGIN { exit !(a != "n/a" && a + 0 >= b) }'
	local lt='BEGIN { exit !(a != "n/a" && a + 0 < b) }'
	goal "list >= 0.9 of ceiling ($list_ratio)" \
		"$(awk -v a="$list_ratio" -v b=0.9 "$ge" && echo 1)"
	goal "page >= 0.8 of ceiling ($page_ratio)" \
		"$(awk -v a="$page_ratio" -v b=0.8 "$ge" && echo 1)"
	goal "list p99 < 5 ms at $CONNECTIONS connections (${P99[$list]:-n/a})" \
		"$(awk -v a="${P99[$list]:-n/a}" -v b=5 "$lt" && echo 1)"
	goal "POST >= 2000/s (${RPS[$post]:-n/a})" \
		"$(awk -v a="${RPS[$post]:-n/a}" -v b=2000 "$ge" && echo 1)"
	goal "peak RSS < 32 MiB ($max_rss)" \
		"$(awk -v a="$max_rss" -v b=32 "$lt" && echo 1)"
	goal "ready < 100 ms, new database ($READY_MS)" \
		"$(awk -v a="$READY_MS" -v b=100 "$lt" && echo 1)"
	goal "ready < 100 ms, existing database ($READY_RESTART_MS)" \
		"$(awk -v a="$READY_RESTART_MS" -v b=100 "$lt" && echo 1)"
	goal "access log cost < 5% ($log_cost)" \
		"$(awk -v a="$log_cost" -v b=5 "$lt" && echo 1)"
	goal "metrics exporter cost < 10% ($metrics_cost)" \
		"$(awk -v a="$metrics_cost" -v b=10 "$lt" && echo 1)"
	topology_goals
	goal "tracing cost < 10%, 100% sampled ($trace_cost)" \
		"$(awk -v a="$trace_cost" -v b=10 "$lt" && echo 1)"
	goal "tracing CPU of guestbookd < +10% ($trace_cpu_cost%)" \
		"$(awk -v a="$trace_cpu_cost" -v b=10 "$lt" && echo 1)"

	# One JSON line for machines.
	local json="" sep=""
	for name in "${ORDER[@]}"; do
		json+=$(printf '%s{"name":"%s","rps":%s,"p50_ms":%s,"p99_ms":%s,"peak_rss_mib":%s,"ceiling_ratio":%s,"note":"%s"}' \
			"$sep" "$name" "${RPS[$name]:-null}" "${P50[$name]:-null}" \
			"${P99[$name]:-null}" "${RSS[$name]:-null}" \
			"$(ratio "${RPS[$name]:-0}" "$ceiling" | sed 's/n\/a/null/')" \
			"${NOTE[$name]}")
		sep=,
	done
	printf '\nBENCH_JSON {"topology_post_ratio":%s,"restart_duplicates":%s,"restart_lost":%s,"connections":%s,"wrk_threads":%s,"server_threads":%s,"duration_s":%s,"seeded":%s,"list_bytes":%s,"ready_ms":%s,"health_ms":%s,"ready_restart_ms":%s,"access_log_cost_pct":%s,"metrics_cost_pct":%s,"tracing_cost_pct":%s,"tracing_cpu_cost_pct":%s,"noise_floor_pct":%s,"aa_ratio":%s,"server_us_per_request_tracing_off":%s,"server_us_per_request_tracing_on":%s,"jaeger_us_per_request":%s,"scenarios":[%s]}\n' \
		"$(sed 's/n\/a/null/' <<<"$TOPO_RATIO")" \
		"$(sed 's/n\/a/null/' <<<"$TOPO_DUPLICATES")" \
		"$(sed 's/n\/a/null/' <<<"$TOPO_LOST")" \
		"$CONNECTIONS" "$WRK_THREADS" "$THREADS" "$DURATION" "$SEED" \
		"$LIST_BYTES" "$READY_MS" "$HEALTH_MS" "$READY_RESTART_MS" \
		"$(sed 's/n\/a/null/' <<<"$log_cost")" \
		"$(sed 's/n\/a/null/' <<<"$metrics_cost")" \
		"$(sed 's/n\/a/null/' <<<"$trace_cost")" \
		"$(sed 's/n\/a/null/' <<<"${trace_cpu_cost#+}")" \
		"$(sed 's/n\/a/null/' <<<"$OBS_NOISE")" \
		"$(median "${AA_RATIOS[@]}" | sed 's/n\/a/null/')" \
		"$(sed 's/n\/a/null/' <<<"$SERVER_US_OFF")" \
		"$(sed 's/n\/a/null/' <<<"$SERVER_US_ON")" \
		"$(sed 's/n\/a/null/' <<<"$JAEGER_US")" "$json"
}

# ---- main ------------------------------------------------------------------

main() {
	PLUGINS_BASE=api
	[[ -f $BUILD/plugins/web.so ]] && PLUGINS_BASE=api,web
	echo "guestbookd benchmark: wrk -t$WRK_THREADS -c$CONNECTIONS, ${DURATION}s per scenario, $THREADS server threads, plugins $PLUGINS_BASE,metrics"

	start_guestbookd main --role all --plugins "$PLUGINS_BASE,metrics"
	READY_MS=$START_READY_MS
	HEALTH_MS=$START_HEALTH_MS
	echo "  started in $READY_MS ms (ready line), $HEALTH_MS ms (first 200 of /health)"
	seed_messages "$GB_PORT"
	bench_reads_vs_ceiling
	bench_legacy_list
	bench_edge
	bench_post
	stop_guestbookd

	# shellcheck source=bench/topology.sh
	source "$BENCH_DIR/topology.sh"
	bench_topology

	bench_observability

	# The mongo rows (bench/mongo.sh): the same list with the api cache
	# off on SQLite, then GET/POST on mongo over FerretDB and a direct
	# libmongoc loop, so the table shows whether guestbookd or the
	# database is the limit.
	# shellcheck source=bench/mongo.sh
	source "$BENCH_DIR/mongo.sh"
	start_guestbookd sqlite_nocache --role all --plugins api,metrics \
		--list-cache-ms 0
	measure "$SQLITE_NOCACHE_ROW" "$GB_PID" "$GB_PORT" /api/v1/messages
	stop_guestbookd
	bench_mongo
	report
	mongo_report
}

main "$@"
