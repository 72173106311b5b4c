#!/bin/bash
# The KPI views (sql/006_kpi_views.sql) and the weekly scorecard (SPEC §7):
# a hand-written week of events (tests/report/) goes through the real
# daemon; then
#   1. every kpi_* view must give the counts worked out by hand from the
#      events (in UTC days and weeks, as the views define them);
#   2. `handoffctl report --format json` must give, for the week in the
#      configured zone (Europe/Berlin), the same numbers as queries of the
#      views over that week's range, and the figures worked out by hand;
#   3. the text format must show them;
#   4. the HTML page must be self-contained (nothing fetched), escape the
#      data, and render in headless Chromium to a real image;
#   5. other weeks: the current one (not over), an empty one, and the
#      daemon's refusal of a bad week.
source "$(dirname "$0")/lib.sh"

DATA="$HANDOFF_SOURCE_DIR/tests/report"
failures=0

# check DESC SQL WANT: the query's value (psql -At, rows joined by ';').
check() {
	local desc=$1 sql=$2 want=$3 got
	got=$(t_sql "$sql" | paste -sd ';') || t_fail "$desc: query failed: $sql"
	if [ "$got" != "$want" ]; then
		echo "FAIL: $desc"
		echo "  sql:  $sql"
		echo "  want: $want"
		echo "  got:  $got"
		failures=$((failures + 1))
	fi
}

t_init handoff_report
t_config "$(cat "$DATA/config.conf")"
t_start

n=$(grep -c . "$DATA/events.jsonl")
got=$("$HANDOFFCTL" send --window 1 --to "$ROUTER" "$DATA/events.jsonl") ||
	t_fail "send failed: $got"
[ "$got" = "accepted $n, duplicate 0, rejected 0, invalid 0" ] ||
	t_fail "send printed: $got"
# The last event moves the clock past every deadline; the breach it makes
# due is committed by the daemon on its own, just after.
breached() {
	[ "$(t_sql "SELECT c.state FROM sla_cycles c JOIN leads l ON
	    l.id = c.lead_id WHERE l.email_norm = 'gus@golf.example'
	    AND c.clock = 'first_touch'")" = breached ]
}
t_wait 30 "the breach of gus@golf.example's first touch" breached

# ---- 1. The views, in UTC ----
# UTC week 2026-W48 is 2026-11-23 to 2026-11-30. ada's MQL (2026-11-22
# 23:30Z) falls in W47 there, hal's (2026-11-29 23:30Z) in W48.

check "kpi_leads: all" "SELECT count(*) FROM kpi_leads" 11
check "kpi_leads: created in W48, became MQL" \
	"SELECT count(*) || '|' || count(first_mql_at) FROM kpi_leads
	 WHERE week = '2026-W48'" "9|8"

check "kpi_stage_entries: all" "SELECT count(*) FROM kpi_stage_entries" 39
check "kpi_stage_entries: W48 by stage" \
	"SELECT stage || '=' || count(*) FROM kpi_stage_entries
	 WHERE week = '2026-W48' GROUP BY stage ORDER BY stage" \
	"disqualified=2;lead=9;lost=1;mql=9;recycled=3;sal=4;sql=2;won=1"

check "kpi_mql_passes: all" "SELECT count(*) FROM kpi_mql_passes" 11
check "kpi_mql_passes: a lead recycled and qualified again is two MQLs" \
	"SELECT p.pass || ':' || p.rejected || ':' ||
	 coalesce(p.rejection_reason, '') || ':' || p.accepted || ':' ||
	 coalesce(p.speed_to_lead_s::text, '')
	 FROM kpi_mql_passes p JOIN leads l ON l.id = p.lead_id
	 WHERE l.email_norm = 'dee@delta.example' ORDER BY p.pass" \
	"1:true:no budget:false:;2:false::true:7200"
check "kpi_mql_passes: speed to lead of every touched MQL" \
	"SELECT string_agg(speed_to_lead_s::text, ',' ORDER BY mql_at)
	 FROM kpi_mql_passes" "7200,14400,25200,7200,342000,5400"
check "kpi_mql_passes: day and week are UTC" \
	"SELECT p.day || ' ' || p.week FROM kpi_mql_passes p
	 JOIN leads l ON l.id = p.lead_id WHERE l.email_norm = 'ada@alpha.example'" \
	"2026-11-22 2026-W47"

