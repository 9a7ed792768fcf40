#!/usr/bin/env python3
"""Independent Python client of `treeattn golden` files (issue 3).

Loads every case of a golden folder with NumPy, safetensors and ml_dtypes (no code shared with the Swift side),
recomputes the goldens in NumPy f64 from the quantised inputs and checks:
  * out and lse (F64) within 1e-12 (relative to max(1, |value|)); out_f32/lse_f32 are the F64 values rounded once;
  * inputs carry the case's dtype; metadata names layout bhsd, LSE base e, the generator and the tolerances;
  * every tree shard partial and every level of the pinned binary tree within 1e-12;
  * the recorded naive-pipeline error agrees (within a factor of 2) with a NumPy emulation of the same pipeline;
  * backward cases (`treeattn golden --backward`): dq, dk, dv recomputed here in NumPy f64 from the textbook formulas
    (P = exp(s - lse), dS = P (dO.v - D), GQA sums) within 1e-12, the *_f32 copies rounded once, the manifest's
    dq/dk/dv tolerances equal the metadata's, and each tree shard's dq share and dk/dv slices within 1e-12;
  * varlen cases from the packed tensors and cu_seqlens (each sequence alone, its own causal alignment);
  * paged cases from k_cache/v_cache through the block table (NHD or HND), after checking the pages are shuffled,
    every unused slot and page is NaN, and FlashInfer's kv_indptr/kv_indices/kv_last_page_len describe the same pages;
  * merge cases from the stored (v, s) partial states in their LSE base (-inf partials and all-(-inf) rows);
  * MLA (issue 25): absorbed cases as dense or paged attention with DeepSeek-V3's scale (v the latent cache's first
    value_dim entries); naive cases from q_nope, q_pe, c_kv, k_pe, w_uk, w_uv in both forms (w_uv out_latent = out);
  * sinks (issue 25): the stored logits are the case's rounded once, every row's softmax has the sink as one more
    column with value 0 (lse includes it, lse_without_sink does not), tree partials and levels leave it out; sink
    tokens beside the window; dlse and dsinks in backward cases (dS = P (dO.v - D + dlse), dsinks = sum p_sink
    (dlse - D)).
Prints 'N passed, N failed' and exits non-zero on any failure.
"""
import argparse
import sys

import ml_dtypes
import numpy as np

from golden_common import (head_mask, alibi_bias, even_shards, load_case, load_manifest, rope_positions, rope_rotate, softmax_scale,
                           visibility)

RESULTS = {"pass": 0, "fail": []}


def check(cond, what):
    if cond:
        RESULTS["pass"] += 1
    else:
        RESULTS["fail"].append(what)
        print("FAIL:", what)


