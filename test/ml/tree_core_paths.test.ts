/**
 * The grower's node paths (dense histograms with full or touched-bin scans, sparse subtraction of a small child,
 * touched-bin and sort-based scans without histograms, the two-row shortcut) must all choose the same splits. With
 * integer targets and integer weights every sum is exact whatever its order, so a tree grown with dense histograms
 * everywhere, with none, and with the default threshold must come out identical, array for array.
 */
import { test } from "node:test";
import fc from "fast-check";
import { BinnedDataset } from "../../src/ml/tree/binning.ts";
import type { TreeArrays } from "../../src/ml/tree/core.ts";
import { TreeGrower } from "../../src/ml/tree/core.ts";
import { matrix } from "../../src/ml/types.ts";
import { Rng } from "../../src/data/prng.ts";
import { assertSameTree, fullGrowParams } from "../helpers/trees.ts";

function grow(
  b: BinnedDataset,
  y: Float64Array,
  w: Float64Array | null,
  denseMin: number,
  mf: number,
  msl: number,
) {
  const g = new TreeGrower(b.toData());
  g.denseMin = denseMin;
  const rows: number[] = [];
  for (let r = 0; r < b.rows; r++) if (!w || w[r] > 0) rows.push(r);
  const params = fullGrowParams(b.cols, 7, { minSamplesLeaf: msl, maxFeatures: mf });

  return g.grow(y, w, Uint32Array.from(rows), params).tree;
}

const same = (a: TreeArrays, b: TreeArrays): void => assertSameTree(a, b);

test("dense, sparse and default node paths grow identical trees (exact sums)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1e6 }),
      fc.integer({ min: 40, max: 400 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 3 }),
      (seed, n, weighted, msl) => {
        const rng = new Rng(seed);
        const p = 6;
        const X = new Float64Array(n * p);
        const y = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          X[i * p] = rng.int(300); // many bins
          X[i * p + 1] = rng.next() < 0.15 ? Number.NaN : rng.int(40);
          X[i * p + 2] = rng.int(2); // binary
          X[i * p + 3] = rng.next() < 0.5 ? 3 : rng.int(1000) / 7;
          X[i * p + 4] = 1; // constant
          X[i * p + 5] = rng.next() < 0.05 ? Number.NaN : rng.int(12);
          y[i] = rng.int(50) + (X[i * p] > 150 ? 20 : 0);
        }
        let w: Float64Array | null = null;
        if (weighted) {
          w = new Float64Array(n);
          for (let i = 0; i < n; i++) w[i] = rng.int(4);
        }
        const b = BinnedDataset.fromMatrix(matrix(n, p, X), { maxBins: 255 });
        const mf = seed % 3 === 0 ? 3 : p;
        const dense = grow(b, y, w, 2, mf, msl);
        same(dense, grow(b, y, w, 1e9, mf, msl));
        same(dense, grow(b, y, w, new TreeGrower(b.toData()).denseMin, mf, msl));
        same(dense, grow(b, y, w, 20, mf, msl));
      },
    ),
    { numRuns: 60 },
  );
});
