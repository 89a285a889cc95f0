import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import { BayesianRidge, Lasso, Ridge } from "../../src/ml/linear.ts";
import { StandardScaler } from "../../src/ml/preprocessing.ts";
import { fromRows, matrix, takeRows, takeValues } from "../../src/ml/types.ts";
import type { Matrix } from "../../src/ml/types.ts";
import { fillColumn, fixture, housingMatrix, loadHousing, maxRel } from "../helpers/housing.ts";

const h = loadHousing(2000);
const Xraw = fillColumn(housingMatrix(h), 4, 406);
const y = Float64Array.from(h.num.median_house_value);
const Xscaled = new StandardScaler().fit(Xraw).transform(Xraw);
const first10 = (X: Matrix) => takeRows(X, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

describe("Ridge vs sklearn (ridge.json)", () => {
  const fx = fixture("ridge.json");
  for (const kind of ["raw", "scaled"] as const) {
    for (const e of fx.expected[kind]) {
      it(`${kind} alpha=${e.alpha}: coef, intercept, predictions to 1e-9`, () => {
        const X = kind === "raw" ? Xraw : Xscaled;
        const m = new Ridge({ alpha: e.alpha }).fit(X, y);
        const dc = maxRel(m.coef_!, e.coef_);
        const di = maxRel([m.intercept_], [e.intercept_]);
        const dp = maxRel(m.predict(first10(X)), e.predictions_first_10_rows);
        console.log(
          `ridge ${kind} ${e.alpha}: coef ${dc.toExponential(2)} intercept ${di.toExponential(2)} pred ${dp.toExponential(2)}`,
        );
        assert.ok(dc <= 1e-9 && di <= 1e-9 && dp <= 1e-9, `${dc} ${di} ${dp}`);
      });
    }
  }
  it("is invariant to row permutation (property)", () => {
    const Xs = takeRows(
      Xscaled,
      Array.from({ length: 200 }, (_, i) => i),
    );
    const ys = y.subarray(0, 200);
    const base = new Ridge({ alpha: 1 }).fit(Xs, ys);
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const perm = new Rng(seed).permutation(200);
        const m = new Ridge({ alpha: 1 }).fit(takeRows(Xs, perm), takeValues(ys, perm));
        return (
          maxRel(m.coef_!, base.coef_!) < 1e-9 &&
          Math.abs(m.intercept_ - base.intercept_) < 1e-9 * Math.abs(base.intercept_)
        );
      }),
      { numRuns: 20 },
    );
  });
  it("integer sample_weight equals row repetition; no intercept; singular alpha=0", () => {
    const X = fromRows([
      [1, 2],
      [2, 1],
      [3, 5],
      [4, 3],
    ]);
    const yy = Float64Array.from([1, 2, 4, 3]);
    const w = new Ridge({ alpha: 0.5 }).fit(X, yy, { sampleWeight: Float64Array.from([1, 2, 1, 3]) });
    const rep = [0, 1, 1, 2, 3, 3, 3];
    const r = new Ridge({ alpha: 0.5 }).fit(takeRows(X, rep), takeValues(yy, rep));
    assert.ok(maxRel(w.coef_!, r.coef_!) < 1e-12 && Math.abs(w.intercept_ - r.intercept_) < 1e-12);
    const ni = new Ridge({ fit_intercept: false }).fit(X, yy);
    assert.equal(ni.intercept_, 0);
    const dup = fromRows([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    const s = new Ridge({ alpha: 0 }).fit(dup, Float64Array.from([2, 4, 6]));
    assert.ok(Math.abs(s.coef_![0] - 1) < 1e-9 && Math.abs(s.coef_![1] - 1) < 1e-9);
  });
});

