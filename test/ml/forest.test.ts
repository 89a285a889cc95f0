import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import { BinnedDataset, RandomForestRegressor } from "../../src/ml/tree/index.ts";
import { MLInputError, matrix } from "../../src/ml/types.ts";

function synth(seed: number, n: number, p: number, nanFrac = 0) {
  const rng = new Rng(seed);
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) X[i * p + j] = rng.next() < nanFrac ? Number.NaN : rng.normal();
    const x0 = Number.isNaN(X[i * p]) ? 0 : X[i * p];
    y[i] =
      2 * x0 + Math.sin(3 * (p > 1 && !Number.isNaN(X[i * p + 1]) ? X[i * p + 1] : 0)) + 0.2 * rng.normal();
  }
  return { X: matrix(n, p, X), y };
}

function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe("RandomForestRegressor", () => {
  it("a forest with n trees is the prefix of one with N >= n trees (truncate(n) is exact)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom<null | string | number>(1, "sqrt", 0.5),
        (seed, nSmall, mf) => {
          const { X, y } = synth(seed, 150, 4, 0.05);
          const params = { random_state: seed, max_features: mf, max_depth: 8 };
          const big = new RandomForestRegressor({ ...params, n_estimators: 8 }).fit(X, y);
          const small = new RandomForestRegressor({ ...params, n_estimators: nSmall }).fit(X, y);
          const derived = big.truncate(nSmall);
          assert.deepEqual(derived.toState(), small.toState());
          assert.ok(sameBits(derived.predict(X), small.predict(X)));
        },
      ),
      { numRuns: 15 },
    );
  });

  it("truncate by depth / min_samples_split (every tree) equals a direct fit bit for bit", () => {
    const { X, y } = synth(3, 400, 5, 0.05);
    const base = { n_estimators: 6, random_state: 11, max_features: "sqrt", min_samples_leaf: 2 };
    const deep = new RandomForestRegressor(base).fit(X, y);
    for (const [d, mss] of [
      [3, 2],
      [6, 10],
      [1, 2],
    ]) {
      const direct = new RandomForestRegressor({ ...base, max_depth: d, min_samples_split: mss }).fit(X, y);
      const derived = deep.truncate({ nEstimators: 6, maxDepth: d, minSamplesSplit: mss });
      assert.deepEqual(derived.toState(), direct.toState());
      assert.ok(sameBits(derived.predict(X), direct.predict(X)));
    }
    const d4 = deep.truncate({ nEstimators: 4, maxDepth: 5 });
    const direct4 = new RandomForestRegressor({ ...base, n_estimators: 4, max_depth: 5 }).fit(X, y);
    assert.ok(sameBits(d4.predict(X), direct4.predict(X)));
  });

  it("n_jobs=1 and n_jobs=2 (worker threads) build the identical forest", () => {
    const { X, y } = synth(8, 600, 5, 0.05);
    const params = { n_estimators: 12, random_state: 4, max_features: "sqrt" };
    const a = new RandomForestRegressor({ ...params, n_jobs: 1 }).fit(X, y);
    const b = new RandomForestRegressor({ ...params, n_jobs: 2 }).fit(X, y);
    const c = new RandomForestRegressor({ ...params, n_jobs: -1 }).fit(X, y);
    assert.deepEqual(a.toState().arrays, b.toState().arrays);
    assert.deepEqual(a.toState().arrays, c.toState().arrays);
  });

  it("seed reproduces, different seeds differ, shared BinnedDataset gives the same forest", () => {
    const { X, y } = synth(2, 300, 4);
    const a = new RandomForestRegressor({ n_estimators: 5, random_state: 1 }).fit(X, y);
    const b = new RandomForestRegressor({ n_estimators: 5, random_state: 1 }).fit(X, y, {
      binned: BinnedDataset.fromMatrix(X),
    });
    const c = new RandomForestRegressor({ n_estimators: 5, random_state: 2 }).fit(X, y);
    assert.ok(sameBits(a.predict(X), b.predict(X)));
    assert.ok(!sameBits(a.predict(X), c.predict(X)));
  });

  it("state round trip, importances, sample weights, max_samples, bootstrap=false", () => {
    const { X, y } = synth(4, 300, 4, 0.1);
    const m = new RandomForestRegressor({ n_estimators: 5, max_samples: 0.5 }).fit(X, y);
    const r = RandomForestRegressor.fromState(m.toState());
    assert.ok(sameBits(m.predict(X), r.predict(X)));
    const imp = m.featureImportances();
    assert.ok(Math.abs(imp.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    assert.ok(imp[0] > imp[3], "the informative feature x0 outranks noise x3");
    // zero weight on half the rows = fitting on the other half (bootstrap off, no RNG involved)
    const w = new Float64Array(300).map((_, i) => (i < 150 ? 1 : 0));
    const mw = new RandomForestRegressor({ n_estimators: 2, bootstrap: false }).fit(X, y, {
      sampleWeight: w,
    });
    for (const t of mw.estimators) assert.equal(t.nSamples[0], 150);
  });

  it("rejects bad input with clear errors", () => {
    const { X, y } = synth(1, 40, 3);
    assert.throws(
      () => new RandomForestRegressor({ n_trees: 3 }),
      (e: Error) => e instanceof MLInputError && /valid parameters are: .*n_estimators/.test(e.message),
    );
    assert.throws(
      () => new RandomForestRegressor({ bootstrap: false, max_samples: 0.5 }),
      /max_samples requires/,
    );
    const yb = y.slice();
    yb[0] = Number.NaN;
    assert.throws(() => new RandomForestRegressor({ n_estimators: 2 }).fit(X, yb), /y\[0\] is NaN/);
    assert.throws(
      () => new RandomForestRegressor({ n_estimators: 2 }).fit(X, y.subarray(1)),
      /length mismatch/,
    );
    const m = new RandomForestRegressor({ n_estimators: 2 }).fit(X, y);
    assert.throws(() => m.predict(matrix(1, 2)), /X has 2 features but the model was fitted with 3/);
    assert.throws(() => m.truncate(3), /nEstimators must be in \[1, 2\]/);
  });
});
