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
expect 2 "unknown command 'keygen'" keygen
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
# A usage error wins over a missing configuration.
expect 2 "lead needs one" -c "$tmp/missing.conf" lead

# Configuration errors.
expect 3 "$tmp/missing.conf" -c "$tmp/missing.conf" ping
printf 'bus = { this is not libconfig\n' >"$tmp/broken.conf"
expect 3 "$tmp/broken.conf" -c "$tmp/broken.conf" status
expect 3 "$tmp/missing.conf" -c "$tmp/missing.conf" send -
expect 3 "$tmp/missing.conf" -c "$tmp/missing.conf" tail

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

# tail: a publisher that never speaks, with --idle.
expect 1 "nothing received from ipc://$tmp/pub.sock within 0.5 s" \
	tail --no-fill --from "ipc://$tmp/pub.sock" --idle 0.5

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all checks passed"
