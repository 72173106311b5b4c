#!/bin/bash
# The Prometheus endpoint (SPEC §9, metrics.listen). The daemon runs in
# clock.mode "event" with two SLA clocks; events are sent through the
# acknowledged endpoint (accepted, then the same again as duplicates) and
# rejected messages as raw frames. Every scrape is checked against the
# exposition format (prom_expo.py); the test then checks the exact value of
# every events_total series, the batch and latency histograms against the
# number of messages, the alerts published against the control endpoint's
# replay, the open cycles per clock against status, and that the figures
# move with more events. HTTP: the Content-Type of format 0.0.4, HEAD, 404
# for another path, 405 for POST. Life cycle: a reload that changes
# metrics.listen keeps the running endpoint and says a restart is needed; a
# second daemon on the same port exits 1 naming the address; after a stop
# the port can be bound again; port 0 picks a port that status reports;
# an IPv6 address in brackets binds IPv6.
source "$(dirname "$0")/lib.sh"
: "${HANDOFF_ZMQTOOL:?run under ctest}"
ZT=$HANDOFF_ZMQTOOL
EXPO="$(dirname "$0")/prom_expo.py"

t_init handoff_t_metrics
MPORT=$(t_free_port)
SLA='clock = { mode = "event"; lateness = "0s"; };
calendars = ({ name = "always"; timezone = "UTC"; hours = "24x7"; });
sla = { clocks = (
  { name = "accept"; start = ["lead.qualified"]; stop = ["sales.accepted"];
    goal = "1h"; calendar = "always"; },
  { name = "touch"; start = ["sales.accepted"]; stop = ["sales.activity"];
    goal = "8h"; calendar = "always"; }
); };'
t_config "metrics = { listen = \"127.0.0.1:$MPORT\"; };
$SLA"
t_start
MURL="http://127.0.0.1:$MPORT/metrics"

# Scrapes URL (default $MURL) into $T/m.txt and its parsed form $T/m.json;
# fails the test when the text breaks the exposition format.
scrape() {
	curl -fsS --max-time 10 "${1:-$MURL}" >"$T/m.txt" || t_fail "scrape of ${1:-$MURL} failed"
	/usr/bin/python3 "$EXPO" <"$T/m.txt" >"$T/m.json" 2>"$T/expo.err" ||
		t_fail "not a valid exposition: $(cat "$T/expo.err")
$(cat "$T/m.txt")"
}
# The value of one series of the last scrape ("absent" when not there);
# integral values print without a fraction.
val() {
	/usr/bin/python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["samples"].get(sys.argv[2])
print("absent" if v is None else int(v) if v == int(v) else v)' "$T/m.json" "$1"
}
# Scrapes until series $1 has value $2 (for figures that the loop hands
# over on its next wake-up rather than before an acknowledgement).
scrape_until() {
	local deadline=$((SECONDS + 30))
	while :; do
		scrape
		[ "$(val "$1")" = "$2" ] && return 0
		[ "$SECONDS" -lt "$deadline" ] ||
			t_fail "$1 is $(val "$1"), want $2 (after 30 s)"
		sleep 0.1
	done
}
# Every non-zero handoff_events_total series as "type outcome value", sorted.
events_nonzero() {
	/usr/bin/python3 -c '
import json, re, sys
rows = []
for k, v in json.load(open(sys.argv[1]))["samples"].items():
    m = re.fullmatch(r"handoff_events_total\{outcome=\"(\w+)\",type=\"([\w.]+)\"\}", k)
    if m and v:
        rows.append((m.group(2), m.group(1), int(v)))
for r in sorted(rows):
    print(*r)' "$T/m.json"
}
# The types of the metric families, "name type" a line, sorted.
families() {
	/usr/bin/python3 -c '
import json, sys
for k, v in sorted(json.load(open(sys.argv[1]))["types"].items()):
    print(k, v)' "$T/m.json"
}
send_ok() { # FILE WANT
	local out
	out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$1") || t_fail "send $1: $out"
	[ "$out" = "$2" ] || t_fail "send $1: '$out', want '$2'"
}

