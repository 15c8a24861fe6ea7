#!/usr/bin/env bash
# bench/mongo.sh - the mongo rows of the benchmark: GET and POST
# /api/v1/messages on guestbookd --role backend over FerretDB (a real
# MongoDB wire-protocol server, tests/lib/ferretdb.sh; MONGO_BENCH_URI to
# use a MongoDB you run), and the same queries straight through libmongoc
# in a loop with the same concurrency (bench/mongo/direct.c), so the
# figures show whether guestbookd or the database is the limit.
#
# Before those, POST /post through a front end over a mongo backend (its
# posts batched), in a database of its own.
#
# Two ways to run it:
#   - sourced by bench/run.sh, which then calls `bench_mongo` after its
#     SQLite scenarios: the rows "... (mongo)" and "driver ... (direct)"
#     join its table, next to the SQLite rows;
#   - on its own, after `make all`:
#       GB_BUILD_DIR=$PWD/build GB_SRC_DIR=$PWD bench/mongo.sh
#     it loads bench/run.sh's functions (not its main), measures the same
#     GET and POST on SQLite, then on mongo, and prints them side by side.
# Knobs: those of bench/run.sh (BENCH_DURATION, BENCH_CONNECTIONS,
# BENCH_SEED, ...), MONGO_BENCH_URI (default: a FerretDB started here) and
# MONGO_BENCH_SEED (messages seeded on mongo, 500: FerretDB's SQLite
# handler cannot push a sort on _id down to SQLite, so every list reads
# and sorts the whole collection; against a real MongoDB raise it to
# BENCH_SEED).

MONGO_BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MONGO_NOCACHE_ROW="GET /api/v1/messages (mongo, no cache)"
SQLITE_NOCACHE_ROW="GET /api/v1/messages (no cache)"
MONGO_FRONT_ROW="POST /post (front end -> mongo backend)"

# Builds bench/mongo/direct.c into $BUILD/bench/mongo_direct with the
# project's warnings (the Makefile's bench rule has no libmongoc flags).
mongo_build_direct() {
	local src=$MONGO_BENCH_DIR/mongo/direct.c out=$BUILD/bench/mongo_direct
	[[ -x $out && $out -nt $src ]] && return 0
	mkdir -p "$BUILD/bench"
	# shellcheck disable=SC2046 # pkg-config prints several words
	cc -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		-Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wsign-compare \
		-D_GNU_SOURCE -pthread $(pkg-config --cflags libmongoc-1.0) \
		-o "$out" "$src" $(pkg-config --libs libmongoc-1.0)
}

