#!/bin/bash
# CurveZMQ on every tcp:// endpoint (SPEC §9):
#   - handoffctl keygen writes a key pair (secret 0600) and never overwrites;
#   - a bad key file (missing, short, not Z85, world-readable secret, a bad
#     client file, a transport without handshake) fails --check-config and
#     the start with exit 3 and a message naming the file; a secret key that
#     is a systemd credential (relative path) is found in
#     $CREDENTIALS_DIRECTORY;
#   - with the daemon up, a client with an allowed key pings the control
#     endpoint over tcp, sends events through the router (accepted) and
#     receives what is published; a publisher with an allowed key feeds a
#     sub endpoint the daemon connects to; the ipc:// endpoint stays plain;
#   - an unknown key, a client without CURVE and a client with the wrong
#     server key get no reply, and the log names each refusal, once for
#     many attempts;
#   - SIGHUP re-reads the clients directory; a broken one is refused and the
#     running keys stay;
#   - SIGTERM exits 0 (under ASan: without leaks).
# The ZAP handler that cannot start is tested in tests/unit/test_curve.c.
source "$(dirname "$0")/lib.sh"
: "${HANDOFF_ZMQTOOL:?run under ctest}"
ZT=$HANDOFF_ZMQTOOL
PUBPID=""
trap 't_kill_job "$PUBPID"; t_cleanup' EXIT

t_init handoff_t_curve
K=$T/keys
mkdir -p "$K/clients"
CTLEP="tcp://127.0.0.1:$(t_free_port)"

log_has() {
	grep -qF -- "$1" "$LOG"
}
nlog() {
	grep -cF -- "$1" "$LOG" || true
}

# ---- keygen ----
out=$("$HANDOFFCTL" keygen server --out "$K") || t_fail "keygen server: $out"
grep -qxF "$K/server.pub: public key $(cat "$K/server.pub")" <<<"$out" ||
	t_fail "keygen does not print the public key: $out"
[ "$(stat -c %a "$K/server.key")" = 600 ] || t_fail "server.key has mode $(stat -c %a "$K/server.key")"
[ "$(wc -c <"$K/server.key")" = 41 ] || t_fail "server.key is not one key and a newline"
for name in ana eve mkto; do
	"$HANDOFFCTL" keygen "$name" --out "$K" >/dev/null || t_fail "keygen $name"
done
cp "$K/server.key" "$K/server.key.orig"
rc=0
out=$("$HANDOFFCTL" keygen ana --out "$K" 2>&1) || rc=$?
[ "$rc" = 1 ] || t_fail "keygen over an existing pair: exit $rc, want 1"
grep -qF "already exists" <<<"$out" || t_fail "keygen over an existing pair: $out"
cmp -s "$K/server.key" "$K/server.key.orig" || t_fail "keygen changed server.key"
cp "$K/ana.pub" "$K/mkto.pub" "$K/clients/"

# A publisher for the sub endpoint: binds, and is the CURVE client of the
# daemon (which is the CURVE server even where it connects).
cat >"$T/sub.jsonl" <<'EOF'
{"v":1,"id":"s-1","source":"pubsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L-s1"}}
{"v":1,"id":"s-2","source":"pubsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:06Z","lead":{"id":"L-s2"}}
EOF
"$ZT" -t 60000 -S "$K/server.pub" -K "$K/mkto.key" pub 'tcp://127.0.0.1:*' "$T/sub.jsonl" 1 >"$T/pub.out" 2>"$T/pub.err" &
PUBPID=$!
t_wait 30 "the publisher's endpoint" test -s "$T/pub.out"
SUBEP=$(head -n 1 "$T/pub.out")

# write_conf SECRET_KEY_FILE CLIENTS_DIR [PUBLISH]
write_conf() {
	cat >"$T/handoffd.conf" <<CONF
database = { conninfo = "$CONNINFO"; };
bus = {
  ingest = (
    { kind = "pull";   endpoint = "tcp://127.0.0.1:*"; },
    { kind = "router"; endpoint = "tcp://127.0.0.1:*"; },
    { kind = "pull";   endpoint = "ipc://$T/pull.sock"; },
    { kind = "sub";    endpoint = "$SUBEP"; connect = true; }
  );
  publish = "${3:-tcp://127.0.0.1:*}";
  control = "$CTLEP";
  curve = { secret_key_file = "$1"; clients_dir = "$2"; };
};
batch = { max_wait_ms = 50; };
log = { level = "debug"; };
CONF
}

