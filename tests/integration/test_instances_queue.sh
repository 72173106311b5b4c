#!/bin/bash
# Several daemons on one database (SPEC §5) share the routing queue: a lead
# one daemon queued for want of capacity is handed off by the other as
# soon as a rep has room in one of its batches, though that batch has no
# lead of its own to route.
#
# One rep with capacity 1. Daemon B commits a batch first (and so has seen
# the queue empty). Daemon A gets two MQLs: the first goes to ana, the
# second waits (no_capacity). Then B gets ana's rejection of the first,
# which frees her capacity: B's batch must hand the waiting lead to her.
source "$(dirname "$0")/lib.sh"

t_init handoff_instances_queue
t_config '
clock = { mode = "event"; lateness = "0s"; };
reconcile = { unmatched_grace = "5m"; };
calendars = ({ name = "always"; timezone = "UTC"; hours = "24x7"; });
teams = ({ name = "smb"; calendar = "always";
  reps = ( { id = "ana"; capacity = 1; } ); });
routing = { rules = ({ name = "all"; team = "smb"; }); sticky_domain = false; };'
t_start
t_start_second

send_to() { # endpoint, then the events, one a line
	local to=$1 out
	shift
	printf '%s\n' "$@" >"$T/send.jsonl"
	out=$("$HANDOFFCTL" -t 30 send --to "$to" "$T/send.jsonl") ||
		t_fail "send to $to: $out"
	[ "$out" = "accepted $#, duplicate 0, rejected 0, invalid 0" ] ||
		t_fail "send to $to: $out"
}
assigned() { # marketing id: the owner its handoff.assigned named
	t_sql "SELECT o.body::jsonb->>'owner' FROM outbox o
	       WHERE o.type = 'handoff.assigned'
	       AND o.body::jsonb->'lead'->>'id' = '$1'"
}

send_to "$B_ROUTER" \
	'{"v":1,"id":"e1","source":"mkto","type":"lead.upserted","occurred_at":"2026-03-02T10:00:00Z","lead":{"id":"M0","email":"m0@x.example"}}'
send_to "$ROUTER" \
	'{"v":1,"id":"e2","source":"mkto","type":"lead.qualified","occurred_at":"2026-03-02T10:01:00Z","lead":{"id":"M1","email":"m1@x.example"}}' \
	'{"v":1,"id":"e3","source":"mkto","type":"lead.qualified","occurred_at":"2026-03-02T10:02:00Z","lead":{"id":"M2","email":"m2@x.example"}}'
[ "$(assigned M1)" = ana ] || t_fail "M1 was not handed to ana: '$(assigned M1)'"
[ "$(assigned M2)" = "" ] || t_fail "M2 was handed off with ana full"
[ "$(t_sql "SELECT count(*) FROM routing_waiting")" = 1 ] ||
	t_fail "M2 does not wait in routing_waiting"

send_to "$B_ROUTER" \
	'{"v":1,"id":"s1","source":"crm","type":"sales.rejected","occurred_at":"2026-03-02T10:03:00Z","lead_ref":{"email":"m1@x.example"},"reason":"no budget"}'
[ "$(assigned M2)" = ana ] ||
	t_fail "the second daemon left M2 waiting after ana had room: '$(assigned M2)'"
[ "$(t_sql "SELECT count(*) FROM routing_waiting")" = 0 ] ||
	t_fail "routing_waiting still holds a lead"

t_stop_second
t_stop
t_pass
