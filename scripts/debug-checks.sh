#!/usr/bin/env bash
# make test's checks of the debug build (the one `make demo` runs): the contract checks against independent oracles,
# the explainer in headless Chromium, the fuzz smoke and the parsing of make bench's scripts. Each keeps about one
# core busy, so make test runs this beside the release build (scripts/beside.sh), which leaves a core idle much of
# the time. Stops at the first failure.
set -euo pipefail
BIN=${1:?usage: debug-checks.sh path/to/treeattn path/to/treeattn-mpi}
MPIBIN=${2:?usage: debug-checks.sh path/to/treeattn path/to/treeattn-mpi}
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/.."
step() { echo "+ $*"; "$@"; }
step "$PYTHON" python/oracle_check.py --treeattn "$BIN"
step "$PYTHON" python/backward_check.py --treeattn "$BIN"
step "$PYTHON" python/explainer_browser.py --treeattn "$BIN" --screenshots .build/explainer-screenshots
step "$PYTHON" python/fuzz.py --treeattn "$BIN" --treeattn-mpi "$MPIBIN" --seconds 15
# make bench's Python scripts on tiny shapes (debug build: the ratios mean nothing, the parsing of every result kind
# the CLI prints is what is checked).
step "$PYTHON" python/bench_numpy.py --treeattn "$BIN" --repeats 1 -- --seq 64 --heads 1 --decode-log2-keys 12 \
    --timing-keys 4096 >/dev/null
step "$PYTHON" python/bench_cli.py --treeattn "$BIN" --log2-keys 10 --prefill-seq 64 --random-log2-keys 10 \
    --repeats 1 >/dev/null
echo "debug checks: ok"