# measure_direct NAME MODE URI: mongo_direct's loop, parsed like measure.
measure_direct() {
	local name=$1 mode=$2 uri=$3 out line
	out=$("$BUILD/bench/mongo_direct" "$uri" messages "$mode" \
		"$CONNECTIONS" "$DURATION" 2>&1) || {
		not_measured "$name" "mongo_direct failed: ${out//$'\n'/ }"
		return 0
	}
	line=$(grep '^WRK ' <<<"$out") || {
		not_measured "$name" "no summary: $out"
		return 0
	}
	ORDER+=("$name")
	eval "local ${line#WRK }"
	# shellcheck disable=SC2034 # read by run.sh's report
	# shellcheck disable=SC2154 # set by the eval above
	RPS[$name]=$(awk -v n="$requests" -v us="$duration_us" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
	# shellcheck disable=SC2154
	P50[$name]=$(awk -v us="$p50_us" 'BEGIN { printf "%.2f", us / 1000 }')
	# shellcheck disable=SC2154
	P99[$name]=$(awk -v us="$p99_us" 'BEGIN { printf "%.2f", us / 1000 }')
	# shellcheck disable=SC2034 # read by run.sh's report
	RSS[$name]=""
	NOTE[$name]="libmongoc loop, no HTTP"
	# shellcheck disable=SC2154
	((status_errors > 0)) && NOTE[$name]+="; $status_errors errors"
	printf '  %-28s %8s ops/s  p50 %6s ms  p99 %6s ms  %s\n' "$name" \
		"${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${NOTE[$name]}"
}

# Starts FerretDB for the run; sets MONGO_URI (and MONGO_FERRET_DIR).
mongo_start_server() {
	MONGO_FERRET_DIR=""
	if [[ -n ${MONGO_BENCH_URI:-} ]]; then
		MONGO_URI=$MONGO_BENCH_URI
		return 0
	fi
	# shellcheck source=/dev/null
	source "$SRC/tests/lib/ferretdb.sh"
	local started port pid
	MONGO_FERRET_DIR=$TMP/ferretdb
	started=$(ferretdb_start "$MONGO_FERRET_DIR") || return 1
	read -r port pid <<<"$started"
	PIDS+=("$pid")
	MONGO_URI=mongodb://127.0.0.1:$port/guestbook_bench
}

bench_mongo() {
	local why
	echo "mongo: guestbookd --role backend over ${MONGO_BENCH_URI:+$MONGO_BENCH_URI}${MONGO_BENCH_URI:-FerretDB (SQLite handler)}"
	if ! why=$(mongo_build_direct 2>&1); then
		not_measured "driver list (direct)" "mongo_direct did not build: $why"
	fi
	if ! mongo_start_server; then
		not_measured "GET /api/v1/messages (mongo)" "FerretDB did not start"
		not_measured "$MONGO_NOCACHE_ROW" "FerretDB did not start"
		not_measured "POST /api/v1/messages (mongo)" "FerretDB did not start"
		not_measured "$MONGO_FRONT_ROW" "FerretDB did not start"
		return 0
	fi
	bench_mongo_front
	start_guestbookd mongo --role backend --storage mongo \
		--mongo-uri "$MONGO_URI" --plugins api,metrics
	echo "  started in $START_READY_MS ms (ready line)"
	local seed=$SEED note
	SEED=${MONGO_BENCH_SEED:-500}
	seed_messages "$GB_PORT"
	SEED=$seed
	note="${MONGO_BENCH_SEED:-500} messages${MONGO_FERRET_DIR:+ on FerretDB}"
	measure "GET /api/v1/messages (mongo)" "$GB_PID" "$GB_PORT" \
		/api/v1/messages
	NOTE["GET /api/v1/messages (mongo)"]+="${NOTE["GET /api/v1/messages (mongo)"]:+; }$note"
	stop_guestbookd
	# The api plugin reuses a rendered first page for list_cache_ms: with
	# the cache off every request is a query, like the direct loop's. Both
	# run before the POSTs grow the collection.
	start_guestbookd mongo_nocache --role backend --storage mongo \
		--mongo-uri "$MONGO_URI" --plugins api,metrics --list-cache-ms 0
	measure "$MONGO_NOCACHE_ROW" "$GB_PID" "$GB_PORT" /api/v1/messages
	NOTE["$MONGO_NOCACHE_ROW"]+="${NOTE["$MONGO_NOCACHE_ROW"]:+; }$note"
	[[ -x $BUILD/bench/mongo_direct ]] &&
		measure_direct "driver list (direct)" list "$MONGO_URI"
	measure "POST /api/v1/messages (mongo)" "$GB_PID" "$GB_PORT" \
		/api/v1/messages "$BENCH_DIR/wrk_post.lua"
	[[ -x $BUILD/bench/mongo_direct ]] &&
		measure_direct "driver insert (direct)" insert "$MONGO_URI"
	stop_guestbookd
	[[ -n $MONGO_FERRET_DIR ]] && ferretdb_stop "$MONGO_FERRET_DIR"
	return 0
}

# The deployed topology on mongo, first and in a database of its own:
# the page's form through a front end, whose concurrent posts reach the
# backend as batches (one ordered write of their keys and one of their
# messages). First, because FerretDB's SQLite handler is still working
# through the unindexed sorts of the list rows long after they end.
bench_mongo_front() {
	local uri=$MONGO_URI query="" back_pid back_port
	if [[ $uri == *\?* ]]; then
		query="?${uri#*\?}"
		uri=${uri%%\?*}
	fi
	start_guestbookd mongo_back --role backend --storage mongo \
		--mongo-uri "${uri%/*}/guestbook_front$query" --plugins api,metrics
	back_pid=$GB_PID back_port=$GB_PORT
	start_guestbookd mongo_front --role frontend \
		--backend-url "http://127.0.0.1:$back_port"
	measure "$MONGO_FRONT_ROW" "$GB_PID" "$GB_PORT" /post \
		"$BENCH_DIR/wrk_post.lua" 0 form
	stop_guestbookd
	GB_PID=$back_pid
	stop_guestbookd
}

# The standalone report: each operation on SQLite, on mongo, and direct.
mongo_report() {
	local row sq mo di
	echo
	printf '%-34s %12s %12s %14s %10s %10s\n' operation "sqlite req/s" \
		"mongo req/s" "direct ops/s" "mongo/sql" "mongo/dir"
	for row in "GET /api/v1/messages|GET /api/v1/messages (mongo)|driver list (direct)" \
		"$SQLITE_NOCACHE_ROW|$MONGO_NOCACHE_ROW|driver list (direct)" \
		"POST /api/v1/messages|POST /api/v1/messages (mongo)|driver insert (direct)"; do
		IFS='|' read -r sq mo di <<<"$row"
		printf '%-34s %12s %12s %14s %10s %10s\n' "$sq" \
			"${RPS[$sq]:-n/a}" "${RPS[$mo]:-n/a}" "${RPS[$di]:-n/a}" \
			"$(ratio "${RPS[$mo]:-0}" "${RPS[$sq]:-0}")" \
			"$(ratio "${RPS[$mo]:-0}" "${RPS[$di]:-0}")"
		printf '%-34s %12s %12s %14s\n' "  p99 ms" "${P99[$sq]:-n/a}" \
			"${P99[$mo]:-n/a}" "${P99[$di]:-n/a}"
	done
}

mongo_main() {
	echo "guestbookd sqlite vs mongo: wrk -t$WRK_THREADS -c$CONNECTIONS, ${DURATION}s per scenario, $THREADS server threads"
	start_guestbookd sqlite --role all --plugins api,metrics
	seed_messages "$GB_PORT"
	measure "GET /api/v1/messages" "$GB_PID" "$GB_PORT" /api/v1/messages
	measure "POST /api/v1/messages" "$GB_PID" "$GB_PORT" /api/v1/messages \
		"$BENCH_DIR/wrk_post.lua"
	stop_guestbookd
	start_guestbookd sqlite_nocache --role all --plugins api,metrics \
		--list-cache-ms 0
	measure "$SQLITE_NOCACHE_ROW" "$GB_PID" "$GB_PORT" /api/v1/messages
	stop_guestbookd
	bench_mongo
	mongo_report
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	# run.sh's functions and settings, without running its main
	# shellcheck disable=SC1090
	source <(sed '/^main "\$@"$/d' "$MONGO_BENCH_DIR/run.sh")
	mongo_main "$@"
fi
