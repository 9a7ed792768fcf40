// Tree Attention explainer: recomputes `treeattn explain` in the browser for the learner's choices and draws it.
// Written for `treeattn explain --html` (Sources/Walkthrough/Site); data.js holds the Swift reference's walkthrough for
// the initial choices and the simulated cluster grid. No network, no modules (file:// pages cannot load them).
// Every number shown carries data-key (its path in `treeattn explain --json`) and data-v (its full value), so a test
// can compare the page with the reference.
"use strict";

const TA = {};

// ---- The seeded generator: xoshiro256** seeded by SplitMix64, as Reference's SeededGenerator. ----
TA.M64 = (1n << 64n) - 1n;
TA.rotl = (x, k) => ((x << k) | (x >> (64n - k))) & TA.M64;
TA.Rng = class {
  constructor(seed) {
    let x = BigInt.asUintN(64, seed);
    const splitMix = () => {
      x = (x + 0x9e3779b97f4a7c15n) & TA.M64;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & TA.M64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & TA.M64;
      return z ^ (z >> 31n);
    };
    this.s = [splitMix(), splitMix(), splitMix(), splitMix()];
  }
  next() {
    const s = this.s;
    const result = (TA.rotl((s[1] * 5n) & TA.M64, 7n) * 9n) & TA.M64;
    const t = (s[1] << 17n) & TA.M64;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = TA.rotl(s[3], 45n);
    return result;
  }
  uniform() { return Number(this.next() >> 11n) * 2 ** -53; }
  // Irwin-Hall: 12 uniforms minus 6, summed in the same order as the Swift reference.
  normal() {
    let s = 0;
    for (let i = 0; i < 12; i++) s += this.uniform();
    return s - 6;
  }
  normals(count) { return Array.from({ length: count }, () => this.normal()); }
};

// ---- Reduction plans, as TreeCore's ReductionPlan: levels[l][n] = children (in level l-1) of node n. ----
TA.plan = (leaves, shape) => {
  const levels = [[]];
  const group = (width, k) => {
    const out = [];
    for (let s = 0; s < width; s += k) out.push(Array.from({ length: Math.min(s + k, width) - s }, (_, i) => s + i));
    return out;
  };
  if (shape.kind === "binary" || shape.kind === "kary") {
    const k = shape.kind === "binary" ? 2 : shape.k;
    let width = leaves;
    while (width > 1) {
      const level = group(width, k);
      levels.push(level);
      width = level.length;
    }
  } else if (shape.kind === "two-level") {
    if (leaves > 1) {
      const first = group(leaves, shape.g);
      levels.push(first);
      if (first.length > 1) levels.push([Array.from({ length: first.length }, (_, i) => i)]);
    }
  } else if (leaves > 1) {
    levels.push([Array.from({ length: leaves }, (_, i) => i)]);
  }
  return levels;
};

TA.parseShape = (text) => {
  const [name, arg] = text.split(":");
  if (name === "binary" || name === "flat") return { kind: name, text };
  if (name === "kary") return { kind: "kary", k: Number(arg), text };
  return { kind: "two-level", g: Number(arg), text };
};

// ---- The math: one query, plain loops in f64. ----
TA.dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
TA.zeros = (d) => new Array(d).fill(0);
TA.maxAbsDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

