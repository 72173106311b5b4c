#!/bin/bash
# Builds handoff and runs the whole test suite, twice: a plain build with
# -Werror, and an AddressSanitizer + UndefinedBehaviorSanitizer build.
# Installs missing Debian packages first (deploy/deps.sh).
#
#   tests/run.sh           both builds
#   tests/run.sh plain     only the -Werror build
#   tests/run.sh asan      only the sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-all}
case $which in all|plain|asan) ;; *) echo "usage: tests/run.sh [all|plain|asan]" >&2; exit 2 ;; esac

deploy/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

run_build() {
	local name=$1; shift
	echo "==> $name build"
	cmake -S . -B "build/$name" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "build/$name" -j "$jobs"
	(cd "build/$name" && ctest --output-on-failure -j "$jobs")
}

if [ "$which" = all ] || [ "$which" = plain ]; then
	run_build plain -DHANDOFF_WERROR=ON -DHANDOFF_SANITIZE=OFF
fi
if [ "$which" = all ] || [ "$which" = asan ]; then
	run_build asan -DHANDOFF_WERROR=ON -DHANDOFF_SANITIZE=ON
fi
echo "==> all tests passed ($which)"
