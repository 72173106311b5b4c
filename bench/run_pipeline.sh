#!/bin/bash
# The pipeline benchmark in one command (issue "the pipeline", Performance).
#
#   bench/run_pipeline.sh [-n EVENTS] [-r REPETITIONS] [-b BATCH_EVENTS]
#                         [-w BATCH_WAIT_MS] [-k SEGMENTS] [-R RATE]
#                         [-s SECONDS] [-S [-N]] [-x CONFIG_FRAGMENT] [-T]
#                         [-F [TABLE,...]] [-i INSTANCES]
#
# Builds handoffd and bench_pipeline (Release, no sanitizer) into
# build/bench, starts a private PostgreSQL with tests/pg.sh (fsync and
# synchronous_commit on, as a production server has them), and for each
# repetition:
#   1. a fresh database and a fresh handoffd: EVENTS events (default
#      1,000,000) of the realistic mix pushed through its `pull` endpoint as
#      fast as it takes them, timed until all are committed, and the same
#      events loaded with COPY into an empty copy of the events table, in
#      batches of the daemon's batch size, one transaction each (the two
#      loads take turns in SEGMENTS slices, default 10, so that other load
#      on the machine hits both alike);
#   2. another fresh database and handoffd: RATE events a second (default
#      5,000) offered for SECONDS (default 20), and the daemon's p50 and p99
#      receive-to-commit latency;
# and prints one row of figures per repetition, then their medians. The
# daemon's peak RSS is the larger VmHWM of its two runs. -b and -w set
# batch.max_events and batch.max_wait_ms (default: the daemon's defaults).
# -S turns the SLA engine on: bench/sla.conf adds the example
# configuration's calendars, teams, routing, clocks and targets, on the
# event clock (the file says why); -N leaves its teams and routing rules
# out (teams need rules), to measure what routing costs: the clocks then
# run on the calendar handoffd gives a lead without a team. -x appends another configuration
# fragment (after bench/sla.conf with -S; e.g. a copy of it without the
# routing rules, to measure what routing costs). Everything it started is
# stopped and removed on exit. -T loads pg_stat_statements and prints the
# statements that took the most server time in each throughput run.
# -F adds the floor to each throughput run: the rows handoffd left in the
# state tables every design must write (SPEC §5 and the reconciliation,
# SLA and routing issues: leads, identities, stage and deal history,
# pending events, outbox, SLA cycles) are loaded again with nothing else,
# in the events' transactions, each row once; the ratio of that load to
# COPY of the events alone bounds what any daemon storing them can reach.
# -F must be a word of its own (not bundled like -TF). -F TABLE,... names
# the tables instead (e.g. -F leads for events and lead
# rows only). With -T too, the statements listed include the floor's COPYs.
# -i runs the throughput phase through INSTANCES daemons on the one
# database (SPEC §5 allows several), the events dealt out to them in turn;
# the CPU figures are then those of the first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build="$src/build/bench"

events=1000000
reps=3
batch=""
wait_ms=""
rate=5000
seconds=20
segments=10
sla=0
fragment=""
top=0
norouting=0
instances=1
floor=""
floor_default=leads,lead_identities,stage_history,deals,deal_history,pending_events,outbox,sla_cycles

usage() {
	sed -n '4,7p' "$0" | sed 's/^# *//' >&2
	exit 2
}

# -F takes an optional argument: the default list when the next word is
# another option or absent.
args=()
while [ $# -gt 0 ]; do
	if [ "$1" = -F ]; then
		if [ $# -gt 1 ] && [ "${2#-}" = "$2" ]; then
			floor=$2
			shift
		else
			floor=$floor_default
		fi
	else
		args+=("$1")
	fi
	shift
done
set -- ${args[@]+"${args[@]}"}

while getopts "n:r:b:w:k:R:s:SNx:Ti:h" opt; do
	case $opt in
	n) events=$OPTARG ;;
	r) reps=$OPTARG ;;
	b) batch=$OPTARG ;;
	w) wait_ms=$OPTARG ;;
	k) segments=$OPTARG ;;
	R) rate=$OPTARG ;;
	s) seconds=$OPTARG ;;
	S) sla=1 ;;
	T) top=1 ;;
	N) norouting=1 ;;
	i) instances=$OPTARG ;;
	x) fragment=$(cd "$(dirname "$OPTARG")" && pwd)/$(basename "$OPTARG")
	   [ -r "$fragment" ] || { echo "cannot read $OPTARG" >&2; exit 2; } ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage
[ "$instances" -ge 1 ] 2>/dev/null || usage

# The machine may be shared: its load goes into the report.
machine_load() {
	echo "$(cut -d' ' -f1-3 /proc/loadavg)$( [ -r /proc/pressure/cpu ] &&
		sed -n 's/^some avg10=\([0-9.]*\).*/, cpu pressure \1%/p' /proc/pressure/cpu)"
}
load0=$(machine_load)

