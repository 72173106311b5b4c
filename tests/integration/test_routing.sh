#!/bin/bash
# Routing across restarts and reloads (SPEC §4), with the real daemon:
#   - the round-robin rotation is stored: after a restart the next lead
#     goes to the rep whose turn it is, not back to the first;
#   - a reload that sets a rep away moves their open, unaccepted MQLs to
#     the next rep (handoff.reassigned, why rep_away), and leaves accepted
#     ones alone;
#   - with every rep away, a new MQL waits (no_capacity), and so do the
#     open MQLs of the reps just set away (unassigned: nobody can take
#     them); a reload that brings a rep back assigns them all, oldest
#     first;
#   - sticky_domain holds for a lead that waited: once its domain's owner
#     is back it goes to them, not to the rep whose turn it is.
# Event clock: each send is followed by what the daemon published.
source "$(dirname "$0")/lib.sh"

# handoff.* and reconcile.conflict messages of the replay, one line each.
handoffs() {
	t_ctl replay --since 0 >"$T/replay" 2>"$T/replay.err" ||
		t_fail "replay failed: $(cat "$T/replay.err")"
	/usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    t = m.get("type", "")
    if t == "handoff.assigned":
        print(t, m["lead_key"], m["owner"], m["team"])
    elif t == "handoff.reassigned":
        print(t, m["lead_key"], m["from"], m["to"], m["why"])
    elif t == "reconcile.conflict":
        print(t, m["kind"], ",".join(m["lead_keys"]))' <"$T/replay"
}

conf() {
	local ana=${1:-false} bo=${2:-false} cy=${3:-false}
	t_config "
clock = { mode = \"event\"; lateness = \"0s\"; };
reconcile = { unmatched_grace = \"5m\"; };
calendars = ({ name = \"always\"; timezone = \"UTC\"; hours = \"24x7\"; });
teams = ({ name = \"smb\"; calendar = \"always\";
  reps = ( { id = \"ana\"; away = $ana; }, { id = \"bo\"; away = $bo; },
           { id = \"cy\"; away = $cy; } ); });
routing = { rules = ({ name = \"all\"; team = \"smb\"; });
  sticky_domain = ${STICKY:-false}; };
sla = { clocks = (
  { name = \"accept\"; start = [\"lead.qualified\"]; stop = [\"sales.accepted\"];
    goal = \"4h\"; calendar = \"team\"; }
); };"
}

n=0
send() { # type minute [lead-id [email] | lead_key]
	n=$((n + 1))
	local at="2026-03-02T10:$2:00Z"
	case $1 in
	q) echo "{\"v\":1,\"id\":\"e$n\",\"source\":\"hubspot\",\"type\":\"lead.qualified\",\"occurred_at\":\"$at\",\"lead\":{\"id\":\"$3\",\"email\":\"${4:-$3@x$n.example}\"}}" ;;
	a) echo "{\"v\":1,\"id\":\"e$n\",\"source\":\"crm\",\"type\":\"sales.accepted\",\"occurred_at\":\"$at\",\"lead_ref\":{\"lead_key\":\"$3\"}}" ;;
	t) echo "{\"v\":1,\"id\":\"e$n\",\"source\":\"clock\",\"type\":\"clock.tick\",\"occurred_at\":\"$at\"}" ;;
	esac >"$T/ev.jsonl"
	out=$("$HANDOFFCTL" send --window 1 --to "$ROUTER" "$T/ev.jsonl") ||
		t_fail "send $1 $3: $out"
}

expect() {
	local got
	got=$(handoffs)
	[ "$got" = "$1" ] || t_fail "published:
$got
want:
$1"
}

t_init handoff_routing
conf
t_start
send q 01 H1
send q 02 H2
expect "handoff.assigned L1 ana smb
handoff.assigned L2 bo smb"

# Restart: cy's turn is kept.
t_stop
t_start
send q 03 H3
send q 04 H4
send a 05 L4
expect "handoff.assigned L1 ana smb
handoff.assigned L2 bo smb
handoff.assigned L3 cy smb
handoff.assigned L4 ana smb"
[ "$(t_sql "SELECT count(*) FROM routing_rotation WHERE team = 'smb'")" = 3 ] ||
	t_fail "the rotation is not stored"

# ana goes away: L1 (open MQL) moves on at the next batch, L4 (accepted)
# stays.
conf true false false
t_ctl reload >/dev/null || t_fail "reload failed"
send t 06
expect "handoff.assigned L1 ana smb
handoff.assigned L2 bo smb
handoff.assigned L3 cy smb
handoff.assigned L4 ana smb
handoff.reassigned L1 ana bo rep_away"
[ "$(t_sql "SELECT owner FROM leads WHERE lead_key = 'L4'")" = ana ] ||
	t_fail "the accepted lead L4 moved"
[ "$(t_sql "SELECT owner FROM leads WHERE lead_key = 'L1'")" = bo ] ||
	t_fail "L1 is not bo's"

# Everyone away: L5 waits, and so do bo's and cy's open MQLs; bo comes
# back: they are all assigned at once.
conf true true true
t_ctl reload >/dev/null || t_fail "reload failed"
send q 07 H5
[ "$(t_sql "SELECT team || ' ' || (owner IS NULL) FROM leads WHERE lead_key = 'L5'")" = "smb true" ] ||
	t_fail "L5 is not waiting in team smb: $(t_sql "SELECT team, owner FROM leads WHERE lead_key = 'L5'")"
[ "$(t_sql "SELECT count(*) FROM sla_cycles c JOIN leads l ON l.id = c.lead_id WHERE l.lead_key = 'L5' AND c.state = 'running'")" = 1 ] ||
	t_fail "L5's clock does not run while it waits"
conf true false true
t_ctl reload >/dev/null || t_fail "reload failed"
send t 08
expect "handoff.assigned L1 ana smb
handoff.assigned L2 bo smb
handoff.assigned L3 cy smb
handoff.assigned L4 ana smb
handoff.reassigned L1 ana bo rep_away
reconcile.conflict no_capacity L5
reconcile.conflict no_capacity L1
reconcile.conflict no_capacity L2
reconcile.conflict no_capacity L3
handoff.assigned L1 bo smb
handoff.assigned L2 bo smb
handoff.assigned L3 bo smb
handoff.assigned L5 bo smb"
[ "$(t_sql "SELECT count(*) FROM routing_waiting")" = 0 ] ||
	t_fail "routing_waiting is not empty"

t_stop

# sticky_domain and a waiting lead: L1 (acme) goes to ana and is accepted
# (so it stays hers while she is away); with everyone away L2 (acme too)
# waits; when both come back it is bo's turn, but L2 goes to ana.
STICKY=true
t_init handoff_routing_sticky
n=100
conf false false true
t_start
send q 10 H1 h1@acme.example
send a 11 L1
conf true true true
t_ctl reload >/dev/null || t_fail "reload failed"
send q 12 H2 h2@acme.example
conf false false true
t_ctl reload >/dev/null || t_fail "reload failed"
send t 13
expect "handoff.assigned L1 ana smb
reconcile.conflict no_capacity L2
handoff.assigned L2 ana smb"
send q 14 H3 h3@other.example
expect "handoff.assigned L1 ana smb
reconcile.conflict no_capacity L2
handoff.assigned L2 ana smb
handoff.assigned L3 bo smb"
t_stop
t_pass