// Log-sum-exp of a list (-inf for an empty or all -inf list).
TA.logSumExp = (xs) => {
  const m = Math.max(-Infinity, ...xs);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

// One merge of partials {lse, output}: m = max lse, w = exp(lse - m), o = sum w o / sum w, lse = m + log sum w.
TA.merge = (parts, d) => {
  const lses = parts.map((p) => p.lse);
  const m = Math.max(...lses);
  const weights = lses.map((l) => (l === -Infinity ? 0 : Math.exp(l - m)));
  if (m === -Infinity) return { lse: -Infinity, output: TA.zeros(d), max: m, weights };
  const den = weights.reduce((s, w) => s + w, 0);
  const output = TA.zeros(d).map((_, c) => parts.reduce((s, p, i) => s + weights[i] * p.output[c], 0) / den);
  return { lse: m + Math.log(den), output, max: m, weights };
};

TA.inputs = (settings) => {
  if (settings.typed) return settings.typed;
  const g = new TA.Rng(settings.seed);
  const d = settings.headDim, n = settings.tokens;
  const q = g.normals(d), kf = g.normals(n * d), vf = g.normals(n * d);
  const rows = (f) => Array.from({ length: n }, (_, j) => f.slice(j * d, (j + 1) * d));
  return { q, k: rows(kf), v: rows(vf) };
};

// The walkthrough for `settings`, in the layout of `treeattn explain --json --backward` (snake_case keys).
TA.compute = (settings) => {
  const { q, k, v } = TA.inputs(settings);
  const d = q.length, n = k.length, p = settings.shards;
  const visible = settings.causal ? settings.queryPosition + 1 : n;
  const scale = 1 / Math.sqrt(d);
  const scores = k.map((kj, j) => (j < visible ? scale * kj.reduce((s, x, c) => s + q[c] * x, 0) : -Infinity));
  const maxScore = Math.max(...scores);
  const expSum = scores.reduce((s, x) => s + Math.exp(x - maxScore), 0);
  const lse = maxScore + Math.log(expSum);
  const probabilities = scores.map((s) => Math.exp(s - lse));
  const output = TA.zeros(d).map((_, c) => probabilities.reduce((s, pj, j) => s + pj * v[j][c], 0));

  // The energy F(zeta) = log sum_j exp(s_j + zeta.v_j) over a key range.
  const energyAt = (zeta, from = 0, to = n) =>
    TA.logSumExp(scores.slice(from, to).map((s, i) => s + TA.dot(zeta, v[from + i])));
  const unit = (c, t) => TA.zeros(d).map((_, i) => (i === c ? t : 0));
  const energy = energyAt(TA.zeros(d));
  const h = 1e-5;
  const centralDifference = TA.zeros(d).map((_, c) => (energyAt(unit(c, h)) - energyAt(unit(c, -h))) / 2e-5);
  const ts = Array.from({ length: 17 }, (_, i) => i * 0.25 - 2);
  const energyLine = {
    component: settings.energyComponent, t: ts, energy: ts.map((t) => energyAt(unit(settings.energyComponent, t))),
  };

  // Shards: as ShardLayout, the first n mod p shards get one key more.
  const ranges = [];
  for (let i = 0, first = 0; i < p; i++) {
    const size = Math.floor(n / p) + (i < n % p ? 1 : 0);
    ranges.push([first, first + size]);
    first += size;
  }
  const shards = ranges.map(([a, b]) => {
    const s = scores.slice(a, b);
    const mi = Math.max(-Infinity, ...s);
    const sum = mi === -Infinity ? 0 : s.reduce((t, x) => t + Math.exp(x - mi), 0);
    const slse = mi === -Infinity ? -Infinity : mi + Math.log(sum);
    const out = TA.zeros(d).map((_, c) =>
      mi === -Infinity ? 0 : s.reduce((t, x, i) => t + Math.exp(x - mi) * v[a + i][c], 0) / sum);
    const fi = b > a ? energyAt(TA.zeros(d), a, b) : -Infinity;
    return {
      keys: [a, b], max: mi, sum, lse: slse, output: out, blocks: TA.blockLoop(scores, v, a, b, settings.blockSize),
      energy: fi, weight: fi === -Infinity ? 0 : Math.exp(fi - energy),
    };
  });
  const chainRuleOutput = TA.zeros(d).map((_, c) => shards.reduce((s, sh) => s + sh.weight * sh.output[c], 0));

  // The tree.
  const levels = TA.plan(p, settings.shape);
  let nodes = shards.map((s) => ({ lse: s.lse, output: s.output }));
  const nodeLse = [nodes.map((x) => x.lse)];
  const merges = [];
  for (let l = 1; l < levels.length; l++) {
    const next = levels[l].map((children, node) => {
      if (children.length === 1) return nodes[children[0]];
      const kids = children.map((c) => nodes[c]);
      const r = TA.merge(kids, d);
      merges.push({
        level: l, node, children, child_log_sum_exp: kids.map((x) => x.lse), max: r.max, weights: r.weights,
        lse: r.lse, child_outputs: kids.map((x) => x.output), output: r.output,
      });
      return r;
    });
    nodes = next;
    nodeLse.push(nodes.map((x) => x.lse));
  }
  const treeOutput = nodes[0].output;

  // Algorithm 3: a max all-reduce, then two sum all-reduces.
  const M = Math.max(...shards.map((s) => s.lse));
  const w3 = shards.map((s) => (s.lse === -Infinity ? 0 : Math.exp(s.lse - M)));
  const den3 = w3.reduce((s, w) => s + w, 0);
  const algorithm3Output = TA.zeros(d).map((_, c) => shards.reduce((s, sh, i) => s + w3[i] * sh.output[c], 0) / den3);

  // Ring order: the owner visits owner, owner-1, ... (mod p), folding each shard into its running (o, lse).
  const ring = [];
  let run = { lse: -Infinity, output: TA.zeros(d) };
  for (let i = 0; i < p; i++) {
    const shard = (((settings.ringOwner - i) % p) + p) % p;
    const blk = shards[shard], before = run.lse;
    let sigmoid;
    if (blk.lse === -Infinity) {
      sigmoid = 0;
    } else if (before === -Infinity) {
      sigmoid = 1;
      run = { lse: blk.lse, output: blk.output.slice() };
    } else {
      const diff = blk.lse - before;
      sigmoid = 1 / (1 + Math.exp(-diff));
      run = {
        output: run.output.map((o, c) => o - sigmoid * (o - blk.output[c])),
        lse: diff > 0 ? blk.lse + Math.log1p(Math.exp(-diff)) : before + Math.log1p(Math.exp(diff)),
      };
    }
    ring.push({
      shard, block_log_sum_exp: blk.lse, previous_log_sum_exp: before, sigmoid, lse: run.lse,
      output: run.output.slice(),
    });
  }

  const w = {
    query: q, keys: k, values: v, scores, visible_keys: visible, probabilities, max_score: maxScore, exp_sum: expSum,
    lse, output, kernel_log_sum_exp: lse, energy, gradient: output, central_difference: centralDifference,
    energy_line: energyLine, shards, shard_energy_log_sum_exp: TA.logSumExp(shards.map((s) => s.energy)),
    chain_rule_output: chainRuleOutput, plan: levels, depth: levels.length - 1, node_log_sum_exp: nodeLse, merges,
    tree_output: treeOutput, tree_error: TA.maxAbsDiff(treeOutput, output), algorithm3_output: algorithm3Output,
    algorithm3_error: TA.maxAbsDiff(algorithm3Output, output), ring, ring_error: TA.maxAbsDiff(run.output, output),
  };
  w.backward = TA.backward(settings, w, ranges, levels, scale);
  return w;
};

// FlashAttention's online softmax over one shard's keys [a, b) in blocks.
TA.blockLoop = (scores, v, a, b, size) => {
  const d = v.length ? v[0].length : 0;
  let m = -Infinity, l = 0;
  const acc = TA.zeros(d);
  const states = [];
  for (let first = a; first < b; first += size) {
    const end = Math.min(first + size, b);
    const blockMax = Math.max(...scores.slice(first, end));
    const newMax = Math.max(m, blockMax);
    const rescale = newMax === -Infinity ? 1 : Math.exp(m - newMax);
    l *= rescale;
    for (let c = 0; c < d; c++) acc[c] *= rescale;
    if (newMax > -Infinity) {
      for (let j = first; j < end; j++) {
        const e = Math.exp(scores[j] - newMax);
        l += e;
        for (let c = 0; c < d; c++) acc[c] += e * v[j][c];
      }
    }
    m = newMax;
    states.push({ keys: [first, end], block_max: blockMax, max: m, rescale, sum: l, output: acc.map((x) => (l > 0 ? x / l : 0)) });
  }
  return states;
};

// The backward of L = dO . o: per key p_j, dO.v_j, dS_j, dk_j, dv_j; dq; each shard's dq share summed up the tree.
TA.backward = (settings, w, ranges, levels, scale) => {
  const d = w.query.length;
  const g = new TA.Rng(BigInt.asUintN(64, settings.seed + 1n));
  const dO = g.normals(d);
  const delta = TA.dot(dO, w.output);
  const perKey = w.keys.map((kj, j) => {
    const p = w.probabilities[j];
    const dOv = TA.dot(dO, w.values[j]);
    const dS = p * (dOv - delta);
    return { p, d_ov: dOv, d_s: dS, dk: w.query.map((x) => dS * scale * x), dv: dO.map((x) => p * x) };
  });
  const share = (a, b) => TA.zeros(d).map((_, c) => {
    let s = 0;
    for (let j = a; j < b; j++) s += perKey[j].d_s * w.keys[j][c];
    return scale * s;
  });
  const dq = share(0, w.keys.length);
  const shares = ranges.map(([a, b]) => share(a, b));
  const sums = [];
  let nodes = shares;
  for (let l = 1; l < levels.length; l++) {
    nodes = levels[l].map((children, node) => {
      if (children.length === 1) return nodes[children[0]];
      const sum = TA.zeros(d).map((_, c) => children.reduce((s, ch) => s + nodes[ch][c], 0));
      sums.push({ level: l, node, children, sum });
      return sum;
    });
  }
  return {
    d_o: dO, delta, per_key: perKey, dq, shard_shares: shares, sums, tree_error: TA.maxAbsDiff(nodes[0], dq),
  };
};

// ---- Formatting and the DOM. ----
TA.fmt = (x, digits = 5) => {
  if (x === -Infinity) return "−∞";
  if (x === Infinity) return "∞";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e6) return x.toExponential(2).replace(/-/g, "−");
  return Number(x.toPrecision(digits)).toString().replace(/-/g, "−");
};
TA.valueText = (x) => (x === -Infinity ? "-inf" : x === Infinity ? "inf" : String(x));

