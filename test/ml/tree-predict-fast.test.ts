/**
 * The fast ensemble predictor (integer keys, lockstep walks, blocks, memoised prefixes) against a straightforward
 * reference traversal written here, on random trees and random inputs with NaN / ±0 / ±Infinity / values equal to
 * thresholds, and the models that use it (forest / boosting / truncation) against fresh, directly built models.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import type { TreeArrays } from "../../src/ml/tree/core.ts";
import { allocTree, pruneTree, treeShape } from "../../src/ml/tree/core.ts";
import {
  BinnedDataset,
  GradientBoostingRegressor,
  RandomForestRegressor,
  shutdownTreeWorkers,
} from "../../src/ml/tree/index.ts";
import { f32Key, thresholdKey, TreeEnsemblePredictor } from "../../src/ml/tree/predict.ts";
import { setWasmKernel, takeRegion } from "../../src/ml/tree/walk_wasm.ts";
import { FOREST_WALK_WASM } from "../../src/ml/tree/walk_wasm_bytes.ts";
import { compileForestWalk } from "../../scripts/gen-walk-wasm.ts";
import { matrix } from "../../src/ml/types.ts";

/** Reference: float32(x) <= threshold goes left, > goes right, NaN follows missingLeft; limits as in pruneTree. */
function refLeaf(t: TreeArrays, x: Float64Array, off: number, maxDepth: number, mss: number): number {
  let n = 0;
  let d = 0;
  while (t.feature[n] >= 0 && d < maxDepth && t.nSamples[n] >= mss) {
    const v = Math.fround(x[off + t.feature[n]]);
    const th = t.threshold[n];
    let left: boolean;
    if (Number.isNaN(v)) left = t.missingLeft[n] === 1;
    else left = v <= th;
    n = left ? t.left[n] : t.right[n];
    d++;
  }
  return t.value[n];
}

function refSums(
  trees: TreeArrays[],
  x: Float64Array,
  rows: number,
  p: number,
  opts: { from: number; to: number; scale: number; init: number; maxDepth: number; mss: number },
): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = opts.init;
    for (let ti = opts.from; ti < opts.to; ti++) {
      const v = refLeaf(trees[ti], x, r * p, opts.maxDepth, opts.mss);
      acc += opts.scale === 1 ? v : opts.scale * v;
    }
    out[r] = acc;
  }
  return out;
}

/** Values that stress the comparisons: float32 and non-float32 doubles, ±0, ±Infinity, tiny and huge values. */
function pickValue(rng: Rng, pool: number[]): number {
  const u = rng.next();
  if (u < 0.35 && pool.length > 0) return pool[rng.int(pool.length)];
  if (u < 0.45)
    return [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, -1e-45, 3.4e38][rng.int(7)];
  if (u < 0.7) return Math.fround(rng.normal() * 10);
  return rng.normal() * 10;
}

/** Shared leaf values: a distinct-value table must keep -0 apart from 0 (-0 + -0 is -0, -0 + 0 is 0). */
const LEAF_POOL = [0, -0, -0, 1.5, -2.25, 1e300, Number.MIN_VALUE];

/** A random pre-order tree over p features (thresholds partly from `pool`, so data hits them exactly). */
function randomTree(
  rng: Rng,
  p: number,
  maxNodes: number,
  pool: number[],
  maxDepth = 13,
  stopRate = 0.2,
): TreeArrays {
  const feat: number[] = [];
  const thr: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const miss: number[] = [];
  const val: number[] = [];
  const ns: number[] = [];
  const build = (depth: number, n: number): number => {
    const id = feat.length;
    feat.push(-1);
    thr.push(-2);
    left.push(-1);
    right.push(-1);
    miss.push(0);
    // leaf values repeat (the predictor stores each distinct value once), including both zeros
    val.push(rng.next() < 0.3 ? LEAF_POOL[rng.int(LEAF_POOL.length)] : rng.normal() * 100);
    ns.push(n);
    if (feat.length + 2 > maxNodes || depth >= maxDepth || n < 2 || rng.next() < stopRate) return id;
    let t = pickValue(rng, pool);
    if (Number.isNaN(t) || t === Number.NEGATIVE_INFINITY) t = 0;
    if (rng.next() < 0.3) pool.push(t);
    feat[id] = rng.int(p);
    thr[id] = t;
    miss[id] = rng.int(2);
    const nl = 1 + rng.int(n - 1);
    left[id] = build(depth + 1, nl);
    right[id] = build(depth + 1, n - nl);
    return id;
  };
  build(0, 2 + rng.int(500));
  const t = allocTree(feat.length);
  t.feature.set(feat);
  t.threshold.set(thr);
  t.left.set(left);
  t.right.set(right);
  t.missingLeft.set(miss);
  t.value.set(val);
  t.nSamples.set(ns);
  return t;
}

/** Gives every leaf of `trees` the value `value()` returns (called once per leaf, in tree and node order). */
function setLeafValues(trees: TreeArrays[], value: () => number): void {
  for (const t of trees) for (let n = 0; n < t.nodeCount; n++) if (t.feature[n] < 0) t.value[n] = value();
}

