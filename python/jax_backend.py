#!/usr/bin/env python3
"""A JAX backend checked by `treeattn check` (issue 3): exact attention and the paper's tree decode.

For every case of a golden folder it computes, in float32 from the quantised inputs:
  * exact attention (one jnp program), written to RESULTS/exact/<case>.safetensors;
  * Tree Attention (the paper's Algorithm 3): K/V split along the sequence over 8 devices with shard_map; each
    device computes its local (o, lse) with its keys' global positions for the masks; then pmax of lse and psum
    of the numerator and denominator; written to RESULTS/tree/<case>.safetensors.
For backward golden cases (those holding `do`) it also writes dq, dk, dv: jax.grad in float32 of sum(do * out) from
the same bf16/f16/f32 inputs, through the exact program and through the tree (the gradient of the shard_map is the
tree-parallel backward: each device's dK, dV and dQ share, the shares summed by psum's transpose).
Varlen, paged and merge cases (issue 13) go to RESULTS/exact only: varlen runs each packed sequence alone (its own
causal alignment); paged gathers K/V through the block table (NHD or HND pages) and zeroes every position past a row's
length before the products, so the NaN in unused slots and pages never reaches the output; merge merges the stored
(v, s) states in their LSE base and writes FlashInfer's names v_merged, s_merged.
On a machine without accelerators it uses 8 host CPU devices (XLA_FLAGS=--xla_force_host_platform_device_count=8);
on CUDA devices it uses up to 8 of them. Outputs are bhsd, LSE natural log.
Sinks (issue 25): the stored per-head logits are merged once into each result (after the tree's all-reduces), and
the backward differentiates sum(do * out) + sum(dlse * lse) in q, k, v and the sinks (dsinks); sink tokens follow
from the visibility mask. MLA (issue 25): absorbed cases are plain MQA over the latent cache (d 576, values its
first 512) with DeepSeek-V3's scale; naive cases project the latent cache per head in f32 first. Rope cases rotate the
unrotated q and k in f32 at the file's positions inside each program (paged caches on the fly).
FP8 (issue 27): the exact and tree programs run on code x descale in f32; FlashAttention 3's FP8 pipeline (S from the
codes, P rounded to float8_e4m3fn before P.V, out in bfloat16) writes RESULTS/fp8/<case>.safetensors with metadata
p_rounding fp8. FP8 KV caches run on code x scale in f32 (dense through both programs, pages through the exact one).
Sparse cases (document ids, flex_attention's BlockMask, FlashInfer's BSR) add the mask their layout means (rebuilt by
golden_common from the layout tensors) to the score bias of both programs.
"""
import argparse
import os
import sys

if "cuda" not in os.environ.get("JAX_PLATFORMS", ""):
    os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, PartitionSpec as P  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

from golden_common import (alibi_bias, head_mask, load_case, load_manifest, rope_inverse_frequencies, softmax_scale,  # noqa: E402
                           visibility)

jax.config.update("jax_default_matmul_precision", "highest")  # no TF32 on GPUs


def score_bias(spec, b_, hq, sq, sk):
    """(b, hq, sq, sk) additive term: 0 where visible (plus ALiBi), -inf where masked."""
    bias = np.zeros((b_, hq, sq, sk), np.float32)
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        for h in range(hq):
            bias[b, h] = np.where(vis & head_mask(spec, b, h), alibi_bias(spec, b, h, sq, sk), -np.inf)
    return bias


