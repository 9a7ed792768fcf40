#!/usr/bin/env python3
"""`treeattn attention` reproduces the issue-25 goldens from their own files (issue 25's CLI part).

For every case of golden folders that the command can run as a kernel engineer would run it, this script builds the
command line from the case's metadata (nothing else), runs it in f64 into a .safetensors bundle and compares, with
its own readers:
  * kvcache cases (flash_attn_with_kvcache): --k-new/--v-new appended into the dense or paged cache, with
    --cache-batch-idx, --cache-leftpad, windows, chunks and rope (--rope-positions): out, lse and the updated caches;
  * varlen cases with FlashAttention 3's seqused_q/seqused_k (--seqused-q/--seqused-k): out and lse;
  * rope cases (dense, with --backward): out, lse and the gradients of the unrotated q and k;
  * MLA absorbed cases, dense and paged (v is the latent part of the cache): out and lse;
  * MLA naive cases: the stored per-head q, k, v (the projections rounded to the dtype) through the command, forward
    and backward, as a kernel under test: within each tensor's tolerance of the golden;
  * sparse cases (document ids, flex BlockMask, FlashInfer BSR; issue 27): the file's dense mask through --mask,
    forward and backward.
The command's BLAS kernel and the goldens' energy formulation are different code: they must agree to 1e-12 (relative
to max(1, |value|)). One kvcache row with rope is also recomputed in mpmath at 50 digits from the stored unrotated
tensors (rotation, update and attention), to 1e-13.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import ml_dtypes
import mpmath
import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from golden_common import load_case, load_manifest, rope_inverse_frequencies, softmax_scale, visibility

mpmath.mp.dps = 50
FAILS, PASSES, SKIPS = [], [0], []


def check(cond, what):
    if cond:
        PASSES[0] += 1
    else:
        FAILS.append(what)
        print("FAIL:", what)


def rel(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return float("inf")
    inf = np.isinf(want)
    if np.any(np.isinf(got) != inf) or np.any(got[inf] != want[inf]):
        return float("inf")
    fin = np.isfinite(want)
    if not fin.any():
        return 0.0
    return float(np.max(np.abs(got[fin] - want[fin]))) / max(1.0, float(np.max(np.abs(want[fin]))))


def ints(xs):
    return ",".join(str(int(x)) for x in xs)


def rope_flags(spec):
    f = ["--rope", spec["rope_layout"], "--rope-theta", repr(float(spec.get("rope_theta", 10000.0)))]
    if "rotary_dim" in spec:
        f += ["--rotary-dim", str(spec["rotary_dim"])]
    if spec.get("rope_scaling") == "llama3":
        f += ["--rope-scaling", "llama3"]
    if "rope_positions" in spec:
        f += ["--rope-positions", spec["rope_positions"]]
    return f


def score_flags(spec, d):
    f = ["--scale", repr(float(softmax_scale(spec, d)))]
    if spec.get("causal", "none") != "none":
        f += ["--causal", spec["causal"]]
    if "window" in spec:
        f += ["--window", "%d,%d" % tuple(spec["window"])]
    for key, flag in (("softcap", "--softcap"), ("attention_chunk", "--attention-chunk"), ("sink_tokens", "--sink-tokens")):
        if key in spec:
            f += [flag, str(spec[key])]
    if "cache_leftpad" in spec:
        f += ["--cache-leftpad", ints(spec["cache_leftpad"])]
    if "sinks" in spec:
        f += ["--sinks=" + ",".join(repr(float(x)) for x in spec["sinks"])]
    return f


def command(path, spec, tensors):
    """The command line of a case, or None when the command does not take it (with the reason)."""
    layout = spec.get("layout", "dense")
    d = tensors["q"].shape[-1]
    io = ["--q", path, "--k", path, "--v", path]
    if spec.get("mla") == "naive":  # the projected per-head q, k, v (rounded): checked as a kernel, within tolerance
        return io + score_flags(spec, d) + (["--backward", "--do", path] if "do" in tensors else [])
    if layout == "kvcache":
        f = io + ["--k-new", path, "--v-new", path, "--cache-seqlens", ints(tensors["cache_seqlens"])]
        if "cache_batch_idx" in tensors:
            f += ["--cache-batch-idx", ints(tensors["cache_batch_idx"])]
        if "block_table" in tensors:
            f += ["--block-table", path]
        return f + score_flags(spec, d) + (rope_flags(spec) if "rope_layout" in spec else [])
    if layout == "varlen":
        if "seqused_q" not in tensors:
            return None
        return io + ["--cu-seqlens-q", ints(tensors["cu_seqlens_q"]), "--cu-seqlens-k", ints(tensors["cu_seqlens_k"]),
                     "--seqused-q", ints(tensors["seqused_q"]), "--seqused-k", ints(tensors["seqused_k"])
                     ] + score_flags(spec, d)
    if "_mask" in spec:  # sparse (issue 27): the file's own dense mask through --mask
        f = io + score_flags(spec, d) + ["--mask", path]
        if "cache_seqlens" in spec:
            f += ["--cache-seqlens", ints(spec["cache_seqlens"])]
        return f + (["--backward", "--do", path] if "do" in tensors else [])
    if spec.get("mla") == "absorbed" or ("rope_layout" in spec and layout in ("dense", "paged")):
        f = io + score_flags(spec, d)
        if "cache_seqlens" in spec:
            f += ["--cache-seqlens", ints(spec["cache_seqlens"])]
        if "block_table" in tensors:
            f += ["--block-table", path, "--page-layout", spec.get("page_layout", "nhd")]
        if "rope_layout" in spec:
            f += rope_flags(spec)
        if "do" in tensors:
            f += ["--backward", "--do", path]
        return f
    return None


def mpmath_kvcache_row(t, spec, b, h, i):
    """Output and LSE of (b, h, query i) of a kvcache case with rope, at 50 digits from the unrotated tensors: the new
    keys and q rotated with mpmath's cos and sin (rounded once to the dtype, as the golden's convention says), the
    cache updated, attention over the visible keys."""
    dtype = {"bfloat16": ml_dtypes.bfloat16, "float16": np.float16, "float32": np.float32}[str(t["q"].dtype)]
    to_dtype = lambda x: float(np.float64(float(x)).astype(dtype))  # noqa: E731
    lengths, new = t["cache_seqlens"].astype(int), t["k_new"].shape[2]
    hkv = t["k_cache"].shape[1]
    g = h // (t["q"].shape[1] // hkv)
    d, sq = t["q"].shape[-1], t["q"].shape[2]
    rd = spec.get("rotary_dim", d)
    freq = [mpmath.mpf(float(f)) for f in rope_inverse_frequencies(spec, d)]  # exact f64 frequencies, as the golden
    origin = spec.get("cache_leftpad", [0] * (b + 1))[b] if spec.get("rope_positions") == "from-first-token" else 0
    pairs = [(k, k + rd // 2) if spec["rope_layout"] == "neox" else (2 * k, 2 * k + 1) for k in range(rd // 2)]

    def rotate(x, pos):
        y = [mpmath.mpf(float(v)) for v in x]
        for k, (a, c) in enumerate(pairs):
            cs, sn = mpmath.cos(pos * freq[k]), mpmath.sin(pos * freq[k])
            y[a], y[c] = x[a] * cs - x[c] * sn, x[c] * cs + x[a] * sn
        return [to_dtype(v) for v in y]

    def f64(x):
        return [mpmath.mpf(float(v)) for v in x]

    q = rotate(f64(t["q"][b, h, i]), max(0, i + lengths[b] + new - sq - origin))
    keys = [f64(t["k_cache"][b, g, j]) for j in range(t["k_cache"].shape[2])]
    vals = [f64(t["v_cache"][b, g, j]) for j in range(t["v_cache"].shape[2])]
    for s in range(new):
        keys[lengths[b] + s] = rotate(f64(t["k_new"][b, g, s]), max(0, lengths[b] + s - origin))
        vals[lengths[b] + s] = f64(t["v_new"][b, g, s])
    after = dict(spec, cache_seqlens=[int(x) + new for x in lengths])
    ok = visibility(after, b, sq, len(keys))[i]
    scale = mpmath.mpf(float(softmax_scale(spec, d)))
    scores = {j: scale * mpmath.fsum(a * c for a, c in zip(q, keys[j])) for j in range(len(keys)) if ok[j]}
    m = max(scores.values())
    w = {j: mpmath.exp(s - m) for j, s in scores.items()}
    total = mpmath.fsum(w.values())
    out = [float(mpmath.fsum(w[j] * vals[j][c] for j in w) / total) for c in range(len(vals[0]))]
    return out, float(m + mpmath.log(total))


def bshd_kvcache(exe, folders, work):
    """FlashAttention's own layout: one dense kvcache case with rope written as (B, S, H, D) tensors (the safetensors
    package's writer, the case's dtype) and run with --layout bshd; out comes back in bshd, the updated caches in the caches' bshd,
    and both equal the golden (bhsd) transposed."""
    for folder in folders:
        for entry in load_manifest(folder)["cases"]:
            tensors, meta, spec = load_case(folder, entry)
            if spec.get("layout") != "kvcache" or "block_table" in tensors or "rope_layout" not in spec:
                continue
            # One .safetensors in the case's dtype (the rotated new keys are rounded to it, as the kernel writes them).
            path = os.path.join(work, "bshd.safetensors")
            save_file({n: np.ascontiguousarray(tensors[n].transpose(0, 2, 1, 3))
                       for n in ("q", "k_cache", "v_cache", "k_new", "v_new")}, path)
            flags = ["--q", path, "--k", path, "--v", path, "--k-new", path, "--v-new", path, "--layout", "bshd",
                     "--cache-seqlens", ints(tensors["cache_seqlens"])]
            if "cache_batch_idx" in tensors:
                flags += ["--cache-batch-idx", ints(tensors["cache_batch_idx"])]
            flags += score_flags(spec, tensors["q"].shape[-1]) + rope_flags(spec)
            outs = [os.path.join(work, f"bshd-{n}.npy") for n in ("out", "kc", "vc")]
            r = subprocess.run([exe, "attention", *flags, "--out", outs[0], "--k-cache-out", outs[1], "--v-cache-out",
                                outs[2]], capture_output=True, text=True)
            if r.returncode != 0:
                check(False, f"{entry['file']} in bshd: {r.stderr.strip()}")
                return
            for path, golden in zip(outs, ("out", "k_cache_updated", "v_cache_updated")):
                got = np.load(path).transpose(0, 2, 1, 3)
                check(rel(got, tensors[golden]) <= 1e-12, f"{entry['file']} in bshd: {golden} ({rel(got, tensors[golden]):.2e})")
            return
    check(False, "a dense kvcache case with rope to run in bshd")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--treeattn", required=True)
    ap.add_argument("--golden", required=True, action="append", help="golden folder (repeatable)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="treeattn-cli-goldens-")
    mp_done = False
    for folder in args.golden:
        for entry in load_manifest(folder)["cases"]:
            path = os.path.join(folder, entry["file"])
            tensors, meta, spec = load_case(folder, entry)
            name = entry["file"]
            flags = command(path, spec, tensors)
            if flags is None:
                SKIPS.append(name)
                continue
            out = os.path.join(work, "r.safetensors")
            r = subprocess.run([args.treeattn, "attention", *flags, "--out", out], capture_output=True, text=True)
            if r.returncode != 0:
                check(False, f"{name}: treeattn attention failed: {r.stderr.strip()} ({' '.join(flags)})")
                continue
            with safe_open(out, framework="np") as f:
                got = {k: f.get_tensor(k) for k in f.keys()}
            names = ["out", "lse"] + [n for n in ("k_cache_updated", "v_cache_updated", "dq", "dk", "dv") if n in tensors]
            if spec.get("mla") == "naive":
                # The stored k, v are the projections rounded to the dtype: the command on them is a kernel under
                # test, within each tensor's tolerance of the exact golden (and not trivially: the error is > 0).
                for n in names:
                    err = float(np.max(np.abs(got[n].astype(np.float64) - tensors[n]))) if n in got else float("inf")
                    check(0 < err <= float(meta[f"tolerance.{n}.atol"]),
                          f"{name}: {n} of the command on the rounded projections within tolerance ({err:.2e})")
                continue
            for n in names:
                check(n in got and rel(got[n], tensors[n]) <= 1e-12, f"{name}: {n} of the command vs the golden "
                      f"({rel(got[n], tensors[n]) if n in got else 'missing'})")
            if spec.get("layout") == "kvcache" and "rope_layout" in spec and not mp_done:
                b_, h_, sq = tensors["q"].shape[:3]
                for (b, h, i) in [(0, 0, 0), (b_ - 1, h_ - 1, sq - 1)]:
                    o_mp, l_mp = mpmath_kvcache_row(tensors, spec, b, h, i)
                    check(rel(tensors["out"][b, h, i], o_mp) <= 1e-13 and rel([tensors["lse"][b, h, i]], [l_mp]) <= 1e-13,
                          f"{name} row {(b, h, i)}: golden vs mpmath (rotation, update, attention)")
                    check(rel(got["out"][b, h, i], o_mp) <= 1e-13, f"{name} row {(b, h, i)}: command vs mpmath")
                mp_done = True
    check(mp_done, "a kvcache case with rope was checked in mpmath")
    bshd_kvcache(args.treeattn, args.golden, work)
    print(f"cli_goldens: {PASSES[0]} passed, {len(FAILS)} failed; cases the command does not take: {len(SKIPS)} "
          f"({', '.join(SKIPS[:6])}{', ...' if len(SKIPS) > 6 else ''})")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
