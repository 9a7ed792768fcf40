#!/usr/bin/env bash
# Builds (swift build with the given arguments, e.g. --build-tests or -c release --build-tests) and fails on a build
# error or on any warning in its output: the compiler's and SwiftPM's own (an unhandled file, an invalid exclude).
# make test runs it on the debug build; make warnings on the release build too. On a fresh clone every file is
# compiled, so every warning shows; an incremental build shows those of the files it recompiles.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build
log=.build/build-checked.log
swift build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo "build-checked: swift build $* failed (exit $status)"
    exit "$status"
fi
warnings=$(grep -E "warning:" "$log" | sort -u)
if [ -n "$warnings" ]; then
    echo "build-checked: swift build $* printed warnings (zero are allowed):"
    echo "$warnings"
    exit 1
fi
echo "build-checked: swift build $*: no warnings"