describe("Lasso vs sklearn (lasso.json)", () => {
  const fx = fixture("lasso.json");
  for (const e of fx.expected) {
    it(`${e.X} alpha=${e.alpha}: coef/intercept/pred to 1e-6 and the same zero set`, () => {
      const X = e.X.startsWith("raw") ? Xraw : Xscaled;
      const m = new Lasso({ alpha: e.alpha, max_iter: 100000, tol: 1e-10 }).fit(X, y);
      const dc = maxRel(m.coef_!, e.coef_, 1e-300);
      const di = maxRel([m.intercept_], [e.intercept_]);
      const dp = maxRel(m.predict(first10(X)), e.predictions_first_10_rows);
      console.log(
        `lasso ${e.X} ${e.alpha}: coef ${dc.toExponential(2)} intercept ${di.toExponential(2)} pred ${dp.toExponential(2)} n_iter ${m.nIter_} (sklearn ${e.n_iter_}) gap ${m.dualGap_.toExponential(1)} (sklearn ${e.dual_gap_.toExponential(1)})`,
      );
      assert.deepEqual(
        [...m.coef_!].map((c) => c === 0),
        e.coef_.map((c: number) => c === 0),
      );
      assert.ok(dc <= 1e-6 && di <= 1e-6 && dp <= 1e-6, `${dc} ${di} ${dp}`);
      assert.ok(m.converged_);
    });
  }
  it("featureImportances = |coef| and state round trip predicts identically", () => {
    const m = new Lasso({ alpha: 1000 }).fit(Xscaled, y);
    assert.deepEqual([...m.featureImportances()], [...m.coef_!].map(Math.abs));
    const r = Lasso.fromState(m.toState());
    assert.deepEqual([...r.predict(Xscaled)], [...m.predict(Xscaled)]);
    assert.equal(r.nIter_, m.nIter_);
  });
});

describe("BayesianRidge", () => {
  it("matches the final-round estimators of iterative_imputer.json (scenario A)", () => {
    const fx = fixture("iterative_imputer.json");
    const A = fx.expected.A_total_bedrooms_only;
    // complete columns give the exact training set of the final round for feature 0
    const Xfull: (number | null)[][] = A.X;
    const est = A.final_round_estimators.longitude;
    const rows = Xfull.map((r) => est.neighbor_feat_idx.map((j: number) => r[j] ?? Number.NaN));
    // column 4 has missing cells: fill them with the fixture's final imputed values
    const byCell = new Map<string, number>(
      A.imputed.map((c: { row: number; col: number; value: number }) => [`${c.row},${c.col}`, c.value]),
    );
    const j4 = est.neighbor_feat_idx.indexOf(4);
    rows.forEach((r, i) => {
      if (Number.isNaN(r[j4])) r[j4] = byCell.get(`${i},4`)!;
    });
    const yy = Float64Array.from(Xfull.map((r) => r[0]!));
    const m = new BayesianRidge().fit(fromRows(rows), yy);
    const dc = maxRel(m.coef_!, est.coef_);
    console.log(
      `bayesian ridge: coef ${dc.toExponential(2)} alpha ${maxRel([m.alpha_], [est.alpha_]).toExponential(2)} n_iter ${m.nIter_}/${est.n_iter_}`,
    );
    assert.ok(dc < 1e-9);
    assert.ok(Math.abs(m.intercept_ - est.intercept_) < 1e-9);
    assert.ok(maxRel([m.alpha_, m.lambda_], [est.alpha_, est.lambda_]) < 1e-9);
    assert.equal(m.nIter_, est.n_iter_);
    const r = BayesianRidge.fromState(m.toState());
    assert.deepEqual([...r.predict(fromRows(rows))], [...m.predict(fromRows(rows))]);
  });
});

describe("linear models: bad input", () => {
  const X = fromRows([
    [1, 2],
    [3, Number.NaN],
  ]);
  for (const M of [Ridge, Lasso, BayesianRidge]) {
    it(`${M.name} rejects NaN (mentions imputation), length mismatch, empty data, unknown params`, () => {
      assert.throws(() => new M().fit(X, Float64Array.from([1, 2])), /row 1, column 1.*impute/);
      assert.throws(() => new M().fit(fromRows([[1], [2]]), Float64Array.from([1])), /length mismatch/);
      assert.throws(() => new M().fit(matrix(0, 2), new Float64Array(0)), /0 rows/);
      assert.throws(
        () => new M().fit(fromRows([[1], [2]]), Float64Array.from([1, Number.NaN])),
        /y\[1\] is NaN/,
      );
      assert.throws(
        () => new M({ alpah: 1 } as never),
        /unknown parameter 'alpah'; valid parameters are: .*fit_intercept/,
      );
      assert.throws(() => new M().predict(fromRows([[1]])), /not fitted/);
      const m = new M().fit(
        fromRows([
          [1, 2],
          [2, 1],
          [3, 3],
        ]),
        Float64Array.from([1, 2, 3]),
      );
      assert.throws(() => m.predict(fromRows([[1]])), /1 features.*2/);
    });
  }
  it("validates parameter values", () => {
    assert.throws(() => new Ridge({ alpha: -1 }), /'alpha' must be >= 0/);
    assert.throws(() => new Lasso({ max_iter: 1.5 }), /'max_iter' must be an integer/);
    assert.throws(() => new Lasso({ selection: "x" as never }), /'selection' must be one of/);
  });
});
