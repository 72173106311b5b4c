#!/bin/bash
# Plays every scenario of tests/scenarios/ through the real daemon and
# PostgreSQL and checks what it published and the leads it ended with (the
# format is in tests/scenarios/README.md).
#
#   test_scenarios.sh [GLOB]    only the scenarios whose name matches GLOB
#
# HANDOFF_SCENARIOS names another directory of scenarios (for trying the
# runner itself).
#
# Each scenario gets a fresh database and its own daemon with the event
# clock. Its events are sent one at a time (handoffctl send --window 1:
# the next is sent only once the previous is committed and acknowledged),
# so that each is a batch of its own and the outcome does not depend on
# how the daemon happens to group them.
source "$(dirname "$0")/lib.sh"

SCENARIOS=${HANDOFF_SCENARIOS:-$HANDOFF_SOURCE_DIR/tests/scenarios}
COMPARE="$HANDOFF_SOURCE_DIR/tests/integration/scenario_compare.py"
MIN_SCENARIOS=15
SEND_TIMEOUT_S=120
FILTER=${1:-*}

py() {
	/usr/bin/python3 "$COMPARE" "$@"
}

# The groups the runner's configuration has unless the scenario's
# config.conf defines them (libconfig refuses a setting given twice).
default_groups() {
	local frag=$1
	if ! grep -Eq '^[[:space:]]*clock[[:space:]]*[=:]' "$frag"; then
		echo 'clock = { mode = "event"; lateness = "0s"; };'
	fi
	if ! grep -Eq '^[[:space:]]*reconcile[[:space:]]*[=:]' "$frag"; then
		echo 'reconcile = { unmatched_grace = "5m"; };'
	fi
	cat "$frag"
}

check_published() {
	local d=$1 want=0 got=0 out="$T/published.jsonl"
	if [ -f "$d/expect_published.jsonl" ]; then
		want=$(py count "$d/expect_published.jsonl")
	fi
	# What the batches published is committed before each acknowledgement;
	# anything the daemon publishes on its own (a due reconcile.unmatched)
	# may come a moment later, so wait for the count with a deadline.
	for _ in $(seq 1 100); do
		t_ctl replay --since 0 >"$out" 2>"$T/replay.err" ||
			t_fail "replay failed: $(cat "$T/replay.err")"
		got=$(grep -c . "$out" || true)
		[ "$got" -ge "$want" ] && break
		sleep 0.1
	done
	if [ -f "$d/expect_published.jsonl" ]; then
		py published "$d/expect_published.jsonl" "$out" ||
			t_fail "published messages differ"
	elif [ "$got" != 0 ]; then
		t_fail "published $got messages, expected none:$(printf '\n'; cat "$out")"
	fi
}

check_leads() {
	local d=$1 line sel=() what err rc
	[ -f "$d/expect_leads.jsonl" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		[ -n "${line//[[:space:]]/}" ] || continue
		mapfile -t sel < <(py selector "$line")
		[ "${#sel[@]}" -ge 3 ] || t_fail "bad line in expect_leads.jsonl: $line"
		what=${sel[0]}
		err=${sel[1]}
		sel=("${sel[@]:2}")
		rc=0
		t_ctl lead "${sel[@]}" >"$T/lead.json" 2>"$T/lead.err" || rc=$?
		if [ "$what" = lead ]; then
			[ "$rc" = 0 ] || t_fail "lead ${sel[*]}: $(cat "$T/lead.err")"
			py lead "$line" "$(cat "$T/lead.json")" ||
				t_fail "lead ${sel[*]} differs"
		else
			[ "$rc" != 0 ] ||
				t_fail "lead ${sel[*]}: want error '$err', got $(cat "$T/lead.json")"
			grep -qF -- ": lead: $err" "$T/lead.err" ||
				t_fail "lead ${sel[*]}: want error '$err', got $(cat "$T/lead.err")"
		fi
	done <"$d/expect_leads.jsonl"
}

check_sql() {
	local d=$1 sql want got
	[ -f "$d/expect_sql.txt" ] || return 0
	while IFS=$'\t' read -r sql want || [ -n "$sql" ]; do
		case $sql in '' | '#'*) continue ;; esac
		got=$(t_sql "$sql") || t_fail "SQL failed: $sql"
		[ "$got" = "$want" ] || t_fail "SQL: $sql
  want: $want
  got:  $got"
	done <"$d/expect_sql.txt"
}

run_one() {
	local d=$1 name db frag want_send got_send n rc=0
	name=$(basename "$d")
	trap t_cleanup EXIT
	db="handoff_scn_$(tr -c 'a-z0-9_\n' '_' <<<"${name,,}")"
	t_init "${db:0:63}"
	frag="$T/fragment.conf"
	: >"$frag"
	[ -f "$d/config.conf" ] && cp "$d/config.conf" "$frag"
	t_config "$(default_groups "$frag")"
	t_start

	n=$(grep -c '[^[:space:]]' "$d/events.jsonl" || true)
	if [ -f "$d/expect_send.txt" ]; then
		want_send=$(cat "$d/expect_send.txt")
	else
		want_send="accepted $n, duplicate 0, rejected 0, invalid 0"
	fi
	# A few events take well under a second; the bound only turns a daemon
	# that stopped answering into a failure instead of a hang.
	got_send=$(timeout "$SEND_TIMEOUT_S" "$HANDOFFCTL" send --window 1 \
		--to "$ROUTER" "$d/events.jsonl" 2>"$T/send.err") || rc=$?
	[ "$rc" != 124 ] ||
		t_fail "send did not finish within $SEND_TIMEOUT_S s: $(tail -n 3 "$T/send.err")"
	[ "$got_send" = "$want_send" ] || t_fail "send printed:
$got_send
$(cat "$T/send.err")
expected:
$want_send"
	if [ ! -f "$d/expect_send.txt" ] && [ "$rc" != 0 ]; then
		t_fail "send exited $rc: $(cat "$T/send.err")"
	fi

	check_published "$d"
	check_leads "$d"
	check_sql "$d"
	t_stop
	t_psql_admin -c "DROP DATABASE IF EXISTS ${db:0:63} WITH (FORCE)" >/dev/null
}

total=0
for d in "$SCENARIOS"/*/; do
	[ -f "$d/events.jsonl" ] && total=$((total + 1))
done

passed=0
failed=0
failures=()
for d in "$SCENARIOS"/*/; do
	d=${d%/}
	name=$(basename "$d")
	# shellcheck disable=SC2053
	[[ $name == $FILTER ]] || continue
	if [ ! -f "$d/events.jsonl" ]; then
		echo "FAIL $name: no events.jsonl"
		failed=$((failed + 1))
		failures+=("$name")
		continue
	fi
	if [ -f "$d/description" ]; then
		echo "---- $name: $(head -n 1 "$d/description")"
	else
		echo "---- $name"
	fi
	set +e
	(
		set -euo pipefail
		run_one "$d"
	) 2>&1
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		failed=$((failed + 1))
		failures+=("$name")
	fi
done

echo "$passed scenarios passed, $failed failed"
[ "$failed" = 0 ] || { echo "failed: ${failures[*]}"; exit 1; }
[ $((passed + failed)) -gt 0 ] || { echo "no scenario matches '$FILTER'"; exit 1; }
[ "$total" -ge "$MIN_SCENARIOS" ] ||
	{ echo "only $total scenarios in $SCENARIOS, want at least $MIN_SCENARIOS"; exit 1; }
echo "PASS: $(basename "$0")"
