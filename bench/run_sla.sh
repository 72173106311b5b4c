#!/bin/bash
# SLA benchmark (issue: SLA engine): with 1,000,000 open cycles in the
# database, 10,000 of them due in the same second, how long after their due
# time are the sla.breached alerts published? Builds, starts a private
# PostgreSQL (fsync on) and handoffd in wall mode, fills the database with
# SQL, subscribes with handoffctl tail, and reports when the last alert was
# emitted and received relative to the due time. Everything is removed
# afterwards.
#
#   bench/run_sla.sh [OPEN_CYCLES] [DUE]     (defaults 1000000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
open=${1:-1000000}
due=${2:-10000}

deploy/deps.sh
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DHANDOFF_TESTS=OFF -DHANDOFF_WERROR=ON >/dev/null
cmake --build build/bench -j "$(nproc)" --target handoffd handoffctl >/dev/null
D=build/bench/handoffd
C=build/bench/handoffctl

T=$(mktemp -d /tmp/handoff-bench.XXXXXX)
dpid=""
cleanup() {
	if [ -n "$dpid" ]; then kill -9 "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; fi
	tests/pg.sh stop "$T/pg" >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT
tests/pg.sh start "$T/pg" >/dev/null 2>&1
ci=$(cat "$T/pg/conninfo")
cat >"$T/h.conf" <<CONF
database = { conninfo = "$ci"; };
bus = { ingest = ( { kind = "router"; endpoint = "tcp://127.0.0.1:*"; } );
        publish = "tcp://127.0.0.1:*"; control = "ipc://$T/control.sock"; };
clock = { mode = "wall"; lateness = "0s"; };
calendars = ( { name = "always"; timezone = "UTC"; hours = "24x7"; } );
sla = { clocks = ( { name = "mql_acceptance"; start = ["lead.qualified"];
        stop = ["sales.accepted", "sales.rejected"]; goal = "4h";
        calendar = "always"; } ); };
log = { level = "warn"; };
CONF
"$D" --migrate -c "$T/h.conf" 2>/dev/null

echo "==> filling $open open cycles ($due due together)"
start_fill=$(date +%s.%N)
psql "$ci" -qAt -v ON_ERROR_STOP=1 <<SQL
SET synchronous_commit = off;
INSERT INTO leads (id, lead_key, source, mkt_id, stage, stage_at, first_seen)
  SELECT g, 'L' || g, 'bench', 'm' || g, 'mql', now(), now()
  FROM generate_series(1, $open) g;
SELECT setval('lead_id_seq', $open);
INSERT INTO sla_cycles (lead_id, clock, cycle, state, started_at, due_at,
    goal_s, calendar, due_us, next_alert_at)
  SELECT g, 'mql_acceptance', 1, 'running', now(), now() + interval '1 day',
    14400, 'always', (extract(epoch FROM now() + interval '1 day') * 1000000)::bigint,
    now() + interval '1 day'
  FROM generate_series(1, $open) g;
ANALYZE;
SQL
echo "    filled in $(/usr/bin/python3 -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 1))" "$(date +%s.%N)" "$start_fill") s"

"$D" -c "$T/h.conf" 2>"$T/d.log" &
dpid=$!
for _ in $(seq 1 100); do "$C" -e "ipc://$T/control.sock" -t 0.5 ping >/dev/null 2>&1 && break; sleep 0.1; done
pub=$("$C" -e "ipc://$T/control.sock" status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoints"]["publish"])')

"$C" -e "ipc://$T/control.sock" tail sla.breached --from "$pub" --count "$due" --no-fill >"$T/alerts.jsonl" 2>"$T/tail.log" &
tpid=$!
sleep 1

# The due time: a whole second a few seconds ahead; the cycles' due and
# next alert are moved onto it in one statement.
dueat=$(( $(date +%s) + 4 ))
dueiso=$(date -u -d "@$dueat" +%Y-%m-%dT%H:%M:%SZ)
psql "$ci" -qAt -v ON_ERROR_STOP=1 -c "UPDATE sla_cycles SET due_at = '$dueiso',
  due_us = $dueat::bigint * 1000000, next_alert_at = '$dueiso'
  WHERE lead_id <= $due" >/dev/null
echo "==> $due cycles due at $dueiso; waiting for their alerts"
wait "$tpid"
recv=$(date +%s.%N)
/usr/bin/python3 - "$T/alerts.jsonl" "$dueat" "$recv" <<'PY'
import json, sys, datetime
path, due, recv = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ems = []
with open(path) as f:
    for line in f:
        m = json.loads(line)
        ems.append(datetime.datetime.fromisoformat(m["emitted_at"].replace("Z", "+00:00")).timestamp())
print(f"alerts received: {len(ems)}")
print(f"first emitted {min(ems) - due:.3f} s after the due time, last {max(ems) - due:.3f} s after")
print(f"last received {recv - due:.3f} s after the due time (includes tail's exit)")
PY
rss=$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")
echo "daemon peak RSS: $((rss / 1024)) MiB"
grep -i error "$T/d.log" | head -3 || true
