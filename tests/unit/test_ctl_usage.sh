#!/bin/bash
# The command line of handoffctl (SPEC §8): usage errors exit 2, an
# unusable configuration exits 3, a daemon that does not answer exits 1
# with a message naming the endpoint, --help and --version exit 0. Nothing
# here needs a daemon: the endpoints are IPC paths nobody listens on.
set -u

ctl=${HANDOFFCTL:?HANDOFFCTL is not set (run through ctest)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect CODE TEXT ARGS...: runs handoffctl ARGS, checks the exit code and
# that TEXT (when not empty) appears in its standard output or error.
expect() {
	local want=$1 text=$2 rc
	shift 2
	"$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: handoffctl $*: exit $rc, want $want"
		sed 's/^/  | /' "$tmp/out" "$tmp/err"
		failures=$((failures + 1))
		return
	fi
	if [ -n "$text" ] && ! grep -qF -- "$text" "$tmp/out" "$tmp/err"; then
		echo "FAIL: handoffctl $*: output lacks '$text'"
		sed 's/^/  | /' "$tmp/out" "$tmp/err"
		failures=$((failures + 1))
	fi
}

none="ipc://$tmp/nobody.sock"

# Help and version.
expect 0 "usage: handoffctl" --help
expect 0 "usage: handoffctl" -h
expect 0 "usage: handoffctl" ping --help
expect 0 "handoffctl " --version

# Usage errors.
expect 2 "no command given"
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "keygen needs one NAME" keygen
expect 2 "keygen needs one NAME" keygen a b
expect 2 "is not a key name" keygen ../evil
expect 2 "is not a key name" keygen .hidden
expect 2 "does not apply to 'keygen'" keygen k -e "$none"
expect 2 "does not apply to 'ping'" -e "$none" ping --out "$tmp"
expect 2 "needs both keys: --server-key without --client-key" -e "$none" --server-key x ping
expect 2 "needs both keys: --client-key without --server-key" --client-key x tail
expect 2 "unknown option --bogus" --bogus ping
expect 2 "unknown option -x" -x ping
expect 2 "needs an argument" ping -e
expect 2 "takes no argument" -e "$none" ping extra
expect 2 "takes no argument" -e "$none" status extra
expect 2 "replay needs --since" -e "$none" replay
expect 2 "is not a non-negative integer" -e "$none" replay --since abc
expect 2 "is not a non-negative integer" -e "$none" replay --since -1
expect 2 "is not a non-negative integer" -e "$none" replay --since 99999999999999999999999
expect 2 "is not a positive integer" -e "$none" replay --since 1 --limit 0
expect 2 "lead needs one" -e "$none" lead
expect 2 "lead needs one" -e "$none" lead a b
expect 2 "go together" -e "$none" lead --source mkto
expect 2 "not both" -e "$none" lead x --source mkto --id 1
expect 2 "does not apply to 'ping'" -e "$none" ping --window 5
expect 2 "does not apply to 'replay'" -e "$none" replay --since 1 --count 2
expect 2 "is not a number of seconds" -e "$none" -t 0 ping
expect 2 "is not a number of seconds" -e "$none" -t abc ping
expect 2 "is not a number of seconds" -e "$none" -t -1 ping
expect 2 "send needs one FILE" send
expect 2 "send needs one FILE" send a b
expect 2 "is not a positive integer" send --to "$none" --window 0 -
expect 2 "is not a positive integer" send --to "$none" --max-tries x -
expect 2 "at most one PREFIX" tail a b
expect 2 "is not a positive integer" tail --count x
expect 2 "--no-fill" tail --no-fill --since 3
expect 2 "--week: '2026-W60' is not a week of 2026 (it has weeks 01 to 53)" \
	-e "$none" report --week 2026-W60
expect 2 "--week: '2025-W53' is not a week of 2025 (it has weeks 01 to 52)" \
	-e "$none" report --week 2025-W53
expect 2 "--week: 'garbage' is not an ISO week like 2026-W48" \
	-e "$none" report --week garbage
expect 2 "--week: '2026-11-23' is not an ISO week like 2026-W48" \
	-e "$none" report --week 2026-11-23
expect 2 "--format: 'pdf' is not a format: text, json or html" \
	-e "$none" report --format pdf
expect 2 "report takes no argument ('2026-W48')" -e "$none" report 2026-W48
expect 2 "does not apply to 'status'" -e "$none" status --week 2026-W48
expect 2 "does not apply to 'lead'" -e "$none" lead x --format json
expect 2 "needs an argument" -e "$none" report --week
expect 2 "simulate takes no argument ('x')" -e "$none" simulate x
expect 2 "--start: 'yesterday' is not a date (YYYY-MM-DD) or an RFC 3339 time" \
	simulate --start yesterday
expect 2 "--start: '2026-02-30' is not a date" simulate --start 2026-02-30
expect 2 "--days: '0' is not a number of days (1 to 366)" simulate --days 0
expect 2 "--days: '367' is not a number of days" simulate --days 367
expect 2 "--seed: '-1' is not a non-negative integer" simulate --seed -1
expect 2 "--rate: '0' is not a number of leads a day (1 to 100000)" simulate --rate 0
expect 2 "--tick: '1441' is not a number of minutes (1 to 1440)" simulate --tick 1441
expect 2 "--speed: '0' is not a speed-up factor" simulate --wall --speed 0
expect 2 "--speed: 'fast' is not a speed-up factor" simulate --wall --speed fast
expect 2 "simulate: --speed needs --wall" simulate --speed 10
expect 2 "simulate: --start does not apply to --wall" simulate --wall --start 2026-11-23
expect 2 "simulate: --tick does not apply to --wall" simulate --wall --tick 5
expect 2 "simulate: --dry-run prints the events at once" simulate --wall --dry-run
expect 2 "simulate: --dry-run sends nothing" simulate --dry-run --to "$none"
expect 2 "does not apply to 'send'" send --days 3 -
expect 2 "does not apply to 'tail'" tail --seed 3
expect 2 "does not apply to 'simulate'" simulate --brief
expect 2 "does not apply to 'ping'" -e "$none" ping --brief
# A usage error wins over a missing configuration.
expect 2 "simulate: --speed needs --wall" -c "$tmp/missing.conf" simulate --speed 2
expect 2 "lead needs one" -c "$tmp/missing.conf" lead

# Configuration errors.
expect 3 "$tmp/missing.conf" -c "$tmp/missing.conf" ping
printf 'bus = { this is not libconfig\n' >"$tmp/broken.conf"
expect 3 "$tmp/broken.conf" -c "$tmp/broken.conf" status
expect 3 "$tmp/missing.conf" -c "$tmp/missing.conf" send -
expect 3 "$tmp/missing.conf" -c "$tmp/missing.conf" tail
expect 3 "$tmp/missing.conf" -c "$tmp/missing.conf" report
expect 3 "$tmp/missing.conf" -c "$tmp/missing.conf" simulate --dry-run

# No reply within -t: exit 1 with the endpoint and the time in the message,
# after about that time (options may also follow the command).
start=$(date +%s%N)
expect 1 "" -e "$none" -t 1 ping
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$(cat "$tmp/err")" != "handoffctl: no reply from $none within 1 s" ]; then
	echo "FAIL: ping without a daemon: unexpected message:"
	sed 's/^/  | /' "$tmp/err"
	failures=$((failures + 1))
fi
if [ "$elapsed_ms" -lt 900 ] || [ "$elapsed_ms" -gt 4000 ]; then
	echo "FAIL: ping without a daemon took ${elapsed_ms} ms, want about 1 s"
	failures=$((failures + 1))
fi
expect 1 "no reply from $none within 0.5 s" status -t 0.5 -e "$none"
expect 1 "no reply from $none within 0.5 s" -e "$none" -t 0.5 lead ann@example.com
expect 1 "no reply from $none within 0.5 s" -e "$none" -t 0.5 replay --since 0
expect 1 "no reply from $none within 0.5 s" -e "$none" -t 0.5 report --week 2026-w48 --format html
expect 1 "cannot connect to bogus://x" -e bogus://x ping

# send: an unreadable file; lines that are invalid are reported with their
# line numbers and never sent; a daemon that never answers with --max-tries.
expect 1 "cannot open $tmp/missing.jsonl" send --to "$none" "$tmp/missing.jsonl"
printf 'not json\n\n[1]\n{"type": "lead.upserted", "source": "mkto"}\n' >"$tmp/invalid.jsonl"
expect 1 "accepted 0, duplicate 0, rejected 0, invalid 3" send --to "$none" "$tmp/invalid.jsonl"
for line in "line 1: invalid: not JSON" "line 3: invalid: not a JSON object" \
    "line 4: invalid: no \"id\" string"; do
	grep -qF -- "$line" "$tmp/out" || {
		echo "FAIL: send of invalid lines: no '$line'"
		failures=$((failures + 1))
	}
done
printf '{"type": "lead.upserted", "source": "mkto", "id": "e1"}\n' >"$tmp/one.jsonl"
expect 1 "one.jsonl:1: mkto/e1: no reply from $none after 2 tries" \
	send --to "$none" -t 0.2 --max-tries 2 "$tmp/one.jsonl"
expect 1 "no reply from $none after 2 tries" \
	send --to "$none" -t 0.2 --max-tries 2 - <"$tmp/one.jsonl"

# keygen: a pair, never overwritten; a directory that does not exist.
expect 0 "$tmp/k1.pub: public key " keygen k1 --out "$tmp"
[ "$(stat -c %a "$tmp/k1.key")" = 600 ] || {
	echo "FAIL: keygen: $tmp/k1.key has mode $(stat -c %a "$tmp/k1.key")"
	failures=$((failures + 1))
}
expect 1 "$tmp/k1.pub: already exists" keygen k1 --out "$tmp"
expect 1 "$tmp/nodir/k2.key: cannot create" keygen k2 --out "$tmp/nodir"

# CurveZMQ keys that cannot be used: exit 3, naming the option and file.
expect 3 "--server-key: $tmp/missing.pub: cannot open" \
	-e "$none" --server-key "$tmp/missing.pub" --client-key "$tmp/k1.key" ping
printf 'short\n' >"$tmp/short.pub"
expect 3 "--server-key: $tmp/short.pub: expected a 40-character Z85 key" \
	send --to "$none" --server-key "$tmp/short.pub" --client-key "$tmp/k1.key" -
cp "$tmp/k1.key" "$tmp/open.key"
chmod 644 "$tmp/open.key"
expect 3 "--client-key: $tmp/open.key: a secret key must not be open to every user" \
	tail --from "$none" --server-key "$tmp/k1.pub" --client-key "$tmp/open.key"
HANDOFF_CURVE_SERVER_KEY=$tmp/short.pub expect 3 "HANDOFF_CURVE_SERVER_KEY: $tmp/short.pub" \
	-e "$none" --client-key "$tmp/k1.key" ping
HANDOFF_CURVE_CLIENT_KEY=$tmp/k1.key expect 2 "needs both keys: HANDOFF_CURVE_CLIENT_KEY without --server-key" \
	-e "$none" ping
# With good keys, an ipc endpoint stays plain: no reply, as without keys.
expect 1 "no reply from $none within 0.5 s" \
	-e "$none" -t 0.5 --server-key "$tmp/k1.pub" --client-key "$tmp/k1.key" ping

# simulate: needs a calendar (the first team's, else the first), an
# event-time daemon unless --wall, and a daemon that answers; --dry-run
# needs no daemon and prints the same events every time.
sim_conf() {
	cat <<CONF
database = { conninfo = "postgresql:///nothing"; };
bus = {
  ingest = ( { kind = "router"; endpoint = "tcp://127.0.0.1:9"; } );
  publish = "tcp://127.0.0.1:10";
  control = "$none";
};
clock = { mode = "$1"; };
$2
CONF
}
cal='calendars = ( { name = "emea"; timezone = "Europe/London";
  hours = { mon = "09:00-17:30"; tue = "09:00-17:30"; wed = "09:00-17:30";
            thu = "09:00-17:30"; fri = "09:00-12:00,13:00-16:00"; }; } );'
