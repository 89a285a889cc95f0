import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { meanAbsoluteError, r2Score } from "../../src/ml/metrics.ts";
import { crossValidate, kFold, resolveScorer } from "../../src/ml/model_selection/index.ts";
import { takeRows, takeValues } from "../../src/ml/types.ts";
import { makeRegression, TOY_KIND, ToyEnsembleRegressor } from "../helpers/toy_regressor.ts";

describe("kFold", () => {
  it("matches sklearn KFold sizes and contiguity without shuffle", () => {
    const folds = kFold(10, 3);
    assert.deepEqual(
      folds.map((f) => Array.from(f.test)),
      [
        [0, 1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
    );
    assert.deepEqual(Array.from(folds[1].train), [0, 1, 2, 3, 7, 8, 9]);
  });

  it("property: test folds partition 0..n-1, train is the complement, sorted; shuffle is seeded", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 200 }),
        fc.integer({ min: 2, max: 10 }),
        fc.integer(),
        (n, k, seed) => {
          fc.pre(k <= n);
          for (const folds of [kFold(n, k), kFold(n, k, { shuffle: true, seed })]) {
            const seen = new Uint8Array(n);
            for (const f of folds) {
              assert.equal(f.train.length + f.test.length, n);
              for (const i of f.test) seen[i]++;
              const inTest = new Set(f.test);
              for (const i of f.train) assert.ok(!inTest.has(i));
              for (let j = 1; j < f.test.length; j++) assert.ok(f.test[j] > f.test[j - 1]);
              assert.ok(Math.abs(f.test.length - n / k) < 1);
            }
            assert.ok(seen.every((c) => c === 1));
          }
          const a = kFold(n, k, { shuffle: true, seed });
          const b = kFold(n, k, { shuffle: true, seed });
          assert.deepEqual(a, b);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("user-supplied folds are validated", async () => {
    const { X, y } = makeRegression(10, 2, 1);
    const bad = [{ train: Uint32Array.from([0, 1, 2]), test: Uint32Array.from([3, 10]) }];
    await assert.rejects(
      crossValidate({ kind: TOY_KIND }, X, y, { cv: bad, nJobs: 1 }),
      /fold 0 index 10 is out of range for 10 rows/,
    );
    const empty = [{ train: Uint32Array.from([0, 1]), test: new Uint32Array(0) }];
    await assert.rejects(
      crossValidate({ kind: TOY_KIND }, X, y, { cv: empty, nJobs: 1 }),
      /fold 0 has an empty test set/,
    );
  });

  it("rejects bad arguments", () => {
    assert.throws(() => kFold(3, 5), /k = 5 is larger than the number of rows \(3\)/);
    assert.throws(() => kFold(10, 1), /k must be an integer >= 2/);
    assert.throws(() => kFold(10, 2, { shuffle: true }), /shuffle needs an explicit seed/);
  });
});

describe("crossValidate", () => {
  const { X, y } = makeRegression(300, 3, 7);

  it("matches a manual fold loop (spec and factory forms), returns OOF predictions", async () => {
    const params = { n_estimators: 4, max_depth: 3 };
    const res = await crossValidate({ kind: TOY_KIND, params }, X, y, {
      cv: 4,
      scoring: ["neg_mean_absolute_error", "r2"],
      returnTrainScore: true,
      returnOofPredictions: true,
      nJobs: 1,
    });
    const folds = kFold(300, 4);
    folds.forEach((f, k) => {
      const m = new ToyEnsembleRegressor(params).fit(takeRows(X, f.train), takeValues(y, f.train));
      const p = m.predict(takeRows(X, f.test));
      assert.equal(res.testScores.neg_mean_absolute_error[k], -meanAbsoluteError(takeValues(y, f.test), p));
      assert.equal(res.testScores.r2[k], r2Score(takeValues(y, f.test), p));
      for (let j = 0; j < f.test.length; j++) assert.equal(res.oofPredictions![f.test[j]], p[j]);
      const ptr = m.predict(takeRows(X, f.train));
      assert.equal(res.trainScores!.r2[k], r2Score(takeValues(y, f.train), ptr));
    });
    assert.equal(res.fitTime.length, 4);
    assert.ok(res.scoreTime.every((t) => t >= 0));
    const fac = await crossValidate(() => new ToyEnsembleRegressor(params), X, y, { cv: 4, scoring: "r2" });
    assert.deepEqual(fac.testScores.r2, res.testScores.r2);
    assert.ok(res.meanTestScore.r2 > 0.1, String(res.meanTestScore.r2)); // beats the mean predictor (r2 ≈ 0)
  });

  it("onFold sees folds in order and can stop early by throwing", async () => {
    const seen: number[] = [];
    await assert.rejects(
      crossValidate({ kind: TOY_KIND, params: { n_estimators: 2 } }, X, y, {
        cv: 5,
        nJobs: 1,
        onFold: (f) => {
          seen.push(f);
          if (f === 1) throw new Error("pruned");
        },
      }),
      /pruned/,
    );
    assert.deepEqual(seen, [0, 1]);
  });

  it("rejects bad input with clear messages", async () => {
    await assert.rejects(
      crossValidate({ kind: "Nope" }, X, y, { nJobs: 1 }),
      /unknown regressor kind "Nope"/,
    );
    await assert.rejects(
      crossValidate({ kind: TOY_KIND }, X, y, { scoring: "accuracy", nJobs: 1 }),
      /unknown scoring "accuracy"/,
    );
    const ybad = y.slice();
    ybad[5] = Number.NaN;
    await assert.rejects(crossValidate({ kind: TOY_KIND }, X, ybad, { nJobs: 1 }), /y\[5\] is NaN/);
    await assert.rejects(
      crossValidate({ kind: TOY_KIND }, X, y.subarray(1), { nJobs: 1 }),
      /300 rows but y has 299/,
    );
  });

  it("scorer names: sklearn neg_* are negated losses, registry names are raw", () => {
    const yt = [1, 2, 3];
    const yp = [1, 2, 4];
    assert.equal(resolveScorer("neg_mean_absolute_error").fn(yt, yp), -1 / 3);
    assert.equal(resolveScorer("neg_mean_absolute_error").greaterIsBetter, true);
    assert.equal(resolveScorer("mae").fn(yt, yp), 1 / 3);
    assert.equal(resolveScorer("mae").greaterIsBetter, false);
  });
});