def local_attention(q, k, v, bias, spec):
    """(o, lse) over the given keys; rows that see no key give (0, -inf)."""
    hq, hkv = q.shape[1], k.shape[1]
    k = jnp.repeat(k, hq // hkv, axis=1)
    v = jnp.repeat(v, hq // hkv, axis=1)
    scale = softmax_scale(spec, q.shape[-1])
    s = jnp.einsum("bhqd,bhkd->bhqk", q, k) * scale
    if "softcap" in spec:
        s = spec["softcap"] * jnp.tanh(s / spec["softcap"])
    s = s + bias
    m = jnp.max(s, axis=-1)
    m_safe = jnp.where(jnp.isfinite(m), m, 0.0)
    w = jnp.exp(s - m_safe[..., None])
    tot = jnp.sum(w, axis=-1)
    o = jnp.einsum("bhqk,bhkd->bhqd", w, v) / jnp.where(tot > 0, tot, 1.0)[..., None]
    lse = jnp.where(tot > 0, m_safe + jnp.log(jnp.where(tot > 0, tot, 1.0)), -jnp.inf)
    return o, lse


def with_sinks(o, lse, sinks):
    """gpt-oss's sinks (one logit per query head, value 0) merged once into a result: lse' = logaddexp(lse, z_h),
    o' = o exp(lse - lse'). Differentiable in the sinks (their gradient is dsinks)."""
    if sinks is None:
        return o, lse
    total = jnp.logaddexp(lse, sinks[None, :, None])
    # A row that sees no key and no sink (the -inf stand-in when a case has none) keeps (0, -inf): exp(-inf - -inf)
    # would be NaN.
    seen = jnp.isfinite(total)
    return o * jnp.where(seen, jnp.exp(lse - jnp.where(seen, total, 0.0)), 0.0)[..., None], total


def tree_decode(q, k, v, bias, spec, mesh, p):
    """Algorithm 3 across p devices: local flash partial, then all-reduce max and the two sums."""
    sk = k.shape[2]
    pad = (-sk) % p
    if pad:  # padded keys are masked out: they are excluded, like any masked key
        k = jnp.pad(k, ((0, 0), (0, 0), (0, pad), (0, 0)))
        v = jnp.pad(v, ((0, 0), (0, 0), (0, pad), (0, 0)))
        bias = jnp.pad(bias, ((0, 0), (0, 0), (0, 0), (0, pad)), constant_values=-jnp.inf)

    def per_device(q, k, v, bias):
        o, lse = local_attention(q, k, v, bias, spec)
        # step 3: Allreduce(max). The max only shifts the exponents (the result does not depend on it), so no
        # gradient flows through it (pmax has no differentiation rule).
        m = jax.lax.stop_gradient(jax.lax.pmax(jax.lax.stop_gradient(lse), "devices"))
        m_safe = jnp.where(jnp.isfinite(m), m, 0.0)
        d_i = jnp.where(jnp.isfinite(lse), jnp.exp(lse - m_safe), 0.0)   # empty shard: lse = -inf contributes 0
        n = jax.lax.psum(o * d_i[..., None], "devices")       # step 5: Allreduce(sum) of numerators
        d = jax.lax.psum(d_i, "devices")                      #         and of denominators
        z = n / jnp.where(d > 0, d, 1.0)[..., None]           # step 6
        return z, jnp.where(d > 0, m_safe + jnp.log(jnp.where(d > 0, d, 1.0)), -jnp.inf)

    f = jax.shard_map(per_device, mesh=mesh,
                      in_specs=(P(), P(None, None, "devices", None), P(None, None, "devices", None), P(None, None, None, "devices")),
                      out_specs=(P(), P()), check_vma=False)
    return f(q, k, v, bias)


def varlen_attention(tensors, spec):
    """Each packed sequence alone: out (total_q, heads, dv), lse (heads, total_q)."""
    q, k, v = (jnp.asarray(tensors[n].astype(np.float32)) for n in "qkv")
    cq, ck = tensors["cu_seqlens_q"], tensors["cu_seqlens_k"]
    # seqused_q/k (FlashAttention 3): only each sequence's first rows; the rest of its output rows are left 0.
    uq = tensors["seqused_q"] if "seqused_q" in tensors else np.diff(cq)
    uk = tensors["seqused_k"] if "seqused_k" in tensors else np.diff(ck)
    outs, lses = [], []
    for i in range(len(cq) - 1):
        qi = q[int(cq[i]):int(cq[i]) + int(uq[i])].transpose(1, 0, 2)[None]
        ki = k[int(ck[i]):int(ck[i]) + int(uk[i])].transpose(1, 0, 2)[None]
        vi = v[int(ck[i]):int(ck[i]) + int(uk[i])].transpose(1, 0, 2)[None]
        bias = jnp.asarray(score_bias(spec, 1, qi.shape[1], qi.shape[2], ki.shape[2]))
        o, lse = jax.jit(lambda a, b, c, d: local_attention(a, b, c, d, spec))(qi, ki, vi, bias)
        o, lse = with_sinks(o, lse, sinks_of(tensors))
        pad = int(cq[i + 1] - cq[i]) - int(uq[i])
        outs.append(jnp.pad(o[0].transpose(1, 0, 2), ((0, pad), (0, 0), (0, 0))))
        lses.append(jnp.pad(lse[0], ((0, 0), (0, pad)), constant_values=-jnp.inf))
    return jnp.concatenate(outs, axis=0), jnp.concatenate(lses, axis=1)


def paged_attention(tensors, spec):
    """K/V gathered through the block table; positions past each row's length zeroed (they hold NaN)."""
    q = jnp.asarray(tensors["q"].astype(np.float32))
    kc, vc = (jnp.asarray(tensors[n].astype(np.float32)) for n in ("k_cache", "v_cache"))
    if spec.get("page_layout", "nhd") == "hnd":
        kc, vc = kc.transpose(0, 2, 1, 3), vc.transpose(0, 2, 1, 3)  # -> (pages, page_size, heads, dim)
    table = jnp.asarray(tensors["block_table"].astype(np.int32))
    lens = jnp.asarray(tensors["cache_seqlens"].astype(np.int32))
    b_, blocks = table.shape
    ps = kc.shape[1]

    @jax.jit
    def gather(cache, table, lens):
        g = cache[table]  # (b, blocks, page_size, heads, dim)
        g = g.reshape(b_, blocks * ps, cache.shape[2], cache.shape[3])
        valid = jnp.arange(blocks * ps)[None, :, None, None] < lens[:, None, None, None]
        return jnp.where(valid, g, 0.0).transpose(0, 2, 1, 3)

    k, v = gather(kc, table, lens), gather(vc, table, lens)
    if "rope_layout" in spec:  # the cache holds unrotated keys, rotated on the fly (FlashInfer's ROPE_LLAMA)
        q = rope(q, spec, tensors["q_positions"])
        k = rope(k, spec, np.pad(tensors["k_positions"], ((0, 0), (0, k.shape[2] - tensors["k_positions"].shape[1]))))
    bias = jnp.asarray(score_bias(spec, b_, q.shape[1], q.shape[2], k.shape[2]))
    o, lse = jax.jit(lambda a, b, c, d: local_attention(a, b, c, d, spec))(q, k, v, bias)
    return with_sinks(o, lse, sinks_of(tensors))


def rope(x, spec, positions):
    """x (B, H, S, D) rotated in f32 at positions (B, S) (the file's q_positions / k_positions): NeoX halves or GPT-J
    pairs, the first rotary_dim features; differentiable, so jax.grad gives the unrotated inputs' gradients."""
    if "rope_layout" not in spec:
        return x
    d = x.shape[-1]
    rd = spec.get("rotary_dim", d)
    angle = jnp.asarray(positions, jnp.float32)[:, None, :, None] * jnp.asarray(rope_inverse_frequencies(spec, d), jnp.float32)
    c, s = jnp.cos(angle), jnp.sin(angle)
    if spec["rope_layout"] == "neox":
        a, b = x[..., :rd // 2], x[..., rd // 2:rd]
        return jnp.concatenate([a * c - b * s, b * c + a * s, x[..., rd:]], axis=-1)
    a, b = x[..., 0:rd:2], x[..., 1:rd:2]
    pairs = jnp.stack([a * c - b * s, b * c + a * s], axis=-1).reshape(x.shape[:-1] + (rd,))
    return jnp.concatenate([pairs, x[..., rd:]], axis=-1)


def sinks_of(tensors):
    return jnp.asarray(tensors["sinks"].astype(np.float32)) if "sinks" in tensors else None


def merge_states(tensors, spec, meta):
    """FlashInfer's merge_state(s): (v, s) states merged in the stored LSE base."""
    if "v" in tensors:
        v, s = jnp.asarray(tensors["v"].astype(np.float32)), jnp.asarray(tensors["s"].astype(np.float32))
    else:
        v = jnp.stack([jnp.asarray(tensors[n].astype(np.float32)) for n in ("v_a", "v_b")], axis=1)
        s = jnp.stack([jnp.asarray(tensors[n].astype(np.float32)) for n in ("s_a", "s_b")], axis=1)
    base2 = meta.get("lse_base") == "2"
    m = jnp.max(s, axis=1)
    m_safe = jnp.where(jnp.isfinite(m), m, 0.0)
    w = jnp.where(jnp.isneginf(s), 0.0, (jnp.exp2 if base2 else jnp.exp)(s - m_safe[:, None, :]))
    tot = jnp.sum(w, axis=1)
    out = jnp.sum(w[..., None] * v, axis=1) / jnp.where(tot > 0, tot, 1.0)[..., None]
    lse = jnp.where(tot > 0, m_safe + (jnp.log2 if base2 else jnp.log)(jnp.where(tot > 0, tot, 1.0)), -jnp.inf)
    return out, lse


def fp8_attention(q8, k8, v8, qd, kd, vd, bias, spec):
    """FlashAttention 3's FP8 forward without its tiling: S from the codes in f32, times q_descale * k_descale * scale;
    P = exp(s - m) cast to float8_e4m3fn before P.V; O times v_descale / rowsum, returned in bfloat16; LSE in f32."""
    hq, hkv = q8.shape[1], k8.shape[1]
    g = hq // hkv
    k, v = jnp.repeat(k8, g, axis=1), jnp.repeat(v8, g, axis=1)
    qd, kd, vd = (jnp.repeat(d, g, axis=1)[:, :, None, None] for d in (qd, kd, vd))
    s = jnp.einsum("bhqd,bhkd->bhqk", q8, k) * (qd * kd * jnp.float32(softmax_scale(spec, q8.shape[-1])))
    if "softcap" in spec:
        s = spec["softcap"] * jnp.tanh(s / spec["softcap"])
    s = s + bias
    m = jnp.max(s, axis=-1, keepdims=True)
    seen = jnp.isfinite(m)
    p = jnp.where(seen, jnp.exp(s - jnp.where(seen, m, 0.0)), 0.0)
    tot = jnp.sum(p, axis=-1, keepdims=True)
    p8 = p.astype(jnp.float8_e4m3fn).astype(jnp.float32)
    o = jnp.einsum("bhqk,bhkd->bhqd", p8, v) * (vd / jnp.where(seen, tot, 1.0))
    lse = jnp.where(seen, m + jnp.log(jnp.where(seen, tot, 1.0)), -jnp.inf)[..., 0]
    return jnp.where(seen, o, 0.0).astype(jnp.bfloat16), lse


def dequantised_kv(tensors, spec):
    """An FP8 KV-cache case's tensors with K and V (dense, or the pages) as code x scale in f32: per tensor, or per KV
    head along the pages' head axis (NHD: 2, HND: 1; dense: 1). NaN in unused page storage stays NaN."""
    out = dict(tensors)
    per_head = spec.get("kv_scale", "tensor") == "head"
    for n in "kv":
        key = f"{n}_cache" if f"{n}_cache" in tensors else n
        x = tensors[key].astype(np.float32)
        sc = tensors[f"{n}_scale"].astype(np.float32)
        if per_head:
            axis = 2 if key.endswith("cache") and spec.get("page_layout", "nhd") == "nhd" else 1
            shape = [1] * x.ndim
            shape[axis] = sc.shape[0]
            sc = sc.reshape(shape)
        else:
            sc = sc[0]
        out[key] = x * sc
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", required=True)
    ap.add_argument("--results", required=True)
    args = ap.parse_args()
    devices = jax.devices()[:8]
    mesh = Mesh(np.array(devices), ("devices",))
    print(f"JAX {jax.__version__} on {len(devices)} {devices[0].platform} devices")
    for sub in ("exact", "tree"):
        os.makedirs(os.path.join(args.results, sub), exist_ok=True)
    manifest = load_manifest(args.golden)
    for entry in manifest["cases"]:
        tensors, meta, spec = load_case(args.golden, entry)
        layout = spec.get("layout", "dense")
        if "kv_fp8" in spec:  # FP8 KV cache (issue 27): attention over code x scale in f32
            tensors = dequantised_kv(tensors, spec)
        if layout == "kvcache":
            print(f"{entry['name']}: kvcache cases are not run by this backend (skipped)")
            continue
        if layout != "dense":
            path = os.path.join(args.results, "exact", entry["name"] + ".safetensors")
            if layout == "merge":
                o, lse = merge_states(tensors, spec, meta)
                out = {"v_merged": np.asarray(o, np.float32), "s_merged": np.asarray(lse, np.float32)}
            else:
                o, lse = varlen_attention(tensors, spec) if layout == "varlen" else paged_attention(tensors, spec)
                out = {"out": np.asarray(o, np.float32), "lse": np.asarray(lse, np.float32)}
            save_file(out, path, metadata={"lse_base": meta.get("lse_base", "e"), "backend": f"jax-{layout}"})
            continue
        if spec.get("mla") == "naive":
            # MLA's naive form: project the latent cache per head (f32), then attention with d_qk = 192, d_v = 128.
            qn, qp, c, kp, wk, wv = (jnp.asarray(tensors[n].astype(np.float32))
                                     for n in ("q_nope", "q_pe", "c_kv", "k_pe", "w_uk", "w_uv"))
            h = qn.shape[1]
            q = jnp.concatenate([qn, qp], axis=-1)
            k = jnp.concatenate([jnp.einsum("hnl,bjl->bhjn", wk, c),
                                 jnp.broadcast_to(kp[:, None], (kp.shape[0], h) + kp.shape[1:])], axis=-1)
            v = jnp.einsum("hdl,bjl->bhjd", wv, c)
        elif "fp8" in spec:
            # FP8 (issue 27): the codes times their descales in f32 for the exact and tree programs; and FlashAttention
            # 3's FP8 pipeline (P rounded to e4m3fn, out in bf16) to RESULTS/fp8, checked with the p-fp8 tolerance.
            codes = [jnp.asarray(tensors[n].astype(np.float32)) for n in "qkv"]
            scales = [jnp.asarray(tensors[f"{n}_descale"]) for n in "qkv"]
            group = codes[0].shape[1] // codes[1].shape[1]
            q, k, v = (c * jnp.repeat(d, group if i == 0 else 1, axis=1)[:, :, None, None]
                       for i, (c, d) in enumerate(zip(codes, scales)))
            fp8_bias = jnp.asarray(score_bias(spec, q.shape[0], q.shape[1], q.shape[2], k.shape[2]))
            o8, l8 = jax.jit(lambda *a: fp8_attention(*a, fp8_bias, spec))(*codes, *scales)
            os.makedirs(os.path.join(args.results, "fp8"), exist_ok=True)
            save_file({"out": np.asarray(o8), "lse": np.asarray(l8, np.float32)},
                      os.path.join(args.results, "fp8", entry["name"] + ".safetensors"),
                      metadata={"layout": "bhsd", "lse_base": "e", "p_rounding": "fp8", "backend": "jax-fp8"})
        else:
            q, k, v = (jnp.asarray(tensors[n].astype(np.float32)) for n in "qkv")
        b_, hq, sq, _ = q.shape
        bias = jnp.asarray(score_bias(spec, b_, hq, sq, k.shape[2]))
        # Sinks (issue 25) are merged once after the exact program or the tree's all-reduces; zero sinks of weight
        # exp(-inf) stand in when the case has none, so one program serves both.
        sinks = sinks_of(tensors)
        z = sinks if sinks is not None else jnp.full((hq,), -jnp.inf, jnp.float32)
        # One jit per program and case: one XLA compile instead of one per eager op (what dominates on CPUs).
        # Rope: q and k are the unrotated inputs, rotated inside each program (so the gradients are theirs).
        qpos, kpos = tensors.get("q_positions"), tensors.get("k_positions")
        programs = {"exact": jax.jit(lambda q_, k_, v_, z_: with_sinks(*local_attention(
                        rope(q_, spec, qpos), rope(k_, spec, kpos), v_, bias, spec), z_)),
                    "tree": jax.jit(lambda q_, k_, v_, z_: with_sinks(*tree_decode(
                        rope(q_, spec, qpos), rope(k_, spec, kpos), v_, bias, spec, mesh, len(devices)), z_))}
        for sub, program in programs.items():
            o, lse = program(q, k, v, z)
            out = {"out": np.asarray(o, np.float32), "lse": np.asarray(lse, np.float32)}
            if "do" in tensors:
                do = jnp.asarray(tensors["do"].astype(np.float32))
                dlse = jnp.asarray(tensors["dlse"].astype(np.float32)) if "dlse" in tensors else jnp.zeros(lse.shape)

                def loss(q_, k_, v_, z_):
                    o_, l_ = program(q_, k_, v_, z_)
                    # sum(dlse * lse) over the rows that see something (an empty row's lse is -inf, dlse 0 there).
                    return jnp.sum(o_ * do) + jnp.sum(jnp.where(jnp.isfinite(l_), l_ * dlse, 0.0))
                grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))(q, k, v, z)
                out.update({name: np.asarray(g, np.float32) for name, g in zip(("dq", "dk", "dv"), grads)})
                if sinks is not None:
                    out["dsinks"] = np.asarray(grads[3], np.float32)
            path = os.path.join(args.results, sub, entry["name"] + ".safetensors")
            save_file(out, path, metadata={"layout": "bhsd", "lse_base": "e", "backend": f"jax-{sub}"})
    print(f"wrote {len(manifest['cases'])} cases x (exact, tree) to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
