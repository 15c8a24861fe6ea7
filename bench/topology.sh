#!/usr/bin/env bash
# bench/topology.sh - the front end topology rows of the benchmark, sourced
# by bench/run.sh (its functions and knobs): the form post POST /post on
# role all and through a front end (--role frontend over the http store)
# in front of a backend (--role backend, SQLite), as the charts deploy
# them, in RATIO_ROUNDS rounds of the two back to back (the goal is the
# median of the rounds' ratios); then the same load through the front end while
# the backend is restarted once, counting the messages stored twice
# (every post is unique, so any text found twice is a duplicate). Besides
# req/s it reports the CPU time per post of each process (from
# /proc/PID/stat over the messages stored), which the neighbours' load
# disturbs far less, and how many backend requests the posts took.

TOPO_ALL="POST /post (role all)"
TOPO_FRONT="POST /post (front end -> backend)"
TOPO_PAGE="GET / (front end -> backend)"
TOPO_DUPLICATES=n/a
TOPO_LOST=n/a
TOPO_RATIO=n/a
TOPO_RATIOS=() # front end / role all, per round
TOPO_RESTART_NOTE=""
TOPO_CPU_ALL=n/a   # CPU microseconds per post, role all
TOPO_CPU_FRONT=n/a # the same, front end and backend of the topology
TOPO_CPU_BACK=n/a
TOPO_CPU_NOTE=""

# Messages whose text is stored more than once, counted on the backend at
# PORT (its legacy list holds up to 100000). Sets DUP_STORED, DUP_EXTRA.
count_duplicates() {
	local port=$1 counts
	counts=$(curl -s "http://127.0.0.1:$port/messages" |
		grep -o '"message":"run [^"]*"' | sort | uniq -c |
		awk '{ n += $1; if ($1 > 1) d += $1 - 1 } END { printf "%d %d", n, d }')
	read -r DUP_STORED DUP_EXTRA <<<"$counts"
}

# How the front end's posts reached the backend, from the backend's access
# log LOG: single POST /api/v1/messages and batches. Sets BACKEND_POSTS.
backend_posts() {
	local log=$1 single batch stored
	sleep 0.3 # access lines are buffered for up to 200 ms
	single=$(grep '"method":"POST"' "$log" | grep -c '"path":"/api/v1/messages"' || true)
	batch=$(grep '"method":"POST"' "$log" | grep -c '"path":"/api/v1/messages/batch"' || true)
	stored=$(curl -s "http://127.0.0.1:$GB_BACK_PORT/metrics" |
		awk '$1 == "guestbook_messages_created_total" { print $2 }')
	BACKEND_POSTS="${stored:-?} messages in $((single + batch)) backend requests ($batch batches)"
}

# CPU time (user + system) of PID in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# Messages the server at PORT has stored since it started.
created_count() {
	curl -s "http://127.0.0.1:$1/metrics" |
		awk '$1 == "guestbook_messages_created_total" { print $2 + 0; f = 1 } END { if (!f) print 0 }'
}

# Microseconds of CPU per message: ticks spent over messages stored.
cpu_us_per() {
	awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else printf "n/a" }'
}

# post_round ROW PID PORT STORE_PORT STORE_PID: one round of form posts
# to the server at PORT, whose messages the server at STORE_PORT counts
# (the same server on role all). Sets ROUND_TICKS and ROUND_STORE_TICKS
# (the CPU ticks of PID and of STORE_PID) and ROUND_POSTS (messages stored).
post_round() {
	local t0 s0 n0
	t0=$(cpu_ticks "$2")
	s0=$(cpu_ticks "$5")
	n0=$(created_count "$4")
	DURATION=$RATIO_DURATION measure "$1" "$2" "$3" /post \
		"$BENCH_DIR/wrk_post.lua" 0 form
	ROUND_TICKS=$(($(cpu_ticks "$2") - t0))
	ROUND_STORE_TICKS=$(($(cpu_ticks "$5") - s0))
	ROUND_POSTS=$(($(created_count "$4") - n0))
}