check "kpi_mql_daily: W48" \
	"SELECT sum(mqls) || '|' || sum(accepted) || '|' || sum(answered) || '|' ||
	 sum(rejected) || '|' || sum(touched) || '|' || sum(reached_sal) || '|' ||
	 sum(reached_sql) || '|' || sum(won)
	 FROM kpi_mql_daily WHERE week = '2026-W48'" "9|5|8|3|4|5|1|0"
check "kpi_mql_daily: W48 by team" \
	"SELECT team || '=' || sum(mqls) FROM kpi_mql_daily
	 WHERE week = '2026-W48' GROUP BY team ORDER BY team" "ent=2;smb=7"

check "kpi_funnel_daily: W48" \
	"SELECT sum(leads) || '|' || sum(mqls) || '|' || sum(sals) || '|' ||
	 sum(sqls) || '|' || sum(won) || '|' || sum(lost) || '|' ||
	 sum(recycled) || '|' || sum(disqualified)
	 FROM kpi_funnel_daily WHERE week = '2026-W48'" "9|9|4|2|1|1|3|2"
check "kpi_funnel_daily: MQLs on the week's edges" \
	"SELECT day || '=' || sum(mqls) FROM kpi_funnel_daily
	 WHERE day IN ('2026-11-22', '2026-11-29') GROUP BY day ORDER BY day" \
	"2026-11-22=1;2026-11-29=1"
check "kpi_funnel_daily: W48 MQLs by campaign" \
	"SELECT campaign || '=' || sum(mqls) FROM kpi_funnel_daily
	 WHERE week = '2026-W48' GROUP BY campaign ORDER BY campaign" \
	"ebook=6;webinar=3"

check "kpi_speed_to_lead_weekly: all" \
	"SELECT week || ' ' || mqls || '|' || touched || '|' || round(median_s) ||
	 '|' || round(p90_s) FROM kpi_speed_to_lead_weekly
	 WHERE dimension = 'all' ORDER BY week" \
	"2026-W47 2|2|10800|13680;2026-W48 9|4|16200|246960"
check "kpi_speed_to_lead_weekly: W48 by team" \
	"SELECT value || ' ' || mqls || '|' || touched || '|' || round(median_s) ||
	 '|' || round(p90_s) FROM kpi_speed_to_lead_weekly
	 WHERE week = '2026-W48' AND dimension = 'team' ORDER BY value" \
	"ent 2|1|25200|25200;smb 7|3|7200|275040"

check "kpi_sla_cycles: all" \
	"SELECT outcome || '=' || count(*) FROM kpi_sla_cycles GROUP BY outcome
	 ORDER BY outcome" "breached=4;cancelled=1;met=15;open=1"
check "kpi_sla_daily: W48 by clock" \
	"SELECT clock || ' ' || sum(met) || '|' || sum(breached) || '|' ||
	 sum(open) || '|' || sum(cancelled) FROM kpi_sla_daily
	 WHERE week = '2026-W48' GROUP BY clock ORDER BY clock" \
	"deal_followup 1|0|1|0;first_touch 3|1|0|0;mql_acceptance 5|3|0|1"
check "kpi_sla_daily: compliance of a row" \
	"SELECT cycles || '|' || met || '|' || breached || '|' || compliance
	 FROM kpi_sla_daily WHERE day = '2026-11-26' AND clock = 'mql_acceptance'
	 AND team = 'smb' AND owner = 'sam@corp.example'" "2|1|1|0.5000"

check "kpi_rejections: every one, with its reason and rep" \
	"SELECT reason || '/' || owner FROM kpi_rejections ORDER BY rejected_at" \
	"no budget/sam@corp.example;no budget/sam@corp.example;wrong persona <CTO & CFO>/eve@corp.example"
check "kpi_rejection_reasons_daily: W48" \
	"SELECT reason || '=' || sum(rejections) FROM kpi_rejection_reasons_daily
	 WHERE week = '2026-W48' GROUP BY reason ORDER BY reason" \
	"no budget=2;wrong persona <CTO & CFO>=1"

check "kpi_deals" \
	"SELECT deal_id || '|' || amount || '|' || currency || '|' ||
	 coalesce(outcome, '-') || '|' || via_mql FROM kpi_deals ORDER BY deal_id" \
	"D1|12000|EUR|won|true;D2|50000.5|EUR|-|true;D3|30000|USD|lost|true"