TA.h = (tag, attrs = {}, ...children) => {
  const e = document.createElementNS(
    ["svg", "g", "rect", "line", "circle", "text", "polyline", "path", "title"].includes(tag)
      ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") e.textContent = value;
    else if (key.startsWith("on")) e.addEventListener(key.slice(2), value);
    else e.setAttribute(key, value === true ? "" : String(value));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) e.append(c);
  return e;
};
// A number: shown rounded, its full value and its JSON path in data attributes.
TA.num = (key, x, opts = {}) => {
  const attrs = { class: "num", "data-key": key, "data-v": TA.valueText(x), title: TA.valueText(x), text: TA.fmt(x, opts.digits) };
  if (opts.tol !== undefined) attrs["data-tol"] = String(opts.tol);
  return TA.h("span", attrs);
};
// A rounding error (the difference of two computations of one quantity): its exact value depends on the order of the
// sums, so it is held to 1e-12 of the size of what it measures (`scale`), not of itself.
TA.err = (key, x, scale) => TA.h("span", {
  class: "num err", "data-key": key, "data-v": TA.valueText(x), text: x.toExponential(1),
  "data-tol": scale === undefined ? undefined : String(1e-12 * Math.max(1, scale)),
});
TA.scale = (...vectors) => Math.max(0, ...vectors.flat(Infinity).map(Math.abs));
TA.vec = (key, xs) => TA.h("span", { class: "vec" }, "[", ...xs.flatMap((x, i) => [i ? ", " : "", TA.num(`${key}.${i}`, x)]), "]");
TA.table = (caption, head, rows) =>
  TA.h("div", { class: "scroll", tabindex: 0, role: "region", "aria-label": caption },
    TA.h("table", {},
      TA.h("caption", { text: caption }),
      TA.h("thead", {}, TA.h("tr", {}, head.map((x) => TA.h("th", { scope: "col" }, x)))),
      TA.h("tbody", {}, rows.map((r) => TA.h("tr", {}, r.map((x) => TA.h("td", {}, x)))))));
TA.fill = (id, ...children) => {
  const e = document.getElementById(id);
  e.replaceChildren(...children.flat());
  return e;
};
TA.p = (...children) => TA.h("p", {}, ...children);
TA.shardColour = (i) => `hsl(${(i * 360) / 7 + 200}, 55%, 48%)`;
TA.keyRange = ([a, b]) => (b > a ? `keys ${a}…${b - 1}` : "no keys");
TA.shardOf = (w, j) => w.shards.findIndex((s) => j >= s.keys[0] && j < s.keys[1]);

// ---- The sections. ----
TA.renderScores = (w) => {
  const n = w.scores.length, d = w.query.length;
  const bars = TA.h("svg", { viewBox: `0 0 ${n * 20} 110`, class: "bars", role: "img", "aria-label": "Softmax probability of each key, coloured by shard" },
    TA.h("title", { text: "softmax p_j by key, coloured by shard" }),
    w.probabilities.map((pj, j) => TA.h("rect", { x: j * 20 + 3, y: 100 - 95 * pj, width: 14, height: Math.max(95 * pj, 0.5), fill: TA.shardColour(TA.shardOf(w, j)) })),
    TA.h("line", { x1: 0, y1: 100, x2: n * 20, y2: 100, stroke: "currentColor" }));
  TA.fill("scores-body",
    TA.p("Query q = ", TA.vec("query", w.query), ` (head dim ${d}). Score s_j = q·k_j / √${d}`,
      w.visible_keys < n ? `; causal: the query sits at position ${w.visible_keys - 1}, so keys ${w.visible_keys}…${n - 1} get −∞.` : "."),
    TA.table("Keys, scores and the softmax", ["j", "shard", "k_j", "v_j", "s_j", "p_j = exp(s_j − LSE)"],
      w.keys.map((kj, j) => [String(j), String(TA.shardOf(w, j)), TA.vec(`keys.${j}`, kj), TA.vec(`values.${j}`, w.values[j]),
        TA.num(`scores.${j}`, w.scores[j]), TA.num(`probabilities.${j}`, w.probabilities[j])])),
    bars,
    TA.p("m = max s_j = ", TA.num("max_score", w.max_score), ", Σ exp(s_j − m) = ", TA.num("exp_sum", w.exp_sum),
      ", LSE = m + log Σ = ", TA.num("lse", w.lse), "."),
    TA.p("Exact attention o = Σ p_j v_j = ", TA.vec("output", w.output), "."));
};