# Starts the backend again on its port and data after a SIGTERM.
restart_backend() {
	local port=$1 db=$2 log=$TMP/backend-restarted.log t0
	kill -TERM "$BACK_PID" 2>/dev/null || true
	wait "$BACK_PID" 2>/dev/null || true
	"$BUILD/guestbookd" --listen "127.0.0.1:$port" --role backend \
		--plugin-dir "$BUILD/plugins" --storage sqlite \
		--sqlite-path "$db" --threads "$THREADS" --rate-limit 0 \
		--drain-seconds 0 --legacy-list-max 100000 >"$log" 2>&1 &
	BACK_PID=$!
	track "$BACK_PID"
	now_us
	t0=$NOW_US
	while :; do
		http_status "$port" /ready
		[[ $STATUS == 200 ]] && break
		now_us
		((NOW_US - t0 > 10000000)) && die "backend did not restart: $(cat "$log")"
		sleep 0.05
	done
	now_us
	TOPO_RESTART_NOTE="backend down for $(((NOW_US - t0) / 1000)) ms"
}

bench_topology() {
	local db=$TMP/topo-backend.db wrk_out=$TMP/restart-wrk.out wrk_pid
	local front_port
	mkdir -p "$TMP/topo"

	# role all, and the front end over its backend, all three up at once;
	# RATIO_ROUNDS rounds of each load back to back (the goal takes the
	# median of the rounds' ratios, the table each row's best round).
	local all_pid all_port front_pid round side order a f ratios=() alls=() fronts=()
	local ta=0 tf=0 tb=0 na=0 nb=0
	start_guestbookd topo_all --role all --plugins "$PLUGINS_BASE,metrics" \
		--sqlite-path "$TMP/topo/all.db"
	all_pid=$GB_PID all_port=$GB_PORT
	start_guestbookd topo_backend --role backend --storage sqlite \
		--sqlite-path "$TMP/topo/backend.db"
	BACK_PID=$GB_PID
	GB_BACK_PORT=$GB_PORT
	start_guestbookd topo_front --role frontend \
		--backend-url "http://127.0.0.1:$GB_PORT"
	front_pid=$GB_PID front_port=$GB_PORT
	for ((round = 1; round <= RATIO_ROUNDS; round++)); do
		a="$TOPO_ALL #$round" f="$TOPO_FRONT #$round"
		# Odd rounds measure role all first, even rounds the front end.
		order="all front"
		((round % 2)) || order="front all"
		for side in $order; do
			case $side in
			all)
				post_round "$a" "$all_pid" "$all_port" "$all_port" "$all_pid"
				ta=$((ta + ROUND_TICKS)) na=$((na + ROUND_POSTS))
				;;
			front)
				post_round "$f" "$front_pid" "$front_port" "$GB_BACK_PORT" "$BACK_PID"
				tf=$((tf + ROUND_TICKS)) tb=$((tb + ROUND_STORE_TICKS))
				nb=$((nb + ROUND_POSTS))
				;;
			esac
		done
		alls+=("$a") fronts+=("$f")
		ratios+=("$(ratio "${RPS[$f]}" "${RPS[$a]}")")
	done
	kill "$all_pid" 2>/dev/null || true
	wait "$all_pid" 2>/dev/null || true
	TOPO_RATIOS=("${ratios[@]}")
	best_of "$TOPO_ALL" "${alls[@]}"
	best_of "$TOPO_FRONT" "${fronts[@]}"
	TOPO_CPU_ALL=$(cpu_us_per "$ta" "$na")
	TOPO_CPU_FRONT=$(cpu_us_per "$tf" "$nb")
	TOPO_CPU_BACK=$(cpu_us_per "$tb" "$nb")
	TOPO_CPU_NOTE="CPU per post: role all $TOPO_CPU_ALL us; front end $TOPO_CPU_FRONT us + backend $TOPO_CPU_BACK us"
	echo "  $TOPO_CPU_NOTE"
	backend_posts "$TMP/topo_backend.log"
	NOTE["$TOPO_FRONT"]="${NOTE[$TOPO_FRONT]:+${NOTE[$TOPO_FRONT]}; }$BACKEND_POSTS"
	echo "  front end -> backend: $BACKEND_POSTS"
	GB_PID=$front_pid GB_PORT=$front_port
	measure "$TOPO_PAGE" "$GB_PID" "$GB_PORT" /
	stop_guestbookd
	kill -TERM "$BACK_PID" 2>/dev/null || true
	wait "$BACK_PID" 2>/dev/null || true

	# The same load while the backend restarts once, a third of the way in.
	start_guestbookd topo_restart_backend --role backend --storage sqlite \
		--sqlite-path "$db" --legacy-list-max 100000
	BACK_PID=$GB_PID
	local back_port=$GB_PORT
	start_guestbookd topo_restart_front --role frontend \
		--backend-url "http://127.0.0.1:$back_port"
	front_port=$GB_PORT
	wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
		-s "$BENCH_DIR/wrk_post.lua" "http://127.0.0.1:$front_port" \
		-- 0 form >"$wrk_out" 2>&1 &
	wrk_pid=$!
	track "$wrk_pid"
	sleep "$(awk -v d="$DURATION" 'BEGIN { print d / 3 }')"
	restart_backend "$back_port" "$db"
	wait "$wrk_pid" || die "wrk failed during the restart: $(cat "$wrk_out")"
	stop_guestbookd
	count_duplicates "$back_port"
	TOPO_DUPLICATES=$DUP_EXTRA
	local line
	line=$(grep '^WRK ' "$wrk_out") || die "no wrk summary: $(cat "$wrk_out")"
	eval "local ${line#WRK }"
	# shellcheck disable=SC2154 # set by the eval above
	local acked=$((requests - status_errors))
	TOPO_LOST=$((acked > DUP_STORED ? acked - DUP_STORED : 0))
	TOPO_RESTART_NOTE="$TOPO_RESTART_NOTE; $acked posts acknowledged, $((status_errors + socket_errors)) refused while it was away, $DUP_STORED stored, $TOPO_LOST acknowledged but missing"
	echo "  backend restart under load: $TOPO_RESTART_NOTE, duplicates $TOPO_DUPLICATES"
	kill -TERM "$BACK_PID" 2>/dev/null || true
	wait "$BACK_PID" 2>/dev/null || true
}

