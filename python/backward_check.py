#!/usr/bin/env python3
"""Independent cross-check of `treeattn attention --backward` (issue 12).

Runs the Swift CLI on seeded inputs with the forward's options, reads what it wrote with NumPy's .npy reader and the
`safetensors` package, and recomputes the gradients of sum(dO * O) two ways that share no code with the Swift side:
  * jax.grad of a float64 attention written here (jax_enable_x64; the softmax is f64 too -- unlike
    jax.nn.dot_product_attention, which keeps its softmax in f32): Swift f64 within 1e-12 relative (scaled by
    max(1, max|value|)), Swift f32 within 2e-5;
  * mpmath at 50 digits on a small case, from the textbook formulas: Swift f64 within 1e-13;
  * sinks with an upstream LSE gradient (issue 25): dq, dk, dv and dsinks against jax.grad of sum(dO * O) +
    sum(dlse * LSE) (f64, f32, over shards), and dsinks in mpmath.
It also checks that the tree-parallel backward (--shards with every reduction) gives the same gradients and that each
shard's dq share and dk/dv slices in the .safetensors output are that shard's gradients, that bshd in/out works, and
that NaN planted in masked keys never reaches a gradient. Prints 'N passed, N failed'; exit status 0 when all pass.
"""
import argparse
import os
import sys
import tempfile

import mpmath
import numpy as np

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from oracle_check import FAILS, PASSES, check, run  # noqa: E402  (the forward check's counters and CLI runner)
from oracle_check import flags as forward_flags  # noqa: E402

jax.config.update("jax_enable_x64", True)
mpmath.mp.dps = 50


def rel_err(got, want):
    """max |got - want| / max(1, max |want|); inf for a shape mismatch or any NaN (gradients hold no infinities)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape or np.isnan(got).any() or np.isnan(want).any():
        return float("inf")
    return float(np.max(np.abs(got - want), initial=0.0)) / max(1.0, float(np.max(np.abs(want), initial=0.0)))


def visibility(opts, b_, hq, sq, sk):
    """(B, Hq, Sq, Sk) booleans from the definitions in docs/reference-semantics.md."""
    vis = np.ones((b_, hq, sq, sk), dtype=bool)
    i = np.arange(sq)[:, None]
    j = np.arange(sk)[None, :]
    for b in range(b_):
        skb = opts.get("seqlens", [sk] * b_)[b]
        m = j < skb
        diag = i + skb - sq
        if opts.get("causal") == "top-left":
            m = m & (j <= i)
        if opts.get("causal") == "bottom-right":
            m = m & (j <= diag)
        if "window" in opts:
            left, right = opts["window"]
            inside = np.ones_like(m)
            if left >= 0:
                inside = inside & (j >= diag - left)
            if right >= 0:
                inside = inside & (j <= diag + right)
            m = m & (inside | (j < opts.get("sink_tokens", 0)))  # StreamingLLM's sink tokens stay visible
        vis[b] &= m[None]
    if "mask" in opts:
        vis &= np.broadcast_to(opts["mask"], vis.shape)
    if "additive" in opts:
        vis &= np.broadcast_to(np.isfinite(opts["additive"]), vis.shape)
    return vis


def bias(opts, b_, hq, sq, sk):
    out = np.zeros((b_, hq, sq, sk))
    if "alibi" in opts:
        for b in range(b_):
            skb = opts.get("seqlens", [sk] * b_)[b]
            dist = np.abs(np.arange(sq)[:, None] + skb - sq - np.arange(sk)[None, :])
            out[b] -= np.array(opts["alibi"])[:, None, None] * dist[None]
    if "additive" in opts:
        out += np.where(np.isfinite(opts["additive"]), np.broadcast_to(opts["additive"], out.shape), 0.0)
    return out


def jax_attention(q, k, v, opts):
    """float64 attention in jax.numpy: rows that see no key give 0; masked keys never enter the sums."""
    b_, hq, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    g = hq // hkv
    vis = jnp.asarray(visibility(opts, b_, hq, sq, sk))
    add = jnp.asarray(bias(opts, b_, hq, sq, sk))
    scale = opts.get("scale", 1.0 / np.sqrt(d))
    kk, vv = jnp.repeat(k, g, axis=1), jnp.repeat(v, g, axis=1)
    s = scale * jnp.einsum("bhid,bhjd->bhij", q, kk)
    if "softcap" in opts:
        c = opts["softcap"]
        s = c * jnp.tanh(s / c)
    s = s + add
    m = jnp.max(jnp.where(vis, s, -jnp.inf), axis=-1, keepdims=True)
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    p = jnp.where(vis, jnp.exp(jnp.where(vis, s, m) - m), 0.0)
    total = jnp.sum(p, axis=-1, keepdims=True)
    safe = jnp.where(total > 0, total, 1.0)
    return jnp.einsum("bhij,bhjd->bhid", p / safe, vv)


def jax_attention_lse(q, k, v, z, opts):
    """float64 (output, LSE) with gpt-oss's sinks z (one logit per query head, value 0) as one more column."""
    b_, hq, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    g = hq // hkv
    vis = jnp.asarray(visibility(opts, b_, hq, sq, sk))
    scale = opts.get("scale", 1.0 / np.sqrt(d))
    kk, vv = jnp.repeat(k, g, axis=1), jnp.repeat(v, g, axis=1)
    s = jnp.where(vis, scale * jnp.einsum("bhid,bhjd->bhij", q, kk), -jnp.inf)
    s = jnp.concatenate([s, jnp.broadcast_to(z[None, :, None, None], (b_, hq, sq, 1))], axis=-1)
    lse = jax.nn.logsumexp(s, axis=-1)
    p = jnp.exp(s - lse[..., None])[..., :sk]
    return jnp.einsum("bhij,bhjd->bhid", p, vv), lse


