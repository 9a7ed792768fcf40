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
Further surfaces build whole problems and check them against NumPy oracles and the limits:
  * paged: a paged KV cache (--block-table, --cache-seqlens, --page-layout nhd/hnd, .npy or one .safetensors) with
    mutated cache lengths (near 2^63, negative, more than the table holds, a wrong count), block-table entries
    (out of range or negative, in columns a row reads or not), wide tables (up to 2^18 columns of padding), table
    dtypes, and NaN/Inf planted in the slots no row reads (past each row's length, pages no row names). An accepted
    run must print no NaN warning unless NaN sits in a slot a row reads (one control case plants it there), and its
    output and LSE must equal the pages gathered in NumPy (softmax attention, scale 1/sqrt(d));
  * varlen: packed sequences with mutated --cu-seqlens-q/-k (empty sequences, out of order, beyond the rows, huge,
    empty items), against per-sequence attention in NumPy (causal none/top-left/bottom-right); and .npy files that
    are only a header claiming 2^31..2^62 heads with no tokens: they must finish within 10 s;
  * backward: --backward with --shards and every --reduction, against dQ, dK, dV from the textbook formulas in
    NumPy; empty problems from header-only files with 2^31 or more heads must finish within 10 s;
  * time-bounds, time-long: `simulate decode --max-memory 1kB` on 2,049+ servers, a moderately sized attention or
    a large collective under a --max-time of milliseconds or seconds: refused with one line naming the limit; a
    decode simulation of up to 65,536 GPUs under --max-time of 1-5 s must end (finished, refused or stopped with
    one line naming the time limit) within the limit + 20 s; the summary names the longest overrun;
  * output-kinds: every output option (attention --out/--lse/--dk, simulate decode/collective --trace, check --json,
    treeattn-mpi attention --report/--out, treeattn-mpi calibrate --out) pointed at a FIFO, a folder, a UNIX socket
    or (as root) a character device node with /dev/full's numbers, all made in the fuzzer's own folder: refused,
    the node still of its kind; at one of the command's inputs under another spelling (./, sub/.., absolute,
    symlink, hard link): refused, every input byte-identical; at "": refused (calibrate before it measures, 3 s);
    `--trace -` and `--trace /dev/stdout`: the trace JSON on standard output;
  * mpi-options, mpirun-options: treeattn-mpi attention with a bad option (unknown, --repeat 0, bad --reduction),
    as one rank, and a few times a session under `mpirun -np 3` when mpirun is installed: exit 2, exactly one
    stderr line starting with `Error:` (mpirun's own lines aside) and no crash text.
Each new surface runs once first, then all are drawn at random (the slow ones, time-long and mpirun-options,
rarely). Every case draws from its own generator (seed and case number), so a failure names its replay:
`--seed S --replay TARGET:CASE` reruns that case alone (`--verbose` prints every command).

Every failing input is saved under --findings with the command that failed. Prints a table of inputs tried (and
seconds spent) per target and 'N passed, N failed'; exit 1 on any failure.

`make test` runs it for 15 s (seed 1); `make fuzz` for 10 minutes.
"""
import argparse
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from safetensors.numpy import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTERESTING_NUMBERS = ["0", "-1", "1", "-0", "2147483647", "2147483648", "4294967296", "9223372036854775807",
                       "9223372036854775808", "-9223372036854775808", "1e308", "1e-320", "nan", "inf", "-inf",
                       "4.0", "0x10", "1_000", "", "65536", "16777217", "1e9", "3.5", "\"7\"", "null", "true"]
INTERESTING_STRINGS = ["", " ", "\n", "\u0000", "\u001b[31m", "é", "\"", "\\", "'", "{", "[", "*a", "&a", "---",
                       "~", "..", "/", "A" * 300]


class Run:
    def __init__(self, rc, stdout, stderr, rss_mb, seconds, signal):
        self.rc, self.stdout, self.stderr, self.rss_mb, self.seconds, self.signal = rc, stdout, stderr, rss_mb, seconds, signal


def run(binary, args, timeout, cwd, group=False):
    """Runs the CLI; returns exit status, output, the child's peak RSS (MB) and whether a signal ended it. With
    group, the child leads its own process group, and a timeout kills the group (mpirun and its ranks)."""
    start = time.time()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([binary] + args, stdout=out, stderr=err, cwd=cwd, stdin=subprocess.DEVNULL,
                             start_new_session=group)
        deadline = start + timeout
        status, usage = None, None
        while True:
            pid, st, ru = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                status, usage = st, ru
                break
            if time.time() > deadline:
                if group:
                    os.killpg(p.pid, signal.SIGKILL)
                else:
                    p.kill()
                _, status, usage = os.wait4(p.pid, 0)
                return Run(None, "", "timeout", usage.ru_maxrss / 1024, time.time() - start, None)
            time.sleep(0.002)
        p.returncode = 0
        out.seek(0)
        err.seek(0)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        return Run(rc, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   usage.ru_maxrss / 1024, time.time() - start, sig)


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


def masked_attention(q, k, v, allowed=None):
    """Attention of one batch row in f64: q (heads, sq, d), k and v (kv_heads, sk, d); allowed (sq, sk) or None.
    Returns the output (heads, sq, dv) and the LSE (heads, sq); a row with no key is 0 with LSE -inf."""
    q, k, v = (np.asarray(x, dtype=np.float64) for x in (q, k, v))
    heads, sq, sk = q.shape[0], q.shape[1], k.shape[1]
    out, lse = np.zeros((heads, sq, v.shape[-1])), np.full((heads, sq), -np.inf)
    if allowed is None:
        allowed = np.ones((sq, sk), dtype=bool)
    live = allowed.any(axis=-1)
    if sq == 0 or sk == 0 or not live.any():
        return out, lse
    group = heads // k.shape[0]
    k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    s = np.where(allowed[None], np.einsum("hqd,hkd->hqk", q, k) / np.sqrt(q.shape[-1]), -np.inf)
    s = s[:, live]
    m = s.max(axis=-1, keepdims=True)
    p = np.exp(s - m)
    total = p.sum(axis=-1, keepdims=True)
    out[:, live] = np.einsum("hqk,hkd->hqd", p / total, v)
    lse[:, live] = (m + np.log(total))[..., 0]
    return out, lse


def causal_mask(sq, sk, causal):
    """FlashAttention's causal alignments for one sequence: top-left (key j <= query i) or bottom-right."""
    i, j = np.arange(sq)[:, None], np.arange(sk)[None, :]
    if causal == "top-left":
        return j <= i
    if causal == "bottom-right":
        return j <= i + (sk - sq)
    return np.ones((sq, sk), dtype=bool)


def paged_numpy(q, k_cache, v_cache, table, lengths, layout):
    """Paged KV cache attention: row b reads its first ceil(L_b / page_size) pages from its block-table row, keeps
    the first L_b keys; pages (num_pages, page_size, kv_heads, d) for nhd, (num_pages, kv_heads, page_size, d) hnd."""
    if layout == "hnd":
        k_cache, v_cache = k_cache.transpose(0, 2, 1, 3), v_cache.transpose(0, 2, 1, 3)
    page = k_cache.shape[1]
    outs, lses = [], []
    for b, length in enumerate(lengths):
        pages = table[b, :-(-length // page)]
        k = k_cache[pages].reshape(-1, *k_cache.shape[2:])[:length].transpose(1, 0, 2)
        v = v_cache[pages].reshape(-1, *v_cache.shape[2:])[:length].transpose(1, 0, 2)
        o, l = masked_attention(q[b], k, v)
        outs.append(o)
        lses.append(l)
    return np.stack(outs), np.stack(lses)


def varlen_numpy(q, k, v, cu_q, cu_k, causal):
    """Packed variable-length attention: q (total_q, heads, d), k/v (total_k, kv_heads, d); rows past the last
    offset are 0 with LSE -inf. Returns the output (total_q, heads, dv) and the LSE (heads, total_q)."""
    out = np.zeros((q.shape[0], q.shape[1], v.shape[-1]))
    lse = np.full((q.shape[1], q.shape[0]), -np.inf)
    for i in range(len(cu_q) - 1):
        a, b, c, e = cu_q[i], cu_q[i + 1], cu_k[i], cu_k[i + 1]
        o, l = masked_attention(q[a:b].transpose(1, 0, 2), k[c:e].transpose(1, 0, 2), v[c:e].transpose(1, 0, 2),
                                causal_mask(b - a, e - c, causal))
        out[a:b] = o.transpose(1, 0, 2)
        lse[:, a:b] = l
    return out, lse


def backward_numpy(q, k, v, do, causal):
    """Output and gradients dQ, dK, dV of softmax attention (bhsd, GQA by head groups, scale 1/sqrt(d)) for the
    upstream gradient dO, from the textbook formulas: dV = P^T dO, dS = P (dO V^T - rowsum(dO O)), dQ = scale dS K,
    dK = scale dS^T Q; a query with no key contributes nothing."""
    q, k, v, do = (np.asarray(x, dtype=np.float64) for x in (q, k, v, do))
    group = q.shape[1] // max(k.shape[1], 1)
    scale = 1 / np.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    kk, vv = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    allowed = causal_mask(q.shape[2], k.shape[2], causal)
    s = np.where(allowed, np.einsum("bhqd,bhkd->bhqk", q, kk) * scale, -np.inf)
    live = allowed.any(axis=-1)[None, None, :, None]
    m = np.where(live, s.max(axis=-1, keepdims=True, initial=-np.inf), 0)
    p = np.exp(s - m)
    p = np.where(live, p / np.where(live, p.sum(axis=-1, keepdims=True), 1), 0)
    o = np.einsum("bhqk,bhkd->bhqd", p, vv)
    ds = p * (np.einsum("bhqd,bhkd->bhqk", do, vv) - (do * o).sum(axis=-1, keepdims=True))
    dq = np.einsum("bhqk,bhkd->bhqd", ds, kk) * scale
    dk = np.einsum("bhqk,bhqd->bhkd", ds, q) * scale
    dv = np.einsum("bhqk,bhqd->bhkd", p, do)
    fold = lambda x: x.reshape(x.shape[0], k.shape[1], group, *x.shape[2:]).sum(axis=2)  # noqa: E731
    return o, dq, fold(dk), fold(dv)


def npy_header(path, shape, descr="<f8"):
    """Writes an .npy file that is only a header (version 1.0): no data, so it is valid only when a dimension is 0."""
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin-1"))


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def npy_shape(path):
    """The shape an .npy header declares (without reading or allocating the data), or None."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            return reader(f, max_header_size=1 << 20)[0]
    except Exception:  # noqa: BLE001
        return None


# ---------------------------------------------------------------- the fuzzer

class Fuzzer:
    def __init__(self, binary, work, findings, seed, max_rss_mb, timeout, mpi_binary=None, mpirun=None):
        self.binary, self.work, self.findings, self.seed = binary, work, findings, seed
        self.pick = random.Random(seed)  # chooses the targets; each case draws from its own generator (case_rng)
        self.rng = self.case_rng(1)
        self.mpi_binary, self.mpirun = mpi_binary, mpirun
        self.max_rss_mb, self.timeout = max_rss_mb, timeout
        self.quick = min(10, timeout)  # seconds an empty problem or an early refusal may take
        self.stats = {}
        self.started = time.time()  # when the current case started (for the seconds per target)
        self.failures = []
        self.case = 0
        self.target = None
        self.mpirun_runs = 0
        self.verbose, self.last = False, None
        self.only = None  # --targets: draw only these
        self.overrun = (0.0, "")  # the longest a run went past its --max-time (seconds, command)
        # Each new surface runs once first, so even `make test`'s 15 s covers all of them.
        self.first = ["paged", "varlen", "backward", "time-bounds", "time-long", "output-kinds"]
        if mpi_binary:
            self.first.append("mpi-options")
            if mpirun:
                self.first.append("mpirun-options")
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
        os.makedirs(b + "/big")  # a moderately sized problem, for the time limit
        for name, shape in (("q", (1, 4, 256, 64)), ("k", (1, 4, 2048, 64)), ("v", (1, 4, 2048, 64))):
            np.save(b + "/big/%s.npy" % name, rng.normal(size=shape))

    # -- bookkeeping

    def case_rng(self, case):
        """The generator of case `case`: seeded by the run's seed and the case number only, so `--replay` can
        rebuild one case without the ones before it."""
        return random.Random("%d/%d" % (self.seed, case))

    def record(self, target, ok, why, files, args, program="treeattn"):
        s = self.stats.setdefault(target, {"tried": 0, "accepted": 0, "rejected": 0, "failed": 0})
        s["tried"] += 1
        s["seconds"] = s.get("seconds", 0) + time.time() - self.started
        self.started = time.time()
        if self.verbose and self.last is not None:
            r, self.last = self.last, None
            print("%s #%d: exit %s in %.2f s: %s %s | %s" % (target, self.case, r.rc, r.seconds, program,
                                                         " ".join(shlex.quote(a) for a in args),
                                                         (r.stderr.strip().splitlines() or [""])[-1][:160]))
        if not ok:
            s["failed"] += 1
            folder = os.path.join(self.findings, "%s-%d" % (target, self.case))
            os.makedirs(folder, exist_ok=True)
            for f in files:
                if os.path.isfile(f):
                    shutil.copy(f, folder)
            replay = "--seed %d --replay %s:%d" % (self.seed, self.target or target, self.case)
            with open(os.path.join(folder, "command.txt"), "w") as fh:
                fh.write(program + " " + " ".join(shlex.quote(a) for a in args) + "\n" + why + "\n"
                         + "reproduce: python3 python/fuzz.py " + replay + "\n")
            self.failures.append("%s #%d (seed %d; %s): %s (saved in %s)" % (target, self.case, self.seed, replay, why,
                                                                              folder))
            print("FAIL:", self.failures[-1])

    def contract(self, r, outputs, scratch, allow_check_fail=False, timeout=None):
        """The checks every run must pass; returns an error string or None."""
        if r.rc is None and r.signal is None:
            return "hang: no exit within %g s" % (timeout or self.timeout)
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
        # Issue 25: sinks, sink tokens, dlse (here a file of the wrong shape unless mutated) and dsinks.
        ["attention", "--q", "{base}/npy/q.npy", "--k", "{base}/npy/k.npy", "--v", "{base}/npy/v.npy", "--sinks", "0.5,-1",
         "--sink-tokens", "2", "--window", "1,0", "--causal", "bottom-right", "--shards", "3", "--reduction", "ring",
         "--out", "{out}/o.npy", "--lse", "{out}/l.npy"],
        ["attention", "--q", "{base}/npy/q.npy", "--k", "{base}/npy/k.npy", "--v", "{base}/npy/v.npy", "--backward",
         "--do", "{base}/npy/q.npy", "--dlse", "{base}/npy/q.npy", "--sinks", "1,2", "--dsinks", "{out}/ds.npy",
         "--out", "{out}/o.npy", "--dq", "{out}/dq.npy", "--dk", "{out}/dk.npy", "--dv", "{out}/dv.npy"],
        ["explain", "--sinks", "--sink-logit", "2", "--shards", "3"],
        ["simulate", "prefill", "--cluster", "dgx-h100", "--strategy", "ring,zigzag,pass-q", "--seq-len", "65536",
         "--heads", "16", "--kv-heads", "4", "--head-dim", "128"],
        ["simulate", "decode", "--cluster", "dgx-h100:2", "--strategy", "pass-q,all-gather", "--seq-len", "100000",
         "--batch", "16", "--heads", "16", "--head-dim", "128"],
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
        # Every command here takes --max-time: a value that makes legitimate but long work (16777217 keys of
        # random-inputs in a debug build) must end in the time-limit error well within the run's timeout.
        args += ["--max-time", "%ds" % max(5, self.timeout - 10)]
        outputs = [a for a in args if a.startswith(d)]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, outputs, d)
        self.stats_accept("options", r)
        self.record("options", why is None, why, [], args)

    # -- paged KV cache, varlen and backward (issue 12)

    HUGE_LENGTHS = ["9223372036854775807", "9223372036854775808", "9223372036854775806", "-9223372036854775808",
                    "4611686018427387904", "18446744073709551615", "18446744073709551616", "2147483648", "4294967296",
                    "9007199254740993", "1e19", "-1", "-7"]

    def paged(self):
        """A paged KV cache with mutated cache lengths, block-table entries, widths and dtypes, and NaN/Inf planted in
        the slots no row reads (or, as a control, in one a row reads)."""
        d = self.scratch()
        rng = self.rng
        nrng = np.random.default_rng(rng.getrandbits(32))
        batch, kv, group = rng.randint(1, 3), rng.choice([1, 2]), rng.choice([1, 2])
        dim, page = rng.choice([1, 4, 8]), rng.choice([1, 2, 4, 16])
        pages, blocks = rng.randint(1, 8), rng.randint(1, 4)
        sq, layout, int64 = rng.choice([1, 1, 2]), rng.choice(["nhd", "hnd"]), rng.random() < 0.5
        lengths = [rng.randint(0, blocks * page) for _ in range(batch)]
        texts = [str(n) for n in lengths]
        table = nrng.integers(0, pages, size=(batch, blocks))
        mutations = set(rng.sample(["nan-unused", "nan-used", "length", "table", "wide", "dtype"],
                                   rng.choice([0, 1, 1, 2, 2, 3])))
        if rng.random() < 0.5:
            mutations.add("nan-unused")  # the class this surface is for: most runs hide NaN where no row reads
        # What the oracle expects: invalid inputs must be refused; `either` marks implementation-defined ones
        # (garbage in block-table columns no row reads, unusual table dtypes); anything else must be accepted.
        invalid, either, notes = False, False, []
        if "wide" in mutations:  # a wide table: the columns past what each row reads are padding
            width = rng.choice([64, 1000, 4096, 65536, 2 ** 18])
            pad = rng.choice(["zero", "in-range", "minus-one", "garbage"])
            fill = {"zero": lambda: np.zeros((batch, width - blocks), dtype=np.int64),
                    "in-range": lambda: nrng.integers(0, pages, size=(batch, width - blocks)),
                    "minus-one": lambda: np.full((batch, width - blocks), -1),
                    "garbage": lambda: nrng.integers(-2 ** 31, 2 ** 31 - 1, size=(batch, width - blocks))}[pad]()
            table = np.concatenate([table, fill], axis=1)
            if pad in ("zero", "in-range") and rng.random() < 0.5:  # a row that reads far into the wide table
                b = rng.randrange(batch)
                lengths[b] = rng.randint(0, min(width * page, 300))
                texts[b] = str(lengths[b])
            either = either or pad in ("minus-one", "garbage")
            notes.append("table %d columns wide (%s padding)" % (width, pad))
        capacity = table.shape[1] * page
        if "length" in mutations:
            b = rng.randrange(batch)
            kind = rng.choice(["huge", "huge", "over", "count", "edge", "negative"])
            if kind == "huge":
                texts[b] = rng.choice(self.HUGE_LENGTHS)
            elif kind == "over":
                texts[b] = str(capacity + rng.randint(1, 2 * page))
            elif kind == "negative":
                texts[b] = "-%d" % rng.randint(1, 9)
            elif kind == "count":
                texts = texts[:-1] if rng.random() < 0.5 else texts + [str(rng.randint(0, capacity))]
            else:  # 0, or all the table holds (the original columns' worth when the table is wide)
                lengths[b] = rng.choice([0, capacity if capacity <= 4096 else blocks * page])
                texts[b] = str(lengths[b])
            invalid = invalid or kind != "edge"
            notes.append("cache lengths %s (%s)" % (",".join(texts), kind))
        needed = [-(-n // page) for n in lengths]  # block-table columns each row reads
        if "table" in mutations:
            bad = [pages, pages + rng.randint(1, 9), -1, -rng.randint(2, 99), 2 ** 31 - 1, -2 ** 31]
            if int64:
                bad += [2 ** 32, 2 ** 40, 2 ** 53 + 1, 2 ** 62, 2 ** 63 - 1, -2 ** 63]
            value = rng.choice(bad)
            used = [(b, j) for b in range(batch) for j in range(needed[b])]
            if used and rng.random() < 0.7:
                b, j = rng.choice(used)
                invalid = True
            else:
                unused = [(b, j) for b in range(batch) for j in range(needed[b], table.shape[1])]
                if not unused:
                    table = np.concatenate([table, np.zeros((batch, 1), dtype=table.dtype)], axis=1)
                    unused = [(b, table.shape[1] - 1) for b in range(batch)]
                b, j = rng.choice(unused)
                either = True
            table = table.astype(np.int64)
            table[b, j] = value
            notes.append("block table [%d, %d] = %d (%s)" % (b, j, value, "read" if invalid else "not read"))
        descr = "<i8" if int64 else "<i4"
        if "dtype" in mutations:
            descr = rng.choice(["<f8", "<f4", "<u4", "<i2", "|u1", "|b1", ">i8"])
            if descr in ("<f8", "<f4"):
                invalid = True
            else:
                # A narrower integer dtype wraps the entries (2^40 as u1 is 0): a planted bad entry may have become
                # valid, so either outcome is right.
                invalid, either = False, True
            notes.append("block table dtype %s" % descr)
        with np.errstate(all="ignore"):
            table_file = table.astype(np.dtype(descr))
        table = table_file.astype(np.int64)  # what a reader of the file sees (a narrower dtype wraps)
        shape = (pages, page, kv, dim)
        k_cache, v_cache = nrng.normal(size=shape), nrng.normal(size=shape)
        nan_used = False
        if "nan-unused" in mutations or "nan-used" in mutations:
            if "nan-unused" in mutations and "table" not in mutations and rng.random() < 0.5:  # pages no row names
                extra = rng.randint(1, 2)
                k_cache = np.concatenate([k_cache, nrng.normal(size=(extra,) + shape[1:])])
                v_cache = np.concatenate([v_cache, nrng.normal(size=(extra,) + shape[1:])])
            reads = np.zeros(k_cache.shape[:2], dtype=bool)  # (page, slot) pairs some row reads
            for b in range(batch):
                for j in range(min(needed[b], table.shape[1])):
                    if 0 <= table[b, j] < len(reads):
                        reads[table[b, j], :min(page, lengths[b] - j * page)] = True
            unread, read = np.argwhere(~reads), np.argwhere(reads)
            if "nan-unused" in mutations and len(unread):
                if rng.random() < 0.7:  # a few slots, else all of them
                    unread = unread[nrng.choice(len(unread), min(len(unread), rng.randint(1, 8)), replace=False)]
                for pg, slot in unread:
                    for cache in rng.choice([[k_cache], [v_cache], [k_cache, v_cache]]):
                        value = rng.choice([np.nan, np.inf, -np.inf])
                        if rng.random() < 0.5:
                            cache[pg, slot] = value
                        else:
                            cache[pg, slot, rng.randrange(kv), rng.randrange(dim)] = value
                notes.append("NaN/Inf in %d unread slots" % len(unread))
            if "nan-used" in mutations and len(read):
                pg, slot = read[rng.randrange(len(read))]
                rng.choice([k_cache, v_cache])[pg, slot, rng.randrange(kv), rng.randrange(dim)] = np.nan
                nan_used = True
                notes.append("NaN in read slot (page %d, slot %d)" % (pg, slot))
        q = nrng.normal(size=(batch, kv * group, sq, dim))
        stored = lambda x: np.ascontiguousarray(x.transpose(0, 2, 1, 3)) if layout == "hnd" else x  # noqa: E731
        if "dtype" not in mutations and rng.random() < 0.2:  # one safetensors file holds all four tensors
            f = os.path.join(d, "kv.safetensors")
            save_file({"q": q, "k_cache": stored(k_cache), "v_cache": stored(v_cache), "block_table": table_file}, f)
            files, inputs = [f], ["--q", f, "--k", f, "--v", f, "--block-table", f]
        else:
            files = [os.path.join(d, n + ".npy") for n in ("q", "k", "v", "bt")]
            for path, x in zip(files, (q, stored(k_cache), stored(v_cache), table_file)):
                np.save(path, x)
            inputs = ["--q", files[0], "--k", files[1], "--v", files[2], "--block-table", files[3]]
        out, lse = os.path.join(d, "out.npy"), os.path.join(d, "lse.npy")
        lengths_text = ",".join(texts)
        args = (["attention"] + inputs
                + (["--cache-seqlens=" + lengths_text] if lengths_text[:1] in ("-", "") and rng.random() < 0.7
                   else ["--cache-seqlens", lengths_text])
                + ([] if layout == "nhd" and rng.random() < 0.3 else ["--page-layout", layout]) + ["--out", out])
        with_lse = rng.random() < 0.5
        if with_lse:
            args += ["--lse", lse]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, [out, lse], d)
        if why is None and r.rc == 0 and invalid:
            why = "accepted an invalid paged cache: %s" % "; ".join(notes)
        elif why is None and r.rc == 2 and not invalid and not either:
            why = "refused a valid paged cache (%s): %s" % ("; ".join(notes) or "unmutated", r.stderr.strip()[:160])
        elif why is None and r.rc == 0:
            warned, what = "NaN" in r.stderr, "; ".join(notes) or "unmutated"
            outside = [(b, table[b, j]) for b in range(batch) for j in range(needed[b])
                       if not 0 <= table[b, j] < len(k_cache)]
            if nan_used and not warned:
                why = "no NaN warning, with NaN in a slot a row reads (%s)" % what
            elif warned and not nan_used:
                why = "NaN warning with NaN/Inf only in slots no row reads (%s): %s" % (what, r.stderr.strip()[:200])
            elif outside:
                why = "accepted a block table whose row %d names page %d, outside 0..<%d (%s)" % (
                    outside[0] + (len(k_cache), what))
            else:
                want_out, want_lse = paged_numpy(q, k_cache, v_cache, table, lengths, "nhd")
                if not close(np.load(out), want_out):
                    why = "the output differs from the NumPy gather of the pages (%s)" % what
                elif with_lse and not close(np.load(lse), want_lse):
                    why = "the LSE differs from the NumPy gather of the pages (%s)" % what
        self.stats_accept("paged", r)
        self.record("paged", why is None, why, files, args)

    @staticmethod
    def cu_valid(texts, total):
        """The oracle's reading of a --cu-seqlens list: integers from 0, non-decreasing, ending within the rows."""
        if not all(re.fullmatch(r"-?[0-9]+", t) for t in texts):
            return None
        values = [int(t) for t in texts]
        ok = (len(values) >= 2 and values[0] == 0 and values[-1] <= total
              and all(a <= b for a, b in zip(values, values[1:])))
        return values if ok else None

    def varlen(self):
        """Packed variable-length attention with mutated --cu-seqlens (empty sequences, out of order, beyond the rows,
        huge), and .npy headers that claim a huge head count with no tokens (no data at all)."""
        d = self.scratch()
        rng = self.rng
        nrng = np.random.default_rng(rng.getrandbits(32))
        out, lse = os.path.join(d, "out.npy"), os.path.join(d, "lse.npy")
        files = [os.path.join(d, n + ".npy") for n in "qkv"]
        causal = rng.choice(["none", "none", "top-left", "bottom-right"])
        if rng.random() < 0.25:  # header only: a huge head count, no tokens (or no dim), no data
            heads = rng.choice([2 ** 31, 2 ** 32 + 2, 2 ** 40, 2 ** 62])
            kv = rng.choice([heads, heads // 2, 1])
            tokens_q, tokens_k = rng.choice([0, 0, 0, 3]), rng.choice([0, 0, 5])
            dim = rng.choice([0, 0, 8, 128]) if tokens_q or tokens_k else rng.choice([0, 8, 128])
            for path, shape in zip(files, ((tokens_q, heads, dim), (tokens_k, kv, dim), (tokens_k, kv, dim))):
                npy_header(path, shape)
            n = rng.randint(1, 3)
            cu_q, cu_k = [0] * n + [tokens_q], [0] * n + [tokens_k]
            args = ["attention", "--q", files[0], "--k", files[1], "--v", files[2], "--cu-seqlens-q",
                    ",".join(map(str, cu_q)), "--cu-seqlens-k", ",".join(map(str, cu_k)), "--causal", causal,
                    "--out", out] + (["--lse", lse] if rng.random() < 0.5 else [])
            r = run(self.binary, args, self.timeout, d)
            why = self.contract(r, [out, lse], d)
            if why is None and r.seconds > self.quick:
                why = "took %.1f s on a problem with no data (%d heads)" % (r.seconds, heads)
            if why is None and r.rc == 0 and npy_shape(out) != (tokens_q, heads, dim):
                why = "output shape %s, expected %s" % (npy_shape(out), (tokens_q, heads, dim))
            if why is None and r.rc == 0 and "--lse" in args and npy_shape(lse) != (heads, tokens_q):
                why = "LSE shape %s, expected %s" % (npy_shape(lse), (heads, tokens_q))
            self.stats_accept("varlen", r)
            self.record("varlen", why is None, why, files, args)
            return
        kv, group, dim = rng.choice([1, 2]), rng.choice([1, 2]), rng.choice([1, 3, 4])
        n = rng.randint(1, 4)
        cu_q = [0] + list(np.cumsum([rng.choice([0, 1, 2, 3, 4]) for _ in range(n)]))
        cu_k = [0] + list(np.cumsum([rng.choice([0, 1, 2, 5]) for _ in range(n)]))
        total_q, total_k = cu_q[-1] + rng.choice([0, 0, 0, 1, 2]), cu_k[-1] + rng.choice([0, 0, 1])
        texts = [[str(x) for x in cu_q], [str(x) for x in cu_k]]
        notes = []
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            side = rng.randrange(2)
            t = texts[side]
            total = (total_q, total_k)[side]
            kind = rng.choice(["swap", "replace", "replace", "drop-first", "drop", "dup", "extend", "empty-item",
                               "shorten"])
            i = rng.randrange(len(t))
            if kind == "swap" and len(t) > 1:
                j = rng.randrange(len(t))
                t[i], t[j] = t[j], t[i]
            elif kind == "replace":
                t[i] = str(rng.choice([0, 1, total, total + 1, -1, -rng.randint(2, 9), 2 ** 31, 2 ** 32, 2 ** 53 + 1,
                                       2 ** 63 - 1, 2 ** 63, -2 ** 63, 2 ** 64]))
            elif kind == "drop-first":
                del t[0]
            elif kind == "drop":
                del t[i]
            elif kind == "dup":
                t.insert(i, t[i])
            elif kind == "extend":
                t.append(str(total + rng.randint(1, 3)))
            elif kind == "empty-item":
                t.insert(i, "")
            else:
                del t[1:]
            notes.append("%s of cu_seqlens_%s" % (kind, "qk"[side]))
        want_q, want_k = self.cu_valid(texts[0], total_q), self.cu_valid(texts[1], total_k)
        valid = want_q is not None and want_k is not None and len(want_q) == len(want_k)
        q = nrng.normal(size=(total_q, kv * group, dim))
        k, v = nrng.normal(size=(total_k, kv, dim)), nrng.normal(size=(total_k, kv, dim))
        for path, x in zip(files, (q, k, v)):
            np.save(path, x)
        args = ["attention", "--q", files[0], "--k", files[1], "--v", files[2]]
        for name, t in zip(("--cu-seqlens-q", "--cu-seqlens-k"), texts):
            text = ",".join(t)
            args += [name + "=" + text] if text[:1] in ("-", "") or rng.random() < 0.2 else [name, text]
        args += ["--causal", causal, "--out", out]
        with_lse = rng.random() < 0.5
        if with_lse:
            args += ["--lse", lse]
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, [out, lse], d)
        if why is None and r.rc == 0 and not valid:
            why = "accepted invalid cu_seqlens (%s)" % "; ".join(notes)
        elif why is None and r.rc == 2 and valid:
            why = "refused valid cu_seqlens (%s): %s" % ("; ".join(notes) or "unmutated", r.stderr.strip()[:200])
        elif why is None and r.rc == 0:
            want_out, want_lse = varlen_numpy(q, k, v, want_q, want_k, causal)
            if not close(np.load(out), want_out):
                why = "the output differs from per-sequence attention in NumPy (%s)" % ("; ".join(notes) or "unmutated")
            elif with_lse and not close(np.load(lse), want_lse):
                why = "the LSE differs from per-sequence attention in NumPy (%s)" % ("; ".join(notes) or "unmutated")
        self.stats_accept("varlen", r)
        self.record("varlen", why is None, why, files, args)

    REDUCTIONS = ["exact", "binary", "ring", "flat", "algorithm3", "kary:3", "two-level:2"]

    def backward(self):
        """--backward on small problems (dQ, dK, dV against the textbook formulas in NumPy) and on empty ones whose
        .npy headers claim 2^31 or more heads with no tokens and no data: those must finish at once."""
        d = self.scratch()
        rng = self.rng
        nrng = np.random.default_rng(rng.getrandbits(32))
        files = [os.path.join(d, n + ".npy") for n in ("q", "k", "v", "do")]
        outs = [os.path.join(d, n + ".npy") for n in ("out", "dq", "dk", "dv")]
        causal = rng.choice(["none", "none", "top-left", "bottom-right"])
        shards = rng.choice([1, 1, 2, 3, 4, 8])
        reductions = self.REDUCTIONS[1:] if shards > 1 else self.REDUCTIONS  # exact is one shard's
        extra = []
        if shards > 1 or rng.random() < 0.3:
            extra = ["--shards", str(shards), "--reduction", rng.choice(reductions)]
        empty, mismatch = rng.random() < 0.4, False
        if empty:  # headers only
            heads = rng.choice([2 ** 31, 2 ** 31 + 2, 2 ** 32, 2 ** 40])
            kv = rng.choice([heads, heads // 2, 1])
            b, sq, sk, dim = rng.choice([0, 1, 2]), rng.choice([0, 0, 3]), rng.choice([0, 0, 4]), rng.choice([0, 8, 8])
            if b and sq and dim and rng.random() < 0.8:
                sq = 0
            shapes = [(b, heads, sq, dim), (b, kv, sk, dim), (b, kv, sk, dim), (b, heads, sq, dim)]
            for path, shape in zip(files, shapes):
                npy_header(path, shape)
        else:
            kv, group, dim = rng.choice([1, 2]), rng.choice([1, 2]), rng.randint(1, 6)
            b, sq, sk = rng.randint(1, 2), rng.randint(0, 4), rng.randint(0, 6)
            q, k, v = (nrng.normal(size=(b, h, s, dim)) for h, s in ((kv * group, sq), (kv, sk), (kv, sk)))
            do = nrng.normal(size=q.shape)
            mismatch = rng.random() < 0.15
            if mismatch:  # dO not of the output's shape
                do = nrng.normal(size=(b, kv * group, sq + 1, dim))
            shapes = [x.shape for x in (q, k, v, do)]
            for path, x in zip(files, (q, k, v, do)):
                np.save(path, x)
        args = ["attention", "--q", files[0], "--k", files[1], "--v", files[2], "--backward", "--do", files[3],
                "--causal", causal, "--out", outs[0], "--dq", outs[1], "--dk", outs[2], "--dv", outs[3]] + extra
        r = run(self.binary, args, self.timeout, d)
        why = self.contract(r, outs, d)
        if why is None and empty and r.seconds > self.quick:
            why = "took %.1f s on an empty problem (%s)" % (r.seconds, shapes[0])
        if why is None and r.rc == 0:
            want = [shapes[0][:3] + (shapes[2][3],), shapes[0], shapes[1], shapes[2]]
            got = [npy_shape(o) for o in outs]
            if got != want:
                why = "output shapes %s, expected %s" % (got, want)
            elif not empty and mismatch:
                why = "accepted a dO of shape %s for an output of shape %s" % (shapes[3], want[0])
            elif not empty:
                for name, path, x in zip(("output", "dQ", "dK", "dV"), outs, backward_numpy(q, k, v, do, causal)):
                    if not close(np.load(path), x):
                        why = "%s differs from the NumPy backward" % name
                        break
        elif why is None and r.rc == 2 and not empty and not mismatch:
            why = "refused a valid backward problem: %s" % r.stderr.strip()[:200]
        self.stats_accept("backward", r)
        self.record("backward", why is None, why, files, args)

    # -- time and memory limits

    def limited(self, args, r, d, outputs, need=None, limit=None):
        """The verdict on a run under --max-time `limit` seconds (it was given limit + 20 s) or --max-memory: the
        contract, and an error that is the limit's one line; `need` ("time limit", "memory limit") when the run
        must be refused. Keeps the longest overrun of a time limit for the summary."""
        why = self.contract(r, outputs, d, timeout=limit + 20 if limit else None)
        if why is None and need and r.rc != 2:
            why = "not refused (exit %d): want one line naming the %s" % (r.rc, need)
        elif why is None and r.rc == 2 and (need or "time limit") not in r.stderr:
            why = "refused, but not for the %s: %s" % (need or "time limit", r.stderr.strip()[:200])
        if limit and r.rc is not None and r.seconds - limit > self.overrun[0]:
            self.overrun = (r.seconds - limit, "treeattn " + " ".join(args))
        return why

    def time_bounds(self):
        """Work refused before it starts: a simulation whose memory estimate is above --max-memory, a moderately
        sized attention under a --max-time of milliseconds, and collectives whose estimate is above --max-time."""
        d = self.scratch()
        rng = self.rng
        kind = rng.choice(["memory", "attention", "attention", "collective"])
        outputs, need, limit = [], None, None
        if kind == "memory":
            servers = rng.choice([2049, rng.randint(2049, 4096), rng.randint(2049, 8192)])
            args = ["simulate", "decode", "--cluster", "dgx-h100:%d" % servers, "--seq-len",
                    str(rng.choice([64, 4096, 100000])), "--heads", "8", "--head-dim", "64", "--quiet", "--max-memory",
                    rng.choice(["1kB", "1B", "512", "100kB", "1MB", "1KiB", "0.5MB"])]
            args += rng.choice([["--backward"], ["--step", "training"], ["--backward"]])
            need = "memory limit"
        elif kind == "collective":
            limit = rng.choice([1, 2])
            op, algorithm = rng.choice([("allreduce", "ring"), ("allreduce", "tree"), ("allgather", "ring"),
                                        ("reducescatter", "ring")])
            args = ["simulate", "collective", "--cluster", "dgx-h100:%d" % rng.choice([1024, 2048, 4096, 8192]),
                    "--op", op, "--algorithm", algorithm, "--bytes", rng.choice(["1MB", "1GB", "4GB"]), "--max-time",
                    "%ds" % limit]
        else:
            b = self.base + "/big"
            outputs = [os.path.join(d, n + ".npy") for n in ("out", "dq", "dk", "dv")]
            args = ["attention", "--q", b + "/q.npy", "--k", b + "/k.npy", "--v", b + "/v.npy", "--out", outputs[0],
                    "--max-time", rng.choice(["1ms", "2ms", "5ms", "0.001s", "0.002"])]
            args += rng.choice([[], ["--shards", "4", "--reduction", "ring"], ["--precision", "f32"],
                                ["--causal", "bottom-right"],
                                ["--backward", "--do", b + "/q.npy", "--dq", outputs[1], "--dk", outputs[2], "--dv",
                                 outputs[3]]])
            need = "time limit"
        r = run(self.binary, args, limit + 20 if limit else self.timeout, d)
        why = self.limited(args, r, d, outputs, need, limit)
        self.stats_accept("time-bounds", r)
        self.record("time-bounds", why is None, why, [], args)

    def time_long(self):
        """A simulation that would run for minutes, under a --max-time of seconds: it must finish in time, or be
        refused or stopped with one line naming the time limit, within about the limit (it gets limit + 20 s)."""
        d = self.scratch()
        rng = self.rng
        if self.case <= 8:  # the first pass, within `make test`'s 15 s: smaller clusters, shorter limits
            cluster = rng.choice(["dgx-h100:512", "dgx-h100:1024", "dgx-h100-3tier:2048"])
            limit = rng.choice([1, 2])
        else:
            cluster = rng.choice(["dgx-h100:%d" % n for n in (1024, 2048, 4096, 8192, 8192)]
                                 + ["dgx-h100-3tier:8192", "dgx-h100-2tier:2048"])
            limit = rng.choice([1, 1.5, 2, 3, 5])
        args = ["simulate", "decode", "--cluster", cluster, "--seq-len", str(rng.choice([64, 64, 4096])), "--heads",
                "8", "--head-dim", "64", "--max-time", "%gs" % limit, "--quiet"]
        args += rng.choice([[], [], ["--strategy", "tree"], ["--strategy", "ring"], ["--step", "training"],
                            ["--backward"]])
        r = run(self.binary, args, limit + 20, d)
        why = self.limited(args, r, d, [], None, limit)
        self.stats_accept("time-long", r)
        self.record("time-long", why is None, why, [], args)

    # -- output paths

    NODE_TESTS = {"fifo": stat.S_ISFIFO, "folder": stat.S_ISDIR, "socket": stat.S_ISSOCK, "chardev": stat.S_ISCHR}

    @staticmethod
    def make_node(kind, path):
        """A FIFO, folder, UNIX socket or (root only) a private character device node with /dev/full's numbers, all
        inside the fuzzer's own folder."""
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "folder":
            os.mkdir(path)
        elif kind == "socket":
            s = socket.socket(socket.AF_UNIX)
            try:
                s.bind(path)
            finally:
                s.close()
        else:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 7))

    def output_commands(self, d):
        """(program, suffix, args for an output path) of every command that writes a file."""
        b = self.base
        qkv = ["--q", b + "/npy/q.npy", "--k", b + "/npy/k.npy", "--v", b + "/npy/v.npy"]
        return [
            ("treeattn", ".npy", lambda p: ["attention"] + qkv + ["--out", p]),
            ("treeattn", ".safetensors", lambda p: ["attention"] + qkv + ["--out", p]),
            ("treeattn", ".npy", lambda p: ["attention"] + qkv + ["--out", d + "/o.npy", "--lse", p]),
            ("treeattn", ".npy", lambda p: ["attention"] + qkv + ["--backward", "--do", b + "/npy/q.npy", "--out",
                                                                  d + "/o.npy", "--dq", d + "/dq.npy", "--dk", p,
                                                                  "--dv", d + "/dv.npy"]),
            ("treeattn", ".json", lambda p: ["simulate", "decode", "--cluster", "dgx-h100:2", "--seq-len", "4096",
                                             "--heads", "8", "--head-dim", "64", "--quiet", "--trace", p]),
            ("treeattn", ".json", lambda p: ["simulate", "collective", "--cluster", "dgx-h100:2", "--op", "allreduce",
                                             "--algorithm", "ring", "--bytes", "1MB", "--trace", p]),
            ("treeattn", ".json", lambda p: ["check", "--golden", b + "/golden", "--results", b + "/results", "--json",
                                             p]),
            ("treeattn-mpi", ".json", lambda p: ["attention"] + qkv + ["--report", p]),
            ("treeattn-mpi", ".npy", lambda p: ["attention"] + qkv + ["--out", p]),
            ("treeattn-mpi", ".yaml", lambda p: ["calibrate", "--quiet", "--out", p]),
        ]

    def output_kinds(self):
        """Outputs pointed at a FIFO, folder, socket or character device (refused, the node left as it was), at an
        input of the same command (refused, the input byte-identical), at "" (refused at once, calibrate before it
        measures), and at standard output (`--trace -`, `/dev/stdout`: the JSON on stdout)."""
        d = self.scratch()
        rng = self.rng
        commands = [c for c in self.output_commands(d) if c[0] == "treeattn" or self.mpi_binary]
        kind = rng.choice(["node", "node", "node", "node", "same", "same", "empty", "stdout"])
        program, suffix, build = rng.choice(commands)
        binary = self.binary if program == "treeattn" else self.mpi_binary
        regular = [d + "/o.npy", d + "/dq.npy", d + "/dv.npy"]  # the other outputs, never left after an error
        if kind == "node":
            kinds = ["fifo", "folder", "socket"] + (["chardev"] if os.geteuid() == 0 else [])
            node = rng.choice(kinds)
            path = os.path.join(d, node + suffix)
            try:
                self.make_node(node, path)
            except OSError as e:  # no mknod in this container, or a socket path too long: try a FIFO
                print("note: cannot make a %s here (%s); using a FIFO" % (node, e))
                node, path = "fifo", os.path.join(d, "fifo" + suffix)
                self.make_node(node, path)
            args = build(path)
            r = run(binary, args, self.timeout, d)
            why = self.contract(r, regular, d)
            if why is None and r.rc != 2:
                why = "exit %d writing to a %s" % (r.rc, node)
            if why is None and not self.NODE_TESTS[node](os.lstat(path).st_mode):
                why = "the %s output was replaced (now mode %o)" % (node, os.lstat(path).st_mode)
            if why is None and args[0] == "calibrate" and r.seconds > 3:
                why = "calibrate took %.1f s to refuse a %s (measured first?)" % (r.seconds, node)
            self.stats_accept("output-kinds", r)
            self.record("output-kinds", why is None, why, [], args, program)
            return
        if kind == "empty":
            args = build("")
            i = len(args) - 1 - args[::-1].index("")
            if rng.random() < 0.3:  # --out= form
                args[i - 1:i + 1] = [args[i - 1] + "="]
            r = run(binary, args, self.timeout, d)
            why = self.contract(r, regular, d)
            if why is None and r.rc != 2:
                why = "exit %d with an empty output path" % r.rc
            if why is None and args[0] == "calibrate" and r.seconds > 3:
                why = "calibrate took %.1f s to refuse an empty --out (measured first?)" % r.seconds
            self.stats_accept("output-kinds", r)
            self.record("output-kinds", why is None, why, [], args, program)
            return
        if kind == "stdout":
            cluster = rng.choice(["dgx-h100:1", "dgx-h100:2", "mi300x", "rtx4090-pcie:4"])
            path = rng.choice(["-", "/dev/stdout"])
            if rng.random() < 0.75:
                args = ["simulate", "decode", "--cluster", cluster, "--seq-len", str(rng.choice([64, 4096, 100000])),
                        "--heads", "8", "--head-dim", "64", "--trace", path] + rng.choice([[], ["--quiet"]])
            else:
                args = ["simulate", "collective", "--cluster", cluster, "--op", "allreduce", "--algorithm", "ring",
                        "--bytes", "1MB", "--trace", "-"]
            r = run(self.binary, args, self.timeout, d)
            why = self.contract(r, [], d)
            if why is None and r.rc != 0:
                why = "exit %d with the trace on standard output: %s" % (r.rc, r.stderr.strip()[:200])
            if why is None:
                try:
                    trace, _ = json.JSONDecoder().raw_decode(r.stdout)
                    if "traceEvents" not in trace:
                        why = "stdout starts with JSON that is not a trace"
                except ValueError as e:
                    why = "stdout does not start with the trace JSON (%s): %r" % (e, r.stdout[:120])
            self.stats_accept("output-kinds", r)
            self.record("output-kinds", why is None, why, [], args)
            return
        # the output is one of the command's inputs, under another spelling
        scenario = rng.choice(["attention", "attention", "check", "simulate"] + (["mpi"] if self.mpi_binary else []))
        program, binary = "treeattn", self.binary
        if scenario in ("attention", "mpi"):
            for t in "qkv":
                shutil.copy(self.base + "/npy/%s.npy" % t, d + "/%s.npy" % t)
            qkv = ["--q", "q.npy", "--k", "k.npy", "--v", "v.npy"]
            victim = rng.choice(["q.npy", "k.npy", "v.npy"])
            form = rng.choice(["out", "lse"] + (["dq", "dv"] if scenario == "attention" else []))
            if scenario == "mpi":
                program, binary = "treeattn-mpi", self.mpi_binary
            if form == "out":
                args = ["attention"] + qkv + ["--out", "{}"]
            elif form == "lse":
                args = ["attention"] + qkv + ["--out", "o.npy", "--lse", "{}"]
            else:
                shutil.copy(self.base + "/npy/q.npy", d + "/do.npy")
                victim = rng.choice([victim, "do.npy"])
                args = ["attention"] + qkv + ["--backward", "--do", "do.npy", "--out", "o.npy", "--dq",
                                              "{}" if form == "dq" else "dq.npy", "--dk", "dk.npy", "--dv",
                                              "{}" if form == "dv" else "dv.npy"]
        elif scenario == "check":
            shutil.copytree(self.base + "/golden", d + "/golden")
            shutil.copytree(self.base + "/results", d + "/results")
            victim = rng.choice(["golden/manifest.json", "golden/tiny-f32.safetensors", "results/tiny-f32.safetensors"])
            args = ["check", "--golden", "golden", "--results", "results", "--json", "{}"]
        else:
            shutil.copy(os.path.join(ROOT, "fixtures/clusters/cpu-star-4.yaml"), d + "/c.yaml")
            victim = "c.yaml"
            args = ["simulate", "decode", "--cluster", "c.yaml", "--seq-len", "4096", "--heads", "8", "--head-dim",
                    "64", "--quiet", "--trace", "{}"]
        os.makedirs(d + "/sub")
        spelling = rng.choice(["same", "dot", "parent", "absolute", "symlink", "hardlink"])
        name = {"same": victim, "dot": "./" + victim, "parent": "sub/../" + victim,
                "absolute": os.path.join(d, victim)}.get(spelling)
        if spelling in ("symlink", "hardlink"):
            name = spelling + os.path.splitext(victim)[1]
            if spelling == "symlink":
                os.symlink(victim, os.path.join(d, name))
            else:
                os.link(os.path.join(d, victim), os.path.join(d, name))
        args = [a.replace("{}", name) for a in args]
        watched = {}
        for dirpath, _, names in os.walk(d):
            for n in names:
                p = os.path.join(dirpath, n)
                watched[p] = (stat.S_IFMT(os.lstat(p).st_mode), read_bytes(p))
        r = run(binary, args, self.timeout, d)
        regular = [os.path.join(d, n) for n in ("o.npy", "dq.npy", "dk.npy", "dv.npy")]
        why = self.contract(r, [p for p in regular if p not in watched], d)
        if why is None and r.rc != 2:
            why = "exit %d with an output that is an input (%s, spelled %s)" % (r.rc, victim, spelling)
        for p, (mode, data) in sorted(watched.items()):
            if why is None and (not os.path.lexists(p) or stat.S_IFMT(os.lstat(p).st_mode) != mode
                                or read_bytes(p) != data):
                why = "input %s changed (output %s)" % (os.path.relpath(p, d), name)
        self.stats_accept("output-kinds", r)
        self.record("output-kinds", why is None, why, [], args, program)

    # -- treeattn-mpi option errors

    BAD_MPI_OPTIONS = [["--bogus"], ["--bogus", "1"], ["--repeat", "0"], ["--repeat=-1"], ["--repeat", "1e9"],
                       ["--warmup=-1"], ["--reduction", "nope"], ["--reduction", ""], ["--reduction", "tree"],
                       ["--reduction", "binary:"], ["--layout", "hsbd"], ["--precision", "f16"], ["stray"],
                       ["--repeat", "0", "--reduction", "nope"]]

    def mpi_options(self, mpirun=False):
        """treeattn-mpi attention with a bad option, as one rank or under mpirun with three: exit 2 and one
        `Error:` line among stderr's (mpirun adds its own block), no crash."""
        d = self.scratch()
        rng = self.rng
        b = self.base
        out = os.path.join(d, "out.npy")
        bad = rng.choice(self.BAD_MPI_OPTIONS)
        args = ["attention", "--q", b + "/npy/q.npy", "--k", b + "/npy/k.npy", "--v", b + "/npy/v.npy", "--out", out]
        i = rng.choice([1, len(args)])
        args[i:i] = bad
        target = "mpirun-options" if mpirun else "mpi-options"
        if not mpirun:
            r = run(self.mpi_binary, args, self.timeout, d)
            why = self.contract(r, [out], d)
            if why is None and r.rc != 2:
                why = "exit %d with %s" % (r.rc, " ".join(bad))
            self.stats_accept(target, r)
            self.record(target, why is None, why, [], args, "treeattn-mpi")
            return
        self.mpirun_runs += 1
        args = ["--allow-run-as-root", "--oversubscribe", "-np", "3", self.mpi_binary] + args
        r = run(self.mpirun, args, 60, d, group=True)
        errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
        crash = [t for t in ("Fatal error", "Illegal instruction", "Segmentation fault", "exited on signal",
                             "Trace/breakpoint", "core dumped") if t in r.stderr + r.stdout]
        why = None
        if r.rc is None:
            why = "hang: mpirun did not end within 60 s"
        elif r.rc != 2:
            why = "mpirun exit %s with %s (want 2): %r" % (r.rc, " ".join(bad), r.stderr[:300])
        elif crash:
            why = "crash text %r in mpirun's output" % crash
        elif len(errors) != 1:
            why = "%d lines starting with 'Error:' (want 1): %r" % (len(errors), errors[:4])
        elif os.path.exists(out):
            why = "output left behind after an error"
        self.stats_accept(target, r)
        self.record(target, why is None, why, [], args, "mpirun")

    def stats_accept(self, target, r):
        self.last = r
        s = self.stats.setdefault(target, {"tried": 0, "accepted": 0, "rejected": 0, "failed": 0})
        if r.rc == 0 or r.rc == 1:
            s["accepted"] += 1
        elif r.rc == 2:
            s["rejected"] += 1

    TARGETS = ["npy", "npy", "safetensors", "safetensors", "golden", "suite-yaml", "suite-json", "cluster", "options",
               "options", "paged", "paged", "varlen", "varlen", "backward", "output-kinds", "output-kinds",
               "time-bounds"]
    MPIRUN_RUNS = 4  # mpirun takes about a second: a few per session

    def step(self):
        draw = self.pick.random()
        if self.first:
            target = self.first.pop(0)
        elif draw < 0.004:  # several seconds each: about 15% of a long run's time
            target = "time-long"
        elif draw < 0.006 and self.mpi_binary and self.mpirun and self.mpirun_runs < self.MPIRUN_RUNS:
            target = "mpirun-options"
        else:
            target = self.pick.choice(self.TARGETS + (["ranged", "mpi-options"] if self.mpi_binary else []))
        if self.only and target not in self.only:
            target = self.pick.choice(self.only)
        self.play(target, self.case + 1)

    def play(self, target, case):
        """Runs case number `case` of `target`, drawing from that case's own generator (see `case_rng`)."""
        self.target, self.rng, self.case = target, self.case_rng(case), case - 1
        surfaces = {"npy": self.npy, "safetensors": self.safetensors, "golden": self.golden_folder,
                    "suite-yaml": lambda: self.suite("yaml"), "suite-json": lambda: self.suite("json"),
                    "cluster": self.cluster, "options": self.options, "ranged": self.ranged, "paged": self.paged,
                    "varlen": self.varlen, "backward": self.backward, "time-bounds": self.time_bounds,
                    "time-long": self.time_long, "output-kinds": self.output_kinds, "mpi-options": self.mpi_options,
                    "mpirun-options": lambda: self.mpi_options(mpirun=True)}
        if target not in surfaces:
            raise SystemExit("unknown target %r (one of %s)" % (target, ", ".join(sorted(surfaces))))
        self.started = time.time()
        surfaces[target]()
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
    ap.add_argument("--replay", metavar="TARGET:CASE", help="run only case CASE of TARGET (as a failure names it)")
    ap.add_argument("--verbose", action="store_true", help="print every command, its exit status and error line")
    ap.add_argument("--targets", help="comma-separated targets to draw from (default: all)")
    args = ap.parse_args()
    binary = os.path.abspath(args.treeattn)
    np.seterr(all="ignore")  # mutated inputs hold NaN and infinities on purpose
    work = tempfile.mkdtemp(prefix="treeattn-fuzz-")
    try:
        mpi = os.path.abspath(args.treeattn_mpi) if args.treeattn_mpi else None
        mpirun = shutil.which("mpirun") if mpi else None  # MPI option errors under mpirun, when it is installed
        fuzzer = Fuzzer(binary, work, args.findings, args.seed, args.max_rss_mb, args.timeout, mpi, mpirun)
        fuzzer.verbose = args.verbose
        if args.targets:
            fuzzer.only = args.targets.split(",")
            fuzzer.first = [t for t in fuzzer.first if t in fuzzer.only]
        start = time.time()
        if args.replay:
            target, _, case = args.replay.rpartition(":")
            fuzzer.play(target, int(case))
        while not args.replay and (time.time() - start < args.seconds or fuzzer.first):
            fuzzer.step()
        print("%-14s %7s %9s %9s %7s %9s" % ("target", "tried", "accepted", "rejected", "failed", "seconds"))
        for target in sorted(fuzzer.stats):
            s = fuzzer.stats[target]
            print("%-14s %7d %9d %9d %7d %9.1f" % (target, s["tried"], s["accepted"], s["rejected"], s["failed"],
                                                  s.get("seconds", 0)))
        total = sum(s["tried"] for s in fuzzer.stats.values())
        print("fuzz: seed %d, %d inputs in %.0f s" % (args.seed, total, time.time() - start))
        if fuzzer.overrun[1]:
            print("time limits: the longest run went %.1f s past its --max-time (%s)" % fuzzer.overrun)
        print("%d passed, %d failed" % (total - len(fuzzer.failures), len(fuzzer.failures)))
        return 1 if fuzzer.failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
