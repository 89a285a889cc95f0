/** Shared pieces of the tree-core tests: fully grown default parameters and exact tree comparison. */
import assert from "node:assert/strict";
import type { GrowParams, TreeArrays } from "../../src/ml/tree/core.ts";

/** A fully grown tree's parameters (no limits, all features), with overrides. */
export function fullGrowParams(cols: number, seed: number, over: Partial<GrowParams> = {}): GrowParams {
  return {
    maxDepth: Number.POSITIVE_INFINITY,
    minSamplesSplit: 2,
    minSamplesLeaf: 1,
    minWeightLeaf: 0,
    maxFeatures: cols,
    maxLeafNodes: Number.POSITIVE_INFINITY,
    minImpurityDecrease: 0,
    l2: 0,
    seed,
    ...over,
  };
}

const TREE_KEYS = [
  "feature",
  "threshold",
  "left",
  "right",
  "missingLeft",
  "value",
  "nSamples",
  "weightedNSamples",
  "impurity",
] as const;

/** Every array of the two trees is equal, element by element (bit for bit for the floats). */
export function assertSameTree(a: TreeArrays, b: TreeArrays, label = "tree"): void {
  assert.equal(a.nodeCount, b.nodeCount, `${label}: nodeCount`);
  for (const k of TREE_KEYS) assert.deepEqual(Array.from(a[k]), Array.from(b[k]), `${label}: ${k}`);
}
