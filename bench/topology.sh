#!/usr/bin/env bash
# bench/topology.sh - the front end topology rows of the benchmark, sourced
# by bench/run.sh (its functions and knobs): the form post POST /post on
# role all, then through a front end (--role frontend over the http store)
# in front of a backend (--role backend, SQLite), as the charts deploy
# them, in the same run; then the same load through the front end while
# the backend is restarted once, counting the messages stored twice
# (every post is unique, so any text found twice is a duplicate).

TOPO_ALL="POST /post (role all)"
TOPO_FRONT="POST /post (front end -> backend)"
TOPO_PAGE="GET / (front end -> backend)"
TOPO_DUPLICATES=n/a
TOPO_LOST=n/a
TOPO_RATIO=n/a
TOPO_RESTART_NOTE=""

# Messages whose text is stored more than once, counted on the backend at
# PORT (its legacy list holds up to 100000). Sets DUP_STORED, DUP_EXTRA.
count_duplicates() {
	local port=$1 counts
	counts=$(curl -s "http://127.0.0.1:$port/messages" |
		grep -o '"message":"run [^"]*"' | sort | uniq -c |
		awk '{ n += $1; if ($1 > 1) d += $1 - 1 } END { printf "%d %d", n, d }')
	read -r DUP_STORED DUP_EXTRA <<<"$counts"
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

	start_guestbookd topo_all --role all --plugins "$PLUGINS_BASE,metrics" \
		--sqlite-path "$TMP/topo/all.db"
	measure "$TOPO_ALL" "$GB_PID" "$GB_PORT" /post "$BENCH_DIR/wrk_post.lua" \
		0 form
	stop_guestbookd

	start_guestbookd topo_backend --role backend --storage sqlite \
		--sqlite-path "$TMP/topo/backend.db"
	BACK_PID=$GB_PID
	start_guestbookd topo_front --role frontend \
		--backend-url "http://127.0.0.1:$GB_PORT"
	measure "$TOPO_FRONT" "$GB_PID" "$GB_PORT" /post "$BENCH_DIR/wrk_post.lua" \
		0 form
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
	r=$(ratio "${RPS[$TOPO_FRONT]:-0}" "${RPS[$TOPO_ALL]:-0}")
	TOPO_RATIO=$r
	goal "POST /post via front end >= 0.7 of role all ($r)" \
		"$(awk -v a="$r" -v b=0.7 "$ge" && echo 1)"
	goal "0 duplicates after a backend restart ($TOPO_DUPLICATES)" \
		"$([[ $TOPO_DUPLICATES == 0 ]] && echo 1)"
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
