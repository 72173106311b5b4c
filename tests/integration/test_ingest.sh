#!/bin/bash
# Each ingest kind delivers into the events table (SPEC §2.4): pull (a PUSH
# producer), sub (the daemon connects to a publisher that was there first),
# and router (handoffctl send, a REQ client, a DEALER client, and every
# valid example of proto/examples sent as raw frames). The stored body is
# the producer's bytes exactly. A second event with the same (source, id),
# whatever its content, is acknowledged "duplicate" and adds no row, both
# across batches and inside one batch, and the first one's body stays.
source "$(dirname "$0")/lib.sh"
: "${HANDOFF_ZMQTOOL:?run under ctest}"
ZT=$HANDOFF_ZMQTOOL

t_init handoff_t_ingest

# Count of rows in events for one source.
rows() {
	t_sql "SELECT count(*) FROM events WHERE source = '$1'"
}
rows_are() {
	[ "$(rows "$1")" = "$2" ]
}
# The stored body of (source, id), as hex.
body_hex() {
	t_sql "SELECT encode(convert_to(body::text, 'UTF8'), 'hex') FROM events
	       WHERE source = '$1' AND event_id = '$2'"
}
file_hex() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}
# The (id, source, status, error) of a router reply, tab-separated.
reply_fields() {
	t_json '"\t".join(str(d[k]) for k in ("id", "source", "status", "error"))'
}
expect_reply() { # REPLY ID SOURCE STATUS
	local got want
	got=$(reply_fields <<<"$1") || t_fail "reply is not JSON: $1"
	want=$(printf '%s\t%s\t%s\tNone' "$2" "$3" "$4")
	[ "$got" = "$want" ] || t_fail "reply '$1', want $2/$3 $4"
}

# ---- sub: a publisher binds first, the daemon connects to it ----
cat >"$T/sub.jsonl" <<'EOF'
{"v":1,"id":"s-1","source":"pubsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L-s1"}}
{"v":1,"id":"s-2","source":"pubsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:06Z","lead":{"id":"L-s2"}}
{"v":1,"id":"s-3","source":"pubsrc","type":"deal.opened","occurred_at":"2026-03-10T14:22:07Z","deal":{"id":"D1"},"lead_ref":{"crm_id":"C1"}}
{"v":1,"id":"s-4","source":"pubsrc","type":"sales.accepted","occurred_at":"2026-03-10T14:22:08Z","lead_ref":{"crm_id":"C1"}}
{"v":1,"id":"s-1","source":"pubsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:09Z","lead":{"id":"L-other"}}
EOF
"$ZT" -t 60000 pub 'tcp://127.0.0.1:*' "$T/sub.jsonl" 2 >"$T/pub.out" 2>"$T/pub.err" &
PUBPID=$!
trap 'kill "$PUBPID" 2>/dev/null || true; t_cleanup' EXIT
t_wait 30 "the publisher's endpoint" test -s "$T/pub.out"
SUBEP=$(head -n 1 "$T/pub.out")

t_config_ext "{ kind = \"sub\"; endpoint = \"$SUBEP\"; connect = true; subscribe = [\"lead.\", \"sales.\"]; }" \
	"max_message_bytes = 4096;" \
	"batch = { max_wait_ms = 200; };"
t_start

# The publisher sends once both subscriptions arrived; deal.* is filtered
# out by the subscription, and the second s-1 is a duplicate.
wait "$PUBPID" || { cat "$T/pub.err" >&2; t_fail "publisher failed"; }
t_wait 30 "3 rows from the sub endpoint" rows_are pubsrc 3

# ---- pull: PUSH a file, duplicates inside it ----
{
	for i in $(seq 1 50); do
		printf '{"v":1,"id":"p-%d","source":"pushsrc","type":"sales.activity","occurred_at":"2026-03-10T14:%02d:00Z","lead_ref":{"email":"p%d@example.com"},"channel":"call"}\n' "$i" "$((i % 60))" "$i"
	done
} >"$T/push.jsonl"
"$ZT" push "$PULL" "$T/push.jsonl" >/dev/null || t_fail "push failed"
t_wait 30 "50 rows from the pull endpoint" rows_are pushsrc 50

