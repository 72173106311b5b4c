#!/bin/bash
# The operator files of deploy/ (SPEC §9), checked the way an operator meets
# them: `cmake --install` into a scratch root puts every file in place and a
# second install keeps an edited configuration; the installed unit names a
# binary and a configuration that exist and agrees with the sysusers.d and
# tmpfiles.d files and the example configuration; `systemd-analyze verify`
# accepts it without a single warning; `systemd-analyze security` rates its
# exposure 2.0 or lower ("OK" or better); systemd-sysusers and
# systemd-tmpfiles accept their files and make the user and /run/handoff.
# None of this needs a running systemd: everything happens under --root=.
set -u

: "${HANDOFF_SOURCE_DIR:?HANDOFF_SOURCE_DIR is not set (run the tests with ctest)}"
: "${HANDOFF_BUILD_DIR:?HANDOFF_BUILD_DIR is not set (run the tests with ctest)}"

# The highest exposure `systemd-analyze security` may report (SPEC §9: "OK
# or better", which systemd gives to 2.0 and below).
MAX_EXPOSURE=2.0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

fail() {
	echo "test_systemd_unit: FAIL: $*" >&2
	exit 1
}

for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v "$tool" >/dev/null ||
		fail "$tool not found: install the Debian package systemd (deploy/deps.sh does)"
done

# Where the build installs each file (absolute paths, one name=path a
# line), as deploy/CMakeLists.txt computed it.
layout=$HANDOFF_BUILD_DIR/deploy/install-layout.txt
[ -f "$layout" ] || fail "$layout is missing (is the build configured?)"
prefix="" unitdir="" sysusersdir="" tmpfilesdir="" docdir="" sbindir="" bindir="" confdir=""
while IFS='=' read -r k v; do
	case $k in
	prefix) prefix=$v ;;
	unitdir) unitdir=$v ;;
	sysusersdir) sysusersdir=$v ;;
	tmpfilesdir) tmpfilesdir=$v ;;
	docdir) docdir=$v ;;
	sbindir) sbindir=$v ;;
	bindir) bindir=$v ;;
	confdir) confdir=$v ;;
	*) fail "$layout: unknown line $k=$v" ;;
	esac