check "kpi_pipeline_daily: W48" \
	"SELECT kind || '|' || currency || '|' || sum(deals) || '|' || sum(amount)
	 FROM kpi_pipeline_daily WHERE week = '2026-W48'
	 GROUP BY kind, currency ORDER BY kind" \
	"lost|USD|1|30000;opened|EUR|2|62000.5;won|EUR|1|12000"

check "kpi_target_periods: weeks named by the period's middle" \
	"SELECT week FROM kpi_target_periods WHERE target = 'mql_volume'
	 ORDER BY period_start" "2026-W47;2026-W48"
check "kpi_target_periods: days named by the period's middle" \
	"SELECT day FROM kpi_target_periods WHERE target = 'daily_mqls'
	 AND week = '2026-W48' ORDER BY period_start LIMIT 1" "2026-11-23"

# ---- 2. The scorecard as JSON ----
t_ctl report --format json >"$T/report.json" 2>"$T/report.err" ||
	t_fail "report failed: $(cat "$T/report.err")"
[ "$(wc -l <"$T/report.json")" = 1 ] || t_fail "report --format json is not one line"
t_ctl report --week 2026-W48 --format json >"$T/w48.json" ||
	t_fail "report --week 2026-W48 failed"
cmp -s "$T/report.json" "$T/w48.json" ||
	t_fail "the default week is not 2026-W48 (the last complete one at the clock)"

CONNINFO="$CONNINFO" /usr/bin/python3 - "$T/report.json" "$HANDOFF_SOURCE_DIR" <<'PY' ||
import json, os, subprocess, sys

doc = json.load(open(sys.argv[1]))
errors = []

