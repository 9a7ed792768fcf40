#!/usr/bin/env bash
# Builds the DocC documentation of every library (make docs; make test runs it too) and fails on a broken symbol link
# (DocC's warnings are errors here) or on a public declaration without a `///` comment (DocC's coverage report,
# compiler-synthesized members left out). The archives land in $DOCS_OUT (default .build/docs/<Target>); serve one
# with `python3 -m http.server -d .build/docs/Reference` and open http://localhost:8000/documentation/reference.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${DOCS_OUT:-.build/docs}
targets=${DOCS_TARGETS:-"TreeCore Reference Simulator Studies Walkthrough Benchmarks Distributed CLICommon StudyOptions"}
mkdir -p "$out"
status=0
for target in $targets; do
    log=$(mktemp)
    if ! swift package --allow-writing-to-directory "$out" generate-documentation --target "$target" \
        --output-path "$out/$target" --transform-for-static-hosting --warnings-as-errors \
        --experimental-skip-synthesized-symbols --experimental-documentation-coverage --coverage-summary-level brief \
        >"$log" 2>&1; then
        echo "docs: $target: DocC failed (a broken link or another warning):"
        grep -E "warning|error" "$log" | grep -v "^Building\|Build of" | head -40
        status=1
    elif ! python3 scripts/doc_coverage.py "$target" "$out/$target/documentation-coverage.json"; then
        status=1
    fi
    rm -f "$log"
done
exit $status