TA.renderBlocks = (w, settings) => {
  TA.fill("blocks-body",
    TA.p(`Each device runs FlashAttention over its own keys in blocks of ${settings.blockSize}: a running max m, a running sum l and an accumulator. `,
      "A block with a larger max first rescales both by exp(m_old − m_new). The state after the last block is the shard's partial (m_i, l_i, o_i)."),
    w.shards.map((s, i) => TA.table(`Shard ${i}: ${TA.keyRange(s.keys)}`,
      ["block keys", "block max", "m", "rescale", "l", "o = acc / l"],
      s.blocks.map((b, k) => [`${b.keys[0]}…${b.keys[1] - 1}`, TA.num(`shards.${i}.blocks.${k}.block_max`, b.block_max),
        TA.num(`shards.${i}.blocks.${k}.max`, b.max), TA.num(`shards.${i}.blocks.${k}.rescale`, b.rescale),
        TA.num(`shards.${i}.blocks.${k}.sum`, b.sum), TA.vec(`shards.${i}.blocks.${k}.output`, b.output)]))),
    TA.table("The shards' partials (the leaves of the tree)", ["shard", "keys", "m_i", "l_i", "lse_i = m_i + log l_i", "o_i"],
      w.shards.map((s, i) => [String(i), TA.keyRange(s.keys), TA.num(`shards.${i}.max`, s.max), TA.num(`shards.${i}.sum`, s.sum),
        TA.num(`shards.${i}.lse`, s.lse), TA.vec(`shards.${i}.output`, s.output)])));
};

// The steps of the merge view: tree merges level by level, or the ring's folds.
TA.steps = (w, view) => (view === "ring" ? w.ring : w.merges);

TA.renderMerges = (w, settings, state) => {
  const steps = TA.steps(w, state.view);
  const count = steps.length;
  state.step = Math.min(Math.max(state.step, 0), count);
  const k = state.step;
  let detail;
  if (k === count) {
    const out = state.view === "ring" ? w.ring[w.ring.length - 1].output : w.tree_output;
    const errKey = state.view === "ring" ? "ring_error" : "tree_error";
    detail = [TA.h("h4", { text: `Result after ${count} ${state.view === "ring" ? "folds in sequence" : `merges, depth ${w.depth}`}` }),
      TA.p(state.view === "ring" ? "Ring output = " : "Tree output = ", state.view === "ring" ? TA.vec(`ring.${w.ring.length - 1}.output`, out) : TA.vec("tree_output", out)),
      TA.p("Exact attention = ", TA.vec("output", w.output)),
      TA.p("max |difference| = ", TA.err(errKey, w[errKey], TA.scale(w.output)), " — rounding only: the merge is exact because log-sum-exp is associative."),
      TA.p("Algorithm 3 (a max all-reduce, then sum all-reduces) gives ", TA.vec("algorithm3_output", w.algorithm3_output),
        ", max |difference| ", TA.err("algorithm3_error", w.algorithm3_error, TA.scale(w.output)), ".")];
  } else if (state.view === "ring") {
    const r = steps[k], key = `ring.${k}`;
    detail = [TA.h("h4", { text: `Fold ${k + 1} of ${count}: the owner (shard ${settings.ringOwner}) folds in shard ${r.shard}` }),
      TA.p("lse_blk = ", TA.num(`${key}.block_log_sum_exp`, r.block_log_sum_exp), ", running lse = ", TA.num(`${key}.previous_log_sum_exp`, r.previous_log_sum_exp)),
      TA.p("σ = sigmoid(lse_blk − lse) = ", TA.num(`${key}.sigmoid`, r.sigmoid),
        r.block_log_sum_exp === -Infinity ? " (an empty shard: nothing to fold)" : r.previous_log_sum_exp === -Infinity ? " (the first partial: taken as it is)" : ""),
      TA.p("lse' = lse + log(1 + exp(lse_blk − lse)) = ", TA.num(`${key}.lse`, r.lse)),
      TA.p("o' = o − σ (o − o_blk) = ", TA.vec(`${key}.output`, r.output)),
      TA.p(`A ring folds one shard per step: ${count} steps in sequence, where the tree needs ${w.depth}.`)];
  } else {
    const m = steps[k], key = `merges.${k}`;
    const terms = m.children.map((c, i) => TA.h("li", {}, `child ${c}: lse = `, TA.num(`${key}.child_log_sum_exp.${i}`, m.child_log_sum_exp[i]),
      ", w = exp(lse − m) = ", TA.num(`${key}.weights.${i}`, m.weights[i]), ", o = ", TA.vec(`${key}.child_outputs.${i}`, m.child_outputs[i])));
    detail = [TA.h("h4", { text: `Merge ${k + 1} of ${count}: node L${m.level}.${m.node} merges level ${m.level - 1}'s nodes ${m.children.join(", ")}` }),
      TA.p("m = max lse_c = ", TA.num(`${key}.max`, m.max)), TA.h("ul", {}, terms),
      TA.p("lse = m + log Σ w_c = ", TA.num(`${key}.lse`, m.lse)),
      TA.p("o = Σ w_c o_c / Σ w_c = ", TA.vec(`${key}.output`, m.output))];
  }
  TA.fill("merge-position", `${state.view === "ring" ? "Fold" : "Merge"} ${Math.min(k + 1, count)} of ${count}${k === count ? " — result" : ""}`);
  TA.fill("merge-detail", detail);
  // aria-disabled, not disabled: a focused button that reaches the end keeps the focus (and the keys keep working).
  document.getElementById("merge-prev").setAttribute("aria-disabled", String(k === 0));
  document.getElementById("merge-next").setAttribute("aria-disabled", String(k === count));
  TA.fill("merge-diagram", state.view === "ring" ? TA.ringDiagram(w, k) : TA.treeDiagram(w, k));
};