def sql(q, *params):
    # Parameters are bound with psql variables, quoted by psql itself.
    args = ["psql", os.environ["CONNINFO"], "-v", "ON_ERROR_STOP=1", "-qAt",
            "-F", "\t"]
    for i, p in enumerate(params):
        args += ["-v", "p%d=%s" % (i, p)]
    out = subprocess.run(args, input=q, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("query failed: %s\n%s" % (q, out.stderr))
    return [line.split("\t") for line in out.stdout.splitlines()]

def num(v):
    return None if v in (None, "") else float(v)

def same(desc, got, want):
    if isinstance(want, float) or isinstance(got, float):
        ok = (got is None and want is None) or (
            got is not None and want is not None and abs(got - want) < 1e-9)
    else:
        ok = got == want
    if not ok:
        errors.append("%s: report %r, views %r" % (desc, got, want))

# Worked out by hand from the events: the week in Europe/Berlin.
hand = [
    ("week", doc["week"], "2026-W48"),
    ("zone", doc["zone"], "Europe/Berlin"),
    ("start", doc["start"], "2026-11-22T23:00:00Z"),
    ("end", doc["end"], "2026-11-29T23:00:00Z"),
    ("first_day", doc["first_day"], "2026-11-23"),
    ("complete", doc["complete"], True),
    ("MQLs", doc["funnel"]["mqls"]["count"], 9),
    ("reached SAL", doc["funnel"]["mqls"]["reached_sal"], 5),
    ("lead -> MQL", doc["funnel"]["conversion"]["lead_mql"], 0.8889),
    ("acceptance rate", doc["acceptance"]["rate"], 0.625),
    ("median", doc["speed_to_lead"]["median_s"], 19800),
    ("p90", doc["speed_to_lead"]["p90_s"], 246960),
    ("SLA mql_acceptance", doc["sla"]["clocks"][0],
     {"clock": "mql_acceptance", "met": 5, "breached": 3, "open": 0,
      "cancelled": 1, "compliance": 0.625}),
    ("rejections", doc["rejections"]["total"], 3),
    ("won", doc["pipeline"]["won"],
     [{"currency": "EUR", "deals": 1, "amount": 12000}]),
    ("trend weeks", [w["week"] for w in doc["trend"]],
     ["2026-W%02d" % w for w in range(41, 49)]),
    ("trend W47", (doc["trend"][6]["mqls"], doc["trend"][6]["median_s"]),
     (1, 7200)),
]
for desc, got, want in hand:
    if got != want:
        errors.append("by hand: %s: report %r, want %r" % (desc, got, want))

# The same figures from the views, over the report's own range.
R = (doc["start"], doc["end"])
W = "BETWEEN :'p0'::timestamptz AND :'p1'::timestamptz - interval '1 microsecond'"

ent = dict(sql("SELECT stage, count(*) FROM kpi_stage_entries WHERE entered_at %s "
               "GROUP BY stage" % W, *R))
for stage, got in doc["funnel"]["entered"].items():
    same("entered " + stage, got, int(ent.get(stage, 0)))

created, became = sql("SELECT count(*), count(first_mql_at) FROM kpi_leads "
                      "WHERE created_at %s" % W, *R)[0]
same("leads created", doc["funnel"]["leads"]["created"], int(created))
same("leads became MQL", doc["funnel"]["leads"]["became_mql"], int(became))

row = sql("SELECT count(*), count(*) FILTER (WHERE reached_sal), "
          "count(*) FILTER (WHERE reached_sql), count(*) FILTER (WHERE reached_won), "
          "count(*) FILTER (WHERE lost_at IS NOT NULL), "
          "count(*) FILTER (WHERE answered), count(*) FILTER (WHERE accepted), "
          "count(*) FILTER (WHERE rejected), count(first_touch_at), "
          "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY speed_to_lead_s)::numeric), "
          "round(percentile_cont(0.9) WITHIN GROUP (ORDER BY speed_to_lead_s)::numeric), "
          "round(count(*) FILTER (WHERE accepted)::numeric / "
          "nullif(count(*) FILTER (WHERE answered), 0), 4), "
          "round(count(*) FILTER (WHERE reached_sal)::numeric / nullif(count(*), 0), 4) "
          "FROM kpi_mql_passes WHERE mql_at %s" % W, *R)[0]
m = doc["funnel"]["mqls"]
for k, i in (("count", 0), ("reached_sal", 1), ("reached_sql", 2), ("won", 3),
             ("lost", 4)):
    same("mqls " + k, m[k], int(row[i]))
a = doc["acceptance"]
for k, i in (("answered", 5), ("accepted", 6), ("rejected", 7)):
    same("acceptance " + k, a[k], int(row[i]))
same("acceptance rate", num(a["rate"]), num(row[11]))
same("MQL -> SAL", num(doc["funnel"]["conversion"]["mql_sal"]), num(row[12]))
s = doc["speed_to_lead"]
same("touched", s["touched"], int(row[8]))
same("median", num(s["median_s"]), num(row[9]))
same("p90", num(s["p90_s"]), num(row[10]))

def sla_rows(group):
    out = {}
    for r in sql("SELECT %s, count(*) FILTER (WHERE outcome = 'met'), "
                 "count(*) FILTER (WHERE outcome = 'breached'), "
                 "count(*) FILTER (WHERE outcome = 'open'), "
                 "count(*) FILTER (WHERE outcome = 'cancelled') "
                 "FROM kpi_sla_cycles WHERE started_at %s GROUP BY %s"
                 % (group, W, group), *R):
        *key, met, br, op, ca = r
        out[tuple(key)] = (int(met), int(br), int(op), int(ca))
    return out

clocks = sla_rows("clock")
for c in doc["sla"]["clocks"]:
    same("SLA clock " + c["clock"], (c["met"], c["breached"], c["open"],
         c["cancelled"]), clocks.get((c["clock"],), (0, 0, 0, 0)))
same("SLA clocks", sorted(c["clock"] for c in doc["sla"]["clocks"]),
     sorted(k[0] for k in clocks))
teams = sla_rows("coalesce(team, ''), clock")
same("SLA teams", sorted((t["team"] or "", t["clock"]) for t in doc["sla"]["teams"]),
     sorted(teams))
for t in doc["sla"]["teams"]:
    same("SLA team %s %s" % (t["team"], t["clock"]),
         (t["met"], t["breached"], t["open"], t["cancelled"]),
         teams.get((t["team"] or "", t["clock"])))

rej = sql("SELECT reason, count(*) FROM kpi_rejections WHERE rejected_at %s "
          "GROUP BY reason ORDER BY count(*) DESC, reason" % W, *R)
same("rejection reasons", [(x["reason"], x["count"]) for x in
     doc["rejections"]["reasons"]], [(r, int(c)) for r, c in rej])

for t in doc["targets"]:
    ev = sql("SELECT period_start, period_end, actual, missed FROM kpi_target_periods "
             "WHERE target = :'p2' AND period_start + (period_end - period_start) / 2 "
             "%s ORDER BY period_start" % W, R[0], R[1], t["name"])
    same("target %s evaluations" % t["name"], len(t["evaluations"]), len(ev))
    for e, v in zip(t["evaluations"], ev):
        same("target %s evaluation actual" % t["name"], num(e["actual"]), num(v[2]))
        same("target %s evaluation missed" % t["name"], e["missed"], v[3] == "t")
    if t["name"] == "mql_volume":
        same("mql_volume actual", t["actual"], int(row[0]))
        same("mql_volume met", t["met"], int(row[0]) >= 10)
    if t["name"] == "acceptance":
        same("acceptance actual", num(t["actual"]), num(row[11]))

kinds = {"opened": "opened_at %s" % W,
         "won": "outcome = 'won' AND closed_at %s" % W,
         "lost": "outcome = 'lost' AND closed_at %s" % W,
         "open": "opened_at < :'p1'::timestamptz AND (closed_at IS NULL OR "
                 "closed_at >= :'p1'::timestamptz)"}
for kind, cond in kinds.items():
    rows = sql("SELECT currency, count(*), round(coalesce(sum(amount), 0), 2) "
               "FROM kpi_deals WHERE %s GROUP BY currency ORDER BY currency" % cond, *R)
    same("pipeline " + kind, [(p["currency"], p["deals"], float(p["amount"]))
         for p in doc["pipeline"][kind]], [(c, int(n), float(v)) for c, n, v in rows])

for i, w in enumerate(doc["trend"]):
    end = doc["trend"][i + 1]["start"] if i + 1 < len(doc["trend"]) else doc["end"]
    n, med = sql("SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP "
                 "(ORDER BY speed_to_lead_s)::numeric) FROM kpi_mql_passes "
                 "WHERE mql_at %s" % W, w["start"], end)[0]
    same("trend %s MQLs" % w["week"], w["mqls"], int(n))
    same("trend %s median" % w["week"], num(w["median_s"]), num(med))

if errors:
    print("\n".join(errors))
    sys.exit(1)
PY
	failures=$((failures + 1))

# The reply follows its JSON Schema.
/usr/bin/python3 - "$HANDOFF_SOURCE_DIR/proto/schema" "$T/report.json" <<'PY' ||
import json, sys
from jsonschema import Draft202012Validator, RefResolver
d = sys.argv[1]
schema = json.load(open(d + "/control.report.schema.json"))
common = json.load(open(d + "/common.schema.json"))
resolver = RefResolver.from_schema(schema, store={"common.schema.json": common})
errs = list(Draft202012Validator(schema, resolver=resolver).iter_errors(
    json.load(open(sys.argv[2]))))
for e in errs:
    print("schema: %s at /%s" % (e.message, "/".join(str(p) for p in e.absolute_path)))
sys.exit(1 if errs else 0)
PY
	failures=$((failures + 1))

# ---- 3. Text ----
t_ctl report >"$T/report.txt" || t_fail "report (text) failed"
for want in "week 2026-W48" "Europe/Berlin" "Mon 23 Nov 2026 to Sun 29 Nov 2026" \
    "62.5% (5 accepted of 8 answered; 3 rejected)" \
    "median 5h 30m, p90 2d 21h (4 of 9 MQLs touched)" "88.9%" \
    "wrong persona <CTO & CFO>" "62,000.50" "missed 1 of 7 days"; do
	grep -qF -- "$want" "$T/report.txt" || {
		echo "FAIL: text report lacks '$want'"
		failures=$((failures + 1))
	}
done
for re in '^  mql_acceptance +5 +3 +0 +1 +62\.5%$' \
    '^  smb +first_touch +2 +1 +0 +0 +66\.7%$' \
    '^  acceptance +acceptance_rate +>= 60% +62\.5% +met +all +57\.1%, missed$' \
    '^  2026-W47 +1 +1 +2h +2h$'; do
	grep -qE -- "$re" "$T/report.txt" || {
		echo "FAIL: text report has no line matching /$re/"
		failures=$((failures + 1))
	}
done
grep -q 'NOT OVER YET' "$T/report.txt" && {
	echo "FAIL: a complete week is reported as not over"
	failures=$((failures + 1))
}

# ---- 4. HTML ----
t_ctl report --format html >"$T/report.html" || t_fail "report (html) failed"
grep -qF 'wrong persona &lt;CTO &amp; CFO&gt;' "$T/report.html" || {
	echo "FAIL: html: the rejection reason is not escaped as expected"
	failures=$((failures + 1))
}
if grep -qF '<CTO' "$T/report.html"; then
	echo "FAIL: html: a string from the data is not escaped"
	failures=$((failures + 1))
fi
if grep -qiE '(src|href)[[:space:]]*=|url\(|@import|https?://|<script|<link|<img|<iframe' \
    "$T/report.html"; then
	echo "FAIL: html: the page refers to something outside itself:"
	grep -noiE '(src|href)[[:space:]]*=|url\(|@import|https?://|<script|<link|<img|<iframe' \
		"$T/report.html" | head -5
	failures=$((failures + 1))
fi
[ "$(grep -c '<svg' "$T/report.html")" = 3 ] || {
	echo "FAIL: html: want 3 charts (funnel, SLA by team, trend)"
	failures=$((failures + 1))
}

command -v chromium >/dev/null ||
	t_fail "chromium is not installed (deploy/deps.sh installs it)"
# --no-sandbox: the tests may run as root, where Chromium's sandbox refuses
# to start; the page is our own and fetches nothing.
timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	--user-data-dir="$T/chromium" --window-size=1200,1800 \
	--screenshot="$T/report.png" "file://$T/report.html" \
	>"$T/chromium.log" 2>&1 ||
	t_fail "chromium failed: $(tail -n 5 "$T/chromium.log")"
/usr/bin/python3 - "$T/report.png" <<'PY' || failures=$((failures + 1))
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
    sys.exit("FAIL: the screenshot is not a PNG")
w, h = struct.unpack(">II", data[16:24])
if (w, h) != (1200, 1800):
    sys.exit("FAIL: the screenshot is %dx%d, want 1200x1800" % (w, h))
# A page that rendered nothing compresses to a few kilobytes.
if len(data) < 50000:
    sys.exit("FAIL: the screenshot is only %d bytes: a blank page?" % len(data))
PY
if [ -n "${HANDOFF_REPORT_KEEP:-}" ]; then
	cp "$T/report.html" "$T/report.png" "$HANDOFF_REPORT_KEEP/"
fi

# ---- 5. Other weeks ----
t_ctl report --week 2026-w49 --format json >"$T/w49.json" || t_fail "report W49 failed"
[ "$(t_json '[d["week"], d["complete"], d["funnel"]["mqls"]["count"]]' <"$T/w49.json")" = \
    '["2026-W49", false, 1]' ] || {
	echo "FAIL: W49: $(cat "$T/w49.json")"
	failures=$((failures + 1))
}
t_ctl report --week 2026-W49 | grep -q 'NOT OVER YET' || {
	echo "FAIL: text report of a week not over does not say so"
	failures=$((failures + 1))
}
t_ctl report --week 2026-W10 --format json >"$T/w10.json" || t_fail "report W10 failed"
[ "$(t_json '[d["funnel"]["mqls"]["count"], d["speed_to_lead"]["median_s"], d["acceptance"]["rate"], d["rejections"]["reasons"], d["pipeline"]["opened"]]' <"$T/w10.json")" = \
    '[0, null, null, [], []]' ] || {
	echo "FAIL: an empty week: $(cat "$T/w10.json")"
	failures=$((failures + 1))
}
t_ctl report --week 2026-W10 >/dev/null || t_fail "text report of an empty week failed"
t_ctl report --week 2026-W10 --format html >/dev/null ||
	t_fail "html report of an empty week failed"

# The daemon checks the week itself too (other clients than handoffctl).
out=$("$HANDOFF_ZMQTOOL" -t 5000 raw "$CTL" report '{"week":"2026-W60"}') ||
	t_fail "raw report request failed: $out"
[ "$out" = '{"error":"week: '"'"'2026-W60'"'"' is not a week of 2026 (it has weeks 01 to 53)"}' ] || {
	echo "FAIL: daemon's answer to a bad week: $out"
	failures=$((failures + 1))
}
out=$("$HANDOFF_ZMQTOOL" -t 5000 raw "$CTL" report '{"week":48}') ||
	t_fail "raw report request failed: $out"
[ "$out" = '{"error":"week: must be a string like \"2026-W48\""}' ] || {
	echo "FAIL: daemon's answer to a week that is no string: $out"
	failures=$((failures + 1))
}

t_stop
[ "$failures" = 0 ] || t_fail "$failures check(s) failed"
t_pass
