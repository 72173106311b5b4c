#!/bin/bash
# handoffd --migrate against a fresh database of the fixture PostgreSQL: the
# first run applies every migration of sql/, the second finds the schema
# current, schema_migrations records each file with the SHA-256 that
# sha256sum gives, and a database the binary must not touch (unreachable,
# or with an edited migration) makes it exit 1 with a message that says why.
set -euo pipefail

: "${HANDOFFD:?run this test with ctest}"
: "${HANDOFF_SOURCE_DIR:?run this test with ctest}"
: "${HANDOFF_TEST_PGSTATE:?run this test with ctest}"

fail() {
	echo "test_migrate_cli: $*" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

base=$(cat "$HANDOFF_TEST_PGSTATE/conninfo")
db=handoff_t_migrate_cli
psql -X -q -v ON_ERROR_STOP=1 "$base" \
	-c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
	-c "CREATE DATABASE $db"
# A later dbname= overrides the fixture's.
conninfo="$base dbname=$db"
q() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 "$conninfo" -c "$1"
}

# The smallest configuration SPEC section 3 allows. --migrate binds nothing,
# so the endpoints only have to be valid.
write_config() {
	cat >"$tmp/handoffd.conf" <<EOF
database = {
  conninfo = "$1";
};
bus = {
  ingest = (
    { kind = "pull"; endpoint = "ipc://$tmp/ingest.sock"; }
  );
  publish = "ipc://$tmp/publish.sock";
  control = "ipc://$tmp/control.sock";
};
log = { level = "info"; };
EOF
}

# Runs handoffd --migrate; the log goes to $tmp/$1.log, the exit status to rc.
migrate() {
	rc=0
	"$HANDOFFD" --migrate -c "$tmp/handoffd.conf" >"$tmp/$1.log" 2>&1 ||
		rc=$?
	echo "--- handoffd --migrate ($1), exit $rc:" >&2
	cat "$tmp/$1.log" >&2
}

expect_log() {
	grep -qF -- "$2" "$tmp/$1.log" || fail "$1: the log does not say '$2'"
}

# The migration files, by name, as the binary must have embedded them.
files=()
for f in "$HANDOFF_SOURCE_DIR"/sql/[0-9][0-9][0-9]_*.sql; do
	files+=("$(basename "$f")")
done
[ ${#files[@]} -ge 1 ] || fail "no migrations in $HANDOFF_SOURCE_DIR/sql"
latest=${files[${#files[@]}-1]}

write_config "$conninfo"

migrate first
[ "$rc" = 0 ] || fail "first run: exit $rc, want 0"
for f in "${files[@]}"; do
	expect_log first "applied migration $f"
done
expect_log first "applied ${#files[@]} migration(s); schema is at $latest"

migrate second
[ "$rc" = 0 ] || fail "second run: exit $rc, want 0"
expect_log second "schema is current ($latest)"
if grep -qF "applied migration" "$tmp/second.log"; then
	fail "second run applied a migration again"
fi

got=$(q "SELECT string_agg(name, ' ' ORDER BY name) FROM schema_migrations")
[ "$got" = "${files[*]}" ] ||
	fail "schema_migrations has '$got', want '${files[*]}'"
for f in "${files[@]}"; do
	want=$(sha256sum "$HANDOFF_SOURCE_DIR/sql/$f" | cut -d' ' -f1)
	got=$(q "SELECT checksum FROM schema_migrations WHERE name = '$f'")
	[ "$got" = "$want" ] ||
		fail "$f: recorded checksum '$got', sha256sum '$want'"
done
[ "$(q "SELECT last_seq FROM outbox_seq")" = 0 ] || fail "outbox_seq is not 0"

# An edited migration: refused, exit 1, the file named.
q "UPDATE schema_migrations SET checksum = repeat('0', 64)
   WHERE name = '001_init.sql'" >/dev/null
migrate tampered
[ "$rc" = 1 ] || fail "tampered checksum: exit $rc, want 1"
expect_log tampered "migration 001_init.sql was applied with checksum"

# An unreachable database: exit 1. Nothing listens on port 1.
write_config "host=127.0.0.1 port=1 dbname=$db connect_timeout=5"
migrate unreachable
[ "$rc" = 1 ] || fail "unreachable database: exit $rc, want 1"
expect_log unreachable "database: cannot connect"

psql -X -q -v ON_ERROR_STOP=1 "$base" -c "DROP DATABASE $db WITH (FORCE)"
echo "test_migrate_cli: ok"
