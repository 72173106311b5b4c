#!/bin/bash
# What went out on the bus, recorded as ranges of seq (sql/009): a daemon
# records exactly the seqs it published, never those another daemon
# committed in between; a row that no range covers is published when a
# daemon starts, and recorded then, after which the daemon reports the
# last recorded seq as published; ranges that touch merge when recorded
# and at start.
#
# The other daemon is played by SQL: outbox rows committed (and seq taken)
# while the daemon runs, as a daemon would that died before publishing.
# The daemon's own messages are handoff.recycled, one per sales.rejected.
source "$(dirname "$0")/lib.sh"

t_init handoff_t_outbox_published
t_config
t_start

# Waits (at most 10 s) until the uncovered seqs are $1: the daemon records
# what it published with its next batch or its once-a-second heartbeat.
await_uncovered() {
	local deadline=$((SECONDS + 10))
	until [ "$(t_uncovered)" = "$1" ]; do
		[ "$SECONDS" -lt "$deadline" ] || t_fail "uncovered seqs: '$(t_uncovered)', want '$1'; ranges $(t_ranges)"
		sleep 0.2
	done
}

# ---- one daemon keeps one range ----
t_recycle 1 5
await_uncovered ""
[ "$(t_ranges)" = "0:5" ] || t_fail "after seq 1-5: ranges $(t_ranges)"

# ---- another daemon commits 6-10 and dies before publishing them ----
t_sql "BEGIN;
INSERT INTO outbox (seq, type, body)
SELECT s, 'handoff.recycled', format('{\"v\":1,\"type\":\"handoff.recycled\",\"seq\":%s}', s)
FROM generate_series(6, 10) s;
UPDATE outbox_seq SET last_seq = 10;
COMMIT" >/dev/null
t_recycle 11 15
# This daemon's record covers 11-15, not the other's 6-10.
await_uncovered "6,7,8,9,10"
[ "$(t_ranges)" = "0:5,10:15" ] || t_fail "after seq 11-15: ranges $(t_ranges)"

# ---- a record lost in a crash: 3 went out but was not recorded ----
t_stop
t_sql "UPDATE outbox_published SET hi = 2 WHERE lo = 0;
INSERT INTO outbox_published (lo, hi) VALUES (3, 5)" >/dev/null
# What the daemon logged since line $1 of its log.
since() { tail -n "+$(($1 + 1))" "$LOG"; }
n=$(wc -l <"$LOG")
t_start
since "$n" | grep -q "publishing 6 message(s) committed but not recorded as published, seq 3 to 10" ||
	t_fail "no republication of seq 3 and 6-10 at start: $(since "$n" | grep -i publishing)"
await_uncovered ""
[ "$(t_ranges)" = "0:15" ] || t_fail "touching ranges not merged when recorded: $(t_ranges)"
# What it publishes and reports as published (status, bus.heartbeat) is
# the last recorded seq, not the last of the stragglers.
lp=$(t_ctl status | t_json 'd["last_published"]')
[ "$lp" = 15 ] || t_fail "last_published after the start is $lp, not 15"
t_stop

# ---- the next start publishes nothing again and merges the ranges ----
n=$(wc -l <"$LOG")
t_start
! since "$n" | grep -q "publishing" || t_fail "republished at the second start: $(since "$n" | grep publishing)"
[ "$(t_ranges)" = "0:15" ] || t_fail "ranges at the second start: $(t_ranges)"
t_recycle 16 17
await_uncovered ""
[ "$(t_ranges)" = "0:17" ] || t_fail "after seq 16-17: ranges $(t_ranges)"
t_stop

# ---- ranges that touch, left by an older daemon, merge at start ----
t_sql "DELETE FROM outbox_published;
INSERT INTO outbox_published (lo, hi) VALUES (0, 4), (4, 9), (9, 17)" >/dev/null
t_start
[ "$(t_ranges)" = "0:17" ] || t_fail "touching ranges not merged at start: $(t_ranges)"
t_stop

# ---- a gap below the first range; then no record at all ----
# Starts the daemon and checks that it publishes what $1 says, then that
# it records it.
start_publishing() { # "N message(s) ..., seq A to B"
	local n
	n=$(wc -l <"$LOG")
	t_start
	since "$n" | grep -q "publishing $1" ||
		t_fail "at start, want \"publishing $1\": $(since "$n" | grep -i publishing)"
	await_uncovered ""
	t_stop
}
t_sql "DELETE FROM outbox_published;
INSERT INTO outbox_published (lo, hi) VALUES (4, 17)" >/dev/null
start_publishing "4 message(s) committed but not recorded as published, seq 1 to 4"
t_sql "DELETE FROM outbox_published" >/dev/null
start_publishing "17 message(s) committed but not recorded as published, seq 1 to 17"
t_check_recorded
t_pass
