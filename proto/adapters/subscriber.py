#!/usr/bin/env python3
"""A subscriber: prints what handoffd publishes under a topic prefix, and
fills any gap in seq from the control endpoint's replay.
Usage: subscriber.py PUBLISH_ENDPOINT CONTROL_ENDPOINT [PREFIX]"""
import json, sys, zmq

prefix = sys.argv[3] if len(sys.argv) > 3 else ""
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.connect(sys.argv[1])
sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
sub.setsockopt(zmq.SUBSCRIBE, b"bus.heartbeat")  # notices a lost last message
last = None
def replay(since, upto):  # what we missed, from the database
    ctl = ctx.socket(zmq.REQ)
    ctl.connect(sys.argv[2])
    ctl.send_multipart([b"replay", json.dumps({"since": since}).encode()])
    frames = [json.loads(f) for f in ctl.recv_multipart()]
    ctl.close()
    return [m for m in frames if "seq" in m and m["seq"] <= upto]
while True:
    m = json.loads(sub.recv_multipart()[1])
    beat = m["type"] == "bus.heartbeat"  # carries the last seq published
    upto = m["seq"] if beat else m["seq"] - 1
    got = replay(last, upto) if last is not None and upto > last else []
    for x in got + ([] if beat else [m]):
        if x["type"].startswith(prefix) and x["seq"] > (last or 0):
            print(json.dumps(x), flush=True)
    last = max(last or 0, m["seq"])