topology_goals() {
	local ge='BEGIN { exit !(a != "n/a" && a + 0 >= b) }' r
	r=$(median "${TOPO_RATIOS[@]}")
	TOPO_RATIO=$r
	echo "  (front end / role all per round: ${TOPO_RATIOS[*]:-n/a}; the goal: the median)"
	goal "POST /post via front end >= 0.7 of role all ($r)" \
		"$(awk -v a="$r" -v b=0.7 "$ge" && echo 1)"
	goal "0 duplicates after a backend restart ($TOPO_DUPLICATES)" \
		"$([[ $TOPO_DUPLICATES == 0 ]] && echo 1)"
	# Less disturbed by other load than req/s: on saturated cores the
	# req/s ratio tends to the inverse of this one.
	echo "  ($TOPO_CPU_NOTE: $(awk -v a="$TOPO_CPU_FRONT" -v b="$TOPO_CPU_BACK" -v c="$TOPO_CPU_ALL" \
		'BEGIN { if (c > 0 && a != "n/a" && b != "n/a") printf "%.2fx", (a + b) / c; else printf "n/a" }') of role all)"
}

# On its own, after `make all`: GB_BUILD_DIR=$PWD/build GB_SRC_DIR=$PWD
# bench/topology.sh measures only these rows and prints their goals.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	TOPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	# run.sh's functions and settings, without running its main
	# shellcheck source=bench/run.sh
	source <(sed '/^main "\$@"$/d' "$TOPO_DIR/run.sh")
	PLUGINS_BASE=api,web
	bench_topology
	echo
	echo "goals:"
	topology_goals
fi