echo "== building into $build (Release)" >&2
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
	-DHANDOFF_SANITIZE=OFF -DHANDOFF_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target handoffd handoffctl bench_pipeline >/dev/null

HANDOFFD="$build/handoffd"
HANDOFFCTL="$build/handoffctl"
BENCH="$build/bench/bench_pipeline"

W=$(mktemp -d /tmp/handoff-bench.XXXXXX)
DPIDS=()

cleanup() {
	local p
	for p in ${DPIDS[@]+"${DPIDS[@]}"}; do
		if kill -0 "$p" 2>/dev/null; then
			kill -9 "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	"$src/tests/pg.sh" stop "$W/pg" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

echo "== starting PostgreSQL (fsync on, synchronous_commit on)" >&2
if [ "$top" = 1 ]; then
	export PG_EXTRA_CONF="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all"
fi
env -u PG_FAST "$src/tests/pg.sh" start "$W/pg"
ADMIN=$(cat "$W/pg/conninfo")

psql_admin() {
	PGOPTIONS="-c client_min_messages=warning" psql "$ADMIN" \
		-v ON_ERROR_STOP=1 -qAt "$@"
}

echo "   $(psql_admin -c "SELECT 'fsync=' || current_setting('fsync') || \
', synchronous_commit=' || current_setting('synchronous_commit') || \
', shared_buffers=' || current_setting('shared_buffers') || \
', max_wal_size=' || current_setting('max_wal_size')")" >&2

# ctl K ARGS...: handoffctl against daemon K.
ctl() {
	local k=$1
	shift
	"$HANDOFFCTL" -e "ipc://$W/control$k.sock" "$@"
}

# daemon_start DB K: handoffd number K on database DB, ingest and publish
# on ephemeral ports, control on an ipc socket; sets DPIDS[K] and PULLS[K].
daemon_start() {
	local db=$1 k=$2 extra="" st conf="$W/handoffd$2.conf" log="$W/handoffd$2.log"
	if [ -n "$batch$wait_ms" ]; then
		extra="batch = { ${batch:+max_events = $batch; }${wait_ms:+max_wait_ms = $wait_ms; }"
		if [ -n "$batch" ] && [ "$batch" -gt 20000 ]; then
			extra="$extra buffer_events = $batch; "
		fi
		extra="$extra};"
	fi
	cat >"$conf" <<CONF
database = { conninfo = "$ADMIN dbname=$db"; };
bus = {
  ingest = (
    { kind = "pull";   endpoint = "tcp://127.0.0.1:*"; },
    { kind = "router"; endpoint = "tcp://127.0.0.1:*"; }
  );
  publish = "tcp://127.0.0.1:*";
  control = "ipc://$W/control$k.sock";
};
log = { level = "info"; };
$extra
CONF
	if [ "$sla" = 1 ] && [ "$norouting" = 1 ]; then
		awk '/^(teams = \(|routing = \{)/ { skip = 1 } !skip { print }
			skip && /^\)?\};?$|^\);$/ { skip = 0 }' \
			"$here/sla.conf" >>"$conf"
	elif [ "$sla" = 1 ]; then
		cat "$here/sla.conf" >>"$conf"
	fi
	if [ -n "$fragment" ]; then
		cat "$fragment" >>"$conf"
	fi
	"$HANDOFFD" -c "$conf" 2>>"$log" &
	DPIDS[k]=$!
	for _ in $(seq 1 400); do
		if st=$(ctl "$k" -t 0.5 status 2>/dev/null) &&
			grep -q '"database":"connected"' <<<"$st"; then
			PULLS[k]=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoints"]["ingest"][0])' <<<"$st")
			return 0
		fi
		kill -0 "${DPIDS[k]}" 2>/dev/null || {
			tail -n 20 "$log" >&2
			echo "handoffd exited during start-up" >&2
			exit 1
		}
		sleep 0.05
	done
	echo "handoffd not ready within 20 s" >&2
	exit 1
}

daemon_stop() {
	local rc=0 p
	for p in "${DPIDS[@]}"; do
		kill -TERM "$p"
		wait "$p" || rc=$?
		[ "$rc" = 0 ] || { echo "handoffd exited $rc" >&2; exit 1; }
	done
	DPIDS=()
}

# kv KEY LINE: the value of KEY=... in a RESULT line.
kv() {
	tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"
}

