#!/usr/bin/env python3
"""How much of a first-call timing is XLA compilation? An order-of-magnitude check for docs/paper-reproduction.md.

The paper's Fig. 3 scripts (tree_shard_test.py and ring_shard_test.py in Zyphra/tree_attention) time one call of a
freshly defined `jax.jit`-wrapped shard_map decode, with `block_until_ready`, and no warm-up call, so the number
they print includes tracing, lowering and XLA compilation. This script measures those parts for two shard_map
decode programs of our own on 8 host CPU devices, scaled down from Fig. 3 (one query token, 16 heads x 128,
N = 4,096 keys in float32 instead of up to 5.12M in float16, so that it runs in about 30 s on 2 cores; the
compiled program's structure does not depend on N, its run time does):

  tree: each device computes a flash-decode partial (max, numerator, denominator) over its key shard, split into
        key chunks that are merged locally; then pmax of the max and psum of the rescaled numerator and
        denominator over the devices (the paper's Algorithm 3);
  ring: each device starts from its own K/V block, then p-1 times passes the K/V block to its neighbour with
        lax.ppermute (inside lax.scan) and merges the partial of the block it received with an online-softmax
        update.

For each program it reports, per fresh process: the first call (trace + lower + compile + run, ending with
block_until_ready), lowering + compilation alone (`jax.jit(f).lower(...).compile()` on a new function object, so
no in-process cache helps), and the median of warm calls. Before the first call, one unrelated small jitted
function runs, as the paper's scripts run their jitted make_data first, so one-time JAX start-up is not counted.
The outputs of both programs (first call and separately compiled) are checked against a NumPy exact decode
(float64 reference, max abs error <= 1e-5 in float32); a wrong program stops the script. The whole measurement runs
in --repeats fresh subprocesses (compilation caches live in a process; the persistent disk cache is switched off).

Usage: python3 python/fig3_compile_time.py [--repeats 3] [--json PATH]
CPU compile times are only an order-of-magnitude proxy for compile times on a GPU backend.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

DEVICES = 8
HEADS = 16
HEAD_DIM = 128
TOKENS = 4_096           # keys in total, TOKENS / DEVICES per device
CHUNKS = 4               # flash-decode key chunks per device (tree)
WARM_CALLS = 10
TOLERANCE = 1e-5


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------------------------------------------------------
# Child: one fresh process, one measurement of both programs.

def child(order, out_path):
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={DEVICES}"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import numpy as np
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

    try:
        jax.config.update("jax_enable_compilation_cache", False)
    except (AttributeError, KeyError, ValueError):
        pass
    if hasattr(jax, "shard_map"):
        def shard(f, mesh, in_specs, out_specs):
            return jax.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)
    else:
        from jax.experimental.shard_map import shard_map

        def shard(f, mesh, in_specs, out_specs):
            return shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=False)

    devices = jax.devices()
    assert len(devices) >= DEVICES, f"need {DEVICES} devices, have {len(devices)}"
    mesh = Mesh(np.array(devices[:DEVICES]), ("i",))
    scale = 1.0 / np.sqrt(HEAD_DIM)

    rng = np.random.default_rng(0)
    q_np = rng.standard_normal((HEADS, HEAD_DIM)).astype(np.float32)
    k_np = rng.standard_normal((TOKENS, HEADS, HEAD_DIM)).astype(np.float32)
    v_np = rng.standard_normal((TOKENS, HEADS, HEAD_DIM)).astype(np.float32)

    # Exact decode in float64: softmax over all keys, per head.
    s = np.einsum("hd,nhd->hn", q_np.astype(np.float64), k_np.astype(np.float64)) * scale
    w = np.exp(s - s.max(axis=1, keepdims=True))
    exact = np.einsum("hn,nhd->hd", w, v_np.astype(np.float64)) / w.sum(axis=1)[:, None]

    q = jax.device_put(q_np, NamedSharding(mesh, P()))
    k = jax.device_put(k_np, NamedSharding(mesh, P("i")))
    v = jax.device_put(v_np, NamedSharding(mesh, P("i")))
    for a in (q, k, v):
        a.block_until_ready()
    # One small jitted call first, as the paper's scripts call their jitted make_data before the timed call.
    jax.jit(lambda a: a * 2.0)(q).block_until_ready()

    def partial_stats(qq, kk, vv):
        """Flash-decode partial of one key block: per head max m, numerator sum e v, denominator sum e."""
        sc = jnp.einsum("hd,nhd->hn", qq, kk) * scale
        m = jnp.max(sc, axis=1)
        e = jnp.exp(sc - m[:, None])
        return m, jnp.einsum("hn,nhd->hd", e, vv), jnp.sum(e, axis=1)

    def merge(a, b):
        (ma, na, da), (mb, nb, db) = a, b
        m = jnp.maximum(ma, mb)
        ca, cb = jnp.exp(ma - m), jnp.exp(mb - m)
        return m, na * ca[:, None] + nb * cb[:, None], da * ca + db * cb

    def make_tree():
        # New closures every time: no trace cache keyed on function identity can be reused.
        def per_device(qq, kk, vv):
            n = kk.shape[0]
            kc = kk.reshape(CHUNKS, n // CHUNKS, HEADS, HEAD_DIM)
            vc = vv.reshape(CHUNKS, n // CHUNKS, HEADS, HEAD_DIM)
            ms, nums, dens = jax.vmap(partial_stats, in_axes=(None, 0, 0))(qq, kc, vc)
            m = jnp.max(ms, axis=0)
            c = jnp.exp(ms - m[None])
            num = jnp.sum(nums * c[:, :, None], axis=0)
            den = jnp.sum(dens * c, axis=0)
            gm = lax.pmax(m, "i")
            r = jnp.exp(m - gm)
            return lax.psum(num * r[:, None], "i") / lax.psum(den * r, "i")[:, None]
        return shard(per_device, mesh, (P(), P("i"), P("i")), P())

    def make_ring():
        perm = [(j, (j + 1) % DEVICES) for j in range(DEVICES)]

        def per_device(qq, kk, vv):
            acc = partial_stats(qq, kk, vv)

            def hop(carry, _):
                kb, vb, st = carry
                kb = lax.ppermute(kb, "i", perm)
                vb = lax.ppermute(vb, "i", perm)
                return (kb, vb, merge(st, partial_stats(qq, kb, vb))), None

            (_, _, (m, num, den)), _ = lax.scan(hop, (kk, vv, acc), None, length=DEVICES - 1)
            return num / den[:, None]
        return shard(per_device, mesh, (P(), P("i"), P("i")), P())

    makers = {"tree": make_tree, "ring": make_ring}
    results = {}
    for name in order:
        # 1. The first call, as the paper's scripts time it.
        f = jax.jit(makers[name]())
        t0 = time.perf_counter()
        out = f(q, k, v).block_until_ready()
        first = time.perf_counter() - t0
        err = float(np.max(np.abs(np.asarray(out, np.float64) - exact)))
        if not err <= TOLERANCE:
            raise SystemExit(f"{name}: max abs error {err:.3g} vs NumPy exact decode exceeds {TOLERANCE}")
        # 2. Lowering + compilation alone, on a new function object.
        g = jax.jit(makers[name]())
        tl0 = time.perf_counter()
        lowered = g.lower(q, k, v)
        tl1 = time.perf_counter()
        compiled = lowered.compile()
        tl2 = time.perf_counter()
        err2 = float(np.max(np.abs(np.asarray(compiled(q, k, v), np.float64) - exact)))
        if not err2 <= TOLERANCE:
            raise SystemExit(f"{name}: compiled program's max abs error {err2:.3g} exceeds {TOLERANCE}")
        # 3. Warm calls of the first function.
        warm = []
        for _ in range(WARM_CALLS):
            t0 = time.perf_counter()
            f(q, k, v).block_until_ready()
            warm.append(time.perf_counter() - t0)
        results[name] = {"first_call_s": first, "lower_s": tl1 - tl0, "compile_s": tl2 - tl1,
                         "lower_compile_s": tl2 - tl0, "warm_median_s": statistics.median(warm),
                         "max_abs_error": max(err, err2)}
    with open(out_path, "w") as f:
        json.dump({"jax": jax.__version__, "order": list(order), "programs": results}, f)


# ---------------------------------------------------------------------------------------------------------------
# Parent: run the children, summarise.

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes (default 3)")
    ap.add_argument("--json", metavar="PATH", help="also write the measurements as JSON")
    ap.add_argument("--child", nargs=2, metavar=("ORDER", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0].split(","), args.child[1])
        return
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            # Alternate which program is compiled first in the process.
            order = "tree,ring" if r % 2 == 0 else "ring,tree"
            out = os.path.join(tmp, f"run{r}.json")
            env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={DEVICES}")
            env.setdefault("JAX_PLATFORMS", "cpu")
            subprocess.run([sys.executable, os.path.abspath(__file__), "--child", order, out], check=True, env=env)
            with open(out) as f:
                runs.append(json.load(f))

    keys = [("first_call_s", "first call (trace+compile+run)"), ("lower_s", "lower"), ("compile_s", "compile"),
            ("lower_compile_s", "lower+compile alone"), ("warm_median_s", f"warm call (median of {WARM_CALLS})")]
    summary = {}
    print(f"shard_map decode on {DEVICES} host CPU devices: 1 query, {HEADS} heads x {HEAD_DIM}, N = {TOKENS} keys, "
          f"float32; {args.repeats} fresh processes; jax {runs[0]['jax']}; CPU {cpu_model()} ({os.cpu_count()} cores)")
    print(f"{'measurement':36s} {'tree (median, min-max)':>28s} {'ring (median, min-max)':>28s}")
    for key, label in keys:
        cells = []
        for name in ("tree", "ring"):
            xs = [run["programs"][name][key] for run in runs]
            summary.setdefault(name, {})[key] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}
            cells.append(f"{statistics.median(xs) * 1e3:9.1f} ms ({min(xs) * 1e3:.1f}-{max(xs) * 1e3:.1f})")
        print(f"{label:36s} {cells[0]:>28s} {cells[1]:>28s}")
    worst = max(run["programs"][n]["max_abs_error"] for run in runs for n in ("tree", "ring"))
    print(f"max abs error vs NumPy exact decode: {worst:.2e} (limit {TOLERANCE})")

    doc = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_model(), "cores": os.cpu_count(), "jax": runs[0]["jax"],
           "python": platform.python_version(), "devices": DEVICES, "heads": HEADS, "head_dim": HEAD_DIM,
           "tokens": TOKENS, "dtype": "float32", "warm_calls": WARM_CALLS, "repeats": args.repeats,
           "summary": summary, "runs": runs}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
