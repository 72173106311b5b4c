#!/bin/bash
# Several daemons on one database (SPEC §5): two handoffd share a database
# and each gets every other line of one file of events, sent at the same
# time, so that both work on the same leads at once. A single daemon gets
# the same file in a database of its own. Then:
#   - every event is stored once, and the outbox is numbered without a gap;
#   - no SLA alert went out twice for one cycle;
#   - the leads, their stage history and their identities are those the
#     single daemon made (lead keys aside: they number leads in the order
#     they were created);
#   - the locked rotation dealt the hand-offs of both daemons in turn: as
#     many as the single daemon made, and the two reps' shares within one.
source "$(dirname "$0")/lib.sh"

N=8000
SETTINGS='
clock = { mode = "event"; lateness = "0s"; };
reconcile = { unmatched_grace = "5m"; };
calendars = ({ name = "always"; timezone = "UTC"; hours = "24x7"; });
teams = ({ name = "smb"; calendar = "always";
  reps = ( { id = "ana"; }, { id = "bo"; } ); });
routing = { rules = ({ name = "all"; team = "smb"; }); sticky_domain = false; };
sla = { clocks = (
  { name = "accept"; start = ["lead.qualified"]; stop = ["sales.accepted"];
    goal = "4h"; warn_at = [0.5]; calendar = "team"; }
); };'

# The state to compare, keyed by what does not depend on creation order.
state() {
	psql "$1" -v ON_ERROR_STOP=1 -qAt <<'SQL'
SELECT 'lead', source, mkt_id, email_norm, stage, pass, stages::text,
       profile::text, touches, first_seen, first_touch_at, connected_at
FROM leads ORDER BY source, mkt_id;
SELECT 'hist', l.source, l.mkt_id, h.pass, h.stage, h.entered_at
FROM stage_history h JOIN leads l ON l.id = h.lead_id
ORDER BY 2, 3, 4, 5;
SELECT 'ident', i.kind, i.value, l.source, l.mkt_id
FROM lead_identities i JOIN leads l ON l.id = i.lead_id ORDER BY 2, 3, 4, 5;
SELECT 'deal', d.source, d.deal_id, l.source, l.mkt_id, d.stage
FROM deals d JOIN leads l ON l.id = d.lead_id ORDER BY 2, 3;
SELECT 'pending', source, event_id FROM pending_events ORDER BY 2, 3;
SELECT 'assigned', count(*) FROM outbox WHERE type = 'handoff.assigned';
SQL
}

t_init handoff_instances
t_gen_events "$N" "$T/events.jsonl" inst
awk 'NR % 2 == 1' "$T/events.jsonl" >"$T/odd.jsonl"
awk 'NR % 2 == 0' "$T/events.jsonl" >"$T/even.jsonl"

# ---- the single daemon, on a database of its own
t_psql_admin -c "DROP DATABASE IF EXISTS handoff_instances_ref WITH (FORCE)" \
	-c "CREATE DATABASE handoff_instances_ref" >/dev/null
SHARED=$CONNINFO
CONNINFO="$(cat "$HANDOFF_TEST_PGSTATE/conninfo") dbname=handoff_instances_ref"
REF=$CONNINFO
t_config "$SETTINGS"
t_start
out=$("$HANDOFFCTL" -t 30 send --to "$ROUTER" "$T/events.jsonl") ||
	t_fail "send to the single daemon: $out"
t_stop
state "$REF" >"$T/ref.state"

# ---- two daemons on the shared database
CONNINFO=$SHARED
t_config "$SETTINGS"
t_start
t_start_second

"$HANDOFFCTL" -t 30 send --to "$ROUTER" "$T/odd.jsonl" >"$T/a.out" 2>&1 &
SA=$!
"$HANDOFFCTL" -t 30 send --to "$B_ROUTER" "$T/even.jsonl" >"$T/b.out" 2>&1 &
SB=$!
wait "$SA" || t_fail "send to the first daemon: $(cat "$T/a.out")"
wait "$SB" || t_fail "send to the second daemon: $(cat "$T/b.out")"

t_stop_second
t_stop
# Each recorded what it published, and the records merged into one range.
t_check_recorded
grep -q "^accepted $(( (N + 1) / 2 )), duplicate 0, rejected 0" "$T/a.out" ||
	t_fail "first sender: $(cat "$T/a.out")"
grep -q "^accepted $((N / 2)), duplicate 0, rejected 0" "$T/b.out" ||
	t_fail "second sender: $(cat "$T/b.out")"

# Every event once; one gapless numbering of the outbox.
[ "$(t_sql "SELECT count(*) FROM events")" = "$N" ] ||
	t_fail "$(t_sql "SELECT count(*) FROM events") events stored, not $N"
[ "$(t_sql "SELECT count(*) = max(seq) AND max(seq) =
    (SELECT last_seq FROM outbox_seq) FROM outbox")" = t ] ||
	t_fail "outbox seq has gaps or disagrees with outbox_seq"

# No alert twice for one cause.
alerts=$(t_sql "SELECT count(*) FROM outbox WHERE type LIKE 'sla.%'")
[ "$alerts" -gt 0 ] || t_fail "no SLA alert at all: the test proves nothing"
twice=$(t_sql "SELECT count(*) FROM (SELECT type, body::jsonb - 'seq' -
    'emitted_at' AS b FROM outbox WHERE type LIKE 'sla.%'
    GROUP BY 1, 2 HAVING count(*) > 1) x")
[ "$twice" = 0 ] || t_fail "$twice SLA alerts published more than once"

# The same reconciled state as one daemon made.
state "$CONNINFO" >"$T/shared.state"
cmp -s "$T/ref.state" "$T/shared.state" || {
	diff "$T/ref.state" "$T/shared.state" | head -n 20 >&2
	t_fail "two daemons left another state than one daemon"
}
[ "$(grep -c '^lead|' "$T/ref.state")" -gt 100 ] ||
	t_fail "too few leads to compare"

# The rotation, shared: ana and bo within one hand-off of each other.
read -r ana bo < <(t_sql "SELECT count(*) FILTER (WHERE body::jsonb->>'owner'
    = 'ana'), count(*) FILTER (WHERE body::jsonb->>'owner' = 'bo')
    FROM outbox WHERE type = 'handoff.assigned'" | tr '|' ' ')
[ $((ana + bo)) -gt 50 ] || t_fail "only $((ana + bo)) hand-offs"
[ $((ana - bo)) -le 1 ] && [ $((bo - ana)) -le 1 ] ||
	t_fail "hand-offs ana $ana, bo $bo: not in turn"

t_psql_admin -c "DROP DATABASE handoff_instances_ref WITH (FORCE)" >/dev/null
t_pass