declare -a PULLS
declare -a R_FLOOR R_EPS R_COPY R_RATIO R_P50 R_P99 R_RSS R_SAT99
for rep in $(seq 1 "$reps"); do
	echo "== repetition $rep of $reps: throughput, $events events" >&2
	psql_admin -c "DROP DATABASE IF EXISTS bench_tp WITH (FORCE)" \
		-c "CREATE DATABASE bench_tp"
	controls=""
	pulls=""
	for k in $(seq 0 $((instances - 1))); do
		daemon_start bench_tp "$k"
		controls="$controls${controls:+,}ipc://$W/control$k.sock"
		pulls="$pulls${pulls:+,}${PULLS[k]}"
	done
	"$BENCH" throughput -e "$controls" -p "$pulls" \
		-d "$ADMIN dbname=bench_tp" -n "$events" -k "$segments" \
		-P "${DPIDS[0]}" ${batch:+-b "$batch"} ${floor:+-F "$floor"} |
		tee "$W/phase.out" >&2
	out=$(grep '^RESULT' "$W/phase.out" | head -n 1)
	[ -z "$floor" ] || R_FLOOR[rep]=$(kv floor_ratio "$(grep '^RESULT floor' "$W/phase.out")")
	if [ "$top" = 1 ]; then
		echo "== statements by server time (throughput run $rep)" >&2
		PGOPTIONS="-c client_min_messages=warning" psql "$ADMIN dbname=bench_tp" \
			-v ON_ERROR_STOP=1 -qAt -P pager=off -F ' | ' <<'SQL' >&2
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SELECT round(total_exec_time)::bigint AS ms, calls, rows,
       round(100 * total_exec_time / sum(total_exec_time) OVER ())::int AS pct,
       left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = 'bench_tp'
ORDER BY total_exec_time DESC LIMIT 45;
SELECT pg_stat_statements_reset();
SELECT 'WAL since the last report (both loads): ' || wal_records || ' records, '
       || wal_fpi || ' full pages, ' || pg_size_pretty(wal_bytes)
FROM pg_stat_wal;
SELECT pg_stat_reset_shared('wal');
SQL
	fi
	daemon_stop
	psql_admin -c "DROP DATABASE bench_tp WITH (FORCE)"
	R_EPS[rep]=$(kv daemon_eps "$out")
	R_COPY[rep]=$(kv copy_rps "$out")
	R_RATIO[rep]=$(kv ratio "$out")
	R_SAT99[rep]=$(kv sat_p99_ms "$out")
	rss1=$(kv rss_kib "$out")

	echo "== repetition $rep of $reps: latency, $rate events/s for $seconds s" >&2
	psql_admin -c "DROP DATABASE IF EXISTS bench_lat WITH (FORCE)" \
		-c "CREATE DATABASE bench_lat"
	daemon_start bench_lat 0
	"$BENCH" latency -e "ipc://$W/control0.sock" -p "${PULLS[0]}" \
		-d "$ADMIN dbname=bench_lat" -r "$rate" -s "$seconds" \
		-P "${DPIDS[0]}" | tee "$W/phase.out" >&2
	out=$(grep '^RESULT' "$W/phase.out")
	daemon_stop
	psql_admin -c "DROP DATABASE bench_lat WITH (FORCE)"
	R_P50[rep]=$(kv p50_ms "$out")
	R_P99[rep]=$(kv p99_ms "$out")
	rss2=$(kv rss_kib "$out")
	R_RSS[rep]=$(( rss1 > rss2 ? rss1 : rss2 ))
done

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

row() {
	printf '%-8s %14s %12s %7s %13s %13s %11s %12s\n' "$@"
}

echo
echo "handoff pipeline benchmark: $events events$( [ "$instances" = 1 ] || echo " through $instances daemons"), batch.max_events=${batch:-default}, batch.max_wait_ms=${wait_ms:-default}, SLA engine $( [ "$sla" = 1 ] && echo "on (bench/sla.conf$( [ "$norouting" = 1 ] && echo ", without routing"))" || echo off)${fragment:+, plus $(basename "$fragment")}, $(nproc) cores"
echo "machine: load average at start $load0, at end $(machine_load)"
row run "committed ev/s" "COPY rows/s" ratio "p50 ms @${rate}" "p99 ms @${rate}" "peak RSS MiB" "p99 ms sat."
for rep in $(seq 1 "$reps"); do
	row "$rep" "${R_EPS[rep]}" "${R_COPY[rep]}" "${R_RATIO[rep]}" \
		"${R_P50[rep]}" "${R_P99[rep]}" \
		"$(awk -v k="${R_RSS[rep]}" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"${R_SAT99[rep]}"
done
row median "$(median "${R_EPS[@]}")" "$(median "${R_COPY[@]}")" \
	"$(median "${R_RATIO[@]}")" "$(median "${R_P50[@]}")" \
	"$(median "${R_P99[@]}")" \
	"$(awk -v k="$(median "${R_RSS[@]}")" 'BEGIN { printf "%.1f", k / 1024 }')" \
	"$(median "${R_SAT99[@]}")"
if [ -n "$floor" ]; then
	echo "floor (COPY of the events alone / COPY of the events with the rows handoffd left in $floor): $(printf '%s ' "${R_FLOOR[@]}")-> median $(median "${R_FLOOR[@]}")"
fi
echo "goals: the pipeline (issue 3): ratio >= 0.6, p99 <= 20 ms at 5,000/s, peak RSS <= 50 MiB;"
echo "       with the domain logic (issue 4): ratio >= 0.4, peak RSS <= 64 MiB (with the SLA engine: ratio >= 0.35)"
echo "(p99 ms sat.: the daemon's receive-to-commit p99 while saturated, last 65,536 events)"
