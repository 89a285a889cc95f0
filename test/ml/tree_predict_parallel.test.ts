/**
 * Parallel batch prediction (forest n_jobs ≠ 1, pool.ts predictSumsParallel): bit-identical to one thread for deep
 * (pointer layout) and shallow (implicit layout) forests, falls back to one thread for NaN rows and small batches,
 * and the leaf terms a worker writes add up, in tree order, to exactly what `accumulate` adds.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Rng } from "../../src/data/prng.ts";
import { RandomForestRegressor, shutdownTreeWorkers } from "../../src/ml/tree/index.ts";
import {
  balance,
  PARALLEL_PREDICT_MIN_WORK,
  parallelPredictWeight,
  predictSumsParallel,
} from "../../src/ml/tree/pool.ts";
import { TreeEnsemblePredictor } from "../../src/ml/tree/predict.ts";
import { type Matrix, matrix } from "../../src/ml/types.ts";

function data(rows: number, cols: number, seed: number): { X: Matrix; y: Float64Array } {
  const rng = new Rng(seed);
  const X = new Float64Array(rows * cols);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = rng.normal();
      X[i * cols + j] = v;
      s += (j + 1) * v * (j % 2 ? v : 1);
    }
    y[i] = s + 0.3 * rng.normal();
  }
  return { X: matrix(rows, cols, X), y };
}

function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(Object.is(a[i], b[i]), `${what}: row ${i}: ${a[i]} vs ${b[i]}`);
}

describe("parallel forest prediction", () => {
  after(() => shutdownTreeWorkers());
  const train = data(1500, 6, 1);
  const test = data(3000, 6, 2);

  for (const [name, params] of [
    ["fully grown (pointer layout)", { n_estimators: 24 }],
    ["depth 4 (implicit layout)", { n_estimators: 24, max_depth: 4 }],
  ] as const) {
    it(`${name}: n_jobs 2 predicts exactly what n_jobs 1 does`, () => {
      const one = new RandomForestRegressor({ ...params, n_jobs: 1, random_state: 3 }).fit(train.X, train.y);
      const two = RandomForestRegressor.fromState({
        ...one.toState(),
        params: { ...one.getParams(), n_jobs: 2 },
      });
      assert.ok(
        test.X.rows * 24 >= PARALLEL_PREDICT_MIN_WORK,
        "the batch must be large enough to go parallel",
      );
      sameBits(two.predict(test.X), one.predict(test.X), name);
      // the parallel path really ran (not the single-thread fallback) and agrees with the predictor
      const pred = new TreeEnsemblePredictor(one.estimators, 6);
      const par = predictSumsParallel(pred, test.X.data, test.X.rows, 24, 0, 2);
      assert.ok(par, "predictSumsParallel declined a large NaN-free batch");
      sameBits(par, pred.predictSums(test.X.data, test.X.rows, 24), `${name} (sums)`);
      // a second, different model on the same workers: layouts are kept per model
      const other = new TreeEnsemblePredictor(one.estimators.slice(0, 20), 6, 0.5);
      sameBits(
        predictSumsParallel(other, test.X.data, test.X.rows, 20, 1.25, 2)!,
        other.predictSums(test.X.data, test.X.rows, 20, 1.25),
        `${name} (second model, init, scale)`,
      );
      // the shared input / stage buffers are reused across calls: a smaller batch after a larger one, then a
      // larger one again (the buffers grow), each with its own rows
      for (const [r0, rows] of [
        [1000, 2000],
        [0, 3000],
      ]) {
        const x = test.X.data.subarray(r0 * 6, (r0 + rows) * 6);
        sameBits(
          predictSumsParallel(pred, x, rows, 24, 0, 2)!,
          pred.predictSums(x, rows, 24),
          `${name} ${rows}`,
        );
      }
    });
  }

  it("the load balance moves trees between threads without changing a bit", () => {
    const one = new RandomForestRegressor({ n_estimators: 24, n_jobs: 1, random_state: 6 }).fit(
      train.X,
      train.y,
    );
    const pred = new TreeEnsemblePredictor(one.estimators, 6);
    const want = pred.predictSums(test.X.data, test.X.rows, 24, 0.5);
    try {
      for (const w of [0.5, 1, 2]) {
        parallelPredictWeight(w);
        sameBits(predictSumsParallel(pred, test.X.data, test.X.rows, 24, 0.5, 2)!, want, `weight ${w}`);
      }
      // a worker twice as slow per tree as the calling thread: the caller's weight moves halfway towards 2
      parallelPredictWeight(1);
      balance(10, 10, 20, 10);
      assert.equal(parallelPredictWeight(), 1.5);
      balance(10, 10, 5, 10); // then twice as fast: halfway from 1.5 towards 0.5
      assert.equal(parallelPredictWeight(), 1);
      balance(0, 10, 5, 10); // no measurement: unchanged
      assert.equal(parallelPredictWeight(), 1);
    } finally {
      parallelPredictWeight(1);
    }
  });

  it("falls back to one thread for NaN rows, small batches and a single thread", () => {
    const one = new RandomForestRegressor({ n_estimators: 24, n_jobs: 1, random_state: 4 }).fit(
      train.X,
      train.y,
    );
    const pred = new TreeEnsemblePredictor(one.estimators, 6);
    const withNaN = test.X.data.slice();
    withNaN[2999 * 6 + 3] = Number.NaN;
    assert.equal(predictSumsParallel(pred, withNaN, 3000, 24, 0, 2), null);
    assert.equal(predictSumsParallel(pred, test.X.data, 10, 24, 0, 2), null);
    assert.equal(predictSumsParallel(pred, test.X.data, 3000, 24, 0, 1), null);
    const two = RandomForestRegressor.fromState({
      ...one.toState(),
      params: { ...one.getParams(), n_jobs: 2 },
    });
    sameBits(two.predict(matrix(3000, 6, withNaN)), one.predict(matrix(3000, 6, withNaN)), "NaN batch");
  });

  it("leafTerms: the per-tree terms, added in tree order, equal accumulate bit for bit", () => {
    const f = new RandomForestRegressor({ n_estimators: 9, n_jobs: 1, random_state: 5 }).fit(
      train.X,
      train.y,
    );
    for (const pred of [
      new TreeEnsemblePredictor(f.estimators, 6),
      new TreeEnsemblePredictor(f.estimators, 6, 0.1, { maxDepth: 3 }),
    ]) {
      for (const rows of [1, 5, 13, 1030]) {
        const x = test.X.data.subarray(0, rows * 6);
        const stage = new Float64Array(rows * 6);
        pred.leafTerms(x, rows, 3, 9, stage);
        // every slot holds its own tree's term for its own row (tree t of the range at stage[t·rows + r])
        for (let t = 0; t < 6; t++)
          for (let r = 0; r < rows; r++)
            if (!Object.is(stage[t * rows + r], pred.referenceLeaf(3 + t, x, r * 6)))
              assert.fail(`rows ${rows}: tree ${3 + t}, row ${r}: ${stage[t * rows + r]}`);
        const sums = pred.predictSums(x, rows, 3, -0.5);
        for (let t = 0; t < 6; t++) for (let r = 0; r < rows; r++) sums[r] += stage[t * rows + r];
        sameBits(sums, pred.predictSums(x, rows, 9, -0.5), `rows ${rows}`);
      }
      const nan = test.X.data.slice(0, 12);
      nan[7] = Number.NaN;
      assert.throws(() => pred.leafTerms(nan, 2, 0, 9, new Float64Array(18)), /NaN/);
    }
  });
});
