#!/bin/bash
# handoffctl simulate against a real daemon in event time: one simulated
# day (the example configuration's teams, routing rules and SLA clocks)
# goes through the acknowledged endpoint; every event must be accepted, every
# person must be a lead in the database, every MQL handed off, and the SLA
# clocks must have published alerts. The same simulation again is all
# duplicates. `tail --brief` shows the hand-offs one line each.
source "$(dirname "$0")/lib.sh"

t_init test_simulate
t_config '
clock = { mode = "event"; lateness = "60s"; };
calendars = (
  { name = "emea"; timezone = "Europe/London";
    hours = { mon = "09:00-17:30"; tue = "09:00-17:30"; wed = "09:00-17:30";
              thu = "09:00-17:30"; fri = "09:00-12:00,13:00-16:00"; }; }
);
teams = (
  { name = "emea-smb"; calendar = "emea"; manager = "maria@corp.example";
    reps = ( { id = "ana@corp.example"; weight = 2; },
             { id = "bo@corp.example"; },
             { id = "cy@corp.example"; away = true; } ); },
  { name = "emea-ent"; calendar = "emea"; manager = "maria@corp.example";
    reps = ( { id = "dev@corp.example"; }, { id = "eli@corp.example"; } ); }
);
routing = {
  rules = (
    { name = "enterprise"; segment = ["enterprise"]; team = "emea-ent"; },
    { name = "uk-de"; country = ["GB", "DE"]; min_score = 50; team = "emea-smb"; },
    { name = "fallback"; team = "emea-smb"; }
  );
  sticky_domain = true;
  free_mail_domains = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com"];
};
sla = {
  clocks = (
    { name = "mql_acceptance";
      start = ["lead.qualified"]; stop = ["sales.accepted", "sales.rejected"];
      cancel = ["lead.recycled", "lead.disqualified"];
      goal = "4h"; goal_by_segment = { enterprise = "1h"; };
      calendar = "team"; warn_at = [0.5, 0.75];
      escalate = ( { after = "30m"; to = "manager"; } ); },
    { name = "first_touch";
      start = ["sales.accepted"]; stop = ["sales.activity"];
      cancel = ["lead.recycled", "lead.disqualified", "sales.rejected"];
      goal = "8h"; calendar = "team"; }
  );
};
'
t_start

conf="$T/handoffd.conf"
sim=(simulate --start 2026-11-24 --days 1 --seed 7)

# What will be sent: the same stream, printed.
"$HANDOFFCTL" -c "$conf" "${sim[@]}" --dry-run >"$T/events.jsonl" 2>"$T/dry.txt" ||
	t_fail "simulate --dry-run failed: $(cat "$T/dry.txt")"
total=$(wc -l <"$T/events.jsonl")
grep -q ": $total events" "$T/dry.txt" || t_fail "dry-run summary does not count $total events: $(cat "$T/dry.txt")"
read -r persons mqls ticks <<<"$(/usr/bin/python3 - "$T/events.jsonl" <<'PY'
import json, sys
emails, ids, mql, ticks = set(), {}, set(), 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "lead.upserted" and "email" in e["lead"]:
        m = e["lead"]["email"].strip().lower()
        emails.add(m)
        ids[e["lead"]["id"]] = m
    elif e["type"] == "lead.qualified":
        mql.add(ids[e["lead"]["id"]])
    elif e["type"] == "clock.tick":
        ticks += 1
print(len(emails), len(mql), ticks)
PY
)"
[ "$total" -gt 300 ] || t_fail "a simulated day has only $total events"
[ "$ticks" = 288 ] || t_fail "a day has $ticks clock.tick events, want 288 (every 5 minutes)"
[ "$mqls" -gt 20 ] || t_fail "only $mqls MQLs in a simulated day"

# The real thing, through the acknowledged endpoint.
"$HANDOFFCTL" -c "$conf" -e "$CTL" "${sim[@]}" --to "$ROUTER" >"$T/out.txt" 2>"$T/err.txt" ||
	t_fail "simulate failed: $(cat "$T/out.txt" "$T/err.txt")"
grep -q "^accepted $total, duplicate 0, rejected 0, invalid 0$" "$T/out.txt" ||
	t_fail "not every event was accepted: $(cat "$T/out.txt")"
grep -q "simulated 2026-11-24T00:00:00Z to 2026-11-25T00:00:00Z (1 day in Europe/London, seed 7" "$T/out.txt" ||
	t_fail "unexpected summary: $(cat "$T/out.txt")"
grep -Eq '^  lead\.qualified +'"$(grep -c '"type":"lead.qualified"' "$T/events.jsonl")"'$' "$T/out.txt" ||
	t_fail "the summary does not count the lead.qualified events: $(cat "$T/out.txt")"

# Every person is one lead; every MQL was handed off. Each event was
# acknowledged after its commit, so all of it is in the database now.
[ "$(t_sql "SELECT count(*) FROM events")" = "$total" ] ||
	t_fail "events stored: $(t_sql "SELECT count(*) FROM events"), want $total"
leads=$(t_sql "SELECT count(*) FROM leads")
[ "$leads" = "$persons" ] || t_fail "$leads leads in the database, want $persons people"
passed_mql=$(t_sql "SELECT count(*) FROM leads WHERE stages ? 'mql'")
[ "$passed_mql" = "$mqls" ] || t_fail "$passed_mql leads became MQLs, want $mqls"

t_ctl replay --since 0 >"$T/published.jsonl" 2>/dev/null || t_fail "replay failed"
count() { grep -c "\"type\":\"$1\"" "$T/published.jsonl" || true; }
assigned=$(count handoff.assigned)
[ "$assigned" = "$mqls" ] || t_fail "$assigned handoff.assigned for $mqls MQLs"
for type in sla.warning sla.breached sla.escalated handoff.recycled; do
	[ "$(count "$type")" -gt 0 ] || t_fail "no $type published in a simulated day"
done

# The same simulation again: every event is a duplicate.
"$HANDOFFCTL" -c "$conf" -e "$CTL" "${sim[@]}" --to "$ROUTER" >"$T/again.txt" 2>&1 ||
	t_fail "second simulate failed: $(cat "$T/again.txt")"
grep -q "^accepted 0, duplicate $total, rejected 0, invalid 0$" "$T/again.txt" ||
	t_fail "the second run is not all duplicates: $(cat "$T/again.txt")"

# tail --brief: one line a message, with its seq, type and lead.
t_ctl tail --brief --from "$PUB" --since 0 --count 40 >"$T/brief.txt" 2>&1 ||
	t_fail "tail --brief failed: $(cat "$T/brief.txt")"
[ "$(wc -l <"$T/brief.txt")" = 40 ] || t_fail "tail --brief --count 40 printed $(wc -l <"$T/brief.txt") lines"
grep -Eq '^#1 +handoff\.assigned +L[0-9]+ .* -> [a-z]+@corp\.example/emea-(smb|ent) by rule [a-z-]+' "$T/brief.txt" ||
	t_fail "tail --brief: unexpected first line: $(head -n 1 "$T/brief.txt")"
if grep -q '^{' "$T/brief.txt"; then
	t_fail "tail --brief printed JSON: $(grep '^{' "$T/brief.txt" | head -n 1)"
fi

t_stop
t_pass