done <"$layout"
for v in prefix unitdir sysusersdir tmpfilesdir docdir sbindir bindir confdir; do
	case ${!v} in
	/*) ;;
	*) fail "$layout: $v is \"${!v}\", not an absolute path" ;;
	esac
done
# A system install puts each file where systemd and handoffd look.
if [ "$prefix" = /usr ]; then
	[ "$unitdir $sysusersdir $tmpfilesdir $sbindir $confdir" = \
	  "/usr/lib/systemd/system /usr/lib/sysusers.d /usr/lib/tmpfiles.d /usr/sbin /etc/handoff" ] ||
		fail "with prefix /usr the layout must be systemd's and handoffd's: $(tr '\n' ' ' <"$layout")"
fi

# The scratch root gets what `systemd-analyze verify --root=` looks for
# besides our unit: the system's own units (the targets ours is ordered
# against and their dependencies) and /bin/kill of ExecReload=. Any copy of
# our unit there is removed first, so that only the install can provide it.
mkdir -p "$root/usr/lib/systemd/system" "$root/bin"
cp -a /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
rm -rf "$root/usr/lib/systemd/system/handoffd.service" \
	"$root/usr/lib/systemd/system/handoffd.service.d"
cp /bin/kill "$root/bin/kill"

if ! DESTDIR=$root cmake --install "$HANDOFF_BUILD_DIR" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	fail "cmake --install into $root failed"
fi

# Every file in place.
unit=$unitdir/handoffd.service
for f in "$sbindir/handoffd" "$bindir/handoffctl"; do
	[ -x "$root$f" ] || fail "$f: not installed, or not executable"
done
for f in "$unit" "$sysusersdir/handoff.conf" "$tmpfilesdir/handoff.conf" \
	"$docdir/create-role.sql" "$docdir/handoffd.conf" \
	"$docdir/OPERATIONS.md" "$docdir/CONFIGURATION.md"; do
	[ -s "$root$f" ] || fail "$f: not installed"
done
cmp -s "$root$sysusersdir/handoff.conf" "$HANDOFF_SOURCE_DIR/deploy/handoff.sysusers" ||
	fail "$sysusersdir/handoff.conf differs from deploy/handoff.sysusers"
cmp -s "$root$tmpfilesdir/handoff.conf" "$HANDOFF_SOURCE_DIR/deploy/handoff.tmpfiles" ||
	fail "$tmpfilesdir/handoff.conf differs from deploy/handoff.tmpfiles"
cmp -s "$root$docdir/create-role.sql" "$HANDOFF_SOURCE_DIR/deploy/create-role.sql" ||
	fail "$docdir/create-role.sql differs from deploy/create-role.sql"

# The installed unit is deploy/handoffd.service but for the paths, which
# name this install's binary, configuration and documentation.
grep -vE '^(ExecStart|Documentation)=' "$root$unit" >"$tmp/unit.rest"
grep -vE '^(ExecStart|Documentation)=' "$HANDOFF_SOURCE_DIR/deploy/handoffd.service" >"$tmp/src.rest"
diff -u "$tmp/src.rest" "$tmp/unit.rest" >&2 ||
	fail "$unit differs from deploy/handoffd.service beyond ExecStart= and Documentation="
# One value of the unit's [Service] or [Unit] section (the last one set).
unit_value() {
	sed -n "s/^$1=//p" "$root$unit" | tail -n 1
}
exec_start=$(unit_value ExecStart)
read -r exe opt conf extra <<<"$exec_start"
[ "$exe" = "$sbindir/handoffd" ] ||
	fail "ExecStart= runs $exe, expected the installed $sbindir/handoffd"
[ "$opt" = "-c" ] && [ -n "$conf" ] && [ -z "$extra" ] ||
	fail "ExecStart= is \"$exec_start\", expected \"$sbindir/handoffd -c FILE\""
[ "$conf" = "$confdir/handoffd.conf" ] ||
	fail "ExecStart= names the configuration $conf, expected $confdir/handoffd.conf"
[ -f "$root$conf" ] || fail "ExecStart= names $conf, which the install did not create"
cmp -s "$root$conf" "$HANDOFF_SOURCE_DIR/deploy/handoffd.conf" ||
	fail "$conf differs from deploy/handoffd.conf"
doc=$(unit_value Documentation)
doc=${doc#file:}
[ -f "$root$doc" ] || fail "Documentation= names $doc, which the install did not create"
if [ "$prefix" = /usr ]; then
	cmp -s "$root$unit" "$HANDOFF_SOURCE_DIR/deploy/handoffd.service" ||
		fail "with prefix /usr the installed unit must equal deploy/handoffd.service"
fi

# The unit, the sysusers.d and tmpfiles.d files and the example
# configuration agree: one user, one runtime directory, and the control
# socket inside it.
[ "$(unit_value Type)" = notify ] || fail "Type= is not notify"
[ -n "$(unit_value WatchdogSec)" ] || fail "WatchdogSec= is not set"
user=$(unit_value User)
[ "$(unit_value Group)" = "$user" ] || fail "Group= is not User= ($user)"
read -r st name _ < <(grep -vE '^(#|$)' "$HANDOFF_SOURCE_DIR/deploy/handoff.sysusers")
[ "$st" = u ] && [ "$name" = "$user" ] ||
	fail "deploy/handoff.sysusers does not create the unit's User= $user"
read -r tt tpath tmode towner tgroup _ < <(grep -vE '^(#|$)' "$HANDOFF_SOURCE_DIR/deploy/handoff.tmpfiles")
[ "$tt" = d ] && [ "$tpath" = "/run/$(unit_value RuntimeDirectory)" ] ||
	fail "deploy/handoff.tmpfiles does not create /run/$(unit_value RuntimeDirectory) (RuntimeDirectory=)"
[ "$tmode" = "$(unit_value RuntimeDirectoryMode)" ] ||
	fail "tmpfiles mode $tmode differs from RuntimeDirectoryMode=$(unit_value RuntimeDirectoryMode)"
[ "$towner" = "$user" ] && [ "$tgroup" = "$user" ] ||
	fail "tmpfiles owner $towner:$tgroup is not $user:$user"
grep -qE "^[[:space:]]*control = \"ipc://$tpath/[^\"/]+\";" "$HANDOFF_SOURCE_DIR/deploy/handoffd.conf" ||
	fail "the example configuration's control endpoint is not in $tpath"

# systemd-analyze verify: exit 0 and not one warning (unknown settings and
# bad values are only warnings to it).
if ! systemd-analyze verify --root="$root" "$unit" >"$tmp/verify.out" 2>&1 ||
	[ -s "$tmp/verify.out" ]; then
	cat "$tmp/verify.out" >&2
	fail "systemd-analyze verify rejects $unit, or warns"
fi

# systemd-analyze security: the overall exposure, at most MAX_EXPOSURE.
systemd-analyze security --offline=true --root="$root" --no-pager "$unit" \
	>"$tmp/security.out" 2>&1
rc=$?
exposure=$(sed -n 's/.*Overall exposure level for handoffd\.service: \([0-9][0-9.]*\) .*/\1/p' \
	"$tmp/security.out")