function randomX(rng: Rng, rows: number, p: number, pool: number[], nanRate: number): Float64Array {
  const x = new Float64Array(rows * p);
  for (let i = 0; i < x.length; i++) x[i] = rng.next() < nanRate ? Number.NaN : pickValue(rng, pool);
  return x;
}

function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: row ${i}: ${a[i]} !== ${b[i]}`);
  }
}

describe("integer keys", () => {
  it("x <= t  ⟺  f32Key(x) <= thresholdKey(t) for float32 x and double t", () => {
    const specials = fc.constantFrom(
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e-45,
      -1e-45,
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.float({ noNaN: true }), specials),
        fc.oneof(fc.double({ noNaN: true }), fc.float({ noNaN: true }), specials),
        (x, t) => {
          const xf = Math.fround(x);
          assert.equal(f32Key(xf) <= thresholdKey(t), xf <= t, `x=${xf} t=${t}`);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("keys are monotone over neighbouring float32 values", () => {
    const a = new Float32Array([-3.4e38, -1, -1e-45, -0, 0, 1e-45, 1, 3.4e38, Number.POSITIVE_INFINITY]);
    for (let i = 1; i < a.length; i++) assert.ok(f32Key(a[i - 1]) <= f32Key(a[i]), `${a[i - 1]} vs ${a[i]}`);
    assert.equal(f32Key(-0), f32Key(0));
  });
});

// every case below runs with each kernel of deep (pointer-layout) ensembles: WebAssembly (the default) and JavaScript
for (const kernel of ["wasm", "js"] as const)
  describe(`TreeEnsemblePredictor vs reference traversal (${kernel} kernel)`, () => {
    // (the wasm kernel from a predictor's first batch, not its third: see the policy test below)
    before(() => setWasmKernel(kernel === "wasm", { adoptAfter: 1 }));
    after(() => setWasmKernel(true));

    it("random trees, random inputs with NaN: bit-identical sums (ranges, scale, init, limits, blocks)", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          fc.integer({ min: 1, max: 40 }),
          fc.constantFrom(1, 3, 7, 8, 9, 33, 130),
          fc.constantFrom(0, 0.05, 0.5),
          fc.boolean(),
          (seed, p, rows, nanRate, limited) => {
            const rng = new Rng(seed);
            const pool: number[] = [];
            const nTrees = 1 + rng.int(20);
            const trees = Array.from({ length: nTrees }, () => randomTree(rng, p, 2 + rng.int(300), pool));
            const x = randomX(rng, rows, p, pool, nanRate);
            const scale = rng.next() < 0.5 ? 1 : 0.1;
            const init = [0, -0, rng.normal()][rng.int(3)];
            const maxDepth = limited ? 1 + rng.int(6) : Number.POSITIVE_INFINITY;
            const mss = limited ? rng.int(200) : 0;
            const pred = new TreeEnsemblePredictor(
              trees,
              p,
              scale,
              limited ? { maxDepth, minSamplesSplit: mss } : {},
            );
            assert.ok(pred.compact);
            const from = rng.int(nTrees);
            const to = from + rng.int(nTrees - from + 1);
            const got = new Float64Array(rows).fill(init);
            pred.accumulate(x, rows, got, from, to);
            sameBits(got, refSums(trees, x, rows, p, { from, to, scale, init, maxDepth, mss }), "accumulate");
            sameBits(
              pred.predictSums(x, rows, nTrees, init),
              refSums(trees, x, rows, p, { from: 0, to: nTrees, scale, init, maxDepth, mss }),
              "predictSums",
            );
            if (limited) {
              // same as predicting the explicitly pruned trees
              const pruned = trees.map((t) => pruneTree(t, { maxDepth, minSamplesSplit: mss }));
              sameBits(
                new TreeEnsemblePredictor(pruned, p, scale).predictSums(x, rows, nTrees, init),
                pred.predictSums(x, rows, nTrees, init),
                "pruned",
              );
            }
          },
        ),
        { numRuns: 150 },
      );
    });

    it("implicit layout (all trees at most 10 deep): mixed depths, single nodes, exactly 10 and 11 deep", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          fc.integer({ min: 1, max: 12 }),
          fc.constantFrom(1, 7, 8, 9, 70),
          fc.constantFrom(0, 0.1),
          (seed, p, rows, nanRate) => {
            const rng = new Rng(seed);
            const pool: number[] = [];
            const nTrees = 1 + rng.int(19);
            const cap = rng.int(12); // 0..11: 0 = single-node trees only, 11 = too deep for the implicit layout
            const trees = Array.from({ length: nTrees }, () =>
              rng.next() < 0.15
                ? randomTree(rng, p, 1, pool)
                : randomTree(rng, p, 5000, pool, cap, rng.next() * 0.3),
            );
            if (cap > 0 && rng.next() < 0.5) trees[rng.int(nTrees)] = randomTree(rng, p, 5000, pool, cap, 0); // full
            const depth = Math.max(...trees.map((t) => treeShape(t).depth));
            const x = randomX(rng, rows, p, pool, nanRate);
            const scale = rng.next() < 0.5 ? 1 : 0.07;
            const init = rng.normal();
            const pred = new TreeEnsemblePredictor(trees, p, scale);
            assert.equal(pred.implicitDepth, depth <= 10 ? depth : -1);
            const from = rng.int(nTrees);
            const to = from + rng.int(nTrees - from + 1);
            const got = new Float64Array(rows).fill(init);
            pred.accumulate(x, rows, got, from, to);
            const o = { scale, init, maxDepth: Number.POSITIVE_INFINITY, mss: 0 };
            sameBits(got, refSums(trees, x, rows, p, { ...o, from, to }), "accumulate");
            sameBits(
              pred.predictSums(x, rows, nTrees, init),
              refSums(trees, x, rows, p, { ...o, from: 0, to: nTrees }),
              "predictSums",
            );
            for (let r = 0; r < Math.min(rows, 5); r++) {
              const one = pred.predictSums(x.subarray(r * p, (r + 1) * p), 1, nTrees, init);
              const want = refSums(trees, x.subarray(r * p, (r + 1) * p), 1, p, {
                ...o,
                from: 0,
                to: nTrees,
              });
              sameBits(one, want, `single row ${r}`);
            }
          },
        ),
        { numRuns: 120 },
      );
    });

    it("limits that make deep trees shallow switch to the implicit layout (maxDepth, minSamplesSplit)", () => {
      const rng = new Rng(99);
      const pool: number[] = [];
      const p = 6;
      const trees = Array.from({ length: 11 }, () => randomTree(rng, p, 3000, pool, 16, 0.05));
      assert.ok(Math.max(...trees.map((t) => treeShape(t).depth)) > 10);
      const rows = 150;
      const x = randomX(rng, rows, p, pool, 0.03);
      let shallow = 0;
      for (const [maxDepth, mss] of [
        [10, 0],
        [4, 0],
        [1, 0],
        [10, 60],
        [Number.POSITIVE_INFINITY, 400],
        [Number.POSITIVE_INFINITY, 0],
      ] as const) {
        const pred = new TreeEnsemblePredictor(trees, p, 0.3, { maxDepth, minSamplesSplit: mss });
        const pruned = trees.map((t) => pruneTree(t, { maxDepth, minSamplesSplit: mss }));
        const d = Math.max(...pruned.map((t) => treeShape(t).depth));
        assert.equal(pred.implicitDepth, d <= 10 ? d : -1, `limits ${maxDepth}/${mss}`);
        if (d <= 10) shallow++;
        if (maxDepth <= 10 && mss === 0) assert.equal(d, maxDepth);
        const want = refSums(trees, x, rows, p, { from: 0, to: 11, scale: 0.3, init: 0, maxDepth, mss });
        sameBits(pred.predictSums(x, rows, 11), want, `limits ${maxDepth}/${mss}`);
        for (let r = 0; r < 10; r++) {
          const one = pred.predictSums(x.subarray(r * p, (r + 1) * p), 1, 11);
          assert.ok(Object.is(one[0], want[r]), `limits ${maxDepth}/${mss} row ${r}`);
        }
        sameBits(new TreeEnsemblePredictor(pruned, p, 0.3).predictSums(x, rows, 11), want, "pruned trees");
      }
      assert.ok(shallow >= 3);
    });

    it("many sparse trees: the implicit layout is not used when padding would blow the ensemble up", () => {
      const p = 3;
      // a depth-10 chain: 10 internal nodes, 11 leaves (pre-order: internal i at 2i, its left leaf at 2i + 1)
      const chain = (seed: number): TreeArrays => {
        const t = allocTree(21);
        for (let i = 0; i < 10; i++) {
          t.feature[2 * i] = (i + seed) % p;
          t.threshold[2 * i] = ((i * 7 + seed) % 13) - 6.5;
          t.left[2 * i] = 2 * i + 1;
          t.right[2 * i] = 2 * i + 2;
          t.missingLeft[2 * i] = i % 2;
          t.feature[2 * i + 1] = -1;
          t.value[2 * i + 1] = seed + i / 16;
        }
        t.feature[20] = -1;
        t.value[20] = -seed;
        return t;
      };
      const rng = new Rng(8);
      const rows = 40;
      const x = randomX(rng, rows, p, [-3, 0, 2.5], 0);
      for (const [n, implicit] of [
        [2000, true], // 2000 · 2^11 slots <= 2^22
        [2100, false],
      ] as const) {
        const trees = Array.from({ length: n }, (_, i) => chain(i % 97));
        const pred = new TreeEnsemblePredictor(trees, p);
        assert.equal(pred.implicitDepth, implicit ? 10 : -1);
        const want = refSums(trees, x, rows, p, {
          from: 0,
          to: n,
          scale: 1,
          init: 0,
          maxDepth: Infinity,
          mss: 0,
        });
        sameBits(pred.predictSums(x, rows, n), want, `${n} chains`);
      }
    });

    it("narrow (clamped) and wide (ranked) feature keys: values beyond every threshold, ±0, ±Infinity", () => {
      const rng = new Rng(4);
      const p = 3;
      for (const sign of [1, -1, 0]) {
        // sign 1 / -1: one-signed thresholds (narrow features); 0: both signs, large (wide features)
        const pool: number[] = [];
        for (let i = 0; i < 40; i++) {
          const v = sign === 0 ? (rng.next() - 0.5) * 1e6 : sign * (1 + rng.next() * 100);
          pool.push(rng.next() < 0.5 ? v : Math.fround(v));
        }
        const trees = Array.from({ length: 9 }, () => randomTree(rng, p, 2000, pool, 14, 0.05));
        for (const t of trees)
          for (let i = 0; i < t.nodeCount; i++)
            if (t.feature[i] >= 0) t.threshold[i] = pool[rng.int(pool.length)];
        const extremes = [
          0,
          -0,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          1e30,
          -1e30,
          1e-40,
          -1e-40,
        ];
        const rows = 400;
        const x = new Float64Array(rows * p);
        for (let i = 0; i < x.length; i++) {
          const u = rng.next();
          x[i] =
            u < 0.2
              ? extremes[rng.int(extremes.length)]
              : u < 0.6
                ? pool[rng.int(pool.length)]
                : pool[rng.int(pool.length)] * (1 + (rng.next() - 0.5) * 1e-7);
        }
        for (const limits of [{}, { maxDepth: 6 }]) {
          const pred = new TreeEnsemblePredictor(trees, p, 1, limits);
          const md = (limits as { maxDepth?: number }).maxDepth ?? Number.POSITIVE_INFINITY;
          const want = refSums(trees, x, rows, p, {
            from: 0,
            to: 9,
            scale: 1,
            init: 0,
            maxDepth: md,
            mss: 0,
          });
          sameBits(pred.predictSums(x, rows, 9), want, `sign ${sign} ${JSON.stringify(limits)}`);
          for (let r = 0; r < 40; r++) {
            const one = pred.predictSums(x.subarray(r * p, (r + 1) * p), 1, 9);
            assert.ok(Object.is(one[0], want[r]), `sign ${sign} row ${r}`);
          }
        }
      }
    });

    it("trees whose nodes are not in pre-order are re-laid out correctly (implicit and pointer layouts)", () => {
      const rng = new Rng(21);
      const p = 4;
      for (const [maxDepth, stopRate, implicit] of [
        [16, 0.05, false],
        [7, 0.15, true],
      ] as const) {
        const pool: number[] = [];
        const src = Array.from({ length: 6 }, () => randomTree(rng, p, 3000, pool, maxDepth, stopRate));
        // relabel nodes 1..n-1 (the root stays 0) with a random permutation
        const trees = src.map((t) => {
          const n = t.nodeCount;
          const perm = [0, ...Array.from(rng.permutation(n - 1), (v) => v + 1)];
          const u = allocTree(n);
          for (let i = 0; i < n; i++) {
            const j = perm[i];
            u.feature[j] = t.feature[i];
            u.threshold[j] = t.threshold[i];
            u.left[j] = t.left[i] < 0 ? -1 : perm[t.left[i]];
            u.right[j] = t.right[i] < 0 ? -1 : perm[t.right[i]];
            u.missingLeft[j] = t.missingLeft[i];
            u.value[j] = t.value[i];
            u.nSamples[j] = t.nSamples[i];
          }
          return u;
        });
        const rows = 200;
        const x = randomX(rng, rows, p, pool, 0.05);
        const want = refSums(src, x, rows, p, {
          from: 0,
          to: 6,
          scale: 1,
          init: 0,
          maxDepth: Infinity,
          mss: 0,
        });
        const relabelled = new TreeEnsemblePredictor(trees, p);
        assert.equal(relabelled.implicitDepth >= 0, implicit);
        assert.equal(relabelled.topDepth > 0, !implicit);
        sameBits(relabelled.predictSums(x, rows, 6), want, "relabelled");
        sameBits(new TreeEnsemblePredictor(src, p).predictSums(x, rows, 6), want, "pre-order");
        for (let r = 0; r < 20; r++) {
          const one = relabelled.predictSums(x.subarray(r * p, (r + 1) * p), 1, 6);
          assert.ok(Object.is(one[0], want[r]), `single row ${r}`);
        }
      }
    });

    it("deep ensembles: leaves above the implicit top, single-node trees, rows and 12-row groups", () => {
      const rng = new Rng(31);
      const pool: number[] = [];
      const p = 5;
      const trees = Array.from({ length: 37 }, (_, i) =>
        i % 9 === 4 ? randomTree(rng, p, 1, pool) : randomTree(rng, p, 4000, pool, 9 + (i % 9), 0.12),
      );
      trees[0] = randomTree(rng, p, 4000, pool, 20, 0.02); // deep enough for the pointer layout
      const pred = new TreeEnsemblePredictor(trees, p, 0.5);
      assert.equal(pred.implicitDepth, -1);
      assert.ok(pred.topDepth > 0);
      for (const rows of [1, 5, 12, 13, 25, 300]) {
        const x = randomX(rng, rows, p, pool, 0.02);
        const init = rng.normal();
        for (const [from, to] of [
          [0, 37],
          [3, 20],
          [36, 37],
        ]) {
          const got = new Float64Array(rows).fill(init);
          pred.accumulate(x, rows, got, from, to);
          const want = refSums(trees, x, rows, p, { from, to, scale: 0.5, init, maxDepth: Infinity, mss: 0 });
          sameBits(got, want, `rows ${rows} [${from}, ${to})`);
        }
      }
    });

    it("deep ensembles whose leaves repeat a few values (±0): sums and per-tree terms keep every bit", () => {
      // the pointer layout stores each distinct leaf value once; -0 and 0 must stay apart: a row whose leaves are
      // all -0 sums to -0 from init -0 (and a leafTerms slot, which starts at -0, keeps its term's sign)
      const rng = new Rng(47);
      const pool: number[] = [];
      const p = 4;
      const trees = Array.from({ length: 9 }, () => randomTree(rng, p, 3000, pool, 18, 0.02));
      setLeafValues(trees, () => [0, -0, -0, -0, -0, -0, 2.5][rng.int(7)]);
      const pred = new TreeEnsemblePredictor(trees, p);
      assert.equal(pred.implicitDepth, -1);
      assert.equal(pred.layout().leafValues.length, 3, "0, -0 and 2.5, each stored once");
      for (const rows of [13, 200]) {
        const x = randomX(rng, rows, p, pool, 0);
        const got = new Float64Array(rows).fill(-0);
        pred.accumulate(x, rows, got);
        const want = refSums(trees, x, rows, p, {
          from: 0,
          to: 9,
          scale: 1,
          init: -0,
          maxDepth: Infinity,
          mss: 0,
        });
        if (rows === 200)
          assert.ok(
            want.some((v) => Object.is(v, -0)) && want.some((v) => Object.is(v, 0)),
            "both zeros occur",
          );
        sameBits(got, want, `accumulate, rows ${rows}`);
        const stage = new Float64Array(rows * 7);
        pred.leafTerms(x, rows, 2, 9, stage);
        for (let t = 2; t < 9; t++)
          for (let r = 0; r < rows; r++) {
            const term = stage[(t - 2) * rows + r];
            const ref = refLeaf(trees[t], x, r * p, Infinity, 0);
            if (!Object.is(term, ref))
              assert.fail(`leafTerms, rows ${rows}: tree ${t}, row ${r}: ${term} vs ${ref}`);
          }
      }
    });

    it("stores each distinct leaf value once, however many (the value table grows)", () => {
      const rng = new Rng(53);
      const pool: number[] = [];
      const p = 3;
      const trees = Array.from({ length: 6 }, () => randomTree(rng, p, 4000, pool, 24, 0.01));
      // up to 3,000 distinct values (and -0), many used by several leaves across the trees
      setLeafValues(trees, () => (rng.next() < 0.01 ? -0 : rng.int(3000) / 7));
      const distinct = new Set<string>();
      for (const t of trees)
        for (let n = 0; n < t.nodeCount; n++)
          if (t.feature[n] < 0) distinct.add(Object.is(t.value[n], -0) ? "-0" : String(t.value[n]));
      assert.ok(distinct.size > 600, `distinct ${distinct.size}`); // the table grows at 256 and 512 values
      const pred = new TreeEnsemblePredictor(trees, p);
      assert.equal(pred.implicitDepth, -1);
      assert.equal(pred.layout().leafValues.length, distinct.size);
      const x = randomX(rng, 300, p, pool, 0);
      const want = refSums(trees, x, 300, p, {
        from: 0,
        to: 6,
        scale: 1,
        init: 0,
        maxDepth: Infinity,
        mss: 0,
      });
      sameBits(pred.predictSums(x, 300, 6), want, "sums");
      // without sharing (a grid's pruned forests): one entry per leaf, same predictions
      const plain = new TreeEnsemblePredictor(trees, p, 1, { shareLeafValues: false });
      let leaves = 0;
      for (const t of trees) for (let n = 0; n < t.nodeCount; n++) if (t.feature[n] < 0) leaves++;
      assert.equal(plain.layout().leafValues.length, leaves);
      sameBits(plain.predictSums(x, 300, 6), want, "sums without sharing");
    });

    it("batches larger than one block (1,024 rows) and single rows agree with the reference", () => {
      const rng = new Rng(7);
      const pool: number[] = [];
      const p = 5;
      const trees = Array.from({ length: 13 }, () => randomTree(rng, p, 400, pool));
      const rows = 2500;
      const x = randomX(rng, rows, p, pool, 0.01);
      const pred = new TreeEnsemblePredictor(trees, p);
      const want = refSums(trees, x, rows, p, {
        from: 0,
        to: 13,
        scale: 1,
        init: 0,
        maxDepth: Infinity,
        mss: 0,
      });
      sameBits(pred.predictSums(x, rows, 13), want, "batch");
      for (let r = 0; r < rows; r += 97) {
        const one = pred.predictSums(x.subarray(r * p, (r + 1) * p), 1, 13);
        assert.ok(Object.is(one[0], want[r]), `row ${r}`);
      }
    });

    it("ensembles too large for the 8-byte layout fall back to the reference traversal", () => {
      // 2^20 columns leave 10 bits for the right-child delta: a 1,201-node chain does not fit
      const p = 2 ** 20;
      const inner = 600;
      const t = allocTree(2 * inner + 1);
      for (let i = 0; i < inner; i++) {
        const id = 2 * i; // internal; left = leaf id + 1, right = next internal id + 2
        t.feature[id] = (i * 7919) % p;
        t.threshold[id] = i - 300.5;
        t.left[id] = id + 1;
        t.right[id] = id + 2;
        t.missingLeft[id] = i % 2;
        t.feature[id + 1] = -1;
        t.left[id + 1] = -1;
        t.right[id + 1] = -1;
        t.value[id + 1] = i;
        t.nSamples[id] = 1000;
      }
      t.feature[2 * inner] = -1;
      t.left[2 * inner] = -1;
      t.right[2 * inner] = -1;
      t.value[2 * inner] = -1;
      const pred = new TreeEnsemblePredictor([t], p);
      assert.equal(pred.compact, false);
      const rows = 3;
      const x = new Float64Array(rows * p).fill(1e9);
      x[(5 * 7919) % p] = -1000; // row 0 stops at chain step 5
      x[p + ((12 * 7919) % p)] = Number.NaN; // row 1: NaN at a missing-right node (i = 12), keeps going
      x[p + ((13 * 7919) % p)] = Number.NaN; // then at a missing-left node (i = 13): leaf 13
      const want = refSums([t], x, rows, p, {
        from: 0,
        to: 1,
        scale: 1,
        init: 0,
        maxDepth: Infinity,
        mss: 0,
      });
      assert.deepEqual(Array.from(want), [5, 13, -1]);
      sameBits(pred.predictSums(x, rows, 1), want, "fallback");
    });

    it("memoised prefixes continue bit for bit and never serve a changed input", () => {
      const rng = new Rng(11);
      const pool: number[] = [];
      const p = 4;
      const trees = Array.from({ length: 30 }, () => randomTree(rng, p, 200, pool));
      const rows = 300;
      const x = randomX(rng, rows, p, pool, 0.02);
      const pred = new TreeEnsemblePredictor(trees, p);
      pred.memo = true;
      const ref = (to: number, xx: Float64Array) =>
        refSums(trees, xx, rows, p, { from: 0, to, scale: 1, init: 0, maxDepth: Infinity, mss: 0 });
      for (const to of [5, 10, 30, 7, 30]) sameBits(pred.predictSums(x, rows, to), ref(to, x), `to=${to}`);
      const before = pred.predictSums(x, rows, 30);
      const x2 = x.slice();
      for (let r = 0; r < rows; r++) x2[r * p + (r % p)] = -x2[r * p + (r % p)] * 3 + 1; // same shape, other values
      const after = ref(30, x2);
      assert.ok(
        after.some((v, i) => !Object.is(v, before[i])),
        "the change must matter",
      );
      sameBits(pred.predictSums(x2, rows, 30), after, "changed input");
      pred.predictSums(randomX(rng, rows, p, pool, 0), rows, 30); // evict: the cache now holds x2 and this one
      x.set(x2); // x now has x2's values: the cached copy of x is gone, x2's entry matches by value
      sameBits(pred.predictSums(x, rows, 30), after, "mutated in place");
      const x3 = x.slice();
      x3[0] = x3[0] === 1 ? 2 : 1;
      sameBits(pred.predictSums(x3, rows, 30), ref(30, x3), "one value changed");
    });
  });

describe("WebAssembly kernel", () => {
  it("the committed module is the compilation of walk_wat.ts (npm run gen:wasm)", async () => {
    const fresh = await compileForestWalk();
    assert.equal(
      Buffer.from(FOREST_WALK_WASM, "base64").equals(Buffer.from(fresh)),
      true,
      "src/ml/tree/walk_wasm_bytes.ts is stale: run npm run gen:wasm",
    );
  });

  it("a deep layout moves to wasm memory at its third batch or when shared with workers; never when memoising", () => {
    const rng = new Rng(3);
    const pool: number[] = [];
    const p = 3;
    const trees = [randomTree(rng, p, 4000, pool, 20, 0.02), randomTree(rng, p, 4000, pool, 20, 0.02)];
    const rows = 50;
    const x = randomX(rng, rows, p, pool, 0);
    const want = refSums(trees, x, rows, p, {
      from: 0,
      to: 2,
      scale: 1,
      init: 0,
      maxDepth: Infinity,
      mss: 0,
    });
    const inMemory = (pred: TreeEnsemblePredictor) => pred.layout().memory !== null;
    const pred = new TreeEnsemblePredictor(trees, p);
    assert.equal(pred.implicitDepth, -1);
    for (let call = 1; call <= 4; call++) {
      pred.predictSums(x.subarray(0, p), 1, 2); // single rows are not batches
      sameBits(pred.predictSums(x, rows, 2), want, `call ${call}`);
      assert.equal(inMemory(pred), call >= 3, `call ${call}`);
    }
    const own = pred.layout();
    assert.ok(own.nodes.buffer instanceof SharedArrayBuffer);
    assert.equal(pred.layout(true).nodes, own.nodes, "workers get the memory, not a copy");
    assert.equal(pred.layout(true).memory, own.memory);
    // shared with workers before any batch: moved at once, no copy
    const shared = new TreeEnsemblePredictor(trees, p);
    const l = shared.layout(true);
    assert.notEqual(l.memory, null);
    assert.equal(shared.layout().nodes, l.nodes);
    sameBits(shared.predictSums(x, rows, 2), want, "after sharing");
    // memoising (a grid's truncated models): plain arrays, a shared copy for the workers
    const memo = new TreeEnsemblePredictor(trees, p);
    memo.memo = true;
    for (let call = 1; call <= 4; call++) sameBits(memo.predictSums(x, rows, 2), want, `memo call ${call}`);
    assert.equal(inMemory(memo), false);
    assert.equal(memo.layout(true).memory, null);
    assert.ok(memo.layout(true).nodes.buffer instanceof SharedArrayBuffer);
    assert.ok(!(memo.layout().nodes.buffer instanceof SharedArrayBuffer));
    // the JavaScript kernel: never
    setWasmKernel(false);
    try {
      const js = new TreeEnsemblePredictor(trees, p);
      for (let call = 1; call <= 4; call++) sameBits(js.predictSums(x, rows, 2), want, `js call ${call}`);
      assert.equal(js.layout(true).memory, null);
      assert.equal(inMemory(js), false);
      // the setting when it was made counts, not the setting when it is shared
      const madeOff = new TreeEnsemblePredictor(trees, p);
      setWasmKernel(true);
      assert.equal(madeOff.layout(true).memory, null);
      for (let call = 1; call <= 4; call++) madeOff.predictSums(x, rows, 2);
      assert.equal(inMemory(madeOff), false);
    } finally {
      setWasmKernel(true);
    }
  });

  it("leafTerms and accumulate over more trees than one kernel call and more rows than one block", () => {
    // 150 trees: leafTerms calls the kernel 64 trees at a time; 2,100 rows: three blocks (r0 = 0, 1024, 2048)
    const rng = new Rng(71);
    const pool: number[] = [];
    const p = 6;
    const trees = Array.from({ length: 150 }, (_, i) =>
      randomTree(rng, p, 300, pool, i === 0 ? 20 : 13, 0.1),
    );
    const rows = 2100;
    const x = randomX(rng, rows, p, pool, 0);
    const wasm = new TreeEnsemblePredictor(trees, p, 0.5);
    assert.notEqual(wasm.layout(true).memory, null); // moved to wasm memory now
    setWasmKernel(false);
    const js = new TreeEnsemblePredictor(trees, p, 0.5);
    setWasmKernel(true);
    assert.equal(js.layout().memory, null);
    for (const [from, to] of [
      [0, 150],
      [63, 129],
      [64, 65],
    ]) {
      const a = new Float64Array(rows * (to - from));
      const b = new Float64Array(rows * (to - from));
      wasm.leafTerms(x, rows, from, to, a);
      js.leafTerms(x, rows, from, to, b);
      sameBits(a, b, `leafTerms [${from}, ${to})`);
      for (let t = from; t < to; t += 7)
        for (let r = 0; r < rows; r += 101) {
          const ref = 0.5 * refLeaf(trees[t], x, r * p, Infinity, 0);
          if (!Object.is(a[(t - from) * rows + r], ref)) assert.fail(`tree ${t}, row ${r}`);
        }
      const init = rng.normal();
      const sa = new Float64Array(rows).fill(init);
      wasm.accumulate(x, rows, sa, from, to);
      const want = refSums(trees, x, rows, p, { from, to, scale: 0.5, init, maxDepth: Infinity, mss: 0 });
      sameBits(sa, want, `accumulate [${from}, ${to})`);
    }
  });

  it("regions come from growing the memory; a memory at its maximum gives none", () => {
    const m = new WebAssembly.Memory({ initial: 0, maximum: 2, shared: true });
    assert.equal(takeRegion(m, 10), 0);
    assert.equal(takeRegion(m, 65536), 65536);
    assert.equal(takeRegion(m, 1), -1);
  });
});

describe("binning cache", () => {
  it("reuses bins only for bit-identical values, with the caller's matrix and names", () => {
    const rng = new Rng(5);
    const n = 300;
    const p = 3;
    const a = new Float64Array(n * p);
    for (let i = 0; i < a.length; i++) a[i] = rng.next() < 0.05 ? Number.NaN : rng.normal();
    const X1 = matrix(n, p, a);
    const b1 = BinnedDataset.fromMatrix(X1, { maxBins: 32 });
    const b = a.slice();
    for (let i = 0; i < n; i++) b[i * p] = -b[i * p] - 1; // column 0 changed
    const X2 = matrix(n, p, b);
    const b2 = BinnedDataset.fromMatrix(X2, { maxBins: 32 });
    const colMin = (d: Float64Array) => {
      let m = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) if (d[i * p] < m) m = d[i * p];
      return Math.fround(m);
    };
    assert.equal(b1.binLo[b1.binOffset[0]], colMin(a));
    assert.equal(b2.binLo[b2.binOffset[0]], colMin(b));
    assert.notEqual(b2.codes, b1.codes);
    const X3 = matrix(n, p, a.slice(), ["u", "v", "w"]);
    const b3 = BinnedDataset.fromMatrix(X3, { maxBins: 32 });
    assert.equal(b3.codes, b1.codes, "a hit shares the codes");
    assert.equal(b3.source, X3);
    assert.deepEqual(b3.featureNames, ["u", "v", "w"]);
    assert.equal(b1.featureNames, undefined);
    const b4 = BinnedDataset.fromMatrix(X3, { maxBins: 16 });
    assert.notEqual(b4.codes, b1.codes, "other maxBins: binned again");
    const z = a.slice();
    z[4] = z[4] === 0 ? -0 : 0; // even a zero's sign counts
    assert.notEqual(BinnedDataset.fromMatrix(matrix(n, p, z), { maxBins: 32 }).codes, b1.codes);
  });
});

describe("models on the fast path", () => {
  const n = 400;
  const p = 6;
  const rng = new Rng(3);
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++)
      X[i * p + j] = rng.next() < 0.03 ? Number.NaN : Math.round(rng.normal() * 50) / 10;
    y[i] = (X[i * p] || 0) * 2 + Math.sin(X[i * p + 1] || 0) + rng.normal() * 0.1;
  }
  const M = matrix(n, p, X);
  const Xq = new Float64Array(200 * p);
  for (let i = 0; i < Xq.length; i++)
    Xq[i] = rng.next() < 0.05 ? Number.NaN : Math.round(rng.normal() * 60) / 10;
  const Q = matrix(200, p, Xq);

  it("RandomForest predict = mean of the reference traversals, summed in tree order", () => {
    const rf = new RandomForestRegressor({ n_estimators: 12, random_state: 1, max_features: 0.5 }).fit(M, y);
    const trees = rf.estimators as TreeArrays[];
    const sums = refSums(trees, Q.data, 200, p, {
      from: 0,
      to: 12,
      scale: 1,
      init: 0,
      maxDepth: Infinity,
      mss: 0,
    });
    sameBits(
      rf.predict(Q),
      sums.map((s) => s / 12),
      "forest",
    );
  });

  it("truncated forests (shared predictor, lazy trees) equal forests rebuilt from their states", () => {
    const rf = new RandomForestRegressor({ n_estimators: 10, random_state: 2 }).fit(M, y);
    for (const o of [
      { nEstimators: 3 },
      { nEstimators: 10, maxDepth: 3 },
      { nEstimators: 4, maxDepth: 3 },
      { nEstimators: 7, maxDepth: 3, minSamplesSplit: 20 },
      { nEstimators: 5, minSamplesSplit: 50 },
    ]) {
      const t = rf.truncate(o);
      const a = t.predict(Q);
      const b = t.predict(M);
      const fresh = RandomForestRegressor.fromState(t.toState());
      sameBits(a, fresh.predict(Q), `truncate ${JSON.stringify(o)} (Q)`);
      sameBits(b, fresh.predict(M), `truncate ${JSON.stringify(o)} (X)`);
      assert.equal(t.estimators.length, o.nEstimators);
    }
  });

  it("GradientBoosting truncate / predict / stagedPredict agree", () => {
    const g = new GradientBoostingRegressor({
      n_estimators: 20,
      max_depth: 3,
      learning_rate: 0.1,
      random_state: 0,
    }).fit(M, y);
    const staged = [...g.stagedPredict(Q)];
    for (const k of [5, 10, 20, 8]) sameBits(g.truncate(k).predict(Q), staged[k - 1], `truncate ${k}`);
    sameBits(g.predict(Q), staged[19], "predict");
    const fresh = GradientBoostingRegressor.fromState(g.truncate(10).toState());
    sameBits(fresh.predict(Q), staged[9], "fromState(truncate(10))");
  });

  it("cleanup", async () => {
    await shutdownTreeWorkers();
  });
});