# check_bad WHAT TEXT: --check-config exits 3 and says TEXT.
check_bad() {
	local rc=0
	"$HANDOFFD" --check-config -c "$T/handoffd.conf" >"$T/check.out" 2>"$T/check.err" || rc=$?
	[ "$rc" = 3 ] || t_fail "$1: --check-config exit $rc, want 3: $(cat "$T/check.err")"
	grep -qF -- "$2" "$T/check.err" || t_fail "$1: the error lacks '$2': $(cat "$T/check.err")"
}

# ---- bad key files ----
write_conf "$K/nope.key" "$K/clients"
check_bad "a missing secret key" "bus.curve.secret_key_file: $K/nope.key: cannot open: No such file"
printf 'abc\n' >"$K/short.key"
chmod 600 "$K/short.key"
write_conf "$K/short.key" "$K/clients"
check_bad "a short key" "$K/short.key: expected a 40-character Z85 key, found 3 characters"
printf '%s~\n' "$(head -c 39 "$K/server.key")" >"$K/tilde.key"
chmod 600 "$K/tilde.key"
write_conf "$K/tilde.key" "$K/clients"
check_bad "a key with a character outside Z85" "$K/tilde.key: character 40 ('~') is not in the Z85 alphabet"
cp "$K/server.key" "$K/open.key"
chmod 644 "$K/open.key"
write_conf "$K/open.key" "$K/clients"
check_bad "a world-readable secret key" "$K/open.key: a secret key must not be open to every user (mode 0644)"
mkdir "$K/clients-bad"
cp "$K/ana.pub" "$K/clients-bad/"
printf 'this is not a key\n' >"$K/clients-bad/bo.pub"
write_conf "$K/server.key" "$K/clients-bad"
check_bad "a bad client key" "bus.curve.clients_dir: $K/clients-bad/bo.pub: more than one word"
# The start refuses it the same way.
rc=0
"$HANDOFFD" -c "$T/handoffd.conf" 2>"$T/start.err" || rc=$?
[ "$rc" = 3 ] || t_fail "start with a bad client key: exit $rc, want 3"
grep -qF "$K/clients-bad/bo.pub" "$T/start.err" || t_fail "the start error does not name the file: $(cat "$T/start.err")"
write_conf "$K/server.key" "$K/missing-dir"
check_bad "a missing clients directory" "bus.curve.clients_dir: $K/missing-dir: No such file or directory"
write_conf "$K/server.key" "$K/clients" "epgm://eth0;239.192.1.1:5558"
check_bad "a transport without handshake" "bus.publish: \"epgm://eth0;239.192.1.1:5558\": this transport has no handshake"

# A systemd credential: a relative path, found in $CREDENTIALS_DIRECTORY;
# --check-config outside the service says it did not check it.
write_conf "server.key" "$K/clients"
out=$(CREDENTIALS_DIRECTORY=$K "$HANDOFFD" --check-config -c "$T/handoffd.conf") ||
	t_fail "check with \$CREDENTIALS_DIRECTORY: $out"
grep -qF "CurveZMQ server public key $(cat "$K/server.pub")" <<<"$out" ||
	t_fail "check with \$CREDENTIALS_DIRECTORY: $out"
out=$(env -u CREDENTIALS_DIRECTORY "$HANDOFFD" --check-config -c "$T/handoffd.conf") ||
	t_fail "check without \$CREDENTIALS_DIRECTORY: $out"
grep -qF "is a systemd credential" <<<"$out" || t_fail "check without \$CREDENTIALS_DIRECTORY: $out"
rc=0
(cd "$T" && env -u CREDENTIALS_DIRECTORY "$HANDOFFD" -c "$T/handoffd.conf" 2>"$T/start.err") || rc=$?
[ "$rc" = 3 ] || t_fail "start without the credential: exit $rc, want 3"
grep -qF "server.key: cannot open" "$T/start.err" || t_fail "start without the credential: $(cat "$T/start.err")"

# ---- the daemon with CurveZMQ ----
write_conf "$K/server.key" "$K/clients"
out=$("$HANDOFFD" --check-config -c "$T/handoffd.conf") || t_fail "good configuration: $out"
grep -qF "CurveZMQ server public key $(cat "$K/server.pub")" <<<"$out" || t_fail "check: $out"
grep -qF "2 CurveZMQ client key(s) in $K/clients" <<<"$out" || t_fail "check: $out"