def jax_sink_gradients(q, k, v, z, do, dlse, opts):
    """jax.grad of sum(do * out) + sum(dlse * lse) in q, k, v and the sinks."""
    def loss(q_, k_, v_, z_):
        o, lse = jax_attention_lse(q_, k_, v_, z_, opts)
        return jnp.sum(o * do) + jnp.sum(lse * dlse)
    return [np.asarray(x) for x in jax.grad(loss, argnums=(0, 1, 2, 3))(q, k, v, z)]


def mpmath_sink_gradient(q, k, v, z, do, dlse):
    """dsinks at 50 digits from the definition: sum over rows of p_sink (dlse - D), D = sum_j p_j (dO . v_j)."""
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    mp = lambda x: mpmath.mpf(float(x))  # noqa: E731
    out = [mpmath.mpf(0)] * hq
    for b in range(b_):
        for h in range(hq):
            kv = h // (hq // hkv)
            for i in range(sq):
                s = [mpmath.fsum(mp(q[b, h, i, c]) * mp(k[b, kv, j, c]) for c in range(d)) / mpmath.sqrt(d) for j in range(sk)]
                mx = max(s + [mp(z[h])])
                w = [mpmath.exp(x - mx) for x in s]
                tot = mpmath.fsum(w) + mpmath.exp(mp(z[h]) - mx)
                dd = mpmath.fsum(w[j] / tot * mpmath.fsum(mp(do[b, h, i, c]) * mp(v[b, kv, j, c]) for c in range(dv)) for j in range(sk))
                out[h] += mpmath.exp(mp(z[h]) - mx) / tot * (mp(dlse[b, h, i]) - dd)
    return np.array(out, dtype=np.float64)


def jax_gradients(q, k, v, do, opts):
    loss = lambda q_, k_, v_: jnp.sum(jax_attention(q_, k_, v_, opts) * do)  # noqa: E731
    return [np.asarray(x) for x in jax.grad(loss, argnums=(0, 1, 2))(q, k, v)]