def rel(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if np.any(np.isneginf(want) != np.isneginf(got)):
        return np.inf
    f = np.isfinite(want)
    if not f.any():
        return 0.0
    return float(np.max(np.abs(got[f] - want[f]))) / max(1.0, float(np.max(np.abs(want[f]))))


def with_sink(s, sink):
    """Scores (sq, sk) with the sink logit as one more column (value 0), as gpt-oss's torch.cat([QK, S])."""
    return s if sink is None else np.concatenate([s, np.full((s.shape[0], 1), sink)], axis=1)


def attention(q, k, v, spec, keys=None, sinks=None):
    """Exact attention in NumPy f64 over keys [lo, hi); with sinks (one logit per query head, value 0) in every row's
    softmax."""
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    scale = softmax_scale(spec, d)
    lo, hi = keys if keys else (0, sk)
    out = np.zeros((b_, hq, sq, dv))
    lse = np.full((b_, hq, sq), -np.inf)
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        vis[:, :lo] = False
        vis[:, hi:] = False
        for h in range(hq):
            kvh = h // (hq // hkv)
            s = scale * (q[b, h] @ k[b, kvh].T)
            if "softcap" in spec:
                s = spec["softcap"] * np.tanh(s / spec["softcap"])
            s = s + alibi_bias(spec, b, h, sq, sk)
            s = with_sink(np.where(vis & head_mask(spec, b, h), s, -np.inf), None if sinks is None else float(sinks[h]))
            m = s.max(axis=1)
            rows = np.isfinite(m)
            w = np.exp(s[rows] - m[rows, None])
            tot = w.sum(axis=1)
            lse[b, h, rows] = m[rows] + np.log(tot)
            out[b, h, rows] = (w[:, :sk] @ v[b, kvh]) / tot[:, None]
    return out, lse


def gradients(q, k, v, do, spec, keys=None, sinks=None, dlse=None):
    """dq, dk, dv (and dsinks) of sum(do * out) + sum(dlse * lse) in NumPy f64; with keys=(lo, hi) the share of those
    keys (global weights). The sink's weight p_sink = exp(sink - lse); dS = P (dO.v - D + dlse); dsinks = sum p_sink
    (dlse - D)."""
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    scale = softmax_scale(spec, d)
    lo, hi = keys if keys else (0, sk)
    dq, dk, dvv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    dsinks = np.zeros(hq)
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        for h in range(hq):
            kvh = h // (hq // hkv)
            t = scale * (q[b, h] @ k[b, kvh].T)
            s = spec["softcap"] * np.tanh(t / spec["softcap"]) if "softcap" in spec else t
            s = np.where(vis & head_mask(spec, b, h), s + alibi_bias(spec, b, h, sq, sk), -np.inf)
            s = with_sink(s, None if sinks is None else float(sinks[h]))
            m = s.max(axis=1)
            rows = np.isfinite(m)
            p = np.zeros_like(s)
            p[rows] = np.exp(s[rows] - m[rows, None])
            p[rows] /= p[rows].sum(axis=1, keepdims=True)
            p_sink = p[:, sk] if sinks is not None else np.zeros(sq)
            p = p[:, :sk]
            dov = do[b, h] @ v[b, kvh].T
            up = dlse[b, h][:, None] if dlse is not None else 0.0
            big_d = (p * dov).sum(axis=1, keepdims=True)
            dsc = p * (dov - big_d + up)
            dsinks[h] += float(np.sum(p_sink * ((dlse[b, h] if dlse is not None else 0.0) - big_d[:, 0])))
            if "softcap" in spec:
                dsc *= 1 - np.tanh(t / spec["softcap"]) ** 2
            dsc[:, :lo] = 0
            dsc[:, hi:] = 0
            p[:, :lo] = 0
            p[:, hi:] = 0
            dq[b, h] += scale * dsc @ k[b, kvh]
            dk[b, kvh] += scale * dsc.T @ q[b, h]
            dvv[b, kvh] += p.T @ do[b, h]
    return dq, dk[:, :, lo:hi], dvv[:, :, lo:hi], dsinks


def merge(parts):
    """n-ary log-sum-exp merge of (out, lse) partials."""
    lses = np.stack([p[1] for p in parts])
    m = lses.max(axis=0)
    safe = np.where(np.isfinite(m), m, 0.0)
    w = np.where(np.isneginf(lses), 0.0, np.exp(lses - safe))
    tot = w.sum(axis=0)
    out = sum(wi[..., None] * p[0] for wi, p in zip(w, parts))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(tot[..., None] > 0, out / np.where(tot > 0, tot, 1)[..., None], 0.0)
        lse = np.where(tot > 0, safe + np.log(np.where(tot > 0, tot, 1)), -np.inf)
    return out, lse


def rounder(dtype):
    if dtype == "bf16":
        return lambda x: np.asarray(x, np.float32).astype(ml_dtypes.bfloat16).astype(np.float32)
    if dtype == "f16":
        return lambda x: np.asarray(x, np.float32).astype(np.float16).astype(np.float32)
    return lambda x: np.asarray(x, np.float32)


def naive_error(q, k, v, spec, dtype, golden, sinks=None):
    """The same-precision naive pipeline in NumPy: S, P, O rounded to dtype, f32 accumulation."""
    t = rounder(dtype)
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    scale = t(softmax_scale(spec, d))
    worst = 0.0
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        for h in range(hq):
            kvh = h // (hq // hkv)
            # Sequential f32 accumulation (cumsum), the naive order the Swift emulation uses too.
            prods = q[b, h].astype(np.float32)[:, None, :] * k[b, kvh].astype(np.float32)[None, :, :]
            s = t(t(np.cumsum(prods, axis=-1, dtype=np.float32)[..., -1]) * scale)
            if "softcap" in spec:
                s = t(spec["softcap"] * np.tanh(s.astype(np.float64) / spec["softcap"]))
            s = t(s + alibi_bias(spec, b, h, sq, sk))
            s = with_sink(np.where(vis & head_mask(spec, b, h), s, -np.inf), None if sinks is None else float(sinks[h])).astype(np.float32)
            m = s.max(axis=1)
            rows = np.isfinite(m)
            e = np.exp(s[rows] - m[rows, None]).astype(np.float32)
            p = t(e / e.sum(axis=1, keepdims=True))[:, :sk]
            pv = p[:, :, None] * v[b, kvh].astype(np.float32)[None, :, :]
            o = t(np.cumsum(pv, axis=1, dtype=np.float32)[:, -1, :]) if pv.shape[1] else np.zeros((p.shape[0], dv), np.float32)
            worst = max(worst, float(np.max(np.abs(o - golden[b, h, rows]), initial=0.0)))
    return worst


FP8 = {"f8e4m3fn": (ml_dtypes.float8_e4m3fn, 448.0), "f8e5m2": (ml_dtypes.float8_e5m2, 57344.0)}


def fp8_naive_error(codes, descales, spec, dtype, golden, p_fp8):
    """The naive FP8 pipeline in NumPy f32 (FlashAttention 3's rounding points): S accumulated in f32 from the codes,
    times q_descale * k_descale * scale in f32; softmax in f32 with P = exp(s - m) rounded to e4m3fn (p_fp8) or to
    the test dtype; P.V accumulated in f32, times v_descale / rowsum, rounded to the test dtype."""
    t = rounder(dtype)
    q, k, v = codes
    qd, kd, vd = descales
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    worst = 0.0
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        for h in range(hq):
            kvh = h // (hq // hkv)
            scale = np.float32(qd[b, kvh]) * np.float32(kd[b, kvh]) * np.float32(softmax_scale(spec, d))
            prods = q[b, h].astype(np.float32)[:, None, :] * k[b, kvh].astype(np.float32)[None, :, :]
            s = np.cumsum(prods, axis=-1, dtype=np.float32)[..., -1] * scale
            if "softcap" in spec:
                s = np.float32(spec["softcap"]) * np.tanh(s.astype(np.float64) / spec["softcap"]).astype(np.float32)
            s = np.where(vis, s, -np.inf).astype(np.float32)
            m = s.max(axis=1)
            rows = np.isfinite(m)
            e = np.exp(s[rows] - m[rows, None]).astype(np.float32)
            tot = np.cumsum(e, axis=1, dtype=np.float32)[:, -1] if e.shape[1] else np.zeros(0, np.float32)
            p = e.astype(ml_dtypes.float8_e4m3fn).astype(np.float32) if p_fp8 else t(e)
            pv = p[:, :, None] * v[b, kvh].astype(np.float32)[None, :, :]
            acc = np.cumsum(pv, axis=1, dtype=np.float32)[:, -1, :]
            o = t(acc * (np.float32(vd[b, kvh]) / tot)[:, None])
            worst = max(worst, float(np.max(np.abs(o - golden[b, h, rows]), initial=0.0)))
    return worst


def check_fp8(name, tensors, spec, meta, entry):
    """An FP8 case from its own bytes: the codes are ml_dtypes' saturating rounding of the stored unquantised values,
    bit for bit (and q_cast their plain astype, NaN/inf on overflow); the descales are f32(amax / largest); the
    golden is attention over code x descale in f64; the recorded naive errors match NumPy's FP8 pipelines."""
    f8, largest = FP8[entry["input_dtype"]]
    b_, hkv = tensors["k"].shape[0], tensors["k"].shape[1]
    codes, descales = [], []
    for n in "qkv":
        x, un, ds = tensors[n], tensors[f"{n}_unquantised"], tensors[f"{n}_descale"]
        check(x.dtype == f8 and ds.dtype == np.float32 and ds.shape == (b_, hkv), f"{name}: {n} in {entry['input_dtype']}, {n}_descale f32 (batch, kv_heads)")
        ours = np.clip(un, -largest, largest).astype(f8)
        check(np.array_equal(x.view(np.uint8), ours.view(np.uint8)), f"{name}: {n} is ml_dtypes' saturating rounding of {n}_unquantised, bit for bit")
        if spec.get("fp8_edges") and n == "q":
            check(np.all(ds == 1), f"{name}: edge q has descale 1")
        else:
            per = ds[:, :, None, None] if spec.get("descale", "head") == "head" else ds.reshape(-1)[0]
            group = x.shape[1] // hkv
            full = np.repeat(np.asarray(per, np.float64), group, axis=1) if np.ndim(per) else per
            amax = np.abs(un * full).reshape(b_, hkv, -1).max(axis=2) if np.ndim(per) else np.abs(un * per).max()
            want = np.float32(np.asarray(amax) / largest)
            check(np.allclose(ds if np.ndim(per) else ds.reshape(-1)[0], want, rtol=2e-7, atol=0), f"{name}: {n}_descale = f32(amax / {largest})")
            if spec.get("descale", "head") == "tensor":
                check(np.all(ds == ds.reshape(-1)[0]), f"{name}: per-tensor descale repeated")
        codes.append(x.astype(np.float64))
        descales.append(ds.astype(np.float64))
    if spec.get("fp8_edges"):
        cast = tensors["q_cast"]
        theirs = tensors["q_unquantised"].astype(f8)
        fin = np.isfinite(theirs.astype(np.float64))
        check(np.array_equal(cast.view(np.uint8)[fin], theirs.view(np.uint8)[fin])
              and np.array_equal(np.isnan(cast.astype(np.float64)), np.isnan(theirs.astype(np.float64)))
              and np.array_equal(np.isinf(cast.astype(np.float64)), np.isinf(theirs.astype(np.float64))),
              f"{name}: q_cast is ml_dtypes' astype of q_unquantised (finite values bit for bit, overflow alike)")
        n_edges = int(meta["inputs"].split("first ")[1].split(" values")[0])
        check(n_edges > 900, f"{name}: {n_edges} edge values")
    q, k, v = (c * np.repeat(d, c.shape[1] // d.shape[1], axis=1)[:, :, None, None] for c, d in zip(codes, descales))
    out, lse = attention(q, k, v, spec)
    check(rel(tensors["out"], out) <= 1e-12 and rel(tensors["lse"], lse) <= 1e-12, f"{name}: fp8 golden vs NumPy f64 over code x descale")
    variants = entry.get("out_atol_variants", {})
    check(list(variants) == ["p-fp8", "p-dtype"] and variants["p-fp8"] == entry["out_atol"]
          and float(meta["tolerance.out.p-dtype.atol"]) == variants["p-dtype"], f"{name}: both tolerance variants recorded")
    for label, p_fp8, key in (("p-fp8", True, "tolerance.out.naive_max_abs_error"), ("p-dtype", False, "tolerance.out.p-dtype.naive_max_abs_error")):
        ours = fp8_naive_error(codes, descales, spec, entry["dtype"], tensors["out"], p_fp8)
        recorded = float(meta[key])
        check(0.5 <= (ours + 1e-300) / (recorded + 1e-300) <= 2, f"{name}: {label} naive error recorded {recorded:.3e} vs NumPy {ours:.3e}")


def dropout_reference(q, k, v, spec, mask, p, do=None):
    """NumPy f64 attention with dropout: P the softmax of the scores, W = P M / (1 - p), out = W v, lse of the undropped
    scores; with do, the gradients of sum(do * out): dV = W^T do, dP = M / (1 - p) (do v^T), dS = P (dP - rowsum(P dP)),
    dQ = scale dS K, dK = scale dS^T Q (GQA summed)."""
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    scale = softmax_scale(spec, d)
    out, lse = np.zeros((b_, hq, sq, dv)), np.full((b_, hq, sq), -np.inf)
    dq, dk, dvv = np.zeros(q.shape), np.zeros(k.shape), np.zeros(v.shape)
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        for h in range(hq):
            g = h // (hq // hkv)
            s = np.where(vis, scale * (q[b, h] @ k[b, g].T) + alibi_bias(spec, b, h, sq, sk), -np.inf)
            m = s.max(axis=1)
            rows = np.isfinite(m)
            pr = np.zeros_like(s)
            pr[rows] = np.exp(s[rows] - m[rows, None])
            tot = pr.sum(axis=1)
            pr[rows] /= tot[rows, None]
            lse[b, h, rows] = m[rows] + np.log(tot[rows])
            keep = mask[b, h] / (1 - p)
            out[b, h] = (pr * keep) @ v[b, g]
            if do is not None:
                dp = keep * (do[b, h] @ v[b, g].T)
                dsc = pr * (dp - (pr * dp).sum(axis=1, keepdims=True))
                dq[b, h] = scale * dsc @ k[b, g]
                dk[b, g] += scale * dsc.T @ q[b, h]
                dvv[b, g] += (pr * keep).T @ do[b, h]
    return out, lse, (dq, dk, dvv)


def check_dropout(name, tensors, spec, meta, entry):
    """A dropout case: the mask is bool (batch, heads, seq_q, seq_k) and keeps about 1 - p; out, lse (of the undropped
    scores) and any gradients recomputed in NumPy f64 with it to 1e-12; the naive error (attention_ref with the mask)
    matches."""
    p, mask = spec["dropout_p"], tensors["dropout_mask"]
    q, k, v = (tensors[n].astype(np.float64) for n in "qkv")
    check(mask.dtype == np.bool_ and mask.shape == q.shape[:3] + (k.shape[2],), f"{name}: dropout_mask bool (batch, heads, seq_q, seq_k)")
    check(abs(mask.mean() - (1 - p)) < 6 * np.sqrt(p * (1 - p) / mask.size) + 1e-9, f"{name}: the mask keeps about 1 - p ({mask.mean():.3f})")
    check("undropped" in meta["dropout"] and float(meta["dropout_p"]) == p, f"{name}: metadata states the LSE convention and p")
    do = tensors["do"].astype(np.float64) if "do" in tensors else None
    out, lse, grads = dropout_reference(q, k, v, spec, mask, p, do)
    check(rel(tensors["out"], out) <= 1e-12 and rel(tensors["lse"], lse) <= 1e-12, f"{name}: dropout out, lse vs NumPy f64")
    plain = attention(q, k, v, spec)[1]
    check(rel(tensors["lse"], plain) <= 1e-12, f"{name}: lse is the undropped attention's")
    if do is not None:
        for g_name, g in zip(("dq", "dk", "dv"), grads):
            check(rel(tensors[g_name], g) <= 1e-12, f"{name}: dropout {g_name} vs NumPy f64 ({rel(tensors[g_name], g):.2e})")
            check(float(meta[f"tolerance.{g_name}.atol"]) == entry[f"{g_name}_atol"] > 0, f"{name}: {g_name} tolerance")
    # attention_ref with dropout in the dtype: P rounded, masked, V scaled in the dtype, f32 accumulation.
    t = rounder(entry["dtype"])
    vs = t(v * np.float32(1 / (1 - p)))
    ours = 0.0
    b_, hq, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        for h in range(hq):
            g = h // (hq // hkv)
            prods = q[b, h].astype(np.float32)[:, None, :] * k[b, g].astype(np.float32)[None, :, :]
            s_ = t(t(np.cumsum(prods, axis=-1, dtype=np.float32)[..., -1]) * t(softmax_scale(spec, d)))
            s_ = t(s_ + alibi_bias(spec, b, h, sq, sk))
            s_ = np.where(vis, s_, -np.inf).astype(np.float32)
            m = s_.max(axis=1)
            rows = np.isfinite(m)
            e = np.exp(s_[rows] - m[rows, None]).astype(np.float32)
            pr = t(e / e.sum(axis=1, keepdims=True)) * mask[b, h][rows]
            o = t(np.cumsum(pr[:, :, None] * vs[b, g][None, :, :], axis=1, dtype=np.float32)[:, -1, :])
            ours = max(ours, float(np.max(np.abs(o - tensors["out"][b, h][rows]), initial=0.0)))
    recorded = float(meta["tolerance.out.naive_max_abs_error"])
    check(0.5 <= (ours + 1e-300) / (recorded + 1e-300) <= 2, f"{name}: dropout naive error recorded {recorded:.3e} vs NumPy {ours:.3e}")


def check_fp8_kvcache(name, tensors, spec, meta, entry):
    """An FP8 KV cache: the codes (dense, or gathered through the block table) are ml_dtypes' saturating rounding of
    k_unquantised/v_unquantised bit for bit; the scales are f32(amax / largest) per tensor or per KV head; the golden is
    q's attention over code x scale in f64; the recorded naive errors match NumPy's kv-dequant and kv-scale pipelines."""
    f8, largest = FP8[entry["input_dtype"]]
    want_dtype = {"bf16": ml_dtypes.bfloat16, "f16": np.float16}[entry["dtype"]]
    q = tensors["q"]
    check(q.dtype == want_dtype, f"{name}: q in {entry['dtype']}")
    paged = spec.get("layout") == "paged"
    if paged:
        check(tensors["k_cache"].dtype == f8 and tensors["v_cache"].dtype == f8, f"{name}: pages in {entry['input_dtype']}")
        k, v, nan_ok, csr_ok, _ = gather_pages(tensors, spec)
        check(nan_ok and csr_ok, f"{name}: NaN in unused page storage, FlashInfer's indices match")
    else:
        check(tensors["k"].dtype == f8 and tensors["v"].dtype == f8, f"{name}: k, v in {entry['input_dtype']}")
        k, v = tensors["k"].astype(np.float64), tensors["v"].astype(np.float64)
    lens = spec.get("cache_seqlens", [spec["seq_k"]] * q.shape[0])
    used = (np.arange(spec["seq_k"])[None, :] < np.array(lens)[:, None])[:, None, :, None]
    per_head = spec.get("kv_scale", "tensor") == "head"
    scaled = []
    for n, codes in (("k", k), ("v", v)):
        un, sc = tensors[f"{n}_unquantised"], tensors[f"{n}_scale"]
        check(sc.dtype == np.float32 and sc.shape == ((codes.shape[1],) if per_head else (1,)), f"{name}: {n}_scale f32 per {'head' if per_head else 'tensor'}")
        ours = np.clip(un, -largest, largest).astype(f8).astype(np.float64)
        check(np.array_equal(np.where(used, ours, 0.0), np.where(used, codes, 0.0)), f"{name}: {n} codes are ml_dtypes' saturating rounding of {n}_unquantised")
        if not paged:
            check(np.array_equal(codes.astype(f8).view(np.uint8), np.clip(un, -largest, largest).astype(f8).view(np.uint8)), f"{name}: {n} bit for bit")
        full = sc.astype(np.float64)[None, :, None, None] if per_head else float(sc[0])
        x = un * full
        amax = np.abs(x).max(axis=(0, 2, 3)) if per_head else np.abs(x).max()
        check(np.allclose(sc, np.float32(np.asarray(amax) / largest), rtol=2e-7, atol=0), f"{name}: {n}_scale = f32(amax / {largest})")
        scaled.append(codes * full)
    qf = q.astype(np.float64)
    out, lse = attention(qf, scaled[0], scaled[1], spec)
    check(rel(tensors["out"], out) <= 1e-12 and rel(tensors["lse"], lse) <= 1e-12, f"{name}: golden vs NumPy f64 over code x scale")
    variants = entry.get("out_atol_variants", {})
    check(list(variants) == ["kv-dequant", "kv-scale"] and variants["kv-dequant"] == entry["out_atol"]
          and float(meta["tolerance.out.kv-scale.atol"]) == variants["kv-scale"], f"{name}: both tolerance variants recorded")
    t = rounder(entry["dtype"])
    dequant = naive_error(qf, t(scaled[0]).astype(np.float64), t(scaled[1]).astype(np.float64), spec, entry["dtype"], tensors["out"])
    b_, hkv = q.shape[0], k.shape[1]
    sk, sv = (np.broadcast_to(tensors[f"{n}_scale"].astype(np.float64), (b_, hkv)) if per_head
              else np.full((b_, hkv), float(tensors[f"{n}_scale"][0])) for n in "kv")
    scale_err = fp8_naive_error((qf, k, v), (np.ones((b_, hkv)), sk, sv), spec, entry["dtype"], tensors["out"], False)
    for label, ours, key in (("kv-dequant", dequant, "tolerance.out.naive_max_abs_error"), ("kv-scale", scale_err, "tolerance.out.kv-scale.naive_max_abs_error")):
        recorded = float(meta[key])
        check(0.5 <= (ours + 1e-300) / (recorded + 1e-300) <= 2, f"{name}: {label} naive error recorded {recorded:.3e} vs NumPy {ours:.3e}")


def gather_pages(tensors, spec):
    """Dense (B, Hkv, capacity, D) K and V read from the pages through the block table; positions past a row's
    length stay 0 (they are masked). Also checks the paging invariants."""
    layout = spec.get("page_layout", "nhd")
    kc, vc = tensors["k_cache"].astype(np.float64), tensors["v_cache"].astype(np.float64)
    table, lens = tensors["block_table"].astype(np.int64), tensors["cache_seqlens"].astype(np.int64)
    ps = spec["page_size"]
    if layout == "hnd":  # (pages, heads, page_size, dim) -> (pages, page_size, heads, dim)
        kc, vc = kc.transpose(0, 2, 1, 3), vc.transpose(0, 2, 1, 3)
    b_, cap, h = len(lens), spec["seq_k"], kc.shape[2]
    k = np.zeros((b_, h, cap, kc.shape[3]))
    v = np.zeros((b_, h, cap, vc.shape[3]))
    used = np.zeros(kc.shape[:2], dtype=bool)  # (page, slot)
    indices = []
    for b in range(b_):
        blocks = -(-int(lens[b]) // ps)
        indices += list(table[b, :blocks])
        for t in range(int(lens[b])):
            page, slot = table[b, t // ps], t % ps
            used[page, slot] = True
            k[b, :, t] = kc[page, slot]
            v[b, :, t] = vc[page, slot]
    ok = np.isfinite(kc[used]).all() and np.isfinite(vc[used]).all() and np.isnan(kc[~used]).all() and np.isnan(vc[~used]).all()
    indptr = np.concatenate([[0], np.cumsum([-(-int(n) // ps) for n in lens])])
    last = [0 if n == 0 else int(n) - (-(-int(n) // ps) - 1) * ps for n in lens]
    csr = (np.array_equal(tensors["kv_indptr"], indptr) and np.array_equal(tensors["kv_indices"], indices)
           and np.array_equal(tensors["kv_last_page_len"], last))
    shuffled = indices != sorted(indices)
    return k, v, ok, csr, shuffled


def check_varlen(name, tensors, spec, dtype):
    q, k, v = (tensors[n].astype(np.float64) for n in "qkv")
    cq, ck = tensors["cu_seqlens_q"], tensors["cu_seqlens_k"]
    check(cq.dtype == np.int32 and ck.dtype == np.int32 and len(cq) == len(ck), f"{name}: cu_seqlens are int32 of one length")
    out = np.zeros((q.shape[0], q.shape[1], v.shape[2]))
    lse = np.full((q.shape[1], q.shape[0]), -np.inf)
    worst = 0.0
    # FlashAttention 3's seqused_q/k: each sequence's first used rows only; unused keys are NaN in the file.
    uq = tensors["seqused_q"].astype(int) if "seqused_q" in tensors else np.diff(cq)
    uk = tensors["seqused_k"].astype(int) if "seqused_k" in tensors else np.diff(ck)
    check(("seqused_q" in tensors) == ("seqused_q" in spec or "seqused_k" in spec), f"{name}: seqused stored exactly when given")
    if "q_used" in tensors:
        want_used = np.concatenate([np.arange(int(cq[i + 1] - cq[i])) < uq[i] for i in range(len(cq) - 1)])
        check(np.array_equal(tensors["q_used"].astype(bool), want_used), f"{name}: q_used marks the rows before seqused_q")
        unused_k = np.concatenate([np.arange(int(ck[i + 1] - ck[i])) >= uk[i] for i in range(len(ck) - 1)])
        check(np.all(np.isnan(k[unused_k])) and np.all(np.isfinite(k[~unused_k])), f"{name}: keys past seqused_k are NaN")
    for i in range(len(cq) - 1):
        a, b = int(cq[i]), int(cq[i]) + int(uq[i])
        c, d = int(ck[i]), int(ck[i]) + int(uk[i])
        qi, ki, vi = (x[None].transpose(0, 2, 1, 3) for x in (q[a:b], k[c:d], v[c:d]))
        sinks = tensors.get("sinks")
        o_i, l_i = attention(qi, ki, vi, spec, sinks=sinks)
        out[a:b] = o_i[0].transpose(1, 0, 2)
        lse[:, a:b] = l_i[0]
        worst = max(worst, naive_error(qi, ki, vi, spec, dtype, o_i, sinks=sinks))
    check(rel(tensors["out"], out) <= 1e-12 and rel(tensors["lse"], lse) <= 1e-12, f"{name}: varlen out/lse vs NumPy f64")
    return worst


def check_merge(name, tensors, spec, meta):
    base = 2.0 if meta.get("lse_base") == "2" else np.e
    check(meta.get("lse_base") == spec.get("lse_base", "e"), f"{name}: lse base in the metadata")
    if "v" in tensors:
        v, s = tensors["v"].astype(np.float64), tensors["s"].astype(np.float64)
    else:
        v = np.stack([tensors["v_a"], tensors["v_b"]], axis=1).astype(np.float64)
        s = np.stack([tensors["s_a"], tensors["s_b"]], axis=1).astype(np.float64)
    check(s.dtype == np.float64 and np.isneginf(s).any(), f"{name}: some partials are empty (-inf)")
    m = s.max(axis=1)  # (rows, heads)
    safe = np.where(np.isfinite(m), m, 0.0)
    w = np.where(np.isneginf(s), 0.0, np.power(base, s - safe[:, None, :]))
    tot = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(tot[..., None] > 0, (w[..., None] * v).sum(axis=1) / np.where(tot > 0, tot, 1)[..., None], 0.0)
        lse = np.where(tot > 0, safe + np.log(np.where(tot > 0, tot, 1)) / np.log(base), -np.inf)
    check(np.isneginf(lse).any(), f"{name}: has rows whose partials are all empty")
    check(rel(tensors["out"], out) <= 1e-12 and rel(tensors["lse"], lse) <= 1e-12, f"{name}: merged (v, s) vs NumPy f64")


def check_kvcache(name, tensors, spec, meta, dtype):
    """flash_attn_with_kvcache from the stored tensors: the client appends k_new/v_new (rotated here when the case has
    rope, within an ulp of k_new_rotated) to its copy of the cache, checks the stored updated caches are exactly that,
    and recomputes attention over [cache_leftpad, cache_seqlens + new). Returns the NumPy naive error."""
    t = rounder(dtype)
    q = tensors["q"].astype(np.float64)
    b_ = q.shape[0]
    lengths = tensors["cache_seqlens"].astype(int)
    new = tensors["k_new"].shape[2]
    idx = tensors["cache_batch_idx"].astype(int) if "cache_batch_idx" in tensors else np.arange(b_)
    check(("cache_batch_idx" in tensors) == ("cache_batch_idx" in spec), f"{name}: cache_batch_idx stored exactly when given")
    kn, vn = tensors["k_new"].astype(np.float64), tensors["v_new"].astype(np.float64)
    naive_q, naive_kn = q, kn
    if "rope_layout" in spec:
        origin = spec.get("cache_leftpad", [0] * b_) if spec.get("rope_positions") == "from-first-token" else [0] * b_
        qp = [np.maximum(0, np.arange(q.shape[2]) + lengths[b] + new - q.shape[2] - origin[b]) for b in range(b_)]
        kp = [np.maximum(0, lengths[b] + np.arange(new) - origin[b]) for b in range(b_)]
        check(np.array_equal(tensors["q_positions"], np.array(qp)) and np.array_equal(tensors["k_new_positions"], np.array(kp)),
              f"{name}: rotary positions of q and the new keys")
        unit = {"bf16": 2.0 ** -7, "f16": 2.0 ** -10, "f32": 2.0 ** -23}[dtype]
        for label, x, pos in (("q", q, qp), ("k_new", kn, kp)):
            ours = rope_rotate(x, spec, pos)
            check(np.all(np.abs(tensors[f"{label}_rotated"].astype(np.float64) - ours) <= unit * np.abs(ours) + 1e-30),
                  f"{name}: {label}_rotated is the rotation rounded once (within an ulp)")
        naive_q = rope_rotate(q, spec, qp, cos_sin=lambda a: (t(np.cos(a)), t(np.sin(a))), naive=t)
        naive_kn = rope_rotate(kn, spec, kp, cos_sin=lambda a: (t(np.cos(a)), t(np.sin(a))), naive=t)
        q, kn = tensors["q_rotated"].astype(np.float64), tensors["k_new_rotated"].astype(np.float64)

    def rows_of(cache):
        """(rows or pages view) -> per batch element (B, H, cap, D) dense rows, and a function writing one token."""
        if "block_table" in tensors:
            table = tensors["block_table"].astype(int)
            ps = cache.shape[1]
            dense = np.stack([np.concatenate([cache[p] for p in table[b]], axis=0).transpose(1, 0, 2) for b in range(b_)])
            return dense
        return cache[idx]

    def update(cache, new_values):
        out = cache.astype(np.float64).copy()
        for b in range(b_):
            for s in range(new):
                slot = lengths[b] + s
                if "block_table" in tensors:
                    ps = cache.shape[1]
                    out[tensors["block_table"][b][slot // ps], slot % ps] = new_values[b, :, s]
                else:
                    out[idx[b], :, slot] = new_values[b, :, s]
        return out

    k_up, v_up = update(tensors["k_cache"], kn), update(tensors["v_cache"], vn)
    check(np.array_equal(k_up, tensors["k_cache_updated"].astype(np.float64))
          and np.array_equal(v_up, tensors["v_cache_updated"].astype(np.float64)),
          f"{name}: the updated caches are the old ones with the new tokens written")
    after = dict(spec, cache_seqlens=[int(x) + new for x in lengths])
    out, lse = attention(q, rows_of(k_up), rows_of(v_up), after)
    check(rel(tensors["out"], out) <= 1e-12 and rel(tensors["lse"], lse) <= 1e-12, f"{name}: kvcache out/lse vs NumPy f64")
    return naive_error(naive_q, rows_of(update(tensors["k_cache"], naive_kn)), rows_of(v_up), after, dtype, out)


def check_mla_naive(name, tensors, spec, meta, dtype):
    """MLA's naive form from the stored q_nope, q_pe, c_kv, k_pe, w_uk, w_uv: per-head k = [w_uk c | k_pe], v = w_uv c,
    attention; the absorbed form (q_absorbed = [w_uk^T q_nope | q_pe] against [c | k_pe], values c) gives out_latent,
    and w_uv out_latent equals out. Returns the NumPy emulation's naive error (projections in f32, rounded)."""
    qn, qp, c, kp, wk, wv = (tensors[n].astype(np.float64) for n in ("q_nope", "q_pe", "c_kv", "k_pe", "w_uk", "w_uv"))
    b_, h, sq, n = qn.shape
    k = np.concatenate([np.einsum("hnl,bjl->bhjn", wk, c), np.broadcast_to(kp[:, None], (b_, h) + kp.shape[1:])], axis=-1)
    v = np.einsum("hdl,bjl->bhjd", wv, c)
    q = np.concatenate([qn, qp], axis=-1)
    out, lse = attention(q, k, v, spec)
    check(rel(tensors["out"], out) <= 1e-12 and rel(tensors["lse"], lse) <= 1e-12, f"{name}: MLA naive out/lse vs NumPy f64")
    q_abs = np.concatenate([np.einsum("bhsn,hnl->bhsl", qn, wk), qp], axis=-1)
    cache = np.concatenate([c, kp], axis=-1)[:, None]
    out_latent, lse_latent = attention(q_abs, cache, c[:, None], spec)
    check(rel(tensors["q_absorbed"], q_abs) <= 1e-12, f"{name}: q_absorbed vs NumPy f64")
    check(rel(tensors["out_latent"], out_latent) <= 1e-12 and rel(lse_latent, lse) <= 1e-12,
          f"{name}: absorbed form's latent output and lse vs NumPy f64")
    check(rel(np.einsum("hdl,bhsl->bhsd", wv, out_latent), out) <= 1e-12, f"{name}: w_uv out_latent equals the naive out")
    t = rounder(dtype)
    def f32(w, x):
        """(sk, rows): each row of w (rows, l) dotted with each token of x (sk, l), accumulated in f32 in order."""
        prods = w.astype(np.float32)[None, :, :] * x.astype(np.float32)[:, None, :]
        return np.cumsum(prods, axis=-1, dtype=np.float32)[..., -1]
    k_t = np.concatenate([t(np.stack([np.stack([f32(wk[hh], c[bb]) for hh in range(h)]) for bb in range(b_)])),
                          np.broadcast_to(kp[:, None], (b_, h) + kp.shape[1:])], axis=-1)
    v_t = t(np.stack([np.stack([f32(wv[hh], c[bb]) for hh in range(h)]) for bb in range(b_)]))
    # The per-head q, k, v a framework that projects first hands its kernel: q exactly [q_nope | q_pe], k and v the
    # f32-accumulated projections rounded (within an ulp of the exact ones here: NumPy's order may differ at ties).
    check(np.array_equal(tensors["q"].astype(np.float64), q), f"{name}: stored q is [q_nope | q_pe]")
    unit = {"bf16": 2.0 ** -7, "f16": 2.0 ** -10, "f32": 2.0 ** -23}[dtype]
    for label, stored, exact in (("k", tensors["k"], k), ("v", tensors["v"], v)):
        check(np.all(np.abs(stored.astype(np.float64) - exact) <= 2 * unit * np.abs(exact) + 1e-30),
              f"{name}: stored {label} is the projection rounded to {dtype} (within an ulp and a half)")
    if "do" in tensors:
        # The backward: NumPy's own attention gradients of the exact per-head tensors, then the chain rule through
        # the projections (dk_pe sums the heads: the rope key is shared).
        do = tensors["do"].astype(np.float64)
        dq, dk, dvv, _ = gradients(q, k, v, do, spec)
        check(rel(tensors["dq"], dq) <= 1e-12 and rel(tensors["dk"], dk) <= 1e-12 and rel(tensors["dv"], dvv) <= 1e-12,
              f"{name}: MLA dq, dk, dv of the per-head tensors vs NumPy f64")
        ours = {
            "dq_nope": dq[..., :n], "dq_pe": dq[..., n:], "dk_pe": dk[..., n:].sum(axis=1),
            "dc_kv": np.einsum("bhjn,hnl->bjl", dk[..., :n], wk) + np.einsum("bhjd,hdl->bjl", dvv, wv),
            "dw_uk": np.einsum("bhjn,bjl->hnl", dk[..., :n], c), "dw_uv": np.einsum("bhjd,bjl->hdl", dvv, c),
        }
        for label, want in ours.items():
            check(rel(tensors[label], want) <= 1e-12, f"{name}: MLA {label} vs NumPy's chain rule ({rel(tensors[label], want):.2e})")
            check(float(meta[f"tolerance.{label}.atol"]) > 0, f"{name}: {label} has a tolerance")
    return naive_error(q, k_t.astype(np.float64), v_t.astype(np.float64), spec, dtype, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", required=True)
    args = ap.parse_args()
    manifest = load_manifest(args.golden)
    check(manifest.get("layout") == "bhsd" and manifest.get("lse_base") == "e", "manifest layout/lse base")
    for entry in manifest["cases"]:
        tensors, meta, spec = load_case(args.golden, entry)
        name = entry["name"]
        want_dtype = {"bf16": ml_dtypes.bfloat16, "f16": np.float16, "f32": np.float32}[entry["dtype"]]
        check(float(meta["tolerance.out.atol"]) == entry["out_atol"], f"{name}: manifest tolerance matches metadata")
        check(np.array_equal(tensors["out"].astype(np.float32), tensors["out_f32"]), f"{name}: out_f32 is out rounded once")
        layout = spec.get("layout", "dense")
        if "dropout_p" in spec:
            check(all(tensors[n].dtype == {"bf16": ml_dtypes.bfloat16, "f16": np.float16, "f32": np.float32}[entry["dtype"]] for n in "qkv"), f"{name}: inputs in {entry['dtype']}")
            check(("dq_atol" in entry) == ("do" in tensors), f"{name}: gradient tolerances exactly with do")
            check_dropout(name, tensors, spec, meta, entry)
            continue
        if "kv_fp8" in spec:
            check(meta.get("input_dtype") == entry.get("input_dtype") and "code x scale" in meta["golden"], f"{name}: metadata names the FP8 cache")
            check_fp8_kvcache(name, tensors, spec, meta, entry)
            continue
        if "fp8" in spec:
            check(meta.get("input_dtype") == entry.get("input_dtype") and "fp8 x descale" in meta["golden"], f"{name}: metadata names the FP8 inputs")
            check_fp8(name, tensors, spec, meta, entry)
            continue
        if layout == "merge":
            check(meta.get("layout") == "merge", f"{name}: metadata layout merge")
            check_merge(name, tensors, spec, meta)
            continue
        check(all(tensors[n].dtype == want_dtype for n in "qkv" if n in tensors), f"{name}: inputs stored as {entry['dtype']}")
        if layout == "kvcache":
            check("flash_attn_with_kvcache" in meta.get("kvcache", ""), f"{name}: metadata describes the update")
            ours = check_kvcache(name, tensors, spec, meta, entry["dtype"])
            recorded = float(meta["tolerance.out.naive_max_abs_error"])
            check(recorded == 0 and ours < 1e-6 or 0.5 <= (ours + 1e-300) / (recorded + 1e-300) <= 2,
                  f"{name}: naive error recorded {recorded:.3e} vs NumPy {ours:.3e}")
            for cache in ("k_cache_updated", "v_cache_updated"):
                check(float(meta[f"tolerance.{cache}.atol"]) == entry[f"{cache}_atol"] > 0, f"{name}: {cache} tolerance in the manifest")
            continue
        if spec.get("mla") == "naive":
            check("naive form" in meta.get("mla", ""), f"{name}: metadata names the MLA form")
            ours = check_mla_naive(name, tensors, spec, meta, entry["dtype"])
            recorded = float(meta["tolerance.out.naive_max_abs_error"])
            check(0.5 <= (ours + 1e-300) / (recorded + 1e-300) <= 2, f"{name}: naive error recorded {recorded:.3e} vs NumPy {ours:.3e}")
            continue
        if spec.get("mla") == "absorbed":
            check("absorbed form" in meta.get("mla", ""), f"{name}: metadata names the MLA form")
            latent = spec["value_dim"]
            if "k" in tensors:
                check(np.array_equal(tensors["v"], tensors["k"][..., :latent]), f"{name}: v is the latent cache's first {latent}")
            else:
                kc, vc = tensors["k_cache"], tensors["v_cache"]
                check(np.array_equal(vc, kc[..., :latent], equal_nan=True), f"{name}: v_cache is k_cache's first {latent}")
        if layout == "varlen":
            check(meta.get("layout") == "varlen" and meta.get("lse_base") == "e", f"{name}: metadata layout varlen")
            ours = check_varlen(name, tensors, spec, entry["dtype"])
            recorded = float(meta["tolerance.out.naive_max_abs_error"])
            check(0.5 <= (ours + 1e-300) / (recorded + 1e-300) <= 2, f"{name}: naive error recorded {recorded:.3e} vs NumPy {ours:.3e}")
            continue
        check(meta.get("layout") == "bhsd" and meta.get("lse_base") == "e" and "generator" in meta, f"{name}: metadata")
        if "_mask" in spec:
            # Sparse (issue 27): the layout's own mask (rebuilt by the reader) is the stored dense mask; partial blocks
            # and an empty block row are present where the case has blocks.
            stored = tensors["mask"]
            check(stored.dtype == np.bool_ and np.array_equal(stored, spec["_mask"]), f"{name}: the dense mask is the layout's")
            check("sparse" in meta, f"{name}: metadata describes the layout")
            if "bsr_indptr" in tensors or "kv_num_blocks" in tensors:
                r, c = ((int(x) for x in tensors["bsr_block_size"]) if "bsr_indptr" in tensors
                        else (int(tensors["q_block_size"][0]), int(tensors["kv_block_size"][0])))
                check(spec["seq_q"] % r != 0 or spec["seq_k"] % c != 0 or spec["seq_q"] < r, f"{name}: a partial block")
                check(not stored[..., min(r, spec["seq_q"] - 1), :].any(), f"{name}: block row 1 is empty")
        q = tensors["q"].astype(np.float64)
        if layout == "paged":
            check("k" not in tensors and tensors["k_cache"].dtype == want_dtype, f"{name}: K/V only as pages, in {entry['dtype']}")
            k, v, nan_ok, csr_ok, shuffled = gather_pages(tensors, spec)
            check(nan_ok, f"{name}: used slots finite, every unused slot and page NaN")
            check(csr_ok, f"{name}: kv_indptr/kv_indices/kv_last_page_len match the block table")
            check(shuffled or len(spec["cache_seqlens"]) == 1 and spec["cache_seqlens"][0] <= spec["page_size"], f"{name}: pages shuffled")
        else:
            k, v = (tensors[n].astype(np.float64) for n in "kv")
        sinks = tensors.get("sinks")
        check(("sinks" in spec) == (sinks is not None), f"{name}: the file holds sinks exactly when the case has them")
        if sinks is not None:
            check(sinks.dtype == want_dtype and "lse includes it" in meta.get("sinks", ""), f"{name}: sinks stored, convention named")
            check(np.array_equal(sinks.astype(np.float64), rounder(entry["dtype"])(spec["sinks"]).astype(np.float64)),
                  f"{name}: sinks are the case's logits rounded once")
            sinks = sinks.astype(np.float64)
            keys_only = attention(q, k, v, spec)[1]
            check(rel(tensors["lse_without_sink"], keys_only) <= 1e-12, f"{name}: lse_without_sink vs NumPy f64")
        naive_qk = (q, k)
        if "rope_layout" in spec:
            # The rotation recomputed here (NumPy's cos/sin, its own frequencies and positions); attention runs on the
            # stored rotated q and k (the exact inputs, rounded once), which must be this rotation to within an ulp.
            qp, kp = zip(*(rope_positions(spec, b) for b in range(q.shape[0])))
            check(np.array_equal(tensors["q_positions"], np.array(qp)) and np.array_equal(tensors["k_positions"], np.array(kp)),
                  f"{name}: rotary positions follow rope_positions")
            t = rounder(entry["dtype"])
            for label, x, pos in (("q", q, qp), ("k", k, kp)):
                ours = rope_rotate(x, spec, pos)
                stored = tensors[f"{label}_rotated"].astype(np.float64)
                if layout == "paged" and label == "k":  # slots past a row's length are not in the pages
                    used = (np.arange(ours.shape[2])[None, :] < np.array(spec["cache_seqlens"])[:, None])[:, None, :, None]
                    ours, stored = np.where(used, ours, 0.0), np.where(used, stored, 0.0)
                ulp = {"bf16": 2.0 ** -7, "f16": 2.0 ** -10, "f32": 2.0 ** -23}[entry["dtype"]] * np.abs(ours) \
                    + {"bf16": 2.0 ** -133, "f16": 2.0 ** -24, "f32": 2.0 ** -149}[entry["dtype"]]
                check(np.all(np.abs(stored - ours) <= ulp + 1e-30) and tensors[f"{label}_rotated"].dtype == want_dtype,
                      f"{name}: {label}_rotated is the rotation rounded once (within an ulp)")
                check(np.mean(stored == t(ours)) > 0.99, f"{name}: {label}_rotated equals NumPy's rotation rounded, but at ties")
            angle_pos = np.arange(tensors["rotary_cos"].shape[0], dtype=np.float64)
            freq = rope_rotate.__globals__["rope_inverse_frequencies"](spec, q.shape[-1])
            check(rel(tensors["rotary_cos"], np.cos(angle_pos[:, None] * freq)) <= 1e-7
                  and rel(tensors["rotary_sin"], np.sin(angle_pos[:, None] * freq)) <= 1e-7, f"{name}: rotary cos/sin tables")
            # The naive pipeline's rotation in the dtype (cos, sin, products and sums rounded).
            def naive_rotate(x, pos):
                return rope_rotate(x, spec, pos, cos_sin=lambda a: (t(np.cos(a)), t(np.sin(a))), naive=t)
            naive_qk = (naive_rotate(q, qp), naive_rotate(k, kp))
            unrotated = (q, k)
            q, k = tensors["q_rotated"].astype(np.float64), tensors["k_rotated"].astype(np.float64)
        out, lse = attention(q, k, v, spec, sinks=sinks)
        check(rel(tensors["out"], out) <= 1e-12, f"{name}: out vs NumPy f64 ({rel(tensors['out'], out):.2e})")
        check(rel(tensors["lse"], lse) <= 1e-12, f"{name}: lse vs NumPy f64 ({rel(tensors['lse'], lse):.2e})")
        check(np.array_equal(tensors["lse"].astype(np.float32), tensors["lse_f32"]), f"{name}: lse_f32 is lse rounded once")
        ours = naive_error(*naive_qk, v, spec, entry["dtype"], out, sinks=sinks) if "rope_layout" in spec \
            else naive_error(q, k, v, spec, entry["dtype"], out, sinks=sinks)
        recorded = float(meta["tolerance.out.naive_max_abs_error"])
        check(recorded == 0 and ours < 1e-6 or 0.5 <= (ours + 1e-300) / (recorded + 1e-300) <= 2,
              f"{name}: naive error recorded {recorded:.3e} vs NumPy emulation {ours:.3e}")
        backward = "dq_atol" in entry
        check(backward == ("do" in tensors), f"{name}: the manifest has gradient tolerances exactly when the file has do")
        if backward:
            check(tensors["do"].dtype == want_dtype, f"{name}: do stored as {entry['dtype']}")
            do = tensors["do"].astype(np.float64)
            dlse = tensors["dlse"].astype(np.float64) if "dlse" in tensors else None
            check((dlse is not None) == bool(spec.get("dlse")), f"{name}: dlse stored exactly when the case asks for it")
            names = ("dq", "dk", "dv") + (("dsinks",) if sinks is not None else ())
            check(("dsinks" in tensors) == (sinks is not None), f"{name}: dsinks exactly when the case has sinks")
            grads = list(gradients(q, k, v, do, spec, sinks=sinks, dlse=dlse))
            if "rope_layout" in spec:  # gradients of the unrotated q and k: the rotation's transpose
                grads[0] = rope_rotate(grads[0], spec, qp, inverse=True)
                grads[1] = rope_rotate(grads[1], spec, kp, inverse=True)
            for g_name, g in zip(names, grads):
                check(rel(tensors[g_name], g) <= 1e-12, f"{name}: {g_name} vs NumPy f64 ({rel(tensors[g_name], g):.2e})")
                check(np.array_equal(tensors[g_name].astype(np.float32), tensors[g_name + "_f32"]),
                      f"{name}: {g_name}_f32 is {g_name} rounded once")
                check(float(meta[f"tolerance.{g_name}.atol"]) == entry[f"{g_name}_atol"] > 0,
                      f"{name}: manifest {g_name} tolerance matches metadata")
        for p in spec.get("splits", []):
            if backward:
                for i, span in enumerate(even_shards(k.shape[2], p)):
                    for g_name, g in zip(("dq", "dk", "dv"), gradients(q, k, v, do, spec, keys=span, sinks=sinks, dlse=dlse)):
                        got = tensors[f"tree.p{p}.shard{i}.{g_name}"]
                        check(rel(got, g) <= 1e-12, f"{name}: p={p} shard {i} {g_name}")
            parts = [attention(q, k, v, spec, keys=span) for span in even_shards(k.shape[2], p)]
            for i, (o_s, l_s) in enumerate(parts):
                check(rel(tensors[f"tree.p{p}.shard{i}.out"], o_s) <= 1e-12 and rel(tensors[f"tree.p{p}.shard{i}.lse"], l_s) <= 1e-12,
                      f"{name}: p={p} shard {i}")
            level, nodes = 1, parts
            while len(nodes) > 1:  # binary: pairs left to right, odd node carried up
                nodes = [merge(nodes[n:n + 2]) if n + 1 < len(nodes) else nodes[n] for n in range(0, len(nodes), 2)]
                for n, (o_n, l_n) in enumerate(nodes):
                    check(rel(tensors[f"tree.p{p}.level{level}.node{n}.out"], o_n) <= 1e-12
                          and rel(tensors[f"tree.p{p}.level{level}.node{n}.lse"], l_n) <= 1e-12, f"{name}: p={p} level {level} node {n}")
                level += 1
            check(f"tree.p{p}.level{level}.node0.out" not in tensors, f"{name}: p={p} has no extra levels")
    print(f"{RESULTS['pass']} passed, {len(RESULTS['fail'])} failed")
    return 1 if RESULTS["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