sim_conf event "" >"$tmp/nocal.conf"
sim_conf wall "$cal" >"$tmp/wall.conf"
sim_conf event "$cal" >"$tmp/event.conf"
expect 3 "simulate: $tmp/nocal.conf has no calendar" -c "$tmp/nocal.conf" simulate
expect 1 "simulate: $tmp/wall.conf: clock.mode is \"wall\"; a simulation in event time needs \"event\" (or use --wall)" \
	-c "$tmp/wall.conf" simulate
expect 1 "simulate: no reply from $none within 0.5 s (is handoffd running?)" \
	-c "$tmp/event.conf" -t 0.5 simulate --days 1
expect 0 "week 2026-W48: " -c "$tmp/event.conf" simulate --dry-run --start 2026-11-23
mv "$tmp/out" "$tmp/week1.jsonl"
expect 0 "" -c "$tmp/event.conf" simulate --dry-run --start 2026-11-23
cmp -s "$tmp/out" "$tmp/week1.jsonl" || {
	echo "FAIL: simulate --dry-run: two runs differ"
	failures=$((failures + 1))
}
ticks=$(grep -c '"type":"clock.tick"' "$tmp/week1.jsonl")
[ "$ticks" = 2016 ] || {
	echo "FAIL: simulate --dry-run: $ticks clock.tick events in a week, want 2016"
	failures=$((failures + 1))
}
expect 0 "" -c "$tmp/event.conf" simulate --dry-run --start 2026-11-23 --seed 2
if cmp -s "$tmp/out" "$tmp/week1.jsonl"; then
	echo "FAIL: simulate --dry-run: seeds 1 and 2 give the same events"
	failures=$((failures + 1))
fi
# Nothing after the end of the week; the last event is a tick at it.
last=$(grep -o '"occurred_at":"[^"]*"' "$tmp/week1.jsonl" | sort | tail -n 1)
[ "$last" = '"occurred_at":"2026-11-30T00:00:00Z"' ] || {
	echo "FAIL: simulate --dry-run: the latest event is at $last"
	failures=$((failures + 1))
}
tail -n 1 "$tmp/week1.jsonl" | grep -q '"type":"clock.tick".*"occurred_at":"2026-11-30T00:00:00Z"' || {
	echo "FAIL: simulate --dry-run: the last event is not a tick at the end"
	failures=$((failures + 1))
}

# tail: a publisher that never speaks, with --idle.
expect 1 "nothing received from ipc://$tmp/pub.sock within 0.5 s" \
	tail --no-fill --from "ipc://$tmp/pub.sock" --idle 0.5

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all checks passed"