# The same pair again, inside one push (and so, most likely, one batch),
# with different content: only the first of each is stored.
cat >"$T/pushdup.jsonl" <<'EOF'
{"v":1,"id":"d-1","source":"dupsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"first"}}
{"v":1,"id":"d-1","source":"dupsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"second"}}
{"v":1,"id":"d-2","source":"dupsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L2"}}
{"v":1,"id":"d-2","source":"dupsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L2"}}
{"v":1,"id":"d-1","source":"dupsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"third"}}
{"v":1,"id":"p-7","source":"pushsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"again"}}
EOF
"$ZT" push "$PULL" "$T/pushdup.jsonl" >/dev/null || t_fail "push failed"
t_wait 30 "2 rows of dupsrc" rows_are dupsrc 2
head -n 1 "$T/pushdup.jsonl" | tr -d '\n' >"$T/d1.body"
[ "$(body_hex dupsrc d-1)" = "$(file_hex "$T/d1.body")" ] ||
	t_fail "d-1 does not hold the first body: $(t_sql "SELECT body FROM events WHERE event_id = 'd-1'")"

# ---- router: handoffctl send ----
for i in $(seq 1 20); do
	printf '{"v":1,"id":"c-%d","source":"ctlsrc","type":"sales.accepted","occurred_at":"2026-03-10T14:22:05Z","lead_ref":{"crm_id":"C%d"},"owner":"rep.%d"}\n' "$i" "$i" "$i"
done >"$T/ctl.jsonl"
out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/ctl.jsonl") || t_fail "send failed: $out"
[ "$out" = "accepted 20, duplicate 0, rejected 0, invalid 0" ] || t_fail "first send: $out"
rows_are ctlsrc 20 || t_fail "ctlsrc: $(rows ctlsrc) rows after the first send, want 20"
out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/ctl.jsonl") || t_fail "send failed: $out"
[ "$out" = "accepted 0, duplicate 20, rejected 0, invalid 0" ] || t_fail "second send: $out"
rows_are ctlsrc 20 || t_fail "ctlsrc: $(rows ctlsrc) rows after the resend, want 20"
# Half old, half new: one batch mixes duplicates and new events.
{
	sed -n '16,20p' "$T/ctl.jsonl"
	for i in $(seq 21 25); do
		printf '{"v":1,"id":"c-%d","source":"ctlsrc","type":"sales.accepted","occurred_at":"2026-03-10T14:22:05Z","lead_ref":{"crm_id":"C%d"}}\n' "$i" "$i"
	done
} >"$T/mixed.jsonl"
out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/mixed.jsonl") || t_fail "send failed: $out"
[ "$out" = "accepted 5, duplicate 5, rejected 0, invalid 0" ] || t_fail "mixed send: $out"
rows_are ctlsrc 25 || t_fail "ctlsrc: $(rows ctlsrc) rows after the mixed send, want 25"
# The same pair twice in one file.
{
	printf '{"v":1,"id":"c-26","source":"ctlsrc","type":"sales.accepted","occurred_at":"2026-03-10T14:22:05Z","lead_ref":{"crm_id":"X"}}\n'
	printf '{"v":1,"id":"c-26","source":"ctlsrc","type":"sales.accepted","occurred_at":"2026-03-11T14:22:05Z","lead_ref":{"crm_id":"Y"}}\n'
} >"$T/twice.jsonl"
out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/twice.jsonl") || t_fail "send failed: $out"
[ "$out" = "accepted 1, duplicate 1, rejected 0, invalid 0" ] || t_fail "twice send: $out"
rows_are ctlsrc 26 || t_fail "ctlsrc: $(rows ctlsrc) rows, want 26"

# ---- router: a REQ client; the body has white space, unknown fields and
# UTF-8, all of which must be stored as sent ----
printf '{ "v" : 1,\n\t"id":"r-1", "source":"reqsrc",\r\n "type":"lead.upserted", "occurred_at":"2026-01-05T09:00:00.5-05:30",\n "lead":{"id":"L\\u00e9-1","first_name":"J\xc3\xbcrgen","x-unknown":[1,2.50,{"k":null}]},"extra":"\xe2\x82\xac" }  ' >"$T/req.body"
reply=$("$ZT" req "$ROUTER" lead.upserted "$T/req.body") || t_fail "REQ: no reply"
expect_reply "$reply" r-1 reqsrc accepted
[ "$(body_hex reqsrc r-1)" = "$(file_hex "$T/req.body")" ] ||
	t_fail "r-1 not stored byte for byte: $(t_sql "SELECT body FROM events WHERE event_id = 'r-1'")"
[ "$(t_sql "SELECT type, occurred_at = '2026-01-05T14:30:00.5Z', received_at IS NOT NULL
            FROM events WHERE source = 'reqsrc' AND event_id = 'r-1'")" = "lead.upserted|t|t" ] ||
	t_fail "r-1 columns: $(t_sql "SELECT type, occurred_at, received_at FROM events WHERE event_id = 'r-1'")"
reply=$("$ZT" req "$ROUTER" lead.upserted "$T/req.body") || t_fail "REQ: no reply"
expect_reply "$reply" r-1 reqsrc duplicate
printf '{"v":1,"id":"r-1","source":"reqsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"changed"}}' >"$T/req2.body"
reply=$("$ZT" req "$ROUTER" lead.upserted "$T/req2.body") || t_fail "REQ: no reply"
expect_reply "$reply" r-1 reqsrc duplicate
rows_are reqsrc 1 || t_fail "reqsrc: $(rows reqsrc) rows, want 1"
[ "$(body_hex reqsrc r-1)" = "$(file_hex "$T/req.body")" ] || t_fail "a duplicate changed r-1"

# ---- router: a DEALER client with several requests in flight; the
# duplicates are answered as such whichever batch they land in ----
cat >"$T/dealer.jsonl" <<'EOF'
{"v":1,"id":"b-1","source":"dealersrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L1"}}
{"v":1,"id":"b-2","source":"dealersrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L2"}}
{"v":1,"id":"b-1","source":"dealersrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L1"}}
{"v":1,"id":"b-3","source":"dealersrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L3"}}
{"v":1,"id":"b-2","source":"dealersrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L2"}}
EOF
"$ZT" dealer "$ROUTER" "$T/dealer.jsonl" "$T/dealer.acks" >/dev/null || t_fail "DEALER: not every line answered"
got=$(sort -n "$T/dealer.acks" | while IFS=$'\t' read -r line json; do
	printf '%s %s\n' "$line" "$(t_json '"%s/%s:%s" % (d["source"], d["id"], d["status"])' <<<"$json")"
done)
want="1 dealersrc/b-1:accepted
2 dealersrc/b-2:accepted
3 dealersrc/b-1:duplicate
4 dealersrc/b-3:accepted
5 dealersrc/b-2:duplicate"
[ "$got" = "$want" ] || t_fail "DEALER replies:
$got
want:
$want"
rows_are dealersrc 3 || t_fail "dealersrc: $(rows dealersrc) rows, want 3"

