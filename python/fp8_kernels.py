#!/usr/bin/env python3
"""FP8 kernels, right and wrong, against `treeattn check` (issue 27): the FP8 goldens' tolerances must pass the kernels
that compute what the case means and fail the ones with the bugs FP8 kernels have.

For every case of an FP8 golden folder (`treeattn golden --suite fp8`), NumPy computes, from the stored codes and
descales alone:
  fa3                 FlashAttention 3's FP8 pipeline: S from the codes in f32, times q_descale * k_descale * scale,
                      P = exp(s - m) rounded to float8_e4m3fn before P.V, O times v_descale / rowsum, out in bf16
                      (metadata p_rounding fp8)                                          -> must pass
  f32                 attention over code x descale in f32, out in the test dtype (p_rounding dtype) -> must pass
  no-k-descale        fa3 without k_descale                                              -> must fail
  no-v-descale        fa3 without v_descale                                              -> must fail
  scores-in-fp8       fa3 with S rounded to float8_e4m3fn before the softmax (P rounded at the wrong point) -> fail
  p-fp8-as-dtype      fa3's P rounding while claiming P stays in the test dtype (p_rounding dtype) -> must fail
and runs `treeattn check` on each, asserting its exit status and that the report names the tolerance variant.
For an FP8 KV-cache folder (`--suite fp8-kvcache`): a decode kernel that dequantises the cache to f32 (code x scale)
must pass the tighter kv-scale tolerance; one that forgets the K scale or the V scale must fail.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

from golden_common import load_case, load_manifest, softmax_scale, visibility

E4M3 = ml_dtypes.float8_e4m3fn
OUT = {"bf16": ml_dtypes.bfloat16, "f16": np.float16, "f32": np.float32}


def kernel(tensors, spec, dtype, bug=None):
    """(out, lse) of one FP8 kernel variant (see the module docstring), in f32 arithmetic."""
    codes = [tensors[n].astype(np.float32) for n in "qkv"]
    qd, kd, vd = (tensors[f"{n}_descale"].astype(np.float32) for n in "qkv")
    if bug == "no-k-descale":
        kd = np.ones_like(kd)
    if bug == "no-v-descale":
        vd = np.ones_like(vd)
    q, k, v = codes
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    out = np.zeros((b_, hq, sq, dv), np.float32)
    lse = np.full((b_, hq, sq), -np.inf, np.float32)
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        for h in range(hq):
            g = h // (hq // hkv)
            if bug == "f32":
                s = (q[b, h] * qd[b, g]) @ (k[b, g] * kd[b, g]).T * np.float32(softmax_scale(spec, d))
            else:
                s = (q[b, h] @ k[b, g].T) * (qd[b, g] * kd[b, g] * np.float32(softmax_scale(spec, d)))
            if "softcap" in spec:  # in f64, rounded to f32, as the goldens' naive pipelines: only the bug differs
                s = (spec["softcap"] * np.tanh(s.astype(np.float64) / spec["softcap"])).astype(np.float32)
            if bug == "scores-in-fp8":
                s = s.astype(E4M3).astype(np.float32)
            s = np.where(vis, s, -np.inf).astype(np.float32)
            m = s.max(axis=1)
            rows = np.isfinite(m)
            p = np.exp(s[rows] - m[rows, None]).astype(np.float32)
            tot = p.sum(axis=1)
            if bug != "f32":
                p = p.astype(E4M3).astype(np.float32)
            vv = v[b, g] * vd[b, g] if bug == "f32" else v[b, g]
            o = p @ vv
            out[b, h, rows] = o / tot[:, None] if bug == "f32" else o * (vd[b, g] / tot)[:, None]
            lse[b, h, rows] = m[rows] + np.log(tot)
    return out.astype(OUT[dtype]), lse


def dense_kv(tensors, spec):
    """K and V codes as dense (B, Hkv, capacity, D) f32, gathered through the block table for a paged case."""
    if "k" in tensors:
        return tensors["k"].astype(np.float32), tensors["v"].astype(np.float32)
    out = []
    for n in "kv":
        c = tensors[f"{n}_cache"].astype(np.float32)
        if spec.get("page_layout", "nhd") == "hnd":
            c = c.transpose(0, 2, 1, 3)
        table, lens, ps = tensors["block_table"], tensors["cache_seqlens"], spec["page_size"]
        dense = np.zeros((len(lens), c.shape[2], spec["seq_k"], c.shape[3]), np.float32)
        for b, n_tok in enumerate(lens):
            for t in range(int(n_tok)):
                dense[b, :, t] = c[table[b, t // ps], t % ps]
        out.append(dense)
    return out


def kv_kernel(tensors, spec, dtype, bug=None):
    """(out, lse) of a decode kernel over an FP8 KV cache: K and V dequantised to f32 (code x scale), attention in
    f32, out in the test dtype (`kernel`'s f32 path with q's descale 1); bugs: the K scale or the V scale forgotten."""
    k8, v8 = dense_kv(tensors, spec)
    b_, hkv = k8.shape[0], k8.shape[1]
    scales = {}
    for n in "kv":
        sc = tensors[f"{n}_scale"].astype(np.float32)
        scales[n] = np.broadcast_to(sc if sc.shape[0] > 1 else sc[0], (b_, hkv)).astype(np.float32)
        if bug == f"no-{n}-scale":
            scales[n] = np.ones((b_, hkv), np.float32)
    as_fp8 = {"q": tensors["q"], "k": k8, "v": v8, "q_descale": np.ones((b_, hkv), np.float32),
              "k_descale": scales["k"], "v_descale": scales["v"]}
    return kernel(as_fp8, spec, dtype, "f32")


KV_KERNELS = {  # name -> (bug, kv_dequant claimed, must pass)
    "kv-f32": (None, "scale", True),
    "kv-no-k-scale": ("no-k-scale", "dequant", False),
    "kv-no-v-scale": ("no-v-scale", "dequant", False),
}

KERNELS = {  # name -> (bug, p_rounding claimed, must pass)
    "fa3": (None, "fp8", True),
    "f32": ("f32", "dtype", True),
    "no-k-descale": ("no-k-descale", "fp8", False),
    "no-v-descale": ("no-v-descale", "fp8", False),
    "scores-in-fp8": ("scores-in-fp8", "fp8", False),
    "p-fp8-as-dtype": (None, "dtype", False),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", required=True)
    ap.add_argument("--treeattn", required=True)
    args = ap.parse_args()
    manifest = load_manifest(args.golden)
    entries = [e for e in manifest["cases"] if e.get("input_dtype", "").startswith("f8")]
    if not entries:
        print("no FP8 case in", args.golden)
        return 1
    kv = "kv_fp8" in json.loads(json.dumps(load_case(args.golden, entries[0])[2]))
    table = KV_KERNELS if kv else KERNELS
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (bug, claim, must_pass) in table.items():
            folder = os.path.join(tmp, name)
            os.makedirs(folder)
            for e in entries:
                tensors, _, spec = load_case(args.golden, e)
                if kv:
                    out, lse = kv_kernel(tensors, spec, e["dtype"], bug)
                    meta = {"layout": "bhsd", "lse_base": "e", "kv_dequant": "dtype" if claim == "dequant" else "scale"}
                else:
                    out, lse = kernel(tensors, spec, e["dtype"], bug)
                    meta = {"layout": "bhsd", "lse_base": "e", "p_rounding": claim}
                save_file({"out": out, "lse": lse}, os.path.join(folder, e["name"] + ".safetensors"), metadata=meta)
            report = os.path.join(tmp, name + ".json")
            r = subprocess.run([args.treeattn, "check", "--golden", args.golden, "--results", folder, "--json", report],
                               capture_output=True, text=True)
            rows = json.load(open(report))["rows"] if os.path.exists(report) else []
            variant = ("kv-dequant" if claim == "dequant" else "kv-scale") if kv else f"p-{claim}"
            named = all(f"tolerance variant {variant}" in row["note"] for row in rows if row["tensor"] == "out")
            failed = sorted({row["case"] for row in rows if not row["passed"]})
            ok = (r.returncode == 0) == must_pass and r.returncode in (0, 1) and named and rows
            print(f"{'ok  ' if ok else 'FAIL'} {name}: check exit {r.returncode} ({'must pass' if must_pass else 'must fail'}),"
                  f" {len(failed)} of {len(entries)} cases failed{': ' + ', '.join(failed) if failed and not must_pass else ''}")
            if not ok:
                fails.append(name)
                print(r.stdout[-2000:], r.stderr[-2000:])
    print(f"{len(table) - len(fails)} of {len(table)} kernels as expected")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
