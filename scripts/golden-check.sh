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

echo "== backward goldens (issue 12): the Python client recomputes every gradient; JAX's f32 gradients pass check"
"$BIN" golden --suite tree --dtype bf16,f32 --backward --out "$tmp/tree-bw" >/dev/null
$PY python/golden_client.py --golden "$tmp/tree-bw"
"$BIN" golden --suite edge --dtype f16 --backward --out "$tmp/edge-bw" >/dev/null
$PY python/golden_client.py --golden "$tmp/edge-bw"
"$BIN" golden --suite fixtures/golden/custom-suite.yaml --dtype bf16 --backward --out "$tmp/custom-bw" >/dev/null
$PY python/golden_client.py --golden "$tmp/custom-bw"
$PY python/jax_backend.py --golden "$tmp/custom-bw" --results "$tmp/jax-bw"
for sub in exact tree; do
  "$BIN" check --golden "$tmp/custom-bw" --results "$tmp/jax-bw/$sub" --json "$tmp/report-bw-$sub.json" | tail -1
  grep -q '"tensor": "dq"' "$tmp/report-bw-$sub.json" || { echo "JAX $sub results were not checked on dq"; exit 1; }
done
rm -rf "$tmp/jax-bw"

echo "== serving layouts (issue 13): varlen, paged decode/append, merge states; the client and JAX pass"
for suite in varlen paged-decode paged-append merge; do
  "$BIN" golden --suite $suite --dtype bf16,f16,f32 --out "$tmp/$suite" >/dev/null
  $PY python/golden_client.py --golden "$tmp/$suite"
  "$BIN" golden --suite $suite --dtype bf16 --out "$tmp/$suite-bf16" >/dev/null
  $PY python/jax_backend.py --golden "$tmp/$suite-bf16" --results "$tmp/jax-$suite" >/dev/null
  "$BIN" check --golden "$tmp/$suite-bf16" --results "$tmp/jax-$suite/exact" | tail -1
done

echo "== sinks suite (issue 25): the client recomputes sinks, sink tokens, dlse and dsinks; JAX exact and tree pass"
# make test checks the new suites in bf16 (the client and JAX); `make golden-all` adds f16 and f32 (GOLDEN_ALL_DTYPES).
ALL=${GOLDEN_ALL_DTYPES:-}
if [ -n "$ALL" ]; then
  "$BIN" golden --suite sinks --dtype f16,f32 --backward --out "$tmp/sinks" >/dev/null
  $PY python/golden_client.py --golden "$tmp/sinks"
fi
"$BIN" golden --suite sinks --dtype bf16 --backward --out "$tmp/sinks-bf16" >/dev/null
$PY python/golden_client.py --golden "$tmp/sinks-bf16"
$PY python/jax_backend.py --golden "$tmp/sinks-bf16" --results "$tmp/jax-sinks" >/dev/null
"$BIN" check --golden "$tmp/sinks-bf16" --results "$tmp/jax-sinks/exact" --json "$tmp/report-sinks.json" | tail -1
grep -q '"tensor": "dsinks"' "$tmp/report-sinks.json" || { echo "JAX's dsinks were not checked"; exit 1; }
# The tree results exist for the dense cases (varlen and paged go to exact only).
for c in sinks-window-causal-gqa sinks-full-causal sinks-decode-tree-empty-row sink-tokens-and-sinks-decode; do
  "$BIN" check --golden "$tmp/sinks-bf16" --results "$tmp/jax-sinks/tree" --cases "$c" | tail -1
done
rm -rf "$tmp/jax-sinks"

echo "== mla suite (issue 25): the client recomputes both forms and the naive form's gradients; JAX's absorbed (dense, paged) and naive results pass"
"$BIN" golden --suite mla --dtype ${ALL:+f16,f32,}bf16 --backward --out "$tmp/mla" >/dev/null
$PY python/golden_client.py --golden "$tmp/mla"
$PY python/jax_backend.py --golden "$tmp/mla" --results "$tmp/jax-mla" >/dev/null
"$BIN" check --golden "$tmp/mla" --results "$tmp/jax-mla/exact" | tail -1
rm -rf "$tmp/jax-mla"

echo "== rope suite (issue 25): the client rotates on its own and recomputes; JAX rotates inside its programs and passes"
if [ -n "$ALL" ]; then
  "$BIN" golden --suite rope --dtype f16,f32 --backward --out "$tmp/rope" >/dev/null
  $PY python/golden_client.py --golden "$tmp/rope"
fi
"$BIN" golden --suite rope --dtype bf16 --backward --out "$tmp/rope-bf16" >/dev/null
$PY python/golden_client.py --golden "$tmp/rope-bf16"
$PY python/jax_backend.py --golden "$tmp/rope-bf16" --results "$tmp/jax-rope" >/dev/null
"$BIN" check --golden "$tmp/rope-bf16" --results "$tmp/jax-rope/exact" | tail -1
"$BIN" check --golden "$tmp/rope-bf16" --results "$tmp/jax-rope/tree" --cases rope-neox-prefill-causal-gqa | tail -1
rm -rf "$tmp/jax-rope"

