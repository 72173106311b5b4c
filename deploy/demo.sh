#!/bin/bash
# The demo: builds handoff, starts a private PostgreSQL in ./demo-run, starts
# handoffd with deploy/handoffd.conf (its endpoints moved to free local
# ports, its database the private one, its clock in event mode) and feeds
# it events through the acknowledged endpoint, then shows what it did.
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
cleanup() {
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

echo "==> a subscriber prints what handoffd publishes (handoffctl tail)"
"$handoffctl" -c "$conf" tail >"$run/published.jsonl" 2>"$run/tail.log" &
tail_pid=$!
sleep 0.5

echo "==> sending a few days of marketing and sales events (deploy/demo-events.jsonl)"
echo "    some arrive out of order, one names a person nobody knows"
"$handoffctl" -c "$conf" send --window 1 deploy/demo-events.jsonl || true
sleep 1.5
kill "$tail_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
echo "==> published:"
cat "$run/published.jsonl"

echo "==> the reconciled lead of ana.lopez@northwind.example (two marketing tools, one lead)"
"$handoffctl" -c "$conf" lead ana.lopez@northwind.example

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
