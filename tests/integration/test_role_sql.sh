#!/bin/bash
# deploy/create-role.sql on the fixture PostgreSQL (SPEC §9): run twice (it
# must be safe to repeat), it makes a login role with no special attribute
# under which handoffd migrates its schema into its own schema and runs a
# batch end to end (temporary staging table, COPY, outbox); that role can
# create nothing outside its schema; a member of the reader role can read
# every table and view of the schema and change nothing; and a role that was
# granted nothing cannot even connect to the database. The names are the
# script's psql variables, so that the test does not meet the fixture's own
# superuser, whose name is handoff.
source "$(dirname "$0")/lib.sh"

T=$(mktemp -d "/tmp/handoff-test.XXXXXX")
LOG="$T/handoffd.log"
role=handoff_t_role
reader=handoff_t_role_reader
db=handoff_t_role_db
schema=handoff_t_role_schema
analyst=handoff_t_role_analyst
stranger=handoff_t_role_stranger

admin() {
	t_psql_admin "$@"
}
admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
for r in $analyst $stranger $reader $role; do
	admin -c "DROP ROLE IF EXISTS $r" >/dev/null
done

run_script() {
	admin -v role=$role -v reader=$reader -v dbname=$db -v schema=$schema \
		-f "$HANDOFF_SOURCE_DIR/deploy/create-role.sql" >"$T/script.out" 2>&1 ||
		t_fail "create-role.sql failed ($1 run): $(cat "$T/script.out")"
}
run_script first
run_script second

attrs=$(admin -c "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole,
	rolreplication, rolbypassrls FROM pg_roles WHERE rolname = '$role'")
[ "$attrs" = "t|f|f|f|f|f" ] || t_fail "role $role: login, superuser, createdb, createrole, replication, bypassrls = $attrs"
attrs=$(admin -c "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = '$reader'")
[ "$attrs" = "f|f" ] || t_fail "role $reader: login, superuser = $attrs"

base=$(cat "$HANDOFF_TEST_PGSTATE/conninfo")
CONNINFO="$base dbname=$db user=$role"
as_role() {
	psql -X "$CONNINFO" -v ON_ERROR_STOP=1 -qAt "$@"
}
# Runs SQL as USER in the test database; must fail with a message matching
# the extended regular expression WHAT.
must_fail() { # USER SQL WHAT
	local out
	if out=$(psql -X "$base dbname=$db user=$1" -v ON_ERROR_STOP=1 -qAt -c "$2" 2>&1); then
		t_fail "as $1, this succeeded but must not: $2"
	fi
	grep -qE "$3" <<<"$out" || t_fail "as $1, \"$2\" failed otherwise than /$3/: $out"
}

# The daemon migrates as the role: every table lands in its schema.
t_config
"$HANDOFFD" --migrate -c "$T/handoffd.conf" >>"$LOG" 2>&1 || t_fail "handoffd --migrate as $role failed"
n=$(as_role -c "SELECT count(*) FROM pg_tables WHERE schemaname = '$schema'")
[ "$n" -ge 10 ] || t_fail "only $n tables in schema $schema after the migration"
n=$(as_role -c "SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
	WHERE s.nspname = 'public'")
[ "$n" = 0 ] || t_fail "$n relations in schema public after the migration"
[ "$(as_role -c "SELECT to_regclass('$schema.schema_migrations') IS NOT NULL")" = t ] ||
	t_fail "schema_migrations is not in $schema"

# ... and runs: an event sent through the acknowledged endpoint is committed.
cat >"$T/events.jsonl" <<'EOF'
{"v":1,"id":"r-1","source":"rolesrc","type":"lead.qualified","occurred_at":"2026-03-10T14:22:05Z","lead":{"id":"L-r1","email":"ann@example.com","segment":"smb"}}
{"v":1,"id":"r-2","source":"rolesrc","type":"lead.upserted","occurred_at":"2026-03-10T14:22:06Z","lead":{"id":"L-r2"}}
EOF
t_start
out=$("$HANDOFFCTL" -t 10 send --max-tries 5 --to "$ROUTER" "$T/events.jsonl") || t_fail "send failed: $out"
[ "$out" = "accepted 2, duplicate 0, rejected 0, invalid 0" ] || t_fail "send: $out"
t_stop
[ "$(as_role -c "SELECT count(*) FROM events WHERE source = 'rolesrc'")" = 2 ] ||
	t_fail "the events sent are not in $schema.events"

# The daemon's role creates nothing outside its schema.
must_fail $role "CREATE TABLE public.t (a int)" "permission denied for schema public"
must_fail $role "CREATE SCHEMA other" "permission denied for database"
must_fail $role "CREATE DATABASE other" "permission denied to create database"
must_fail $role "CREATE ROLE other" "permission denied to create role"

# A member of the reader role reads every table and view of the schema ...
admin -c "CREATE ROLE $analyst LOGIN IN ROLE $reader" >/dev/null
admin -c "CREATE ROLE $stranger LOGIN" >/dev/null
psql -X "$base dbname=$db user=$analyst" -qAt -c "SELECT c.relname FROM pg_class c
	JOIN pg_namespace s ON s.oid = c.relnamespace
	WHERE s.nspname = '$schema' AND c.relkind IN ('r', 'v', 'm', 'p')
	ORDER BY 1" >"$T/relations" || t_fail "$analyst cannot list the relations of $schema"
[ "$(wc -l <"$T/relations")" -ge 10 ] || t_fail "$analyst sees only $(wc -l <"$T/relations") relations"
# One session reads them all; the error names the relation it could not read.
sed "s/.*/SELECT count(*) FROM $schema.\"&\";/" "$T/relations" >"$T/read.sql"
psql -X "$base dbname=$db user=$analyst" -v ON_ERROR_STOP=1 -qAt -f "$T/read.sql" \
	>"$T/read.out" 2>&1 || t_fail "$analyst cannot read every relation: $(cat "$T/read.out")"
[ "$(wc -l <"$T/read.out")" = "$(wc -l <"$T/relations")" ] ||
	t_fail "$analyst read $(wc -l <"$T/read.out") of $(wc -l <"$T/relations") relations"
[ "$(psql -X "$base dbname=$db user=$analyst" -qAt -c "SELECT count(*) FROM $schema.events")" = 2 ] ||
	t_fail "$analyst does not see the 2 events"
# ... and changes nothing.
must_fail $analyst "DELETE FROM $schema.events" "permission denied for table events"
must_fail $analyst "CREATE TABLE $schema.t (a int)" "permission denied for schema $schema"
must_fail $analyst "CREATE TEMP TABLE t (a int)" "permission denied to create temporary tables"

# Nobody else gets in.
must_fail $stranger "SELECT 1" "permission denied for database"

for r in $analyst $stranger; do
	admin -c "DROP ROLE $r" >/dev/null
done
admin -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
admin -c "DROP ROLE $reader" >/dev/null
admin -c "DROP ROLE $role" >/dev/null
t_pass
