# Shared helpers for the shell integration tests (sourced, not run). Each
# test gets its own temporary directory, its own database on the fixture's
# private PostgreSQL, and a daemon on ephemeral endpoints: ingest and
# publish on tcp://127.0.0.1:* (the daemon's status names the ports it got),
# control on an ipc socket in the temporary directory.
#
#   t_init NAME              temp dir $T, fresh database NAME, $CONNINFO
#   t_config [EXTRA]         writes $T/handoffd.conf (EXTRA appended)
#   t_start                  starts handoffd, waits until it answers ping;
#                            sets $DPID and the endpoints $PULL $ROUTER $SUB
#                            $PUB $CTL
#   t_stop                   SIGTERM and wait; fails unless it exits 0
#   t_kill9                  kill -9 and reap
#   t_ctl ARGS...            handoffctl -e $CTL ARGS...
#   t_sql SQL                one value from the test database
#   t_fail MSG               prints MSG and the daemon log, exits 1
#   t_pass                   prints PASS and cleans up

set -euo pipefail

: "${HANDOFFD:?run under ctest}" "${HANDOFFCTL:?run under ctest}"
: "${HANDOFF_TEST_PGSTATE:?run under ctest}" "${HANDOFF_SOURCE_DIR:?run under ctest}"

T=""
DPID=""
LOG=""

t_fail() {
	echo "FAIL: $*" >&2
	if [ -n "$LOG" ] && [ -f "$LOG" ]; then
		echo "---- daemon log (last 40 lines) ----" >&2
		tail -n 40 "$LOG" >&2
	fi
	exit 1
}

t_cleanup() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -9 "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		rm -rf "$T"
	fi
}
trap t_cleanup EXIT

t_psql_admin() {
	PGOPTIONS="-c client_min_messages=warning" psql "$(cat "$HANDOFF_TEST_PGSTATE/conninfo")" -v ON_ERROR_STOP=1 -qAt "$@"
}

t_init() {
	local name=$1
	T=$(mktemp -d "/tmp/handoff-test.XXXXXX")
	LOG="$T/handoffd.log"
	t_psql_admin -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
	t_psql_admin -c "CREATE DATABASE $name" >/dev/null
	CONNINFO="$(cat "$HANDOFF_TEST_PGSTATE/conninfo") dbname=$name"
}

t_config() {
	cat >"$T/handoffd.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
bus = {
  ingest = (
    { kind = "pull";   endpoint = "tcp://127.0.0.1:*"; },
    { kind = "router"; endpoint = "tcp://127.0.0.1:*"; }
  );
  publish = "tcp://127.0.0.1:*";
  control = "ipc://$T/control.sock";
};
log = { level = "debug"; };
${1:-}
CONF
}

t_ctl() {
	"$HANDOFFCTL" -e "ipc://$T/control.sock" "$@"
}

# Reads the endpoints the daemon bound from its status reply.
t_endpoints() {
	local st
	st=$(t_ctl status) || t_fail "status failed"
	PULL=$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["endpoints"]; print(d["ingest"][0])' <<<"$st")
	ROUTER=$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["endpoints"]; print(d["ingest"][1])' <<<"$st")
	PUB=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoints"]["publish"])' <<<"$st")
	CTL="ipc://$T/control.sock"
}

t_start() {
	"$HANDOFFD" -c "$T/handoffd.conf" 2>>"$LOG" &
	DPID=$!
	for _ in $(seq 1 200); do
		if t_ctl -t 0.5 ping >/dev/null 2>&1; then
			t_endpoints
			return 0
		fi
		kill -0 "$DPID" 2>/dev/null || t_fail "handoffd exited during start-up"
		sleep 0.05
	done
	t_fail "handoffd did not answer ping within 10 s"
}

t_stop() {
	local rc=0
	kill -TERM "$DPID"
	wait "$DPID" || rc=$?
	DPID=""
	[ "$rc" = 0 ] || t_fail "handoffd exited $rc after SIGTERM"
}

t_kill9() {
	kill -9 "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=""
}

t_sql() {
	psql "$CONNINFO" -v ON_ERROR_STOP=1 -qAt -c "$1"
}

t_pass() {
	echo "PASS: $(basename "$0")"
}
