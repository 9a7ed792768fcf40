#!/usr/bin/env bash
# Issue 3's cross-language checks: the independent Python client on golden folders, and the JAX backend example
# (exact and tree decode over 8 host devices) whose outputs must pass `treeattn check`.
set -euo pipefail
BIN=${1:?usage: golden-check.sh path/to/treeattn}
PY=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== golden client: committed fixture, generated tree/edge/decode suites and a YAML suite"
$PY python/golden_client.py --golden fixtures/golden/standard-bf16
"$BIN" golden --suite tree --dtype bf16 --out "$tmp/tree" >/dev/null
$PY python/golden_client.py --golden "$tmp/tree"
"$BIN" golden --suite edge --dtype bf16,f16,f32 --out "$tmp/edge" >/dev/null
$PY python/golden_client.py --golden "$tmp/edge"
"$BIN" golden --suite decode --dtype f32 --out "$tmp/decode" >/dev/null
$PY python/golden_client.py --golden "$tmp/decode"
"$BIN" golden --suite fixtures/golden/custom-suite.yaml --dtype bf16 --out "$tmp/custom" >/dev/null
$PY python/golden_client.py --golden "$tmp/custom"

echo "== JAX backend (exact and Algorithm 3 tree decode) checked by treeattn check"
"$BIN" golden --suite edge --dtype f32 --out "$tmp/edge32" >/dev/null
for suite in fixtures/golden/standard-bf16 "$tmp/edge32"; do
  $PY python/jax_backend.py --golden "$suite" --results "$tmp/jax"
  "$BIN" check --golden "$suite" --results "$tmp/jax/exact" --json "$tmp/report-exact.json" | tail -1
  "$BIN" check --golden "$suite" --results "$tmp/jax/tree" --json "$tmp/report-tree.json" | tail -1
  rm -rf "$tmp/jax"
done
