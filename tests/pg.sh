#!/bin/bash
# A private PostgreSQL for tests, CI, benchmarks and the demo: initdb in a
# fresh temporary directory, as an unprivileged user, listening only on
# 127.0.0.1 on a free port below the ephemeral range (where connections
# get their local ports). Nothing touches the system's own clusters.
#
#   tests/pg.sh start STATE     create and start; writes STATE/env and
#                                 STATE/conninfo (database "handoff")
#   tests/pg.sh stop STATE      stop and delete everything
#   tests/pg.sh crash STATE     stop with -m immediate (data kept)
#   tests/pg.sh resume STATE    start again, same port and data
#   tests/pg.sh psql STATE ...  run psql against it
#
# STATE is any directory of the caller's (it only holds small text files).
# PG_FAST=1 turns fsync off (tests); benchmarks leave it unset.
# PG_EXTRA_CONF, if set, is appended to postgresql.conf as it stands.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

cmd=${1:-}; state=${2:-}
[ -n "$cmd" ] && [ -n "$state" ] || die "usage: pg.sh start|stop|crash|resume|psql STATE"

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] && [ -x "$bindir/initdb" ] || die "no PostgreSQL server found (apt-get install postgresql)"

# initdb refuses to run as root: run the server as an unprivileged user.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_server() {
	local dir=$1 port=$2
	as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
		-o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" \
		start >/dev/null
}

case $cmd in
start)
	mkdir -p "$state"
	state=$(cd "$state" && pwd)
	[ -f "$state/pgdir" ] && die "$state already has a running PostgreSQL (pg.sh stop it first)"
	dir=$(mktemp -d /tmp/handoff-pg.XXXXXX)
	chmod 755 "$dir"
	[ "$(id -u)" = 0 ] && chown nobody: "$dir"
	as_pg "$bindir/initdb" -D "$dir/data" -U handoff --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	{
		echo "max_connections = 200"
		echo "shared_buffers = 256MB"
		echo "log_min_messages = warning"
		if [ "${PG_FAST:-0}" = 1 ]; then
			echo "fsync = off"
			echo "full_page_writes = off"
		fi
		if [ -n "${PG_EXTRA_CONF:-}" ]; then
			printf '%s\n' "$PG_EXTRA_CONF"
		fi
	} >>"$dir/data/postgresql.conf"
	ok=0
	for _ in $(seq 1 20); do
		port=$(( (RANDOM % 12000) + 20000 ))
		port_free "$port" || continue
		if start_server "$dir" "$port"; then ok=1; break; fi
	done
	[ $ok = 1 ] || { cat "$dir/log" >&2; die "could not start PostgreSQL"; }
	"$bindir/createdb" -h 127.0.0.1 -p "$port" -U handoff handoff
	echo "$dir" >"$state/pgdir"
	echo "$port" >"$state/port"
	printf 'host=127.0.0.1 port=%s user=handoff dbname=handoff\n' "$port" >"$state/conninfo"
	printf 'export PGHOST=127.0.0.1 PGPORT=%s PGUSER=handoff PGDATABASE=handoff\n' "$port" >"$state/env"
	echo "pg.sh: PostgreSQL running on 127.0.0.1:$port (data in $dir)" >&2
	;;
stop)
	[ -f "$state/pgdir" ] || exit 0
	dir=$(cat "$state/pgdir")
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	rm -f "$state/pgdir" "$state/port" "$state/conninfo" "$state/env"
	;;
crash)
	dir=$(cat "$state/pgdir")
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
	;;
resume)
	dir=$(cat "$state/pgdir")
	start_server "$dir" "$(cat "$state/port")"
	;;
psql)
	shift 2
	exec psql "$(cat "$state/conninfo")" "$@"
	;;
*)
	die "unknown command $cmd"
	;;
esac