echo "== kvcache suite (issue 25): the client appends, rotates and attends on its own"
"$BIN" golden --suite kvcache --dtype ${ALL:+f16,f32,}bf16 --out "$tmp/kvcache" >/dev/null
$PY python/golden_client.py --golden "$tmp/kvcache"

echo "== fp8 suite (issue 27): the client checks ml_dtypes' rounding bit for bit and recomputes every case; JAX's exact,"
echo "   tree and FP8 (P in e4m3fn) results pass; FP8 kernels with a missing descale or P rounded in the wrong place fail"
"$BIN" golden --suite fp8 --dtype bf16${ALL:+,f16} --out "$tmp/fp8" >/dev/null
$PY python/golden_client.py --golden "$tmp/fp8"
$PY python/jax_backend.py --golden "$tmp/fp8" --results "$tmp/jax-fp8" >/dev/null
for sub in exact tree fp8; do
  "$BIN" check --golden "$tmp/fp8" --results "$tmp/jax-fp8/$sub" | tail -1
done
rm -rf "$tmp/jax-fp8"
$PY python/fp8_kernels.py --golden "$tmp/fp8" --treeattn "$BIN"
echo "== fp8-kvcache suite (issue 27): FP8 K/V (dense, pages) with scales; the client, JAX and the decode kernels"
"$BIN" golden --suite fp8-kvcache --dtype bf16${ALL:+,f16} --out "$tmp/kvfp8" >/dev/null
$PY python/golden_client.py --golden "$tmp/kvfp8"
$PY python/jax_backend.py --golden "$tmp/kvfp8" --results "$tmp/jax-kvfp8" >/dev/null
"$BIN" check --golden "$tmp/kvfp8" --results "$tmp/jax-kvfp8/exact" | tail -1
"$BIN" check --golden "$tmp/kvfp8" --results "$tmp/jax-kvfp8/tree" --cases kvfp8-e4m3fn-head-window-chunk | tail -1
rm -rf "$tmp/jax-kvfp8"
$PY python/fp8_kernels.py --golden "$tmp/kvfp8" --treeattn "$BIN"

echo "== dropout suite (issue 27): the client recomputes out, lse and gradients with the stored mask; a kernel that"
echo "   forgets 1/(1-p) or takes the LSE of the dropped scores fails"
"$BIN" golden --suite dropout --dtype ${ALL:+f16,f32,}bf16 --backward --out "$tmp/dropout" >/dev/null
$PY python/golden_client.py --golden "$tmp/dropout"
$PY python/mask_kernels.py --golden "$tmp/dropout" --treeattn "$BIN"

echo "== sparse suite (issue 27): documents, flex_attention BlockMask, FlashInfer BSR; the client rebuilds each mask from"
echo "   its layout and recomputes; JAX exact and tree pass; a kernel with every block index off by one fails"
if [ -n "$ALL" ]; then
  "$BIN" golden --suite sparse --dtype f16,f32 --backward --out "$tmp/sparse" >/dev/null
  $PY python/golden_client.py --golden "$tmp/sparse"
fi
"$BIN" golden --suite sparse --dtype bf16 --backward --out "$tmp/sparse-bf16" >/dev/null
$PY python/golden_client.py --golden "$tmp/sparse-bf16"
$PY python/jax_backend.py --golden "$tmp/sparse-bf16" --results "$tmp/jax-sparse" >/dev/null
for sub in exact tree; do
  "$BIN" check --golden "$tmp/sparse-bf16" --results "$tmp/jax-sparse/$sub" | tail -1
done
rm -rf "$tmp/jax-sparse"
$PY python/mask_kernels.py --golden "$tmp/sparse-bf16" --treeattn "$BIN"

echo "== treeattn attention reproduces the kvcache, seqused, rope, MLA and sparse goldens from their files (and mpmath one row)"
$PY python/cli_goldens.py --treeattn "$BIN" --golden "$tmp/kvcache" --golden "$tmp/rope-bf16" --golden "$tmp/mla" \
  --golden "$tmp/sparse-bf16"

echo "== JAX backend (exact and Algorithm 3 tree decode) checked by treeattn check"
# (the edge suite's forward through JAX is covered by the client above; JAX's compile per case is what costs here)
for suite in fixtures/golden/standard-bf16; do
  $PY python/jax_backend.py --golden "$suite" --results "$tmp/jax"
  "$BIN" check --golden "$suite" --results "$tmp/jax/exact" --json "$tmp/report-exact.json" | tail -1
  "$BIN" check --golden "$suite" --results "$tmp/jax/tree" --json "$tmp/report-tree.json" | tail -1
  rm -rf "$tmp/jax"
done