# ---- router: every valid example of proto/, as raw frames ----
# clock.tick is left out: in clock.mode "wall" it is not an event to store.
nvalid=0
valid=()
for f in "$HANDOFF_SOURCE_DIR"/proto/examples/valid/*.msg; do
	[ "$(head -n 1 "$f")" = clock.tick ] && continue
	valid+=("$f")
done
"$ZT" msg "$ROUTER" "${valid[@]}" >"$T/valid.replies" || t_fail "valid examples: a reply is missing"
i=0
while IFS= read -r reply; do
	f=${valid[$i]}
	i=$((i + 1))
	tail -n +2 "$f" >"$T/valid.body"
	# The want file names the pair the reply must echo.
	id=$(sed -n 's/^id=//p' "${f%.msg}.want")
	src=$(sed -n 's/^source=//p' "${f%.msg}.want")
	expect_reply "$reply" "$id" "$src" accepted
	hex=$(psql "$CONNINFO" -qAt -v ON_ERROR_STOP=1 -v src="$src" -v id="$id" <<'SQL'
SELECT encode(convert_to(body::text, 'UTF8'), 'hex') FROM events
WHERE source = :'src' AND event_id = :'id'
SQL
)
	[ "$hex" = "$(file_hex "$T/valid.body")" ] ||
		t_fail "$(basename "$f"): not stored byte for byte"
	nvalid=$((nvalid + 1))
done <"$T/valid.replies"
[ "$i" = "${#valid[@]}" ] || t_fail "valid examples: $i replies for ${#valid[@]} messages"
[ "$nvalid" -ge 20 ] || t_fail "only $nvalid valid examples found"

# ---- the daemon's counts agree with the table ----
total=$((3 + 50 + 2 + 26 + 1 + 3 + nvalid))
st=$(t_ctl -t 30 status) || t_fail "status failed"
got=$(t_json '"%d %d %d" % (d["events"]["accepted"], d["events"]["duplicate"], d["events"]["rejected"])' <<<"$st")
# Duplicates: 1 sub, 4 pull (d-1 twice, d-2, p-7), 26 send (20 + 5 + 1),
# 2 REQ, 2 DEALER.
[ "$got" = "$total 35 0" ] || t_fail "status counts '$got', want '$total 35 0': $st"
[ "$(t_sql "SELECT count(*) FROM rejected_messages")" = 0 ] || t_fail "rejected_messages is not empty"

t_stop
# After a clean stop nothing else arrived: the counts are exact.
[ "$(t_sql "SELECT count(*) FROM events")" = "$total" ] ||
	t_fail "events: $(t_sql "SELECT count(*) FROM events") rows, want $total"
for want in pubsrc:3 pushsrc:50 dupsrc:2 ctlsrc:26 reqsrc:1 dealersrc:3; do
	rows_are "${want%%:*}" "${want#*:}" || t_fail "${want%%:*}: $(rows "${want%%:*}") rows, want ${want#*:}"
done
[ "$(t_sql "SELECT count(*) FROM events WHERE source = 'pubsrc' AND type LIKE 'deal.%'")" = 0 ] ||
	t_fail "a deal.* event got past the sub endpoint's subscription"
[ "$(t_sql "SELECT body->'lead'->>'id' FROM events WHERE source = 'pubsrc' AND event_id = 's-1'")" = L-s1 ] ||
	t_fail "the duplicate s-1 replaced the first"
[ "$(t_sql "SELECT body->'lead'->>'id' FROM events WHERE source = 'pushsrc' AND event_id = 'p-7'")" = "" ] ||
	t_fail "the duplicate p-7 replaced the first"
t_pass
