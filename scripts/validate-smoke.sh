#!/usr/bin/env bash
# CI's smoke test of `treeattn-mpi validate` (issue 10): 2 ranks, one small N, shared memory, and the emulated
# networks when this machine can create network namespaces (root with iproute2): the rate-limited loopback and two
# emulated hosts (issue 26); the full grids are `make validate` and `make validate-two-tier`.
set -euo pipefail
MPIBIN=${1:?usage: validate-smoke.sh path/to/treeattn-mpi}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
networks=shm
if ip netns add treeattn-smoke-probe-$$ 2>/dev/null; then
  ip netns del treeattn-smoke-probe-$$
  command -v tc >/dev/null && command -v unshare >/dev/null && networks=shm,netns,two-tier
fi
echo "== validate smoke: 2 ranks, N = 16384, networks $networks"
"$MPIBIN" validate --out "$tmp/validation.md" --networks "$networks" --ranks 2 --keys 16384 --netns-keys 16384 --repeats 2 \
  --methods algorithm3,binary,ring --two-tier-keys 4096 | tee "$tmp/headline.txt"
for f in validation.md validation.csv validation.svg; do test -s "$tmp/$f" || { echo "validate smoke: $f missing"; exit 1; }; done
rows=$(grep -c '^| shm | 2 | 16384 |' "$tmp/validation.md")
[ "$rows" -eq 3 ] || { echo "validate smoke: expected 3 shm rows, got $rows"; exit 1; }
grep -q '<svg' "$tmp/validation.svg"
if [[ $networks == *two-tier* ]]; then
  rows=$(grep -c '^| two-tier | 2 | 4096 |' "$tmp/validation.md")
  [ "$rows" -eq 4 ] || { echo "validate smoke: expected 4 two-tier rows, got $rows"; exit 1; }
  grep -q 'two-level vs flat order right in' "$tmp/headline.txt"
fi
if ip netns list | grep -q 'treeattn-validate\|treeattn-2t'; then echo "validate smoke: a namespace was left behind"; exit 1; fi
echo "validate smoke: ok"
