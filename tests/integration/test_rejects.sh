#!/bin/bash
# Rejections on the router endpoint (SPEC §2, §2.4): every invalid example
# of proto/examples/invalid, sent as raw frames, gets a "rejected" reply
# with exactly the error of its .err file and is stored in
# rejected_messages with that reason, its topic and its raw body; a message
# with the wrong number of frames is rejected too, and so is clock.tick in
# clock.mode "wall"; a rejected body longer
# than the bound is stored truncated with its full length. A body over
# bus.max_message_bytes makes ZeroMQ drop the connection, without a reply,
# while one of exactly that size is accepted; and after all of it the
# daemon keeps serving.
source "$(dirname "$0")/lib.sh"
: "${HANDOFF_ZMQTOOL:?run under ctest}"
ZT=$HANDOFF_ZMQTOOL
MAXMSG=8192

t_init handoff_t_rejects
t_config_ext "" "max_message_bytes = $MAXMSG;"
t_start

nrej() {
	t_sql "SELECT count(*) FROM rejected_messages"
}
nrej_is() {
	[ "$(nrej)" = "$1" ]
}

# ---- every invalid example, in order, one reply each ----
files=("$HANDOFF_SOURCE_DIR"/proto/examples/invalid/*.msg)
n=${#files[@]}
[ "$n" -ge 100 ] || t_fail "only $n invalid examples found"
"$ZT" msg "$ROUTER" "${files[@]}" >"$T/replies" || t_fail "a reply is missing"
t_wait 60 "$n rows in rejected_messages" nrej_is "$n"
# The rows in insertion order: the tool waits for each reply before it
# sends the next message, so that is the order of the files.
t_sql "SELECT json_agg(json_build_object('topic', topic, 'reason', reason,
         'source', source, 'id', event_id, 'raw', encode(raw, 'hex'),
         'raw_len', raw_len, 'endpoint', endpoint) ORDER BY id)
       FROM rejected_messages" >"$T/rows.json"
/usr/bin/python3 - "$T/replies" "$T/rows.json" "$ROUTER" "${files[@]}" <<'PY' || t_fail "invalid examples: see above"
import json, os, sys
replies = open(sys.argv[1], encoding="utf-8").read().splitlines()
rows = json.load(open(sys.argv[2]))
endpoint = sys.argv[3]
files = sys.argv[4:]
bad = []
if len(replies) != len(files) or len(rows) != len(files):
    sys.exit("%d files, %d replies, %d rows" % (len(files), len(replies), len(rows)))
for path, line, row in zip(files, replies, rows):
    name = os.path.basename(path)
    data = open(path, "rb").read()
    topic, body = data.split(b"\n", 1)
    want = open(path[:-4] + ".err", encoding="utf-8").read().rstrip("\n")
    reply = json.loads(line)
    if set(reply) != {"id", "source", "status", "error"}:
        bad.append("%s: reply keys %s" % (name, sorted(reply)))
    if reply.get("status") != "rejected" or reply.get("error") != want:
        bad.append("%s: reply %s, want error %r" % (name, line, want))
    # An echoed id and source are the message's own.
    try:
        doc = json.loads(body.decode("utf-8"))
    except Exception:
        doc = None
    for k in ("id", "source"):
        if reply.get(k) is not None and (not isinstance(doc, dict) or doc.get(k) != reply[k]):
            bad.append("%s: reply %s %r is not the message's" % (name, k, reply[k]))
        if row[k] != reply.get(k):
            bad.append("%s: stored %s %r, replied %r" % (name, k, row[k], reply.get(k)))
    if row["reason"] != want:
        bad.append("%s: stored reason %r, want %r" % (name, row["reason"], want))
    if row["raw"] != body[:4096].hex() or row["raw_len"] != len(body):
        bad.append("%s: stored raw body differs (%d of %d bytes)" % (name, len(row["raw"]) // 2, row["raw_len"]))
    try:
        want_topic = topic.decode("utf-8")
        if "\0" in want_topic or len(want_topic) > 256:
            want_topic = None
    except UnicodeDecodeError:
        want_topic = None
    if row["topic"] != want_topic:
        bad.append("%s: stored topic %r, want %r" % (name, row["topic"], want_topic))
    if row["endpoint"] != endpoint:
        bad.append("%s: stored endpoint %r, want %r" % (name, row["endpoint"], endpoint))
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
[ "$(t_sql "SELECT count(*) FROM events")" = 0 ] || t_fail "an invalid example was stored as an event"

# ---- the wrong number of frames ----
good='{"v":1,"id":"g-1","source":"goodsrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L1"}}'
expect_frames_reply() { # REPLY N
	local want="{\"id\":null,\"source\":null,\"status\":\"rejected\",\"error\":\"message: expected 2 frames, got $2\"}"
	[ "$(t_json 'json.dumps(d, separators=(",", ":"))' <<<"$1")" = "$want" ] ||
		t_fail "reply '$1', want '$want'"
}
reply=$("$ZT" raw "$ROUTER" lead.upserted "$good" extra) || t_fail "3 frames: no reply"
expect_frames_reply "$reply" 3
reply=$("$ZT" raw "$ROUTER" lead.upserted) || t_fail "1 frame: no reply"
expect_frames_reply "$reply" 1
# With the REQ envelope, the delimiter is not counted as a frame.
reply=$("$ZT" raw "$ROUTER" "" lead.upserted "$good" extra) || t_fail "3 frames after a delimiter: no reply"
[ "$(head -n 1 <<<"$reply")" = "" ] || t_fail "reply without the delimiter: $reply"
expect_frames_reply "$(tail -n +2 <<<"$reply")" 3
t_wait 30 "the frame-count rejections stored" nrej_is $((n + 3))
[ "$(t_sql "SELECT string_agg(reason, ',' ORDER BY id) FROM rejected_messages WHERE id > (SELECT max(id) - 3 FROM rejected_messages)")" = \
  "message: expected 2 frames, got 3,message: expected 2 frames, got 1,message: expected 2 frames, got 3" ] ||
	t_fail "frame-count rejections stored as: $(t_sql "SELECT reason FROM rejected_messages ORDER BY id DESC LIMIT 3")"

# ---- clock.tick is valid, but not in clock.mode "wall" (SPEC §2.2) ----
reply=$("$ZT" msg "$ROUTER" "$HANDOFF_SOURCE_DIR/proto/examples/valid/clock_tick.msg") || t_fail "clock.tick: no reply"
[ "$(t_json '"%s %s" % (d["status"], d["error"].startswith("type: clock.tick "))' <<<"$reply")" = "rejected True" ] ||
	t_fail "clock.tick in wall mode: $reply"
t_wait 30 "the clock.tick rejection stored" nrej_is $((n + 4))

# ---- a rejected body longer than the 4096 bytes kept ----
{ printf '{"v":1,"id":"long-1","source":"longsrc","type":"lead.upserted","junk":"'; head -c 6000 /dev/zero | tr '\0' 'x'; printf '"'; } >"$T/long.body"
reply=$("$ZT" raw "$ROUTER" lead.upserted "@$T/long.body") || t_fail "long body: no reply"
[ "$(t_json 'd["status"]' <<<"$reply")" = rejected ] || t_fail "long invalid body: $reply"
t_wait 30 "the long rejection stored" nrej_is $((n + 5))
[ "$(t_sql "SELECT octet_length(raw), raw_len, raw = substring(decode('$(od -An -v -tx1 "$T/long.body" | tr -d ' \n')', 'hex') from 1 for 4096)
            FROM rejected_messages ORDER BY id DESC LIMIT 1")" = "4096|$(wc -c <"$T/long.body")|t" ] ||
	t_fail "long rejection stored as: $(t_sql "SELECT octet_length(raw), raw_len FROM rejected_messages ORDER BY id DESC LIMIT 1")"

# ---- bus.max_message_bytes: exactly that size is accepted, one byte
# more drops the connection ----
sized_body() { # ID SIZE FILE
	local head="{\"v\":1,\"id\":\"$1\",\"source\":\"bigsrc\",\"type\":\"lead.upserted\",\"occurred_at\":\"2026-03-10T14:22:05Z\",\"lead\":{\"id\":\"L\"},\"pad\":\""
	{ printf '%s' "$head"; head -c $(($2 - ${#head} - 2)) /dev/zero | tr '\0' 'p'; printf '"}'; } >"$3"
	[ "$(wc -c <"$3")" = "$2" ] || t_fail "sized_body: $(wc -c <"$3") bytes, want $2"
}
sized_body big-1 "$MAXMSG" "$T/max.body"
reply=$("$ZT" raw "$ROUTER" "" lead.upserted "@$T/max.body") || t_fail "a body of max_message_bytes: no reply"
[ "$(tail -n +2 <<<"$reply" | t_json 'd["status"]')" = accepted ] || t_fail "a body of max_message_bytes: $reply"
sized_body big-2 $((MAXMSG + 1)) "$T/over.body"
st0=$(t_ctl -t 30 status) || t_fail "status failed"
out=$("$ZT" -t 30000 drop "$ROUTER" "" lead.upserted "@$T/over.body") || t_fail "oversized body: the connection was not dropped: $out"
# An oversized frame in another place (here the only one) is dropped too.
out=$("$ZT" -t 30000 drop "$ROUTER" "@$T/over.body") || t_fail "oversized topic frame: the connection was not dropped: $out"

# ---- the daemon keeps serving ----
printf '%s\n' "$good" >"$T/good.jsonl"
out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/good.jsonl") || t_fail "send after the rejections: $out"
[ "$out" = "accepted 1, duplicate 0, rejected 0, invalid 0" ] || t_fail "send after the rejections: $out"
st=$(t_ctl -t 30 status) || t_fail "status after the rejections failed"
[ "$(t_json '"%d %d %d" % (d["events"]["accepted"], d["events"]["duplicate"], d["events"]["rejected"])' <<<"$st")" = "2 0 $((n + 5))" ] ||
	t_fail "status counts after the rejections: $st"
# The dropped messages left no trace: not rejected, not stored.
[ "$(t_json 'd["events"]["rejected"]' <<<"$st0")" = "$(t_json 'd["events"]["rejected"]' <<<"$st")" ] ||
	t_fail "an oversized message was counted as rejected"
nrej_is $((n + 5)) || t_fail "an oversized message was stored as rejected"
[ "$(t_sql "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM events")" = "big-1,g-1" ] ||
	t_fail "events: $(t_sql "SELECT string_agg(event_id, ',') FROM events")"
# And a PUSH producer is served too.
"$ZT" push "$PULL" "$T/good.jsonl" >/dev/null
printf '%s\n' "${good/g-1/g-2}" >"$T/good2.jsonl"
"$ZT" push "$PULL" "$T/good2.jsonl" >/dev/null
g2_stored() {
	[ "$(t_sql "SELECT count(*) FROM events WHERE event_id = 'g-2'")" = 1 ]
}
t_wait 30 "g-2 from the pull endpoint" g2_stored
t_stop
t_pass
