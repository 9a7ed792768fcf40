"""Shared helpers of the Python golden client and the JAX backend example. Independent of the Swift code:
everything here is written from the file formats and the semantics in the README."""
import json
import os

import ml_dtypes  # noqa: F401  (registers bfloat16 with NumPy so safetensors can load BF16)
import numpy as np
from safetensors import safe_open


def load_manifest(folder):
    with open(os.path.join(folder, "manifest.json")) as f:
        return json.load(f)


def load_case(folder, entry):
    """Returns (tensors as NumPy arrays, metadata dict, parsed case spec)."""
    path = os.path.join(folder, entry["file"])
    tensors = {}
    with safe_open(path, framework="np") as f:
        meta = f.metadata()
        for key in f.keys():
            tensors[key] = f.get_tensor(key)
    return tensors, meta, json.loads(meta["case"])


def visibility(spec, b, sq, sk):
    """Boolean (sq, sk) mask of batch row b: cache length, causal alignment, window (docs/reference-semantics.md)."""
    skb = spec.get("cache_seqlens", [sk] * (b + 1))[b]
    i = np.arange(sq)[:, None]
    j = np.arange(sk)[None, :]
    ok = np.broadcast_to(j < skb, (sq, sk)).copy()
    causal = spec.get("causal", "none")
    if causal == "top-left":
        ok &= j <= i
    elif causal == "bottom-right":
        ok &= j <= i + skb - sq
    if "window" in spec:
        left, right = spec["window"]
        if left >= 0:
            ok &= j >= i + skb - sq - left
        if right >= 0:
            ok &= j <= i + skb - sq + right
    return ok


def alibi_bias(spec, b, h, sq, sk):
    slopes = spec.get("alibi_slopes")
    if slopes is None:
        return 0.0
    skb = spec.get("cache_seqlens", [sk] * (b + 1))[b]
    i = np.arange(sq)[:, None]
    j = np.arange(sk)[None, :]
    return -slopes[h] * np.abs(i + skb - sq - j)


def even_shards(sk, p):
    """Contiguous shards; the first sk mod p get one extra key."""
    sizes = [sk // p + (1 if s < sk % p else 0) for s in range(p)]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [(int(starts[s]), int(starts[s + 1])) for s in range(p)]
