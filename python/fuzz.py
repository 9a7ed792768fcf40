#!/usr/bin/env python3
"""Seeded mutation fuzzing of every `treeattn` parser, through the CLI (issue 9).

Each run mutates one valid input (an .npy or .safetensors tensor, a golden folder's manifest or case file, a golden
suite in YAML or JSON, a cluster file in YAML or JSON, or a CLI option value), runs the command that reads it in its
own process, and asserts the error contract:
  * no trap: the process exits by itself (no signal), within the time limit (no hang);
  * exit 0 (and 1 for `check`, which found a FAIL), or exit 2 with exactly one stderr line starting with `Error: `;
  * bounded memory: the child's peak RSS stays under --max-rss-mb;
  * nothing left behind: after an error the output does not exist, and no temporary file remains in any folder
    the run wrote to;
  * an accepted tensor file means what the independent reader says it means: NumPy's .npy reader or the
    `safetensors` package must read it too, and the attention output must equal attention computed in NumPy from
    what that reader read (1e-12); an accepted suite or cluster file produces its outputs.
Every failing input is saved under --findings with the command that failed. Prints a table of inputs tried per
target and 'N passed, N failed'; exit 1 on any failure.

`make test` runs it for about 45 s (seed 1); `make fuzz` for 10 minutes.
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTERESTING_NUMBERS = ["0", "-1", "1", "-0", "2147483647", "2147483648", "4294967296", "9223372036854775807",
                       "9223372036854775808", "-9223372036854775808", "1e308", "1e-320", "nan", "inf", "-inf",
                       "4.0", "0x10", "1_000", "", "65536", "16777217", "1e9", "3.5", "\"7\"", "null", "true"]
INTERESTING_STRINGS = ["", " ", "\n", "\u0000", "\u001b[31m", "é", "\"", "\\", "'", "{", "[", "*a", "&a", "---",
                       "~", "..", "/", "A" * 300]


class Run:
    def __init__(self, rc, stdout, stderr, rss_mb, seconds, signal):
        self.rc, self.stdout, self.stderr, self.rss_mb, self.seconds, self.signal = rc, stdout, stderr, rss_mb, seconds, signal


def run(binary, args, timeout, cwd):
    """Runs the CLI; returns exit status, output, the child's peak RSS (MB) and whether a signal ended it."""
    start = time.time()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([binary] + args, stdout=out, stderr=err, cwd=cwd, stdin=subprocess.DEVNULL)
        deadline = start + timeout
        status, usage = None, None
        while True:
            pid, st, ru = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                status, usage = st, ru
                break
            if time.time() > deadline:
                p.kill()
                _, status, usage = os.wait4(p.pid, 0)
                return Run(None, "", "timeout", usage.ru_maxrss / 1024, time.time() - start, None)
            time.sleep(0.002)
        p.returncode = 0
        out.seek(0)
        err.seek(0)
        signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        return Run(rc, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   usage.ru_maxrss / 1024, time.time() - start, signal)


# ---------------------------------------------------------------- mutations

def mutate_bytes(rng, data):
    data = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        kind = rng.randrange(7)
        n = len(data)
        if kind == 0 and n:  # flip a bit
            i = rng.randrange(n)
            data[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and n:  # set a byte to an interesting value
            data[rng.randrange(n)] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, 0x20, 0x0A, ord("{"), ord("9")])
        elif kind == 2:  # truncate
            del data[rng.randrange(n + 1):]
        elif kind == 3:  # insert random bytes
            i = rng.randrange(n + 1)
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif kind == 4 and n:  # delete a run
            i = rng.randrange(n)
            del data[i:i + rng.randrange(1, 9)]
        elif kind == 5 and n:  # duplicate a chunk
            i = rng.randrange(n)
            j = min(n, i + rng.randrange(1, 64))
            data[j:j] = data[i:j]
        elif kind == 6 and n >= 8:  # overwrite 8 bytes with an extreme little-endian integer
            i = rng.randrange(n - 7)
            data[i:i + 8] = struct.pack("<Q", rng.choice([0, 1, 2 ** 31, 2 ** 32, 2 ** 63 - 1, 2 ** 64 - 1, 2 ** 40]))
    return bytes(data)


