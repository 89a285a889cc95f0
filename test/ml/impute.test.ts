import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rng } from "../../src/data/prng.ts";
import { IterativeImputer, KNN_INDEX, KNNImputer, nanEuclidean, SimpleImputer } from "../../src/ml/impute.ts";
import { fromRows, matrix } from "../../src/ml/types.ts";
import { fixture, housingMatrix, loadHousing } from "../helpers/housing.ts";

interface Cell {
  row: number;
  col: number;
  value: number;
  donor_rows?: number[];
}

function toMatrix(rows: (number | null)[][]): ReturnType<typeof fromRows> {
  return fromRows(rows.map((r) => r.map((v) => (v === null ? Number.NaN : v))));
}

describe("SimpleImputer (simple_imputers.json)", () => {
  const fx = fixture("simple_imputers.json");
  const X = housingMatrix(loadHousing(2000));
  it("median exact, mean to 1e-12", () => {
    const med = new SimpleImputer({ strategy: "median" }).fit(X);
    assert.equal(med.statistics_![4], fx.expected.total_bedrooms_median);
    const mean = new SimpleImputer().fit(X);
    const rel =
      Math.abs(mean.statistics_![4] - fx.expected.total_bedrooms_mean) / fx.expected.total_bedrooms_mean;
    console.log(`simple imputer mean rel ${rel.toExponential(2)}`);
    assert.ok(rel <= 1e-12);
    const out = med.transform(X);
    for (const r of fx.input.total_bedrooms_missing_rows) assert.equal(out.data[r * 8 + 4], 406);
    assert.equal(out.data[0], X.data[0]);
  });
  it("most_frequent (ties → smallest), constant, state round trip, bad input", () => {
    const X2 = fromRows([
      [1, Number.NaN],
      [2, 5],
      [2, 7],
      [1, 7],
      [Number.NaN, 5],
    ]);
    assert.deepEqual([...new SimpleImputer({ strategy: "most_frequent" }).fit(X2).statistics_!], [1, 5]);
    const c = new SimpleImputer({ strategy: "constant", fill_value: -1 }).fit(X2);
    assert.deepEqual([...c.transform(X2).data].slice(0, 2), [1, -1]);
    const s = new SimpleImputer({ strategy: "median" }).fit(X2);
    assert.deepEqual([...SimpleImputer.fromState(s.toState()).transform(X2).data], [...s.transform(X2).data]);
    assert.throws(() => new SimpleImputer({ strategy: "mode" as never }), /'strategy' must be one of/);
    assert.throws(
      () => new SimpleImputer({ strat: "mean" } as never),
      /valid parameters are: strategy, fill_value/,
    );
    assert.throws(
      () => new SimpleImputer().fit(fromRows([[1, Number.NaN]])),
      /column 1 has no observed values/,
    );
    assert.throws(() => new SimpleImputer().fit(matrix(0, 2)), /0 rows/);
    assert.throws(() => s.transform(fromRows([[1]])), /1 features.*2/);
  });
});

