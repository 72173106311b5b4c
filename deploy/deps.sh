#!/bin/sh
# Installs the Debian packages handoff needs to build, test and run the demo,
# when any is missing. Run as root (or with sudo available) on Debian 12.
#   deploy/deps.sh            build + test + demo packages
#   deploy/deps.sh --fuzz     also clang and its libFuzzer runtime
set -eu

PKGS="build-essential cmake pkg-config git ca-certificates tzdata
libzmq3-dev libpq-dev libconfig-dev libsystemd-dev libyajl-dev libcmocka-dev
libmicrohttpd-dev curl
postgresql postgresql-client procps iproute2 python3 python3-jsonschema
python3-zmq
systemd
chromium fonts-dejavu-core"
if [ "${1:-}" = "--fuzz" ]; then
	PKGS="$PKGS clang libclang-rt-14-dev"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