TA.treeDiagram = (w, k) => {
  const levels = w.plan, p = w.shards.length;
  const width = Math.max(320, p * 64), height = 70 + 70 * (levels.length - 1);
  const xs = [Array.from({ length: p }, (_, i) => (width * (i + 0.5)) / p)];
  for (let l = 1; l < levels.length; l++) xs.push(levels[l].map((ch) => ch.reduce((s, c) => s + xs[l - 1][c], 0) / ch.length));
  const y = (l) => height - 35 - 70 * l;
  const current = w.merges[k];
  const done = new Set(w.merges.slice(0, k + 1).map((m) => `${m.level}.${m.node}`));
  // A node is known once merged; a carried node (one child) once its child is.
  const isDone = (l, node) =>
    l === 0 || (levels[l][node].length === 1 ? isDone(l - 1, levels[l][node][0]) : done.has(`${l}.${node}`));
  const g = [];
  for (let l = 1; l < levels.length; l++) {
    levels[l].forEach((children, node) => children.forEach((c) => g.push(TA.h("line", {
      x1: xs[l][node], y1: y(l), x2: xs[l - 1][c], y2: y(l - 1),
      class: current && current.level === l && current.node === node ? "edge active" : "edge" }))));
  }
  for (let l = 0; l < levels.length; l++) {
    xs[l].forEach((x, node) => {
      const active = current && ((current.level === l && current.node === node) || (current.level === l + 1 && current.children.includes(node)));
      const merged = isDone(l, node);
      g.push(TA.h("circle", { cx: x, cy: y(l), r: 15, class: `node${active ? " active" : ""}${merged ? "" : " pending"}`, fill: l === 0 ? TA.shardColour(node) : "#6b7385" }));
      g.push(TA.h("text", { x, y: y(l) + 4, "text-anchor": "middle", class: "label", text: l === 0 ? `s${node}` : `L${l}.${node}` }));
      g.push(TA.h("text", { x, y: y(l) + 30, "text-anchor": "middle", class: "small", text: merged ? TA.fmt(w.node_log_sum_exp[l][node], 4) : "…" }));
    });
  }
  return TA.h("svg", { viewBox: `0 0 ${width} ${height}`, class: "tree", role: "img", "aria-label": `Reduction tree of depth ${w.depth}; node labels show each node's LSE` }, TA.h("title", { text: "the reduction tree" }), g);
};

TA.ringDiagram = (w, k) => {
  const p = w.shards.length, r = 90, cx = 130, cy = 125;
  const g = [];
  w.ring.forEach((step, i) => {
    const a = (2 * Math.PI * step.shard) / p - Math.PI / 2;
    const x = cx + r * Math.cos(a), y = cy + r * Math.sin(a);
    g.push(TA.h("circle", { cx: x, cy: y, r: 16, fill: TA.shardColour(step.shard), class: `node${i === k ? " active" : ""}${i > k ? " pending" : ""}` }));
    g.push(TA.h("text", { x, y: y + 4, "text-anchor": "middle", class: "label", text: `s${step.shard}` }));
    g.push(TA.h("text", { x: x, y: y - 20, "text-anchor": "middle", class: "small", text: `step ${i + 1}` }));
  });
  return TA.h("svg", { viewBox: "0 0 260 250", class: "ring", role: "img", "aria-label": `Ring order of ${p} shards, step ${Math.min(k + 1, p)}` }, TA.h("title", { text: "the ring order" }), g);
};

TA.renderEnergy = (w) => {
  const line = w.energy_line, c = line.component;
  const fs = line.energy, o = w.output[c], f0 = w.energy;
  const lo = Math.min(...fs, f0 - 2 * Math.abs(o)), hi = Math.max(...fs, f0 + 2 * Math.abs(o));
  const X = (t) => 30 + ((t + 2) / 4) * 290, Y = (f) => 185 - ((f - lo) / (hi - lo || 1)) * 160;
  const plot = TA.h("svg", { viewBox: "0 0 340 205", class: "energy", role: "img", "aria-label": `F along e_${c} and its tangent at 0 with slope o_${c}` },
    TA.h("title", { text: `F(t e_${c}) and its tangent at t = 0` }),
    TA.h("line", { x1: X(0), y1: 10, x2: X(0), y2: 195, class: "axis" }),
    TA.h("polyline", { points: line.t.map((t, i) => `${X(t)},${Y(fs[i])}`).join(" "), class: "curve" }),
    TA.h("line", { x1: X(-2), y1: Y(f0 - 2 * o), x2: X(2), y2: Y(f0 + 2 * o), class: "tangent" }),
    TA.h("circle", { cx: X(0), cy: Y(f0), r: 4, class: "dot" }),
    [-2, -1, 0, 1, 2].map((t) => TA.h("text", { x: X(t), y: 199, "text-anchor": "middle", class: "small", text: `t = ${t}` })),
    TA.h("text", { x: X(0) + 6, y: 18, class: "small", text: `F(t e_${c}); dashed: F(0) + t o_${c}` }));
  const h = 1e-5, eps = 2 ** -52;
  const tol = (16 * eps * Math.max(1, Math.abs(f0))) / h;
  TA.fill("energy-body",
    TA.p("F(ζ) = log Σ_j exp(s_j + ζ·v_j). At ζ = 0 it is the LSE, and its gradient there is the attention output: ∂F/∂ζ = Σ_j p_j v_j = o."),
    plot,
    TA.p(`Along e_${c}: F(0) = `, TA.num("energy", f0), `, slope by central differences (h = 1e-5) = `,
      TA.num(`central_difference.${c}`, w.central_difference[c], { tol }), `, o_${c} = `, TA.num(`gradient.${c}`, w.gradient[c]), "."),
    TA.h("details", {}, TA.h("summary", { text: `The ${line.t.length} points of the curve` }),
      TA.table(`F(t e_${c})`, ["t", "F"], line.t.map((t, i) => [TA.num(`energy_line.t.${i}`, t), TA.num(`energy_line.energy.${i}`, fs[i])]))),
    TA.p("Split the keys over the shards: F = log Σ_i exp(F_i), so by the chain rule o = Σ_i exp(F_i − F) o_i. That weighted sum is the merge."),
    TA.table("Each shard's energy and its weight", ["shard", "F_i", "exp(F_i − F)", "o_i"],
      w.shards.map((s, i) => [String(i), TA.num(`shards.${i}.energy`, s.energy), TA.num(`shards.${i}.weight`, s.weight), TA.vec(`shards.${i}.output`, s.output)])),
    TA.p("log Σ_i exp(F_i) = ", TA.num("shard_energy_log_sum_exp", w.shard_energy_log_sum_exp), " = F(0); Σ_i exp(F_i − F) o_i = ",
      TA.vec("chain_rule_output", w.chain_rule_output), "."));
};

