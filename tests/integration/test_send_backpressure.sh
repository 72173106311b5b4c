#!/bin/bash
# handoffctl send against a daemon that falls behind: when the socket's
# queue is full, the events held back go as soon as it drains, and none
# waits for its reply timeout to be sent again. (Each used to: a send of a
# few thousand events against a slow database stalled for the whole
# timeout, then resent what had never left.)
#
# Every batch sleeps a little (t_slow_batches), so that the daemon reads
# slower than the sender writes, and the window (5,000) is larger than the
# socket's queue (ZMQ_SNDHWM, 1,000), so that the queue fills. The timeout
# (20 s) is long enough that no reply of a working daemon misses it: the
# sender then reports no resend. Before the fix each run here stalled for
# 20 to 60 s and reported resends.
source "$(dirname "$0")/lib.sh"

N=8000
t_init handoff_send_backpressure
t_config
t_start
t_slow_batches 0.05
t_gen_events "$N" "$T/events.jsonl" bp

"$HANDOFFCTL" -t 20 send --window 5000 --to "$ROUTER" "$T/events.jsonl" \
	>"$T/send.out" 2>"$T/send.err" ||
	t_fail "send failed: $(cat "$T/send.out" "$T/send.err")"
grep -qx "accepted $N, duplicate 0, rejected 0, invalid 0" "$T/send.out" ||
	t_fail "send printed: $(cat "$T/send.out")"
if grep -q "resent" "$T/send.err"; then
	t_fail "events waited for the timeout: $(cat "$T/send.err")"
fi
[ "$(t_sql "SELECT count(*) FROM events")" = "$N" ] ||
	t_fail "$(t_sql "SELECT count(*) FROM events") events stored, not $N"
t_stop
t_pass
