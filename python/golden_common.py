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


# safetensors' dtype names and their NumPy types; the FP8 ones come from ml_dtypes (safetensors' own NumPy loader
# looks for np.float8_* and fails, so files with FP8 tensors are read by read_safetensors below).
ST_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16,
    "F8_E4M3": ml_dtypes.float8_e4m3fn, "F8_E5M2": ml_dtypes.float8_e5m2,
    "I64": np.int64, "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_,
}


def read_safetensors(path):
    """(tensors, metadata) of a .safetensors file, read from its format alone: an 8-byte little-endian header length,
    the JSON header (dtype, shape, data_offsets per tensor; __metadata__), then the data."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=ST_DTYPES[t["dtype"]]).reshape(t["shape"])
    return tensors, meta


def load_case(folder, entry):
    """Returns (tensors as NumPy arrays, metadata dict, parsed case spec). A sparse case's spec carries the mask its
    layout means (rebuilt here from the layout, not read from the stored dense mask) as spec["_mask"]."""
    path = os.path.join(folder, entry["file"])
    if entry.get("input_dtype", "").startswith("f8"):
        tensors, meta = read_safetensors(path)
        return tensors, meta, json.loads(meta["case"])
    tensors = {}
    with safe_open(path, framework="np") as f:
        meta = f.metadata()
        for key in f.keys():
            tensors[key] = f.get_tensor(key)
    spec = json.loads(meta["case"])
    mask = sparse_mask(tensors, spec)
    if mask is not None:
        spec["_mask"] = mask
    return tensors, meta, spec


def head_mask(spec, b, h):
    """A sparse case's extra mask for (batch b, head h), rebuilt by the reader and kept in spec["_mask"] (B|1, H|1,
    sq, sk); True when the case has none."""
    m = spec.get("_mask")
    if m is None:
        return True
    return m[min(b, m.shape[0] - 1), min(h, m.shape[1] - 1)]


def sparse_mask(tensors, spec):
    """The dense mask (B|1, H|1, sq, sk) a sparse case means, rebuilt from its layout tensors alone (docs/golden.md):
    document_ids; flex_attention's kv_num_blocks/kv_indices with q_block_size/kv_block_size; FlashInfer's
    bsr_indptr/bsr_indices with bsr_block_size. None for other cases."""
    sq, sk = spec["seq_q"], spec["seq_k"]
    if "document_ids" in tensors:
        ids = tensors["document_ids"][0].astype(np.int64)
        return (ids[sk - sq:][:, None] == ids[None, :])[None, None]
    if "kv_num_blocks" in tensors:
        num, idx = tensors["kv_num_blocks"], tensors["kv_indices"]
        r, c = int(tensors["q_block_size"][0]), int(tensors["kv_block_size"][0])
        mask = np.zeros(num.shape[:2] + (sq, sk), bool)
        for b in range(num.shape[0]):
            for h in range(num.shape[1]):
                for row in range(num.shape[2]):
                    for col in idx[b, h, row, :num[b, h, row]]:
                        mask[b, h, row * r:(row + 1) * r, col * c:(col + 1) * c] = True
        return mask
    if "bsr_indptr" in tensors:
        ptr, ind = tensors["bsr_indptr"], tensors["bsr_indices"]
        r, c = (int(x) for x in tensors["bsr_block_size"])
        mask = np.zeros((1, 1, sq, sk), bool)
        for row in range(len(ptr) - 1):
            for col in ind[ptr[row]:ptr[row + 1]]:
                mask[0, 0, row * r:(row + 1) * r, col * c:(col + 1) * c] = True
        return mask
    return None


def visibility(spec, b, sq, sk):
    """Boolean (sq, sk) mask of batch row b: cache length, causal alignment, window and the sink tokens beside it
    (docs/reference-semantics.md)."""
    skb = spec.get("cache_seqlens", [sk] * (b + 1))[b]
    pad = spec.get("cache_leftpad", [0] * (b + 1))[b]
    i = np.arange(sq)[:, None]
    j = np.arange(sk)[None, :]
    ok = np.broadcast_to((j < skb) & (j >= pad), (sq, sk)).copy()
    causal = spec.get("causal", "none")
    if causal == "top-left":
        ok &= j - pad <= i
    elif causal == "bottom-right":
        ok &= j <= i + skb - sq
    if "attention_chunk" in spec:
        size = spec["attention_chunk"]
        start = pad + np.floor_divide(i + skb - sq - pad, size) * size
        ok &= (j >= start) & (j < start + size)
    if "window" in spec:
        left, right = spec["window"]
        inside = np.ones((sq, sk), bool)
        if left >= 0:
            inside &= j >= i + skb - sq - left
        if right >= 0:
            inside &= j <= i + skb - sq + right
        # StreamingLLM: the first sink_tokens keys stay visible whatever the window.
        ok &= inside | (j < spec.get("sink_tokens", 0))
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


def softmax_scale(spec, d):
    """The case's scale: given, DeepSeek-V3's for an MLA case (192^-0.5 * mscale^2, mscale = 0.1 ln 40 + 1), else
    1/sqrt(d)."""
    if "scale" in spec:
        return spec["scale"]
    if "mla" in spec:
        mscale = 0.1 * np.log(40.0) + 1.0
        return mscale * mscale / np.sqrt(192.0)
    return 1.0 / np.sqrt(d)


def rope_inverse_frequencies(spec, d):
    """theta^(-2i/rotary_dim), with Llama 3.1's scaling (meta-llama's apply_scaling) when rope_scaling is llama3."""
    rd = spec.get("rotary_dim", d)
    base = spec.get("rope_theta", 10000.0) ** (-np.arange(0, rd, 2, dtype=np.float64) / rd)
    if spec.get("rope_scaling") != "llama3":
        return base
    wavelength = 2 * np.pi / base
    smooth = (8192.0 / wavelength - 1.0) / (4.0 - 1.0)
    return np.where(wavelength < 8192.0 / 4, base,
                    np.where(wavelength > 8192.0, base / 8, (1 - smooth) * base / 8 + smooth * base))


def rope_positions(spec, b):
    """(query positions, key positions) of batch row b: absolute slots, or counted from cache_leftpad."""
    sq, sk = spec["seq_q"], spec["seq_k"]
    end = spec.get("cache_seqlens", [sk] * (b + 1))[b]
    origin = spec.get("cache_leftpad", [0] * (b + 1))[b] if spec.get("rope_positions") == "from-first-token" else 0
    return np.maximum(0, np.arange(sq) + end - sq - origin), np.maximum(0, np.arange(sk) - origin)


def rope_rotate(x, spec, positions, inverse=False, cos_sin=None, naive=None):
    """x (B, H, S, D) rotated at positions[b] (S,) per row: NeoX pairs (i, i + r/2) or GPT-J pairs (2i, 2i + 1).
    With `naive` (a rounding to the dtype), every product and sum is rounded as a framework running in the dtype does."""
    d = x.shape[-1]
    rd = spec.get("rotary_dim", d)
    freq = rope_inverse_frequencies(spec, d)
    out = np.array(x, dtype=np.float64, copy=True)
    for b in range(x.shape[0]):
        angle = np.asarray(positions[b], np.float64)[:, None] * freq[None, :]
        c, s = (np.cos(angle), np.sin(angle)) if cos_sin is None else cos_sin(angle)
        if inverse:
            s = -s
        if spec["rope_layout"] == "neox":
            ia, ib = np.arange(rd // 2), np.arange(rd // 2) + rd // 2
        else:
            ia, ib = np.arange(0, rd, 2), np.arange(1, rd, 2)
        a, bb = x[b][..., ia].astype(np.float64), x[b][..., ib].astype(np.float64)
        if naive is None:
            out[b][..., ia] = a * c - bb * s
            out[b][..., ib] = bb * c + a * s
        else:
            c, s = c.astype(np.float64), s.astype(np.float64)
            out[b][..., ia] = naive(naive(a * c) - naive(bb * s))
            out[b][..., ib] = naive(naive(bb * c) + naive(a * s))
    return out
