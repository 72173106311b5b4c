#!/usr/bin/python3
"""Checks a Prometheus text exposition (format 0.0.4) read from standard
input and prints it as JSON: {"types": {family: type}, "help": {family:
text}, "samples": {series: value}}, a series being written as
name{label="value",...} with the labels sorted by name (the bare name when it
has none). Exits 1 naming the line on the first violation of the format:
a sample before its family's TYPE line, a TYPE or HELP given twice, an
unknown type, a malformed name, label or value, a duplicate series, a
counter that is negative, or a histogram whose buckets are not cumulative,
not in increasing order of le, or lack the +Inf bucket equal to _count.
"""
import json
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(lineno, msg):
    print("exposition line %d: %s" % (lineno, msg), file=sys.stderr)
    sys.exit(1)


def parse_labels(s, lineno):
    """Parses 'a="x",b="y"' (the text between the braces)."""
    labels = {}
    i = 0
    while i < len(s):
        m = re.match(LABEL, s[i:])
        if not m:
            fail(lineno, "bad label name at %r" % s[i:])
        name = m.group(0)
        i += len(name)
        if s[i:i + 2] != '="':
            fail(lineno, "expected =\" after label %s" % name)
        i += 2
        value = []
        while True:
            if i >= len(s):
                fail(lineno, "unterminated value of label %s" % name)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    fail(lineno, "bad escape \\%s in label %s" % (nxt, name))
                value.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                fail(lineno, "raw newline in label %s" % name)
            else:
                value.append(c)
                i += 1
        if name in labels:
            fail(lineno, "label %s given twice" % name)
        labels[name] = "".join(value)
        if i < len(s):
            if s[i] != ",":
                fail(lineno, "expected , between labels")
            i += 1
    return labels


def parse_value(v, lineno):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", v):
        fail(lineno, "bad value %r" % v)
    return float(v)


def series_key(name, labels):
    if not labels:
        return name
    return name + "{" + ",".join('%s="%s"' % (k, labels[k])
                                 for k in sorted(labels)) + "}"


def main():
    text = sys.stdin.read()
    if text and not text.endswith("\n"):
        fail(text.count("\n") + 1, "the text does not end with a newline")
    types, helps, samples = {}, {}, {}
    hist = {}  # family -> {"buckets": [(le, v)], "count": v}
    current = None
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s) (.*)" % NAME, line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    fail(lineno, "malformed %s line" % line[2:6])
                continue
            kind, fam, rest = m.groups()
            if kind == "TYPE":
                if fam in types:
                    fail(lineno, "second TYPE for %s" % fam)
                if rest not in TYPES:
                    fail(lineno, "unknown type %r" % rest)
                types[fam] = rest
                current = fam
            else:
                if fam in helps:
                    fail(lineno, "second HELP for %s" % fam)
                helps[fam] = rest
            continue
        if line == "":
            fail(lineno, "empty line")
        m = re.fullmatch(r"(%s)(?:\{(.*)\})? (\S+)( -?\d+)?" % NAME, line)
        if not m:
            fail(lineno, "malformed sample %r" % line)
        name, lab, val, _ts = m.groups()
        labels = parse_labels(lab, lineno) if lab else {}
        value = parse_value(val, lineno)
        fam = name
        if current is not None and types[current] in ("histogram", "summary"):
            for suffix in ("_bucket", "_sum", "_count"):
                if name == current + suffix:
                    fam = current
        if fam != current:
            fail(lineno, "sample %s outside its family's block (no TYPE "
                 "line right before)" % name)
        key = series_key(name, labels)
        if key in samples:
            fail(lineno, "duplicate series %s" % key)
        samples[key] = value
        t = types[fam]
        if t == "counter":
            if not name.endswith("_total"):
                fail(lineno, "counter %s does not end in _total" % name)
            if value < 0 or math.isnan(value):
                fail(lineno, "counter %s is %r" % (name, value))
        if t == "histogram":
            h = hist.setdefault(fam, {"buckets": [], "count": None})
            if name.endswith("_bucket"):
                if "le" not in labels:
                    fail(lineno, "bucket without le")
                h["buckets"].append((parse_value(labels["le"], lineno),
                                     value, lineno))
            elif name.endswith("_count"):
                h["count"] = value
    for fam, h in hist.items():
        prev_le, prev_v = -math.inf, 0
        for le, v, lineno in h["buckets"]:
            if le <= prev_le:
                fail(lineno, "%s: le not increasing" % fam)
            if v < prev_v:
                fail(lineno, "%s: buckets not cumulative" % fam)
            prev_le, prev_v = le, v
        if not h["buckets"] or h["buckets"][-1][0] != math.inf:
            fail(0, "%s: no +Inf bucket" % fam)
        if h["count"] != h["buckets"][-1][1]:
            fail(0, "%s: _count %r differs from the +Inf bucket %r"
                 % (fam, h["count"], h["buckets"][-1][1]))
    for fam in types:
        if fam not in helps:
            fail(0, "%s has no HELP line" % fam)
    json.dump({"types": types, "help": helps, "samples": samples}, sys.stdout)


main()
