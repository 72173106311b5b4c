#!/bin/bash
# The batch transaction writes only what changed and reads only through
# indexes (SPEC §5, §6.4, §6.5):
#
# - the same events, sent once shuffled and one event a batch (so that each
#   lead's stage history and SLA cycles are rewritten again and again, by
#   events older and newer than what is stored), and once in time order in
#   large batches (each lead created and folded whole in few batches), leave
#   the same leads, stage history, deals and SLA cycles (their times: the
#   state of an open cycle depends on the clock when it was last folded);
#   the stage history is written as differences from the stored rows,
#   which this compares with the history written whole;
# - leads whose profile_at is in the layout of earlier versions (one
#   [at, source, event_id] per field instead of the fields grouped by the
#   event that set them) merge later events exactly as rewritten ones do;
# - the daemon's session reads no table of the schema sequentially, however
#   stale the planner's statistics are (the tables grow from empty here).
source "$(dirname "$0")/lib.sh"

# Writes the events of 60 leads to DIR/shuffled.jsonl and, sorted by time,
# DIR/ordered.jsonl, and prints their number: each lead's lifecycle
# (qualification, acceptance or rejection, touches, recycling and
# requalification, deals) at times that interleave with the others', and
# sales events that name the lead by email, so that in shuffled order many
# of them wait for their lead.
gen_events() { # DIR
	/usr/bin/python3 - "$1" <<'PY'
import json, random, sys
rnd = random.Random(7)
events = []
def ev(i, source, typ, t, **kw):
    body = {"v": 1, "id": "%s-%d" % (typ.replace(".", "-"), i),
            "source": source, "type": typ,
            "occurred_at": "2026-03-%02dT%02d:%02d:%02dZ" % (2 + t // 86400,
                t // 3600 % 24, t // 60 % 60, t % 60)}
    body.update(kw)
    events.append(body)
n = 0
for k in range(60):
    lead = {"id": "M%d" % k, "email": "Person%d@Example.com" % k}
    ref = {"email": "person%d@example.com" % k}
    t = rnd.randrange(0, 3600)
    def step():
        global t
        t += rnd.randrange(60, 4 * 3600)
        return t
    n += 1
    ev(n, "marketo", "lead.upserted", t, lead=dict(lead, country="DE",
       segment=rnd.choice(["smb", "enterprise"]), score=rnd.randrange(100)))
    for p in range(rnd.randrange(1, 4)):
        n += 1
        ev(n, "marketo", "lead.qualified", step(), lead=dict(lead,
           score=rnd.randrange(100)), reason="score")
        r = rnd.random()
        if r < 0.6:
            n += 1
            ev(n, "salesforce", "sales.accepted", step(), lead_ref=ref,
               owner="rep%d@corp.example" % rnd.randrange(4))
            for _ in range(rnd.randrange(3)):
                n += 1
                ev(n, "salesforce", "sales.activity", step(), lead_ref=ref,
                   channel="call", outcome=rnd.choice(["attempted", "connected"]))
            if rnd.random() < 0.5:
                n += 1
                deal = "D%d-%d" % (k, p)
                ev(n, "salesforce", "deal.opened", step(), lead_ref=ref,
                   deal={"id": deal, "amount": 1000 + k, "stage": "discovery"})
                n += 1
                ev(n, "salesforce", "deal.closed", step(),
                   deal={"id": deal, "outcome": rnd.choice(["won", "lost"])})
                break
        elif r < 0.8:
            n += 1
            ev(n, "salesforce", "sales.rejected", step(), lead_ref=ref,
               reason="no budget")
        n += 1
        ev(n, "marketo", "lead.recycled", step(), lead={"id": lead["id"]},
           reason="not now")
    if rnd.random() < 0.2:
        n += 1
        ev(n, "marketo", "lead.disqualified", step(), lead={"id": lead["id"]},
           reason="competitor")
shuffled = list(events)
rnd.shuffle(shuffled)
events.sort(key=lambda e: e["occurred_at"])
base = sys.argv[1]
for name, evs in (("shuffled", shuffled), ("ordered", events)):
    with open("%s/%s.jsonl" % (base, name), "w") as f:
        for e in evs:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
print(len(events))
PY
}

CONF='
clock = { mode = "event"; lateness = "0s"; };
reconcile = { unmatched_grace = "5m"; };
calendars = ({ name = "always"; timezone = "UTC"; hours = "24x7"; });
sla = { clocks = (
  { name = "accept"; start = ["lead.qualified"];
    stop = ["sales.accepted", "sales.rejected"];
    cancel = ["lead.recycled", "lead.disqualified"];
    goal = "2h"; calendar = "always"; warn_at = [0.5]; },
  { name = "touch"; start = ["sales.accepted"]; stop = ["sales.activity"];
    cancel = ["lead.recycled", "sales.rejected"];
    goal = "4h"; calendar = "always"; }
); };'

# The tables that a batch must never read sequentially, with their count
# of sequential scans so far.
TABLES="'events','leads','lead_identities','lead_log','stage_history',
'deals','deal_history','pending_events','sla_cycles','outbox'"
seq_scans() {
	t_sql "SELECT string_agg(relname || '=' || seq_scan, ' ' ORDER BY relname)
	    FROM pg_stat_user_tables WHERE relname IN ($TABLES)"
}

# Waits until no backend serves a connection to the test database: a
# backend reports its table statistics when it ends, which may be a moment
# after its client has gone.
backends_gone() {
	for _ in $(seq 1 100); do
		[ "$(t_sql "SELECT count(*) FROM pg_stat_activity
		    WHERE datname = current_database() AND pid <> pg_backend_pid()")" = 0 ] &&
			return 0
		sleep 0.1
	done
	t_fail "the daemon's database session did not end"
}

# profile_at in the older layout, {field: [at, source, event_id]}, from
# either layout.
OLD_AT="CASE WHEN profile_at ? 'stamps' THEN (SELECT coalesce(
    jsonb_object_agg(f.v, jsonb_build_array(g->0, g->1, g->2)), '{}')
    FROM jsonb_array_elements(profile_at->'stamps') g,
    jsonb_array_elements_text(g) WITH ORDINALITY f(v, i) WHERE f.i > 3)
    ELSE profile_at END"

