"""Checks the JSON Schemas of proto/schema/ and the examples of proto/examples/.

Run by tests/unit/test_schemas.sh with the system python3, which has Debian's
python3-jsonschema (4.10, draft 2020-12). It checks that:

  1. every schema file is a valid draft 2020-12 schema whose $id is its file
     name, every $ref in it resolves, and every message type of the protocol
     has a schema;
  2. each schema accepts a correct sample message and refuses a few broken
     ones (the samples below), so that a schema that accepts everything, or
     nothing, does not pass;
  3. every example in proto/examples/valid/ validates against the schema of
     its topic (there must be at least one);
  4. every example in proto/examples/invalid/ that is well-formed JSON in
     UTF-8 is refused by the schema of its topic as well, except those named
     in CANNOT_EXPRESS, which break a rule JSON Schema cannot state; and the
     examples named in MUST_REJECT (missing required fields, values outside
     an enumeration) are among those refused.

Usage: validate_schemas.py SOURCE_DIR. Exits 0 when everything holds, 1 with
one line per failure otherwise.
"""

import json
import os
import sys

import jsonschema
from jsonschema import Draft202012Validator, RefResolver

INBOUND = [
    "lead.upserted", "lead.qualified", "lead.recycled", "lead.disqualified",
    "sales.accepted", "sales.rejected", "sales.activity", "sales.reassigned",
    "deal.opened", "deal.stage_changed", "deal.closed", "clock.tick",
]
OUTBOUND = [
    "handoff.assigned", "handoff.reassigned", "handoff.recycled",
    "sla.warning", "sla.breached", "sla.escalated", "sla.resolved",
    "sla.retracted", "sla.target_missed", "reconcile.unmatched",
    "reconcile.conflict", "bus.heartbeat",
]
REPLIES = [
    "router.reply", "control.ping", "control.error", "control.status",
    "control.replay_end", "control.lead", "control.report",
]

# Invalid examples whose expected error is a missing required field or a
# value outside an enumeration: the schemas must refuse each of them. They are
# named so that the check of point 4 cannot pass by matching nothing.
MUST_REJECT = [
    "lead_missing",                  # lead: required
    "lead_null",                     # lead: required (null counts as absent)
    "lead_id_missing",               # lead.id: required
    "lead_disqualified_no_reason",   # reason: required
    "sales_rejected_no_reason",      # reason: required
    "sales_reassigned_no_owner",     # owner: required
    "lead_ref_empty",                # lead_ref: needs lead_key, crm_id or email
    "lead_ref_blank_email_only",     # lead_ref: needs lead_key, crm_id or email
    "deal_stage_changed_no_stage",   # deal.stage: required
    "deal_closed_no_outcome",        # deal.outcome: required
    "source_missing",                # source: required
    "occurred_at_missing",           # occurred_at: required
    "sales_activity_bad_channel",    # channel: must be one of ...
    "sales_activity_channel_case",   # channel: must be one of ... ("Call")
    "sales_activity_bad_outcome",    # outcome: must be one of ...
    "deal_closed_bad_outcome",       # deal.outcome: must be won or lost
]

# Invalid examples that a JSON Schema accepts although the codec refuses
# them, because the rule they break is beyond what a schema can say about a
# parsed JSON value. proto/README.md lists these limits.
CANNOT_EXPRESS = {
    "v_float": "JSON Schema counts 1.0 as the integer 1",
    "clock_tick_v_float": "JSON Schema counts 1.0 as the integer 1",
    "deal_amount_overflow": "a number's range as a double",
    "deal_amount_too_long": "the length of a number's literal",
    "duplicate_key_nested": "duplicate keys are gone once the JSON is parsed",
    "escape_lone_high_surrogate": "the parser accepts unpaired surrogate escapes",
    "escape_lone_low_surrogate": "the parser accepts unpaired surrogate escapes",
    "lead_country_unassigned": "the list of assigned country codes",
    "nul_in_array": "U+0000 in fields the schemas do not describe",
    "nul_in_key": "U+0000 in fields the schemas do not describe",
    "nul_in_string": "U+0000 in a free-text field",
    "occurred_at_feb29_2026": "whether a date exists in its month",
    "occurred_at_feb30": "whether a date exists in its month",
    "too_deep": "the nesting depth of a document",
}

