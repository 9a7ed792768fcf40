#!/usr/bin/env python3
"""Checks `treeattn-mpi attention` (issue 10) against the single-process `treeattn attention`, under
`mpirun --oversubscribe --allow-run-as-root -q`.

For P = 1..8 ranks and every distributed reduction (algorithm3, merge-op, binary, ring, pass-partials, and in the dense
grid flat and two-level), on inputs with
GQA, bottom-right causal masking with Sq > Sk (fully masked rows), keys not divisible by P (uneven shards) and fewer
keys than ranks (empty shards), in f64 and f32:
  * `binary` is byte-identical to `treeattn attention --shards P --reduction binary` (output and LSE files);
  * `ring` is byte-identical to `treeattn attention --shards P --reduction ring` (rank 0 visits shards in the same order);
  * `flat` and `two-level` (all ranks on one host) are byte-identical to `--reduction flat` and `two-level:P`;
  * the others agree with the single-process exact reference to 1e-13 relative in f64 (2e-6 in f32), and fully
    masked rows are exactly (0, -inf);
  * `--random` shards equal the bytes of `treeattn random-inputs` (same result files);
  * bshd layout, window, softcap, ALiBi, cache lengths, a bool mask, sinks (merged once on rank 0) and sink tokens,
    at P = 3 and 8.
Studies: `treeattn-mpi sweep|scale` on 1, 3 and 7 ranks write the same files, byte for byte, as `treeattn sweep|scale`.
Faults: a file missing on one rank's path only, a truncated shard on one rank, a memory limit: one stderr line
`Error: rank N: ...`, a non-zero exit within seconds, no output file. Files are read with NumPy's own reader.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

FAILS, PASSES = [], [0]
REDUCTIONS = ["algorithm3", "merge-op", "binary", "ring", "pass-partials"]
# The plan trees: every rank on one host, so two-level is one merge of all P partials (two-level:P).
PLAN_TREES = ["flat", "two-level"]


def single_process(red, p):
    """The single-process reduction a distributed one is byte-identical to, or None."""
    return {"binary": "binary", "ring": "ring", "flat": "flat", "two-level": f"two-level:{p}"}.get(red)


def check(cond, what):
    if cond:
        PASSES[0] += 1
    else:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def run(cmd, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def mpirun(args, ranks, mpi):
    return ["mpirun", "-q", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), mpi] + args


def rel(a, b):
    finite = np.isfinite(b)
    scale = max(1.0, float(np.abs(b[finite]).max())) if finite.any() else 1.0
    both = np.isfinite(a) & finite
    same_nonfinite = np.array_equal(np.isfinite(a), finite) and np.array_equal(a[~finite], b[~finite])
    return (float(np.abs(a[both] - b[both]).max()) / scale if both.any() else 0.0), same_nonfinite


def same_bytes(a, b):
    with open(a, "rb") as x, open(b, "rb") as y:
        return x.read() == y.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--treeattn", required=True)
    ap.add_argument("--mpi", required=True)
    ap.add_argument("--max-ranks", type=int, default=8)
    ap.add_argument("--ranks", default=None,
                    help="comma-separated rank counts of the dense grid (default every count 1..--max-ranks; make test "
                         "runs 1,2,3,5,8: one rank, powers of two, odd and prime counts, the largest)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mpi-check-")
    T, M = os.path.abspath(a.treeattn), os.path.abspath(a.mpi)
    os.chdir(tmp)
    t0 = time.time()

    # GQA (4 query heads, 2 KV heads), Sq = 7 > Sk = 5 with bottom-right causal: the first two query rows see no key.
    shape = ["--batch", "2", "--heads", "4", "--kv-heads", "2", "--seq-q", "7", "--seq-k", "5", "--head-dim", "6",
             "--value-dim", "3", "--seed", "11"]
    r = run([T, "random-inputs"] + shape + ["--out", "in.safetensors"])
    check(r.returncode == 0, f"random-inputs: {r.stderr}")
    files = ["--q", "in.safetensors", "--k", "in.safetensors", "--v", "in.safetensors", "--causal", "bottom-right"]
    for precision in ["f64", "f32"]:
        tol = 1e-13 if precision == "f64" else 2e-6
        r = run([T, "attention"] + files + ["--precision", precision, "--out", f"exact-{precision}.npy", "--lse", f"exact-lse-{precision}.npy"])
        check(r.returncode == 0, f"exact {precision}: {r.stderr}")
        exact, exact_lse = np.load(f"exact-{precision}.npy"), np.load(f"exact-lse-{precision}.npy")
        masked = exact_lse == -np.inf
        check(masked.sum() == 2 * 4 * 2, f"{precision}: expected 16 fully masked rows, got {masked.sum()}")
        for p in (list(map(int, a.ranks.split(","))) if a.ranks else range(1, a.max_ranks + 1)):
            for red in REDUCTIONS + PLAN_TREES:
                out, lse = f"o-{precision}-{p}-{red}.npy", f"l-{precision}-{p}-{red}.npy"
                r = run(mpirun(["attention"] + files + ["--precision", precision, "--reduction", red, "--out", out, "--lse", lse], p, M))
                if r.returncode != 0:
                    check(False, f"P={p} {red} {precision}: exit {r.returncode}: {r.stderr.strip()}")
                    continue
                single = single_process(red, p)
                if single:
                    ref, ref_lse = f"ref-{precision}-{p}-{red}.npy", f"ref-lse-{precision}-{p}-{red}.npy"
                    rr = run([T, "attention"] + files + ["--precision", precision, "--shards", str(p), "--reduction",
                                                         single, "--out", ref, "--lse", ref_lse])
                    check(rr.returncode == 0, f"single-process {single} P={p}: {rr.stderr}")
                    check(same_bytes(out, ref) and same_bytes(lse, ref_lse),
                          f"P={p} {red} {precision}: not byte-identical to treeattn attention --shards {p} --reduction {single}")
                o, l = np.load(out), np.load(lse)
                e, same = rel(o, exact)
                el, same_l = rel(l, exact_lse)
                check(e <= tol and el <= tol and same and same_l,
                      f"P={p} {red} {precision}: rel error {e:.3g} / lse {el:.3g} > {tol} (non-finite equal: {same}, {same_l})")
                check(np.all(o[masked] == 0) and np.all(l[masked] == -np.inf), f"P={p} {red} {precision}: masked rows not (0, -inf)")
    print(f"mpi_check: dense grid done in {time.time() - t0:.0f} s", flush=True)

    # --random generates the same shards as random-inputs wrote.
    for p in (3, 8):
        r = run(mpirun(["attention", "--random"] + shape + ["--causal", "bottom-right", "--reduction", "binary", "--out", f"rand-{p}.npy"], p, M))
        check(r.returncode == 0 and same_bytes(f"rand-{p}.npy", f"o-f64-{p}-binary.npy"), f"--random P={p}: differs from file inputs {r.stderr}")

    # Every other option, bshd layout (files written by NumPy), at P = 3 and 8.
    rng = np.random.default_rng(3)
    B, Hq, Hkv, Sq, Sk, D = 2, 4, 2, 3, 19, 8
    np.save("qb.npy", rng.standard_normal((B, Sq, Hq, D)))
    np.save("kb.npy", rng.standard_normal((B, Sk, Hkv, D)))
    np.save("vb.npy", rng.standard_normal((B, Sk, Hkv, D)))
    np.save("mask.npy", rng.random((Sq, Sk)) < 0.8)
    opts = ["--q", "qb.npy", "--k", "kb.npy", "--v", "vb.npy", "--layout", "bshd", "--window", "6,2", "--softcap", "5",
            "--alibi-slopes", "0.5,0.25,0.125,0.0625", "--cache-seqlens", "17,12", "--mask", "mask.npy", "--scale", "0.3",
            "--sinks", "0.5,-1,2,0.25", "--sink-tokens", "2"]
    r = run([T, "attention"] + opts + ["--out", "e-opts.npy", "--lse", "e-opts-lse.npy"])
    check(r.returncode == 0, f"exact with every option: {r.stderr}")
    exact, exact_lse = np.load("e-opts.npy"), np.load("e-opts-lse.npy")
    for p in (3, 8):
        for red in REDUCTIONS:
            r = run(mpirun(["attention"] + opts + ["--reduction", red, "--out", "o.npy", "--lse", "l.npy"], p, M))
            if r.returncode != 0:
                check(False, f"options P={p} {red}: {r.stderr.strip()}")
                continue
            e, same = rel(np.load("o.npy"), exact)
            el, same_l = rel(np.load("l.npy"), exact_lse)
            check(e <= 1e-13 and el <= 1e-13 and same and same_l, f"options P={p} {red}: rel error {e:.3g} / {el:.3g}")
        r = run([T, "attention"] + opts + ["--shards", str(p), "--reduction", "binary", "--out", "ref.npy"])
        run(mpirun(["attention"] + opts + ["--reduction", "binary", "--out", "o.npy"], p, M))
        check(same_bytes("o.npy", "ref.npy"), f"options P={p}: binary not byte-identical")

    # Faults: one line naming the rank, non-zero exit, within seconds, no output.
    with open("in.safetensors", "rb") as f:
        data = f.read()
    with open("trunc.safetensors", "wb") as f:
        f.write(data[: len(data) // 2])
    base = ["attention", "--q", "in.safetensors", "--v", "in.safetensors", "--out", "fault.npy"]
    launch = ["mpirun", "-q", "--allow-run-as-root", "--oversubscribe"]
    cases = [
        ("file present on one rank's path only",
         launch + ["-np", "2", M] + base + ["--k", "in.safetensors"] + [":", "-np", "1", M] + base + ["--k", "missing.safetensors"],
         "rank 2: missing.safetensors"),
        ("truncated shard on one rank",
         launch + ["-np", "1", M] + base + ["--k", "in.safetensors"] + [":", "-np", "2", M] + base + ["--k", "trunc.safetensors"],
         "rank 1: trunc.safetensors: truncated"),
        ("memory limit", mpirun(base + ["--k", "in.safetensors", "--max-memory", "2kB"], 4, M), "rank 0: too large: rank 0's q and key shard"),
    ]
    for name, cmd, expect in cases:
        start = time.time()
        try:
            r = run(cmd, timeout=60)
        except subprocess.TimeoutExpired:
            check(False, f"fault '{name}': hung for 60 s")
            continue
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        check(r.returncode != 0, f"fault '{name}': exit status 0")
        check(len(lines) == 1 and lines[0].startswith("Error: ") and expect in lines[0],
              f"fault '{name}': expected one line 'Error: {expect}...', got {lines}")
        check(time.time() - start < 30, f"fault '{name}': took {time.time() - start:.0f} s")
        check(not os.path.exists("fault.npy"), f"fault '{name}': wrote an output file")
        leftovers = [x for x in os.listdir(".") if x.startswith(".treeattn-tmp-")]
        check(not leftovers, f"fault '{name}': left temporaries {leftovers}")

    # The report: one entry per rank, timed phases, bytes sent.
    r = run(mpirun(["attention", "--random", "--seq-k", "4096", "--heads", "4", "--head-dim", "16", "--reduction", "ring",
                    "--repeat", "3", "--warmup", "1", "--report", "report.json"], 4, M))
    check(r.returncode == 0, f"report run: {r.stderr}")
    import json
    rep = json.load(open("report.json"))
    check(rep["ranks"] == 4 and len(rep["per_rank"]) == 4 and len(rep["steps"]) == 3, "report: ranks/steps")
    names = [ph["name"] for ph in rep["per_rank"][1]["phases"]]
    check(names[0] == "local attention" and "sendrecv hop 3" in names, f"report: ring phases {names}")
    # Each ring hop sends one K/V shard: 1024 keys x 4 heads x (16 + 16) f64 values.
    hop = [ph for ph in rep["per_rank"][1]["phases"] if ph["name"] == "sendrecv hop 1"][0]
    check(hop["bytes_sent"] == 1024 * 4 * 32 * 8, f"report: hop bytes {hop['bytes_sent']}")
    st = rep["step_seconds"]
    check(0 < st["min"] <= st["median"] <= st["max"], f"report: step stats {st}")

    # Issue 26, part 6: studies split over ranks write the same bytes as one process (sweep with its memory steps,
    # and the scale study), for one rank, fewer ranks than steps and more ranks than steps.
    sweep = ["sweep", "--cluster", "dgx-h100:2", "--seq-lens", "80k,1.28M", "--gpus", "8,16", "--strategy",
             "tree,ring,pass-q", "--hidden-sizes", "2048,4096", "--launch-us", "3", "--quiet"]
    scale = ["scale", "--gpus", "8,64", "--seq-lens", "1M,10M", "--quiet"]
    for name, args in [("sweep", sweep), ("scale", scale)]:
        r = run([T] + args + ["--out", f"{name}-one"], timeout=300)
        check(r.returncode == 0, f"{name}: one process: {r.stderr}")
        reference = sorted(os.path.relpath(os.path.join(d, f), f"{name}-one")
                           for d, _, fs in os.walk(f"{name}-one") for f in fs)
        check(len(reference) >= 3, f"{name}: one process wrote {reference}")
        for p in [1, 3, 7]:
            out = f"{name}-mpi-{p}"
            r = run(mpirun(args + ["--out", out], p, M), timeout=300)
            check(r.returncode == 0 and "wrote" in r.stdout, f"{name} on {p} ranks: {r.stdout} {r.stderr}")
            files = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
            check(files == reference, f"{name} on {p} ranks: files {files} != {reference}")
            for f in reference:
                check(os.path.exists(os.path.join(out, f)) and same_bytes(os.path.join(out, f), os.path.join(f"{name}-one", f)),
                      f"{name} on {p} ranks: {f} differs from one process's")
    # Issue 26, part 7: calibrate --kernel-curve writes the decode kernel at every shard size, and the cluster loads.
    r = run(mpirun(["calibrate", "--quiet", "--out", "curve.yaml", "--kernel-curve", "--heads", "1", "--head-dim", "4",
                    "--decode-keys", "4096", "--max-message", "65536"], 2, M), timeout=300)
    check(r.returncode == 0, f"calibrate --kernel-curve: {r.stderr}")
    text = open("curve.yaml").read() if os.path.exists("curve.yaml") else ""
    check("decode_kernel:" in text and text.count("kv_bytes:") >= 3, f"calibrate --kernel-curve wrote {text[-400:]}")
    r = run([T, "simulate", "cluster", "--cluster", "curve.yaml"])
    check(r.returncode == 0 and "decode kernel measured at" in r.stdout, f"curve.yaml: {r.stdout} {r.stderr}")
    # A bad option under mpirun: one line, nothing written.
    r = run(mpirun(sweep[:-1] + ["--gpus", "8,64", "--out", "sweep-bad"], 3, M), timeout=60)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    check(r.returncode != 0 and len(lines) == 1 and lines[0].startswith("Error: ") and "exceeds" in lines[0],
          f"sweep over too many GPUs under mpirun: {lines}")
    check(not os.path.exists("sweep-bad"), "sweep over too many GPUs under mpirun: wrote its folder")

    print(f"mpi_check: {PASSES[0]} passed, {len(FAILS)} failed ({time.time() - t0:.0f} s)")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
