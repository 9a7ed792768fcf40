#!/usr/bin/env python3
"""Kernels with dropout and sparse masks, right and wrong, against `treeattn check` (issue 27).

For a dropout golden folder (`treeattn golden --suite dropout [--backward]`), NumPy computes in f32 from the stored
inputs and keep mask:
  right            P M / (1 - p) times V, LSE of the undropped scores; with do, the gradients too  -> must pass
  no-scale         the kept probabilities not scaled by 1 / (1 - p)                                 -> must fail
  lse-of-dropped   the LSE of the dropped (masked, rescaled) probabilities' scores                   -> must fail
For a sparse golden folder (`treeattn golden --suite sparse`), from the stored layout only (not the dense mask):
  right            the mask rebuilt from document ids, or from flex_attention's BlockMask, or from FlashInfer's BSR
                   (whichever the case stores)                                                       -> must pass
  block-off-by-one every block index shifted by one block (kv_indices + 1, BSR indices + 1), documents shifted by one
                   token                                                                             -> must fail
Each variant's results go through `treeattn check`, whose exit status must say pass (0) or fail (1).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import save_file

from golden_common import alibi_bias, load_case, load_manifest, softmax_scale, visibility


def attention_f32(q, k, v, spec, allowed, keep=None, p=0.0, bug=None, do=None):
    """(out, lse[, grads]) in f32 over the keys `allowed[b, h]` (sq, sk) allows beside the case's own visibility, with
    an optional dropout keep mask."""
    q, k, v = (x.astype(np.float32) for x in (q, k, v))
    b_, hq, sq, d = q.shape
    hkv, sk, dv = k.shape[1], k.shape[2], v.shape[3]
    scale = np.float32(softmax_scale(spec, d))
    out = np.zeros((b_, hq, sq, dv), np.float32)
    lse = np.full((b_, hq, sq), -np.inf, np.float32)
    dq, dk, dvv = np.zeros(q.shape, np.float32), np.zeros(k.shape, np.float32), np.zeros(v.shape, np.float32)
    for b in range(b_):
        vis = visibility(spec, b, sq, sk)
        for h in range(hq):
            g = h // (hq // hkv)
            ok = vis & allowed(b, h)
            s = np.where(ok, (q[b, h] @ k[b, g].T) * scale + alibi_bias(spec, b, h, sq, sk), -np.inf).astype(np.float32)
            m = s.max(axis=1)
            rows = np.isfinite(m)
            pr = np.zeros_like(s)
            pr[rows] = np.exp(s[rows] - m[rows, None])
            tot = pr.sum(axis=1)
            pr[rows] /= tot[rows, None]
            lse[b, h, rows] = m[rows] + np.log(tot[rows])
            w = pr
            if keep is not None:
                w = pr * keep[b, h] * (np.float32(1) if bug == "no-scale" else np.float32(1 / (1 - p)))
                if bug == "lse-of-dropped":
                    kept = np.where(keep[b, h], s, -np.inf)
                    km = kept.max(axis=1)
                    fin = np.isfinite(km)
                    lse[b, h] = -np.inf
                    lse[b, h, fin] = km[fin] + np.log(np.exp(kept[fin] - km[fin, None]).sum(axis=1))
            out[b, h] = w @ v[b, g]
            if do is not None:
                dof = do[b, h].astype(np.float32)
                dp = (dof @ v[b, g].T) * (keep[b, h] / np.float32(1 - p) if keep is not None else 1)
                dsc = pr * (dp - (pr * dp).sum(axis=1, keepdims=True))
                dq[b, h] = scale * dsc @ k[b, g]
                dk[b, g] += scale * dsc.T @ q[b, h]
                dvv[b, g] += w.T @ dof
    return out, lse, (dq, dk, dvv)


def sparse_allowed(tensors, spec, bug):
    """The (b, h) -> (sq, sk) allowed keys of a sparse case, rebuilt from what it stores: document ids, or
    flex_attention's BlockMask (kv_num_blocks, kv_indices, block sizes), or FlashInfer's BSR (indptr, indices, R x C)."""
    sq, sk = spec["seq_q"], spec["seq_k"]
    shift = 1 if bug == "block-off-by-one" else 0
    if "document_ids" in tensors:
        docs = tensors["document_ids"].astype(np.int64)
        if shift:
            docs = np.concatenate([docs[:, :1], docs[:, :-1]], axis=1)
        return lambda b, h: docs[0, sk - sq:][:, None] == docs[0, :sk][None, :]
    if "kv_num_blocks" in tensors:
        num, idx = tensors["kv_num_blocks"], tensors["kv_indices"]
        qb, kb = int(tensors["q_block_size"][0]), int(tensors["kv_block_size"][0])

        def flex(b, h):
            bb, hh = min(b, num.shape[0] - 1), min(h, num.shape[1] - 1)
            allowed = np.zeros((sq, sk), bool)
            for r in range(num.shape[2]):
                for c in idx[bb, hh, r, :num[bb, hh, r]]:
                    c = int(c) + shift
                    allowed[r * qb:(r + 1) * qb, c * kb:(c + 1) * kb] = True
            return allowed
        return flex
    indptr, indices = tensors["bsr_indptr"], tensors["bsr_indices"]
    rb, cb = int(tensors["bsr_block_size"][0]), int(tensors["bsr_block_size"][1])

    def bsr(b, h):
        allowed = np.zeros((sq, sk), bool)
        for r in range(len(indptr) - 1):
            for c in indices[indptr[r]:indptr[r + 1]]:
                c = int(c) + shift
                allowed[r * rb:(r + 1) * rb, c * cb:(c + 1) * cb] = True
        return allowed
    return bsr


DROPOUT = {"right": True, "no-scale": False, "lse-of-dropped": False}
SPARSE = {"right": True, "block-off-by-one": False}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", required=True)
    ap.add_argument("--treeattn", required=True)
    args = ap.parse_args()
    entries = load_manifest(args.golden)["cases"]
    first = load_case(args.golden, entries[0])[2]
    dropout = "dropout_p" in first
    table = DROPOUT if dropout else SPARSE
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, must_pass in table.items():
            folder = os.path.join(tmp, name)
            os.makedirs(folder)
            for e in entries:
                tensors, _, spec = load_case(args.golden, e)
                bug = None if name == "right" else name
                if dropout:
                    do = tensors.get("do") if bug is None else None
                    out, lse, grads = attention_f32(tensors["q"], tensors["k"], tensors["v"], spec,
                                                    lambda b, h: True, tensors["dropout_mask"], spec["dropout_p"],
                                                    bug, do)
                else:
                    do = None
                    out, lse, grads = attention_f32(tensors["q"], tensors["k"], tensors["v"], spec,
                                                    sparse_allowed(tensors, spec, bug))
                result = {"out": out, "lse": lse}
                if do is not None:
                    result.update(dict(zip(("dq", "dk", "dv"), grads)))
                save_file(result, os.path.join(folder, e["name"] + ".safetensors"), metadata={"layout": "bhsd"})
            r = subprocess.run([args.treeattn, "check", "--golden", args.golden, "--results", folder],
                               capture_output=True, text=True)
            grads_checked = not dropout or name != "right" or " dq " in r.stdout or "do" not in load_case(args.golden, entries[0])[0]
            ok = (r.returncode == 0) == must_pass and r.returncode in (0, 1) and grads_checked
            failed = sum(" FAIL " in line for line in r.stdout.splitlines())
            print(f"{'ok  ' if ok else 'FAIL'} {name}: check exit {r.returncode} ({'must pass' if must_pass else 'must fail'}), {failed} failing rows")
            if not ok:
                fails.append(name)
                print(r.stdout[-3000:], r.stderr[-2000:])
    print(f"{len(table) - len(fails)} of {len(table)} kernels as expected")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