failures = []


def fail(msg):
    failures.append(msg)


def load_schemas(schema_dir):
    schemas = {}
    for name in sorted(os.listdir(schema_dir)):
        if not name.endswith(".schema.json"):
            fail(f"{schema_dir}/{name}: not a *.schema.json file")
            continue
        path = os.path.join(schema_dir, name)
        try:
            with open(path, encoding="utf-8") as f:
                schema = json.load(f)
        except (OSError, ValueError) as e:
            fail(f"{path}: cannot read: {e}")
            continue
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            fail(f"{path}: $schema is not draft 2020-12")
        if schema.get("$id") != name:
            fail(f"{path}: $id is {schema.get('$id')!r}, expected {name!r}")
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            fail(f"{path}: not a valid schema: {e.message} at "
                 f"/{'/'.join(str(p) for p in e.absolute_path)}")
            continue
        schemas[name[:-len(".schema.json")]] = schema
    return schemas


def refs_of(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield path, v
            else:
                yield from refs_of(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs_of(v, f"{path}/{i}")


def make_validators(schemas):
    # The $ids are file names, so a $ref like "common.schema.json#/$defs/id"
    # resolves inside this store and nothing is ever fetched.
    store = {s["$id"]: s for s in schemas.values()}
    validators = {}
    for t, schema in schemas.items():
        resolver = RefResolver.from_schema(schema, store=store)
        validators[t] = Draft202012Validator(schema, resolver=resolver)
        for where, ref in refs_of(schema):
            try:
                # Resolve the way the validator does: relative to the file
                # that holds the reference.
                resolver.resolve(ref)
            except jsonschema.exceptions.RefResolutionError as e:
                fail(f"{schema['$id']}{where}: $ref {ref!r} does not resolve: {e}")
    return validators


def errors_of(validator, instance):
    return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))


def describe(errors):
    return "; ".join(
        f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors[:3])


ENV = {"v": 1, "id": "ev-1", "source": "marketo", "occurred_at": "2026-11-24T10:15:30+01:00"}
OUTENV = {"v": 1, "seq": 42, "emitted_at": "2026-11-24T10:15:31.250000Z"}
TS = "2026-11-24T09:15:30Z"


def inb(t, **fields):
    return dict(ENV, type=t, **fields)


def outb(t, **fields):
    return dict(OUTENV, type=t, **fields)


def report_sample(**changes):
    """A scorecard (the control command report's reply) of an empty week."""
    sla = {"met": 0, "breached": 0, "open": 0, "cancelled": 0, "compliance": None}
    doc = {
        "week": "2026-W48", "zone": "Europe/London", "start": TS, "end": TS,
        "first_day": "2026-11-23", "last_day": "2026-11-29", "clock": TS,
        "complete": True,
        "funnel": {"entered": {s: 0 for s in ("lead", "mql", "sal", "sql", "won", "lost",
                                               "recycled", "disqualified")},
                   "leads": {"created": 0, "became_mql": 0},
                   "mqls": {"count": 0, "reached_sal": 0, "reached_sql": 0, "won": 0,
                            "lost": 0},
                   "conversion": {"lead_mql": None, "mql_sal": None, "sal_sql": None,
                                  "sql_won": None, "mql_won": None}},
        "acceptance": {"mqls": 0, "answered": 0, "accepted": 0, "rejected": 0, "rate": None},
        "speed_to_lead": {"mqls": 0, "touched": 0, "median_s": None, "p90_s": None},
        "sla": {"clocks": [dict(sla, clock="mql_acceptance")],
                "teams": [dict(sla, team=None, clock="mql_acceptance")]},
        "rejections": {"total": 0, "reasons": []},
        "targets": [{"name": "mql_volume", "metric": "mql_count", "period": "week",
                     "team": None, "goal": 200, "actual": 0, "met": False,
                     "evaluations": [{"period_start": TS, "period_end": TS, "actual": 0,
                                      "missed": True}]}],
        "pipeline": {"opened": [{"currency": "EUR", "deals": 1, "amount": 1200.5}],
                     "won": [], "lost": [], "open": []},
        "trend": [{"week": "2026-W48", "start": TS, "mqls": 0, "touched": 0,
                   "median_s": None, "p90_s": None}],
    }
    doc.update(changes)
    return doc