def mpmath_gradients(q, k, v, do, opts):
    """Full gradients at 50 digits from P = softmax(s), dS = P (dO.v - D), for a small case."""
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    g = hq // hkv
    vis = visibility(opts, b_, hq, sq, sk)
    add = bias(opts, b_, hq, sq, sk)
    mp = lambda x: mpmath.mpf(float(x))  # noqa: E731
    scale = mpmath.mpf(opts["scale"]) if "scale" in opts else 1 / mpmath.sqrt(d)
    dq = [[[[mpmath.mpf(0)] * d for _ in range(sq)] for _ in range(hq)] for _ in range(b_)]
    dk = [[[[mpmath.mpf(0)] * d for _ in range(sk)] for _ in range(hkv)] for _ in range(b_)]
    dvv = [[[[mpmath.mpf(0)] * dv for _ in range(sk)] for _ in range(hkv)] for _ in range(b_)]
    for b in range(b_):
        for h in range(hq):
            kv = h // g
            for i in range(sq):
                keys = [j for j in range(sk) if vis[b, h, i, j]]
                if not keys:
                    continue
                t = {j: scale * mpmath.fsum(mp(q[b, h, i, c]) * mp(k[b, kv, j, c]) for c in range(d)) for j in keys}
                s = {j: (opts["softcap"] * mpmath.tanh(t[j] / opts["softcap"]) if "softcap" in opts else t[j]) + mp(add[b, h, i, j])
                     for j in keys}
                mx = max(s.values())
                w = {j: mpmath.exp(s[j] - mx) for j in keys}
                tot = mpmath.fsum(w.values())
                p = {j: w[j] / tot for j in keys}
                dov = {j: mpmath.fsum(mp(do[b, h, i, c]) * mp(v[b, kv, j, c]) for c in range(dv)) for j in keys}
                dd = mpmath.fsum(p[j] * dov[j] for j in keys)
                for j in keys:
                    ds = p[j] * (dov[j] - dd)
                    if "softcap" in opts:
                        ds *= 1 - mpmath.tanh(t[j] / opts["softcap"]) ** 2
                    for c in range(dv):
                        dvv[b][kv][j][c] += p[j] * mp(do[b, h, i, c])
                    for c in range(d):
                        dq[b][h][i][c] += scale * ds * mp(k[b, kv, j, c])
                        dk[b][kv][j][c] += scale * ds * mp(q[b, h, i, c])
    return [np.array(x, dtype=np.float64) for x in (dq, dk, dvv)]


def flags(opts, work):
    """oracle_check's option flags, plus ALiBi slopes and masks (saved as .npy files under `work`)."""
    f = forward_flags(opts)
    if "alibi" in opts:
        f += ["--alibi-slopes", ",".join(map(repr, opts["alibi"]))]
    for key in ("mask", "additive"):
        if key in opts:
            path = os.path.join(work, key + ".npy")
            np.save(path, opts[key])
            f += ["--mask", path]
    return f