# The harness reaches the control endpoint over tcp with ana's keys.
AS_ANA=(--server-key "$K/server.pub" --client-key "$K/ana.key")
AS_EVE=(--server-key "$K/server.pub" --client-key "$K/eve.key")
t_ctl() {
	"$HANDOFFCTL" -e "$CTLEP" "${AS_ANA[@]}" "$@"
}
t_start
log_has "curve: CurveZMQ on every tcp endpoint; server public key $(cat "$K/server.pub"); 2 client key(s) from $K/clients" ||
	t_fail "the start does not log the keys"
[ "$(t_ctl status | t_json 'd["curve"]["clients"]')" = 2 ] || t_fail "status: $(t_ctl status)"

rows() {
	t_sql "SELECT count(*) FROM events WHERE source = '$1'"
}
rows_are() {
	[ "$(rows "$1")" = "$2" ]
}

# An allowed key: send through the router, tail the publisher.
for i in 1 2 3; do
	printf '{"v":1,"id":"c-%d","source":"curvesrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L%d"}}\n' "$i" "$i"
done >"$T/three.jsonl"
out=$("$HANDOFFCTL" -t 10 "${AS_ANA[@]}" send --max-tries 5 --to "$ROUTER" "$T/three.jsonl") || t_fail "send as ana: $out"
[ "$out" = "accepted 3, duplicate 0, rejected 0, invalid 0" ] || t_fail "send as ana: $out"
rows_are curvesrc 3 || t_fail "curvesrc: $(rows curvesrc) rows, want 3"
out=$(t_ctl tail --from "$PUB" --heartbeats --count 2 --idle 10) || t_fail "tail as ana: $out"
[ "$(grep -c '"type":"bus.heartbeat"' <<<"$out")" = 2 ] || t_fail "tail as ana: $out"
# The same with the keys from the environment.
out=$(HANDOFF_CURVE_SERVER_KEY=$K/server.pub HANDOFF_CURVE_CLIENT_KEY=$K/ana.key \
	"$HANDOFFCTL" -e "$CTLEP" ping) || t_fail "ping with the keys in the environment: $out"
# And a raw DEALER with ana's keys.
printf '{"v":1,"id":"r-1","source":"curvesrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"R1"}}' >"$T/r1.json"
out=$("$ZT" -t 10000 -S "$K/server.pub" -K "$K/ana.key" raw "$ROUTER" lead.upserted "@$T/r1.json") ||
	t_fail "raw as ana: $out"
[ "$(t_json 'd["status"]' <<<"$out")" = accepted ] || t_fail "raw as ana: $out"

# The publisher with an allowed key fed the sub endpoint.
wait "$PUBPID" || { cat "$T/pub.err" >&2; t_fail "the publisher failed"; }
PUBPID=""
t_wait 30 "2 rows from the CURVE publisher" rows_are pubsrc 2

# The ipc:// endpoint stays plain.
printf '{"v":1,"id":"i-1","source":"ipcsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"I1"}}\n' >"$T/ipc.jsonl"
"$ZT" push "ipc://$T/pull.sock" "$T/ipc.jsonl" >/dev/null || t_fail "push to the ipc endpoint"
t_wait 30 "the event pushed over ipc" rows_are ipcsrc 1

# ---- refusals ----
EVEKEY=$(cat "$K/eve.pub")
refused_eve="ingest router $ROUTER: refused 127.0.0.1: public key $EVEKEY is not in $K/clients"
for attempt in 1 2 3; do
	rc=0
	"$ZT" -t 10000 -S "$K/server.pub" -K "$K/eve.key" raw "$ROUTER" lead.upserted "@$T/r1.json" >"$T/eve.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] || t_fail "an unknown key, attempt $attempt: exit $rc: $(cat "$T/eve.out")"
	grep -qF "no reply within" "$T/eve.out" || t_fail "an unknown key got: $(cat "$T/eve.out")"
done
t_wait 30 "the refusal of eve's key logged" log_has "$refused_eve"
# Many handshakes (three clients, each reconnecting), one line.
[ "$(nlog "$refused_eve")" = 1 ] || t_fail "eve's refusal logged $(nlog "$refused_eve") times, want 1"
rc=0
out=$("$HANDOFFCTL" -e "$CTLEP" -t 1 "${AS_EVE[@]}" ping 2>&1) || rc=$?
[ "$rc" = 1 ] || t_fail "ping with an unknown key: exit $rc: $out"
grep -qF "no reply from $CTLEP" <<<"$out" || t_fail "ping with an unknown key: $out"
t_wait 30 "the refusal on the control endpoint logged" \
	log_has "control $CTLEP: refused 127.0.0.1: public key $EVEKEY"