def sample_pairs():
    """(type, message, should_validate, what) for the schema self-test."""
    lead = {"id": "L-1", "email": " Ana@Example.COM ", "country": "gb", "score": 70,
            "attributes": {"utm_source": "newsletter"}}
    ref = {"crm_id": "00Q5e00000ABC"}
    ok = [
        ("lead.upserted", inb("lead.upserted", lead=lead, extra={"kept": True})),
        ("lead.qualified", inb("lead.qualified", lead={"id": "L-1"}, reason="score >= 50")),
        ("lead.recycled", inb("lead.recycled", lead={"id": "L-1", "email": "  ", "title": None,
                                                      "country": "", "score": None})),
        ("lead.disqualified", inb("lead.disqualified", lead={"id": "L-1"}, reason="competitor")),
        ("sales.accepted", inb("sales.accepted", lead_ref={"lead_key": "k1"}, owner="ana")),
        ("sales.accepted", inb("sales.accepted", lead_ref={"lead_key": None, "crm_id": "c"},
                               owner=None)),
        ("sales.rejected", inb("sales.rejected", lead_ref=ref, reason="no budget")),
        ("sales.activity", inb("sales.activity", lead_ref={"email": "a@b.c"}, channel="call",
                               outcome="connected")),
        ("sales.reassigned", inb("sales.reassigned", lead_ref=ref, owner="bo", team="emea-smb")),
        ("deal.opened", inb("deal.opened", deal={"id": "D1", "amount": 1200.50, "currency": "eur"},
                            lead_ref=ref)),
        ("deal.stage_changed", inb("deal.stage_changed", deal={"id": "D1", "stage": "proposal"})),
        ("deal.closed", inb("deal.closed", deal={"id": "D1", "outcome": "won", "amount": 1e3})),
        ("clock.tick", inb("clock.tick", occurred_at="2026-11-24t10:15:30.123456z")),
        ("handoff.assigned", outb("handoff.assigned", lead_key="k1",
                                  lead={"source": "marketo", "id": "L-1", "email": "Ana@Example.com",
                                        "first_name": None, "last_name": None, "company": None,
                                        "title": None, "country": "GB", "segment": None,
                                        "score": 70, "campaign": None, "attributes": {}},
                                  owner="ana", team="emea-smb", rule="uk-de",
                                  due={"mql_acceptance": TS})),
        ("handoff.reassigned", outb("handoff.reassigned", lead_key="k1", **{"from": None},
                                    to="bo", team="emea-smb", why="crm")),
        ("handoff.recycled", outb("handoff.recycled", lead_key="k1",
                                  lead={"source": "marketo", "id": "L-1", "email": None},
                                  reason="no budget", by=None)),
        ("sla.warning", outb("sla.warning", lead_key="k1", clock="c", cycle=1, owner=None,
                             team=None, started_at=TS, due_at=TS, fraction=0.75)),
        ("sla.breached", outb("sla.breached", lead_key="k1", clock="c", cycle=2, owner="ana",
                              team="t", started_at=TS, due_at=TS, goal_s=14400)),
        ("sla.escalated", outb("sla.escalated", lead_key="k1", clock="c", cycle=1, level=1,
                               to="maria@corp.example", overdue_s=7200)),
        ("sla.resolved", outb("sla.resolved", lead_key="k1", clock="c", cycle=1, stopped_at=TS,
                              overdue_s=60)),
        ("sla.retracted", outb("sla.retracted", lead_key="k1", clock="c", cycle=1, stopped_at=TS)),
        ("sla.target_missed", outb("sla.target_missed", target="mql_volume", metric="mql_count",
                                   period_start=TS, period_end=TS, goal=200, actual=150,
                                   team=None)),
        ("reconcile.unmatched", outb("reconcile.unmatched",
                                     event={"source": "salesforce", "id": "e1",
                                            "type": "sales.accepted"},
                                     lead_ref={"lead_key": None, "crm_id": "x", "email": None},
                                     waited_s=300)),
        ("reconcile.conflict", outb("reconcile.conflict", kind="no_capacity", lead_keys=["k1"],
                                    detail="team emea-smb has no available rep")),
        ("bus.heartbeat", {"v": 1, "type": "bus.heartbeat", "seq": 0, "emitted_at": TS}),
        ("router.reply", {"id": "ev-1", "source": "marketo", "status": "accepted", "error": None}),
        ("router.reply", {"id": None, "source": None, "status": "rejected",
                          "error": "body: not valid JSON"}),
        ("control.ping", {"ok": True}),
        ("control.error", {"error": "not found"}),
        ("control.status", {"version": "0.1.0", "uptime_s": 5, "database": "connected",
                            "events": {"accepted": 1, "duplicate": 0, "rejected": 2},
                            "open_cycles": 0, "last_seq": 0, "clock": TS}),
        ("control.replay_end", {"end": True, "last_seq": 0}),
        ("control.lead", {"lead_key": "k1", "source": "marketo", "id": "L-1", "email": None,
                          "stage": "mql", "stages": {"lead": TS, "mql": TS}, "owner": "ana",
                          "team": "emea-smb", "profile": {}, "deals": [],
                          "cycles": [{"clock": "c", "cycle": 1, "state": "running",
                                      "started_at": TS, "due_at": TS, "elapsed_s": 10,
                                      "remaining_s": 100}]}),
        ("control.report", report_sample()),
    ]
    bad = [
        ("lead.upserted", inb("lead.upserted"), "lead missing"),
        ("lead.upserted", inb("lead.upserted", lead={"email": "a@b.c"}), "lead.id missing"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "email": "a b@c"}),
         "space inside an email"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "email": "ab@"}),
         "nothing after the last @"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "email": "  @b"}), "empty local part"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "country": "GBR"}), "country of 3"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "score": "70"}), "score as string"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "score": 2**31}), "score of 2^31"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "attributes": {"a": 1}}),
         "non-string attribute"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L",
                                                     "attributes": {f"k{i}": "v" for i in range(101)}}),
         "101 attributes"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "title": "x" * 257}), "long title"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L\n"}), "control character in id"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L\u0001x"}), "control character in id"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L\u0085x"}), "C1 control in id"),
        ("lead.upserted", inb("lead.upserted", lead={"id": None}), "null lead.id"),
        ("lead.upserted", inb("lead.upserted", lead={"id": ""}), "empty id"),
        ("lead.upserted", dict(inb("lead.upserted", lead={"id": "L"}), source="marketo\n"),
         "newline after source"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "L", "country": "GB\n"}),
         "newline after country"),
        ("lead.upserted", inb("lead.upserted", lead={"id": "x" * 129}), "id of 129"),
        ("lead.upserted", inb("lead.qualified", lead={"id": "L"}), "type not the topic"),
        ("lead.upserted", dict(inb("lead.upserted", lead={"id": "L"}), v=2), "v 2"),
        ("lead.upserted", dict(inb("lead.upserted", lead={"id": "L"}), source="Marketo"),
         "upper-case source"),
        ("clock.tick", inb("clock.tick", occurred_at="2026-11-24 10:15:30Z"), "space for T"),
        ("clock.tick", inb("clock.tick", occurred_at="2026-11-24T10:15:30.1234567Z"), "7 digits"),
        ("clock.tick", inb("clock.tick", occurred_at="2026-11-24T10:15:60Z"), "second 60"),
        ("clock.tick", inb("clock.tick", occurred_at="2026-11-24T10:15:30"), "no offset"),
        ("clock.tick", inb("clock.tick", occurred_at="2026-11-24T10:15:30Z\n"), "newline after Z"),
        ("clock.tick", inb("clock.tick", occurred_at="2026-13-01T10:15:30Z"), "month 13"),
        ("sales.accepted", inb("sales.accepted", lead_ref={}), "empty lead_ref"),
        ("sales.accepted", inb("sales.accepted", lead_ref={"owner": "x"}), "lead_ref without a key"),
        ("sales.accepted", inb("sales.accepted", lead_ref={"lead_key": None, "email": " "}),
         "lead_ref with only null and blank keys"),
        ("sales.rejected", inb("sales.rejected", lead_ref={"lead_key": "k"}, reason="x" * 201),
         "reason of 201"),
        ("sales.rejected", inb("sales.rejected", lead_ref={"lead_key": "k"}, reason=""),
         "empty reason"),
        ("sales.activity", inb("sales.activity", lead_ref={"lead_key": "k"}, channel="fax"),
         "bad channel"),
        ("sales.activity", inb("sales.activity", lead_ref={"lead_key": "k"}, channel="call",
                               outcome="maybe"), "bad outcome"),
        ("sales.reassigned", inb("sales.reassigned", lead_ref={"lead_key": "k"}), "owner missing"),
        ("sales.reassigned", inb("sales.reassigned", lead_ref={"lead_key": "k"}, owner=None),
         "null owner"),
        ("deal.opened", inb("deal.opened", deal={"id": "D"}), "lead_ref missing"),
        ("deal.opened", inb("deal.opened", deal={"id": "D", "amount": "12"},
                            lead_ref={"lead_key": "k"}), "amount as string"),
        ("deal.opened", inb("deal.opened", deal={"id": "D", "currency": "EURO"},
                            lead_ref={"lead_key": "k"}), "four-letter currency"),
        ("deal.stage_changed", inb("deal.stage_changed", deal={"id": "D"}), "stage missing"),
        ("deal.stage_changed", inb("deal.stage_changed", deal={"id": "D", "stage": None}),
         "null stage"),
        ("deal.closed", inb("deal.closed", deal={"id": "D", "outcome": "open"}), "bad outcome"),
        ("handoff.assigned", outb("handoff.assigned", lead_key="k1",
                                  lead={"source": "marketo", "id": "L-1"}, owner="ana",
                                  team="t", rule="r", due={}, extra=1), "unlisted field"),
        ("sla.breached", outb("sla.breached", lead_key="k1", clock="c", cycle=0, owner="ana",
                              team="t", started_at=TS, due_at=TS, goal_s=1), "cycle 0"),
        ("sla.resolved", dict(outb("sla.resolved", lead_key="k1", clock="c", cycle=1,
                                   stopped_at=TS, overdue_s=60), emitted_at="2026-11-24T10:15:30+01:00"),
         "emitted_at not UTC"),
        ("bus.heartbeat", {"v": 1, "type": "bus.heartbeat", "seq": 3, "emitted_at": TS,
                           "lead_key": "k"}, "heartbeat with a payload"),
        ("router.reply", {"id": "e", "source": "s", "status": "rejected", "error": None},
         "rejected without an error"),
        ("router.reply", {"id": "e", "source": "s", "status": "accepted", "error": "x"},
         "accepted with an error"),
        ("control.replay_end", {"end": True}, "last_seq missing"),
        ("control.report", report_sample(week="2026-W54"), "week 54"),
        ("control.report", report_sample(acceptance={"mqls": 0, "answered": 0, "accepted": 0,
                                                     "rejected": 0, "rate": 1.5}),
         "rate above 1"),
        ("control.report", {k: v for k, v in report_sample().items() if k != "funnel"},
         "funnel missing"),
    ]
    for t, m in ok:
        yield t, m, True, "correct sample"
    for t, m, what in bad:
        yield t, m, False, what