TA.renderBackward = (w) => {
  const b = w.backward;
  TA.fill("backward-body",
    TA.p("Loss L = dO·o with a seeded dO = ", TA.vec("backward.d_o", b.d_o), ". D = dO·o = ", TA.num("backward.delta", b.delta), "."),
    TA.table("Per key: dS_j = p_j (dO·v_j − D), dk_j = dS_j q / √d, dv_j = p_j dO", ["j", "shard", "p_j", "dO·v_j", "dS_j", "dk_j", "dv_j"],
      b.per_key.map((r, j) => [String(j), String(TA.shardOf(w, j)), TA.num(`backward.per_key.${j}.p`, r.p), TA.num(`backward.per_key.${j}.d_ov`, r.d_ov),
        TA.num(`backward.per_key.${j}.d_s`, r.d_s), TA.vec(`backward.per_key.${j}.dk`, r.dk), TA.vec(`backward.per_key.${j}.dv`, r.dv)])),
    TA.p("Each shard owns its keys' dK and dV: they never leave it. The query's gradient is a sum over all keys, so each shard computes its share of dq (with the global LSE and D, which the forward's tree already made known) and the shares are summed up the same tree."),
    TA.table("Each shard's share of dq", ["shard", "dq share"], b.shard_shares.map((s, i) => [String(i), TA.vec(`backward.shard_shares.${i}`, s)])),
    TA.table("The sums up the tree", ["node", "children", "sum"], b.sums.map((s, i) => [`L${s.level}.${s.node}`, s.children.join(", "), TA.vec(`backward.sums.${i}.sum`, s.sum)])),
    TA.p("Full backward dq = ", TA.vec("backward.dq", b.dq), "; tree-parallel backward's max |difference| = ", TA.err("backward.tree_error", b.tree_error, TA.scale(b.dq, b.per_key.map((r) => [r.dk, r.dv]))), "."));
};

// ---- The cluster view: drawn from the grid in data.js. ----
TA.activities = ["compute", "overhead", "communication", "idle"];
TA.renderCluster = (clusters, choice) => {
  const c = clusters.cases.find((x) => x.preset === choice.preset && x.gpus === choice.gpus && x.seq_len === choice.seqLen);
  if (!c) return TA.fill("cluster-body", TA.p("No simulated point for this choice."));
  const longest = Math.max(...c.runs.map((r) => r.latency));
  const us = (ps) => ps / 1e6;
  // Each panel has its own time axis (the two latencies can differ by orders of magnitude); the bars compare them.
  const panel = (run) => {
    const rowH = Math.max(3, Math.min(14, 360 / c.gpus)), left = 44, width = 600, height = rowH * c.gpus + 30;
    const X = (ps) => left + ((width - left - 10) * ps) / run.latency;
    const rects = [];
    run.timelines.forEach((pairs, rank) => {
      let start = 0;
      for (let i = 0; i < pairs.length; i += 2) {
        const end = pairs[i + 1];
        if (end > start) rects.push(TA.h("rect", { x: X(start), y: rank * rowH, width: Math.max(X(end) - X(start), 0.2), height: rowH - (rowH > 4 ? 1 : 0), class: `act-${TA.activities[pairs[i]]}` }));
        start = end;
      }
    });
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => TA.h("text", { x: X(f * run.latency), y: height - 8, "text-anchor": f === 1 ? "end" : "middle", class: "small", text: `${TA.fmt(us(f * run.latency), 3)} µs` }));
    return TA.h("figure", {},
      TA.h("figcaption", {}, `${run.strategy}: latency `, TA.num(`cluster.${run.strategy}.latency_us`, us(run.latency), { digits: 6 }), " µs"),
      TA.h("svg", { viewBox: `0 0 ${width} ${height}`, class: "timeline", role: "img", "aria-label": `${run.strategy}: one decode step on ${c.gpus} GPUs, one row per GPU` },
        TA.h("title", { text: `${run.strategy} timeline` }),
        TA.h("text", { x: 0, y: 10, class: "small", text: "GPU 0" }), TA.h("text", { x: 0, y: rowH * c.gpus, class: "small", text: `GPU ${c.gpus - 1}` }),
        rects, ticks));
  };
  const classes = [...new Set(c.runs.flatMap((r) => r.link_bytes.map((l) => l.name)))];
  const bytesOf = (run, name) => (run.link_bytes.find((l) => l.name === name) || { bytes: 0 }).bytes;
  TA.fill("cluster-body",
    TA.p(`One decode step of a ${clusters.grid.model_heads} × ${clusters.grid.model_head_dim} attention layer over ${c.seq_len.toLocaleString("en")} tokens on ${c.cluster} (${c.gpus} GPUs), simulated by the discrete-event simulator (idealised: no launch or synchronisation overheads). `,
      "Tree Attention computes its shard locally and all-reduces three small tensors; Ring Attention passes the K/V shards around the ring."),
    TA.h("svg", { viewBox: "0 0 600 50", class: "timeline", role: "img", "aria-label": "The two latencies to one scale" },
      TA.h("title", { text: "latency to scale" }),
      c.runs.map((r, i) => [TA.h("rect", { x: 44, y: 4 + 22 * i, width: Math.max(1, (546 * r.latency) / longest), height: 16, class: "latency-bar" }),
        TA.h("text", { x: 0, y: 16 + 22 * i, class: "small", text: r.strategy }),
        TA.h("text", { x: 48 + Math.max(1, (546 * r.latency) / longest), y: 16 + 22 * i, class: "small", "text-anchor": r.latency > longest / 2 ? "end" : "start", dx: r.latency > longest / 2 ? -8 : 0, text: `${TA.fmt(us(r.latency), 4)} µs` })])),
    TA.h("div", { class: "legend" }, TA.activities.map((a) => TA.h("span", {}, TA.h("i", { class: `swatch act-${a}` }), a))),
    TA.p("Each timeline below has its own time axis: one row per GPU."),
    c.runs.map(panel),
    TA.table("Per-GPU means and bytes per link class", ["", ...c.runs.map((r) => r.strategy)], [
      ["latency (µs)", ...c.runs.map((r) => TA.num(`cluster.${r.strategy}.latency_us`, us(r.latency), { digits: 6 }))],
      ...TA.activities.map((a, i) => [`${a} (µs)`, ...c.runs.map((r) => TA.num(`cluster.${r.strategy}.${a}_us`, us(r.activity[i]), { digits: 4 }))]),
      ["elements sent per GPU", ...c.runs.map((r) => TA.num(`cluster.${r.strategy}.elements_sent_per_device`, r.elements_sent_per_device, { digits: 6 }))],
      ...classes.map((name) => [`bytes on ${name}`, ...c.runs.map((r) => TA.num(`cluster.${r.strategy}.bytes.${name}`, bytesOf(r, name), { digits: 6 }))]),
    ]),
    TA.p("Ring / Tree latency = ", TA.num("cluster.ring_over_tree", c.runs[1].latency / c.runs[0].latency, { digits: 3 }), "×."));
};

