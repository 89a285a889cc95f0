import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import { GradientBoostingRegressor, median, weightedPercentile } from "../../src/ml/tree/index.ts";
import { MLInputError, matrix } from "../../src/ml/types.ts";

function synth(seed: number, n: number, p: number, nanFrac = 0) {
  const rng = new Rng(seed);
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) X[i * p + j] = rng.next() < nanFrac ? Number.NaN : rng.normal();
    const x0 = Number.isNaN(X[i * p]) ? 0 : X[i * p];
    const x1 = p > 1 && !Number.isNaN(X[i * p + 1]) ? X[i * p + 1] : 0;
    y[i] = 3 * x0 + x1 * x1 + (rng.next() < 0.05 ? 20 * rng.normal() : 0.3 * rng.normal());
  }
  return { X: matrix(n, p, X), y };
}

function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function mae(y: Float64Array, p: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += Math.abs(y[i] - p[i]);
  return s / y.length;
}

describe("GradientBoostingRegressor", () => {
  it("n stages is the exact prefix of N stages: truncate(n) and stagedPredict equal a direct fit bit for bit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom("squared_error", "absolute_error", "huber"),
        fc.constantFrom(1, 0.7),
        fc.constantFrom<null | number>(null, 2),
        (seed, n, loss, subsample, mf) => {
          const { X, y } = synth(seed, 200, 4, 0.05);
          const params = {
            loss,
            subsample,
            max_features: mf,
            random_state: seed,
            max_depth: 3,
            learning_rate: 0.3,
          };
          const big = new GradientBoostingRegressor({ ...params, n_estimators: 12 }).fit(X, y);
          const small = new GradientBoostingRegressor({ ...params, n_estimators: n }).fit(X, y);
          const derived = big.truncate(n);
          assert.deepEqual(derived.toState(), small.toState());
          const direct = small.predict(X);
          assert.ok(sameBits(derived.predict(X), direct));
          let k = 0;
          for (const stage of big.stagedPredict(X)) {
            k++;
            if (k === n) assert.ok(sameBits(stage, direct));
          }
          assert.equal(k, 12);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("fits well and is finite for every loss; boosting lowers training error stage by stage", () => {
    const { X, y } = synth(1, 500, 4, 0.05);
    const { X: Xt, y: yt } = synth(2, 300, 4, 0.05);
    for (const loss of ["squared_error", "absolute_error", "huber"]) {
      const m = new GradientBoostingRegressor({ loss, n_estimators: 60, max_depth: 3 }).fit(X, y);
      const p = m.predict(Xt);
      for (const v of p) assert.ok(Number.isFinite(v));
      let base = 0;
      for (const v of yt) base += v;
      base /= yt.length;
      const ratio = mae(yt, p) / mae(yt, new Float64Array(yt.length).fill(base));
      assert.ok(ratio < 0.5, `${loss} learns (MAE ratio ${ratio})`);
    }
    const m = new GradientBoostingRegressor({ n_estimators: 30 }).fit(X, y);
    const s = m.trainScores;
    for (let i = 1; i < s.length; i++) assert.ok(s[i] <= s[i - 1] + 1e-12);
  });

  it("init and leaf values follow sklearn: mean / median init; absolute_error leaves = weighted median of residuals", () => {
    const { X, y } = synth(3, 101, 2);
    const sq = new GradientBoostingRegressor({ n_estimators: 1 }).fit(X, y);
    assert.equal(sq.initValue, y.reduce((a, b) => a + b, 0) / y.length);
    const ab = new GradientBoostingRegressor({
      loss: "absolute_error",
      n_estimators: 1,
      max_depth: 1,
      learning_rate: 1,
    }).fit(X, y);
    assert.equal(ab.initValue, median(y));
    // with lr=1 and one stump, each leaf predicts init + median(residuals of its rows)
    const t = ab.estimators[0];
    const pred = ab.predict(X);
    const byLeaf = new Map<number, number[]>();
    pred.forEach((v, i) => {
      const arr = byLeaf.get(v) ?? [];
      arr.push(y[i] - ab.initValue);
      byLeaf.set(v, arr);
    });
    assert.equal(byLeaf.size, 2);
    for (const [v, res] of byLeaf) {
      assert.equal(v, ab.initValue + weightedPercentile(Float64Array.from(res), null, 50));
    }
    assert.equal(t.nodeCount, 3);
    assert.equal(weightedPercentile(Float64Array.from([3, 1, 2, 4]), null, 50), 2);
    assert.equal(weightedPercentile(Float64Array.from([3, 1, 2]), Float64Array.from([1, 1, 5]), 50), 2);
  });

  it("early stopping (n_iter_no_change) stops before n_estimators and is reproducible", () => {
    const { X, y } = synth(4, 400, 3);
    const params = { n_estimators: 500, learning_rate: 0.5, n_iter_no_change: 3, random_state: 1 };
    const a = new GradientBoostingRegressor(params).fit(X, y);
    const b = new GradientBoostingRegressor(params).fit(X, y);
    assert.ok(a.nEstimators < 500, `stopped at ${a.nEstimators}`);
    assert.equal(a.nEstimators, b.nEstimators);
    assert.equal(a.validationScores.length, a.nEstimators);
    assert.ok(sameBits(a.predict(X), b.predict(X)));
  });

  it("leaf-wise growth (max_leaf_nodes), l2_regularization, state round trip, importances", () => {
    const { X, y } = synth(5, 400, 4, 0.1);
    const m = new GradientBoostingRegressor({
      n_estimators: 20,
      max_depth: null,
      max_leaf_nodes: 7,
      l2_regularization: 1,
    }).fit(X, y);
    for (const t of m.estimators) {
      let leaves = 0;
      for (let i = 0; i < t.nodeCount; i++) if (t.feature[i] < 0) leaves++;
      assert.ok(leaves <= 7);
    }
    const r = GradientBoostingRegressor.fromState(m.toState());
    assert.ok(sameBits(m.predict(X), r.predict(X)));
    const imp = m.featureImportances();
    assert.ok(Math.abs(imp.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    assert.ok(imp[0] > imp[3]);
  });

  it("rejects bad input", () => {
    const { X, y } = synth(1, 40, 3);
    assert.throws(
      () => new GradientBoostingRegressor({ nEstimators: 3 }),
      (e: Error) => e instanceof MLInputError && /valid parameters are: .*n_estimators/.test(e.message),
    );
    assert.throws(() => new GradientBoostingRegressor({ loss: "quantile" }), /loss="quantile" is invalid/);
    assert.throws(() => new GradientBoostingRegressor({ learning_rate: 0 }), /learning_rate=0 is invalid/);
    assert.throws(() => new GradientBoostingRegressor({ subsample: 1.5 }), /subsample/);
    const yb = y.slice();
    yb[5] = Number.NEGATIVE_INFINITY;
    assert.throws(() => new GradientBoostingRegressor().fit(X, yb), /y\[5\] is -Infinity/);
    assert.throws(() => new GradientBoostingRegressor().fit(X, y.subarray(2)), /length mismatch/);
    const m = new GradientBoostingRegressor({ n_estimators: 3 }).fit(X, y);
    assert.throws(() => m.predict(matrix(1, 5)), /X has 5 features/);
    assert.throws(() => m.truncate(4), /n must be an integer in \[1, 3\]/);
  });
});
