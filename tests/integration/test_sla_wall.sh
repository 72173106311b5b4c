#!/bin/bash
# SLA clocks on the wall clock (SPEC §6.5, clock.mode = "wall"): the daemon
# publishes a breach on its own, driven by the next due time, with no event
# arriving; and a stop that arrived before the due time gives no breach.
#
# L1 is qualified now with a goal of one second on a 24x7 calendar:
# sla.breached must come (the deadline is generous: this checks that it
# comes, not how fast). L2 (segment "slow", goal 10 s) is qualified and
# accepted at once: once its due time has passed, it has no alert and its
# cycle is met.
source "$(dirname "$0")/lib.sh"

# Messages of TYPE for LEAD_KEY in a replay (JSON lines on stdin).
count_alerts() {
	/usr/bin/python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        m = json.loads(line)
        if m.get("type") == sys.argv[1] and m.get("lead_key") == sys.argv[2]:
            n += 1
print(n)' "$1" "$2"
}

# The value of KEY of the first message of TYPE in a replay (stdin).
alert_field() {
	/usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        m = json.loads(line)
        if m.get("type") == sys.argv[1]:
            print(m[sys.argv[2]])
            break' "$1" "$2"
}

t_init handoff_sla_wall
t_config '
clock = { mode = "wall"; lateness = "0s"; };
reconcile = { unmatched_grace = "5m"; };
calendars = ({ name = "always"; timezone = "UTC"; hours = "24x7"; });
sla = { clocks = (
  { name = "accept"; start = ["lead.qualified"]; stop = ["sales.accepted"];
    goal = "1s"; goal_by_segment = { slow = "10s"; }; calendar = "always"; }
); };'
t_start

# Whole seconds: the due times are then exact to the second.
now_s=$(date -u +%s)
at=$(date -u -d "@$now_s" +%Y-%m-%dT%H:%M:%SZ)
due1=$(date -u -d "@$((now_s + 1))" +%Y-%m-%dT%H:%M:%SZ)
due2_s=$((now_s + 10))

cat >"$T/l2.jsonl" <<EOF
{"v":1,"id":"m21","source":"marketo","type":"lead.upserted","occurred_at":"$at","lead":{"id":"M2","email":"m2@example.com","segment":"slow"}}
{"v":1,"id":"m22","source":"marketo","type":"lead.qualified","occurred_at":"$at","lead":{"id":"M2"}}
{"v":1,"id":"s21","source":"salesforce","type":"sales.accepted","occurred_at":"$at","lead_ref":{"email":"m2@example.com"}}
EOF
cat >"$T/l1.jsonl" <<EOF
{"v":1,"id":"m11","source":"marketo","type":"lead.upserted","occurred_at":"$at","lead":{"id":"M1","email":"m1@example.com"}}
{"v":1,"id":"m12","source":"marketo","type":"lead.qualified","occurred_at":"$at","lead":{"id":"M1"}}
EOF
out=$("$HANDOFFCTL" send --window 1 --to "$ROUTER" "$T/l2.jsonl") ||
	t_fail "send L2: $out"
[ "$out" = "accepted 3, duplicate 0, rejected 0, invalid 0" ] ||
	t_fail "send L2 printed: $out"
# The point of L2 is a stop that arrived before the due time.
[ "$(date -u +%s)" -lt "$due2_s" ] ||
	t_fail "L2's events took until after its due time to be sent"
out=$("$HANDOFFCTL" send --window 1 --to "$ROUTER" "$T/l1.jsonl") ||
	t_fail "send L1: $out"
[ "$out" = "accepted 2, duplicate 0, rejected 0, invalid 0" ] ||
	t_fail "send L1 printed: $out"
k1=$(t_sql "SELECT lead_key FROM leads WHERE email = 'm1@example.com'")
k2=$(t_sql "SELECT lead_key FROM leads WHERE email = 'm2@example.com'")
[ -n "$k1" ] && [ -n "$k2" ] || t_fail "leads not found: '$k1' '$k2'"

# The breach comes without any further event.
n=0
for _ in $(seq 1 200); do
	t_ctl replay --since 0 >"$T/replay" 2>"$T/replay.err" || t_fail "replay failed: $(cat "$T/replay.err")"
	n=$(count_alerts sla.breached "$k1" <"$T/replay")
	[ "$n" -ge 1 ] && break
	sleep 0.1
done
[ "$n" = 1 ] || t_fail "no sla.breached for $k1 within 20 s:$(printf '\n'; cat "$T/replay")"
[ "$(alert_field sla.breached due_at <"$T/replay")" = "$due1" ] ||
	t_fail "breach due_at is not $due1:$(printf '\n'; cat "$T/replay")"
[ "$(alert_field sla.breached goal_s <"$T/replay")" = 1 ] ||
	t_fail "breach goal_s is not 1:$(printf '\n'; cat "$T/replay")"

# The same through the publish socket, as a subscriber sees it.
timeout 20 "$HANDOFFCTL" -e "$CTL" tail sla. --from "$PUB" --since 0 \
	--count 1 >"$T/tail" 2>"$T/tail.err" ||
	t_fail "tail: $(cat "$T/tail.err")"
[ "$(count_alerts sla.breached "$k1" <"$T/tail")" = 1 ] ||
	t_fail "tail did not print the breach: $(cat "$T/tail")"

# Past L2's due time (plus a margin of a few wake-ups): still no alert for
# L2, and no second one for L1.
while [ "$(date -u +%s)" -le $((due2_s + 2)) ]; do
	sleep 0.2
done
t_ctl replay --since 0 >"$T/replay" 2>"$T/replay.err" || t_fail "replay failed: $(cat "$T/replay.err")"
for type in sla.warning sla.breached sla.escalated sla.resolved sla.retracted; do
	[ "$(count_alerts "$type" "$k2" <"$T/replay")" = 0 ] ||
		t_fail "$type for $k2, whose stop came in time:$(printf '\n'; cat "$T/replay")"
done
[ "$(count_alerts sla.breached "$k1" <"$T/replay")" = 1 ] ||
	t_fail "more than one sla.breached for $k1:$(printf '\n'; cat "$T/replay")"
[ "$(grep -c . "$T/replay")" = 1 ] ||
	t_fail "expected exactly one message:$(printf '\n'; cat "$T/replay")"
[ "$(t_sql "SELECT state FROM sla_cycles WHERE lead_id = (SELECT id FROM leads WHERE lead_key = '$k2')")" = met ] ||
	t_fail "$k2's cycle is not met"
[ "$(t_sql "SELECT state FROM sla_cycles WHERE lead_id = (SELECT id FROM leads WHERE lead_key = '$k1')")" = breached ] ||
	t_fail "$k1's cycle is not breached"

t_stop
t_pass