// ---- Controls, state and the reference check. ----
TA.readSettings = () => {
  const v = (id) => document.getElementById(id).value.trim();
  const int = (id, lo, hi, label) => {
    if (v(id) === "") throw new Error(`${label} is empty: it must be a whole number in ${lo}…${hi}`);
    const x = Number(v(id));
    if (!Number.isInteger(x) || x < lo || x > hi) throw new Error(`${label} must be a whole number in ${lo}…${hi}`);
    return x;
  };
  const tokens = int("tokens", 1, 64, "Keys");
  const headDim = int("head-dim", 1, 16, "Head dim");
  // A choice bounded by another (the ring owner by p, the query position by n, the coordinate by d) follows it down.
  const follow = (id, hi) => {
    const e = document.getElementById(id);
    if (Number.isInteger(Number(e.value)) && Number(e.value) > hi) e.value = String(hi);
  };
  follow("query-position", tokens - 1);
  follow("energy-component", headDim - 1);
  if (!/^[0-9]{1,20}$/.test(v("seed")) || BigInt(v("seed")) > TA.M64) throw new Error("Seed must be a whole number in 0…2^64−1");
  const seed = BigInt(v("seed"));
  const shards = int("shards", 1, 16, "Shards");
  follow("ring-owner", shards - 1);
  const shapeName = v("tree-shape");
  let shapeText = shapeName;
  if (shapeName === "kary") shapeText = `kary:${int("tree-arg", 2, 16, "Arity k")}`;
  if (shapeName === "two-level") shapeText = `two-level:${int("tree-arg", 1, 16, "Group size")}`;
  const causal = document.getElementById("causal").checked;
  const queryPosition = causal ? int("query-position", 0, tokens - 1, "Query position") : null;
  const typedText = v("typed-values");
  let typed = null;
  if (typedText) {
    let t;
    try { t = JSON.parse(typedText); } catch (e) { throw new Error("Typed values: not JSON (" + e.message + ")"); }
    // As the reference's --values: the values set n and d; every number finite and at most 1000 in size.
    const okRow = (r, d) => Array.isArray(r) && r.length === d && r.every((x) => typeof x === "number" && Number.isFinite(x) && Math.abs(x) <= 1e3);
    const d = t && Array.isArray(t.q) ? t.q.length : 0;
    const n = t && Array.isArray(t.k) ? t.k.length : 0;
    if (!t || d < 1 || d > 16 || n < 1 || n > 64 || !okRow(t.q, d) || !Array.isArray(t.v) || t.v.length !== n ||
        !t.k.every((r) => okRow(r, d)) || !t.v.every((r) => okRow(r, d))) {
      throw new Error('Typed values need {"q": [d numbers], "k": [n rows of d], "v": [n rows of d]} (n 1…64, d 1…16, |x| ≤ 1000)');
    }
    if (n !== tokens || d !== headDim) {
      document.getElementById("tokens").value = String(n);
      document.getElementById("head-dim").value = String(d);
      return TA.readSettings();
    }
    typed = { q: t.q, k: t.k, v: t.v };
  }
  return {
    tokens, headDim, seed, shards, shape: TA.parseShape(shapeText), shapeText, causal, queryPosition,
    blockSize: int("block-size", 1, 64, "Block size"), ringOwner: int("ring-owner", 0, shards - 1, "Ring owner"),
    energyComponent: int("energy-component", 0, headDim - 1, "Energy coordinate"), typed,
  };
};

TA.command = (s) => {
  const inputs = s.typed ? `--values values.json --seed ${s.seed}` : `--tokens ${s.tokens} --head-dim ${s.headDim} --seed ${s.seed}`;
  let c = `treeattn explain --json --backward ${inputs} --shards ${s.shards} --tree ${s.shapeText}`;
  if (s.causal) c += ` --causal --query-position ${s.queryPosition}`;
  return c + ` --block-size ${s.blockSize} --ring-owner ${s.ringOwner} --energy-component ${s.energyComponent}`;
};

// Every number of the page's walkthrough against the reference's, by JSON path: the largest |difference| relative to
// max(1, |reference|), central differences apart (their rounding is amplified by 1/h).
TA.compare = (mine, reference) => {
  const flat = (o, prefix, out) => {
    if (Array.isArray(o)) o.forEach((x, i) => flat(x, `${prefix}.${i}`, out));
    else if (o !== null && typeof o === "object") for (const [key, x] of Object.entries(o)) flat(x, prefix ? `${prefix}.${key}` : key, out);
    else out.set(prefix, o === "-inf" ? -Infinity : o === "inf" ? Infinity : o);
    return out;
  };
  const a = flat(mine, "", new Map()), b = flat(reference, "", new Map());
  let worst = 0, worstCD = 0, count = 0, missing = 0;
  for (const [key, x] of a) {
    if (!b.has(key)) { missing++; continue; }
    const y = b.get(key);
    if (typeof x !== "number") continue;
    count++;
    const diff = x === y ? 0 : Math.abs(x - y) / Math.max(1, Math.abs(y));
    if (key.startsWith("central_difference")) worstCD = Math.max(worstCD, diff);
    else worst = Math.max(worst, Number.isNaN(diff) ? Infinity : diff);
  }
  return { worst, worstCD, count, missing };
};