# ---- at start: every family, with its type; nothing counted yet ----
scrape_until handoff_db_up 1
want_families="handoff_batch_events histogram
handoff_buffered_events gauge
handoff_build_info gauge
handoff_commit_seconds histogram
handoff_db_reconnects_total counter
handoff_db_up gauge
handoff_event_latency_seconds histogram
handoff_events_total counter
handoff_last_published_seq gauge
handoff_last_seq gauge
handoff_outbox_lag gauge
handoff_published_total counter
handoff_sla_open_cycles gauge
handoff_start_time_seconds gauge
handoff_up gauge"
got=$(families)
[ "$got" = "$want_families" ] || t_fail "families:
$got
want:
$want_families"
[ -z "$(events_nonzero)" ] || t_fail "events counted before any was sent: $(events_nonzero)"
[ "$(val handoff_up)" = 1 ] || t_fail "handoff_up is $(val handoff_up)"
version=$("$HANDOFFD" --version | awk '{print $2}')
[ "$(val "handoff_build_info{version=\"$version\"}")" = 1 ] ||
	t_fail "no handoff_build_info for version $version"
start=$(val handoff_start_time_seconds)
now=$(date +%s)
/usr/bin/python3 -c 'import sys; s, n = float(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if n - 600 < s <= n + 1 else 1)' "$start" "$now" ||
	t_fail "handoff_start_time_seconds $start is not the start of this daemon (now $now)"
# Both configured clocks are listed before any cycle exists.
scrape_until 'handoff_sla_open_cycles{clock="accept"}' 0
[ "$(val 'handoff_sla_open_cycles{clock="touch"}')" = 0 ] || t_fail "no open-cycles series for clock touch"
for s in handoff_batch_events_count handoff_commit_seconds_count \
	handoff_event_latency_seconds_count handoff_db_reconnects_total \
	handoff_last_seq handoff_outbox_lag 'handoff_published_total{type="sla.breached"}'; do
	[ "$(val "$s")" = 0 ] || t_fail "$s is $(val "$s") at start"
done

# ---- HTTP: content type, HEAD, 404, 405 ----
ct=$(curl -fsS -o /dev/null -w '%{content_type}' "$MURL") || t_fail "GET failed"
[ "$ct" = "text/plain; version=0.0.4; charset=utf-8" ] || t_fail "Content-Type: $ct"
code=$(curl -sS -I -o /dev/null -w '%{http_code}' "$MURL") || t_fail "HEAD failed"
[ "$code" = 200 ] || t_fail "HEAD /metrics: $code"
for path in / /metric /metrics/ /metrics/x /other; do
	code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT$path") || t_fail "GET $path failed"
	[ "$code" = 404 ] || t_fail "GET $path: $code, want 404"
done
code=$(curl -sS -X POST --data 'x=1' -D "$T/post.headers" -o /dev/null -w '%{http_code}' "$MURL") || t_fail "POST failed"
[ "$code" = 405 ] || t_fail "POST /metrics: $code, want 405"
grep -qi '^Allow: GET, HEAD' "$T/post.headers" || t_fail "405 without Allow: $(cat "$T/post.headers")"
code=$(curl -sS -X DELETE -o /dev/null -w '%{http_code}' "$MURL") || t_fail "DELETE failed"
[ "$code" = 405 ] || t_fail "DELETE /metrics: $code, want 405"

# ---- accepted, then the same again: duplicates ----
cat >"$T/first.jsonl" <<'EOF'
{"v":1,"id":"u1","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-02T09:00:00Z","lead":{"id":"L1"}}
{"v":1,"id":"u2","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-02T09:00:00Z","lead":{"id":"L2"}}
{"v":1,"id":"u3","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-02T09:00:00Z","lead":{"id":"L3"}}
{"v":1,"id":"q1","source":"marketo","type":"lead.qualified","occurred_at":"2026-03-02T09:00:00Z","lead":{"id":"M1","email":"m1@example.com"}}
{"v":1,"id":"q2","source":"marketo","type":"lead.qualified","occurred_at":"2026-03-02T09:00:00Z","lead":{"id":"M2","email":"m2@example.com"}}
EOF
send_ok "$T/first.jsonl" "accepted 5, duplicate 0, rejected 0, invalid 0"
# The figures are handed over before the acknowledgements: no wait.
scrape
got=$(events_nonzero)
want="lead.qualified accepted 2
lead.upserted accepted 3"
[ "$got" = "$want" ] || t_fail "after the first send:
$got
want:
$want"
send_ok "$T/first.jsonl" "accepted 0, duplicate 5, rejected 0, invalid 0"
scrape
got=$(events_nonzero)
want="lead.qualified accepted 2
lead.qualified duplicate 2
lead.upserted accepted 3
lead.upserted duplicate 3"
[ "$got" = "$want" ] || t_fail "after the resend:
$got
want:
$want"

# ---- rejected: a known type with a bad body, an unknown type, 3 frames ----
printf '{"v":1,"id":"x1","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-02T09:00:00Z"}' >"$T/nolead.body"
printf '{"v":1,"id":"x2","source":"marketo","type":"no.such","occurred_at":"2026-03-02T09:00:00Z"}' >"$T/unknown.body"
for args in "lead.upserted $T/nolead.body" "no.such $T/unknown.body"; do
	# shellcheck disable=SC2086
	reply=$("$ZT" req "$ROUTER" $args) || t_fail "REQ $args: no reply"
	[ "$(t_json 'd["status"]' <<<"$reply")" = rejected ] || t_fail "REQ $args: $reply"
done
reply=$("$ZT" raw "$ROUTER" lead.qualified '{}' extra) || t_fail "3 frames: no reply"
[ "$(t_json 'd["status"]' <<<"$reply")" = rejected ] || t_fail "3 frames: $reply"
# A rejection is answered at once and committed with the next batch.
scrape_until handoff_batch_events_sum 13
got=$(events_nonzero)
want="lead.qualified accepted 2
lead.qualified duplicate 2
lead.qualified rejected 1
lead.upserted accepted 3
lead.upserted duplicate 3
lead.upserted rejected 1
unknown rejected 1"
[ "$got" = "$want" ] || t_fail "after the rejections:
$got
want:
$want"
before_batches=$(val handoff_batch_events_count)
[ "$before_batches" -ge 3 ] || t_fail "$before_batches batches for three sends"

# ---- the clock moves 2 h: both accept cycles breach; M1 is accepted ----
cat >"$T/tick.jsonl" <<'EOF'
{"v":1,"id":"t1","source":"ticker","type":"clock.tick","occurred_at":"2026-03-02T11:00:00Z"}
EOF
send_ok "$T/tick.jsonl" "accepted 1, duplicate 0, rejected 0, invalid 0"
cat >"$T/accept.jsonl" <<'EOF'
{"v":1,"id":"a1","source":"salesforce","type":"sales.accepted","occurred_at":"2026-03-02T11:30:00Z","lead_ref":{"email":"m1@example.com"},"owner":"ana@corp.example"}
EOF
send_ok "$T/accept.jsonl" "accepted 1, duplicate 0, rejected 0, invalid 0"
scrape
got=$(events_nonzero)
want="clock.tick accepted 1
lead.qualified accepted 2
lead.qualified duplicate 2
lead.qualified rejected 1
lead.upserted accepted 3
lead.upserted duplicate 3
lead.upserted rejected 1
sales.accepted accepted 1
unknown rejected 1"
[ "$got" = "$want" ] || t_fail "after the tick and the acceptance:
$got
want:
$want"

# Everything committed is published: the lag drains to 0.
t_wait 30 "last_seq > 0" test "$(t_ctl status | t_json 'd["last_seq"]')" -gt 0
last_seq=$(t_ctl status | t_json 'd["last_seq"]')
scrape_until handoff_last_published_seq "$last_seq"
[ "$(val handoff_last_seq)" = "$last_seq" ] || t_fail "handoff_last_seq $(val handoff_last_seq), status says $last_seq"
[ "$(val handoff_outbox_lag)" = 0 ] || t_fail "handoff_outbox_lag $(val handoff_outbox_lag) with everything published"

# published_total of each type equals what the replay holds of it.
t_ctl replay --since 0 >"$T/replay" || t_fail "replay failed"
/usr/bin/python3 - "$T/replay" "$T/m.json" <<'PY' || t_fail "published_total disagrees with the replay (above)"
import collections, json, sys
replayed = collections.Counter()
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        m = json.loads(line)
        if "type" in m:
            replayed[m["type"]] += 1
samples = json.load(open(sys.argv[2]))["samples"]
ok = True
for key, v in samples.items():
    if key.startswith('handoff_published_total{type="'):
        t = key[len('handoff_published_total{type="'):-2]
        if t == "bus.heartbeat":
            continue
        if replayed.pop(t, 0) != v:
            print("published_total{type=%s} = %d" % (t, v), file=sys.stderr)
            ok = False
if replayed:
    print("replayed but not counted: %s" % dict(replayed), file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
PY
[ "$(val 'handoff_published_total{type="sla.breached"}')" = 2 ] ||
	t_fail "sla.breached published $(val 'handoff_published_total{type="sla.breached"}') times, want 2"
[ "$(val 'handoff_published_total{type="sla.resolved"}')" = 1 ] ||
	t_fail "sla.resolved published $(val 'handoff_published_total{type="sla.resolved"}') times, want 1"
heartbeat_counted() {
	scrape
	[ "$(val 'handoff_published_total{type="bus.heartbeat"}')" -ge 1 ]
}
t_wait 30 "a heartbeat counted" heartbeat_counted

# Open cycles: M2's accept (breached, still open) and M1's touch.
scrape_until 'handoff_sla_open_cycles{clock="touch"}' 1
[ "$(val 'handoff_sla_open_cycles{clock="accept"}')" = 1 ] ||
	t_fail "accept open cycles: $(val 'handoff_sla_open_cycles{clock="accept"}'), want 1"
[ "$(t_ctl status | t_json 'd["open_cycles"]')" = 2 ] || t_fail "status open_cycles: $(t_ctl status)"
[ "$(t_sql "SELECT count(*) FROM sla_cycles WHERE stopped_at IS NULL AND state IN ('running', 'paused', 'breached')")" = 2 ] ||
	t_fail "the table does not hold 2 open cycles: $(t_sql "SELECT * FROM sla_cycles")"

# Histograms: every committed message is in one batch, every event has
# one latency, every batch one commit time.
[ "$(val handoff_batch_events_sum)" = 15 ] || t_fail "batch_events_sum $(val handoff_batch_events_sum), want 15"
[ "$(val handoff_event_latency_seconds_count)" = 12 ] ||
	t_fail "event_latency_seconds_count $(val handoff_event_latency_seconds_count), want 12"
[ "$(val handoff_commit_seconds_count)" = "$(val handoff_batch_events_count)" ] ||
	t_fail "commit_seconds_count $(val handoff_commit_seconds_count) != batch_events_count $(val handoff_batch_events_count)"
[ "$(val handoff_batch_events_count)" -ge $((before_batches + 2)) ] || t_fail "two more sends, not two more batches"
[ "$(val handoff_db_up)" = 1 ] && [ "$(val handoff_db_reconnects_total)" = 0 ] && [ "$(val handoff_buffered_events)" = 0 ] ||
	t_fail "db_up $(val handoff_db_up), reconnects $(val handoff_db_reconnects_total), buffered $(val handoff_buffered_events)"

# ---- the figures move with more events ----
{
	printf '{"v":1,"id":"u4","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-02T12:00:00Z","lead":{"id":"L4"}}\n'
	printf '{"v":1,"id":"u5","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-02T12:00:00Z","lead":{"id":"L5"}}\n'
	printf '{"v":1,"id":"u1","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-02T12:00:00Z","lead":{"id":"L1"}}\n'
} >"$T/more.jsonl"
send_ok "$T/more.jsonl" "accepted 2, duplicate 1, rejected 0, invalid 0"
scrape
[ "$(val 'handoff_events_total{outcome="accepted",type="lead.upserted"}')" = 5 ] &&
	[ "$(val 'handoff_events_total{outcome="duplicate",type="lead.upserted"}')" = 4 ] &&
	[ "$(val handoff_batch_events_sum)" = 18 ] &&
	[ "$(val handoff_event_latency_seconds_count)" = 15 ] ||
	t_fail "after 3 more events: $(events_nonzero); batch sum $(val handoff_batch_events_sum)"
st=$(t_ctl status)
[ "$(t_json '"%d %d %d" % (d["events"]["accepted"], d["events"]["duplicate"], d["events"]["rejected"])' <<<"$st")" = "9 6 3" ] ||
	t_fail "status counts disagree: $st"
[ "$(t_json 'd["endpoints"]["metrics"]' <<<"$st")" = "127.0.0.1:$MPORT" ] || t_fail "status endpoints: $st"

# ---- a reload cannot move the endpoint ----
MPORT2=$(t_free_port)
cp "$T/handoffd.conf" "$T/handoffd.conf.orig"
t_config "metrics = { listen = \"127.0.0.1:$MPORT2\"; };
$SLA"
t_ctl reload >/dev/null || t_fail "reload failed"
grep -q "reload: metrics.listen changed; that takes a restart" "$LOG" || t_fail "the reload did not say metrics.listen needs a restart"
scrape
if curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$MPORT2/metrics" 2>/dev/null; then
	t_fail "a reload opened the new metrics address"
fi

# ---- a second daemon on the same metrics port exits 1, naming it ----
mkdir "$T/second"
cat >"$T/second/handoffd.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
bus = {
  ingest = ( { kind = "pull"; endpoint = "tcp://127.0.0.1:*"; } );
  publish = "tcp://127.0.0.1:*";
  control = "ipc://$T/second/control.sock";
};
metrics = { listen = "127.0.0.1:$MPORT"; };
CONF
rc=0
timeout 60 "$HANDOFFD" -c "$T/second/handoffd.conf" 2>"$T/second/log" || rc=$?
[ "$rc" = 1 ] || t_fail "a second daemon on metrics port $MPORT exited $rc, want 1: $(cat "$T/second/log")"
grep -qF "metrics.listen 127.0.0.1:$MPORT: cannot bind: Address already in use" "$T/second/log" ||
	t_fail "the second daemon's log does not name the address: $(cat "$T/second/log")"
scrape
[ "$(val handoff_up)" = 1 ] || t_fail "the first daemon stopped serving"
t_stop

# ---- after a stop the port is free again; the counts start over ----
cp "$T/handoffd.conf.orig" "$T/handoffd.conf"
t_start
scrape
[ -z "$(events_nonzero)" ] || t_fail "a new daemon starts with counts: $(events_nonzero)"
t_stop

# ---- port 0: the system picks one, status names it ----
t_config "metrics = { listen = \"127.0.0.1:0\"; };"
t_start
addr=$(t_ctl status | t_json 'd["endpoints"]["metrics"]')
[[ "$addr" =~ ^127\.0\.0\.1:[0-9]+$ ]] && [ "${addr##*:}" != 0 ] || t_fail "status names metrics address '$addr'"
grep -qF "metrics on http://$addr/metrics" "$LOG" || t_fail "the log does not name http://$addr/metrics"
scrape "http://$addr/metrics"
t_stop

# ---- IPv6 in brackets binds the IPv6 loopback ----
t_config "metrics = { listen = \"[::1]:0\"; };"
t_start
addr=$(t_ctl status | t_json 'd["endpoints"]["metrics"]')
[[ "$addr" =~ ^\[::1\]:[0-9]+$ ]] || t_fail "status names metrics address '$addr'"
scrape "http://$addr/metrics"
if curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:${addr##*:}/metrics" 2>/dev/null; then
	t_fail "[::1] also answered on 127.0.0.1"
fi
t_stop
t_pass