rc=0
out=$("$HANDOFFCTL" -t 1 "${AS_EVE[@]}" send --max-tries 2 --to "$ROUTER" "$T/three.jsonl" 2>&1) || rc=$?
[ "$rc" = 1 ] || t_fail "send with an unknown key: exit $rc: $out"
rc=0
out=$("$HANDOFFCTL" -e "$CTLEP" "${AS_EVE[@]}" tail --from "$PUB" --no-fill --heartbeats --idle 2 2>&1) || rc=$?
[ "$rc" = 1 ] || t_fail "tail with an unknown key: exit $rc: $out"
grep -q '"type"' <<<"$out" && t_fail "tail with an unknown key received: $out"
t_wait 30 "the refusal on the publisher logged" \
	log_has "publish $PUB: refused 127.0.0.1: public key $EVEKEY"

# A client without CURVE gets nothing. Which side notices the mechanism
# mismatch first is a race inside libzmq: when the daemon does, it logs the
# refusal; when the client does, it hangs up and the daemon sees only a
# connection closed during the handshake (logged at debug, as a port
# probe is). Either way nothing was accepted (rows_are below).
rc=0
"$ZT" -t 10000 raw "$ROUTER" lead.upserted "@$T/r1.json" >"$T/null.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || t_fail "a client without CURVE: exit $rc: $(cat "$T/null.out")"
null_seen() {
	log_has "ingest router $ROUTER: refused a connection: the peer does not use CURVE" ||
		log_has "curve: ingest router $ROUTER: a connection closed during the handshake"
}
t_wait 30 "the plain client's refusal or hang-up logged" null_seen
rc=0
out=$("$HANDOFFCTL" -e "$CTLEP" -t 1 ping 2>&1) || rc=$?
[ "$rc" = 1 ] || t_fail "ping without keys: exit $rc: $out"

# A client that has the wrong server key (its own public key instead).
rc=0
"$ZT" -t 10000 -S "$K/ana.pub" -K "$K/ana.key" raw "$ROUTER" lead.upserted "@$T/r1.json" >"$T/wrong.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || t_fail "a client with the wrong server key: exit $rc: $(cat "$T/wrong.out")"
t_wait 30 "the wrong server key's refusal logged" \
	log_has "ingest router $ROUTER: refused a connection: the CURVE handshake failed"
rows_are curvesrc 4 || t_fail "curvesrc: $(rows curvesrc) rows after the refusals, want 4"
refused=$(t_ctl status | t_json 'd["curve"]["refused"]')
# eve's four and the wrong server key always; the clients without CURVE
# only when the daemon wins the race described above.
[ "$refused" -ge 5 ] || t_fail "status counts $refused refusals, want at least 5"

# ---- SIGHUP re-reads the clients directory ----
cp "$K/eve.pub" "$K/clients/"
kill -HUP "$DPID"
t_wait 30 "the new client keys" log_has "curve: 3 client key(s) from $K/clients"
t_wait 30 "eve allowed after the reload" \
	"$HANDOFFCTL" -e "$CTLEP" -t 1 "${AS_EVE[@]}" ping
# A broken file refuses the reload; the running keys stay.
printf 'broken\n' >"$K/clients/bo.pub"
rc=0
out=$(t_ctl reload 2>&1) || rc=$?
[ "$rc" = 1 ] || t_fail "reload with a broken client key: exit $rc: $out"
grep -qF "bus.curve.clients_dir: $K/clients/bo.pub" <<<"$out" || t_fail "reload with a broken client key: $out"
log_has "reload refused, keeping the running configuration and client keys" || t_fail "the refused reload is not logged"
"$HANDOFFCTL" -e "$CTLEP" -t 30 "${AS_EVE[@]}" ping >/dev/null || t_fail "eve refused after a refused reload"
# Taking a key out shuts its client out of new connections.
rm "$K/clients/bo.pub" "$K/clients/eve.pub"
t_ctl reload >/dev/null || t_fail "reload after removing eve"
rc=0
"$HANDOFFCTL" -e "$CTLEP" -t 1 "${AS_EVE[@]}" ping >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || t_fail "eve still allowed after her key was removed"

t_stop
log_has "ZAP handler stopped" && t_fail "the ZAP handler stopped before the daemon"
t_pass
