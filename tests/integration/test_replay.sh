#!/bin/bash
# The outbox (SPEC §2.3, §2.5): outbound messages get a gapless seq in
# commit order, across a clean restart and a kill -9; `replay --since N`
# returns exactly the messages after N, oldest first, with the bodies as
# they were published; its end frame names the last seq; `tail` sees what
# is published while it runs, byte for byte as replay serves it.
#
# The messages are the daemon's own: a sales.rejected for a known lead
# publishes one handoff.recycled (SPEC §2.2).
source "$(dirname "$0")/lib.sh"

t_init handoff_t_replay
t_config
t_start

last_seq_is() {
	[ "$(t_ctl -t 30 status | t_json 'd["last_seq"]')" = "$1" ]
}
# Checks that FILE holds exactly the messages FROM..TO, in seq order: each
# the handoff.recycled of one lead of the scenario. Each round of 5
# rejections was committed before the next was sent, so seq 1-5 belong to
# leads 1-5, and so on; inside a round the order is the daemon's.
check_msgs() { # FILE FROM TO
	/usr/bin/python3 - "$@" <<'PY' || t_fail "replayed messages in $1 are not seq $2..$3"
import json, re, sys
path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = open(path, encoding="utf-8").read().splitlines()
bad = []
seqs, leads = [], []
for line in lines:
    d = json.loads(line)
    s = d.get("seq")
    seqs.append(s)
    lead = d.get("lead") or {}
    m = re.fullmatch(r"L-(\d+)", str(lead.get("id")))
    k = int(m.group(1)) if m else None
    leads.append(k)
    if d.get("v") != 1 or d.get("type") != "handoff.recycled" or \
            not isinstance(d.get("emitted_at"), str) or \
            not isinstance(d.get("lead_key"), str) or not d["lead_key"]:
        bad.append("seq %s: envelope %s" % (s, line))
    elif k is None or lead.get("source") != "marketo" or \
            lead.get("email") != "x%d@y.example" % k or \
            d.get("reason") != "no budget %d" % k or d.get("by") != "rep.%d" % k:
        bad.append("seq %s: body %s" % (s, line))
    elif not isinstance(s, int) or (k - 1) // 5 != (s - 1) // 5:
        bad.append("seq %s: lead %d belongs to another round" % (s, k))
if seqs != list(range(lo, hi + 1)):
    bad.append("seqs %s, want %d..%d" % (seqs, lo, hi))
if len(set(leads)) != len(leads):
    bad.append("a lead was recycled twice: %s" % leads)
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# ---- 5 messages, a clean restart, 5 more ----
t_recycle 1 5
t_wait 30 "last_seq 5" last_seq_is 5
t_stop
t_start
last_seq_is 5 || t_fail "last_seq after the restart: $(t_ctl -t 30 status)"
t_recycle 6 10
t_wait 30 "last_seq 10" last_seq_is 10
t_ctl -t 30 replay --since 0 >"$T/before-kill.txt" || t_fail "replay failed"
check_msgs "$T/before-kill.txt" 1 10

# ---- kill -9, restart, and 5 more seen by a running tail ----
t_kill9
t_start
last_seq_is 10 || t_fail "last_seq after kill -9: $(t_ctl -t 30 status)"
"$HANDOFFCTL" -e "$CTL" tail handoff. --from "$PUB" --heartbeats --idle 60 >"$T/tail.txt" 2>"$T/tail.err" &
TAILPID=$!
trap 'kill "$TAILPID" 2>/dev/null || true; t_cleanup' EXIT
tail_subscribed() {
	grep -q '"bus.heartbeat"' "$T/tail.txt"
}
t_wait 30 "tail to receive a heartbeat" tail_subscribed
t_recycle 11 15
tail_has_5() {
	[ "$(grep -c '"handoff.recycled"' "$T/tail.txt" || true)" -ge 5 ]
}
t_wait 30 "tail to see the last 5 messages" tail_has_5
kill -TERM "$TAILPID"
rc=0
wait "$TAILPID" || rc=$?
[ "$rc" = 0 ] || t_fail "tail exit $rc: $(cat "$T/tail.err")"

# ---- replay ----
t_ctl -t 30 replay --since 0 >"$T/all.txt" || t_fail "replay --since 0 failed"
check_msgs "$T/all.txt" 1 15
# What was replayed before the kill -9 is served again byte for byte.
head -n 10 "$T/all.txt" | cmp -s - "$T/before-kill.txt" ||
	t_fail "replay of seq 1..10 changed across kill -9"
t_ctl -t 30 replay --since 7 >"$T/since7.txt" || t_fail "replay --since 7 failed"
check_msgs "$T/since7.txt" 8 15
tail -n 8 "$T/all.txt" | cmp -s - "$T/since7.txt" || t_fail "replay --since 7 differs from the same messages of --since 0"
t_ctl -t 30 replay --since 7 --limit 3 >"$T/limit.txt" || t_fail "replay --since 7 --limit 3 failed"
check_msgs "$T/limit.txt" 8 10
out=$(t_ctl -t 30 replay --since 15 --json-end) || t_fail "replay --since 15 failed"
[ "$out" = '{"end": true, "last_seq": 15}' ] || t_fail "replay --since 15: '$out'"
# The end frame as the daemon sends it.
end=$("$HANDOFF_ZMQTOOL" raw "$CTL" "" replay '{"since": 15}') || t_fail "raw replay failed"
[ "$(tail -n +2 <<<"$end" | t_json 'json.dumps(d, sort_keys=True)')" = '{"end": true, "last_seq": 15}' ] ||
	t_fail "replay end frame: $end"

# ---- tail saw the last 5, exactly as replay serves them ----
grep '"handoff.recycled"' "$T/tail.txt" >"$T/tail-msgs.txt" || true
tail -n 5 "$T/all.txt" | cmp -s - "$T/tail-msgs.txt" ||
	t_fail "tail saw:
$(cat "$T/tail-msgs.txt")
replay has:
$(tail -n 5 "$T/all.txt")"

# ---- the table agrees: seq 1..15, no gap, all published (a clean stop
# records the last publication) ----
t_stop
[ "$(t_sql "SELECT count(*), min(seq), max(seq) FROM outbox")" = "15|1|15" ] ||
	t_fail "outbox: $(t_sql "SELECT count(*), min(seq), max(seq) FROM outbox")"
[ "$(t_sql "SELECT string_agg(lo || ':' || hi, ',') FROM outbox_published")" = "0:15" ] ||
	t_fail "outbox_published: $(t_sql "SELECT string_agg(lo || ':' || hi, ',') FROM outbox_published")"
[ "$(t_sql "SELECT last_seq FROM outbox_seq")" = 15 ] || t_fail "outbox_seq: $(t_sql "SELECT last_seq FROM outbox_seq")"
t_pass
