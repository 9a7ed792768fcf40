#!/usr/bin/env python3
"""Independent cross-check of `treeattn attention` (issue 2).

Runs the Swift CLI on seeded inputs with many option combinations, reads every file it wrote with NumPy's own
.npy reader and the `safetensors` package (no code shared with the Swift side), recomputes attention in NumPy f64
and a handful of rows in mpmath at 50 significant digits, and checks:
  * Swift f64 vs mpmath: relative error <= 1e-13 (scaled by max(1, |value|));
  * Swift f64 vs NumPy f64: <= 1e-12;  Swift f32 vs mpmath: <= 2e-5;
  * tree / ring / Algorithm 3 reductions equal exact attention within 1e-12 and every tree level in the
    .safetensors output is attention over that node's keys;
  * fully masked rows are exactly (0, -inf), or (0, sink) with sinks;
  * sinks (one logit per query head in the denominator, value 0) and StreamingLLM sink tokens, left padding,
    chunked local attention, rotary embeddings (rotated in mpmath), and an MLA golden in both forms (issue 25).
Exit status 0 when every check passes; prints 'N passed, N failed'.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import mpmath
import numpy as np

mpmath.mp.dps = 50
FAILS = []
PASSES = [0]


def check(cond, what):
    if cond:
        PASSES[0] += 1
    else:
        FAILS.append(what)
        print("FAIL:", what)


def rel_err(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    inf_mismatch = np.any(np.isinf(want) != np.isinf(got)) or np.any(want[np.isinf(want)] != got[np.isinf(want)])
    if inf_mismatch:
        return float("inf")
    fin = np.isfinite(want)
    if not fin.any():
        return 0.0
    scale = max(1.0, float(np.max(np.abs(want[fin]))))
    return float(np.max(np.abs(got[fin] - want[fin]))) / scale


def visible(opts, b, i, j, sq, sk):
    """Mask rules written from docs/reference-semantics.md."""
    skb = opts.get("seqlens", [sk] * (b + 1))[b]
    pad = opts.get("leftpad", [0] * (b + 1))[b]
    if j >= skb or j < pad:
        return False
    causal = opts.get("causal", "none")
    if causal == "top-left" and j - pad > i:
        return False
    if "chunk" in opts:  # the query's chunk of keys, counted from the first valid key (attention_chunk)
        p = i + skb - sq - pad
        start = pad + (p // opts["chunk"]) * opts["chunk"]
        if j < start or j >= start + opts["chunk"]:
            return False
    if causal == "bottom-right" and j > i + skb - sq:
        return False
    # StreamingLLM sink tokens: the first sink_tokens keys stay visible whatever the window.
    if "window" in opts and j >= opts.get("sink_tokens", 0):
        left, right = opts["window"]
        if left >= 0 and j < i + skb - sq - left:
            return False
        if right >= 0 and j > i + skb - sq + right:
            return False
    return True


def inverse_frequencies(opts, d, mp=False):
    """theta^(-2i/r), Llama 3.1's scaling when asked; in mpmath with mp."""
    r = opts.get("rotary_dim", d)
    theta = mpmath.mpf(opts.get("theta", 10000)) if mp else float(opts.get("theta", 10000))
    out = []
    for i in range(r // 2):
        f = theta ** (-mpmath.mpf(2 * i) / r) if mp else theta ** (-2 * i / r)
        if opts.get("llama3"):
            wavelength = 2 * (mpmath.pi if mp else np.pi) / f
            if wavelength > 8192:
                f = f / 8
            elif wavelength >= 2048:
                smooth = (8192 / wavelength - 1) / 3
                f = (1 - smooth) * f / 8 + smooth * f
        out.append(f)
    return out


def rotated(x, opts, positions, mp=False):
    """x (B, H, S, D) rotated at positions[b][s] (NeoX halves or GPT-J pairs), in NumPy or mpmath."""
    if "rope" not in opts:
        return x
    d = x.shape[-1]
    r = opts.get("rotary_dim", d)
    freq = inverse_frequencies(opts, d, mp)
    out = np.array(x, dtype=object if mp else np.float64, copy=True)
    for b in range(x.shape[0]):
        for h in range(x.shape[1]):
            for s in range(x.shape[2]):
                for i in range(r // 2):
                    ia, ib = (i, i + r // 2) if opts["rope"] == "neox" else (2 * i, 2 * i + 1)
                    angle = positions[b][s] * freq[i]
                    c, sn = (mpmath.cos(angle), mpmath.sin(angle)) if mp else (np.cos(angle), np.sin(angle))
                    a, bb = (mpmath.mpf(float(x[b, h, s, ia])), mpmath.mpf(float(x[b, h, s, ib]))) if mp else (x[b, h, s, ia], x[b, h, s, ib])
                    out[b, h, s, ia] = a * c - bb * sn
                    out[b, h, s, ib] = bb * c + a * sn
    return out


def rope_positions(opts, b_, sq, sk):
    """Absolute positions (flash_attn_with_kvcache): key j at j, query i at i + the row's valid keys - Sq."""
    ends = opts.get("seqlens", [sk] * b_)
    return [[max(0, i + ends[b] - sq) for i in range(sq)] for b in range(b_)], [list(range(sk))] * b_


def numpy_attention(q, k, v, opts, keys=None):
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    scale = opts.get("scale", 1.0 / np.sqrt(d))
    out = np.zeros((b_, hq, sq, dv))
    lse = np.full((b_, hq, sq), -np.inf)
    lo, hi = keys if keys else (0, sk)
    qpos, kpos = rope_positions(opts, b_, sq, sk)
    q, k = rotated(q, opts, qpos), rotated(k, opts, kpos)
    for b in range(b_):
        for h in range(hq):
            kvh = h // (hq // hkv)
            s = scale * (q[b, h] @ k[b, kvh].T)
            if "softcap" in opts:
                c = opts["softcap"]
                s = c * np.tanh(s / c)
            for i in range(sq):
                allowed = [j for j in range(lo, hi) if visible(opts, b, i, j, sq, sk)]
                # A sink (gpt-oss) is one more logit in the denominator with value 0; over a key range it is left out.
                sink = [opts["sinks"][h]] if "sinks" in opts and keys is None else []
                if not allowed and not sink:
                    continue
                row = np.concatenate([s[i, allowed], sink])
                m = row.max()
                w = np.exp(row - m)
                lse[b, h, i] = m + np.log(w.sum())
                out[b, h, i] = (w[:len(allowed), None] * v[b, kvh][allowed]).sum(0) / w.sum()
    return out, lse


def mpmath_row(q, k, v, opts, b, h, i):
    _, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    kvh = h // (hq // hkv)
    scale = mpmath.mpf(opts["scale"]) if "scale" in opts else 1 / mpmath.sqrt(d)
    qrow = [mpmath.mpf(float(q[b, h, i, c])) for c in range(d)]
    krows = [[mpmath.mpf(float(k[b, kvh, j, c])) for c in range(d)] for j in range(sk)]
    if "rope" in opts:  # rotated at 50 digits (mpmath's cos and sin)
        qpos, kpos = rope_positions(opts, q.shape[0], sq, sk)
        qrow = list(rotated(q[b:b + 1, h:h + 1, i:i + 1], opts, [[qpos[b][i]]], mp=True)[0, 0, 0])
        krows = [list(row) for row in rotated(k[b:b + 1, kvh:kvh + 1], opts, [kpos[b]], mp=True)[0, 0]]
    scores = []
    for j in range(sk):
        if not visible(opts, b, i, j, sq, sk):
            continue
        s = scale * mpmath.fsum(qrow[c] * krows[j][c] for c in range(d))
        if "softcap" in opts:
            s = opts["softcap"] * mpmath.tanh(s / opts["softcap"])
        scores.append((j, s))
    sink = [mpmath.mpf(opts["sinks"][h])] if "sinks" in opts else []
    if not scores and not sink:
        return np.zeros(dv), -np.inf
    m = max([s for _, s in scores] + sink)
    w = [(j, mpmath.exp(s - m)) for j, s in scores]
    total = mpmath.fsum([x for _, x in w] + [mpmath.exp(z - m) for z in sink])
    o = [float(mpmath.fsum(x * mpmath.mpf(float(v[b, kvh, j, c])) for j, x in w) / total) for c in range(dv)]
    return np.array(o), float(m + mpmath.log(total))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r


def flags(opts):
    f = []
    if "scale" in opts:
        f += ["--scale", repr(opts["scale"])]
    if "causal" in opts:
        f += ["--causal", opts["causal"]]
    if "window" in opts:
        f += ["--window", "%d,%d" % tuple(opts["window"])]
    if "softcap" in opts:
        f += ["--softcap", repr(opts["softcap"])]
    if "seqlens" in opts:
        f += ["--cache-seqlens", ",".join(map(str, opts["seqlens"]))]
    if "sinks" in opts:
        f += ["--sinks=" + ",".join(map(repr, opts["sinks"]))]
    if "sink_tokens" in opts:
        f += ["--sink-tokens", str(opts["sink_tokens"])]
    if "leftpad" in opts:
        f += ["--cache-leftpad", ",".join(map(str, opts["leftpad"]))]
    if "chunk" in opts:
        f += ["--attention-chunk", str(opts["chunk"])]
    if "rope" in opts:
        f += ["--rope", opts["rope"], "--rope-theta", repr(float(opts.get("theta", 10000)))]
        if "rotary_dim" in opts:
            f += ["--rotary-dim", str(opts["rotary_dim"])]
        if opts.get("llama3"):
            f += ["--rope-scaling", "llama3"]
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--treeattn", required=True, help="path of the treeattn binary")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="treeattn-oracle-")
    os.makedirs(work, exist_ok=True)
    exe = args.treeattn

    inputs = os.path.join(work, "in")
    run([exe, "random-inputs", "--batch", "2", "--heads", "4", "--kv-heads", "2", "--seq-q", "5", "--seq-k", "37",
         "--head-dim", "16", "--value-dim", "12", "--seed", "7", "--std", "1.5", "--out", inputs])
    q, k, v = (np.load(os.path.join(inputs, n + ".npy")) for n in "qkv")
    check(q.dtype == np.float64 and q.shape == (2, 4, 5, 16) and v.shape == (2, 2, 37, 12), "random-inputs shapes")

    cases = [
        {},
        {"causal": "bottom-right"},
        {"causal": "top-left", "scale": 0.3},
        {"window": [4, 2]},
        {"softcap": 2.5},
        {"causal": "bottom-right", "seqlens": [37, 3]},
        {"causal": "bottom-right", "seqlens": [37, 0]},
        # Issue 25: sinks (one per query head; one dominates, one vanishes), alone, with a window and sink tokens,
        # and on a row with an empty cache (output 0, LSE = its sink).
        {"sinks": [0.5, -1.25, 9.0, -30.0]},
        {"causal": "bottom-right", "window": [3, 0], "sinks": [1.0, 0.0, -2.0, 3.5], "sink_tokens": 2},
        {"causal": "bottom-right", "seqlens": [37, 0], "sinks": [0.5, -1.25, 2.0, 0.25]},
        {"causal": "top-left", "window": [2, 1], "sink_tokens": 3},
        # Issue 25, part 4 and 3: left padding, chunked local attention, rotary embeddings (mpmath's cos and sin).
        {"causal": "bottom-right", "seqlens": [37, 20], "leftpad": [3, 7]},
        {"causal": "bottom-right", "chunk": 8, "leftpad": [0, 5]},
        {"causal": "bottom-right", "rope": "neox", "rotary_dim": 8, "seqlens": [37, 11]},
        {"rope": "gptj", "theta": 500000, "llama3": True},
    ]
    for n, opts in enumerate(cases):
        out, lse = os.path.join(work, f"o{n}.npy"), os.path.join(work, f"l{n}.npy")
        qkv = ["--q", inputs + "/q.npy", "--k", inputs + "/k.npy", "--v", inputs + "/v.npy"]
        run([exe, "attention", *qkv, *flags(opts), "--out", out, "--lse", lse])
        o_sw, l_sw = np.load(out), np.load(lse)
        o_np, l_np = numpy_attention(q, k, v, opts)
        check(rel_err(o_sw, o_np) <= 1e-12 and rel_err(l_sw, l_np) <= 1e-12, f"case {opts}: Swift f64 vs NumPy f64")
        for (b, h, i) in [(0, 0, 0), (1, 3, 4), (0, 2, 3), (1, 1, 0)]:
            o_mp, l_mp = mpmath_row(q, k, v, opts, b, h, i)
            check(rel_err(o_sw[b, h, i], o_mp) <= 1e-13 and rel_err([l_sw[b, h, i]], [l_mp]) <= 1e-13,
                  f"case {opts} row {(b, h, i)}: Swift f64 vs mpmath")
        if "seqlens" in opts and opts["seqlens"][1] == 0 and "sinks" not in opts:
            check(np.all(l_sw[1] == -np.inf) and np.all(o_sw[1] == 0), "empty cache rows are (0, -inf)")
        if "seqlens" in opts and opts["seqlens"][1] == 0 and "sinks" in opts:
            check(np.all(l_sw[1] == np.array(opts["sinks"])[:, None]) and np.all(o_sw[1] == 0),
                  "empty cache rows with sinks are (0, sink)")
        # f32 precision.
        out32 = os.path.join(work, f"o{n}_32.npy")
        run([exe, "attention", *qkv, *flags(opts), "--precision", "f32", "--out", out32])
        o32 = np.load(out32)
        check(o32.dtype == np.float32 and rel_err(o32, o_np) <= 2e-5, f"case {opts}: Swift f32 vs NumPy f64")

    # Element-wise masks and ALiBi through the CLI: a boolean mask (Sq, Sk), an additive mask (1, H, Sq, Sk) with -inf,
    # and ALiBi slopes; recomputed here directly from the definitions.
    rng = np.random.default_rng(5)
    bool_mask = rng.random((5, 37)) < 0.7
    additive = np.where(rng.random((1, 4, 5, 37)) < 0.2, -np.inf, rng.normal(size=(1, 4, 5, 37)))
    np.save(os.path.join(work, "bool_mask.npy"), bool_mask)
    np.save(os.path.join(work, "add_mask.npy"), additive)
    slopes = [0.5, 0.25, 0.125, 0.0625]
    qkv = ["--q", inputs + "/q.npy", "--k", inputs + "/k.npy", "--v", inputs + "/v.npy"]
    for label, extra, bias in [
        ("boolean mask", ["--mask", os.path.join(work, "bool_mask.npy")], np.where(bool_mask, 0.0, -np.inf)[None, None]),
        ("additive mask", ["--mask", os.path.join(work, "add_mask.npy")], additive),
        ("alibi", ["--alibi-slopes", ",".join(map(str, slopes))],
         -np.array(slopes)[None, :, None, None] * np.abs(np.arange(5)[:, None] + 37 - 5 - np.arange(37)[None, :])[None, None]),
    ]:
        out, lse = os.path.join(work, "m.npy"), os.path.join(work, "ml.npy")
        run([exe, "attention", *qkv, *extra, "--out", out, "--lse", lse])
        o_sw, l_sw = np.load(out), np.load(lse)
        o_np = np.zeros_like(o_sw)
        l_np = np.full(l_sw.shape, -np.inf)
        for b in range(2):
            for h in range(4):
                s = (q[b, h] @ k[b, h // 2].T) / np.sqrt(16) + np.broadcast_to(bias, (2, 4, 5, 37))[b, h]
                for i in range(5):
                    row = s[i]
                    keep = np.isfinite(row)
                    if not keep.any():
                        continue
                    m = row[keep].max()
                    w = np.exp(row[keep] - m)
                    l_np[b, h, i] = m + np.log(w.sum())
                    o_np[b, h, i] = (w[:, None] * v[b, h // 2][keep]).sum(0) / w.sum()
        check(rel_err(o_sw, o_np) <= 1e-12 and rel_err(l_sw, l_np) <= 1e-12, f"{label} through the CLI vs NumPy")

    # Reductions over shards: the safetensors output holds shard partials and every tree level.
    from safetensors.numpy import load_file
    opts = {"causal": "bottom-right"}
    o_np, l_np = numpy_attention(q, k, v, opts)
    for p, red in [(5, "binary"), (8, "kary:3"), (17, "two-level:4"), (3, "algorithm3"), (7, "ring"), (40, "binary")]:
        path = os.path.join(work, f"tree_{p}_{red.replace(':', '_')}.safetensors")
        run([exe, "attention", "--q", inputs + "/q.npy", "--k", inputs + "/k.npy", "--v", inputs + "/v.npy",
             "--causal", "bottom-right", "--shards", str(p), "--reduction", red, "--out", path])
        f = load_file(path)
        check(rel_err(f["out"], o_np) <= 1e-12 and rel_err(f["lse"], l_np) <= 1e-12, f"{red} over {p} shards == exact")
        if red in ("binary", "kary:3", "two-level:4"):
            sizes = [37 // p + (1 if s < 37 % p else 0) for s in range(p)]
            starts = np.concatenate([[0], np.cumsum(sizes)])
            spans = [(int(starts[s]), int(starts[s + 1])) for s in range(p)]
            for s, span in enumerate(spans):
                o_s, l_s = numpy_attention(q, k, v, opts, keys=span)
                check(rel_err(f[f"shard{s}.out"], o_s) <= 1e-12 and rel_err(f[f"shard{s}.lse"], l_s) <= 1e-12,
                      f"{red} p={p} shard {s} partial")
            # Rebuild the tree's key spans level by level from the tensor names.
            level = 1
            while f"level{level}.node0.out" in f:
                nodes = sorted(int(key.split(".")[1][4:]) for key in f if key.startswith(f"level{level}.") and key.endswith(".out"))
                check(nodes == list(range(len(nodes))), f"{red} level {level} node numbering")
                level += 1
            check(level > 1 or p == 1, f"{red} p={p} wrote tree levels")
            last = f"level{level - 1}.node0.out"
            check(rel_err(f[last], o_np) <= 1e-12, f"{red} p={p} root level == exact")

    # bf16 inputs stored as '<u2' bits: read independently with ml_dtypes.
    import ml_dtypes
    bf = os.path.join(work, "bf16")
    run([exe, "random-inputs", "--heads", "2", "--seq-q", "3", "--seq-k", "11", "--head-dim", "8", "--seed", "3",
         "--dtype", "bf16", "--out", bf])
    qb, kb, vb = (np.load(os.path.join(bf, n + ".npy")) for n in "qkv")
    check(qb.dtype == np.uint16, "bf16 stored as <u2 bits")
    qf, kf, vf = (x.view(ml_dtypes.bfloat16).astype(np.float64) for x in (qb, kb, vb))
    outb = os.path.join(work, "ob.npy")
    run([exe, "attention", "--q", bf + "/q.npy", "--k", bf + "/k.npy", "--v", bf + "/v.npy", "--out", outb])
    o_np, _ = numpy_attention(qf, kf, vf, {})
    check(rel_err(np.load(outb), o_np) <= 1e-12, "bf16 inputs widened exactly, computed in f64")

    # bf16 and f16 inputs are kept 16-bit and widened per tile by the kernel: f64 and f32 runs, bhsd and bshd, causal,
    # decode-sized and with a key count that leaves a partial key block, against NumPy on the widened values. f32
    # inputs of an f64 run are kept f32 and widened per tile the same way.
    for dtype, np_view in (("bf16", ml_dtypes.bfloat16), ("f16", np.float16), ("f32", np.float32)):
        hd = os.path.join(work, "half-" + dtype)
        run([exe, "random-inputs", "--batch", "2", "--heads", "4", "--kv-heads", "2", "--seq-q", "5", "--seq-k", "4099",
             "--head-dim", "16", "--seed", "5", "--dtype", dtype, "--out", hd])
        qh, kh, vh = (np.load(os.path.join(hd, n + ".npy")) for n in "qkv")
        widened = [x.view(np_view).astype(np.float64) for x in (qh, kh, vh)]
        o_half, _ = numpy_attention(*widened, {"causal": "bottom-right"})
        for precision, tol in (("f64", 1e-12), ("f32", 1e-5)):
            for layout in ("bhsd", "bshd"):
                names = []
                for n, x in zip("qkv", (qh, kh, vh)):
                    path = os.path.join(hd, f"{n}-{layout}.npy")
                    np.save(path, x if layout == "bhsd" else np.ascontiguousarray(x.transpose(0, 2, 1, 3)))
                    names.append(path)
                outh = os.path.join(work, f"oh-{dtype}-{precision}-{layout}.npy")
                run([exe, "attention", "--q", names[0], "--k", names[1], "--v", names[2], "--causal", "bottom-right",
                     "--precision", precision, "--layout", layout, "--out", outh])
                got = np.load(outh).astype(np.float64)
                if layout == "bshd":
                    got = got.transpose(0, 2, 1, 3)
                check(rel_err(got, o_half) <= tol, f"{dtype} inputs widened per tile, {precision}, {layout}")

    # Varlen (issue 13): packed sequences with cu_seqlens through the CLI, each sequence recomputed alone in NumPy
    # (its own bottom-right alignment); NaN planted in one sequence's keys and in padding rows reaches no other.
    rng = np.random.default_rng(13)
    cu_q, cu_k = [0, 4, 4, 11, 12], [0, 9, 15, 15, 30]
    qp, kp, vp = rng.normal(size=(14, 4, 8)), rng.normal(size=(32, 2, 8)), rng.normal(size=(32, 2, 6))
    opts = {"causal": "bottom-right", "window": [6, 0], "softcap": 3.0}
    want_o, want_l = np.zeros((14, 4, 6)), np.full((4, 14), -np.inf)
    for i in range(4):
        a, b, c, e = cu_q[i], cu_q[i + 1], cu_k[i], cu_k[i + 1]
        o_i, l_i = numpy_attention(qp[a:b].transpose(1, 0, 2)[None], kp[c:e].transpose(1, 0, 2)[None],
                                   vp[c:e].transpose(1, 0, 2)[None], opts)
        want_o[a:b], want_l[:, a:b] = o_i[0].transpose(1, 0, 2), l_i[0]
    for tag, (kk, vv) in {"clean": (kp, vp), "poisoned": (kp.copy(), vp.copy())}.items():
        if tag == "poisoned":
            kk[9:15] = np.nan   # sequence 1's keys (it has no queries)
            vv[30:] = np.inf    # padding rows past cu_seqlens_k[-1]
        paths = []
        for n, x in (("q", qp), ("k", kk), ("v", vv)):
            paths.append(os.path.join(work, f"varlen-{tag}-{n}.npy"))
            np.save(paths[-1], x)
        out, lse = os.path.join(work, f"varlen-{tag}-o.npy"), os.path.join(work, f"varlen-{tag}-l.npy")
        run([exe, "attention", "--q", paths[0], "--k", paths[1], "--v", paths[2], "--cu-seqlens-q", ",".join(map(str, cu_q)),
             "--cu-seqlens-k", ",".join(map(str, cu_k)), *flags(opts), "--out", out, "--lse", lse])
        o_sw, l_sw = np.load(out), np.load(lse)
        check(o_sw.shape == (14, 4, 6) and l_sw.shape == (4, 14), f"varlen {tag}: out (total_q, heads, dv), lse (heads, total_q)")
        check(rel_err(o_sw, want_o) <= 1e-12 and rel_err(l_sw, want_l) <= 1e-12, f"varlen {tag}: every sequence alone == NumPy")
        check(np.all(o_sw[12:] == 0) and np.all(l_sw[:, 12:] == -np.inf), f"varlen {tag}: padding rows are (0, -inf)")

    # MLA (issue 25) at 50 digits: a small naive case from a suite file; one row per form from the stored tensors
    # (projections, scores, softmax and the absorbed form's latent output in mpmath).
    import safetensors.numpy as stn
    suite = os.path.join(work, "mla.json")
    with open(suite, "w") as f:
        json.dump([{"name": "mla-tiny", "heads": 2, "seq_q": 2, "seq_k": 5, "head_dim": 12, "value_dim": 6,
                    "mla": "naive", "rope_dim": 4, "latent_dim": 16, "causal": "bottom-right", "seed": 3}], f)
    run([exe, "golden", "--suite", suite, "--dtype", "f32", "--out", os.path.join(work, "mla")])
    t = stn.load_file(os.path.join(work, "mla", "mla-tiny-f32.safetensors"))
    mp = lambda x: mpmath.mpf(float(x))  # noqa: E731
    scale = (mpmath.mpf("0.1") * mpmath.log(40) + 1) ** 2 / mpmath.sqrt(192)
    for h, i in [(0, 0), (1, 1)]:
        qn, qp = [mp(x) for x in t["q_nope"][0, h, i]], [mp(x) for x in t["q_pe"][0, h, i]]
        scores, values, latents = [], [], []
        for j in range(5):
            if j > i + 5 - 2:
                continue
            c = [mp(x) for x in t["c_kv"][0, j]]
            k_nope = [mpmath.fsum(mp(t["w_uk"][h, e, a]) * c[a] for a in range(16)) for e in range(8)]
            s_ = scale * (mpmath.fsum(qn[e] * k_nope[e] for e in range(8)) + mpmath.fsum(qp[e] * mp(t["k_pe"][0, j, e]) for e in range(4)))
            scores.append(s_)
            values.append([mpmath.fsum(mp(t["w_uv"][h, e, a]) * c[a] for a in range(16)) for e in range(6)])
            latents.append(c)
        m = max(scores)
        w = [mpmath.exp(x - m) for x in scores]
        tot = mpmath.fsum(w)
        o = [float(mpmath.fsum(w[n] * values[n][e] for n in range(len(w))) / tot) for e in range(6)]
        o_latent = [float(mpmath.fsum(w[n] * latents[n][a] for n in range(len(w))) / tot) for a in range(16)]
        check(rel_err(t["out"][0, h, i], o) <= 1e-13 and rel_err([t["lse"][0, h, i]], [float(m + mpmath.log(tot))]) <= 1e-13,
              f"MLA naive row {(h, i)}: golden vs mpmath")
        check(rel_err(t["out_latent"][0, h, i], o_latent) <= 1e-13, f"MLA absorbed latent row {(h, i)}: golden vs mpmath")

    print(f"{PASSES[0]} passed, {len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
