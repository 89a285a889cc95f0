import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import { BinnedDataset, DecisionTreeRegressor } from "../../src/ml/tree/index.ts";
import { MLInputError, matrix } from "../../src/ml/types.ts";

/** Synthetic regression data with a few discrete columns and optional NaNs. */
function synth(seed: number, n: number, p: number, nanFrac = 0) {
  const rng = new Rng(seed);
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const v = j % 3 === 2 ? rng.int(5) : rng.normal();
      X[i * p + j] = rng.next() < nanFrac ? Number.NaN : v;
    }
    const x0 = Number.isNaN(X[i * p]) ? 1 : X[i * p];
    const x1 = p > 1 && !Number.isNaN(X[i * p + 1]) ? X[i * p + 1] : 0;
    y[i] = 3 * Math.sin(x0) + x1 * x1 + 0.3 * rng.normal();
  }
  return { X: matrix(n, p, X), y };
}

function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const dataArb = fc.record({
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  n: fc.integer({ min: 20, max: 400 }),
  p: fc.integer({ min: 1, max: 6 }),
  nan: fc.constantFrom(0, 0, 0.1),
});

describe("DecisionTreeRegressor properties", () => {
  it("predictions are finite, also for rows with NaN features", () => {
    fc.assert(
      fc.property(dataArb, fc.integer({ min: 1, max: 12 }), ({ seed, n, p, nan }, depth) => {
        const { X, y } = synth(seed, n, p, nan);
        const m = new DecisionTreeRegressor({ max_depth: depth }).fit(X, y);
        const test = synth(seed + 1, 50, p, 0.3).X;
        for (const v of m.predict(test)) assert.ok(Number.isFinite(v));
      }),
      { numRuns: 40 },
    );
  });

  it("min_samples_leaf=k never makes a leaf with fewer than k samples", () => {
    fc.assert(
      fc.property(
        dataArb,
        fc.integer({ min: 1, max: 20 }),
        fc.boolean(),
        ({ seed, n, p, nan }, k, bestFirst) => {
          const { X, y } = synth(seed, n, p, nan);
          const m = new DecisionTreeRegressor({
            min_samples_leaf: k,
            max_leaf_nodes: bestFirst ? 12 : null,
          }).fit(X, y);
          const t = m.tree;
          for (let i = 0; i < t.nodeCount; i++) if (t.feature[i] < 0) assert.ok(t.nSamples[i] >= k);
          if (bestFirst) assert.ok(m.shape().leaves <= 12);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a seed reproduces the model bit for bit (max_features < n_features)", () => {
    fc.assert(
      fc.property(dataArb, fc.integer({ min: 0, max: 99 }), ({ seed, n, p, nan }, rs) => {
        const { X, y } = synth(seed, n, p, nan);
        const a = new DecisionTreeRegressor({ max_features: "sqrt", random_state: rs }).fit(X, y);
        const b = new DecisionTreeRegressor({ max_features: "sqrt", random_state: rs }).fit(X, y);
        assert.deepEqual(a.toState(), b.toState());
        assert.ok(sameBits(a.predict(X), b.predict(X)));
      }),
      { numRuns: 25 },
    );
  });

  it("truncate({maxDepth, minSamplesSplit}) equals a direct fit bit for bit (also with random feature subsets)", () => {
    fc.assert(
      fc.property(
        dataArb,
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 2, max: 40 }),
        fc.constantFrom<null | string | number>(null, "sqrt", 0.5),
        fc.integer({ min: 1, max: 3 }),
        ({ seed, n, p, nan }, d, mss, mf, msl) => {
          const { X, y } = synth(seed, n, p, nan);
          const base = { max_features: mf, min_samples_leaf: msl, random_state: seed % 7 };
          const deep = new DecisionTreeRegressor(base).fit(X, y);
          const direct = new DecisionTreeRegressor({ ...base, max_depth: d, min_samples_split: mss }).fit(
            X,
            y,
          );
          const derived = deep.truncate({ maxDepth: d, minSamplesSplit: mss });
          assert.deepEqual(derived.toState(), direct.toState());
          const test = synth(seed + 7, 60, p, 0.2).X;
          assert.ok(sameBits(derived.predict(test), direct.predict(test)));
          assert.ok(sameBits(derived.featureImportances(), direct.featureImportances()));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a shared BinnedDataset gives the same model as binning inside fit", () => {
    const { X, y } = synth(5, 300, 4, 0.05);
    const b = BinnedDataset.fromMatrix(X);
    const a1 = new DecisionTreeRegressor({ max_depth: 6 }).fit(X, y, { binned: b });
    const a2 = new DecisionTreeRegressor({ max_depth: 6 }).fit(X, y);
    assert.deepEqual(a1.toState(), a2.toState());
  });

  it("a BinnedDataset of another matrix or with other max_bins is rejected", () => {
    const { X, y } = synth(5, 100, 3);
    const other = synth(6, 100, 3).X;
    assert.throws(
      () => new DecisionTreeRegressor().fit(X, y, { binned: BinnedDataset.fromMatrix(other) }),
      /built from a different matrix/,
    );
    assert.throws(
      () => new DecisionTreeRegressor({ max_bins: 64 }).fit(X, y, { binned: BinnedDataset.fromMatrix(X) }),
      /max_bins=255 but the model has max_bins=64/,
    );
  });

  it("toState / fromState round trip predicts identically; importances sum to 1", () => {
    const { X, y } = synth(9, 300, 5, 0.1);
    const m = new DecisionTreeRegressor({ max_depth: 5 }).fit(X, y);
    const r = DecisionTreeRegressor.fromState(m.toState());
    assert.ok(sameBits(m.predict(X), r.predict(X)));
    const imp = m.featureImportances();
    assert.ok(Math.abs(imp.reduce((s, v) => s + v, 0) - 1) < 1e-12);
  });

  it("missing values are routed to the learned side", () => {
    // y depends only on whether x is missing: the root split must separate NaN from the rest
    const n = 200;
    const X = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      X[i] = i % 4 === 0 ? Number.NaN : i;
      y[i] = i % 4 === 0 ? 10 : 0;
    }
    const m = new DecisionTreeRegressor({ max_depth: 1 }).fit(matrix(n, 1, X), y);
    const pr = m.predict(matrix(3, 1, Float64Array.from([Number.NaN, 5, 1e9])));
    assert.deepEqual(Array.from(pr), [10, 0, 0]);
  });
});

describe("DecisionTreeRegressor input errors", () => {
  const { X, y } = synth(1, 50, 3);
  it("unknown param lists the valid ones", () => {
    assert.throws(
      () => new DecisionTreeRegressor({ maxDepth: 3 }),
      (e: Error) =>
        e instanceof MLInputError &&
        /unknown parameter 'maxDepth'/.test(e.message) &&
        /max_depth/.test(e.message),
    );
    assert.throws(() => new DecisionTreeRegressor({ max_depth: 0 }), /max_depth=0 is invalid/);
    assert.throws(() => new DecisionTreeRegressor({ max_features: "cube" }), /max_features/);
  });
  it("NaN / Infinity target, length mismatch, empty data", () => {
    const yNaN = y.slice();
    yNaN[7] = Number.NaN;
    assert.throws(() => new DecisionTreeRegressor().fit(X, yNaN), /y\[7\] is NaN/);
    const yInf = y.slice();
    yInf[3] = Number.POSITIVE_INFINITY;
    assert.throws(() => new DecisionTreeRegressor().fit(X, yInf), /y\[3\] is Infinity/);
    assert.throws(() => new DecisionTreeRegressor().fit(X, y.subarray(0, 49)), /X has 50 rows but y has 49/);
    assert.throws(() => new DecisionTreeRegressor().fit(matrix(0, 3), new Float64Array(0)), /empty data/);
    assert.throws(
      () => new DecisionTreeRegressor().fit(X, y, { sampleWeight: new Float64Array(50).fill(-1) }),
      /sampleWeight\[0\] is -1/,
    );
  });
  it("predict checks the feature count and names, and fittedness", () => {
    const m = new DecisionTreeRegressor().fit(X, y);
    assert.throws(() => m.predict(matrix(2, 4)), /X has 4 features but the model was fitted with 3/);
    assert.throws(() => new DecisionTreeRegressor().predict(X), /not fitted/);
    const named = new DecisionTreeRegressor().fit(matrix(50, 3, X.data, ["a", "b", "c"]), y);
    assert.throws(
      () => named.predict(matrix(1, 3, new Float64Array(3), ["a", "x", "c"])),
      /feature 1 is named 'x'/,
    );
  });
  it("truncation that is not exact is rejected", () => {
    const m = new DecisionTreeRegressor({ max_depth: 4 }).fit(X, y);
    assert.throws(() => m.truncate({ maxDepth: 6 }), /maxDepth must be an integer in \[1, 4\]/);
    const bf = new DecisionTreeRegressor({ max_leaf_nodes: 5 }).fit(X, y);
    assert.throws(() => bf.truncate({ maxDepth: 2 }), /best-first/);
  });
});
