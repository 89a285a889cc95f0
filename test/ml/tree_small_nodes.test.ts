/**
 * Row-list mode (TreeGrower.useRowLists / listMax: small nodes grown from per-feature row lists carried down by
 * stable partitions) must choose exactly the splits of the histogram paths. With integer targets and integer
 * weights every sum is exact whatever its order, so trees grown with row lists from the root, from the default
 * threshold, entered below the sparse/sort scans, and with dense histograms everywhere must be identical, array for
 * array: same features, thresholds, missing-value routing, values and node statistics. Ties, missing values,
 * binary and constant features, min_samples_leaf, random feature subsets, depth limits and best-first growth are
 * all covered, with Uint8 and Uint16 codes. With real-valued targets a list-mode tree must still be exact under
 * depth truncation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import { BinnedDataset } from "../../src/ml/tree/binning.ts";
import type { GrowParams, TreeArrays } from "../../src/ml/tree/core.ts";
import { pruneTree, TreeGrower } from "../../src/ml/tree/core.ts";
import { matrix } from "../../src/ml/types.ts";
import { assertSameTree, fullGrowParams } from "../helpers/trees.ts";

interface Mode {
  denseMin?: number;
  listMax?: number;
  rowLists?: boolean;
}

function grow(
  b: BinnedDataset,
  y: Float64Array,
  w: Float64Array | null,
  mode: Mode,
  over: Partial<GrowParams>,
): TreeArrays {
  const g = new TreeGrower(b.toData());
  if (mode.rowLists) g.useRowLists();
  if (mode.denseMin !== undefined) g.denseMin = mode.denseMin;
  if (mode.listMax !== undefined) g.listMax = mode.listMax;
  const rows: number[] = [];
  for (let r = 0; r < b.rows; r++) if (!w || w[r] > 0) rows.push(r);
  const params = fullGrowParams(b.cols, 11, over);

  return g.grow(y, w, Uint32Array.from(rows), params).tree;
}

const same = (a: TreeArrays, b: TreeArrays, label: string): void => assertSameTree(a, b, label);

/** Random data with many-bin, tied, binary, constant and missing-heavy features. */
function makeData(seed: number, n: number, integerY: boolean, maxBins = 64) {
  const rng = new Rng(seed);
  const p = 7;
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    X[i * p] = rng.int(400); // more distinct values than bins
    X[i * p + 1] = rng.next() < 0.2 ? Number.NaN : rng.int(30);
    X[i * p + 2] = rng.int(2); // binary
    X[i * p + 3] = rng.next() < 0.6 ? 5 : rng.int(1000) / 7; // one heavy tie
    X[i * p + 4] = 2; // constant
    X[i * p + 5] = rng.next() < 0.5 ? Number.NaN : rng.int(6); // half missing, few values
    X[i * p + 6] = rng.int(3);
    const base = rng.int(8) + (X[i * p] > 200 ? 5 : 0) + (Number.isNaN(X[i * p + 1]) ? 3 : 0);
    y[i] = integerY ? base : base + rng.normal() * 0.37;
  }
  return { b: BinnedDataset.fromMatrix(matrix(n, p, X), { maxBins }), y, rng };
}

test("row-list mode grows the same trees as the histogram paths (exact sums)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e6 }),
      fc.integer({ min: 30, max: 500 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 3 }),
      (seed, n, weighted, msl, shape) => {
        // maxBins 300 gives Uint16 codes (list entries pack row << 16 | code instead of row << 8 | code)
        const { b, y, rng } = makeData(seed, n, true, seed % 3 === 0 ? 300 : 64);
        assert.equal(b.codes instanceof Uint16Array, seed % 3 === 0);
        let w: Float64Array | null = null;
        if (weighted) {
          w = new Float64Array(n);
          for (let i = 0; i < n; i++) w[i] = rng.int(4); // bootstrap-like counts, some rows left out
        }
        const over: Partial<GrowParams> = { minSamplesLeaf: msl };
        if (shape === 1) over.maxFeatures = 3;
        if (shape === 2) over.maxDepth = 4 + (seed % 5);
        if (shape === 3) over.maxLeafNodes = 5 + (seed % 40);
        const dense = grow(b, y, w, { denseMin: 2, listMax: 0 }, over);
        same(dense, grow(b, y, w, { denseMin: 1e9, listMax: 1e9 }, over), "lists from the root");
        same(dense, grow(b, y, w, { rowLists: true }, over), "useRowLists defaults");
        same(dense, grow(b, y, w, { denseMin: 1e9, listMax: 9 }, over), "lists below sort/sparse scans");
        same(dense, grow(b, y, w, { denseMin: 40, listMax: 40 }, over), "lists below histograms");
        same(dense, grow(b, y, w, { denseMin: 1e9, listMax: 0 }, over), "no lists, no histograms");
      },
    ),
    { numRuns: 80 },
  );
});

test("row-list mode stays exact under depth truncation with real-valued targets", () => {
  for (const seed of [1, 2, 3]) {
    const { b, y } = makeData(seed, 600, false);
    const full = grow(b, y, null, { rowLists: true }, {});
    for (const d of [3, 6, 9]) {
      same(
        pruneTree(full, { maxDepth: d }),
        grow(b, y, null, { rowLists: true }, { maxDepth: d }),
        `depth ${d}`,
      );
    }
    same(
      pruneTree(full, { minSamplesSplit: 7 }),
      grow(b, y, null, { rowLists: true }, { minSamplesSplit: 7 }),
      "min_samples_split 7",
    );
    // and the list-mode tree is a real fit: same split structure as histograms up to the last bits of sums
    const dense = grow(b, y, null, { denseMin: 2, listMax: 0 }, { maxDepth: 3 });
    const lists = grow(b, y, null, { rowLists: true }, { maxDepth: 3 });
    assert.deepEqual(Array.from(lists.feature), Array.from(dense.feature));
    assert.deepEqual(Array.from(lists.threshold), Array.from(dense.threshold));
  }
});

test("one grower alternates between list and histogram mode without stale lists", () => {
  const { b, y } = makeData(5, 300, true);
  const g = new TreeGrower(b.toData());
  const rows = () => Uint32Array.from({ length: b.rows }, (_, i) => i);
  const params = fullGrowParams(b.cols, 3);

  const ref = grow(b, y, null, { denseMin: 2, listMax: 0 }, {});
  g.useRowLists();
  same(ref, g.grow(y, null, rows(), params).tree, "first list tree");
  const y2 = y.map((v, i) => (i % 3 === 0 ? v + 4 : v));
  const ref2 = grow(b, y2, null, { denseMin: 2, listMax: 0 }, {});
  same(ref2, g.grow(y2, null, rows(), params).tree, "second list tree, new targets");
  g.listMax = 0;
  same(ref, g.grow(y, null, rows(), params).tree, "histogram mode after list mode");
});