def mutate_header_text(rng, text):
    """Text mutations aimed at headers and structured files: numbers, keys, strings, structure."""
    for _ in range(rng.choice([1, 1, 2, 3])):
        kind = rng.randrange(6)
        if kind == 0:  # replace a number with an interesting one
            spans = [i for i, c in enumerate(text) if c.isdigit() and (i == 0 or not text[i - 1].isdigit())]
            if spans:
                i = rng.choice(spans)
                j = i
                while j < len(text) and (text[j].isdigit() or text[j] in ".e-"):
                    j += 1
                text = text[:i] + rng.choice(INTERESTING_NUMBERS) + text[j:]
        elif kind == 1:  # insert an interesting string
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(INTERESTING_STRINGS) + text[i:]
        elif kind == 2 and text:  # delete a span
            i = rng.randrange(len(text))
            text = text[:i] + text[i + rng.randrange(1, 12):]
        elif kind == 3 and text:  # duplicate a line (duplicate keys)
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        elif kind == 4:  # rename a key
            for key in ["seq_k", "heads", "kv_heads", "causal", "splits", "window", "shape", "dtype", "data_offsets",
                        "descr", "fortran_order", "gpus", "bandwidth_GBps", "latency_ns", "preset", "nodes", "cases"]:
                if key in text and rng.random() < 0.3:
                    text = text.replace(key, key[:-1] if rng.random() < 0.5 else key + "x", 1)
                    break
        else:  # swap two characters
            if len(text) > 2:
                i = rng.randrange(len(text) - 1)
                text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


# ---------------------------------------------------------------- independent readers

def attention_numpy(q, k, v):
    """Plain non-causal attention in f64 (GQA by head groups), (b, h, s, d) layout."""
    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    group = q.shape[1] // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    s = np.einsum("bhqd,bhkd->bhqk", q, k) / np.sqrt(q.shape[-1])
    m = s.max(axis=-1, keepdims=True)
    p = np.exp(s - m)
    return np.einsum("bhqk,bhkd->bhqd", p / p.sum(axis=-1, keepdims=True), v)


