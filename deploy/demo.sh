#!/bin/bash
# The demo: builds handoff, starts a private PostgreSQL in ./demo-run, starts
# handoffd with deploy/handoffd.conf (its endpoints moved to free local
# ports, its database the private one, its clock in event mode), replays a
# simulated week of marketing and sales events into it (handoffctl
# simulate) while a subscriber shows the hand-offs and alerts as they are
# published, and ends with the joint scorecard of that week.
# Everything it starts, it stops; ./demo-run keeps the logs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run="$root/demo-run"

deploy/deps.sh
echo "==> building"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHANDOFF_TESTS=OFF >/dev/null
cmake --build build/demo -j "$(nproc 2>/dev/null || echo 2)" --target handoffd handoffctl >/dev/null
handoffd=build/demo/handoffd
handoffctl=build/demo/handoffctl

mkdir -p "$run"
daemon_pid=""
tail_pid=""
show_pid=""
cleanup() {
	for pid in "$tail_pid" "$show_pid"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	tests/pg.sh stop "$run/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "==> starting a private PostgreSQL"
tests/pg.sh stop "$run/pg" >/dev/null 2>&1 || true
tests/pg.sh start "$run/pg"

free_port() {
	local p
	while :; do
		p=$(( (RANDOM % 12000) + 20000 ))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# The example configuration, with what a demo on any machine must change.
conf="$run/handoffd.conf"
sed -e "s#conninfo = \"[^\"]*\"#conninfo = \"$(cat "$run/pg/conninfo")\"#" \
    -e "s#tcp://127.0.0.1:5555#tcp://127.0.0.1:$(free_port)#" \
    -e "s#tcp://127.0.0.1:5556#tcp://127.0.0.1:$(free_port)#" \
    -e "s#tcp://127.0.0.1:5557#tcp://127.0.0.1:$(free_port)#" \
    -e "s#tcp://127.0.0.1:5558#tcp://127.0.0.1:$(free_port)#" \
    -e "s#ipc:///run/handoff/control.sock#ipc://$run/control.sock#" \
    -e "s#mode = \"wall\"#mode = \"event\"#" \
    -e "s#listen = \"127.0.0.1:9464\"#listen = \"127.0.0.1:$(free_port)\"#" \
    deploy/handoffd.conf >"$conf"

echo "==> checking the configuration"
"$handoffd" --check-config -c "$conf"

echo "==> starting handoffd"
"$handoffd" -c "$conf" 2>"$run/handoffd.log" &
daemon_pid=$!
for _ in $(seq 1 100); do
	"$handoffctl" -c "$conf" -t 1 ping >/dev/null 2>&1 && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$run/handoffd.log" >&2; exit 1; }
	sleep 0.1
done
"$handoffctl" -c "$conf" ping

# A subscriber writes every published message, one line each, to
# published.txt; the screen shows the hand-offs that went wrong or moved,
# the breaches, escalations, missed targets and conflicts, and the first
# few ordinary hand-offs. The rest is counted at the end.
echo "==> live: what handoffd publishes (handoffctl tail --brief; all of it in $run/published.txt)"
"$handoffctl" -c "$conf" tail --brief >"$run/published.txt" 2>"$run/tail.log" &
tail_pid=$!
tail -n +1 -f --pid="$tail_pid" "$run/published.txt" | awk '
	$2 == "handoff.assigned" {
		if (++assigned <= 8) print
		else if (assigned == 9)
			print "        (further handoff.assigned lines are counted at the end)"
		fflush()
		next
	}
	$2 ~ /^(handoff\.|sla\.(breached|escalated|target_missed)$|reconcile\.conflict$)/ {
		print
		fflush()
	}' &
show_pid=$!
sleep 0.5

echo "==> replaying a simulated week of marketing and sales events (handoffctl simulate)"
"$handoffctl" -c "$conf" simulate >"$run/simulate.txt"
# The subscriber has everything once it shows the last seq committed.
last_seq=""
for _ in $(seq 1 100); do
	last_seq=$("$handoffctl" -c "$conf" status | sed -n 's/.*"last_seq": *\([0-9]*\).*/\1/p')
	shown=$(tail -n 1 "$run/published.txt" | sed -n 's/^#\([0-9]*\) .*/\1/p')
	[ -n "$last_seq" ] && [ "$shown" = "$last_seq" ] && break
	sleep 0.1
done
kill "$tail_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
tail_pid=""
wait "$show_pid" 2>/dev/null || true
show_pid=""

echo "==> what was sent"
cat "$run/simulate.txt"
echo "==> what handoffd published in reply ($last_seq messages)"
awk '{ n[$2]++ } END { for (t in n) printf "  %-19s %7d\n", t, n[t] }' \
	"$run/published.txt" | sort

# A lead whose acceptance clock breached and escalated: its whole story.
lead=$(awk '$2 == "sla.escalated" { print $3; exit }' "$run/published.txt")
if [ -n "$lead" ]; then
	echo "==> one lead nobody accepted in time: handoffctl lead $lead"
	"$handoffctl" -c "$conf" lead "$lead" | python3 -m json.tool
fi

week=$(sed -n 's/.*, week \([0-9]*-W[0-9]*\): .*/\1/p' "$run/simulate.txt")
echo "==> the joint scorecard of the simulated week (handoffctl report --week $week; as a page: $run/scorecard.html)"
"$handoffctl" -c "$conf" report --week "$week"
"$handoffctl" -c "$conf" report --week "$week" --format html >"$run/scorecard.html"

# Last, because their times (other months) move the event clock weeks past
# the simulated week.
echo "==> sending the protocol's example messages (proto/examples), valid and invalid"
events="$run/examples.jsonl"
: >"$events"
for f in proto/examples/valid/*.msg proto/examples/invalid/*.msg; do
	# A .msg file is the topic line, then the body; JSON lines need the
	# body on one line (a newline in JSON is only ever white space).
	tail -n +2 "$f" | tr '\n' ' ' >>"$events"
	echo >>"$events"
done
"$handoffctl" -c "$conf" send "$events" | head -n 12 || true
echo "    (the full list of rejections, with their reasons, is in the database: rejected_messages)"

echo "==> status"
"$handoffctl" -c "$conf" status
echo "==> stopping"
kill -TERM "$daemon_pid"
wait "$daemon_pid"
daemon_pid=""
echo "==> the daemon's log is in $run/handoffd.log"
