#!/bin/bash
# An SLA alert is published exactly once across kill -9 and restarts
# (SPEC §2.3, §5, §6.5): the due time is kept in the database, so a daemon
# that was dead when it passed publishes the alert when it comes back, and
# a daemon restarted after that does not publish it again.
#
# Wall clock, goal 4 s on a 24x7 calendar, lateness 0 s: the lead is
# qualified, the daemon is killed at once (long before the due time), and
# restarted once the due time has passed.
source "$(dirname "$0")/lib.sh"

# sla.* messages of the replay on stdin, as "type lead_key clock cycle".
alerts() {
	/usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        m = json.loads(line)
        if m["type"].startswith("sla."):
            print(m["type"], m["lead_key"], m["clock"], m["cycle"])'
}

replay() {
	t_ctl replay --since 0 >"$T/replay" 2>"$T/replay.err" ||
		t_fail "replay failed: $(cat "$T/replay.err")"
	alerts <"$T/replay"
}

t_init handoff_sla_restart
t_config '
clock = { mode = "wall"; lateness = "0s"; };
reconcile = { unmatched_grace = "5m"; };
calendars = ({ name = "always"; timezone = "UTC"; hours = "24x7"; });
sla = { clocks = (
  { name = "accept"; start = ["lead.qualified"]; stop = ["sales.accepted"];
    goal = "4s"; calendar = "always"; }
); };'
t_start

now_s=$(date -u +%s)
at=$(date -u -d "@$now_s" +%Y-%m-%dT%H:%M:%SZ)
due_s=$((now_s + 4))
cat >"$T/events.jsonl" <<EOF
{"v":1,"id":"m1","source":"marketo","type":"lead.qualified","occurred_at":"$at","lead":{"id":"M1","email":"m1@example.com"}}
EOF
out=$("$HANDOFFCTL" send --window 1 --to "$ROUTER" "$T/events.jsonl") ||
	t_fail "send: $out"
[ "$out" = "accepted 1, duplicate 0, rejected 0, invalid 0" ] ||
	t_fail "send printed: $out"
t_kill9
# The daemon died before the due time: the cycle is stored, due, unalerted.
[ "$(date -u +%s)" -lt "$due_s" ] ||
	t_fail "the daemon was killed only after the due time"
[ "$(t_sql "SELECT count(*) FROM outbox WHERE type LIKE 'sla.%'")" = 0 ] ||
	t_fail "an alert was committed before the due time"
[ "$(t_sql "SELECT state || ' ' || (next_alert_at IS NOT NULL) FROM sla_cycles")" = "running true" ] ||
	t_fail "the cycle is not stored as running with an alert pending: $(t_sql "SELECT * FROM sla_cycles")"

# Wait until the due time has passed while the daemon is down.
while [ "$(date -u +%s)" -le $((due_s + 1)) ]; do
	sleep 0.2
done
t_start
want="sla.breached L1 accept 1"
got=""
for _ in $(seq 1 200); do
	got=$(replay)
	[ -n "$got" ] && break
	sleep 0.1
done
[ "$got" = "$want" ] || t_fail "after restart: want '$want', got '$got'"

# Killed again right after the alert, then restarted: still exactly one.
t_kill9
t_start
# A few of the daemon's one-second wake-ups.
sleep 3
got=$(replay)
[ "$got" = "$want" ] || t_fail "after a second restart: want '$want', got '$got'"
[ "$(t_sql "SELECT count(*) FROM outbox WHERE type = 'sla.breached'")" = 1 ] ||
	t_fail "sla.breached stored more than once"
[ "$(t_sql "SELECT state || ' ' || (next_alert_at IS NULL) FROM sla_cycles")" = "breached true" ] ||
	t_fail "the cycle is not breached with nothing pending: $(t_sql "SELECT * FROM sla_cycles")"

# And once more after a clean stop.
t_stop
t_start
sleep 2
got=$(replay)
[ "$got" = "$want" ] || t_fail "after a clean restart: want '$want', got '$got'"

t_stop
t_pass
