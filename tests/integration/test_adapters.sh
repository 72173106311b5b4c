#!/bin/bash
# The README's adapter examples (proto/adapters/) against the real daemon:
# the producer's events are acknowledged (accepted, then duplicate when
# sent again), and the subscriber prints the hand-off messages they cause.
source "$(dirname "$0")/lib.sh"

t_init handoff_adapters
t_config '
clock = { mode = "event"; lateness = "0s"; };
calendars = ({ name = "always"; timezone = "UTC"; hours = "24x7"; });
teams = ({ name = "smb"; calendar = "always"; reps = ( { id = "ana"; } ); });
routing = { rules = ({ name = "all"; team = "smb"; }); };'
t_start
ADAPTERS="$HANDOFF_SOURCE_DIR/proto/adapters"

/usr/bin/python3 "$ADAPTERS/subscriber.py" "$PUB" "$CTL" handoff. >"$T/sub.out" 2>"$T/sub.err" &
SUBPID=$!
trap 'kill $SUBPID 2>/dev/null || true; t_cleanup' EXIT
# The subscription is in place once a heartbeat got through (one a second).
sleep 2.5
kill -0 $SUBPID || t_fail "subscriber died: $(cat "$T/sub.err")"

cat >"$T/events.jsonl" <<'EOF'
{"v":1,"id":"q1","source":"hubspot","type":"lead.qualified","occurred_at":"2026-03-02T10:00:00Z","lead":{"id":"H1","email":"kim@acme.example"}}
{"v":1,"id":"r1","source":"crm","type":"sales.rejected","occurred_at":"2026-03-02T11:00:00Z","lead_ref":{"email":"kim@acme.example"},"reason":"no budget"}
EOF
out=$(/usr/bin/python3 "$ADAPTERS/producer.py" "$ROUTER" <"$T/events.jsonl") ||
	t_fail "producer failed: $out"
[ "$out" = "accepted hubspot q1 
accepted crm r1 " ] || t_fail "producer printed: $out"
out=$(/usr/bin/python3 "$ADAPTERS/producer.py" "$ROUTER" <"$T/events.jsonl") ||
	t_fail "producer failed: $out"
[ "$out" = "duplicate hubspot q1 
duplicate crm r1 " ] || t_fail "producer printed on resend: $out"

for _ in $(seq 1 100); do
	[ "$(wc -l <"$T/sub.out")" -ge 2 ] && break
	sleep 0.1
done
got=$(/usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    print(m["seq"], m["type"], m["lead_key"], m.get("owner") or m.get("by"))' <"$T/sub.out")
[ "$got" = "1 handoff.assigned L1 ana
2 handoff.recycled L1 ana" ] || t_fail "subscriber printed: $got ($(cat "$T/sub.err"))"

kill $SUBPID
t_stop
t_pass