def read_example(path):
    """Returns (topic, body) of a NAME.msg file: the topic on the first line,
    the body (one JSON object) on the rest."""
    with open(path, "rb") as f:
        data = f.read()
    nl = data.find(b"\n")
    if nl < 0:
        raise ValueError("no newline after the topic")
    topic = data[:nl].decode("ascii").strip()
    return topic, json.loads(data[nl + 1:].decode("utf-8"))


def main():
    if len(sys.argv) != 2:
        print("usage: validate_schemas.py SOURCE_DIR", file=sys.stderr)
        return 2
    src = sys.argv[1]
    schema_dir = os.path.join(src, "proto", "schema")
    examples = os.path.join(src, "proto", "examples")

    schemas = load_schemas(schema_dir)
    for t in ["common"] + INBOUND + OUTBOUND + REPLIES:
        path = os.path.join(schema_dir, t + ".schema.json")
        if t not in schemas and not os.path.exists(path):
            fail(f"{path}: missing")
    if failures:
        # A broken common.schema.json would make every $ref fail as well:
        # report the cause alone.
        return report()
    validators = make_validators(schemas)
    if failures:
        return report()
    print(f"{len(schemas)} schemas valid (draft 2020-12), every $ref resolves")

    n = 0
    sampled = {t for t, _, good, _ in sample_pairs() if good}
    for t in sorted(set(schemas) - {"common"} - sampled):
        fail(f"{t}.schema.json: no correct sample in sample_pairs() to test it with")
    for t, msg, good, what in sample_pairs():
        errs = errors_of(validators[t], msg)
        if good and errs:
            fail(f"{t} schema refuses a {what}: {describe(errs)}")
        elif not good and not errs:
            fail(f"{t} schema accepts a message with {what}")
        n += 1
    print(f"{n} built-in samples behave as expected")

    valid_dir = os.path.join(examples, "valid")
    names = sorted(f for f in os.listdir(valid_dir) if f.endswith(".msg")) \
        if os.path.isdir(valid_dir) else []
    if not names:
        fail(f"{valid_dir}: no *.msg examples to validate")
    for name in names:
        path = os.path.join(valid_dir, name)
        try:
            topic, body = read_example(path)
        except (OSError, ValueError) as e:
            fail(f"{path}: cannot read the example: {e}")
            continue
        if topic not in validators or topic == "common":
            fail(f"{path}: no schema for topic {topic!r}")
            continue
        errs = errors_of(validators[topic], body)
        if errs:
            fail(f"{path}: fails {topic}.schema.json: {describe(errs)}")
    print(f"{len(names)} valid examples checked")

    invalid_dir = os.path.join(examples, "invalid")
    names = sorted(f[:-len(".msg")] for f in os.listdir(invalid_dir) if f.endswith(".msg")) \
        if os.path.isdir(invalid_dir) else []
    if not names:
        fail(f"{invalid_dir}: no *.msg examples")
    refused, unparsed, exempt = set(), 0, 0
    for stem in names:
        path = os.path.join(invalid_dir, stem + ".msg")
        try:
            topic, body = read_example(path)
        except (OSError, ValueError):
            # Not UTF-8 or not JSON: nothing for a schema to look at.
            unparsed += 1
            continue
        if topic not in validators or topic == "common":
            # An unknown topic: no schema can apply.
            unparsed += 1
            continue
        if errors_of(validators[topic], body):
            refused.add(stem)
            if stem in CANNOT_EXPRESS:
                fail(f"{path}: {topic}.schema.json refuses it, so take it off CANNOT_EXPRESS")
        elif stem in CANNOT_EXPRESS:
            exempt += 1
        else:
            fail(f"{path}: {topic}.schema.json accepts it, but the codec refuses it: make "
                 "the schema refuse it, or name it in CANNOT_EXPRESS with the reason")
    for stem in sorted(set(CANNOT_EXPRESS) - set(names)):
        fail(f"{invalid_dir}/{stem}.msg: named in CANNOT_EXPRESS but missing")
    for stem in MUST_REJECT:
        if stem not in refused:
            fail(f"{invalid_dir}/{stem}.msg: named in MUST_REJECT but missing or accepted")
    print(f"{len(names)} invalid examples: {len(refused)} refused by the schemas, "
          f"{exempt} beyond what a schema can express, {unparsed} not JSON or of no known topic")
    return report()


def report():
    for f in failures:
        print(f"FAIL: {f}")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
