#!/bin/bash
# handoffd --check-config from the outside (SPEC §3, §8): the example
# configuration passes with exit 0; every file in tests/config/bad/ exits 3
# and prints the error written on its first line ("# expect: ...", {FILE}
# standing for its path); a missing file exits 3; a bad option exits 2.
set -u

: "${HANDOFFD:?HANDOFFD is not set (run the tests with ctest)}"
: "${HANDOFF_SOURCE_DIR:?HANDOFF_SOURCE_DIR is not set (run the tests with ctest)}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "test_check_config: FAIL: $*" >&2
	exit 1
}

# Runs handoffd with the given arguments; sets rc, and leaves its output in
# $tmp/out and $tmp/err.
run() {
	"$HANDOFFD" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

example=$HANDOFF_SOURCE_DIR/deploy/handoffd.conf
run --check-config -c "$example"
[ "$rc" -eq 0 ] || fail "$example: exit $rc, expected 0; stderr: $(cat "$tmp/err")"
grep -qxF -- "$example: configuration OK" "$tmp/out" ||
	fail "$example: stdout lacks \"configuration OK\": $(cat "$tmp/out")"

n=0
for f in "$HANDOFF_SOURCE_DIR"/tests/config/bad/*.conf; do
	[ -f "$f" ] || fail "no files in tests/config/bad"
	first=$(head -n 1 "$f")
	case $first in
	"# expect: "*) ;;
	*) fail "$f: the first line must be \"# expect: ...\"" ;;
	esac
	expect=${first#"# expect: "}
	expect=${expect//"{FILE}"/"$f"}
	run --check-config -c "$f"
	[ "$rc" -eq 3 ] || fail "$f: exit $rc, expected 3; stderr: $(cat "$tmp/err")"
	grep -qxF -- "$expect" "$tmp/err" ||
		fail "$f: stderr lacks the line: $expect
stderr was: $(cat "$tmp/err")"
	n=$((n + 1))
done
[ "$n" -ge 12 ] || fail "only $n files in tests/config/bad, expected at least 12"

missing=$tmp/no-such.conf
run --check-config -c "$missing"
[ "$rc" -eq 3 ] || fail "$missing: exit $rc, expected 3"
grep -qxF -- "$missing: cannot read: No such file or directory" "$tmp/err" ||
	fail "$missing: unexpected stderr: $(cat "$tmp/err")"

run --check-config --no-such-option -c "$example"
[ "$rc" -eq 2 ] || fail "--no-such-option: exit $rc, expected 2"

echo "test_check_config: example, $n bad files, missing file and bad option OK"
