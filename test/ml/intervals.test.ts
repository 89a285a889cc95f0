import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../../src/data/prng.ts";
import {
  calibrateConformal,
  calibrateIntervals,
  conformalQuantile,
  conformityScores,
  cvPlusIntervals,
  empiricalCoverage,
  meanWidth,
  predictInterval,
} from "../../src/ml/intervals.ts";
import { crossValidate, kFold } from "../../src/ml/model_selection/index.ts";
import { takeRows, takeValues } from "../../src/ml/types.ts";
import { makeRegression, TOY_KIND, ToyEnsembleRegressor } from "../helpers/toy_regressor.ts";

/** y = f(x) (1 + noise): multiplicative noise like prices; the "model" predicts f(x) with a small bias. */
function hetero(n: number, seed: number) {
  const rng = new Rng(seed);
  const y = new Float64Array(n);
  const yhat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = Math.exp(rng.uniform(10, 13)); // 22k .. 440k
    yhat[i] = f * 1.02;
    y[i] = f * (1 + 0.2 * rng.normal());
  }
  return { y, yhat };
}

function homo(n: number, seed: number) {
  const rng = new Rng(seed);
  const y = new Float64Array(n);
  const yhat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    yhat[i] = rng.uniform(-5, 5);
    y[i] = yhat[i] + rng.normal();
  }
  return { y, yhat };
}

describe("conformal quantile", () => {
  it("is the ceil((n+1) level)-th smallest score, +Infinity when that exceeds n", () => {
    const s = [5, 1, 4, 2, 3, 9, 8, 7, 6];
    assert.equal(conformalQuantile(s, 0.9), 9); // ceil(10 * 0.9) = 9
    assert.equal(conformalQuantile(s, 0.5), 5); // ceil(5) = 5
    assert.equal(conformalQuantile(s.slice(0, 8), 0.9), Number.POSITIVE_INFINITY); // ceil(8.1) = 9 > 8
    assert.equal(conformalQuantile([3], 0.4), 3);
    assert.throws(() => conformalQuantile(s, 1), /level must be in \(0, 1\), got 1/);
    assert.throws(() => conformalQuantile([], 0.9), /no calibration scores/);
    assert.throws(() => conformalQuantile([1, Number.NaN], 0.5), /score\[1\] is NaN/);
  });

  it("conformity scores: absolute and relative", () => {
    assert.deepEqual(Array.from(conformityScores([10, 20], [8, 25], "absolute")), [2, 5]);
    assert.deepEqual(Array.from(conformityScores([10, 20], [8, 25], "relative")), [0.25, 0.2]);
    assert.throws(() => conformityScores([1, 2], [1], "absolute"), /yTrue has 2 values but yPred has 1/);
  });
});

describe("split-conformal coverage (20k points)", () => {
  for (const method of ["absolute", "relative"] as const) {
    it(`${method}: coverage on fresh data is 0.9 ± 0.02`, () => {
      const cal = hetero(20_000, 1);
      const test = hetero(20_000, 2);
      const c = calibrateConformal(conformityScores(cal.y, cal.yhat, method), 0.9, method);
      const iv = predictInterval(test.yhat, c);
      const cov = empiricalCoverage(test.y, iv.lower, iv.upper);
      assert.ok(Math.abs(cov - 0.9) <= 0.02, `${method} coverage ${cov}`);
      assert.equal(c.n, 20_000);
    });
  }

  it("chooses relative for heteroscedastic and absolute for homoscedastic errors", () => {
    const h = hetero(20_000, 3);
    const sel = calibrateIntervals(h.y, h.yhat, { level: 0.9, seed: 1 });
    assert.equal(sel.chosen.method, "relative");
    const rel = sel.candidates.relative!;
    const abs = sel.candidates.absolute!;
    assert.ok(Math.abs(rel.coverage - 0.9) < 0.02 && Math.abs(abs.coverage - 0.9) < 0.02);
    assert.ok(rel.meanWidth < abs.meanWidth, `${rel.meanWidth} vs ${abs.meanWidth}`);
    const test = hetero(20_000, 4);
    const iv = predictInterval(test.yhat, sel.chosen);
    assert.ok(Math.abs(empiricalCoverage(test.y, iv.lower, iv.upper) - 0.9) <= 0.02);
    assert.ok(meanWidth(iv.lower, iv.upper) < abs.meanWidth);

    const g = homo(20_000, 5);
    const sel2 = calibrateIntervals(g.y, g.yhat, { level: 0.8, seed: 1 });
    assert.equal(sel2.chosen.method, "absolute");
    assert.ok(Math.abs(sel2.chosen.qhat - 1.2816) < 0.05, String(sel2.chosen.qhat)); // N(0,1) 90th pct of |e|
  });

  it("validates inputs", () => {
    assert.throws(
      () => calibrateIntervals([1, 2], [1, Number.NaN], { level: 0.9, k: 2 }),
      /yPredOof\[1\] is NaN/,
    );
    assert.throws(() => calibrateIntervals([1, 2], [1, 2], { level: 0.9, k: 5 }), /k must be in \[2, n\]/);
    assert.throws(() => calibrateConformal([1], 0.9, "weird" as "absolute"), /method must be/);
    assert.throws(() => empiricalCoverage([1], [0, 0], [2]), /lengths differ/);
  });
});

describe("conformal with real out-of-fold predictions", () => {
  it("split conformal from crossValidate OOF predictions and CV+ both cover ~90% of fresh data", async () => {
    const { X, y } = makeRegression(800, 2, 31, 0.5);
    const fresh = makeRegression(1500, 2, 32, 0.5);
    const params = { n_estimators: 8, max_depth: 5 };
    const cv = await crossValidate({ kind: TOY_KIND, params }, X, y, {
      cv: 5,
      returnOofPredictions: true,
      nJobs: 1,
    });
    const oof = cv.oofPredictions!;
    const cal = calibrateConformal(conformityScores(y, oof, "absolute"), 0.9);
    const full = new ToyEnsembleRegressor(params).fit(X, y);
    const ivs = predictInterval(full.predict(fresh.X), cal);
    const covSplit = empiricalCoverage(fresh.y, ivs.lower, ivs.upper);
    assert.ok(covSplit > 0.86 && covSplit < 0.95, `split coverage ${covSplit}`);

    const folds = kFold(800, 5);
    const foldOf = new Int32Array(800);
    const foldPreds = folds.map((f, k) => {
      for (const i of f.test) foldOf[i] = k;
      return new ToyEnsembleRegressor(params)
        .fit(takeRows(X, f.train), takeValues(y, f.train))
        .predict(fresh.X);
    });
    const resid = conformityScores(y, oof, "absolute");
    const ivc = cvPlusIntervals(foldPreds, resid, foldOf, 0.9);
    const covCv = empiricalCoverage(fresh.y, ivc.lower, ivc.upper);
    assert.ok(covCv > 0.86 && covCv < 0.96, `CV+ coverage ${covCv}`);
    for (let j = 0; j < ivc.lower.length; j++) assert.ok(ivc.lower[j] <= ivc.upper[j]);
    // tiny n: the rank exceeds n, interval is unbounded
    const inf = cvPlusIntervals([[1]], [0.5, 0.5], [0, 0], 0.9);
    assert.equal(inf.upper[0], Number.POSITIVE_INFINITY);
    assert.equal(inf.lower[0], Number.NEGATIVE_INFINITY);
  });
});