# The state the events leave, with leads named by their marketing id (the
# ids and keys the daemon gives depend on the order of creation).
dump_state() { # FILE
	t_sql "SELECT string_agg(x, E'\n' ORDER BY x) FROM (
	    SELECT concat_ws(' ', 'lead', l.mkt_id, l.stage, l.pass, l.stages,
	        l.owner, l.touches, l.first_touch_at, l.connected_at,
	        l.first_seen, l.profile, $OLD_AT) AS x FROM leads l
	    UNION ALL SELECT concat_ws(' ', 'hist', l.mkt_id, h.pass, h.stage,
	        h.entered_at, h.source, h.event_id)
	    FROM stage_history h JOIN leads l ON l.id = h.lead_id
	    UNION ALL SELECT concat_ws(' ', 'cycle', l.mkt_id, c.clock, c.cycle,
	        c.started_at, c.stopped_at, c.due_at, c.goal_s, c.calendar)
	    FROM sla_cycles c JOIN leads l ON l.id = c.lead_id
	    UNION ALL SELECT concat_ws(' ', 'deal', d.deal_id, l.mkt_id,
	        d.stage, d.outcome, d.amount) FROM deals d
	    JOIN leads l ON l.id = d.lead_id) s" >"$1"
}

# Sends FILE through the acknowledged endpoint, WINDOW events in flight, to
# a fresh database NAME, checks that the daemon read none of $TABLES
# sequentially, and writes the state to $W/NAME.state.
run() { # NAME FILE WINDOW
	local out n before after
	t_init "$1"
	t_config "$CONF"
	# The migrations run first, in a process of their own: an UPDATE of
	# migration 004 reads the (empty) deals table whole, and only the
	# batches are under test.
	"$HANDOFFD" -c "$T/handoffd.conf" --migrate 2>>"$LOG" ||
		t_fail "handoffd --migrate failed"
	backends_gone
	before=$(seq_scans)
	t_start
	n=$(wc -l <"$2")
	out=$("$HANDOFFCTL" -t 30 send --window "$3" --max-tries 5 --to "$ROUTER" "$2") ||
		t_fail "send $2: $out"
	[ "$out" = "accepted $n, duplicate 0, rejected 0, invalid 0" ] ||
		t_fail "send $2 printed: $out"
	t_stop
	backends_gone
	after=$(seq_scans)
	[ "$after" = "$before" ] ||
		t_fail "$1: tables read sequentially: before '$before', after '$after'"
	dump_state "$W/$1.state"
	rm -rf "$T"
	T=""
}

W=$(mktemp -d /tmp/handoff-test-bw.XXXXXX)
trap 't_cleanup; rm -rf "$W"' EXIT
n=$(gen_events "$W")
[ "$n" -gt 300 ] || t_fail "only $n events generated"

run handoff_t_bw_shuffled "$W/shuffled.jsonl" 1
run handoff_t_bw_ordered "$W/ordered.jsonl" 1000
a="$W/handoff_t_bw_ordered.state"
b="$W/handoff_t_bw_shuffled.state"

# The first half of the shuffled events, the stored profiles turned into
# the older layout, then the second half.
t_init handoff_t_bw_old_layout
t_config "$CONF"
t_start
half=$(( n / 2 ))
head -n "$half" "$W/shuffled.jsonl" >"$W/first.jsonl"
tail -n +"$(( half + 1 ))" "$W/shuffled.jsonl" >"$W/second.jsonl"
out=$("$HANDOFFCTL" -t 30 send --window 50 --to "$ROUTER" "$W/first.jsonl") ||
	t_fail "send first half: $out"
t_stop
[ "$(t_sql "SELECT count(*) FROM leads WHERE profile_at ? 'stamps'
    AND profile_at->'stamps' <> '[]'")" -gt 20 ] ||
	t_fail "the first half stored no profile in the grouped layout"
t_sql "UPDATE leads SET profile_at = $OLD_AT" >/dev/null
t_start
out=$("$HANDOFFCTL" -t 30 send --window 50 --to "$ROUTER" "$W/second.jsonl") ||
	t_fail "send second half: $out"
t_stop
[ "$(t_sql "SELECT count(*) FROM leads WHERE NOT profile_at ? 'stamps'")" -gt 0 ] ||
	t_fail "no lead kept the older layout (the check below means nothing)"
dump_state "$W/old_layout.state"
diff -u "$a" "$W/old_layout.state" >"$W/diff" ||
	t_fail "leads stored in the older profile_at layout merged differently:
$(head -n 40 "$W/diff")"

# The comparison means something only if the events moved the leads.
grep -q '^hist [^ ]* [0-9]* sal ' "$a" || t_fail "no lead reached sal"
grep -q '^hist [^ ]* 2 mql ' "$a" || t_fail "no lead was requalified"
grep -q '^cycle [^ ]* touch ' "$a" || t_fail "no touch cycle"
grep -q '^deal ' "$a" || t_fail "no deal"
diff -u "$a" "$b" >"$W/diff" ||
	t_fail "shuffled one event a batch differs from ordered in large batches:
$(head -n 40 "$W/diff")"
t_pass
