# kill -9 of the daemon, twice, while `handoffctl send` pushes 20,000 events
# through the acknowledged router endpoint (SPEC §2.4, §5). Afterwards
# exactly the 20,000 events of the file are stored, each once and byte for
# byte, and every event the daemon ever acknowledged is among them: the
# sender stops resending a line once it is answered, so an acknowledgement
# given before the commit, followed by the crash, would leave a hole.
#
# The first kill is placed inside a batch transaction: the test locks the
# events table, waits until the daemon's COPY blocks on that lock, kills the
# daemon, then releases the lock. Whatever the daemon acknowledged of that
# batch before its commit would be lost. The second kill lands wherever the
# daemon happens to be.
#
# The router endpoint has a fixed port, so that the sender's socket finds
# the restarted daemon where the old one was. The load is held to a few
# thousand events a second (a window of 200 in flight, batches closed after
# 20 ms, and commits slowed by 20 ms), so that the kills land mid-load.
. "$(dirname "$0")/lib.sh"

N=20000
SPID=""
LOCKPID=""

cleanup() {
	t_kill_job "$SPID"
	t_kill_job "$LOCKPID"
	# A daemon that ended by itself is not ours to kill any more.
	alive "${DPID:-none}" || DPID=""
	t_cleanup
}
trap cleanup EXIT

# Whether background job $1 of this shell still runs (the job table, not
# kill -0: the PID of a job that ended may be someone else's by now).
alive() {
	jobs -rp | grep -qx -- "$1"
}

# Reaps a daemon that exited on its own and fails with its exit status.
daemon_died() {
	local rc=0
	wait "$DPID" || rc=$?
	DPID=""
	t_fail "handoffd died during the load (exit status $rc)"
}

t_init handoff_crash_daemon
PORT=$(t_free_port)
cat >"$T/handoffd.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
bus = {
  ingest = (
    { kind = "pull";   endpoint = "tcp://127.0.0.1:*"; },
    { kind = "router"; endpoint = "tcp://127.0.0.1:$PORT"; }
  );
  publish = "tcp://127.0.0.1:*";
  control = "ipc://$T/control.sock";
};
batch = { max_wait_ms = 20; };
log = { level = "info"; };
CONF
t_gen_events "$N" "$T/events.jsonl" crash
[ "$(wc -l <"$T/events.jsonl")" = "$N" ] || t_fail "generator wrote the wrong number of lines"

t_start
[ "$ROUTER" = "tcp://127.0.0.1:$PORT" ] || t_fail "router bound on $ROUTER, not port $PORT"
t_slow_batches 0.02

"$HANDOFFCTL" -t 1 send "$T/events.jsonl" --to "$ROUTER" --window 200 \
	>"$T/send.out" 2>"$T/send.err" &
SPID=$!

stored() {
	t_sql "SELECT count(*) FROM events"
}

# Waits until more than $1 events are stored, while the sender still runs.
wait_stored() {
	local want=$1 n
	for _ in $(seq 1 2400); do
		n=$(stored)
		[ "$n" -gt "$want" ] && return 0
		alive "$SPID" ||
			t_fail "handoffctl send ended with $n events stored, before the kill at $want"
		alive "$DPID" || daemon_died
		sleep 0.05
	done
	t_fail "fewer than $want events stored after 120 s"
}

# A session of the test's own holds an exclusive lock on events (taken and
# released through a FIFO), so that the daemon's next batch waits inside its
# transaction.
lock_events() {
	mkfifo "$T/lock.fifo"
	psql "$CONNINFO" -qAt -v ON_ERROR_STOP=1 <"$T/lock.fifo" >/dev/null &
	LOCKPID=$!
	exec 7>"$T/lock.fifo"
	echo "BEGIN; LOCK TABLE events IN EXCLUSIVE MODE;" >&7
	for _ in $(seq 1 600); do
		[ "$(t_sql "SELECT count(*) FROM pg_locks WHERE granted AND
		    relation = 'events'::regclass AND mode = 'ExclusiveLock'")" = 1 ] &&
			return 0
		sleep 0.05
	done
	t_fail "could not lock the events table within 30 s"
}

unlock_events() {
	echo "COMMIT;" >&7
	exec 7>&-
	wait "$LOCKPID" || { LOCKPID=""; t_fail "the locking session failed"; }
	LOCKPID=""
}

# Waits until the daemon's batch waits for the lock (nothing else in this
# database can).
wait_blocked() {
	for _ in $(seq 1 600); do
		[ "$(t_sql "SELECT count(*) FROM pg_stat_activity WHERE
		    datname = current_database() AND wait_event_type = 'Lock'")" = 1 ] &&
			return 0
		alive "$DPID" || daemon_died
		sleep 0.05
	done
	t_fail "the daemon's batch did not reach the locked table within 30 s"
}

restart() {
	local n
	alive "$SPID" || t_fail "handoffctl send ended before the kill"
	n=$(stored)
	[ "$n" -lt "$N" ] || t_fail "all $N events were stored before the kill"
	echo "${SECONDS}s: killed handoffd $1 with $n events stored"
	t_start
	[ "$ROUTER" = "tcp://127.0.0.1:$PORT" ] || t_fail "router bound on $ROUTER after the restart"
}

wait_stored 5000
lock_events
wait_blocked
t_kill9
unlock_events
restart "inside a batch transaction"

wait_stored 12000
t_kill9
restart "wherever it was"

# The sender exits once every line is answered.
for _ in $(seq 1 3000); do
	alive "$SPID" || break
	alive "$DPID" || daemon_died
	sleep 0.1
done
alive "$SPID" && t_fail "handoffctl send did not finish within 300 s"
rc=0
wait "$SPID" || rc=$?
SPID=""
echo "${SECONDS}s: handoffctl send finished"
cat "$T/send.out"
[ "$rc" = 0 ] || { cat "$T/send.err" >&2; t_fail "handoffctl send exited $rc"; }

# Every line answered accepted or duplicate, none rejected. Duplicates are
# resends of events whose commit went through but whose reply was lost.
t_check_sent_once "$N"

t_stop
# Three runs of the daemon, none with a warning or an error.
[ "$(grep -c ' database connected$' "$LOG")" = 3 ] || t_fail "expected three starts in the log"
if grep -E '\] (error|warn): ' "$LOG" >&2; then
	t_fail "warnings or errors in the daemon log"
fi
echo "sender: $acc accepted, $dup duplicate; $(grep -c '' "$T/send.err") warning line(s)"
t_pass
