#!/bin/bash
# Signals (SPEC §3, §8; STYLE 6 and 7):
#   - SIGHUP with a broken file keeps the daemon running on the old
#     configuration and logs the error with its file and line; `reload`
#     answers with an error; events still flow;
#   - SIGHUP with a good file is applied (the new log level is in force) and
#     a change that takes a restart is logged as such;
#   - SIGTERM under load exits 0, and every event that was acknowledged is
#     in the database; a resend of everything then stores the rest exactly
#     once;
#   - while a drain cannot finish (every commit fails), a second signal
#     makes the daemon exit at once, with nothing acknowledged.
source "$(dirname "$0")/lib.sh"
: "${HANDOFF_ZMQTOOL:?run under ctest}"
ZT=$HANDOFF_ZMQTOOL
# Background clients are ended with the test.
BGPIDS=()
trap 'for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null || true; done; t_cleanup' EXIT

t_init handoff_t_signals
t_config
t_start
CONF=$T/handoffd.conf
cp "$CONF" "$T/good.conf"

nlog() { # PATTERN: lines of the log that contain it (fixed string)
	grep -cF -- "$1" "$LOG" || true
}
log_has() {
	grep -qF -- "$1" "$LOG"
}
send_one() { # ID: sends one event through the router, must be accepted
	local out
	printf '{"v":1,"id":"%s","source":"sigsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L-%s"}}\n' "$1" "$1" >"$T/one.jsonl"
	out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/one.jsonl") || t_fail "send $1: $out"
	[ "$out" = "accepted 1, duplicate 0, rejected 0, invalid 0" ] || t_fail "send $1: $out"
}
# Sends a message that is rejected; at level debug the daemon logs it.
send_rejected() { # TAG
	"$ZT" raw "$ROUTER" lead.upserted "{\"v\":1,\"id\":\"$1\"}" >/dev/null || t_fail "no reply to $1"
}

send_one before-hup
# At level debug a rejection is logged.
send_rejected debug-1
t_wait 30 "the rejection logged at level debug" log_has "debug-1"

# ---- a broken file: refused, the old configuration stays ----
# The last line holds a setting that does not exist.
{ cat "$T/good.conf"; echo "typo_setting = 1;"; } >"$CONF"
bad_line=$(grep -n '^typo_setting' "$CONF" | cut -d: -f1)
"$HANDOFFD" --check-config -c "$CONF" >/dev/null 2>&1 && t_fail "the broken file passes --check-config"
kill -HUP "$DPID"
t_wait 30 "the refused reload logged" log_has "$CONF:$bad_line: typo_setting: unknown setting"
log_has "reload refused" || t_fail "the log does not say the reload was refused"
kill -0 "$DPID" 2>/dev/null || t_fail "handoffd died on a broken configuration"
t_ctl -t 30 ping >/dev/null || t_fail "no ping after the broken SIGHUP"
rc=0
err=$(t_ctl -t 30 reload 2>&1 >/dev/null) || rc=$?
[ "$rc" = 1 ] || t_fail "reload of a broken file: exit $rc, want 1"
case $err in
*"$CONF:$bad_line: typo_setting: unknown setting"*) ;;
*) t_fail "reload of a broken file: '$err' does not name the error" ;;
esac
# A syntax error, too, names its line.
{ cat "$T/good.conf"; echo 'log = { level = "info" ;'; } >"$CONF"
syntax_line=$(($(wc -l <"$T/good.conf") + 1))
kill -HUP "$DPID"
t_wait 30 "the syntax error logged" log_has "$CONF:$syntax_line: syntax error"
kill -0 "$DPID" 2>/dev/null || t_fail "handoffd died on a configuration with a syntax error"
# Events still flow, and the old level (debug) is still in force.
send_one after-bad-hup
send_rejected debug-2
t_wait 30 "a rejection logged at the old level" log_has "debug-2"

# ---- a good file: applied ----
sed 's/level = "debug"/level = "info"/' "$T/good.conf" >"$CONF"
grep -q 'level = "info"' "$CONF" || t_fail "could not change the log level in the file"
n=$(nlog "configuration reloaded")
reloaded() {
	[ "$(nlog "configuration reloaded")" -gt "$n" ]
}
kill -HUP "$DPID"
t_wait 30 "the good reload logged" reloaded
# The new level is in force: a rejection is no longer logged at debug.
# (The daemon logs a rejection before it replies, so once the reply is
# here the line would be too.)
send_rejected info-1
log_has "info-1" && t_fail "a debug line was logged after the level became info"
send_one after-good-hup
# `reload` of a good file answers ok.
out=$(t_ctl -t 30 reload) || t_fail "reload of a good file failed: $out"
[ "$(t_json 'd["ok"]' <<<"$out")" = true ] || t_fail "reload of a good file: $out"
# A change that takes a restart is applied only at the restart, and the
# log says so.
sed 's/level = "debug"/level = "info"/; s|^bus = {|bus = {\n  max_message_bytes = 4096;|' "$T/good.conf" >"$CONF"
grep -q 'max_message_bytes = 4096' "$CONF" || t_fail "could not add max_message_bytes to the file"
kill -HUP "$DPID"
t_wait 30 "the restart warning logged" log_has "takes a restart"
# The running limit (the default, 65536) stays: a body over 4096 bytes is
# still served.
{ printf '{"v":1,"id":"big-after-hup","source":"sigsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L"},"pad":"'; head -c 4900 /dev/zero | tr '\0' 'p'; printf '"}'; } >"$T/big.body"
reply=$("$ZT" raw "$ROUTER" lead.upserted "@$T/big.body") || t_fail "a body over 4096 bytes after the reload: no reply"
[ "$(t_json 'd["status"]' <<<"$reply")" = accepted ] || t_fail "a body over 4096 bytes after the reload: $reply"
cp "$T/good.conf" "$CONF"