def close(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    both_nan = np.isnan(a) & np.isnan(b)
    fin = np.isfinite(b) & np.isfinite(a)
    if not np.array_equal(np.isnan(a) | np.isinf(a), np.isnan(b) | np.isinf(b)):
        return False
    return bool(np.all(both_nan | ~fin | (np.abs(a - b) <= 1e-12 * np.maximum(1, np.abs(b)))))


# ---------------------------------------------------------------- the fuzzer

class Fuzzer:
    def __init__(self, binary, work, findings, rng, max_rss_mb, timeout, mpi_binary=None):
        self.binary, self.work, self.findings, self.rng = binary, work, findings, rng
        self.mpi_binary = mpi_binary
        self.max_rss_mb, self.timeout = max_rss_mb, timeout
        self.stats = {}
        self.failures = []
        self.case = 0
        base = os.path.join(work, "base")
        os.makedirs(base)
        self.base = base
        self.setup()

    def cli(self, args):
        r = run(self.binary, args, 60, self.work)
        if r.rc != 0:
            raise SystemExit("fuzz setup failed: treeattn %s: %s" % (" ".join(args), r.stderr))
        return r

    def setup(self):
        b = self.base
        self.cli(["random-inputs", "--batch", "1", "--heads", "2", "--kv-heads", "1", "--seq-q", "3", "--seq-k", "7",
                  "--head-dim", "4", "--seed", "3", "--out", b + "/npy"])
        self.cli(["random-inputs", "--batch", "1", "--heads", "2", "--kv-heads", "1", "--seq-q", "3", "--seq-k", "7",
                  "--head-dim", "4", "--seed", "3", "--dtype", "f32", "--out", b + "/in.safetensors"])
        os.makedirs(b + "/packed")
        rng = np.random.default_rng(3)
        for name, shape in (("q", (5, 2, 4)), ("k", (8, 1, 4)), ("v", (8, 1, 4))):
            np.save(b + "/packed/%s.npy" % name, rng.normal(size=shape))
        with open(b + "/suite.yaml", "w") as f:
            f.write("- name: tiny\n  heads: 2\n  kv_heads: 1\n  seq_q: 3\n  seq_k: 9\n  head_dim: 8\n"
                    "  causal: bottom-right\n  window: [4, 0]\n  splits: [2, 3]\n")
        with open(b + "/suite.json", "w") as f:
            json.dump([{"name": "tiny", "heads": 2, "seq_q": 2, "seq_k": 5, "head_dim": 4, "softcap": 30},
                       {"name": "v", "layout": "varlen", "seqlens_q": [2, 0, 3], "seqlens_k": [4, 1, 3], "head_dim": 4,
                        "causal": "bottom-right"},
                       {"name": "p", "layout": "paged", "batch": 2, "seq_q": 1, "seq_k": 9, "head_dim": 4, "page_size": 4,
                        "page_layout": "hnd", "cache_seqlens": [9, 2]},
                       {"name": "m", "layout": "merge", "seq_q": 3, "seq_k": 0, "head_dim": 4, "partials": 3, "lse_base": "2"}], f)
        self.cli(["golden", "--suite", b + "/suite.yaml", "--dtype", "f32", "--out", b + "/golden"])
        os.makedirs(b + "/results")
        g = b + "/golden/tiny-f32.safetensors"
        self.cli(["attention", "--q", g, "--k", g, "--v", g, "--causal", "bottom-right", "--window", "4,0",
                  "--precision", "f32", "--out", b + "/results/tiny-f32.safetensors"])
        self.reference_npy = attention_numpy(*(np.load(b + "/npy/%s.npy" % t) for t in "qkv"))

    # -- bookkeeping

    def record(self, target, ok, why, files, args):
        s = self.stats.setdefault(target, {"tried": 0, "accepted": 0, "rejected": 0, "failed": 0})
        s["tried"] += 1
        if not ok:
            s["failed"] += 1
            folder = os.path.join(self.findings, "%s-%d" % (target, self.case))
            os.makedirs(folder, exist_ok=True)
            for f in files:
                if os.path.isfile(f):
                    shutil.copy(f, folder)
            with open(os.path.join(folder, "command.txt"), "w") as fh:
                fh.write("treeattn " + " ".join(args) + "\n" + why + "\n")
            self.failures.append("%s #%d: %s (saved in %s)" % (target, self.case, why, folder))
            print("FAIL:", self.failures[-1])

    def contract(self, r, outputs, scratch, allow_check_fail=False):
        """The checks every run must pass; returns an error string or None."""
        if r.rc is None and r.signal is None:
            return "hang: no exit within %d s" % self.timeout
        if r.signal is not None:
            return "killed by signal %d (trap?)" % r.signal
        if r.rss_mb > self.max_rss_mb:
            return "peak RSS %.0f MB above %d MB" % (r.rss_mb, self.max_rss_mb)
        allowed = {0, 2} | ({1} if allow_check_fail else set())
        if r.rc not in allowed:
            return "exit %d" % r.rc
        if r.rc == 2:
            lines = r.stderr.splitlines()
            if len(lines) != 1 or not lines[0].startswith("Error: "):
                return "error output is not one 'Error:' line: %r" % r.stderr[:300]
            for o in outputs:
                if os.path.exists(o):
                    return "output %s left behind after an error" % os.path.basename(o)
        for dirpath, _, names in os.walk(scratch):
            for n in names:
                if "tmp" in n.lower() or n.startswith("."):
                    return "temporary file %s left behind" % n
        return None

    def scratch(self):
        self.case += 1
        d = os.path.join(self.work, "case%d" % self.case)
        os.makedirs(d)
        return d

    # -- targets

    def npy(self):
        d = self.scratch()
        src = self.base + "/npy/k.npy"
        data = open(src, "rb").read()
        header_end = data.index(b"\n") + 1
        if self.rng.random() < 0.5:  # mutate the header text
            head = mutate_header_text(self.rng, data[10:header_end].decode("latin-1")).encode("latin-1", "replace")
            # keep the declared header length consistent half of the time, so deeper checks are reached
            prefix = data[:8] + (struct.pack("<H", len(head)) if self.rng.random() < 0.5 else data[8:10])
            mutated = prefix + head + data[header_end:]
        else:
            mutated = mutate_bytes(self.rng, data)
        k = os.path.join(d, "k.npy")
        open(k, "wb").write(mutated)
        out = os.path.join(d, "out.npy")
        args = ["attention", "--q", self.base + "/npy/q.npy", "--k", k, "--v", self.base + "/npy/v.npy", "--out", out]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, [out], d)
        if why is None and r.rc == 0:
            try:
                kk = np.load(k, allow_pickle=False)
                want = attention_numpy(np.load(self.base + "/npy/q.npy"), kk, np.load(self.base + "/npy/v.npy"))
                if not close(np.load(out), want):
                    why = "accepted, but the output differs from attention over what NumPy reads"
            except Exception as e:  # noqa: BLE001
                why = "accepted a file NumPy refuses (%s)" % str(e).splitlines()[0][:120]
        self.stats_accept("npy", r)
        self.record("npy", why is None, why, [k], args)

    def safetensors(self):
        d = self.scratch()
        data = open(self.base + "/in.safetensors", "rb").read()
        n = struct.unpack("<Q", data[:8])[0]
        if self.rng.random() < 0.6:  # mutate the JSON header
            head = mutate_header_text(self.rng, data[8:8 + n].decode("latin-1")).encode("latin-1", "replace")
            length = struct.pack("<Q", len(head)) if self.rng.random() < 0.7 else data[:8]
            mutated = length + head + data[8 + n:]
        else:
            mutated = mutate_bytes(self.rng, data)
        f = os.path.join(d, "in.safetensors")
        open(f, "wb").write(mutated)
        out = os.path.join(d, "out.npy")
        args = ["attention", "--q", f, "--k", f, "--v", f, "--out", out]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, [out], d)
        if why is None and r.rc == 0:
            try:
                t = load_file(f)
                want = attention_numpy(*(self.widen(t[name]) for name in "qkv"))
                if not close(np.load(out), want):
                    why = "accepted, but the output differs from attention over what safetensors reads"
            except Exception as e:  # noqa: BLE001
                why = "accepted a file the safetensors package refuses (%s)" % str(e).splitlines()[0][:120]
        self.stats_accept("safetensors", r)
        self.record("safetensors", why is None, why, [f], args)

    def ranged(self):
        """treeattn-mpi (one rank, no mpirun) reads K/V by ranged reads from a header it indexes itself."""
        d = self.scratch()
        safetensors = self.rng.random() < 0.5
        src = self.base + ("/in.safetensors" if safetensors else "/npy/k.npy")
        data = open(src, "rb").read()
        mutated = mutate_bytes(self.rng, data)
        if self.rng.random() < 0.3:  # truncate or extend: the data size must match the header exactly
            mutated = mutated[: self.rng.randrange(len(mutated) + 1)] if self.rng.random() < 0.6 else mutated + b"\0" * self.rng.randrange(1, 64)
        f = os.path.join(d, "in.safetensors" if safetensors else "k.npy")
        open(f, "wb").write(mutated)
        out = os.path.join(d, "out.npy")
        q = src if safetensors else self.base + "/npy/q.npy"
        v = src if safetensors else self.base + "/npy/v.npy"
        args = ["attention", "--q", q, "--k", f, "--v", v, "--out", out]
        r = run(self.mpi_binary, args, self.timeout, d)
        why = self.contract(r, [out], d)
        if why is None and r.rc == 0:
            try:
                if safetensors:
                    t = load_file(f)
                    want = attention_numpy(*(self.widen(x) for x in (load_file(src)["q"], t["k"], load_file(src)["v"])))
                else:
                    want = attention_numpy(np.load(q), np.load(f, allow_pickle=False), np.load(v))
                if not close(np.load(out), want):
                    why = "accepted, but the output differs from attention over what NumPy/safetensors read"
            except Exception as e:  # noqa: BLE001
                why = "accepted a file the Python readers refuse (%s)" % str(e).splitlines()[0][:120]
        self.stats_accept("ranged-read", r)
        self.record("ranged-read", why is None, why, [f], args)

    @staticmethod
    def widen(x):
        with np.errstate(all="ignore"):
            return x.astype(np.float64)

    def golden_folder(self):
        d = self.scratch()
        g = os.path.join(d, "golden")
        shutil.copytree(self.base + "/golden", g)
        victim = os.path.join(g, self.rng.choice(["manifest.json", "tiny-f32.safetensors"]))
        data = open(victim, "rb").read()
        if victim.endswith(".json") and self.rng.random() < 0.7:
            mutated = mutate_header_text(self.rng, data.decode("utf-8")).encode("utf-8", "replace")
        else:
            mutated = mutate_bytes(self.rng, data)
        open(victim, "wb").write(mutated)
        report = os.path.join(d, "report.json")
        args = ["check", "--golden", g, "--results", self.base + "/results", "--json", report]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, [report], d, allow_check_fail=True)
        if why is None and r.rc in (0, 1):
            try:
                json.load(open(report))
            except Exception as e:  # noqa: BLE001
                why = "check wrote an invalid JSON report (%s)" % e
        self.stats_accept("golden-folder", r)
        self.record("golden-folder", why is None, why, [victim], args)

    def suite(self, fmt):
        d = self.scratch()
        src = self.base + "/suite." + fmt
        text = mutate_header_text(self.rng, open(src).read())
        f = os.path.join(d, "suite." + fmt)
        open(f, "w", encoding="utf-8", errors="replace").write(text)
        out = os.path.join(d, "out")
        args = ["golden", "--suite", f, "--dtype", "f32", "--out", out]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, [out], d)
        if why is None and r.rc == 0 and not os.path.isfile(os.path.join(out, "manifest.json")):
            why = "exit 0 without a manifest.json"
        self.stats_accept("suite-" + fmt, r)
        self.record("suite-" + fmt, why is None, why, [f], args)

    def cluster(self):
        d = self.scratch()
        src = self.rng.choice(["two-servers-ib.yaml", "pcie-ring-4.json", "dgx-h100-16.yaml", "cpu-star-4.yaml"])
        text = mutate_header_text(self.rng, open(os.path.join(ROOT, "fixtures/clusters", src)).read())
        f = os.path.join(d, src)
        open(f, "w", encoding="utf-8", errors="replace").write(text)
        args = ["simulate", "cluster", "--cluster", f]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, [], d)
        if why is None and r.rc == 0 and "servers   " not in r.stdout:
            why = "exit 0 without a cluster summary"
        self.stats_accept("cluster", r)
        self.record("cluster", why is None, why, [f], args)

    OPTION_RUNS = [
        ["random-inputs", "--heads", "2", "--kv-heads", "1", "--seq-q", "2", "--seq-k", "5", "--head-dim", "4",
         "--seed", "1", "--std", "1", "--out", "{out}/r"],
        ["attention", "--q", "{base}/npy/q.npy", "--k", "{base}/npy/k.npy", "--v", "{base}/npy/v.npy", "--scale", "0.5",
         "--causal", "bottom-right", "--window", "2,0", "--softcap", "30", "--shards", "3", "--reduction", "binary",
         "--out", "{out}/o.npy", "--lse", "{out}/l.npy"],
        ["attention", "--q", "{base}/npy/q.npy", "--k", "{base}/npy/k.npy", "--v", "{base}/npy/v.npy",
         "--alibi-slopes", "0.5,0.25", "--cache-seqlens", "5", "--out", "{out}/o.npy"],
        ["simulate", "decode", "--cluster", "mi300x", "--strategy", "tree,ring", "--seq-len", "100000", "--heads", "16",
         "--head-dim", "128", "--batch", "1", "--launch-us", "4", "--eta-mem", "0.8"],
        ["simulate", "collective", "--cluster", "dgx-h100:2", "--op", "allreduce", "--algorithm", "ring", "--bytes", "1MB"],
        ["simulate", "collective", "--cluster", "mi300x", "--op", "allreduce", "--algorithm", "hierarchical:tree",
         "--bytes", "1MB", "--segments", "4"],
        ["explain", "--tokens", "8", "--shards", "4", "--seed", "7"],
        ["sweep", "--cluster", "mi300x", "--seq-lens", "80k", "--gpus", "2,4", "--hidden-sizes", "2048", "--quiet",
         "--out", "{out}/sweep"],
        ["golden", "--suite", "{base}/suite.json", "--dtype", "f32", "--out", "{out}/g"],
        ["attention", "--q", "{base}/npy/q.npy", "--k", "{base}/npy/k.npy", "--v", "{base}/npy/v.npy", "--backward",
         "--do", "{base}/npy/q.npy", "--causal", "bottom-right", "--softcap", "5", "--shards", "3", "--reduction", "kary:2",
         "--out", "{out}/o.npy", "--dq", "{out}/dq.npy", "--dk", "{out}/dk.npy", "--dv", "{out}/dv.npy"],
        ["golden", "--suite", "{base}/suite.json", "--dtype", "bf16", "--out", "{out}/g"],
        ["golden", "--suite", "{base}/suite.yaml", "--dtype", "f32", "--backward", "--out", "{out}/g"],
        ["attention", "--q", "{base}/packed/q.npy", "--k", "{base}/packed/k.npy", "--v", "{base}/packed/v.npy",
         "--cu-seqlens-q", "0,2,2,5", "--cu-seqlens-k", "0,4,5,8", "--causal", "bottom-right", "--out", "{out}/o.npy",
         "--lse", "{out}/l.npy"],
        ["explain", "--backward", "--tokens", "8", "--shards", "4", "--tree", "kary:3"],
        ["simulate", "decode", "--cluster", "dgx-h100:2", "--strategy", "tree:ring,ring", "--seq-len", "100000",
         "--heads", "16", "--head-dim", "128", "--step", "training"],
    ]

    def options(self):
        d = self.scratch()
        template = self.rng.choice(self.OPTION_RUNS)
        args = [a.format(base=self.base, out=d) for a in template]
        value_slots = [i for i, a in enumerate(args) if i > 0 and args[i - 1].startswith("--") and "{" not in template[i]]
        for _ in range(self.rng.choice([1, 1, 2])):
            i = self.rng.choice(value_slots)
            choices = [c for c in INTERESTING_NUMBERS + INTERESTING_STRINGS if "\u0000" not in c]  # argv has no NUL
            args[i] = self.rng.choice(choices + [args[i] + "," + args[i], "-" + args[i], args[i] + ":", args[i] + "::x"])
        outputs = [a for a in args if a.startswith(d)]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, outputs, d)
        self.stats_accept("options", r)
        self.record("options", why is None, why, [], args)

    def stats_accept(self, target, r):
        s = self.stats.setdefault(target, {"tried": 0, "accepted": 0, "rejected": 0, "failed": 0})
        if r.rc == 0 or r.rc == 1:
            s["accepted"] += 1
        elif r.rc == 2:
            s["rejected"] += 1

    def step(self):
        target = self.rng.choice(["npy", "npy", "safetensors", "safetensors", "golden", "suite-yaml", "suite-json",
                                  "cluster", "options", "options"] + (["ranged"] if self.mpi_binary else []))
        if target == "ranged":
            self.ranged()
        elif target == "npy":
            self.npy()
        elif target == "safetensors":
            self.safetensors()
        elif target == "golden":
            self.golden_folder()
        elif target == "suite-yaml":
            self.suite("yaml")
        elif target == "suite-json":
            self.suite("json")
        elif target == "cluster":
            self.cluster()
        else:
            self.options()
        shutil.rmtree(os.path.join(self.work, "case%d" % self.case), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--treeattn", default=os.path.join(ROOT, ".build/debug/treeattn"))
    ap.add_argument("--treeattn-mpi", default=None, help="also fuzz treeattn-mpi's ranged reads (one rank, no mpirun)")
    ap.add_argument("--seconds", type=float, default=45)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-rss-mb", type=int, default=1024)
    ap.add_argument("--timeout", type=int, default=30, help="seconds one run may take")
    ap.add_argument("--findings", default=os.path.join(tempfile.gettempdir(), "treeattn-fuzz-findings"))
    args = ap.parse_args()
    binary = os.path.abspath(args.treeattn)
    np.seterr(all="ignore")  # mutated inputs hold NaN and infinities on purpose
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="treeattn-fuzz-")
    try:
        mpi = os.path.abspath(args.treeattn_mpi) if args.treeattn_mpi else None
        fuzzer = Fuzzer(binary, work, args.findings, rng, args.max_rss_mb, args.timeout, mpi)
        start = time.time()
        while time.time() - start < args.seconds:
            fuzzer.step()
        print("%-14s %7s %9s %9s %7s" % ("target", "tried", "accepted", "rejected", "failed"))
        for target in sorted(fuzzer.stats):
            s = fuzzer.stats[target]
            print("%-14s %7d %9d %9d %7d" % (target, s["tried"], s["accepted"], s["rejected"], s["failed"]))
        total = sum(s["tried"] for s in fuzzer.stats.values())
        print("fuzz: seed %d, %d inputs in %.0f s" % (args.seed, total, time.time() - start))
        print("%d passed, %d failed" % (total - len(fuzzer.failures), len(fuzzer.failures)))
        return 1 if fuzzer.failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
