#!/usr/bin/env python3
"""A producer: sends JSON-lines events to handoffd's acknowledged (router)
endpoint, one at a time, resending until each is acknowledged.
Usage: producer.py tcp://HOST:PORT < events.jsonl"""
import json, sys, zmq

ctx = zmq.Context()
def connect():
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(sys.argv[1])
    return s
sock = connect()
for line in sys.stdin:
    if not line.strip():
        continue
    event = json.loads(line)
    while True:  # same (source, id) on a resend: never a duplicate
        sock.send_multipart([event["type"].encode(), line.strip().encode()])
        if sock.poll(5000):
            reply = json.loads(sock.recv())
            break
        sock.close()
        sock = connect()  # no reply: a fresh socket, then resend
    print(reply["status"], reply["source"], reply["id"], reply["error"] or "")