# ---- SIGTERM under load: everything acknowledged is stored ----
N=30000
t_gen_events "$N" "$T/load.jsonl" sig
# Paced at 5000 a second, the load lasts 6 s; SIGTERM comes well before.
"$ZT" -t 15000 -w 500 -r 5000 dealer "$ROUTER" "$T/load.jsonl" "$T/load.acks" >"$T/dealer.out" 2>&1 &
LOADPID=$!
BGPIDS+=("$LOADPID")
acked() {
	[ -f "$T/load.acks" ] && [ "$(wc -l <"$T/load.acks")" -ge "$1" ]
}
t_wait 60 "1000 acknowledgements" acked 1000
t_stop
log_has "SIGTERM: committing what is in flight" || t_fail "the log does not show the drain"
rc=0
wait "$LOADPID" || rc=$?
[ "$rc" = 3 ] || t_fail "the load was not cut short by the SIGTERM (DEALER exit $rc): $(cat "$T/dealer.out")"
psql "$CONNINFO" -qAt -c "COPY (SELECT source, event_id FROM events) TO STDOUT" >"$T/stored.tsv"
/usr/bin/python3 - "$T/load.jsonl" "$T/load.acks" "$T/stored.tsv" <<'PY' || t_fail "acknowledged events are missing"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
stored = set(tuple(l.split("\t")) for l in open(sys.argv[3], encoding="utf-8").read().splitlines())
acked = 0
bad = []
for ack in open(sys.argv[2], encoding="utf-8").read().splitlines():
    no, reply = ack.split("\t", 1)
    ev = json.loads(lines[int(no) - 1])
    r = json.loads(reply)
    key = (ev["source"], ev["id"])
    if (r["source"], r["id"]) != key:
        bad.append("line %s: reply for %s/%s" % (no, r["source"], r["id"]))
    elif r["status"] not in ("accepted", "duplicate"):
        bad.append("line %s: %s" % (no, reply))
    elif key not in stored:
        bad.append("line %s: %s/%s acknowledged %s but not stored" % (no, key[0], key[1], r["status"]))
    acked += 1
for b in bad[:20]:
    print(b, file=sys.stderr)
print("%d acknowledged, %d stored" % (acked, len(stored)), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
# After a restart, a resend stores the rest, each event exactly once.
t_start
stored=$(t_sql "SELECT count(*) FROM events WHERE event_id LIKE '%-sig-%'")
out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/load.jsonl") || t_fail "resend: $out"
[ "$out" = "accepted $((N - stored)), duplicate $stored, rejected 0, invalid 0" ] ||
	t_fail "resend after SIGTERM: '$out', with $stored stored before"
[ "$(t_sql "SELECT count(*) FROM events WHERE event_id LIKE '%-sig-%'")" = "$N" ] ||
	t_fail "$(t_sql "SELECT count(*) FROM events WHERE event_id LIKE '%-sig-%'") events stored, want $N"

# ---- a second signal while the drain cannot finish ----
# Every batch that stores an event now fails (not a unique violation, so
# the daemon takes the database for lost and keeps retrying).
t_sql "CREATE FUNCTION test_fail_batch() RETURNS trigger LANGUAGE plpgsql
       AS \$\$ BEGIN RAISE EXCEPTION 'test: batch refused'; END \$\$;
       CREATE TRIGGER test_fail_batch BEFORE INSERT ON events
       FOR EACH STATEMENT EXECUTE FUNCTION test_fail_batch()" >/dev/null
printf '{"v":1,"id":"never","source":"sigsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L"}}\n' >"$T/never.jsonl"
"$ZT" -t 60000 dealer "$ROUTER" "$T/never.jsonl" "$T/never.acks" >/dev/null 2>&1 &
NEVERPID=$!
BGPIDS+=("$NEVERPID")
t_wait 30 "the failing commit logged" log_has "test: batch refused"
kill -INT "$DPID"
t_wait 30 "the drain logged" log_has "SIGINT: committing what is in flight"
# The drain cannot commit: the daemon waits (it retries), it does not exit.
sleep 1
kill -0 "$DPID" 2>/dev/null || t_fail "handoffd exited with a batch it could not commit"
kill -TERM "$DPID"
deadline=$((SECONDS + 30))
while kill -0 "$DPID" 2>/dev/null; do
	[ "$SECONDS" -lt "$deadline" ] || t_fail "handoffd did not exit at the second signal"
	sleep 0.05
done
rc=0
wait "$DPID" || rc=$?
DPID=""
[ "$rc" != 0 ] && [ "$rc" -lt 128 ] || t_fail "exit status $rc after the second signal, want a failure status of its own"
log_has "second signal: exiting at once; 1 uncommitted event(s) were not acknowledged" ||
	t_fail "the log does not report the uncommitted event"
kill "$NEVERPID" 2>/dev/null || true
wait "$NEVERPID" 2>/dev/null || true
[ ! -s "$T/never.acks" ] || t_fail "an uncommitted event was acknowledged: $(cat "$T/never.acks")"
[ "$(t_sql "SELECT count(*) FROM events WHERE event_id = 'never'")" = 0 ] || t_fail "the refused event was stored"
t_pass