def swift_backward(exe, work, q, k, v, do, opts, tag, extra=(), layout="bhsd"):
    names = []
    for n, x in zip(("q", "k", "v", "do"), (q, k, v, do)):
        path = os.path.join(work, f"{tag}-{n}.npy")
        np.save(path, x if layout == "bhsd" else np.ascontiguousarray(x.transpose(0, 2, 1, 3)))
        names.append(path)
    outs = [os.path.join(work, f"{tag}-{n}.npy") for n in ("out", "dq", "dk", "dv")]
    run([exe, "attention", "--q", names[0], "--k", names[1], "--v", names[2], "--backward", "--do", names[3],
         "--out", outs[0], "--dq", outs[1], "--dk", outs[2], "--dv", outs[3], "--layout", layout,
         *flags(opts, work), *extra])
    got = [np.load(p) for p in outs[1:]]
    return [g.transpose(0, 2, 1, 3) for g in got] if layout == "bshd" else got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--treeattn", required=True, help="path of the treeattn binary")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="treeattn-backward-")
    os.makedirs(work, exist_ok=True)
    exe = args.treeattn
    rng = np.random.default_rng(12)
    b_, hq, hkv, sq, sk, d, dv = 2, 4, 2, 5, 23, 8, 6
    q = rng.normal(size=(b_, hq, sq, d)) * 1.3
    k = rng.normal(size=(b_, hkv, sk, d)) * 1.3
    v = rng.normal(size=(b_, hkv, sk, dv))
    do = rng.normal(size=(b_, hq, sq, dv))
    mask = rng.random((sq, sk)) < 0.7
    additive = np.where(rng.random((1, hq, sq, sk)) < 0.2, -np.inf, rng.normal(size=(1, hq, sq, sk)))
    cases = [
        {},
        {"causal": "top-left"},
        {"causal": "bottom-right", "seqlens": [23, 4]},
        {"causal": "bottom-right", "seqlens": [23, 0]},
        {"window": [4, 1], "scale": 0.4},
        {"softcap": 1.7},
        {"alibi": [0.5, 0.25, 0.125, 0.0625], "causal": "bottom-right"},
        {"mask": mask},
        {"additive": additive, "softcap": 3.0},
    ]
    for n, opts in enumerate(cases):
        label = {key: ("(tensor)" if isinstance(val, np.ndarray) else val) for key, val in opts.items()}
        want = jax_gradients(q, k, v, do, opts)
        got = swift_backward(exe, work, q, k, v, do, opts, f"c{n}")
        for name, g, w in zip(("dq", "dk", "dv"), got, want):
            check(g.dtype == np.float64 and rel_err(g, w) <= 1e-12, f"{label}: Swift f64 {name} vs jax.grad f64")
        got32 = swift_backward(exe, work, q, k, v, do, opts, f"c{n}-32", extra=["--precision", "f32"])
        for name, g, w in zip(("dq", "dk", "dv"), got32, want):
            check(g.dtype == np.float32 and rel_err(g, w) <= 2e-5, f"{label}: Swift f32 {name} vs jax.grad f64")

    # bshd in and out.
    opts = {"causal": "bottom-right"}
    want = jax_gradients(q, k, v, do, opts)
    for name, g, w in zip(("dq", "dk", "dv"), swift_backward(exe, work, q, k, v, do, opts, "bshd", layout="bshd"), want):
        check(rel_err(g, w) <= 1e-12, f"bshd {name} vs jax.grad f64")

    # NaN and Inf planted in masked keys (beyond batch 1's cache length) never reach a gradient.
    opts = {"causal": "bottom-right", "seqlens": [23, 9]}
    kd, vd = k.copy(), v.copy()
    kd[1, :, 12:] = np.nan
    vd[1, :, 15:] = np.inf
    want = jax_gradients(q, k, v, do, opts)
    for name, g, w in zip(("dq", "dk", "dv"), swift_backward(exe, work, q, kd, vd, do, opts, "nan"), want):
        check(np.isfinite(g).all() and rel_err(g, w) <= 1e-12, f"NaN/Inf in masked keys: {name} finite and exact")

    # The tree-parallel backward: every reduction, p up to more shards than keys; shard shares in the .safetensors.
    from safetensors.numpy import load_file
    opts = {"causal": "bottom-right", "softcap": 2.0}
    want = jax_gradients(q, k, v, do, opts)
    for p, red in [(4, "binary"), (7, "kary:3"), (6, "two-level:2"), (5, "flat"), (3, "algorithm3"), (5, "ring"), (30, "binary")]:
        names = [os.path.join(work, f"t-{n}.npy") for n in ("q", "k", "v", "do")]
        for path, x in zip(names, (q, k, v, do)):
            np.save(path, x)
        out = os.path.join(work, f"tree-{p}-{red.replace(':', '_')}.safetensors")
        run([exe, "attention", "--q", names[0], "--k", names[1], "--v", names[2], "--backward", "--do", names[3],
             "--shards", str(p), "--reduction", red, "--out", out, *flags(opts, work)])
        f = load_file(out)
        for name, w in zip(("dq", "dk", "dv"), want):
            check(rel_err(f[name], w) <= 1e-12, f"{red} over {p} shards: {name} == jax.grad")
        sizes = [sk // p + (1 if s < sk % p else 0) for s in range(p)]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        shares = sum(f[f"shard{s}.dq"] for s in range(p))
        check(rel_err(shares, want[0]) <= 1e-12, f"{red} p={p}: the shard dq shares sum to dq")
        for s in range(p):
            lo, hi = starts[s], starts[s + 1]
            ok = f[f"shard{s}.dk"].shape[2] == hi - lo and rel_err(f[f"shard{s}.dk"], want[1][:, :, lo:hi]) <= 1e-12 \
                and rel_err(f[f"shard{s}.dv"], want[2][:, :, lo:hi]) <= 1e-12
            check(ok, f"{red} p={p} shard {s}: dk, dv are its keys' gradients")

    # Sinks and an upstream LSE gradient (issue 25): jax.grad in f64 of sum(do * out) + sum(dlse * lse) in q, k, v and
    # the sinks, against the CLI's --sinks --dlse --dsinks, exact and over shards; and dsinks in mpmath.
    z = np.array([0.5, -1.25, 2.0, 0.25])
    dlse = rng.normal(size=(b_, hq, sq))
    np.save(os.path.join(work, "dlse.npy"), dlse)
    for opts in ({"sinks": z.tolist()}, {"sinks": z.tolist(), "causal": "bottom-right", "window": [4, 0], "sink_tokens": 2}):
        want = jax_sink_gradients(q, k, v, jnp.asarray(z), do, dlse, opts)
        for extra, tol, tag in [([], 1e-12, "f64"), (["--precision", "f32"], 2e-5, "f32"),
                                (["--shards", "5", "--reduction", "binary"], 1e-12, "binary over 5 shards")]:
            ds = os.path.join(work, "dsinks.npy")
            got = swift_backward(exe, work, q, k, v, do, opts, "sink", extra=["--dlse", os.path.join(work, "dlse.npy"),
                                                                                "--dsinks", ds, *extra])
            for name, g, w in zip(("dq", "dk", "dv", "dsinks"), got + [np.load(ds)], want):
                check(rel_err(g, w) <= tol, f"sinks {opts.get('window', '')} {tag}: Swift {name} vs jax.grad f64 ({rel_err(g, w):.2e})")
    sq3, sk3 = 2, 6
    q3, k3 = rng.normal(size=(1, 2, sq3, 4)), rng.normal(size=(1, 1, sk3, 4))
    v3, do3, dlse3 = rng.normal(size=(1, 1, sk3, 3)), rng.normal(size=(1, 2, sq3, 3)), rng.normal(size=(1, 2, sq3))
    z3 = np.array([0.75, -0.5])
    np.save(os.path.join(work, "dlse3.npy"), dlse3)
    ds = os.path.join(work, "dsinks3.npy")
    swift_backward(exe, work, q3, k3, v3, do3, {"sinks": z3.tolist()}, "mp-sink",
                   extra=["--dlse", os.path.join(work, "dlse3.npy"), "--dsinks", ds])
    check(rel_err(np.load(ds), mpmath_sink_gradient(q3, k3, v3, z3, do3, dlse3)) <= 1e-13, "dsinks vs mpmath")

    # mpmath at 50 digits on a small case with every score term.
    sq2, sk2 = 3, 5
    q2, k2 = rng.normal(size=(1, 2, sq2, 3)), rng.normal(size=(1, 1, sk2, 3))
    v2, do2 = rng.normal(size=(1, 1, sk2, 2)), rng.normal(size=(1, 2, sq2, 2))
    opts = {"causal": "bottom-right", "softcap": 1.5, "alibi": [0.3, 0.7], "scale": 0.8}
    want = mpmath_gradients(q2, k2, v2, do2, opts)
    for name, g, w in zip(("dq", "dk", "dv"), swift_backward(exe, work, q2, k2, v2, do2, opts, "mp"), want):
        check(rel_err(g, w) <= 1e-13, f"MQA, softcap, ALiBi, causal: Swift f64 {name} vs mpmath")

    print(f"{PASSES[0]} passed, {len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
