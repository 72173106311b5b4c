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
#   t_start_second           a second daemon on the same database and
#                            configuration; sets $B_PID $B_CTL $B_ROUTER
#   t_stop_second            SIGTERM the second daemon and wait
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
B_PID=""

t_fail() {
	echo "FAIL: $*" >&2
	if [ -n "$LOG" ] && [ -f "$LOG" ]; then
		echo "---- daemon log (last 40 lines) ----" >&2
		tail -n 40 "$LOG" >&2
	fi
	exit 1
}

t_cleanup() {
	local p
	for p in "$DPID" "$B_PID"; do
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
			kill -9 "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
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

# t_await_ping PID WHO LOG CTL...: waits until the daemon PID answers
# `CTL... -t 0.5 ping` (t_ctl, which a test may redefine, or a handoffctl
# command line); t_fail (naming WHO, with LOG's end) if it exits first or
# takes over 10 s.
t_await_ping() {
	local pid=$1 who=$2 log=$3
	shift 3
	for _ in $(seq 1 200); do
		"$@" -t 0.5 ping >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null ||
			t_fail "$who exited during start-up: $(tail -n 20 "$log")"
		sleep 0.05
	done
	t_fail "$who did not answer ping within 10 s"
}

# t_term PID WHO: SIGTERM and wait; t_fail unless it exits 0.
t_term() {
	local rc=0
	kill -TERM "$1"
	wait "$1" || rc=$?
	[ "$rc" = 0 ] || t_fail "$2 exited $rc after SIGTERM"
}

t_start() {
	"$HANDOFFD" -c "$T/handoffd.conf" 2>>"$LOG" &
	DPID=$!
	t_await_ping "$DPID" handoffd "$LOG" t_ctl
	t_endpoints
}

t_stop() {
	t_term "$DPID" handoffd
	DPID=""
}

# A second daemon on the same database (SPEC §5): the configuration of
# $T/handoffd.conf with its control socket in $T/b. Sets B_PID, B_CTL and
# B_ROUTER (its router ingest endpoint); t_stop_second stops it.
t_start_second() {
	mkdir -p "$T/b"
	sed "s|ipc://$T/control.sock|ipc://$T/b/control.sock|" \
		"$T/handoffd.conf" >"$T/b/handoffd.conf"
	B_CTL="ipc://$T/b/control.sock"
	"$HANDOFFD" -c "$T/b/handoffd.conf" 2>>"$T/b/handoffd.log" &
	B_PID=$!
	t_await_ping "$B_PID" "the second handoffd" "$T/b/handoffd.log" \
		"$HANDOFFCTL" -e "$B_CTL"
	B_ROUTER=$("$HANDOFFCTL" -e "$B_CTL" status |
		t_json 'd["endpoints"]["ingest"][1]') ||
		t_fail "status of the second daemon failed"
}

t_stop_second() {
	t_term "$B_PID" "the second handoffd"
	B_PID=""
}

t_kill9() {
	kill -9 "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=""
}

t_sql() {
	psql "$CONNINFO" -v ON_ERROR_STOP=1 -qAt -c "$1"
}

# Sends lead.upserted events through $ROUTER, then a sales.rejected for
# each, for leads FROM..TO (L-N, xN@y.example, reason "no budget N", owner
# rep.N): each rejection of a known lead publishes one handoff.recycled,
# committed before the send returns (SPEC §2.2).
t_recycle() { # FROM TO
	local i out
	for i in $(seq "$1" "$2"); do
		printf '{"v":1,"id":"up-%d","source":"marketo","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L-%d","email":"x%d@y.example"}}\n' "$i" "$i" "$i"
	done >"$T/up.jsonl"
	for i in $(seq "$1" "$2"); do
		printf '{"v":1,"id":"rej-%d","source":"salesforce","type":"sales.rejected","occurred_at":"2026-03-10T15:22:05Z","lead_ref":{"email":"x%d@y.example"},"reason":"no budget %d","owner":"rep.%d"}\n' "$i" "$i" "$i" "$i"
	done >"$T/rej.jsonl"
	out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/up.jsonl") || t_fail "send: $out"
	[ "$out" = "accepted $(($2 - $1 + 1)), duplicate 0, rejected 0, invalid 0" ] || t_fail "send upserts: $out"
	out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/rej.jsonl") || t_fail "send: $out"
	[ "$out" = "accepted $(($2 - $1 + 1)), duplicate 0, rejected 0, invalid 0" ] || t_fail "send rejections: $out"
}
# The ranges of outbox_published, "lo:hi,..." in order.
t_ranges() {
	t_sql "SELECT coalesce(string_agg(lo || ':' || hi, ',' ORDER BY lo), '') FROM outbox_published"
}

# The seqs of the outbox that no range of outbox_published covers (not
# recorded as published), "seq,..." in order.
t_uncovered() {
	t_sql "SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM outbox o
	    WHERE NOT EXISTS (SELECT FROM outbox_published p WHERE o.seq > p.lo AND o.seq <= p.hi)"
}

# After a clean stop of every daemon: everything published was recorded,
# in one range from 0 to the last seq.
t_check_recorded() {
	local last
	last=$(t_sql "SELECT last_seq FROM outbox_seq")
	[ -z "$(t_uncovered)" ] || t_fail "not recorded as published: seq $(t_uncovered)"
	[ "$(t_ranges)" = "0:$last" ] || t_fail "outbox_published is $(t_ranges), not 0:$last"
}

t_pass() {
	echo "PASS: $(basename "$0")"
}

# Prints a TCP port on 127.0.0.1 that nothing listens on, for a test that
# needs an endpoint to stay the same across restarts of the daemon (a
# wildcard port would change). It is taken below the kernel's range of
# ephemeral ports, so that no outgoing connection holds it.
t_free_port() {
	local port lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	for _ in $(seq 1 100); do
		port=$(( 10000 + RANDOM % (lo - 10000) ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	t_fail "no free TCP port found"
}

# Writes N valid events, one JSON object a line, to FILE: a realistic mix of
# marketing and sales types from several sources, every (source, id)
# distinct. TAG goes into every id, so that two files with different tags
# share no event. The output is the same for the same arguments.
t_gen_events() {
	local n=$1 file=$2 tag=${3:-e}
	/usr/bin/python3 - "$n" "$file" "$tag" <<'PY'
import json, random, sys
n, path, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rnd = random.Random(n)
countries = ["GB", "DE", "FR", "US", "NL", "SE", "ES"]
segments = ["smb", "mid", "enterprise"]
owners = ["ana@corp.example", "bo@corp.example", "dev@corp.example"]
def ts(i):
    return "2026-03-%02dT%02d:%02d:%02d.%03dZ" % (1 + i % 28, i % 24,
        (i // 24) % 60, i % 60, i % 1000)
with open(path, "w") as f:
    for i in range(n):
        lead = "00Q%07d" % (i // 4)
        k = rnd.random()
        if k < 0.35:
            ev = {"source": "marketo", "type": "lead.upserted",
                  "lead": {"id": lead, "email": "user%d@example%d.com" % (i // 4, i % 50),
                           "first_name": "First%d" % i, "last_name": "Last%d" % i,
                           "company": "Company %d" % (i % 997), "country": rnd.choice(countries),
                           "segment": rnd.choice(segments), "score": rnd.randint(0, 100),
                           "campaign": "2026-q1-webinar",
                           "attributes": {"utm_source": "linkedin", "industry": "manufacturing"}}}
        elif k < 0.45:
            ev = {"source": "hubspot", "type": "lead.qualified",
                  "lead": {"id": lead, "email": "user%d@example%d.com" % (i // 4, i % 50),
                           "score": rnd.randint(50, 100)},
                  "reason": "score above threshold"}
        elif k < 0.55:
            ev = {"source": "salesforce", "type": "sales.accepted",
                  "lead_ref": {"crm_id": lead}, "owner": rnd.choice(owners)}
        elif k < 0.85:
            ev = {"source": "salesforce", "type": "sales.activity",
                  "lead_ref": {"email": "user%d@example%d.com" % (i // 4, i % 50)},
                  "channel": rnd.choice(["call", "email", "meeting", "social", "other"]),
                  "outcome": rnd.choice(["attempted", "connected"]),
                  "owner": rnd.choice(owners)}
        elif k < 0.93:
            ev = {"source": "salesforce", "type": "deal.opened",
                  "deal": {"id": "006%07d" % i, "name": "Deal %d" % i,
                           "amount": rnd.randint(1000, 500000), "currency": "eur",
                           "stage": "discovery"},
                  "lead_ref": {"crm_id": lead}, "owner": rnd.choice(owners)}
        else:
            ev = {"source": "salesforce", "type": "deal.stage_changed",
                  "deal": {"id": "006%07d" % i, "stage": "proposal"}}
        body = {"v": 1, "id": "%s-%s-%06d" % (ev["source"][:2], tag, i),
                "source": ev.pop("source"), "type": ev.pop("type"),
                "occurred_at": ts(i)}
        body.update(ev)
        f.write(json.dumps(body, separators=(",", ":")) + "\n")
PY
}

# Makes every statement that inserts into events sleep SECONDS (a statement
# trigger, so once per batch): a stand-in for a slower server, so that a
# load lasts long enough for a test to act in the middle of it, and a crash
# is likely to land inside a transaction. Needs the schema (after t_start).
t_slow_batches() {
	t_sql "CREATE FUNCTION test_slow_batch() RETURNS trigger LANGUAGE plpgsql
	       AS \$\$ BEGIN PERFORM pg_sleep($1); RETURN NULL; END \$\$;
	       CREATE TRIGGER test_slow_batch AFTER INSERT ON events
	       FOR EACH STATEMENT EXECUTE FUNCTION test_slow_batch()" >/dev/null
}

# More helpers, for tests that need more than the default configuration or
# wait for something to happen:
#
#   t_config_ext INGEST BUS [EXTRA]
#                            like t_config, with INGEST (more list elements,
#                            without a leading comma) appended to bus.ingest
#                            after the pull and router endpoints (so $PULL
#                            and $ROUTER keep their meaning) and BUS (more
#                            settings) inside the bus group
#   t_wait SECONDS DESC CMD...
#                            runs CMD every 0.1 s until it succeeds; t_fail
#                            naming DESC when SECONDS pass first
#   t_json EXPR              prints the Python expression EXPR of the JSON
#                            document on standard input, bound to d

t_config_ext() {
	local ingest=${1:-} bus=${2:-}
	[ -z "$ingest" ] || ingest=",
    $ingest"
	cat >"$T/handoffd.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
bus = {
  ingest = (
    { kind = "pull";   endpoint = "tcp://127.0.0.1:*"; },
    { kind = "router"; endpoint = "tcp://127.0.0.1:*"; }$ingest
  );
  publish = "tcp://127.0.0.1:*";
  control = "ipc://$T/control.sock";
  $bus
};
log = { level = "debug"; };
${3:-}
CONF
}

t_wait() {
	local secs=$1 desc=$2 deadline
	shift 2
	deadline=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || t_fail "timed out after ${secs} s waiting for: $desc"
		sleep 0.1
	done
}

t_json() {
	/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); v=eval(sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1"
}

# Kills (SIGKILL) and reaps background job PID of this shell if it still
# runs. The shell's job table decides, not `kill -0`: once a job has ended
# and been reaped, its PID may already belong to another process.
t_kill_job() {
	if [ -n "$1" ] && jobs -rp | grep -qx -- "$1"; then
		kill -9 "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
	fi
}

# After `handoffctl send` of $T/events.jsonl (N lines) wrote $T/send.out:
# every line was answered accepted or duplicate, none rejected; the events
# table holds exactly the file's events, once each, byte for byte; and the
# outbox is numbered without a gap. Sets acc and dup (the sender's counts).
t_check_sent_once() {
	local n=$1 rej inv

	read -r acc dup rej inv < <(sed -n 's/^accepted \([0-9]*\), duplicate \([0-9]*\), rejected \([0-9]*\), invalid \([0-9]*\)$/\1 \2 \3 \4/p' "$T/send.out")
	[ -n "${acc:-}" ] || t_fail "no counts in the output of handoffctl send"
	[ "$rej" = 0 ] && [ "$inv" = 0 ] || t_fail "rejected $rej, invalid $inv"
	[ $((acc + dup)) = "$n" ] || t_fail "accepted $acc + duplicate $dup is not $n"

	# Exactly the events of the file, once each, stored as sent.
	local stored
	stored=$(t_sql "SELECT count(*) FROM events")
	[ "$stored" = "$n" ] || t_fail "$stored events stored, not $n"
	[ "$(t_sql "SELECT count(DISTINCT (source, event_id)) FROM events")" = "$n" ] ||
		t_fail "duplicate (source, event_id) in events"
	t_sql "SELECT body FROM events" | LC_ALL=C sort >"$T/stored.jsonl"
	LC_ALL=C sort "$T/events.jsonl" >"$T/sent.jsonl"
	cmp -s "$T/sent.jsonl" "$T/stored.jsonl" || {
		diff "$T/sent.jsonl" "$T/stored.jsonl" | head -n 5 >&2
		t_fail "the stored events differ from the file"
	}
	# Whatever the batches put in the outbox is numbered without a gap.
	[ "$(t_sql "SELECT count(*) = coalesce(max(seq), 0) AND
	    coalesce(max(seq), 0) = (SELECT last_seq FROM outbox_seq) FROM outbox")" = t ] ||
		t_fail "outbox seq has gaps or disagrees with outbox_seq"
}