describe("KNNImputer vs sklearn (knn_imputer.json)", () => {
  const fx = fixture("knn_imputer.json");
  for (const sc of ["A_total_bedrooms_only", "B_multi_column"] as const) {
    for (const weights of ["uniform", "distance"] as const) {
      it(`${sc} weights=${weights}: values to 1e-12, donor sets exact`, () => {
        const e = fx.expected[sc];
        const X = toMatrix(e.X);
        const imp = new KNNImputer({ weights }).fit(X);
        const out = imp.transform(X);
        const cells: Cell[] = e[`weights_${weights}`].imputed;
        let worst = 0;
        for (const c of cells) {
          worst = Math.max(worst, Math.abs(out.data[c.row * 8 + c.col] - c.value));
          assert.deepEqual(
            [...imp.donors(X, c.row, c.col)].sort((a, b) => a - b),
            [...c.donor_rows!].sort((a, b) => a - b),
            `donors of (${c.row},${c.col})`,
          );
        }
        console.log(`knn ${sc} ${weights}: max abs ${worst.toExponential(2)} over ${cells.length} cells`);
        assert.ok(worst <= 1e-12, String(worst));
        // observed cells untouched, nothing left missing
        for (let k = 0; k < X.data.length; k++) {
          if (!Number.isNaN(X.data[k])) assert.equal(out.data[k], X.data[k]);
          else assert.ok(!Number.isNaN(out.data[k]));
        }
        const back = KNNImputer.fromState(imp.toState());
        assert.deepEqual([...back.transform(X).data], [...out.data]);
      });
    }
  }
  it("distance weights: exact duplicates dominate; no shared coordinate → column mean", () => {
    const X = fromRows([
      [1, 2, Number.NaN],
      [1, 2, 10],
      [3, 4, 20],
      [5, 6, 30],
    ]);
    const out = new KNNImputer({ n_neighbors: 2, weights: "distance" }).fit(X).transform(X);
    assert.equal(out.data[2], 10);
    const Y = fromRows([
      [Number.NaN, 1],
      [2, Number.NaN],
      [4, Number.NaN],
    ]);
    const o2 = new KNNImputer().fit(Y).transform(Y);
    assert.equal(o2.data[0], 3);
    assert.throws(
      () => new KNNImputer({ n_neighbours: 3 } as never),
      /valid parameters are: n_neighbors, weights, metric/,
    );
    assert.throws(() => new KNNImputer().fit(fromRows([[Number.POSITIVE_INFINITY]])), /Infinity at row 0/);
  });

  for (const [label, tuning] of [
    ["full scan", { minRows: Number.POSITIVE_INFINITY, buildAfter: 1 }],
    ["k-d index from the first query", { minRows: 0, buildAfter: 1 }],
    ["scan first, then the k-d index", { minRows: 0, buildAfter: 3 }],
  ] as const)
    it(`transform equals the plain nan-euclidean ranking bit for bit (${label}; fitted rows with and without gaps; repeated calls)`, () => {
      const saved = { ...KNN_INDEX };
      Object.assign(KNN_INDEX, tuning);
      try {
        fc.assert(
          fc.property(
            fc.integer({ min: 0, max: 1e6 }),
            fc.integer({ min: 1, max: 6 }),
            fc.constantFrom<"uniform" | "distance">("uniform", "distance"),
            (seed, k, weights) => {
              const r = new Rng(seed);
              const m = 2 + r.int(5);
              const n = 20 + r.int(120);
              // coarse values: many equal distances, so the (distance, row) tie order is exercised
              const cell = () => (r.next() < 0.15 ? Number.NaN : r.int(4) * 0.5);
              const X = matrix(n, m, Float64Array.from({ length: n * m }, cell));
              const Q = matrix(24, m, Float64Array.from({ length: 24 * m }, cell));
              const imp = new KNNImputer({ n_neighbors: k, weights }).fit(X);
              for (const rep of [0, 1]) {
                const out = imp.transform(Q);
                for (let i = 0; i < Q.rows; i++) {
                  // expected from the reference definition: nanEuclidean to every fitted row, donors ranked by
                  // (distance, row) among rows where the column is present (KNNImputer.donors)
                  const d = Float64Array.from({ length: n }, (_, f) =>
                    nanEuclidean(Q.data, i * m, X.data, f * m, m),
                  );
                  const allNaN = d.every((v) => Number.isNaN(v));
                  for (let c = 0; c < m; c++) {
                    const got = out.data[i * m + c];
                    if (!Number.isNaN(Q.data[i * m + c])) {
                      if (!Object.is(got, Q.data[i * m + c])) return false;
                      continue;
                    }
                    const donors = imp.donors(Q, i, c);
                    if (allNaN || donors.every((f) => Number.isNaN(d[f]))) continue; // column-mean fallback
                    let want: number;
                    if (weights === "uniform") {
                      let s = 0;
                      for (const f of donors) s += X.data[f * m + c];
                      want = s / donors.length;
                    } else {
                      const zero = donors.some((f) => d[f] === 0);
                      let sw = 0;
                      let s = 0;
                      for (const f of donors) {
                        let w = zero ? (d[f] === 0 ? 1 : 0) : 1 / d[f];
                        if (Number.isNaN(w)) w = 0;
                        sw += w;
                        s += w * X.data[f * m + c];
                      }
                      if (sw === 0) continue;
                      want = s / sw;
                    }
                    if (!Object.is(got, want)) return false;
                  }
                }
                if (rep === 0) continue;
              }
              return true;
            },
          ),
          { numRuns: 150 },
        );
      } finally {
        Object.assign(KNN_INDEX, saved);
      }
    });
});

describe("IterativeImputer vs sklearn (iterative_imputer.json)", () => {
  const fx = fixture("iterative_imputer.json");
  for (const sc of ["A_total_bedrooms_only", "B_multi_column"] as const) {
    it(`${sc}: imputed values to 1e-9, n_iter_ and order exact`, () => {
      const e = fx.expected[sc];
      const X = toMatrix(e.X);
      const imp = new IterativeImputer({ random_state: 0, max_iter: 10 });
      const out = imp.fitTransform(X);
      let worst = 0;
      for (const c of e.imputed as Cell[])
        worst = Math.max(worst, Math.abs(out.data[c.row * 8 + c.col] - c.value));
      console.log(
        `iterative ${sc}: max abs ${worst.toExponential(2)}, n_iter ${imp.nIter_} (sklearn ${e.n_iter_})`,
      );
      assert.deepEqual(imp.imputationOrder_, e.imputation_order_feat_idx);
      assert.equal(imp.nIter_, e.n_iter_);
      let dm = 0;
      e.initial_column_means.forEach((v: number, j: number) => {
        dm = Math.max(dm, Math.abs(imp.initialStatistics_![j] - v));
      });
      assert.ok(dm <= 1e-14);
      assert.ok(worst <= 1e-9, String(worst));
      // transform replays the fitted steps: identical on the training matrix
      assert.deepEqual([...imp.transform(X).data], [...out.data]);
      const back = IterativeImputer.fromState(imp.toState());
      assert.deepEqual([...back.transform(X).data], [...out.data]);
    });
  }
  it("bad input", () => {
    assert.throws(() => new IterativeImputer({ sample_posterior: true as never }), /'sample_posterior'/);
    assert.throws(
      () => new IterativeImputer({ max_iters: 3 } as never),
      /valid parameters are: estimator, sample_posterior, max_iter/,
    );
    assert.throws(
      () =>
        new IterativeImputer().fit(
          fromRows([
            [1, Number.NaN],
            [2, Number.NaN],
          ]),
        ),
      /column 1 has no observed values/,
    );
    assert.throws(() => new IterativeImputer().transform(fromRows([[1]])), /not fitted/);
  });
});
