"""Comparisons for the scenario runner (test_scenarios.sh); see
tests/scenarios/README.md for the format. Standard library only.

  scenario_compare.py published EXPECTED ACTUAL
      ACTUAL is the output of `handoffctl replay --since 0` (one message a
      line). Every message must have v 1 and seq 1, 2, 3 ... in order; v,
      seq and emitted_at are dropped, and the list must equal EXPECTED's
      exactly.

  scenario_compare.py count EXPECTED
      Prints the number of messages EXPECTED lists.

  scenario_compare.py lead EXPECT_LINE ACTUAL_JSON
      EXPECT_LINE is one line of expect_leads.jsonl; ACTUAL_JSON the lead
      the control endpoint returned. Every key of "expect" must be in the
      lead with an equal value (objects compared as subsets, recursively;
      arrays element by element, exactly).

  scenario_compare.py selector EXPECT_LINE
      Prints what the line expects ("lead" or "error"), the error text (or
      an empty line), then the handoffctl arguments of its "lead"
      selector, one a line.

Each exits 0 on a match and 1 with a readable explanation otherwise.
"""

import difflib
import json
import sys


def load_lines(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                sys.exit("%s:%d: not JSON: %s" % (path, n, e))
    return out


def canon(v):
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def same(a, b):
    """Exact JSON equality: true and 1 differ; 1 and 1.0 do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def subset(want, got, path, problems):
    """Objects: every key of want in got, recursively. Anything else:
    exactly equal."""
    if isinstance(want, dict) and isinstance(got, dict):
        for k, v in want.items():
            if k not in got:
                problems.append("%s.%s: missing (want %s)" % (path, k, canon(v)))
            else:
                subset(v, got[k], "%s.%s" % (path, k), problems)
        return
    if not same(want, got):
        problems.append("%s: want %s\n%s  got  %s" % (path, canon(want),
                        " " * len(path), canon(got)))


def cmd_published(expected_path, actual_path):
    want = load_lines(expected_path)
    got = []
    problems = []
    for i, m in enumerate(load_lines(actual_path), 1):
        if not isinstance(m, dict):
            problems.append("message %d is not an object" % i)
            continue
        if m.get("seq") != i:
            problems.append("message %d has seq %s, want %d" % (i, m.get("seq"), i))
        if m.get("v") != 1 or isinstance(m.get("v"), bool):
            problems.append("message %d has v %s, want 1" % (i, canon(m.get("v"))))
        if not isinstance(m.get("emitted_at"), str):
            problems.append("message %d has no emitted_at" % i)
        for k in ("v", "seq", "emitted_at"):
            m.pop(k, None)
        got.append(m)
    if not (len(want) == len(got) and all(same(a, b) for a, b in zip(want, got))):
        problems.append("published messages differ (- expected, + got):")
        problems.extend(difflib.unified_diff(
            [canon(m) for m in want], [canon(m) for m in got],
            "expect_published.jsonl", "replay", lineterm="", n=2))
    if problems:
        print("\n".join(problems))
        return 1
    return 0


def cmd_lead(line, actual):
    spec = json.loads(line)
    try:
        got = json.loads(actual)
    except ValueError as e:
        print("lead %s: reply is not JSON (%s): %s" % (canon(spec["lead"]), e, actual))
        return 1
    problems = []
    subset(spec["expect"], got, "lead", problems)
    if problems:
        print("lead %s does not match:" % canon(spec["lead"]))
        print("\n".join("  " + p for p in problems))
        print("  the whole lead: %s" % canon(got))
        return 1
    return 0


def cmd_selector(line):
    spec = json.loads(line)
    sel = spec.get("lead")
    if not isinstance(sel, dict):
        sys.exit("expect_leads.jsonl: each line needs a \"lead\" selector: %s" % line)
    if set(sel) == {"lead_key"}:
        args = [sel["lead_key"]]
    elif set(sel) == {"email"}:
        args = [sel["email"]]
    elif set(sel) == {"source", "id"}:
        args = ["--source", sel["source"], "--id", sel["id"]]
    else:
        sys.exit("expect_leads.jsonl: bad selector %s" % canon(sel))
    if ("expect" in spec) == ("error" in spec):
        sys.exit("expect_leads.jsonl: give one of \"expect\" and \"error\": %s" % line)
    print("error" if "error" in spec else "lead")
    print(spec.get("error", ""))
    for a in args:
        print(a)
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "published":
        return cmd_published(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "count":
        print(len(load_lines(argv[2])))
        return 0
    if len(argv) == 4 and argv[1] == "lead":
        return cmd_lead(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "selector":
        return cmd_selector(argv[2])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
