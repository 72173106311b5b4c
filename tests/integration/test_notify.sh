#!/bin/bash
# The sd_notify protocol (SPEC §9), through a fake NOTIFY_SOCKET: a unix
# datagram listener records every message. READY=1 comes only once the
# database is reachable (the daemon starts while its database does not
# exist yet); WATCHDOG=1 comes repeatedly, more often than WATCHDOG_USEC;
# STATUS= carries live figures; a reload, good or refused, is wrapped in
# RELOADING=1 ... READY=1; SIGTERM gives STOPPING=1.
source "$(dirname "$0")/lib.sh"

t_init handoff_t_notify
# The daemon's database does not exist at first.
t_psql_admin -c "DROP DATABASE handoff_t_notify WITH (FORCE)" >/dev/null
t_config
cp "$T/handoffd.conf" "$T/good.conf"

NOTIFY=$T/notify.sock
NOTES=$T/notify.log
/usr/bin/python3 - "$NOTIFY" "$NOTES" <<'PY' &
import json, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a") as f:
    while True:
        data = s.recv(65536)
        f.write(json.dumps({"t": time.monotonic(),
                            "msg": data.decode("utf-8", "replace")}) + "\n")
        f.flush()
PY
LPID=$!
trap 'kill "$LPID" 2>/dev/null || true; t_cleanup' EXIT
t_wait 30 "the notify listener" test -S "$NOTIFY"
: >>"$NOTES"

# Writes every datagram so far to $T/notes, one a line:
# "SECONDS<TAB>FIELD|FIELD|...". The checks read that file (a pipe from a
# reader that stops early would fail under pipefail).
snap() {
	/usr/bin/python3 -c '
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        out.write("%.3f\t%s\n" % (r["t"], r["msg"].rstrip("\n").replace("\n", "|")))
' "$NOTES" "$T/notes"
}
notes() {
	snap
	cat "$T/notes"
}
# How many datagrams hold the field exactly (e.g. READY=1).
nfield() {
	snap
	cut -f2 "$T/notes" | tr '|' '\n' | grep -cxF -- "$1" || true
}
nfield_ge() {
	[ "$(nfield "$1")" -ge "$2" ]
}
log_has() {
	grep -qF -- "$1" "$LOG"
}

# WATCHDOG_PID must be the daemon's own pid: bash execs into handoffd.
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=2000000 \
	bash -c 'export WATCHDOG_PID=$$; exec "$0" -c "$1"' "$HANDOFFD" "$T/handoffd.conf" 2>>"$LOG" &
DPID=$!
ping_ok() {
	t_ctl -t 0.5 ping >/dev/null 2>&1
}
t_wait 20 "the control socket" ping_ok

# ---- not ready while the database is missing ----
t_wait 20 "the connection failure logged" log_has "database unavailable"
t_endpoints
[ "$(t_ctl -t 30 status | t_json 'd["database"]')" = disconnected ] || t_fail "status does not say disconnected"
[ "$(nfield READY=1)" = 0 ] || t_fail "READY=1 before the database was reachable: $(notes)"
t_psql_admin -c "CREATE DATABASE handoff_t_notify" >/dev/null
t_wait 60 "READY=1" nfield_ge READY=1 1
[ "$(t_ctl -t 30 status | t_json 'd["database"]')" = connected ] || t_fail "READY=1 but the database is not connected"
# Connected means migrated: the schema is there.
[ "$(t_sql "SELECT count(*) FROM schema_migrations")" -ge 1 ] || t_fail "READY=1 before the migrations"
snap
grep -q $'\tREADY=1|STATUS=' "$T/notes" || t_fail "READY=1 without a STATUS=: $(notes)"

# ---- the watchdog: at least every WATCHDOG_USEC (2 s), from the loop ----
ready_t=$(awk -F'\t' 'index($2, "READY=1") { print $1; exit }' "$T/notes")
wd_after_ready() {
	snap
	[ "$(awk -F'\t' -v t="$ready_t" '$1 > t && $2 == "WATCHDOG=1"' "$T/notes" | wc -l)" -ge "$1" ]
}
t_wait 30 "4 WATCHDOG=1 after READY=1" wd_after_ready 4
awk -F'\t' -v t="$ready_t" '$1 > t && $2 == "WATCHDOG=1" { print $1 }' "$T/notes" >"$T/wd.times"
/usr/bin/python3 - "$T/wd.times" <<'PY' || t_fail "WATCHDOG=1 too rarely"
import sys
t = [float(x) for x in open(sys.argv[1])]
gaps = [b - a for a, b in zip(t, t[1:])]
print("watchdog intervals: %s" % ", ".join("%.2f" % g for g in gaps), file=sys.stderr)
# The daemon pings at half of WATCHDOG_USEC (1 s); on average the gaps
# must stay under WATCHDOG_USEC itself, where systemd would fail the
# service (a single late ping on a busy machine is tolerated).
sys.exit(0 if len(gaps) >= 3 and sum(gaps) / len(gaps) < 2.0 else 1)
PY