if [ -z "$exposure" ]; then
	cat "$tmp/security.out" >&2
	fail "no overall exposure level in the output of systemd-analyze security (exit $rc)"
fi
echo "test_systemd_unit: systemd-analyze security: exposure $exposure (at most $MAX_EXPOSURE)"
if ! awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'; then
	grep -a '✗' "$tmp/security.out" >&2
	fail "exposure $exposure is above $MAX_EXPOSURE"
fi

# systemd-sysusers makes the system user and group from the installed file.
mkdir -p "$root/etc"
if ! systemd-sysusers --root="$root" "$root$sysusersdir/handoff.conf" >"$tmp/sysusers.out" 2>&1; then
	cat "$tmp/sysusers.out" >&2
	fail "systemd-sysusers rejects $sysusersdir/handoff.conf"
fi
IFS=: read -r _ _ puid pgid _ _ pshell < <(grep "^$user:" "$root/etc/passwd") ||
	fail "systemd-sysusers did not create the user $user"
[ "$pshell" = /usr/sbin/nologin ] || fail "the user $user has the shell $pshell, expected /usr/sbin/nologin"
[ "$puid" -lt 1000 ] || fail "the user $user has uid $puid: not a system user"
grep -q "^$user:x:$pgid:" "$root/etc/group" || fail "systemd-sysusers did not create the group $user"

# systemd-tmpfiles makes /run/handoff, owned by the user. Not being root,
# the test can only give files to itself: the user is then given the
# test's own ids in the scratch root's passwd and group.
if [ "$(id -u)" != 0 ]; then
	sed -i "s/^$user:x:$puid:$pgid:/$user:x:$(id -u):$(id -g):/" "$root/etc/passwd"
	sed -i "s/^$user:x:$pgid:/$user:x:$(id -g):/" "$root/etc/group"
	puid=$(id -u)
	pgid=$(id -g)
fi
if ! systemd-tmpfiles --root="$root" --create "$root$tmpfilesdir/handoff.conf" >"$tmp/tmpfiles.out" 2>&1; then
	cat "$tmp/tmpfiles.out" >&2
	fail "systemd-tmpfiles rejects $tmpfilesdir/handoff.conf"
fi
[ -s "$tmp/tmpfiles.out" ] && { cat "$tmp/tmpfiles.out" >&2; fail "systemd-tmpfiles warns"; }
got=$(stat -c '%a %u %g' "$root$tpath" 2>/dev/null) || fail "systemd-tmpfiles did not create $tpath"
[ "$got" = "${tmode#0} $puid $pgid" ] ||
	fail "$tpath is mode, uid, gid \"$got\", expected \"${tmode#0} $puid $pgid\""

# A second install keeps the operator's configuration.
echo "# edited by the operator" >>"$root$conf"
if ! DESTDIR=$root cmake --install "$HANDOFF_BUILD_DIR" >"$tmp/install2.log" 2>&1; then
	cat "$tmp/install2.log" >&2
	fail "the second cmake --install failed"
fi
tail -n 1 "$root$conf" | grep -qxF "# edited by the operator" ||
	fail "a second cmake --install replaced the edited $conf"
grep -qF "Keeping: $root$conf" "$tmp/install2.log" ||
	fail "the second cmake --install did not say it kept $conf"

echo "test_systemd_unit: install, verify, security ($exposure), sysusers and tmpfiles OK"