TA.sameValues = (a, b) => JSON.stringify([a.q, a.k, a.v]) === JSON.stringify([b.q, b.k, b.v]);
// The seed is compared as text (data.js holds it exactly as "seed"); typed values use it too (dO is seeded by seed + 1).
TA.sameAsReference = (s, r) => String(s.seed) === window.TREEATTN_DATA.seed &&
  (s.typed ? !!r.values && TA.sameValues(s.typed, r.values) : !r.values) &&
  s.tokens === r.tokens && s.headDim === r.head_dim &&
  s.shards === r.shards && s.shapeText === r.tree && s.causal === r.causal && (!s.causal || s.queryPosition === (r.query_position ?? Math.floor((r.tokens - 1) / 2))) &&
  s.blockSize === r.block_size && s.ringOwner === r.ring_owner && s.energyComponent === r.energy_component;

TA.state = { view: "tree", step: 0, walkthrough: null, settings: null };

TA.update = (resetStep = true) => {
  let s;
  try {
    s = TA.readSettings();
  } catch (e) {
    TA.fill("control-error", e.message);
    return;
  }
  TA.fill("control-error");
  const w = TA.compute(s);
  TA.state.walkthrough = w;
  TA.state.settings = s;
  if (resetStep) TA.state.step = 0;
  TA.fill("command", TA.command(s));
  const ref = window.TREEATTN_DATA.reference;
  const check = document.getElementById("reference-check");
  if (TA.sameAsReference(s, ref.settings)) {
    const r = TA.compare(w, ref);
    const ok = r.worst <= 1e-12 && r.missing === 0;
    check.className = ok ? "check ok" : "check bad";
    TA.fill("reference-check", TA.h("strong", { text: ok ? "Agrees with the Swift reference. " : "Differs from the Swift reference! " }),
      `Your browser recomputed ${r.count} numbers; the largest relative difference from the embedded \`treeattn explain --json\` is `,
      TA.err("check.worst", r.worst), " (≤ 1e-12 required), central differences ", TA.err("check.worst_cd", r.worstCD), " (limited by rounding / h).");
  } else {
    check.className = "check";
    TA.fill("reference-check", "Recomputed in your browser for your choices. ", s.typed
      ? "Typed values: save the box's text as values.json; the reference computes the same numbers with the command below."
      : "The reference computes the same numbers with the command below.");
  }
  TA.renderScores(w);
  TA.renderBlocks(w, s);
  TA.renderMerges(w, s, TA.state);
  TA.renderEnergy(w);
  TA.renderBackward(w);
  document.getElementById("tree-arg").disabled = !["kary", "two-level"].includes(document.getElementById("tree-shape").value);
  document.getElementById("query-position").disabled = !s.causal;
};

TA.step = (delta) => {
  if (!TA.state.walkthrough) return;
  const count = TA.steps(TA.state.walkthrough, TA.state.view).length;
  TA.state.step = Math.min(Math.max(TA.state.step + delta, 0), count);
  TA.renderMerges(TA.state.walkthrough, TA.state.settings, TA.state);
};

TA.clusterChoice = () => ({
  preset: document.getElementById("cluster-preset").value,
  gpus: Number(document.getElementById("cluster-gpus").value),
  seqLen: Number(document.getElementById("cluster-seq").value),
});

TA.init = () => {
  const data = window.TREEATTN_DATA;
  const s = data.reference.settings;
  const set = (id, value) => { document.getElementById(id).value = String(value); };
  set("tokens", s.tokens); set("head-dim", s.head_dim); set("seed", data.seed); set("shards", s.shards);
  const [shape, arg] = s.tree.split(":");
  set("tree-shape", shape);
  set("tree-arg", arg ?? (shape === "kary" ? 4 : 2));
  document.getElementById("causal").checked = s.causal;
  set("query-position", s.query_position ?? Math.floor((s.tokens - 1) / 2));
  set("block-size", s.block_size); set("ring-owner", s.ring_owner); set("energy-component", s.energy_component);
  if (s.values) set("typed-values", JSON.stringify(s.values));
  for (const id of ["tokens", "head-dim", "seed", "shards", "tree-shape", "tree-arg", "causal", "query-position", "block-size", "ring-owner", "energy-component", "typed-values"]) {
    document.getElementById(id).addEventListener("change", () => TA.update());
  }
  document.getElementById("fill-typed").addEventListener("click", () => {
    const w = TA.state.walkthrough;
    if (!w) return;
    set("typed-values", JSON.stringify({ q: w.query, k: w.keys, v: w.values }));
    TA.update();
  });
  document.getElementById("merge-prev").addEventListener("click", () => TA.step(-1));
  document.getElementById("merge-next").addEventListener("click", () => TA.step(1));
  document.getElementById("merge-first").addEventListener("click", () => TA.step(-1e9));
  document.getElementById("merge-last").addEventListener("click", () => TA.step(1e9));
  document.getElementById("merge-stepper").addEventListener("keydown", (e) => {
    const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -1e9, End: 1e9 };
    if (e.key in moves) { TA.step(moves[e.key]); e.preventDefault(); }
  });
  for (const view of ["tree", "ring"]) {
    document.getElementById(`view-${view}`).addEventListener("change", () => {
      TA.state.view = document.getElementById("view-ring").checked ? "ring" : "tree";
      TA.state.step = 0;
      if (TA.state.walkthrough) TA.renderMerges(TA.state.walkthrough, TA.state.settings, TA.state);
    });
  }
  const grid = data.clusters.grid;
  const options = (id, values, label) => document.getElementById(id).replaceChildren(...values.map((x) => TA.h("option", { value: x, text: label(x) })));
  options("cluster-preset", grid.presets, (x) => x);
  options("cluster-gpus", grid.gpus, (x) => `${x} GPUs`);
  options("cluster-seq", grid.sequence_lengths, (x) => `${x.toLocaleString("en")} tokens`);
  set("cluster-gpus", grid.gpus[Math.min(2, grid.gpus.length - 1)]);
  set("cluster-seq", grid.sequence_lengths[Math.min(1, grid.sequence_lengths.length - 1)]);
  for (const id of ["cluster-preset", "cluster-gpus", "cluster-seq"]) {
    document.getElementById(id).addEventListener("change", () => TA.renderCluster(data.clusters, TA.clusterChoice()));
  }
  TA.update();
  TA.renderCluster(data.clusters, TA.clusterChoice());
  document.body.dataset.ready = "true";
};

document.addEventListener("DOMContentLoaded", TA.init);