# ---- STATUS= with live figures ----
STATUS_RE='STATUS=database connected; [0-9]+ events/s; batch avg [0-9.]+; last seq [0-9]+; buffered [0-9]+'
has_status() {
	snap
	grep -Eq "$STATUS_RE" "$T/notes"
}
t_wait 30 "a STATUS= with the figures" has_status
cat >"$T/events.jsonl" <<'EOF'
{"v":1,"id":"n-1","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L-n1","email":"n1@x.example"}}
{"v":1,"id":"n-2","source":"salesforce","type":"sales.rejected","occurred_at":"2026-03-10T15:22:05Z","lead_ref":{"email":"n1@x.example"},"reason":"no budget"}
EOF
out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/events.jsonl") || t_fail "send: $out"
[ "$out" = "accepted 2, duplicate 0, rejected 0, invalid 0" ] || t_fail "send: $out"
# The figures follow: events were counted, batches were committed, and the
# rejection published a message (seq 1).
live() {
	snap
	cut -f2 "$T/notes" | tr '|' '\n' | /usr/bin/python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"STATUS=database connected; (\d+) events/s; batch avg ([0-9.]+); last seq (\d+); buffered (\d+)$", line.strip())
    if m and int(m.group(1)) >= 1 and float(m.group(2)) > 0:
        sys.exit(0)
sys.exit(1)'
}
t_wait 20 "a STATUS= with events/s and the batch size" live
last_seq_1() {
	snap
	grep -q 'STATUS=database connected; [0-9]* events/s; batch avg [0-9.]*; last seq 1; buffered' "$T/notes"
}
t_wait 20 "a STATUS= with last seq 1" last_seq_1

# ---- reload: RELOADING=1 then READY=1, for a good and for a refused file ----
reload_wrapped() { # N: the Nth RELOADING=1 is followed by a READY=1
	snap
	cut -f2 "$T/notes" | /usr/bin/python3 -c '
import sys
n = int(sys.argv[1])
msgs = [l.rstrip("\n").split("|") for l in sys.stdin]
idx = [i for i, m in enumerate(msgs) if "RELOADING=1" in m]
if len(idx) < n:
    sys.exit(1)
i = idx[n - 1]
if not any(f.startswith("MONOTONIC_USEC=") for f in msgs[i]):
    print("RELOADING=1 without MONOTONIC_USEC", file=sys.stderr)
    sys.exit(1)
sys.exit(0 if any("READY=1" in m for m in msgs[i + 1:]) or "READY=1" in msgs[i] else 1)' "$1"
}
nready=$(nfield READY=1)
kill -HUP "$DPID"
t_wait 20 "RELOADING=1 then READY=1 (SIGHUP, good file)" reload_wrapped 1
t_wait 30 "the reload logged" log_has "configuration reloaded"
[ "$(nfield READY=1)" -gt "$nready" ] || t_fail "no new READY=1 after the reload"
{ cat "$T/good.conf"; echo "typo_setting = 1;"; } >"$T/handoffd.conf"
kill -HUP "$DPID"
t_wait 20 "RELOADING=1 then READY=1 (SIGHUP, refused file)" reload_wrapped 2
t_wait 30 "the refusal logged" log_has "reload refused"
cp "$T/good.conf" "$T/handoffd.conf"
t_ctl -t 30 reload >/dev/null || t_fail "reload failed"
t_wait 20 "RELOADING=1 then READY=1 (reload command)" reload_wrapped 3

# ---- SIGTERM: STOPPING=1, exit 0 ----
[ "$(nfield STOPPING=1)" = 0 ] || t_fail "STOPPING=1 before the SIGTERM"
t_stop
t_wait 30 "STOPPING=1" nfield_ge STOPPING=1 1
t_pass
